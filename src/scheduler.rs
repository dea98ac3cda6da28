// SPDX-License-Identifier: GPL-2.0-only
//! [`BpfScheduler`]: loads the BPF component and moves tasks and decisions
//! between it and a user-space policy.
use std::cell::RefCell;
use std::mem::{offset_of, MaybeUninit};
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use libbpf_rs::{Link, OpenObject, PrintLevel, ProgramInput, RingBufferBuilder, UserRingBuffer};
use scx_utils::{scx_ops_attach, UserExitInfo};
use usched_core::policy::{Decision, Task, CPU_ANY};

use crate::bpf::intf;
use crate::bpf::skel::{types, BpfSkel, BpfSkelBuilder};
use crate::config::{Config, PollMode};
use crate::error::{Error, Result};
use crate::escape::{Escape, Move};
use crate::stats::Stats;
use crate::sys;

/// Decision flag: the task may run on any CPU it is allowed on.
pub const RL_CPU_ANY: u64 = intf::usched_dispatch_flags_USCHED_RL_CPU_ANY as u64;
/// Decision flag: preempt the task running on the target CPU.
pub const RL_PREEMPT: u64 = intf::usched_dispatch_flags_USCHED_RL_PREEMPT as u64;

const MAX_CPUS: usize = intf::usched_consts_USCHED_MAX_CPUS as usize;
const CPU_WORDS: usize = intf::usched_consts_USCHED_CPU_WORDS as usize;
const WAKE_ONLY: u32 = intf::usched_task_flags_USCHED_TASK_WAKE_ONLY as u32;
/// Records pulled from the ring buffer per refill of the staging buffer.
const STAGE: usize = 512;
/// Longest a blocking wait lasts, so that exits and signals are noticed.
const MAX_BLOCK_MS: i32 = 100;

/// Set by [`request_exit`] (e.g. from a signal handler the binary installs).
static EXIT_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every [`BpfScheduler`] of this process to report `exited()`.
/// Async-signal-safe: it only stores to an atomic.
pub fn request_exit() {
    EXIT_REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether [`request_exit`] was called.
pub fn exit_requested() -> bool {
    EXIT_REQUESTED.load(Ordering::SeqCst)
}

/// Clears an exit request, e.g. before restarting the scheduler.
pub fn clear_exit_request() {
    EXIT_REQUESTED.store(false, Ordering::SeqCst);
}

/// A task that became runnable, as sent by the BPF side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueuedTask {
    /// pid that uniquely identifies the task.
    pub pid: i32,
    /// CPU where the task last ran.
    pub cpu: i32,
    /// Number of CPUs it may run on.
    pub nr_cpus_allowed: u32,
    /// `Task::WAKEUP` / `Task::KTHREAD` (usched-core's flags).
    pub flags: u64,
    /// Total CPU time, ns.
    pub sum_exec_runtime: u64,
    /// CPU time since it last slept, ns.
    pub exec_runtime: u64,
    /// Static priority weight (100 = nice 0).
    pub weight: u64,
    /// Voluntary context switches.
    pub nvcsw: u64,
    /// Time slice left when it was enqueued, ns.
    pub slice: u64,
    /// vruntime as kept by the BPF side (last decided vtime + weighted runtime).
    pub vtime: u64,
    /// When it was sent to user space, ns (CLOCK_MONOTONIC).
    pub enq_time: u64,
    /// Enqueue sequence; [`DispatchedTask::new`] echoes it back so that a
    /// decision for an older enqueue of the task is recognised as stale.
    pub seq: u64,
}

impl QueuedTask {
    /// Size of a record on the ring buffer.
    pub const RECORD_SIZE: usize = std::mem::size_of::<intf::queued_task>();

    /// Decodes a ring buffer record by value. `None` for a record too short
    /// to be one, and for the task-less records that only wake the dispatcher.
    pub fn decode(data: &[u8]) -> Option<Self> {
        if data.len() < Self::RECORD_SIZE {
            return None;
        }
        // SAFETY: `data` holds at least one queued_task (checked above), a
        // plain-old-data struct of integers; read_unaligned makes no
        // alignment assumption about the ring buffer.
        let rec = unsafe { ptr::read_unaligned(data.as_ptr().cast::<intf::queued_task>()) };
        if rec.flags & WAKE_ONLY != 0 {
            return None;
        }
        Some(Self::from_record(&rec))
    }

    fn from_record(r: &intf::queued_task) -> Self {
        Self {
            pid: r.pid,
            cpu: r.cpu,
            nr_cpus_allowed: r.nr_cpus_allowed,
            flags: u64::from(r.flags),
            sum_exec_runtime: r.sum_exec_runtime,
            exec_runtime: r.exec_runtime,
            weight: r.weight,
            nvcsw: r.nvcsw,
            slice: r.slice,
            vtime: r.vtime,
            enq_time: r.enq_ts,
            seq: r.seq,
        }
    }
}

