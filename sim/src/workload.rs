// SPDX-License-Identifier: GPL-2.0-only
//! Workloads as generators of simulated tasks: the benchmark's periodic
//! threads (audio-like, game-like, cyclictest-like), CPU hogs at any nice
//! level or SCHED_IDLE, hackbench-like message pairs, fork bursts, per-CPU
//! kernel threads, and tasks replayed from a recorded trace.

use std::fmt;

/// What a simulated task does, burst after burst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behavior {
    /// Sleeps until the next period (absolute clock), then works `work_ns`;
    /// a period whose work ends after the next period's start is a miss,
    /// and the periods it overran are skipped (as `usched-probe periodic`).
    Periodic {
        /// Period, ns.
        period_ns: u64,
        /// Work per period, ns of CPU time.
        work_ns: u64,
    },
    /// Never sleeps.
    Hog,
    /// One side of a message-passing pair: works `work_ns`, wakes its
    /// partner (a sync wake-up) and waits for the partner's answer.
    Message {
        /// The other task of the pair (an index into the task list).
        partner: usize,
        /// Work per message, ns.
        work_ns: u64,
    },
    /// Every `period_ns`, works `fork_ns` per child, then wakes each of its
    /// children that has finished its previous run (a fork burst).
    Spawner {
        /// Time between bursts, ns.
        period_ns: u64,
        /// Cost of one fork, ns.
        fork_ns: u64,
        /// The children (indexes into the task list).
        children: Vec<usize>,
    },
    /// A forked child: runs `work_ns` once per wake-up, then exits.
    Child {
        /// Work per run, ns.
        work_ns: u64,
    },
    /// Replays a recorded task: becomes runnable at each `(at_ns, work_ns)`
    /// (or as soon as its previous work is done, if later) and works.
    Replay {
        /// Wake-ups and work, in time order.
        segments: Vec<(u64, u64)>,
    },
    /// The user-space dispatcher of the usched framework model.
    Dispatcher,
}

/// A task to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// The workload it belongs to (its row in the report).
    pub label: String,
    /// What it does.
    pub behavior: Behavior,
    /// Nice level, -20..=19.
    pub nice: i32,
    /// SCHED_IDLE (the lightest weight; `nice` is then ignored).
    pub idle: bool,
    /// The one CPU it may run on, if pinned.
    pub pinned: Option<usize>,
    /// A kernel thread.
    pub kthread: bool,
}

impl TaskSpec {
    fn new(label: &str, behavior: Behavior) -> Self {
        Self {
            label: label.to_string(),
            behavior,
            nice: 0,
            idle: false,
            pinned: None,
            kthread: false,
        }
    }
}

/// A workload description that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadError(pub String);

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorkloadError {}

/// The workload grammar, for error messages and `--help`.
pub const GRAMMAR: &str =
    "comma-separated NAME=COUNT[:ARG...]: audio=N (1 ms period, 50 us work), \
game=N (60 Hz, 4 ms), cyclic=N (1 ms, 10 us, pinned round-robin), periodic=N:PERIOD_US:WORK_US, \
hogs=N[:NICE|:idle], hackbench=GROUPS (10 message pairs each, 100 us per message), \
fork=N (a spawner forking N children of 200 us every 10 ms), kworker=N (N per-CPU kernel threads \
per CPU, 20 us every 4 ms)";

/// Most tasks a workload may create.
pub const MAX_TASKS: usize = 1 << 20;

fn count(name: &str, v: &str) -> Result<usize, WorkloadError> {
    v.parse::<usize>().ok().filter(|&n| n <= MAX_TASKS).ok_or_else(|| {
        WorkloadError(format!("workload '{name}': '{v}' is not a count (0..={MAX_TASKS})"))
    })
}

fn micros(name: &str, v: &str) -> Result<u64, WorkloadError> {
    v.parse::<u64>()
        .ok()
        .filter(|&us| (1..=10_000_000).contains(&us))
        .map(|us| us * 1000)
        .ok_or_else(|| {
            WorkloadError(format!("workload '{name}': '{v}' is not a time in us (1..=10000000)"))
        })
}

