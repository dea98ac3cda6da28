// SPDX-License-Identifier: GPL-2.0-only
//! The high-level runtime: drive any usched-core [`Policy`] on the calling
//! thread, the dispatcher.
//!
//! Each round drains every runnable task into the policy, asks the policy for
//! as many decisions as there are CPUs able to take a task soon (free CPUs
//! minus decisions still in flight), sends them, and kicks the CPUs once for
//! the batch. With nothing to do, the thread waits as the poll mode says.
//! The loop does not allocate.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use scx_utils::UserExitInfo;
use usched_core::policy::Policy;

use crate::error::{Error, Result};
use crate::scheduler::{BpfScheduler, DispatchedTask, RL_CPU_ANY};

/// Numbers the runtime publishes for other threads (lock-free).
#[derive(Debug, Default)]
pub struct RuntimeCounters {
    /// Rounds of the dispatch loop.
    pub rounds: AtomicU64,
    /// Tasks the policy refused (full) and that were sent to any CPU.
    pub policy_overflows: AtomicU64,
    /// Decisions retried because the user ring buffer was full.
    pub dispatch_retries: AtomicU64,
    /// Page faults of the dispatcher thread since the loop started.
    pub page_faults: AtomicU64,
}

/// Runs `policy` until the scheduler exits; then detaches and reports.
///
/// # Errors
/// What [`BpfScheduler::shutdown`] returns.
pub fn run<P: Policy>(
    sched: &mut BpfScheduler<'_>,
    policy: &mut P,
    counters: Option<Arc<RuntimeCounters>>,
) -> Result<UserExitInfo> {
    sched.register_dispatcher_thread();
    let nr_cpus = crate::thread::online_cpus() as u64;
    let faults_at_start = crate::thread::current_thread_page_faults();
    let mut pending: Option<DispatchedTask> = None;
    let mut round: u64 = 0;

    while !sched.exited() {
        round = round.wrapping_add(1);
        let mut progress = false;

        // 1. Everything runnable goes to the policy.
        while let Ok(Some(task)) = sched.dequeue_task() {
            progress = true;
            if let Err(back) = policy.enqueue(task.into()) {
                // Policy full: the task still runs, on any CPU, in order.
                if let Some(c) = &counters {
                    c.policy_overflows.fetch_add(1, Ordering::Relaxed);
                }
                let d = DispatchedTask {
                    pid: back.pid,
                    cpu: back.cpu,
                    flags: RL_CPU_ANY,
                    slice_ns: 0,
                    vtime: back.vtime,
                    seq: back.cookie,
                };
                if sched.dispatch_task(&d).is_err() {
                    pending = pending.or(Some(d));
                }
            }
        }

        // 2. A decision refused earlier for a full ring buffer goes first.
        if let Some(d) = pending.take() {
            if sched.dispatch_task(&d).is_err() {
                pending = Some(d);
                if let Some(c) = &counters {
                    c.dispatch_retries.fetch_add(1, Ordering::Relaxed);
                }
            }
        }

        // 3. As many decisions as CPUs can take soon: free CPUs, or CPUs
        //    without a decided task waiting for them. Latency-critical tasks
        //    have the earliest deadlines, so they go first and preempt.
        let busy = sched.nr_inflight() + sched.nr_scheduled();
        let mut budget = nr_cpus
            .saturating_sub(busy)
            .max(sched.nr_idle_cpus() as u64);
        while budget > 0 && pending.is_none() {
            let Some(d) = policy.dispatch(0) else { break };
            budget -= 1;
            progress = true;
            let t = DispatchedTask::from(d);
            if let Err(Error::DispatchQueueFull { .. }) = sched.dispatch_task(&t) {
                pending = Some(t);
            }
        }

        sched.notify_complete(policy.nr_queued() as u64 + u64::from(pending.is_some()));
        if !progress && policy.nr_queued() > 0 {
            sched.wait();
        }
        if let Some(c) = &counters {
            if round % 1024 == 0 {
                c.rounds.store(round, Ordering::Relaxed);
                c.page_faults.store(
                    crate::thread::current_thread_page_faults().saturating_sub(faults_at_start),
                    Ordering::Relaxed,
                );
            }
        }
    }
    sched.shutdown()
}
