// SPDX-License-Identifier: GPL-2.0-only
//! The statistics server: scx_stats' JSON-lines protocol on a UNIX socket,
//! with bounded resources.
//!
//! scx_stats' own server spawns a thread per connection, unbounded, and
//! reads requests of any length; in a root process whose memory is mlock'd
//! every such stack is locked memory. This one speaks the same protocol
//! (`{"req":"stats","args":{"target":"top"}}` and `{"req":"stats_meta"}`, one
//! JSON object per line each way, so scx_stats' client, scxtop and
//! `scx_usched --monitor` read it unchanged) but serves at most
//! [`MAX_CLIENTS`] connections at once, each on a small stack, closes a
//! connection whose request exceeds [`MAX_REQUEST_BYTES`], and one that
//! sends nothing for a minute (or does not read its answer). The socket is
//! 0600 and its directory 0700, whatever the umask.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use scx_stats::prelude::{Meta, StatsRequest, StatsResponse};
use scx_stats::serde_json;
use usched::runtime::RuntimeCounters;

use crate::stats::{Metrics, Reader};

/// Connections served at once; one more is answered `EBUSY` and closed.
pub const MAX_CLIENTS: usize = 4;
/// The longest request line accepted, newline included.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// A connection that sends no request for this long is closed.
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// A client that does not take an answer within this is dropped.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Stack of a connection's thread (locked when the process is mlock'd).
const CLIENT_STACK_BYTES: usize = 256 << 10;

/// A running server; dropping it removes the socket (the listening thread
/// ends with the process).
pub struct StatsServer {
    path: PathBuf,
}

impl Drop for StatsServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `path` (replacing a stale socket) and serves `counters`' statistics
/// from a thread of its own.
pub fn launch(path: &Path, counters: Arc<RuntimeCounters>) -> Result<StatsServer> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} mode 0700", dir.display()))?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing the stale {}", path.display()));
        }
        _ => {}
    }
    // Created under umask 077: only root may connect between the bind and
    // the chmod to 0600 below.
    // SAFETY: umask only swaps the process's file mode mask.
    let old_umask = unsafe { libc::umask(0o077) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old_umask) };
    let listener = bound.with_context(|| format!("creating the socket {}", path.display()))?;
    let server = StatsServer { path: path.to_owned() };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} mode 0600", path.display()))?;
    std::thread::Builder::new()
        .name("usched-stats".into())
        .stack_size(CLIENT_STACK_BYTES)
        .spawn(move || listen(listener, counters))
        .context("starting the statistics server's thread")?;
    Ok(server)
}

/// Releases a connection's slot when its thread ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn listen(listener: UnixListener, counters: Arc<RuntimeCounters>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                log::debug!("stats: accept failed: {e}");
                continue;
            }
        };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
            active.fetch_sub(1, Ordering::AcqRel);
            let _ = reply(
                &mut stream,
                libc::EBUSY,
                &format!("too many clients (at most {MAX_CLIENTS} at once)"),
            );
            continue;
        }
        let slot = Slot(active.clone());
        let counters = counters.clone();
        let spawned = std::thread::Builder::new()
            .name("usched-stats-c".into())
            .stack_size(CLIENT_STACK_BYTES)
            .spawn(move || {
                let _slot = slot;
                if let Err(e) = serve(stream, &counters) {
                    log::debug!("stats: connection ended: {e:#}");
                }
            });
        if let Err(e) = spawned {
            // The closure (and the slot in it) was dropped with the error.
            log::warn!("stats: cannot serve a connection: {e}");
        }
    }
}

/// Why a request line could not be read.
enum Line {
    /// A complete line.
    Request(String),
    /// The client closed the connection.
    Closed,
    /// Longer than [`MAX_REQUEST_BYTES`].
    TooLong,
}

fn read_request(reader: &mut BufReader<UnixStream>) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    let n = reader.by_ref().take(MAX_REQUEST_BYTES as u64).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(Line::Closed);
    }
    if buf.last() != Some(&b'\n') {
        // Either the limit cut it or the client closed mid-line.
        return Ok(if n == MAX_REQUEST_BYTES { Line::TooLong } else { Line::Closed });
    }
    Ok(Line::Request(String::from_utf8_lossy(&buf).into_owned()))
}

fn reply<T: serde::Serialize>(stream: &mut UnixStream, errno: i32, resp: &T) -> Result<()> {
    let resp = StatsResponse {
        errno,
        args: [("resp".to_owned(), serde_json::to_value(resp)?)].into_iter().collect(),
    };
    let mut out = serde_json::to_string(&resp)?;
    out.push('\n');
    stream.write_all(out.as_bytes())?;
    Ok(())
}

/// One connection: requests in, responses out, until it closes or sends a
/// request that is too long.
fn serve(stream: UnixStream, counters: &RuntimeCounters) -> Result<()> {
    // A client that stops reading or asking gives its slot back: scx_stats'
    // clients (and --monitor) connect again on their next request.
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    // Each connection has its own interval: figures since its last read.
    let mut prev: Option<Reader> = None;
    loop {
        let line = match read_request(&mut reader)? {
            Line::Request(l) => l,
            Line::Closed => return Ok(()),
            Line::TooLong => {
                reply(
                    &mut out,
                    libc::E2BIG,
                    &format!("request longer than {MAX_REQUEST_BYTES} bytes"),
                )?;
                return Ok(());
            }
        };
        let req: StatsRequest = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                reply(&mut out, libc::EINVAL, &format!("not a request: {e}"))?;
                continue;
            }
        };
        match req.req.as_str() {
            "stats" => match req.args.get("target").map_or("top", String::as_str) {
                "top" => {
                    let reader = match prev.as_mut() {
                        Some(r) => r,
                        None => match Reader::new(counters) {
                            Ok(r) => prev.insert(r),
                            Err(e) => {
                                reply(&mut out, libc::ENODATA, &format!("{e:#}"))?;
                                continue;
                            }
                        },
                    };
                    match reader.read(counters) {
                        Ok(m) => reply(&mut out, 0, &m)?,
                        Err(e) => reply(&mut out, libc::ENODATA, &format!("{e:#}"))?,
                    }
                }
                other => reply(&mut out, libc::EINVAL, &format!("unknown stats target {other:?}"))?,
            },
            "stats_meta" => {
                let meta: BTreeMap<String, _> =
                    [(Metrics::meta().name.clone(), Metrics::meta())].into_iter().collect();
                reply(&mut out, 0, &meta)?
            }
            other => reply(&mut out, libc::EINVAL, &format!("unknown request {other:?}"))?,
        }
    }
}
