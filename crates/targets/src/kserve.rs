//! KServe InferenceService `serving.kserve.io/v1beta1` (KServe 0.20): the
//! predictor's scaling fields only, for server-side apply beside the
//! service's own spec (`kubectl apply --server-side --field-manager=scalepol`).
//! Serverless mode scales through Knative's KPA annotations; Standard mode
//! through KServe's HPA or KEDA autoscaler class.

use crate::common::{self, Object, ObjectMeta};
use crate::{Document, Emitted, Format, Schema};
use scalepol_compiler::model::*;
use serde::Serialize;
use std::collections::BTreeMap;

type InferenceService = Object<Meta, Spec>;

#[derive(Serialize)]
struct Meta {
    #[serde(flatten)]
    base: ObjectMeta,
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Spec {
    predictor: Predictor,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Predictor {
    min_replicas: u32,
    max_replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_metric: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_target: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_concurrency: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<&'static str, String>>,
}

/// The Knative metric a target maps to: concurrency for in-flight counts,
/// rps for request rates; `None` for anything else (the capability table
/// reports it).
pub(crate) fn knative_metric(p: &Policy, t: &ScaleTarget) -> Option<&'static str> {
    let m = p.metric(&t.metric)?;
    match (m.source, m.unit, t.mode) {
        (MetricSourceKind::Builtin, _, _) if m.name == "cpu" => Some("cpu"),
        (MetricSourceKind::Builtin, _, _) if m.name == "memory" => Some("memory"),
        (_, MetricUnit::RequestsPerSecond, TargetMode::PerReplica) => Some("rps"),
        (_, MetricUnit::Count, TargetMode::PerReplica) => Some("concurrency"),
        _ => None,
    }
}

/// Whether the pool runs under Knative's KPA: an InferenceService in
/// Serverless mode (the default), scaled on concurrency or requests per
/// second.
pub(crate) fn kpa(p: &Policy, pool: &Pool) -> Option<scalepol_runtime::kpa::KpaSpec> {
    if p.workload.kind != WorkloadKind::Inferenceservice {
        return None;
    }
    let serverless = p
        .targets
        .iter()
        .find(|t| t.target == TargetKind::Kserve)
        .and_then(|t| t.options.iter().find(|(k, _)| k == "mode"))
        .is_none_or(|(_, v)| v == "serverless");
    let s = pool.scale.as_ref()?;
    let t = s.targets.first()?;
    let metric = knative_metric(p, t)?;
    (serverless && (metric == "concurrency" || metric == "rps")).then(|| {
        // The same window as the annotation written below.
        let window = s.down.stabilization.value.secs_ceil().clamp(6, 3600) as f64;
        let mut spec = scalepol_runtime::kpa::KpaSpec::defaults(t.target.round().max(1.0), window);
        // The emitted target-utilization-percentage is 100.
        spec.target_value = t.target.round().max(1.0);
        spec
    })
}

pub fn emit(p: &Policy, pool: &Pool, out: &mut Emitted) {
    let Some(s) = &pool.scale else { return };
    let options = p.targets.iter().find(|t| t.target == TargetKind::Kserve);
    let option = |k: &str| {
        options
            .and_then(|t| t.options.iter().find(|(x, _)| x == k))
            .map(|(_, v)| v.clone())
    };
    let serverless = option("mode").is_none_or(|m| m == "serverless");
    let first = s
        .targets
        .iter()
        .find_map(|t| knative_metric(p, t).map(|m| (t, m)));
    let (_, name) = p.workload.namespace_and_name();
    let mut base = common::meta(p, name.to_string());
    base.labels.clear(); // the service's own labels are not scalepol's to set
    let mut annotations = BTreeMap::new();
    let mut predictor_annotations = BTreeMap::new();
    if serverless {
        annotations.insert("serving.kserve.io/deploymentMode", "Serverless".to_string());
        predictor_annotations.insert(
            "autoscaling.knative.dev/class",
            "kpa.autoscaling.knative.dev".to_string(),
        );
        let window = s.down.stabilization.value.secs_ceil().clamp(6, 3600);
        predictor_annotations.insert("autoscaling.knative.dev/window", format!("{window}s"));
        // Knative holds 70% of the target by default: ask for 100%, so that
        // the policy's target is the one held.
        predictor_annotations.insert(
            "autoscaling.knative.dev/target-utilization-percentage",
            "100".to_string(),
        );
        if pool.replicas.min == 0 {
            predictor_annotations.insert(
                "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
                format!("{}s", s.cooldown.value.secs_ceil()),
            );
        }
    } else {
        annotations.insert("serving.kserve.io/deploymentMode", "Standard".to_string());
        annotations.insert(
            "serving.kserve.io/autoscalerClass",
            option("autoscaler").unwrap_or_else(|| "hpa".into()),
        );
    }
    let concurrency = pool
        .capacity
        .iter()
        .find(|c| c.unit == CapacityUnit::Concurrent)
        .map(|c| c.value.ceil() as u64);
    let isvc = InferenceService {
        api_version: "serving.kserve.io/v1beta1",
        kind: "InferenceService",
        metadata: Meta { base, annotations },
        spec: Spec {
            predictor: Predictor {
                min_replicas: if serverless {
                    pool.replicas.min
                } else {
                    pool.replicas.min.max(1)
                },
                max_replicas: pool.replicas.max,
                scale_metric: first.map(|(_, m)| m),
                scale_target: first.map(|(t, _)| t.target.round().max(1.0) as u32),
                container_concurrency: concurrency.filter(|_| serverless),
                annotations: (!predictor_annotations.is_empty()).then_some(predictor_annotations),
            },
        },
    };
    out.push(Document::new(
        format!("{}.kserve.yaml", p.name),
        Schema::Kserve,
        Format::Yaml,
        &isvc,
    ));
}
