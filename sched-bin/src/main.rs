// SPDX-License-Identifier: GPL-2.0-only
//! scx_usched: a low-latency sched_ext scheduler whose policy runs in user
//! space on usched. See docs/tuning.md for the knobs and docs/architecture.md
//! for how a task travels.
//!
//! The policy is usched-core's `Deadline` (weighted vruntime, sleepers'
//! credit capped at one slice, deadline = vruntime + weighted runtime since
//! the task last slept, slices that shrink as the queue grows) with wake-up
//! preemption: a task that wakes after running less than the minimum slice
//! preempts the CPU it is sent to, instead of waiting for the 4 ms tick.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use usched::runtime::{self, RuntimeCounters};
use usched::usched_core::policy::{Deadline, DeadlineConfig, Policy};
use usched::{BpfScheduler, Config, LibbpfOptions, OpenObject, PollMode, UserExitInfo};

mod compare;
mod fault;
mod latency;
mod mode;
mod record;
mod stats;
mod stats_server;

use fault::{Fault, Faulty};
use mode::Mode;
use record::{Recorder, Recording};

/// Where the statistics server listens (scx_stats' default path, named so
/// that its mode can be set).
const STATS_SOCKET: &str = "/var/run/scx/root/stats";

/// Tasks the policy can hold at once; more go to any CPU directly (counted).
const MAX_QUEUED: usize = 8192;

#[derive(Debug, Parser)]
#[command(
    name = "scx_usched",
    version,
    about = "Low-latency sched_ext scheduler with its policy in user space"
)]
struct Opts {
    /// Preset for the poll mode, slice, spin and fast wake-up threshold
    /// (docs/tuning.md); a flag given explicitly wins over it.
    #[arg(short = 'm', long, value_enum, default_value_t = Mode::Auto)]
    mode: Mode,

