// SPDX-License-Identifier: GPL-2.0-only
//! usched-sim: runs usched-core policies on a simulated machine of any size,
//! deterministically, without a kernel or root.
//!
//! A run is a [`Machine`] (CPUs with a topology, a tick,
//! timers, IPIs, switch costs), a workload ([`workload`]: the benchmark's
//! periodic threads, hogs, message pairs, fork bursts, or a replayed
//! trace), and a scheduler [`Model`]: the EEVDF-like
//! reference ([`model::Eevdf`]) or the usched framework
//! ([`model::Framework`]) driving any [`Policy`] with the BPF side's rules.
//! The same seed gives byte-identical output on every machine.
//!
//! ```
//! use usched_sim::{simulate, PolicyChoice, RunConfig};
//! let cfg = RunConfig::new("audio=2,hogs=4", 2, "flat", 0.2, 1).unwrap();
//! let report = simulate(&cfg, PolicyChoice::Usched, None);
//! assert!(report.workloads.iter().any(|w| w.label == "audio" && w.latency.as_ref().is_some_and(|l| l.count > 0)));
//! ```
//!
//! A policy of your own runs with [`simulate_policy`] (see
//! `examples/custom_policy.rs`).

pub mod machine;
pub mod model;
pub mod replay;
pub mod report;
pub mod rng;
pub mod topology;
pub mod workload;

use std::fmt;

use usched_core::policy::{Deadline, DeadlineConfig, Fifo, Policy};

use machine::{Costs, Machine, Model, Sim};
use model::{DispatcherMode, Eevdf, Framework, Rules};
use report::{Header, Report};
use topology::Topology;
use workload::TaskSpec;

/// Tasks the built-in policies hold at once in runs of up to this many
/// tasks (their queues live on the stack while they are built: this size
/// fits a test thread's).
pub const SMALL_CAPACITY: usize = 4096;
/// Tasks the built-in policies hold at once in larger runs (more are
/// refused and run in vtime order, counted as `policy_refused`). Building
/// a policy this large needs about 16 MiB of stack: `usched-sim` runs on a
/// thread with enough.
pub const LARGE_CAPACITY: usize = 1 << 17;

/// Tasks scx_usched's policy holds at once (its `MAX_QUEUED`).
pub const USCHED_CAPACITY: usize = 8192;

/// Longest simulated time, s.
pub const MAX_SECONDS: f64 = 3600.0;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The machine's CPUs.
    pub topology: Topology,
    /// Its description, for the report.
    pub topology_desc: String,
    /// The tasks.
    pub tasks: Vec<TaskSpec>,
    /// The workload's description, for the report.
    pub workload_desc: String,
    /// Simulated time, s.
    pub seconds: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// What the hardware costs.
    pub costs: Costs,
    /// The cost model's name.
    pub costs_name: String,
    /// How the framework's dispatcher waits.
    pub dispatcher: DispatcherMode,
}

/// A run that cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl RunConfig {
    /// `workload` on `cpus` CPUs laid out as `topology`, for `seconds`,
    /// with `seed`; TCG costs and an adaptive dispatcher.
    ///
    /// # Errors
    /// A bad topology or workload, or `seconds` outside `(0, MAX_SECONDS]`.
    pub fn new(
        workload: &str,
        cpus: usize,
        topology: &str,
        seconds: f64,
        seed: u64,
    ) -> Result<Self, ConfigError> {
        let topo = Topology::parse(topology, Some(cpus)).map_err(|e| ConfigError(e.0))?;
        let tasks = workload::parse(workload, cpus).map_err(|e| ConfigError(e.0))?;
        Self::with_tasks(topo, topology, tasks, workload, seconds, seed)
    }

    /// A run of `tasks` (e.g. from a trace) on `topo`.
    ///
    /// # Errors
    /// `seconds` outside `(0, MAX_SECONDS]`, or a task pinned to a CPU the
    /// machine does not have.
    pub fn with_tasks(
        topo: Topology,
        topology_desc: &str,
        tasks: Vec<TaskSpec>,
        workload_desc: &str,
        seconds: f64,
        seed: u64,
    ) -> Result<Self, ConfigError> {
        if !(seconds > 0.0 && seconds <= MAX_SECONDS) {
            return Err(ConfigError(format!(
                "--seconds must lie in (0, {MAX_SECONDS}], not {seconds}"
            )));
        }
        if let Some(t) = tasks.iter().find(|t| t.pinned.is_some_and(|c| c >= topo.nr_cpus())) {
            return Err(ConfigError(format!(
                "a task of '{}' is pinned to a CPU the machine does not have ({} CPUs)",
                t.label,
                topo.nr_cpus()
            )));
        }
        Ok(Self {
            topology: topo,
            topology_desc: topology_desc.to_string(),
            tasks,
            workload_desc: workload_desc.to_string(),
            seconds,
            seed,
            costs: Costs::TCG,
            costs_name: "tcg".into(),
            dispatcher: DispatcherMode::Adaptive,
        })
    }

    fn end_ns(&self) -> u64 {
        (self.seconds * 1e9) as u64
    }
}

