// SPDX-License-Identifier: GPL-2.0-only
//! The `--cpufreq` governor: once a period, it reads the time each CPU
//! spent running sched_ext tasks from the BPF side (`bpf/cpuperf.bpf.h`;
//! schedutil adds the other classes' load itself), turns it into a performance
//! target with usched-core's [`cpuperf`](usched_core::cpuperf) rule, and
//! writes the targets that changed into the map the BPF side applies them
//! from. It works through its own file descriptors, so it runs on a thread
//! of its own, off the dispatcher's path; nothing happens unless
//! [`Governor::step`] (or [`Governor::run`]) is called.
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use libbpf_rs::{MapCore, MapFlags, MapHandle};
use usched_core::cpuperf::CpuPerf;

use crate::bpf::intf;
use crate::bpf::skel::types;
use crate::error::{Error, Result};

/// A read-only mapping of the scheduler's `.bss` (libbpf makes it
/// mmap-able): the governor reads two words per CPU each period where a
/// map lookup would copy all of it (120 KiB, 2.8 % of a CPU under
/// the VM's emulation). The mapping holds a reference on the map, so it
/// stays valid after the scheduler is gone.
///
/// The BPF side writes these pages all the time (and the skeleton maps
/// them too): they are never seen through a reference, only read word by
/// word with volatile loads.
struct BssView {
    bss: NonNull<types::bss>,
}

// SAFETY: the mapping belongs to the process, not to a thread, and is only
// read (volatile loads of plain integers), so it may move across threads.
unsafe impl Send for BssView {}

impl BssView {
    const LEN: usize = std::mem::size_of::<types::bss>();

    fn new(map: &MapHandle) -> Result<Self> {
        let value_size = map.value_size() as usize;
        if value_size != Self::LEN {
            return Err(Error::InvalidConfig(format!(
                "the .bss map holds {value_size} bytes, this build's .bss {}",
                Self::LEN
            )));
        }
        // SAFETY: a fresh shared read-only mapping of LEN bytes (the map's
        // value size, checked above) of a BPF map's fd, at an address the
        // kernel picks; no Rust reference is ever made to it (see the type's
        // docs), and it is unmapped only in Drop.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::LEN,
                libc::PROT_READ,
                libc::MAP_SHARED,
                map.as_fd().as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::os("mapping the scheduler's .bss"));
        }
        NonNull::new(p.cast())
            .map(|bss| Self { bss })
            .ok_or_else(|| Error::os("mapping the scheduler's .bss"))
    }

    /// `cpu`'s time running our tasks up to its last stop, and since when
    /// it runs one now (0: none), ns; `None` past the arrays.
    fn run_time(&self, cpu: usize) -> Option<(u64, u64)> {
        const LEN: usize = intf::usched_consts_USCHED_MAX_CPUS as usize;
        // Both arrays are [u64; LEN] (this compiles only if they are).
        const _: fn(&types::bss) -> (&[u64; LEN], &[u64; LEN]) =
            |b| (&b.cpu_run_ns, &b.cpu_run_since);
        if cpu >= LEN {
            return None;
        }
        // SAFETY: the mapping is live (unmapped only in Drop) and LEN bytes
        // long, so both array elements (`cpu` is below their length,
        // checked above) are inside it; no reference is made to them, and
        // volatile loads of aligned u64s the BPF side stores whole are
        // race-tolerant, any value being valid.
        unsafe {
            let b = self.bss.as_ptr();
            Some((
                std::ptr::addr_of!((*b).cpu_run_ns[cpu]).read_volatile(),
                std::ptr::addr_of!((*b).cpu_run_since[cpu]).read_volatile(),
            ))
        }
    }
}

impl Drop for BssView {
    fn drop(&mut self) {
        // SAFETY: `bss` is the start of a mapping of LEN bytes made in
        // `new` and not unmapped since; nothing refers to it after this.
        unsafe { libc::munmap(self.bss.as_ptr().cast(), Self::LEN) };
    }
}

/// One CPU's last sample: its time running our tasks up to `at`, both in
/// ns on `CLOCK_MONOTONIC` (the BPF side's `bpf_ktime_get_ns()`).
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    run_ns: u64,
    at: u64,
}

impl Sample {
    /// The sample at `now` of a CPU that ran our tasks for `run_ns` up to
    /// its last stop and runs one since `since` (0: none now).
    fn at(now: u64, run_ns: u64, since: u64) -> Self {
        let ongoing = if since == 0 { 0 } else { now.saturating_sub(since) };
        Self { run_ns: run_ns.saturating_add(ongoing), at: now }
    }

