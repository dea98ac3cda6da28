// SPDX-License-Identifier: GPL-2.0-only
//! Run events: each wake-up, start and end of a task's run on a CPU, as the
//! BPF side tells them when [`Config::run_events`](crate::Config::run_events)
//! is on (`emit_run_event()` in `bpf/main.bpf.c`, through the `run_events`
//! ring buffer). [`RunEvents`] reads them through its own file
//! descriptor, so it runs on a thread of its own, off the dispatcher's
//! path: nothing is read unless [`RunEvents::poll`] is called, and nobody
//! wakes it (the BPF side submits without a wake-up; poll it every few
//! milliseconds: the ring holds about 87,000 events, 48 bytes each with
//! the ring's own header).
use std::sync::{Arc, Mutex, PoisonError};

use libbpf_rs::{MapHandle, RingBuffer, RingBufferBuilder};

use crate::bpf::intf;
use crate::error::{Error, Result};

const RUN: u32 = intf::usched_run_event_kind_USCHED_RUN_EVENT_RUN;
const STOP: u32 = intf::usched_run_event_kind_USCHED_RUN_EVENT_STOP;
const YIELD: u32 = intf::usched_run_event_kind_USCHED_RUN_EVENT_YIELD;
const WAKE: u32 = intf::usched_run_event_kind_USCHED_RUN_EVENT_WAKE;

/// Bytes of an event record (`struct usched_run_event`).
const EVENT_BYTES: usize = 40;
const _: () = assert!(std::mem::size_of::<intf::usched_run_event>() == EVENT_BYTES);

/// What happened to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEventKind {
    /// It started running.
    Run,
    /// It ceased running and sleeps (or exits).
    Stop,
    /// It ceased running but is still runnable: preempted, or its slice
    /// ended.
    Yield,
    /// It woke up: runnable, not yet running.
    Wake,
}

/// A task waking up, starting or ceasing to run on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEvent {
    /// When, ns (CLOCK_MONOTONIC, the clock of
    /// [`QueuedTask::enq_time`](crate::QueuedTask::enq_time)).
    pub time_ns: u64,
    /// The task.
    pub pid: i32,
    /// Its process (thread group).
    pub tgid: i32,
    /// The CPU (where it runs; for [`RunEventKind::Wake`], where it ran
    /// last).
    pub cpu: i32,
    /// Started or ceased.
    pub kind: RunEventKind,
    /// The task's total CPU time then, ns.
    pub sum_exec_runtime: u64,
}

impl RunEvent {
    /// Decodes a record; `None` for a short one or an unknown kind.
    fn decode(b: &[u8]) -> Option<(Self, u64)> {
        let b: &[u8; EVENT_BYTES] = b.get(..EVENT_BYTES)?.try_into().ok()?;
        let u64_at = |at: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[at..at + 8]);
            u64::from_ne_bytes(x)
        };
        let u32_at = |at: usize| {
            let mut x = [0u8; 4];
            x.copy_from_slice(&b[at..at + 4]);
            u32::from_ne_bytes(x)
        };
        let kind = match u32_at(32) {
            RUN => RunEventKind::Run,
            STOP => RunEventKind::Stop,
            YIELD => RunEventKind::Yield,
            WAKE => RunEventKind::Wake,
            _ => return None,
        };
        let ev = Self {
            time_ns: u64_at(0),
            sum_exec_runtime: u64_at(8),
            pid: u32_at(24) as i32,
            cpu: u32_at(28) as i32,
            tgid: u32_at(36) as i32,
            kind,
        };
        Some((ev, u64_at(16)))
    }
}

/// What the ring buffer's callback hands over to [`RunEvents::poll`].
#[derive(Default)]
struct Inbox {
    events: Vec<RunEvent>,
    /// Events the BPF side could not write (ring full), as of the latest
    /// event read.
    lost: u64,
    /// Records that did not decode.
    bad: u64,
}

/// The reader of a scheduler's wake, run and stop events. Made by
/// [`crate::BpfScheduler::run_events`]; it holds its own reference on the
/// ring, so it stays valid (and empty) after the scheduler is gone.
pub struct RunEvents {
    // Dropped before `_map`: the ring buffer's mappings first.
    ring: RingBuffer<'static>,
    inbox: Arc<Mutex<Inbox>>,
    _map: MapHandle,
}

impl std::fmt::Debug for RunEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunEvents").finish_non_exhaustive()
    }
}

impl RunEvents {
    pub(crate) fn new(map: MapHandle) -> Result<Self> {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let sink = inbox.clone();
        let mut rb = RingBufferBuilder::new();
        rb.add(&map, move |data: &[u8]| {
            let mut i = sink.lock().unwrap_or_else(PoisonError::into_inner);
            match RunEvent::decode(data) {
                Some((ev, lost)) => {
                    i.events.push(ev);
                    i.lost = i.lost.max(lost);
                }
                None => i.bad += 1,
            }
            0
        })
        .map_err(|e| Error::bpf("setting up the run-event ring buffer", e))?;
        let ring = rb.build().map_err(|e| Error::bpf("setting up the run-event ring buffer", e))?;
        Ok(Self { ring, inbox, _map: map })
    }

    /// Reads every event waiting, oldest first, into `f`; returns how many.
    ///
    /// # Errors
    /// [`Error::Bpf`] when reading the ring buffer fails.
    pub fn poll(&mut self, mut f: impl FnMut(RunEvent)) -> Result<usize> {
        self.ring.consume().map_err(|e| Error::bpf("reading run events", e))?;
        let events = {
            let mut i = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut i.events)
        };
        let n = events.len();
        events.into_iter().for_each(&mut f);
        Ok(n)
    }

    /// Events lost since load (the ring was full), as the latest event
    /// read says, plus records that did not decode (none unless the BPF
    /// object and this build disagree).
    pub fn lost(&self) -> u64 {
        let i = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        i.lost + i.bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_as_the_abi_lays_them_out() {
        let mut b = [0u8; EVENT_BYTES];
        let ev = intf::usched_run_event {
            ts: 7,
            sum_exec_runtime: 9,
            lost: 3,
            pid: -4,
            cpu: 2,
            kind: YIELD,
            tgid: 11,
        };
        // SAFETY: `usched_run_event` is plain integers, EVENT_BYTES long
        // (asserted above), with no padding bytes (40 = 3 × 8 + 4 × 4).
        let raw = unsafe { std::slice::from_raw_parts((&raw const ev).cast::<u8>(), EVENT_BYTES) };
        b.copy_from_slice(raw);
        let want = RunEvent {
            time_ns: 7,
            pid: -4,
            tgid: 11,
            cpu: 2,
            kind: RunEventKind::Yield,
            sum_exec_runtime: 9,
        };
        assert_eq!(RunEvent::decode(&b), Some((want, 3)));
        b[32] = 9;
        assert_eq!(RunEvent::decode(&b), None);
        assert_eq!(RunEvent::decode(&b[..EVENT_BYTES - 1]), None);
    }
}
