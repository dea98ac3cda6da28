// SPDX-License-Identifier: GPL-2.0-only
//! A fixed-capacity indexed min-heap of tasks keyed by a wrap-safe `u64`
//! deadline, with a FIFO tiebreak between equal keys.
//!
//! - The heap array holds small `(key, seq, slot)` nodes, so sifting compares
//!   keys without chasing pointers; task payloads stay put in a slot array,
//!   and a compact position array remembers where each slot's node is.
//! - Compares are branch-free and [`pop_min`](VtimeHeap::pop_min) sinks the
//!   hole to a leaf before placing the last node (bottom-up deletion): a
//!   scheduler's keys make each compare a coin toss, and its next key
//!   depends on the last pop, so mispredicted branches are paid in full.
//! - A task pushed ahead of every queued one waits in a front slot beside
//!   the array and the calendar (a task held there before is placed behind
//!   it):
//!   pushing and popping it is O(1), where the array would sift it up to
//!   the root and the pop sink a leaf down the whole depth (a task woken
//!   with the earliest deadline and run next).
//! - Keys close behind the earliest one (the next few milliseconds of
//!   deadlines, where a scheduler's new keys land) go to a calendar
//!   instead of the array: buckets over a window that slides forward with
//!   the pops, found through a two-level bitmap. Each bucket is a list in
//!   key order: a push walks back from its tail (at once for an equal or
//!   later key, so FIFO ties cost O(1)), at most `CAL_WALK_MAX` nodes,
//!   else it goes to the array, as a key outside the window does. Pushing
//!   is O(1) and popping a bitmap search, where the array walks its whole
//!   depth; the earliest task is the earlier of the calendar's head and
//!   the array's. The buckets' width adapts to the keys: doubled when many
//!   pushes land past the window, halved when many walk too far (each a
//!   rebuild of the calendar, O(nodes in it)).
//! - A pid → slot index makes [`remove`](VtimeHeap::remove) and
//!   [`update`](VtimeHeap::update) O(log n): a chained hash table with `N`
//!   buckets whose chains run through the slots themselves (Fibonacci
//!   hashing of the pid; the load factor never exceeds 1), so the index needs
//!   no memory beyond one `u32` per bucket.
//!
//! Every operation is O(log n) in the heap plus an expected O(1) index
//! lookup; nothing allocates. Keys compare with [`time_before`](crate::time::time_before), so the order
//! holds across a `u64` wrap as long as live keys span less than 2^63. The
//! heap enforces it: [`push`](VtimeHeap::push) and
//! [`update`](VtimeHeap::update) refuse a key that would stretch the span
//! of queued keys past [`MAX_KEY_SPAN`].
//!
//! ```
//! use usched_core::heap::VtimeHeap;
//!
//! let mut h = VtimeHeap::<&str, 8>::new();
//! h.push(10, 300, "late").unwrap();
//! h.push(11, 100, "early").unwrap();
//! h.update(10, 50).unwrap();
//! assert_eq!(h.pop_min().unwrap().value, "late");
//! assert_eq!(h.remove(11).unwrap().key, 100);
//! assert!(h.is_empty());
//! ```
use core::fmt;
use core::mem::MaybeUninit;

const NIL: u32 = u32::MAX;
/// `pos` of the slot whose node is [`VtimeHeap::front`], not in the array.
const FRONT: u32 = u32::MAX - 1;
/// `pos` of a slot whose node is in the calendar (`VtimeHeap::cal_nodes`).
const CAL: u32 = u32::MAX - 2;

/// A new heap's calendar buckets span `2^CAL_SHIFT` key units: about a
/// microsecond when keys are nanoseconds, as scx_usched's deadlines are.
const CAL_SHIFT: u32 = 10;
/// Widest buckets: the window (`2^12` buckets at most) stays under 2^63,
/// so a key before it never reads as inside.
const CAL_SHIFT_MAX: u32 = 50;
/// A push past the window (or walking too far) adds `CAL_MISS`
/// to its tally and each push into the calendar takes 1 off: a tally at
/// `CAL_RESIZE_AT` (more than one push in `CAL_MISS + 1` missing, for a
/// while) resizes the buckets.
const CAL_MISS: u32 = 8;
const CAL_RESIZE_AT: u32 = 64 * CAL_MISS;
/// Buckets at most: the bitmap's summary is one word over 64 words.
const CAL_MAX_BUCKETS: usize = 64 * 64;
/// Nodes a push walks back over at most to find its place in a bucket's
/// list; one that would walk further goes to the array.
const CAL_WALK_MAX: u32 = 8;

/// Largest distance the queued keys may span: [`time_before`](crate::time::time_before) orders two
/// keys correctly only while they are less than 2^63 apart.
pub const MAX_KEY_SPAN: u64 = (1 << 63) - 1;
const _: () = assert!(crate::time::time_before(0, MAX_KEY_SPAN));
const _: () = assert!(crate::time::time_after(MAX_KEY_SPAN, 0));

/// 16 bytes (asserted below): a node's four children fill 64 bytes, one
/// cache line's worth, though not aligned to one (they span two lines).
#[derive(Clone, Copy, Debug)]
struct Node {
    key: u64,
    /// Insertion order, to break ties between equal keys (FIFO); compared
    /// wrap-safely, so it orders correctly while queued nodes span < 2^31
    /// insertions.
    seq: u32,
    slot: u32,
}

impl Node {
    const VACANT: Self = Self { key: 0, seq: 0, slot: NIL };

    /// `self` goes first: an earlier key (wrap-safe), or an equal key
    /// queued earlier. Branch-free: with random keys the outcome is a coin
    /// toss that a branch predictor would miss half the time.
    #[inline(always)]
    fn before(&self, other: &Node) -> bool {
        let key = self.key.wrapping_sub(other.key) as i64;
        let seq = self.seq.wrapping_sub(other.seq) as i32;
        (key < 0) | ((key == 0) & (seq < 0))
    }
}

/// A calendar node (by slot): 24 bytes (asserted below), one array
/// access for its key and both links.
#[derive(Clone, Copy, Debug)]
struct CalNode {
    key: u64,
    seq: u32,
    /// The next and previous slots in its bucket's list (`NIL` at the ends).
    next: u32,
    prev: u32,
}

