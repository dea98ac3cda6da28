// SPDX-License-Identifier: GPL-2.0-only
//! The machine's CPU topology as the BPF side uses it: for each CPU, the
//! next SMT thread of its core (a ring through the core's threads; the CPU
//! itself without SMT), its last-level cache and its NUMA node; and the
//! CPUs fast wakers prefer (the biggest cores of a hybrid machine). Built once
//! at load from `scx_utils::Topology` and written into the BPF object's
//! read-only data; a CPU hotplug restarts the scheduler, which builds it
//! anew.
use std::collections::BTreeMap;

/// One CPU's place in the machine, as [`CpuTopology::from_cpus`] takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpuPlace {
    /// The CPU id.
    pub cpu: usize,
    /// A machine-wide unique id of its core.
    pub core: usize,
    /// Its last-level cache's id.
    pub llc: usize,
    /// Its NUMA node.
    pub node: usize,
    /// Its capacity on the kernel's scale (1024: the fastest CPU's); 0 or
    /// the same value everywhere when unknown (see [`CpuTopology::detect`]).
    pub capacity: u32,
    /// Whether the kernel lists it as an efficient core of a hybrid part
    /// (Intel's `/sys/devices/cpu_atom/cpus`): never among the biggest,
    /// whatever its capacity says.
    pub little: bool,
}

/// Per-CPU topology arrays, indexed by CPU id (`nr_cpu_ids` entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuTopology {
    /// The next thread of the CPU's core, in id order and back to the first.
    pub smt_next: Vec<i32>,
    /// The CPU's last-level cache id.
    pub llc: Vec<u32>,
    /// The CPU's NUMA node.
    pub node: Vec<u32>,
    /// The CPUs fast wakers prefer when one idles, best first: on a machine
    /// whose CPUs differ in capacity or kind (hybrid P/E cores), the big
    /// ones within [`BIG_CPU_PCT`] % of the highest capacity among them, by
    /// capacity then id; empty where the CPUs are alike.
    pub fast_cpus: Vec<i32>,
}

/// A CPU counts as one of the biggest when its capacity is at least this
/// share of the highest, in %: the favoured cores of a hybrid part report
/// slightly more than the other big ones, and all of them serve a
/// latency-critical task better than an efficient core.
pub(crate) const BIG_CPU_PCT: u64 = 90;

impl CpuTopology {
    /// Every CPU its own core, one LLC, one node: what the BPF side assumes
    /// when the topology cannot be read.
    pub(crate) fn flat(nr_cpu_ids: usize) -> Self {
        Self::from_cpus(nr_cpu_ids, [])
    }

    /// The arrays for `nr_cpu_ids` CPU ids from the CPUs' places; CPUs not
    /// listed (offline, or ids past the last CPU) are flat: their own core,
    /// LLC 0 and node 0. Places of CPUs at or past `nr_cpu_ids` are ignored.
    pub(crate) fn from_cpus(nr_cpu_ids: usize, places: impl IntoIterator<Item = CpuPlace>) -> Self {
        let mut t = Self {
            smt_next: (0..nr_cpu_ids).map(|c| c as i32).collect(),
            llc: vec![0; nr_cpu_ids],
            node: vec![0; nr_cpu_ids],
            fast_cpus: Vec::new(),
        };
        let mut cores: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut caps: Vec<(u32, usize)> = Vec::new();
        let mut any_little = false;
        for p in places.into_iter().filter(|p| p.cpu < nr_cpu_ids) {
            t.llc[p.cpu] = p.llc as u32;
            t.node[p.cpu] = p.node as u32;
            cores.entry(p.core).or_default().push(p.cpu);
            any_little |= p.little;
            if !p.little {
                caps.push((p.capacity, p.cpu));
            }
        }
        t.fast_cpus = biggest(caps, any_little);
        for mut cpus in cores.into_values() {
            cpus.sort_unstable();
            cpus.dedup();
            for (i, &c) in cpus.iter().enumerate() {
                t.smt_next[c] = cpus[(i + 1) % cpus.len()] as i32;
            }
        }
        t
    }

    /// The running machine's topology (`scx_utils::Topology`), or
    /// [`flat`](Self::flat) with a warning if it cannot be read: placement
    /// then ignores SMT siblings, which costs throughput, not correctness.
    ///
    /// A CPU's capacity is the kernel's own (`cpuN/cpu_capacity`, as on
    /// arm64) where sysfs has it. Else, on a hybrid part the kernel lists
    /// the efficient cores of (Intel's `/sys/devices/cpu_atom/cpus`), those
    /// are little and the others keep scx_utils' estimate (from CPPC or the
    /// top frequency: the favoured cores first). Anywhere else every CPU
    /// counts as 1024: the estimate also differs between the cores of an
    /// ordinary desktop part (AMD's preferred-core rankings spread past
    /// 1.3x), which must not narrow where fast wakers go.
    pub(crate) fn detect(nr_cpu_ids: usize) -> Self {
        match scx_utils::Topology::new() {
            Ok(topo) => {
                let atom = crate::procfs::efficient_cpu_ids();
                Self::from_cpus(
                    nr_cpu_ids,
                    topo.all_cpus.values().map(|c| {
                        let cap = match c.kernel_cpu_capacity {
                            Some(k) => k,
                            None if !atom.is_empty() => c.cpu_capacity,
                            None => 1024,
                        };
                        CpuPlace {
                            cpu: c.id,
                            core: c.core_id,
                            llc: c.llc_id,
                            node: c.node_id,
                            capacity: cap.min(u32::MAX as usize) as u32,
                            little: atom.contains(&c.id),
                        }
                    }),
                )
            }
            Err(e) => {
                log::warn!("reading the CPU topology failed ({e:#}); placing as if flat");
                Self::flat(nr_cpu_ids)
            }
        }
    }

