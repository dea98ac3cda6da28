// SPDX-License-Identifier: GPL-2.0-only
//! `--mode`: presets over the dispatcher and policy knobs, named as
//! scx_loader names its profiles. A flag given explicitly always wins over
//! the preset; a knob neither sets keeps usched's default.
use std::fmt;
use std::time::Duration;

use usched::{Config, PollMode};

/// A profile of the machine's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// usched's defaults: adaptive polling, 5 ms slices, fast wake-ups up
    /// to 5 ms bursts (an audio period, a 60 Hz frame's work).
    #[default]
    Auto,
    /// A game beside background work: the adaptive dispatcher spins twice
    /// as long before it sleeps (fast wake-ups as auto's: a threshold is at
    /// most the slice).
    Gaming,
    /// Latency first: the dispatcher busy-polls on a reserved CPU (it costs
    /// that CPU), 2 ms slices, fast wake-ups up to 2 ms bursts.
    Lowlatency,
    /// Fewer wake-ups and lower clocks: the dispatcher always blocks
    /// between batches (no spinning), slices are 20 ms, `--cpufreq` is on
    /// (CPU speed follows utilisation; latency-critical tasks still run at
    /// full speed) and so is `--pack` (work fills partly busy cores before
    /// waking idle ones).
    Powersave,
    /// Throughput: 20 ms slices (fewer switches), adaptive polling.
    Server,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Auto => "auto",
            Mode::Gaming => "gaming",
            Mode::Lowlatency => "lowlatency",
            Mode::Powersave => "powersave",
            Mode::Server => "server",
        })
    }
}

/// The knobs a mode sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knobs {
    /// How the dispatcher waits (`--poll`).
    pub poll: PollMode,
    /// Longest slice, µs (`--slice-us`).
    pub slice_us: u64,
    /// Adaptive mode's spin, µs (`--spin-us`).
    pub spin_us: u64,
    /// Fast wake-up threshold, µs, 0 = off (`--fast-wakeup-us`).
    pub fast_wakeup_us: u64,
    /// CPU performance targets (`--cpufreq`).
    pub cpufreq: bool,
    /// Pack work onto fewer cores (`--pack`).
    pub pack: bool,
}

/// What the user gave explicitly; `None` takes the mode's value.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit {
    /// `--poll`.
    pub poll: Option<PollMode>,
    /// `--slice-us`.
    pub slice_us: Option<u64>,
    /// `--spin-us`.
    pub spin_us: Option<u64>,
    /// `--fast-wakeup-us`.
    pub fast_wakeup_us: Option<u64>,
    /// `--cpufreq` (a flag: given means on).
    pub cpufreq: Option<bool>,
    /// `--pack` (a flag: given means on).
    pub pack: Option<bool>,
}

/// usched's default fast wake-up threshold, µs: a 60 Hz frame loop's 4 ms
/// of work takes the fast path (at 1 ms it went through user space and woke
/// 1.3-1.7 ms late at the median against EEVDF's 0.26-0.34 ms; docs/benchmarks.md,
/// "Frame loops on the fast path"). At most the default slice (`Config`
/// wants the threshold within it).
pub const FAST_WAKEUP_US_DEFAULT: u64 = 5000;

impl Mode {
    /// The knobs of this mode.
    pub fn knobs(self) -> Knobs {
        let auto = Knobs {
            poll: PollMode::Adaptive,
            slice_us: Config::SLICE_DEFAULT.as_micros() as u64,
            spin_us: Config::SPIN_DEFAULT.as_micros() as u64,
            fast_wakeup_us: FAST_WAKEUP_US_DEFAULT,
            cpufreq: false,
            pack: false,
        };
        match self {
            Mode::Auto => auto,
            Mode::Gaming => Knobs { spin_us: 2 * auto.spin_us, ..auto },
            Mode::Lowlatency => Knobs {
                poll: PollMode::Busy,
                slice_us: ms(2),
                // Within its slice.
                fast_wakeup_us: ms(2),
                ..auto
            },
            Mode::Powersave => Knobs {
                poll: PollMode::Blocking,
                slice_us: ms(20),
                spin_us: 0,
                cpufreq: true,
                pack: true,
                ..auto
            },
            Mode::Server => Knobs { slice_us: ms(20), ..auto },
        }
    }

    /// This mode's knobs, each replaced by the explicit value where the
    /// user gave one. The mode's fast wake-up threshold is cut to the slice
    /// given (`-s 2000` alone must not be refused for it); one given
    /// explicitly is checked by `Config` instead.
    pub fn resolve(self, given: Explicit) -> Knobs {
        let k = self.knobs();
        let slice_us = given.slice_us.unwrap_or(k.slice_us);
        Knobs {
            poll: given.poll.unwrap_or(k.poll),
            slice_us,
            spin_us: given.spin_us.unwrap_or(k.spin_us),
            fast_wakeup_us: given.fast_wakeup_us.unwrap_or(k.fast_wakeup_us.min(slice_us)),
            cpufreq: given.cpufreq.unwrap_or(k.cpufreq),
            pack: given.pack.unwrap_or(k.pack),
        }
    }
}

fn ms(n: u64) -> u64 {
    Duration::from_millis(n).as_micros() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_usched_defaults() {
        let k = Mode::Auto.knobs();
        assert_eq!(k.poll, PollMode::default());
        assert_eq!(k.slice_us, Config::SLICE_DEFAULT.as_micros() as u64);
        assert_eq!(k.spin_us, Config::SPIN_DEFAULT.as_micros() as u64);
    }

    #[test]
    fn explicit_flags_win_over_the_mode() {
        let given =
            Explicit { poll: Some(PollMode::Adaptive), slice_us: Some(3000), ..Default::default() };
        let k = Mode::Powersave.resolve(given);
        assert_eq!(k.poll, PollMode::Adaptive);
        assert_eq!(k.slice_us, 3000);
        assert_eq!(k.spin_us, 0, "not given: the mode's");
        assert!(k.cpufreq, "powersave sets CPU performance targets");
        assert!(k.pack, "powersave packs work");
        assert!(!Mode::Gaming.knobs().pack);
        assert!(!Mode::Auto.knobs().cpufreq, "opt-in elsewhere");
        let on = Explicit { cpufreq: Some(true), ..Default::default() };
        assert!(Mode::Gaming.resolve(on).cpufreq);
        assert_eq!(Mode::Lowlatency.resolve(Explicit::default()), Mode::Lowlatency.knobs());
        // A shorter slice given alone takes the mode's threshold down with it.
        let short = Explicit { slice_us: Some(2000), ..Default::default() };
        assert_eq!(Mode::Auto.resolve(short).fast_wakeup_us, 2000);
        let both =
            Explicit { slice_us: Some(2000), fast_wakeup_us: Some(3000), ..Default::default() };
        assert_eq!(Mode::Auto.resolve(both).fast_wakeup_us, 3000, "explicit: Config judges it");
    }

    #[test]
    fn every_mode_is_within_the_flags_ranges() {
        for m in [Mode::Auto, Mode::Gaming, Mode::Lowlatency, Mode::Powersave, Mode::Server] {
            let k = m.knobs();
            let slice = Duration::from_micros(k.slice_us);
            assert!((Config::SLICE_MIN..=Config::SLICE_MAX).contains(&slice), "{m}");
            assert!(Duration::from_micros(k.spin_us) <= Config::SPIN_MAX, "{m}");
            assert!(k.fast_wakeup_us <= k.slice_us, "{m}: the threshold within the slice");
        }
    }
}
