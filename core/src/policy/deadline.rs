// SPDX-License-Identifier: GPL-2.0-only
use super::{Decision, EnqueueError, Policy, Task, CPU_ANY, WEIGHT_NICE0};
use crate::heap::VtimeHeap;
use crate::time::{time_before, time_max};

/// Tunables of [`Deadline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineConfig {
    /// Longest slice, ns: what a nice-0 task gets when nothing else waits.
    pub slice_max_ns: u64,
    /// Shortest slice, ns, however long the queue.
    pub slice_min_ns: u64,
    /// CPUs the policy feeds (scales the queue-depth slice reduction).
    pub nr_cpus: u32,
    /// Cap on the runtime-since-last-sleep added to a task's deadline, ns.
    pub max_exec_ns: u64,
    /// Ask to preempt for tasks that just woke after running less than
    /// `slice_min_ns` (the interactive ones).
    pub preempt_wakeups: bool,
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        Self {
            slice_max_ns: 5_000_000,
            slice_min_ns: 500_000,
            nr_cpus: 1,
            max_exec_ns: 50_000_000,
            preempt_wakeups: true,
        }
    }
}

/// Deadline scheduling on weighted vruntime.
///
/// - **vruntime**: each task's [`Task::vtime`] grows by its runtime scaled by
///   `100 / weight` (the framework charges it), so heavier tasks age slower.
/// - **sleepers' credit** is capped at one slice: a task that slept for long
///   starts no further back than `vruntime_now - slice_max`, so it runs soon
///   but cannot monopolise the CPU with credit saved while asleep.
/// - **deadline** = vruntime + (runtime since the task last slept, capped at
///   `max_exec_ns`, weight-scaled). Tasks that run briefly between sleeps
///   (interactive ones) get early deadlines; CPU hogs drift back.
/// - **slice** = `slice_max × weight / 100`, divided by
///   `1 + queued / nr_cpus`, clamped to `[slice_min, slice_max]`: a long
///   queue gets shorter turns, so waiting tasks are served sooner.
/// - `vruntime_now` follows the vruntime of the tasks dispatched (never goes
///   back), and new tasks start there.
pub struct Deadline<const N: usize> {
    queue: VtimeHeap<Queued, N>,
    vruntime_now: u64,
    cfg: DeadlineConfig,
}

/// What [`Deadline`] keeps of a queued task: 48 bytes instead of the
/// 96 of a [`Task`], so the heap's slots move half the memory.
#[derive(Clone, Copy)]
struct Queued {
    pid: i32,
    cpu: i32,
    nr_cpus_allowed: u32,
    /// The task woke up and had run less than the minimum slice.
    interactive: bool,
    weight: u32,
    vtime: u64,
    cookie: u64,
}

impl<const N: usize> Deadline<N> {
    /// A policy with the given tunables.
    pub const fn new(cfg: DeadlineConfig) -> Self {
        Self { queue: VtimeHeap::new(), vruntime_now: 0, cfg }
    }

    /// The tunables.
    pub const fn config(&self) -> &DeadlineConfig {
        &self.cfg
    }

    /// The scheduler's vruntime clock (max vruntime dispatched so far).
    pub const fn vruntime_now(&self) -> u64 {
        self.vruntime_now
    }

    /// The deadline a task would be queued with.
    pub fn deadline_of(&self, task: &Task) -> (u64, u64) {
        let weight = task.weight.max(1);
        let vtime = if task.vtime == 0 { self.vruntime_now } else { task.vtime };
        let vtime = time_max(vtime, self.vruntime_now.wrapping_sub(self.cfg.slice_max_ns));
        let exec = task.exec_runtime.min(self.cfg.max_exec_ns);
        (vtime, vtime.wrapping_add(exec.saturating_mul(WEIGHT_NICE0) / weight))
    }

    fn slice_for(&self, weight: u64) -> u64 {
        let base = self.cfg.slice_max_ns.saturating_mul(weight.max(1)) / WEIGHT_NICE0;
        let depth = 1 + self.queue.len() as u64 / u64::from(self.cfg.nr_cpus.max(1));
        (base / depth)
            .clamp(self.cfg.slice_min_ns, self.cfg.slice_max_ns.max(self.cfg.slice_min_ns))
    }
}

