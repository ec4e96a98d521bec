//! GPU awareness (SP0540-SP0543), capacity (SP0550, SP0551), spot (SP0560,
//! SP0561).

use super::catalogue;
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::measure::Measure;
use crate::model::*;
use crate::queries::Queries;
use crate::units::Money;

pub fn check(p: &Policy, queries: &Queries, out: &mut Vec<Diagnostic>) {
    for pool in &p.pools {
        if pool.kind == PoolKind::Gpu {
            gpu(pool, queries, out);
        }
        capacity(p, pool, out);
        spot(p, pool, out);
    }
}

fn gpu(pool: &Pool, queries: &Queries, out: &mut Vec<Diagnostic>) {
    match &pool.accelerator {
        None => out.push(
            Diagnostic::new(
                code::GPU_WITHOUT_ACCELERATOR,
                FileId(0),
                pool.name_span,
                format!("GPU pool `{}` names no accelerator", pool.name),
            )
            .label("which GPU?")
            .help("add `accelerator \"nvidia-l4\"` (or the type it runs on)"),
        ),
        Some(a) if catalogue::find(&a.name).is_none() => {
            let names: Vec<&str> = catalogue::ACCELERATORS.iter().map(|c| c.name).collect();
            let mut d = Diagnostic::new(
                code::UNKNOWN_ACCELERATOR,
                FileId(0),
                a.span,
                format!("`{}` is not a known accelerator", a.name),
            )
            .label("unknown accelerator");
            d = match crate::suggest::closest(&a.name, &names) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("known accelerators: {}", names.join(", "))),
            };
            out.push(d);
        }
        Some(_) => {}
    }
    let Some(s) = &pool.scale else { return };
    let on = |names: &[&str]| {
        !s.targets.is_empty() && s.targets.iter().all(|t| names.contains(&t.metric.as_str()))
    };
    if on(&["cpu", "memory"]) {
        out.push(
            Diagnostic::new(code::GPU_ON_CPU, FileId(0), s.targets[0].span, format!("GPU pool `{}` scales only on CPU or memory", pool.name))
                .label("host metric")
                .help("GPU inference queues on the GPU while the CPU idles: scale on queue depth, KV-cache use, tokens/s or concurrency"),
        );
    } else if !s.targets.is_empty()
        && s.targets
            .iter()
            .all(|t| t.metric == "gpu" || queries.reads_only_gpu_utilisation(&t.metric))
    {
        out.push(
            Diagnostic::new(code::GPU_UTIL_ONLY, FileId(0), s.targets[0].span, format!("GPU pool `{}` scales only on GPU utilisation", pool.name))
                .label("saturates early")
                .help("GPU utilisation reads 100% long before an LLM server is overloaded: add a queue-depth, KV-cache or concurrency target"),
        );
    }
}

/// SP0552: a target whose metric has a ceiling that, with the tolerance,
/// the scale-up threshold reaches.
fn never_scales_up(p: &Policy, pool: &Pool, s: &Scaling, out: &mut Vec<Diagnostic>) {
    let slots = pool
        .capacity
        .iter()
        .find(|c| c.unit == CapacityUnit::Concurrent)
        .map(|c| c.value);
    let tol = s.tolerance_up.value;
    for t in &s.targets {
        let Some(m) = p.metric(&t.metric) else {
            continue;
        };
        let ceiling = match (m.measures(), t.mode, slots) {
            (Measure::Running, TargetMode::PerReplica, Some(n)) => (
                n,
                format!("{n} requests in service per replica (`capacity {n} concurrent`)"),
            ),
            (Measure::Percent, TargetMode::Total, _) => (100.0, "100%".to_string()),
            _ => continue,
        };
        let threshold = t.target * (1.0 + tol);
        if threshold + 1e-9 >= ceiling.0 {
            // 85% of the highest reachable target: headroom for the lag.
            let fix = ceiling.0 / (1.0 + tol) * 0.85;
            let fix = if fix >= 2.0 {
                fix.floor()
            } else {
                (fix * 100.0).floor() / 100.0
            };
            out.push(
                Diagnostic::new(code::TARGET_NEVER_SCALES_UP, FileId(0), t.span, format!(
                    "`{}` scales up above {} x (1 + {:.0}% tolerance) = {threshold:.2}, but it reads at most {}: pool `{}` never scales up on it",
                    t.metric, t.target, tol * 100.0, ceiling.1, pool.name
                ))
                .label("never exceeded")
                .help(format!("lower the target below {:.2}, like {fix}, or scale on the queue", ceiling.0 / (1.0 + tol))),
            );
        }
    }
}

