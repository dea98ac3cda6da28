// SPDX-License-Identifier: GPL-2.0-only
use core::fmt;

use super::age::AgeList;
use super::{Decision, EnqueueError, Policy, Task, CPU_ANY, WEIGHT_NICE0};
use crate::heap::{Entry, PushError, VtimeHeap, MAX_KEY_SPAN};
use crate::time::{time_before, time_max, time_min};

/// How far ahead of [`Deadline::vruntime_now`] a task's vtime may start, in
/// vtime ns: a later [`Task::vtime`] (a bug, or a stale value from another
/// clock) is clamped to `vruntime_now + MAX_VTIME_AHEAD`, so one bad input
/// cannot drag the clock, and every new task's start, forward.
///
/// Far enough for the lightest weight's honest vtimes: a SCHED_IDLE task's
/// vtime grows 1024/3 = 341x its runtime, 1.4 s for a 4 ms run (a slice
/// ended at a 250 Hz tick). Clamped to 1 s, such a hog among four nice-0
/// ones waited 2.2 s instead of 2.7 s, every turn the policy's (1.3-1.6x
/// its share).
pub const MAX_VTIME_AHEAD: u64 = 4_000_000_000;

/// Largest deadline offset (runtime since the last sleep, weight-scaled):
/// `max_exec_ns` is at most [`DeadlineConfig::MAX_EXEC_NS`] and the
/// weight at least 1.
const MAX_DEADLINE_OFFSET: u64 = DeadlineConfig::MAX_EXEC_NS * WEIGHT_NICE0;
const _: () = assert!(MAX_DEADLINE_OFFSET <= 1 << 62);
// Queued deadlines lie within `vruntime_now - slice_max_ns` and
// `vruntime_now + MAX_VTIME_AHEAD + MAX_DEADLINE_OFFSET` (vruntime_now never
// passes a queued deadline), so they compare wrap-safely and the heap never
// refuses one as out of range.
const _: () =
    assert!(DeadlineConfig::SLICE_NS_MAX + MAX_VTIME_AHEAD + MAX_DEADLINE_OFFSET <= MAX_KEY_SPAN);

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
    /// Longest a task waits in the queue, ns, counted from its
    /// [`Task::enq_time`]: a task queued this long is dispatched next,
    /// ahead of the deadline order (aging), so no weight, however light,
    /// waits unboundedly. 0: pure deadline order, no bound.
    pub max_wait_ns: u64,
}

impl DeadlineConfig {
    /// Smallest `slice_min_ns` (and `slice_max_ns`): 10 µs.
    pub const SLICE_NS_MIN: u64 = 10_000;
    /// Largest `slice_max_ns`: 1 s. It is also the sleepers' credit, which
    /// must stay far below 2^63 for wrap-safe vtimes.
    pub const SLICE_NS_MAX: u64 = 1_000_000_000;
    /// Largest `max_exec_ns`: 1 s.
    pub const MAX_EXEC_NS: u64 = 1_000_000_000;
    /// Smallest non-zero `max_wait_ns`: 1 ms (shorter would turn the
    /// deadline order into FIFO order).
    pub const MAX_WAIT_NS_MIN: u64 = 1_000_000;
    /// Largest `max_wait_ns`: 60 s.
    pub const MAX_WAIT_NS_MAX: u64 = 60_000_000_000;

