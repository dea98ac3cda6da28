// SPDX-License-Identifier: GPL-2.0-only
//! The discrete-event machine: CPUs that run tasks burst by burst, a clock,
//! timers, IPIs and the costs of switching; the scheduler is a [`Model`]
//! the machine asks at each wake-up, stop and free CPU.
//!
//! Time is in nanoseconds from 0. Events at the same instant run in the
//! order they were posted, so a run is a pure function of its inputs and
//! seed. A CPU's slice ends at the next tick after the slice runs out (the
//! kernel checks slices at the tick); SMT siblings that both run slow down
//! to [`Costs::smt_pct`] of a core each; a task that runs on another LLC or
//! node than last time pays [`Costs::migrate_llc_ns`] or
//! [`Costs::migrate_node_ns`] of extra work.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use usched_core::histogram::Histogram;

use crate::rng::Rng;
use crate::topology::Topology;
use crate::workload::{Behavior, TaskSpec};

/// Index of a task in the machine's task list (also its pid in the model).
pub type TaskId = usize;

/// The kernel's `sched_prio_to_weight`, nice -20 to 19.
const NICE_TO_WEIGHT: [u32; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];
/// The kernel's weight of a nice-0 task.
pub const KWEIGHT_NICE0: u32 = 1024;
/// The kernel's weight of a SCHED_IDLE task.
pub const KWEIGHT_IDLE: u32 = 3;

/// The kernel weight of nice level `nice` (clamped to -20..=19).
pub fn nice_to_weight(nice: i32) -> u32 {
    NICE_TO_WEIGHT[(nice.clamp(-20, 19) + 20) as usize]
}

/// What the machine's hardware and kernel cost, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Costs {
    /// Switching a CPU from one task to another.
    pub ctx_ns: u64,
    /// From a kick (IPI) sent to its arrival on the target CPU.
    pub ipi_ns: u64,
    /// From a timer's expiry to the woken task being runnable.
    pub timer_ns: u64,
    /// Random extra timer delay, uniform in `0..timer_jitter_ns`.
    pub timer_jitter_ns: u64,
    /// The scheduler tick, ns (the kernel checks slices at the tick).
    pub tick_ns: u64,
    /// Speed of each of two SMT siblings that both run, in % of a core.
    pub smt_pct: u64,
    /// Extra work of a task that runs on another LLC than last time.
    pub migrate_llc_ns: u64,
    /// Extra work of a task that runs on another node than last time.
    pub migrate_node_ns: u64,
    /// The user-space dispatcher's fixed cost per round (wake-up, ring
    /// reads, the kick syscall).
    pub round_ns: u64,
    /// The dispatcher's cost per task: decode, policy, encode (criterion's
    /// `dispatch` bench measures it on the host).
    pub task_ns: u64,
    /// Mean time between two stalls of a CPU (an emulator's vCPU thread
    /// descheduled by the host), ns; 0: no stalls.
    pub stall_every_ns: u64,
    /// Longest stall, ns (each is uniform in `0..stall_max_ns`). A stalled
    /// CPU makes no progress and answers no kick until it ends; the guest's
    /// clock goes on, so its task is charged the time.
    pub stall_max_ns: u64,
}

impl Costs {
    /// Bare-metal-like costs: microsecond switches and IPIs, 50 ns per task
    /// in the dispatcher (docs/benchmarks.md: 47.6 ns per task on the host).
    pub const HW: Self = Self {
        ctx_ns: 2_000,
        ipi_ns: 2_000,
        timer_ns: 5_000,
        timer_jitter_ns: 5_000,
        tick_ns: 4_000_000,
        smt_pct: 60,
        migrate_llc_ns: 20_000,
        migrate_node_ns: 50_000,
        round_ns: 5_000,
        task_ns: 50,
        stall_every_ns: 0,
        stall_max_ns: 0,
    };
    /// qemu TCG as the project's VM shows it: EEVDF's median wake-up
    /// lateness there is about 200 us, most of it timer delivery; a round
    /// trip through user space costs a few hundred us.
    pub const TCG: Self = Self {
        ctx_ns: 20_000,
        ipi_ns: 60_000,
        timer_ns: 150_000,
        timer_jitter_ns: 100_000,
        tick_ns: 4_000_000,
        smt_pct: 60,
        migrate_llc_ns: 20_000,
        migrate_node_ns: 50_000,
        round_ns: 120_000,
        task_ns: 2_000,
        stall_every_ns: 50_000_000,
        stall_max_ns: 8_000_000,
    };
}

