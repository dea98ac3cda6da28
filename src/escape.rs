// SPDX-License-Identifier: GPL-2.0-only
//! When a pinned dispatcher leaves its CPU: the rule that decides, from the
//! gaps between its rounds, that a higher scheduling class holds that CPU.
//!
//! A dispatcher pinned to a CPU that an RT task keeps busy runs only in the
//! kernel's ext_server (50 ms a second): every task on its way through user
//! space then waits up to a second. The dispatcher sees this only when it
//! runs again, as a gap between two rounds in which it did not sleep. After
//! such a gap, if the BPF side saw a higher class on its CPU within the last
//! [`HELD_RECENTLY`] (it samples the CPU every heartbeat and records each
//! time an RT or deadline task takes it), it may run on the process's other
//! CPUs for a while (the caller unpins it and stops spinning). When that
//! stay ends it goes back to its CPU, unless the CPU is still held: then it
//! stays another period. Starved again soon after returning, it stays away
//! twice as long, up to [`MAX_AWAY`].
use std::time::{Duration, Instant};

/// A gap between two rounds, without a sleep between them, that means the
/// dispatcher was kept off its CPU.
pub const STARVED_GAP: Duration = Duration::from_millis(20);
/// How long the dispatcher stays away from its CPU the first time.
pub const MIN_AWAY: Duration = Duration::from_secs(1);
/// The longest it stays away.
pub const MAX_AWAY: Duration = Duration::from_secs(64);
/// Back on its CPU this long without a starvation: the next one starts the
/// back-off again from [`MIN_AWAY`].
pub const SETTLED: Duration = Duration::from_secs(10);

/// A higher class was seen on the CPU this recently: it is still held
/// (longer than the ext_server's period, 1 s; with the default 100 ms
/// heartbeat, 11 samples).
pub const HELD_RECENTLY: Duration = Duration::from_millis(1100);

/// What the caller must do to the dispatcher thread's affinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Let it run on the process's other CPUs: its own is held (the gap is given).
    Leave(Duration),
    /// Pin it to its CPU again.
    Return,
}

/// The state of one pinned dispatcher.
#[derive(Debug)]
pub struct Escape {
    last_round: Option<Instant>,
    away_until: Option<Instant>,
    returned_at: Option<Instant>,
    away: Duration,
}

impl Default for Escape {
    fn default() -> Self {
        Escape { last_round: None, away_until: None, returned_at: None, away: MIN_AWAY }
    }
}

impl Escape {
    /// Whether the dispatcher is away from its CPU.
    pub fn is_away(&self) -> bool {
        self.away_until.is_some()
    }

    /// The dispatcher is about to sleep: the gap until it next runs a
    /// round is not a starvation.
    pub fn sleeping(&mut self) {
        self.last_round = None;
    }

    /// A round ends at `now`; `held` says whether a higher class still
    /// holds the dispatcher's CPU (took it within [`HELD_RECENTLY`]). What
    /// to do, if anything.
    pub fn round(&mut self, now: Instant, held: bool) -> Option<Move> {
        let gap = self.last_round.map(|t| now.saturating_duration_since(t));
        self.last_round = Some(now);
        if let Some(until) = self.away_until {
            if now < until {
                return None;
            }
            if held {
                // Still taken: returning would only be starved again.
                self.away_until = Some(now + self.away);
                return None;
            }
            self.away_until = None;
            self.returned_at = Some(now);
            return Some(Move::Return);
        }
        // A gap alone may be the round's own work or a busy CPU; only a
        // higher class seen on the CPU makes it a reason to leave.
        let gap = gap.filter(|g| *g > STARVED_GAP && held)?;
        // Starved again soon after coming back: stay away longer.
        self.away = match self.returned_at {
            Some(r) if now.saturating_duration_since(r) < SETTLED => (self.away * 2).min(MAX_AWAY),
            _ => MIN_AWAY,
        };
        self.away_until = Some(now + self.away);
        Some(Move::Leave(gap))
    }