    /// Longest time slice, µs (what a nice-0 task gets when nothing waits).
    /// Default: from --mode (auto: 5000).
    #[arg(short = 's', long,
          value_parser = clap::value_parser!(u64).range(
              Config::SLICE_MIN.as_micros() as u64..=Config::SLICE_MAX.as_micros() as u64))]
    slice_us: Option<u64>,

    /// Shortest time slice, µs, however long the queue.
    #[arg(short = 'S', long, default_value_t = DeadlineConfig::default().slice_min_ns / 1000,
          value_parser = clap::value_parser!(u64).range(
              DeadlineConfig::SLICE_NS_MIN / 1000..=DeadlineConfig::SLICE_NS_MAX / 1000))]
    slice_us_min: u64,

    /// Schedule only tasks switched to SCHED_EXT.
    #[arg(short = 'p', long)]
    partial: bool,

    /// More log output.
    #[arg(short = 'v', long)]
    verbose: bool,

    /// Trace every decision the BPF side inserts (pid, CPU asked and
    /// given, slice, key) to /sys/kernel/tracing/trace_pipe. Costly.
    #[arg(short = 'd', long)]
    debug: bool,

    /// Print statistics every SECS seconds while running.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    stats: Option<f64>,

    /// Print the statistics of the running scheduler every SECS seconds; loads nothing.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    monitor: Option<f64>,

    /// Describe every statistic and exit.
    #[arg(long)]
    help_stats: bool,

    /// Try it safely: run a latency probe (audio-like and game-like
    /// periodic threads) for SECS under the kernel's scheduler, then for
    /// SECS with scx_usched attached (with the other options given), print
    /// one before/after table and exit. Needs root.
    #[arg(long, value_name = "SECS", value_parser = parse_secs,
          conflicts_with_all = ["monitor", "help_stats", "run_secs", "record"])]
    compare: Option<f64>,

    /// Size of the exit dump buffer (0 = kernel default).
    #[arg(long, default_value_t = 0)]
    exit_dump_len: u32,

    /// CPU the dispatcher thread is pinned to (busy mode: reserved for it).
    #[arg(long, value_name = "CPU")]
    dispatcher_cpu: Option<usize>,

    /// How the dispatcher waits for work: busy, adaptive or blocking.
    /// Default: from --mode (auto: adaptive).
    #[arg(long, value_parser = parse_poll)]
    poll: Option<PollMode>,

    /// Adaptive mode: spin this long after the last event before sleeping, µs
    /// (only while some CPU is idle). Default: from --mode (auto: 200).
    #[arg(long,
          value_parser = clap::value_parser!(u64).range(0..=Config::SPIN_MAX.as_micros() as u64))]
    spin_us: Option<u64>,

    /// Send waking tasks straight to an idle CPU, bypassing the policy.
    #[arg(long)]
    builtin_idle: bool,

    /// Send every sync wake-up (message passing) through the policy. By
    /// default one takes the waker's CPU at once when no task waits
    /// anywhere.
    #[arg(long)]
    no_sync_handoff: bool,

    /// CPUs a fast waker (audio, a frame loop) goes to when one of them
    /// idles, best first (whole idle cores first), as ids and ranges, e.g.
    /// `0-7,16-23` for a cache-rich CCD; `none` for no preference. Default:
    /// a hybrid machine's biggest cores (the kernel's CPU capacities, or
    /// its list of efficient cores), none where the CPUs are alike.
    #[arg(long, value_name = "LIST|none", value_parser = parse_cpu_list)]
    fast_cpus: Option<CpuList>,

    /// Fast wake-up threshold, µs: a task woken by a timer or an interrupt
    /// whose bursts average less than this (and whose sleeps average at
    /// least twice its bursts, or as long once it qualified) is dispatched by the BPF side at once, to an
    /// idle CPU or cutting in on a long-running task. 0 = off. A burst is
    /// wall time on the CPU, wake-up and going to sleep included.
    /// Default: from --mode (auto: 5000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    fast_wakeup_us: Option<u64>,

    /// Set CPU performance targets (scx_bpf_cpuperf_set, turned into
    /// frequencies by the schedutil governor): latency-critical tasks (fast
    /// wakers) run at full speed, each CPU otherwise at what its
    /// utilisation asks for. Default: from --mode (on in powersave).
    #[arg(long)]
    cpufreq: bool,

    /// Pack work onto fewer cores: idle CPUs on partly busy cores (beside a
    /// busy SMT sibling) take work before wholly idle cores, which stay
    /// idle. Saves power, costs throughput. Default: from --mode (on in
    /// powersave).
    #[arg(long)]
    pack: bool,

    /// Do not lock the scheduler's memory (mlockall).
    #[arg(long)]
    no_mlock: bool,

    /// Size of the ring buffer carrying runnable tasks to user space, KiB
    /// (a power of two; when full, tasks bypass user space: "congested").
    #[arg(long, default_value_t = Config::RING_BYTES_DEFAULT / 1024,
          value_parser = clap::value_parser!(u32).range(
              (Config::RING_BYTES_MIN / 1024) as i64..=(Config::RING_BYTES_MAX / 1024) as i64))]
    ring_kib: u32,

    /// sched_ext watchdog, ms: a task left runnable this long ejects the
    /// scheduler. The starvation guard moves a task ahead after a tenth of it.
    #[arg(long, default_value_t = Config::WATCHDOG_DEFAULT.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(
              Config::WATCHDOG_MIN.as_millis() as u64..=Config::WATCHDOG_MAX.as_millis() as u64))]
    watchdog_ms: u64,

    /// Stop after this many seconds (0 = run until interrupted).
    #[arg(long, default_value_t = 0)]
    run_secs: u64,

    /// Record what the policy sees and decides, and every task's runs and
    /// stops on each CPU, into FILE, for `usched-sim replay FILE`
    /// (docs/simulator.md). Bounded memory; a full buffer drops records and
    /// counts them in the file.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,

    /// Largest --record file, MiB; past it records are counted, not written.
    /// Wake, run and stop records take at most half of it.
    #[arg(long, default_value_t = 1024, value_name = "MIB",
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    record_limit_mib: u64,

    /// libbpf: a kernel config file (CONFIG_X=y lines) for the BPF
    /// object's CONFIG_* externs, where /proc/config.gz is missing.
    #[arg(long, value_name = "FILE")]
    kconfig: Option<std::path::PathBuf>,

    /// libbpf: a BTF file for CO-RE relocations instead of
    /// /sys/kernel/btf/vmlinux.
    #[arg(long, value_name = "FILE")]
    btf_custom_path: Option<std::path::PathBuf>,

    /// libbpf: where maps with a pinning attribute are pinned (default
    /// /sys/fs/bpf).
    #[arg(long, value_name = "DIR")]
    pin_root_path: Option<std::path::PathBuf>,

    /// libbpf: the BPF FS mount point to derive a BPF token from.
    #[arg(long, value_name = "DIR")]
    bpf_token_path: Option<std::path::PathBuf>,

    /// libbpf: parse map definitions leniently (unknown attributes).
    #[arg(long)]
    relaxed_maps: bool,

    /// Test hook: the policy panics or hangs (panic, hang) after
    /// --inject-after-ms, to check that scx_usched then detaches and exits.
    #[arg(long, hide = true)]
    inject_fault: Option<Fault>,

    /// Test hook: when --inject-fault strikes, ms after attaching.
    #[arg(long, hide = true, default_value_t = 2000)]
    inject_after_ms: u64,
}

