// SPDX-License-Identifier: GPL-2.0-only
//! Sending decisions: each goes into the user ring buffer (with a bounded
//! wait while the ring is full, kicking every CPU but the one busy mode
//! reserves), and the kicks for a batch go out in one run of the BPF
//! side's kick program.
use std::ptr;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use libbpf_rs::ProgramInput;

use super::BpfScheduler;
use crate::bpf::intf;
use crate::error::{Error, Result};
use crate::record::DispatchedTask;

/// How long [`BpfScheduler::dispatch_task`] waits for room in a full user
/// ring buffer before it gives the decision back: CPUs drain the ring in
/// `ops.dispatch()`, which a kick brings within a scheduling round trip.
pub const FULL_RING_WAIT: Duration = Duration::from_millis(100);
/// The step of that wait.
const FULL_RING_STEP: Duration = Duration::from_micros(50);
/// Kicks are sent again this often while the ring stays full.
const FULL_RING_REKICK: Duration = Duration::from_millis(10);

impl BpfScheduler<'_> {
    /// Sends a decision to the BPF side. Kicks for it are batched until
    /// [`notify_complete`](Self::notify_complete) (or [`flush`](Self::flush)).
    ///
    /// When the user ring buffer is full, it first makes the CPUs drain it
    /// (every CPU is kicked into `ops.dispatch()`) and waits, sleeping, for
    /// up to [`FULL_RING_WAIT`]: a policy that decides faster than the
    /// CPUs take decisions is slowed down, not failed. Each such decision
    /// is counted (`usched-stat`'s `ring_full`).
    ///
    /// # Errors
    /// [`Error::DispatchQueueFull`] when the ring is still full after the
    /// wait: the decision was not sent (nothing is lost; retry it).
    pub fn dispatch_task(&mut self, task: &DispatchedTask) -> Result<()> {
        // The ring is shared (Rc) so that a sample borrows this handle, not
        // `self`, which the wait below needs for kicking.
        let ring = self.dispatched.clone();
        let mut sample = match ring.reserve(DispatchedTask::RECORD_SIZE) {
            Ok(s) => s,
            Err(_) => {
                self.count_ring_full();
                let start = Instant::now();
                let mut kicked: Option<Instant> = None;
                loop {
                    if kicked.is_none_or(|t| t.elapsed() >= FULL_RING_REKICK) {
                        self.kick_all();
                        kicked = Some(Instant::now());
                    }
                    std::thread::sleep(FULL_RING_STEP);
                    if let Ok(s) = ring.reserve(DispatchedTask::RECORD_SIZE) {
                        self.slept();
                        break s;
                    }
                    if start.elapsed() >= FULL_RING_WAIT {
                        self.slept();
                        return Err(Error::DispatchQueueFull { pid: task.pid });
                    }
                }
            }
        };
        match <&mut [u8; DispatchedTask::RECORD_SIZE]>::try_from(&mut sample[..]) {
            Ok(buf) => task.encode(buf),
            Err(_) => {
                return Err(Error::bpf("submitting a decision", "short user ring buffer sample"))
            }
        }
        ring.submit(sample).map_err(|e| Error::bpf("submitting a decision", e))?;
        self.nr_pushed += 1;
        self.shared.nr_user_pushed().store(self.nr_pushed, Ordering::Release);
        self.kicks.add(task);
        Ok(())
    }

    /// Counts a decision that found the user ring buffer full.
    fn count_ring_full(&self) {
        let n = self.shared.nr_user_ring_full();
        n.store(n.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Kicks every online CPU but a busy dispatcher's into the scheduling
    /// path: idle ones awake, busy ones preempted.
    fn kick_all(&mut self) {
        // (Offline CPUs need no check: the kernel skips kicks to them.)
        let (shared, reserved) = (&self.shared, self.reserved_cpu());
        self.kicks.add_all(self.nr_cpu_ids, |c| Some(c) == reserved, |c| shared.cpu_is_idle(c));
        self.flush();
    }

    /// Runs the kick program for the decisions sent since the last flush:
    /// one syscall for the whole batch, none if nothing needs kicking.
    pub fn flush(&mut self) {
        if !self.kicks.is_dirty() {
            return;
        }
        // Pairs with the barrier in the BPF side's ops.update_idle(): either
        // the kick program sees a CPU idle, or that CPU sees the decisions
        // pushed before this call and wakes itself.
        fence(Ordering::SeqCst);
        if let Some(args) = self.kicks.resolve() {
            // SAFETY: kick_args is plain integers; we view it as bytes for
            // the program's context, and the kernel writes it back as is.
            let ctx = unsafe {
                std::slice::from_raw_parts_mut(
                    ptr::from_mut(args).cast::<u8>(),
                    std::mem::size_of::<intf::kick_args>(),
                )
            };
            let input = ProgramInput { context_in: Some(ctx), ..Default::default() };
            // A failed kick only delays the tasks to the next dispatch.
            let _ = self.skel.progs.usched_kick.test_run(input);
        }
        self.kicks.clear();
    }
}
