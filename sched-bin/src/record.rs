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
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
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
    /// Records dropped (ring full, or past the size limit).
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
    let header = Header { nr_cpus, start_ns: usched::sys::monotonic_ns() };
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
    mut out: BufWriter<File>,
    shared: &Shared,
    limit_bytes: u64,
) -> Result<Summary> {
    let mut buf = vec![[0u8; RECORD_BYTES]; 512];
    let (mut written, mut over_limit, mut lost_written) = (0u64, 0u64, 0u64);
    let mut bytes = 0u64;
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        loop {
            let n = rx.pop_into(&mut buf);
            if n == 0 {
                break;
            }
            let room = (limit_bytes.saturating_sub(bytes) / RECORD_BYTES as u64) as usize;
            let keep = n.min(room);
            for r in &buf[..keep] {
                out.write_all(r)?;
            }
            written += keep as u64;
            bytes += (keep * RECORD_BYTES) as u64;
            over_limit += (n - keep) as u64;
        }
        let lost = shared.dropped.load(Ordering::Relaxed) + over_limit;
        // Past the limit, only the last count is written, when stopping.
        if lost != lost_written && (bytes + RECORD_BYTES as u64 <= limit_bytes || stopping) {
            let rec =
                Record::Lost { time_ns: usched::sys::monotonic_ns(), count: lost - lost_written };
            out.write_all(&rec.encode())?;
            bytes += RECORD_BYTES as u64;
            lost_written = lost;
        }
        if stopping {
            out.flush()?;
            return Ok(Summary { written, lost });
        }
        std::thread::sleep(Duration::from_millis(20));
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

impl Recorder {
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