impl From<QueuedTask> for Task {
    fn from(t: QueuedTask) -> Task {
        Task {
            pid: t.pid,
            cpu: t.cpu,
            nr_cpus_allowed: t.nr_cpus_allowed,
            weight: t.weight,
            exec_runtime: t.exec_runtime,
            vtime: t.vtime,
            sum_exec_runtime: t.sum_exec_runtime,
            nvcsw: t.nvcsw,
            wakeup_freq: 0,
            flags: t.flags,
            enq_time: t.enq_time,
            cookie: t.seq,
        }
    }
}

/// A decision for one task, user space → BPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DispatchedTask {
    /// pid that uniquely identifies the task.
    pub pid: i32,
    /// Target CPU selected by the scheduler (ignored with [`RL_CPU_ANY`]).
    pub cpu: i32,
    /// [`RL_CPU_ANY`], [`RL_PREEMPT`].
    pub flags: u64,
    /// Time slice, ns (0 = the configured default).
    pub slice_ns: u64,
    /// vruntime to store for the task (0 = keep).
    pub vtime: u64,
    /// The [`QueuedTask::seq`] this answers.
    pub seq: u64,
    /// Order among the tasks waiting for a CPU: lower runs first (compared
    /// wrap-safe). 0 = use `vtime`. The BPF side keeps it, like `vtime`,
    /// within `USCHED_VTIME_MAX_LAG` of its vtime clock.
    pub deadline: u64,
}

impl DispatchedTask {
    /// Size of a decision on the user ring buffer.
    pub const RECORD_SIZE: usize = std::mem::size_of::<intf::dispatched_task>();

    /// Encodes the decision as the BPF side reads it.
    pub fn encode(&self, out: &mut [u8; Self::RECORD_SIZE]) {
        let rec = intf::dispatched_task {
            pid: self.pid,
            cpu: self.cpu,
            flags: self.flags,
            slice_ns: self.slice_ns,
            vtime: self.vtime,
            seq: self.seq,
            deadline: self.deadline,
        };
        // SAFETY: `out` is exactly one dispatched_task long;
        // write_unaligned makes no alignment assumption.
        unsafe { ptr::write_unaligned(out.as_mut_ptr().cast::<intf::dispatched_task>(), rec) };
    }

    /// A decision pre-filled from the queued task: same pid and CPU, default
    /// slice, its vruntime (which also orders it), no flags.
    pub fn new(task: &QueuedTask) -> Self {
        Self {
            pid: task.pid,
            cpu: task.cpu,
            flags: 0,
            slice_ns: 0,
            vtime: task.vtime,
            seq: task.seq,
            deadline: 0,
        }
    }
}

impl From<Decision> for DispatchedTask {
    fn from(d: Decision) -> Self {
        let mut flags = 0;
        if d.cpu == CPU_ANY {
            flags |= RL_CPU_ANY;
        }
        if d.flags & Decision::PREEMPT != 0 {
            flags |= RL_PREEMPT;
        }
        // With RL_CPU_ANY the BPF side ignores `cpu`: it carries the CPU to
        // preempt when no CPU is idle.
        let cpu = if d.cpu == CPU_ANY { d.hint_cpu } else { d.cpu };
        Self {
            pid: d.pid,
            cpu,
            flags,
            slice_ns: d.slice_ns,
            vtime: d.vtime,
            seq: d.cookie,
            deadline: d.deadline,
        }
    }
}

/// Records decoded from the ring buffer, waiting for `dequeue_task`.
struct Staging {
    items: [QueuedTask; STAGE],
    head: usize,
    len: usize,
}

/// Pending CPU kicks, flushed once per batch.
struct Kicks {
    args: intf::kick_args,
    dirty: bool,
    /// Any-CPU decisions: as many idle CPUs get kicked.
    nr_any: usize,
    /// Any-CPU decisions that ask to preempt: idle CPUs first, then these
    /// CPUs (the tasks' last ones) are preempted.
    urgent: [u64; CPU_WORDS],
    nr_urgent: usize,
}

impl Kicks {
    fn set(words: &mut [u64; CPU_WORDS], cpu: usize) {
        if cpu < MAX_CPUS {
            words[cpu / 64] |= 1 << (cpu % 64);
        }
    }
}

/// How long [`BpfScheduler::dispatch_task`] waits for room in a full user
/// ring buffer before it gives the decision back: CPUs drain the ring in
/// `ops.dispatch()`, which a kick brings within a scheduling round trip.
pub const FULL_RING_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
/// The step of that wait.
const FULL_RING_STEP: std::time::Duration = std::time::Duration::from_micros(50);
/// Kicks are sent again this often while the ring stays full.
const FULL_RING_REKICK: std::time::Duration = std::time::Duration::from_millis(10);

/// The libbpf log lines kept while loading, for verifier errors.
static LOAD_LOG: Mutex<String> = Mutex::new(String::new());

