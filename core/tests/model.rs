// SPDX-License-Identifier: GPL-2.0-only
//! Property tests: random operation sequences against plain std models.
#![cfg(not(loom))]
use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use usched_core::heap::{PushError, VtimeHeap};
use usched_core::mpmc::MpmcQueue;
use usched_core::spsc::RingBuffer;

#[derive(Debug, Clone)]
enum QOp {
    Push(u32),
    Pop,
    PushSlice(Vec<u32>),
    PopInto(usize),
}

fn qop() -> impl Strategy<Value = QOp> {
    prop_oneof![
        any::<u32>().prop_map(QOp::Push),
        Just(QOp::Pop),
        proptest::collection::vec(any::<u32>(), 0..12).prop_map(QOp::PushSlice),
        (0usize..12).prop_map(QOp::PopInto),
    ]
}

proptest! {
    #[test]
    fn spsc_matches_vecdeque(ops in proptest::collection::vec(qop(), 0..400)) {
        let mut q = RingBuffer::<u32, 8>::new();
        let (mut tx, mut rx) = q.split();
        let mut model = VecDeque::new();
        for op in ops {
            match op {
                QOp::Push(v) => {
                    let r = tx.push(v);
                    if model.len() < 8 { prop_assert!(r.is_ok()); model.push_back(v); }
                    else { prop_assert_eq!(r.unwrap_err().0, v); }
                }
                QOp::Pop => prop_assert_eq!(rx.pop(), model.pop_front()),
                QOp::PushSlice(vs) => {
                    let n = tx.push_slice(&vs);
                    prop_assert_eq!(n, vs.len().min(8 - model.len()));
                    model.extend(&vs[..n]);
                }
                QOp::PopInto(k) => {
                    let mut out = vec![0u32; k];
                    let n = rx.pop_into(&mut out);
                    prop_assert_eq!(n, k.min(model.len()));
                    let want: Vec<u32> = model.drain(..n).collect();
                    prop_assert_eq!(&out[..n], &want[..]);
                }
            }
            prop_assert_eq!(rx.len(), model.len());
        }
    }

    #[test]
    fn mpmc_matches_vecdeque(ops in proptest::collection::vec(qop(), 0..400)) {
        let q = MpmcQueue::<u32, 8>::new();
        let mut model = VecDeque::new();
        for op in ops {
            match op {
                QOp::Push(v) => {
                    let r = q.push(v);
                    if model.len() < 8 { prop_assert!(r.is_ok()); model.push_back(v); }
                    else { prop_assert_eq!(r.unwrap_err().0, v); }
                }
                QOp::Pop | QOp::PopInto(_) | QOp::PushSlice(_) => prop_assert_eq!(q.pop(), model.pop_front()),
            }
            prop_assert_eq!(q.len(), model.len());
        }
    }
}

#[derive(Debug, Clone)]
enum HOp {
    Push(i32, u64),
    Pop,
    Remove(i32),
    Update(i32, u64),
    Peek,
}

fn hop() -> impl Strategy<Value = HOp> {
    // Few pids so that duplicates, removals of absent pids and full edges happen;
    // keys near the u64 wrap half the time.
    let key = prop_oneof![0u64..1000, (u64::MAX - 500)..=u64::MAX];
    let pid = 0i32..40;
    prop_oneof![
        (pid.clone(), key.clone()).prop_map(|(p, k)| HOp::Push(p, k)),
        Just(HOp::Pop),
        pid.clone().prop_map(HOp::Remove),
        (pid, key).prop_map(|(p, k)| HOp::Update(p, k)),
        Just(HOp::Peek),
    ]
}

/// Model key: (wrap-adjusted key, seq). Keys live in [MAX-500, MAX] ∪ [0, 1000],
/// so shifting by 501 makes them a plain ordered range.
fn adj(k: u64) -> u64 {
    k.wrapping_add(501)
}

