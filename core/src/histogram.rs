// SPDX-License-Identifier: GPL-2.0-only
//! Log-linear latency histograms over the whole `u64` range.
//!
//! Values below 128 get a bucket each; above, every power-of-two range
//! `[2^k, 2^(k+1))` is cut into 64 equal buckets (the HdrHistogram layout with
//! 6 sub-bucket bits). A bucket is thus at most 1/64 of its lower bound wide,
//! and percentiles report the bucket's midpoint: the relative error is below
//! 0.8 % (at most 1.6 %), well inside a 3 % budget. 3776 buckets × 8 bytes.
//!
//! [`Histogram`] is a plain value for one thread; [`AtomicHistogram`] is
//! recorded into by one (or more) threads while others take
//! [`snapshot`](AtomicHistogram::snapshot)s.
use core::sync::atomic::{AtomicU64, Ordering};

/// Sub-bucket bits: 64 buckets per power of two.
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Number of buckets covering all of `u64`.
pub const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// The bucket holding `v`.
#[inline(always)]
pub const fn bucket_of(v: u64) -> usize {
    if v < (2 * SUB) as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    SUB + (shift as usize) * SUB + sub
}

/// The smallest value of bucket `i` and the bucket's width.
#[inline]
pub const fn bucket_range(i: usize) -> (u64, u64) {
    if i < 2 * SUB {
        return (i as u64, 1);
    }
    let shift = ((i - SUB) / SUB) as u32;
    let sub = ((i - SUB) % SUB) as u64;
    ((SUB as u64 + sub) << shift, 1u64 << shift)
}

/// A fixed-size log-linear histogram (see the [module docs](self)).
///
/// Counts and the sum saturate at `u64::MAX` instead of wrapping: a
/// saturated count stops growing, and a saturated sum makes
/// [`mean`](Self::mean) a lower bound.
#[derive(Clone)]
pub struct Histogram {
    counts: [u64; BUCKETS],
    total: u64,
    sum: u64,
    min: u64,
    max: u64,
}

impl Histogram {
    /// An empty histogram.
    pub const fn new() -> Self {
        Self { counts: [0; BUCKETS], total: 0, sum: 0, min: u64::MAX, max: 0 }
    }

    /// Adds one sample.
    #[inline]
    pub fn record(&mut self, v: u64) {
        let c = &mut self.counts[bucket_of(v)];
        *c = c.saturating_add(1);
        self.total = self.total.saturating_add(1);
        self.sum = self.sum.saturating_add(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds `n` samples of value `v`.
    pub fn record_n(&mut self, v: u64, n: u64) {
        if n == 0 {
            return;
        }
        let c = &mut self.counts[bucket_of(v)];
        *c = c.saturating_add(n);
        self.total = self.total.saturating_add(n);
        self.sum = self.sum.saturating_add(v.saturating_mul(n));
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds `n` samples known only by their bucket `i` (as counted by
    /// another recorder using the same layout, e.g. a BPF program). The
    /// samples count at the bucket's midpoint for the mean, and the bucket's
    /// bounds widen min and max. Indices past the last bucket are ignored.
    pub fn record_bucket(&mut self, i: usize, n: u64) {
        if n == 0 || i >= BUCKETS {
            return;
        }
        let (lo, width) = bucket_range(i);
        self.counts[i] = self.counts[i].saturating_add(n);
        self.total = self.total.saturating_add(n);
        self.sum = self.sum.saturating_add((lo + (width - 1) / 2).saturating_mul(n));
        self.min = self.min.min(lo);
        self.max = self.max.max(lo + (width - 1));
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a = a.saturating_add(*b);
        }
        self.total = self.total.saturating_add(other.total);
        self.sum = self.sum.saturating_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Number of samples.
    pub const fn count(&self) -> u64 {
        self.total
    }

    /// Largest sample (exact), or 0 when empty.
    pub const fn max(&self) -> u64 {
        self.max
    }

    /// Smallest sample (exact), or 0 when empty.
    pub const fn min(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            self.min
        }
    }

    /// Mean of the samples, or 0 when empty (a lower bound once the sum
    /// saturated).
    pub const fn mean(&self) -> u64 {
        match self.sum.checked_div(self.total) {
            Some(m) => m,
            None => 0,
        }
    }

    /// The value below which `p` percent of the samples lie (`p` in 0..=100),
    /// within the histogram's relative error; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let p = if p.is_nan() { 100.0 } else { p.clamp(0.0, 100.0) };
        // Rank of the sample we want, 1-based.
        // ceil() is not in core: round up by hand.
        let exact = (p / 100.0) * self.total as f64;
        let mut rank = exact as u64;
        if (rank as f64) < exact {
            rank = rank.saturating_add(1);
        }
        let rank = rank.max(1);
        if rank >= self.total {
            return self.max; // the top sample is known exactly
        }
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(*c);
            if seen >= rank {
                let (lo, width) = bucket_range(i);
                let mid = lo + (width - 1) / 2;
                // min and max are exact, so they tighten the bucket's
                // midpoint; `clamp` would panic on a (torn) min > max.
                return if self.min <= self.max { mid.clamp(self.min, self.max) } else { mid };
            }
        }
        self.max
    }

    /// The raw bucket counts (see [`bucket_range`]).
    pub fn counts(&self) -> &[u64; BUCKETS] {
        &self.counts
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.total)
            .field("min", &self.min())
            .field("p50", &self.percentile(50.0))
            .field("p99", &self.percentile(99.0))
            .field("max", &self.max)
            .finish()
    }
}

