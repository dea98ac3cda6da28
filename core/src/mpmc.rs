// SPDX-License-Identifier: GPL-2.0-only
//! A bounded, lock-free multi-producer/multi-consumer queue with inline
//! storage: Dmitry Vyukov's "bounded MPMC queue" (1024cores.net), the
//! algorithm behind crossbeam's `ArrayQueue`, without its heap allocation.
//!
//! Each slot carries a sequence number telling which lap it is ready for:
//! a producer at position `pos` may write the slot once its sequence equals
//! `pos`, then sets it to `pos + 1`; a consumer at `pos` may read it once the
//! sequence is `pos + 1`, then sets it to `pos + N` for the producer of the
//! next lap. Positions are claimed with a CAS on `tail` / `head`.
//!
//! To keep [`MpmcQueue::new`] `const` (so a queue can be a `static`), slot
//! `i` stores its sequence *minus `i`*: every slot then starts at 0.
//!
//! ```
//! use usched_core::mpmc::MpmcQueue;
//! static LOG: MpmcQueue<u32, 64> = MpmcQueue::new();
//! LOG.push(5).unwrap();
//! assert_eq!(LOG.pop(), Some(5));
//! ```
use core::fmt;
use core::mem::MaybeUninit;

use crate::spsc::Full;
use crate::sync::{AtomicUsize, Ordering, UnsafeCell};
use crate::CachePadded;

struct Slot<T> {
    /// The slot's sequence number minus its index (see the module docs).
    seq: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded MPMC queue of up to `N` items (`N` a power of two).
pub struct MpmcQueue<T, const N: usize> {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    slots: [Slot<T>; N],
}

// SAFETY: items move between threads (hence `T: Send`); a slot's value is
// accessed only by the one thread whose CAS claimed its position, and the
// Release store of the slot's sequence orders that access before the next
// owner's Acquire load of it.
unsafe impl<T: Send, const N: usize> Send for MpmcQueue<T, N> {}
// SAFETY: see the `Send` impl.
unsafe impl<T: Send, const N: usize> Sync for MpmcQueue<T, N> {}

impl<T, const N: usize> MpmcQueue<T, N> {
    const CHECK: () =
        assert!(N >= 2 && N.is_power_of_two(), "MpmcQueue capacity must be a power of two >= 2");
    const MASK: usize = N - 1;

