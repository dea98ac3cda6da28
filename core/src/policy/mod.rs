// SPDX-License-Identifier: GPL-2.0-only
//! Scheduling policies as pure, allocation-free state machines.
//!
//! A policy is fed the tasks that became runnable ([`Policy::enqueue`]) and
//! asked, whenever a CPU can take work, for the next decision
//! ([`Policy::dispatch`]): which task, on which CPU, for how long, with which
//! vruntime. It never sees the kernel, so it runs the same in a scheduler, a
//! simulator or a unit test.
//!
//! Time is passed in, never read: every input carries the timestamps the
//! policy needs, which keeps policies deterministic.

use core::fmt;

use crate::heap::PushError;

mod age;
mod deadline;
mod fifo;

pub use deadline::{ConfigError, Deadline, DeadlineConfig, MAX_VTIME_AHEAD};
pub use fifo::Fifo;

/// `cpu` value of a [`Decision`] that lets the task run on any CPU it may use.
pub const CPU_ANY: i32 = -1;

/// Nice-0 weight (the kernel's `sched_prio_to_weight[20]` scaled as sched_ext
/// reports it: 100).
pub const WEIGHT_NICE0: u64 = 100;

/// What a policy knows of a runnable task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Task {
    /// The task's pid (its identity).
    pub pid: i32,
    /// The CPU it last ran on (a placement hint).
    pub cpu: i32,
    /// Number of CPUs it may run on (1 = pinned).
    pub nr_cpus_allowed: u32,
    /// Scheduling weight: [`WEIGHT_NICE0`] at nice 0, larger for higher priority.
    pub weight: u64,
    /// CPU time consumed since the task last went to sleep, ns.
    pub exec_runtime: u64,
    /// The task's vruntime as the framework keeps it: the `vtime` of the last
    /// decision, plus its runtime since then scaled by `100 / weight`.
    /// 0 for a task never seen before.
    pub vtime: u64,
    /// Total CPU time of the task, ns.
    pub sum_exec_runtime: u64,
    /// Voluntary context switches so far (a high rate means interactive).
    pub nvcsw: u64,
    /// Frequency of the task's wake-ups, per second (0 if unknown).
    pub wakeup_freq: u64,
    /// Framework flags ([`Task::WAKEUP`], [`Task::KTHREAD`]).
    pub flags: u64,
    /// When the task became runnable, ns (framework clock).
    pub enq_time: u64,
    /// Opaque value the framework passes through to the [`Decision`]
    /// (usched: the enqueue sequence number that detects stale decisions).
    pub cookie: u64,
}

impl Task {
    /// The task just woke up (rather than being preempted or yielding).
    pub const WAKEUP: u64 = 1 << 0;
    /// The task is a kernel thread.
    pub const KTHREAD: u64 = 1 << 1;
}

/// A policy's answer: run this task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// The task to run.
    pub pid: i32,
    /// Target CPU, or [`CPU_ANY`].
    pub cpu: i32,
    /// With `cpu == CPU_ANY` and [`Decision::PREEMPT`]: the CPU to preempt
    /// if none is idle (usually the task's last CPU); -1 for none.
    pub hint_cpu: i32,
    /// Time slice, ns.
    pub slice_ns: u64,
    /// The vruntime to remember for the task.
    pub vtime: u64,
    /// Decision flags ([`Decision::PREEMPT`]).
    pub flags: u64,
    /// The [`Task::cookie`] of the task, unchanged.
    pub cookie: u64,
    /// Order among the tasks waiting for a CPU, lower first (compared
    /// wrap-safe, in the units of `vtime`): the framework keeps waiting
    /// tasks in this order, so it holds however decisions are batched.
    /// 0: order by `vtime`.
    pub deadline: u64,
}

impl Decision {
    /// Preempt the task running on the target CPU if it is of lower priority.
    pub const PREEMPT: u64 = 1 << 0;
}

/// Why [`Policy::enqueue`] refused a task. The task is handed back as it
/// was given; the caller must place it some other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueError {
    /// The policy's queue is full.
    Full(Task),
    /// A task with this pid is already queued (the framework sent it twice:
    /// remove the queued one first, or drop this one).
    Duplicate(Task),
    /// The task's queue key (deadline, vruntime) is 2^63 or more away from
    /// the queued ones, so wrap-safe comparison could not order it (see
    /// [`crate::heap::MAX_KEY_SPAN`]). The built-in policies bound their
    /// keys so that this cannot happen.
    KeyOutOfRange(Task),
}

impl EnqueueError {
    /// The refused task.
    pub const fn task(&self) -> &Task {
        match self {
            Self::Full(t) | Self::Duplicate(t) | Self::KeyOutOfRange(t) => t,
        }
    }

    /// The refused task, by value.
    pub const fn into_task(self) -> Task {
        match self {
            Self::Full(t) | Self::Duplicate(t) | Self::KeyOutOfRange(t) => t,
        }
    }

    /// The same reason as the heap's `err`, handing back `task` (for
    /// policies that queue something other than the [`Task`] itself).
    pub fn from_push<T>(err: &PushError<T>, task: Task) -> Self {
        match err {
            PushError::Full(_) => Self::Full(task),
            PushError::Duplicate(_) => Self::Duplicate(task),
            PushError::KeyOutOfRange(_) => Self::KeyOutOfRange(task),
        }
    }
}

