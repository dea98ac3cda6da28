// SPDX-License-Identifier: GPL-2.0-only
//! The usched framework as a model: a BPF side that sends runnable tasks to
//! a user-space dispatcher over a ring, a dispatcher thread that runs a
//! usched-core [`Policy`] and sends decisions back, and the BPF side's
//! shortcuts ([`Rules`]) that keep some tasks off that round trip.
//!
//! One documented model of `bpf/main.bpf.c` (docs/architecture.md, "The
//! simulator's model of the BPF side", says which rules it covers):
//!
//! - **queues**: one local queue per CPU (the kernel's local DSQ, FIFO,
//!   head inserts allowed), one keyed queue per CPU for decisions naming a
//!   CPU and for pinned tasks, one shared keyed queue; a free CPU runs its
//!   local queue's head, else the earlier head of its keyed queue and the
//!   shared one (`consume_earliest`).
//! - **the round trip**: a task not taken by a rule becomes a record in the
//!   ring; the dispatcher (a task of the machine, so it needs a CPU) takes
//!   every record at the start of a round, costs
//!   `round_ns + task_ns · (records + decisions)`, then enqueues them into
//!   the policy and dispatches as many decisions as CPUs can take soon
//!   (as `runtime.rs`: free CPUs, at least the idle ones, at least one).
//!   A decision for a task that is no longer waiting for it is stale and
//!   dropped (the `seq` check). Asleep with tasks in the policy, the
//!   dispatcher wakes after 100 ms without a record (`MAX_BLOCK_MS`).
//! - **the dispatcher's own placement**: an idle CPU, else cutting in on
//!   the longest runner (the preempted task resumes); busy mode reserves a
//!   CPU for it, where waking costs nothing.
//! - **rules** ([`Rules`]): fast wake-ups, kernel-thread bypass, last task,
//!   slice end while first in line, resume of a preempted task,
//!   preempting decisions, the slice timer of light tasks, and the sync
//!   hand-off of message passing. Each can be turned off.
//!
//! Not modelled: the starvation guard (the heartbeat's rescue after
//! watchdog/10), RT tasks and the escape from an RT-held CPU, the ring's
//! capacity (it never fills), the kick program's batching, the `select_cpu`
//! table, cgroups, hotplug.

use std::collections::{BTreeSet, VecDeque};

use usched_core::histogram::Histogram;
use usched_core::policy::{Decision, EnqueueError, Policy, Task as PTask, CPU_ANY, WEIGHT_NICE0};
use usched_core::time::time_before;

use crate::machine::{Machine, Model, ModelReport, State, Stop, TaskId, KWEIGHT_NICE0};
use crate::workload::Behavior;

/// The BPF side's shortcuts around user space, each switchable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rules {
    /// Timer-woken tasks with short bursts and long sleeps go to an idle
    /// CPU, or cut in on a long runner, without a round trip
    /// (`--fast-wakeup-us`, the threshold in ns; 0: off).
    pub fast_wakeup_ns: u64,
    /// Kernel threads pinned to a CPU go to its local queue.
    pub kthread: bool,
    /// A task whose slice ends while nothing waits anywhere goes on.
    pub last_task: bool,
    /// A task whose slice ends while its next key precedes every waiting
    /// key it can see goes on (`still_first`).
    pub slice_end: bool,
    /// A task preempted by a fast waker or the dispatcher keeps the rest of
    /// its slice: its CPU's local queue if nothing waits, else the shared
    /// queue by its key.
    pub resume: bool,
    /// Decisions flagged [`Decision::PREEMPT`] preempt a CPU.
    pub preempt: bool,
    /// The slice timer: a task lighter than nice 0 is preempted when its
    /// slice ends, not at the next tick ([`Machine::exact_light_slices`]).
    pub slice_timer: bool,
    /// With `slice-timer`: the timer is armed again for a slice refilled
    /// where the task runs (`last-task`, `slice-end`), which no new run
    /// begins ([`Machine::exact_kept_slices`]).
    pub kept_timer: bool,
    /// A sync wake-up (message passing) while nothing waits runs at once:
    /// on its previous CPU if that idles in the waker's LLC, else on the
    /// waker's CPU (`--no-sync-handoff` turns it off).
    pub sync_handoff: bool,
}

