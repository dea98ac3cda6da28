// SPDX-License-Identifier: GPL-2.0-only
//! Configuration of a [`BpfScheduler`](crate::BpfScheduler), by named fields.
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::libbpf_opts::LibbpfOptions;

/// How the dispatcher waits for tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PollMode {
    /// Spin on the ring buffer and never sleep while attached: the lowest
    /// latency, at the price of one CPU (the dispatcher's).
    Busy,
    /// Spin for [`Config::spin`] after the last event, then block on the
    /// ring buffer's epoll; the BPF side wakes the dispatcher only when it
    /// sleeps. It spins only while some CPU is idle: with none, the spin's
    /// CPU would be taken from a task that could run. Low latency under
    /// load, near-zero CPU when idle.
    #[default]
    Adaptive,
    /// Always block on epoll between batches.
    Blocking,
}

impl PollMode {
    pub(crate) fn abi(self) -> u32 {
        use crate::bpf::intf::*;
        match self {
            PollMode::Busy => usched_consts_USCHED_POLL_BUSY,
            PollMode::Adaptive => usched_consts_USCHED_POLL_ADAPTIVE,
            PollMode::Blocking => usched_consts_USCHED_POLL_BLOCKING,
        }
    }
}

impl FromStr for PollMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "busy" => Ok(PollMode::Busy),
            "adaptive" => Ok(PollMode::Adaptive),
            "blocking" => Ok(PollMode::Blocking),
            other => Err(Error::InvalidConfig(format!(
                "poll mode '{other}' is not one of busy, adaptive, blocking"
            ))),
        }
    }
}

impl fmt::Display for PollMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PollMode::Busy => "busy",
            PollMode::Adaptive => "adaptive",
            PollMode::Blocking => "blocking",
        })
    }
}

