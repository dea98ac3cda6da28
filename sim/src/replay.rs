// SPDX-License-Identifier: GPL-2.0-only
//! Reading a recorded trace (`scx_usched --record FILE`, format in
//! `usched_core::trace`) and turning it into a workload to replay.
//!
//! Each pid's enqueue records become its bursts: a record flagged as a
//! wake-up starts a burst at its `enq_time`; the CPU time the task used
//! until its next record (the difference of `sum_exec_runtime`) is work of
//! that burst (a record without the wake-up flag, a preemption or slice
//! end, continues it). The replay is open-loop: a burst becomes runnable at
//! its recorded time, or when the previous one is done if that is later.
//! A task's last record has no successor, so its last burst's work is the
//! task's average burst.
//!
//! A trace with wake, run and stop records (format version 2) is replayed
//! from them instead: every task the scheduler ran, a burst per wake-up
//! whose work is the CPU time of its runs until the next one (the
//! recorder's own threads left out; weights and pinning from the task's
//! first enqueue record where the policy saw it, else nice 0 and
//! unpinned). Its run records also give the recorded enqueue → run
//! latency, and count the runs the BPF side made without the policy.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use usched_core::histogram::Histogram;
use usched_core::policy::{Task, WEIGHT_NICE0};
use usched_core::trace::{Header, Record, TraceError, HEADER_BYTES, RECORD_BYTES};

use crate::machine::{nice_to_weight, KWEIGHT_NICE0};
use crate::workload::{Behavior, TaskSpec};

/// A trace that cannot be read.
#[derive(Debug)]
pub enum ReplayError {
    /// Reading failed.
    Io(std::io::Error),
    /// The bytes are not a trace this version reads.
    Format(TraceError),
    /// The file ends inside a record (a recorder killed mid-write): the
    /// whole records before it are kept, this says how many bytes were cut.
    Truncated(usize),
    /// No enqueue record: nothing to replay.
    Empty,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "reading the trace: {e}"),
            Self::Format(e) => write!(f, "{e}"),
            Self::Truncated(n) => write!(f, "the trace ends inside a record ({n} bytes cut)"),
            Self::Empty => write!(f, "the trace holds no enqueued task: nothing to replay"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// A trace, read.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Its header.
    pub header: Header,
    /// Its records, in file order.
    pub records: Vec<Record>,
    /// Bytes of a cut last record, ignored (0 normally).
    pub truncated: usize,
}

