// SPDX-License-Identifier: GPL-2.0-only
//! A bounded, lock-free single-producer/single-consumer ring queue with inline
//! storage.
//!
//! The algorithm is the classic Lamport ring with free-running indices, laid
//! out as in rtrb: `head` (next slot to read) and `tail` (next slot to write)
//! live on their own cache lines, and each side keeps a private copy of the
//! other side's index, refreshing it only when the queue looks full (producer)
//! or empty (consumer). In the steady state a push or a pop therefore touches
//! one shared cache line, not two.
//!
//! Indices grow without bound (wrapping at `usize::MAX`); the slot of index
//! `i` is `i & (N - 1)`, which is why `N` must be a power of two. The queue
//! holds up to `N` items.
//!
//! ```
//! use usched_core::spsc::RingBuffer;
//!
//! let mut q = RingBuffer::<u32, 4>::new();
//! let (mut tx, mut rx) = q.split();
//! assert!(tx.push(1).is_ok());
//! assert_eq!(rx.pop(), Some(1));
//! assert_eq!(rx.pop(), None);
//! ```
use core::fmt;
use core::mem::MaybeUninit;

use crate::sync::{AtomicUsize, Ordering, UnsafeCell};
use crate::CachePadded;

/// The queue's storage. Make one, then [`split`](RingBuffer::split) it into
/// its two ends; while they exist the `&mut` borrow freezes the queue, so no
/// third party can push or pop.
pub struct RingBuffer<T, const N: usize> {
    /// Index of the next slot to read; only the consumer stores it.
    head: CachePadded<AtomicUsize>,
    /// Index of the next slot to write; only the producer stores it.
    tail: CachePadded<AtomicUsize>,
    /// Slots `head..tail` (mod `N`) hold initialised values.
    buf: [UnsafeCell<MaybeUninit<T>>; N],
}

// SAFETY: the queue moves `T`s between threads, so it is `Send`/`Sync` when
// `T: Send`. Each slot is written by the producer only while it is outside
// `head..tail` and read by the consumer only while inside; the Release store
// of the index that publishes the change orders the slot access before the
// other side can see it (Acquire load). No `&T` is ever shared.
unsafe impl<T: Send, const N: usize> Send for RingBuffer<T, N> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: Send, const N: usize> Sync for RingBuffer<T, N> {}

impl<T, const N: usize> RingBuffer<T, N> {
    const CHECK: () =
        assert!(N >= 2 && N.is_power_of_two(), "RingBuffer capacity must be a power of two >= 2");
    const MASK: usize = N - 1;

    /// An empty queue. `const`, so it can be a `static`.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            buf: [const { UnsafeCell::new(MaybeUninit::uninit()) }; N],
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
            buf: core::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        }
    }

    /// How many items the queue holds when full.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Splits the queue into its producer and consumer ends. Both borrow the
    /// queue mutably, so it cannot be split twice at once.
    pub fn split(&mut self) -> (Producer<'_, T, N>, Consumer<'_, T, N>) {
        let rb: &Self = self;
        (
            Producer { rb, index: ProducerIndex::of(rb) },
            Consumer { rb, index: ConsumerIndex::of(rb) },
        )
    }

    /// Number of items in the queue (exact, since `&mut self` excludes both ends).
    pub fn len(&mut self) -> usize {
        self.tail.load(Ordering::Relaxed).wrapping_sub(self.head.load(Ordering::Relaxed))
    }

    /// The queue holds nothing.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    #[inline(always)]
    fn slot(&self, index: usize) -> &UnsafeCell<MaybeUninit<T>> {
        // `index & MASK < N`, so the compiler drops the bounds check.
        &self.buf[index & Self::MASK]
    }
}

impl<T, const N: usize> Default for RingBuffer<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Drop for RingBuffer<T, N> {
    fn drop(&mut self) {
        let mut head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        while head != tail {
            // SAFETY: slots in `head..tail` are initialised, and `&mut self`
            // means no end is alive to touch them.
            self.slot(head).with_mut(|p| unsafe { (*p).assume_init_drop() });
            head = head.wrapping_add(1);
        }
    }
}

impl<T, const N: usize> fmt::Debug for RingBuffer<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer")
            .field("capacity", &N)
            .field("head", &self.head.load(Ordering::Relaxed))
            .field("tail", &self.tail.load(Ordering::Relaxed))
            .finish()
    }
}

/// Error of a producer's `push` ([`Producer::push`], and the owning end's
/// with the `alloc` feature): the queue was full; the item is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is full")
    }
}

#[cfg(feature = "std")]
impl<T: fmt::Debug> std::error::Error for Full<T> {}

