// SPDX-License-Identifier: GPL-2.0-only
//! The reference: an EEVDF-like fair scheduler, entirely "in the kernel"
//! (no user-space round trip), against which the other models are
//! compared.
//!
//! What it models: weighted vruntime (`Δ · 1024 / weight`), a virtual
//! deadline one request (`base_slice · 1024 / weight`) past the vruntime,
//! picking the eligible task (vruntime at or below the weighted average)
//! with the earliest deadline, lag kept across sleeps (clamped to one
//! request; a negative lag lasts only until the average catches up, as
//! the kernel's delayed dequeue does), wake-up placement by the kernel's idle selection, and
//! wake-up preemption of the target CPU's task when the woken task is
//! eligible with an earlier deadline. Slices end at the tick.
//!
//! What it does not: per-CPU run queues and load balancing (one global
//! queue stands for a perfectly balanced machine, which flatters it on big
//! machines), cgroups, RUN_TO_PARITY, and the kernel's lag scaling on
//! placement.

use std::collections::BTreeSet;

use crate::machine::{Machine, Model, ModelReport, Stop, TaskId, KWEIGHT_NICE0};

/// The EEVDF-like reference model.
pub struct Eevdf {
    base_slice: u64,
    vruntime: Vec<i128>,
    deadline: Vec<i128>,
    lag: Vec<i128>,
    /// Runnable tasks not running, by (deadline, id).
    queue: BTreeSet<(i128, TaskId)>,
    /// Σ weight and Σ weight·vruntime over runnable and running tasks.
    load: i128,
    sum: i128,
    wake_preempts: u64,
}

impl Eevdf {
    /// A model for `nr_tasks` tasks on `nr_cpus` CPUs; the base slice is the
    /// kernel's `0.75 ms · (1 + ilog2(min(nr_cpus, 8)))`.
    pub fn new(nr_tasks: usize, nr_cpus: usize) -> Self {
        let factor = 1 + (nr_cpus.clamp(1, 8) as u64).ilog2() as u64;
        Self {
            base_slice: 750_000 * factor,
            vruntime: vec![0; nr_tasks],
            deadline: vec![0; nr_tasks],
            lag: vec![0; nr_tasks],
            queue: BTreeSet::new(),
            load: 0,
            sum: 0,
            wake_preempts: 0,
        }
    }

    fn avg(&self) -> i128 {
        if self.load == 0 {
            0
        } else {
            self.sum.div_euclid(self.load)
        }
    }

    fn request(&self, m: &Machine, t: TaskId) -> i128 {
        i128::from(self.base_slice) * i128::from(KWEIGHT_NICE0) / i128::from(m.tasks[t].kweight)
    }

    fn add(&mut self, m: &Machine, t: TaskId) {
        let w = i128::from(m.tasks[t].kweight);
        self.load += w;
        self.sum += w * self.vruntime[t];
    }

    fn sub(&mut self, m: &Machine, t: TaskId) {
        let w = i128::from(m.tasks[t].kweight);
        self.load -= w;
        self.sum -= w * self.vruntime[t];
    }

    fn charge(&mut self, m: &Machine, t: TaskId, ran: u64) {
        let w = i128::from(m.tasks[t].kweight);
        let dv = i128::from(ran) * i128::from(KWEIGHT_NICE0) / w;
        self.vruntime[t] += dv;
        self.sum += w * dv;
    }

    fn eligible(&self, m: &Machine, t: TaskId) -> bool {
        // vruntime ≤ Σwv / Σw, without the division.
        self.vruntime[t] * self.load <= self.sum || m.tasks[t].kweight == 0
    }
}

impl Model for Eevdf {
    fn wake(&mut self, m: &mut Machine, t: TaskId, sync: bool, waker: Option<usize>) {
        // Place with the lag it left with (new tasks: none). A task that
        // left behind (negative lag) stayed queued until the average caught
        // up with it (DELAY_DEQUEUE): it comes back at its own vruntime,
        // or at the average if that passed it meanwhile.
        let limit = self.request(m, t);
        let lag = self.lag[t].clamp(-limit, limit);
        self.vruntime[t] =
            if lag >= 0 { self.avg() - lag } else { self.avg().max(self.vruntime[t]) };
        self.deadline[t] = self.vruntime[t] + self.request(m, t);
        self.add(m, t);
        let prev = if sync { waker.unwrap_or(m.tasks[t].last_cpu) } else { m.tasks[t].last_cpu };
        if let Some(cpu) = m.claim_idle(t, prev) {
            self.queue.insert((self.deadline[t], t));
            m.kick(cpu, false);
            return;
        }
        self.queue.insert((self.deadline[t], t));
        let target = if m.allowed(t, prev) { prev } else { m.tasks[t].spec.pinned.unwrap_or(prev) };
        if let Some(curr) = m.cpus[target].curr {
            if self.eligible(m, t) && self.deadline[t] < self.deadline[curr] {
                self.wake_preempts += 1;
                m.kick(target, true);
            }
        }
    }

    fn stopping(
        &mut self,
        m: &mut Machine,
        _cpu: usize,
        t: TaskId,
        why: Stop,
        ran: u64,
    ) -> Option<u64> {
        self.charge(m, t, ran);
        if why == Stop::Sleep {
            self.lag[t] = self.avg() - self.vruntime[t];
            self.sub(m, t);
            return None;
        }
        if self.vruntime[t] >= self.deadline[t] {
            self.deadline[t] = self.vruntime[t] + self.request(m, t);
        }
        self.queue.insert((self.deadline[t], t));
        None
    }

    fn pick(&mut self, m: &mut Machine, cpu: usize) -> Option<(TaskId, u64)> {
        let mut fallback = None;
        let mut chosen = None;
        for &(dl, t) in &self.queue {
            if !m.allowed(t, cpu) {
                continue;
            }
            if self.eligible(m, t) {
                chosen = Some((dl, t));
                break;
            }
            fallback.get_or_insert((dl, t));
        }
        let (dl, t) = chosen.or(fallback)?;
        self.queue.remove(&(dl, t));
        let slice = self.request(m, t) * i128::from(m.tasks[t].kweight) / i128::from(KWEIGHT_NICE0);
        Some((t, slice.max(100_000) as u64))
    }

    fn report(&self, _m: &Machine) -> ModelReport {
        ModelReport { counters: vec![("wake_preempts", self.wake_preempts)], enq_dispatch: None }
    }
}