fn capture_libbpf_log(_level: PrintLevel, msg: String) {
    if let Ok(mut log) = LOAD_LOG.lock() {
        log.push_str(&msg);
        // Keep the tail: the verifier's verdict is at the end.
        if log.len() > 64 * 1024 {
            let cut = log.len() - 32 * 1024;
            log.drain(..cut);
        }
    }
}

fn log_tail(lines: usize) -> String {
    let log = LOAD_LOG.lock().map(|l| l.clone()).unwrap_or_default();
    let v: Vec<&str> = log.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// The framework: loads and attaches the BPF component, hands runnable
/// tasks to the caller and takes its decisions back.
///
/// The thread that calls [`dequeue_task`](Self::dequeue_task),
/// [`dispatch_task`](Self::dispatch_task) and
/// [`notify_complete`](Self::notify_complete) is the dispatcher; the BPF
/// side dispatches it (and the other threads of this process) itself, so it
/// never waits for its own decisions.
pub struct BpfScheduler<'a> {
    skel: BpfSkel<'a>,
    struct_ops: Option<Link>,
    queued: libbpf_rs::RingBuffer<'static>,
    dispatched: Rc<UserRingBuffer>,
    staging: Rc<RefCell<Staging>>,
    bss: NonNull<types::bss>,
    kicks: Box<Kicks>,
    cfg: Config,
    nr_cpus: usize,
    nr_pushed: u64,
    epoll_fd: i32,
    last_event: Instant,
    /// Watches a pinned dispatcher for a CPU that a higher class holds.
    escape: Option<Escape>,
}

impl<'a> BpfScheduler<'a> {
    /// Loads and attaches the scheduler, as scx_rustland_core's `init`.
    ///
    /// # Errors
    /// See [`with_config`](Self::with_config).
    pub fn init(
        open_object: &'a mut MaybeUninit<OpenObject>,
        exit_dump_len: u32,
        partial: bool,
        debug: bool,
    ) -> Result<Self> {
        let cfg = Config::default().exit_dump_len(exit_dump_len).partial(partial).debug(debug);
        Self::with_config(open_object, &cfg)
    }

