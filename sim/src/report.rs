// SPDX-License-Identifier: GPL-2.0-only
//! A run's figures: per workload, latency percentiles, misses, throughput,
//! CPU time and its share against what the weights give; as a table, as
//! JSON, and as an SVG plot of the latency CDFs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use usched_core::histogram::{bucket_range, Histogram};

use crate::machine::{LabelStats, Machine, ModelReport};
use crate::workload::Behavior;

/// Latency percentiles, µs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Largest, µs.
    pub max_us: f64,
}

impl Latency {
    fn of(h: &Histogram) -> Self {
        let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
        Self {
            count: h.count(),
            p50_us: us(h.percentile(50.0)),
            p99_us: us(h.percentile(99.0)),
            max_us: us(h.max()),
        }
    }
}

/// One workload's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadReport {
    /// The workload's name (`audio`, `hogs-nice19`, ...).
    pub label: String,
    /// Its tasks.
    pub tasks: u64,
    /// Periodic workloads: each period's start lateness (timer + wait);
    /// others: wake→run. None for CPU hogs (they wake once).
    pub latency: Option<Latency>,
    /// Missed periods, % (periodic workloads), or skipped forks, %.
    pub misses_pct: Option<f64>,
    /// Periods, messages or runs completed per second.
    pub done_per_s: f64,
    /// CPU time, s.
    pub cpu_s: f64,
    /// CPU-bound workloads: CPU time received ÷ what their weights give
    /// them of the CPU time the others leave (1.0 = exactly fair).
    pub share_vs_weight: Option<f64>,
    /// Longest a task of it waited runnable, ms.
    pub max_wait_ms: f64,
}

/// A run's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scheduler model.
    pub policy: String,
    /// CPUs.
    pub cpus: usize,
    /// The topology description.
    pub topology: String,
    /// The workload description.
    pub workload: String,
    /// The cost model's name.
    pub costs: String,
    /// Simulated time, s.
    pub seconds: f64,
    /// The seed.
    pub seed: u64,
    /// Per workload.
    pub workloads: Vec<WorkloadReport>,
    /// Every wake-up's wake→run latency.
    pub wake_run: Latency,
    /// Record sent → decision applied (framework models).
    pub enq_dispatch: Option<Latency>,
    /// The dispatcher's CPU time, % of one CPU (framework models).
    pub dispatcher_cpu_pct: Option<f64>,
    /// The model's counters.
    pub counters: BTreeMap<String, u64>,
    /// Events processed.
    pub events: u64,
    /// Latency histograms of the periodic workloads, for plots.
    #[serde(skip)]
    pub cdfs: Vec<(String, Histogram)>,
}

/// Run description the report repeats.
#[derive(Debug, Clone)]
pub struct Header {
    /// The scheduler model.
    pub policy: String,
    /// The topology description.
    pub topology: String,
    /// The workload description.
    pub workload: String,
    /// The cost model's name.
    pub costs: String,
    /// Simulated time, s.
    pub seconds: f64,
    /// The seed.
    pub seed: u64,
}