impl From<PushError<Task>> for EnqueueError {
    fn from(err: PushError<Task>) -> Self {
        match err {
            PushError::Full(t) => Self::Full(t),
            PushError::Duplicate(t) => Self::Duplicate(t),
            PushError::KeyOutOfRange(t) => Self::KeyOutOfRange(t),
        }
    }
}

impl fmt::Display for EnqueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.task().pid;
        match self {
            Self::Full(_) => write!(f, "policy queue is full; pid {pid} was not queued"),
            Self::Duplicate(_) => write!(f, "pid {pid} is already queued in the policy"),
            Self::KeyOutOfRange(_) => {
                write!(f, "queue key of pid {pid} is 2^63 or more away from the queued tasks' keys")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EnqueueError {}

/// A scheduling policy. Implementations must not allocate in these methods.
pub trait Policy {
    /// Takes a runnable task.
    ///
    /// # Errors
    /// Hands the task back inside an [`EnqueueError`] saying why: the
    /// policy's queue is full, or the pid is already queued, or (custom
    /// policies) its key cannot be ordered. The caller must then place the
    /// task some other way.
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError>;

    /// The next task to run, if any, chosen at time `now` (ns, on the clock
    /// of [`Task::enq_time`]: usched passes CLOCK_MONOTONIC, the BPF
    /// side's `bpf_ktime_get_ns()`; a simulator its own clock).
    fn dispatch(&mut self, now: u64) -> Option<Decision>;

    /// Drops a queued task (it exited, or the kernel took it back).
    /// Returns whether it was queued.
    fn remove(&mut self, pid: i32) -> bool;

    /// Number of tasks waiting.
    fn nr_queued(&self) -> usize;

    /// The earliest [`Decision::deadline`] among the tasks the policy holds,
    /// if it orders them by a key in the units of `vtime` (`None` by
    /// default: the framework then assumes nothing about them). A task the
    /// policy sends out of that order (aging) may get an earlier one. usched's BPF side lets a task whose slice
    /// ran out go on without a round trip only while its key comes before
    /// this one.
    fn next_deadline(&self) -> Option<u64> {
        None
    }

    /// The earliest `vtime` the policy would queue a task with now (where
    /// its sleepers' credit ends), if it orders tasks by vtime (`None` by
    /// default). usched's BPF side carries a task's key across the slices
    /// it keeps the task running without a round trip (the policy's offset
    /// kept, moved on by the vtime charged since); once the task has run a
    /// whole slice since it last slept (a CPU hog), it counts that vtime
    /// from no earlier than this floor, as the policy would had the task come
    /// through it (when the floor is that task's: return the lowest of your
    /// floors if they differ by weight). Without it, a CPU hog kept while
    /// the policy's clock moved on held a key tens of ms before the one a
    /// task waking then got, and was kept again at each slice end while
    /// that task waited.
    fn vtime_floor(&self) -> Option<u64> {
        None
    }
}

/// A policy borrowed mutably is a policy (a runtime can drive one it does
/// not own).
impl<P: Policy + ?Sized> Policy for &mut P {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        (**self).enqueue(task)
    }
    fn dispatch(&mut self, now: u64) -> Option<Decision> {
        (**self).dispatch(now)
    }
    fn remove(&mut self, pid: i32) -> bool {
        (**self).remove(pid)
    }
    fn nr_queued(&self) -> usize {
        (**self).nr_queued()
    }
    fn next_deadline(&self) -> Option<u64> {
        (**self).next_deadline()
    }
    fn vtime_floor(&self) -> Option<u64> {
        (**self).vtime_floor()
    }
}

/// A boxed policy is a policy (large capacities live on the heap).
#[cfg(feature = "std")]
impl<P: Policy + ?Sized> Policy for std::boxed::Box<P> {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        (**self).enqueue(task)
    }
    fn dispatch(&mut self, now: u64) -> Option<Decision> {
        (**self).dispatch(now)
    }
    fn remove(&mut self, pid: i32) -> bool {
        (**self).remove(pid)
    }
    fn nr_queued(&self) -> usize {
        (**self).nr_queued()
    }
    fn next_deadline(&self) -> Option<u64> {
        (**self).next_deadline()
    }
    fn vtime_floor(&self) -> Option<u64> {
        (**self).vtime_floor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_error_hands_the_task_back_and_says_why() {
        let t = Task { pid: 42, vtime: 7, ..Task::default() };
        for (e, says) in [
            (EnqueueError::Full(t), "full"),
            (EnqueueError::Duplicate(t), "already queued"),
            (EnqueueError::KeyOutOfRange(t), "2^63"),
        ] {
            assert_eq!(*e.task(), t);
            let msg = e.to_string();
            assert!(msg.contains(says) && msg.contains("42"), "{msg}");
            assert_eq!(e.into_task(), t);
        }
        assert_eq!(EnqueueError::from(PushError::Duplicate(t)), EnqueueError::Duplicate(t));
        assert_eq!(EnqueueError::from_push(&PushError::Full(()), t), EnqueueError::Full(t));
    }
}
