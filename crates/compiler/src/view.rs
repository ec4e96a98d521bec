//! The CEL view of a policy, read by organisation guardrails as `policy`.
//! Flat, in base units a reader expects (seconds, dollars, fractions), with
//! absent optional fields left out so that `has(x.field)` works, and every
//! integer an `int` (CEL does not compare `uint` with `int` literals).
//! Documented in docs/guardrails.md; keep them in step.

use crate::model::*;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct PolicyView {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    extends: Option<String>,
    workload: WorkloadView,
    pools: Vec<PoolView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slo: Option<SloView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    budget: Option<BudgetView>,
    metrics: Vec<MetricView>,
    rules: Vec<NamedView>,
    schedules: Vec<ScheduleView>,
    targets: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct WorkloadView {
    kind: String,
    name: String,
}

#[derive(Serialize)]
struct PoolView {
    name: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    accelerator: Option<AcceleratorView>,
    replicas: RangeView,
    warmup_seconds: f64,
    drain_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_per_hour: Option<f64>,
    spot: f64,
    capacity: BTreeMap<&'static str, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<ScaleView>,
}

#[derive(Serialize)]
struct AcceleratorView {
    name: String,
    count: i64,
}

#[derive(Serialize)]
struct RangeView {
    min: i64,
    max: i64,
}

#[derive(Serialize)]
struct ScaleView {
    targets: Vec<TargetView>,
    tolerance_up: f64,
    tolerance_down: f64,
    up: BehaviorView,
    down: BehaviorView,
    cooldown_seconds: f64,
    interval_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_replicas: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_to_zero_after_seconds: Option<f64>,
}

#[derive(Serialize)]
struct TargetView {
    metric: String,
    mode: &'static str,
    target: f64,
}

#[derive(Serialize)]
struct BehaviorView {
    select: &'static str,
    stabilization_seconds: f64,
}

#[derive(Serialize)]
struct SloView {
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_percentile: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    availability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_rps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<f64>,
}

#[derive(Serialize)]
struct BudgetView {
    period: &'static str,
    limit: f64,
    enforce: bool,
}

#[derive(Serialize)]
struct MetricView {
    name: String,
    source: &'static str,
    unit: &'static str,
}

#[derive(Serialize)]
struct NamedView {
    name: String,
}

#[derive(Serialize)]
struct ScheduleView {
    name: String,
    cron: String,
    timezone: String,
    duration_seconds: f64,
}

fn dollars(micros: i64) -> f64 {
    micros as f64 / 1e6
}

impl PolicyView {
    pub fn new(p: &Policy) -> Self {
        PolicyView {
            name: p.name.clone(),
            extends: p.extends.clone(),
            workload: WorkloadView {
                kind: serde_json::to_value(p.workload.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                name: p.workload.name.clone(),
            },
            pools: p.pools.iter().map(pool).collect(),
            slo: p.slo.as_ref().map(|s| SloView {
                latency_percentile: s.latency.as_ref().map(|l| l.percentile),
                latency_seconds: s.latency.as_ref().map(|l| l.threshold.secs_f64()),
                availability: s.availability.as_ref().map(|a| a.value),
                peak_rps: s.peak_rps.as_ref().map(|a| a.value),
                timeout_seconds: s.timeout.as_ref().map(|t| t.value.secs_f64()),
            }),
            budget: p.budget.as_ref().map(|b| BudgetView {
                period: match b.period {
                    BudgetPeriod::Monthly => "monthly",
                    BudgetPeriod::Daily => "daily",
                },
                limit: dollars(b.limit.0),
                enforce: b.enforcement.value == Enforcement::Enforce,
            }),
            metrics: p
                .metrics
                .iter()
                .map(|m| MetricView {
                    name: m.name.clone(),
                    source: match m.source {
                        MetricSourceKind::Builtin => "builtin",
                        MetricSourceKind::Prometheus => "prometheus",
                        MetricSourceKind::Cloudwatch => "cloudwatch",
                        MetricSourceKind::External => "external",
                        MetricSourceKind::Pods => "pods",
                        MetricSourceKind::Object => "object",
                    },
                    unit: m.unit.name(),
                })
                .collect(),
            rules: p
                .rules
                .iter()
                .map(|r| NamedView {
                    name: r.name.clone(),
                })
                .collect(),
            schedules: p
                .schedules
                .iter()
                .map(|s| ScheduleView {
                    name: s.name.clone(),
                    cron: s.cron.clone(),
                    timezone: s.timezone.clone(),
                    duration_seconds: s.duration.secs_f64(),
                })
                .collect(),
            targets: p
                .targets
                .iter()
                .map(|t| {
                    let name = TargetKind::ALL
                        .iter()
                        .find(|(_, k)| *k == t.target)
                        .map(|(n, _)| n.to_string())
                        .unwrap_or_default();
                    (name, t.options.iter().cloned().collect())
                })
                .collect(),
        }
    }
}

fn pool(p: &Pool) -> PoolView {
    PoolView {
        name: p.name.clone(),
        kind: match p.kind {
            PoolKind::Gpu => "gpu",
            PoolKind::Cpu => "cpu",
        },
        accelerator: p.accelerator.as_ref().map(|a| AcceleratorView {
            name: a.name.clone(),
            count: a.count as i64,
        }),
        replicas: RangeView {
            min: p.replicas.min as i64,
            max: p.replicas.max as i64,
        },
        warmup_seconds: p.warmup.value.secs_f64(),
        drain_seconds: p.drain.value.secs_f64(),
        cost_per_hour: p.cost.as_ref().map(|c| dollars(c.value.0)),
        spot: p.spot.value,
        capacity: p
            .capacity
            .iter()
            .map(|c| {
                let unit = match c.unit {
                    CapacityUnit::Concurrent => "concurrent",
                    CapacityUnit::RequestsPerSecond => "rps",
                    CapacityUnit::TokensPerSecond => "tokens_per_second",
                };
                (unit, c.value)
            })
            .collect(),
        scale: p.scale.as_ref().map(scale),
    }
}

fn select(s: SelectPolicy) -> &'static str {
    match s {
        SelectPolicy::Max => "max",
        SelectPolicy::Min => "min",
        SelectPolicy::Disabled => "disabled",
    }
}

fn scale(s: &Scaling) -> ScaleView {
    let behavior = |b: &Behavior| BehaviorView {
        select: select(b.select.value),
        stabilization_seconds: b.stabilization.value.secs_f64(),
    };
    ScaleView {
        targets: s
            .targets
            .iter()
            .map(|t| TargetView {
                metric: t.metric.clone(),
                mode: match t.mode {
                    TargetMode::PerReplica => "per_replica",
                    TargetMode::Total => "total",
                    TargetMode::Utilization => "utilization",
                },
                target: t.target,
            })
            .collect(),
        tolerance_up: s.tolerance_up.value,
        tolerance_down: s.tolerance_down.value,
        up: behavior(&s.up),
        down: behavior(&s.down),
        cooldown_seconds: s.cooldown.value.secs_f64(),
        interval_seconds: s.interval.value.secs_f64(),
        fallback_replicas: s.fallback.as_ref().map(|f| f.replicas as i64),
        scale_to_zero_after_seconds: s.scale_to_zero.as_ref().map(|z| z.idle.secs_f64()),
    }
}