impl Rules {
    /// Every rule off: the policy alone, every task through user space.
    pub const NONE: Self = Self {
        fast_wakeup_ns: 0,
        kthread: false,
        last_task: false,
        slice_end: false,
        resume: false,
        preempt: false,
        slice_timer: false,
        kept_timer: false,
        sync_handoff: false,
    };
    /// Every rule on, as scx_usched's defaults were until 2026-11-29: its
    /// fast path now takes bursts under 5 ms and protects at most 1 ms of
    /// one, and its dispatcher skips urgent kicks at its own CPU, none of
    /// which the model has (docs/architecture.md, the parity table).
    pub const ALL: Self = Self {
        fast_wakeup_ns: 1_000_000,
        kthread: true,
        last_task: true,
        slice_end: true,
        resume: true,
        preempt: true,
        slice_timer: true,
        kept_timer: true,
        sync_handoff: true,
    };

    /// Reads a comma list applied in order to `base`: `all` and `none`
    /// set every rule, a rule name (`fast-wakeup`, `kthread`, `last-task`,
    /// `slice-end`, `resume`, `preempt`, `slice-timer`, `kept-timer`,
    /// `sync-handoff`) turns it on,
    /// `-name` off. E.g.
    /// `none,preempt`, or `-fast-wakeup` from scx_usched's defaults.
    ///
    /// # Errors
    /// An unknown rule name.
    pub fn parse(desc: &str, base: Self) -> Result<Self, String> {
        let mut r = base;
        for item in desc.split(',').filter(|s| !s.is_empty()) {
            let (on, name) = match item.strip_prefix('-') {
                Some(n) => (false, n),
                None => (true, item),
            };
            match name {
                "all" if on => r = Self::ALL,
                "none" if on => r = Self::NONE,
                "fast-wakeup" => r.fast_wakeup_ns = if on { Self::ALL.fast_wakeup_ns } else { 0 },
                "kthread" => r.kthread = on,
                "last-task" => r.last_task = on,
                "slice-end" => r.slice_end = on,
                "resume" => r.resume = on,
                "preempt" => r.preempt = on,
                "slice-timer" => r.slice_timer = on,
                "kept-timer" => r.kept_timer = on,
                "sync-handoff" => r.sync_handoff = on,
                _ => {
                    return Err(format!(
                        "unknown rule '{item}' (all, none, then fast-wakeup, kthread, last-task, slice-end, resume, preempt, slice-timer, kept-timer, sync-handoff, each with - to turn it off)"
                    ))
                }
            }
        }
        Ok(r)
    }
}

/// How the dispatcher waits for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DispatcherMode {
    /// Sleeps when idle and is woken by the BPF side (adaptive/blocking).
    Adaptive,
    /// Owns a CPU and spins on it.
    Busy,
}

/// Longest the dispatcher blocks with tasks in the policy (the runtime's
/// `MAX_BLOCK_MS`), ns.
const BLOCK_TIMEOUT_NS: u64 = 100_000_000;
/// Model timer tag of the dispatcher's blocking timeout.
const TAG_BLOCK_TIMEOUT: u64 = 1;

/// Shortest remaining slice a resumed task keeps, ns.
const RESUME_MIN_NS: u64 = 100_000;
/// A long runner has run at least this long without a sleep, ns.
const LONG_RUNNER_NS: u64 = 1_000_000;

