// SPDX-License-Identifier: GPL-2.0-only
//! The kick batch: which CPUs the decisions of one batch need woken or
//! preempted, gathered per decision and resolved into the `usched_kick`
//! program's masks once per batch (one syscall for the whole batch).
use crate::bpf::intf;
use crate::record::{DispatchedTask, RL_CPU_ANY, RL_PREEMPT};

const MAX_CPUS: usize = intf::usched_consts_USCHED_MAX_CPUS as usize;
const CPU_WORDS: usize = intf::usched_consts_USCHED_CPU_WORDS as usize;

/// Pending CPU kicks, resolved once per batch.
pub(crate) struct Kicks {
    /// What the kick program reads: CPUs to preempt, CPUs to wake, and how
    /// many idle CPUs it should pick for any-CPU decisions (the BPF side
    /// owns that choice: a whole idle core first).
    args: intf::kick_args,
    /// Something was added since the last [`clear`](Self::clear).
    dirty: bool,
}

impl Kicks {
    /// An empty batch.
    pub(crate) const fn new() -> Self {
        Self {
            args: intf::kick_args {
                preempt: [0; CPU_WORDS],
                idle: [0; CPU_WORDS],
                urgent: [0; CPU_WORDS],
                nr_any: 0,
                nr_urgent: 0,
            },
            dirty: false,
        }
    }

    /// Sets `cpu`'s bit in `words`; CPUs past `USCHED_MAX_CPUS` are ignored.
    fn set(words: &mut [u64; CPU_WORDS], cpu: usize) {
        if cpu < MAX_CPUS {
            words[cpu / 64] |= 1 << (cpu % 64);
        }
    }

    /// Whether anything was added since the last [`clear`](Self::clear).
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Records the kick a decision needs: its CPU woken (or preempted with
    /// [`RL_PREEMPT`]), or, for an any-CPU decision, one more idle CPU (and,
    /// with [`RL_PREEMPT`], its last CPU preempted if none is idle).
    pub(crate) fn add(&mut self, task: &DispatchedTask) {
        let cpu = task.cpu;
        let any = task.flags & RL_CPU_ANY != 0 || cpu < 0;
        let preempt = task.flags & RL_PREEMPT != 0;
        match (any, preempt) {
            (true, true) => {
                self.args.nr_any = self.args.nr_any.saturating_add(1);
                self.args.nr_urgent = self.args.nr_urgent.saturating_add(1);
                if cpu >= 0 {
                    Self::set(&mut self.args.urgent, cpu as usize);
                }
            }
            (true, false) => self.args.nr_any = self.args.nr_any.saturating_add(1),
            (false, true) => Self::set(&mut self.args.preempt, cpu as usize),
            (false, false) => Self::set(&mut self.args.idle, cpu as usize),
        }
        self.dirty = true;
    }

    /// Kicks every CPU below `nr_cpu_ids` that `skip` does not exclude:
    /// woken if `idle` says so, preempted otherwise.
    pub(crate) fn add_all(
        &mut self,
        nr_cpu_ids: usize,
        skip: impl Fn(usize) -> bool,
        idle: impl Fn(usize) -> bool,
    ) {
        for cpu in (0..nr_cpu_ids).filter(|&c| !skip(c)) {
            if idle(cpu) {
                Self::set(&mut self.args.idle, cpu);
            } else {
                Self::set(&mut self.args.preempt, cpu);
            }
        }
        self.dirty = true;
    }

    /// The arguments for the kick program, or `None` when the batch needs
    /// no kick.
    pub(crate) fn resolve(&mut self) -> Option<&mut intf::kick_args> {
        let a = &self.args;
        let any = a.nr_any > 0 || a.preempt.iter().chain(a.idle.iter()).any(|w| *w != 0);
        any.then_some(&mut self.args)
    }

    /// Empties the batch.
    pub(crate) fn clear(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(words: &[u64; CPU_WORDS]) -> Vec<usize> {
        (0..MAX_CPUS).filter(|&c| words[c / 64] & (1 << (c % 64)) != 0).collect()
    }

    fn decision(cpu: i32, flags: u64) -> DispatchedTask {
        DispatchedTask { pid: 1, cpu, flags, ..Default::default() }
    }

    #[test]
    fn kick_mask_bits() {
        let mut w = [0u64; CPU_WORDS];
        Kicks::set(&mut w, 0);
        Kicks::set(&mut w, 65);
        Kicks::set(&mut w, MAX_CPUS); // out of range: ignored
        assert_eq!((w[0], w[1]), (1, 2));
        assert_eq!(w.iter().map(|x| x.count_ones()).sum::<u32>(), 2);
    }

    #[test]
    fn targeted_decisions_wake_or_preempt_their_cpu() {
        let mut k = Kicks::new();
        assert!(!k.is_dirty());
        k.add(&decision(2, 0));
        k.add(&decision(5, RL_PREEMPT));
        assert!(k.is_dirty());
        let args = k.resolve().expect("two kicks");
        assert_eq!((bits(&args.idle), bits(&args.preempt)), (vec![2], vec![5]));
        assert_eq!((args.nr_any, args.nr_urgent), (0, 0));
        k.clear();
        assert!(!k.is_dirty());
        assert!(k.resolve().is_none());
    }

    #[test]
    fn any_cpu_decisions_are_counted_for_the_kernel_to_place() {
        let mut k = Kicks::new();
        k.add(&decision(0, RL_CPU_ANY));
        // No CPU named: any CPU.
        k.add(&decision(-1, 0));
        let args = k.resolve().expect("kicks");
        assert_eq!((args.nr_any, args.nr_urgent), (2, 0));
        assert_eq!(
            (bits(&args.idle), bits(&args.preempt), bits(&args.urgent)),
            (vec![], vec![], vec![])
        );
    }

    #[test]
    fn urgent_decisions_name_their_hint_for_preemption() {
        let mut k = Kicks::new();
        k.add(&decision(3, RL_CPU_ANY | RL_PREEMPT));
        k.add(&decision(7, RL_CPU_ANY | RL_PREEMPT));
        k.add(&decision(-1, RL_PREEMPT));
        let args = k.resolve().expect("kicks");
        assert_eq!((args.nr_any, args.nr_urgent), (3, 3));
        assert_eq!((bits(&args.urgent), bits(&args.preempt)), (vec![3, 7], vec![]));
    }

    #[test]
    fn add_all_skips_and_splits_by_idleness() {
        let mut k = Kicks::new();
        k.add_all(4, |c| c == 1, |c| c % 2 == 0);
        let args = k.resolve().expect("kicks");
        assert_eq!((bits(&args.idle), bits(&args.preempt)), (vec![0, 2], vec![3]));
    }
}
