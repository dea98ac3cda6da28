// SPDX-License-Identifier: GPL-2.0-only
use super::{Decision, EnqueueError, Policy, Task, CPU_ANY};
use crate::heap::VtimeHeap;

/// First in, first out, with a fixed slice: the policy of scx_rustland_core's README example.
///
/// Tasks are kept in a [`VtimeHeap`] keyed by arrival order, so `remove`
/// stays O(log n) and the capacity `N` is the only limit.
pub struct Fifo<const N: usize> {
    queue: VtimeHeap<Task, N>,
    seq: u64,
    slice_ns: u64,
}

impl<const N: usize> Fifo<N> {
    /// A FIFO giving every task `slice_ns`.
    pub const fn new(slice_ns: u64) -> Self {
        Self { queue: VtimeHeap::new(), seq: 0, slice_ns }
    }
}

impl<const N: usize> Policy for Fifo<N> {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        // Keys are arrival numbers: the queued ones span at most the pushes
        // since the oldest queued task, far below 2^63.
        self.queue.push(task.pid, self.seq, task)?;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }

    fn dispatch(&mut self, _now: u64) -> Option<Decision> {
        let t = self.queue.pop_min()?.value;
        Some(Decision {
            pid: t.pid,
            cpu: CPU_ANY,
            hint_cpu: t.cpu,
            slice_ns: self.slice_ns,
            vtime: t.vtime,
            flags: 0,
            cookie: t.cookie,
            deadline: 0,
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

    #[test]
    fn first_in_first_out() {
        let mut p = Fifo::<8>::new(5000);
        for pid in [3, 1, 2] {
            p.enqueue(Task { pid, ..Task::default() }).unwrap();
        }
        assert!(p.remove(1));
        assert!(!p.remove(1));
        let d = p.dispatch(0).unwrap();
        assert_eq!((d.pid, d.slice_ns, d.cpu), (3, 5000, CPU_ANY));
        assert_eq!(p.dispatch(0).unwrap().pid, 2);
        assert!(p.dispatch(0).is_none());
    }

    #[test]
    fn refusals_say_why() {
        let mut p = Fifo::<2>::new(5000);
        let t = |pid| Task { pid, ..Task::default() };
        p.enqueue(t(1)).unwrap();
        assert_eq!(p.enqueue(t(1)), Err(EnqueueError::Duplicate(t(1))));
        p.enqueue(t(2)).unwrap();
        assert_eq!(p.enqueue(t(3)), Err(EnqueueError::Full(t(3))));
    }
}
