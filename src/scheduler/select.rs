// SPDX-License-Identifier: GPL-2.0-only
//! `select_cpu`: an idle CPU for a task, chosen in user space without a
//! syscall - within the task's affinity (as its last record said, kept in a
//! pid-indexed table) and by the topology: its previous CPU, a whole
//! idle core in the previous CPU's last-level cache, a whole idle core
//! anywhere, an idle CPU in that cache, any idle CPU.
use super::BpfScheduler;
use crate::bpf::intf;
use crate::record::QueuedTask;
use crate::topology::CpuTopology;

/// Threads per core looked at (as the BPF side does).
const MAX_SMT: usize = intf::usched_consts_USCHED_MAX_SMT as usize;

/// Slots of the affinity table: pids map to `pid % AFFINITY_SLOTS`.
pub(super) const AFFINITY_SLOTS: usize = 4096;

/// Which CPUs `select_cpu` may offer a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Allowed {
    /// Any CPU.
    Any,
    /// These (bit n: CPU n, on machines of at most 64 CPU ids).
    Mask(u64),
    /// Only its previous CPU: its affinity is not known (its record was
    /// overwritten by another pid's, or the machine has more than 64 CPU
    /// ids and the task may not use them all).
    PrevOnly,
}

/// What the last record of a task said about its affinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Affinity {
    /// The task's pid (0: an empty slot).
    pid: i32,
    /// What it may use.
    allowed: Allowed,
}

/// The affinity of recently queued tasks, as their records said: written
/// by every `dequeue_task`, read by `select_cpu`. A pid not found (never
/// seen, or its slot since taken by another pid) gets its previous CPU
/// only: an unknown affinity must not cost a bounced decision.
pub(super) struct AffinityTable {
    slots: Box<[Affinity; AFFINITY_SLOTS]>,
}

impl AffinityTable {
    /// An empty table.
    pub(super) fn new() -> Self {
        Self { slots: Box::new([Affinity { pid: 0, allowed: Allowed::Any }; AFFINITY_SLOTS]) }
    }

    fn slot(pid: i32) -> usize {
        pid.unsigned_abs() as usize % AFFINITY_SLOTS
    }

    /// Records what `task`'s record says, on a machine of `nr_cpu_ids`.
    pub(super) fn note(&mut self, task: &QueuedTask, nr_cpu_ids: usize) {
        let all = if nr_cpu_ids >= 64 { u64::MAX } else { (1u64 << nr_cpu_ids) - 1 };
        let allowed = match task.allowed {
            Some(m) if m & all == all => Allowed::Any,
            Some(m) => Allowed::Mask(m),
            None if task.nr_cpus_allowed as usize >= nr_cpu_ids => Allowed::Any,
            None => Allowed::PrevOnly,
        };
        self.slots[Self::slot(task.pid)] = Affinity { pid: task.pid, allowed };
    }

    /// What `pid` may use, as its last record said.
    pub(super) fn allowed(&self, pid: i32) -> Allowed {
        let s = &self.slots[Self::slot(pid)];
        if s.pid == pid && pid != 0 {
            s.allowed
        } else {
            Allowed::PrevOnly
        }
    }
}