impl CalNode {
    const VACANT: Self = Self { key: 0, seq: 0, next: NIL, prev: NIL };
}
const _: () = assert!(core::mem::size_of::<CalNode>() == 24);

/// Index of a bucket's first and last slot in `VtimeHeap::cal_ends`.
const HEAD: usize = 0;
const TAIL: usize = 1;

/// Children per node: a 4-ary heap is half as deep as a binary one, and a
/// node's four children are contiguous (64 bytes).
const ARITY: usize = 4;
const _: () = assert!(core::mem::size_of::<Node>() * ARITY == 64);

struct Slot<T> {
    pid: i32,
    /// Next slot in the same hash chain (used) or in the free list (free).
    next: u32,
    value: MaybeUninit<T>,
}

impl<T> Slot<T> {
    const EMPTY: Self = Self { pid: 0, next: NIL, value: MaybeUninit::uninit() };
}

/// A task taken out of the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<T> {
    /// The task's pid (its identity in the heap).
    pub pid: i32,
    /// Its key (deadline or vruntime).
    pub key: u64,
    /// The payload.
    pub value: T,
}

/// Why [`VtimeHeap::push`] refused an item; the item is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError<T> {
    /// The heap holds `N` tasks.
    Full(T),
    /// A task with this pid is already queued.
    Duplicate(T),
    /// The key is so far from the queued keys that they would span more
    /// than [`MAX_KEY_SPAN`], and wrap-safe comparison would misorder them.
    KeyOutOfRange(T),
}

impl<T> PushError<T> {
    /// The refused item.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Duplicate(v) | Self::KeyOutOfRange(v) => v,
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("heap is full"),
            Self::Duplicate(_) => f.write_str("pid is already queued"),
            Self::KeyOutOfRange(_) => f.write_str(
                "key is 2^63 or more away from a queued key (keys must span less than 2^63)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl<T: fmt::Debug> std::error::Error for PushError<T> {}

/// Why [`VtimeHeap::update`] refused; the heap is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateError {
    /// The pid is not queued.
    UnknownPid(i32),
    /// The new key is so far from the queued keys that they would span more
    /// than [`MAX_KEY_SPAN`].
    KeyOutOfRange {
        /// The task's pid.
        pid: i32,
        /// The refused key.
        key: u64,
    },
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownPid(pid) => write!(f, "pid {pid} is not queued"),
            Self::KeyOutOfRange { pid, key } => write!(
                f,
                "new key {key} of pid {pid} is 2^63 or more away from a queued key \
                 (keys must span less than 2^63)"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UpdateError {}

/// The indexed min-heap; see the [module docs](self).
pub struct VtimeHeap<T, const N: usize> {
    /// Nodes in `heap` (the front node is not among them).
    len: u32,
    /// Slots never used yet: `fresh..N`.
    fresh: u32,
    /// Head of the free-slot list (slots freed by pop/remove).
    free: u32,
    next_seq: u32,
    /// While the heap is not empty: the latest key queued since it last was
    /// (wrap-safe maximum). Every queued key lies in `first().key..=hi` and
    /// `hi - first().key <= MAX_KEY_SPAN`. An upper bound, not the exact
    /// maximum: it stays put when that task leaves.
    hi: u64,
    /// A node that goes before every other queued node (in `heap` and in
    /// the calendar), held apart (`slot == NIL` when there is none): a push
    /// that becomes the minimum lands here (a node held here before is
    /// placed behind it), in O(1) when none was held, and the next pop
    /// takes it in O(1), where the array would sift it up to the root and
    /// the pop would sink a leaf down the whole depth. That is a
    /// scheduler's common case of a task woken with the earliest deadline
    /// and run next.
    front: Node,
    /// Nodes in the calendar.
    cal_len: u32,
    /// Buckets span `2^cal_shift` key units.
    cal_shift: u32,
    /// Tallies of pushes past the window and walking too far in a bucket
    /// (see `CAL_MISS`).
    cal_far: u32,
    cal_full: u32,
    /// Slot of the calendar's earliest node (`NIL` when it is empty).
    cal_min: u32,
    /// Start of the calendar's window, a multiple of `2^cal_shift`: it
    /// holds keys in `origin..origin + CAL_BUCKETS << cal_shift` (wrap-safe),
    /// bucket `(key >> cal_shift) % CAL_BUCKETS`, so circular bucket order
    /// from `origin`'s bucket is key order. Moved forward by the pops, and
    /// anywhere when the calendar is empty.
    cal_origin: u64,
    /// Bit `w` set when `cal_bits[w]` is not zero.
    cal_summary: u64,
    /// Bit `b % 64` of word `b / 64` set when bucket `b` is not empty.
    cal_bits: [u64; CAL_MAX_BUCKETS / 64],
    heap: [Node; N],
    /// By slot, a calendar node: its key, seq and links in its bucket's
    /// list, which is in key order.
    cal_nodes: [CalNode; N],
    /// First and last slot of each bucket's list (`NIL`: empty), side by
    /// side; the first `CAL_BUCKETS` are used.
    cal_ends: [[u32; 2]; N],
    /// Heap position of each used slot's node (`FRONT` for the one held
    /// in `front`, `CAL` for one in the calendar). Apart from `slots`: every
    /// node a sift moves updates its entry, and 4 bytes a slot keep these
    /// writes in few cache lines whatever the payload's size.
    pos: [u32; N],
    slots: [Slot<T>; N],
    buckets: [u32; N],
}

impl<T, const N: usize> VtimeHeap<T, N> {
    const CHECK: () = assert!(
        N >= 2 && N.is_power_of_two() && N <= 1 << 30,
        "VtimeHeap capacity must be a power of two in 2..=2^30"
    );
    const SHIFT: u32 = 32 - N.trailing_zeros();
    /// Calendar buckets: one per task, up to `CAL_MAX_BUCKETS`.
    const CAL_BUCKETS: usize = if N < CAL_MAX_BUCKETS { N } else { CAL_MAX_BUCKETS };

    /// An empty heap.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            len: 0,
            fresh: 0,
            free: NIL,
            next_seq: 0,
            hi: 0,
            front: Node::VACANT,
            cal_len: 0,
            cal_shift: CAL_SHIFT,
            cal_far: 0,
            cal_full: 0,
            cal_min: NIL,
            cal_origin: 0,
            cal_summary: 0,
            cal_bits: [0; CAL_MAX_BUCKETS / 64],
            heap: [Node::VACANT; N],
            cal_nodes: [CalNode::VACANT; N],
            cal_ends: [[NIL; 2]; N],
            pos: [NIL; N],
            slots: [const { Slot::EMPTY }; N],
            buckets: [NIL; N],
        }
    }

    /// Number of queued tasks.
    pub const fn len(&self) -> usize {
        self.len as usize + self.has_front() as usize + self.cal_len as usize
    }

    /// Nothing is queued.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    const fn has_front(&self) -> bool {
        self.front.slot != NIL
    }

