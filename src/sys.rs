// SPDX-License-Identifier: GPL-2.0-only
//! Checks made before loading: is there sched_ext, may we load, is the slot free.
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where the kernel reports sched_ext's state.
pub fn sched_ext_dir() -> PathBuf {
    PathBuf::from("/sys/kernel/sched_ext")
}

fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn kernel_release() -> String {
    read_trim(Path::new("/proc/sys/kernel/osrelease")).unwrap_or_else(|| "unknown".into())
}

/// sched_ext's state: `disabled`, `enabling`, `enabled`, `disabling`.
///
/// # Errors
/// [`Error::NoSchedExt`] when the kernel has no sched_ext.
pub fn sched_ext_state() -> Result<String> {
    state_at(&sched_ext_dir())
}

fn state_at(dir: &Path) -> Result<String> {
    read_trim(&dir.join("state")).ok_or_else(|| Error::NoSchedExt { kernel: kernel_release() })
}

/// Name of the loaded scheduler, if any.
pub fn loaded_ops() -> Option<String> {
    read_trim(&sched_ext_dir().join("root/ops")).filter(|s| !s.is_empty())
}

/// The kernel has sched_ext.
///
/// # Errors
/// [`Error::NoSchedExt`], naming `CONFIG_SCHED_CLASS_EXT`.
pub fn check_sched_ext() -> Result<()> {
    sched_ext_state().map(|_| ())
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;

/// The effective capability mask of this process.
pub fn effective_caps() -> u64 {
    read_trim(Path::new("/proc/self/status"))
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// This process may load a BPF scheduler (root, or CAP_BPF + CAP_SYS_ADMIN).
///
/// # Errors
/// [`Error::NotPermitted`] with the effective capabilities.
pub fn check_privileges() -> Result<()> {
    let caps = effective_caps();
    let need = (1u64 << CAP_SYS_ADMIN) | (1u64 << CAP_BPF);
    if caps & need == need {
        Ok(())
    } else {
        Err(Error::NotPermitted { caps })
    }
}

/// No other sched_ext scheduler is attached.
///
/// # Errors
/// [`Error::AlreadyLoaded`] naming it.
pub fn check_not_loaded() -> Result<()> {
    not_loaded_at(&sched_ext_dir())
}

fn not_loaded_at(dir: &Path) -> Result<()> {
    let state = state_at(dir)?;
    if state == "disabled" {
        return Ok(());
    }
    let ops = read_trim(&dir.join("root/ops")).filter(|s| !s.is_empty());
    Err(Error::AlreadyLoaded { ops: ops.unwrap_or_else(|| "unknown".into()), state })
}

/// All the checks made before loading, in order.
///
/// # Errors
/// The first that fails.
pub fn preflight() -> Result<()> {
    check_sched_ext()?;
    check_privileges()?;
    check_not_loaded()
}

/// CLOCK_MONOTONIC in ns: the clock of the BPF side's `bpf_ktime_get_ns()`,
/// so of `Task::enq_time` (as `Policy::dispatch` expects its `now`) and of
/// the BPF side's timestamps.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_sched_ext_names_the_config_option() {
        // A directory that does not exist, as on a kernel without sched_ext.
        let e = state_at(Path::new("/nonexistent/sched_ext")).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::NoSchedExt { .. }));
        assert!(msg.contains("CONFIG_SCHED_CLASS_EXT"), "{msg}");
    }

    #[test]
    fn already_loaded_names_the_scheduler() {
        let dir = std::env::temp_dir().join(format!("usched-sysfs-{}", std::process::id()));
        fs::create_dir_all(dir.join("root")).unwrap();
        fs::write(dir.join("state"), "enabled\n").unwrap();
        fs::write(dir.join("root/ops"), "rustland_1.0\n").unwrap();
        let e = not_loaded_at(&dir).unwrap_err();
        fs::write(dir.join("state"), "disabled\n").unwrap();
        assert!(not_loaded_at(&dir).is_ok());
        fs::remove_dir_all(&dir).unwrap();
        assert!(e.to_string().contains("'rustland_1.0'"), "{e}");
    }

    #[test]
    fn this_host_kernel_check_agrees_with_sysfs() {
        // On a host without sched_ext (like the CI machine) this is the
        // user-facing error; with sched_ext it must succeed.
        let have = Path::new("/sys/kernel/sched_ext/state").exists();
        let r = check_sched_ext();
        assert_eq!(r.is_ok(), have, "{r:?}");
        if let Err(e) = r {
            assert!(e.to_string().contains("CONFIG_SCHED_CLASS_EXT"));
        }
    }

    #[test]
    fn capability_parse() {
        // Whatever we run as, the mask parses and root-ness agrees with it.
        let caps = effective_caps();
        let root = unsafe_free_geteuid() == 0;
        if root {
            assert!(caps & (1 << CAP_SYS_ADMIN) != 0);
        }
    }

    fn unsafe_free_geteuid() -> u32 {
        fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().nth(1).map(|x| x.parse().unwrap()))
            .unwrap()
    }
}