impl<const N: usize> Policy for Deadline<N> {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        let (vtime, deadline) = self.deadline_of(&task);
        let q = Queued {
            pid: task.pid,
            cpu: task.cpu,
            nr_cpus_allowed: task.nr_cpus_allowed,
            interactive: task.flags & Task::WAKEUP != 0
                && task.exec_runtime < self.cfg.slice_min_ns,
            weight: task.weight.min(u64::from(u32::MAX)) as u32,
            vtime,
            cookie: task.cookie,
        };
        // On failure the caller gets the task back as it gave it.
        self.queue.push(task.pid, deadline, q).map_err(|e| EnqueueError::from_push(&e, task))
    }

    fn dispatch(&mut self, _now: u64) -> Option<Decision> {
        let task = self.queue.pop_min()?.value;
        if time_before(self.vruntime_now, task.vtime) {
            self.vruntime_now = task.vtime;
        }
        Some(Decision {
            pid: task.pid,
            cpu: if task.nr_cpus_allowed == 1 { task.cpu } else { CPU_ANY },
            hint_cpu: task.cpu,
            slice_ns: self.slice_for(u64::from(task.weight)),
            vtime: task.vtime,
            flags: if self.cfg.preempt_wakeups && task.interactive { Decision::PREEMPT } else { 0 },
            cookie: task.cookie,
        })
    }

    fn remove(&mut self, pid: i32) -> bool {
        self.queue.remove(pid).is_some()
    }

    fn nr_queued(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(pid: i32, vtime: u64, exec: u64) -> Task {
        Task {
            pid,
            vtime,
            exec_runtime: exec,
            weight: 100,
            nr_cpus_allowed: 4,
            cpu: 1,
            ..Task::default()
        }
    }

    fn cfg() -> DeadlineConfig {
        DeadlineConfig { nr_cpus: 2, ..DeadlineConfig::default() }
    }

    #[test]
    fn short_runners_go_first() {
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(task(1, 1_000_000, 20_000_000)).unwrap(); // hog
        p.enqueue(task(2, 1_000_000, 100_000)).unwrap(); // interactive
        assert_eq!(p.dispatch(0).unwrap().pid, 2);
        assert_eq!(p.dispatch(0).unwrap().pid, 1);
    }

    #[test]
    fn sleeper_credit_capped_at_one_slice() {
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(task(1, 100_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        assert_eq!(p.vruntime_now(), 100_000_000);
        // A task that slept since vtime 1 comes back at most one slice behind.
        p.enqueue(task(2, 1, 0)).unwrap();
        let d = p.dispatch(0).unwrap();
        assert_eq!(d.vtime, 100_000_000 - cfg().slice_max_ns);
    }

    #[test]
    fn new_tasks_start_at_vruntime_now() {
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(task(1, 42_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        p.enqueue(task(2, 0, 0)).unwrap();
        assert_eq!(p.dispatch(0).unwrap().vtime, 42_000_000);
    }

    #[test]
    fn heavier_tasks_get_longer_slices_and_earlier_deadlines() {
        let p = Deadline::<16>::new(cfg());
        let light = Task { weight: 50, ..task(1, 10, 4_000_000) };
        let heavy = Task { weight: 200, ..task(2, 10, 4_000_000) };
        assert!(p.deadline_of(&heavy).1 < p.deadline_of(&light).1);
        assert!(p.slice_for(200) >= p.slice_for(50));
        assert_eq!(p.slice_for(100), cfg().slice_max_ns);
        assert_eq!(p.slice_for(1), cfg().slice_min_ns);
    }

    #[test]
    fn slices_shrink_with_queue_depth() {
        let mut p = Deadline::<64>::new(cfg());
        for pid in 0..9 {
            p.enqueue(task(pid, 1000, 0)).unwrap();
        }
        let first = p.dispatch(0).unwrap().slice_ns; // 8 left on 2 CPUs
        assert_eq!(first, cfg().slice_max_ns / 5);
        for _ in 0..7 {
            p.dispatch(0).unwrap();
        }
        assert_eq!(p.dispatch(0).unwrap().slice_ns, cfg().slice_max_ns);
    }

    #[test]
    fn wakeups_of_short_runners_preempt_and_pinned_tasks_keep_their_cpu() {
        let mut p = Deadline::<16>::new(cfg());
        let waker = Task { flags: Task::WAKEUP, nr_cpus_allowed: 1, cpu: 3, ..task(1, 5, 10_000) };
        p.enqueue(waker).unwrap();
        let d = p.dispatch(0).unwrap();
        assert_eq!((d.flags, d.cpu), (Decision::PREEMPT, 3));
        p.enqueue(task(2, 5, 10_000)).unwrap();
        let d = p.dispatch(0).unwrap();
        assert_eq!((d.flags, d.cpu), (0, CPU_ANY));
    }

    #[test]
    fn full_queue_hands_task_back() {
        let mut p = Deadline::<2>::new(cfg());
        p.enqueue(task(1, 1, 0)).unwrap();
        p.enqueue(task(2, 1, 0)).unwrap();
        assert_eq!(p.enqueue(task(3, 1, 0)), Err(EnqueueError::Full(task(3, 1, 0))));
        assert_eq!(p.enqueue(task(1, 1, 0)), Err(EnqueueError::Duplicate(task(1, 1, 0))));
        assert!(p.remove(1) && !p.remove(1));
        assert_eq!(p.nr_queued(), 1);
    }
}