/// The version `--version` prints: the crate's, the commit it was built
/// from (`g<sha>`, when built in a checkout) and the target
/// (scx_utils' build id), e.g. `0.1.0-g1b99489 x86_64-unknown-linux-gnu`.
fn version() -> String {
    let rev = env!("USCHED_GIT_REV");
    let semver = if rev.is_empty() {
        env!("CARGO_PKG_VERSION").to_string()
    } else {
        format!("{}-g{rev}", env!("CARGO_PKG_VERSION"))
    };
    scx_utils::build_id::full_version(&semver)
}

/// Parses the command line with [`version`] as `--version`'s answer.
fn parse_opts() -> Result<Opts> {
    use clap::{CommandFactory, FromArgMatches};
    // Leaked once: clap keeps a `&'static str` for the version.
    let version: &'static str = Box::leak(version().into_boxed_str());
    let matches = Opts::command().version(version).get_matches();
    Opts::from_arg_matches(&matches).map_err(|e| e.exit())
}

fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if v > 0.0 && v <= 3600.0 {
        Ok(v)
    } else {
        Err(format!("{v} is outside (0, 3600] seconds"))
    }
}

fn parse_poll(s: &str) -> Result<PollMode, String> {
    s.parse().map_err(|e: usched::Error| e.to_string())
}

