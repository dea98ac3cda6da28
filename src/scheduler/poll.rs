// SPDX-License-Identifier: GPL-2.0-only
//! Waiting for work: after a batch the dispatcher spins, blocks on the ring
//! buffer's epoll or, pinned on a CPU a higher class holds, leaves it for a
//! while (see [`escape`](crate::escape)), as the poll mode says.
use std::mem::MaybeUninit;
use std::sync::atomic::{fence, Ordering};
use std::time::Instant;

use super::{BpfScheduler, MAX_BLOCK_MS};
use crate::config::PollMode;
use crate::escape::{Escape, Move};

impl BpfScheduler<'_> {
    /// Reports how many tasks still wait in user space, sends the kicks
    /// for this batch and ends it (`select_cpu` may hand any CPU out again). With `nr_pending == 0` it then waits for work as the
    /// poll mode says (busy: not at all; adaptive: after the spin window;
    /// blocking: always), for at most 100 ms.
    pub fn notify_complete(&mut self, nr_pending: u64) {
        self.shared.nr_user_queued().store(nr_pending, Ordering::Release);
        self.flush();
        self.clear_claims();
        self.check_escape();
        if nr_pending == 0 {
            self.wait();
        }
    }

    /// Waits for a task to arrive, as the poll mode says (see
    /// [`notify_complete`](Self::notify_complete)). Away from its CPU (see
    /// [`escape`](crate::escape)), a busy dispatcher waits as an adaptive
    /// one: spinning on a CPU it shares would take that CPU from everyone.
    /// An adaptive one spins only while some CPU is idle: on a saturated
    /// machine its spin is CPU time taken from a runnable task (4 CPU hogs
    /// on 4 CPUs lost 12 % of the machine to it, in the VM).
    pub fn wait(&mut self) {
        let away = self.escape.as_ref().is_some_and(Escape::is_away);
        match self.cfg.poll {
            PollMode::Busy if !away => std::hint::spin_loop(),
            PollMode::Busy | PollMode::Adaptive
                if self.last_event.elapsed() < self.cfg.spin && self.any_idle_cpu() =>
            {
                std::hint::spin_loop()
            }
            PollMode::Busy | PollMode::Adaptive | PollMode::Blocking => self.block(),
        }
    }

    /// A pinned dispatcher kept off its CPU (an RT task holds it) runs on
    /// any CPU for a while, then returns (see [`escape`](crate::escape)).
    fn check_escape(&mut self) {
        if self.escape.is_none() {
            return;
        }
        let taken_at = self.shared.dispatcher_cpu_taken_at().load(Ordering::Relaxed);
        let (Some(e), Some(cpu)) = (self.escape.as_mut(), self.cfg.dispatcher_cpu) else {
            return;
        };
        // An RT task was seen on it recently (sampled every heartbeat,
        // and at each ops.cpu_release()).
        let held = taken_at != 0
            && crate::sys::monotonic_ns().saturating_sub(taken_at)
                < crate::escape::HELD_RECENTLY.as_nanos() as u64;
        match e.round(Instant::now(), held) {
            Some(Move::Leave(gap)) => {
                let away = e.away();
                match crate::thread::unpin_current_thread() {
                    Ok(()) => log::warn!(
                        "the dispatcher was kept off CPU {cpu} for {gap:.1?} (a higher-priority \
                         task holds it): running on the process's CPUs for at least {away:.0?}"
                    ),
                    Err(err) => {
                        e.stay();
                        log::warn!("the dispatcher is starved on CPU {cpu}: {err}")
                    }
                }
            }
            Some(Move::Return) => {
                if let Err(err) = crate::thread::pin_current_thread(cpu) {
                    log::warn!("{err}; the dispatcher stays unpinned");
                } else {
                    log::info!("the dispatcher is back on CPU {cpu}");
                }
            }
            None => {}
        }
    }

    fn set_sleeping(&self, v: u32) {
        self.shared.usersched_sleeping().store(v, Ordering::SeqCst);
    }

    fn block(&mut self) {
        if self.staging.len() > 0 {
            return;
        }
        self.set_sleeping(1);
        // Pairs with the barrier of the BPF side's ring buffer commit: either
        // it sees `sleeping` and wakes us, or we see its record here.
        fence(Ordering::SeqCst);
        if self.refill() == 0 {
            let mut ev = MaybeUninit::<libc::epoll_event>::uninit();
            // SAFETY: epoll_fd is the ring buffer's epoll instance, alive
            // with `self.queued`; one event fits in `ev`.
            unsafe { libc::epoll_wait(self.epoll_fd, ev.as_mut_ptr(), 1, MAX_BLOCK_MS) };
        }
        self.set_sleeping(0);
        self.last_event = Instant::now();
        self.slept();
    }

    /// The dispatcher slept (waiting for room or for work): the gap until
    /// its next round is not a sign that it was kept off its CPU.
    pub(super) fn slept(&mut self) {
        if let Some(e) = self.escape.as_mut() {
            e.sleeping();
        }
    }
}