/// Each task's CPU time by weight, water-filled: no task gets more than
/// `cap` (one CPU), the rest shared by weight.
fn water_fill(weights: &[(usize, u64)], capacity: f64, cap: f64) -> Vec<f64> {
    let mut out = vec![0.0; weights.len()];
    let mut open: Vec<usize> = (0..weights.len()).collect();
    let mut left = capacity;
    while !open.is_empty() && left > 0.0 {
        let wsum: f64 = open.iter().map(|&i| weights[i].1 as f64).sum();
        let capped: Vec<usize> =
            open.iter().copied().filter(|&i| left * weights[i].1 as f64 / wsum >= cap).collect();
        if capped.is_empty() {
            for &i in &open {
                out[i] = left * weights[i].1 as f64 / wsum;
            }
            break;
        }
        for &i in &capped {
            out[i] = cap;
            left -= cap;
        }
        open.retain(|i| !capped.contains(i));
    }
    out
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl Report {
    /// The report of a finished run.
    pub fn new(h: &Header, m: &Machine, model: &ModelReport) -> Self {
        let secs = h.seconds;
        let stats = m.label_stats();
        let dispatcher = m.labels.iter().position(|l| l == "dispatcher");
        // Fair shares of the CPU-bound tasks, of what the others left.
        let hogs: Vec<(usize, u64)> = m
            .tasks
            .iter()
            .filter(|t| t.spec.behavior == Behavior::Hog)
            .map(|t| (t.label, u64::from(t.kweight)))
            .collect();
        let total_ns = secs * 1e9 * m.nr_cpus() as f64;
        let reserved = m.reserved.map_or(0.0, |_| secs * 1e9);
        let others: f64 = stats
            .iter()
            .enumerate()
            .filter(|(i, _)| !hogs.iter().any(|h| h.0 == *i) && Some(*i) != dispatcher)
            .map(|(_, s)| s.cpu_ns as f64)
            .sum();
        let disp_ns = dispatcher.map_or(0.0, |d| stats[d].cpu_ns as f64);
        let fair = water_fill(&hogs, (total_ns - reserved - others - disp_ns).max(0.0), secs * 1e9);
        let mut fair_by_label = vec![0.0; stats.len()];
        for (i, (label, _)) in hogs.iter().enumerate() {
            fair_by_label[*label] += fair[i];
        }
        let workloads = stats
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != dispatcher)
            .map(|(i, s): (usize, &LabelStats)| {
                let hog = m.tasks.iter().any(|t| t.label == i && t.spec.behavior == Behavior::Hog);
                let periodic = m.tasks.iter().any(|t| {
                    t.label == i
                        && matches!(
                            t.spec.behavior,
                            Behavior::Periodic { .. } | Behavior::Child { .. }
                        )
                });
                WorkloadReport {
                    label: m.labels[i].clone(),
                    tasks: s.tasks,
                    latency: (!hog).then(|| Latency::of(&s.latency)),
                    misses_pct: (periodic && s.done + s.misses > 0)
                        .then(|| round(100.0 * s.misses as f64 / (s.done.max(1)) as f64, 2)),
                    done_per_s: round(s.done as f64 / secs, 1),
                    cpu_s: round(s.cpu_ns as f64 / 1e9, 3),
                    share_vs_weight: (fair_by_label[i] > 0.0)
                        .then(|| round(s.cpu_ns as f64 / fair_by_label[i], 3)),
                    max_wait_ms: round(s.max_wait as f64 / 1e6, 2),
                }
            })
            .collect();
        let cdfs = stats
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                m.tasks
                    .iter()
                    .any(|t| t.label == *i && matches!(t.spec.behavior, Behavior::Periodic { .. }))
            })
            .map(|(i, s)| (format!("{} {}", h.policy, m.labels[i]), s.latency.clone()))
            .collect();
        Self {
            policy: h.policy.clone(),
            cpus: m.nr_cpus(),
            topology: h.topology.clone(),
            workload: h.workload.clone(),
            costs: h.costs.clone(),
            seconds: secs,
            seed: h.seed,
            workloads,
            wake_run: Latency::of(&m.wake_run),
            enq_dispatch: model.enq_dispatch.as_ref().map(Latency::of),
            dispatcher_cpu_pct: dispatcher
                .map(|d| round(100.0 * stats[d].cpu_ns as f64 / (secs * 1e9), 2)),
            counters: model.counters.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
            events: m.events,
            cdfs,
        }
    }

    /// The report as a table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "usched-sim: {} on {} CPUs ({}), workload {}, {} s, seed {}, costs {}",
            self.policy,
            self.cpus,
            self.topology,
            self.workload,
            self.seconds,
            self.seed,
            self.costs
        );
        let _ = writeln!(
            s,
            "  {:<14} {:>6} {:>9} {:>9} {:>9} {:>8} {:>9} {:>8} {:>8} {:>9}",
            "workload",
            "tasks",
            "p50 us",
            "p99 us",
            "max us",
            "miss %",
            "done/s",
            "cpu s",
            "share/w",
            "wait ms"
        );
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v}"));
        for w in &self.workloads {
            let _ = writeln!(
                s,
                "  {:<14} {:>6} {:>9} {:>9} {:>9} {:>8} {:>9.1} {:>8.3} {:>8} {:>9.2}",
                w.label,
                w.tasks,
                opt(w.latency.as_ref().map(|l| l.p50_us)),
                opt(w.latency.as_ref().map(|l| l.p99_us)),
                opt(w.latency.as_ref().map(|l| l.max_us)),
                opt(w.misses_pct),
                w.done_per_s,
                w.cpu_s,
                opt(w.share_vs_weight),
                w.max_wait_ms
            );
        }
        let _ = write!(
            s,
            "  wake->run p50 {} us, p99 {} us, max {} us",
            self.wake_run.p50_us, self.wake_run.p99_us, self.wake_run.max_us
        );
        if let Some(e) = &self.enq_dispatch {
            let _ = write!(s, "; enq->dispatch p50 {} us, p99 {} us", e.p50_us, e.p99_us);
        }
        if let Some(d) = self.dispatcher_cpu_pct {
            let _ = write!(s, "; dispatcher CPU {d} %");
        }
        let _ = writeln!(s);
        if !self.counters.is_empty() {
            let c: Vec<String> = self.counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "  {}", c.join(", "));
        }
        s
    }
}

