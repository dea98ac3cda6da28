// SPDX-License-Identifier: GPL-2.0-only
//! `--record FILE`: what the policy sees and decides, written to FILE in
//! usched-core's trace format for `usched-sim replay`.
//!
//! The dispatcher's side ([`Recording`], a policy wrapper) encodes each
//! queued task and each decision into a fixed-size record and pushes it
//! into a lock-free single-producer ring (usched-core's `spsc`, 16384
//! records, 1.5 MiB, allocated once): it never blocks, never allocates and
//! never makes a system call but the vDSO clock read. When the ring is
//! full the record is dropped and counted. A writer thread drains the ring
//! into the file every 20 ms and writes a `Lost` record with each new count
//! of dropped records; past `limit_bytes` it stops writing and counts what
//! it drops the same way, so neither memory nor disk grows without bound.
//!
//! The same writer polls the scheduler's wake, run and stop events (usched's
//! [`RunEvents`], attached for each life of the scheduler with
//! [`Recorder::attach_runs`]) and writes them as wake, run and stop records,
//! with their losses (the BPF side's ring was full) as `Lost` records too.
//! They take at most half of `limit_bytes` (two records a context switch
//! would otherwise fill the file in minutes and crowd out the policy's);
//! past that they are counted, not written.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use usched::run_events::{RunEvent, RunEventKind, RunEvents};
use usched::usched_core::policy::{Decision, EnqueueError, Policy, Task};
use usched::usched_core::spsc::{self, OwnedConsumer, OwnedProducer};
use usched::usched_core::trace::{Header, Record, RECORD_BYTES};

/// Records the ring holds (a power of two).
pub const RING_RECORDS: usize = 16384;
type Bytes = [u8; RECORD_BYTES];

/// What the dispatcher and the writer share besides the ring.
#[derive(Default)]
struct Shared {
    /// Records the dispatcher could not push (ring full).
    dropped: AtomicU64,
    /// The writer should drain the ring and stop.
    stop: AtomicBool,
    /// The run-event readers of the scheduler's lives.
    runs: Mutex<Lives>,
}

/// The run-event readers of the scheduler's lives, and the next life's id.
#[derive(Default)]
struct Lives {
    lives: Vec<Life>,
    next_id: u64,
}

/// One life's run-event reader.
struct Life {
    id: u64,
    events: RunEvents,
    /// The life has ended: the writer reads it a last time and drops it.
    ended: bool,
    /// Events the BPF side dropped in the whole life, as the scheduler
    /// counted them at its end (0 until then; the reader only knows the
    /// count the last event it read carried).
    lost_at_end: u64,
}

impl Life {
    fn lost(&self) -> u64 {
        self.events.lost().max(self.lost_at_end)
    }
}

/// The dispatcher's end of a recording.
pub struct Recorder {
    tx: OwnedProducer<Bytes, RING_RECORDS>,
    shared: Arc<Shared>,
}

/// The writer thread of a recording; [`finish`](Writer::finish) flushes
/// and reports.
pub struct Writer {
    handle: JoinHandle<Result<Summary>>,
    shared: Arc<Shared>,
    path: PathBuf,
}

/// What a finished recording wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Records written.
    pub written: u64,
    /// Records dropped (the recorder's ring full, past the size limit, or
    /// run events the BPF side's ring had no room for).
    pub lost: u64,
}

