// SPDX-License-Identifier: GPL-2.0-only
//! Fault injection for the VM tests (`--inject-fault`, hidden): a policy
//! that panics or hangs after a while, to prove that scx_usched then detaches
//! and exits non-zero instead of leaving a scheduler nobody serves.
use std::time::{Duration, Instant};

use usched::usched_core::policy::{Decision, EnqueueError, Policy, Task};

/// What the wrapped policy does once its time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `dispatch` panics.
    Panic,
    /// `dispatch` never returns.
    Hang,
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "panic" => Ok(Self::Panic),
            "hang" => Ok(Self::Hang),
            _ => Err(format!("'{s}' is not one of panic, hang")),
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
}