    /// Replaces the CPUs fast wakers prefer ([`crate::Config::fast_cpus`]).
    pub(crate) fn with_fast_cpus(mut self, cpus: &[usize]) -> Self {
        self.fast_cpus = cpus.iter().map(|&c| c as i32).collect();
        self
    }

    /// CPU ids sharing `cpu`'s core, `cpu` first (following the ring).
    #[cfg(test)]
    fn core_of(&self, cpu: usize) -> Vec<usize> {
        let mut out = vec![cpu];
        let mut c = self.smt_next[cpu] as usize;
        while c != cpu {
            out.push(c);
            c = self.smt_next[c] as usize;
        }
        out
    }
}

/// The biggest of the big CPUs `caps` (capacity, CPU) by capacity then id;
/// none if no CPU is little and every known capacity is the same (or none
/// is known).
fn biggest(mut caps: Vec<(u32, usize)>, any_little: bool) -> Vec<i32> {
    caps.retain(|&(cap, _)| cap > 0);
    let Some(max) = caps.iter().map(|&(cap, _)| cap).max() else { return Vec::new() };
    if !any_little && caps.iter().all(|&(cap, _)| cap == max) {
        return Vec::new();
    }
    caps.retain(|&(cap, _)| u64::from(cap) * 100 >= u64::from(max) * BIG_CPU_PCT);
    caps.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    caps.into_iter().map(|(_, cpu)| cpu as i32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(cpu: usize, core: usize, llc: usize, node: usize) -> CpuPlace {
        CpuPlace { cpu, core, llc, node, capacity: 1024, little: false }
    }

    #[test]
    fn hybrid_machines_prefer_their_biggest_cpus() {
        // An Intel-style hybrid part: 2 P-cores with SMT (CPUs 0-3, the
        // favoured core 1 slightly faster), 4 E-cores (CPUs 4-7), one LLC.
        let cap = |c: usize| match c {
            2 | 3 => 1024,
            0 | 1 => 980,
            _ => 620,
        };
        let core = |c: usize| if c < 4 { c / 2 } else { c - 2 };
        let places = (0..8).map(|c| CpuPlace { capacity: cap(c), ..place(c, core(c), 0, 0) });
        let t = CpuTopology::from_cpus(8, places);
        assert_eq!(t.fast_cpus, vec![2, 3, 0, 1]);
        // Alike CPUs, or capacities unknown (0): no preference.
        assert!(CpuTopology::from_cpus(8, (0..8).map(|c| place(c, c, 0, 0))).fast_cpus.is_empty());
        let unknown = (0..4).map(|c| CpuPlace { capacity: 0, ..place(c, c, 0, 0) });
        assert!(CpuTopology::from_cpus(4, unknown).fast_cpus.is_empty());
        // A CPU whose capacity is unknown is not among the biggest.
        let some = (0..3).map(|c| CpuPlace { capacity: [0, 512, 1024][c], ..place(c, c, 0, 0) });
        assert_eq!(CpuTopology::from_cpus(3, some).fast_cpus, vec![2]);
        assert!(CpuTopology::flat(4).fast_cpus.is_empty());
        // The kernel's list of efficient cores rules, whatever the estimate
        // says: P-cores 0-3 alike, E-cores 4-7 estimated as big.
        let listed = (0..8).map(|c| CpuPlace { little: c >= 4, ..place(c, core(c), 0, 0) });
        assert_eq!(CpuTopology::from_cpus(8, listed).fast_cpus, vec![0, 1, 2, 3]);
        // All of them little (a kernel listing every CPU): no preference.
        let all = (0..4).map(|c| CpuPlace { little: true, ..place(c, c, 0, 0) });
        assert!(CpuTopology::from_cpus(4, all).fast_cpus.is_empty());
        assert_eq!(CpuTopology::flat(4).with_fast_cpus(&[3, 1]).fast_cpus, vec![3, 1]);
    }

    #[test]
    fn flat_machines_have_one_thread_per_core() {
        let t = CpuTopology::flat(3);
        assert_eq!(t.smt_next, vec![0, 1, 2]);
        assert_eq!((t.llc, t.node), (vec![0; 3], vec![0; 3]));
    }

    #[test]
    fn siblings_form_a_ring_whatever_their_numbering() {
        // Intel-style numbering: CPU n and n + 4 share a core; 2 LLCs.
        let places = (0..8).map(|c| place(c, c % 4, (c % 4) / 2, 0));
        let t = CpuTopology::from_cpus(8, places);
        assert_eq!(t.core_of(1), vec![1, 5]);
        assert_eq!(t.core_of(5), vec![5, 1]);
        assert_eq!(t.llc, vec![0, 0, 1, 1, 0, 0, 1, 1]);
        // SMT4: the ring goes through all four threads.
        let t = CpuTopology::from_cpus(8, (0..8).map(|c| place(c, c / 4, 0, c / 4)));
        assert_eq!(t.core_of(2), vec![2, 3, 0, 1]);
        assert_eq!(t.node, vec![0, 0, 0, 0, 1, 1, 1, 1]);
    }

    #[test]
    fn unlisted_and_out_of_range_cpus_stay_flat() {
        // CPU 2 offline; CPU 9 past nr_cpu_ids.
        let places = [place(0, 0, 0, 0), place(1, 0, 0, 0), place(3, 1, 1, 1), place(9, 1, 1, 1)];
        let t = CpuTopology::from_cpus(4, places);
        assert_eq!(t.smt_next, vec![1, 0, 2, 3]);
        assert_eq!(t.llc, vec![0, 0, 0, 1]);
    }
}
