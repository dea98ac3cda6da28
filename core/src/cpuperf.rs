// SPDX-License-Identifier: GPL-2.0-only
//! The CPU frequency rule: how fast a CPU should run, from how busy it was.
//!
//! A governor samples each CPU's busy time once per period and feeds it to
//! that CPU's [`CpuPerf`], which keeps a utilisation estimate and answers
//! with a performance target on the kernel's cpuperf scale (`0..=`
//! [`CPUPERF_ONE`], what `scx_bpf_cpuperf_set()` takes; schedutil turns it
//! into a frequency). The estimate rises at once when a CPU gets busier (a
//! task that starts working is not held back at a low clock) and decays by a
//! quarter of the gap per period when it gets quieter (a CPU that idles
//! between a game's frames does not drop to the floor in between). The
//! target is the utilisation itself: schedutil adds its own quarter of
//! headroom to a sched_ext target (`sugov_effective_cpu_perf()`), so a CPU
//! busy 40 % of the time runs at about half speed, and one busy 80 % or
//! more at full speed.
//!
//! Latency-critical tasks are not this rule's business: the BPF side runs
//! them at [`CPUPERF_ONE`] whatever the CPU's target.

/// Full performance on the kernel's cpuperf scale (`SCX_CPUPERF_ONE`).
pub const CPUPERF_ONE: u32 = 1024;

/// The lowest target the rule asks for. 0 is left out: to the BPF side, a
/// target of 0 means "none requested yet", and the CPU is left alone.
pub const CPUPERF_MIN: u32 = 1;

/// One CPU's utilisation estimate (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuPerf {
    /// Utilisation on the [`CPUPERF_ONE`] scale.
    util: u32,
}

impl CpuPerf {
    /// An estimate that starts idle.
    pub const fn new() -> Self {
        Self { util: 0 }
    }

    /// The utilisation estimate, on the [`CPUPERF_ONE`] scale.
    pub const fn util(&self) -> u32 {
        self.util
    }

    /// Takes one period's sample (`busy_ns` of the `period_ns` that passed)
    /// and returns the CPU's new target. A period of 0 (two samples at the
    /// same instant) changes nothing; busy time beyond the period (clocks
    /// read a little apart) counts as fully busy.
    pub fn update(&mut self, busy_ns: u64, period_ns: u64) -> u32 {
        if period_ns > 0 {
            let busy = busy_ns.min(period_ns);
            // busy <= period_ns, so the quotient is at most CPUPERF_ONE.
            let sample =
                (u128::from(busy) * u128::from(CPUPERF_ONE) / u128::from(period_ns)) as u32;
            self.util = if sample >= self.util {
                sample
            } else {
                // Round the decay up, so a CPU that stays idle reaches 0.
                self.util - (self.util - sample).div_ceil(4)
            };
        }
        self.target()
    }

    /// The target for the current estimate: the utilisation, within
    /// [`CPUPERF_MIN`]`..=`[`CPUPERF_ONE`].
    pub const fn target(&self) -> u32 {
        target_for(self.util)
    }
}

/// The target for a utilisation on the [`CPUPERF_ONE`] scale: the
/// utilisation itself (schedutil adds the headroom), within
/// [`CPUPERF_MIN`]`..=`[`CPUPERF_ONE`].
pub const fn target_for(util: u32) -> u32 {
    if util > CPUPERF_ONE {
        CPUPERF_ONE
    } else if util < CPUPERF_MIN {
        CPUPERF_MIN
    } else {
        util
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_busy_cpu_runs_at_full_speed_at_once() {
        let mut c = CpuPerf::new();
        assert_eq!(c.update(100 * MS, 100 * MS), CPUPERF_ONE);
    }

    #[test]
    fn the_target_is_the_utilisation_schedutil_adds_the_headroom() {
        let mut c = CpuPerf::new();
        // 40 % busy: 409, which schedutil runs at 511 (+ a quarter).
        assert_eq!(c.update(40 * MS, 100 * MS), 409);
        assert_eq!(c.util(), 409);
        assert_eq!(CpuPerf::new().update(80 * MS, 100 * MS), 819);
        assert_eq!(target_for(0), CPUPERF_MIN);
        assert_eq!(target_for(CPUPERF_ONE * 2), CPUPERF_ONE);
    }

    #[test]
    fn an_idle_cpu_slows_down_gradually_and_reaches_the_floor() {
        let mut c = CpuPerf::new();
        c.update(100 * MS, 100 * MS);
        let first = c.update(0, 100 * MS);
        assert!(first < CPUPERF_ONE && first > CPUPERF_ONE / 2, "one idle period: {first}");
        let mut last = first;
        for _ in 0..40 {
            let t = c.update(0, 100 * MS);
            assert!(t <= last, "never rises while idle");
            last = t;
        }
        assert_eq!(c.util(), 0);
        assert_eq!(last, CPUPERF_MIN);
    }

    #[test]
    fn degenerate_samples_are_safe() {
        let mut c = CpuPerf::new();
        c.update(50 * MS, 100 * MS);
        let before = c;
        assert_eq!(c.update(10 * MS, 0), before.target(), "an empty period changes nothing");
        assert_eq!(c, before);
        assert_eq!(c.update(u64::MAX, 1), CPUPERF_ONE, "busy beyond the period is full");
        assert_eq!(c.update(u64::MAX, u64::MAX), CPUPERF_ONE, "no overflow");
    }

    #[test]
    fn the_target_is_monotone_in_utilisation() {
        let mut prev = 0;
        for busy in 0..=100u64 {
            let t = CpuPerf::new().update(busy * MS, 100 * MS);
            assert!(t >= prev && (CPUPERF_MIN..=CPUPERF_ONE).contains(&t), "{busy}: {t}");
            prev = t;
        }
    }
}