/// The framework model driving a [`Policy`].
pub struct Framework<P: Policy> {
    policy: P,
    rules: Rules,
    /// Slice for tasks the BPF side runs itself, ns.
    slice_ns: u64,
    dispatcher: TaskId,
    ring: VecDeque<PTask>,
    batch: Vec<PTask>,
    local: Vec<VecDeque<(TaskId, u64)>>,
    cpu_dsq: Vec<BTreeSet<(u64, u64, TaskId)>>,
    shared: BTreeSet<(u64, u64, TaskId)>,
    /// Per task: slice and key of its last decision, its vtime, the `seq`
    /// of its last record (a decision must carry it), where it waits.
    slice_of: Vec<u64>,
    key_of: Vec<Option<u64>>,
    vtime: Vec<u64>,
    seq_of: Vec<u64>,
    enq_at: Vec<u64>,
    seq: u64,
    /// Per CPU: runs a fast waker's burst.
    fast_on: Vec<bool>,
    /// Per CPU: a fast waker cut in and is on its way (another waker of
    /// the same instant goes elsewhere).
    fast_claim: Vec<bool>,
    /// Per task: it is a fast waker now; it was cut in on (resume).
    fast: Vec<bool>,
    /// Per task: judged a fast waker at its last wake-up (the band of
    /// `fast_waker()` in bpf/fast.bpf.h: in at sleep >= 2 x burst, out
    /// below sleep = burst).
    fast_kept: Vec<bool>,
    cut_in: Vec<bool>,
    enq_dispatch: Histogram,
    nr_user: u64,
    nr_fast: u64,
    nr_kernel: u64,
    nr_stale: u64,
    nr_refused: u64,
    nr_rounds: u64,
}