/// A histogram that threads record into concurrently while others read
/// consistent-enough [`snapshot`](Self::snapshot)s. Every update is a relaxed
/// atomic; a snapshot taken during recording may miss samples recorded at the
/// same time, never corrupts one.
pub struct AtomicHistogram {
    counts: [AtomicU64; BUCKETS],
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl AtomicHistogram {
    /// An empty histogram (`const`, so it can be a `static`).
    pub const fn new() -> Self {
        Self {
            counts: [const { AtomicU64::new(0) }; BUCKETS],
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    /// Adds one sample. Lock-free; safe from any number of threads.
    #[inline]
    pub fn record(&self, v: u64) {
        // A count cannot reach u64::MAX one sample at a time.
        self.counts[bucket_of(v)].fetch_add(1, Ordering::Relaxed);
        if self.sum.fetch_add(v, Ordering::Relaxed).checked_add(v).is_none() {
            // Saturate. Benign race: until this store a snapshot may see
            // the wrapped sum; an add landing in between is lost, but it
            // would have saturated too.
            self.sum.store(u64::MAX, Ordering::Relaxed);
        }
        if v > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(v, Ordering::Relaxed);
        }
        if v < self.min.load(Ordering::Relaxed) {
            self.min.fetch_min(v, Ordering::Relaxed);
        }
    }

    /// Copies the current state into a plain [`Histogram`].
    ///
    /// The snapshot is self-consistent even when taken during `record()`s
    /// or a `reset()`: when min or max disagree with the bucket counts (a
    /// sample counted whose min/max update is not visible yet, or a min/max
    /// older than the reset), the bounds of the lowest and highest non-empty
    /// buckets replace them, so `min <= max` whenever the count is not 0.
    pub fn snapshot(&self) -> Histogram {
        let mut h = Histogram::new();
        let (mut first, mut last) = (BUCKETS, 0);
        for (i, (dst, src)) in h.counts.iter_mut().zip(self.counts.iter()).enumerate() {
            *dst = src.load(Ordering::Relaxed);
            if *dst != 0 {
                first = first.min(i);
                last = i;
            }
            h.total = h.total.saturating_add(*dst);
        }
        h.sum = self.sum.load(Ordering::Relaxed);
        h.min = self.min.load(Ordering::Relaxed);
        h.max = self.max.load(Ordering::Relaxed);
        if h.total == 0 {
            h.min = u64::MAX;
            h.max = 0;
            return h;
        }
        let (first_lo, _) = bucket_range(first);
        let (last_lo, last_width) = bucket_range(last);
        let last_hi = last_lo + (last_width - 1);
        if bucket_of(h.min) != first {
            h.min = first_lo;
        }
        if bucket_of(h.max) != last {
            h.max = last_hi;
        }
        if h.min > h.max {
            // Both in one bucket, yet torn: keep the bucket's bounds.
            (h.min, h.max) = (first_lo, last_hi);
        }
        h
    }

    /// Forgets every sample (samples recorded meanwhile may survive).
    pub fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.sum.store(0, Ordering::Relaxed);
        self.min.store(u64::MAX, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
    }
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for AtomicHistogram {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.snapshot().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_u64() {
        let mut expect_lo = 0u64;
        for i in 0..BUCKETS {
            let (lo, w) = bucket_range(i);
            assert_eq!(lo, expect_lo, "bucket {i}");
            assert_eq!(bucket_of(lo), i);
            assert_eq!(bucket_of(lo + (w - 1)), i);
            expect_lo = lo.wrapping_add(w);
        }
        assert_eq!(expect_lo, 0, "last bucket ends at u64::MAX");
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn relative_error_within_budget() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            let mut h = Histogram::new();
            h.record(v);
            h.record(v.saturating_add(v / 7));
            let p = h.percentile(50.0);
            let err = (p as f64 - v as f64).abs() / v as f64;
            assert!(err <= 0.03, "v={v} p={p} err={err}");
            v = v * 3 + 1;
        }
    }

    #[test]
    fn percentiles_of_uniform_data() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for p in [1.0, 50.0, 90.0, 99.0, 99.9] {
            let want = p / 100.0 * 100_000.0;
            let got = h.percentile(p) as f64;
            assert!((got - want).abs() / want <= 0.03, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.percentile(100.0), 100_000);
        assert_eq!(h.max(), 100_000);
        assert_eq!(h.min(), 1);
        assert_eq!(h.mean(), 50_000);
    }

    #[test]
    fn merge_equals_recording_both() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        let mut both = Histogram::new();
        for v in (0..5000u64).map(|i| i * i) {
            if v % 2 == 0 {
                a.record(v)
            } else {
                b.record(v)
            }
            both.record(v);
        }
        a.merge(&b);
        assert_eq!(a.counts()[..], both.counts()[..]);
        assert_eq!(
            (a.count(), a.max(), a.min(), a.mean()),
            (both.count(), both.max(), both.min(), both.mean())
        );
    }

    #[test]
    fn atomic_snapshot_while_recording() {
        let h = std::sync::Arc::new(AtomicHistogram::new());
        let w = {
            let h = h.clone();
            std::thread::spawn(move || {
                for v in 0..200_000u64 {
                    h.record(v % 1000);
                }
            })
        };
        let mut last = 0;
        for _ in 0..50 {
            let c = h.snapshot().count();
            assert!(c >= last);
            last = c;
        }
        w.join().unwrap();
        let s = h.snapshot();
        assert_eq!(s.count(), 200_000);
        assert_eq!(s.max(), 999);
        assert_eq!(s.min(), 0);
    }

    #[test]
    fn record_bucket_matches_record() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        for v in [3u64, 130, 5000, 1 << 40] {
            a.record(v);
            b.record_bucket(bucket_of(v), 1);
        }
        assert_eq!(a.counts()[..], b.counts()[..]);
        for p in [10.0, 50.0, 90.0] {
            let (x, y) = (a.percentile(p) as f64, b.percentile(p) as f64);
            assert!((x - y).abs() / x <= 0.03, "p{p}: {x} vs {y}");
        }
        b.record_bucket(BUCKETS, 5);
        assert_eq!(b.count(), 4);
    }

