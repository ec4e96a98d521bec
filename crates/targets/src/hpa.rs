//! HorizontalPodAutoscaler `autoscaling/v2`, and the prometheus-adapter rules
//! its External metrics need.

use crate::common::{
    self, quantity, HpaBehavior, MetricTarget, Object, ObjectMeta, ScaleTargetRef,
};
use crate::{Document, Emitted, Format, Options, Schema};
use scalepol_compiler::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use serde::Serialize;

type Hpa = Object<ObjectMeta, HpaSpec>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HpaSpec {
    scale_target_ref: ScaleTargetRef,
    min_replicas: u32,
    max_replicas: u32,
    metrics: Vec<MetricSpec>,
    /// Absent for `behavior legacy`: the controller's path without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    behavior: Option<HpaBehavior>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSpec {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pods: Option<NamedMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external: Option<NamedMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<NamedMetric>,
}

#[derive(Serialize)]
struct ResourceMetric {
    name: &'static str,
    target: MetricTarget,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NamedMetric {
    metric: MetricId,
    /// For an Object metric: the object the metric describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    described_object: Option<DescribedObject>,
    target: MetricTarget,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribedObject {
    api_version: String,
    kind: String,
    name: String,
}

/// `APIVERSION/KIND/NAME` (the API version may hold a `/` itself).
fn described(endpoint: &str) -> Option<DescribedObject> {
    let (rest, name) = endpoint.rsplit_once('/')?;
    let (api_version, kind) = rest.rsplit_once('/')?;
    Some(DescribedObject {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
    })
}

#[derive(Serialize)]
struct MetricId {
    name: String,
    /// Always `None` today; kept for metrics that will carry labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<serde_json::Value>,
}

fn target(t: &ScaleTarget, m: &Metric) -> MetricTarget {
    let v = match (m.source, m.name.as_str(), t.mode) {
        (MetricSourceKind::Builtin, "memory", TargetMode::PerReplica) => {
            common::bytes(t.target as u64)
        }
        _ => quantity(t.target),
    };
    match t.mode {
        TargetMode::Utilization => MetricTarget::utilization(t.target.round() as u32),
        TargetMode::PerReplica => MetricTarget::average_value(v),
        TargetMode::Total => MetricTarget::value(v),
    }
}

/// One HPA metric for a scaling target.
pub fn metric(p: &Policy, t: &ScaleTarget) -> Option<MetricSpec> {
    let none = MetricSpec {
        kind: "",
        resource: None,
        pods: None,
        external: None,
        object: None,
    };
    if t.formula.is_some() {
        // Served by the adapter rule that computes the formula (`formula_rule`).
        let value = quantity(t.target);
        return Some(MetricSpec {
            kind: "External",
            external: Some(NamedMetric {
                metric: MetricId {
                    name: formula_name(p),
                    selector: None,
                },
                described_object: None,
                target: match t.mode {
                    TargetMode::PerReplica => MetricTarget::average_value(value),
                    _ => MetricTarget::value(value),
                },
            }),
            ..none
        });
    }
    let m = p.metric(&t.metric)?;
    Some(match (m.source, m.name.as_str()) {
        // The custom metrics API's name for it is the query.
        (MetricSourceKind::Pods, _) => MetricSpec {
            kind: "Pods",
            pods: Some(NamedMetric {
                metric: MetricId {
                    name: m.query.clone(),
                    selector: None,
                },
                described_object: None,
                target: MetricTarget::average_value(quantity(t.target)),
            }),
            ..none
        },
        (MetricSourceKind::Object, _) => MetricSpec {
            kind: "Object",
            object: Some(NamedMetric {
                metric: MetricId {
                    name: m.query.clone(),
                    selector: None,
                },
                described_object: described(m.endpoint.as_deref().unwrap_or("")),
                target: target(t, m),
            }),
            ..none
        },
        (MetricSourceKind::Builtin, "gpu") => MetricSpec {
            kind: "Pods",
            pods: Some(NamedMetric {
                metric: MetricId {
                    name: "DCGM_FI_DEV_GPU_UTIL".into(),
                    selector: None,
                },
                described_object: None,
                target: MetricTarget::average_value(quantity(t.target)),
            }),
            ..none
        },
        (MetricSourceKind::Builtin, name) => MetricSpec {
            kind: "Resource",
            resource: Some(ResourceMetric {
                name: if name == "cpu" { "cpu" } else { "memory" },
                target: target(t, m),
            }),
            ..none
        },
        // The adapter rule's query is literal (no label templates), so the
        // metric needs no selector: its name is unique to the policy.
        _ => MetricSpec {
            kind: "External",
            external: Some(NamedMetric {
                metric: MetricId {
                    name: external_name(p, m),
                    selector: None,
                },
                described_object: None,
                target: target(t, m),
            }),
            ..none
        },
    })
}

/// The External metric's name: for a metric of the `external` source, its
/// query is the name the external metrics API serves; a Prometheus metric is
/// served by the adapter rule under a name unique to the policy.
pub fn external_name(p: &Policy, m: &Metric) -> String {
    match m.source {
        MetricSourceKind::External => m.query.clone(),
        _ => format!("scalepol_{}_{}", p.name.replace('-', "_"), m.name),
    }
}

/// The External metric a formula is served under.
fn formula_name(p: &Policy) -> String {
    format!("scalepol_{}_{}", p.name.replace('-', "_"), FORMULA)
}

/// The adapter rule computing a formula target in PromQL, or why it cannot.
fn formula_rule(p: &Policy, s: &Scaling) -> Option<Result<serde_json::Value, Diagnostic>> {
    let t = s.targets.iter().find(|t| t.formula.is_some())?;
    let f = t.formula.as_ref()?;
    let query = |name: &str| {
        p.metric(name)
            .filter(|m| m.source == MetricSourceKind::Prometheus)
            .map(|m| m.query.clone())
    };
    Some(match crate::formula::to_promql(&f.expr, query) {
        Ok(q) => Ok(serde_json::json!({
            "seriesQuery": f.reads.first().and_then(|m| query(m)).map(|q| series_of(&q)).unwrap_or_default(),
            "metricsQuery": q,
            "name": {"as": formula_name(p)},
            "resources": {"namespaced": false},
        })),
        Err(why) => Err(Diagnostic::new(
            code::TARGET_REFUSES,
            FileId(0),
            f.span,
            format!("hpa: this formula reads {why}; the HPA has no formula, and prometheus-adapter can compute only arithmetic over Prometheus queries"),
        )
        .label("not expressible for the HPA")
        .help("compile to KEDA (scalingModifiers) or the engine, or keep the formula to `+ - * /` over Prometheus metrics")),
    })
}

pub fn emit(p: &Policy, pool: &Pool, opts: &Options, out: &mut Emitted) {
    let (Some(s), Some(target_ref)) = (&pool.scale, common::target_ref(p)) else {
        return;
    };
    let formula = match formula_rule(p, s) {
        Some(Err(d)) => {
            out.diagnostics.push(d);
            return;
        }
        Some(Ok(rule)) => Some(rule),
        None => None,
    };
    let name = common::object_name(p, pool);
    let with_tolerance = opts.kubernetes >= (1, 33);
    let hpa = Hpa {
        api_version: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: common::pool_meta(p, pool, name.clone()),
        spec: HpaSpec {
            scale_target_ref: target_ref,
            min_replicas: pool.replicas.min.max(1),
            max_replicas: pool.replicas.max,
            metrics: s.targets.iter().filter_map(|t| metric(p, t)).collect(),
            behavior: s
                .legacy
                .is_none()
                .then(|| common::behavior(s, with_tolerance)),
        },
    };
    let schema = if opts.kubernetes >= (1, 33) {
        Schema::Hpa136
    } else {
        Schema::Hpa129
    };
    out.push(Document::new(
        format!("{name}.hpa.yaml"),
        schema,
        Format::Yaml,
        &hpa,
    ));
    if let Some(rules) = adapter_rules(p, s, formula) {
        out.push(Document::unvalidated(
            format!("{name}.prometheus-adapter.yaml"),
            Format::Yaml,
            rules,
        ));
    }
    if let Some(patch) = common::drain_patch(p, pool, opts) {
        out.push(Document::unvalidated(
            format!("{name}.drain-patch.yaml"),
            Format::Yaml,
            patch,
        ));
    }
}

/// prometheus-adapter `rules.external` entries (Helm values layout) serving
/// each Prometheus metric of the scale block under its External name.
fn adapter_rules(
    p: &Policy,
    s: &Scaling,
    formula: Option<serde_json::Value>,
) -> Option<serde_json::Value> {
    let rules: Vec<serde_json::Value> = s
        .targets
        .iter()
        .filter_map(|t| p.metric(&t.metric))
        .filter(|m| m.source == MetricSourceKind::Prometheus)
        .map(|m| {
            serde_json::json!({
                "seriesQuery": series_of(&m.query),
                "metricsQuery": m.query,
                "name": {"as": external_name(p, m)},
                "resources": {"namespaced": false},
            })
        })
        .chain(formula)
        .collect();
    (!rules.is_empty()).then(|| serde_json::json!({"rules": {"external": rules}}))
}

/// A series selector for the adapter's discovery: the first metric name in
/// the query (`sum(rate(vllm:x[1m]))` -> `{__name__="vllm:x"}`).
fn series_of(query: &str) -> String {
    const FUNCTIONS: &[&str] = &[
        "sum",
        "avg",
        "max",
        "min",
        "rate",
        "irate",
        "increase",
        "histogram_quantile",
        "by",
        "without",
        "count",
        "le",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "topk",
        "bottomk",
        "clamp_min",
        "clamp_max",
        "abs",
    ];
    let mut rest = query;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
        let word: String = rest[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let after = &rest[start + word.len()..];
        let inside_braces = rest[..start].matches('{').count() > rest[..start].matches('}').count();
        if !FUNCTIONS.contains(&word.as_str())
            && !after.trim_start().starts_with('(')
            && !inside_braces
        {
            return format!("{{__name__=\"{word}\"}}");
        }
        rest = after;
    }
    "{__name__=~\".+\"}".to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn series_selector_finds_the_metric() {
        assert_eq!(
            super::series_of("sum(vllm:num_requests_waiting{model_name=\"llama3\"})"),
            "{__name__=\"vllm:num_requests_waiting\"}"
        );
        assert_eq!(
            super::series_of("histogram_quantile(0.95, sum(rate(lat_bucket[1m])) by (le)) * 1000"),
            "{__name__=\"lat_bucket\"}"
        );
    }
}
