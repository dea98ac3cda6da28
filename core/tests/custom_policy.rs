// SPDX-License-Identifier: GPL-2.0-only
//! The custom policy of docs/writing-a-scheduler.md, compiled and tested.
#![cfg(not(loom))]
use usched_core::heap::VtimeHeap;
use usched_core::policy::{
    Deadline, DeadlineConfig, Decision, EnqueueError, Policy, Task, CPU_ANY,
};

/// Interactive wake-ups (short runs between sleeps) go first, in arrival
/// order, with a short slice and preemption; everything else is ordered by
/// the `Deadline` policy.
pub struct TwoLevel<const N: usize> {
    fast: VtimeHeap<Task, N>,
    arrivals: u64,
    rest: Deadline<N>,
    fast_slice_ns: u64,
}

impl<const N: usize> TwoLevel<N> {
    pub fn new(cfg: DeadlineConfig) -> Self {
        Self {
            fast: VtimeHeap::new(),
            arrivals: 0,
            rest: Deadline::new(cfg),
            fast_slice_ns: cfg.slice_min_ns,
        }
    }

    fn is_interactive(t: &Task) -> bool {
        t.flags & Task::WAKEUP != 0 && t.exec_runtime < 200_000
    }
}

impl<const N: usize> Policy for TwoLevel<N> {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        if Self::is_interactive(&task) {
            self.arrivals += 1;
            return Ok(self.fast.push(task.pid, self.arrivals, task)?);
        }
        self.rest.enqueue(task)
    }

    fn dispatch(&mut self, now: u64) -> Option<Decision> {
        if let Some(e) = self.fast.pop_min() {
            let t = e.value;
            return Some(Decision {
                pid: t.pid,
                cpu: CPU_ANY,
                hint_cpu: t.cpu,
                slice_ns: self.fast_slice_ns,
                vtime: t.vtime,
                flags: Decision::PREEMPT,
                cookie: t.cookie,
                deadline: 0,
            });
        }
        self.rest.dispatch(now)
    }

    fn remove(&mut self, pid: i32) -> bool {
        self.fast.remove(pid).is_some() || self.rest.remove(pid)
    }

    fn nr_queued(&self) -> usize {
        self.fast.len() + self.rest.nr_queued()
    }
}

#[test]
fn interactive_wakeups_jump_the_queue() {
    let mut p = Box::new(TwoLevel::<64>::new(DeadlineConfig { nr_cpus: 2, ..Default::default() }));
    let hog = |pid| Task { pid, weight: 100, exec_runtime: 4_000_000, vtime: 1, ..Task::default() };
    p.enqueue(hog(1)).unwrap();
    p.enqueue(hog(2)).unwrap();
    p.enqueue(Task {
        pid: 3,
        weight: 100,
        flags: Task::WAKEUP,
        exec_runtime: 50_000,
        ..Task::default()
    })
    .unwrap();
    let d = p.dispatch(0).unwrap();
    assert_eq!((d.pid, d.flags, d.slice_ns), (3, Decision::PREEMPT, 500_000));
    assert_eq!(p.nr_queued(), 2);
    assert!(p.remove(2) && !p.remove(2));
    assert_eq!(p.dispatch(0).unwrap().pid, 1);
    assert!(p.dispatch(0).is_none());
}
