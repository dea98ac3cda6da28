// SPDX-License-Identifier: GPL-2.0-only
//! The age order of queued tasks: a fixed-capacity intrusive doubly linked
//! list sorted by the time each task became runnable, so the oldest is
//! found, and any task unlinked, in O(1).
//!
//! A scheduler's tasks arrive nearly in `enq_time` order, so an insert
//! walks from the back and usually stops at once; a task older than every
//! queued one (a re-queue keeping its first `enq_time`) is put in front
//! without a walk. Only an `enq_time` that falls in the middle of the list
//! costs a walk as long as its distance from the back (a rescued task that
//! kept an old `enq_time`: up to the whole list, rarely). The order is exact
//! (ties keep their insertion order) while the queued `enq_time`s span less
//! than 2^63 ns, which clock readings do; beyond that, wrap-safe comparison
//! cannot order them and the oldest may not come first.
use crate::time::time_before;

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    /// Next link in age order (used) or in the free list (free).
    next: u32,
    pid: i32,
    enq_time: u64,
}

/// Up to `N` `(pid, enq_time)` entries in `enq_time` order; an entry is
/// named by the index [`insert`](Self::insert) returns until it is
/// [`unlink`](Self::unlink)ed.
pub(crate) struct AgeList<const N: usize> {
    links: [Link; N],
    /// Oldest entry.
    head: u32,
    /// Newest entry.
    tail: u32,
    /// Head of the free-link list (links freed by `unlink`).
    free: u32,
    /// Links never used yet: `fresh..N`.
    fresh: u32,
}

impl<const N: usize> AgeList<N> {
    const CHECK: () = assert!(N >= 1 && N < NIL as usize, "AgeList capacity out of range");

    /// An empty list.
    pub(crate) const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            links: [Link { prev: NIL, next: NIL, pid: 0, enq_time: 0 }; N],
            head: NIL,
            tail: NIL,
            free: NIL,
            fresh: 0,
        }
    }

    /// Adds `pid`, runnable since `enq_time`, in age order; returns its
    /// index, or `None` when `N` entries are held.
    pub(crate) fn insert(&mut self, pid: i32, enq_time: u64) -> Option<u32> {
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.links[i as usize].next;
            i
        } else if (self.fresh as usize) < N {
            self.fresh += 1;
            self.fresh - 1
        } else {
            return None;
        };
        // The entry goes after `after` (NIL: in front).
        let after =
            if self.head == NIL || time_before(enq_time, self.links[self.head as usize].enq_time) {
                NIL
            } else {
                // Not before the head, so the walk stops at the head at the
                // latest (or in front, should keys span 2^63 or more and
                // compare inconsistently).
                let mut at = self.tail;
                while at != NIL && time_before(enq_time, self.links[at as usize].enq_time) {
                    at = self.links[at as usize].prev;
                }
                at
            };
        let next = if after == NIL { self.head } else { self.links[after as usize].next };
        self.links[i as usize] = Link { prev: after, next, pid, enq_time };
        self.join(after, i);
        self.join(i, next);
        Some(i)
    }

    /// Removes entry `i` (an index [`insert`](Self::insert) returned and not
    /// unlinked since).
    pub(crate) fn unlink(&mut self, i: u32) {
        let Link { prev, next, .. } = self.links[i as usize];
        self.join(prev, next);
        self.links[i as usize].next = self.free;
        self.free = i;
    }

    /// Makes `next` follow `prev` in age order; `NIL` on either side
    /// stands for the list's end (its head, or its tail).
    fn join(&mut self, prev: u32, next: u32) {
        match prev {
            NIL => self.head = next,
            p => self.links[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.links[n as usize].prev = prev,
        }
    }

    /// The oldest entry: `(pid, enq_time)`.
    pub(crate) fn oldest(&self) -> Option<(i32, u64)> {
        (self.head != NIL).then(|| {
            let l = &self.links[self.head as usize];
            (l.pid, l.enq_time)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<const N: usize>(l: &mut AgeList<N>, idx: &[(i32, u32)]) -> Vec<i32> {
        let mut out = Vec::new();
        while let Some((pid, _)) = l.oldest() {
            out.push(pid);
            let i = idx.iter().find(|(p, _)| *p == pid).unwrap().1;
            l.unlink(i);
        }
        out
    }

    #[test]
    fn keeps_enq_time_order_whatever_the_insert_order() {
        let mut l = AgeList::<8>::new();
        let times = [(1, 50), (2, 10), (3, 70), (4, 60), (5, 10), (6, 5), (7, 60)];
        let idx: Vec<_> = times.iter().map(|&(p, t)| (p, l.insert(p, t).unwrap())).collect();
        // Ties keep insertion order: 2 before 5, 4 before 7.
        assert_eq!(drain(&mut l, &idx), [6, 2, 5, 1, 4, 7, 3]);
    }

    #[test]
    fn unlink_anywhere_and_reuse_links() {
        let mut l = AgeList::<3>::new();
        let a = l.insert(1, 1).unwrap();
        let b = l.insert(2, 2).unwrap();
        let c = l.insert(3, 3).unwrap();
        assert_eq!(l.insert(4, 4), None, "full");
        l.unlink(b);
        assert_eq!(l.oldest(), Some((1, 1)));
        l.unlink(a);
        assert_eq!(l.oldest(), Some((3, 3)));
        let d = l.insert(4, 0).unwrap();
        assert_eq!(l.oldest(), Some((4, 0)));
        l.unlink(d);
        l.unlink(c);
        assert_eq!(l.oldest(), None);
        assert!(l.insert(5, 9).is_some() && l.insert(6, 8).is_some());
        assert_eq!(l.oldest(), Some((6, 8)));
    }

    #[test]
    fn orders_across_the_u64_wrap() {
        let mut l = AgeList::<4>::new();
        let idx = [(1, l.insert(1, 3).unwrap()), (2, l.insert(2, u64::MAX - 1).unwrap())];
        assert_eq!(drain(&mut l, &idx), [2, 1]);
    }
}
