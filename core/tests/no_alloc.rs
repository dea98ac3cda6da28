// SPDX-License-Identifier: GPL-2.0-only
//! A counting global allocator proves that the `Deadline` policy allocates
//! nothing after construction: 10^6 enqueue/dispatch cycles over 4096 tasks.
#![cfg(not(loom))]
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use usched_core::heap::VtimeHeap;
use usched_core::histogram::Histogram;
use usched_core::policy::{Deadline, DeadlineConfig, Policy, Task};
use usched_core::spsc::RingBuffer;

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

std::thread_local! {
    /// Only allocations of the measuring thread count: the test harness's
    /// own threads may allocate meanwhile (they do under valgrind).
    static MEASURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count() {
    if MEASURING.with(|m| m.get()) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn deadline_cycles_allocate_nothing() {
    const TASKS: i32 = 4096;
    let cycles: u64 = if cfg!(miri) { 1_000 } else { 1_000_000 };
    let mut policy =
        Box::new(Deadline::<4096>::new(DeadlineConfig { nr_cpus: 2, ..Default::default() }));
    let mut ring = Box::new(RingBuffer::<Task, 256>::new());
    let mut hist = Box::new(Histogram::new());
    let mut heap = Box::new(VtimeHeap::<u64, 64>::new());
    let (mut tx, mut rx) = ring.split();
    for pid in 0..TASKS {
        let t = Task {
            pid,
            weight: 100,
            nr_cpus_allowed: 2,
            exec_runtime: (pid as u64 % 7) * 300_000,
            ..Task::default()
        };
        policy.enqueue(t).unwrap();
    }

    let before = ALLOCS.load(Ordering::Relaxed);
    MEASURING.with(|m| m.set(true));
    for i in 0..cycles {
        let d = policy.dispatch(i).expect("queue never empties");
        hist.record(d.slice_ns);
        // The task runs and comes back through the ring, as from the kernel.
        let t = Task {
            pid: d.pid,
            vtime: d.vtime.wrapping_add(d.slice_ns / 3),
            exec_runtime: (i % 11) * 100_000,
            weight: 100,
            nr_cpus_allowed: 2,
            flags: if i % 5 == 0 { Task::WAKEUP } else { 0 },
            ..Task::default()
        };
        tx.push(t).unwrap();
        let back = rx.pop().unwrap();
        policy.enqueue(back).unwrap();
        // Exercise remove/update on a small indexed heap as well.
        let pid = (i % 64) as i32;
        if heap.remove(pid).is_none() {
            heap.push(pid, i, i).unwrap();
        }
    }
    MEASURING.with(|m| m.set(false));
    let after = ALLOCS.load(Ordering::Relaxed);
    assert_eq!(policy.nr_queued(), TASKS as usize);
    assert_eq!(after - before, 0, "allocations in the steady-state loop");
    assert_eq!(hist.count(), cycles);
}