    /// The dispatcher could not leave after all (unpinning failed): it is
    /// on its CPU, as before the last [`Move::Leave`].
    pub fn stay(&mut self) {
        self.away_until = None;
    }

    /// How long the current (or last) stay away lasts.
    pub fn away(&self) -> Duration {
        self.away
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn short_gaps_and_sleeps_are_not_starvation() {
        let t0 = Instant::now();
        let mut e = Escape::default();
        assert_eq!(e.round(t0, false), None);
        assert_eq!(e.round(t0 + ms(5), false), None);
        assert_eq!(e.round(t0 + ms(25), false), None, "a 20 ms gap is allowed");
        e.sleeping();
        assert_eq!(e.round(t0 + ms(500), false), None, "a sleep is not a gap");
        assert!(!e.is_away());
    }

    #[test]
    fn a_long_gap_leaves_then_returns() {
        let t0 = Instant::now();
        let mut e = Escape::default();
        e.round(t0, false);
        assert_eq!(e.round(t0 + ms(950), false), None, "a gap without a higher class: stay");
        assert_eq!(e.round(t0 + ms(1900), true), Some(Move::Leave(ms(950))));
        assert!(e.is_away());
        assert_eq!(e.round(t0 + ms(2500), false), None, "stays away a second");
        assert_eq!(e.round(t0 + ms(2901), false), Some(Move::Return));
        assert!(!e.is_away());
    }

    #[test]
    fn stays_away_while_the_cpu_is_held() {
        let t0 = Instant::now();
        let mut e = Escape::default();
        e.round(t0, false);
        assert!(matches!(e.round(t0 + ms(950), true), Some(Move::Leave(_))));
        assert_eq!(e.round(t0 + ms(1951), true), None, "held: no return");
        assert!(e.is_away());
        assert_eq!(e.round(t0 + ms(2500), false), None, "the stay was extended");
        assert_eq!(e.round(t0 + ms(2952), false), Some(Move::Return));
        assert_eq!(e.away(), MIN_AWAY, "not a new starvation: no doubling");
    }

    #[test]
    fn stay_cancels_a_leave() {
        let t0 = Instant::now();
        let mut e = Escape::default();
        e.round(t0, true);
        assert!(matches!(e.round(t0 + ms(950), true), Some(Move::Leave(_))));
        e.stay();
        assert!(!e.is_away());
        assert_eq!(e.round(t0 + ms(960), true), None, "no Return for a stay that never began");
    }

    #[test]
    fn starved_again_soon_doubles_the_stay_up_to_the_cap() {
        let t0 = Instant::now();
        let mut e = Escape::default();
        let mut t = t0;
        e.round(t, false);
        let mut stays = Vec::new();
        for _ in 0..10 {
            t += ms(100);
            assert!(matches!(e.round(t, true), Some(Move::Leave(_))));
            stays.push(e.away());
            t += e.away();
            assert_eq!(e.round(t, false), Some(Move::Return));
        }
        assert_eq!(stays[0], MIN_AWAY);
        assert_eq!(stays[1], MIN_AWAY * 2);
        assert_eq!(*stays.last().unwrap_or(&Duration::ZERO), MAX_AWAY);
    }

    #[test]
    fn settled_resets_the_back_off() {
        let t0 = Instant::now();
        let mut e = Escape::default();
        let mut t = t0;
        e.round(t, false);
        for _ in 0..3 {
            t += ms(100);
            e.round(t, true);
            t += e.away();
            e.round(t, false);
        }
        assert_eq!(e.away(), MIN_AWAY * 4);
        // Rounds every millisecond for longer than SETTLED, then a gap.
        let end = t + SETTLED + ms(10);
        while t < end {
            t += ms(1);
            assert_eq!(e.round(t, false), None);
        }
        t += ms(100);
        assert!(matches!(e.round(t, true), Some(Move::Leave(_))));
        assert_eq!(e.away(), MIN_AWAY);
    }
}
