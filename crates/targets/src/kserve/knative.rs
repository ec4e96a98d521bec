//! KServe in Knative mode: Knative's KPA options as the predictor's
//! `autoscaling.knative.dev/...` annotations, and the KPA spec the engine
//! runs from the same options (knative/serving, autoscaling docs and
//! config-autoscaler).

use crate::common;
use crate::Emitted;
use scalepol_compiler::codes::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use std::collections::BTreeMap;

use super::knative_metric;

pub(super) fn option<'a>(p: &'a Policy, key: &str) -> Option<&'a str> {
    p.target_option(TargetKind::Kserve, key)
}

pub(super) fn number(p: &Policy, key: &str) -> Option<f64> {
    option(p, key).and_then(|v| v.parse().ok())
}

fn seconds(p: &Policy, key: &str) -> Option<f64> {
    option(p, key).and_then(common::duration_secs)
}

/// Knative's stable window: `target kserve { window }`, else the scale
/// block's scale-down stabilisation (6 s to 1 h, Knative's bounds).
fn window_secs(p: &Policy, s: &Scaling) -> f64 {
    seconds(p, "window")
        .unwrap_or_else(|| s.down.stabilization.value.secs_ceil().clamp(6, 3600) as f64)
}

/// Whether the pool runs under Knative's KPA: an InferenceService in
/// Serverless mode (the default), scaled on concurrency or requests per
/// second. The spec the engine runs, from the same options the
/// annotations are written from.
pub(crate) fn kpa(p: &Policy, pool: &Pool) -> Option<scalepol_runtime::kpa::KpaSpec> {
    if p.workload.kind != WorkloadKind::Inferenceservice {
        return None;
    }
    let serverless = super::Mode::of(p) == super::Mode::Knative;
    let s = pool.scale.as_ref()?;
    let t = s.targets.first()?;
    let metric = knative_metric(p, t)?;
    (serverless && (metric == "concurrency" || metric == "rps")).then(|| {
        let window = window_secs(p, s);
        let target = t.target.round().max(1.0);
        let mut spec = scalepol_runtime::kpa::KpaSpec::defaults(target, window);
        spec.target_value = target * number(p, "target_utilization").unwrap_or(100.0) / 100.0;
        if let Some(pct) = number(p, "panic_window") {
            spec.panic_window_seconds = window * pct / 100.0;
        }
        if let Some(pct) = number(p, "panic_threshold") {
            spec.panic_threshold = pct / 100.0;
        }
        if let Some(d) = seconds(p, "scale_down_delay") {
            spec.scale_down_delay_seconds = d;
        }
        if let Some(n) = number(p, "initial_scale") {
            spec.initial_scale = n as u32;
        }
        if let Some(n) = number(p, "activation_scale") {
            spec.activation_scale = n as u32;
        }
        if let Some(r) = number(p, "max_scale_up_rate") {
            spec.max_scale_up_rate = r;
        }
        if let Some(r) = number(p, "max_scale_down_rate") {
            spec.max_scale_down_rate = r;
        }
        if let Some(g) = seconds(p, "scale_to_zero_grace") {
            spec.scale_to_zero_grace_seconds = g;
        }
        spec
    })
}

/// The per-revision annotations of the Knative options (Knative serving
/// docs, "Autoscaling" configuration pages).
pub(super) fn knative_annotations(
    p: &Policy,
    pool: &Pool,
    s: &Scaling,
) -> BTreeMap<&'static str, String> {
    let mut a = BTreeMap::new();
    a.insert(
        "autoscaling.knative.dev/class",
        "kpa.autoscaling.knative.dev".to_string(),
    );
    a.insert(
        "autoscaling.knative.dev/window",
        format!("{}s", window_secs(p, s)),
    );
    // Knative holds 70% of the target by default: ask for 100% unless the
    // policy says otherwise, so that the policy's target is the one held.
    a.insert(
        "autoscaling.knative.dev/target-utilization-percentage",
        option(p, "target_utilization").unwrap_or("100").to_string(),
    );
    for (key, annotation) in [
        (
            "panic_window",
            "autoscaling.knative.dev/panic-window-percentage",
        ),
        (
            "panic_threshold",
            "autoscaling.knative.dev/panic-threshold-percentage",
        ),
        (
            "scale_down_delay",
            "autoscaling.knative.dev/scale-down-delay",
        ),
        ("initial_scale", "autoscaling.knative.dev/initial-scale"),
        (
            "activation_scale",
            "autoscaling.knative.dev/activation-scale",
        ),
    ] {
        if let Some(v) = option(p, key) {
            a.insert(annotation, v.to_string());
        }
    }
    if pool.replicas.min == 0 {
        a.insert(
            "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
            format!("{}s", s.cooldown.value.secs_ceil()),
        );
    }
    a
}

/// Options Knative reads only cluster-wide (ConfigMap `config-autoscaler`
/// in `knative-serving`): the InferenceService cannot carry them.
const CLUSTER_WIDE: [(&str, &str); 3] = [
    ("max_scale_up_rate", "max-scale-up-rate"),
    ("max_scale_down_rate", "max-scale-down-rate"),
    ("scale_to_zero_grace", "scale-to-zero-grace-period"),
];

pub(super) fn cluster_wide_notes(p: &Policy, out: &mut Emitted) {
    let Some(t) = p.targets.iter().find(|t| t.target == TargetKind::Kserve) else {
        return;
    };
    for (key, config) in CLUSTER_WIDE {
        if let Some(v) = option(p, key) {
            out.diagnostics.push(
                Diagnostic::new(
                    code::TARGET_APPROXIMATION,
                    FileId(0),
                    t.span,
                    format!("kserve: `{key}` is a cluster-wide Knative setting, not written to the InferenceService"),
                )
                .label("cluster-wide")
                .help(format!("set `{config}: \"{v}\"` in the ConfigMap `config-autoscaler` of namespace `knative-serving`, or the cluster decides differently from the engine")),
            );
        }
    }
}
