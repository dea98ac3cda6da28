// SPDX-License-Identifier: GPL-2.0-only
//! usched-sim: run scheduling policies on a simulated machine, or replay a
//! trace recorded by `scx_usched --record`.
//!
//! usched-sim run --cpus 64 --topology smt2 --workload audio=8,game=4,hogs=128 \
//!     --policy deadline --seconds 10 --seed 1 [--json] [--svg FILE]
//! usched-sim replay FILE --policy usched [--cpus N] [--topology T]
//!
//! `--policy` takes a comma list (`eevdf,usched`): each runs the same
//! workload with the same seed, and the outputs follow one another (JSON:
//! an array).
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use usched_sim::machine::Costs;
use usched_sim::model::{DispatcherMode, Rules};
use usched_sim::replay::Trace;
use usched_sim::report::{svg, Report};
use usched_sim::topology::Topology;
use usched_sim::{simulate, PolicyChoice, RunConfig};

#[derive(Parser)]
#[command(
    name = "usched-sim",
    version,
    about = "Deterministic simulator for usched scheduling policies"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulate a workload.
    Run {
        /// CPUs of the simulated machine (default: as many as --topology
        /// names; 2 for flat and smt2, which name no count).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
        cpus: Option<u64>,
        /// The workload (usched_sim::workload::GRAMMAR), e.g. audio=8,game=4,hogs=128.
        #[arg(long)]
        workload: String,
        /// Simulated seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[command(flatten)]
        common: Common,
    },
    /// Replay a trace written by `scx_usched --record FILE`.
    Replay {
        /// The trace file.
        file: std::path::PathBuf,
        /// CPUs of the simulated machine (default: the recording machine's).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
        cpus: Option<u64>,
        /// Simulated seconds (default: the trace's span).
        #[arg(long)]
        seconds: Option<f64>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
struct Common {
    /// flat, smt2, the VM's smt4, smt8, llc4, llc8, numa4, numa8, or qemu's
    /// sockets=S[,dies=D],cores=K[,threads=T][,nodes=N] (an LLC per socket).
    #[arg(long, default_value = "flat")]
    topology: String,
    /// Comma list of eevdf, fifo, deadline, usched.
    #[arg(long, default_value = "eevdf,usched")]
    policy: String,
    /// Seed of every random choice: the same seed gives the same output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// BPF rules of the framework models: all, none, or a list such as
    /// -fast-wakeup,resume (default: all for usched, none for fifo and deadline).
    #[arg(long)]
    rules: Option<String>,
    /// How the dispatcher waits: adaptive or busy (a reserved CPU).
    #[arg(long, default_value = "adaptive")]
    dispatcher: String,
    /// Cost model: tcg (the project's VM) or hw.
    #[arg(long, default_value = "tcg")]
    costs: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Write an SVG plot of the periodic workloads' lateness CDFs here.
    #[arg(long)]
    svg: Option<std::path::PathBuf>,
    /// Print the wall time each run took on stderr.
    #[arg(long)]
    timing: bool,
}

fn policies(common: &Common) -> Result<Vec<(PolicyChoice, Option<Rules>)>, String> {
    common
        .policy
        .split(',')
        .map(|p| {
            let choice = PolicyChoice::parse(p).map_err(|e| e.0)?;
            let rules = match &common.rules {
                Some(r) if choice != PolicyChoice::Eevdf => {
                    Some(Rules::parse(r, choice.default_rules())?)
                }
                _ => None,
            };
            Ok((choice, rules))
        })
        .collect()
}

fn configure(cfg: &mut RunConfig, common: &Common) -> Result<(), String> {
    (cfg.costs, cfg.costs_name) = match common.costs.as_str() {
        "tcg" => (Costs::TCG, "tcg".into()),
        "hw" => (Costs::HW, "hw".into()),
        c => return Err(format!("unknown cost model '{c}' (tcg, hw)")),
    };
    cfg.dispatcher = match common.dispatcher.as_str() {
        "adaptive" => DispatcherMode::Adaptive,
        "busy" if cfg.topology.nr_cpus() >= 2 => DispatcherMode::Busy,
        "busy" => return Err("--dispatcher busy needs at least 2 CPUs".into()),
        d => return Err(format!("unknown dispatcher mode '{d}' (adaptive, busy)")),
    };
    Ok(())
}

fn run(cli: Cli) -> Result<(), String> {
    let (mut cfg, common, note) = match cli.cmd {
        Cmd::Run { cpus, workload, seconds, common } => {
            // A bad description is reported by RunConfig::new below.
            let cpus = cpus.map_or_else(
                || Topology::parse(&common.topology, None).map_or(2, |t| t.nr_cpus()),
                |c| c as usize,
            );
            let cfg = RunConfig::new(&workload, cpus, &common.topology, seconds, common.seed)
                .map_err(|e| e.0)?;
            (cfg, common, None)
        }
        Cmd::Replay { file, cpus, seconds, common } => {
            let f = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let trace = Trace::read(std::io::BufReader::new(f))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let (tasks, span) = trace.workload().map_err(|e| format!("{}: {e}", file.display()))?;
            let cpus = cpus.map_or(trace.header.nr_cpus.max(1) as usize, |c| c as usize);
            let topo = Topology::parse(&common.topology, Some(cpus)).map_err(|e| e.0)?;
            let seconds = seconds.unwrap_or((span as f64 / 1e9).max(0.001));
            let rec = trace.recorded_enq_dispatch();
            let (enq, dec) = trace.counts();
            let (wakes, runs, stops) = trace.run_counts();
            let (enq_run, without) = trace.recorded_enq_run();
            let ran = if runs > 0 {
                format!(
                    "; recorded enq->run p50 {:.1} us, p99 {:.1} us ({without} runs without the policy)",
                    enq_run.percentile(50.0) as f64 / 1000.0,
                    enq_run.percentile(99.0) as f64 / 1000.0,
                )
            } else {
                String::new()
            };
            let note = format!(
                "trace {}: {} records ({enq} enqueued, {dec} decisions, {wakes} wakes, {runs} runs, {stops} stops), {} tasks (bursts from {}), {:.3} s, {} records lost while recording{}; recorded enq->dispatch p50 {:.1} us, p99 {:.1} us{ran}",
                file.display(),
                trace.records.len(),
                tasks.len(),
                if trace.replays_runs() { "wake-ups" } else { "enqueues" },
                span as f64 / 1e9,
                trace.lost(),
                if trace.truncated > 0 { format!(", last record cut ({} bytes)", trace.truncated) } else { String::new() },
                rec.percentile(50.0) as f64 / 1000.0,
                rec.percentile(99.0) as f64 / 1000.0,
            );
            let cfg = RunConfig::with_tasks(
                topo,
                &common.topology,
                tasks,
                &file.display().to_string(),
                seconds,
                common.seed,
            )
            .map_err(|e| e.0)?;
            (cfg, common, Some(note))
        }
    };
    configure(&mut cfg, &common)?;
    let mut reports: Vec<Report> = Vec::new();
    for (choice, rules) in policies(&common)? {
        let t0 = std::time::Instant::now();
        let r = simulate(&cfg, choice, rules);
        if common.timing {
            eprintln!(
                "{}: {:.2} s wall, {} events",
                choice.name(),
                t0.elapsed().as_secs_f64(),
                r.events
            );
        }
        reports.push(r);
    }
    if common.json {
        let v = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])
        } else {
            serde_json::to_string_pretty(&reports)
        };
        println!("{}", v.map_err(|e| e.to_string())?);
    } else {
        if let Some(n) = note {
            println!("{n}");
        }
        for r in &reports {
            print!("{}", r.table());
        }
    }
    if let Some(path) = &common.svg {
        std::fs::write(path, svg(&reports)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Large policies are built on the stack before they are boxed.
    let worker = std::thread::Builder::new().stack_size(256 << 20).spawn(move || run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(Ok(()))) => ExitCode::SUCCESS,
        Ok(Ok(Err(e))) => {
            eprintln!("usched-sim: {e}");
            ExitCode::from(2)
        }
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("usched-sim: cannot start the simulation thread: {e}");
            ExitCode::FAILURE
        }
    }
}
