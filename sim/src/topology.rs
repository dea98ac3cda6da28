// SPDX-License-Identifier: GPL-2.0-only
//! The simulated machine's CPUs: which core, last-level cache and NUMA node
//! each belongs to, from the same descriptions the VM's `--topology` takes.

use std::fmt;

/// Where one CPU sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuPlace {
    /// Physical core (SMT siblings share it).
    pub core: u32,
    /// Last-level cache.
    pub llc: u32,
    /// NUMA node.
    pub node: u32,
}

/// The CPUs of the simulated machine, numbered as Linux numbers qemu's:
/// threads of a core adjacent, then cores, dies, sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    cpus: Vec<CpuPlace>,
    /// For each CPU, its SMT siblings (itself excluded).
    siblings: Vec<Vec<usize>>,
}

/// A topology description that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyError(pub String);

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TopologyError {}

/// Most CPUs a simulated machine may have.
pub const MAX_CPUS: usize = 4096;

impl Topology {
    /// `sockets` × `dies` × `cores` × `threads` CPUs, as a qemu guest sees
    /// them: one last-level cache per socket (qemu's dies share it: the
    /// VM's guests see one LLC per socket), and the sockets split evenly
    /// into `nodes` NUMA nodes (qemu: one node unless `-numa` says more).
    ///
    /// # Errors
    /// A zero count, more than [`MAX_CPUS`] CPUs, or sockets that do not
    /// split evenly into the nodes.
    pub fn grid(
        sockets: usize,
        dies: usize,
        cores: usize,
        threads: usize,
        nodes: usize,
    ) -> Result<Self, TopologyError> {
        let n = sockets
            .checked_mul(dies)
            .and_then(|x| x.checked_mul(cores))
            .and_then(|x| x.checked_mul(threads))
            .unwrap_or(usize::MAX);
        if sockets == 0 || dies == 0 || cores == 0 || threads == 0 || n > MAX_CPUS {
            return Err(TopologyError(format!(
                "topology sockets={sockets},dies={dies},cores={cores},threads={threads}: every count must be at least 1 and the product at most {MAX_CPUS}"
            )));
        }
        if nodes == 0 || !sockets.is_multiple_of(nodes) {
            return Err(TopologyError(format!(
                "topology with {sockets} sockets: nodes={nodes} must divide them evenly"
            )));
        }
        let mut cpus = Vec::with_capacity(n);
        for cpu in 0..n {
            let core = cpu / threads;
            let socket = core / cores / dies;
            let node = socket / (sockets / nodes);
            cpus.push(CpuPlace { core: core as u32, llc: socket as u32, node: node as u32 });
        }
        let siblings = (0..n)
            .map(|c| (0..n).filter(|&o| o != c && cpus[o].core == cpus[c].core).collect())
            .collect();
        Ok(Self { cpus, siblings })
    }

    /// Reads a description for `cpus` CPUs (`None`: as many as it names):
    /// `flat` (one core per CPU, one LLC), `smt2` (2 threads per core, one
    /// LLC), the VM's names (`vm/usched-vm`: `smt4`, `smt8`, `llc4`,
    /// `llc8`, `numa4`, `numa8`, the same machines), or qemu's form
    /// `sockets=S[,dies=D],cores=K[,threads=T][,nodes=N]` (one LLC per
    /// socket; `nodes=N` splits the sockets into N NUMA nodes, as qemu's
    /// `-numa` options would, else one node).
    ///
    /// Without `cpus`, `flat` and `smt2` are refused: they name no count.
    ///
    /// # Errors
    /// An unknown name, a malformed or zero count, or a CPU count that does
    /// not match the description.
    pub fn parse(desc: &str, cpus: Option<usize>) -> Result<Self, TopologyError> {
        let need = |what: &str| {
            cpus.ok_or_else(|| TopologyError(format!("topology '{what}' needs --cpus")))
        };
        let t = match desc {
            "flat" => Self::grid(1, 1, need("flat")?, 1, 1)?,
            "smt2" => {
                let n = need("smt2")?;
                if n % 2 != 0 {
                    return Err(TopologyError(format!(
                        "topology smt2 needs an even number of CPUs, not {n}"
                    )));
                }
                Self::grid(1, 1, n / 2, 2, 1)?
            }
            "smt4" => Self::grid(1, 1, 2, 2, 1)?,
            "smt8" => Self::grid(1, 1, 4, 2, 1)?,
            "llc4" => Self::grid(2, 1, 2, 1, 1)?,
            "llc8" => Self::grid(2, 1, 4, 1, 1)?,
            "numa4" => Self::grid(2, 1, 2, 1, 2)?,
            "numa8" => Self::grid(2, 1, 4, 1, 2)?,
            form => {
                let (mut s, mut d, mut c, mut th, mut nodes) = (1, 1, None, 1, 1);
                for kv in form.split(',') {
                    let (k, v) = kv.split_once('=').ok_or_else(|| {
                        TopologyError(format!(
                            "unknown topology '{form}' (flat, smt2, smt4, smt8, llc4, llc8, numa4, numa8, or sockets=S[,dies=D],cores=K[,threads=T][,nodes=N])"
                        ))
                    })?;
                    let v: usize = v.parse().map_err(|_| {
                        TopologyError(format!("topology '{form}': '{v}' is not a count"))
                    })?;
                    match k {
                        "sockets" => s = v,
                        "dies" => d = v,
                        "cores" => c = Some(v),
                        "threads" => th = v,
                        "nodes" => nodes = v,
                        _ => {
                            return Err(TopologyError(format!(
                            "topology '{form}': unknown key '{k}' (sockets, dies, cores, threads, nodes)"
                        )))
                        }
                    }
                }
                let c =
                    c.ok_or_else(|| TopologyError(format!("topology '{form}' needs cores=K")))?;
                Self::grid(s, d, c, th, nodes)?
            }
        };
        match cpus {
            Some(n) if n != t.nr_cpus() => Err(TopologyError(format!(
                "topology '{desc}' has {} CPUs, but --cpus says {n}",
                t.nr_cpus()
            ))),
            _ => Ok(t),
        }
    }