/// Everything [`BpfScheduler::with_config`](crate::BpfScheduler::with_config)
/// needs, by name. Start from `Config::default()` and set what differs:
///
/// ```
/// use usched::{Config, PollMode};
/// let cfg = Config::default().partial(true).poll(PollMode::Busy).dispatcher_cpu(Some(1));
/// assert!(cfg.validate(4).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Schedule only tasks switched to SCHED_EXT (others stay with the kernel).
    pub partial: bool,
    /// Traces every decision the BPF side inserts (pid, CPU asked and
    /// given, slice, key, whether an input was clamped) to
    /// `/sys/kernel/tracing/trace_pipe`. Costly: off by default.
    pub debug: bool,
    /// Size of the exit dump buffer (0 = the kernel's default).
    pub exit_dump_len: u32,
    /// Slice given when a decision says 0, and to tasks dispatched in BPF.
    pub slice: Duration,
    /// Dispatch waking tasks straight to an idle CPU, bypassing user space.
    pub builtin_idle: bool,
    /// Run a sync wake-up (message passing: the waker is about to sleep)
    /// at once, without a round trip, when no task waits that the BPF
    /// side sees (not in user space, not in a DSQ): on its previous CPU if
    /// that idles in the waker's LLC, else on the waker's CPU behind the
    /// waker, one of ours that has run less than 1 ms since it last slept
    /// (its slice is ended at a tick if it runs on). The policy would have
    /// had nobody else to order. On by default.
    pub sync_handoff: bool,
    /// CPU the dispatcher runs on; in busy mode other tasks are kept off it.
    pub dispatcher_cpu: Option<usize>,
    /// How the dispatcher waits for work.
    pub poll: PollMode,
    /// Adaptive mode: how long to spin after the last event before blocking
    /// (while some CPU is idle; see [`PollMode::Adaptive`]).
    pub spin: Duration,
    /// sched_ext watchdog: a runnable task not run for this long ejects the scheduler.
    pub watchdog: Duration,
    /// Period of the BPF heartbeat timer, which runs the starvation guard:
    /// at most [`Config::starve_after`].
    pub heartbeat: Duration,
    /// Fast wake-up path: a task woken by a timer or an interrupt whose
    /// bursts average less than this, and whose sleeps average at least
    /// twice its bursts (as long, once it qualified), is dispatched by the BPF side at once (to an idle
    /// CPU, else cutting in on a long-running task; see
    /// docs/architecture.md) instead of waiting for the user-space round
    /// trip. `None`: every task goes through the policy.
    pub fast_wakeup: Option<Duration>,
    /// Set CPU performance targets (`scx_bpf_cpuperf_set()`, which
    /// schedutil turns into frequencies): a latency-critical task (a fast
    /// waker, see [`Config::fast_wakeup`]) runs at full speed, and each CPU
    /// otherwise at what its utilisation asks for, as the governor
    /// ([`crate::cpufreq::Governor`], to be run by the caller) computes it.
    /// Off: the scheduler leaves frequencies to the kernel.
    pub cpufreq: bool,
    /// Pack work onto fewer cores: an idle CPU for work is chosen on a
    /// partly busy core (the thread beside a busy one) before a wholly
    /// idle core, and a task that shares a core is not moved to an idle
    /// one, so that whole cores stay idle and may sleep deeper. Costs
    /// throughput where SMT siblings share a core. Off: work spreads over
    /// whole idle cores first.
    pub pack: bool,
    /// The CPUs a fast waker (see [`Config::fast_wakeup`]) goes to when
    /// one of them idles, best first, before any other idle CPU: its
    /// previous CPU if that is one of them and idle, else the first one in
    /// this order on a whole idle core, else the first idle one. `None`:
    /// on a machine with little cores (hybrid P/E cores) the biggest ones
    /// (the big cores within 90 % of the highest capacity among them, by
    /// capacity then id; the kernel's `cpu_capacity` where sysfs has it,
    /// else, on a part whose efficient cores the kernel lists, those are
    /// little and the others keep scx_utils' estimate), none where the CPUs
    /// are alike (AMD's preferred-core rankings do not count).
    /// `Some` of an empty list: no preference. Not applied with
    /// [`Config::pack`], which chooses idle CPUs by its own rule.
    pub fast_cpus: Option<Vec<usize>>,
    /// The BPF side tells each task's wake-ups and each start and end of a
    /// run on a CPU (every task it schedules, whether the policy saw it or
    /// not) through
    /// a 4 MiB ring buffer, read with [`crate::BpfScheduler::run_events`]
    /// (what `scx_usched --record` writes as wake, run and stop records). Off by
    /// default: it costs a ring-buffer write per wake-up and two per
    /// context switch, each under the ring's one lock, shared by all CPUs.
    pub run_events: bool,
    /// Size of the ring buffer that carries runnable tasks to user space, in
    /// bytes (a power of two, at least one page; 136 bytes a task with its header). When it is
    /// full, tasks bypass user space through the shared DSQ (congestion).
    pub ring_bytes: u32,
    /// Options for libbpf when it opens the BPF object (`--kconfig` and
    /// friends); checked when the scheduler loads.
    pub libbpf: LibbpfOptions,
    /// The scheduler's name, as `/sys/kernel/sched_ext/root/ops` shows it
    /// (letters, digits, `_` and `.`, at most [`Config::NAME_MAX`] bytes).
    /// `None`: the BPF object's own, `usched`.
    pub name: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            partial: false,
            debug: false,
            exit_dump_len: 0,
            slice: Self::SLICE_DEFAULT,
            builtin_idle: false,
            sync_handoff: true,
            dispatcher_cpu: None,
            poll: PollMode::Adaptive,
            spin: Self::SPIN_DEFAULT,
            watchdog: Self::WATCHDOG_DEFAULT,
            heartbeat: Self::HEARTBEAT_DEFAULT,
            ring_bytes: Self::RING_BYTES_DEFAULT,
            fast_wakeup: None,
            cpufreq: false,
            pack: false,
            run_events: false,
            fast_cpus: None,
            libbpf: LibbpfOptions::default(),
            name: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $t:ty),* $(,)?) => {$(
        $(#[$m])*
        #[must_use]
        pub fn $name(mut self, v: $t) -> Self {
            self.$name = v;
            self
        }
    )*};
}