    /// Loads and attaches the scheduler with `cfg`.
    ///
    /// # Errors
    /// [`Error::NoSchedExt`], [`Error::NotPermitted`], [`Error::AlreadyLoaded`]
    /// and [`Error::InvalidConfig`] before anything is loaded;
    /// [`Error::Verifier`] with the tail of the verifier log, or
    /// [`Error::Bpf`] when opening, loading or attaching fails.
    pub fn with_config(open_object: &'a mut MaybeUninit<OpenObject>, cfg: &Config) -> Result<Self> {
        let nr_cpus = *scx_utils::NR_CPU_IDS;
        if nr_cpus > MAX_CPUS {
            return Err(Error::InvalidConfig(format!(
                "this machine has {nr_cpus} possible CPU ids; usched supports at most {MAX_CPUS} \
                 (USCHED_MAX_CPUS in bpf/intf.h)"
            )));
        }
        cfg.validate(nr_cpus)?;
        sys::preflight()?;

        let builder = BpfSkelBuilder::default();
        let mut skel = scx_utils::scx_ops_open!(
            builder,
            open_object,
            usched_ops,
            None::<libbpf_rs::libbpf_sys::bpf_object_open_opts>
        )
        .map_err(|e| Error::bpf("opening the BPF object", e))?;

        {
            let ro = skel
                .maps
                .rodata_data
                .as_deref_mut()
                .ok_or_else(|| Error::bpf("opening the BPF object", "no .rodata map"))?;
            ro.usersched_tgid = std::process::id() as i32;
            ro.slice_ns = cfg.slice.as_nanos() as u64;
            ro.builtin_idle = cfg.builtin_idle;
            ro.dispatcher_cpu = cfg.dispatcher_cpu.map_or(-1, |c| c as i32);
            ro.poll_mode = cfg.poll.abi();
            ro.heartbeat_ns = cfg.heartbeat.as_nanos() as u64;
            ro.starve_ns = cfg.starve_after().as_nanos() as u64;
            ro.debug = cfg.debug;
            ro.fast_wakeup_ns = cfg.fast_wakeup.map_or(0, |d| d.as_nanos() as u64);
        }
        skel.maps
            .queued
            .set_max_entries(cfg.ring_bytes)
            .map_err(|e| Error::bpf("sizing the ring buffer", e))?;
        {
            let ops = skel.struct_ops.usched_ops_mut();
            ops.exit_dump_len = cfg.exit_dump_len;
            ops.timeout_ms = cfg.watchdog.as_millis() as u32;
            if cfg.partial {
                ops.flags |= *scx_utils::compat::SCX_OPS_SWITCH_PARTIAL;
            }
        }

        {
            use libbpf_rs::AsRawLibbpf;
            // The struct_ops map is attached by hand below (its link is
            // ours); libbpf's skeleton attach would try as well and warn
            // that the skeleton has no link for it.
            let map = skel.maps.usched_ops.as_libbpf_object();
            // SAFETY: `map` points to the open object's struct_ops map,
            // alive as long as `skel`; the call only sets a flag on it.
            unsafe { libbpf_rs::libbpf_sys::bpf_map__set_autoattach(map.as_ptr(), false) };
        }

        if let Ok(mut l) = LOAD_LOG.lock() {
            l.clear();
        }
        let prev = libbpf_rs::set_print(Some((PrintLevel::Debug, capture_libbpf_log)));
        let loaded = scx_utils::scx_ops_load!(skel, usched_ops, uei);
        libbpf_rs::set_print(prev);
        let mut skel = loaded.map_err(|e| {
            let log = log_tail(40);
            if log.contains("processed") || log.contains("R0") || log.contains("invalid") {
                Error::Verifier { error: format!("{e:#}"), log }
            } else {
                Error::bpf("loading the BPF program", e)
            }
        })?;

        // Attaching fails if another scheduler got there since the preflight.
        let link =
            scx_utils::scx_ops_attach!(skel, usched_ops).map_err(
                |e| match sys::check_not_loaded() {
                    Err(loaded @ Error::AlreadyLoaded { .. }) => loaded,
                    _ => Error::bpf("attaching the scheduler", e),
                },
            )?;

        let bss = skel
            .maps
            .bss_data
            .as_deref_mut()
            .map(NonNull::from)
            .ok_or_else(|| Error::bpf("loading the BPF program", "no .bss map"))?;

        let staging = Rc::new(RefCell::new(Staging {
            items: [QueuedTask::default(); STAGE],
            head: 0,
            len: 0,
        }));
        let sink = staging.clone();
        let mut rb = RingBufferBuilder::new();
        rb.add(&skel.maps.queued, move |data: &[u8]| {
            let Some(task) = QueuedTask::decode(data) else {
                return 0; // a task-less wake-up record, or a short one
            };
            let Ok(mut st) = sink.try_borrow_mut() else {
                return 0;
            };
            if st.len < STAGE {
                let at = (st.head + st.len) % STAGE;
                st.items[at] = task;
                st.len += 1;
            }
            0
        })
        .map_err(|e| Error::bpf("setting up the ring buffer", e))?;
        let queued = rb.build().map_err(|e| Error::bpf("setting up the ring buffer", e))?;
        let epoll_fd = queued.epoll_fd();
        let dispatched = Rc::new(
            UserRingBuffer::new(&skel.maps.dispatched)
                .map_err(|e| Error::bpf("setting up the user ring buffer", e))?,
        );

        let mut s = Self {
            skel,
            struct_ops: Some(link),
            queued,
            dispatched,
            staging,
            bss,
            kicks: Box::new(Kicks {
                args: intf::kick_args { preempt: [0; CPU_WORDS], idle: [0; CPU_WORDS] },
                dirty: false,
                nr_any: 0,
                urgent: [0; CPU_WORDS],
                nr_urgent: 0,
            }),
            cfg: cfg.clone(),
            nr_cpus,
            nr_pushed: 0,
            epoll_fd,
            last_event: Instant::now(),
            // Only a dispatcher its owner pinned where the BPF side expects
            // it is moved (and moved back): nothing else is touched.
            escape: cfg
                .dispatcher_cpu
                .filter(|&c| crate::thread::pinned_cpu() == Some(c))
                .map(|_| Escape::default()),
        };
        s.register_dispatcher_thread();
        Ok(s)
    }

    /// The configuration the scheduler runs with.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Number of possible CPU ids the scheduler handles.
    pub fn nr_cpus(&self) -> usize {
        self.nr_cpus
    }

