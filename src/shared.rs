// SPDX-License-Identifier: GPL-2.0-only
//! A typed view of the memory user space shares with the BPF side: the
//! mmap'd `.bss`, each field the framework reads or writes named by an
//! accessor that returns it as an atomic.
use std::mem::offset_of;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::bpf::intf;
use crate::bpf::skel::types;

const MAX_CPUS: usize = intf::usched_consts_USCHED_MAX_CPUS as usize;

/// The BPF side's `.bss`, as user space sees it.
pub(crate) struct SharedBss {
    bss: NonNull<types::bss>,
}

/// Defines an accessor for a `.bss` field that both sides access atomically.
macro_rules! field {
    ($(#[$doc:meta])* $name:ident: $atomic:ty = $($path:ident).+) => {
        $(#[$doc])*
        pub(crate) fn $name(&self) -> &$atomic {
            const OFF: usize = offset_of!(types::bss, $($path).+);
            const _: () = assert!(OFF % std::mem::align_of::<$atomic>() == 0);
            const _: () = assert!(
                OFF + std::mem::size_of::<$atomic>() <= std::mem::size_of::<types::bss>()
            );
            // SAFETY: `new`'s contract keeps the .bss mapped while `self`
            // lives; OFF is the offset of a field of the atomic's size and
            // alignment (asserted above) that the BPF side only accesses
            // with atomic or single-copy stores, so viewing it as an atomic
            // is sound.
            unsafe { <$atomic>::from_ptr(self.bss.as_ptr().cast::<u8>().add(OFF).cast()) }
        }
    };
}

impl SharedBss {
    /// Views the `.bss` at `bss`.
    ///
    /// # Safety
    /// `bss` must point at the skeleton's mmap'd `.bss`, and the view must
    /// not outlive the skeleton (its owner drops both together).
    pub(crate) unsafe fn new(bss: NonNull<types::bss>) -> Self {
        Self { bss }
    }

    field!(
        /// The dispatcher thread's tid (wake-up preemption on its CPU).
        dispatcher_tid: AtomicU32 = dispatcher_tid
    );
    field!(
        /// Decisions submitted to the user ring buffer since load.
        nr_user_pushed: AtomicU64 = nr_user_pushed
    );
    field!(
        /// Decisions that found the user ring buffer full.
        nr_user_ring_full: AtomicU64 = nr_user_ring_full
    );
    field!(
        /// Run events that found the run-event ring full (`Config::run_events`).
        nr_run_events_lost: AtomicU64 = nr_run_events_lost
    );
    field!(
        /// The key of the policy's next dispatch (0: unknown).
        user_next_key: AtomicU64 = user_next_key
    );
    field!(
        /// The policy's vtime floor (0: none; see `Policy::vtime_floor`).
        user_vtime_floor: AtomicU64 = user_vtime_floor
    );
    field!(
        /// Tasks waiting in the user-space policy.
        nr_user_queued: AtomicU64 = nr_user_queued
    );
    field!(
        /// When a higher class was last seen holding the dispatcher's CPU.
        dispatcher_cpu_taken_at: AtomicU64 = dispatcher_cpu_taken_at
    );
    field!(
        /// The dispatcher sleeps in epoll: records must wake it.
        usersched_sleeping: AtomicU32 = usersched_sleeping
    );
    field!(
        /// Decisions the BPF side has read from the user ring buffer.
        nr_drained: AtomicU64 = counters.nr_drained
    );
    field!(
        /// Decided tasks inserted into a DSQ, not yet running.
        nr_kqueued: AtomicU64 = nr_kqueued
    );
    field!(
        /// Tasks running on a CPU.
        nr_running: AtomicU64 = nr_running
    );

    /// A racy copy of the BPF side's event counters alone (184 bytes: cheap
    /// where [`snapshot`](Self::snapshot) copies the histograms too).
    pub(crate) fn counters(&self) -> types::usched_counters {
        const _: () = assert!(std::mem::size_of::<types::usched_counters>() == 184);
        // SAFETY: see `new`; the counters are plain integers, so a copy
        // that races with the BPF side's stores is a valid value, and
        // read_volatile keeps the compiler from assuming them unchanged.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.bss.as_ptr()).counters)) }
    }

    /// Whether the BPF side marked `cpu` idle (race-tolerant read).
    pub(crate) fn cpu_is_idle(&self, cpu: usize) -> bool {
        // SAFETY: see `new`; cpu_idle is a byte array the BPF side stores
        // to, indexed below its length; a volatile byte read is
        // race-tolerant.
        cpu < MAX_CPUS
            && unsafe { ptr::read_volatile(ptr::addr_of!((*self.bss.as_ptr()).cpu_idle[cpu])) } != 0
    }

    /// `cpu` is idle and is not `reserved` (the CPU busy mode keeps for the
    /// dispatcher): it can take a task. The one place of this rule in user
    /// space.
    pub(crate) fn can_take_work(&self, cpu: usize, reserved: Option<usize>) -> bool {
        self.cpu_is_idle(cpu) && Some(cpu) != reserved
    }

    /// A racy copy of the whole `.bss`, for statistics.
    pub(crate) fn snapshot(&self) -> types::bss {
        // SAFETY: see `new`; the .bss is plain integers, so a copy that
        // races with the BPF side's stores is a valid value (a snapshot's
        // fields may come from different moments); read_volatile keeps the
        // compiler from assuming the memory is unchanged.
        unsafe { ptr::read_volatile(self.bss.as_ptr()) }
    }
}