/// Why a running task leaves its CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It finished its burst and sleeps (or exits).
    Sleep,
    /// Its slice ran out.
    SliceEnd,
    /// A preempting kick took the CPU.
    Preempt,
}

/// A task's scheduling state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not runnable.
    Sleeping,
    /// Waiting for a CPU.
    Runnable,
    /// Running on a CPU.
    Running(usize),
}

/// One simulated task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Its specification.
    pub spec: TaskSpec,
    /// Index of its label in [`Machine::labels`].
    pub label: usize,
    /// Kernel weight (1024 at nice 0).
    pub kweight: u32,
    /// Scheduling state.
    pub state: State,
    /// Work left in the current burst, ns at full speed.
    pub remaining: u64,
    /// CPU it last ran on.
    pub last_cpu: usize,
    /// When it last became runnable.
    pub runnable_since: u64,
    /// When it last woke, until it runs (wake→run latency).
    pub woke_at: Option<u64>,
    /// Periodic tasks: the period start it woke for.
    pub intended: u64,
    /// CPU time since it last slept, ns.
    pub exec_since_sleep: u64,
    /// Total CPU time, ns.
    pub sum_exec: u64,
    /// Voluntary switches (sleeps).
    pub nvcsw: u64,
    /// When it last went to sleep.
    pub slept_at: u64,
    /// Moving average of its bursts (CPU time between sleeps), ns; 0 until
    /// the first sleep.
    pub avg_burst: u64,
    /// Moving average of its sleeps, ns.
    pub avg_sleep: u64,
    /// Longest it waited runnable, ns.
    pub max_wait: u64,
    /// Periodic: periods done and missed; children: runs skipped.
    pub periods: u64,
    /// Periodic: missed periods.
    pub misses: u64,
    /// Messages or runs completed.
    pub done: u64,
    /// Replay: next segment.
    pub seg: usize,
    /// CPU time when its current run on a CPU started (to charge the run).
    run_start_exec: u64,
}

/// One simulated CPU.
#[derive(Debug, Clone, Default)]
pub struct Cpu {
    /// The task running, if any.
    pub curr: Option<TaskId>,
    /// The task that ran last (no switch cost to run it again).
    pub last: Option<TaskId>,
    /// Progress of `curr` is counted from here (after the switch).
    seg_start: u64,
    /// When `curr`'s slice ends (tick-rounded).
    pub slice_end: u64,
    /// When `curr`'s slice runs out, before rounding to the tick.
    slice_exact: u64,
    /// Generation of the CPU's pending event; a stale event is ignored.
    gen: u64,
    /// Speed, % of a core.
    rate: u64,
    /// An idle CPU claimed by a wake-up or kick on its way there.
    pub claimed: bool,
    /// The CPU is stalled until then (see [`Costs::stall_every_ns`]).
    pub stalled_until: u64,
}

/// An event on the machine's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// A sleeping task's wake-up (timer, message, fork).
    Wake { task: TaskId, sync: bool, waker: Option<usize> },
    /// The running task's burst or slice may have ended.
    Cpu { cpu: usize, gen: u64 },
    /// A kick arrives on a CPU.
    Kick { cpu: usize, preempt: bool },
    /// The model's own timer.
    Model { tag: u64 },
    /// A CPU stalls (`end` = 0) or its stall ends.
    Stall { cpu: usize, end: bool },
}

/// Statistics of one workload (label).
#[derive(Debug, Clone, Default)]
pub struct LabelStats {
    /// Periodic tasks: lateness of each period's start (timer + wait);
    /// others: wake→run latency.
    pub latency: Histogram,
    /// Periods (periodic), messages (hackbench) or runs (fork) done.
    pub done: u64,
    /// Missed periods (periodic), skipped forks (fork).
    pub misses: u64,
    /// CPU time, ns.
    pub cpu_ns: u64,
    /// Longest runnable wait of any of its tasks, ns.
    pub max_wait: u64,
    /// Number of tasks.
    pub tasks: u64,
}

