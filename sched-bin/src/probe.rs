// SPDX-License-Identifier: GPL-2.0-only
//! usched-probe: workloads and probes for the VM tests and benchmarks.
//!
//! usched-probe ext CMD [ARGS...]
//!     run CMD with the SCHED_EXT policy (for partial mode)
//! usched-probe burst [--threads N] [--spin-ms M]
//!     N threads released at once, each spinning M ms: a runnable-task flood
//! usched-probe periodic --threads N --period-us P --work-us W --secs S [--label L]
//!     N periodic SCHED_OTHER threads: sleep until the next period (absolute
//!     clock), then work W µs. Prints wake-up lateness p50/p99/max (µs),
//!     deadline misses (work not done before the next period) and the
//!     wake-ups by the CPU they ran on (`runs_by_cpu`, by CPU id).
//! usched-probe hogs --spec 0,0,19,idle [--secs S] [--pin CPU] [--long-ms MS]
//!     one CPU-bound thread per entry, at that nice level (or SCHED_IDLE):
//!     prints each one's CPU time, its share against what the kernel's
//!     weights give it among the others of the CPU time they all got (at
//!     most one CPU's worth each; the total is what was measured, so hogs
//!     starved alike while CPUs stood idle are not seen there: the HOGS
//!     line's `use=` is that total over what the CPUs they may run on could
//!     give them), and the longest time it waited
//!     off-CPU (the largest gap between two clock reads of its spin loop),
//!     how many of its waits were longer than --long-ms (900), and its
//!     thread id (to find it in a `scx_usched --record` trace). The hogs
//!     are released together 1 s after the start and measured for S
//!     seconds after a one-second warm-up: S + 2 s in all.
//! usched-probe classflip [--hogs N] [--rounds R] [--ext]
//!     N CPU-bound threads whose scheduling class another thread flips R
//!     times between SCHED_FIFO, SCHED_IDLE and SCHED_OTHER (or SCHED_EXT
//!     with --ext, for partial mode) while they are queued.
//! usched-probe pingpong [--secs S] [--hogs H] [--work-us W] [--linger-us L]
//!     a communicating pair: two threads bouncing a time stamp over two
//!     pipes (each works W µs per turn; the first goes on running L µs after
//!     each write before it reads), beside H CPU-bound threads, for S
//!     seconds after a one-second warm-up. Every 250 ms the main thread
//!     samples the CPU each thread last ran on; prints the share of samples
//!     with the pair in one last-level cache and on one CPU, the share with
//!     the first two hogs in different LLCs, the round trips done, and how
//!     long the second thread took from the first's write to running
//!     (p50, p99, max).
//! usched-probe statsock [--socket PATH] [--clients N] [--request-bytes B]
//!     opens N connections to the stats socket at once and asks each for
//!     statistics, then sends one request of B bytes: prints how many
//!     connections were served, how many were refused and with which errno,
//!     and the answer to the long request.
use std::ffi::CString;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use usched::usched_core::histogram::{AtomicHistogram, Histogram};

mod latency;
use latency::{now_ns, sleep_until, spin_for, Periodic};

const SCHED_EXT: libc::c_int = 7;

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
    if secs.is_nan() || secs <= 0.0 || secs > 3600.0 {
        bail!("need 0 < secs <= 3600");
    }
    let l = Periodic {
        threads,
        period: Duration::from_micros(period_us),
        work: Duration::from_micros(work_us),
        duration: Duration::from_secs_f64(secs),
    }
    .run()?;
    let us = |h: &Histogram, p: f64| h.percentile(p) as f64 / 1000.0;
    print!(
        "PROBE {label} n={} late_p50_us={:.1} late_p99_us={:.1} late_max_us={:.1} misses={} miss_pct={:.2}",
        l.late.count(),
        l.late_us(50.0),
        l.late_us(99.0),
        l.late.max() as f64 / 1000.0,
        l.misses,
        l.miss_pct()
    );
    if l.wait.count() > 0 {
        print!(
            " rqwait_p50_us={:.1} rqwait_p99_us={:.1} rqwait_max_us={:.1} timer_p50_us={:.1} timer_p99_us={:.1}",
            us(&l.wait, 50.0),
            us(&l.wait, 99.0),
            l.wait.max() as f64 / 1000.0,
            us(&l.timer, 50.0),
            us(&l.timer, 99.0)
        );
    }
    let by_cpu: Vec<String> = l.by_cpu.iter().map(u64::to_string).collect();
    println!(" runs_by_cpu={}", by_cpu.join(","));
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

