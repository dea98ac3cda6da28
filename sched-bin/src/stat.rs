// SPDX-License-Identifier: GPL-2.0-only
//! usched-stat: print the statistics of the running usched scheduler.
//!
//! usched-stat                         one snapshot
//! usched-stat --interval SECS         a snapshot every SECS seconds, until interrupted
//! usched-stat --check-user-dispatches exit 1 unless tasks went through user space
use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut interval = None;
    let mut check = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--interval" => {
                let v = args.get(i + 1).context("--interval needs SECS")?;
                let s: f64 =
                    v.parse().with_context(|| format!("--interval: '{v}' is not a number"))?;
                if !(s > 0.0 && s <= 3600.0) {
                    bail!("--interval must be in (0, 3600] seconds, got {s}");
                }
                interval = Some(Duration::from_secs_f64(s));
                i += 2;
            }
            "--check-user-dispatches" => {
                check = true;
                i += 1;
            }
            "-h" | "--help" => {
                println!("usage: usched-stat [--interval SECS] [--check-user-dispatches]");
                return Ok(());
            }
            other => bail!("unknown argument '{other}' (see --help)"),
        }
    }
    let map = usched::monitor::find_bss_map()?;
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
