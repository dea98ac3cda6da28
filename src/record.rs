// SPDX-License-Identifier: GPL-2.0-only
//! The ABI records as Rust values: [`QueuedTask`] (BPF → user space, one
//! per runnable task) and [`DispatchedTask`] (a decision, user space →
//! BPF), their byte encodings and their conversions to and from
//! usched-core's [`Task`] and [`Decision`]. Layouts come from `bpf/intf.h`
//! (sizes asserted in `bpf.rs`).
use std::ptr;

use usched_core::policy::{Decision, Task, CPU_ANY};

use crate::bpf::intf;

/// Decision flag: the task may run on any CPU it is allowed on.
pub const RL_CPU_ANY: u64 = intf::usched_dispatch_flags_USCHED_RL_CPU_ANY as u64;
/// Decision flag: preempt the task running on the target CPU.
pub const RL_PREEMPT: u64 = intf::usched_dispatch_flags_USCHED_RL_PREEMPT as u64;

/// Flag of a record that only wakes the dispatcher (no task in it).
const WAKE_ONLY: u32 = intf::usched_task_flags_USCHED_TASK_WAKE_ONLY as u32;
/// Flag of a record whose `cpus_lo` lists every CPU the task may use.
const CPUS_ALL_LO: u32 = intf::usched_task_flags_USCHED_TASK_CPUS_ALL_LO as u32;

/// Bytes of a task's name (the kernel's `TASK_COMM_LEN`), terminator included.
pub const COMM_LEN: usize = 16;

/// A task that became runnable, as sent by the BPF side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueuedTask {
    /// pid that uniquely identifies the task.
    pub pid: i32,
    /// CPU where the task last ran.
    pub cpu: i32,
    /// Number of CPUs it may run on.
    pub nr_cpus_allowed: u32,
    /// `Task::WAKEUP` / `Task::KTHREAD` (usched-core's flags).
    pub flags: u64,
    /// Total CPU time, ns.
    pub sum_exec_runtime: u64,
    /// CPU time since it last slept, ns.
    pub exec_runtime: u64,
    /// Static priority weight (100 = nice 0).
    pub weight: u64,
    /// Voluntary context switches.
    pub nvcsw: u64,
    /// Time slice left when it was enqueued, ns.
    pub slice: u64,
    /// vruntime as kept by the BPF side (last decided vtime + weighted runtime).
    pub vtime: u64,
    /// When it was sent to user space, ns (CLOCK_MONOTONIC).
    pub enq_time: u64,
    /// When it last started running, ns (CLOCK_MONOTONIC; 0: never).
    pub start_ts: u64,
    /// When it last left a CPU (slept, was preempted or used up its
    /// slice), ns (CLOCK_MONOTONIC; 0: never). With
    /// [`start_ts`](Self::start_ts), the length of its last run.
    pub stop_ts: u64,
    /// The key it was last inserted into a DSQ with (`p->scx.dsq_vtime`:
    /// its last decision's [`DispatchedTask::deadline`], else its vtime,
    /// unless the BPF side dispatched it itself; 0 for a new task).
    pub dsq_vtime: u64,
    /// Enqueue sequence; [`DispatchedTask::new`] echoes it back so that a
    /// decision for an older enqueue of the task is recognised as stale.
    pub seq: u64,
    /// The CPUs it may run on (bit n: CPU n) when the machine has at most
    /// 64 CPU ids; `None` on larger machines, where only `cpu` is known to
    /// be allowed.
    pub allowed: Option<u64>,
    /// Its name (`/proc/PID/comm`), NUL-terminated unless it fills all 16
    /// bytes; bytes after the terminator are unspecified.
    /// [`name`](Self::name) reads it as text.
    pub comm: [u8; COMM_LEN],
}

impl QueuedTask {
    /// The task's name up to its terminator; `""` if it is not UTF-8
    /// (the kernel stores bytes).
    pub fn name(&self) -> &str {
        let len = self.comm.iter().position(|&b| b == 0).unwrap_or(COMM_LEN);
        std::str::from_utf8(&self.comm[..len]).unwrap_or("")
    }

    /// Size of a record on the ring buffer.
    pub const RECORD_SIZE: usize = std::mem::size_of::<intf::queued_task>();

    /// Decodes a ring buffer record by value. `None` for a record too short
    /// to be one, and for the task-less records that only wake the dispatcher.
    pub fn decode(data: &[u8]) -> Option<Self> {
        if data.len() < Self::RECORD_SIZE {
            return None;
        }
        // SAFETY: `data` holds at least one queued_task (checked above), a
        // plain-old-data struct of integers; read_unaligned makes no
        // alignment assumption about the ring buffer.
        let rec = unsafe { ptr::read_unaligned(data.as_ptr().cast::<intf::queued_task>()) };
        if rec.flags & WAKE_ONLY != 0 {
            return None;
        }
        Some(Self::from_record(&rec))
    }