    /// The first node (heap not empty): the front if one is held, else
    /// the earlier of the calendar's earliest and the array's root.
    #[inline(always)]
    fn first(&self) -> Node {
        if self.has_front() {
            return self.front;
        }
        let cal = (self.cal_min != NIL).then(|| self.cal_node(self.cal_min));
        let array = (self.len > 0).then(|| self.heap[0]);
        match (cal, array) {
            (Some(c), Some(a)) if a.before(&c) => a,
            (Some(c), _) => c,
            (None, a) => a.unwrap_or(Node::VACANT),
        }
    }

    /// The key of used slot `s`.
    #[inline(always)]
    fn key_of(&self, s: u32) -> u64 {
        match self.pos[s as usize] {
            FRONT => self.front.key,
            CAL => self.cal_nodes[s as usize].key,
            pos => self.heap[pos as usize].key,
        }
    }

    /// Maximum number of queued tasks.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The heap holds `N` tasks.
    pub const fn is_full(&self) -> bool {
        self.len() == N
    }

    #[inline(always)]
    fn bucket(pid: i32) -> usize {
        ((pid as u32).wrapping_mul(0x9E37_79B9) >> Self::SHIFT) as usize
    }

    /// Slot holding `pid`, and the slot before it in its chain (or `NIL`).
    #[inline]
    fn find(&self, pid: i32) -> Option<(u32, u32)> {
        let mut prev = NIL;
        let mut s = self.buckets[Self::bucket(pid)];
        while s != NIL {
            let slot = &self.slots[s as usize];
            if slot.pid == pid {
                return Some((s, prev));
            }
            prev = s;
            s = slot.next;
        }
        None
    }

    /// `pid` is queued.
    pub fn contains(&self, pid: i32) -> bool {
        self.find(pid).is_some()
    }

    /// The key and payload of a queued `pid`.
    pub fn get(&self, pid: i32) -> Option<(u64, &T)> {
        let (s, _) = self.find(pid)?;
        let slot = &self.slots[s as usize];
        // SAFETY: a slot found in the index is in use, so its value is initialised.
        Some((self.key_of(s), unsafe { slot.value.assume_init_ref() }))
    }

    /// Queues `value` for `pid` with `key`.
    ///
    /// # Errors
    /// [`PushError::Duplicate`] when `pid` is already queued, else
    /// [`PushError::Full`] when `N` tasks are, else
    /// [`PushError::KeyOutOfRange`] when `key` would stretch the queued keys
    /// over more than [`MAX_KEY_SPAN`]; the value is handed back.
    pub fn push(&mut self, pid: i32, key: u64, value: T) -> Result<(), PushError<T>> {
        if self.contains(pid) {
            return Err(PushError::Duplicate(value));
        }
        if self.is_full() {
            return Err(PushError::Full(value));
        }
        let Some(hi) = self.hi_with(key) else {
            return Err(PushError::KeyOutOfRange(value));
        };
        self.hi = hi;
        let s = if self.free != NIL {
            let s = self.free;
            self.free = self.slots[s as usize].next;
            s
        } else {
            let s = self.fresh;
            self.fresh += 1;
            s
        };
        let b = Self::bucket(pid);
        self.slots[s as usize] =
            Slot { pid, next: self.buckets[b], value: MaybeUninit::new(value) };
        self.buckets[b] = s;
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        self.place(Node { key, seq, slot: s });
        Ok(())
    }

    /// Queues `node` (its slot already used): at the front if it goes
    /// before every queued node (a node held there before is placed behind
    /// it), else behind the front (`place_behind()`).
    #[inline(always)]
    fn place(&mut self, node: Node) {
        if self.is_empty() || node.before(&self.first()) {
            let old = self.front;
            self.set_front(node);
            if old.slot != NIL {
                self.place_behind(old);
            }
        } else {
            self.place_behind(node);
        }
    }

    /// Queues `node`, which some queued node goes before: in the calendar
    /// if its key is in the window and its bucket takes it, else in the
    /// array.
    #[inline(always)]
    fn place_behind(&mut self, node: Node) {
        if self.cal_len == 0 {
            self.cal_origin = node.key & self.cal_align();
        }
        let off = node.key.wrapping_sub(self.cal_origin);
        if off >> self.cal_shift < Self::CAL_BUCKETS as u64 {
            if self.cal_insert(node) {
                self.cal_far = self.cal_far.saturating_sub(1);
                self.cal_full = self.cal_full.saturating_sub(1);
                return;
            }
            self.cal_full = self.cal_full.saturating_add(CAL_MISS);
        } else if (off as i64) > 0 {
            self.cal_far = self.cal_far.saturating_add(CAL_MISS);
        }
        self.insert(node);
        // Resized only while one kind of miss dominates: keys both spread
        // far and piled on equal values would otherwise flip the width.
        if self.cal_far >= CAL_RESIZE_AT && self.cal_full < CAL_RESIZE_AT / 2 {
            if self.cal_shift < CAL_SHIFT_MAX {
                self.cal_resize(self.cal_shift + 1);
            }
            self.cal_far = 0;
        } else if self.cal_full >= CAL_RESIZE_AT && self.cal_far < CAL_RESIZE_AT / 2 {
            if self.cal_shift > 0 {
                self.cal_resize(self.cal_shift - 1);
            }
            self.cal_full = 0;
        }
    }