impl Config {
    setters! {
        /// Sets [`Config::partial`].
        partial: bool,
        /// Sets [`Config::debug`].
        debug: bool,
        /// Sets [`Config::exit_dump_len`].
        exit_dump_len: u32,
        /// Sets [`Config::slice`].
        slice: Duration,
        /// Sets [`Config::builtin_idle`].
        builtin_idle: bool,
        /// Sets [`Config::sync_handoff`].
        sync_handoff: bool,
        /// Sets [`Config::dispatcher_cpu`].
        dispatcher_cpu: Option<usize>,
        /// Sets [`Config::poll`].
        poll: PollMode,
        /// Sets [`Config::spin`].
        spin: Duration,
        /// Sets [`Config::watchdog`].
        watchdog: Duration,
        /// Sets [`Config::heartbeat`].
        heartbeat: Duration,
        /// Sets [`Config::ring_bytes`].
        ring_bytes: u32,
        /// Sets [`Config::fast_wakeup`].
        fast_wakeup: Option<Duration>,
        /// Sets [`Config::cpufreq`].
        cpufreq: bool,
        /// Sets [`Config::pack`].
        pack: bool,
        /// Sets [`Config::fast_cpus`].
        fast_cpus: Option<Vec<usize>>,
        /// Sets [`Config::run_events`].
        run_events: bool,
        /// Sets [`Config::libbpf`].
        libbpf: LibbpfOptions,
        /// Sets [`Config::name`].
        name: Option<String>,
    }

    /// Default [`Config::slice`] (`USCHED_SLICE_DEFAULT_NS`, `bpf/intf.h`).
    pub const SLICE_DEFAULT: Duration =
        Duration::from_nanos(crate::bpf::intf::usched_defaults_USCHED_SLICE_DEFAULT_NS as u64);
    /// Shortest [`Config::slice`].
    pub const SLICE_MIN: Duration = Duration::from_micros(50);
    /// Longest [`Config::slice`]: the longest slice a decision may carry
    /// (`USCHED_SLICE_MAX_NS`, `bpf/intf.h`).
    pub const SLICE_MAX: Duration =
        Duration::from_nanos(crate::bpf::intf::usched_limits_USCHED_SLICE_MAX_NS);
    /// Default [`Config::spin`].
    pub const SPIN_DEFAULT: Duration = Duration::from_micros(200);
    /// Longest [`Config::spin`].
    pub const SPIN_MAX: Duration = Duration::from_secs(1);
    /// Default [`Config::watchdog`] (`USCHED_WATCHDOG_DEFAULT_MS`, `bpf/intf.h`).
    pub const WATCHDOG_DEFAULT: Duration =
        Duration::from_millis(crate::bpf::intf::usched_defaults_USCHED_WATCHDOG_DEFAULT_MS as u64);
    /// Default [`Config::heartbeat`] (`USCHED_HEARTBEAT_DEFAULT_NS`, `bpf/intf.h`).
    pub const HEARTBEAT_DEFAULT: Duration =
        Duration::from_nanos(crate::bpf::intf::usched_defaults_USCHED_HEARTBEAT_DEFAULT_NS as u64);
    /// Shortest [`Config::heartbeat`].
    pub const HEARTBEAT_MIN: Duration = Duration::from_millis(1);
    /// Longest [`Config::heartbeat`].
    pub const HEARTBEAT_MAX: Duration = Duration::from_secs(1);
    /// Default [`Config::ring_bytes`] (`USCHED_QUEUED_RB_BYTES`, `bpf/intf.h`).
    pub const RING_BYTES_DEFAULT: u32 = crate::bpf::intf::usched_consts_USCHED_QUEUED_RB_BYTES;
    /// Smallest [`Config::ring_bytes`]: one page.
    pub const RING_BYTES_MIN: u32 = 4096;
    /// Largest [`Config::ring_bytes`].
    pub const RING_BYTES_MAX: u32 = 1 << 28;

    /// Longest [`Config::name`]: the kernel's `SCX_OPS_NAME_LEN` (128)
    /// less the terminator (asserted against the skeleton where it loads).
    pub const NAME_MAX: usize = 127;

    /// Shortest watchdog timeout the BPF side accepts (`bpf/intf.h`).
    pub const WATCHDOG_MIN: Duration =
        Duration::from_millis(crate::bpf::intf::usched_limits_USCHED_WATCHDOG_MIN_MS);
    /// Longest watchdog timeout the BPF side accepts (`bpf/intf.h`).
    pub const WATCHDOG_MAX: Duration =
        Duration::from_millis(crate::bpf::intf::usched_limits_USCHED_WATCHDOG_MAX_MS);