/// The machine: CPUs, tasks, clock and events. Models act on it through
/// its public methods.
pub struct Machine {
    /// Current time, ns.
    pub now: u64,
    /// The CPUs' places.
    pub topo: Topology,
    /// Costs.
    pub costs: Costs,
    /// CPUs.
    pub cpus: Vec<Cpu>,
    /// Tasks, indexed by [`TaskId`].
    pub tasks: Vec<Task>,
    /// Workload names; [`Task::label`] indexes it.
    pub labels: Vec<String>,
    /// Random numbers (timer jitter, phases).
    pub rng: Rng,
    /// A CPU kept for the model's dispatcher (busy mode): no task runs
    /// there but the dispatcher, and switching to it costs nothing (it
    /// spins).
    pub reserved: Option<usize>,
    /// Tasks lighter than nice 0 have their slice enforced exactly, not at
    /// the next tick (scx_usched's slice timer; the framework model sets
    /// it from its `slice-timer` rule).
    pub exact_light_slices: bool,
    /// With [`Self::exact_light_slices`], also the slices a model refills
    /// for a task that goes on where it is ([`Model::stopping`] returning a
    /// slice: no new run begins, so nothing armed at a run's start sees it;
    /// the framework model's `kept-timer` rule). Without it such a slice
    /// ends at a tick.
    pub exact_kept_slices: bool,
    /// Wake→run latency of every wake-up, all tasks but the dispatcher.
    pub wake_run: Histogram,
    /// Events processed.
    pub events: u64,
    label_lat: Vec<Histogram>,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
    nr_idle: usize,
}

impl Machine {
    fn new(topo: Topology, costs: Costs, specs: Vec<TaskSpec>, seed: u64) -> Self {
        let n = topo.nr_cpus();
        let mut m = Self {
            now: 0,
            cpus: (0..n).map(|_| Cpu { rate: 100, ..Cpu::default() }).collect(),
            topo,
            costs,
            tasks: Vec::with_capacity(specs.len() + 1),
            labels: Vec::new(),
            rng: Rng::new(seed),
            reserved: None,
            exact_light_slices: false,
            exact_kept_slices: false,
            wake_run: Histogram::new(),
            events: 0,
            label_lat: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            nr_idle: n,
        };
        for spec in specs {
            m.add_task(spec);
        }
        m
    }

    /// Adds a sleeping task (the models add their own threads this way);
    /// returns its id.
    pub fn add_task(&mut self, spec: TaskSpec) -> TaskId {
        let label = match self.labels.iter().position(|l| *l == spec.label) {
            Some(i) => i,
            None => {
                self.labels.push(spec.label.clone());
                self.label_lat.push(Histogram::new());
                self.labels.len() - 1
            }
        };
        let kweight = if spec.idle { KWEIGHT_IDLE } else { nice_to_weight(spec.nice) };
        self.tasks.push(Task {
            last_cpu: spec.pinned.unwrap_or(0).min(self.cpus.len() - 1),
            spec,
            label,
            kweight,
            state: State::Sleeping,
            remaining: 0,
            runnable_since: 0,
            woke_at: None,
            intended: 0,
            exec_since_sleep: 0,
            sum_exec: 0,
            nvcsw: 0,
            slept_at: 0,
            avg_burst: 0,
            avg_sleep: 0,
            max_wait: 0,
            periods: 0,
            misses: 0,
            done: 0,
            seg: 0,
            run_start_exec: 0,
        });
        self.tasks.len() - 1
    }