    /// The state a snapshot can see when a `reset()` races with `record()`s:
    /// the counts say two samples, min and max still say "empty".
    fn torn_atomic() -> AtomicHistogram {
        let a = AtomicHistogram::new();
        a.counts[bucket_of(5)].store(1, Ordering::Relaxed);
        a.counts[bucket_of(300)].store(1, Ordering::Relaxed);
        a
    }

    #[test]
    fn snapshot_of_torn_state_is_consistent() {
        let s = torn_atomic().snapshot();
        assert_eq!(s.count(), 2);
        assert!(s.min() <= s.max(), "min {} > max {}", s.min(), s.max());
        // Min and max come from the buckets: 5 exactly, 300 within its bucket.
        assert_eq!(s.min(), 5);
        let (lo, w) = bucket_range(bucket_of(300));
        assert_eq!(s.max(), lo + (w - 1));
        assert_eq!(s.percentile(10.0), 5);
        assert!((lo..lo + w).contains(&s.percentile(100.0)));
        let _ = format!("{:?}", torn_atomic());
    }

    #[test]
    fn stale_min_max_outside_the_buckets_are_repaired() {
        // A reset that zeroed the counts and max but not yet min, then a
        // new sample: min (1) is older than every counted sample.
        let a = AtomicHistogram::new();
        a.counts[bucket_of(1000)].store(3, Ordering::Relaxed);
        a.min.store(1, Ordering::Relaxed);
        a.max.store(0, Ordering::Relaxed);
        let s = a.snapshot();
        let (lo, w) = bucket_range(bucket_of(1000));
        assert_eq!((s.min(), s.max()), (lo, lo + (w - 1)));
    }