/// Creates `path` (truncating it) with the trace header and starts the
/// writer; the [`Recorder`] goes to the dispatcher thread. Fails at once,
/// before anything is loaded, if the file cannot be created.
///
/// # Errors
/// The file cannot be created or written.
pub fn start(path: &Path, nr_cpus: u32, limit_bytes: u64) -> Result<(Recorder, Writer)> {
    let file = File::create(path)
        .with_context(|| format!("--record: cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let header =
        Header { nr_cpus, recorder_pid: std::process::id(), start_ns: usched::sys::monotonic_ns() };
    out.write_all(&header.encode())
        .with_context(|| format!("--record: cannot write {}", path.display()))?;
    // One ring for the recording's life (the dispatcher's restarts reuse
    // it), freed when the writer and the recorder are both gone.
    let (tx, rx) = spsc::channel::<Bytes, RING_RECORDS>();
    let shared = Arc::new(Shared::default());
    let s = shared.clone();
    let handle = std::thread::Builder::new()
        .name("usched-record".into())
        .spawn(move || drain(rx, out, &s, limit_bytes))
        .context("--record: cannot start the writer thread")?;
    Ok((Recorder { tx, shared: shared.clone() }, Writer { handle, shared, path: path.to_owned() }))
}

fn drain(
    mut rx: OwnedConsumer<Bytes, RING_RECORDS>,
    out: BufWriter<File>,
    shared: &Shared,
    limit_bytes: u64,
) -> Result<Summary> {
    let mut buf = vec![[0u8; RECORD_BYTES]; 512];
    let mut file = Limited { out, bytes: 0, run_bytes: 0, limit_bytes, written: 0, over_limit: 0 };
    let mut lost_written = 0u64;
    // Run events lost by the readers already dropped.
    let mut runs_lost_done = 0u64;
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        loop {
            let n = rx.pop_into(&mut buf);
            if n == 0 {
                break;
            }
            for r in &buf[..n] {
                file.write(r, false)?;
            }
        }
        let runs_lost = {
            let mut runs = shared.runs.lock().unwrap_or_else(PoisonError::into_inner);
            for life in runs.lives.iter_mut() {
                let mut res = Ok(());
                if let Err(e) = life.events.poll(|ev| {
                    if res.is_ok() {
                        res = file.write(&run_record(ev).encode(), true);
                    }
                }) {
                    log::warn!("--record: {e}");
                }
                res?;
            }
            runs_lost_done += runs.lives.iter().filter(|l| l.ended).map(Life::lost).sum::<u64>();
            runs.lives.retain(|l| !l.ended);
            runs_lost_done + runs.lives.iter().map(Life::lost).sum::<u64>()
        };
        let lost = shared.dropped.load(Ordering::Relaxed) + file.over_limit + runs_lost;
        // Past the limit, only the last count is written, when stopping.
        if lost != lost_written && (file.bytes + RECORD_BYTES as u64 <= limit_bytes || stopping) {
            let rec =
                Record::Lost { time_ns: usched::sys::monotonic_ns(), count: lost - lost_written };
            file.out.write_all(&rec.encode())?;
            file.bytes += RECORD_BYTES as u64;
            lost_written = lost;
        }
        if stopping {
            file.out.flush()?;
            return Ok(Summary { written: file.written, lost });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The file, and what its size limit let through.
struct Limited {
    out: BufWriter<File>,
    bytes: u64,
    /// Of `bytes`, those of run-event records.
    run_bytes: u64,
    limit_bytes: u64,
    written: u64,
    over_limit: u64,
}

impl Limited {
    /// Writes `r` (a run-event record if `run`), or counts it once the
    /// file has reached its limit, or run records half of it.
    fn write(&mut self, r: &Bytes, run: bool) -> std::io::Result<()> {
        let size = RECORD_BYTES as u64;
        if self.bytes + size > self.limit_bytes
            || (run && self.run_bytes + size > self.limit_bytes / 2)
        {
            self.over_limit += 1;
            return Ok(());
        }
        self.out.write_all(r)?;
        self.written += 1;
        self.bytes += size;
        if run {
            self.run_bytes += size;
        }
        Ok(())
    }
}

/// A run event as a trace record.
fn run_record(ev: RunEvent) -> Record {
    let (time_ns, pid, tgid, cpu, sum_exec_runtime) =
        (ev.time_ns, ev.pid, ev.tgid, ev.cpu, ev.sum_exec_runtime);
    match ev.kind {
        RunEventKind::Wake => Record::Wake { time_ns, pid, tgid, cpu, sum_exec_runtime },
        RunEventKind::Run => Record::Run { time_ns, pid, tgid, cpu, sum_exec_runtime },
        RunEventKind::Stop | RunEventKind::Yield => Record::Stop {
            time_ns,
            pid,
            tgid,
            cpu,
            sum_exec_runtime,
            runnable: ev.kind == RunEventKind::Yield,
        },
    }
}

impl Writer {
    /// Drains what is left, flushes the file and says what it holds.
    ///
    /// # Errors
    /// Writing failed (disk full, ...), or the writer panicked.
    pub fn finish(self) -> Result<Summary> {
        self.shared.stop.store(true, Ordering::Release);
        match self.handle.join() {
            Ok(r) => r.with_context(|| format!("--record: writing {}", self.path.display())),
            Err(_) => anyhow::bail!("--record: the writer thread panicked"),
        }
    }
}

/// Ends its life's run events when dropped (or by [`RunsAttached::end`]):
/// the writer reads them a last time, then drops the reader.
pub struct RunsAttached {
    shared: Arc<Shared>,
    id: u64,
}

impl RunsAttached {
    /// Ends the life, whose scheduler counted `lost` run events its ring
    /// had no room for (`BpfScheduler::run_events_lost`, read once the
    /// scheduler has detached): losses after the last event read count
    /// too.
    pub fn end(self, lost: u64) {
        self.mark_ended(lost);
    }

    fn mark_ended(&self, lost: u64) {
        let mut runs = self.shared.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(life) = runs.lives.iter_mut().find(|l| l.id == self.id) {
            life.ended = true;
            life.lost_at_end = life.lost_at_end.max(lost);
        }
    }
}

impl Drop for RunsAttached {
    fn drop(&mut self) {
        self.mark_ended(0);
    }
}

impl Recorder {
    /// Records `runs` (one life of the scheduler) until the returned guard
    /// ends that life.
    pub fn attach_runs(&self, runs: RunEvents) -> RunsAttached {
        let mut all = self.shared.runs.lock().unwrap_or_else(PoisonError::into_inner);
        let id = all.next_id;
        all.next_id += 1;
        all.lives.push(Life { id, events: runs, ended: false, lost_at_end: 0 });
        RunsAttached { shared: self.shared.clone(), id }
    }

    fn push(&mut self, rec: Record) {
        if self.tx.push(rec.encode()).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `P`, with everything it is given and decides recorded.
pub struct Recording<'a, P> {
    inner: &'a mut P,
    rec: &'a mut Recorder,
}

impl<'a, P> Recording<'a, P> {
    /// Wraps `inner`, recording into `rec`.
    pub fn new(inner: &'a mut P, rec: &'a mut Recorder) -> Self {
        Self { inner, rec }
    }
}

impl<P: Policy> Policy for Recording<'_, P> {
    fn enqueue(&mut self, task: Task) -> Result<(), EnqueueError> {
        self.rec.push(Record::Enqueue { time_ns: usched::sys::monotonic_ns(), task });
        self.inner.enqueue(task)
    }

    fn dispatch(&mut self, now: u64) -> Option<Decision> {
        let d = self.inner.dispatch(now)?;
        self.rec.push(Record::Decision { time_ns: now, decision: d });
        Some(d)
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

#[cfg(test)]
mod tests {
    use super::*;
    use usched::usched_core::policy::Fifo;
    use usched::usched_core::trace::HEADER_BYTES;

    #[test]
    fn a_recording_holds_what_the_policy_saw_and_decided() {
        let dir = std::env::temp_dir().join(format!("usched-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.trace");
        let (mut rec, writer) = start(&path, 4, u64::MAX).unwrap();
        let mut fifo = Fifo::<64>::new(1_000_000);
        let mut p = Recording::new(&mut fifo, &mut rec);
        for pid in 1..=3 {
            p.enqueue(Task { pid, cookie: pid as u64, ..Task::default() }).unwrap();
        }
        // A duplicate is refused by the policy but was seen: recorded.
        assert!(p.enqueue(Task { pid: 1, ..Task::default() }).is_err());
        while p.dispatch(5).is_some() {}
        let s = writer.finish().unwrap();
        assert_eq!(s, Summary { written: 7, lost: 0 });
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), HEADER_BYTES + 7 * RECORD_BYTES);
        let h = Header::decode(bytes[..HEADER_BYTES].try_into().unwrap()).unwrap();
        assert_eq!(h.nr_cpus, 4);
        let last = Record::decode(bytes[bytes.len() - RECORD_BYTES..].try_into().unwrap()).unwrap();
        assert!(matches!(last, Record::Decision { time_ns: 5, decision } if decision.pid == 3));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn run_events_become_run_and_stop_records() {
        let ev = |kind| RunEvent { time_ns: 5, pid: 7, tgid: 6, cpu: 1, kind, sum_exec_runtime: 9 };
        assert_eq!(
            run_record(ev(RunEventKind::Run)),
            Record::Run { time_ns: 5, pid: 7, tgid: 6, cpu: 1, sum_exec_runtime: 9 }
        );
        assert_eq!(
            run_record(ev(RunEventKind::Wake)),
            Record::Wake { time_ns: 5, pid: 7, tgid: 6, cpu: 1, sum_exec_runtime: 9 }
        );
        for (kind, runnable) in [(RunEventKind::Stop, false), (RunEventKind::Yield, true)] {
            assert_eq!(
                run_record(ev(kind)),
                Record::Stop { time_ns: 5, pid: 7, tgid: 6, cpu: 1, sum_exec_runtime: 9, runnable }
            );
        }
    }

    #[test]
    fn run_records_take_at_most_half_the_limit() {
        let dir = std::env::temp_dir().join(format!("usched-record-half-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = BufWriter::new(File::create(dir.join("t")).unwrap());
        let size = RECORD_BYTES as u64;
        let mut f = Limited {
            out,
            bytes: 0,
            run_bytes: 0,
            limit_bytes: 4 * size,
            written: 0,
            over_limit: 0,
        };
        let r = [0u8; RECORD_BYTES];
        for _ in 0..3 {
            f.write(&r, true).unwrap();
        }
        assert_eq!((f.written, f.over_limit), (2, 1));
        for _ in 0..3 {
            f.write(&r, false).unwrap();
        }
        assert_eq!((f.written, f.over_limit), (4, 2));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn past_the_limit_records_are_counted_not_written() {
        let dir = std::env::temp_dir().join(format!("usched-record-lim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.trace");
        let (mut rec, writer) = start(&path, 1, 2 * RECORD_BYTES as u64).unwrap();
        for _ in 0..5 {
            rec.push(Record::Lost { time_ns: 0, count: 0 });
        }
        let s = writer.finish().unwrap();
        assert_eq!(s, Summary { written: 2, lost: 3 });
        // Two records and the Lost record saying 3.
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), HEADER_BYTES + 3 * RECORD_BYTES);
        let last = Record::decode(bytes[bytes.len() - RECORD_BYTES..].try_into().unwrap()).unwrap();
        assert!(matches!(last, Record::Lost { count: 3, .. }));
        assert!(start(&dir.join("no/such/dir/t"), 1, 1).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