    fn post(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, ev)));
    }

    /// Number of CPUs.
    pub fn nr_cpus(&self) -> usize {
        self.cpus.len()
    }

    /// Whether `t` may run on `cpu` (its affinity, and the reserved CPU
    /// only for the dispatcher).
    pub fn allowed(&self, t: TaskId, cpu: usize) -> bool {
        let task = &self.tasks[t];
        if self.reserved == Some(cpu) && task.spec.behavior != Behavior::Dispatcher {
            return false;
        }
        task.spec.pinned.is_none_or(|p| p == cpu)
    }

    /// Whether `cpu` runs nothing and nobody is on the way to it.
    pub fn is_idle(&self, cpu: usize) -> bool {
        self.cpus[cpu].curr.is_none() && !self.cpus[cpu].claimed
    }

    /// Number of CPUs running nothing (claimed ones included).
    pub fn nr_idle(&self) -> usize {
        self.nr_idle
    }

    /// An idle CPU for `t`, claimed, as the kernel's default idle selection
    /// picks one: `prev` if its whole core is idle, a whole idle core (the
    /// nearest to `prev` first), `prev` if idle, the nearest idle CPU.
    pub fn claim_idle(&mut self, t: TaskId, prev: usize) -> Option<usize> {
        if self.nr_idle == 0 {
            return None;
        }
        let core_idle = |m: &Self, c: usize| m.topo.siblings(c).iter().all(|&s| m.is_idle(s));
        let ok = |m: &Self, c: usize| m.is_idle(c) && m.allowed(t, c);
        let mut best: Option<(u32, usize)> = None;
        if ok(self, prev) && core_idle(self, prev) {
            best = Some((0, prev));
        } else {
            for c in 0..self.nr_cpus() {
                if ok(self, c) {
                    // A whole idle core first, then by distance.
                    let whole = if core_idle(self, c) { 0 } else { 10 };
                    let score = whole + if c == prev { 0 } else { 1 + self.topo.distance(prev, c) };
                    if best.is_none_or(|(s, _)| score < s) {
                        best = Some((score, c));
                    }
                }
            }
        }
        let (_, c) = best?;
        self.cpus[c].claimed = true;
        Some(c)
    }

    /// Sends a kick to `cpu`: an idle CPU picks work when it arrives; with
    /// `preempt`, a busy one stops its task (if the model allows).
    pub fn kick(&mut self, cpu: usize, preempt: bool) {
        let at = self.now + self.costs.ipi_ns;
        self.post(at, Ev::Kick { cpu, preempt });
    }

    /// Wakes `t` at once (a sync wake-up from `waker` if `sync`).
    pub fn wake_now(&mut self, t: TaskId, sync: bool, waker: Option<usize>) {
        if self.tasks[t].state == State::Sleeping {
            let now = self.now;
            self.post(now, Ev::Wake { task: t, sync, waker });
        }
    }

    /// Calls the model's [`Model::timer`] with `tag` at `at`.
    pub fn model_timer(&mut self, at: u64, tag: u64) {
        self.post(at.max(self.now), Ev::Model { tag });
    }

    /// How long `cpu`'s task has run since it last slept, ns (0 if idle).
    pub fn curr_ran(&self, cpu: usize) -> u64 {
        let c = &self.cpus[cpu];
        c.curr.map_or(0, |t| self.tasks[t].exec_since_sleep + self.now.saturating_sub(c.seg_start))
    }

    /// Slice left to `cpu`'s task (or the task that just left it), ns:
    /// what the kernel's `p->scx.slice` holds, not rounded to the tick.
    pub fn slice_left(&self, cpu: usize) -> u64 {
        self.cpus[cpu].slice_exact.saturating_sub(self.now)
    }

    /// The task's label.
    pub fn label(&self, t: TaskId) -> &str {
        &self.labels[self.tasks[t].label]
    }

    /// Counts the progress of `cpu`'s task up to now.
    fn settle(&mut self, cpu: usize) {
        let now = self.now;
        let c = &mut self.cpus[cpu];
        let Some(t) = c.curr else { return };
        if now <= c.seg_start {
            return;
        }
        let dt = now - c.seg_start;
        c.seg_start = now;
        let work = dt * c.rate / 100;
        let task = &mut self.tasks[t];
        task.remaining = task.remaining.saturating_sub(work);
        task.exec_since_sleep += dt;
        task.sum_exec += dt;
    }

    /// Posts `cpu`'s next event: its task's burst end or slice end.
    fn arm(&mut self, cpu: usize) {
        let c = &mut self.cpus[cpu];
        c.gen += 1;
        let Some(t) = c.curr else { return };
        let rem = self.tasks[t].remaining;
        let finish = match c.rate {
            0 => u64::MAX,
            r => c.seg_start.saturating_add((rem.saturating_mul(100)).div_ceil(r)),
        };
        let at = finish.min(c.slice_end).max(self.now);
        let gen = c.gen;
        self.post(at, Ev::Cpu { cpu, gen });
    }

    /// Re-rates `cpu`'s SMT siblings after `cpu` started or stopped.
    fn rerate_siblings(&mut self, cpu: usize) {
        let sibs: Vec<usize> = self.topo.siblings(cpu).to_vec();
        for s in sibs {
            if self.cpus[s].curr.is_some() {
                self.settle(s);
                self.cpus[s].rate = self.rate_of(s);
                self.arm(s);
            }
        }
    }

    fn rate_of(&self, cpu: usize) -> u64 {
        if self.now < self.cpus[cpu].stalled_until {
            return 0;
        }
        if self.topo.siblings(cpu).iter().any(|&s| self.cpus[s].curr.is_some()) {
            self.costs.smt_pct
        } else {
            100
        }
    }
}

