// SPDX-License-Identifier: GPL-2.0-only
//! Wrap-safe comparisons of `u64` clocks (nanosecond timestamps, vruntimes,
//! deadlines), in the manner of the kernel's `time_before()`.
//!
//! Two values compare correctly as long as they are less than 2^63 apart,
//! even when the counter has wrapped between them: `u64::MAX` is *before* `0`.

/// `a` is strictly before `b`.
#[inline(always)]
pub const fn time_before(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}

/// `a` is strictly after `b`.
#[inline(always)]
pub const fn time_after(a: u64, b: u64) -> bool {
    time_before(b, a)
}

/// `a` is before or equal to `b`.
#[inline(always)]
pub const fn time_before_eq(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) <= 0
}

/// `a` is after or equal to `b`.
#[inline(always)]
pub const fn time_after_eq(a: u64, b: u64) -> bool {
    time_before_eq(b, a)
}

/// The later of `a` and `b`, wrap-safe.
#[inline(always)]
pub const fn time_max(a: u64, b: u64) -> u64 {
    if time_after(a, b) {
        a
    } else {
        b
    }
}

/// The earlier of `a` and `b`, wrap-safe.
#[inline(always)]
pub const fn time_min(a: u64, b: u64) -> u64 {
    if time_before(a, b) {
        a
    } else {
        b
    }
}

/// `later - earlier`, or 0 when `later` is actually before `earlier`.
#[inline(always)]
pub const fn time_delta(later: u64, earlier: u64) -> u64 {
    if time_after(later, earlier) {
        later.wrapping_sub(earlier)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_order() {
        assert!(time_before(1, 2));
        assert!(!time_before(2, 1));
        assert!(!time_before(2, 2));
        assert!(time_before_eq(2, 2));
        assert!(time_after(3, 2));
        assert!(time_after_eq(3, 3));
    }

    #[test]
    fn wrap_boundary() {
        // u64::MAX is one tick before 0.
        assert!(time_before(u64::MAX, 0));
        assert!(time_after(0, u64::MAX));
        assert!(time_before(u64::MAX - 10, 5));
        assert_eq!(time_max(u64::MAX, 3), 3);
        assert_eq!(time_min(u64::MAX, 3), u64::MAX);
        assert_eq!(time_delta(3, u64::MAX), 4);
        assert_eq!(time_delta(u64::MAX, 3), 0);
    }

    #[test]
    fn half_range_limit() {
        // Exactly 2^63 apart is ambiguous; just under it still orders right.
        let a = 100u64;
        let b = a.wrapping_add((1 << 63) - 1);
        assert!(time_before(a, b));
        assert!(time_after(b, a));
    }
}
