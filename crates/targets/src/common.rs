//! What every emitter shares: which features a pool uses (with where they are
//! written), object names, Kubernetes quantities and `behavior`, and the
//! diagnostics that the capability table calls for.

use crate::capability::{self, Feature, Support};
use scalepol_compiler::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use scalepol_syntax::Span;
use serde::Serialize;

/// The features a pool uses, each with the span that declares it.
pub fn features(p: &Policy, pool: &Pool) -> Vec<(Feature, Span)> {
    let mut out = Vec::new();
    if let Some(v) = &pool.vertical {
        out.push((Feature::VerticalBounds, v.span));
    }
    if pool.drain.span().is_some() {
        out.push((Feature::Drain, pool.drain.span().unwrap_or_default()));
    }
    let Some(s) = &pool.scale else { return out };
    for t in &s.targets {
        if t.formula.is_some() {
            out.push((Feature::Formula, t.span));
            continue;
        }
        match p.metric(&t.metric).map(|m| (m.source, m.name.as_str())) {
            Some((MetricSourceKind::Builtin, "gpu")) => out.push((Feature::GpuUtilization, t.span)),
            Some((MetricSourceKind::Builtin, _)) => out.push((Feature::CpuMemory, t.span)),
            _ => out.push((Feature::CustomMetric, t.span)),
        }
        if t.activation.is_some() {
            out.push((Feature::Activation, t.span));
        }
    }
    if s.targets.len() > 1 {
        out.push((Feature::MultipleMetrics, s.targets[1].span));
    }
    if pool.replicas.min == 0 {
        out.push((Feature::ScaleToZero, pool.replicas.span));
        if !s.cooldown.is_default() {
            out.push((Feature::Cooldown, s.cooldown.span().unwrap_or(s.span)));
        }
    }
    for b in [&s.up, &s.down] {
        if !b.stabilization.is_default() {
            out.push((
                Feature::Stabilization,
                b.stabilization.span().unwrap_or(s.span),
            ));
        }
        if !b.policies.is_default() || !b.select.is_default() {
            out.push((
                Feature::RatePolicies,
                b.policies.span().or(b.select.span()).unwrap_or(s.span),
            ));
        }
    }
    for t in [&s.tolerance_up, &s.tolerance_down] {
        if !t.is_default() {
            out.push((Feature::Tolerance, t.span().unwrap_or(s.span)));
        }
    }
    if !s.interval.is_default() {
        out.push((
            Feature::DecisionInterval,
            s.interval.span().unwrap_or(s.span),
        ));
    }
    if let Some(f) = &s.fallback {
        out.push((Feature::Fallback, f.span));
    }
    for sch in p
        .schedules
        .iter()
        .filter(|x| x.pool.as_deref().is_none_or(|n| n == pool.name))
    {
        out.push((Feature::Schedules, sch.span));
    }
    for r in p
        .rules
        .iter()
        .filter(|x| x.pool.as_deref().is_none_or(|n| n == pool.name))
    {
        out.push((Feature::Rules, r.span));
    }
    out.sort_by_key(|(f, _)| *f);
    out.dedup_by_key(|(f, _)| *f);
    out
}

/// Reports what `target` approximates or cannot express for this pool.
/// Returns false when something is unsupported (an error was pushed).
pub fn report_capabilities(
    p: &Policy,
    pool: &Pool,
    target: TargetKind,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let name = capability::target_name(target);
    let mut ok = true;
    for (f, span) in features(p, pool) {
        match capability::support(f, target) {
            Support::Native(_) | Support::Elsewhere => {}
            Support::Approx(what) => out.push(
                Diagnostic::new(
                    code::TARGET_APPROXIMATION,
                    FileId(0),
                    span,
                    format!(
                        "{name}: {} is approximated for pool `{}`",
                        f.name(),
                        pool.name
                    ),
                )
                .label(format!("approximated on {name}"))
                .help(what.to_string()),
            ),
            Support::Unsupported => {
                ok = false;
                let can = capability::native_targets(f);
                let help = if can.is_empty() {
                    "only the scalepol decision engine applies it".to_string()
                } else {
                    format!("targets that support it: {}", can.join(", "))
                };
                out.push(
                    Diagnostic::new(
                        code::TARGET_UNSUPPORTED,
                        FileId(0),
                        span,
                        format!("{name} cannot express {} (pool `{}`)", f.name(), pool.name),
                    )
                    .label(format!("not expressible on {name}"))
                    .help(help),
                );
            }
        }
    }
    ok
}