/// Picks an idle CPU (`idle(c)`) within `allowed` near `prev`, by `topo`, in the kernel's order
/// (`scx_bpf_select_cpu_dfl`): `prev` if its whole core is idle, a whole
/// idle core in `prev`'s last-level cache, one anywhere, `prev`, an idle
/// CPU in its cache, any idle CPU. `-1` if none.
///
/// With `pack` ([`Config::pack`](crate::Config::pack), as the BPF side's
/// `pick_idle_cpu_for_work()`), whole idle cores are kept idle instead:
/// `prev` if idle, then an idle CPU on a partly busy core in `prev`'s cache,
/// one anywhere, then an idle CPU in its cache, any idle CPU.
pub(super) fn pick(
    topo: &CpuTopology,
    prev: i32,
    allowed: Allowed,
    pack: bool,
    idle: impl Fn(usize) -> bool,
) -> i32 {
    let n = topo.smt_next.len();
    let prev = usize::try_from(prev).ok().filter(|&p| p < n);
    let may = |c: usize| match allowed {
        Allowed::Any => true,
        Allowed::PrevOnly => Some(c) == prev,
        Allowed::Mask(m) => c < 64 && m & (1 << c) != 0,
    };
    let ok = |c: usize| c < n && may(c) && idle(c);
    let core_idle = |c: usize| {
        let mut s = topo.smt_next[c] as usize;
        let mut steps = 0;
        while s != c && s < n && steps < MAX_SMT {
            if !idle(s) {
                return false;
            }
            s = topo.smt_next[s] as usize;
            steps += 1;
        }
        true
    };
    let llc = prev.map(|p| topo.llc[p]);
    let in_llc = |c: usize| llc.is_none_or(|l| topo.llc[c] == l);
    if let Some(p) = prev.filter(|&p| ok(p) && (pack || core_idle(p))) {
        return p as i32;
    }
    // One pass: each idle allowed CPU ranked by the order above (1 ends
    // the search), the best kept; CPUs that are busy cost one load each.
    let mut best: Option<(u8, usize)> = None;
    for c in (0..n).filter(|&c| ok(c)) {
        // Packing ranks partly busy cores where spreading ranks whole
        // idle ones.
        let rank = match (in_llc(c), core_idle(c) != pack) {
            (true, true) => return c as i32,
            (false, true) => 2,
            _ if Some(c) == prev => 3,
            (true, false) => 4,
            (false, false) => 5,
        };
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, c));
        }
    }
    best.map_or(-1, |(_, c)| c as i32)
}

