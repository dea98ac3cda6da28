// SPDX-License-Identifier: GPL-2.0-only
//! `scx_usched --compare SECS`: try it safely on your own machine. The
//! bundled latency probe (audio-like and game-like periodic threads) runs
//! for SECS under the kernel's own scheduler, then for SECS with scx_usched
//! attached (a child process with the same options), and one before/after
//! table is printed. Whatever else the machine runs is the load.
use std::ffi::OsString;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::latency::{Lateness, Periodic};

/// How long the child may take to attach.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the child may take to detach once asked.
const DETACH_TIMEOUT: Duration = Duration::from_secs(15);

/// The two workloads, measured together.
struct Probe {
    audio: Lateness,
    game: Lateness,
}

/// Audio-like: 2 threads, 1 ms period, 50 µs of work. Game-like: 2
/// threads, 60 Hz, 4 ms of work. Both at once, for `d`.
fn probe(d: Duration) -> Result<Probe> {
    let audio = Periodic {
        threads: 2,
        period: Duration::from_millis(1),
        work: Duration::from_micros(50),
        duration: d,
    };
    let game = Periodic {
        threads: 2,
        period: Duration::from_micros(16_667),
        work: Duration::from_millis(4),
        duration: d,
    };
    let g = std::thread::spawn(move || game.run());
    let audio = audio.run()?;
    let game = g.join().map_err(|_| anyhow::anyhow!("game probe panicked"))??;
    Ok(Probe { audio, game })
}

/// This process's arguments without `--compare SECS` (or `--compare=SECS`).
fn child_args() -> Vec<OsString> {
    let mut out = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--compare" {
            args.next();
        } else if !a.to_string_lossy().starts_with("--compare=") {
            out.push(a);
        }
    }
    out
}

/// Reads a child's pipe to the end on its own thread.
fn drain<R: Read + Send + 'static>(r: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = r {
            // Lossy: the log is for people; a bad byte must not lose it.
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            s = String::from_utf8_lossy(&buf).into_owned();
        }
        s
    })
}

/// Waits until scx_usched is the loaded scheduler, or the child exited.
fn wait_attached(child: &mut Child) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < ATTACH_TIMEOUT {
        if let Some(status) = child.try_wait()? {
            bail!("scx_usched exited before attaching ({status})");
        }
        if usched::sys::sched_ext_state().is_ok_and(|s| s == "enabled")
            && usched::sys::loaded_ops().is_some_and(|o| o.starts_with("usched"))
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("scx_usched did not attach within {ATTACH_TIMEOUT:?}")
}

/// Asks the child to detach (SIGINT, as Ctrl-C would), then kills it if it
/// has not exited in time. Returns whether it exited successfully.
fn stop(child: &mut Child) -> Result<bool> {
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let start = Instant::now();
    while start.elapsed() < DETACH_TIMEOUT {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().context("killing scx_usched")?;
    child.wait()?;
    Ok(false)
}

/// Runs the comparison: `secs` under the kernel's scheduler, `secs` under
/// scx_usched with this process's other options.
///
/// # Errors
/// No sched_ext, another sched_ext scheduler loaded, scx_usched failing to
/// attach or to detach cleanly (its output is included), a probe failure.
pub fn run(secs: f64) -> Result<()> {
    let d = Duration::from_secs_f64(secs);
    match usched::sys::sched_ext_state().context("nothing to compare")?.as_str() {
        "disabled" => {}
        s => bail!(
            "a sched_ext scheduler is loaded ({}, state {s}): --compare measures the kernel's \
             own scheduler first; stop it and try again",
            usched::sys::loaded_ops().unwrap_or_default()
        ),
    }
    println!("compare: {secs} s under the kernel's scheduler, then {secs} s under scx_usched");
    let before = probe(d)?;

    let exe = std::env::current_exe().context("finding scx_usched's own path")?;
    let mut child = Command::new(exe)
        .args(child_args())
        // A safety net: the child stops on its own if this process dies.
        .args(["--run-secs", &(secs.ceil() as u64 + 60).to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting scx_usched")?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let after = wait_attached(&mut child).and_then(|()| probe(d));
    let clean = stop(&mut child);
    let log = format!("{}{}", out.join().unwrap_or_default(), err.join().unwrap_or_default());
    let after = after.with_context(|| format!("scx_usched's output:\n{log}"))?;
    if !clean? {
        bail!("scx_usched did not detach cleanly; its output:\n{log}");
    }
    for line in log.lines().filter(|l| l.contains("attached") || l.contains("detached after")) {
        println!("  {line}");
    }
    print_table(&before, &after);
    Ok(())
}

fn print_table(before: &Probe, after: &Probe) {
    println!("{:<18} {:>12} {:>12} {:>8}", "metric", "kernel", "scx_usched", "ratio");
    for (name, b, a) in
        [("audio", &before.audio, &after.audio), ("game", &before.game, &after.game)]
    {
        let rows = [
            ("late_p50_us", b.late_us(50.0), a.late_us(50.0)),
            ("late_p99_us", b.late_us(99.0), a.late_us(99.0)),
            ("late_max_us", b.late.max() as f64 / 1000.0, a.late.max() as f64 / 1000.0),
            ("miss_pct", b.miss_pct(), a.miss_pct()),
            ("periods", b.late.count() as f64, a.late.count() as f64),
        ];
        for (metric, bv, av) in rows {
            let ratio = if bv > 0.0 { format!("{:.2}x", av / bv) } else { "-".into() };
            println!("{:<18} {bv:>12.1} {av:>12.1} {ratio:>8}", format!("{name}_{metric}"));
        }
    }
}
