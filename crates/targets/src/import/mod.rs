//! `scalepol import`: existing HPA and KEDA ScaledObject manifests to a
//! `.scalepol` policy, so that a team can adopt scalepol without rewriting by
//! hand. What has no equivalent is listed and left as a comment in the
//! policy, never dropped silently.

use serde_json::Value;
use std::fmt::Write;

mod aws;
pub mod fields;
mod hpa;
mod keda;
mod kserve;
mod vpa;

/// The DCGM metric scalepol's targets read GPU utilisation from.
const DCGM: &str = "DCGM_FI_DEV_GPU_UTIL";

/// An imported policy and what could not be carried over.
pub struct Imported {
    pub name: String,
    pub source: String,
    pub notes: Vec<String>,
}

/// The kinds that scale a workload: `import` reads these (or says why it
/// cannot), and passes over the rest of a stream (the Deployments,
/// Services, Secrets and TriggerAuthentications that Helm or Kustomize
/// output carries beside them).
pub const AUTOSCALER_KINDS: [&str; 6] = [
    "HorizontalPodAutoscaler",
    "ScaledObject",
    "ScaledJob",
    "HTTPScaledObject",
    "VerticalPodAutoscaler",
    "InferenceService",
];

/// Whether `doc` is an object `import` should read: an autoscaler, or
/// something that is not a Kubernetes object at all (which it refuses).
pub fn is_autoscaler(doc: &Value) -> bool {
    match doc.get("kind").and_then(Value::as_str) {
        Some(kind) => AUTOSCALER_KINDS.contains(&kind),
        None => !doc.is_null(),
    }
}

pub use aws::{import_aws, is_aws};

/// Imports one Kubernetes object. Every value written into the policy is
/// escaped (strings), checked (numbers, names) or refused (code that would
/// leave its back-quotes); the result is parsed again and must hold only
/// what the importer writes.
pub fn import(doc: &Value) -> Result<Imported, String> {
    import_in(doc, &[])
}

/// Imports one object of a stream (Helm or Kustomize output): the workload
/// it scales, when the stream has it, gives what the object leaves out
/// (the namespace, and for a VPA the replica count).
pub fn import_in(doc: &Value, stream: &[Value]) -> Result<Imported, String> {
    WORKLOADS.with(|w| *w.borrow_mut() = stream.to_vec());
    let result = import_one(doc);
    WORKLOADS.with(|w| w.borrow_mut().clear());
    result
}