    /// An empty queue.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: [const {
                Slot { seq: AtomicUsize::new(0), value: UnsafeCell::new(MaybeUninit::uninit()) }
            }; N],
        }
    }

    /// An empty queue (loom build: not `const`).
    #[cfg(loom)]
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: core::array::from_fn(|_| Slot {
                seq: AtomicUsize::new(0),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            }),
        }
    }

    /// How many items the queue holds when full.
    pub const fn capacity(&self) -> usize {
        N
    }

    #[inline(always)]
    fn seq_of(&self, index: usize) -> (&Slot<T>, usize) {
        let slot = &self.slots[index & Self::MASK];
        (slot, slot.seq.load(Ordering::Acquire).wrapping_add(index & Self::MASK))
    }

    #[inline(always)]
    fn set_seq(&self, slot: &Slot<T>, index: usize, seq: usize) {
        slot.seq.store(seq.wrapping_sub(index & Self::MASK), Ordering::Release);
    }

    /// Appends `item`.
    ///
    /// # Errors
    /// [`Full`] with the item when the queue holds `N` items.
    pub fn push(&self, item: T) -> Result<(), Full<T>> {
        let mut pos = self.tail.load(Ordering::Relaxed);
        loop {
            let (slot, seq) = self.seq_of(pos);
            let diff = seq.wrapping_sub(pos) as isize;
            if diff == 0 {
                // The slot is free for this lap: try to claim the position.
                match self.tail.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: our CAS made us the only owner of this slot
                        // until we publish the new sequence below.
                        slot.value.with_mut(|p| unsafe { (*p).write(item) });
                        self.set_seq(slot, pos, pos.wrapping_add(1));
                        return Ok(());
                    }
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                // The slot still holds last lap's item: the queue is full.
                return Err(Full(item));
            } else {
                // Another producer took this position; catch up.
                pos = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Removes the oldest item, or `None` if the queue is empty.
    pub fn pop(&self) -> Option<T> {
        let mut pos = self.head.load(Ordering::Relaxed);
        loop {
            let (slot, seq) = self.seq_of(pos);
            let diff = seq.wrapping_sub(pos.wrapping_add(1)) as isize;
            if diff == 0 {
                match self.head.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the sequence says a producer wrote this slot
                        // (Acquire pairs with its Release), and our CAS made
                        // us its only reader.
                        let item = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        self.set_seq(slot, pos, pos.wrapping_add(N));
                        return Some(item);
                    }
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                return None;
            } else {
                pos = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Approximate number of items (exact when no other thread is active),
    /// at most `N`.
    ///
    /// The two indices cannot be read at once. As crossbeam's `ArrayQueue`
    /// does, `len` reads `tail`, then `head`, then `tail` again: when `tail`
    /// did not move, the pair existed together (`head <= tail` then). Under
    /// constant pushes it gives up after a few tries and trusts the last
    /// pair, in which `head` may have overtaken the `tail` read before it;
    /// that counts as empty, never as a wrapped "full".
    pub fn len(&self) -> usize {
        const TRIES: usize = 4;
        let mut tail = self.tail.load(Ordering::Acquire);
        let mut head = self.head.load(Ordering::Acquire);
        for _ in 0..TRIES {
            let again = self.tail.load(Ordering::Acquire);
            if again == tail {
                break;
            }
            tail = again;
            head = self.head.load(Ordering::Acquire);
        }
        Self::len_between(head, tail)
    }

    /// Items between `head` and `tail` read at slightly different times:
    /// 0 when `head` is past `tail` (wrap-safe: they are less than
    /// `isize::MAX` apart), else `tail - head` capped at `N`.
    #[inline]
    const fn len_between(head: usize, tail: usize) -> usize {
        let d = tail.wrapping_sub(head);
        if (d as isize) < 0 {
            0
        } else if d > N {
            N
        } else {
            d
        }
    }

    /// The queue looked empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T, const N: usize> Default for MpmcQueue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Drop for MpmcQueue<T, N> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

impl<T, const N: usize> fmt::Debug for MpmcQueue<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpmcQueue").field("capacity", &N).field("len", &self.len()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_full_empty() {
        let q = MpmcQueue::<u32, 4>::new();
        assert_eq!(q.pop(), None);
        for i in 0..4 {
            q.push(i).unwrap();
        }
        assert_eq!(q.push(4), Err(Full(4)));
        for lap in 0..10 {
            assert_eq!(q.pop(), Some(lap));
            q.push(lap + 4).unwrap();
        }
        assert_eq!(q.len(), 4);
    }

    #[test]
    fn len_of_a_torn_read_is_not_full() {
        // `len` reads tail, then head; in between other threads may push
        // one item and pop two, so head is read past the tail it saw. The
        // queue held at most one item meanwhile: len must not say "full".
        let q = MpmcQueue::<u32, 4>::new();
        q.head.store(5, Ordering::Relaxed);
        q.tail.store(4, Ordering::Relaxed);
        let len = q.len();
        q.head.store(0, Ordering::Relaxed);
        q.tail.store(0, Ordering::Relaxed);
        assert_eq!(len, 0);
    }

    #[test]
    fn len_between_pairs() {
        type Q = MpmcQueue<u8, 8>;
        assert_eq!(Q::len_between(3, 3), 0);
        assert_eq!(Q::len_between(3, 7), 4);
        assert_eq!(Q::len_between(3, 11), 8);
        assert_eq!(Q::len_between(3, 100), 8, "capped at N");
        assert_eq!(Q::len_between(4, 3), 0, "head past tail: torn read");
        assert_eq!(Q::len_between(usize::MAX, 1), 2, "across the usize wrap");
        assert_eq!(Q::len_between(1, usize::MAX), 0, "head past tail across the wrap");
    }

    #[test]
    fn many_threads_no_loss() {
        let q = Arc::new(MpmcQueue::<u64, 64>::new());
        let per = if cfg!(miri) { 100 } else { 20_000 };
        let producers: Vec<_> = (0..2)
            .map(|t| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        let mut v = (t << 32) | i;
                        while let Err(Full(back)) = q.push(v) {
                            v = back;
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let popped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                let popped = popped.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut last = [None::<u64>; 2];
                    while popped.load(std::sync::atomic::Ordering::Relaxed) < 2 * per {
                        if let Some(v) = q.pop() {
                            popped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            // Items of one producer arrive in order at any one consumer.
                            let p = (v >> 32) as usize;
                            assert!(last[p].is_none_or(|l| l < v));
                            last[p] = Some(v);
                            got.push(v);
                        } else {
                            std::thread::yield_now();
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<u64> = consumers.into_iter().flat_map(|c| c.join().unwrap()).collect();
        all.sort_unstable();
        let mut want: Vec<u64> =
            (0..2u64).flat_map(|t| (0..per).map(move |i| (t << 32) | i)).collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }
}
