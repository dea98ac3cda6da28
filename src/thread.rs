// SPDX-License-Identifier: GPL-2.0-only
//! Explicit, process- or thread-wide side effects for the dispatcher thread:
//! pinning, locking memory, pre-faulting the stack. Nothing here runs unless
//! called.
use std::fs;

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
            for cpu in online_cpu_ids().into_iter().filter(|&c| c < 8 * size) {
                // SAFETY: `cpu` is below the set's capacity (checked above).
                unsafe { libc::CPU_SET(cpu, &mut s) };
            }
            s
        }
    };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the
    // calling thread.
    if unsafe { libc::sched_setaffinity(0, size, &set) } != 0 {
        return Err(Error::os("unpinning the dispatcher"));
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

/// Number of online CPUs.
pub fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).max(
        fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .map(|s| parse_cpu_list(s.trim()))
            .unwrap_or(0),
    )
}

/// The online CPUs now, in increasing order (`/sys/devices/system/cpu/online`;
/// empty if it cannot be read).
pub fn online_cpu_ids() -> Vec<usize> {
    fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| cpu_list_ids(s.trim()))
        .unwrap_or_default()
}

/// Whether `cpu` is online now.
pub fn cpu_online(cpu: usize) -> bool {
    online_cpu_ids().contains(&cpu)
}

/// The highest-numbered online CPU (0 if the list cannot be read).
pub fn last_online_cpu() -> usize {
    online_cpu_ids().last().copied().unwrap_or(0)
}

/// The CPUs of a kernel CPU list such as `0-3,8,10-11`, in its order.
pub fn cpu_list_ids(s: &str) -> Vec<usize> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .filter_map(|p| match p.split_once('-') {
            Some((a, b)) => Some(a.parse::<usize>().ok()?..=b.parse::<usize>().ok()?),
            None => p.parse::<usize>().ok().map(|c| c..=c),
        })
        .flatten()
        .collect()
}

/// Counts the CPUs in a kernel CPU list such as `0-3,8,10-11`.
pub fn parse_cpu_list(s: &str) -> usize {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => usize::from(p.parse::<usize>().is_ok()),
        })
        .sum()
}

/// Fields of a /proc `stat` file after the command name: `fields[0]` is
/// field 3 (state) of proc(5).
fn stat_fields(path: &str) -> Option<Vec<u64>> {
    let stat = fs::read_to_string(path).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// Minor + major page faults of thread `tid` (any process).
pub fn thread_page_faults(tid: i32) -> Option<u64> {
    if tid <= 0 {
        return None;
    }
    let f = stat_fields(&format!("/proc/{tid}/task/{tid}/stat"))?;
    // minflt is field 10, majflt field 12.
    Some(f.get(7)? + f.get(9)?)
}

/// CPU time (user + system) of the whole process that thread `tid` belongs to, ns.
pub fn process_cpu_time_of(tid: i32) -> Option<u64> {
    if tid <= 0 {
        return None;
    }
    // /proc/TID/stat describes the thread group for any of its threads.
    let f = stat_fields(&format!("/proc/{tid}/stat"))?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    // utime is field 14, stime field 15.
    Some((f.get(11)? + f.get(12)?) * 1_000_000_000 / hz)
}

/// Page faults of the calling thread so far (minor + major).
pub fn current_thread_page_faults() -> u64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a valid out-pointer for one rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) } != 0 {
        return 0;
    }
    // SAFETY: getrusage succeeded and filled it (zeroed anyway).
    let ru = unsafe { ru.assume_init() };
    (ru.ru_minflt + ru.ru_majflt) as u64
}

/// CPU time (user + system) used by this process, ns.
pub fn process_cpu_time_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8,10-11"), 7);
        assert_eq!(parse_cpu_list("0"), 1);
        assert_eq!(parse_cpu_list(""), 0);
        assert_eq!(parse_cpu_list("3-1"), 0);
        assert!(online_cpus() >= 1);
        assert_eq!(cpu_list_ids("0,2-3"), [0, 2, 3]);
        assert!(cpu_list_ids("").is_empty() && cpu_list_ids("3-1,x").is_empty());
        assert!(cpu_online(0) || !std::path::Path::new("/sys/devices/system/cpu/online").exists());
    }

    #[test]
    fn page_faults_of_this_thread_are_readable() {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let before = thread_page_faults(tid).unwrap();
        // Touch fresh memory: the count can only grow.
        let v = vec![1u8; 8 << 20];
        std::hint::black_box(&v);
        assert!(thread_page_faults(tid).unwrap() >= before);
        assert!(current_thread_page_faults() > 0);
        assert!(thread_page_faults(-1).is_none());
    }
}