/// A scheduler, as the machine sees it. Every runnable task must end up
/// somewhere [`pick`](Model::pick) will find it.
pub trait Model {
    /// `t` became runnable (woken by a timer, a message or a fork; `sync`
    /// for a message, from the CPU `waker`).
    fn wake(&mut self, m: &mut Machine, t: TaskId, sync: bool, waker: Option<usize>);
    /// `t` left `cpu` for `why` after running `ran` ns there. Returns a new
    /// slice if it goes on running there ([`Stop::SliceEnd`] only); a
    /// runnable task it does not keep must be queued.
    fn stopping(
        &mut self,
        m: &mut Machine,
        cpu: usize,
        t: TaskId,
        why: Stop,
        ran: u64,
    ) -> Option<u64>;
    /// The task `cpu` runs next and its slice, or `None` to idle.
    fn pick(&mut self, m: &mut Machine, cpu: usize) -> Option<(TaskId, u64)>;
    /// Whether a preempting kick may stop `cpu`'s task now.
    fn preempt_ok(&mut self, _m: &Machine, _cpu: usize) -> bool {
        true
    }
    /// A timer the model set with [`Machine::model_timer`].
    fn timer(&mut self, _m: &mut Machine, _tag: u64) {}
    /// The dispatcher starts a round: the work it has, ns.
    fn dispatcher_begin(&mut self, _m: &mut Machine) -> u64 {
        0
    }
    /// The dispatcher's round is done; returns whether another is due.
    fn dispatcher_end(&mut self, _m: &mut Machine) -> bool {
        false
    }
    /// Counters and histograms for the report.
    fn report(&self, _m: &Machine) -> ModelReport {
        ModelReport::default()
    }
}

/// What a model reports besides the machine's figures.
#[derive(Debug, Clone, Default)]
pub struct ModelReport {
    /// Named counters, in a fixed order.
    pub counters: Vec<(&'static str, u64)>,
    /// Enqueue (record sent) → decision applied, ns.
    pub enq_dispatch: Option<Histogram>,
}

/// A machine and the model that schedules it.
pub struct Sim {
    /// The machine.
    pub m: Machine,
    /// The scheduler.
    pub model: Box<dyn Model>,
    end: u64,
}

impl Sim {
    /// A simulation of `specs` on `topo` with `costs` until `end_ns`,
    /// scheduled by the model `build` makes for the machine (it may add
    /// its own tasks); `seed` fixes every random choice.
    pub fn new(
        topo: Topology,
        costs: Costs,
        specs: Vec<TaskSpec>,
        build: impl FnOnce(&mut Machine) -> Box<dyn Model>,
        seed: u64,
        end_ns: u64,
    ) -> Self {
        let mut m = Machine::new(topo, costs, specs, seed);
        let model = build(&mut m);
        // First wake-ups: periodic threads at a random phase, hogs and one
        // side of each message pair at once, spawners and replays at their
        // first time; message receivers and children wait to be woken.
        for t in 0..m.tasks.len() {
            let at = match &m.tasks[t].spec.behavior {
                Behavior::Periodic { period_ns, .. } => {
                    let phase = m.rng.below(*period_ns);
                    m.tasks[t].intended = phase;
                    Some(phase)
                }
                Behavior::Spawner { period_ns, .. } => Some(m.rng.below(*period_ns)),
                Behavior::Hog => Some(m.rng.below(1_000)),
                Behavior::Message { partner, .. } => (*partner > t).then_some(0),
                Behavior::Replay { segments } => segments.first().map(|s| s.0),
                Behavior::Child { .. } | Behavior::Dispatcher => None,
            };
            if let Some(at) = at {
                m.post(at, Ev::Wake { task: t, sync: false, waker: None });
            }
        }
        if m.costs.stall_every_ns > 0 {
            for cpu in 0..m.nr_cpus() {
                let at = m.rng.below(2 * m.costs.stall_every_ns);
                m.post(at, Ev::Stall { cpu, end: false });
            }
        }
        Self { m, model, end: end_ns }
    }