    /// Busy time (at most the period) and length of the period from
    /// `prev` to `self`, ns. A sample whose run time went backwards was
    /// read torn (a run ended between the reads of its two fields): it
    /// tells nothing (`None`).
    fn busy_since(self, prev: Sample) -> Option<(u64, u64)> {
        let run = self.run_ns.checked_sub(prev.run_ns)?;
        let period = self.at.saturating_sub(prev.at);
        Some((run.min(period), period))
    }
}

/// Computes and publishes each CPU's performance target (see the
/// [module docs](self)). Made by [`crate::BpfScheduler::cpufreq_governor`].
pub struct Governor {
    bss: BssView,
    targets: MapHandle,
    /// The CPUs governed: those online when it was made (a hotplug restarts
    /// the scheduler, and with it the governor).
    cpus: Vec<usize>,
    last: Vec<Option<Sample>>,
    perf: Vec<CpuPerf>,
    /// The target last written for each CPU (0: none).
    sent: Vec<u32>,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governor").field("cpus", &self.cpus).field("sent", &self.sent).finish()
    }
}

impl Governor {
    /// How often [`Governor::run`] samples: often enough to follow a load
    /// that changes within a second, seldom enough to cost nothing.
    pub const PERIOD: Duration = Duration::from_millis(50);

    /// # Errors
    /// [`Error::Os`] when `bss` cannot be mapped; [`Error::InvalidConfig`]
    /// when it is not this build's `.bss`.
    pub(crate) fn new(bss: &MapHandle, targets: MapHandle, cpus: Vec<usize>) -> Result<Self> {
        let n = cpus.iter().max().map_or(0, |&c| c + 1);
        Ok(Self {
            bss: BssView::new(bss)?,
            targets,
            cpus,
            last: vec![None; n],
            perf: vec![CpuPerf::new(); n],
            sent: vec![0; n],
        })
    }

    /// The targets last written, by CPU id (0: none yet).
    pub fn targets(&self) -> &[u32] {
        &self.sent
    }

    /// Takes one sample of every CPU and writes the targets that changed.
    /// The first call only takes the baseline.
    ///
    /// # Errors
    /// [`Error::Bpf`] when the targets map refuses a write (the governor
    /// holds its own handles, so a scheduler that is gone is not one: the
    /// caller stops the governor through [`Governor::run`]'s `stop`).
    pub fn step(&mut self) -> Result<()> {
        let now = crate::sys::monotonic_ns();
        for &cpu in &self.cpus {
            let Some((run_ns, since)) = self.bss.run_time(cpu) else { continue };
            let cur = Sample::at(now, run_ns, since);
            let Some(prev) = self.last[cpu] else {
                self.last[cpu] = Some(cur);
                continue;
            };
            // A torn sample is dropped, and the baseline kept: the next
            // period then measures from it.
            let Some((busy, period)) = cur.busy_since(prev) else { continue };
            self.last[cpu] = Some(cur);
            let target = self.perf[cpu].update(busy, period);
            if target != self.sent[cpu] {
                let key = (cpu as u32).to_ne_bytes();
                self.targets
                    .update(&key, &target.to_ne_bytes(), MapFlags::ANY)
                    .map_err(|e| Error::bpf("writing a CPU performance target", e))?;
                self.sent[cpu] = target;
            }
        }
        Ok(())
    }

    /// Calls [`Governor::step`] every [`Governor::PERIOD`] until `stop` is
    /// set.
    ///
    /// # Errors
    /// As [`Governor::step`].
    pub fn run(mut self, stop: &AtomicBool) -> Result<()> {
        while !stop.load(Ordering::Relaxed) {
            self.step()?;
            std::thread::sleep(Self::PERIOD);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_is_the_run_time_in_the_period() {
        // Ran 70 of the first 100 ns, then idle.
        let a = Sample::at(1000, 500, 0);
        let b = Sample::at(1100, 570, 0);
        assert_eq!(b.busy_since(a), Some((70, 100)));
        // The run in progress counts: running since 1150, sampled at 1200.
        let c = Sample::at(1200, 570, 1150);
        assert_eq!(c.busy_since(b), Some((50, 100)));
    }

    #[test]
    fn skewed_or_reversed_samples_do_not_underflow() {
        // A run that started after the clock was read (BPF's and ours read
        // apart), and a sample older than the previous one.
        let a = Sample::at(1000, 0, 1005);
        assert_eq!(a.run_ns, 0);
        let b = Sample::at(900, 10, 0);
        assert_eq!(b.busy_since(a), Some((0, 0)), "no period: nothing busy in it");
        let c = Sample::at(1100, 500, 0);
        assert_eq!(c.busy_since(a), Some((100, 100)), "more run time than time: all busy");
        // Run time that went backwards (a torn read): no period at all.
        let d = Sample::at(1200, 400, 0);
        assert_eq!(d.busy_since(c), None);
    }
}
