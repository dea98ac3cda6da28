// SPDX-License-Identifier: GPL-2.0-only
//! A deadline scheduler in a few lines: usched-core's `Deadline` policy on
//! usched's runtime, with a counting global allocator that proves the
//! dispatch loop allocates nothing, and a page-fault count of its thread.
//!
//! usage: deadline [--poll busy|adaptive|blocking] [--secs N] [--dispatcher-cpu C] [--fifo]
//!
//! `--fifo` runs usched-core's `Fifo` instead: a policy that does not say
//! how it orders its tasks (`Policy::next_deadline` left at `None`).
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use usched::runtime::Runtime;
use usched::usched_core::policy::{Deadline, DeadlineConfig, Fifo, Policy};
use usched::{BpfScheduler, Config, OpenObject, PollMode};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let poll: PollMode = get("--poll").map_or(Ok(PollMode::Adaptive), |v| v.parse())?;
    let secs: u64 = get("--secs").map_or(Ok(0), |v| v.parse()).context("--secs")?;
    let dcpu: Option<usize> =
        get("--dispatcher-cpu").map(|v| v.parse()).transpose().context("--dispatcher-cpu")?;
    let nr_cpus = usched::procfs::online_cpus();
    let dcpu = dcpu.or((poll == PollMode::Busy).then(|| nr_cpus - 1));

    // Every side effect is an explicit step here.
    usched::thread::install_exit_signal_handlers()?;
    if let Some(c) = dcpu {
        usched::thread::pin_current_thread(c)?;
    }
    let _lock = usched::thread::lock_memory()?;
    usched::thread::prefault_stack(1 << 20);

    let cfg = Config::default().poll(poll).dispatcher_cpu(dcpu);
    let mut open_object = std::mem::MaybeUninit::<OpenObject>::uninit();
    let mut sched = BpfScheduler::with_config(&mut open_object, &cfg)?;
    let fifo = args.iter().any(|a| a == "--fifo");
    let mut policy: Box<dyn Policy> = if fifo {
        Box::new(Fifo::<4096>::new(5_000_000))
    } else {
        Box::new(Deadline::<4096>::new(DeadlineConfig {
            nr_cpus: nr_cpus as u32,
            ..Default::default()
        }))
    };
    let name = if fifo { "fifo" } else { "deadline" };
    println!("deadline: attached, policy {name}, poll={poll}, dispatcher CPU {dcpu:?}");

    let start = Instant::now();
    let (rounds, allocs, faults) = {
        let mut rt = Runtime::new(&mut sched, &mut policy, None);
        // Warm up: first-time paths (lazy statics, first page touches).
        while !usched::exit_requested() && start.elapsed() < Duration::from_secs(1) {
            rt.step();
        }
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let f0 = usched::procfs::current_thread_page_faults();
        let mut rounds = 0u64;
        loop {
            if rt.exited() || (secs > 0 && start.elapsed() >= Duration::from_secs(secs)) {
                break;
            }
            rt.step();
            rounds += 1;
        }
        (
            rounds,
            ALLOCS.load(Ordering::Relaxed) - a0,
            usched::procfs::current_thread_page_faults() - f0,
        )
    };
    println!("deadline: loop rounds={rounds} allocations={allocs} page_faults={faults}");
    // select_cpu reads the BPF side's idle map from shared memory: time it.
    let n = 100_000;
    let t0 = Instant::now();
    let mut acc = 0i64;
    for i in 0..n {
        acc += i64::from(sched.select_cpu(1, (i % nr_cpus) as i32, 0));
    }
    let per = t0.elapsed().as_nanos() as f64 / f64::from(n as u32);
    println!("deadline: select_cpu {per:.1} ns/call ({} calls, checksum {acc})", n);
    print!("{}", sched.stats());
    sched.shutdown()?;
    println!("deadline: detached after {:.1}s", start.elapsed().as_secs_f64());
    Ok(())
}
