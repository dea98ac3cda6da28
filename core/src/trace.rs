// SPDX-License-Identifier: GPL-2.0-only
//! The trace format: what a policy saw and decided, as fixed-size
//! little-endian records, so a run on a real machine can be replayed in the
//! simulator (`scx_usched --record FILE`, `usched-sim replay FILE`).
//!
//! A file is a [`Header`] ([`HEADER_BYTES`]) followed by records of
//! [`RECORD_BYTES`] each:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | kind: 1 enqueue, 2 decision, 3 lost, 4 run, 5 stop, 6 wake |
//! | 4 | 4 | pid (i32) |
//! | 8 | 4 | cpu (i32) |
//! | 12 | 4 | enqueue: `nr_cpus_allowed`; decision: `hint_cpu` (i32); stop: 1 if still runnable |
//! | 16 | 8 | time, ns (the recorder's monotonic clock; wake, run, stop: the kernel's, the same clock) |
//! | 24 | 72 | nine u64: enqueue: weight, exec_runtime, vtime, sum_exec_runtime, nvcsw, wakeup_freq, flags, enq_time, cookie; decision: slice_ns, vtime, flags, cookie, deadline, 0, 0, 0, 0; lost: count, 0, ...; run, stop, wake: sum_exec_runtime, tgid (i64), 0, ... |
//!
//! The header (version 2) holds at offset 20 the recorder's own process id
//! (0: unknown), whose threads a replay leaves out.
//!
//! Wake, run and stop records (version 2) are a task waking up, starting
//! and ceasing to run on a CPU, every task the scheduler runs, whether the
//! policy saw it or not. They are written in batches beside the policy's
//! records: the policy's stream is in time order, the run events' in order
//! per CPU (events of different CPUs may be a little out of order), and
//! the two are not in order with each other (sort by [`Record::time_ns`]
//! to merge).
//!
//! A reader refuses another magic, a version newer than its own or another
//! record size; a later version may add kinds or append fields only by
//! raising the version, and a reader reads every version up to its own.
//! Encoding and decoding neither allocate nor fail on any input but a kind
//! they do not know.

use core::fmt;

use crate::policy::{Decision, Task};

/// The file's first 8 bytes.
pub const MAGIC: [u8; 8] = *b"USCHTRC\0";
/// The format's version (1: no wake, run and stop records, no recorder pid).
pub const VERSION: u32 = 2;
/// Bytes of the header.
pub const HEADER_BYTES: usize = 32;
/// Bytes of each record.
pub const RECORD_BYTES: usize = 96;

const KIND_ENQUEUE: u32 = 1;
const KIND_DECISION: u32 = 2;
const KIND_LOST: u32 = 3;
const KIND_RUN: u32 = 4;
const KIND_STOP: u32 = 5;
const KIND_WAKE: u32 = 6;

/// The file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// CPUs of the recording machine.
    pub nr_cpus: u32,
    /// The recorder's process id (0: unknown, as in version 1).
    pub recorder_pid: u32,
    /// The recorder's clock when recording started, ns.
    pub start_ns: u64,
}

/// One event of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// The policy was given `task` at `time_ns`.
    Enqueue {
        /// When, ns.
        time_ns: u64,
        /// The task as the policy saw it.
        task: Task,
    },
    /// The policy decided `decision` at `time_ns`.
    Decision {
        /// When, ns.
        time_ns: u64,
        /// The decision.
        decision: Decision,
    },
    /// The recorder had no room for `count` records before `time_ns`
    /// (bounded memory: it drops rather than blocks the dispatcher).
    Lost {
        /// When, ns.
        time_ns: u64,
        /// Records dropped.
        count: u64,
    },
    /// Task `pid` woke up at `time_ns` (`cpu`: where it ran last).
    Wake {
        /// When, ns.
        time_ns: u64,
        /// The task.
        pid: i32,
        /// Its process.
        tgid: i32,
        /// Where it ran last.
        cpu: i32,
        /// Its total CPU time then, ns.
        sum_exec_runtime: u64,
    },
    /// Task `pid` started running on `cpu` at `time_ns`.
    Run {
        /// When, ns.
        time_ns: u64,
        /// The task.
        pid: i32,
        /// Its process.
        tgid: i32,
        /// Where.
        cpu: i32,
        /// Its total CPU time then, ns.
        sum_exec_runtime: u64,
    },
    /// Task `pid` ceased running on `cpu` at `time_ns`: it slept, or (if
    /// `runnable`) it was preempted or its slice ended.
    Stop {
        /// When, ns.
        time_ns: u64,
        /// The task.
        pid: i32,
        /// Its process.
        tgid: i32,
        /// Where.
        cpu: i32,
        /// Its total CPU time then, ns.
        sum_exec_runtime: u64,
        /// It is still runnable.
        runnable: bool,
    },
}

