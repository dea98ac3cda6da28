// SPDX-License-Identifier: GPL-2.0-only
//! usched-core against the structures schedulers use today. Each bench checks
//! its result before timing. Targets (issue #2) are stated per group and
//! compared in docs/benchmarks.md; they are never asserted here.
#![allow(missing_docs)] // criterion_group! generates undocumented fns
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use crossbeam_queue::ArrayQueue;
use usched_core::heap::VtimeHeap;
use usched_core::histogram::{AtomicHistogram, Histogram};
use usched_core::mpmc::MpmcQueue;
use usched_core::policy::{Deadline, DeadlineConfig, Policy, Task};
use usched_core::spsc::RingBuffer;
use usched_core::trace::{Record, RECORD_BYTES};

const CAP: usize = 1024;

/// Single thread: one push then one pop. Target: ≥ 1.5× faster than ArrayQueue.
fn spsc_single(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_push_pop_1thread");
    {
        let mut q = Box::new(RingBuffer::<u64, CAP>::new());
        let (mut tx, mut rx) = q.split();
        tx.push(1).unwrap();
        assert_eq!(rx.pop(), Some(1));
        g.bench_function("usched_spsc", |b| {
            b.iter(|| {
                let _ = tx.push(black_box(7));
                black_box(rx.pop())
            })
        });
    }
    {
        // The owning ends (`spsc::channel`), as the framework's staging ring
        // and `--record` use them: the same code through an `Arc`.
        let (mut tx, mut rx) = usched_core::spsc::channel::<u64, CAP>();
        g.bench_function("usched_spsc_owned", |b| {
            b.iter(|| {
                let _ = tx.push(black_box(7));
                black_box(rx.pop())
            })
        });
    }
    {
        let q = Box::new(MpmcQueue::<u64, CAP>::new());
        q.push(1).unwrap();
        assert_eq!(q.pop(), Some(1));
        g.bench_function("usched_mpmc", |b| {
            b.iter(|| {
                let _ = q.push(black_box(7));
                black_box(q.pop())
            })
        });
    }
    {
        let q = ArrayQueue::<u64>::new(CAP);
        g.bench_function("crossbeam_arrayqueue", |b| {
            b.iter(|| {
                let _ = q.push(black_box(7));
                black_box(q.pop())
            })
        });
    }
    {
        let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAP);
        g.bench_function("rtrb", |b| {
            b.iter(|| {
                let _ = tx.push(black_box(7));
                black_box(rx.pop().ok())
            })
        });
    }
    {
        let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAP);
        g.bench_function("std_sync_channel", |b| {
            b.iter(|| {
                let _ = tx.try_send(black_box(7));
                black_box(rx.try_recv().ok())
            })
        });
    }
    g.finish();
}

/// Moves `iters` items from a producer thread to a consumer thread and
/// returns the elapsed time. Target: ≥ 2× ArrayQueue's throughput.
fn cross<P, C>(iters: u64, mut push: P, mut pop: C) -> Duration
where
    P: FnMut(u64) -> bool + Send,
    C: FnMut() -> Option<u64> + Send,
{
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut i = 0;
            while i < iters {
                if push(i) {
                    i += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        let mut expect = 0;
        while expect < iters {
            if let Some(v) = pop() {
                assert_eq!(v, expect);
                expect += 1;
            } else {
                std::hint::spin_loop();
            }
        }
    });
    start.elapsed()
}

fn spsc_cross(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_cross_thread_per_item");
    g.bench_function("usched_spsc", |b| {
        b.iter_custom(|iters| {
            let mut q = Box::new(RingBuffer::<u64, CAP>::new());
            let (mut tx, mut rx) = q.split();
            cross(iters, move |v| tx.push(v).is_ok(), move || rx.pop())
        })
    });
    g.bench_function("usched_spsc_batched", |b| {
        b.iter_custom(|iters| {
            let mut q = Box::new(RingBuffer::<u64, CAP>::new());
            let (mut tx, mut rx) = q.split();
            let mut buf = [0u64; 64];
            let (mut have, mut at) = (0usize, 0usize);
            cross(
                iters,
                move |v| tx.push(v).is_ok(),
                move || {
                    if at == have {
                        have = rx.pop_into(&mut buf);
                        at = 0;
                        if have == 0 {
                            return None;
                        }
                    }
                    at += 1;
                    Some(buf[at - 1])
                },
            )
        })
    });
    g.bench_function("usched_mpmc", |b| {
        b.iter_custom(|iters| {
            let q = MpmcQueue::<u64, CAP>::new();
            cross(iters, |v| q.push(v).is_ok(), || q.pop())
        })
    });
    g.bench_function("crossbeam_arrayqueue", |b| {
        b.iter_custom(|iters| {
            let q = ArrayQueue::<u64>::new(CAP);
            cross(iters, |v| q.push(v).is_ok(), || q.pop())
        })
    });
    g.bench_function("rtrb", |b| {
        b.iter_custom(|iters| {
            let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAP);
            cross(iters, move |v| tx.push(v).is_ok(), move || rx.pop().ok())
        })
    });
    g.bench_function("std_sync_channel", |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAP);
            cross(iters, move |v| tx.try_send(v).is_ok(), move || rx.try_recv().ok())
        })
    });
    g.finish();
}