impl BpfScheduler<'_> {
    /// An idle CPU for `pid`, `prev_cpu` if it is idle; negative (`-EBUSY`)
    /// when none is. A CPU it returned is not returned again until the
    /// next [`notify_complete`](Self::notify_complete), so the tasks of one
    /// batch get an idle CPU each. Chosen in user space from the idle map the BPF side
    /// keeps, without a syscall, within the CPUs `pid` may use as its last
    /// queued record said (only its previous CPU when that is not known: a
    /// pid not dequeued lately, or on machines past 64 CPU ids a task that
    /// may not use them all), and by the topology: a whole idle core in the previous
    /// CPU's last-level cache first, then anywhere, then a CPU whose SMT
    /// sibling is busy. `_flags` is scx_rustland_core's and ignored. Use
    /// [`RL_CPU_ANY`](crate::RL_CPU_ANY) to let the BPF side place the task
    /// instead (it can see the task's affinity at insert time).
    pub fn select_cpu(&self, pid: i32, prev_cpu: i32, _flags: u64) -> i32 {
        let allowed = self.affinity.allowed(pid);
        let free = |c: usize| self.can_take_work(c) && !self.claimed_cpu(c);
        match pick(&self.topology, prev_cpu, allowed, self.cfg.pack, free) {
            c if c >= 0 => {
                if let Some(w) = self.claimed.get(c as usize / 64) {
                    w.set(w.get() | 1 << (c % 64));
                }
                c
            }
            _ => -libc::EBUSY,
        }
    }

    /// `select_cpu` handed `cpu` out in this batch.
    fn claimed_cpu(&self, cpu: usize) -> bool {
        self.claimed.get(cpu / 64).is_some_and(|w| w.get() & 1 << (cpu % 64) != 0)
    }

    /// A new batch: every CPU may be handed out again.
    pub(crate) fn clear_claims(&self) {
        for w in self.claimed.iter() {
            w.set(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::CpuPlace;

    /// 2 LLCs of 2 cores x 2 threads: CPU c and c + 4 share a core.
    fn smt8() -> CpuTopology {
        CpuTopology::from_cpus(
            8,
            (0..8).map(|c| CpuPlace {
                cpu: c,
                core: c % 4,
                llc: (c % 4) / 2,
                node: 0,
                capacity: 1024,
                little: false,
            }),
        )
    }

    #[test]
    fn prev_first_then_a_whole_idle_core_in_its_llc() {
        let t = smt8();
        let idle = |set: &'static [usize]| move |c: usize| set.contains(&c);
        assert_eq!(pick(&t, 1, Allowed::Any, false, idle(&[1, 5, 2, 3])), 1);
        // Prev idle but its sibling 4 busy; core 1 (1, 5) idle: that core.
        assert_eq!(pick(&t, 0, Allowed::Any, false, idle(&[0, 1, 5, 2, 6])), 1);
        // No whole idle core anywhere: prev, idle, before the others.
        assert_eq!(pick(&t, 5, Allowed::Any, false, idle(&[0, 5])), 5);
        // No whole idle core in prev's LLC (0-1, 4-5): one in the other.
        assert_eq!(pick(&t, 0, Allowed::Any, false, idle(&[1, 2, 6])), 2);
        // No whole idle core at all: an idle CPU in prev's LLC.
        assert_eq!(pick(&t, 0, Allowed::Any, false, idle(&[2, 5])), 5);
        assert_eq!(pick(&t, 0, Allowed::Any, false, idle(&[])), -1);
    }

    #[test]
    fn packing_fills_partly_busy_cores_first() {
        let t = smt8();
        let idle = |set: &'static [usize]| move |c: usize| set.contains(&c);
        // Prev idle: prev, even with a whole core idle elsewhere.
        assert_eq!(pick(&t, 0, Allowed::Any, true, idle(&[0, 1, 5])), 0);
        // Prev busy; core 1 (1, 5) wholly idle, CPU 6 beside busy 2 in the
        // same LLC: 6, and the whole core stays idle.
        assert_eq!(pick(&t, 0, Allowed::Any, true, idle(&[1, 5, 6])), 6);
        // None in prev's LLC is on a partly busy core: one in the other LLC.
        assert_eq!(pick(&t, 0, Allowed::Any, true, idle(&[1, 5, 3])), 3);
        // Only whole idle cores: one in prev's LLC.
        assert_eq!(pick(&t, 0, Allowed::Any, true, idle(&[1, 5, 3, 7])), 1);
        // The same machines spread without packing.
        assert_eq!(pick(&t, 0, Allowed::Any, false, idle(&[1, 5, 6])), 1);
        assert_eq!(pick(&t, 0, Allowed::Any, false, idle(&[0, 1, 5])), 1);
    }

    #[test]
    fn affinity_is_honoured() {
        let t = smt8();
        let idle = |c: usize| c != 3;
        // Allowed on 3 and 7 only: 3 is busy, so 7.
        assert_eq!(pick(&t, 3, Allowed::Mask(1 << 3 | 1 << 7), false, idle), 7);
        // Allowed on busy 3 only: none.
        assert_eq!(pick(&t, 0, Allowed::Mask(1 << 3), false, idle), -1);
        // Unknown affinity: only prev.
        assert_eq!(pick(&t, 2, Allowed::PrevOnly, false, idle), 2);
        assert_eq!(pick(&t, 3, Allowed::PrevOnly, false, idle), -1);
    }

    #[test]
    fn the_table_answers_only_for_the_pid_it_holds() {
        let mut a = AffinityTable::new();
        let q = |pid, allowed, nr| QueuedTask {
            pid,
            allowed,
            nr_cpus_allowed: nr,
            ..Default::default()
        };
        a.note(&q(7, Some(0b1100), 2), 8);
        assert_eq!(a.allowed(7), Allowed::Mask(0b1100));
        // Same slot, another pid: unknown, so only its previous CPU.
        assert_eq!(a.allowed(7 + AFFINITY_SLOTS as i32), Allowed::PrevOnly);
        // Its affinity widened to every CPU.
        a.note(&q(7, Some(0xff), 8), 8);
        assert_eq!(a.allowed(7), Allowed::Any);
        // Another pid takes the slot: 7 is unknown now.
        a.note(&q(7 + AFFINITY_SLOTS as i32, Some(0xff), 8), 8);
        assert_eq!(a.allowed(7), Allowed::PrevOnly);
        // A machine past 64 CPU ids: restricted, CPUs unknown; then widened.
        a.note(&q(9, None, 3), 128);
        assert_eq!(a.allowed(9), Allowed::PrevOnly);
        a.note(&q(9, None, 128), 128);
        assert_eq!(a.allowed(9), Allowed::Any);
    }
}