    #[inline(always)]
    fn set_front(&mut self, node: Node) {
        self.front = node;
        self.pos[node.slot as usize] = FRONT;
    }

    /// Appends `node` to the array and sifts it up.
    #[inline(always)]
    fn insert(&mut self, node: Node) {
        let pos = self.len as usize;
        self.heap[pos] = node;
        self.len += 1;
        self.sift_up(pos);
    }

    /// The task with the smallest key (earliest queued among equals).
    pub fn peek(&self) -> Option<Entry<&T>> {
        if self.is_empty() {
            return None;
        }
        let node = self.first();
        let slot = &self.slots[node.slot as usize];
        // SAFETY: the first node (the calendar's, the front or the root)
        // points at a used slot, whose value is initialised.
        let value = unsafe { slot.value.assume_init_ref() };
        Some(Entry { pid: slot.pid, key: node.key, value })
    }

    /// Removes and returns the task with the smallest key.
    pub fn pop_min(&mut self) -> Option<Entry<T>> {
        if self.is_empty() {
            return None;
        }
        let s = self.first().slot;
        let pid = self.slots[s as usize].pid;
        let prev = self.chain_prev(pid, s);
        let e = self.take(s, prev);
        // Every key left is at or after the one taken: the window moves up
        // to its bucket (never back, for a key taken before the window).
        let start = e.key & self.cal_align();
        if self.cal_len > 0 && (start.wrapping_sub(self.cal_origin) as i64) > 0 {
            self.cal_origin = start;
        }
        Some(e)
    }

    /// Removes `pid`'s task, wherever it is in the heap.
    pub fn remove(&mut self, pid: i32) -> Option<Entry<T>> {
        let (s, prev) = self.find(pid)?;
        Some(self.take(s, prev))
    }

    /// Gives `pid` a new key, moving it to its new place. Its FIFO position
    /// among equal keys becomes "last", as if it had been pushed now.
    ///
    /// # Errors
    /// [`UpdateError::UnknownPid`] when `pid` is not queued,
    /// [`UpdateError::KeyOutOfRange`] when `key` would stretch the queued
    /// keys over more than [`MAX_KEY_SPAN`].
    pub fn update(&mut self, pid: i32, key: u64) -> Result<(), UpdateError> {
        let (s, _) = self.find(pid).ok_or(UpdateError::UnknownPid(pid))?;
        // Alone, the task may move anywhere; with others, its old key still
        // counts towards the span (conservative, and cheap).
        let hi = if self.len() == 1 { Some(key) } else { self.hi_with(key) };
        self.hi = hi.ok_or(UpdateError::KeyOutOfRange { pid, key })?;
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        let node = Node { key, seq, slot: s };
        match self.pos[s as usize] {
            CAL => {
                self.cal_remove(s);
                self.place(node);
            }
            FRONT => {
                self.front = Node::VACANT;
                self.place(node);
            }
            pos if self.has_front() && node.before(&self.front) => {
                // It overtakes the front: out of the array, then in front.
                self.detach(pos as usize);
                self.place(node);
            }
            pos => {
                let pos = pos as usize;
                let old = self.heap[pos];
                self.heap[pos] = node;
                if node.before(&old) {
                    self.sift_up(pos);
                } else {
                    self.sift_down(pos);
                }
            }
        }
        Ok(())
    }

    /// Removes every task, dropping the payloads.
    pub fn clear(&mut self) {
        while self.pop_min().is_some() {}
    }

    /// Visits every queued task in no particular order.
    pub fn for_each(&self, mut f: impl FnMut(i32, u64, &T)) {
        for b in 0..Self::CAL_BUCKETS {
            let mut s = self.cal_ends[b][HEAD];
            while s != NIL {
                let slot = &self.slots[s as usize];
                // SAFETY: the calendar's lists hold used slots only.
                f(slot.pid, self.cal_nodes[s as usize].key, unsafe {
                    slot.value.assume_init_ref()
                });
                s = self.cal_nodes[s as usize].next;
            }
        }
        let front = self.has_front().then_some(&self.front);
        for node in front.into_iter().chain(&self.heap[..self.len as usize]) {
            let slot = &self.slots[node.slot as usize];
            // SAFETY: a held front and the nodes in `heap[..len]` point at
            // used slots.
            f(slot.pid, node.key, unsafe { slot.value.assume_init_ref() });
        }
    }

    /// The new `hi` if `key` joins the queued keys, or `None` if they would
    /// then span more than [`MAX_KEY_SPAN`].
    fn hi_with(&self, key: u64) -> Option<u64> {
        if self.is_empty() {
            return Some(key);
        }
        let min = self.first().key;
        let span = self.hi.wrapping_sub(min);
        debug_assert!(span <= MAX_KEY_SPAN);
        let after_min = key.wrapping_sub(min);
        if after_min <= MAX_KEY_SPAN {
            // At or after the minimum: the span grows to reach `key`.
            Some(if after_min > span { key } else { self.hi })
        } else {
            // Before the minimum (by less than 2^64 - MAX_KEY_SPAN, so no
            // overflow below): `key` becomes the minimum.
            let before_min = min.wrapping_sub(key);
            (span + before_min <= MAX_KEY_SPAN).then_some(self.hi)
        }
    }

    fn chain_prev(&self, pid: i32, target: u32) -> u32 {
        let mut prev = NIL;
        let mut s = self.buckets[Self::bucket(pid)];
        while s != target && s != NIL {
            prev = s;
            s = self.slots[s as usize].next;
        }
        debug_assert_eq!(s, target, "slot missing from its hash chain");
        prev
    }