/// The kernel's `sched_prio_to_weight` (nice -20..=19) and SCHED_IDLE's weight.
const NICE_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];
const IDLE_WEIGHT: u64 = 3;

/// A hog's class: a nice level, or SCHED_IDLE.
#[derive(Clone, Copy)]
enum HogClass {
    Nice(i32),
    Idle,
}

impl HogClass {
    fn parse(s: &str) -> Result<Self> {
        if s == "idle" {
            return Ok(Self::Idle);
        }
        match s.parse::<i32>() {
            Ok(n) if (-20..=19).contains(&n) => Ok(Self::Nice(n)),
            _ => bail!("hog class '{s}' is neither a nice level in -20..=19 nor 'idle'"),
        }
    }

    fn weight(self) -> u64 {
        match self {
            Self::Nice(n) => NICE_WEIGHT[(n + 20) as usize],
            Self::Idle => IDLE_WEIGHT,
        }
    }

    fn label(self) -> String {
        match self {
            Self::Nice(n) => format!("nice{n}"),
            Self::Idle => "idle".into(),
        }
    }

    /// Applies the class to the calling thread.
    fn apply(self) -> Result<()> {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        match self {
            Self::Nice(n) => {
                // SAFETY: plain syscall on the calling thread's id.
                if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, n) } != 0 {
                    bail!("setpriority({n}): {}", std::io::Error::last_os_error());
                }
            }
            Self::Idle => set_policy(0, libc::SCHED_IDLE, 0)?,
        }
        Ok(())
    }
}

