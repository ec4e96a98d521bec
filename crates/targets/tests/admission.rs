//! The organisation's rules compiled to Kubernetes admission policies:
//! the document validates against the Kubernetes 1.36 schemas of
//! ValidatingAdmissionPolicy and its binding, and each validation's CEL,
//! evaluated (cel-interpreter) against objects, admits what `check --rules`
//! accepts and denies what it refuses: sample objects written here, and
//! the objects `compile` writes for every example policy.

use cel_interpreter::{Context, Program, Value as CelValue};
use scalepol_compiler::model::TargetKind;
use scalepol_compiler::{check_source, FsLoader, Severity};
use scalepol_targets::admission::{self, Kind};
use scalepol_targets::{compile, validate, Options};
use serde_json::{json, Value};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn acme() -> scalepol_compiler::org::OrgRules {
    let path = root().join("policies/org/acme.rules");
    let text = std::fs::read_to_string(&path).unwrap();
    let rules = scalepol_compiler::org::load_rules("policies/org/acme.rules", &text);
    assert!(rules.diagnostics.is_empty());
    rules
}

/// Every validation of the admission document, with the policy's name.
fn validations(doc: &Value) -> Vec<(String, String)> {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "ValidatingAdmissionPolicy")
        .flat_map(|p| {
            let name = p["metadata"]["name"].as_str().unwrap().to_string();
            p["spec"]["validations"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |v| (name.clone(), v["expression"].as_str().unwrap().to_string()))
        })
        .collect()
}

/// A JSON value as the API server gives it to CEL: every JSON integer is an
/// `int` (cel-interpreter's serde path would make positive ones `uint`).
fn to_cel(v: &Value) -> CelValue {
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => CelValue::Int(i),
            None => CelValue::Float(n.as_f64().unwrap()),
        },
        Value::String(s) => CelValue::String(s.clone().into()),
        Value::Array(a) => CelValue::List(a.iter().map(to_cel).collect::<Vec<_>>().into()),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| (k.clone(), to_cel(v)))
            .collect::<std::collections::HashMap<String, CelValue>>()
            .into(),
    }
}

/// Evaluates a validation as the API server would see `object`.
fn admits(expr: &str, object: &Value) -> bool {
    let program = Program::compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut ctx = Context::default();
    ctx.add_variable_from_value("object", to_cel(object));
    let kind = object["kind"].as_str().unwrap();
    ctx.add_variable_from_value("request", to_cel(&json!({"kind": {"kind": kind}})));
    match program.execute(&ctx) {
        Ok(CelValue::Bool(b)) => b,
        other => panic!("{expr} on {object}: {other:?}"),
    }
}

/// Whether every validation admits the object; the names of those that deny.
fn denied_by(doc: &Value, object: &Value) -> Vec<String> {
    validations(doc)
        .into_iter()
        .filter(|(_, e)| !admits(e, object))
        .map(|(n, _)| n)
        .collect()
}

fn compiled_doc() -> Value {
    let (doc, _) = admission::compile(&acme());
    let doc = doc.unwrap();
    validate::check(&doc).unwrap();
    doc.body
}

#[test]
fn the_document_and_its_notes() {
    let (doc, notes) = admission::compile(&acme());
    let doc = doc.unwrap();
    validate::check(&doc).unwrap();
    insta::assert_snapshot!(
        "acme_admission",
        format!(
            "{}\n# notes\n{}",
            scalepol_targets::render(&doc, "policies/org/acme.rules", "HASH"),
            notes.join("\n")
        )
    );
}

#[test]
fn an_invalid_document_is_caught() {
    let mut doc = admission::compile(&acme()).0.unwrap();
    doc.body["items"][1]["spec"]["validationActions"] = json!(["Deny", "Deny"]);
    doc.body["items"][0]["spec"]["failurePolicy"] = json!(7);
    let e = validate::check(&doc).unwrap_err();
    assert!(e.contains("twice"), "{e}");
    assert!(e.contains("/items/0/spec/failurePolicy"), "{e}");
}

fn hpa(labels: Value, max: u32) -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "x", "namespace": "ml", "labels": labels},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                 "minReplicas": 1, "maxReplicas": max},
    })
}

