// SPDX-License-Identifier: GPL-2.0-only
//! Plugging your own policy into the simulator: any type implementing
//! usched-core's `Policy` runs in the framework model, here against
//! scx_usched's on the same workload and seed.
//!
//! cargo run --release -p usched-sim --example custom_policy
use std::collections::VecDeque;

use usched_core::policy::{Decision, EnqueueError, Policy, Task, CPU_ANY};
use usched_sim::model::Rules;
use usched_sim::{simulate, simulate_policy, PolicyChoice, RunConfig};

/// Two FIFOs: tasks that just woke up go before tasks whose slice ran out.
/// Queues are reserved up front: a policy must not allocate as it runs.
struct WakersFirst {
    wakers: VecDeque<Task>,
    others: VecDeque<Task>,
}

impl WakersFirst {
    const CAPACITY: usize = 4096;

    fn new() -> Self {
        Self {
            wakers: VecDeque::with_capacity(Self::CAPACITY),
            others: VecDeque::with_capacity(Self::CAPACITY),
        }
    }
}

impl Policy for WakersFirst {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        if self.wakers.iter().chain(&self.others).any(|t| t.pid == task.pid) {
            return Err(EnqueueError::Duplicate(task));
        }
        if self.nr_queued() >= Self::CAPACITY {
            return Err(EnqueueError::Full(task));
        }
        if task.flags & Task::WAKEUP != 0 {
            self.wakers.push_back(task);
        } else {
            self.others.push_back(task);
        }
        Ok(())
    }

    fn dispatch(&mut self, _now: u64) -> Option<Decision> {
        let (t, flags) = match self.wakers.pop_front() {
            Some(t) => (t, Decision::PREEMPT),
            None => (self.others.pop_front()?, 0),
        };
        Some(Decision {
            pid: t.pid,
            cpu: CPU_ANY,
            hint_cpu: t.cpu,
            slice_ns: 3_000_000,
            vtime: t.vtime,
            flags,
            cookie: t.cookie,
            deadline: 0,
        })
    }

    fn remove(&mut self, pid: i32) -> bool {
        let n = self.nr_queued();
        self.wakers.retain(|t| t.pid != pid);
        self.others.retain(|t| t.pid != pid);
        n != self.nr_queued()
    }

    fn nr_queued(&self) -> usize {
        self.wakers.len() + self.others.len()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = RunConfig::new("audio=2,game=1,hogs=4", 2, "flat", 10.0, 1)?;
    // The policy alone (no BPF shortcuts but preempting decisions), then
    // scx_usched's as it ships.
    let mine = simulate_policy(
        &cfg,
        "wakers-first",
        WakersFirst::new(),
        Rules::parse("none,preempt", Rules::NONE)?,
    );
    print!("{}", mine.table());
    print!("{}", simulate(&cfg, PolicyChoice::Usched, None).table());
    Ok(())
}