/// Per-direction tolerance is a field from Kubernetes 1.33 on: older
/// clusters apply their one cluster-wide tolerance (10% by default).
pub fn tolerance_needs_version(pool: &Pool, opts: &crate::Options, out: &mut Vec<Diagnostic>) {
    let Some(s) = &pool.scale else { return };
    if let Some(t) = [&s.tolerance_up, &s.tolerance_down]
        .into_iter()
        .find(|t| !t.is_default())
    {
        out.push(
            Diagnostic::new(code::TARGET_APPROXIMATION, FileId(0), t.span().unwrap_or(s.span), format!(
                "Kubernetes {}.{} has no per-direction tolerance: pool `{}` gets the cluster-wide tolerance (10% by default)",
                opts.kubernetes.0, opts.kubernetes.1, pool.name
            ))
            .label("not in this Kubernetes version")
            .help("compile with `--k8s-version 1.33` or later (the field is beta and on by default from 1.35)"),
        );
    }
}

/// Reports a workload kind the target cannot scale.
pub fn wrong_workload(p: &Policy, target: TargetKind, expected: &str) -> Diagnostic {
    let name = capability::target_name(target);
    Diagnostic::new(
        code::TARGET_WORKLOAD,
        FileId(0),
        p.workload.span,
        format!(
            "{name} cannot scale a {} workload",
            kind_name(p.workload.kind)
        ),
    )
    .label(format!("not a {name} workload"))
    .help(format!("{name} scales {expected}"))
}

pub fn kind_name(k: WorkloadKind) -> &'static str {
    WorkloadKind::ALL
        .iter()
        .find(|(_, x)| *x == k)
        .map(|(n, _)| *n)
        .unwrap_or("unknown")
}

/// The object name for a pool: the policy's, suffixed by the pool's when the
/// policy has several (Kubernetes names: lower case, `-`).
pub fn object_name(p: &Policy, pool: &Pool) -> String {
    if p.pools.len() == 1 {
        p.name.clone()
    } else {
        format!(
            "{}-{}",
            p.name,
            pool.name.to_ascii_lowercase().replace('_', "-")
        )
    }
}

/// A Kubernetes object: the envelope every emitted document shares.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Object<M, S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: M,
    pub spec: S,
}

#[derive(Serialize)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// Kubernetes' `MetricTarget` (autoscaling/v2), which KServe's
/// `autoScaling.metrics[].*.target` reuses: a type and the one value it
/// reads.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTarget {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_utilization: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

impl MetricTarget {
    pub fn utilization(percent: u32) -> MetricTarget {
        MetricTarget {
            kind: "Utilization",
            average_utilization: Some(percent),
            average_value: None,
            value: None,
        }
    }
    pub fn average_value(v: String) -> MetricTarget {
        MetricTarget {
            kind: "AverageValue",
            average_utilization: None,
            average_value: Some(v),
            value: None,
        }
    }
    pub fn value(v: String) -> MetricTarget {
        MetricTarget {
            kind: "Value",
            average_utilization: None,
            average_value: None,
            value: Some(v),
        }
    }
}

pub fn meta(p: &Policy, name: String) -> ObjectMeta {
    let (ns, _) = p.workload.namespace_and_name();
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        "scalepol".to_string(),
    );
    labels.insert("scalepol.io/policy".to_string(), p.name.clone());
    ObjectMeta {
        name,
        namespace: ns.map(str::to_string),
        labels,
        annotations: Default::default(),
    }
}

/// Labels naming what an autoscaler scales: the pool's kind and its
/// accelerators. Admission policies compiled from the organisation's
/// guardrails (`admission.rs`) read them, as an object carries nothing else
/// that says whether it scales GPUs.
pub const POOL_KIND_LABEL: &str = "scalepol.io/pool-kind";
pub const ACCELERATOR_LABEL: &str = "scalepol.io/accelerator";
pub const ACCELERATOR_COUNT_LABEL: &str = "scalepol.io/accelerator-count";