#[test]
fn sample_objects_are_admitted_or_denied_by_the_rules() {
    let doc = compiled_doc();
    let gpu = json!({"scalepol.io/pool-kind": "gpu"});
    // ACME001: GPU pools at most 32 replicas.
    assert!(denied_by(&doc, &hpa(gpu.clone(), 32)).is_empty());
    assert_eq!(
        denied_by(&doc, &hpa(gpu.clone(), 33)),
        ["scalepol-acme-platform-acme001"]
    );
    assert!(denied_by(&doc, &hpa(json!({"scalepol.io/pool-kind": "cpu"}), 50)).is_empty());
    // Unlabelled objects do not say they scale GPUs.
    assert!(denied_by(&doc, &hpa(json!({}), 50)).is_empty());
    let no_labels = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 50},
    });
    assert!(denied_by(&doc, &no_labels).is_empty());
    // The L4 quota: 64 accelerators in one autoscaler.
    let l4 = |count: &str| json!({"scalepol.io/pool-kind": "gpu", "scalepol.io/accelerator": "nvidia-l4", "scalepol.io/accelerator-count": count});
    assert!(denied_by(&doc, &hpa(l4("2"), 32)).is_empty());
    assert_eq!(
        denied_by(&doc, &hpa(l4("4"), 20)),
        ["scalepol-acme-platform-quota-nvidia-l4"]
    );
    // A ScaledObject without maxReplicaCount has KEDA's 100.
    let so = json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "x", "labels": gpu},
        "spec": {"scaleTargetRef": {"name": "x"}, "triggers": []},
    });
    assert_eq!(denied_by(&doc, &so), ["scalepol-acme-platform-acme001"]);
    // An InferenceService without maxReplicas is unbounded.
    let isvc = |predictor: Value| {
        json!({
            "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "x", "labels": {"scalepol.io/pool-kind": "gpu"}},
            "spec": {"predictor": predictor},
        })
    };
    assert_eq!(
        denied_by(&doc, &isvc(json!({}))),
        ["scalepol-acme-platform-acme001"]
    );
    assert!(denied_by(&doc, &isvc(json!({"minReplicas": 1, "maxReplicas": 8}))).is_empty());
}

/// What `check --rules` accepts, admission admits; what it refuses for
/// ACME001, admission denies: on the very objects `compile` writes.
#[test]
fn admission_agrees_with_check_on_compiled_policies() {
    let doc = compiled_doc();
    let rules_text = std::fs::read_to_string(root().join("policies/org/acme.rules")).unwrap();
    let (mut checked_any, mut refusals) = (0, 0);
    for entry in std::fs::read_dir(root().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "scalepol") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (variant, raise) in [("as written", false), ("over the GPU cap", true)] {
            // The variant raises every pool's maximum past ACME001's cap.
            let text = if raise {
                raise_max(&text)
            } else {
                text.clone()
            };
            let c = check_source(&path.to_string_lossy(), &text, &FsLoader);
            let Some(p) = c.policy.clone() else { continue };
            let mut set = vec![c];
            let mut rules = scalepol_compiler::org::load_rules("acme.rules", &rules_text);
            scalepol_compiler::org::check_set(&mut set, Some(&mut rules));
            let refused = set[0]
                .diagnostics
                .iter()
                .any(|d| d.code == "ACME001" && d.severity == Severity::Error);
            for target in [TargetKind::Hpa, TargetKind::Keda] {
                let out = compile(&p, target, &Options::default());
                for d in out.documents.iter().filter(|d| {
                    matches!(
                        d.body["kind"].as_str(),
                        Some("HorizontalPodAutoscaler" | "ScaledObject")
                    )
                }) {
                    checked_any += 1;
                    refusals += usize::from(refused);
                    let denied = denied_by(&doc, &d.body);
                    let by_cap = denied.iter().any(|n| n.ends_with("acme001"));
                    assert_eq!(
                        by_cap, refused,
                        "{} ({variant}) {}: check says refused={refused}, admission denied by {denied:?}",
                        path.display(), d.file_name
                    );
                }
            }
        }
    }
    assert!(
        checked_any > 20 && refusals >= 2,
        "{checked_any} objects, {refusals} refused"
    );
}

/// `replicas A..B` with B past 32 (and the range's floor kept).
fn raise_max(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            match t.strip_prefix("replicas ").and_then(|r| r.split_once("..")) {
                Some((lo, _)) if !lo.contains(' ') => format!("    replicas {lo}..40"),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn translation_keeps_meaning_or_says_why_not() {
    let t = |e: &str, k: Kind| admission::translate(e, k);
    assert_eq!(
        t("policy.pools.all(p, p.replicas.min >= 2)", Kind::Hpa).unwrap(),
        "((has(object.spec.minReplicas) ? object.spec.minReplicas : 1) >= 2)"
    );
    assert_eq!(
        t("policy.pools.exists(p, p.scale.down.stabilization_seconds >= 60.0)", Kind::Hpa).unwrap(),
        "(double(has(object.spec.behavior) && has(object.spec.behavior.scaleDown) && has(object.spec.behavior.scaleDown.stabilizationWindowSeconds) ? object.spec.behavior.scaleDown.stabilizationWindowSeconds : 300) >= 60.0)"
    );
    assert!(t("has(policy.budget)", Kind::Hpa)
        .unwrap_err()
        .contains("policy.budget"));
    assert!(t(
        "policy.pools.all(p, p.scale.cooldown_seconds < 600.0)",
        Kind::Hpa
    )
    .unwrap_err()
    .contains("cooldown_seconds"));
    assert!(t(
        "policy.pools.all(p, p.scale.cooldown_seconds < 600.0)",
        Kind::ScaledObject
    )
    .is_ok());
    assert!(t(
        "policy.pools.all(p, p.scale.targets.all(x, x.target > 1.0))",
        Kind::Hpa
    )
    .is_err());
    assert!(t("policy.pools.size() > 1", Kind::Hpa).is_err());
}
