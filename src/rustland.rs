// SPDX-License-Identifier: GPL-2.0-only
//! `usched::rustland`: the API of scx_rustland_core 2.4 (names, types and
//! signatures as upstream), so that a scheduler written for it ports by
//! changing its imports (the recipe is in `docs/porting.md`).
//!
//! It is a second face of the same framework, not a second data path: each
//! call converts one record and calls [`crate::BpfScheduler`]. What differs
//! from upstream, and why, is said on each item and in `docs/porting.md`:
//! - `init` takes the same arguments. Like upstream's, it makes SIGINT and
//!   SIGTERM end the loop ([`exited`](BpfScheduler::exited) turns true) and
//!   locks the process's memory; `numa_local` is accepted and has no effect
//!   (usched's placement already prefers the previous CPU's node).
//! - A [`DispatchedTask::slice_ns`] of 0 gives `init`'s slice (upstream:
//!   the task keeps what is left of its slice); slices and vtimes are
//!   clamped to the BPF side's ranges.
//! - [`QueuedTask::flags`] and [`DispatchedTask::flags`] carry only
//!   `SCX_ENQ_WAKEUP` and `SCX_ENQ_PREEMPT`; other enqueue flags are
//!   neither reported nor obeyed.
//! - The `nr_*_mut()` accessors return a fresh copy of each counter:
//!   writing through them reaches no BPF program (report pending work
//!   with [`notify_complete`](BpfScheduler::notify_complete)).
use std::io;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use libbpf_rs::libbpf_sys::bpf_object_open_opts;
use libbpf_rs::OpenObject;
use scx_utils::UserExitInfo;

use crate::config::Config;
use crate::thread::{install_exit_signal_handlers, lock_memory, MemoryLock};

/// The framework's version (upstream: scx_rustland_core's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// [`DispatchedTask::cpu`] value: run on the first CPU available among the
/// ones the task may use. The same value as upstream's.
pub const RL_CPU_ANY: i32 = crate::record::RL_CPU_ANY as i32;
const _: () = assert!(RL_CPU_ANY as u64 == crate::record::RL_CPU_ANY && RL_CPU_ANY == 1 << 20);

/// The kernel's `SCX_ENQ_WAKEUP`: the task became runnable by a wake-up.
pub const SCX_ENQ_WAKEUP: u64 = 1;
/// The kernel's `SCX_ENQ_PREEMPT`: preempt the target CPU's task.
pub const SCX_ENQ_PREEMPT: u64 = 1 << 32;
const _: () = assert!(SCX_ENQ_WAKEUP == usched_core::policy::Task::WAKEUP);

mod task;
pub use task::{DispatchedTask, QueuedTask};

/// How often [`BpfScheduler::nr_online_cpus_mut`] reads sysfs again.
const ONLINE_CPUS_TTL: Duration = Duration::from_secs(1);

/// Counters as upstream exposes them, refreshed by each accessor.
#[derive(Debug, Default)]
struct Counters {
    nr_online_cpus: u64,
    nr_running: u64,
    nr_queued: u64,
    nr_scheduled: u64,
    nr_user_dispatches: u64,
    nr_kernel_dispatches: u64,
    nr_cancel_dispatches: u64,
    nr_bounce_dispatches: u64,
    nr_failed_dispatches: u64,
    nr_sched_congested: u64,
}