    /// Checks every field against its range: `nr_cpus >= 1`, `slice_max_ns`
    /// in `[SLICE_NS_MIN, SLICE_NS_MAX]`, `slice_min_ns` in
    /// `[SLICE_NS_MIN, slice_max_ns]`, `max_exec_ns <= MAX_EXEC_NS`,
    /// `max_wait_ns` 0 or in `[MAX_WAIT_NS_MIN, MAX_WAIT_NS_MAX]`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first field out of range and its range.
    pub const fn validate(&self) -> Result<(), ConfigError> {
        const fn check(
            field: &'static str,
            value: u64,
            min: u64,
            max: u64,
        ) -> Result<(), ConfigError> {
            if value < min || value > max {
                Err(ConfigError { field, value, min, max })
            } else {
                Ok(())
            }
        }
        if let Err(e) = check("nr_cpus", self.nr_cpus as u64, 1, u32::MAX as u64) {
            return Err(e);
        }
        if let Err(e) =
            check("slice_max_ns", self.slice_max_ns, Self::SLICE_NS_MIN, Self::SLICE_NS_MAX)
        {
            return Err(e);
        }
        if let Err(e) =
            check("slice_min_ns", self.slice_min_ns, Self::SLICE_NS_MIN, self.slice_max_ns)
        {
            return Err(e);
        }
        if let Err(e) = check("max_exec_ns", self.max_exec_ns, 0, Self::MAX_EXEC_NS) {
            return Err(e);
        }
        if self.max_wait_ns == 0 {
            return Ok(());
        }
        check("max_wait_ns", self.max_wait_ns, Self::MAX_WAIT_NS_MIN, Self::MAX_WAIT_NS_MAX)
    }

    /// This configuration with every field clamped into the range that
    /// [`validate`](Self::validate) accepts.
    pub const fn clamped(self) -> Self {
        const fn clamp(v: u64, min: u64, max: u64) -> u64 {
            if v < min {
                min
            } else if v > max {
                max
            } else {
                v
            }
        }
        let slice_max_ns = clamp(self.slice_max_ns, Self::SLICE_NS_MIN, Self::SLICE_NS_MAX);
        Self {
            slice_max_ns,
            slice_min_ns: clamp(self.slice_min_ns, Self::SLICE_NS_MIN, slice_max_ns),
            nr_cpus: if self.nr_cpus == 0 { 1 } else { self.nr_cpus },
            max_exec_ns: clamp(self.max_exec_ns, 0, Self::MAX_EXEC_NS),
            preempt_wakeups: self.preempt_wakeups,
            max_wait_ns: if self.max_wait_ns == 0 {
                0
            } else {
                clamp(self.max_wait_ns, Self::MAX_WAIT_NS_MIN, Self::MAX_WAIT_NS_MAX)
            },
        }
    }
}

/// A [`DeadlineConfig`] field out of its range (see
/// [`DeadlineConfig::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigError {
    /// The field's name, e.g. `"slice_max_ns"`.
    pub field: &'static str,
    /// The value given.
    pub value: u64,
    /// Smallest value allowed.
    pub min: u64,
    /// Largest value allowed.
    pub max: u64,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeadlineConfig::{} = {} is out of range: it must lie in {}..={}",
            self.field, self.value, self.min, self.max
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

