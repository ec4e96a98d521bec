//! KServe in Standard mode (KServe 0.20, pkg/controller/v1beta1/
//! inferenceservice/reconcilers/{hpa,keda}): the `hpa` class makes one HPA
//! from `scaleMetric` (cpu or memory only: the webhook refuses concurrency
//! and rps there) and `scaleTarget` (a utilisation, 1-100); the `keda`
//! class makes one ScaledObject from `autoScaling.metrics` (Resource for
//! cpu and memory, External for Prometheus queries).

use super::{Mode, Predictor};
use crate::common::{self, MetricTarget};
use scalepol_compiler::codes::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct AutoScaling {
    metrics: Vec<MetricEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricEntry {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external: Option<External>,
}

#[derive(Serialize)]
struct Resource {
    name: &'static str,
    target: MetricTarget,
}

#[derive(Serialize)]
struct External {
    metric: ExternalMetric,
    target: MetricTarget,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalMetric {
    backend: &'static str,
    server_address: String,
    query: String,
}

/// The container resource (`cpu`, `memory`) a target scales on.
fn resource(p: &Policy, t: &ScaleTarget) -> Option<&'static str> {
    p.metric(&t.metric)?.resource()
}

/// Fills the predictor's scaling fields for Standard mode, or says why
/// KServe would refuse the policy there.
pub(super) fn scaling(
    p: &Policy,
    pool: &Pool,
    s: &Scaling,
    mode: Mode,
    predictor: &mut Predictor,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(), Box<Diagnostic>> {
    // The HPA cannot scale to zero; KEDA can.
    predictor.min_replicas = if mode == Mode::StandardKeda {
        pool.replicas.min
    } else {
        pool.replicas.min.max(1)
    };
    match mode {
        Mode::StandardHpa => hpa_class(p, pool, s, predictor),
        _ => {
            predictor.auto_scaling = Some(keda_class(p, pool, s, warnings)?);
            Ok(())
        }
    }
}

fn hpa_class(
    p: &Policy,
    pool: &Pool,
    s: &Scaling,
    predictor: &mut Predictor,
) -> Result<(), Box<Diagnostic>> {
    let utilisation = s.targets.iter().find_map(|t| {
        resource(p, t)
            .filter(|_| t.mode == TargetMode::Utilization)
            .map(|r| (r, t))
    });
    let Some((name, t)) = utilisation else {
        return Err(refused(pool, s, "KServe's `hpa` class scales on cpu or memory utilisation only (its webhook refuses concurrency and rps in Standard mode)", "scale on `cpu` or `memory` with a percentage target, or write `autoscaler keda` (Prometheus queries) or `mode serverless` (concurrency, rps)"));
    };
    let target = t.target.round();
    if !(1.0..=100.0).contains(&target) {
        return Err(refused(pool, s, &format!("KServe's `hpa` class takes a utilisation target of 1% to 100%; this one is {target}%"), "write a target between 1% and 100%, or use `autoscaler keda`"));
    }
    predictor.scale_metric = Some(name);
    predictor.scale_target = Some(target as u32);
    Ok(())
}

fn keda_class(
    p: &Policy,
    pool: &Pool,
    s: &Scaling,
    warnings: &mut Vec<Diagnostic>,
) -> Result<AutoScaling, Box<Diagnostic>> {
    let mut metrics = Vec::new();
    for t in &s.targets {
        let Some(m) = p.metric(&t.metric) else {
            continue;
        };
        if let Some(name) = resource(p, t) {
            if t.mode == TargetMode::Utilization {
                metrics.push(MetricEntry {
                    kind: "Resource",
                    resource: Some(Resource {
                        name,
                        target: MetricTarget::utilization(
                            t.target.round().clamp(1.0, 100.0) as u32,
                        ),
                    }),
                    external: None,
                });
            }
            continue;
        }
        if !(m.source == MetricSourceKind::Prometheus && t.mode == TargetMode::PerReplica) {
            warnings.push(
                Diagnostic::new(
                    code::TARGET_APPROXIMATION,
                    FileId(0),
                    t.span,
                    format!("kserve: `{}` is left out: KServe's `keda` class passes Prometheus queries as per-replica thresholds only", t.metric),
                )
                .label("not expressible")
                .help("scale on it `per replica`, or compile to the `keda` target, which writes any trigger"),
            );
            continue;
        }
        {
            // KServe passes `target.value` to KEDA as the trigger's
            // threshold, which KEDA holds per replica (AverageValue).
            metrics.push(MetricEntry {
                kind: "External",
                resource: None,
                external: Some(External {
                    metric: ExternalMetric {
                        backend: "prometheus",
                        server_address: m.endpoint.clone().unwrap_or_default(),
                        query: m.query.clone(),
                    },
                    target: MetricTarget::value(common::quantity(t.target)),
                }),
            });
        }
    }
    if metrics.is_empty() {
        return Err(refused(pool, s, "KServe's `keda` class reads cpu or memory utilisation and Prometheus queries; this pool scales on neither", "scale on a Prometheus metric or on `cpu`/`memory` utilisation"));
    }
    Ok(AutoScaling { metrics })
}

fn refused(pool: &Pool, s: &Scaling, why: &str, help: &str) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::new(
            code::TARGET_REFUSES,
            FileId(0),
            s.span,
            format!("kserve: pool `{}`: {why}", pool.name),
        )
        .label("refused by KServe")
        .help(help.to_string()),
    )
}