/// The metadata of an autoscaler of `pool`: `meta` and the pool's labels.
pub fn pool_meta(p: &Policy, pool: &Pool, name: String) -> ObjectMeta {
    let mut m = meta(p, name);
    let kind = match pool.kind {
        PoolKind::Gpu => "gpu",
        PoolKind::Cpu => "cpu",
    };
    m.labels.insert(POOL_KIND_LABEL.into(), kind.into());
    if let Some(a) = &pool.accelerator {
        // A label value: at most 63 of [A-Za-z0-9._-].
        let value: String = a
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .take(63)
            .collect();
        m.labels.insert(ACCELERATOR_LABEL.into(), value);
        m.labels
            .insert(ACCELERATOR_COUNT_LABEL.into(), a.count.to_string());
    }
    m
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTargetRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// The `scaleTargetRef` of a Deployment or StatefulSet workload.
pub fn target_ref(p: &Policy) -> Option<ScaleTargetRef> {
    let kind = match p.workload.kind {
        WorkloadKind::Deployment => "Deployment",
        WorkloadKind::Statefulset => "StatefulSet",
        _ => return None,
    };
    let (_, name) = p.workload.namespace_and_name();
    Some(ScaleTargetRef {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        name: name.to_string(),
    })
}

/// A Kubernetes quantity: `8`, `1500m`, `0.25` becomes `250m`.
pub fn quantity(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{}m", (v * 1000.0).round() as i64)
    }
}