    fn from_record(r: &intf::queued_task) -> Self {
        Self {
            pid: r.pid,
            cpu: r.cpu,
            nr_cpus_allowed: r.nr_cpus_allowed,
            flags: u64::from(r.flags & !CPUS_ALL_LO),
            sum_exec_runtime: r.sum_exec_runtime,
            exec_runtime: r.exec_runtime,
            weight: r.weight,
            nvcsw: r.nvcsw,
            slice: r.slice,
            vtime: r.vtime,
            enq_time: r.enq_ts,
            start_ts: r.start_ts,
            stop_ts: r.stop_ts,
            dsq_vtime: r.dsq_vtime,
            seq: r.seq,
            allowed: (r.flags & CPUS_ALL_LO != 0).then_some(r.cpus_lo),
            comm: r.comm.map(|c| c as u8),
        }
    }
}

impl From<QueuedTask> for Task {
    fn from(t: QueuedTask) -> Task {
        Task {
            pid: t.pid,
            cpu: t.cpu,
            nr_cpus_allowed: t.nr_cpus_allowed,
            weight: t.weight,
            exec_runtime: t.exec_runtime,
            vtime: t.vtime,
            sum_exec_runtime: t.sum_exec_runtime,
            nvcsw: t.nvcsw,
            wakeup_freq: 0,
            flags: t.flags,
            enq_time: t.enq_time,
            cookie: t.seq,
        }
    }
}

/// A decision for one task, user space → BPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DispatchedTask {
    /// pid that uniquely identifies the task.
    pub pid: i32,
    /// Target CPU selected by the scheduler (ignored with [`RL_CPU_ANY`]).
    pub cpu: i32,
    /// [`RL_CPU_ANY`], [`RL_PREEMPT`].
    pub flags: u64,
    /// Time slice, ns (0 = the configured default).
    pub slice_ns: u64,
    /// vruntime to store for the task (0 = keep).
    pub vtime: u64,
    /// The [`QueuedTask::seq`] this answers.
    pub seq: u64,
    /// Order among the tasks waiting for a CPU: lower runs first (compared
    /// wrap-safe). 0 = use `vtime`. The BPF side keeps it, like `vtime`,
    /// within `USCHED_VTIME_MAX_LAG` of its vtime clock.
    pub deadline: u64,
}

impl DispatchedTask {
    /// Size of a decision on the user ring buffer.
    pub const RECORD_SIZE: usize = std::mem::size_of::<intf::dispatched_task>();

    /// Encodes the decision as the BPF side reads it.
    pub fn encode(&self, out: &mut [u8; Self::RECORD_SIZE]) {
        let rec = intf::dispatched_task {
            pid: self.pid,
            cpu: self.cpu,
            flags: self.flags,
            slice_ns: self.slice_ns,
            vtime: self.vtime,
            seq: self.seq,
            deadline: self.deadline,
        };
        // SAFETY: `out` is exactly one dispatched_task long;
        // write_unaligned makes no alignment assumption.
        unsafe { ptr::write_unaligned(out.as_mut_ptr().cast::<intf::dispatched_task>(), rec) };
    }

    /// A decision pre-filled from the queued task: same pid and CPU, default
    /// slice, its vruntime (which also orders it), no flags.
    pub fn new(task: &QueuedTask) -> Self {
        Self {
            pid: task.pid,
            cpu: task.cpu,
            flags: 0,
            slice_ns: 0,
            vtime: task.vtime,
            seq: task.seq,
            deadline: 0,
        }
    }
}

