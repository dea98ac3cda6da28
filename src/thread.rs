// SPDX-License-Identifier: GPL-2.0-only
//! Explicit, process- or thread-wide side effects for the dispatcher thread:
//! pinning, locking memory, pre-faulting the stack. Nothing here runs unless
//! called.

use crate::error::{Error, Result};

/// Pins the calling thread to `cpu`.
///
/// # Errors
/// [`Error::InvalidConfig`] when the CPU cannot be used.
pub fn pin_current_thread(cpu: usize) -> Result<()> {
    if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!("cannot pin the dispatcher to CPU {cpu}")))
    }
}

/// Lets the calling thread run where its process may: on the CPUs of the
/// process's main thread (what `taskset` or a cgroup gave it), or on every
/// online CPU if that set is a single CPU or cannot be read.
///
/// # Errors
/// [`Error::Os`] when the kernel refuses the mask.
pub fn unpin_current_thread() -> Result<()> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: getpid has no preconditions; it names the main thread.
    let set = match affinity_of(unsafe { libc::getpid() }) {
        // SAFETY: `s` was filled by the kernel.
        Some(s) if unsafe { libc::CPU_COUNT(&s) } >= 2 => s,
        _ => {
            // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
            let mut s: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            for cpu in crate::procfs::online_cpu_ids().into_iter().filter(|&c| c < 8 * size) {
                // SAFETY: `cpu` is below the set's capacity (checked above).
                unsafe { libc::CPU_SET(cpu, &mut s) };
            }
            s
        }
    };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the
    // calling thread.
    if unsafe { libc::sched_setaffinity(0, size, &set) } != 0 {
        return Err(Error::os("unpinning a thread"));
    }
    Ok(())
}

/// The CPU the calling thread is pinned to, if its affinity is one CPU.
pub fn pinned_cpu() -> Option<usize> {
    let set = affinity_of(0)?;
    // SAFETY: `set` was filled by the kernel.
    if unsafe { libc::CPU_COUNT(&set) } != 1 {
        return None;
    }
    // SAFETY: every index is below the set's capacity.
    (0..8 * std::mem::size_of::<libc::cpu_set_t>()).find(|&c| unsafe { libc::CPU_ISSET(c, &set) })
}

/// The affinity mask of thread `tid` (0: the calling thread), or `None` if
/// the kernel refuses to tell.
fn affinity_of(tid: libc::pid_t) -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let rc =
        unsafe { libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    (rc == 0).then_some(set)
}

/// Memory locked by [`lock_memory`]; unlocked again when dropped.
#[derive(Debug)]
#[must_use = "memory is unlocked when the guard is dropped"]
pub struct MemoryLock(());

impl Drop for MemoryLock {
    fn drop(&mut self) {
        // SAFETY: munlockall has no preconditions.
        unsafe { libc::munlockall() };
    }
}

/// Locks all current and future pages of the process in RAM
/// (`mlockall(MCL_CURRENT | MCL_FUTURE)`), so the dispatcher never waits on
/// a page-in.
///
/// # Errors
/// [`Error::Os`] (typically `RLIMIT_MEMLOCK` for an unprivileged process).
pub fn lock_memory() -> Result<MemoryLock> {
    // SAFETY: mlockall has no memory-safety preconditions.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
        return Err(Error::os("mlockall"));
    }
    Ok(MemoryLock(()))
}

/// Touches `bytes` of the calling thread's stack so that its pages are
/// present (and, after [`lock_memory`], locked) before the hot loop runs.
#[inline(never)]
pub fn prefault_stack(bytes: usize) {
    const CHUNK: usize = 16 * 1024;
    let buf = [0u8; CHUNK];
    std::hint::black_box(&buf);
    if bytes > CHUNK {
        prefault_stack(bytes - CHUNK);
    }
}

extern "C" fn request_exit_on_signal(_sig: libc::c_int) {
    crate::request_exit();
}

/// Makes SIGINT and SIGTERM call [`request_exit`](crate::request_exit), so
/// that the dispatch loop ends and the scheduler detaches cleanly. An
/// explicit step for the binary to take; `init` never installs handlers.
///
/// # Errors
/// [`Error::Os`] when `sigaction` fails.
pub fn install_exit_signal_handlers() -> Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe);
        // a zeroed sigaction with the handler and an empty mask set is a
        // valid argument.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = request_exit_on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(Error::os("sigaction"));
        }
    }
    Ok(())
}
