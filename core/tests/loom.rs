// SPDX-License-Identifier: GPL-2.0-only
//! loom model checks of the lock-free queues: every interleaving of a
//! producer and a consumer (small capacity, so the indices wrap).
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p usched-core --test loom --release`.
#![cfg(loom)]
use loom::thread;
use usched_core::mpmc::MpmcQueue;
use usched_core::spsc::RingBuffer;

#[test]
fn spsc_push_pop_wraps() {
    loom::model(|| {
        let q: &'static mut RingBuffer<u32, 2> = Box::leak(Box::new(RingBuffer::new()));
        let (mut tx, mut rx) = q.split();
        let t = thread::spawn(move || {
            let mut sent = 0;
            while sent < 3 {
                if tx.push(sent).is_ok() {
                    sent += 1;
                } else {
                    thread::yield_now();
                }
            }
        });
        let mut got = 0;
        while got < 3 {
            match rx.pop() {
                Some(v) => {
                    assert_eq!(v, got);
                    got += 1;
                }
                None => thread::yield_now(),
            }
        }
        t.join().unwrap();
    });
}

#[test]
fn spsc_batches() {
    loom::model(|| {
        let q: &'static mut RingBuffer<u32, 2> = Box::leak(Box::new(RingBuffer::new()));
        let (mut tx, mut rx) = q.split();
        let t = thread::spawn(move || {
            let mut i = 0;
            while i < 3 {
                let n = tx.push_slice(&[i, i + 1][..(3 - i as usize).min(2)]);
                i += n as u32;
                if n == 0 {
                    thread::yield_now();
                }
            }
        });
        let mut out = [0u32; 2];
        let mut got = 0;
        while got < 3 {
            let n = rx.pop_into(&mut out);
            for v in &out[..n] {
                assert_eq!(*v, got);
                got += 1;
            }
            if n == 0 {
                thread::yield_now();
            }
        }
        t.join().unwrap();
    });
}

#[test]
fn mpmc_two_producers() {
    loom::model(|| {
        let q: &'static MpmcQueue<u32, 2> = Box::leak(Box::new(MpmcQueue::new()));
        let ts: Vec<_> = (0..2)
            .map(|i| {
                thread::spawn(move || {
                    while q.push(i).is_err() {
                        thread::yield_now();
                    }
                })
            })
            .collect();
        let mut seen = [false; 2];
        let mut got = 0;
        while got < 2 {
            match q.pop() {
                Some(v) => {
                    assert!(!seen[v as usize]);
                    seen[v as usize] = true;
                    got += 1;
                }
                None => thread::yield_now(),
            }
        }
        for t in ts {
            t.join().unwrap();
        }
    });
}
