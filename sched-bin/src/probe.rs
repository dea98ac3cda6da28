// SPDX-License-Identifier: GPL-2.0-only
//! usched-probe: workloads and probes for the VM tests and benchmarks.
//!
//! usched-probe ext CMD [ARGS...]
//!     run CMD with the SCHED_EXT policy (for partial mode)
//! usched-probe burst [--threads N] [--spin-ms M]
//!     N threads released at once, each spinning M ms: a runnable-task flood
//! usched-probe periodic --threads N --period-us P --work-us W --secs S [--label L]
//!     N periodic SCHED_OTHER threads: sleep until the next period (absolute
//!     clock), then work W µs. Prints wake-up lateness p50/p99/max (µs) and
//!     deadline misses (work not done before the next period).
use std::ffi::CString;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use usched::core::histogram::Histogram;

const SCHED_EXT: libc::c_int = 7;

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn sleep_until(ns: u64) {
    let ts = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    };
    // SAFETY: `ts` is valid; a null remainder is allowed with TIMER_ABSTIME.
    while unsafe {
        libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, std::ptr::null_mut())
    } == libc::EINTR
    {}
}

fn spin_for(ns: u64) {
    let end = now_ns() + ns;
    while now_ns() < end {
        std::hint::spin_loop();
    }
}

/// The calling thread's `/proc/thread-self/schedstat`: its second field is
/// the time the thread has spent runnable but waiting for a CPU (ns), kept by
/// the kernel's core for every scheduling class alike. It reads the run
/// queue's clock, which the core does not advance between a wake-up that
/// preempts the running task and the switch that follows
/// (`rq_clock_skip_update()`): such a wait counts as 0, so the split
/// under-counts the scheduler's share where wake-ups preempt at once.
struct RunDelay(std::fs::File);

impl RunDelay {
    fn open() -> Option<Self> {
        std::fs::File::open("/proc/thread-self/schedstat").ok().map(Self)
    }

    fn read(&self) -> u64 {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 96];
        let n = self.0.read_at(&mut buf, 0).unwrap_or(0);
        std::str::from_utf8(&buf[..n])
            .ok()
            .and_then(|s| s.split_whitespace().nth(1))
            .and_then(|f| f.parse().ok())
            .unwrap_or(0)
    }
}