fn key_of(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20
}

/// push + pop_min with `n` tasks queued and uniformly random keys, each
/// iteration independent of the last. Target at 4096: ≤ 0.5× BTreeSet.
/// In steady state the queue holds the largest keys seen, so almost every
/// push is a new minimum that the pop takes straight back (a task woken
/// with the earliest deadline and run next).
fn heap_push_pop(c: &mut Criterion) {
    let mut g = c.benchmark_group("heap_push_pop");
    macro_rules! sizes {
        ($($n:literal),*) => {$(
            let mut h = Box::new(VtimeHeap::<u64, $n>::new());
            for i in 0..($n - 1) as u64 { h.push(i as i32, key_of(i), i).unwrap(); }
            let mut i = $n as u64;
            g.bench_with_input(BenchmarkId::new("usched_vtimeheap", $n), &$n, |b, _| b.iter(|| {
                h.push(i as i32, key_of(i), i).unwrap();
                let e = h.pop_min().unwrap();
                i += 1;
                black_box(e)
            }));
            let mut s = BTreeSet::new();
            for i in 0..($n - 1) as u64 { s.insert((key_of(i), i, i as i32)); }
            let mut i = $n as u64;
            g.bench_with_input(BenchmarkId::new("btreeset", $n), &$n, |b, _| b.iter(|| {
                s.insert((key_of(i), i, i as i32));
                i += 1;
                black_box(s.pop_first())
            }));
            let mut bh = BinaryHeap::new();
            for i in 0..($n - 1) as u64 { bh.push(Reverse((key_of(i), i, i as i32))); }
            let mut i = $n as u64;
            g.bench_with_input(BenchmarkId::new("std_binaryheap", $n), &$n, |b, _| b.iter(|| {
                bh.push(Reverse((key_of(i), i, i as i32)));
                i += 1;
                black_box(bh.pop())
            }));
        )*};
    }
    sizes!(64, 1024, 4096);
    g.finish();
}

/// The key a scheduler would queue after popping `last`: a deadline up to
/// 4 ms (2^22 ns) past the current one, as Deadline's are (vtime near the
/// clock plus up to a slice of runtime). New keys land anywhere in the
/// queued window, never far before it, and each depends on the last pop.
fn near_key(i: u64, last: u64) -> u64 {
    last + (key_of(i) & ((1 << 22) - 1))
}

/// push + pop_min with `n` tasks queued and near-monotone keys, each push
/// keyed off the last pop (a scheduler's dependency chain). Target at
/// 4096: ≤ 0.5× BTreeSet.
fn heap_near_monotone(c: &mut Criterion) {
    let mut g = c.benchmark_group("heap_push_pop_near_monotone");
    macro_rules! sizes {
        ($($n:literal),*) => {$(
            let mut h = Box::new(VtimeHeap::<u64, $n>::new());
            for i in 0..($n - 1) as u64 { h.push(i as i32, near_key(i, 0), i).unwrap(); }
            let (mut i, mut last) = ($n as u64, 0);
            g.bench_with_input(BenchmarkId::new("usched_vtimeheap", $n), &$n, |b, _| b.iter(|| {
                h.push(i as i32, near_key(i, last), i).unwrap();
                let e = h.pop_min().unwrap();
                last = e.key;
                i += 1;
                black_box(e)
            }));
            let mut s = BTreeSet::new();
            for i in 0..($n - 1) as u64 { s.insert((near_key(i, 0), i, i as i32)); }
            let (mut i, mut last) = ($n as u64, 0);
            g.bench_with_input(BenchmarkId::new("btreeset", $n), &$n, |b, _| b.iter(|| {
                s.insert((near_key(i, last), i, i as i32));
                i += 1;
                let e = s.pop_first().unwrap();
                last = e.0;
                black_box(e)
            }));
        )*};
    }
    sizes!(64, 1024, 4096);
    g.finish();
}

