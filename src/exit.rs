// SPDX-License-Identifier: GPL-2.0-only
//! The process-wide exit request: a flag a signal handler may set and every
//! [`BpfScheduler`](crate::BpfScheduler) of the process reads.
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`request_exit`] (e.g. from a signal handler the binary installs).
static EXIT_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every [`BpfScheduler`](crate::BpfScheduler) of this process to
/// report `exited()`. Async-signal-safe: it only stores to an atomic.
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