    /// How long a task may wait in a DSQ before the starvation guard moves
    /// it ahead: the watchdog divided by `USCHED_STARVE_DIV` (`bpf/intf.h`),
    /// so that a task is rescued well before the kernel ejects the scheduler.
    pub const fn starve_after(&self) -> Duration {
        starve_after_for(self.watchdog)
    }

    /// Checks every value against its range on a machine with `nr_cpu_ids` possible CPU ids.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first bad value.
    pub fn validate(&self, nr_cpu_ids: usize) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        within("slice", self.slice, Self::SLICE_MIN, Self::SLICE_MAX)?;
        if let Some(name) = &self.name {
            // The kernel copies it with bpf_obj_name_cpy(), which takes these.
            let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
            if name.is_empty() || name.len() > Self::NAME_MAX || !name.chars().all(ok) {
                return bad(format!(
                    "scheduler name {name:?} is not 1 to {} letters, digits, '_' or '.'",
                    Self::NAME_MAX
                ));
            }
        }
        if let Some(cpu) = self.dispatcher_cpu {
            if cpu >= nr_cpu_ids {
                return bad(format!(
                    "dispatcher CPU {cpu} does not exist (CPU ids 0..{nr_cpu_ids})"
                ));
            }
        }
        if let Some(cpus) = &self.fast_cpus {
            if let Some(&cpu) = cpus.iter().find(|&&c| c >= nr_cpu_ids) {
                return bad(format!("fast CPU {cpu} does not exist (CPU ids 0..{nr_cpu_ids})"));
            }
            let mut seen = vec![false; nr_cpu_ids];
            if let Some(&cpu) = cpus.iter().find(|&&c| std::mem::replace(&mut seen[c], true)) {
                return bad(format!("fast CPU {cpu} is listed twice"));
            }
        }
        if self.poll == PollMode::Busy && nr_cpu_ids < 2 {
            return bad("busy polling needs at least 2 CPUs (it takes one whole)".into());
        }
        if self.spin > Self::SPIN_MAX {
            return bad(format!("spin window {:?} is over {:?}", self.spin, Self::SPIN_MAX));
        }
        within("watchdog", self.watchdog, Self::WATCHDOG_MIN, Self::WATCHDOG_MAX)?;
        if let Some(f) = self.fast_wakeup {
            if f.is_zero() || f > self.slice {
                return bad(format!("fast wake-up threshold {f:?} is outside (0, slice]"));
            }
        }
        if !self.ring_bytes.is_power_of_two()
            || !(Self::RING_BYTES_MIN..=Self::RING_BYTES_MAX).contains(&self.ring_bytes)
        {
            return bad(format!(
                "ring buffer size {} is not a power of two in {} KiB..={} MiB",
                self.ring_bytes,
                Self::RING_BYTES_MIN >> 10,
                Self::RING_BYTES_MAX >> 20
            ));
        }
        within("heartbeat", self.heartbeat, Self::HEARTBEAT_MIN, Self::HEARTBEAT_MAX)?;
        // The starvation guard runs in the heartbeat: a slower one would
        // look at a starving task late, and the last rescue (at half the
        // watchdog) could come after the watchdog has ejected us.
        if self.heartbeat > self.starve_after() {
            return bad(format!(
                "heartbeat {:?} is longer than the starvation guard's threshold {:?} (watchdog / {})",
                self.heartbeat,
                self.starve_after(),
                crate::bpf::intf::usched_limits_USCHED_STARVE_DIV
            ));
        }
        Ok(())
    }
}

// Each default lies in its own range (`Config::default()` validates).
const _: () = {
    const fn within_ns(v: Duration, min: Duration, max: Duration) -> bool {
        v.as_nanos() >= min.as_nanos() && v.as_nanos() <= max.as_nanos()
    }
    assert!(within_ns(Config::SLICE_DEFAULT, Config::SLICE_MIN, Config::SLICE_MAX));
    assert!(within_ns(Config::SPIN_DEFAULT, Duration::ZERO, Config::SPIN_MAX));
    assert!(within_ns(Config::WATCHDOG_DEFAULT, Config::WATCHDOG_MIN, Config::WATCHDOG_MAX));
    assert!(within_ns(Config::HEARTBEAT_DEFAULT, Config::HEARTBEAT_MIN, Config::HEARTBEAT_MAX));
    assert!(
        Config::RING_BYTES_DEFAULT >= Config::RING_BYTES_MIN
            && Config::RING_BYTES_DEFAULT <= Config::RING_BYTES_MAX
            && Config::RING_BYTES_DEFAULT.is_power_of_two()
    );
    assert!(
        Config::HEARTBEAT_DEFAULT.as_nanos()
            <= starve_after_for(Config::WATCHDOG_DEFAULT).as_nanos()
    );
};

