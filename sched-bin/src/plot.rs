// SPDX-License-Identifier: GPL-2.0-only
//! usched-plot: the VM benchmark's lateness figures as a picture (SVG).
//!
//! Reads the `BENCH <scheduler> <metric> <value> <round>` lines of a
//! benchmark log (`vm/scenarios/bench.sh`; `benches/vm-bench.sh` calls this
//! after its table) and draws, for the audio-like and the game-like
//! workload, each scheduler's lateness distribution as the probe sums it up:
//! p50, p99 and maximum, one dot per round and a bar at the median, on a log
//! scale.
//!
//! ```text
//! usched-plot LOG OUT.svg [TITLE]
//! ```
use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use plotters::prelude::*;

/// The workloads drawn, with their metric prefix.
const WORKLOADS: [(&str, &str); 2] =
    [("audio-like threads", "audio"), ("game-like threads", "game")];
/// The percentiles drawn: metric suffix, legend, colour, offset from the
/// scheduler's position.
const PERCENTILES: [(&str, &str, RGBColor, f64); 3] = [
    ("late_p50_us", "p50", RGBColor(31, 119, 180), -0.22),
    ("late_p99_us", "p99", RGBColor(230, 120, 0), 0.0),
    ("late_max_us", "max", RGBColor(200, 30, 30), 0.22),
];

/// The figures of one log: per (scheduler, metric) the value of each round,
/// and the schedulers in the order they appear.
#[derive(Debug, Default)]
struct Figures {
    values: BTreeMap<(String, String), Vec<f64>>,
    schedulers: Vec<String>,
}

impl Figures {
    fn parse(text: &str) -> Self {
        let mut f = Self::default();
        for line in text.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            let &[tag, sched, metric, value, _round] = &w[..] else { continue };
            let Ok(v) = value.parse::<f64>() else { continue };
            if tag != "BENCH" || !v.is_finite() {
                continue;
            }
            if !f.schedulers.iter().any(|s| s == sched) {
                f.schedulers.push(sched.to_owned());
            }
            f.values.entry((sched.to_owned(), metric.to_owned())).or_default().push(v);
        }
        f
    }

    fn get(&self, sched: &str, metric: &str) -> &[f64] {
        self.values.get(&(sched.to_owned(), metric.to_owned())).map_or(&[], Vec::as_slice)
    }
}

/// The median of `v` (the upper one of an even count, as bench.sh's table).
fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied()
}

/// Lateness is drawn on a log scale: anything under 1 µs is drawn at 1 µs.
fn floor_us(v: f64) -> f64 {
    v.max(1.0)
}

fn draw(f: &Figures, out: &str, title: &str) -> Result<()> {
    let n = f.schedulers.len();
    let root = SVGBackend::new(out, (560 * WORKLOADS.len() as u32, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let panels = root.split_evenly((1, WORKLOADS.len()));
    for ((label, prefix), area) in WORKLOADS.iter().zip(panels.iter()) {
        let all: Vec<f64> = f
            .schedulers
            .iter()
            .flat_map(|s| {
                PERCENTILES.iter().flat_map(move |p| f.get(s, &format!("{prefix}_{}", p.0)))
            })
            .map(|&v| floor_us(v))
            .collect();
        let (lo, hi) = all.iter().fold((f64::MAX, 1.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let lo = if lo == f64::MAX { 1.0 } else { lo };
        let names = f.schedulers.clone();
        let mut chart = ChartBuilder::on(area)
            .caption(*label, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), ((lo / 1.5)..(hi * 1.5)).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                names.get(i as usize).cloned().unwrap_or_default()
            })
            .y_desc("lateness, µs (log scale)")
            .draw()?;
        for (suffix, legend, colour, dx) in PERCENTILES {
            let metric = format!("{prefix}_{suffix}");
            let dots: Vec<(f64, f64)> = (0..n)
                .flat_map(|i| {
                    f.get(&f.schedulers[i], &metric)
                        .iter()
                        .map(move |&v| (i as f64 + dx, floor_us(v)))
                })
                .collect();
            chart
                .draw_series(dots.iter().map(|&p| Circle::new(p, 3, colour.mix(0.6).filled())))?
                .label(legend)
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
            let bars = (0..n).filter_map(|i| {
                let m = floor_us(median(f.get(&f.schedulers[i], &metric))?);
                let x = i as f64 + dx;
                Some(PathElement::new(vec![(x - 0.09, m), (x + 0.09, m)], colour.stroke_width(3)))
            });
            chart.draw_series(bars)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present().with_context(|| format!("writing {out}"))?;
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (log, out) = match &args[..] {
        [log, out] | [log, out, _] => (log, out),
        _ => bail!("usage: usched-plot LOG OUT.svg [TITLE]"),
    };
    let text = std::fs::read(log).with_context(|| format!("reading {log}"))?;
    let f = Figures::parse(&String::from_utf8_lossy(&text));
    let has_lateness = f.schedulers.iter().any(|s| {
        !f.get(s, "audio_late_p50_us").is_empty() || !f.get(s, "game_late_p50_us").is_empty()
    });
    if !has_lateness {
        bail!("{log} has no BENCH lateness lines (vm/scenarios/bench.sh writes them)");
    }
    let rounds = f.values.values().map(Vec::len).max().unwrap_or(0);
    let default_title =
        format!("Lateness per scheduler ({} schedulers, up to {rounds} rounds; dots: rounds, bars: medians)", f.schedulers.len());
    let title = args.get(2).cloned().unwrap_or(default_title);
    draw(&f, out, &title)?;
    println!("usched-plot: wrote {out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "noise\r\nBENCH eevdf audio_late_p50_us 240.6 1\r\n\
        BENCH eevdf audio_late_p50_us 300.0 2\n\
        BENCH usched_adaptive audio_late_p50_us 309.2 1\n\
        BENCH eevdf share_idle x 1\nBENCH-TABLE metric eevdf\n";

    #[test]
    fn parses_rounds_in_order_and_skips_the_rest() {
        let f = Figures::parse(LOG);
        assert_eq!(f.schedulers, ["eevdf", "usched_adaptive"]);
        assert_eq!(f.get("eevdf", "audio_late_p50_us"), [240.6, 300.0]);
        assert!(f.get("eevdf", "share_idle").is_empty(), "not a number");
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn draws_an_svg() {
        let out = std::env::temp_dir().join(format!("usched-plot-{}.svg", std::process::id()));
        let out = out.to_str().unwrap().to_owned();
        draw(&Figures::parse(LOG), &out, "test").unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("usched_adaptive") && svg.contains("p99"));
        std::fs::remove_file(&out).unwrap();
    }
}