impl From<Decision> for DispatchedTask {
    fn from(d: Decision) -> Self {
        let mut flags = 0;
        if d.cpu == CPU_ANY {
            flags |= RL_CPU_ANY;
        }
        if d.flags & Decision::PREEMPT != 0 {
            flags |= RL_PREEMPT;
        }
        // With RL_CPU_ANY the BPF side ignores `cpu`: it carries the CPU to
        // preempt when no CPU is idle.
        let cpu = if d.cpu == CPU_ANY { d.hint_cpu } else { d.cpu };
        Self {
            pid: d.pid,
            cpu,
            flags,
            slice_ns: d.slice_ns,
            vtime: d.vtime,
            seq: d.cookie,
            deadline: d.deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_from_policy_carry_flags_and_seq() {
        let d = Decision {
            pid: 7,
            cpu: CPU_ANY,
            hint_cpu: 1,
            slice_ns: 10,
            vtime: 3,
            flags: Decision::PREEMPT,
            cookie: 99,
            deadline: 11,
        };
        let t = DispatchedTask::from(d);
        assert_eq!(
            (t.pid, t.cpu, t.flags, t.seq, t.vtime, t.deadline),
            (7, 1, RL_CPU_ANY | RL_PREEMPT, 99, 3, 11)
        );
        let q = QueuedTask { pid: 5, cpu: 2, vtime: 8, seq: 4, ..Default::default() };
        let t = DispatchedTask::new(&q);
        assert_eq!((t.pid, t.cpu, t.flags, t.slice_ns, t.vtime, t.seq), (5, 2, 0, 0, 8, 4));
        assert_eq!(Task::from(q).cookie, 4);
    }

    #[test]
    fn record_decoding_keeps_every_field() {
        let r = intf::queued_task {
            pid: 1,
            cpu: 2,
            nr_cpus_allowed: 3,
            flags: 2 | CPUS_ALL_LO,
            sum_exec_runtime: 5,
            exec_runtime: 6,
            weight: 7,
            nvcsw: 8,
            slice: 9,
            vtime: 10,
            enq_ts: 11,
            seq: 12,
            cpus_lo: 13,
            start_ts: 14,
            stop_ts: 15,
            dsq_vtime: 16,
            comm: b"kworker/0:1\0\0\0\0\0".map(|b| b as _),
        };
        let q = QueuedTask::from_record(&r);
        assert_eq!(
            (
                q.pid,
                q.cpu,
                q.nr_cpus_allowed,
                q.flags,
                q.sum_exec_runtime,
                q.exec_runtime,
                q.weight,
                q.nvcsw,
                q.slice,
                q.vtime,
                q.enq_time,
                q.seq
            ),
            (1, 2, 3, 2, 5, 6, 7, 8, 9, 10, 11, 12)
        );
        assert_eq!((q.start_ts, q.stop_ts, q.dsq_vtime), (14, 15, 16));
        assert_eq!(q.name(), "kworker/0:1");
        // The affinity is known only when the record says it is complete.
        assert_eq!(q.allowed, Some(13));
        let big = QueuedTask::from_record(&intf::queued_task { flags: 2, ..r });
        assert_eq!((big.flags, big.allowed), (2, None));
    }

    #[test]
    fn names_without_terminator_or_utf8() {
        let mut q = QueuedTask { comm: *b"0123456789abcdef", ..QueuedTask::default() };
        assert_eq!(q.name(), "0123456789abcdef", "all 16 bytes, no terminator");
        q.comm[0] = 0xff;
        assert_eq!(q.name(), "", "not UTF-8");
        assert_eq!(QueuedTask::default().name(), "");
    }

    #[test]
    fn decode_encode_round_trip() {
        let r = intf::queued_task {
            pid: 42,
            cpu: 1,
            nr_cpus_allowed: 2,
            flags: 1,
            sum_exec_runtime: 5,
            exec_runtime: 6,
            weight: 100,
            nvcsw: 8,
            slice: 9,
            vtime: 10,
            enq_ts: 11,
            seq: 12,
            cpus_lo: 3,
            start_ts: 20,
            stop_ts: 25,
            dsq_vtime: 30,
            comm: [0; COMM_LEN],
        };
        // SAFETY: queued_task is plain integers; viewing it as bytes is sound.
        let bytes = unsafe {
            std::slice::from_raw_parts(ptr::addr_of!(r).cast::<u8>(), QueuedTask::RECORD_SIZE)
        };
        let q = QueuedTask::decode(bytes).unwrap();
        assert_eq!(
            (q.pid, q.weight, q.seq, q.start_ts, q.stop_ts, q.dsq_vtime),
            (42, 100, 12, 20, 25, 30)
        );
        assert!(QueuedTask::decode(&bytes[..10]).is_none());
        let wake = intf::queued_task { flags: WAKE_ONLY, ..r };
        // SAFETY: as above.
        let wb = unsafe {
            std::slice::from_raw_parts(ptr::addr_of!(wake).cast::<u8>(), QueuedTask::RECORD_SIZE)
        };
        assert!(QueuedTask::decode(wb).is_none());
        let mut out = [0u8; DispatchedTask::RECORD_SIZE];
        let d = DispatchedTask {
            pid: 42,
            cpu: 3,
            flags: RL_PREEMPT,
            slice_ns: 7,
            vtime: 8,
            seq: 12,
            deadline: 13,
        };
        d.encode(&mut out);
        // SAFETY: out is one dispatched_task of bytes.
        let back = unsafe { ptr::read_unaligned(out.as_ptr().cast::<intf::dispatched_task>()) };
        assert_eq!(
            (back.pid, back.cpu, back.flags, back.slice_ns, back.vtime, back.seq, back.deadline),
            (42, 3, RL_PREEMPT, 7, 8, 12, 13)
        );
    }
}
