// SPDX-License-Identifier: GPL-2.0-only
//! The staging path: records decoded from the ring buffer wait in one of
//! usched-core's SPSC rings ([`spsc::channel`]) for `dequeue_task`. The
//! ring buffer's callback owns the producer end ([`Sink`]), the scheduler
//! the consumer end ([`Staged`]). A ring-buffer record is gone once its
//! callback ran, so every record must find room: the caller consumes at
//! most [`free`](Staged::free) records per refill, and a record that finds
//! no room anyway (a broken invariant: a task left in user-space custody
//! with no decision coming) is counted, never dropped silently.
use std::cell::Cell;
use std::rc::Rc;

use usched_core::spsc::{self, OwnedConsumer, OwnedProducer};

use crate::record::QueuedTask;

/// A staging ring of capacity `N` (a power of two ≥ 2), split into the
/// callback's end and the scheduler's.
pub(crate) fn staging<const N: usize>() -> (Sink<N>, Staged<N>) {
    let (tx, rx) = spsc::channel();
    let lost = Rc::new(Cell::new(0));
    (Sink { tx, lost: lost.clone() }, Staged { rx, lost })
}

/// The producer end, which the ring buffer's callback owns.
pub(crate) struct Sink<const N: usize> {
    tx: OwnedProducer<QueuedTask, N>,
    /// Records that found the ring full, shared with [`Staged`].
    lost: Rc<Cell<u64>>,
}

impl<const N: usize> Sink<N> {
    /// Stages the task of the ring-buffer record `data`. A task-less
    /// wake-up record is skipped; a task that finds no room, and a record
    /// too short to be one (an ABI mismatch: it may have carried a task),
    /// are counted as lost.
    pub(crate) fn take(&mut self, data: &[u8]) {
        let Some(task) = QueuedTask::decode(data) else {
            if data.len() < QueuedTask::RECORD_SIZE {
                self.lost.set(self.lost.get() + 1);
            }
            return;
        };
        if self.tx.push(task).is_err() {
            self.lost.set(self.lost.get() + 1);
        }
    }
}

/// The consumer end, which the scheduler owns.
pub(crate) struct Staged<const N: usize> {
    rx: OwnedConsumer<QueuedTask, N>,
    lost: Rc<Cell<u64>>,
}

impl<const N: usize> Staged<N> {
    /// Records staged. Exact: [`Sink::take`] runs on this thread, inside
    /// the ring buffer's consume calls.
    pub(crate) fn len(&mut self) -> usize {
        self.rx.len()
    }

    /// Room left: how many records a refill may consume.
    pub(crate) fn free(&mut self) -> usize {
        N - self.rx.len()
    }

    /// Takes the oldest record.
    pub(crate) fn pop(&mut self) -> Option<QueuedTask> {
        self.rx.pop()
    }

    /// Records that found no room since the last call.
    pub(crate) fn take_lost(&self) -> u64 {
        self.lost.replace(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::intf;

    /// The ring-buffer record of task `pid` (`flags` as the BPF side sets them).
    fn record(pid: i32, flags: u32) -> Vec<u8> {
        // SAFETY: queued_task is plain integers, for which all zeroes is valid.
        let zero: intf::queued_task = unsafe { std::mem::zeroed() };
        let r = intf::queued_task { pid, flags, ..zero };
        // SAFETY: queued_task is plain integers; viewing it as bytes is sound.
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::addr_of!(r).cast::<u8>(), QueuedTask::RECORD_SIZE)
        };
        bytes.to_vec()
    }

    #[test]
    fn fifo_order_across_the_wrap() {
        let (mut sink, mut staged) = staging::<4>();
        for round in 0..5 {
            assert_eq!(staged.free(), 4);
            for i in 0..4 {
                sink.take(&record(round * 10 + i, 0));
            }
            assert_eq!((staged.len(), staged.free()), (4, 0));
            assert_eq!(staged.pop().map(|t| t.pid), Some(round * 10));
            sink.take(&record(round * 10 + 4, 0));
            let got: Vec<i32> = std::iter::from_fn(|| staged.pop()).map(|t| t.pid).collect();
            assert_eq!(got, (1..5).map(|i| round * 10 + i).collect::<Vec<_>>());
        }
        assert_eq!(staged.take_lost(), 0);
    }

    #[test]
    fn a_short_record_is_counted_a_wake_only_one_skipped() {
        let (mut sink, mut staged) = staging::<4>();
        let full = record(7, 0);
        sink.take(&full[..full.len() - 1]);
        assert_eq!(staged.take_lost(), 1, "a short record may have been a task");
        sink.take(&record(0, intf::usched_task_flags_USCHED_TASK_WAKE_ONLY as u32));
        assert_eq!((staged.take_lost(), staged.len()), (0, 0), "a wake-only record carries none");
    }

    #[test]
    fn a_record_that_finds_no_room_is_counted() {
        let (mut sink, mut staged) = staging::<2>();
        for pid in 1..=3 {
            sink.take(&record(pid, 0));
        }
        assert_eq!(staged.take_lost(), 1, "the third record found the ring full");
        assert_eq!(staged.take_lost(), 0, "counted once");
        assert_eq!(
            (staged.pop().map(|t| t.pid), staged.pop().map(|t| t.pid), staged.pop()),
            (Some(1), Some(2), None)
        );
    }
}