    /// Takes used slot `s` (whose chain predecessor is `prev`) out of the
    /// heap, the index and the slot array.
    fn take(&mut self, s: u32, prev: u32) -> Entry<T> {
        let key = match self.pos[s as usize] {
            CAL => self.cal_remove(s),
            FRONT => core::mem::replace(&mut self.front, Node::VACANT).key,
            pos => self.detach(pos as usize).key,
        };
        // Unlink from the hash chain, then put the slot on the free list.
        let slot = &mut self.slots[s as usize];
        let (pid, next) = (slot.pid, slot.next);
        self.pos[s as usize] = NIL;
        slot.next = self.free;
        self.free = s;
        // SAFETY: the slot was in use, so its value is initialised; it is now
        // on the free list and its value will not be read again.
        let value = unsafe { slot.value.assume_init_read() };
        if prev == NIL {
            self.buckets[Self::bucket(pid)] = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        Entry { pid, key, value }
    }

    /// The calendar bucket of `key`.
    #[inline(always)]
    fn cal_bucket(&self, key: u64) -> usize {
        (key >> self.cal_shift) as usize & (Self::CAL_BUCKETS - 1)
    }

    /// The mask that rounds a key down to its bucket's start.
    #[inline(always)]
    fn cal_align(&self) -> u64 {
        !((1u64 << self.cal_shift) - 1)
    }

    /// Rebuilds the calendar with buckets of `2^shift`: every node leaves
    /// it, earliest first, and is placed again, in the calendar if it fits
    /// (appended: O(1) each), else in the array; the window starts at the
    /// earliest one's new bucket.
    #[cold]
    fn cal_resize(&mut self, shift: u32) {
        // Take the nodes out in order, chained through `cal_nodes`.
        let (mut head, mut tail) = (NIL, NIL);
        while self.cal_min != NIL {
            let s = self.cal_min;
            self.cal_remove(s);
            self.cal_nodes[s as usize].next = NIL;
            if tail == NIL {
                head = s;
            } else {
                self.cal_nodes[tail as usize].next = s;
            }
            tail = s;
        }
        self.cal_shift = shift;
        if head != NIL {
            self.cal_origin = self.cal_nodes[head as usize].key & self.cal_align();
        }
        while head != NIL {
            let node = self.cal_node(head);
            head = self.cal_nodes[head as usize].next;
            let fits = node.key.wrapping_sub(self.cal_origin) >> shift < Self::CAL_BUCKETS as u64;
            if !(fits && self.cal_insert(node)) {
                self.insert(node);
            }
        }
    }

    /// Puts `node` (its key in the window, its slot's `pos` not yet set)
    /// in its bucket's list, walking back from the tail past the nodes
    /// that go after it; false, and nothing done, if more than
    /// `CAL_WALK_MAX` do.
    #[inline(always)]
    fn cal_insert(&mut self, node: Node) -> bool {
        let b = self.cal_bucket(node.key);
        let s = node.slot;
        // The node it goes after (`NIL`: the head), and the one after it.
        let (mut after, mut before) = (self.cal_ends[b][TAIL], NIL);
        let mut walked = 0;
        while after != NIL && node.before(&self.cal_node(after)) {
            if walked == CAL_WALK_MAX {
                return false;
            }
            walked += 1;
            before = after;
            after = self.cal_nodes[after as usize].prev;
        }
        if self.cal_ends[b][HEAD] == NIL {
            self.cal_bits[b / 64] |= 1 << (b % 64);
            self.cal_summary |= 1 << (b / 64);
        }
        self.cal_nodes[s as usize] =
            CalNode { key: node.key, seq: node.seq, next: before, prev: after };
        self.cal_set_next(b, after, s);
        self.cal_set_prev(b, before, s);
        self.cal_len += 1;
        self.pos[s as usize] = CAL;
        if self.cal_min == NIL || node.before(&self.cal_node(self.cal_min)) {
            self.cal_min = s;
        }
        true
    }

    /// In bucket `b`'s list, `to` comes after `at` (`at` `NIL`: `to` is
    /// the head).
    #[inline(always)]
    fn cal_set_next(&mut self, b: usize, at: u32, to: u32) {
        match at {
            NIL => self.cal_ends[b][HEAD] = to,
            at => self.cal_nodes[at as usize].next = to,
        }
    }

    /// In bucket `b`'s list, `to` comes before `at` (`at` `NIL`: `to` is
    /// the tail).
    #[inline(always)]
    fn cal_set_prev(&mut self, b: usize, at: u32, to: u32) {
        match at {
            NIL => self.cal_ends[b][TAIL] = to,
            at => self.cal_nodes[at as usize].prev = to,
        }
    }

    /// Calendar slot `s`'s node, with `s` in its `slot`.
    #[inline(always)]
    fn cal_node(&self, s: u32) -> Node {
        let c = &self.cal_nodes[s as usize];
        Node { key: c.key, seq: c.seq, slot: s }
    }

    /// Takes calendar slot `s` out of its bucket; returns its key. The
    /// slot's `pos` is left to the caller.
    fn cal_remove(&mut self, s: u32) -> u64 {
        let CalNode { key, next, prev, .. } = self.cal_nodes[s as usize];
        let b = self.cal_bucket(key);
        self.cal_set_next(b, prev, next);
        self.cal_set_prev(b, next, prev);
        if self.cal_ends[b][HEAD] == NIL {
            self.cal_bits[b / 64] &= !(1 << (b % 64));
            if self.cal_bits[b / 64] == 0 {
                self.cal_summary &= !(1 << (b / 64));
            }
        }
        self.cal_len -= 1;
        if self.cal_min == s {
            self.cal_min = if self.cal_len == 0 { NIL } else { self.cal_earliest() };
        }
        key
    }

    /// The calendar's earliest slot (calendar not empty): the head of the
    /// first non-empty bucket in circular order from the window's start.
    #[inline(always)]
    fn cal_earliest(&self) -> u32 {
        let p0 = self.cal_bucket(self.cal_origin);
        let (w0, o) = (p0 / 64, p0 % 64);
        let word = self.cal_bits[w0] & (u64::MAX << o);
        let b = if word != 0 {
            w0 * 64 + word.trailing_zeros() as usize
        } else {
            // Words after w0, else (wrapping) from word 0: w0 itself then
            // has bits below `o` only, the buckets at the window's end.
            let after = if w0 == 63 { 0 } else { self.cal_summary & (u64::MAX << (w0 + 1)) };
            let w = if after != 0 { after } else { self.cal_summary }.trailing_zeros() as usize;
            w * 64 + self.cal_bits[w].trailing_zeros() as usize
        };
        self.cal_ends[b][HEAD]
    }

    /// Takes the node at array position `pos` out of the array: the last
    /// node fills the hole and the heap order is restored.
    fn detach(&mut self, pos: usize) -> Node {
        let node = self.heap[pos];
        self.len -= 1;
        let last = self.len as usize;
        if pos != last {
            let moved = self.heap[last];
            if pos > 0 && moved.before(&self.heap[(pos - 1) / ARITY]) {
                self.heap[pos] = moved;
                self.sift_up(pos);
            } else {
                self.sift_hole_down(pos, moved);
            }
        }
        node
    }

    fn sift_up(&mut self, mut pos: usize) {
        let node = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            let p = self.heap[parent];
            if !node.before(&p) {
                break;
            }
            self.heap[pos] = p;
            self.pos[p.slot as usize] = pos as u32;
            pos = parent;
        }
        self.heap[pos] = node;
        self.pos[node.slot as usize] = pos as u32;
    }

