// SPDX-License-Identifier: GPL-2.0-only
//! Two threads push 10^7 sequenced items through the SPSC queue: nothing may
//! be lost, duplicated or reordered.
#![cfg(not(loom))]
use usched_core::spsc::RingBuffer;

/// Spins, then yields every 64 fruitless tries: under valgrind, which runs
/// one thread at a time, a pure spin would keep the other side from running.
fn backoff(misses: &mut u32) {
    *misses += 1;
    if (*misses).is_multiple_of(64) {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

#[test]
fn ten_million_in_order() {
    // USCHED_STRESS_ITEMS shrinks the run under valgrind, which serialises
    // the two spinning threads.
    let items: u64 = std::env::var("USCHED_STRESS_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(miri) { 10_000 } else { 10_000_000 });

    let mut q = Box::new(RingBuffer::<u64, 1024>::new());
    let (mut tx, mut rx) = q.split();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut i = 0u64;
            let mut batch = [0u64; 32];
            let mut misses = 0;
            while i < items {
                // Mix single pushes and batches.
                if i.is_multiple_of(3) {
                    if tx.push(i).is_ok() {
                        i += 1;
                    } else {
                        backoff(&mut misses);
                    }
                } else {
                    let n = (items - i).min(32) as usize;
                    for (k, b) in batch[..n].iter_mut().enumerate() {
                        *b = i + k as u64;
                    }
                    let pushed = tx.push_slice(&batch[..n]) as u64;
                    if pushed == 0 {
                        backoff(&mut misses);
                    }
                    i += pushed;
                }
            }
        });
        let mut expect = 0u64;
        let mut out = [0u64; 64];
        let mut misses = 0;
        while expect < items {
            if expect.is_multiple_of(2) {
                match rx.pop() {
                    Some(v) => {
                        assert_eq!(v, expect);
                        expect += 1;
                    }
                    None => backoff(&mut misses),
                }
            } else {
                let n = rx.pop_into(&mut out);
                if n == 0 {
                    backoff(&mut misses);
                }
                for v in &out[..n] {
                    assert_eq!(*v, expect);
                    expect += 1;
                }
            }
        }
        assert_eq!(rx.pop(), None);
    });
}
