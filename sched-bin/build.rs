// SPDX-License-Identifier: GPL-2.0-only
//! Records the source's git revision for `scx_usched --version`: the
//! commit checked out, empty outside this project's own checkout (a
//! tarball, or a tarball unpacked inside another repository). Local edits
//! are not flagged: Cargo re-runs this script only when the files it
//! watches change, and `.git/HEAD` and `.git/index` do not change on an
//! edit, so a "-dirty" mark would go stale.

use std::path::Path;
use std::process::Command;

fn main() {
    let rev = if Path::new("../.git").exists() {
        Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir("..")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    println!("cargo:rustc-env=USCHED_GIT_REV={rev}");
    // HEAD names the branch; a commit or checkout appends to logs/HEAD.
    for f in ["../.git/HEAD", "../.git/logs/HEAD"] {
        if Path::new(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
}
