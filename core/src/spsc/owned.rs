// SPDX-License-Identifier: GPL-2.0-only
//! Owning ends of a [`RingBuffer`] (feature `alloc`): [`channel`] puts the
//! ring in an `Arc`, its one allocation, so that each end owns a share of
//! it and can move into a `'static` callback or to another thread, as
//! rtrb's ends do. The ring is dropped, with the items still queued, when
//! both ends are.
use alloc::sync::Arc;

use super::{ConsumerIndex, Full, ProducerIndex, RingBuffer};

/// A ring of capacity `N` (a power of two ≥ 2), allocated once and split
/// into its two owning ends.
///
/// ```
/// let (mut tx, mut rx) = usched_core::spsc::channel::<u32, 4>();
/// let t = std::thread::spawn(move || assert!(tx.push(7).is_ok()));
/// t.join().unwrap();
/// assert_eq!(rx.pop(), Some(7));
/// ```
pub fn channel<T, const N: usize>() -> (OwnedProducer<T, N>, OwnedConsumer<T, N>) {
    let rb = Arc::new(RingBuffer::new());
    let (producer, consumer) = (ProducerIndex::of(&rb), ConsumerIndex::of(&rb));
    (OwnedProducer { rb: rb.clone(), index: producer }, OwnedConsumer { rb, index: consumer })
}

/// The writing end made by [`channel`].
///
/// Invariant: the ring's only producer (`channel` makes one, and it is not
/// `Clone`).
#[derive(Debug)]
pub struct OwnedProducer<T, const N: usize> {
    rb: Arc<RingBuffer<T, N>>,
    index: ProducerIndex,
}

impl<T, const N: usize> OwnedProducer<T, N> {
    producer_methods!();
}

/// The reading end made by [`channel`].
///
/// Invariant: the ring's only consumer (as for [`OwnedProducer`]).
#[derive(Debug)]
pub struct OwnedConsumer<T, const N: usize> {
    rb: Arc<RingBuffer<T, N>>,
    index: ConsumerIndex,
}

impl<T, const N: usize> OwnedConsumer<T, N> {
    consumer_methods!();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn ends_cross_threads_in_order() {
        let (mut tx, mut rx) = channel::<u64, 8>();
        let t = std::thread::spawn(move || {
            for i in 0..10_000u64 {
                let mut v = i;
                while let Err(Full(back)) = tx.push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        });
        let mut next = 0;
        while next < 10_000 {
            if let Some(v) = rx.pop() {
                assert_eq!(v, next);
                next += 1;
            }
        }
        t.join().unwrap();
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn full_hands_the_item_back() {
        let (mut tx, mut rx) = channel::<u8, 2>();
        assert_eq!((tx.push(1), tx.push(2), tx.push(3)), (Ok(()), Ok(()), Err(Full(3))));
        assert!(tx.is_full());
        assert_eq!(rx.len(), 2);
        let mut out = [0u8; 4];
        assert_eq!(rx.pop_into(&mut out), 2);
        assert_eq!(out[..2], [1, 2]);
        assert_eq!(tx.slots(), 2);
    }

    #[test]
    fn queued_items_drop_with_the_last_end() {
        let token = Rc::new(());
        let (mut tx, rx) = channel::<Rc<()>, 4>();
        for _ in 0..3 {
            assert!(tx.push(token.clone()).is_ok());
        }
        drop(rx);
        assert_eq!(Rc::strong_count(&token), 4, "the producer still holds the ring");
        drop(tx);
        assert_eq!(Rc::strong_count(&token), 1);
    }
}