/// A memory quantity in the largest exact binary unit.
pub fn bytes(b: u64) -> String {
    for (unit, size) in [
        ("Ti", 1u64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if b >= size && b.is_multiple_of(size) {
            return format!("{}{unit}", b / size);
        }
    }
    format!("{b}")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaBehavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingRules {
    pub stabilization_window_seconds: u64,
    pub select_policy: &'static str,
    pub policies: Vec<HpaPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaPolicy {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: u32,
    pub period_seconds: u64,
}

/// The HPA `behavior` of a scaling block. Tolerance is written only when the
/// policy sets it and the Kubernetes version has the field (1.33+).
pub fn behavior(s: &Scaling, with_tolerance: bool) -> HpaBehavior {
    let rules = |b: &Behavior, t: &Valued<f64>| ScalingRules {
        stabilization_window_seconds: b.stabilization.value.secs_ceil(),
        select_policy: match b.select.value {
            SelectPolicy::Max => "Max",
            SelectPolicy::Min => "Min",
            SelectPolicy::Disabled => "Disabled",
        },
        policies: b
            .policies
            .value
            .iter()
            .map(|r| HpaPolicy {
                kind: match r.kind {
                    RateKind::Percent => "Percent",
                    RateKind::Replicas => "Pods",
                },
                value: r.value,
                period_seconds: r.period.secs_ceil(),
            })
            .collect(),
        tolerance: (with_tolerance && !t.is_default()).then(|| trim_float(t.value)),
    };
    HpaBehavior {
        scale_up: rules(&s.up, &s.tolerance_up),
        scale_down: rules(&s.down, &s.tolerance_down),
    }
}

/// `0.05`, `0.1`, `70`: the shortest decimal spelling.
pub fn trim_float(v: f64) -> String {
    let s = format!("{:.6}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A Kustomize JSON 6902 patch that makes the workload drain: the grace
/// period and a preStop wait, so that endpoints are removed before the server
/// stops accepting requests. A JSON patch rather than a strategic merge: the
/// latter merges containers by name, which a policy does not know; the first
/// container is the serving one by convention. The preStop `sleep` action
/// exists from Kubernetes 1.30; before, the wait is an `exec` of `sleep`,
/// which the image must then contain.
pub fn drain_patch(p: &Policy, pool: &Pool, opts: &crate::Options) -> Option<serde_json::Value> {
    pool.drain.span()?;
    target_ref(p)?;
    let secs = pool.drain.value.secs_ceil();
    // Endpoint removal propagates in seconds; wait a share of the drain first.
    let wait = (secs / 3).clamp(1, 15);
    let pre_stop = if opts.kubernetes >= (1, 30) {
        serde_json::json!({"sleep": {"seconds": wait}})
    } else {
        serde_json::json!({"exec": {"command": ["sleep", wait.to_string()]}})
    };
    Some(serde_json::json!([
        {"op": "add", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": secs + wait},
        {"op": "add", "path": "/spec/template/spec/containers/0/lifecycle", "value": {"preStop": pre_stop}}
    ]))
}

/// Seconds of a duration in the compiler's canonical spelling (`1500ms`,
/// `30s`, `2m`, `1h`, `1d`).
pub fn duration_secs(v: &str) -> Option<f64> {
    let split = v.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        _ => return None,
    })
}

/// The five-field cron at which a schedule that starts at `cron` ends,
/// `duration_ms` later, for the platforms that express a schedule as a
/// start and an end (AWS scheduled actions, KEDA cron triggers). The start
/// must be a single time of day; an end past midnight moves the day fields
/// on: every day stays every day, days of the week shift by one (`MON-FRI`
/// from 22:00 for 10h ends `TUE-SAT` at 08:00). `None` when the end cannot
/// be written that way: a start that is not one time of day, a day of the
/// month or a month (the month's length would move it), a duration of a
/// day or more (occurrences would overlap).
pub fn end_cron(cron: &str, duration_ms: u64) -> Option<String> {
    let f: Vec<&str> = cron.split_whitespace().collect();
    if f.len() != 5 {
        return None;
    }
    let (minute, hour) = (f[0].parse::<u64>().ok()?, f[1].parse::<u64>().ok()?);
    if minute > 59 || hour > 23 {
        return None;
    }
    let end = hour * 60 + minute + duration_ms / 60_000;
    if duration_ms >= 86_400_000 {
        return None;
    }
    let (days, at) = (end / 1440, end % 1440);
    let time = format!("{} {}", at % 60, at / 60);
    if days == 0 {
        return Some(format!("{time} {}", f[2..].join(" ")));
    }
    if f[2] != "*" || f[3] != "*" {
        return None;
    }
    let dow = if f[4] == "*" {
        "*".to_string()
    } else {
        shifted_weekdays(f[4])?
    };
    Some(format!("{time} * * {dow}"))
}

const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A day-of-week field (numbers 0-7, names, lists and ranges) one day on,
/// as a list of names.
fn shifted_weekdays(field: &str) -> Option<String> {
    let day = |s: &str| -> Option<usize> {
        match s.parse::<usize>() {
            Ok(n) if n <= 7 => Some(n % 7),
            Ok(_) => None,
            Err(_) => WEEKDAYS.iter().position(|w| w.eq_ignore_ascii_case(s)),
        }
    };
    let mut set = [false; 7];
    for part in field.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                // `SUN-SAT` or `1-7`: a range never wraps in cron.
                let b = if b < a && b == 0 { 7 } else { b };
                if b < a {
                    return None;
                }
                for d in a..=b {
                    set[d % 7] = true;
                }
            }
            None => set[day(part)?] = true,
        }
    }
    let names: Vec<&str> = (0..7)
        .filter(|&d| set[(d + 6) % 7])
        .map(|d| WEEKDAYS[d])
        .collect();
    Some(names.join(","))
}

#[cfg(test)]
mod tests {
    use super::end_cron;

    const HOUR: u64 = 3_600_000;

    #[test]
    fn an_end_past_midnight_moves_the_days_on() {
        assert_eq!(
            end_cron("0 8 * * MON-FRI", 10 * HOUR).as_deref(),
            Some("0 18 * * MON-FRI")
        );
        assert_eq!(
            end_cron("0 22 * * *", 10 * HOUR).as_deref(),
            Some("0 8 * * *")
        );
        assert_eq!(
            end_cron("0 22 * * MON-FRI", 10 * HOUR).as_deref(),
            Some("0 8 * * TUE,WED,THU,FRI,SAT")
        );
        // Saturday night ends on Sunday; 0 and 7 are both Sunday.
        assert_eq!(
            end_cron("30 23 * * 6", HOUR).as_deref(),
            Some("30 0 * * SUN")
        );
        assert_eq!(
            end_cron("30 23 * * 0,7", HOUR).as_deref(),
            Some("30 0 * * MON")
        );
        assert_eq!(
            end_cron("0 20 * * SAT-SUN", 6 * HOUR).as_deref(),
            Some("0 2 * * SUN,MON")
        );
    }

    #[test]
    fn ends_that_cannot_be_written_are_none() {
        assert_eq!(end_cron("*/5 8 * * *", HOUR), None); // not one time of day
        assert_eq!(end_cron("0 22 1 * *", 4 * HOUR), None); // day of the month
        assert_eq!(end_cron("0 22 * 6 *", 4 * HOUR), None); // a month
        assert_eq!(end_cron("0 8 * * *", 24 * HOUR), None); // overlapping days
        assert_eq!(end_cron("0 22 * * FRI-MON", 4 * HOUR), None); // a wrapping range
    }
}