/// Why bytes are not a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceError {
    /// The file does not start with [`MAGIC`].
    BadMagic,
    /// A format version of 0, or newer than this reader's.
    Version(u32),
    /// Another record size.
    RecordSize(u32),
    /// A record of a kind this version does not know.
    UnknownKind(u32),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => write!(f, "not a usched trace (bad magic)"),
            Self::Version(v) => {
                write!(f, "trace format version {v}; this reader knows 1 to {VERSION}")
            }
            Self::RecordSize(s) => {
                write!(f, "trace records of {s} bytes; this reader knows {RECORD_BYTES}")
            }
            Self::UnknownKind(k) => write!(f, "unknown trace record kind {k}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TraceError {}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl Header {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut b = [0u8; HEADER_BYTES];
        put(&mut b, 0, &MAGIC);
        put(&mut b, 8, &VERSION.to_le_bytes());
        put(&mut b, 12, &(RECORD_BYTES as u32).to_le_bytes());
        put(&mut b, 16, &self.nr_cpus.to_le_bytes());
        put(&mut b, 20, &self.recorder_pid.to_le_bytes());
        put(&mut b, 24, &self.start_ns.to_le_bytes());
        b
    }

    /// Reads a header.
    ///
    /// # Errors
    /// Bad magic, another version or record size.
    pub fn decode(b: &[u8; HEADER_BYTES]) -> Result<Self, TraceError> {
        if b[..8] != MAGIC {
            return Err(TraceError::BadMagic);
        }
        let version = u32_at(b, 8);
        if version == 0 || version > VERSION {
            return Err(TraceError::Version(version));
        }
        let size = u32_at(b, 12);
        if size as usize != RECORD_BYTES {
            return Err(TraceError::RecordSize(size));
        }
        Ok(Self { nr_cpus: u32_at(b, 16), recorder_pid: u32_at(b, 20), start_ns: u64_at(b, 24) })
    }
}

impl Record {
    /// When it happened, ns.
    pub const fn time_ns(&self) -> u64 {
        match self {
            Self::Enqueue { time_ns, .. }
            | Self::Decision { time_ns, .. }
            | Self::Lost { time_ns, .. }
            | Self::Wake { time_ns, .. }
            | Self::Run { time_ns, .. }
            | Self::Stop { time_ns, .. } => *time_ns,
        }
    }

    /// The record's bytes.
    pub fn encode(&self) -> [u8; RECORD_BYTES] {
        let mut b = [0u8; RECORD_BYTES];
        let (kind, pid, cpu, aux, time, words): (u32, i32, i32, u32, u64, [u64; 9]) = match self {
            Self::Enqueue { time_ns, task: t } => (
                KIND_ENQUEUE,
                t.pid,
                t.cpu,
                t.nr_cpus_allowed,
                *time_ns,
                [
                    t.weight,
                    t.exec_runtime,
                    t.vtime,
                    t.sum_exec_runtime,
                    t.nvcsw,
                    t.wakeup_freq,
                    t.flags,
                    t.enq_time,
                    t.cookie,
                ],
            ),
            Self::Decision { time_ns, decision: d } => (
                KIND_DECISION,
                d.pid,
                d.cpu,
                d.hint_cpu as u32,
                *time_ns,
                [d.slice_ns, d.vtime, d.flags, d.cookie, d.deadline, 0, 0, 0, 0],
            ),
            Self::Lost { time_ns, count } => {
                (KIND_LOST, 0, 0, 0, *time_ns, [*count, 0, 0, 0, 0, 0, 0, 0, 0])
            }
            Self::Wake { time_ns, pid, tgid, cpu, sum_exec_runtime } => {
                let w = [*sum_exec_runtime, *tgid as i64 as u64, 0, 0, 0, 0, 0, 0, 0];
                (KIND_WAKE, *pid, *cpu, 0, *time_ns, w)
            }
            Self::Run { time_ns, pid, tgid, cpu, sum_exec_runtime } => {
                let w = [*sum_exec_runtime, *tgid as i64 as u64, 0, 0, 0, 0, 0, 0, 0];
                (KIND_RUN, *pid, *cpu, 0, *time_ns, w)
            }
            Self::Stop { time_ns, pid, tgid, cpu, sum_exec_runtime, runnable } => (
                KIND_STOP,
                *pid,
                *cpu,
                u32::from(*runnable),
                *time_ns,
                [*sum_exec_runtime, *tgid as i64 as u64, 0, 0, 0, 0, 0, 0, 0],
            ),
        };
        put(&mut b, 0, &kind.to_le_bytes());
        put(&mut b, 4, &pid.to_le_bytes());
        put(&mut b, 8, &cpu.to_le_bytes());
        put(&mut b, 12, &aux.to_le_bytes());
        put(&mut b, 16, &time.to_le_bytes());
        for (i, w) in words.iter().enumerate() {
            put(&mut b, 24 + 8 * i, &w.to_le_bytes());
        }
        b
    }

