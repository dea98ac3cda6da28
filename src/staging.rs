// SPDX-License-Identifier: GPL-2.0-only
//! The staging buffer: records decoded from the ring buffer wait here for
//! `dequeue_task`. A ring-buffer record is gone once its callback ran, so
//! every record must find room: the caller consumes at most
//! [`free`](Staging::free) records per refill, and a record that finds no
//! room anyway (a broken invariant: a task left in user-space custody with
//! no decision coming) is handed back for the caller to count, never
//! dropped silently.
use crate::record::QueuedTask;

/// A fixed-capacity FIFO of queued tasks; `N` is its capacity.
pub(crate) struct Staging<const N: usize> {
    items: [QueuedTask; N],
    /// Index of the oldest record.
    head: usize,
    /// Records held, from `head` on (mod `N`).
    len: usize,
}

impl<const N: usize> Staging<N> {
    const CHECK: () = assert!(N > 0, "Staging capacity must be positive");

    /// An empty buffer.
    pub(crate) fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self { items: [QueuedTask::default(); N], head: 0, len: 0 }
    }

    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Room left: how many records a refill may consume.
    pub(crate) fn free(&self) -> usize {
        N - self.len
    }

    /// Appends `task`; when full, hands it back.
    // The record by value, as every fallible push hands its item back.
    #[allow(clippy::result_large_err)]
    pub(crate) fn push(&mut self, task: QueuedTask) -> Result<(), QueuedTask> {
        if self.len == N {
            return Err(task);
        }
        self.items[(self.head + self.len) % N] = task;
        self.len += 1;
        Ok(())
    }

    /// Takes the oldest record.
    pub(crate) fn pop(&mut self) -> Option<QueuedTask> {
        if self.len == 0 {
            return None;
        }
        let t = self.items[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(pid: i32) -> QueuedTask {
        QueuedTask { pid, ..Default::default() }
    }

    #[test]
    fn fifo_order_across_the_wrap() {
        let mut s = Staging::<3>::new();
        for round in 0..5 {
            assert_eq!(s.free(), 3);
            for i in 0..3 {
                assert!(s.push(task(round * 10 + i)).is_ok());
            }
            assert_eq!((s.len(), s.free()), (3, 0));
            assert_eq!(s.pop().map(|t| t.pid), Some(round * 10));
            assert!(s.push(task(round * 10 + 3)).is_ok());
            let got: Vec<i32> = std::iter::from_fn(|| s.pop()).map(|t| t.pid).collect();
            assert_eq!(got, vec![round * 10 + 1, round * 10 + 2, round * 10 + 3]);
        }
    }

    #[test]
    fn a_record_that_finds_no_room_is_handed_back() {
        let mut s = Staging::<2>::new();
        assert!(s.push(task(1)).is_ok());
        assert!(s.push(task(2)).is_ok());
        assert_eq!(s.push(task(3)).map_err(|t| t.pid), Err(3));
        assert_eq!(
            (s.pop().map(|t| t.pid), s.pop().map(|t| t.pid), s.pop()),
            (Some(1), Some(2), None)
        );
    }
}