/// The producer's private state, shared by [`Producer`] and the owning
/// `OwnedProducer`: its copy of the write index and the last read index it
/// saw.
#[derive(Debug)]
struct ProducerIndex {
    /// Our own copy of `rb.tail` (we are its only writer).
    tail: usize,
    /// Last `rb.head` we read; `tail - cached_head <= N` always.
    cached_head: usize,
}

impl ProducerIndex {
    /// The state of a producer of `rb` as it is now.
    fn of<T, const N: usize>(rb: &RingBuffer<T, N>) -> Self {
        Self { tail: rb.tail.load(Ordering::Relaxed), cached_head: rb.head.load(Ordering::Relaxed) }
    }

    /// Free slots, refreshing the consumer's index only when needed to
    /// find `want` of them.
    #[inline(always)]
    fn free_slots<T, const N: usize>(&mut self, rb: &RingBuffer<T, N>, want: usize) -> usize {
        let mut free = N - self.tail.wrapping_sub(self.cached_head);
        if free < want {
            self.cached_head = rb.head.load(Ordering::Acquire);
            free = N - self.tail.wrapping_sub(self.cached_head);
        }
        debug_assert!(free <= N);
        free
    }

    /// Appends `item`.
    ///
    /// # Safety
    /// `self` is the state of `rb`'s only producer.
    #[inline]
    unsafe fn push<T, const N: usize>(
        &mut self,
        rb: &RingBuffer<T, N>,
        item: T,
    ) -> Result<(), Full<T>> {
        if self.free_slots(rb, 1) == 0 {
            return Err(Full(item));
        }
        // SAFETY: the slot at `tail` is outside `head..tail`, so the consumer
        // does not read it until we publish `tail + 1` below, and no other
        // producer writes it (the caller's contract).
        rb.slot(self.tail).with_mut(|p| unsafe { (*p).write(item) });
        self.tail = self.tail.wrapping_add(1);
        rb.tail.store(self.tail, Ordering::Release);
        Ok(())
    }

    /// Appends as many items of `items` as fit; how many.
    ///
    /// # Safety
    /// `self` is the state of `rb`'s only producer.
    unsafe fn push_slice<T: Copy, const N: usize>(
        &mut self,
        rb: &RingBuffer<T, N>,
        items: &[T],
    ) -> usize {
        let n = self.free_slots(rb, items.len()).min(items.len());
        for (i, item) in items[..n].iter().enumerate() {
            // SAFETY: slots `tail..tail + n` are free (checked above), unseen
            // by the consumer until the store below, and written by no other
            // producer (the caller's contract).
            rb.slot(self.tail.wrapping_add(i)).with_mut(|p| unsafe { (*p).write(*item) });
        }
        if n > 0 {
            self.tail = self.tail.wrapping_add(n);
            rb.tail.store(self.tail, Ordering::Release);
        }
        n
    }
}

/// The consumer's private state, shared by [`Consumer`] and the owning
/// `OwnedConsumer`: its copy of the read index and the last write index it
/// saw.
#[derive(Debug)]
struct ConsumerIndex {
    /// Our own copy of `rb.head` (we are its only writer).
    head: usize,
    /// Last `rb.tail` we read; `cached_tail - head <= N` always.
    cached_tail: usize,
}

impl ConsumerIndex {
    /// The state of a consumer of `rb` as it is now.
    fn of<T, const N: usize>(rb: &RingBuffer<T, N>) -> Self {
        Self { head: rb.head.load(Ordering::Relaxed), cached_tail: rb.tail.load(Ordering::Relaxed) }
    }

    /// Items ready, refreshing the producer's index only when needed to
    /// find `want` of them.
    #[inline(always)]
    fn ready<T, const N: usize>(&mut self, rb: &RingBuffer<T, N>, want: usize) -> usize {
        let mut ready = self.cached_tail.wrapping_sub(self.head);
        if ready < want {
            self.cached_tail = rb.tail.load(Ordering::Acquire);
            ready = self.cached_tail.wrapping_sub(self.head);
        }
        debug_assert!(ready <= N);
        ready
    }

    /// Removes the oldest item.
    ///
    /// # Safety
    /// `self` is the state of `rb`'s only consumer.
    #[inline]
    unsafe fn pop<T, const N: usize>(&mut self, rb: &RingBuffer<T, N>) -> Option<T> {
        if self.ready(rb, 1) == 0 {
            return None;
        }
        // SAFETY: the slot at `head` is inside `head..tail`, initialised by
        // the producer and published by its Release store that our Acquire
        // load saw; it stays ours (the only consumer) until we publish
        // `head + 1`.
        let item = rb.slot(self.head).with(|p| unsafe { (*p).assume_init_read() });
        self.head = self.head.wrapping_add(1);
        rb.head.store(self.head, Ordering::Release);
        Some(item)
    }