/// An SVG plot of the latency CDFs of `reports`' periodic workloads: one
/// curve per policy and workload, latency (µs, log scale) across, fraction
/// of periods up.
pub fn svg(reports: &[Report]) -> String {
    const W: f64 = 760.0;
    const H: f64 = 420.0;
    const L: f64 = 60.0;
    const B: f64 = 40.0;
    const COLORS: [&str; 8] =
        ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
    let curves: Vec<&(String, Histogram)> = reports.iter().flat_map(|r| &r.cdfs).collect();
    let max_ns = curves.iter().map(|c| c.1.max()).max().unwrap_or(1).max(10_000);
    let (lo, hi) = (0.0f64, (max_ns as f64 / 1000.0).log10().ceil().max(1.0));
    let x = |us: f64| L + (us.max(1.0).log10() - lo) / (hi - lo) * (W - L - 20.0);
    let y = |f: f64| H - B - f * (H - B - 20.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for d in 0..=(hi as i32) {
        let xv = x(10f64.powi(d));
        let _ = writeln!(
            s,
            "<line x1=\"{xv:.1}\" y1=\"20\" x2=\"{xv:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{xv:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - B,
            H - B + 16.0,
            10u64.pow(d as u32)
        );
    }
    for f in [0.0, 0.5, 0.9, 0.99, 1.0] {
        let yv = y(f);
        let _ = writeln!(
            s,
            "<line x1=\"{L}\" y1=\"{yv:.1}\" x2=\"{:.1}\" y2=\"{yv:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{f}</text>",
            W - 20.0,
            L - 6.0,
            yv + 4.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">lateness, us (log scale)</text>",
        (W + L) / 2.0,
        H - 6.0
    );
    for (i, (name, h)) in curves.iter().enumerate() {
        let total = h.count().max(1) as f64;
        let mut seen = 0u64;
        let mut pts = String::new();
        for (b, c) in h.counts().iter().enumerate() {
            if *c == 0 {
                continue;
            }
            seen += c;
            let (lo_ns, width) = bucket_range(b);
            let us = (lo_ns + width) as f64 / 1000.0;
            let _ = write!(pts, "{:.1},{:.1} ", x(us), y(seen as f64 / total));
        }
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{pts}\"/>"
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{color}\">{name}</text>",
            L + 10.0,
            36.0 + 16.0 * i as f64
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn water_fill_caps_each_task_at_one_cpu() {
        // 2 CPUs, weights 1024 and 15 and 15: the heavy one cannot use more
        // than one CPU, the light ones share the other.
        let f = water_fill(&[(0, 1024), (1, 15), (1, 15)], 2.0, 1.0);
        assert_eq!(f, vec![1.0, 0.5, 0.5]);
        let f = water_fill(&[(0, 1024), (0, 1024), (1, 15)], 1.0, 1.0);
        assert!((f[2] - 15.0 / 2063.0).abs() < 1e-9);
    }
}