impl DeadlineConfig {
    /// The defaults ([`Default`]): 5 ms slices at most, 0.5 ms at least, one
    /// CPU, 50 ms of runtime towards a deadline, wake-ups preempt, aging
    /// after 0.5 s. usched asserts that its own defaults (`bpf/intf.h`)
    /// agree.
    pub const DEFAULT: Self = Self {
        slice_max_ns: 5_000_000,
        slice_min_ns: 500_000,
        nr_cpus: 1,
        max_exec_ns: 50_000_000,
        preempt_wakeups: true,
        max_wait_ns: 500_000_000,
    };
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Deadline scheduling on weighted vruntime.
///
/// - **vruntime**: each task's [`Task::vtime`] grows by its runtime scaled by
///   `100 / weight` (the framework charges it), so heavier tasks age slower.
/// - **sleepers' credit** is capped at one slice of the task's CPU time: a
///   task that slept or waited long starts no further back than
///   `vruntime_now - slice_max × 100 / max(weight, 100)`, so it runs soon but
///   cannot monopolise the CPU with credit saved meanwhile (a heavy task's
///   vtime runs slowly: `slice_max` of it would be many slices of CPU).
/// - **deadline** = vruntime + (runtime since the task last slept, capped at
///   `max_exec_ns` and at the task's slice, weight-scaled). Tasks that run
///   briefly between sleeps (interactive ones) get early deadlines; CPU hogs
///   sit up to one slice further back, whatever their weight, so a light
///   hog's wait follows its weight and stays bounded.
/// - **slice** = `slice_max × weight / 100`, divided by
///   `1 + queued / nr_cpus`, clamped to `[slice_min, slice_max]`: a long
///   queue gets shorter turns, so waiting tasks are served sooner.
/// - `vruntime_now` follows the vruntime of the tasks dispatched, up to the
///   vtime of the next queued task (it never goes back; a task lighter than
///   the heaviest dispatched lately, or than nice 0, moves it only its
///   relative weight's share of the way), and new tasks start there. A vtime more than
///   [`MAX_VTIME_AHEAD`] ahead of it is clamped to that.
/// - **aging**: a task queued for `max_wait_ns` (from its
///   [`Task::enq_time`]) is dispatched next whatever its deadline, with the
///   earliest deadline a task can have now.
///   A list in `enq_time` order finds the oldest in O(1).
pub struct Deadline<const N: usize> {
    queue: VtimeHeap<Queued, N>,
    /// The same tasks as `queue`, in the order they became runnable; each
    /// [`Queued::age`] names its entry.
    by_age: AgeList<N>,
    vruntime_now: u64,
    /// The heaviest weight dispatched lately: the clock's reference.
    heavy: u64,
    nr_aged: u64,
    cfg: DeadlineConfig,
}

/// What [`Deadline`] keeps of a queued task: 40 bytes instead of the
/// 88 of a [`Task`] (both asserted below), so the heap's slots move less
/// than half the memory.
#[derive(Clone, Copy)]
struct Queued {
    pid: i32,
    cpu: i32,
    nr_cpus_allowed: u32,
    weight: u32,
    /// This task's entry in [`Deadline::by_age`].
    age: u32,
    /// The task woke up and had run less than the minimum slice.
    interactive: bool,
    vtime: u64,
    cookie: u64,
}
const _: () = assert!(core::mem::size_of::<Queued>() == 40);
const _: () = assert!(core::mem::size_of::<Task>() == 88);

impl<const N: usize> Deadline<N> {
    /// A policy with the given tunables, each clamped into its valid range
    /// ([`DeadlineConfig::clamped`]), so that no configuration can make the
    /// vtime arithmetic wrap. Use [`try_new`](Self::try_new) to be told
    /// instead.
    pub const fn new(cfg: DeadlineConfig) -> Self {
        Self {
            queue: VtimeHeap::new(),
            by_age: AgeList::new(),
            vruntime_now: 0,
            heavy: WEIGHT_NICE0,
            nr_aged: 0,
            cfg: cfg.clamped(),
        }
    }

    /// A policy with the given tunables, if they are all in range.
    ///
    /// # Errors
    /// [`ConfigError`] from [`DeadlineConfig::validate`].
    pub const fn try_new(cfg: DeadlineConfig) -> Result<Self, ConfigError> {
        match cfg.validate() {
            Ok(()) => Ok(Self::new(cfg)),
            Err(e) => Err(e),
        }
    }

    /// The tunables.
    pub const fn config(&self) -> &DeadlineConfig {
        &self.cfg
    }

    /// The scheduler's vruntime clock: it follows the vtimes dispatched, up
    /// to the next queued one, and lighter tasks move it only part of the
    /// way (see [`Deadline`]).
    pub const fn vruntime_now(&self) -> u64 {
        self.vruntime_now
    }

    /// Tasks dispatched ahead of their deadline order because they had
    /// waited `max_wait_ns` (aging), since the policy was created.
    pub const fn nr_aged(&self) -> u64 {
        self.nr_aged
    }

    /// The queued task that has waited at least `max_wait_ns` at `now`, the
    /// longest-waiting first.
    fn overdue(&self, now: u64) -> Option<i32> {
        if self.cfg.max_wait_ns == 0 {
            return None;
        }
        let (pid, enq_time) = self.by_age.oldest()?;
        let waited = now.wrapping_sub(enq_time);
        (time_before(enq_time, now) && waited >= self.cfg.max_wait_ns).then_some(pid)
    }

