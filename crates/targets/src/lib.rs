//! Compile targets: the typed policy model to the documents real platforms
//! run (Kubernetes HPA, KEDA, KServe, VPA, AWS Application Auto Scaling).
//! Every document is validated against the platform's JSON Schema, and the
//! server-side rules the schemas lack, before anyone writes it.

pub mod capability;
mod common;
pub mod engine;
pub use common::features;
pub mod admission;
mod aws;
mod formula;
mod hpa;
pub mod import;
mod keda;
mod kserve;
pub mod scaler;
pub mod validate;
mod vpa;
pub mod yaml;

use scalepol_compiler::diagnostics::Diagnostic;
use scalepol_compiler::model::{Policy, TargetKind, WorkloadKind};
use serde::Serialize;

/// Compile options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Kubernetes version the documents are for (major, minor).
    pub kubernetes: (u32, u32),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kubernetes: (1, 36),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

/// The schema a document is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Hpa136,
    Hpa129,
    KedaScaledObject,
    KedaTriggerAuthentication,
    Kserve,
    Vpa,
    AwsRegister,
    AwsPolicy,
    AwsSchedule,
    Engine,
    AdmissionPolicy,
    AdmissionBinding,
    ConfigMap,
    Service,
    StatefulSet,
    NetworkPolicy,
    /// A `v1` List: each item against its kind's schema (one of the above).
    List,
}

/// One output file.
#[derive(Debug, Clone)]
pub struct Document {
    pub file_name: String,
    /// `None` for companions without a platform schema (adapter rules, a
    /// Kustomize patch, a CloudFormation template built from validated parts).
    pub schema: Option<Schema>,
    pub format: Format,
    pub body: serde_json::Value,
}

impl Document {
    fn new(file_name: String, schema: Schema, format: Format, body: &impl Serialize) -> Self {
        let body = serde_json::to_value(body).expect("documents are plain data");
        Document {
            file_name,
            schema: Some(schema),
            format,
            body,
        }
    }
    fn json(file_name: String, schema: Schema, body: serde_json::Value) -> Self {
        Document {
            file_name,
            schema: Some(schema),
            format: Format::Json,
            body,
        }
    }
    fn in_yaml(mut self) -> Self {
        self.format = Format::Yaml;
        self
    }
    fn unvalidated(file_name: String, format: Format, body: serde_json::Value) -> Self {
        Document {
            file_name,
            schema: None,
            format,
            body,
        }
    }
}

/// What compiling a policy to one target produced.
#[derive(Debug, Default)]
pub struct Emitted {
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Emitted {
    fn push(&mut self, d: Document) {
        self.documents.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == scalepol_compiler::Severity::Error)
    }
}

/// The kinds of workload each target scales.
fn scales(target: TargetKind, kind: WorkloadKind) -> Result<(), &'static str> {
    let ok = match target {
        TargetKind::Hpa | TargetKind::Keda | TargetKind::Vpa => {
            matches!(kind, WorkloadKind::Deployment | WorkloadKind::Statefulset)
        }
        TargetKind::Kserve => kind == WorkloadKind::Inferenceservice,
        TargetKind::Aws => matches!(
            kind,
            WorkloadKind::SagemakerVariant
                | WorkloadKind::SagemakerComponent
                | WorkloadKind::EcsService
        ),
        TargetKind::Engine => true,
    };
    ok.then_some(()).ok_or(match target {
        TargetKind::Kserve => "KServe InferenceServices",
        TargetKind::Aws => "SageMaker endpoint variants, inference components and ECS services",
        _ => "Kubernetes Deployments and StatefulSets",
    })
}

/// Whether a policy can be compiled to a target at all (its workload kind).
pub fn applies(p: &Policy, target: TargetKind) -> bool {
    scales(target, p.workload.kind).is_ok()
        && (target != TargetKind::Vpa || p.pools.iter().any(|x| x.vertical.is_some()))
}

/// Compiles one policy to one target. Documents are not validated here:
/// see [`validate::check`].
pub fn compile(p: &Policy, target: TargetKind, opts: &Options) -> Emitted {
    let mut out = Emitted::default();
    if let Err(expected) = scales(target, p.workload.kind) {
        out.diagnostics
            .push(common::wrong_workload(p, target, expected));
        return out;
    }
    // With a scaler, the engine decides for KEDA: every feature is the engine's.
    let external = target == TargetKind::Keda && scaler::address(p).is_some();
    let judged = if external { TargetKind::Engine } else { target };
    for pool in &p.pools {
        if !common::report_capabilities(p, pool, judged, &mut out.diagnostics)
            && target != TargetKind::Vpa
        {
            continue;
        }
        if matches!(target, TargetKind::Hpa | TargetKind::Keda)
            && opts.kubernetes < (1, 33)
            && !external
        {
            common::tolerance_needs_version(pool, opts, &mut out.diagnostics);
        }
        match target {
            TargetKind::Hpa => hpa::emit(p, pool, opts, &mut out),
            TargetKind::Keda => keda::emit(p, pool, opts, &mut out),
            TargetKind::Kserve => kserve::emit(p, pool, &mut out),
            TargetKind::Vpa => vpa::emit(p, pool, &mut out),
            TargetKind::Aws => aws::emit(p, pool, &mut out),
            TargetKind::Engine => {}
        }
    }
    // The scaler serves the engine artifact: it is written beside.
    if target == TargetKind::Engine || (external && !out.has_errors()) {
        engine::emit(p, &mut out);
    }
    out
}

/// The text of a document: a header naming the generator, the source and its
/// hash (and that it must not be edited), then YAML or JSON.
pub fn render(doc: &Document, source: &str, source_hash: &str) -> String {
    let header = [
        format!(
            "Generated by scalepol {} from {source} (sha256 {source_hash}).",
            env!("CARGO_PKG_VERSION")
        ),
        "Do not edit: change the policy and run `scalepol compile` again.".to_string(),
    ];
    match doc.format {
        Format::Yaml => {
            let mut out: String = header.iter().map(|h| format!("# {h}\n")).collect();
            out.push_str(&yaml::to_string(&doc.body));
            out
        }
        // JSON has no comments, and AWS rejects unknown members: the request
        // files carry no header (the CloudFormation template's Description
        // names the policy).
        Format::Json => {
            let mut out =
                serde_json::to_string_pretty(&doc.body).expect("documents are plain data");
            out.push('\n');
            out
        }
    }
}