/// The built-in schedulers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyChoice {
    /// The EEVDF-like reference, no user space.
    Eevdf,
    /// usched-core's `Fifo` through the framework, every rule off.
    Fifo,
    /// usched-core's `Deadline` through the framework, every rule off.
    Deadline,
    /// scx_usched: `Deadline` with its defaults and every rule on.
    Usched,
}

impl PolicyChoice {
    /// Reads `eevdf`, `fifo`, `deadline` or `usched`.
    ///
    /// # Errors
    /// Another name.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        match s {
            "eevdf" => Ok(Self::Eevdf),
            "fifo" => Ok(Self::Fifo),
            "deadline" => Ok(Self::Deadline),
            "usched" => Ok(Self::Usched),
            _ => Err(ConfigError(format!("unknown policy '{s}' (eevdf, fifo, deadline, usched)"))),
        }
    }

    /// The name [`parse`](Self::parse) reads.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Eevdf => "eevdf",
            Self::Fifo => "fifo",
            Self::Deadline => "deadline",
            Self::Usched => "usched",
        }
    }

    /// The BPF rules this policy runs with by default.
    pub const fn default_rules(self) -> Rules {
        match self {
            Self::Usched => Rules::ALL,
            _ => Rules::NONE,
        }
    }
}

/// scx_usched's slice, ns.
pub const USCHED_SLICE_NS: u64 = 5_000_000;

/// scx_usched's policy settings for `nr_cpus` CPUs (as `sched-bin` sets
/// them with default options: 5 ms slice, 10 slices of runtime in the
/// deadline, queue bound watchdog/10 = 500 ms).
pub fn usched_config(nr_cpus: usize) -> DeadlineConfig {
    DeadlineConfig {
        slice_max_ns: USCHED_SLICE_NS,
        slice_min_ns: DeadlineConfig::default().slice_min_ns,
        nr_cpus: nr_cpus as u32,
        max_exec_ns: 10 * USCHED_SLICE_NS,
        preempt_wakeups: true,
        max_wait_ns: 500_000_000,
    }
}

fn run_model(
    cfg: &RunConfig,
    name: &str,
    build: impl FnOnce(&mut Machine) -> Box<dyn Model>,
) -> Report {
    let mut sim =
        Sim::new(cfg.topology.clone(), cfg.costs, cfg.tasks.clone(), build, cfg.seed, cfg.end_ns());
    sim.run();
    let header = Header {
        policy: name.to_string(),
        topology: cfg.topology_desc.clone(),
        workload: cfg.workload_desc.clone(),
        costs: cfg.costs_name.clone(),
        seconds: cfg.seconds,
        seed: cfg.seed,
    };
    Report::new(&header, &sim.m, &sim.model.report(&sim.m))
}

/// Runs `cfg` under a built-in policy, with its default rules or `rules`.
pub fn simulate(cfg: &RunConfig, choice: PolicyChoice, rules: Option<Rules>) -> Report {
    if cfg.tasks.len() < SMALL_CAPACITY {
        simulate_sized::<SMALL_CAPACITY>(cfg, choice, rules)
    } else if choice == PolicyChoice::Usched {
        // scx_usched's own capacity: what it cannot hold goes to the
        // shared queue in vtime order, as there.
        simulate_sized::<USCHED_CAPACITY>(cfg, choice, rules)
    } else {
        simulate_sized::<LARGE_CAPACITY>(cfg, choice, rules)
    }
}

// Not inlined: each capacity's policy is built in its own frame, so a small
// run's stack never holds room for the large one.
#[inline(never)]
fn simulate_sized<const N: usize>(
    cfg: &RunConfig,
    choice: PolicyChoice,
    rules: Option<Rules>,
) -> Report {
    let rules = rules.unwrap_or(choice.default_rules());
    let n = cfg.topology.nr_cpus();
    let name = choice.name();
    match choice {
        PolicyChoice::Eevdf => run_model(cfg, name, |m| Box::new(Eevdf::new(m.tasks.len(), n))),
        PolicyChoice::Fifo => {
            simulate_policy(cfg, name, Box::new(Fifo::<N>::new(USCHED_SLICE_NS)), rules)
        }
        PolicyChoice::Deadline => {
            let dcfg = DeadlineConfig { nr_cpus: n as u32, ..DeadlineConfig::default() };
            simulate_policy(cfg, name, Box::new(Deadline::<N>::new(dcfg)), rules)
        }
        PolicyChoice::Usched => {
            simulate_policy(cfg, name, Box::new(Deadline::<N>::new(usched_config(n))), rules)
        }
    }
}

/// Runs `cfg` with `policy` (any [`Policy`], e.g. your own) in the usched
/// framework model with `rules`; the report calls it `name`.
pub fn simulate_policy<P: Policy + 'static>(
    cfg: &RunConfig,
    name: &str,
    policy: P,
    rules: Rules,
) -> Report {
    let mode = cfg.dispatcher;
    run_model(cfg, name, move |m| Box::new(Framework::new(m, policy, rules, mode, USCHED_SLICE_NS)))
}