    /// The vtime and deadline a task would be queued with.
    ///
    /// The vtime lies within `[vruntime_now - slice_max_ns, vruntime_now +
    /// MAX_VTIME_AHEAD]`, the deadline at most `MAX_DEADLINE_OFFSET`
    /// (100 s of vtime) after it: far less than 2^63 from `vruntime_now`.
    pub fn deadline_of(&self, task: &Task) -> (u64, u64) {
        let now = self.vruntime_now;
        let weight = task.weight.max(1);
        let vtime = if task.vtime == 0 { now } else { task.vtime };
        let vtime = time_min(vtime, now.wrapping_add(MAX_VTIME_AHEAD));
        let vtime = time_max(vtime, now.wrapping_sub(self.credit_for(weight)));
        // The runtime since the last sleep counts up to one slice of the
        // task: a hog's deadline sits at most a slice (weight-scaled) past
        // its vtime, so how long it waits follows its weight, not how long
        // it has run (uncapped, a nice-19 hog waited seconds).
        let exec = task.exec_runtime.min(self.cfg.max_exec_ns).min(self.slice_for(weight));
        let offset = per_weight(exec, weight).min(MAX_DEADLINE_OFFSET);
        (vtime, vtime.wrapping_add(offset))
    }

    /// How far behind `vruntime_now` a task's vtime may start: one slice of
    /// its own CPU time. A heavy task's vtime runs slowly (a nice -20 one's
    /// 89x slower than wall time at weight 8876): `slice_max` of vtime would
    /// be 0.44 s of CPU before it fell behind its peers again (one nice -20
    /// hog of eight took 1.27x its share).
    fn credit_for(&self, weight: u64) -> u64 {
        per_weight(self.cfg.slice_max_ns, weight.max(WEIGHT_NICE0))
    }

    fn slice_for(&self, weight: u64) -> u64 {
        let base = match weight {
            WEIGHT_NICE0 => self.cfg.slice_max_ns,
            w => self.cfg.slice_max_ns.saturating_mul(w.max(1)) / WEIGHT_NICE0,
        };
        let (queued, cpus) = (self.queue.len() as u64, u64::from(self.cfg.nr_cpus.max(1)));
        let base = if queued < cpus { base } else { base / (1 + queued / cpus) };
        base.clamp(self.cfg.slice_min_ns, self.cfg.slice_max_ns.max(self.cfg.slice_min_ns))
    }
}

/// `x × 100 / weight` (`weight` ≥ 1), saturating: vtime or a deadline
/// offset for `x` ns of the task's CPU time. Nice 0 (most tasks) skips the
/// division, which costs more than the rest of the arithmetic.
#[inline(always)]
fn per_weight(x: u64, weight: u64) -> u64 {
    match weight {
        WEIGHT_NICE0 => x,
        w => x.saturating_mul(WEIGHT_NICE0) / w.max(1),
    }
}

impl<const N: usize> Policy for Deadline<N> {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        let (vtime, deadline) = self.deadline_of(&task);
        // Both structures hold `N`, and `queue` refuses a duplicate pid, so
        // the list has room whenever `queue` will take the task; a refusal
        // unlinks the entry again. On failure the caller gets the task back
        // as it gave it, and neither structure keeps it.
        let Some(age) = self.by_age.insert(task.pid, task.enq_time) else {
            let why = if self.queue.contains(task.pid) {
                PushError::Duplicate(())
            } else {
                PushError::Full(())
            };
            return Err(EnqueueError::from_push(&why, task));
        };
        let q = Queued {
            pid: task.pid,
            cpu: task.cpu,
            nr_cpus_allowed: task.nr_cpus_allowed,
            weight: task.weight.min(u64::from(u32::MAX)) as u32,
            age,
            interactive: task.flags & Task::WAKEUP != 0
                && task.exec_runtime < self.cfg.slice_min_ns,
            vtime,
            cookie: task.cookie,
        };
        self.queue.push(task.pid, deadline, q).map_err(|e| {
            self.by_age.unlink(age);
            EnqueueError::from_push(&e, task)
        })
    }