    /// Runs to the end time.
    pub fn run(&mut self) {
        while let Some(Reverse((at, _, ev))) = self.m.queue.pop() {
            if at > self.end {
                break;
            }
            self.m.now = at;
            self.m.events += 1;
            match ev {
                Ev::Wake { task, sync, waker } => self.on_wake(task, sync, waker),
                Ev::Cpu { cpu, gen } => {
                    if self.m.cpus[cpu].gen == gen {
                        self.on_cpu(cpu);
                    }
                }
                Ev::Kick { cpu, preempt } => {
                    let until = self.m.cpus[cpu].stalled_until;
                    if at < until {
                        self.m.post(until, Ev::Kick { cpu, preempt });
                    } else {
                        self.on_kick(cpu, preempt);
                    }
                }
                Ev::Stall { cpu, end } => self.on_stall(cpu, end),
                Ev::Model { tag } => self.model.timer(&mut self.m, tag),
            }
        }
        self.m.now = self.end;
        for cpu in 0..self.m.nr_cpus() {
            self.m.settle(cpu);
        }
        let now = self.m.now;
        for t in &mut self.m.tasks {
            if t.state == State::Runnable {
                t.max_wait = t.max_wait.max(now - t.runnable_since);
            }
        }
    }

    fn on_wake(&mut self, t: TaskId, sync: bool, waker: Option<usize>) {
        let now = self.m.now;
        let task = &mut self.m.tasks[t];
        if task.state != State::Sleeping {
            return;
        }
        task.remaining = match &task.spec.behavior {
            Behavior::Periodic { work_ns, .. }
            | Behavior::Message { work_ns, .. }
            | Behavior::Child { work_ns } => *work_ns,
            Behavior::Hog => u64::MAX / 4,
            Behavior::Spawner { fork_ns, children, .. } => fork_ns * children.len().max(1) as u64,
            Behavior::Replay { segments } => segments.get(task.seg).map_or(0, |s| s.1.max(1)),
            // Set when it starts running (the batch it finds then).
            Behavior::Dispatcher => 0,
        };
        if task.nvcsw > 0 {
            let slept = now - task.slept_at;
            task.avg_sleep =
                if task.avg_sleep == 0 { slept } else { (task.avg_sleep * 7 + slept) / 8 };
        }
        task.state = State::Runnable;
        task.runnable_since = now;
        task.woke_at = Some(now);
        self.model.wake(&mut self.m, t, sync, waker);
    }