proptest! {
    #[test]
    fn heap_matches_btreemap(ops in proptest::collection::vec(hop(), 0..600)) {
        let mut h = VtimeHeap::<i32, 16>::new();
        let mut by_order: BTreeMap<(u64, u64), i32> = BTreeMap::new();
        let mut by_pid: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
        let mut seq = 0u64;
        for op in ops {
            match op {
                HOp::Push(pid, key) => {
                    let r = h.push(pid, key, pid);
                    if by_pid.contains_key(&pid) {
                        prop_assert_eq!(r, Err(PushError::Duplicate(pid)));
                    } else if by_pid.len() == 16 {
                        prop_assert_eq!(r, Err(PushError::Full(pid)));
                    } else {
                        prop_assert!(r.is_ok());
                        by_order.insert((adj(key), seq), pid);
                        by_pid.insert(pid, (adj(key), seq));
                        seq += 1;
                    }
                }
                HOp::Pop => {
                    let got = h.pop_min();
                    let want = by_order.pop_first();
                    prop_assert_eq!(got.map(|e| (e.pid, adj(e.key))), want.map(|((k, _), p)| (p, k)));
                    if let Some((_, p)) = want { by_pid.remove(&p); }
                }
                HOp::Remove(pid) => {
                    let got = h.remove(pid);
                    match by_pid.remove(&pid) {
                        Some(k) => {
                            by_order.remove(&k);
                            let e = got.unwrap();
                            prop_assert_eq!((e.pid, e.value, adj(e.key)), (pid, pid, k.0));
                        }
                        None => prop_assert!(got.is_none()),
                    }
                }
                HOp::Update(pid, key) => {
                    let got = h.update(pid, key);
                    match by_pid.get(&pid).copied() {
                        Some(k) => {
                            prop_assert!(got.is_ok());
                            by_order.remove(&k);
                            by_order.insert((adj(key), seq), pid);
                            by_pid.insert(pid, (adj(key), seq));
                            seq += 1;
                        }
                        None => prop_assert!(got.is_err()),
                    }
                }
                HOp::Peek => {
                    let got = h.peek().map(|e| (e.pid, adj(e.key), *e.value));
                    let want = by_order.first_key_value().map(|(k, p)| (*p, k.0, *p));
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(h.len(), by_pid.len());
        }
    }
}

fn any_key() -> impl Strategy<Value = u64> {
    // Keys clustered where a span can cross 2^63 or the u64 wrap.
    prop_oneof![
        any::<u64>(),
        0u64..4,
        ((1u64 << 63) - 4)..((1u64 << 63) + 4),
        (u64::MAX - 4)..=u64::MAX,
        ((1u64 << 62) - 2)..((1u64 << 62) + 2),
    ]
}

proptest! {
    /// With keys from the whole `u64` range, whatever the heap accepts it
    /// keeps within `MAX_KEY_SPAN` of its minimum, so the minimum is
    /// wrap-safely before or equal to every queued key.
    #[test]
    fn heap_keeps_keys_within_half_the_range(
        ops in proptest::collection::vec((0u8..3, 0i32..8, any_key()), 0..300)
    ) {
        use usched_core::heap::{UpdateError, MAX_KEY_SPAN};
        use usched_core::time::time_before_eq;
        let mut h = VtimeHeap::<(), 8>::new();
        for (op, pid, key) in ops {
            match op {
                0 => {
                    let was_empty = h.is_empty();
                    match h.push(pid, key, ()) {
                        Ok(()) => prop_assert_eq!(h.get(pid).map(|(k, _)| k), Some(key)),
                        Err(PushError::KeyOutOfRange(())) => prop_assert!(!was_empty),
                        Err(_) => {}
                    }
                }
                1 => match h.update(pid, key) {
                    Ok(()) => prop_assert_eq!(h.get(pid).map(|(k, _)| k), Some(key)),
                    Err(UpdateError::KeyOutOfRange { .. }) => prop_assert!(h.len() > 1),
                    Err(UpdateError::UnknownPid(p)) => prop_assert!(!h.contains(p)),
                },
                _ => {
                    h.pop_min();
                }
            }
            if let Some(min) = h.peek().map(|e| e.key) {
                h.for_each(|_, k, _| {
                    assert!(k.wrapping_sub(min) <= MAX_KEY_SPAN, "key {k} too far from min {min}");
                    assert!(time_before_eq(min, k));
                });
            }
        }
    }
}

proptest! {
    /// Whatever the configuration and the tasks, `Deadline` queues vtimes
    /// within one slice behind and `MAX_VTIME_AHEAD` ahead of its clock,
    /// deadlines at most 100 s of vtime after them, the clock moves forward
    /// by at most `MAX_VTIME_AHEAD` per dispatch, and the heap never refuses
    /// a deadline as out of range.
    #[test]
    fn deadline_vtimes_stay_near_the_clock(
        cfg in (any::<u64>(), any::<u64>(), any::<u32>(), any::<u64>(), any::<u64>()),
        tasks in proptest::collection::vec(
            (0i32..12, any::<u64>(), any::<u64>(), prop_oneof![Just(0u64), 1u64..200, any::<u64>()], any::<bool>(), any::<bool>(), any::<u64>()),
            0..200,
        ),
    ) {
        use usched_core::policy::{Deadline, DeadlineConfig, EnqueueError, Policy, Task, MAX_VTIME_AHEAD};
        use usched_core::time::{time_after_eq, time_before_eq};
        let (slice_max_ns, slice_min_ns, nr_cpus, max_exec_ns, max_wait_ns) = cfg;
        let mut p = Deadline::<8>::new(DeadlineConfig {
            slice_max_ns, slice_min_ns, nr_cpus, max_exec_ns, preempt_wakeups: true, max_wait_ns,
        });
        let slice_max = p.config().slice_max_ns;
        for (pid, vtime, exec_runtime, weight, dispatch, woke, clock) in tasks {
            let flags = if woke { Task::WAKEUP } else { 0 };
            let t = Task {
                pid, vtime, exec_runtime, weight, flags, enq_time: clock / 2,
                nr_cpus_allowed: 1, ..Task::default()
            };
            let now = p.vruntime_now();
            let (v, deadline) = p.deadline_of(&t);
            prop_assert!(time_before_eq(v, now.wrapping_add(MAX_VTIME_AHEAD)));
            prop_assert!(time_after_eq(v, now.wrapping_sub(slice_max)));
            // At most 1 s of runtime, at weight 1: 100 s of vtime.
            prop_assert!(deadline.wrapping_sub(v) <= 100_000_000_000);
            let r = p.enqueue(t);
            prop_assert!(!matches!(r, Err(EnqueueError::KeyOutOfRange(_))));
            if dispatch {
                let now = p.vruntime_now();
                // Any `now`: aging may pick any queued task.
                if let Some(d) = p.dispatch(clock) {
                    prop_assert!(time_after_eq(p.vruntime_now(), now));
                    prop_assert!(p.vruntime_now().wrapping_sub(now) <= MAX_VTIME_AHEAD);
                    prop_assert!((10_000..=slice_max).contains(&d.slice_ns));
                    prop_assert!(!p.remove(d.pid), "a dispatched task left the queue");
                }
            }
        }
    }
}