    /// The smallest of the children `first..first + ARITY` (all present).
    #[inline(always)]
    fn min_of_four(&self, first: usize) -> usize {
        let h = &self.heap[first..first + ARITY];
        // Two independent pairs, then their winners: three compares, no branch.
        let a = if h[1].before(&h[0]) { 1 } else { 0 };
        let b = if h[3].before(&h[2]) { 3 } else { 2 };
        first + if h[b].before(&h[a]) { b } else { a }
    }

    /// The smallest child of `pos`, or `None` for a leaf.
    #[inline(always)]
    fn min_child(&self, pos: usize, len: usize) -> Option<usize> {
        let first = ARITY * pos + 1;
        if first + ARITY <= len {
            return Some(self.min_of_four(first));
        }
        if first >= len {
            return None;
        }
        let mut child = first;
        for c in first + 1..len {
            if self.heap[c].before(&self.heap[child]) {
                child = c;
            }
        }
        Some(child)
    }

    /// Puts `node` into the hole at `pos`, whose parent (if any) goes
    /// before it: the hole first sinks to a leaf along the smallest
    /// children, then `node` rises from there (Floyd's bottom-up
    /// deletion). A node moved from the bottom belongs near the bottom, so
    /// the rise is short, and the way down costs one compare fewer a level
    /// than comparing `node` at each one.
    fn sift_hole_down(&mut self, mut pos: usize, node: Node) {
        let len = self.len as usize;
        while let Some(c) = self.min_child(pos, len) {
            let child = self.heap[c];
            self.heap[pos] = child;
            self.pos[child.slot as usize] = pos as u32;
            pos = c;
        }
        self.heap[pos] = node;
        self.sift_up(pos);
    }

    fn sift_down(&mut self, mut pos: usize) {
        let len = self.len as usize;
        let node = self.heap[pos];
        while let Some(child) = self.min_child(pos, len) {
            let c = self.heap[child];
            if !c.before(&node) {
                break;
            }
            self.heap[pos] = c;
            self.pos[c.slot as usize] = pos as u32;
            pos = child;
        }
        self.heap[pos] = node;
        self.pos[node.slot as usize] = pos as u32;
    }
}

impl<T, const N: usize> Default for VtimeHeap<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Drop for VtimeHeap<T, N> {
    fn drop(&mut self) {
        if core::mem::needs_drop::<T>() {
            self.clear();
        }
    }
}

