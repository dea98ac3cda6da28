// SPDX-License-Identifier: GPL-2.0-only
//! The user-space half of a dispatch round, without a kernel: decode a batch
//! of 64 ring buffer records, run them through the Deadline policy, and
//! encode the 64 decisions for the user ring buffer.
#![allow(missing_docs)] // criterion_group! generates undocumented fns
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use usched::usched_core::policy::{Deadline, DeadlineConfig, Policy, Task};
use usched::{DispatchedTask, QueuedTask};

const BATCH: usize = 64;

/// One ring buffer record as the BPF side writes it (see bpf/intf.h).
fn record(pid: i32, seq: u64) -> [u8; QueuedTask::RECORD_SIZE] {
    let mut r = [0u8; QueuedTask::RECORD_SIZE];
    r[0..4].copy_from_slice(&pid.to_ne_bytes()); // pid
    r[4..8].copy_from_slice(&1i32.to_ne_bytes()); // cpu
    r[8..12].copy_from_slice(&4u32.to_ne_bytes()); // nr_cpus_allowed
    r[32..40].copy_from_slice(&100u64.to_ne_bytes()); // weight
    r[24..32].copy_from_slice(&(u64::from(pid as u32) * 1000).to_ne_bytes()); // exec_runtime
    r[72..80].copy_from_slice(&seq.to_ne_bytes()); // seq
    r
}

fn batch_round_trip(c: &mut Criterion) {
    let records: Vec<_> = (0..BATCH as i32).map(|p| record(p + 1, 7)).collect();
    let mut policy =
        Box::new(Deadline::<4096>::new(DeadlineConfig { nr_cpus: 2, ..Default::default() }));
    let mut out = [[0u8; DispatchedTask::RECORD_SIZE]; BATCH];

    // Correctness first: every record decodes, every task comes back decided.
    for r in &records {
        policy.enqueue(Task::from(QueuedTask::decode(r).unwrap())).unwrap();
    }
    let mut seen = 0;
    while let Some(d) = policy.dispatch(0) {
        assert_eq!(d.cookie, 7);
        seen += 1;
    }
    assert_eq!(seen, BATCH);

    c.bench_function("decode_policy_encode_batch64", |b| {
        b.iter(|| {
            for r in &records {
                let t = QueuedTask::decode(black_box(r)).unwrap();
                let _ = policy.enqueue(Task::from(t));
            }
            for slot in out.iter_mut() {
                let d = policy.dispatch(0).unwrap();
                DispatchedTask::from(d).encode(slot);
            }
            black_box(&out);
        })
    });
}

criterion_group!(benches, batch_round_trip);
criterion_main!(benches);
