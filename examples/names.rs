// SPDX-License-Identifier: GPL-2.0-only
//! A FIFO scheduler that counts which tasks pass through user space, by
//! name (`QueuedTask::name`), for a number of seconds, then detaches and
//! prints the ten most frequent: `names [SECS]` (default 5).
use std::collections::{HashMap, VecDeque};
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use usched::{BpfScheduler, DispatchedTask, RL_CPU_ANY};

fn main() -> Result<()> {
    let secs: u64 = match std::env::args().nth(1) {
        Some(s) => s.parse().context("usage: names [SECS]")?,
        None => 5,
    };
    let mut open_object = MaybeUninit::uninit();
    let mut bpf = BpfScheduler::init(&mut open_object, 0, false, false)?;
    let mut queue = VecDeque::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end && !bpf.exited() {
        while let Ok(Some(task)) = bpf.dequeue_task() {
            *seen.entry(task.name().to_string()).or_default() += 1;
            queue.push_back(task);
        }
        while let Some(task) = queue.pop_front() {
            let mut d = DispatchedTask::new(&task);
            d.flags |= RL_CPU_ANY;
            if bpf.dispatch_task(&d).is_err() {
                // The ring is full: try again next round.
                queue.push_front(task);
                break;
            }
        }
        bpf.notify_complete(queue.len() as u64);
    }
    drop(bpf);
    let mut top: Vec<_> = seen.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (name, n) in top.iter().take(10) {
        println!("names: {n:8} {name:?}");
    }
    Ok(())
}
