// SPDX-License-Identifier: GPL-2.0-only
//! usched-stat: print the statistics of the running usched scheduler.
//!
//! usched-stat                         one snapshot
//! usched-stat --interval SECS         a snapshot every SECS seconds, until interrupted
//! usched-stat --check-user-dispatches exit 1 unless tasks went through user space
//! usched-stat --bpf-cost SECS         what each BPF program of the scheduler cost over SECS
use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut interval = None;
    let mut check = false;
    let mut cost = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--interval" => {
                interval = Some(secs_arg(&args, i)?);
                i += 2;
            }
            "--bpf-cost" => {
                cost = Some(secs_arg(&args, i)?);
                i += 2;
            }
            "--check-user-dispatches" => {
                check = true;
                i += 1;
            }
            "-h" | "--help" => {
                println!(
                    "usage: usched-stat [--interval SECS] [--check-user-dispatches] [--bpf-cost SECS]"
                );
                return Ok(());
            }
            other => bail!("unknown argument '{other}' (see --help)"),
        }
    }
    let map = usched::monitor::find_bss_map()?;
    if let Some(window) = cost {
        return bpf_cost(&map, window);
    }
    let mut out = std::io::stdout();
    loop {
        let s = usched::monitor::snapshot_of(&map)?;
        let mut text = s.to_string();
        if check {
            if s.nr_user_dispatches == 0 {
                print!("{text}");
                bail!("no decision from user space was dispatched");
            }
            text += &format!(
                "user dispatches: {} ({:.1}% of all)\n",
                s.nr_user_dispatches,
                s.user_share()
            );
        }
        // A reader that stops reading (`usched-stat | head -2`) ends us
        // quietly, as it ends any Unix filter.
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.context("writing to stdout")?,
        }
        match interval {
            Some(d) => std::thread::sleep(d),
            None => return Ok(()),
        }
    }
}

/// The SECS after option `args[i]`: a number of seconds in (0, 3600].
fn secs_arg(args: &[String], i: usize) -> Result<Duration> {
    let opt = &args[i];
    let v = args.get(i + 1).with_context(|| format!("{opt} needs SECS"))?;
    let s: f64 = v.parse().with_context(|| format!("{opt}: '{v}' is not a number"))?;
    if !(s > 0.0 && s <= 3600.0) {
        bail!("{opt} must be in (0, 3600] seconds, got {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

/// Prints what each BPF program of the scheduler behind `map` cost over
/// `window`: runs, runs a second, mean ns a run, and % of one CPU.
fn bpf_cost(map: &usched::monitor::BssMap, window: Duration) -> Result<()> {
    let counting = usched::monitor::count_costs()?;
    let before = usched::monitor::prog_costs(map);
    let t0 = std::time::Instant::now();
    std::thread::sleep(window);
    let after = usched::monitor::prog_costs(map);
    let secs = t0.elapsed().as_secs_f64();
    drop(counting);
    if after.is_empty() {
        bail!("the scheduler's BPF programs are gone (it detached)");
    }
    println!("{:<16} {:>10} {:>10} {:>9} {:>7}", "program", "runs", "runs/s", "ns/run", "cpu%");
    let (mut runs_all, mut ns_all) = (0u64, 0u64);
    for a in &after {
        let b = before.iter().find(|b| b.id == a.id);
        let runs = a.runs - b.map_or(0, |b| b.runs.min(a.runs));
        let ns = a.run_ns - b.map_or(0, |b| b.run_ns.min(a.run_ns));
        runs_all += runs;
        ns_all += ns;
        if runs == 0 {
            continue;
        }
        println!(
            "{:<16} {:>10} {:>10.0} {:>9.0} {:>7.2}",
            a.name,
            runs,
            runs as f64 / secs,
            ns as f64 / runs as f64,
            ns as f64 / secs / 1e7
        );
    }
    println!(
        "BPFCOST secs={secs:.1} runs={runs_all} cpu_pct={:.2} ns_per_run={:.0}",
        ns_all as f64 / secs / 1e7,
        if runs_all > 0 { ns_all as f64 / runs_all as f64 } else { 0.0 }
    );
    Ok(())
}