    /// `t` starts running on `cpu` for `slice`; `kept`: it was running
    /// there and goes on (a refilled slice).
    fn start(&mut self, cpu: usize, t: TaskId, slice: u64, kept: bool) {
        let m = &mut self.m;
        let now = m.now;
        let switch =
            if m.cpus[cpu].last == Some(t) || m.reserved == Some(cpu) { 0 } else { m.costs.ctx_ns };
        let begin = now + switch;
        let dist = m.topo.distance(m.tasks[t].last_cpu, cpu);
        let task = &mut m.tasks[t];
        debug_assert_eq!(task.state, State::Runnable, "task {t} started while not runnable");
        task.state = State::Running(cpu);
        task.max_wait = task.max_wait.max(begin - task.runnable_since);
        task.run_start_exec = task.sum_exec;
        let migrate = match dist {
            3 => m.costs.migrate_llc_ns,
            4 => m.costs.migrate_node_ns,
            _ => 0,
        };
        task.remaining = task.remaining.saturating_add(migrate);
        task.last_cpu = cpu;
        if let Some(w) = task.woke_at.take() {
            let label = task.label;
            if task.spec.behavior != Behavior::Dispatcher {
                m.wake_run.record(begin - w);
            }
            if let Behavior::Periodic { .. } = task.spec.behavior {
                let late = begin.saturating_sub(task.intended);
                m.label_latency(label, late);
            } else if task.spec.behavior != Behavior::Dispatcher {
                m.label_latency(label, begin - w);
            }
        }
        let was_idle = m.cpus[cpu].curr.is_none();
        let c = &mut m.cpus[cpu];
        c.curr = Some(t);
        c.last = Some(t);
        c.claimed = false;
        c.seg_start = begin;
        let tick = m.costs.tick_ns.max(1);
        c.slice_exact = begin.saturating_add(slice.max(1));
        let exact = m.exact_light_slices && (!kept || m.exact_kept_slices);
        c.slice_end = if exact && m.tasks[t].kweight < KWEIGHT_NICE0 {
            c.slice_exact
        } else {
            c.slice_exact.div_ceil(tick).saturating_mul(tick)
        };
        if was_idle {
            m.nr_idle -= 1;
        }
        m.cpus[cpu].rate = m.rate_of(cpu);
        if m.tasks[t].spec.behavior == Behavior::Dispatcher && m.tasks[t].remaining == 0 {
            let work = self.model.dispatcher_begin(&mut self.m).max(1);
            self.m.tasks[t].remaining = work;
        }
        self.m.arm(cpu);
        if was_idle {
            self.m.rerate_siblings(cpu);
        }
    }

    /// Takes `cpu`'s task off it, tells the model, and runs what it picks.
    fn stop(&mut self, cpu: usize, why: Stop) {
        self.m.settle(cpu);
        let Some(t) = self.m.cpus[cpu].curr else { return };
        let ran = self.m.tasks[t].sum_exec - self.m.tasks[t].run_start_exec;
        self.m.cpus[cpu].curr = None;
        self.m.cpus[cpu].gen += 1;
        self.m.nr_idle += 1;
        let now = self.m.now;
        let task = &mut self.m.tasks[t];
        if why == Stop::Sleep {
            task.state = State::Sleeping;
            task.avg_burst = if task.nvcsw == 0 {
                task.exec_since_sleep
            } else {
                (task.avg_burst * 7 + task.exec_since_sleep) / 8
            };
            task.exec_since_sleep = 0;
            task.nvcsw += 1;
            task.slept_at = now;
        } else {
            task.state = State::Runnable;
            task.runnable_since = now;
        }
        if let Some(slice) = self.model.stopping(&mut self.m, cpu, t, why, ran) {
            debug_assert_eq!(why, Stop::SliceEnd);
            self.start(cpu, t, slice, true);
            return;
        }
        self.pick(cpu);
        if self.m.cpus[cpu].curr.is_none() {
            self.m.rerate_siblings(cpu);
        }
    }

    fn pick(&mut self, cpu: usize) {
        if self.m.cpus[cpu].curr.is_some() {
            return;
        }
        match self.model.pick(&mut self.m, cpu) {
            Some((t, slice)) => self.start(cpu, t, slice, false),
            None => self.m.cpus[cpu].claimed = false,
        }
    }

    fn on_kick(&mut self, cpu: usize, preempt: bool) {
        if self.m.cpus[cpu].curr.is_none() {
            self.pick(cpu);
        } else if preempt && self.model.preempt_ok(&self.m, cpu) {
            self.stop(cpu, Stop::Preempt);
        }
    }

    fn on_stall(&mut self, cpu: usize, end: bool) {
        let now = self.m.now;
        self.m.settle(cpu);
        if end {
            self.m.cpus[cpu].stalled_until = 0;
            let every = self.m.costs.stall_every_ns;
            let next = now + 1 + self.m.rng.below(2 * every);
            self.m.post(next, Ev::Stall { cpu, end: false });
        } else {
            let d = 1 + self.m.rng.below(self.m.costs.stall_max_ns.max(1));
            self.m.cpus[cpu].stalled_until = now + d;
            self.m.post(now + d, Ev::Stall { cpu, end: true });
        }
        self.m.cpus[cpu].rate = self.m.rate_of(cpu);
        self.m.arm(cpu);
        if end {
            if self.m.cpus[cpu].curr.is_none() {
                self.pick(cpu);
            } else {
                self.on_cpu(cpu);
            }
        }
    }