impl Trace {
    /// Reads a whole trace. A cut last record is dropped and reported in
    /// [`Trace::truncated`].
    ///
    /// # Errors
    /// I/O errors, a foreign header or record kind.
    pub fn read(mut r: impl Read) -> Result<Self, ReplayError> {
        let mut hb = [0u8; HEADER_BYTES];
        r.read_exact(&mut hb).map_err(ReplayError::Io)?;
        let header = Header::decode(&hb).map_err(ReplayError::Format)?;
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).map_err(ReplayError::Io)?;
        let truncated = bytes.len() % RECORD_BYTES;
        let mut records = Vec::with_capacity(bytes.len() / RECORD_BYTES);
        for chunk in bytes.chunks_exact(RECORD_BYTES) {
            let mut b = [0u8; RECORD_BYTES];
            b.copy_from_slice(chunk);
            records.push(Record::decode(&b).map_err(ReplayError::Format)?);
        }
        Ok(Self { header, records, truncated })
    }

    /// Numbers of enqueue and decision records.
    pub fn counts(&self) -> (usize, usize) {
        let enq = self.records.iter().filter(|r| matches!(r, Record::Enqueue { .. })).count();
        let dec = self.records.iter().filter(|r| matches!(r, Record::Decision { .. })).count();
        (enq, dec)
    }

    /// Numbers of wake, run and stop records.
    pub fn run_counts(&self) -> (usize, usize, usize) {
        let count = |f: fn(&Record) -> bool| self.records.iter().filter(|r| f(r)).count();
        (
            count(|r| matches!(r, Record::Wake { .. })),
            count(|r| matches!(r, Record::Run { .. })),
            count(|r| matches!(r, Record::Stop { .. })),
        )
    }

    /// Enqueue → run latency as recorded: from each enqueue record's
    /// `enq_time` (when the BPF side sent the task up, before the record's
    /// own time, which enqueue → decision starts from) to its pid's next
    /// run record (the first enqueue counts when several come before a
    /// run); and how many run records no enqueue record came before (tasks
    /// the BPF side ran without the policy, or still running from before).
    /// An enqueue whose run was not recorded (lost, or before the
    /// recording) is dropped at the pid's next stop: it never pairs with a
    /// later, unrelated run. The two streams are merged by time first.
    pub fn recorded_enq_run(&self) -> (Histogram, u64) {
        let mut recs: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| {
                matches!(r, Record::Enqueue { .. } | Record::Run { .. } | Record::Stop { .. })
            })
            .collect();
        recs.sort_by_key(|r| r.time_ns());
        let mut h = Histogram::new();
        let mut pending: BTreeMap<i32, u64> = BTreeMap::new();
        let mut without = 0u64;
        for r in recs {
            match r {
                Record::Enqueue { task, .. } => {
                    pending.entry(task.pid).or_insert(task.enq_time);
                }
                Record::Run { time_ns, pid, .. } => match pending.remove(pid) {
                    Some(t) => h.record(time_ns.saturating_sub(t)),
                    None => without += 1,
                },
                // The enqueue came after the previous run's stop: a stop
                // before any run since means that run went unrecorded.
                Record::Stop { pid, .. } => {
                    pending.remove(pid);
                }
                _ => {}
            }
        }
        (h, without)
    }

    /// Records lost while recording (from the `Lost` records).
    pub fn lost(&self) -> u64 {
        self.records
            .iter()
            .map(|r| if let Record::Lost { count, .. } = r { *count } else { 0 })
            .sum()
    }

    /// Enqueue → decision latency as recorded (matched by pid and cookie).
    pub fn recorded_enq_dispatch(&self) -> Histogram {
        let mut h = Histogram::new();
        let mut pending: BTreeMap<(i32, u64), u64> = BTreeMap::new();
        for r in &self.records {
            match r {
                Record::Enqueue { time_ns, task } => {
                    pending.insert((task.pid, task.cookie), *time_ns);
                }
                Record::Decision { time_ns, decision } => {
                    if let Some(t) = pending.remove(&(decision.pid, decision.cookie)) {
                        h.record(time_ns.saturating_sub(t));
                    }
                }
                Record::Lost { .. }
                | Record::Wake { .. }
                | Record::Run { .. }
                | Record::Stop { .. } => {}
            }
        }
        h
    }

    /// Whether [`workload`](Self::workload) replays the wake, run and stop
    /// records (a version 2 trace of a scheduler with run events) rather
    /// than the enqueue records.
    pub fn replays_runs(&self) -> bool {
        self.records.iter().any(|r| matches!(r, Record::Wake { .. }))
    }

    /// The tasks to replay, and the trace's span in ns: from the wake, run
    /// and stop records where the trace has them (every task the scheduler
    /// ran, the policy's or not; the recorder's own threads left out),
    /// else from the enqueue records (the policy's share of the load).
    ///
    /// # Errors
    /// [`ReplayError::Empty`] with no task to replay.
    pub fn workload(&self) -> Result<(Vec<TaskSpec>, u64), ReplayError> {
        if self.replays_runs() {
            self.workload_from_runs()
        } else {
            self.workload_from_enqueues()
        }
    }

    /// Each pid's first enqueue record: how the policy saw it.
    fn first_enqueues(&self) -> BTreeMap<i32, Task> {
        let mut first = BTreeMap::new();
        for r in &self.records {
            if let Record::Enqueue { task, .. } = r {
                first.entry(task.pid).or_insert(*task);
            }
        }
        first
    }

    /// A burst per wake record, released at its time; its work is the CPU
    /// time of the runs (run to stop) until the pid's next wake. A task
    /// already running when recording began starts with a burst at its
    /// first run record.
    fn workload_from_runs(&self) -> Result<(Vec<TaskSpec>, u64), ReplayError> {
        let own = self.header.recorder_pid as i32;
        let mut recs: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| match r {
                Record::Wake { tgid, .. }
                | Record::Run { tgid, .. }
                | Record::Stop { tgid, .. } => own == 0 || *tgid != own,
                _ => false,
            })
            .collect();
        recs.sort_by_key(|r| r.time_ns());
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            return Err(ReplayError::Empty);
        };
        let (t0, t1) = (first.time_ns(), last.time_ns());
        let mut by_pid: BTreeMap<i32, Bursts> = BTreeMap::new();
        for r in recs {
            match *r {
                Record::Wake { time_ns, pid, .. } => {
                    by_pid.entry(pid).or_default().0.push((time_ns - t0, 0));
                }
                Record::Run { time_ns, pid, sum_exec_runtime, .. } => {
                    let (segments, run) = by_pid.entry(pid).or_default();
                    if segments.is_empty() {
                        segments.push((time_ns - t0, 0));
                    }
                    *run = Some(sum_exec_runtime);
                }
                Record::Stop { pid, sum_exec_runtime, .. } => {
                    let (segments, run) = by_pid.entry(pid).or_default();
                    if let (Some(start), Some(seg)) = (run.take(), segments.last_mut()) {
                        seg.1 += sum_exec_runtime.saturating_sub(start);
                    }
                }
                _ => {}
            }
        }
        let first = self.first_enqueues();
        let nr_cpus = self.header.nr_cpus.max(1) as usize;
        let specs: Vec<TaskSpec> = by_pid
            .into_iter()
            .filter(|(_, (segments, _))| !segments.is_empty())
            .map(|(pid, (segments, _))| spec(first.get(&pid), segments, nr_cpus))
            .collect();
        if specs.is_empty() {
            return Err(ReplayError::Empty);
        }
        Ok((specs, t1 - t0))
    }

    /// Each pid's enqueue records become its bursts (module docs).
    fn workload_from_enqueues(&self) -> Result<(Vec<TaskSpec>, u64), ReplayError> {
        let mut by_pid: BTreeMap<i32, Vec<Task>> = BTreeMap::new();
        for r in &self.records {
            if let Record::Enqueue { task, .. } = r {
                by_pid.entry(task.pid).or_default().push(*task);
            }
        }
        let t0 = by_pid.values().flatten().map(|t| t.enq_time).min().ok_or(ReplayError::Empty)?;
        let t1 = by_pid.values().flatten().map(|t| t.enq_time).max().unwrap_or(t0);
        let nr_cpus = self.header.nr_cpus.max(1) as usize;
        let mut specs = Vec::with_capacity(by_pid.len());
        for recs in by_pid.values() {
            let mut segments: Vec<(u64, u64)> = Vec::new();
            for (i, t) in recs.iter().enumerate() {
                if i == 0 || t.flags & Task::WAKEUP != 0 {
                    segments.push((t.enq_time - t0, 0));
                }
                if let (Some(next), Some(seg)) = (recs.get(i + 1), segments.last_mut()) {
                    seg.1 += next.sum_exec_runtime.saturating_sub(t.sum_exec_runtime);
                }
            }
            let done: Vec<u64> = segments[..segments.len() - 1].iter().map(|s| s.1).collect();
            let avg = if done.is_empty() {
                100_000
            } else {
                done.iter().sum::<u64>() / done.len() as u64
            };
            if let Some(last) = segments.last_mut() {
                last.1 = avg;
            }
            specs.push(spec(recs.first(), segments, nr_cpus));
        }
        Ok((specs, t1 - t0))
    }
}