fn capacity(p: &Policy, pool: &Pool, out: &mut Vec<Diagnostic>) {
    let Some(s) = &pool.scale else { return };
    never_scales_up(p, pool, s, out);
    for t in s
        .targets
        .iter()
        .filter(|t| t.mode == TargetMode::PerReplica)
    {
        let Some(m) = p.metric(&t.metric) else {
            continue;
        };
        let unit = match m.unit {
            MetricUnit::RequestsPerSecond => CapacityUnit::RequestsPerSecond,
            MetricUnit::TokensPerSecond => CapacityUnit::TokensPerSecond,
            _ => continue,
        };
        let Some(c) = pool.capacity.iter().find(|c| c.unit == unit) else {
            continue;
        };
        let unit_name = m.unit.name();
        if t.target > c.value {
            out.push(
                Diagnostic::new(code::TARGET_ABOVE_CAPACITY, FileId(0), t.span, format!(
                    "the target of {} {unit_name} per replica is above the {} {unit_name} a replica of `{}` serves",
                    t.target, c.value, pool.name
                ))
                .label("above capacity")
                .with_secondary(FileId(0), c.span, "capacity")
                .help(format!("target 60-85% of capacity, like {:.0} {unit_name}", c.value * 0.75)),
            );
        } else if t.target == c.value {
            out.push(
                Diagnostic::new(
                    code::TARGET_AT_CAPACITY,
                    FileId(0),
                    t.span,
                    format!(
                        "the target equals the capacity of a replica of `{}` ({} {unit_name})",
                        pool.name, c.value
                    ),
                )
                .label("no headroom")
                .with_secondary(FileId(0), c.span, "capacity")
                .help(format!(
                    "target 60-85% of capacity, like {:.0} {unit_name}",
                    c.value * 0.75
                )),
            );
        }
    }
}

fn spot(p: &Policy, pool: &Pool, out: &mut Vec<Diagnostic>) {
    let latency = p.slo.as_ref().and_then(|s| s.objective());
    let span = pool.spot.span().unwrap_or(pool.name_span);
    if pool.spot.value >= 1.0 && latency.is_some() {
        out.push(
            Diagnostic::new(code::ALL_SPOT_LATENCY, FileId(0), span, format!("pool `{}` serves a latency objective entirely on spot", pool.name))
                .label("100% spot")
                .help("keep an on-demand floor (for example `spot 70%`), so that a reclaim wave leaves replicas serving"),
        );
    }
    if pool.spot.value == 0.0 && latency.is_none() {
        let Some(price) = pool.cost.as_ref() else {
            return;
        };
        let monthly = price.value.times(pool.replicas.max as u64, 730);
        // An estimate: whole dollars.
        let saving = Money(monthly.0 / 10 * 6 / 1_000_000 * 1_000_000);
        out.push(
            Diagnostic::new(code::BATCH_ON_DEMAND, FileId(0), pool.name_span, format!(
                "pool `{}` has no latency objective but runs on-demand: spot could save about {saving} a month at its maximum",
                pool.name
            ))
            .label("on-demand")
            .help("add `spot 100%` if the work tolerates interruptions (estimate: 60% of the worst-case spend)"),
        );
    }
}