    /// Number of CPUs.
    pub fn nr_cpus(&self) -> usize {
        self.cpus.len()
    }

    /// Where `cpu` sits.
    pub fn place(&self, cpu: usize) -> CpuPlace {
        self.cpus[cpu]
    }

    /// `cpu`'s SMT siblings, itself excluded.
    pub fn siblings(&self, cpu: usize) -> &[usize] {
        &self.siblings[cpu]
    }

    /// How far apart two CPUs are: 0 same CPU, 1 SMT siblings, 2 same LLC,
    /// 3 same node, 4 another node.
    pub fn distance(&self, a: usize, b: usize) -> u32 {
        let (pa, pb) = (self.cpus[a], self.cpus[b]);
        if a == b {
            0
        } else if pa.core == pb.core {
            1
        } else if pa.llc == pb.llc {
            2
        } else if pa.node == pb.node {
            3
        } else {
            4
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_match_the_vm_and_qemu() {
        let t = Topology::parse("smt4", None).unwrap();
        assert_eq!(t.nr_cpus(), 4);
        assert_eq!(t.siblings(0), &[1]);
        assert_eq!(t.distance(0, 1), 1);
        assert_eq!(t.distance(0, 2), 2);
        // qemu without -numa: one node, an LLC per socket; nodes=N splits.
        let t = Topology::parse("sockets=2,cores=4,threads=2", Some(16)).unwrap();
        assert_eq!(t.place(15), CpuPlace { core: 7, llc: 1, node: 0 });
        assert_eq!(t.distance(0, 8), 3);
        let t = Topology::parse("sockets=2,cores=4,threads=2,nodes=2", Some(16)).unwrap();
        assert_eq!(t.place(15), CpuPlace { core: 7, llc: 1, node: 1 });
        assert_eq!(t.distance(0, 8), 4);
        // qemu's dies share their socket's LLC.
        let t = Topology::parse("sockets=1,dies=2,cores=2", None).unwrap();
        assert_eq!(t.distance(0, 3), 2);
        // The VM's names are the VM's machines.
        assert_eq!(Topology::parse("llc8", None).unwrap().distance(0, 4), 3);
        assert_eq!(
            Topology::parse("llc4", None).unwrap().place(3),
            CpuPlace { core: 3, llc: 1, node: 0 }
        );
        assert_eq!(Topology::parse("numa4", None).unwrap().distance(0, 2), 4);
        assert_eq!(Topology::parse("flat", Some(64)).unwrap().siblings(3), &[] as &[usize]);
        assert_eq!(Topology::parse("smt2", Some(64)).unwrap().siblings(3), &[2]);
    }

    #[test]
    fn bad_descriptions_say_why() {
        for (d, n, says) in [
            ("smt2", Some(3), "even"),
            ("flat", None, "needs --cpus"),
            ("numa4", Some(8), "has 4 CPUs"),
            ("sockets=2,cores=0", None, "at least 1"),
            ("sockets=x,cores=2", None, "not a count"),
            ("mesh", Some(2), "unknown topology"),
            ("sockets=1,cores=2,smt=2", None, "unknown key"),
            ("sockets=64,cores=64,threads=2", None, "at most"),
            ("sockets=3,cores=2,nodes=2", None, "divide them evenly"),
        ] {
            let e = Topology::parse(d, n).unwrap_err().to_string();
            assert!(e.contains(says), "{d}: {e}");
        }
    }
}
