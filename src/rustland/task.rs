// SPDX-License-Identifier: GPL-2.0-only
//! scx_rustland_core's task records, `QueuedTask` and `DispatchedTask`,
//! with their conversions from and to the framework's own.
use std::ffi::c_char;

use super::{RL_CPU_ANY, SCX_ENQ_PREEMPT, SCX_ENQ_WAKEUP};
use crate::record::COMM_LEN;

/// A task that became runnable, as upstream's `QueuedTask`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Clone)]
pub struct QueuedTask {
    /// pid that uniquely identifies the task.
    pub pid: i32,
    /// CPU where the task last ran.
    pub cpu: i32,
    /// Number of CPUs it may run on.
    pub nr_cpus_allowed: u64,
    /// [`SCX_ENQ_WAKEUP`] when a wake-up made it runnable.
    pub flags: u64,
    /// When it last started running, ns (0: never).
    pub start_ts: u64,
    /// When it last left a CPU, ns (0: never).
    pub stop_ts: u64,
    /// CPU time since it last slept, ns.
    pub exec_runtime: u64,
    /// Priority weight, 1..=10000 (100 = nice 0).
    pub weight: u64,
    /// The vtime it was last dispatched with (0 for a new task).
    pub vtime: u64,
    /// Enqueue sequence, echoed back by [`DispatchedTask::new`] so that a
    /// decision for an older enqueue is recognised as stale.
    pub enq_cnt: u64,
    /// Its name, NUL-terminated unless it fills all 16 bytes.
    pub comm: [c_char; COMM_LEN],
}

impl QueuedTask {
    /// The task's name as text (invalid UTF-8 replaced).
    pub fn comm_str(&self) -> String {
        let bytes = self.comm.map(|c| c as u8);
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(COMM_LEN);
        String::from_utf8_lossy(&bytes[..len]).into_owned()
    }
}

impl From<&crate::QueuedTask> for QueuedTask {
    fn from(t: &crate::QueuedTask) -> Self {
        Self {
            pid: t.pid,
            cpu: t.cpu,
            nr_cpus_allowed: u64::from(t.nr_cpus_allowed),
            flags: t.flags & SCX_ENQ_WAKEUP,
            start_ts: t.start_ts,
            stop_ts: t.stop_ts,
            exec_runtime: t.exec_runtime,
            weight: t.weight,
            vtime: t.dsq_vtime,
            enq_cnt: t.seq,
            comm: t.comm.map(|b| b as c_char),
        }
    }
}

/// A decision for one task, as upstream's `DispatchedTask`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Clone)]
pub struct DispatchedTask {
    /// pid that uniquely identifies the task.
    pub pid: i32,
    /// Target CPU, or [`RL_CPU_ANY`]. A CPU the task may not use is
    /// replaced by one it may (counted as a bounce).
    pub cpu: i32,
    /// [`SCX_ENQ_PREEMPT`] preempts the target CPU's task; other bits are
    /// ignored.
    pub flags: u64,
    /// Time slice, ns (0: the default `init` was given).
    pub slice_ns: u64,
    /// The task's vruntime or deadline: it orders the task among those
    /// waiting (lower first) and becomes its vruntime. 0 keeps the
    /// vruntime usched has for it.
    pub vtime: u64,
    /// The [`QueuedTask::enq_cnt`] this answers.
    pub enq_cnt: u64,
}

impl DispatchedTask {
    /// A decision for `task`: its CPU, its flags, the default slice, vtime 0.
    pub fn new(task: &QueuedTask) -> Self {
        Self {
            pid: task.pid,
            cpu: task.cpu,
            flags: task.flags,
            slice_ns: 0,
            vtime: 0,
            enq_cnt: task.enq_cnt,
        }
    }

    /// The same decision in usched's own terms.
    pub(super) fn to_native(&self) -> crate::DispatchedTask {
        let mut flags = 0;
        if self.cpu == RL_CPU_ANY {
            flags |= crate::RL_CPU_ANY;
        }
        if self.flags & SCX_ENQ_PREEMPT != 0 {
            flags |= crate::RL_PREEMPT;
        }
        crate::DispatchedTask {
            pid: self.pid,
            // Ignored with RL_CPU_ANY, where usched reads it as the CPU to
            // preempt: none.
            cpu: if self.cpu == RL_CPU_ANY { -1 } else { self.cpu },
            flags,
            slice_ns: self.slice_ns,
            vtime: self.vtime,
            seq: self.enq_cnt,
            deadline: 0,
        }
    }
}