thread_local! {
    /// The stream being imported, read by `Builder::at`.
    static WORKLOADS: std::cell::RefCell<Vec<Value>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The Deployment or StatefulSet of the stream named `name` (in
/// `namespace`, when the autoscaler says).
fn workload_in_stream(kind: &str, name: &str, namespace: Option<&str>) -> Option<Value> {
    WORKLOADS.with(|w| {
        w.borrow()
            .iter()
            .find(|d| {
                s(d, "/kind") == Some(kind)
                    && s(d, "/metadata/name") == Some(name)
                    && namespace
                        .is_none_or(|ns| s(d, "/metadata/namespace").is_none_or(|x| x == ns))
            })
            .cloned()
    })
}

fn import_one(doc: &Value) -> Result<Imported, String> {
    let imported = match doc.get("kind").and_then(Value::as_str) {
        Some("HorizontalPodAutoscaler")
            if matches!(s(doc, "/apiVersion"), Some("autoscaling/v2beta1" | "autoscaling/v2alpha1")) =>
        {
            Err("an HPA of autoscaling/v2beta1 or v2alpha1 (metricName, targetAverageValue; removed in Kubernetes 1.25): convert it to autoscaling/v2 first (`kubectl convert` or the API server's own conversion, `kubectl get hpa -o yaml`)".into())
        }
        Some("HorizontalPodAutoscaler") => Builder::new(doc)?.hpa(doc),
        Some("ScaledObject") if s(doc, "/apiVersion").is_some_and(|v| v.starts_with("keda.k8s.io/")) => Err(
            "a KEDA 1.x ScaledObject (keda.k8s.io/v1alpha1, removed in KEDA 2.0): migrate it to keda.sh/v1alpha1 (scaleTargetRef.name) first".into(),
        ),
        Some("ScaledObject") => Builder::new(doc)?.keda(doc),
        Some("VerticalPodAutoscaler") => Builder::at(doc, "/spec/targetRef")?.vpa(doc),
        Some("InferenceService") => {
            let name = s(doc, "/metadata/name").ok_or("no metadata.name")?;
            Builder::with_workload(doc, "inferenceservice", "InferenceService", name)?.kserve(doc)
        }
        Some(k) => Err(format!(
            "cannot import a {k}: scalepol imports HorizontalPodAutoscaler, ScaledObject, VerticalPodAutoscaler and InferenceService"
        )),
        None => return Err("not a Kubernetes object (no `kind`)".into()),
    }?;
    verify(&imported.source)?;
    Ok(imported)
}

/// The top-level settings the importer writes; anything else in its output
/// would come from the input, and is refused.
const WRITTEN: [&str; 6] = ["workload", "pool", "metrics", "scale", "schedule", "target"];

fn verify(source: &str) -> Result<(), String> {
    let doc = scalepol_syntax::parse(source).map_err(|e| {
        format!(
            "the imported values do not make a valid policy ({})",
            e.message
        )
    })?;
    let ok = doc.nodes.len() == 1
        && doc.nodes[0].keyword == "policy"
        && doc.nodes[0]
            .block_nodes()
            .iter()
            .all(|n| WRITTEN.contains(&n.keyword.as_str()));
    if ok {
        Ok(())
    } else {
        Err("the imported values would add settings of their own to the policy; refused".into())
    }
}

/// Text for a `//` comment: one line, whatever the input holds.
fn one_line(t: &str) -> String {
    t.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A metric declaration: source, endpoint, name, query.
struct MetricDecl {
    source: &'static str,
    endpoint: String,
    name: String,
    query: String,
    /// What follows the query (` as req/s`, a CloudWatch metric's
    /// dimensions and statistic), or empty.
    unit: String,
}

struct Builder {
    /// Values that cannot be written into a policy exactly (a back-quote in
    /// a query, a threshold that is not a number): the import refuses them
    /// rather than write something else (docs/security.md).
    refused: Vec<String>,
    name: String,
    workload: String,
    min: u64,
    max: u64,
    metrics: Vec<MetricDecl>,
    scale: Vec<String>,
    schedules: Vec<String>,
    /// `target KIND { ... }` blocks, written whole.
    targets: Vec<String>,
    /// Lines of the pool beside its replica range (`vertical { ... }`).
    pool: Vec<String>,
    /// The workload's `spec.replicas`, when the stream holds its manifest.
    workload_replicas: Option<u64>,
    /// A comment at the end of the pool's `replicas` line.
    replicas_comment: Option<&'static str>,
    /// The pool's kind and accelerators, from the labels `compile` writes
    /// (`common::pool_meta`): `gpu` with an accelerator and its count, or `cpu`.
    kind_label: Option<(bool, Option<(String, u32)>)>,
    /// The pool's name (`main`, or a KServe component's).
    pool_name: &'static str,
    /// Comments for the reader that are not losses (what the input left
    /// unsaid and the policy had to name).
    comments: Vec<String>,
    notes: Vec<String>,
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// A Kubernetes quantity as a number: `500m` = 0.5, `2k` = 2000, `12Gi`.
fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let t = v.as_str()?;
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().ok()?;
    let factor = match unit {
        "" => 1.0,
        "m" => 0.001,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    Some(n * factor)
}

fn number(v: f64) -> String {
    crate::common::trim_float(v)
}

/// An identifier for a metric name (`vllm:requests-running` -> `vllm_requests_running`).
fn ident(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "m_");
    }
    if matches!(out.as_str(), "cpu" | "memory" | "gpu" | "formula")
        || scalepol_common::rule_context::is_variable(&out)
    {
        out.push_str("_metric");
    }
    out
}

/// A policy name: RFC 1123 label.
fn policy_name(name: &str) -> String {
    let n: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    n.trim_matches('-').chars().take(63).collect()
}

/// Seconds as the shortest duration spelling.
fn secs(v: &Value) -> Option<String> {
    Some(scalepol_compiler::units::Duration::from_secs(v.as_u64()?).to_string())
}

fn quote(t: &str) -> String {
    format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Builder {
    /// A string value: escaped, and refused if it holds a line break or
    /// another control character (a string is one line).
    fn string(&mut self, t: &str, what: &str) -> String {
        if t.chars().any(char::is_control) {
            self.refused
                .push(format!("{what} holds a control character"));
        }
        quote(t)
    }

    /// Code between back-quotes (a query): refused if it would close them
    /// or span lines.
    fn code(&mut self, t: &str, what: &str) -> String {
        if t.contains('`') || t.chars().any(char::is_control) {
            self.refused.push(format!(
                "{what} holds a back-quote or a line break, which a policy cannot carry exactly"
            ));
            return String::new();
        }
        t.to_string()
    }

    /// A number as written in the input: digits, a point and an exponent only.
    fn num(&mut self, t: &str, what: &str) -> String {
        let plain = !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
            && t.parse::<f64>().is_ok_and(f64::is_finite);
        if plain {
            t.to_string()
        } else {
            self.refused
                .push(format!("{what} `{}` is not a number", one_line(t)));
            "0".into()
        }
    }

    fn new(doc: &Value) -> Result<Self, String> {
        Builder::at(doc, "/spec/scaleTargetRef")
    }

    /// A builder for the workload the object at `target` names.
    fn at(doc: &Value, target: &str) -> Result<Self, String> {
        let target = doc
            .pointer(target)
            .ok_or_else(|| format!("no {}", fields::dotted(target)))?;
        let kind = match s(target, "/kind").unwrap_or("Deployment") {
            "Deployment" => "deployment",
            "StatefulSet" => "statefulset",
            k => return Err(format!("cannot import a scaler of a {k}: scalepol scales Deployments and StatefulSets here")),
        };
        let name = s(target, "/name").ok_or("no scaleTargetRef.name")?;
        Builder::with_workload(doc, kind, s(target, "/kind").unwrap_or("Deployment"), name)
    }

    /// A builder for the workload `name` of `kind` (the policy's word for
    /// it, and the manifest's `kind`).
    fn with_workload(
        doc: &Value,
        kind: &str,
        manifest_kind: &str,
        name: &str,
    ) -> Result<Self, String> {
        let manifest = workload_in_stream(manifest_kind, name, s(doc, "/metadata/namespace"));
        let namespace = s(doc, "/metadata/namespace")
            .or_else(|| manifest.as_ref().and_then(|m| s(m, "/metadata/namespace")));
        let full = match namespace {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        let workload_replicas = manifest
            .as_ref()
            .and_then(|m| m.pointer("/spec/replicas"))
            .and_then(Value::as_u64);
        let control = full.chars().any(char::is_control);
        let workload = format!("{kind} {}", quote(&full));
        let policy = policy_name(s(doc, "/metadata/name").unwrap_or(name));
        if policy.is_empty() {
            return Err("the object's name has no letter or digit to name a policy after".into());
        }
        Ok(Builder {
            refused: if control {
                vec!["the workload's name holds a control character".into()]
            } else {
                Vec::new()
            },
            name: policy,
            workload,
            min: 1,
            max: 1,
            metrics: Vec::new(),
            scale: Vec::new(),
            schedules: Vec::new(),
            targets: Vec::new(),
            pool: Vec::new(),
            workload_replicas,
            replicas_comment: None,
            kind_label: kind_label(doc),
            pool_name: "main",
            comments: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// Declares a metric, unless one of that name is declared already;
    /// returns its name.
    fn declare(&mut self, m: MetricDecl) -> String {
        let name = m.name.clone();
        if !self.metrics.iter().any(|d| d.name == name) {
            self.metrics.push(m);
        }
        name
    }

    /// Names every field of `doc` that its kind's table does not (`fields`).
    fn unknown_fields(&mut self, doc: &Value) {
        if let Some(table) = fields::of_object(doc) {
            self.fields_not_in(doc, table);
        }
    }

    /// Names every field of `doc` that `table` does not.
    fn fields_not_in(&mut self, doc: &Value, table: &fields::Fields) {
        for path in table.unknown(doc) {
            self.notes.push(format!(
                "field `{}` was not imported: scalepol does not know it",
                one_line(&fields::dotted(&path))
            ));
        }
    }

    fn finish(mut self, kind: &str) -> Result<Imported, String> {
        // A scale block needs a target: an autoscaler with schedules only
        // (a KEDA cron trigger alone) becomes a pool sized by its schedules.
        if !self.scale.iter().any(|l| l.starts_with("on ")) && !self.schedules.is_empty() {
            let dropped: Vec<String> = std::mem::take(&mut self.scale)
                .into_iter()
                .filter(|l| l != "behavior legacy")
                .collect();
            if !dropped.is_empty() {
                self.notes.push(format!(
                    "without a metric target the pool is sized by its schedules alone, and `{}` was not imported",
                    dropped.join("`, `")
                ));
            }
        }
        if !self.refused.is_empty() {
            return Err(format!(
                "cannot be imported exactly: {}",
                self.refused.join("; ")
            ));
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "// Imported by scalepol from {kind} `{}`: review, then run `scalepol check`.",
            self.name
        );
        for c in &self.comments {
            let _ = writeln!(out, "// {}", one_line(c));
        }
        for n in &self.notes {
            let _ = writeln!(out, "// Not carried over: {}.", one_line(n));
        }
        let _ = writeln!(
            out,
            "policy {} {{\n  workload {}\n",
            self.name, self.workload
        );
        let comment = self
            .replicas_comment
            .map(|c| format!(" // {c}"))
            .unwrap_or_default();
        match &self.kind_label {
            Some((true, Some((acc, count)))) => {
                let _ = writeln!(
                    out,
                    "  pool {}: gpu {{\n    accelerator {} count {count}\n    replicas {}..{}{comment}",
                    self.pool_name,
                    quote(acc),
                    self.min,
                    self.max
                );
            }
            Some((false, _)) => {
                let _ = writeln!(
                    out,
                    "  pool {}: cpu {{\n    replicas {}..{}{comment}",
                    self.pool_name, self.min, self.max
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  // The kind is unknown: write `gpu` and an accelerator if this runs on GPUs."
                );
                let _ = writeln!(
                    out,
                    "  pool {}: cpu {{\n    replicas {}..{}{comment}",
                    self.pool_name, self.min, self.max
                );
            }
        }
        for l in &self.pool {
            let _ = writeln!(out, "    {l}");
        }
        out.push_str("  }\n");
        let mut sources: Vec<(&str, &str)> = self
            .metrics
            .iter()
            .map(|m| (m.source, m.endpoint.as_str()))
            .collect();
        sources.sort_unstable();
        sources.dedup();
        for (source, endpoint) in sources {
            if endpoint.chars().any(char::is_control) {
                return Err("cannot be imported exactly: a metric server's address holds a control character".into());
            }
            let _ = writeln!(out, "\n  metrics {source} {} {{", quote(endpoint));
            for m in self
                .metrics
                .iter()
                .filter(|m| m.source == source && m.endpoint == endpoint)
            {
                let _ = writeln!(out, "    {} = `{}`{}", m.name, m.query, m.unit);
            }
            out.push_str("  }\n");
        }
        if !self.scale.is_empty() {
            out.push_str("\n  scale {\n");
            for l in &self.scale {
                let _ = writeln!(out, "    {l}");
            }
            out.push_str("  }\n");
        }
        for sch in &self.schedules {
            let _ = writeln!(out, "\n  {sch}");
        }
        for t in &self.targets {
            let _ = writeln!(out, "\n  {t}");
        }
        out.push_str("}\n");
        Ok(Imported {
            name: self.name,
            source: out,
            notes: self.notes,
        })
    }
}

/// The pool kind the labels `compile` writes say, if they say it: `gpu`
/// needs its accelerator (and count) too, to be written back whole.
fn kind_label(doc: &Value) -> Option<(bool, Option<(String, u32)>)> {
    let labels = doc.pointer("/metadata/labels")?;
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    match label(crate::common::POOL_KIND_LABEL)? {
        "cpu" => Some((false, None)),
        "gpu" => {
            let acc = label(crate::common::ACCELERATOR_LABEL)?;
            let count = label(crate::common::ACCELERATOR_COUNT_LABEL).map_or(Some(1), |c| {
                c.parse::<u32>().ok().filter(|n| (1..=64).contains(n))
            })?;
            (!acc.is_empty() && acc.len() <= 63).then(|| (true, Some((acc.to_string(), count))))
        }
        _ => None,
    }
}