/// Defines an accessor that refreshes one counter and lends it out.
macro_rules! counter {
    ($(#[$doc:meta])* $name:ident => $field:ident = |$s:ident| $read:expr) => {
        $(#[$doc])*
        ///
        /// A fresh copy: writing through the reference reaches no BPF program.
        pub fn $name(&mut self) -> &mut u64 {
            let $s = &*self;
            self.counters.$field = $read;
            &mut self.counters.$field
        }
    };
}

/// Upstream's `BpfScheduler`: loads and attaches the scheduler, hands
/// runnable tasks to the caller and takes its decisions back.
pub struct BpfScheduler<'cb> {
    inner: crate::BpfScheduler<'cb>,
    counters: Counters,
    /// When `counters.nr_online_cpus` was read from sysfs.
    online_read_at: Option<Instant>,
    /// Upstream locks the process's memory while the scheduler lives.
    _memory: Option<MemoryLock>,
}

impl<'cb> BpfScheduler<'cb> {
    /// Loads and attaches the scheduler, as upstream's `init`:
    /// - `open_opts`: libbpf's open options (scx_utils'
    ///   `LibbpfOpts::into_bpf_open_opts()`), `None` for libbpf's defaults;
    /// - `exit_dump_len`: size of the exit dump (0: the kernel's default);
    /// - `partial`: schedule only tasks switched to SCHED_EXT;
    /// - `debug`: trace each decision to the kernel's trace pipe;
    /// - `builtin_idle`: waking tasks go straight to an idle CPU, bypassing
    ///   user space;
    /// - `numa_local`: accepted, no effect (see the module's notes);
    /// - `slice_ns`: the slice of a decision that says 0, and of tasks the
    ///   BPF side dispatches itself;
    /// - `name`: the scheduler's name in `/sys/kernel/sched_ext/root/ops`.
    ///
    /// Also, as upstream: SIGINT and SIGTERM make [`exited`](Self::exited)
    /// true, and the process's memory is locked (a warning, not an error,
    /// if the limit refuses it).
    ///
    /// # Errors
    /// As [`crate::BpfScheduler::with_config`] (its [`crate::Error`], which
    /// `downcast_ref` recovers); a slice or name out of range is
    /// [`crate::Error::InvalidConfig`].
    #[allow(clippy::too_many_arguments)]
    pub fn init(
        open_object: &'cb mut MaybeUninit<OpenObject>,
        open_opts: Option<bpf_object_open_opts>,
        exit_dump_len: u32,
        partial: bool,
        debug: bool,
        builtin_idle: bool,
        numa_local: bool,
        slice_ns: u64,
        name: &str,
    ) -> anyhow::Result<Self> {
        let _ = numa_local;
        let cfg = Config::default()
            .exit_dump_len(exit_dump_len)
            .partial(partial)
            .debug(debug)
            .builtin_idle(builtin_idle)
            .slice(Duration::from_nanos(slice_ns))
            .name(Some(name.to_owned()));
        install_exit_signal_handlers()?;
        let inner = crate::BpfScheduler::open(open_object, &cfg, open_opts)?;
        let memory = match lock_memory() {
            Ok(m) => Some(m),
            Err(e) => {
                log::warn!("scheduler memory not locked: {e}");
                None
            }
        };
        Ok(Self { inner, counters: Counters::default(), online_read_at: None, _memory: memory })
    }

    /// The next runnable task, if any; never blocks.
    ///
    /// # Errors
    /// None today (upstream: a negative errno from the ring buffer).
    pub fn dequeue_task(&mut self) -> std::result::Result<Option<QueuedTask>, i32> {
        match self.inner.dequeue_task() {
            Ok(t) => Ok(t.as_ref().map(QueuedTask::from)),
            Err(_) => Err(-libc::EIO),
        }
    }

    /// Sends a decision to the BPF side (see
    /// [`crate::BpfScheduler::dispatch_task`]: a full ring is waited on for a
    /// while first).
    ///
    /// # Errors
    /// The ring stayed full, or the decision could not be submitted: the
    /// decision was not sent (retry it).
    pub fn dispatch_task(
        &mut self,
        task: &DispatchedTask,
    ) -> std::result::Result<(), libbpf_rs::Error> {
        self.inner
            .dispatch_task(&task.to_native())
            .map_err(|e| libbpf_rs::Error::from(io::Error::other(e)))
    }

    /// An idle CPU for `pid`, `cpu` (its previous one) first, and not one
    /// handed out since the last
    /// [`notify_complete`](Self::notify_complete); negative when none is.
    pub fn select_cpu(&mut self, pid: i32, cpu: i32, flags: u64) -> i32 {
        self.inner.select_cpu(pid, cpu, flags)
    }

    /// Reports how many tasks still wait in the caller, sends this batch's
    /// kicks and, with none waiting, waits for work (see
    /// [`crate::BpfScheduler::notify_complete`]).
    pub fn notify_complete(&mut self, nr_pending: u64) {
        self.counters.nr_scheduled = nr_pending;
        self.inner.notify_complete(nr_pending);
    }

    /// The BPF scheduler has exited, or SIGINT or SIGTERM came.
    pub fn exited(&mut self) -> bool {
        self.inner.exited()
    }

    /// Detaches the scheduler and reports why it exited.
    ///
    /// # Errors
    /// The BPF side exited with an error (the message says why).
    pub fn shutdown_and_report(&mut self) -> anyhow::Result<UserExitInfo> {
        self.inner.shutdown_and_report()
    }

    /// usched's own API on the same scheduler (statistics, configuration).
    pub fn native(&mut self) -> &mut crate::BpfScheduler<'cb> {
        &mut self.inner
    }

    /// CPUs online (read from sysfs at most once a second).
    ///
    /// A fresh copy: writing through the reference has no effect.
    pub fn nr_online_cpus_mut(&mut self) -> &mut u64 {
        if self.online_read_at.is_none_or(|t| t.elapsed() >= ONLINE_CPUS_TTL) {
            self.counters.nr_online_cpus = crate::procfs::online_cpus() as u64;
            self.online_read_at = Some(Instant::now());
        }
        &mut self.counters.nr_online_cpus
    }
    counter!(
        /// Tasks running on a CPU (the scheduler's own threads included).
        nr_running_mut => nr_running = |s| s.inner.nr_running()
    );
    counter!(
        /// Tasks sent to user space and not yet dequeued (ring buffer and
        /// staging buffer).
        nr_queued_mut => nr_queued = |s| s.inner.nr_waiting()
    );
    counter!(
        /// Tasks waiting in the caller, as the last
        /// [`notify_complete`](Self::notify_complete) said.
        nr_scheduled_mut => nr_scheduled = |s| s.counters.nr_scheduled
    );
    counter!(
        /// Decisions from user space inserted into a DSQ (bounced ones
        /// included).
        nr_user_dispatches_mut => nr_user_dispatches = |s| s.inner.counters().nr_user_dispatches
    );
    counter!(
        /// Tasks the BPF side dispatched without user space.
        nr_kernel_dispatches_mut => nr_kernel_dispatches =
            |s| s.inner.counters().nr_kernel_dispatches
    );
    counter!(
        /// Stale decisions dropped.
        nr_cancel_dispatches_mut => nr_cancel_dispatches =
            |s| s.inner.counters().nr_cancel_dispatches
    );
    counter!(
        /// Decisions moved off a CPU the task may not use.
        nr_bounce_dispatches_mut => nr_bounce_dispatches =
            |s| s.inner.counters().nr_bounce_dispatches
    );
    counter!(
        /// Decision records that could not be read.
        nr_failed_dispatches_mut => nr_failed_dispatches =
            |s| s.inner.counters().nr_failed_dispatches
    );
    counter!(
        /// Tasks that bypassed user space (ring full, dispatcher stalled).
        nr_sched_congested_mut => nr_sched_congested = |s| s.inner.counters().nr_sched_congested
    );
}

