// SPDX-License-Identifier: GPL-2.0-only
//! Fault injection for the VM tests (`--inject-fault`, hidden): a policy
//! that panics or hangs after a while, to prove that scx_usched then detaches
//! and exits non-zero instead of leaving a scheduler nobody serves; or one
//! that sends out-of-range decisions, to prove that the BPF side bounds them.
use std::time::{Duration, Instant};

use usched::usched_core::policy::{Decision, EnqueueError, Policy, Task};

/// What the wrapped policy does once its time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `dispatch` panics.
    Panic,
    /// `dispatch` never returns.
    Hang,
    /// Every decision asks for an infinite slice (`u64::MAX`, which is
    /// `SCX_SLICE_INF` to the kernel) and a vtime and key half the clock's
    /// range ahead: what a buggy policy could send. The BPF side clamps
    /// them (`nr_clamped`); unclamped, a task would keep its CPU forever.
    Garbage,
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "panic" => Ok(Self::Panic),
            "hang" => Ok(Self::Hang),
            "garbage" => Ok(Self::Garbage),
            _ => Err(format!("'{s}' is not one of panic, hang, garbage")),
        }
    }
}

/// `P`, until `after` has passed since construction; then the fault.
pub struct Faulty<'a, P> {
    inner: &'a mut P,
    fault: Fault,
    at: Instant,
}

impl<'a, P> Faulty<'a, P> {
    /// Wraps `inner`; the fault strikes `after` from now.
    pub fn new(inner: &'a mut P, fault: Fault, after: Duration) -> Self {
        Self { inner, fault, at: Instant::now() + after }
    }
}

impl<P: Policy> Policy for Faulty<'_, P> {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        self.inner.enqueue(task)
    }

    fn dispatch(&mut self, now: u64) -> Option<Decision> {
        if Instant::now() >= self.at {
            match self.fault {
                Fault::Panic => panic!("injected policy panic (--inject-fault panic)"),
                Fault::Hang => loop {
                    std::hint::spin_loop();
                },
                Fault::Garbage => {
                    return self.inner.dispatch(now).map(|d| Decision {
                        slice_ns: u64::MAX,
                        vtime: d.vtime.wrapping_add(1 << 62),
                        deadline: d.deadline.wrapping_add(1 << 62),
                        ..d
                    })
                }
            }
        }
        self.inner.dispatch(now)
    }

    fn remove(&mut self, pid: i32) -> bool {
        self.inner.remove(pid)
    }

    fn nr_queued(&self) -> usize {
        self.inner.nr_queued()
    }

    fn next_deadline(&self) -> Option<u64> {
        self.inner.next_deadline()
    }

    fn vtime_floor(&self) -> Option<u64> {
        self.inner.vtime_floor()
    }
}