/// One life of the scheduler, on the calling (dispatcher) thread.
/// Returns whether it should be restarted.
fn run_once(
    cfg: &Config,
    dcfg: DeadlineConfig,
    counters: Arc<RuntimeCounters>,
    inject: Option<(Fault, Duration)>,
    rec: Option<&mut Recorder>,
    wanted_cpu: Option<usize>,
) -> Result<bool> {
    let mut open_object = std::mem::MaybeUninit::<OpenObject>::uninit();
    let mut sched = BpfScheduler::with_config(&mut open_object, cfg)?;
    log::info!("scx_usched attached (poll={}, dispatcher CPU {:?})", cfg.poll, cfg.dispatcher_cpu);
    // A hotplug restart that ran while the dispatcher's CPU was away pinned
    // it elsewhere. If that CPU came back while this life was loading, its
    // online event fell between two lives and asks for no restart: ask for
    // one here, so that the next life pins the dispatcher there again (the
    // hotplug scenario found it pinned to the wrong CPU after the cycles).
    if let Some(w) = wanted_cpu {
        if cfg.dispatcher_cpu != Some(w) && usched::procfs::online_cpu_ids().contains(&w) {
            log::warn!("CPU {w} is online again: restarting to pin the dispatcher there");
            sched.shutdown()?;
            return Ok(true);
        }
    }
    // --record: this life's wake, run and stop events too, read by the writer
    // until the guard ends the life's share.
    let runs = match rec.as_deref().map(|r| sched.run_events().map(|ev| r.attach_runs(ev))) {
        Some(Err(e)) => {
            log::warn!("--record: no wake, run and stop events: {e}");
            None
        }
        g => g.and_then(Result::ok),
    };
    // Allocated once, before the loop; the loop allocates nothing.
    let mut policy = Box::new(Deadline::<MAX_QUEUED>::new(dcfg));
    // The --cpufreq governor samples the CPUs on its own thread; a failure
    // there (or in making it) stops governing, not scheduling.
    let governor = match cfg.cpufreq.then(|| sched.cpufreq_governor()) {
        Some(Err(e)) => {
            log::warn!("no --cpufreq governor: {e}");
            None
        }
        g => g.and_then(Result::ok),
    };
    let stop = AtomicBool::new(false);
    let pinned = cfg.dispatcher_cpu.is_some();
    let uei = std::thread::scope(|s| {
        let stop = &stop;
        let gov = governor.map(|g| {
            std::thread::Builder::new().name("usched-cpufreq".into()).spawn_scoped(s, move || {
                // Not on the dispatcher's CPU (pin_dispatcher() pinned this
                // thread's parent there): where the process may run. (Not
                // from the affinity: a process its user pinned stays so.)
                if pinned {
                    if let Err(e) = usched::thread::unpin_current_thread() {
                        log::warn!("the --cpufreq governor stays on the dispatcher's CPU: {e}");
                    }
                }
                g.run(stop)
            })
        });
        let uei = match inject {
            None => run_policy(&mut sched, policy.as_mut(), rec, counters),
            Some((fault, after)) => {
                let mut faulty = Faulty::new(policy.as_mut(), fault, after);
                run_policy(&mut sched, &mut faulty, rec, counters)
            }
        };
        stop.store(true, Ordering::Relaxed);
        match gov.map(|g| g.map(|h| h.join())) {
            Some(Err(e)) => log::warn!("no --cpufreq governor: {e}"),
            Some(Ok(Ok(Err(e)))) => log::warn!("the --cpufreq governor stopped: {e}"),
            Some(Ok(Err(_))) => log::warn!("the --cpufreq governor panicked"),
            _ => {}
        }
        uei
    })?;
    // Detached: the BPF side's count of lost run events is final.
    if let Some(r) = runs {
        r.end(sched.run_events_lost());
    }
    Ok(uei.should_restart())
}

/// Runs `policy`, recorded into `rec` if given (`--record`).
fn run_policy<P: Policy>(
    sched: &mut BpfScheduler<'_>,
    policy: &mut P,
    rec: Option<&mut Recorder>,
    counters: Arc<RuntimeCounters>,
) -> Result<UserExitInfo> {
    Ok(match rec {
        Some(r) => runtime::run(sched, &mut Recording::new(policy, r), Some(counters))?,
        None => runtime::run(sched, policy, Some(counters))?,
    })
}