    fn dispatch(&mut self, now: u64) -> Option<Decision> {
        let aged = self.overdue(now).and_then(|pid| self.queue.remove(pid));
        let e = match aged {
            Some(e) => {
                self.nr_aged += 1;
                // The earliest deadline a task can be queued with now (no
                // vtime lies before `vruntime_now - slice_max_ns`): ahead
                // of every queued task and every task queued after it.
                // Decisions already sent may still be earlier; waits there
                // are the framework's to bound (usched's starvation guard).
                let front = self.vruntime_now.wrapping_sub(self.cfg.slice_max_ns);
                Entry { key: time_min(e.key, front), ..e }
            }
            None => self.queue.pop_min()?,
        };
        self.by_age.unlink(e.value.age);
        let task = e.value;
        // The clock goes no further than the vtime of the task now first in
        // line: a task dispatched ahead of it (a nice-0 hog among nice -20
        // ones, whose vtime runs 86x faster, sent out by aging or because
        // the others were away) would otherwise drag the clock past every
        // queued vtime, and the credit clamp (one slice) would pull them all
        // up to it, scrambling their order (nice -20 hogs got 0.7-1.5x
        // their equal shares).
        let target = match self.queue.peek() {
            Some(next) => time_min(task.vtime, next.value.vtime),
            None => task.vtime,
        };
        // The heaviest weight dispatched lately (decaying by 1/64 a
        // dispatch, never below nice 0's).
        let w = u64::from(task.weight).max(1);
        self.heavy = (self.heavy - self.heavy / 64).max(w).max(WEIGHT_NICE0);
        if time_before(self.vruntime_now, target) {
            // A task lighter than the heaviest ones moves the clock only its
            // relative weight's share of the way: a nice-19 hog's vtime runs
            // 68x faster than a nice-0 one's, a nice-0 hog's 86x faster than
            // a nice -20 one's, and the clock dragged along would start new
            // tasks, and pull sleepers, that far ahead of the heavy tasks.
            let gap = target.wrapping_sub(self.vruntime_now);
            let share = w.min(self.heavy);
            // `gap × share / heavy` (≤ gap), in u64 unless the product
            // overflows it: a 128-bit division costs more than the rest of
            // a dispatch.
            let step = if share == self.heavy {
                gap
            } else {
                match gap.checked_mul(share) {
                    Some(p) => p / self.heavy,
                    None => (u128::from(gap) * u128::from(share) / u128::from(self.heavy)) as u64,
                }
            };
            self.vruntime_now = self.vruntime_now.wrapping_add(step);
        }
        Some(Decision {
            pid: task.pid,
            cpu: if task.nr_cpus_allowed == 1 { task.cpu } else { CPU_ANY },
            hint_cpu: task.cpu,
            slice_ns: self.slice_for(u64::from(task.weight)),
            vtime: task.vtime,
            flags: if self.cfg.preempt_wakeups && task.interactive { Decision::PREEMPT } else { 0 },
            cookie: task.cookie,
            deadline: e.key,
        })
    }

    fn remove(&mut self, pid: i32) -> bool {
        let Some(e) = self.queue.remove(pid) else { return false };
        self.by_age.unlink(e.value.age);
        true
    }

    fn nr_queued(&self) -> usize {
        self.queue.len()
    }

    fn next_deadline(&self) -> Option<u64> {
        self.queue.peek().map(|e| e.key)
    }

