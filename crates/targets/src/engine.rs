//! The engine artifact: the model in the runtime's own format, so that the
//! runtime never needs the compiler.

use crate::{Document, Emitted, Format, Schema};
use scalepol_common::defaults::{hpa, keda};
use scalepol_compiler::model::*;
use scalepol_runtime::artifact as a;

fn behavior(b: &Behavior) -> a::BehaviorSpec {
    a::BehaviorSpec {
        policies: b
            .policies
            .value
            .iter()
            .map(|r| a::RateSpec {
                kind: match r.kind {
                    RateKind::Percent => a::RateKind::Percent,
                    RateKind::Replicas => a::RateKind::Pods,
                },
                value: r.value,
                period_seconds: r.period.secs_f64(),
            })
            .collect(),
        select: match b.select.value {
            SelectPolicy::Max => a::Select::Max,
            SelectPolicy::Min => a::Select::Min,
            SelectPolicy::Disabled => a::Select::Disabled,
        },
        stabilization_seconds: b.stabilization.value.secs_f64(),
    }
}

/// The artifact of a policy.
pub fn artifact(p: &Policy) -> a::Artifact {
    let pools = p
        .pools
        .iter()
        .map(|pool| {
            // A pool without a scale block holds its minimum.
            let fixed = Behavior {
                policies: Valued::default(Vec::new(), "fixed"),
                select: Valued::default(SelectPolicy::Disabled, "fixed"),
                stabilization: Valued::default(scalepol_compiler::units::Duration(0), "fixed"),
            };
            let s = pool.scale.as_ref();
            a::PoolSpec {
                name: pool.name.clone(),
                min: pool.replicas.min,
                max: if s.is_some() {
                    pool.replicas.max
                } else {
                    pool.replicas.min
                },
                targets: s
                    .map(|s| {
                        s.targets
                            .iter()
                            .map(|t| a::TargetSpec {
                                metric: t.metric.clone(),
                                mode: match t.mode {
                                    TargetMode::PerReplica => a::Mode::PerReplica,
                                    TargetMode::Total => a::Mode::Total,
                                    TargetMode::Utilization => a::Mode::Utilization,
                                },
                                target: t.target,
                                activation: t.activation,
                                formula: t.formula.as_ref().map(|f| f.expr.clone()),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                tolerance_up: s.map(|s| s.tolerance_up.value).unwrap_or(hpa::TOLERANCE),
                tolerance_down: s.map(|s| s.tolerance_down.value).unwrap_or(hpa::TOLERANCE),
                up: s
                    .map(|s| behavior(&s.up))
                    .unwrap_or_else(|| behavior(&fixed)),
                down: s
                    .map(|s| behavior(&s.down))
                    .unwrap_or_else(|| behavior(&fixed)),
                cooldown_seconds: s
                    .map(|s| s.cooldown.value.secs_f64())
                    .unwrap_or(keda::COOLDOWN_SECONDS as f64),
                interval_seconds: s
                    .map(|s| s.interval.value.secs_f64())
                    .unwrap_or(hpa::SYNC_PERIOD_SECONDS as f64),
                fallback: s
                    .and_then(|s| s.fallback.as_ref())
                    .map(|f| a::FallbackSpec {
                        replicas: f.replicas,
                        after_failures: f.after_failures,
                        behavior: match f.behavior {
                            FallbackBehavior::Static => a::FallbackBehavior::Static,
                            FallbackBehavior::Current => a::FallbackBehavior::Current,
                            FallbackBehavior::AtLeast => a::FallbackBehavior::CurrentIfHigher,
                            FallbackBehavior::AtMost => a::FallbackBehavior::CurrentIfLower,
                        },
                    }),
                warmup_seconds: pool.warmup.value.secs_f64(),
                legacy: s.is_some_and(|s| s.legacy.is_some()),
                idle_to_zero: s.is_some_and(|s| s.scale_to_zero.is_some()) && pool.replicas.min > 0,
                kpa: crate::kserve::kpa(p, pool),
                keda: crate::keda::annotations(p),
            }
        })
        .collect();
    a::Artifact {
        format: a::FORMAT.into(),
        version: a::VERSION,
        policy: p.name.clone(),
        pools,
        metrics: p
            .metrics
            .iter()
            .map(|m| a::MetricSpec {
                name: m.name.clone(),
                unit: m.unit.name().into(),
                source: Some(
                    match m.source {
                        MetricSourceKind::Builtin => "builtin",
                        MetricSourceKind::Prometheus => "prometheus",
                        MetricSourceKind::Cloudwatch => "cloudwatch",
                        MetricSourceKind::External => "external",
                        MetricSourceKind::Pods => "pods",
                        MetricSourceKind::Object => "object",
                    }
                    .into(),
                ),
                endpoint: m.endpoint.clone(),
                query: Some(m.query.clone()),
            })
            .collect(),
        rules: p
            .rules
            .iter()
            .map(|r| a::RuleSpec {
                name: r.name.clone(),
                pool: r.pool.clone(),
                when: r.when.clone(),
                min: r.constraint.min,
                max: r.constraint.max,
            })
            .collect(),
        schedules: p
            .schedules
            .iter()
            .map(|s| a::ScheduleSpec {
                name: s.name.clone(),
                pool: s.pool.clone(),
                cron: s.cron.clone(),
                duration_seconds: s.duration.secs_f64(),
                timezone: s.timezone.clone(),
                min: s.replicas.min,
                max: s.replicas.max,
            })
            .collect(),
    }
}

pub fn emit(p: &Policy, out: &mut Emitted) {
    out.push(Document::new(
        format!("{}.engine.json", p.name),
        Schema::Engine,
        Format::Json,
        &artifact(p),
    ));
}