fn ext(args: &[String]) -> Result<()> {
    let Some(cmd) = args.first() else { bail!("ext: missing command") };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: valid param pointer; pid 0 is the calling thread.
    if unsafe { libc::sched_setscheduler(0, SCHED_EXT, &param) } != 0 {
        bail!(
            "sched_setscheduler(SCHED_EXT): {} (is a sched_ext scheduler loaded?)",
            std::io::Error::last_os_error()
        );
    }
    let c: Vec<CString> =
        args.iter().map(|a| CString::new(a.as_str())).collect::<Result<_, _>>()?;
    let mut argv: Vec<*const libc::c_char> = c.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: argv is a null-terminated array of valid C strings.
    unsafe { libc::execvp(c[0].as_ptr(), argv.as_ptr()) };
    bail!("exec {cmd}: {}", std::io::Error::last_os_error())
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T> {
    match args.iter().position(|a| a == name) {
        Some(i) => {
            let v = args.get(i + 1).with_context(|| format!("{name} needs a value"))?;
            v.parse().map_err(|_| anyhow::anyhow!("{name}: bad value '{v}'"))
        }
        None => Ok(default),
    }
}

fn periodic(args: &[String]) -> Result<()> {
    let threads: usize = arg(args, "--threads", 2)?;
    let period_us: u64 = arg(args, "--period-us", 1000)?;
    let work_us: u64 = arg(args, "--work-us", 50)?;
    let secs: f64 = arg(args, "--secs", 10.0)?;
    let label: String = arg(args, "--label", "periodic".to_string())?;
    if threads == 0
        || threads > 256
        || period_us == 0
        || work_us >= period_us
        || secs.is_nan()
        || secs <= 0.0
    {
        bail!("need 1..=256 threads, work < period, secs > 0");
    }
    let period = period_us * 1000;
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut late = Histogram::new();
                let mut wait = Histogram::new();
                let mut timer = Histogram::new();
                let mut misses = 0u64;
                let stat = RunDelay::open();
                let mut delay = stat.as_ref().map_or(0, RunDelay::read);
                let mut next = now_ns() + period;
                while Instant::now() < end {
                    sleep_until(next);
                    let woke = now_ns();
                    let lateness = woke.saturating_sub(next);
                    late.record(lateness);
                    spin_for(work_us * 1000);
                    let done = now_ns();
                    if let Some(s) = &stat {
                        // Time spent runnable but not running this period
                        // (after the wake-up and during the work): the
                        // scheduler's share of the lateness; the rest is
                        // timer delivery (and, in a VM, the emulator).
                        let d = s.read();
                        let w = d.saturating_sub(delay);
                        delay = d;
                        wait.record(w);
                        timer.record(lateness.saturating_sub(w));
                    }
                    next += period;
                    if done > next {
                        // Missed: skip the periods we overran.
                        misses += 1;
                        while next < done {
                            next += period;
                        }
                    }
                }
                (late, wait, timer, misses)
            })
        })
        .collect();
    let mut all = Histogram::new();
    let mut all_wait = Histogram::new();
    let mut all_timer = Histogram::new();
    let mut misses = 0;
    for h in handles {
        let (l, w, t, m) = h.join().map_err(|_| anyhow::anyhow!("probe thread panicked"))?;
        all.merge(&l);
        all_wait.merge(&w);
        all_timer.merge(&t);
        misses += m;
    }
    let us = |h: &Histogram, p: f64| h.percentile(p) as f64 / 1000.0;
    print!(
        "PROBE {label} n={} late_p50_us={:.1} late_p99_us={:.1} late_max_us={:.1} misses={} miss_pct={:.2}",
        all.count(),
        us(&all, 50.0),
        us(&all, 99.0),
        all.max() as f64 / 1000.0,
        misses,
        100.0 * misses as f64 / all.count().max(1) as f64
    );
    if all_wait.count() > 0 {
        print!(
            " rqwait_p50_us={:.1} rqwait_p99_us={:.1} rqwait_max_us={:.1} timer_p50_us={:.1} timer_p99_us={:.1}",
            us(&all_wait, 50.0),
            us(&all_wait, 99.0),
            all_wait.max() as f64 / 1000.0,
            us(&all_timer, 50.0),
            us(&all_timer, 99.0)
        );
    }
    println!();
    Ok(())
}

/// N threads released at once by a barrier, each spinning `ms` then exiting:
/// thousands of tasks runnable at the same instant.
fn burst(args: &[String]) -> Result<()> {
    let threads: usize = arg(args, "--threads", 2048)?;
    let ms: u64 = arg(args, "--spin-ms", 20)?;
    if threads == 0 || threads > 32768 {
        bail!("--threads must be in 1..=32768");
    }
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(threads);
    for _ in 0..threads {
        let (b, d) = (barrier.clone(), done.clone());
        let h = std::thread::Builder::new().stack_size(64 * 1024).spawn(move || {
            b.wait();
            spin_for(ms * 1_000_000);
            d.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })?;
        handles.push(h);
    }
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("a burst thread panicked"))?;
    }
    let n = done.load(std::sync::atomic::Ordering::Relaxed);
    println!("BURST threads={threads} completed={n}");
    if n != threads {
        bail!("only {n} of {threads} threads completed");
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ext") => ext(&args[1..]),
        Some("periodic") => periodic(&args[1..]),
        Some("burst") => burst(&args[1..]),
        _ => bail!("usage: usched-probe {{ext CMD [ARGS...] | burst [--threads N] [--spin-ms M] | periodic [--threads N] [--period-us P] [--work-us W] [--secs S] [--label L]}}"),
    }
}