/// A pid's bursts (release, work) so far, and its CPU time at the start of
/// the run in progress.
type Bursts = (Vec<(u64, u64)>, Option<u64>);

/// A replayed task with bursts `segments` (release, work; work at least
/// 1 µs), its weight, pinning and kind from `first` (how the policy first
/// saw it; nice 0, unpinned, a user task without it).
fn spec(first: Option<&Task>, mut segments: Vec<(u64, u64)>, nr_cpus: usize) -> TaskSpec {
    for s in &mut segments {
        s.1 = s.1.max(1_000);
    }
    let kthread = first.is_some_and(|t| t.flags & Task::KTHREAD != 0);
    // The nice level whose weight is nearest the recorded one.
    let nice = first.map_or(0, |t| {
        let kw = t.weight * u64::from(KWEIGHT_NICE0) / WEIGHT_NICE0;
        (-20..=19).min_by_key(|&n| u64::from(nice_to_weight(n)).abs_diff(kw)).unwrap_or(0)
    });
    TaskSpec {
        label: if kthread { "replay-kthread".into() } else { "replay".into() },
        behavior: Behavior::Replay { segments },
        nice,
        idle: false,
        pinned: first
            .filter(|t| t.nr_cpus_allowed == 1)
            .map(|t| usize::try_from(t.cpu).unwrap_or(0).min(nr_cpus - 1)),
        kthread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enq(pid: i32, at: u64, sum: u64, wake: bool) -> Record {
        Record::Enqueue {
            time_ns: at,
            task: Task {
                pid,
                enq_time: at,
                sum_exec_runtime: sum,
                weight: 100,
                nr_cpus_allowed: 4,
                flags: if wake { Task::WAKEUP } else { 0 },
                ..Task::default()
            },
        }
    }

    fn file(records: &[Record]) -> Vec<u8> {
        file_of(Header { nr_cpus: 4, recorder_pid: 0, start_ns: 0 }, records)
    }

    fn file_of(h: Header, records: &[Record]) -> Vec<u8> {
        let mut b = h.encode().to_vec();
        for r in records {
            b.extend_from_slice(&r.encode());
        }
        b
    }

    #[test]
    fn bursts_come_from_wakeups_and_cpu_time() {
        // pid 1 wakes at 1 ms, is preempted after 2 ms of work, runs 1 more
        // ms, sleeps, wakes at 10 ms.
        let bytes = file(&[
            enq(1, 1_000_000, 0, true),
            enq(1, 4_000_000, 2_000_000, false),
            enq(1, 10_000_000, 3_000_000, true),
        ]);
        let tr = Trace::read(&bytes[..]).unwrap();
        let (specs, span) = tr.workload().unwrap();
        assert_eq!(span, 9_000_000);
        let Behavior::Replay { segments } = &specs[0].behavior else { panic!() };
        assert_eq!(segments, &[(0, 3_000_000), (9_000_000, 3_000_000)]);
    }

    #[test]
    fn run_records_give_the_recorded_enqueue_to_run_latency() {
        let run = |pid, t| Record::Run { time_ns: t, pid, tgid: pid, cpu: 0, sum_exec_runtime: 0 };
        let stop = |pid, t| Record::Stop {
            time_ns: t,
            pid,
            tgid: pid,
            cpu: 0,
            sum_exec_runtime: 0,
            runnable: false,
        };
        // The policy's records come after the run records of the same
        // time span (two streams): merged by time. pid 1 waits 3 ms, then
        // 1 ms; pid 2 runs without the policy. pid 3's run after its
        // enqueue went unrecorded (its stop is there): its enqueue must not
        // pair with its next, unrelated run.
        let bytes = file(&[
            run(2, 500),
            stop(2, 600),
            run(1, 4_000_000),
            stop(1, 5_000_000),
            run(1, 11_000_000),
            stop(3, 25_000_000),
            run(3, 40_000_000),
            enq(1, 1_000_000, 0, true),
            enq(1, 10_000_000, 1_000_000, true),
            enq(3, 20_000_000, 0, true),
        ]);
        let tr = Trace::read(&bytes[..]).unwrap();
        assert_eq!(tr.run_counts(), (0, 4, 3));
        assert_eq!(tr.counts(), (3, 0));
        let (h, without) = tr.recorded_enq_run();
        assert_eq!((h.count(), without), (2, 2));
        assert!(h.max() >= 3_000_000 && h.min() <= 1_000_000);
        // Run records leave the bursts as the enqueue records make them.
        let (specs, _) = tr.workload().unwrap();
        assert_eq!(specs.len(), 2);
    }

    #[test]
    fn wake_run_and_stop_records_make_every_task_s_bursts() {
        let wake = |pid, tgid, t, sum| Record::Wake {
            time_ns: t,
            pid,
            tgid,
            cpu: 0,
            sum_exec_runtime: sum,
        };
        let run = |pid, tgid, t, sum| Record::Run {
            time_ns: t,
            pid,
            tgid,
            cpu: 0,
            sum_exec_runtime: sum,
        };
        let stop = |pid, tgid, t, sum, runnable| Record::Stop {
            time_ns: t,
            pid,
            tgid,
            cpu: 0,
            sum_exec_runtime: sum,
            runnable,
        };
        // pid 1 (never seen by the policy) wakes at 0, runs 2 ms, is
        // preempted, runs 1 ms more, sleeps; wakes at 10 ms, runs 0.5 ms.
        // pid 2 was running when recording began: one burst from its
        // first run. pid 9 is the recorder's own thread (process 9).
        // pid 3 was seen by the policy as a nice 19 pinned task.
        let mut nice19 = enq(3, 0, 0, true);
        if let Record::Enqueue { task, .. } = &mut nice19 {
            task.weight = 1;
            task.nr_cpus_allowed = 1;
            task.cpu = 1;
        }
        let h = Header { nr_cpus: 2, recorder_pid: 9, start_ns: 0 };
        let bytes = file_of(
            h,
            &[
                stop(2, 2, 100, 50_000, true),
                wake(1, 1, 1_000, 0),
                run(1, 1, 2_000, 0),
                stop(1, 1, 2_002_000, 2_000_000, true),
                run(2, 2, 2_003_000, 50_000),
                stop(2, 2, 2_503_000, 550_000, true),
                run(1, 1, 3_000_000, 2_000_000),
                stop(1, 1, 4_000_000, 3_000_000, false),
                wake(9, 9, 5_000_000, 0),
                run(9, 9, 5_000_100, 0),
                wake(1, 1, 10_000_000, 3_000_000),
                run(1, 1, 10_001_000, 3_000_000),
                stop(1, 1, 10_501_000, 3_500_000, false),
                wake(3, 3, 11_000_000, 0),
                nice19,
            ],
        );
        let tr = Trace::read(&bytes[..]).unwrap();
        assert!(tr.replays_runs());
        let (specs, span) = tr.workload().unwrap();
        assert_eq!(span, 11_000_000 - 100);
        assert_eq!(specs.len(), 3, "pids 1, 2 and 3; not the recorder's");
        let segs = |i: usize| match &specs[i].behavior {
            Behavior::Replay { segments } => segments.clone(),
            _ => panic!(),
        };
        assert_eq!(segs(0), vec![(900, 3_000_000), (9_999_900, 500_000)]);
        assert_eq!(segs(1), vec![(2_002_900, 500_000)]);
        assert_eq!(segs(2), vec![(10_999_900, 1_000)]);
        assert_eq!((specs[2].nice, specs[2].pinned), (19, Some(1)));
        assert_eq!((specs[0].nice, specs[0].pinned), (0, None));
        // Without wake records: the enqueue records' bursts, as before.
        let old = file(&[enq(1, 0, 0, true), run(1, 1, 10, 0)]);
        assert!(!Trace::read(&old[..]).unwrap().replays_runs());
    }

    #[test]
    fn broken_files_say_why() {
        let mut bytes = file(&[enq(1, 0, 0, true)]);
        bytes.extend_from_slice(&[0u8; 10]);
        let tr = Trace::read(&bytes[..]).unwrap();
        assert_eq!(tr.truncated, 10);
        assert_eq!(tr.records.len(), 1);
        let empty = file(&[Record::Lost { time_ns: 5, count: 3 }]);
        let tr = Trace::read(&empty[..]).unwrap();
        assert_eq!(tr.lost(), 3);
        assert!(matches!(tr.workload(), Err(ReplayError::Empty)));
        assert!(matches!(
            Trace::read(&b"garbage-garbage-garbage-garbage-!"[..]),
            Err(ReplayError::Format(_))
        ));
        assert!(matches!(Trace::read(&b"short"[..]), Err(ReplayError::Io(_))));
    }
}
