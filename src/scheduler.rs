// SPDX-License-Identifier: GPL-2.0-only
//! [`BpfScheduler`], the framework's façade: it owns the loaded scheduler
//! (see `loader`), hands the runnable tasks of the ring buffer to the
//! caller (through `staging`), sends its decisions back over the user ring
//! buffer with their kicks (`scheduler/send.rs`, `kick`), reads and writes
//! the memory it shares with the BPF side (`shared`) and waits for work as
//! the poll mode says (`scheduler/poll.rs`).
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use libbpf_rs::{Link, OpenObject, RingBufferBuilder, UserRingBuffer};
use scx_utils::UserExitInfo;

use crate::bpf::skel::BpfSkel;
use crate::config::{Config, PollMode};
use crate::error::{Error, Result};
use crate::escape::Escape;
use crate::exit::exit_requested;
use crate::kick::Kicks;
use crate::record::QueuedTask;
use crate::shared::SharedBss;
use crate::staging::{staging, Staged};
use crate::stats::Stats;
use crate::topology::CpuTopology;
use select::AffinityTable;

mod poll;
mod select;
mod send;

pub use send::FULL_RING_WAIT;

/// Records the staging ring holds: at most this many are pulled from the
/// ring buffer per refill.
const STAGE: usize = 512;
/// Longest a blocking wait lasts, so that exits and signals are noticed.
const MAX_BLOCK_MS: i32 = 100;

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
    /// The consumer end of the staging ring, whose producer end the ring
    /// buffer's callback owns.
    staging: Staged<STAGE>,
    /// Ring-buffer records that found no room in `staging`, since load
    /// (0 unless an invariant broke: a refill consumes at most as many
    /// records as there is room for).
    lost_total: u64,
    shared: SharedBss,
    kicks: Box<Kicks>,
    cfg: Config,
    nr_cpu_ids: usize,
    nr_pushed: u64,
    /// Tasks handed out by `dequeue_task` since load.
    nr_dequeued: u64,
    epoll_fd: i32,
    last_event: Instant,
    /// Watches a pinned dispatcher for a CPU that a higher class holds.
    escape: Option<Escape>,
    /// The CPU topology `select_cpu` places by.
    topology: CpuTopology,
    /// The affinity of recently queued tasks, for `select_cpu`.
    affinity: AffinityTable,
    /// CPUs `select_cpu` handed out since the last `notify_complete` (bit
    /// n: CPU n), which it does not hand out again: each call of a batch
    /// gets its own idle CPU.
    claimed: Box<[Cell<u64>]>,
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
        Self::open(open_object, cfg, None)
    }

    /// [`with_config`](Self::with_config), with libbpf's open options given
    /// raw (`raw_opts`, as scx_utils' `LibbpfOpts` makes them) instead of
    /// by [`Config::libbpf`], which must then be unset.
    pub(crate) fn open(
        open_object: &'a mut MaybeUninit<OpenObject>,
        cfg: &Config,
        raw_opts: Option<libbpf_rs::libbpf_sys::bpf_object_open_opts>,
    ) -> Result<Self> {
        let crate::loader::Loaded { skel, link, bss, nr_cpu_ids, topology } =
            crate::loader::load(open_object, cfg, raw_opts)?;
        // SAFETY: `bss` is the skeleton's mmap'd .bss; `skel` moves into
        // the same struct as the view and is dropped with it.
        let shared = unsafe { SharedBss::new(bss) };

        let (mut sink, staging) = staging::<STAGE>();
        let mut rb = RingBufferBuilder::new();
        rb.add(&skel.maps.queued, move |data: &[u8]| {
            sink.take(data);
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
            lost_total: 0,
            shared,
            kicks: Box::new(Kicks::new()),
            cfg: cfg.clone(),
            nr_cpu_ids,
            nr_pushed: 0,
            nr_dequeued: 0,
            epoll_fd,
            last_event: Instant::now(),
            topology,
            affinity: AffinityTable::new(),
            claimed: (0..nr_cpu_ids.div_ceil(64)).map(|_| Cell::new(0)).collect(),
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

    /// The `--cpufreq` governor of this scheduler (see
    /// [`crate::cpufreq::Governor`]), for the caller to run on a thread of
    /// its own while the scheduler runs.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when [`Config::cpufreq`] is off (the BPF
    /// side would ignore its targets); [`Error::Bpf`] when the maps cannot
    /// be opened; [`Error::Os`] when the `.bss` cannot be mapped.
    pub fn cpufreq_governor(&self) -> Result<crate::cpufreq::Governor> {
        if !self.cfg.cpufreq {
            return Err(Error::InvalidConfig("a governor needs Config::cpufreq".into()));
        }
        let handle =
            |m| libbpf_rs::MapHandle::try_from(m).map_err(|e| Error::bpf("opening a BPF map", e));
        crate::cpufreq::Governor::new(
            &handle(&self.skel.maps.bss)?,
            handle(&self.skel.maps.cpuperf_targets)?,
            crate::procfs::online_cpu_ids(),
        )
    }

    /// The reader of this scheduler's wake, run and stop events (see
    /// [`crate::run_events`]), for the caller to poll on a thread of its
    /// own while the scheduler runs.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when [`Config::run_events`] is off (the BPF
    /// side sends none); [`Error::Bpf`] when the ring buffer cannot be
    /// opened.
    pub fn run_events(&self) -> Result<crate::run_events::RunEvents> {
        if !self.cfg.run_events {
            return Err(Error::InvalidConfig("run events need Config::run_events".into()));
        }
        let map = libbpf_rs::MapHandle::try_from(&self.skel.maps.run_events)
            .map_err(|e| Error::bpf("opening a BPF map", e))?;
        crate::run_events::RunEvents::new(map)
    }

    /// Run events (see [`run_events`](Self::run_events)) the BPF side had
    /// no room for since load. Read once the scheduler has detached, it
    /// counts every loss, also those after the last event a reader got.
    pub fn run_events_lost(&self) -> u64 {
        self.shared.nr_run_events_lost().load(Ordering::Relaxed)
    }

    /// Number of possible CPU ids the scheduler handles.
    pub fn nr_cpu_ids(&self) -> usize {
        self.nr_cpu_ids
    }

    /// Marks the calling thread as the dispatcher: the BPF side gives it
    /// wake-up preemption on its CPU. `init` calls it for the initialising
    /// thread; call it again from a different dispatching thread.
    pub fn register_dispatcher_thread(&mut self) {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        self.shared.dispatcher_tid().store(tid as u32, Ordering::Relaxed);
    }

    /// Moves records from the ring buffer into an empty staging buffer, at
    /// most as many as it has room for; the records staged.
    fn refill(&mut self) -> usize {
        let staged = self.staging.len();
        if staged > 0 {
            return staged;
        }
        // Never 0 here (the ring is empty), and it must not be: libbpf's
        // consume_n(0) still consumes one record, which would find no room.
        let n = self.queued.consume_raw_n(self.staging.free());
        if n > 0 {
            self.last_event = Instant::now();
        }
        let lost = self.staging.take_lost();
        if lost != 0 {
            self.lost_total += lost;
            log::error!(
                "{lost} ring-buffer records found no room in the staging buffer: their tasks \
                 wait for the starvation guard"
            );
        }
        self.staging.len()
    }

    /// Ring-buffer records dropped since load because the staging buffer
    /// had no room: 0 unless an invariant broke (a refill takes at most as
    /// many records as there is room for). Each one is a task left in
    /// user space's custody with no decision coming, which only the
    /// starvation guard then moves.
    pub fn nr_lost_records(&self) -> u64 {
        self.lost_total
    }

    /// The next runnable task, if any; never blocks.
    ///
    /// # Errors
    /// None today; the `Result` keeps scx_rustland_core's signature.
    pub fn dequeue_task(&mut self) -> Result<Option<QueuedTask>> {
        if self.refill() == 0 {
            return Ok(None);
        }
        let task = self.staging.pop();
        if let Some(t) = &task {
            self.affinity.note(t, self.nr_cpu_ids);
            self.nr_dequeued += 1;
        }
        Ok(task)
    }

    /// Tasks the BPF side has sent that [`dequeue_task`](Self::dequeue_task)
    /// has not handed out yet (in the ring buffer or staged): what the
    /// policy will see next. Approximate while tasks arrive.
    pub fn nr_waiting(&self) -> u64 {
        self.shared.counters().nr_enqueued.saturating_sub(self.nr_dequeued)
    }

    /// The BPF side's event counters alone, without the histograms
    /// [`stats`](Self::stats) copies.
    pub(crate) fn counters(&self) -> crate::bpf::skel::types::usched_counters {
        self.shared.counters()
    }

    /// Tasks running on a CPU.
    pub fn nr_running(&self) -> u64 {
        self.shared.nr_running().load(Ordering::Relaxed)
    }

    /// Idle, and not the CPU busy mode reserves for the dispatcher.
    fn can_take_work(&self, cpu: usize) -> bool {
        self.shared.can_take_work(cpu, self.reserved_cpu())
    }

    /// The CPU busy mode reserves for the dispatcher, if any.
    fn reserved_cpu(&self) -> Option<usize> {
        self.cfg.dispatcher_cpu.filter(|_| self.cfg.poll == PollMode::Busy)
    }

    /// Tells the BPF side the key ([`crate::DispatchedTask::deadline`] units) the
    /// next task the policy dispatches will get, `None` if unknown (see
    /// `Policy::next_deadline`). A task whose slice ran out goes on without
    /// a round trip only while its own key comes first, the tasks waiting
    /// in user space included; with `None` only the DSQs count.
    pub fn set_next_deadline(&self, key: Option<u64>) {
        self.shared.user_next_key().store(key.unwrap_or(0), Ordering::Relaxed);
    }

    /// Tells the BPF side the policy's vtime floor (`Policy::vtime_floor`),
    /// `None` (0 there) if it has none. The key of a task the BPF side keeps
    /// running without a round trip counts its vtime from no earlier than
    /// this, as the policy would.
    pub fn set_vtime_floor(&self, vtime: Option<u64>) {
        self.shared.user_vtime_floor().store(vtime.unwrap_or(0), Ordering::Relaxed);
    }

    /// Decisions sent but not yet read by the BPF side.
    pub fn nr_inflight(&self) -> u64 {
        let drained = self.shared.nr_drained().load(Ordering::Acquire);
        self.nr_pushed.saturating_sub(drained)
    }

    /// Tasks decided and inserted into a DSQ that have not started running.
    pub fn nr_scheduled(&self) -> u64 {
        self.shared.nr_kqueued().load(Ordering::Relaxed)
    }

    /// CPUs currently idle (approximate: read without synchronisation).
    pub fn nr_idle_cpus(&self) -> usize {
        (0..self.nr_cpu_ids).filter(|&c| self.can_take_work(c)).count()
    }

    /// Some CPU is idle (as [`nr_idle_cpus`](Self::nr_idle_cpus), stopping
    /// at the first).
    pub(crate) fn any_idle_cpu(&self) -> bool {
        (0..self.nr_cpu_ids).any(|c| self.can_take_work(c))
    }

    /// The BPF scheduler has exited, or [`request_exit`](crate::request_exit) was called.
    pub fn exited(&self) -> bool {
        exit_requested() || scx_utils::uei_exited!(&self.skel, uei)
    }

    /// A snapshot of the counters and histograms.
    pub fn stats(&self) -> Stats {
        Stats::from_bss(&self.shared.snapshot())
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

    /// [`shutdown`](Self::shutdown) with scx_rustland_core's signature: its
    /// README's examples return it from an `anyhow::Result` function, so this
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
