//! What a run means: latency percentiles, SLO attainment, cost, budget and
//! flapping, for the policy and its baselines side by side.

use crate::histogram::Histogram;
use crate::sim::Outcome;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub policy: String,
    pub pool: String,
    pub trace: TraceSummary,
    /// How the serving model was derived.
    pub assumptions: Vec<String>,
    /// The signal each metric reads.
    pub signals: Vec<(String, String)>,
    pub objective: Option<Objective>,
    /// How the runs start: `warm` (each at the count the first minutes
    /// need, ready) or `cold` (the policy and the HPA at the pool's
    /// minimum).
    pub start: String,
    /// Seconds at the start left out of every statistic.
    pub settle_s: f64,
    /// The physical limit: perfect foresight (docs/simulation.md).
    pub oracle: Option<Oracle>,
    /// The policy first, then the baselines.
    pub runs: Vec<Run>,
    /// What the comparison must be read with (a baseline that misses the
    /// objective, a saving that is not one).
    pub notes: Vec<String>,
}

/// Perfect foresight: each minute gets exactly the replicas its offered
/// load needs at the baseline's utilisation, paid for that minute only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Oracle {
    pub replica_hours: f64,
    pub cost_usd: f64,
    pub max_replicas: u32,
    /// The utilisation of slots it provisions for.
    pub utilization: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceSummary {
    pub name: String,
    pub requests: u64,
    pub duration_s: f64,
    pub mean_rps: f64,
    pub peak_rps_60s: f64,
    pub speedup: f64,
    pub scale: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Objective {
    /// 0.95 for p95.
    pub percentile: f64,
    pub threshold_ms: f64,
    /// What the latency measures.
    pub measures: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub name: String,
    pub requests: u64,
    pub served: u64,
    pub timed_out: u64,
    pub cut_off: u64,
    pub unserved: u64,
    pub latency_ms: Percentiles,
    pub end_to_end_ms: Percentiles,
    /// Share of requests within the objective (failures count against).
    pub slo_requests: Option<f64>,
    /// Share of one-minute windows whose percentile meets the objective.
    pub slo_windows: Option<f64>,
    pub replica_hours: f64,
    pub spot_replica_hours: f64,
    pub mean_replicas: f64,
    pub max_replicas: u32,
    pub cost_usd: f64,
    /// The cost at this rate over the budget's period, and its share of it.
    pub budget: Option<BudgetUse>,
    pub scale_events: u32,
    /// (static peak - this run) / (static peak - oracle), in cost: the share
    /// of the possible saving this run captures. Only for the policy.
    pub captured_share: Option<f64>,
    /// Per minute of the trace.
    pub timeline: Vec<TimelineMinute>,
    /// (time, desired) of every decision, when asked for.
    #[serde(skip)]
    pub decisions: Vec<(f64, u32)>,
}

/// One minute of a run, for `--json` and the charts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineMinute {
    /// The minute's start, seconds.
    pub t: f64,
    /// Arrivals per second over the minute.
    pub demand_rps: f64,
    /// Replicas at the minute's end.
    pub ready: u32,
    pub warming: u32,
    pub draining: u32,
    /// The objective's percentile of the latency of requests completed in
    /// the minute, ms (none completed: null).
    pub latency_ms: Option<f64>,
    /// Whether the requests that arrived in the minute meet the objective
    /// (null without an objective or arrivals).
    pub slo_met: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetUse {
    pub period: &'static str,
    pub limit_usd: f64,
    pub projected_usd: f64,
    pub share: f64,
}

/// Prices and limits the report needs from the policy.
pub struct Money {
    pub price_per_hour: Option<f64>,
    pub spot_share: f64,
    pub budget: Option<(&'static str, f64, f64)>,
}

fn pct(h: &Histogram) -> Percentiles {
    let ms = |x: f64| (x * 10.0).round() / 10.0;
    Percentiles {
        p50: ms(h.quantile(0.50)),
        p95: ms(h.quantile(0.95)),
        p99: ms(h.quantile(0.99)),
    }
}

pub fn summarize(
    name: &str,
    o: &Outcome,
    duration: f64,
    settle: f64,
    objective: Option<&Objective>,
    money: &Money,
) -> Run {
    let total = o.requests();
    let slo_requests = objective.map(|_| ratio(o.within, total));
    let slo_windows = objective.map(|ob| windows(o, ob));
    let replica_hours = o.replica_seconds / 3600.0;
    let cost = money.price_per_hour.map_or(0.0, |p| replica_hours * p);
    let hours = (duration - settle).max(0.0) / 3600.0;
    Run {
        name: name.to_string(),
        requests: total,
        served: o.served,
        timed_out: o.timed_out,
        cut_off: o.cut_off,
        unserved: o.unserved,
        latency_ms: pct(&o.latency),
        end_to_end_ms: pct(&o.end_to_end),
        slo_requests,
        slo_windows,
        replica_hours: round(replica_hours, 3),
        spot_replica_hours: round(replica_hours * money.spot_share, 3),
        mean_replicas: round(
            if hours > 0.0 {
                replica_hours / hours
            } else {
                0.0
            },
            2,
        ),
        max_replicas: o.max_replicas,
        cost_usd: round(cost, 2),
        budget: money
            .budget
            .filter(|_| hours > 0.0)
            .map(|(period, limit, period_hours)| {
                let projected = cost / hours * period_hours;
                BudgetUse {
                    period,
                    limit_usd: limit,
                    projected_usd: round(projected, 2),
                    share: round(projected / limit, 4),
                }
            }),
        scale_events: o.scale_events,
        captured_share: None,
        timeline: timeline(o, duration, objective),
        decisions: o.decisions.clone(),
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        round(a as f64 / b as f64, 4)
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Whether a minute's requests meet a p-th percentile objective: at least
/// p of them within it (the nearest-rank percentile is then within it); a
/// failed request is late.
fn minute_met(m: &crate::sim::Minute, ob: &Objective) -> bool {
    m.within >= (ob.percentile * m.arrived as f64).ceil() as u64
}

/// One-minute windows by arrival that meet the objective.
fn windows(o: &Outcome, ob: &Objective) -> f64 {
    let active = o.minutes.iter().filter(|m| m.arrived > 0);
    let (mut met, mut all) = (0, 0);
    for m in active {
        all += 1;
        met += u64::from(minute_met(m, ob));
    }
    ratio(met, all)
}

fn timeline(o: &Outcome, duration: f64, ob: Option<&Objective>) -> Vec<TimelineMinute> {
    let minutes = (duration / 60.0).ceil().max(1.0) as usize;
    (0..minutes)
        .map(|m| {
            let x = o.minutes.get(m);
            let latency = x
                .map(|x| x.latency_ms)
                .filter(|l| l.is_finite())
                .map(|l| round(f64::from(l), 1));
            TimelineMinute {
                t: m as f64 * 60.0,
                demand_rps: round(x.map_or(0.0, |x| x.demand as f64 / 60.0), 3),
                ready: x.map_or(0, |x| x.ready),
                warming: x.map_or(0, |x| x.warming),
                draining: x.map_or(0, |x| x.draining),
                latency_ms: latency,
                slo_met: ob.and_then(|ob| x.filter(|x| x.arrived > 0).map(|x| minute_met(x, ob))),
            }
        })
        .collect()
}

/// How a row of the summary shows a run.
type Cell = Box<dyn Fn(&Run) -> String>;

impl Report {
    /// The terminal summary: one column per run.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let t = &self.trace;
        out.push_str(&format!(
            "simulated {} on pool `{}` with {}: {} requests over {:.0} s (mean {:.2} req/s, peak {:.2} req/s over 60 s",
            self.policy, self.pool, t.name, t.requests, t.duration_s, t.mean_rps, t.peak_rps_60s
        ));
        if t.scale != 1.0 {
            out.push_str(&format!("; load x{}", fmt_num(t.scale)));
        }
        if t.speedup != 1.0 {
            out.push_str(&format!("; {}x faster", fmt_num(t.speedup)));
        }
        out.push_str(")\n");
        out.push_str(&format!("  start: {}", self.start));
        if self.settle_s > 0.0 {
            out.push_str(&format!(
                "; the first {} s are left out of the statistics",
                fmt_num(self.settle_s)
            ));
        }
        out.push('\n');
        for a in &self.assumptions {
            out.push_str(&format!("  model: {a}\n"));
        }
        for (m, s) in &self.signals {
            out.push_str(&format!("  metric `{m}` reads {s}\n"));
        }
        out.push('\n');
        let rows: Vec<(&str, Cell)> = vec![
            ("served", Box::new(|r| r.served.to_string())),
            (
                "timed out / cut off / unserved",
                Box::new(|r| format!("{} / {} / {}", r.timed_out, r.cut_off, r.unserved)),
            ),
            (
                "latency p50 / p95 / p99",
                Box::new(|r| {
                    format!(
                        "{} / {} / {} ms",
                        r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99
                    )
                }),
            ),
            (
                "SLO: requests within",
                Box::new(|r| r.slo_requests.map_or("-".into(), percent)),
            ),
            (
                "SLO: minutes meeting it",
                Box::new(|r| r.slo_windows.map_or("-".into(), percent)),
            ),
            (
                "replica-hours (mean, max)",
                Box::new(|r| {
                    format!(
                        "{:.2} ({:.2}, {})",
                        r.replica_hours, r.mean_replicas, r.max_replicas
                    )
                }),
            ),
            ("cost", Box::new(|r| format!("${:.2}", r.cost_usd))),
            (
                "budget at this rate",
                Box::new(|r| {
                    r.budget.as_ref().map_or("-".into(), |b| {
                        format!(
                            "${:.0}/{} ({})",
                            b.projected_usd,
                            b.period,
                            percent(b.share)
                        )
                    })
                }),
            ),
            ("scale events", Box::new(|r| r.scale_events.to_string())),
        ];
        let label_w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|(_, f)| self.runs.iter().map(f).collect())
            .collect();
        let col_w: Vec<usize> = (0..self.runs.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|c| c[i].len())
                    .chain([self.runs[i].name.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        if let Some(o) = &self.objective {
            out.push_str(&format!(
                "objective: p{} < {} ms ({})\n",
                fmt_num(o.percentile * 100.0),
                fmt_num(o.threshold_ms),
                o.measures
            ));
        }
        out.push_str(&format!("{:label_w$}", ""));
        for (i, r) in self.runs.iter().enumerate() {
            out.push_str(&format!("  {:>w$}", r.name, w = col_w[i]));
        }
        out.push('\n');
        for ((label, _), row) in rows.iter().zip(&cells) {
            out.push_str(&format!("{label:label_w$}"));
            for (i, c) in row.iter().enumerate() {
                out.push_str(&format!("  {c:>w$}", w = col_w[i]));
            }
            out.push('\n');
        }
        out.push('\n');
        let policy = &self.runs[0];
        for b in &self.runs[1..] {
            out.push_str(&comparison(policy, b));
        }
        if let Some(o) = &self.oracle {
            out.push_str(&format!(
                "perfect foresight: ${:.2} ({:.2} replica-hours, at most {} replicas at {}% of slots)\n",
                o.cost_usd,
                o.replica_hours,
                o.max_replicas,
                fmt_num(o.utilization * 100.0)
            ));
        }
        if let Some(c) = policy.captured_share {
            out.push_str(&format!(
                "captured share: {} of the saving perfect foresight makes over static peak\n",
                percent(c)
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

fn comparison(p: &Run, b: &Run) -> String {
    let saving = if b.cost_usd > 0.0 {
        1.0 - p.cost_usd / b.cost_usd
    } else {
        0.0
    };
    let slo = match (p.slo_requests, b.slo_requests) {
        (Some(x), Some(y)) => format!(", SLO {} vs {}", percent(x), percent(y)),
        _ => String::new(),
    };
    let cost = if saving >= 0.0 {
        format!("saves {} of the cost", percent(saving))
    } else {
        format!("costs {} more", percent(-saving))
    };
    format!("vs {}: the policy {cost}{slo}\n", b.name)
}

fn percent(v: f64) -> String {
    format!("{}%", fmt_num((v * 1000.0).round() / 10.0))
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}