    /// `vruntime_now - slice_max_ns`: the floor of a task of nice 0 or
    /// lighter, the lowest of all (a heavier task's credit is shorter);
    /// `None` until the clock has moved.
    fn vtime_floor(&self) -> Option<u64> {
        (self.vruntime_now != 0)
            .then(|| self.vruntime_now.wrapping_sub(self.credit_for(WEIGHT_NICE0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::time_before_eq;

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
        p.enqueue(Task { flags: Task::WAKEUP, ..task(2, 1, 0) }).unwrap();
        let d = p.dispatch(0).unwrap();
        assert_eq!(d.vtime, 100_000_000 - cfg().slice_max_ns);
    }

    #[test]
    fn vtime_floor_is_where_a_task_far_behind_starts() {
        let mut p = Deadline::<16>::new(cfg());
        assert_eq!(p.vtime_floor(), None);
        p.enqueue(task(1, 100_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        let floor = p.vtime_floor().unwrap();
        assert_eq!(floor, 100_000_000 - cfg().slice_max_ns);
        // Nice 0 and lighter start there; heavier ones later (never before).
        for (pid, weight) in [(2, 100), (3, 1), (4, 8876)] {
            p.enqueue(Task { weight, ..task(pid, 1, 0) }).unwrap();
            let d = p.dispatch(0).unwrap();
            assert!(time_before_eq(floor, d.vtime), "weight {weight}: {} < {floor}", d.vtime);
            assert_eq!(d.vtime == floor, weight <= 100, "weight {weight}");
        }
    }

    #[test]
    fn heavy_sleeper_credit_is_one_slice_of_its_cpu_time() {
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(task(1, 100_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        // Weight 8876 (nice -20): one slice of CPU is slice_max * 100 / 8876
        // of vtime; the weight-1 task keeps the full slice of vtime.
        p.enqueue(Task { weight: 8876, ..task(2, 1, 0) }).unwrap();
        let d = p.dispatch(0).unwrap();
        assert_eq!(d.vtime, 100_000_000 - cfg().slice_max_ns * 100 / 8876);
        p.enqueue(Task { weight: 1, ..task(3, 1, 0) }).unwrap();
        let d = p.dispatch(0).unwrap();
        assert_eq!(d.vtime, 100_000_000 - cfg().slice_max_ns);
    }

    #[test]
    fn light_tasks_do_not_drag_the_clock() {
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(task(1, 100_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        // A nice-19 hog far ahead moves the clock 1/100 of the way.
        p.enqueue(Task { weight: 1, ..task(2, 200_000_000, 0) }).unwrap();
        p.dispatch(0).unwrap();
        assert_eq!(p.vruntime_now(), 101_000_000);
        // So a nice-0 hog keeps its place instead of being pulled forward.
        p.enqueue(task(3, 99_000_000, 0)).unwrap();
        assert_eq!(p.dispatch(0).unwrap().vtime, 99_000_000);
    }

    #[test]
    fn a_task_ahead_of_the_queue_does_not_drag_the_clock_past_it() {
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(task(1, 100_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        // Two heavy hogs wait at 100.1 ms of vtime; a nice-0 hog far ahead
        // is dispatched first (say it had aged).
        p.enqueue(Task { weight: 8_000, enq_time: 1_000, ..task(2, 100_100_000, 0) }).unwrap();
        p.enqueue(Task { weight: 8_000, enq_time: 1_000, ..task(3, 100_200_000, 0) }).unwrap();
        p.enqueue(Task { enq_time: 1, ..task(4, 400_000_000, 0) }).unwrap();
        let d = p.dispatch(cfg().max_wait_ns + 1).unwrap();
        assert_eq!(d.pid, 4);
        assert_eq!(p.vruntime_now(), 100_100_000);
        // Alone, a task as heavy as the heaviest moves the clock to its
        // vtime; a nice-0 one, 100/8000 of the way.
        p.dispatch(0).unwrap();
        p.dispatch(0).unwrap();
        p.enqueue(Task { weight: 8_000, ..task(5, 300_000_000, 0) }).unwrap();
        p.dispatch(0).unwrap();
        assert_eq!(p.vruntime_now(), 300_000_000);
        p.enqueue(task(6, 380_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        // (8000 less 1/64 of it: the reference decays a little a dispatch.)
        let moved = p.vruntime_now() - 300_000_000;
        assert!((1_000_000..1_100_000).contains(&moved), "moved {moved}");
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
    fn huge_slice_max_does_not_send_sleepers_into_the_future() {
        let mut p =
            Deadline::<16>::new(DeadlineConfig { slice_max_ns: u64::MAX - 1_000_000_000, ..cfg() });
        p.enqueue(task(1, 100_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        // A sleeper gets at most one slice of credit, never a vtime ahead.
        p.enqueue(task(2, 1, 0)).unwrap();
        let d = p.dispatch(0).unwrap();
        assert!(time_before_eq(d.vtime, 100_000_000), "vtime {} in the future", d.vtime);
    }

    #[test]
    fn uncapped_max_exec_cannot_wrap_a_hogs_deadline_to_the_front() {
        let mut p = Deadline::<16>::new(DeadlineConfig { max_exec_ns: u64::MAX, ..cfg() });
        p.enqueue(task(1, 1000, 100_000)).unwrap();
        // Weight 1, runtime huge: the offset would be u64::MAX and wrap the
        // hog's deadline to just before its vtime.
        p.enqueue(Task { weight: 1, ..task(2, 1000, u64::MAX / 50) }).unwrap();
        assert_eq!(p.dispatch(0).unwrap().pid, 1);
        assert_eq!(p.dispatch(0).unwrap().pid, 2);
    }

    #[test]
    fn far_future_vtime_does_not_drag_the_clock() {
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(task(1, 50_000_000, 0)).unwrap();
        p.dispatch(0).unwrap();
        p.enqueue(task(2, 50_000_000 + (1 << 62), 0)).unwrap();
        let d = p.dispatch(0).unwrap();
        assert_eq!(d.vtime, 50_000_000 + MAX_VTIME_AHEAD);
        assert_eq!(p.vruntime_now(), 50_000_000 + MAX_VTIME_AHEAD);
        // Across the u64 wrap as well.
        let mut p = Deadline::<16>::new(cfg());
        let now = u64::MAX - 10;
        p.vruntime_now = now; // reached by many dispatches, each at most MAX_VTIME_AHEAD ahead
        p.enqueue(task(2, now.wrapping_add(1 << 62), 0)).unwrap();
        assert_eq!(p.dispatch(0).unwrap().vtime, now.wrapping_add(MAX_VTIME_AHEAD));
    }

    #[test]
    fn validate_names_the_field_and_its_range() {
        assert_eq!(DeadlineConfig::default().validate(), Ok(()));
        assert_eq!(cfg().validate(), Ok(()));
        let bad = |c: DeadlineConfig| c.validate().unwrap_err();
        let e = bad(DeadlineConfig { slice_max_ns: 1 << 63, ..cfg() });
        assert_eq!(
            e,
            ConfigError { field: "slice_max_ns", value: 1 << 63, min: 10_000, max: 1_000_000_000 }
        );
        assert_eq!(
            e.to_string(),
            "DeadlineConfig::slice_max_ns = 9223372036854775808 is out of range: \
             it must lie in 10000..=1000000000"
        );
        let e = bad(DeadlineConfig { slice_min_ns: 9_999, ..cfg() });
        assert_eq!((e.field, e.min, e.max), ("slice_min_ns", 10_000, cfg().slice_max_ns));
        let e = bad(DeadlineConfig { slice_min_ns: cfg().slice_max_ns + 1, ..cfg() });
        assert_eq!(e.field, "slice_min_ns");
        let e = bad(DeadlineConfig { max_exec_ns: u64::MAX, ..cfg() });
        assert_eq!((e.field, e.max), ("max_exec_ns", 1_000_000_000));
        assert_eq!(bad(DeadlineConfig { nr_cpus: 0, ..cfg() }).field, "nr_cpus");
        let e = bad(DeadlineConfig { max_wait_ns: 999_999, ..cfg() });
        assert_eq!((e.field, e.min, e.max), ("max_wait_ns", 1_000_000, 60_000_000_000));
        assert_eq!(DeadlineConfig { max_wait_ns: 0, ..cfg() }.validate(), Ok(()));
        assert!(Deadline::<4>::try_new(DeadlineConfig { nr_cpus: 0, ..cfg() }).is_err());
        assert_eq!(Deadline::<4>::try_new(cfg()).map(|p| *p.config()), Ok(cfg()));
    }

    #[test]
    fn new_clamps_every_field_into_range() {
        let wild = DeadlineConfig {
            slice_max_ns: u64::MAX,
            slice_min_ns: 0,
            nr_cpus: 0,
            max_exec_ns: u64::MAX,
            preempt_wakeups: false,
            max_wait_ns: 1,
        };
        let p = Deadline::<4>::new(wild);
        assert_eq!(p.config().validate(), Ok(()));
        assert_eq!(
            *p.config(),
            DeadlineConfig {
                slice_max_ns: 1_000_000_000,
                slice_min_ns: 10_000,
                nr_cpus: 1,
                max_exec_ns: 1_000_000_000,
                preempt_wakeups: false,
                max_wait_ns: 1_000_000,
            }
        );
        // slice_min above slice_max comes down to it; valid configs stay put.
        let c = DeadlineConfig { slice_min_ns: 7_000_000, ..cfg() }.clamped();
        assert_eq!(c.slice_min_ns, cfg().slice_max_ns);
        assert_eq!(cfg().clamped(), cfg());
    }

    #[test]
    fn a_task_waiting_max_wait_goes_next_whatever_its_deadline() {
        const MS: u64 = 1_000_000;
        let mut p = Deadline::<16>::new(DeadlineConfig { max_wait_ns: 500 * MS, ..cfg() });
        // A nice-19 hog queued at t=0, far behind in deadline order.
        p.enqueue(Task { weight: 1, enq_time: 1, ..task(1, 900 * MS, 5 * MS) }).unwrap();
        // Nice-0 tasks keep arriving with earlier deadlines.
        let mut t = 1;
        for pid in 2..10 {
            t += 100 * MS;
            p.enqueue(Task { enq_time: t, ..task(pid, 1000, 5 * MS) }).unwrap();
            let front = p.vruntime_now().wrapping_sub(cfg().slice_max_ns);
            let d = p.dispatch(t).unwrap();
            if t < 500 * MS {
                assert_eq!(d.pid, pid, "deadline order before the bound (t={t})");
            } else {
                // At 500 ms it is overdue: it goes first, with the front key.
                assert_eq!(d.pid, 1, "the task waiting 500 ms goes next (t={t})");
                assert_eq!(d.deadline, front);
                assert_eq!(p.nr_aged(), 1);
                assert_eq!(p.dispatch(t).unwrap().pid, pid);
                break;
            }
        }
        assert_eq!(p.nr_queued(), 0);
        // Removed tasks leave both heaps: the pid can be queued again.
        p.enqueue(Task { enq_time: 1, ..task(1, 1, 0) }).unwrap();
        assert!(p.remove(1));
        p.enqueue(Task { enq_time: t, ..task(1, 1, 0) }).unwrap();
        assert_eq!(p.dispatch(t + 600 * MS).map(|d| d.pid), Some(1));
        assert_eq!(p.nr_aged(), 2);
    }

    #[test]
    fn no_aging_when_max_wait_is_zero_or_time_runs_backwards() {
        let mut p = Deadline::<16>::new(DeadlineConfig { max_wait_ns: 0, ..cfg() });
        p.enqueue(Task { weight: 1, enq_time: 1, ..task(1, 1000, 5_000_000) }).unwrap();
        p.enqueue(Task { enq_time: 2, ..task(2, 1000, 0) }).unwrap();
        assert_eq!(p.dispatch(u64::MAX / 4).unwrap().pid, 2);
        let mut p = Deadline::<16>::new(cfg());
        p.enqueue(Task { weight: 1, enq_time: 1 << 40, ..task(1, 1000, 5_000_000) }).unwrap();
        p.enqueue(Task { enq_time: 1 << 40, ..task(2, 1000, 0) }).unwrap();
        // `now` before the task's enq_time (another clock): no wait counted.
        assert_eq!(p.dispatch(5).unwrap().pid, 2);
        assert_eq!(p.nr_aged(), 0);
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