    fn on_cpu(&mut self, cpu: usize) {
        if self.m.now < self.m.cpus[cpu].stalled_until {
            // Slice ends wait for the stall's end, which re-checks.
            return;
        }
        self.m.settle(cpu);
        let Some(t) = self.m.cpus[cpu].curr else { return };
        if self.m.tasks[t].remaining == 0 {
            self.burst_done(cpu, t);
        } else if self.m.now >= self.m.cpus[cpu].slice_end {
            self.stop(cpu, Stop::SliceEnd);
        } else {
            self.m.arm(cpu);
        }
    }

    /// `t` finished its burst on `cpu`: what its behaviour does next.
    fn burst_done(&mut self, cpu: usize, t: TaskId) {
        let now = self.m.now;
        let costs = self.m.costs;
        let jitter = self.m.rng.below(costs.timer_jitter_ns.max(1));
        let task = &mut self.m.tasks[t];
        task.done += 1;
        match task.spec.behavior.clone() {
            Behavior::Periodic { period_ns, .. } => {
                task.periods += 1;
                let mut next = task.intended + period_ns;
                if now > next {
                    task.misses += 1;
                    while next < now {
                        next += period_ns;
                    }
                }
                task.intended = next;
                self.m.post(
                    next + costs.timer_ns + jitter,
                    Ev::Wake { task: t, sync: false, waker: None },
                );
                self.stop(cpu, Stop::Sleep);
            }
            Behavior::Message { partner, .. } => {
                self.stop(cpu, Stop::Sleep);
                self.m.wake_now(partner, true, Some(cpu));
            }
            Behavior::Spawner { period_ns, children, .. } => {
                let next = (now / period_ns + 1) * period_ns + self.m.rng.below(period_ns / 10 + 1);
                self.m.post(next, Ev::Wake { task: t, sync: false, waker: None });
                self.stop(cpu, Stop::Sleep);
                for c in children {
                    if self.m.tasks[c].state == State::Sleeping {
                        self.m.wake_now(c, false, Some(cpu));
                    } else {
                        self.m.tasks[c].misses += 1;
                    }
                }
            }
            Behavior::Child { .. } => self.stop(cpu, Stop::Sleep),
            Behavior::Replay { segments } => {
                task.seg += 1;
                if let Some(&(at, _)) = segments.get(task.seg) {
                    self.m.post(at.max(now), Ev::Wake { task: t, sync: false, waker: None });
                }
                self.stop(cpu, Stop::Sleep);
            }
            Behavior::Hog => {
                // Unreachable in practice (u64::MAX / 4 of work): go on.
                task.remaining = u64::MAX / 4;
                self.m.arm(cpu);
            }
            Behavior::Dispatcher => {
                if self.model.dispatcher_end(&mut self.m) {
                    let work = self.model.dispatcher_begin(&mut self.m).max(1);
                    self.m.tasks[t].remaining = work;
                    self.m.arm(cpu);
                } else {
                    self.stop(cpu, Stop::Sleep);
                }
            }
        }
    }
}

impl Machine {
    fn label_latency(&mut self, label: usize, ns: u64) {
        self.label_lat[label].record(ns);
    }

    /// Each workload's statistics, in [`Machine::labels`] order.
    pub fn label_stats(&self) -> Vec<LabelStats> {
        let mut out: Vec<LabelStats> = self
            .label_lat
            .iter()
            .map(|h| LabelStats { latency: h.clone(), ..LabelStats::default() })
            .collect();
        for t in &self.tasks {
            let s = &mut out[t.label];
            s.tasks += 1;
            s.cpu_ns += t.sum_exec;
            s.max_wait = s.max_wait.max(t.max_wait);
            s.misses += t.misses;
            s.done += match t.spec.behavior {
                Behavior::Periodic { .. } => t.periods,
                _ => t.done,
            };
        }
        out
    }
}