    #[test]
    fn percentile_and_debug_never_panic_with_min_above_max() {
        let mut h = Histogram::new();
        h.record(10);
        h.record(20);
        h.record(30);
        h.min = 1000;
        h.max = 1;
        for p in [0.0, 50.0, 99.0, 100.0] {
            let _ = h.percentile(p);
        }
        let _ = format!("{h:?}");
    }

    #[test]
    fn counts_saturate_instead_of_wrapping() {
        let big = u64::MAX - 1;
        let mut h = Histogram::new();
        h.record_n(7, big);
        h.record_n(7, big);
        h.record(7);
        assert_eq!((h.count(), h.counts()[bucket_of(7)]), (u64::MAX, u64::MAX));
        assert!(h.mean() <= 7, "a saturated sum makes the mean a lower bound");
        h.record_bucket(bucket_of(9), big);
        h.record_bucket(bucket_of(9), big);
        assert_eq!((h.count(), h.counts()[bucket_of(9)]), (u64::MAX, u64::MAX));
        assert_eq!(h.percentile(50.0), 7);

        let mut m = Histogram::new();
        m.record_n(1 << 40, big);
        m.merge(&h);
        m.merge(&h);
        assert_eq!(m.count(), u64::MAX);
        assert_eq!(m.counts()[bucket_of(7)], u64::MAX);
        assert_eq!(m.counts()[bucket_of(1 << 40)], big);
        assert_eq!(m.max(), 1 << 40);
        let _ = (m.percentile(99.0), format!("{m:?}"));

        let a = AtomicHistogram::new();
        a.counts[bucket_of(3)].store(big, Ordering::Relaxed);
        a.counts[bucket_of(4)].store(big, Ordering::Relaxed);
        a.record(4);
        assert_eq!(a.snapshot().count(), u64::MAX);

        let a = AtomicHistogram::new();
        a.record(u64::MAX);
        a.record(2);
        assert_eq!(a.snapshot().mean(), u64::MAX / 2, "the sum saturated, not wrapped");
    }

    #[test]
    fn empty_histogram() {
        let h = Histogram::new();
        assert_eq!((h.count(), h.percentile(99.0), h.max(), h.min(), h.mean()), (0, 0, 0, 0, 0));
    }
}