    /// Moves up to `out.len()` items into `out`; how many.
    ///
    /// # Safety
    /// `self` is the state of `rb`'s only consumer.
    unsafe fn pop_into<T, const N: usize>(
        &mut self,
        rb: &RingBuffer<T, N>,
        out: &mut [T],
    ) -> usize {
        let n = self.ready(rb, out.len()).min(out.len());
        // Publishes the slots taken so far when it goes out of scope, also
        // when dropping an old value of `out` unwinds (heapless's `Hole`).
        let mut taken = Taken { index: self, rb, n: 0 };
        for dst in &mut out[..n] {
            let index = taken.index.head.wrapping_add(taken.n);
            // SAFETY: as in `pop`, for each of the `n` ready slots; `taken.n`
            // counts this slot as consumed before any user code runs, so it
            // is never read again.
            let item = rb.slot(index).with(|p| unsafe { (*p).assume_init_read() });
            taken.n += 1;
            // Drops the old value: user code that may panic. `item` is ours
            // by now, so either way it is dropped exactly once.
            *dst = item;
        }
        n
    }
}

/// Slots that `pop_into` has moved out; dropping this publishes them, so
/// they count as popped even if the copy loop unwinds.
struct Taken<'c, T, const N: usize> {
    index: &'c mut ConsumerIndex,
    rb: &'c RingBuffer<T, N>,
    /// Slots `head..head + n` have been read and must not be read again.
    n: usize,
}

impl<T, const N: usize> Drop for Taken<'_, T, N> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.index.head = self.index.head.wrapping_add(self.n);
            self.rb.head.store(self.index.head, Ordering::Release);
        }
    }
}

/// The methods of a producer end: a type with fields `rb` (its ring, by
/// reference or `Arc`) and `index` (a [`ProducerIndex`]) whose invariant is
/// that it is its ring's only producer.
macro_rules! producer_methods {
    () => {
        /// Appends `item`.
        ///
        /// # Errors
        /// [`Full`] with the item when the queue holds `N` items.
        #[inline]
        pub fn push(&mut self, item: T) -> Result<(), Full<T>> {
            // SAFETY: `self.index` is the state of the ring's only
            // producer: the invariant of every type using this macro.
            unsafe { self.index.push(&self.rb, item) }
        }

        /// Appends as many items of `items` as fit, in order, and publishes
        /// them with one store. Returns how many were pushed.
        pub fn push_slice(&mut self, items: &[T]) -> usize
        where
            T: Copy,
        {
            // SAFETY: as in `push`.
            unsafe { self.index.push_slice(&self.rb, items) }
        }

        /// Free slots right now (a lower bound: the consumer may free more).
        pub fn slots(&mut self) -> usize {
            self.index.free_slots(&self.rb, N)
        }

        /// The queue is full as far as the producer can tell.
        pub fn is_full(&mut self) -> bool {
            self.index.free_slots(&self.rb, 1) == 0
        }
    };
}

/// The methods of a consumer end: fields `rb` and `index` (a
/// [`ConsumerIndex`]), and the invariant that it is its ring's only
/// consumer.
macro_rules! consumer_methods {
    () => {
        /// Removes the oldest item, or `None` if the queue is empty.
        #[inline]
        pub fn pop(&mut self) -> Option<T> {
            // SAFETY: `self.index` is the state of the ring's only
            // consumer: the invariant of every type using this macro.
            unsafe { self.index.pop(&self.rb) }
        }

        /// Moves up to `out.len()` items into `out`, oldest first, freeing
        /// their slots with one store. Returns how many were moved.
        ///
        /// # Panics
        /// Only if dropping a value that `out` held panics. The items moved
        /// until then count as popped (they are in `out`), the rest stay
        /// queued: nothing is lost or dropped twice.
        pub fn pop_into(&mut self, out: &mut [T]) -> usize {
            // SAFETY: as in `pop`.
            unsafe { self.index.pop_into(&self.rb, out) }
        }

        /// Items ready to pop right now (a lower bound: the producer may add
        /// more).
        pub fn len(&mut self) -> usize {
            self.index.ready(&self.rb, N)
        }

        /// Nothing to pop right now.
        pub fn is_empty(&mut self) -> bool {
            self.index.ready(&self.rb, 1) == 0
        }
    };
}

/// The writing end of a [`RingBuffer`] it borrows.
///
/// Invariant: the ring's only producer ([`RingBuffer::split`] makes one and
/// holds the ring's `&mut` borrow while it lives).
#[derive(Debug)]
pub struct Producer<'a, T, const N: usize> {
    rb: &'a RingBuffer<T, N>,
    index: ProducerIndex,
}

impl<T, const N: usize> Producer<'_, T, N> {
    producer_methods!();
}

/// The reading end of a [`RingBuffer`] it borrows.
///
/// Invariant: the ring's only consumer (as for [`Producer`]).
#[derive(Debug)]
pub struct Consumer<'a, T, const N: usize> {
    rb: &'a RingBuffer<T, N>,
    index: ConsumerIndex,
}