impl<P: Policy> Framework<P> {
    /// The model for `m`'s tasks with `policy`, `rules` and a dispatcher in
    /// `mode`; BPF-side slices are `slice_ns`. Adds the dispatcher task to
    /// the machine (and reserves its CPU, the last one, in busy mode).
    pub fn new(
        m: &mut Machine,
        policy: P,
        rules: Rules,
        mode: DispatcherMode,
        slice_ns: u64,
    ) -> Self {
        let n = m.nr_cpus();
        let mut spec = crate::workload::TaskSpec {
            label: "dispatcher".into(),
            behavior: Behavior::Dispatcher,
            nice: 0,
            idle: false,
            pinned: None,
            kthread: false,
        };
        if mode == DispatcherMode::Busy {
            let cpu = n - 1;
            m.reserved = Some(cpu);
            spec.pinned = Some(cpu);
        }
        let dispatcher = m.add_task(spec);
        m.exact_light_slices = rules.slice_timer;
        m.exact_kept_slices = rules.kept_timer;
        let nt = m.tasks.len();
        Self {
            policy,
            rules,
            slice_ns,
            dispatcher,
            ring: VecDeque::new(),
            batch: Vec::new(),
            local: vec![VecDeque::new(); n],
            cpu_dsq: vec![BTreeSet::new(); n],
            shared: BTreeSet::new(),
            slice_of: vec![slice_ns; nt],
            key_of: vec![None; nt],
            vtime: vec![0; nt],
            seq_of: vec![0; nt],
            enq_at: vec![0; nt],
            seq: 0,
            fast_on: vec![false; n],
            fast_claim: vec![false; n],
            fast: vec![false; nt],
            fast_kept: vec![false; nt],
            cut_in: vec![false; nt],
            enq_dispatch: Histogram::new(),
            nr_user: 0,
            nr_fast: 0,
            nr_kernel: 0,
            nr_stale: 0,
            nr_refused: 0,
            nr_rounds: 0,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    fn nothing_waits(&self, cpu: usize) -> bool {
        self.ring.is_empty()
            && self.batch.is_empty()
            && self.policy.nr_queued() == 0
            && self.shared.is_empty()
            && self.cpu_dsq[cpu].is_empty()
            && self.local[cpu].is_empty()
    }

    /// Sends `t` up to user space.
    fn send_up(&mut self, m: &mut Machine, t: TaskId, wakeup: bool) {
        self.seq += 1;
        self.seq_of[t] = self.seq;
        self.enq_at[t] = m.now;
        let task = &m.tasks[t];
        let flags = (if wakeup { PTask::WAKEUP } else { 0 })
            | (if task.spec.kthread { PTask::KTHREAD } else { 0 });
        self.ring.push_back(PTask {
            pid: t as i32,
            cpu: task.last_cpu as i32,
            nr_cpus_allowed: if task.spec.pinned.is_some() { 1 } else { m.nr_cpus() as u32 },
            weight: (u64::from(task.kweight) * WEIGHT_NICE0 / u64::from(KWEIGHT_NICE0)).max(1),
            exec_runtime: task.exec_since_sleep,
            vtime: self.vtime[t],
            sum_exec_runtime: task.sum_exec,
            nvcsw: task.nvcsw,
            wakeup_freq: 0,
            flags,
            enq_time: m.now,
            cookie: self.seq,
        });
        self.wake_dispatcher(m);
    }

    fn wake_dispatcher(&mut self, m: &mut Machine) {
        m.wake_now(self.dispatcher, false, None);
    }

    /// The key @t carries since its last decision, its vtime counted from
    /// no earlier than the policy's floor (`Policy::vtime_floor`), as the
    /// BPF side's `next_key()` counts it.
    fn carried_key(&self, m: &Machine, t: TaskId) -> Option<u64> {
        Some(self.key_of[t]?.wrapping_add(self.floor_lag(m, t)))
    }

    /// How far @t's vtime lies behind the policy's floor if it has run a
    /// whole slice since it last slept (a CPU hog; the BPF side's
    /// `floored_vtime()`), else 0.
    fn floor_lag(&self, m: &Machine, t: TaskId) -> u64 {
        match self.policy.vtime_floor() {
            Some(f)
                if m.tasks[t].exec_since_sleep >= self.slice_ns
                    && time_before(self.vtime[t], f) =>
            {
                f.wrapping_sub(self.vtime[t])
            }
            _ => 0,
        }
    }

    fn insert_keyed(&mut self, t: TaskId, cpu: Option<usize>, key: u64) {
        self.seq += 1;
        let e = (key, self.seq, t);
        match cpu {
            Some(c) => self.cpu_dsq[c].insert(e),
            None => self.shared.insert(e),
        };
    }

    /// Puts a decision into the queues and wakes the CPU that can run it.
    fn apply(&mut self, m: &mut Machine, d: Decision) {
        let Ok(t) = usize::try_from(d.pid) else { return };
        if t >= m.tasks.len() || m.tasks[t].state != State::Runnable || self.seq_of[t] != d.cookie {
            self.nr_stale += 1;
            return;
        }
        self.seq_of[t] = 0;
        self.nr_user += 1;
        self.enq_dispatch.record(m.now.saturating_sub(self.enq_at[t]));
        self.vtime[t] = d.vtime;
        let key = if d.deadline == 0 { d.vtime } else { d.deadline };
        self.key_of[t] = Some(key);
        self.slice_of[t] = d.slice_ns.clamp(10_000, 1_000_000_000);
        let pinned = m.tasks[t].spec.pinned;
        let named = usize::try_from(d.cpu).ok().filter(|&c| c < m.nr_cpus() && m.allowed(t, c));
        let target = pinned.or(named);
        self.insert_keyed(t, target, key);
        let preempt = self.rules.preempt && d.flags & Decision::PREEMPT != 0;
        match target {
            Some(c) => {
                if m.is_idle(c) {
                    m.cpus[c].claimed = true;
                    m.kick(c, false);
                } else if preempt && self.lower_priority(m, c, key) {
                    m.kick(c, true);
                }
            }
            None => {
                if let Some(c) = m.claim_idle(t, m.tasks[t].last_cpu) {
                    m.kick(c, false);
                } else if preempt {
                    let hint = usize::try_from(d.hint_cpu).ok().filter(|&c| c < m.nr_cpus());
                    if let Some(c) = hint.filter(|&c| self.lower_priority(m, c, key)) {
                        m.kick(c, true);
                    }
                }
            }
        }
    }

    /// Whether `cpu` runs a task whose key is after `key` (and may be
    /// preempted for it).
    fn lower_priority(&self, m: &Machine, cpu: usize, key: u64) -> bool {
        match m.cpus[cpu].curr {
            Some(c) if c != self.dispatcher && !self.fast_on[cpu] => {
                self.carried_key(m, c).is_none_or(|k| k > key)
            }
            _ => false,
        }
    }

    /// A CPU whose task a waker may cut in on: `prev` if its task is a long
    /// runner, else the CPU whose task has run longest, if a long runner.
    fn long_runner(&self, m: &Machine, t: TaskId, prev: usize, burst: u64) -> Option<usize> {
        let need = (2 * burst).max(LONG_RUNNER_NS);
        let ok = |c: usize| {
            m.allowed(t, c)
                && !self.fast_on[c]
                && !self.fast_claim[c]
                && m.cpus[c].curr.is_some_and(|x| x != self.dispatcher)
                && m.curr_ran(c) >= need
        };
        if ok(prev) {
            return Some(prev);
        }
        (0..m.nr_cpus()).filter(|&c| ok(c)).max_by_key(|&c| (m.curr_ran(c), usize::MAX - c))
    }

    /// The fast path (`usched_select_cpu()` and `try_fast_wakeup()` in
    /// bpf/main.bpf.c). The BPF side also serves a sync wake-up here when
    /// its waker has run 1 ms or more since it slept and nothing waits
    /// (`sync_waker_sleeps()`); a simulated waker has slept before its
    /// partner's wake-up is handled, so here a sync wake-up never does.
    fn fast_wakeup(&mut self, m: &mut Machine, t: TaskId, sync: bool) -> bool {
        let task = &m.tasks[t];
        let thr = self.rules.fast_wakeup_ns;
        let pinned = task.spec.pinned.is_some();
        let need = if self.fast_kept[t] { task.avg_burst } else { 2 * task.avg_burst };
        let judged = thr > 0 && task.nvcsw > 0 && task.avg_burst < thr && task.avg_sleep >= need;
        self.fast_kept[t] = judged;
        let qualifies = judged && (!sync || pinned);
        if !qualifies {
            return false;
        }
        let (prev, burst) = (task.last_cpu, task.avg_burst);
        if let Some(c) = m.claim_idle(t, prev) {
            self.local[c].push_back((t, self.slice_ns));
            m.kick(c, false);
        } else if let Some(c) = self.long_runner(m, t, prev, burst) {
            self.local[c].push_front((t, self.slice_ns));
            if let Some(curr) = m.cpus[c].curr {
                self.cut_in[curr] = true;
            }
            self.fast_claim[c] = true;
            m.kick(c, true);
        } else if let Some(c) =
            (0..m.nr_cpus()).find(|&c| (self.fast_on[c] || self.fast_claim[c]) && m.allowed(t, c))
        {
            self.local[c].push_back((t, self.slice_ns));
        } else {
            return false;
        }
        self.fast[t] = true;
        self.nr_fast += 1;
        true
    }

    /// The sync hand-off (`sync_handoff_cpu()` in bpf/main.bpf.c): a sync
    /// wake-up from `waker`'s CPU while nothing waits runs at once, on its
    /// previous CPU if that idles in the waker's LLC, else on the waker's
    /// CPU. A simulated message passer sleeps before its partner's wake-up
    /// is handled, so the waker's CPU is idle here when nothing waits
    /// (where the kernel queues the wakee behind a waker about to sleep),
    /// and the BPF side's limits for a waker that goes on running (under
    /// 1 ms since it slept; `ops.tick()` ending its slice after 1 ms) do
    /// not arise.
    fn sync_handoff(&mut self, m: &mut Machine, t: TaskId, waker: Option<usize>) -> bool {
        let Some(w) = waker.filter(|&w| w < m.nr_cpus()) else { return false };
        if !self.nothing_waits(w) {
            return false;
        }
        let prev = m.tasks[t].last_cpu;
        let near = m.topo.place(prev).llc == m.topo.place(w).llc;
        let c = if prev != w && near && m.is_idle(prev) && m.allowed(t, prev) {
            prev
        } else if m.is_idle(w) && m.allowed(t, w) {
            w
        } else {
            return false;
        };
        m.cpus[c].claimed = true;
        self.local[c].push_back((t, self.slice_ns));
        m.kick(c, false);
        self.nr_kernel += 1;
        true
    }

    fn place_dispatcher(&mut self, m: &mut Machine) {
        let t = self.dispatcher;
        if let Some(c) = m.reserved {
            self.local[c].push_front((t, self.slice_ns));
            m.kick(c, false);
            return;
        }
        let prev = m.tasks[t].last_cpu;
        if let Some(c) = m.claim_idle(t, prev) {
            self.local[c].push_front((t, self.slice_ns));
            m.kick(c, false);
        } else if let Some(c) = self.long_runner(m, t, prev, 0) {
            self.local[c].push_front((t, self.slice_ns));
            if let Some(curr) = m.cpus[c].curr {
                self.cut_in[curr] = true;
            }
            m.kick(c, true);
        } else {
            // Behind whatever runs on its last CPU.
            self.local[prev].push_front((t, self.slice_ns));
        }
    }
}

impl<P: Policy> Model for Framework<P> {
    fn wake(&mut self, m: &mut Machine, t: TaskId, sync: bool, waker: Option<usize>) {
        if t == self.dispatcher {
            self.place_dispatcher(m);
            return;
        }
        if sync && self.rules.sync_handoff && self.sync_handoff(m, t, waker) {
            return;
        }
        if self.rules.kthread && m.tasks[t].spec.kthread {
            self.nr_kernel += 1;
            if let Some(c) = m.tasks[t].spec.pinned {
                // Its CPU's local DSQ, without preempting.
                self.local[c].push_back((t, self.slice_ns));
                if m.is_idle(c) {
                    m.cpus[c].claimed = true;
                    m.kick(c, false);
                }
            } else {
                // Unbound: the head of the shared DSQ.
                self.slice_of[t] = self.slice_ns;
                self.insert_keyed(t, None, 0);
                if let Some(c) = m.claim_idle(t, m.tasks[t].last_cpu) {
                    m.kick(c, false);
                }
            }
            return;
        }
        if self.fast_wakeup(m, t, sync) {
            return;
        }
        self.send_up(m, t, true);
    }

    fn stopping(
        &mut self,
        m: &mut Machine,
        cpu: usize,
        t: TaskId,
        why: Stop,
        ran: u64,
    ) -> Option<u64> {
        let kw = u64::from(m.tasks[t].kweight);
        let dv = ran * u64::from(KWEIGHT_NICE0) / kw;
        self.vtime[t] = self.vtime[t].wrapping_add(dv);
        if self.fast[t] {
            self.fast_on[cpu] = false;
        }
        if t == self.dispatcher {
            if why == Stop::SliceEnd {
                return Some(self.slice_ns);
            }
            if why == Stop::Preempt {
                self.local[cpu].push_front((t, self.slice_ns));
            }
            if why == Stop::Sleep && self.policy.nr_queued() > 0 {
                // Its wait is bounded (MAX_BLOCK_MS): another round comes
                // even if no record does.
                m.model_timer(m.now + BLOCK_TIMEOUT_NS, TAG_BLOCK_TIMEOUT);
            }
            return None;
        }
        if why == Stop::Sleep {
            self.fast[t] = false;
            self.cut_in[t] = false;
            return None;
        }
        let was_fast = std::mem::take(&mut self.fast[t]);
        let cut_in = std::mem::take(&mut self.cut_in[t]);
        if let Some(k) = self.key_of[t].as_mut() {
            *k = k.wrapping_add(dv);
        }
        if why == Stop::SliceEnd {
            if self.rules.last_task && self.nothing_waits(cpu) {
                self.nr_kernel += 1;
                return Some(self.slice_of[t]);
            }
            if self.rules.slice_end && !was_fast && self.local[cpu].is_empty() {
                if let Some(k) = self.carried_key(m, t) {
                    let heads = [
                        self.shared.first().map(|e| e.0),
                        self.cpu_dsq[cpu].first().map(|e| e.0),
                        self.policy.next_deadline(),
                    ];
                    if heads.iter().flatten().all(|&h| k < h) {
                        self.nr_kernel += 1;
                        return Some(self.slice_of[t]);
                    }
                }
            }
        }
        if why == Stop::Preempt && cut_in && self.rules.resume {
            let left = m.slice_left(cpu).max(RESUME_MIN_NS);
            self.nr_kernel += 1;
            if self.ring.is_empty() && self.policy.nr_queued() == 0 && self.shared.is_empty() {
                self.local[cpu].push_back((t, left));
            } else {
                let key = self.carried_key(m, t).unwrap_or(self.vtime[t]);
                self.slice_of[t] = left;
                self.insert_keyed(t, m.tasks[t].spec.pinned, key);
                if let Some(c) = m.claim_idle(t, cpu) {
                    m.kick(c, false);
                }
            }
            return None;
        }
        self.send_up(m, t, false);
        None
    }

    fn pick(&mut self, m: &mut Machine, cpu: usize) -> Option<(TaskId, u64)> {
        let picked = if let Some((t, slice)) = self.local[cpu].pop_front() {
            Some((t, slice))
        } else {
            let own = self.cpu_dsq[cpu].first().copied();
            let shared = self.shared.iter().find(|e| m.allowed(e.2, cpu)).copied();
            let e = match (own, shared) {
                (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
                (a, b) => a.or(b),
            };
            e.map(|e| {
                if own == Some(e) {
                    self.cpu_dsq[cpu].remove(&e);
                } else {
                    self.shared.remove(&e);
                }
                (e.2, self.slice_of[e.2])
            })
        };
        self.fast_claim[cpu] = false;
        if let Some((t, _)) = picked {
            self.fast_on[cpu] = self.fast[t];
        } else if self.policy.nr_queued() > 0 || !self.ring.is_empty() {
            self.wake_dispatcher(m);
        }
        picked
    }

    fn preempt_ok(&mut self, m: &Machine, cpu: usize) -> bool {
        // A fast waker's burst is not cut; the dispatcher is not preempted.
        !self.fast_on[cpu] && m.cpus[cpu].curr != Some(self.dispatcher)
    }

    fn timer(&mut self, m: &mut Machine, tag: u64) {
        if tag == TAG_BLOCK_TIMEOUT && self.policy.nr_queued() > 0 {
            self.wake_dispatcher(m);
        }
    }

    fn dispatcher_begin(&mut self, m: &mut Machine) -> u64 {
        self.nr_rounds += 1;
        self.batch.extend(self.ring.drain(..));
        let queued = self.policy.nr_queued() + self.batch.len();
        let decisions = queued.min(m.nr_cpus().max(1));
        m.costs.round_ns + m.costs.task_ns * (self.batch.len() + decisions) as u64
    }

    fn dispatcher_end(&mut self, m: &mut Machine) -> bool {
        for task in std::mem::take(&mut self.batch) {
            let mut res = self.policy.enqueue(task);
            if let Err(EnqueueError::Duplicate(t)) = res {
                self.policy.remove(t.pid);
                res = self.policy.enqueue(t);
            }
            if let Err(e) = res {
                // Refused: the task runs on any CPU, in vtime order.
                self.nr_refused += 1;
                let t = e.into_task();
                self.apply(
                    m,
                    Decision {
                        pid: t.pid,
                        cpu: CPU_ANY,
                        hint_cpu: -1,
                        slice_ns: self.slice_ns,
                        vtime: t.vtime,
                        flags: 0,
                        cookie: t.cookie,
                        deadline: 0,
                    },
                );
            }
        }
        let waiting: usize =
            self.shared.len() + self.cpu_dsq.iter().map(BTreeSet::len).sum::<usize>();
        let mut budget = m.nr_cpus().saturating_sub(waiting).max(m.nr_idle()).max(1);
        while budget > 0 {
            let Some(d) = self.policy.dispatch(m.now) else { break };
            budget -= 1;
            self.apply(m, d);
        }
        !self.ring.is_empty()
    }

    fn report(&self, _m: &Machine) -> ModelReport {
        ModelReport {
            counters: vec![
                ("user_dispatches", self.nr_user),
                ("fast_dispatches", self.nr_fast),
                ("kernel_dispatches", self.nr_kernel),
                ("stale_decisions", self.nr_stale),
                ("policy_refused", self.nr_refused),
                ("dispatcher_rounds", self.nr_rounds),
                ("end_in_policy", self.policy.nr_queued() as u64),
                ("end_in_ring", (self.ring.len() + self.batch.len()) as u64),
                ("end_in_shared", self.shared.len() as u64),
                ("end_in_cpu_queues", self.cpu_dsq.iter().map(BTreeSet::len).sum::<usize>() as u64),
                ("end_in_local", self.local.iter().map(VecDeque::len).sum::<usize>() as u64),
            ],
            enq_dispatch: Some(self.enq_dispatch.clone()),
        }
    }
}