#[cfg(test)]
mod tests {
    use std::ffi::c_char;

    use super::*;
    use crate::record::COMM_LEN;

    /// Upstream's `CStr`-based reading of a name: the same text as
    /// [`QueuedTask::comm_str`] when the name is terminated.
    fn comm_cstr(comm: &[c_char; COMM_LEN]) -> String {
        // SAFETY: the tests below pass terminated names.
        unsafe { std::ffi::CStr::from_ptr(comm.as_ptr()) }.to_string_lossy().into_owned()
    }

    fn native() -> crate::QueuedTask {
        crate::QueuedTask {
            pid: 7,
            cpu: 3,
            nr_cpus_allowed: 4,
            flags: usched_core::policy::Task::WAKEUP | usched_core::policy::Task::KTHREAD,
            exec_runtime: 11,
            weight: 100,
            vtime: 12,
            dsq_vtime: 17,
            seq: 13,
            start_ts: 14,
            stop_ts: 15,
            comm: *b"game-render\0\0\0\0\0",
            ..Default::default()
        }
    }

    #[test]
    fn queued_tasks_carry_upstream_fields() {
        let q = QueuedTask::from(&native());
        assert_eq!(
            (q.pid, q.cpu, q.nr_cpus_allowed, q.flags, q.exec_runtime, q.weight, q.vtime),
            (7, 3, 4, SCX_ENQ_WAKEUP, 11, 100, 17)
        );
        assert_eq!((q.enq_cnt, q.start_ts, q.stop_ts), (13, 14, 15));
        assert_eq!(q.comm_str(), "game-render");
        assert_eq!(comm_cstr(&q.comm), q.comm_str());
        let full = QueuedTask::from(&crate::QueuedTask { comm: *b"0123456789abcdef", ..native() });
        assert_eq!(full.comm_str(), "0123456789abcdef", "all 16 bytes, no terminator");
    }

    #[test]
    fn decisions_map_cpu_any_preempt_and_enq_cnt() {
        let q = QueuedTask::from(&native());
        let mut d = DispatchedTask::new(&q);
        assert_eq!((d.pid, d.cpu, d.flags, d.slice_ns, d.vtime, d.enq_cnt), (7, 3, 1, 0, 0, 13));
        let n = d.to_native();
        assert_eq!((n.pid, n.cpu, n.flags, n.seq, n.vtime, n.deadline), (7, 3, 0, 13, 0, 0));
        d.cpu = RL_CPU_ANY;
        d.flags |= SCX_ENQ_PREEMPT;
        d.slice_ns = 2_000_000;
        d.vtime = 99;
        let n = d.to_native();
        assert_eq!(n.flags, crate::RL_CPU_ANY | crate::RL_PREEMPT);
        assert_eq!((n.cpu, n.slice_ns, n.vtime), (-1, 2_000_000, 99));
    }
}
