// SPDX-License-Identifier: GPL-2.0-only
//! The periodic latency probe shared by `usched-probe periodic` and
//! `scx_usched --compare`: threads that sleep to an absolute deadline each
//! period, then work, and record how late they woke, how much of that was
//! spent runnable on a run queue, and the periods they missed.
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use usched::usched_core::histogram::Histogram;

/// CLOCK_MONOTONIC, ns.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Sleeps until CLOCK_MONOTONIC reads `ns`.
pub fn sleep_until(ns: u64) {
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

/// Spins for `ns` of wall time.
pub fn spin_for(ns: u64) {
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

/// A periodic workload: `threads` threads, each waking every `period` and
/// working `work` (wall time), for `duration`.
#[derive(Debug, Clone, Copy)]
pub struct Periodic {
    /// Threads.
    pub threads: usize,
    /// Period.
    pub period: Duration,
    /// Work per period (wall time spinning).
    pub work: Duration,
    /// How long to run.
    pub duration: Duration,
}

/// What a [`Periodic`] run measured, over all its threads.
#[derive(Debug, Default)]
pub struct Lateness {
    /// Wake-up lateness (actual wake-up − deadline), ns.
    pub late: Histogram,
    /// Of it, time runnable on a run queue (see `RunDelay`), ns.
    pub wait: Histogram,
    /// The rest: timer delivery (and, in a VM, the emulator), ns.
    pub timer: Histogram,
    /// Periods whose work ended after the next period began.
    pub misses: u64,
    /// Wake-ups by the CPU they ran on, indexed by CPU id.
    pub by_cpu: Vec<u64>,
}

impl Lateness {
    /// `p`-th percentile of the lateness, µs.
    pub fn late_us(&self, p: f64) -> f64 {
        self.late.percentile(p) as f64 / 1000.0
    }

    /// Missed periods, % of the periods run.
    pub fn miss_pct(&self) -> f64 {
        100.0 * self.misses as f64 / self.late.count().max(1) as f64
    }
}

impl Periodic {
    /// Checks the shape: 1..=256 threads, work shorter than the period, a
    /// positive duration.
    ///
    /// # Errors
    /// Which bound was broken.
    pub fn validate(&self) -> Result<()> {
        if self.threads == 0
            || self.threads > 256
            || self.period.is_zero()
            || self.work >= self.period
            || self.duration.is_zero()
        {
            bail!("need 1..=256 threads, 0 < work < period, duration > 0");
        }
        Ok(())
    }

    /// Runs the threads to the end and merges what they measured.
    ///
    /// # Errors
    /// A bad shape ([`Periodic::validate`]) or a thread that panicked.
    pub fn run(&self) -> Result<Lateness> {
        self.validate()?;
        let (period, work) = (self.period.as_nanos() as u64, self.work.as_nanos() as u64);
        let end = Instant::now() + self.duration;
        let handles: Vec<_> = (0..self.threads)
            .map(|_| std::thread::spawn(move || one_thread(period, work, end)))
            .collect();
        let mut all = Lateness::default();
        for h in handles {
            let l = h.join().map_err(|_| anyhow::anyhow!("probe thread panicked"))?;
            all.late.merge(&l.late);
            all.wait.merge(&l.wait);
            all.timer.merge(&l.timer);
            all.misses += l.misses;
            if all.by_cpu.len() < l.by_cpu.len() {
                all.by_cpu.resize(l.by_cpu.len(), 0);
            }
            for (a, n) in all.by_cpu.iter_mut().zip(&l.by_cpu) {
                *a += n;
            }
        }
        Ok(all)
    }
}

fn one_thread(period: u64, work: u64, end: Instant) -> Lateness {
    let mut l = Lateness::default();
    let stat = RunDelay::open();
    let mut delay = stat.as_ref().map_or(0, RunDelay::read);
    let mut next = now_ns() + period;
    while Instant::now() < end {
        sleep_until(next);
        let woke = now_ns();
        let lateness = woke.saturating_sub(next);
        l.late.record(lateness);
        // SAFETY: sched_getcpu has no preconditions; -1 (an error) is skipped.
        if let Ok(cpu) = usize::try_from(unsafe { libc::sched_getcpu() }) {
            if cpu >= l.by_cpu.len() {
                l.by_cpu.resize(cpu + 1, 0);
            }
            l.by_cpu[cpu] += 1;
        }
        spin_for(work);
        let done = now_ns();
        if let Some(s) = &stat {
            // Time spent runnable but not running this period (after the
            // wake-up and during the work): the scheduler's share of the
            // lateness; the rest is timer delivery (and, in a VM, the
            // emulator).
            let d = s.read();
            let w = d.saturating_sub(delay);
            delay = d;
            l.wait.record(w);
            l.timer.record(lateness.saturating_sub(w));
        }
        next += period;
        if done > next {
            // Missed: skip the periods we overran.
            l.misses += 1;
            while next < done {
                next += period;
            }
        }
    }
    l
}