/// remove(pid) + re-insert with `n` tasks queued (BinaryHeap cannot remove).
fn heap_remove(c: &mut Criterion) {
    let mut g = c.benchmark_group("heap_remove_reinsert");
    macro_rules! sizes {
        ($($n:literal),*) => {$(
            let mut h = Box::new(VtimeHeap::<u64, $n>::new());
            for i in 0..$n as u64 { h.push(i as i32, key_of(i), i).unwrap(); }
            let mut i = 0u64;
            g.bench_with_input(BenchmarkId::new("usched_vtimeheap", $n), &$n, |b, _| b.iter(|| {
                let pid = (key_of(i) % $n) as i32;
                let e = h.remove(pid).unwrap();
                h.push(pid, e.key.wrapping_add(1), e.value).unwrap();
                i += 1;
            }));
            // BTreeSet needs the key to remove; schedulers keep a pid→key map for it.
            let mut s = BTreeSet::new();
            let mut keys = vec![0u64; $n];
            for i in 0..$n as u64 { keys[i as usize] = key_of(i); s.insert((key_of(i), i as i32)); }
            let mut i = 0u64;
            g.bench_with_input(BenchmarkId::new("btreeset", $n), &$n, |b, _| b.iter(|| {
                let pid = (key_of(i) % $n) as usize;
                assert!(s.remove(&(keys[pid], pid as i32)));
                keys[pid] = keys[pid].wrapping_add(1);
                s.insert((keys[pid], pid as i32));
                i += 1;
            }));
        )*};
    }
    sizes!(64, 1024, 4096);
    g.finish();
}

/// One enqueue + one dispatch of the Deadline policy with 4096 tasks queued.
/// Target: ≤ 50 ns per task.
fn deadline_cycle(c: &mut Criterion) {
    let mut p =
        Box::new(Deadline::<4096>::new(DeadlineConfig { nr_cpus: 2, ..Default::default() }));
    for pid in 0..4095 {
        p.enqueue(Task {
            pid,
            weight: 100,
            exec_runtime: (pid as u64 % 13) * 100_000,
            ..Task::default()
        })
        .unwrap();
    }
    let mut spare = Task { pid: 5000, weight: 100, ..Task::default() };
    c.bench_function("deadline_enqueue_dispatch_4096", |b| {
        b.iter(|| {
            p.enqueue(spare).unwrap();
            let d = p.dispatch(0).unwrap();
            spare = Task {
                pid: d.pid,
                vtime: d.vtime + d.slice_ns / 2,
                exec_runtime: d.slice_ns / 4,
                weight: 100,
                ..Task::default()
            };
            black_box(d)
        })
    });
    assert_eq!(p.nr_queued(), 4095);
}

/// Target: ≤ 5 ns per record.
fn histogram_record(c: &mut Criterion) {
    let mut h = Box::new(Histogram::new());
    // Checked before timing: a bench filter may skip the timed closures.
    h.record(1);
    assert_eq!(h.count(), 1);
    let mut v = 1u64;
    c.bench_function("histogram_record", |b| {
        b.iter(|| {
            v = v.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            h.record(black_box(v >> 40));
        })
    });
    let a = Box::new(AtomicHistogram::new());
    a.record(1);
    assert_eq!(a.snapshot().count(), 1);
    c.bench_function("atomic_histogram_record", |b| {
        b.iter(|| {
            v = v.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            a.record(black_box(v >> 40));
        })
    });
}

/// What `scx_usched --record` adds per policy call: encode one record and
/// push it into the SPSC ring (popped here too, to keep the ring from
/// filling; the writer thread pops in the real recorder). No target: it is
/// reported beside the dispatch round's per-task cost.
fn trace_record(c: &mut Criterion) {
    let mut ring = Box::new(RingBuffer::<[u8; RECORD_BYTES], 16384>::new());
    let (mut tx, mut rx) = ring.split();
    let mut task = Task { pid: 7, weight: 100, flags: Task::WAKEUP, ..Task::default() };
    assert!(tx.push(Record::Enqueue { time_ns: 1, task }.encode()).is_ok());
    assert!(matches!(Record::decode(&rx.pop().expect("pushed")), Ok(Record::Enqueue { .. })));
    let mut out = [[0u8; RECORD_BYTES]; 64];
    let mut i = 0u64;
    c.bench_function("trace_record_encode_push", |b| {
        b.iter(|| {
            i += 1;
            task.enq_time = i;
            task.sum_exec_runtime = i * 3;
            if tx.push(Record::Enqueue { time_ns: i, task }.encode()).is_err() {
                panic!("ring full");
            }
            if i.is_multiple_of(64) {
                black_box(rx.pop_into(&mut out));
            }
        })
    });
}

criterion_group!(
    benches,
    trace_record,
    spsc_single,
    spsc_cross,
    heap_push_pop,
    heap_near_monotone,
    heap_remove,
    deadline_cycle,
    histogram_record
);
criterion_main!(benches);