    /// The `.bss` field at byte `offset` as an atomic.
    fn bss_u64(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset.is_multiple_of(8) && offset + 8 <= std::mem::size_of::<types::bss>());
        // SAFETY: `bss` points at the mmap'd .bss, alive as long as the
        // skeleton (and so `self`); `offset` comes from offset_of! on an
        // 8-byte aligned u64 field that the BPF side updates atomically, so
        // viewing it as an AtomicU64 is sound.
        unsafe { AtomicU64::from_ptr(self.bss.as_ptr().cast::<u8>().add(offset).cast()) }
    }

    /// The `.bss` field at byte `offset` as an atomic (u32 or i32).
    fn bss_u32(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset.is_multiple_of(4) && offset + 4 <= std::mem::size_of::<types::bss>());
        // SAFETY: as in `bss_u64`, for a 4-byte aligned 32-bit field.
        unsafe { AtomicU32::from_ptr(self.bss.as_ptr().cast::<u8>().add(offset).cast()) }
    }

    /// Marks the calling thread as the dispatcher: the BPF side gives it
    /// wake-up preemption on its CPU. `init` calls it for the initialising
    /// thread; call it again from a different dispatching thread.
    pub fn register_dispatcher_thread(&mut self) {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        self.bss_u32(offset_of!(types::bss, dispatcher_tid)).store(tid as u32, Ordering::Relaxed);
    }

    fn refill(&mut self) -> usize {
        let free = {
            let st = self.staging.borrow();
            if st.len > 0 {
                return st.len;
            }
            STAGE
        };
        let n = self.queued.consume_raw_n(free);
        if n > 0 {
            self.last_event = Instant::now();
        }
        self.staging.borrow().len
    }

    /// The next runnable task, if any; never blocks.
    ///
    /// # Errors
    /// None today; the `Result` keeps the seed's signature.
    pub fn dequeue_task(&mut self) -> Result<Option<QueuedTask>> {
        if self.refill() == 0 {
            return Ok(None);
        }
        let mut st = self.staging.borrow_mut();
        let t = st.items[st.head];
        st.head = (st.head + 1) % STAGE;
        st.len -= 1;
        Ok(Some(t))
    }

    /// Sends a decision to the BPF side. Kicks for it are batched until
    /// [`notify_complete`](Self::notify_complete) (or [`flush`](Self::flush)).
    ///
    /// When the user ring buffer is full, it first makes the CPUs drain it
    /// (every CPU is kicked into `ops.dispatch()`) and waits, sleeping, for
    /// up to [`FULL_RING_WAIT`]: a policy that decides faster than the
    /// CPUs take decisions is slowed down, not failed. Each such decision
    /// is counted (`usched-stat`'s `ring_full`).
    ///
    /// # Errors
    /// [`Error::DispatchQueueFull`] when the ring is still full after the
    /// wait: the decision was not sent (nothing is lost; retry it).
    pub fn dispatch_task(&mut self, task: &DispatchedTask) -> Result<()> {
        // The ring is shared (Rc) so that a sample borrows this handle, not
        // `self`, which the wait below needs for kicking.
        let ring = self.dispatched.clone();
        let mut sample = match ring.reserve(DispatchedTask::RECORD_SIZE) {
            Ok(s) => s,
            Err(_) => {
                self.count_ring_full();
                let start = Instant::now();
                let mut kicked: Option<Instant> = None;
                loop {
                    if kicked.is_none_or(|t| t.elapsed() >= FULL_RING_REKICK) {
                        self.kick_all();
                        kicked = Some(Instant::now());
                    }
                    std::thread::sleep(FULL_RING_STEP);
                    if let Ok(s) = ring.reserve(DispatchedTask::RECORD_SIZE) {
                        self.slept();
                        break s;
                    }
                    if start.elapsed() >= FULL_RING_WAIT {
                        self.slept();
                        return Err(Error::DispatchQueueFull { pid: task.pid });
                    }
                }
            }
        };
        match <&mut [u8; DispatchedTask::RECORD_SIZE]>::try_from(&mut sample[..]) {
            Ok(buf) => task.encode(buf),
            Err(_) => {
                return Err(Error::bpf("submitting a decision", "short user ring buffer sample"))
            }
        }
        ring.submit(sample).map_err(|e| Error::bpf("submitting a decision", e))?;
        self.nr_pushed += 1;
        self.bss_u64(offset_of!(types::bss, nr_user_pushed))
            .store(self.nr_pushed, Ordering::Release);

        let k = &mut self.kicks;
        let cpu = task.cpu;
        let any = task.flags & RL_CPU_ANY != 0 || cpu < 0;
        let preempt = task.flags & RL_PREEMPT != 0;
        match (any, preempt) {
            (true, true) => {
                k.nr_urgent += 1;
                if cpu >= 0 {
                    Kicks::set(&mut k.urgent, cpu as usize);
                }
            }
            (true, false) => k.nr_any += 1,
            (false, true) => Kicks::set(&mut k.args.preempt, cpu as usize),
            (false, false) => Kicks::set(&mut k.args.idle, cpu as usize),
        }
        k.dirty = true;
        Ok(())
    }

    /// The dispatcher slept (waiting for room or for work): the gap until
    /// its next round is not a sign that it was kept off its CPU.
    fn slept(&mut self) {
        if let Some(e) = self.escape.as_mut() {
            e.sleeping();
        }
    }

    /// Counts a decision that found the user ring buffer full.
    fn count_ring_full(&self) {
        let n = self.bss_u64(offset_of!(types::bss, nr_user_ring_full));
        n.store(n.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Kicks every online CPU but a busy dispatcher's into the scheduling
    /// path: idle ones awake, busy ones preempted.
    fn kick_all(&mut self) {
        // (Offline CPUs need no check: the kernel skips kicks to them.)
        for cpu in 0..self.nr_cpus {
            if self.reserved(cpu) {
                continue;
            }
            if self.cpu_is_idle(cpu) {
                Kicks::set(&mut self.kicks.args.idle, cpu);
            } else {
                Kicks::set(&mut self.kicks.args.preempt, cpu);
            }
        }
        self.kicks.dirty = true;
        self.flush();
    }

    fn cpu_is_idle(&self, cpu: usize) -> bool {
        // SAFETY: see `bss_u64`; cpu_idle is a byte array the BPF side
        // stores to; a volatile byte read of it is race-tolerant.
        cpu < MAX_CPUS
            && unsafe { ptr::read_volatile(ptr::addr_of!((*self.bss.as_ptr()).cpu_idle[cpu])) } != 0
    }

    /// Idle, and not the CPU busy mode reserves for the dispatcher.
    fn can_take_work(&self, cpu: usize) -> bool {
        self.cpu_is_idle(cpu) && !self.reserved(cpu)
    }

    fn reserved(&self, cpu: usize) -> bool {
        self.cfg.poll == PollMode::Busy && self.cfg.dispatcher_cpu == Some(cpu)
    }

    /// An idle CPU for `pid`, preferring `prev_cpu`; negative (`-EBUSY`)
    /// when none is idle. Computed in user space from the idle map the BPF
    /// side keeps, without a syscall: it does not know the task's affinity,
    /// so the BPF side bounces a decision to a CPU the task may not use.
    pub fn select_cpu(&self, _pid: i32, prev_cpu: i32, _flags: u64) -> i32 {
        if prev_cpu >= 0 && self.can_take_work(prev_cpu as usize) {
            return prev_cpu;
        }
        (0..self.nr_cpus).find(|&c| self.can_take_work(c)).map_or(-libc::EBUSY, |c| c as i32)
    }

    /// Runs the kick program for the decisions sent since the last flush:
    /// one syscall for the whole batch, none if nothing needs kicking.
    pub fn flush(&mut self) {
        if !self.kicks.dirty {
            return;
        }
        // Wake as many idle CPUs as there were any-CPU decisions, urgent
        // ones first; urgent ones left over preempt their hinted CPUs.
        let mut want = self.kicks.nr_urgent + self.kicks.nr_any;
        let mut idle_found = 0;
        for cpu in 0..self.nr_cpus {
            if want == 0 {
                break;
            }
            if self.can_take_work(cpu) {
                Kicks::set(&mut self.kicks.args.idle, cpu);
                want -= 1;
                idle_found += 1;
            }
        }
        if idle_found < self.kicks.nr_urgent {
            let k = &mut *self.kicks;
            for (p, u) in k.args.preempt.iter_mut().zip(k.urgent.iter()) {
                *p |= *u;
            }
        }
        let k = &mut *self.kicks;
        let any = k.args.preempt.iter().chain(k.args.idle.iter()).any(|w| *w != 0);
        if any {
            // SAFETY: kick_args is plain integers; we view it as bytes for
            // the program's context, and the kernel writes it back as is.
            let ctx = unsafe {
                std::slice::from_raw_parts_mut(
                    ptr::addr_of_mut!(k.args).cast::<u8>(),
                    std::mem::size_of::<intf::kick_args>(),
                )
            };
            let input = ProgramInput { context_in: Some(ctx), ..Default::default() };
            // A failed kick only delays the tasks to the next dispatch.
            let _ = self.skel.progs.usched_kick.test_run(input);
        }
        k.args.preempt = [0; CPU_WORDS];
        k.args.idle = [0; CPU_WORDS];
        k.urgent = [0; CPU_WORDS];
        k.nr_urgent = 0;
        k.nr_any = 0;
        k.dirty = false;
    }

    /// Tells the BPF side the key ([`DispatchedTask::deadline`] units) the
    /// next task the policy dispatches will get, `None` if unknown (see
    /// `Policy::next_deadline`). A task whose slice ran out goes on without
    /// a round trip only while its own key comes first, the tasks waiting
    /// in user space included; with `None` only the DSQs count.
    pub fn set_next_deadline(&self, key: Option<u64>) {
        self.bss_u64(offset_of!(types::bss, user_next_key))
            .store(key.unwrap_or(0), Ordering::Relaxed);
    }

    /// Reports how many tasks still wait in user space and sends the kicks
    /// for this batch. With `nr_pending == 0` it then waits for work as the
    /// poll mode says (busy: not at all; adaptive: after the spin window;
    /// blocking: always), for at most 100 ms.
    pub fn notify_complete(&mut self, nr_pending: u64) {
        self.bss_u64(offset_of!(types::bss, nr_user_queued)).store(nr_pending, Ordering::Release);
        self.flush();
        self.check_escape();
        if nr_pending == 0 {
            self.wait();
        }
    }

    /// Waits for a task to arrive, as the poll mode says (see
    /// [`notify_complete`](Self::notify_complete)). Away from its CPU (see
    /// [`escape`](crate::escape)), a busy dispatcher waits as an adaptive
    /// one: spinning on a CPU it shares would take that CPU from everyone.
    pub fn wait(&mut self) {
        let away = self.escape.as_ref().is_some_and(Escape::is_away);
        match self.cfg.poll {
            PollMode::Busy if !away => std::hint::spin_loop(),
            PollMode::Busy | PollMode::Adaptive if self.last_event.elapsed() < self.cfg.spin => {
                std::hint::spin_loop()
            }
            PollMode::Busy | PollMode::Adaptive | PollMode::Blocking => self.block(),
        }
    }

    /// A pinned dispatcher kept off its CPU (an RT task holds it) runs on
    /// any CPU for a while, then returns (see [`escape`](crate::escape)).
    fn check_escape(&mut self) {
        if self.escape.is_none() {
            return;
        }
        let taken_at =
            self.bss_u64(offset_of!(types::bss, dispatcher_cpu_taken_at)).load(Ordering::Relaxed);
        let (Some(e), Some(cpu)) = (self.escape.as_mut(), self.cfg.dispatcher_cpu) else {
            return;
        };
        // An RT task was seen on it recently (sampled every heartbeat,
        // and at each ops.cpu_release()).
        let held = taken_at != 0
            && crate::sys::monotonic_ns().saturating_sub(taken_at)
                < crate::escape::HELD_RECENTLY.as_nanos() as u64;
        match e.round(Instant::now(), held) {
            Some(Move::Leave(gap)) => {
                let away = e.away();
                match crate::thread::unpin_current_thread() {
                    Ok(()) => log::warn!(
                        "the dispatcher was kept off CPU {cpu} for {gap:.1?} (a higher-priority \
                         task holds it): running on the process's CPUs for at least {away:.0?}"
                    ),
                    Err(err) => {
                        e.stay();
                        log::warn!("the dispatcher is starved on CPU {cpu}: {err}")
                    }
                }
            }
            Some(Move::Return) => {
                if let Err(err) = crate::thread::pin_current_thread(cpu) {
                    log::warn!("{err}; the dispatcher stays unpinned");
                } else {
                    log::info!("the dispatcher is back on CPU {cpu}");
                }
            }
            None => {}
        }
    }

    fn set_sleeping(&self, v: u32) {
        self.bss_u32(offset_of!(types::bss, usersched_sleeping)).store(v, Ordering::SeqCst);
    }

    fn block(&mut self) {
        if self.staging.borrow().len > 0 {
            return;
        }
        self.set_sleeping(1);
        // Pairs with the barrier of the BPF side's ring buffer commit: either
        // it sees `sleeping` and wakes us, or we see its record here.
        fence(Ordering::SeqCst);
        if self.refill() == 0 {
            let mut ev = MaybeUninit::<libc::epoll_event>::uninit();
            // SAFETY: epoll_fd is the ring buffer's epoll instance, alive
            // with `self.queued`; one event fits in `ev`.
            unsafe { libc::epoll_wait(self.epoll_fd, ev.as_mut_ptr(), 1, MAX_BLOCK_MS) };
        }
        self.set_sleeping(0);
        self.last_event = Instant::now();
        self.slept();
    }

    /// Decisions sent but not yet read by the BPF side.
    pub fn nr_inflight(&self) -> u64 {
        let drained =
            self.bss_u64(offset_of!(types::bss, counters.nr_drained)).load(Ordering::Acquire);
        self.nr_pushed.saturating_sub(drained)
    }

    /// Tasks decided and inserted into a DSQ that have not started running.
    pub fn nr_scheduled(&self) -> u64 {
        self.bss_u64(offset_of!(types::bss, nr_kqueued)).load(Ordering::Relaxed)
    }

    /// CPUs currently idle (approximate: read without synchronisation).
    pub fn nr_idle_cpus(&self) -> usize {
        (0..self.nr_cpus).filter(|&c| self.can_take_work(c)).count()
    }

    /// The BPF scheduler has exited, or [`request_exit`] was called.
    pub fn exited(&self) -> bool {
        exit_requested() || scx_utils::uei_exited!(&self.skel, uei)
    }

    /// A snapshot of the counters and histograms.
    pub fn stats(&self) -> Stats {
        // SAFETY: see `bss_u64`; a racy copy of plain integers is the point
        // of a snapshot, and read_volatile keeps the compiler honest.
        let b = unsafe { ptr::read_volatile(self.bss.as_ptr()) };
        Stats::from_bss(&b)
    }

    /// Detaches the scheduler and reports why it exited.
    ///
    /// # Errors
    /// [`Error::Exited`] when the BPF side exited with an error (the
    /// message says why); a normal or user-requested exit is `Ok`.
    pub fn shutdown(&mut self) -> Result<UserExitInfo> {
        self.struct_ops.take();
        let uei = scx_utils::uei_read!(&self.skel, uei);
        uei.report().map_err(|e| Error::Exited(format!("{e:#}")))?;
        Ok(uei)
    }

    /// [`shutdown`](Self::shutdown) with scx_rustland_core's signature: the
    /// seed's examples return it from an `anyhow::Result` function, so this
    /// one compatibility call hands back an `anyhow::Error` (wrapping
    /// [`Error`], which `downcast_ref` recovers).
    ///
    /// # Errors
    /// As [`shutdown`](Self::shutdown).
    pub fn shutdown_and_report(&mut self) -> anyhow::Result<UserExitInfo> {
        self.shutdown().map_err(anyhow::Error::from)
    }
}

impl Drop for BpfScheduler<'_> {
    fn drop(&mut self) {
        // Detach before the maps and programs go away.
        self.struct_ops.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_from_policy_carry_flags_and_seq() {
        let d = Decision {
            pid: 7,
            cpu: CPU_ANY,
            hint_cpu: 1,
            slice_ns: 10,
            vtime: 3,
            flags: Decision::PREEMPT,
            cookie: 99,
            deadline: 11,
        };
        let t = DispatchedTask::from(d);
        assert_eq!(
            (t.pid, t.cpu, t.flags, t.seq, t.vtime, t.deadline),
            (7, 1, RL_CPU_ANY | RL_PREEMPT, 99, 3, 11)
        );
        let q = QueuedTask { pid: 5, cpu: 2, vtime: 8, seq: 4, ..Default::default() };
        let t = DispatchedTask::new(&q);
        assert_eq!((t.pid, t.cpu, t.flags, t.slice_ns, t.vtime, t.seq), (5, 2, 0, 0, 8, 4));
        assert_eq!(Task::from(q).cookie, 4);
    }

    #[test]
    fn record_decoding_keeps_every_field() {
        let r = intf::queued_task {
            pid: 1,
            cpu: 2,
            nr_cpus_allowed: 3,
            flags: 4,
            sum_exec_runtime: 5,
            exec_runtime: 6,
            weight: 7,
            nvcsw: 8,
            slice: 9,
            vtime: 10,
            enq_ts: 11,
            seq: 12,
        };
        let q = QueuedTask::from_record(&r);
        assert_eq!(
            (
                q.pid,
                q.cpu,
                q.nr_cpus_allowed,
                q.flags,
                q.sum_exec_runtime,
                q.exec_runtime,
                q.weight,
                q.nvcsw,
                q.slice,
                q.vtime,
                q.enq_time,
                q.seq
            ),
            (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
        );
    }

    #[test]
    fn decode_encode_round_trip() {
        let r = intf::queued_task {
            pid: 42,
            cpu: 1,
            nr_cpus_allowed: 2,
            flags: 1,
            sum_exec_runtime: 5,
            exec_runtime: 6,
            weight: 100,
            nvcsw: 8,
            slice: 9,
            vtime: 10,
            enq_ts: 11,
            seq: 12,
        };
        // SAFETY: queued_task is plain integers; viewing it as bytes is sound.
        let bytes = unsafe {
            std::slice::from_raw_parts(ptr::addr_of!(r).cast::<u8>(), QueuedTask::RECORD_SIZE)
        };
        let q = QueuedTask::decode(bytes).unwrap();
        assert_eq!((q.pid, q.weight, q.seq), (42, 100, 12));
        assert!(QueuedTask::decode(&bytes[..10]).is_none());
        let wake = intf::queued_task { flags: WAKE_ONLY, ..r };
        // SAFETY: as above.
        let wb = unsafe {
            std::slice::from_raw_parts(ptr::addr_of!(wake).cast::<u8>(), QueuedTask::RECORD_SIZE)
        };
        assert!(QueuedTask::decode(wb).is_none());
        let mut out = [0u8; DispatchedTask::RECORD_SIZE];
        let d = DispatchedTask {
            pid: 42,
            cpu: 3,
            flags: RL_PREEMPT,
            slice_ns: 7,
            vtime: 8,
            seq: 12,
            deadline: 13,
        };
        d.encode(&mut out);
        // SAFETY: out is one dispatched_task of bytes.
        let back = unsafe { ptr::read_unaligned(out.as_ptr().cast::<intf::dispatched_task>()) };
        assert_eq!(
            (back.pid, back.cpu, back.flags, back.slice_ns, back.vtime, back.seq, back.deadline),
            (42, 3, RL_PREEMPT, 7, 8, 12, 13)
        );
    }

    #[test]
    fn kick_mask_bits() {
        let mut w = [0u64; CPU_WORDS];
        Kicks::set(&mut w, 0);
        Kicks::set(&mut w, 65);
        Kicks::set(&mut w, MAX_CPUS); // out of range: ignored
        assert_eq!((w[0], w[1]), (1, 2));
        assert_eq!(w.iter().map(|x| x.count_ones()).sum::<u32>(), 2);
    }
}