/// Reads a workload description (see [`GRAMMAR`]) for a machine of
/// `nr_cpus` CPUs.
///
/// # Errors
/// An unknown name, a bad count or time, or more than [`MAX_TASKS`] tasks.
pub fn parse(desc: &str, nr_cpus: usize) -> Result<Vec<TaskSpec>, WorkloadError> {
    let mut tasks: Vec<TaskSpec> = Vec::new();
    for item in desc.split(',').filter(|s| !s.is_empty()) {
        let (name, rest) = item.split_once('=').ok_or_else(|| {
            WorkloadError(format!("workload item '{item}' is not NAME=COUNT ({GRAMMAR})"))
        })?;
        let mut args = rest.split(':');
        let n = count(name, args.next().unwrap_or(""))?;
        let extra: Vec<&str> = args.collect();
        let periodic = |tasks: &mut Vec<TaskSpec>, label: &str, p: u64, w: u64, pin: bool| {
            for i in 0..n {
                let mut t = TaskSpec::new(label, Behavior::Periodic { period_ns: p, work_ns: w });
                t.pinned = pin.then_some(i % nr_cpus);
                tasks.push(t);
            }
        };
        let no_args = |extra: &[&str]| {
            if extra.is_empty() {
                Ok(())
            } else {
                Err(WorkloadError(format!("workload '{name}' takes only a count")))
            }
        };
        match name {
            "audio" => {
                no_args(&extra)?;
                periodic(&mut tasks, name, 1_000_000, 50_000, false);
            }
            "game" => {
                no_args(&extra)?;
                periodic(&mut tasks, name, 16_667_000, 4_000_000, false);
            }
            "cyclic" => {
                no_args(&extra)?;
                periodic(&mut tasks, name, 1_000_000, 10_000, true);
            }
            "periodic" => {
                let [p, w] = extra[..] else {
                    return Err(WorkloadError(
                        "workload 'periodic' is periodic=N:PERIOD_US:WORK_US".into(),
                    ));
                };
                let (p, w) = (micros(name, p)?, micros(name, w)?);
                if w >= p {
                    return Err(WorkloadError(format!(
                        "workload 'periodic': work ({} us) must be shorter than the period ({} us)",
                        w / 1000,
                        p / 1000
                    )));
                }
                periodic(&mut tasks, name, p, w, false);
            }
            "hogs" => {
                let (mut nice, mut idle) = (0, false);
                match extra[..] {
                    [] => {}
                    ["idle"] => idle = true,
                    [v] => {
                        nice =
                            v.parse::<i32>().ok().filter(|n| (-20..=19).contains(n)).ok_or_else(
                                || {
                                    WorkloadError(format!(
                                        "workload 'hogs': nice '{v}' is not in -20..=19 or 'idle'"
                                    ))
                                },
                            )?;
                    }
                    _ => {
                        return Err(WorkloadError("workload 'hogs' is hogs=N[:NICE|:idle]".into()))
                    }
                }
                let label = match (idle, nice) {
                    (true, _) => "hogs-idle".to_string(),
                    (false, 0) => "hogs".to_string(),
                    (false, n) => format!("hogs-nice{n}"),
                };
                for _ in 0..n {
                    let mut t = TaskSpec::new(&label, Behavior::Hog);
                    t.nice = nice;
                    t.idle = idle;
                    tasks.push(t);
                }
            }
            "hackbench" => {
                no_args(&extra)?;
                for _ in 0..n * 10 {
                    let a = tasks.len();
                    tasks.push(TaskSpec::new(
                        name,
                        Behavior::Message { partner: a + 1, work_ns: 100_000 },
                    ));
                    tasks.push(TaskSpec::new(
                        name,
                        Behavior::Message { partner: a, work_ns: 100_000 },
                    ));
                }
            }
            "fork" => {
                no_args(&extra)?;
                let s = tasks.len();
                let children = (s + 1..s + 1 + n).collect();
                tasks.push(TaskSpec::new(
                    "fork-spawner",
                    Behavior::Spawner { period_ns: 10_000_000, fork_ns: 10_000, children },
                ));
                for _ in 0..n {
                    tasks.push(TaskSpec::new(name, Behavior::Child { work_ns: 200_000 }));
                }
            }
            "kworker" => {
                no_args(&extra)?;
                for i in 0..n * nr_cpus {
                    let mut t = TaskSpec::new(
                        name,
                        Behavior::Periodic { period_ns: 4_000_000, work_ns: 20_000 },
                    );
                    t.pinned = Some(i % nr_cpus);
                    t.kthread = true;
                    tasks.push(t);
                }
            }
            _ => return Err(WorkloadError(format!("unknown workload '{name}' ({GRAMMAR})"))),
        }
        if tasks.len() > MAX_TASKS {
            return Err(WorkloadError(format!("the workload has more than {MAX_TASKS} tasks")));
        }
    }
    if tasks.is_empty() {
        return Err(WorkloadError(format!("the workload is empty ({GRAMMAR})")));
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_builds_the_tasks_it_names() {
        let t = parse("audio=2,hogs=3:19,hogs=1:idle,hackbench=1,fork=4,kworker=1,cyclic=3", 2)
            .unwrap();
        assert_eq!(t.iter().filter(|t| t.label == "audio").count(), 2);
        assert_eq!(t.iter().filter(|t| t.label == "hogs-nice19" && t.nice == 19).count(), 3);
        assert!(t.iter().any(|t| t.label == "hogs-idle" && t.idle));
        assert_eq!(t.iter().filter(|t| t.label == "hackbench").count(), 20);
        let Behavior::Message { partner, .. } = t[6].behavior else { panic!() };
        assert_eq!(partner, 7);
        assert_eq!(t.iter().filter(|t| t.label == "fork").count(), 4);
        assert_eq!(
            t.iter().filter(|t| t.kthread).map(|t| t.pinned).collect::<Vec<_>>(),
            [Some(0), Some(1)]
        );
        let pins: Vec<_> = t.iter().filter(|t| t.label == "cyclic").map(|t| t.pinned).collect();
        assert_eq!(pins, [Some(0), Some(1), Some(0)]);
        assert!(matches!(
            parse("periodic=1:1000:250", 1).unwrap()[0].behavior,
            Behavior::Periodic { period_ns: 1_000_000, work_ns: 250_000 }
        ));
    }

    #[test]
    fn bad_workloads_say_why() {
        for (d, says) in [
            ("", "empty"),
            ("audio", "NAME=COUNT"),
            ("audio=x", "not a count"),
            ("videos=2", "unknown workload"),
            ("hogs=1:20", "-20..=19"),
            ("periodic=1:100:200", "shorter than the period"),
            ("periodic=1:100", "PERIOD_US"),
            ("audio=1:5", "only a count"),
            ("hogs=2000000", "not a count"),
        ] {
            let e = parse(d, 2).unwrap_err().to_string();
            assert!(e.contains(says), "{d}: {e}");
        }
    }
}