fn set_policy(tid: i32, policy: libc::c_int, prio: i32) -> Result<()> {
    let param = libc::sched_param { sched_priority: prio };
    // SAFETY: valid param pointer; tid 0 is the calling thread.
    if unsafe { libc::sched_setscheduler(tid, policy, &param) } != 0 {
        bail!("sched_setscheduler({tid}, {policy}): {}", std::io::Error::last_os_error());
    }
    Ok(())
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn pin_self(cpu: usize) -> Result<()> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes inside `set`; cpu is checked against its size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: valid set of the right size; 0 is the calling thread.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } != 0 {
        bail!("sched_setaffinity({cpu}): {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// CPU-bound threads of the given classes, released together; after a
/// one-second warm-up each measures its CPU time, its longest wait and how
/// many waits were longer than `--long-ms`.
fn hogs(args: &[String]) -> Result<()> {
    let spec: String = arg(args, "--spec", "0,0,19".to_string())?;
    let secs: f64 = arg(args, "--secs", 10.0)?;
    let pin: i64 = arg(args, "--pin", -1)?;
    let long_ns = arg::<u64>(args, "--long-ms", 900)?.saturating_mul(1_000_000);
    let classes = spec.split(',').map(HogClass::parse).collect::<Result<Vec<_>>>()?;
    if classes.is_empty() || classes.len() > 256 || !(secs > 0.0 && secs <= 3600.0) {
        bail!("need 1..=256 hogs and 0 < secs <= 3600");
    }
    // Released at `start`, measured from `warm`: the first moments are a
    // transient (each hog enters the queue as a task that slept, with the
    // policy's sleeper credit, one slice of its own CPU time), 11-15 ms of
    // a nice-0 hog among eight nice -20 ones whose share is 27 ms in 10 s.
    let start = now_ns() + 1_000_000_000;
    let warm = start + 1_000_000_000;
    let end = warm + (secs * 1e9) as u64;
    let handles: Vec<_> = classes
        .iter()
        .map(|&c| {
            std::thread::spawn(move || -> Result<(u64, u64, u64, i32)> {
                // SAFETY: gettid has no preconditions.
                let tid = unsafe { libc::gettid() };
                if pin >= 0 {
                    pin_self(pin as usize)?;
                }
                c.apply()?;
                // Asleep until the start, not spinning: spinning hogs of
                // nice -20 kept the (nice 0) main thread from spawning the
                // last ones, which started up to seconds late and measured
                // a shorter run (0.5-0.8x of their share, under EEVDF too).
                let arrived = now_ns();
                if arrived >= start {
                    bail!(
                        "hog {} started {} ms after the common start",
                        c.label(),
                        (arrived - start) / 1_000_000
                    );
                }
                sleep_until(start);
                while now_ns() < warm {
                    std::hint::spin_loop();
                }
                let cpu0 = thread_cpu_ns();
                let (mut last, mut max_gap, mut long) = (now_ns(), 0, 0);
                while last < end {
                    let t = now_ns();
                    max_gap = max_gap.max(t - last);
                    long += u64::from(t - last > long_ns);
                    last = t;
                }
                Ok((thread_cpu_ns() - cpu0, max_gap, long, tid))
            })
        })
        .collect();
    let mut res = Vec::with_capacity(handles.len());
    for h in handles {
        res.push(h.join().map_err(|_| anyhow::anyhow!("hog thread panicked"))??);
    }
    let total: u64 = res.iter().map(|r| r.0).sum();
    let weights: Vec<u64> = classes.iter().map(|c| c.weight()).collect();
    let window = (end - warm) as f64;
    let expects = fair_shares(total as f64, &weights, window);
    // The shares are of the time the hogs got together, so hogs that all got
    // less than the machine had to give (two hogs sharing one CPU while
    // another idles) still read 1.00: `use` is that total over what the CPUs
    // they may run on could give them.
    let cpus =
        if pin >= 0 { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()) };
    let capacity = cpus.min(res.len()) as f64 * window;
    let (mut lo, mut hi, mut gap, mut long) = (f64::MAX, 0f64, 0u64, 0u64);
    for (i, (c, (cpu, g, l, tid))) in classes.iter().zip(&res).enumerate() {
        let expect = expects[i];
        let ratio = *cpu as f64 / expect.max(1.0);
        lo = lo.min(ratio);
        hi = hi.max(ratio);
        gap = gap.max(*g);
        long += l;
        println!(
            "HOG {i} {} cpu_ms={:.1} expect_ms={:.1} ratio={ratio:.2} max_wait_ms={:.1} long_waits={l} tid={tid}",
            c.label(),
            *cpu as f64 / 1e6,
            expect / 1e6,
            *g as f64 / 1e6
        );
    }
    println!(
        "HOGS n={} total_cpu_ms={:.1} use={:.2} ratio_min={lo:.2} ratio_max={hi:.2} max_wait_ms={:.1} long_waits={long}",
        res.len(),
        total as f64 / 1e6,
        total as f64 / capacity,
        gap as f64 / 1e6
    );
    Ok(())
}

/// What the kernel's weights give each of the hogs of `weights` out of
/// `total` ns of CPU time, when one hog can use at most `cap` ns (one CPU
/// over the measured window): shares in proportion to the weights, except
/// that a hog whose share would exceed `cap` gets `cap` and the rest is
/// shared among the others in the same way (six hogs that got six CPUs'
/// worth each expect one, not 1/6 of six by weight).
fn fair_shares(total: f64, weights: &[u64], cap: f64) -> Vec<f64> {
    let mut share = vec![0.0; weights.len()];
    let mut capped = vec![false; weights.len()];
    let mut left = total;
    loop {
        let wsum: f64 =
            weights.iter().zip(&capped).filter(|(_, &c)| !c).map(|(&w, _)| w as f64).sum();
        if wsum <= 0.0 {
            return share;
        }
        let mut again = false;
        for (i, &w) in weights.iter().enumerate() {
            if !capped[i] && left * w as f64 / wsum > cap {
                capped[i] = true;
                share[i] = cap;
                left -= cap;
                again = true;
            }
        }
        if !again {
            for (i, &w) in weights.iter().enumerate() {
                if !capped[i] {
                    share[i] = left * w as f64 / wsum;
                }
            }
            return share;
        }
    }
}

/// CPU-bound threads whose class the main thread (SCHED_FIFO, above them)
/// flips while they are queued: into SCHED_FIFO and out, into SCHED_IDLE
/// and back to SCHED_OTHER (or SCHED_EXT with --ext).
fn classflip(args: &[String]) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
    use std::sync::Arc;
    let nhogs: usize = arg(args, "--hogs", 4)?;
    let rounds: usize = arg(args, "--rounds", 200)?;
    let home = if args.iter().any(|a| a == "--ext") { SCHED_EXT } else { libc::SCHED_OTHER };
    let only_fifo = args.iter().any(|a| a == "--only-fifo");
    if nhogs == 0 || nhogs > 64 || rounds == 0 {
        bail!("need 1..=64 hogs and at least one round");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tids: Arc<Vec<AtomicI32>> = Arc::new((0..nhogs).map(|_| AtomicI32::new(0)).collect());
    let handles: Vec<_> = (0..nhogs)
        .map(|i| {
            let (stop, tids) = (stop.clone(), tids.clone());
            std::thread::spawn(move || -> Result<()> {
                set_policy(0, home, 0)?;
                // SAFETY: gettid has no preconditions.
                tids[i].store(unsafe { libc::gettid() }, Ordering::Release);
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                Ok(())
            })
        })
        .collect();
    while tids.iter().any(|t| t.load(Ordering::Acquire) == 0) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Above the hogs while they are SCHED_FIFO, so the flips go on.
    set_policy(0, libc::SCHED_FIFO, 2)?;
    let mut flips = 0u64;
    let mut result = Ok(());
    'rounds: for r in 0..rounds {
        let (policy, prio) = match if only_fifo { 0 } else { r % 3 } {
            0 => (libc::SCHED_FIFO, 1),
            1 => (libc::SCHED_IDLE, 0),
            _ => (home, 0),
        };
        for t in tids.iter() {
            let tid = t.load(Ordering::Acquire);
            for (p, pr) in [(policy, prio), (home, 0)] {
                if let Err(e) = set_policy(tid, p, pr) {
                    result = Err(e);
                    break 'rounds;
                }
                flips += 1;
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("hog thread panicked"))??;
    }
    result?;
    println!("CLASSFLIP hogs={nhogs} rounds={rounds} flips={flips}");
    Ok(())
}

/// One request on `stream`: the answer's errno (0 when served), or `None`
/// when the connection closed without an answer.
fn stats_request(stream: &mut std::os::unix::net::UnixStream, req: &[u8]) -> Result<Option<i64>> {
    use std::io::{BufRead, Write};
    // A server that refuses a long request answers and closes before the
    // whole request is written: the answer is still there to read.
    match stream.write_all(req) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r?,
    }
    let mut line = String::new();
    let n = std::io::BufReader::new(stream.try_clone()?).read_line(&mut line)?;
    if n == 0 {
        return Ok(None);
    }
    // {"errno":N,"args":{...}}: the errno is the first number.
    let errno = line
        .split("\"errno\":")
        .nth(1)
        .and_then(|r| r.split(|c: char| c != '-' && !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no errno in {line:?}"))?;
    Ok(Some(errno))
}

fn statsock(args: &[String]) -> Result<()> {
    use std::os::unix::net::UnixStream;
    let path: String = arg(args, "--socket", "/var/run/scx/root/stats".to_string())?;
    let clients: usize = arg(args, "--clients", 8)?;
    let big: usize = arg(args, "--request-bytes", 65536)?;
    let req = b"{\"req\":\"stats\",\"args\":{\"target\":\"top\"}}\n";
    let mut open = Vec::new();
    let (mut served, mut refused, mut closed) = (0, 0, 0);
    let mut errnos = Vec::new();
    for _ in 0..clients {
        let mut s = UnixStream::connect(&path).with_context(|| format!("connecting to {path}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        match stats_request(&mut s, req)? {
            Some(0) => served += 1,
            Some(e) => {
                refused += 1;
                errnos.push(e);
            }
            None => closed += 1,
        }
        open.push(s);
    }
    println!("STATSOCK clients={clients} served={served} refused={refused} closed={closed} errnos={errnos:?}");
    drop(open);
    // The slots are free again once the server has seen the closes.
    std::thread::sleep(Duration::from_millis(500));
    let mut s = UnixStream::connect(&path)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut long = vec![b'x'; big];
    long.push(b'\n');
    let answer = match stats_request(&mut s, &long) {
        Ok(Some(e)) => format!("errno={e}"),
        Ok(None) => "closed".to_string(),
        Err(e) => format!("error={e}"),
    };
    // The connection must be closed after the answer.
    let after = match stats_request(&mut s, req) {
        Ok(Some(e)) => format!("errno={e}"),
        Ok(None) | Err(_) => "closed".to_string(),
    };
    println!("STATSOCK long={big} answer={answer} after={after}");
    let mut s = UnixStream::connect(&path)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let again = match stats_request(&mut s, req)? {
        Some(e) => format!("errno={e}"),
        None => "closed".to_string(),
    };
    println!("STATSOCK again={again}");
    Ok(())
}

/// The last-level cache of each possible CPU, as a small id (CPUs listed
/// by the same `cache/index3/shared_cpu_list` share one); every CPU in
/// LLC 0 when the machine reports no level-3 cache.
fn llc_ids() -> Vec<usize> {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1) as usize;
    let mut seen: Vec<String> = Vec::new();
    (0..n)
        .map(|c| {
            let path = format!("/sys/devices/system/cpu/cpu{c}/cache/index3/shared_cpu_list");
            let list = std::fs::read_to_string(path).unwrap_or_default();
            match seen.iter().position(|l| *l == list) {
                Some(i) => i,
                None => {
                    seen.push(list);
                    seen.len() - 1
                }
            }
        })
        .collect()
}

/// The CPU the calling thread runs on.
fn this_cpu() -> usize {
    // SAFETY: sched_getcpu has no preconditions; -1 (error) maps to 0.
    unsafe { libc::sched_getcpu() }.max(0) as usize
}

/// Writes (a stamp of 0) or reads the stamp of a ping-pong turn; false
/// once the other end is closed.
fn bounce(fd: i32, write: bool) -> bool {
    bounce_stamp(fd, write.then_some(0)).is_some()
}

/// Writes `stamp` to the pipe end `fd` (`Some`) or reads one (`None`): the
/// value read, or the one written; `None` once the pipe is closed or fails.
fn bounce_stamp(fd: i32, stamp: Option<u64>) -> Option<u64> {
    let mut b = stamp.unwrap_or(0).to_ne_bytes();
    // SAFETY: `fd` is an open pipe end owned by this probe; `b` is a valid
    // buffer of `b.len()` bytes for the call. Writes of 8 bytes to a pipe
    // are atomic (under PIPE_BUF), so reads see whole stamps.
    let n = unsafe {
        if stamp.is_some() {
            libc::write(fd, b.as_ptr().cast(), b.len())
        } else {
            libc::read(fd, b.as_mut_ptr().cast(), b.len())
        }
    };
    (n == b.len() as isize).then(|| u64::from_ne_bytes(b))
}

/// A pipe's (read, write) ends.
fn pipe() -> Result<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        bail!("pipe: {}", std::io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// A communicating pair beside CPU hogs; see the module's usage.
fn pingpong(args: &[String]) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    let secs: u64 = arg(args, "--secs", 10)?;
    let hogs: usize = arg(args, "--hogs", 0)?;
    let work_us: u64 = arg(args, "--work-us", 10)?;
    let linger_us: u64 = arg(args, "--linger-us", 0)?;
    if secs == 0 || hogs > 1024 || work_us > 100_000 || linger_us > 1_000_000 {
        bail!(
            "--secs must be positive, --hogs at most 1024, --work-us at most 100000, \
             --linger-us at most 1000000"
        );
    }
    let llc = llc_ids();
    let stop = Arc::new(AtomicBool::new(false));
    // Last CPU of: the pair's two threads, then each hog.
    let cpus: Arc<Vec<AtomicUsize>> =
        Arc::new((0..2 + hogs).map(|_| AtomicUsize::new(0)).collect());
    let rounds = Arc::new(AtomicU64::new(0));
    let waits = Arc::new(AtomicHistogram::new());
    let ((a_read, b_write), (b_read, a_write)) = (pipe()?, pipe()?);
    let mut handles = Vec::new();
    {
        let (stop, cpus, rounds) = (stop.clone(), cpus.clone(), rounds.clone());
        handles.push(std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                spin_for(work_us * 1000);
                // A waker that goes on running after its wake-up (linger).
                if bounce_stamp(a_write, Some(now_ns())).is_none() {
                    break;
                }
                spin_for(linger_us * 1000);
                if !bounce(a_read, false) {
                    break;
                }
                cpus[0].store(this_cpu(), Relaxed);
                rounds.fetch_add(1, Relaxed);
            }
            // SAFETY: this thread's write end, closed once: the peer's read
            // then returns 0 and it ends too.
            unsafe { libc::close(a_write) };
        }));
    }
    {
        let (cpus, waits) = (cpus.clone(), waits.clone());
        handles.push(std::thread::spawn(move || {
            while let Some(stamp) = bounce_stamp(b_read, None) {
                // From the peer's write to this thread running again.
                waits.record(now_ns().saturating_sub(stamp));
                cpus[1].store(this_cpu(), Relaxed);
                spin_for(work_us * 1000);
                if !bounce(b_write, true) {
                    break;
                }
            }
            // SAFETY: this thread's write end, closed once.
            unsafe { libc::close(b_write) };
        }));
    }
    for h in 0..hogs {
        let (stop, cpus) = (stop.clone(), cpus.clone());
        handles.push(std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                cpus[2 + h].store(this_cpu(), Relaxed);
                spin_for(100_000);
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    let r0 = rounds.load(Relaxed);
    let (mut samples, mut same_llc, mut same_cpu, mut hogs_apart) = (0u64, 0u64, 0u64, 0u64);
    let llc_of = |c: usize| llc.get(c).copied().unwrap_or(0);
    for _ in 0..secs * 4 {
        std::thread::sleep(Duration::from_millis(250));
        let (a, b) = (cpus[0].load(Relaxed), cpus[1].load(Relaxed));
        samples += 1;
        same_llc += u64::from(llc_of(a) == llc_of(b));
        same_cpu += u64::from(a == b);
        if hogs >= 2 {
            hogs_apart += u64::from(llc_of(cpus[2].load(Relaxed)) != llc_of(cpus[3].load(Relaxed)));
        }
    }
    let done = rounds.load(Relaxed) - r0;
    stop.store(true, Relaxed);
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("a pingpong thread panicked"))?;
    }
    // SAFETY: the read ends, closed once, after both threads ended.
    unsafe {
        libc::close(a_read);
        libc::close(b_read);
    }
    let pct = |n: u64| n * 100 / samples.max(1);
    let nr_llc = llc.iter().max().map_or(1, |m| m + 1);
    let w = waits.snapshot();
    let us = |q: f64| w.percentile(q) as f64 / 1000.0;
    println!(
        "PINGPONG llcs={nr_llc} samples={samples} same_llc_pct={} same_cpu_pct={} \
         hogs_apart_pct={} rounds={done} rounds_per_s={} wake_p50_us={:.1} wake_p99_us={:.1} \
         wake_max_us={:.1}",
        pct(same_llc),
        pct(same_cpu),
        if hogs >= 2 { pct(hogs_apart).to_string() } else { "-".into() },
        done / secs,
        us(50.0),
        us(99.0),
        w.max() as f64 / 1000.0
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ext") => ext(&args[1..]),
        Some("periodic") => periodic(&args[1..]),
        Some("burst") => burst(&args[1..]),
        Some("hogs") => hogs(&args[1..]),
        Some("classflip") => classflip(&args[1..]),
        Some("statsock") => statsock(&args[1..]),
        Some("pingpong") => pingpong(&args[1..]),
        _ => bail!("usage: usched-probe {{ext CMD [ARGS...] | burst [--threads N] [--spin-ms M] | periodic [--threads N] [--period-us P] [--work-us W] [--secs S] [--label L] | hogs --spec 0,19,idle [--secs S] [--pin CPU] | classflip [--hogs N] [--rounds R] [--ext] | statsock [--socket PATH] [--clients N] [--request-bytes B] | pingpong [--secs S] [--hogs H] [--work-us W] [--linger-us L]}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::fair_shares;

    #[test]
    fn shares_follow_weights_below_the_cap() {
        let s = fair_shares(20.0, &[1024, 1024, 1024, 1024, 15, 3], 10.0);
        let wsum = (4 * 1024 + 15 + 3) as f64;
        assert!((s[0] - 20.0 * 1024.0 / wsum).abs() < 1e-9);
        assert!((s[5] - 20.0 * 3.0 / wsum).abs() < 1e-9);
    }

    #[test]
    fn a_hog_gets_at_most_one_cpu() {
        // Six hogs on eight CPUs: each its own CPU, whatever its weight.
        let s = fair_shares(6.0, &[1024, 1024, 1024, 1024, 15, 3], 1.0);
        assert!(s.iter().all(|&x| (x - 1.0).abs() < 1e-9), "{s:?}");
        // Heavy hogs capped, the rest shared by weight among the light ones.
        let s = fair_shares(3.0, &[1024, 1024, 2, 2], 1.0);
        assert_eq!(&s[..2], &[1.0, 1.0]);
        assert!((s[2] - 0.5).abs() < 1e-9 && (s[3] - 0.5).abs() < 1e-9, "{s:?}");
    }
}
