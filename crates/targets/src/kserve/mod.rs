//! KServe InferenceService `serving.kserve.io/v1beta1` (KServe 0.20): the
//! predictor's scaling fields only, for server-side apply beside the
//! service's own spec (`kubectl apply --server-side --field-manager=scalepol`).
//! Knative mode (the default, formerly Serverless) scales through Knative's
//! KPA annotations (`knative`); Standard mode (formerly RawDeployment)
//! through KServe's HPA or KEDA autoscaler class (`standard`), held to the
//! rules KServe's admission webhook enforces.

mod knative;
mod standard;

pub(crate) use knative::kpa;
use knative::option;

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
pub(crate) struct Predictor {
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
    /// Standard mode with the `keda` class: KServe's own metric list.
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_scaling: Option<standard::AutoScaling>,
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

/// How the InferenceService is scaled: KServe's deployment mode and, in
/// Standard mode, its autoscaler class (`target kserve { mode, autoscaler }`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `serving.kserve.io/deploymentMode: Knative` (legacy `Serverless`).
    Knative,
    /// `Standard` (legacy `RawDeployment`) with the `hpa` class.
    StandardHpa,
    /// `Standard` with the `keda` class.
    StandardKeda,
}

impl Mode {
    pub(crate) fn of(p: &Policy) -> Mode {
        match (option(p, "mode"), option(p, "autoscaler")) {
            (Some("standard"), Some("keda")) => Mode::StandardKeda,
            (Some("standard"), _) => Mode::StandardHpa,
            _ => Mode::Knative,
        }
    }
}

pub fn emit(p: &Policy, pool: &Pool, out: &mut Emitted) {
    let Some(s) = &pool.scale else { return };
    let mode = Mode::of(p);
    let (_, name) = p.workload.namespace_and_name();
    let mut base = common::meta(p, name.to_string());
    base.labels.clear(); // the service's own labels are not scalepol's to set
    let mut annotations = BTreeMap::new();
    let mut predictor = Predictor {
        min_replicas: pool.replicas.min,
        max_replicas: pool.replicas.max,
        scale_metric: None,
        scale_target: None,
        container_concurrency: None,
        annotations: None,
        auto_scaling: None,
    };
    match mode {
        Mode::Knative => {
            annotations.insert("serving.kserve.io/deploymentMode", "Knative".to_string());
            let first = s
                .targets
                .iter()
                .find_map(|t| knative_metric(p, t).map(|m| (t, m)));
            let mut knative = knative::knative_annotations(p, pool, s);
            // CPU and memory need Knative's HPA class, which cannot scale to zero.
            if first.is_some_and(|(_, m)| matches!(m, "cpu" | "memory")) {
                knative.insert(
                    "autoscaling.knative.dev/class",
                    "hpa.autoscaling.knative.dev".to_string(),
                );
                predictor.min_replicas = pool.replicas.min.max(1);
            }
            predictor.scale_metric = first.map(|(_, m)| m);
            predictor.scale_target = first.map(|(t, _)| t.target.round().max(1.0) as u32);
            predictor.container_concurrency = pool
                .capacity
                .iter()
                .find(|c| c.unit == CapacityUnit::Concurrent)
                .map(|c| c.value.ceil() as u64);
            predictor.annotations = Some(knative);
            knative::cluster_wide_notes(p, out);
        }
        Mode::StandardHpa | Mode::StandardKeda => {
            annotations.insert("serving.kserve.io/deploymentMode", "Standard".to_string());
            let class = if mode == Mode::StandardKeda {
                "keda"
            } else {
                "hpa"
            };
            annotations.insert("serving.kserve.io/autoscalerClass", class.to_string());
            if let Err(d) =
                standard::scaling(p, pool, s, mode, &mut predictor, &mut out.diagnostics)
            {
                out.diagnostics.push(*d);
                return;
            }
        }
    }
    let isvc = InferenceService {
        api_version: "serving.kserve.io/v1beta1",
        kind: "InferenceService",
        metadata: Meta { base, annotations },
        spec: Spec { predictor },
    };
    out.push(Document::new(
        format!("{}.kserve.yaml", p.name),
        Schema::Kserve,
        Format::Yaml,
        &isvc,
    ));
}