/// The starvation threshold under `watchdog` (see [`Config::starve_after`]).
const fn starve_after_for(watchdog: Duration) -> Duration {
    const DIV: u32 = crate::bpf::intf::usched_limits_USCHED_STARVE_DIV as u32;
    const _: () = assert!(DIV > 0);
    match watchdog.checked_div(DIV) {
        Some(d) => d,
        None => Duration::ZERO,
    }
}

/// `v` lies in `min..=max`, or an [`Error::InvalidConfig`] naming `what`.
fn within(what: &str, v: Duration, min: Duration, max: Duration) -> Result<()> {
    if v < min || v > max {
        return Err(Error::InvalidConfig(format!("{what} {v:?} is outside {min:?}..={max:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_named() {
        assert!(Config::default().validate(1).is_ok());
        let e = Config::default().slice(Duration::from_nanos(5000)).validate(4).unwrap_err();
        assert!(e.to_string().contains("slice"), "{e}");
        let e = Config::default().dispatcher_cpu(Some(8)).validate(4).unwrap_err();
        assert!(e.to_string().contains("dispatcher CPU 8"), "{e}");
        let e = Config::default().fast_cpus(Some(vec![1, 4])).validate(4).unwrap_err();
        assert!(e.to_string().contains("fast CPU 4 does not exist"), "{e}");
        let e = Config::default().fast_cpus(Some(vec![2, 1, 2])).validate(4).unwrap_err();
        assert!(e.to_string().contains("fast CPU 2 is listed twice"), "{e}");
        assert!(Config::default().fast_cpus(Some(vec![3, 0])).validate(4).is_ok());
        assert!(Config::default().fast_cpus(Some(vec![])).validate(4).is_ok());
        let e = Config::default().poll(PollMode::Busy).validate(1).unwrap_err();
        assert!(e.to_string().contains("busy"), "{e}");
        let e = Config::default().ring_bytes(5000).validate(4).unwrap_err();
        assert!(e.to_string().contains("power of two"), "{e}");
        assert!(Config::default().ring_bytes(1 << 16).validate(4).is_ok());
        let e = Config::default().ring_bytes(Config::RING_BYTES_MAX * 2).validate(4).unwrap_err();
        assert!(e.to_string().contains("4 KiB..=256 MiB"), "{e}");
        let e = Config::default().heartbeat(Duration::from_secs(2)).validate(4).unwrap_err();
        assert!(e.to_string().contains("heartbeat"), "{e}");
        let short = Config::default().watchdog(Config::WATCHDOG_MIN);
        let e = short.clone().heartbeat(Duration::from_millis(200)).validate(4).unwrap_err();
        assert!(e.to_string().contains("starvation guard's threshold 100ms"), "{e}");
        assert!(short.heartbeat(Duration::from_millis(100)).validate(4).is_ok());
        assert!(Config::default().slice(Config::SLICE_MAX).validate(4).is_ok());
        assert!(Config::default().slice(Config::SLICE_MAX * 2).validate(4).is_err());
        for bad in ["", "a b", "näme", &"x".repeat(Config::NAME_MAX + 1)] {
            let e = Config::default().name(Some(bad.into())).validate(4).unwrap_err();
            assert!(e.to_string().contains("scheduler name"), "{bad:?}: {e}");
        }
        let longest = "x".repeat(Config::NAME_MAX);
        assert!(Config::default().name(Some(longest)).validate(4).is_ok());
        assert!(Config::default().name(Some("rl_fifo.2".into())).validate(4).is_ok());
        assert!("spin".parse::<PollMode>().is_err());
        assert_eq!("busy".parse::<PollMode>().unwrap(), PollMode::Busy);
        assert_eq!(PollMode::Blocking.to_string(), "blocking");
    }
}