impl<T, const N: usize> fmt::Debug for VtimeHeap<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VtimeHeap").field("len", &self.len()).field("capacity", &N).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn orders_by_key_then_fifo() {
        let mut h = VtimeHeap::<u32, 8>::new();
        h.push(1, 50, 1).unwrap();
        h.push(2, 10, 2).unwrap();
        h.push(3, 50, 3).unwrap();
        h.push(4, 10, 4).unwrap();
        let order: Vec<i32> = std::iter::from_fn(|| h.pop_min().map(|e| e.pid)).collect();
        assert_eq!(order, [2, 4, 1, 3]);
    }

    #[test]
    fn full_and_duplicate_hand_back() {
        let mut h = VtimeHeap::<&str, 2>::new();
        h.push(1, 1, "a").unwrap();
        assert_eq!(h.push(1, 2, "dup"), Err(PushError::Duplicate("dup")));
        h.push(2, 1, "b").unwrap();
        assert_eq!(h.push(3, 1, "c"), Err(PushError::Full("c")));
        assert_eq!(h.update(9, 1), Err(UpdateError::UnknownPid(9)));
    }

    #[test]
    fn orders_across_u64_wrap() {
        let mut h = VtimeHeap::<(), 4>::new();
        h.push(1, 5, ()).unwrap(); // just after the wrap
        h.push(2, u64::MAX - 5, ()).unwrap(); // just before it
        h.push(3, u64::MAX, ()).unwrap();
        let order: Vec<i32> = std::iter::from_fn(|| h.pop_min().map(|e| e.pid)).collect();
        assert_eq!(order, [2, 3, 1]);
    }

    #[test]
    fn push_refuses_keys_half_the_range_away() {
        const HALF: u64 = 1 << 63;
        let mut h = VtimeHeap::<u32, 8>::new();
        h.push(1, 0, 1).unwrap();
        // Exactly 2^63 after the minimum compares both ways: refused.
        assert_eq!(h.push(2, HALF, 2), Err(PushError::KeyOutOfRange(2)));
        // One less is fine.
        h.push(3, HALF - 1, 3).unwrap();
        // Keys now span 2^63 - 1: one tick before the minimum would make
        // the span 2^63, so `HALF - 1` would sort before it.
        assert_eq!(h.push(4, u64::MAX, 4), Err(PushError::KeyOutOfRange(4)));
        // Anything inside the span still goes in.
        h.push(5, 1 << 40, 5).unwrap();
        let order: Vec<u32> = std::iter::from_fn(|| h.pop_min().map(|e| e.value)).collect();
        assert_eq!(order, [1, 5, 3]);
        // An empty heap takes any key, and forgets the old span.
        h.push(6, u64::MAX - 3, 6).unwrap();
        h.push(7, 5, 7).unwrap();
        assert_eq!(h.push(8, HALF, 8), Err(PushError::KeyOutOfRange(8)));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn update_refuses_keys_half_the_range_away() {
        const HALF: u64 = 1 << 63;
        let mut h = VtimeHeap::<u32, 8>::new();
        h.push(1, 10, 1).unwrap();
        h.push(2, 20, 2).unwrap();
        assert_eq!(
            h.update(2, 10 + HALF),
            Err(UpdateError::KeyOutOfRange { pid: 2, key: 10 + HALF })
        );
        let early = 20u64.wrapping_sub(HALF); // 2^63 before pid 2's key
        assert_eq!(h.update(1, early), Err(UpdateError::KeyOutOfRange { pid: 1, key: early }));
        assert_eq!(h.get(2).map(|(k, _)| k), Some(20), "a refused update changes nothing");
        h.update(2, 10 + HALF - 1).unwrap();
        assert_eq!(h.pop_min().map(|e| e.pid), Some(1));
        // Alone in the heap, a task may move anywhere.
        h.update(2, 3).unwrap();
        assert_eq!(h.pop_min().map(|e| (e.pid, e.key)), Some((2, 3)));
    }

    #[test]
    fn remove_update_keep_order() {
        let mut h = VtimeHeap::<i32, 64>::new();
        for pid in 0..64 {
            h.push(pid, ((pid * 37) % 64) as u64, pid).unwrap();
        }
        for pid in (0..64).step_by(3) {
            assert_eq!(h.remove(pid).unwrap().value, pid);
        }
        for pid in (1..64).step_by(3) {
            h.update(pid, 1000 - pid as u64).unwrap();
        }
        let mut last = 0;
        while let Some(e) = h.pop_min() {
            assert!(e.key >= last);
            last = e.key;
        }
    }

    #[test]
    fn colliding_pids_share_a_chain() {
        // Pids that differ by a multiple of 2^32 / ... simply many pids in a
        // small table: every chain gets several entries.
        let mut h = VtimeHeap::<i32, 4>::new();
        let pids = [7, 7 + (1 << 20), 7 + (2 << 20), 7 + (3 << 20)];
        for (i, p) in pids.iter().enumerate() {
            h.push(*p, i as u64, *p).unwrap();
        }
        assert_eq!(h.remove(pids[2]).unwrap().value, pids[2]);
        assert!(h.contains(pids[3]) && h.contains(pids[0]));
        assert_eq!(h.get(pids[1]).map(|(k, v)| (k, *v)), Some((1, pids[1])));
    }

    impl<T, const N: usize> VtimeHeap<T, N> {
        /// Every node's position is recorded and every parent goes first.
        fn check(&self) {
            if self.has_front() {
                assert_eq!(self.pos[self.front.slot as usize], FRONT, "front's pos out of sync");
                assert!(self.len == 0 || self.front.before(&self.heap[0]), "front not first");
                assert!(
                    self.cal_min == NIL || self.front.before(&self.cal_node(self.cal_min)),
                    "front after the calendar's earliest"
                );
            }
            for i in 0..self.len as usize {
                let n = self.heap[i];
                assert_eq!(self.pos[n.slot as usize] as usize, i, "pos out of sync at {i}");
                if i > 0 {
                    assert!(self.heap[(i - 1) / ARITY].before(&n), "heap order broken at {i}");
                }
            }
            // The calendar: each bucket's list is in order, its links, tail
            // and bits agree, each node sits in its key's bucket inside the
            // window, and `cal_min` is its earliest node.
            let (mut total, mut min) = (0, None::<Node>);
            for b in 0..Self::CAL_BUCKETS {
                let (mut n, mut s, mut prev) = (0, self.cal_ends[b][HEAD], NIL);
                while s != NIL {
                    let node = self.cal_node(s);
                    assert_eq!(self.pos[s as usize], CAL, "calendar slot's pos out of sync");
                    assert_eq!(self.cal_bucket(node.key), b, "node in the wrong bucket");
                    assert_eq!(self.cal_nodes[s as usize].prev, prev, "prev link");
                    if prev != NIL {
                        assert!(self.cal_node(prev).before(&node), "bucket {b} out of order");
                    }
                    let off = node.key.wrapping_sub(self.cal_origin) >> self.cal_shift;
                    assert!(off < Self::CAL_BUCKETS as u64, "node outside the window");
                    if min.is_none_or(|m| node.before(&m)) {
                        min = Some(node);
                    }
                    n += 1;
                    prev = s;
                    s = self.cal_nodes[s as usize].next;
                }
                assert_eq!(self.cal_ends[b][TAIL], prev, "bucket {b}'s tail");
                assert_eq!(self.cal_bits[b / 64] >> (b % 64) & 1 == 1, n > 0, "bucket {b}'s bit");
                total += n;
            }
            for w in 0..CAL_MAX_BUCKETS / 64 {
                assert_eq!(self.cal_summary >> w & 1 == 1, self.cal_bits[w] != 0, "summary {w}");
            }
            assert_eq!(self.cal_len as usize, total, "cal_len");
            assert_eq!(min.map(|m| m.slot), (self.cal_min != NIL).then_some(self.cal_min));
            assert_eq!(self.cal_origin & !self.cal_align(), 0, "origin not aligned");
            assert!(self.cal_shift <= CAL_SHIFT_MAX);
        }
    }

    /// Random push (also refused: full, duplicate), pop, update and remove
    /// against a sorted model, checking the whole heap after each.
    fn against_model<const N: usize>(seed: u64, iters: usize, keys: u64) {
        against_model_near::<N>(seed, iters, keys, false)
    }

    /// As `against_model`; with `near`, each key lies up to `keys` after
    /// the last key popped and now and then up to `keys / 8` before it (a
    /// scheduler's deadlines: the calendar's window moves with the pops).
    fn against_model_near<const N: usize>(seed: u64, iters: usize, keys: u64, near: bool) {
        // (key, insertion number) → pid: the order the heap must follow.
        let mut model = std::collections::BTreeMap::<(u64, u64), i32>::new();
        let mut h = VtimeHeap::<u64, N>::new();
        let mut rng = seed | 1;
        let mut next = |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        let (mut stamp, mut last) = (0u64, 1u64 << 40);
        for _ in 0..iters {
            let pid = next(N as u64 * 3 / 2 + 1) as i32;
            let key = if near {
                last + next(keys) - if next(4) == 0 { next(keys / 8) } else { 0 }
            } else {
                next(keys)
            };
            let queued = model.iter().find(|(_, p)| **p == pid).map(|(k, _)| *k);
            match (next(6), queued) {
                (0 | 1, None) if model.len() < N => {
                    h.push(pid, key, key).unwrap();
                    model.insert((key, stamp), pid);
                    stamp += 1;
                }
                (0 | 1, None) => assert_eq!(h.push(pid, key, key), Err(PushError::Full(key))),
                (0, Some(_)) => {
                    assert_eq!(h.push(pid, key, key), Err(PushError::Duplicate(key)))
                }
                (1 | 2, Some(k)) => {
                    assert_eq!(h.remove(pid).map(|e| e.key), Some(k.0));
                    model.remove(&k);
                }
                (3, Some(k)) => {
                    h.update(pid, key).unwrap();
                    model.remove(&k);
                    model.insert((key, stamp), pid);
                    stamp += 1;
                }
                _ => {
                    let want = model.pop_first().map(|((k, _), p)| (p, k));
                    assert_eq!(h.pop_min().map(|e| (e.pid, e.key)), want);
                    last = want.map_or(last, |(_, k)| k);
                }
            }
            h.check();
            assert_eq!(h.len(), model.len());
            assert_eq!(h.peek().map(|e| e.pid), model.first_key_value().map(|(_, p)| *p));
        }
    }

    #[test]
    fn matches_a_sorted_model_under_random_operations() {
        // Few distinct keys: many FIFO ties; small capacities: nodes with
        // fewer than ARITY children.
        for seed in 1..20u64 {
            against_model::<2>(seed * 7919, 2000, 4);
            against_model::<4>(seed * 7919, 2000, 4);
            against_model::<8>(seed * 7919, 2000, 6);
            against_model::<16>(seed * 7919, 2000, 8);
            against_model::<64>(seed * 7919, 4000, 32);
            against_model::<32>(seed * 7919, 2000, 1 << 40);
            // Keys over several calendar buckets, within the window and
            // past it (64 buckets of 2^CAL_SHIFT, 16 of them).
            against_model::<64>(seed * 7919, 4000, 1 << 14);
            against_model::<16>(seed * 7919, 4000, 1 << 16);
            // The window moving with the pops; keys out of order within a
            // bucket, past CAL_WALK_MAX (64 keys over 8 buckets' span).
            against_model_near::<64>(seed * 7919, 4000, 1 << 16, true);
            against_model_near::<64>(seed * 7919, 4000, 1 << 13, true);
            against_model_near::<16>(seed * 7919, 4000, 1 << 10, true);
        }
    }

    #[test]
    fn calendar_orders_across_u64_wrap() {
        // The first key is held in front; the second anchors the window
        // (8 buckets of 2^CAL_SHIFT from u64::MAX - 2047), which holds the
        // next three across the wrap, in circular bucket order.
        let mut h = VtimeHeap::<(), 8>::new();
        let keys = [u64::MAX - 6000, u64::MAX - 2000, 3000, u64::MAX - 10, 5];
        for (pid, k) in keys.iter().enumerate() {
            h.push(pid as i32, *k, ()).unwrap();
        }
        assert_eq!((h.cal_len, h.len, h.has_front()), (4, 0, true));
        h.check();
        let order: Vec<i32> = std::iter::from_fn(|| h.pop_min().map(|e| e.pid)).collect();
        assert_eq!(order, [0, 1, 3, 4, 2]);
    }

    #[test]
    fn calendar_width_follows_the_keys() {
        let mut h = VtimeHeap::<u64, 256>::new();
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        // Keys spread over 2^24 past the last pop: 256 buckets of 2^10
        // cover 2^18, so the buckets widen until the window holds them.
        let mut last = 0;
        for i in 0..256 {
            h.push(i, last + next(1 << 24), 0).unwrap();
        }
        for i in 256..20_000 {
            last = h.pop_min().unwrap().key;
            h.push(i, last + next(1 << 24), 0).unwrap();
            h.check();
        }
        assert!(h.cal_shift >= 16, "widened to {}", h.cal_shift);
        assert!(h.cal_len > 200, "{} of 256 in the calendar", h.cal_len);
        // Consecutive keys (a FIFO's arrival numbers) share the wide
        // buckets, each appended at its list's tail: all in the calendar.
        h.clear();
        for i in 0..256 {
            h.push(i, i as u64, 0).unwrap();
        }
        for i in 256..20_000u64 {
            assert_eq!(h.pop_min().unwrap().key, i - 256);
            h.push(i as i32, i, 0).unwrap();
            h.check();
        }
        assert_eq!(h.cal_len, 256);
        // Keys in random order within 2^12 past the last pop: in buckets
        // of 2^16 most pushes would walk past many nodes, so the buckets
        // narrow until few share one.
        let shift = h.cal_shift;
        let mut last = h.pop_min().unwrap().key;
        for i in 20_000..60_000 {
            h.push(i, last + next(1 << 12), 0).unwrap();
            last = h.pop_min().unwrap().key;
            h.check();
        }
        assert!(h.cal_shift + 6 <= shift, "narrowed from {shift} to {}", h.cal_shift);
        assert!(h.cal_len > 200, "{} of 255 in the calendar", h.cal_len);
    }

    #[test]
    fn equal_keys_queue_in_one_bucket_in_fifo_order() {
        let mut h = VtimeHeap::<i32, 64>::new();
        for pid in 0..40 {
            h.push(pid, 7, pid).unwrap();
        }
        assert_eq!((h.cal_len, h.has_front()), (39, true));
        h.check();
        let order: Vec<i32> = std::iter::from_fn(|| h.pop_min().map(|e| e.pid)).collect();
        assert_eq!(order, (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn drops_payloads() {
        let token = Rc::new(());
        {
            let mut h = VtimeHeap::<Rc<()>, 8>::new();
            for pid in 0..6 {
                h.push(pid, 0, token.clone()).unwrap();
            }
            drop(h.remove(3));
            assert_eq!(Rc::strong_count(&token), 6);
        }
        assert_eq!(Rc::strong_count(&token), 1);
    }
}
