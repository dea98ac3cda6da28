// SPDX-License-Identifier: GPL-2.0-only
//! What the kernel says about CPUs and threads: the online CPUs
//! (`/sys/devices/system/cpu/online`, kernel CPU lists, a hybrid part's
//! efficient cores), a thread's page
//! faults and a process's CPU time (`/proc/*/stat`, `getrusage`,
//! `clock_gettime`). Read-only, no side effects.
use std::fs;

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

/// The efficient cores of a hybrid part as the kernel lists them (Intel's
/// `/sys/devices/cpu_atom/cpus`, the E-cores' PMU); empty elsewhere.
pub fn efficient_cpu_ids() -> Vec<usize> {
    fs::read_to_string("/sys/devices/cpu_atom/cpus")
        .map(|s| cpu_list_ids(s.trim()))
        .unwrap_or_default()
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

/// CPU time (user + system) of the whole process that thread `tid` belongs
/// to, ns: the kernel's CPU-time clock of that process (`clock_getcpuclockid`,
/// exact to the ns), else `/proc/TID/stat`'s clock ticks (10 ms steps: over
/// a short interval a rate from them is off by whole ticks, and a first
/// `--stats` line a few ms long read 300 %).
pub fn process_cpu_time_of(tid: i32) -> Option<u64> {
    if tid <= 0 {
        return None;
    }
    if let Some(ns) = thread_group_of(tid).and_then(process_cpu_clock_ns) {
        return Some(ns);
    }
    // /proc/TID/stat describes the thread group for any of its threads.
    let f = stat_fields(&format!("/proc/{tid}/stat"))?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    // utime is field 14, stime field 15.
    Some((f.get(11)? + f.get(12)?) * 1_000_000_000 / hz)
}

/// The thread group (process id) of thread `tid` (`Tgid:` in its status).
fn thread_group_of(tid: i32) -> Option<i32> {
    let status = fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// Process `pid`'s CPU time from its CPU-time clock, ns.
fn process_cpu_clock_ns(pid: i32) -> Option<u64> {
    let mut clk: libc::clockid_t = 0;
    // SAFETY: `clk` is a valid out-pointer for one clockid_t.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clk) } != 0 {
        return None;
    }
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer for one timespec.
    if unsafe { libc::clock_gettime(clk, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
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
    fn a_process_cpu_time_is_exact_not_in_ticks() {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let thread_ns = || {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: `ts` is a valid out-pointer.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
        };
        let before = process_cpu_time_of(tid).unwrap();
        // 2 ms of this thread's own CPU time: ticks of 10 ms would often
        // show none of it.
        let t0 = thread_ns();
        while thread_ns() - t0 < 2_000_000 {
            std::hint::spin_loop();
        }
        let after = process_cpu_time_of(tid).unwrap();
        assert!(after - before >= 2_000_000, "{before} -> {after}");
        assert_eq!(thread_group_of(tid), Some(std::process::id() as i32));
        assert!(process_cpu_time_of(0).is_none());
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