/// Pins the calling thread to `cpu`, or, while a hotplug operation makes
/// that fail (the CPU is offline, or leaving: still listed online but no
/// longer active), to another online CPU, trying for up to 5 s. Returns the
/// CPU it is pinned to; `None` leaves it unpinned for this life.
fn pin_dispatcher(cpu: usize) -> Option<usize> {
    for _ in 0..50 {
        if usched::thread::pin_current_thread(cpu).is_ok() {
            return Some(cpu);
        }
        let online = usched::procfs::online_cpu_ids();
        if let Some(&c) =
            online.iter().rev().find(|&&c| usched::thread::pin_current_thread(c).is_ok())
        {
            return Some(c);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// A `--fast-cpus` value: CPU ids in the order given (`none`: empty).
#[derive(Debug, Clone)]
struct CpuList(Vec<usize>);

/// `none`, or CPU ids and ranges as sysfs writes them (`0-7,16-23`), in the
/// order given; at most [`CPU_LIST_MAX`] ids in all (`Config` then rejects
/// ids the machine lacks, and repeats).
fn parse_cpu_list(s: &str) -> std::result::Result<CpuList, String> {
    if s == "none" {
        return Ok(CpuList(Vec::new()));
    }
    let mut out = Vec::new();
    for item in s.split(',') {
        let bad = || format!("'{item}' is not a CPU id or range (e.g. 3 or 0-7)");
        let id = |c: &str| c.trim().parse::<usize>().map_err(|_| bad());
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (id(a)?, id(b)?),
            None => (id(item)?, id(item)?),
        };
        if a > b {
            return Err(bad());
        }
        if b - a >= CPU_LIST_MAX || out.len() + (b - a + 1) > CPU_LIST_MAX {
            return Err(format!("more than {CPU_LIST_MAX} CPU ids"));
        }
        out.extend(a..=b);
    }
    Ok(CpuList(out))
}

/// The most CPU ids a CPU list may name (the kernel's `NR_CPUS` limit).
const CPU_LIST_MAX: usize = 8192;

fn main() -> Result<()> {
    let opts = parse_opts()?;
    if opts.help_stats {
        stats::describe(&mut std::io::stdout())?;
        return Ok(());
    }
    let level = if opts.verbose { "debug" } else { "info" };
    simple_logger(level);
    if let Some(secs) = opts.compare {
        return compare::run(secs);
    }
    if let Some(secs) = opts.monitor {
        // A client of the running instance's stats server; loads nothing.
        usched::thread::install_exit_signal_handlers()?;
        return stats::monitor(Duration::from_secs_f64(secs));
    }
    let knobs = opts.mode.resolve(mode::Explicit {
        poll: opts.poll,
        slice_us: opts.slice_us,
        spin_us: opts.spin_us,
        fast_wakeup_us: opts.fast_wakeup_us,
        cpufreq: opts.cpufreq.then_some(true),
        pack: opts.pack.then_some(true),
    });
    if opts.slice_us_min > knobs.slice_us {
        bail!(
            "--slice-us-min ({}) must not exceed the slice ({} µs, from {})",
            opts.slice_us_min,
            knobs.slice_us,
            if opts.slice_us.is_some() {
                "--slice-us".to_string()
            } else {
                format!("--mode {}", opts.mode)
            }
        );
    }
    log::info!(
        "mode {}: poll={} slice={}us spin={}us fast-wakeup={}us cpufreq={} pack={}",
        opts.mode,
        knobs.poll,
        knobs.slice_us,
        knobs.spin_us,
        knobs.fast_wakeup_us,
        if knobs.cpufreq { "on" } else { "off" },
        if knobs.pack { "on" } else { "off" }
    );

    let nr_cpus = usched::procfs::online_cpus();
    let dispatcher_cpu = match (opts.dispatcher_cpu, knobs.poll) {
        (Some(c), _) => {
            if !usched::procfs::cpu_online(c) {
                bail!("dispatcher CPU {c} is not online (--dispatcher-cpu)");
            }
            Some(c)
        }
        // Busy polling takes a CPU: the last online one unless told otherwise.
        (None, PollMode::Busy) => Some(usched::procfs::last_online_cpu()),
        (None, _) => None,
    };
    let cfg = Config::default()
        .partial(opts.partial)
        .debug(opts.debug)
        .exit_dump_len(opts.exit_dump_len)
        .slice(Duration::from_micros(knobs.slice_us))
        .builtin_idle(opts.builtin_idle)
        .sync_handoff(!opts.no_sync_handoff)
        .dispatcher_cpu(dispatcher_cpu)
        .poll(knobs.poll)
        .spin(Duration::from_micros(knobs.spin_us))
        .ring_bytes(opts.ring_kib * 1024)
        .watchdog(Duration::from_millis(opts.watchdog_ms))
        .fast_wakeup(
            (knobs.fast_wakeup_us > 0).then(|| Duration::from_micros(knobs.fast_wakeup_us)),
        )
        .cpufreq(knobs.cpufreq)
        .pack(knobs.pack)
        .fast_cpus(opts.fast_cpus.clone().map(|l| l.0))
        .run_events(opts.record.is_some())
        .libbpf(LibbpfOptions {
            kconfig: opts.kconfig.clone(),
            btf_custom_path: opts.btf_custom_path.clone(),
            pin_root_path: opts.pin_root_path.clone(),
            bpf_token_path: opts.bpf_token_path.clone(),
            relaxed_maps: opts.relaxed_maps,
        });
    cfg.validate(*scx_utils::NR_CPU_IDS).context("invalid options")?;
    cfg.libbpf.check().context("invalid options")?;
    usched::sys::preflight()?;

    let dcfg = DeadlineConfig {
        slice_max_ns: knobs.slice_us * 1000,
        slice_min_ns: opts.slice_us_min * 1000,
        nr_cpus: nr_cpus as u32,
        // Ten slices of runtime since the last sleep count towards the
        // deadline, up to the policy's bound (1 s): said, not clamped
        // silently.
        max_exec_ns: (knobs.slice_us * 1000 * 10).min(DeadlineConfig::MAX_EXEC_NS),
        preempt_wakeups: true,
        // The policy's queue gets the bound the BPF side's starvation guard
        // keeps on its DSQs: no task waits past watchdog / USCHED_STARVE_DIV
        // in either before it goes first.
        max_wait_ns: cfg.starve_after().as_nanos() as u64,
    };
    dcfg.validate().map_err(|e| anyhow::anyhow!("invalid policy settings: {e}"))?;

    usched::thread::install_exit_signal_handlers()?;
    let _mlock = if opts.no_mlock { None } else { Some(usched::thread::lock_memory()?) };
    let counters = Arc::new(RuntimeCounters::default());
    // The stats server answers from its own thread, reading the BPF side's
    // counters directly: the dispatcher loop never waits on it.
    let launched = stats_server::launch(std::path::Path::new(STATS_SOCKET), counters.clone());
    let _stats_server = match launched {
        Ok(server) => Some(server),
        Err(e) if opts.stats.is_none() => {
            log::warn!("statistics server not started: {e:#}");
            None
        }
        Err(e) => return Err(e.context("starting the statistics server for --stats")),
    };

    let inject = opts.inject_fault.map(|f| (f, Duration::from_millis(opts.inject_after_ms)));
    let (mut recorder, record_writer) = match &opts.record {
        Some(path) => {
            let (r, w) =
                record::start(path, *scx_utils::NR_CPU_IDS as u32, opts.record_limit_mib << 20)?;
            (Some(r), Some(w))
        }
        None => (None, None),
    };
    let dispatcher = {
        let cfg = cfg.clone();
        let counters = counters.clone();
        std::thread::Builder::new().name("usched-dispatch".into()).stack_size(8 << 20).spawn(
            move || -> Result<()> {
                usched::thread::prefault_stack(1 << 20);
                // Lives in a row whose dispatcher could not be pinned
                // where asked: past 5, a life no longer restarts itself
                // to try again (a CPU online but never pinnable, e.g.
                // outside the process's cpuset, would loop forever).
                let mut misplaced = 0u32;
                loop {
                    // Pinned again in every life: a hotplug restart can
                    // leave the thread where the kernel moved it.
                    let mut cfg = cfg.clone();
                    let wanted = cfg.dispatcher_cpu;
                    if let Some(cpu) = wanted {
                        let pinned = pin_dispatcher(cpu);
                        if pinned != Some(cpu) {
                            log::warn!("cannot pin the dispatcher to CPU {cpu}; using {pinned:?}");
                            cfg = cfg.dispatcher_cpu(pinned);
                            misplaced += 1;
                        } else {
                            misplaced = 0;
                        }
                    }
                    let retry = wanted.filter(|_| misplaced <= 5);
                    let restart =
                        run_once(&cfg, dcfg, counters.clone(), inject, recorder.as_mut(), retry)?;
                    if !restart || usched::exit_requested() {
                        return Ok(());
                    }
                    log::warn!("the kernel asked for a restart; restarting");
                }
            },
        )?
    };

    let start = Instant::now();
    let _stats_printer = opts
        .stats
        .map(|secs| std::thread::spawn(move || stats::monitor(Duration::from_secs_f64(secs))));
    // A dispatcher that stops making rounds inside its loop (a policy that
    // hangs) is not waited for: the kernel's watchdog ejects the scheduler,
    // and after twice the watchdog and 5 s more this process exits non-zero
    // instead of spinning on. Loading (and reloading after a restart) is
    // outside the loop and not timed.
    let hung_after = cfg.watchdog * 2 + Duration::from_secs(5);
    let (mut rounds, mut moved) = (0, Instant::now());
    while !dispatcher.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
        if opts.run_secs > 0 && start.elapsed() >= Duration::from_secs(opts.run_secs) {
            usched::request_exit();
        }
        let now = counters.rounds.load(Ordering::Relaxed);
        if now != rounds {
            (rounds, moved) = (now, Instant::now());
        } else if !counters.in_loop.load(Ordering::Relaxed) {
            moved = Instant::now();
        } else if moved.elapsed() > hung_after {
            log::error!(
                "the dispatcher made no progress for {:.1}s (a hung policy?); exiting",
                moved.elapsed().as_secs_f64()
            );
            std::process::exit(1);
        }
    }
    let joined = dispatcher.join();
    if let (Some(w), Some(path)) = (record_writer, &opts.record) {
        let s = w.finish()?;
        println!(
            "scx_usched: recorded {} records to {} ({} lost)",
            s.written,
            path.display(),
            s.lost
        );
    }
    match joined {
        Ok(r) => r?,
        Err(_) => bail!("the dispatcher thread panicked"),
    }
    println!(
        "scx_usched: detached after {:.1}s (dispatcher rounds {}, policy overflows {}, policy entries replaced {}, dispatch retries {}, records lost {})",
        start.elapsed().as_secs_f64(),
        counters.rounds.load(Ordering::Relaxed),
        counters.policy_overflows.load(Ordering::Relaxed),
        counters.policy_replaced.load(Ordering::Relaxed),
        counters.dispatch_retries.load(Ordering::Relaxed),
        counters.records_lost.load(Ordering::Relaxed)
    );
    Ok(())
}

/// A minimal stderr logger (the `log` facade without another dependency).
fn simple_logger(level: &str) {
    struct L(log::LevelFilter);
    impl log::Log for L {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= self.0
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                eprintln!("{:5} {}", r.level(), r.args());
            }
        }
        fn flush(&self) {}
    }
    let f = if level == "debug" { log::LevelFilter::Debug } else { log::LevelFilter::Info };
    if log::set_boxed_logger(Box::new(L(f))).is_ok() {
        log::set_max_level(f);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn cpu_lists_take_ids_ranges_and_none_in_order() {
        let l = |s| parse_cpu_list(s).map(|l| l.0);
        assert_eq!(l("none"), Ok(vec![]));
        assert_eq!(l("3,1"), Ok(vec![3, 1]));
        assert_eq!(l("0-2,8-9"), Ok(vec![0, 1, 2, 8, 9]));
        let bad = |i: &str| Err(format!("'{i}' is not a CPU id or range (e.g. 3 or 0-7)"));
        assert_eq!(l("0,x"), bad("x"));
        assert_eq!(l("4-2"), bad("4-2"));
        assert_eq!(l("0,1-"), bad("1-"));
        assert_eq!(l("-1"), bad("-1"));
        assert_eq!(l(""), bad(""));
        assert_eq!(l("0-8191").map(|v| v.len()), Ok(8192));
        assert_eq!(l("0-8191,0"), Err("more than 8192 CPU ids".into()));
        assert_eq!(l("0-99999999999"), Err("more than 8192 CPU ids".into()));
    }

    /// The help's "(auto: N)" figures are `--mode auto`'s knobs.
    #[test]
    fn the_help_names_the_auto_modes_values() {
        use clap::CommandFactory;
        let k = super::Mode::Auto.knobs();
        let cmd = super::Opts::command();
        let help = |id: &str| {
            let a = cmd.get_arguments().find(|a| a.get_id() == id).expect(id);
            a.get_help().map(|h| h.to_string().replace('\n', " ")).unwrap_or_default()
        };
        let poll = k.poll.to_string();
        for (id, want) in [
            ("slice_us", format!("(auto: {})", k.slice_us)),
            ("spin_us", format!("(auto: {})", k.spin_us)),
            ("fast_wakeup_us", format!("(auto: {})", k.fast_wakeup_us)),
            ("poll", format!("(auto: {poll})")),
        ] {
            assert!(help(id).contains(&want), "--{id}'s help {:?} lacks {want}", help(id));
        }
    }
}
