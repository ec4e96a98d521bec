//! What a run means: latency percentiles, SLO attainment, cost, budget and
//! flapping, for the policy and its baselines side by side.

use crate::histogram::Histogram;
use crate::sim::{Outcome, Tick};
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
    /// The policy first, then the baselines.
    pub runs: Vec<Run>,
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
    /// Per minute: (start s, arrivals/s, replicas at its end, latency at the
    /// objective's percentile in ms).
    #[serde(skip)]
    pub timeline: Vec<(f64, f64, u32, f64)>,
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
    objective: Option<&Objective>,
    money: &Money,
    initial: u32,
) -> Run {
    let total = o.requests();
    let slo_requests = objective.map(|_| ratio(o.within, total));
    let slo_windows = objective.map(|ob| windows(o, ob));
    let replica_hours = o.replica_seconds / 3600.0;
    let cost = money.price_per_hour.map_or(0.0, |p| replica_hours * p);
    let hours = duration / 3600.0;
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
        timeline: timeline(o, duration, objective, initial),
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

/// One-minute windows by arrival: a window meets a p-th percentile
/// objective when at least p of its requests are within it (the
/// nearest-rank percentile is then within it); a failed request is late.
fn windows(o: &Outcome, ob: &Objective) -> f64 {
    let active = o.minutes.iter().filter(|m| m.arrived + m.failed > 0);
    let (mut met, mut all) = (0, 0);
    for m in active {
        let n = m.latency.len() + m.failed;
        all += 1;
        met += u64::from(m.within >= (ob.percentile * n as f64).ceil() as u64);
    }
    ratio(met, all)
}

fn timeline(
    o: &Outcome,
    duration: f64,
    ob: Option<&Objective>,
    initial: u32,
) -> Vec<(f64, f64, u32, f64)> {
    let minutes = (duration / 60.0).ceil().max(1.0) as usize;
    let q = ob.map_or(0.95, |o| o.percentile);
    let mut ticks = o.ticks.iter().peekable();
    let mut replicas = initial;
    (0..minutes)
        .map(|m| {
            let end = (m + 1) as f64 * 60.0;
            while let Some(Tick { desired, .. }) = ticks.next_if(|t| t.t <= end) {
                replicas = *desired;
            }
            let (arrived, p) = o
                .minutes
                .get(m)
                .map_or((0, 0.0), |x| (x.arrived, x.latency.quantile(q)));
            (m as f64 * 60.0, arrived as f64 / 60.0, replicas, p)
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