    /// Reads a record.
    ///
    /// # Errors
    /// [`TraceError::UnknownKind`].
    pub fn decode(b: &[u8; RECORD_BYTES]) -> Result<Self, TraceError> {
        let w = |i: usize| u64_at(b, 24 + 8 * i);
        let (pid, cpu, aux) = (u32_at(b, 4) as i32, u32_at(b, 8) as i32, u32_at(b, 12));
        let time_ns = u64_at(b, 16);
        match u32_at(b, 0) {
            KIND_ENQUEUE => Ok(Self::Enqueue {
                time_ns,
                task: Task {
                    pid,
                    cpu,
                    nr_cpus_allowed: aux,
                    weight: w(0),
                    exec_runtime: w(1),
                    vtime: w(2),
                    sum_exec_runtime: w(3),
                    nvcsw: w(4),
                    wakeup_freq: w(5),
                    flags: w(6),
                    enq_time: w(7),
                    cookie: w(8),
                },
            }),
            KIND_DECISION => Ok(Self::Decision {
                time_ns,
                decision: Decision {
                    pid,
                    cpu,
                    hint_cpu: aux as i32,
                    slice_ns: w(0),
                    vtime: w(1),
                    flags: w(2),
                    cookie: w(3),
                    deadline: w(4),
                },
            }),
            KIND_LOST => Ok(Self::Lost { time_ns, count: w(0) }),
            KIND_WAKE => {
                Ok(Self::Wake { time_ns, pid, tgid: w(1) as i32, cpu, sum_exec_runtime: w(0) })
            }
            KIND_RUN => {
                Ok(Self::Run { time_ns, pid, tgid: w(1) as i32, cpu, sum_exec_runtime: w(0) })
            }
            KIND_STOP => Ok(Self::Stop {
                time_ns,
                pid,
                tgid: w(1) as i32,
                cpu,
                sum_exec_runtime: w(0),
                runnable: aux & 1 != 0,
            }),
            k => Err(TraceError::UnknownKind(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_header_round_trip() {
        let task = Task {
            pid: -7,
            cpu: 3,
            nr_cpus_allowed: 1,
            weight: 100,
            exec_runtime: 1,
            vtime: u64::MAX,
            sum_exec_runtime: 3,
            nvcsw: 4,
            wakeup_freq: 5,
            flags: Task::WAKEUP,
            enq_time: 7,
            cookie: 8,
        };
        let d = Decision {
            pid: 9,
            cpu: -1,
            hint_cpu: -1,
            slice_ns: 10,
            vtime: 11,
            flags: Decision::PREEMPT,
            cookie: 12,
            deadline: 13,
        };
        for r in [
            Record::Enqueue { time_ns: 1, task },
            Record::Decision { time_ns: 2, decision: d },
            Record::Lost { time_ns: 3, count: 99 },
            Record::Wake { time_ns: 3, pid: 5, tgid: 4, cpu: 0, sum_exec_runtime: 2 },
            Record::Run { time_ns: 4, pid: 5, tgid: 4, cpu: 1, sum_exec_runtime: 6 },
            Record::Stop {
                time_ns: 7,
                pid: 5,
                tgid: 4,
                cpu: 1,
                sum_exec_runtime: 8,
                runnable: true,
            },
            Record::Stop {
                time_ns: 9,
                pid: -5,
                tgid: -1,
                cpu: 0,
                sum_exec_runtime: 10,
                runnable: false,
            },
        ] {
            assert_eq!(Record::decode(&r.encode()), Ok(r));
        }
        let h = Header { nr_cpus: 64, recorder_pid: 77, start_ns: 123 };
        assert_eq!(Header::decode(&h.encode()), Ok(h));
    }

    #[test]
    fn foreign_bytes_are_refused_with_the_reason() {
        let h = Header { nr_cpus: 2, recorder_pid: 0, start_ns: 0 }.encode();
        let mut bad = h;
        bad[0] = b'X';
        assert_eq!(Header::decode(&bad), Err(TraceError::BadMagic));
        // Every version up to this reader's, nothing newer.
        let mut v1 = h;
        v1[8] = 1;
        assert!(Header::decode(&v1).is_ok());
        let mut v3 = h;
        v3[8] = 3;
        assert_eq!(Header::decode(&v3), Err(TraceError::Version(3)));
        let mut v0 = h;
        v0[8] = 0;
        assert_eq!(Header::decode(&v0), Err(TraceError::Version(0)));
        let mut sz = h;
        sz[12] = 64;
        assert_eq!(Header::decode(&sz), Err(TraceError::RecordSize(64)));
        let mut r = Record::Lost { time_ns: 0, count: 1 }.encode();
        r[0] = 9;
        assert_eq!(Record::decode(&r), Err(TraceError::UnknownKind(9)));
    }
}