impl<T, const N: usize> Consumer<'_, T, N> {
    consumer_methods!();
}

// After the macros, which are in scope from their definition on.
#[cfg(feature = "alloc")]
mod owned;
#[cfg(feature = "alloc")]
pub use owned::{channel, OwnedConsumer, OwnedProducer};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn fifo_and_full() {
        let mut q = RingBuffer::<u32, 4>::new();
        let (mut tx, mut rx) = q.split();
        for i in 0..4 {
            tx.push(i).unwrap();
        }
        assert_eq!(tx.push(9), Err(Full(9)));
        assert!(tx.is_full());
        assert_eq!(rx.pop(), Some(0));
        tx.push(4).unwrap();
        assert_eq!((1..5).map(|_| rx.pop().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn batches_wrap_around() {
        let mut q = RingBuffer::<u64, 8>::new();
        let (mut tx, mut rx) = q.split();
        let mut next = 0u64;
        let mut expect = 0u64;
        let mut out = [0u64; 5];
        for _ in 0..100 {
            let batch: Vec<u64> = (next..next + 6).collect();
            let n = tx.push_slice(&batch);
            next += n as u64;
            let m = rx.pop_into(&mut out);
            for v in &out[..m] {
                assert_eq!(*v, expect);
                expect += 1;
            }
        }
        assert!(expect > 300);
    }

    #[test]
    fn index_wraps_at_usize_max() {
        let mut q = RingBuffer::<u8, 4>::new();
        q.head.store(usize::MAX - 1, Ordering::Relaxed);
        q.tail.store(usize::MAX - 1, Ordering::Relaxed);
        let (mut tx, mut rx) = q.split();
        for round in 0..10u8 {
            for i in 0..4 {
                tx.push(round * 4 + i).unwrap();
            }
            assert!(tx.push(0).is_err());
            for i in 0..4 {
                assert_eq!(rx.pop(), Some(round * 4 + i));
            }
        }
    }

    #[test]
    fn drops_remaining_items() {
        let token = Rc::new(());
        {
            let mut q = RingBuffer::<Rc<()>, 8>::new();
            let (mut tx, mut rx) = q.split();
            for _ in 0..5 {
                tx.push(token.clone()).unwrap();
            }
            drop(rx.pop());
            assert_eq!(Rc::strong_count(&token), 5);
        }
        assert_eq!(Rc::strong_count(&token), 1);
    }

    /// A value whose drop is counted per id, and panics when `bomb` is set.
    struct Noisy {
        id: usize,
        bomb: bool,
    }

    static POP_INTO_DROPS: [std::sync::atomic::AtomicUsize; 8] =
        [const { std::sync::atomic::AtomicUsize::new(0) }; 8];

    impl Drop for Noisy {
        fn drop(&mut self) {
            POP_INTO_DROPS[self.id].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if self.bomb {
                panic!("Noisy {} panics in drop", self.id);
            }
        }
    }

    #[test]
    fn pop_into_survives_a_panicking_drop() {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        let drops = || POP_INTO_DROPS.iter().map(|d| d.load(Ordering::Relaxed)).collect::<Vec<_>>();
        {
            let mut q = RingBuffer::<Noisy, 4>::new();
            let (mut tx, mut rx) = q.split();
            for id in 0..3 {
                assert!(tx.push(Noisy { id, bomb: false }).is_ok());
            }
            // Overwriting out[1] drops a bomb: pop_into unwinds after moving
            // items 0 and 1 out of the queue.
            let mut out = [
                Noisy { id: 4, bomb: false },
                Noisy { id: 5, bomb: true },
                Noisy { id: 6, bomb: false },
            ];
            let r = catch_unwind(AssertUnwindSafe(|| rx.pop_into(&mut out)));
            assert!(r.is_err(), "the bomb went off");
            assert_eq!(drops()[..7], [0, 0, 0, 0, 1, 1, 0]);
            // Items 0 and 1 are consumed (they now live in `out`), item 2 is
            // still queued.
            assert_eq!(rx.len(), 1);
            let rest = rx.pop();
            assert_eq!(rest.as_ref().map(|n| n.id), Some(2));
            drop(rest);
            drop(out);
        }
        // Every item, and every value `out` held, dropped exactly once.
        assert_eq!(drops()[..7], [1, 1, 1, 0, 1, 1, 1]);
    }

    #[test]
    fn lives_in_a_static() {
        static mut Q: RingBuffer<u16, 2> = RingBuffer::new();
        // SAFETY: only this test touches Q.
        let q = unsafe { &mut *core::ptr::addr_of_mut!(Q) };
        let (mut tx, mut rx) = q.split();
        tx.push(7).unwrap();
        assert_eq!(rx.pop(), Some(7));
    }
}
