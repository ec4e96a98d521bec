//! Validation of every document before it is written: the platform's JSON
//! Schema (bundled, compiled once per process) and the server-side rules the
//! schemas do not encode (schemas/README.md lists them). A document that
//! fails is a bug in scalepol, never the user's: the caller stops with exit 2.

use crate::{Document, Schema};
use serde_json::Value;
use std::sync::OnceLock;

fn schema_text(s: Schema) -> &'static str {
    match s {
        Schema::Hpa136 => include_str!("../schemas/hpa-autoscaling-v2-k8s-1.36.strict.json"),
        Schema::Hpa129 => include_str!("../schemas/hpa-autoscaling-v2-k8s-1.29.strict.json"),
        Schema::KedaScaledObject => {
            include_str!("../schemas/keda-scaledobject-v1alpha1.strict.json")
        }
        Schema::KedaTriggerAuthentication => {
            include_str!("../schemas/keda-triggerauthentication-v1alpha1.strict.json")
        }
        Schema::Kserve => include_str!("../schemas/kserve-inferenceservice-v1beta1.strict.json"),
        Schema::Vpa => include_str!("../schemas/vpa-v1.strict.json"),
        Schema::AwsRegister => include_str!(
            "../schemas/aws-application-autoscaling-RegisterScalableTarget.request.json"
        ),
        Schema::AwsPolicy => {
            include_str!("../schemas/aws-application-autoscaling-PutScalingPolicy.request.json")
        }
        Schema::AwsSchedule => {
            include_str!("../schemas/aws-application-autoscaling-PutScheduledAction.request.json")
        }
        Schema::Engine => include_str!("../../../docs/engine-artifact.schema.json"),
        Schema::AdmissionPolicy => {
            include_str!("../schemas/validatingadmissionpolicy-v1-k8s-1.36.strict.json")
        }
        Schema::AdmissionBinding => {
            include_str!("../schemas/validatingadmissionpolicybinding-v1-k8s-1.36.strict.json")
        }
        Schema::ConfigMap => include_str!("../schemas/configmap-v1-k8s-1.36.strict.json"),
        Schema::Service => include_str!("../schemas/service-v1-k8s-1.36.strict.json"),
        Schema::StatefulSet => include_str!("../schemas/statefulset-apps-v1-k8s-1.36.strict.json"),
        Schema::NetworkPolicy => {
            include_str!("../schemas/networkpolicy-networking-v1-k8s-1.36.strict.json")
        }
        Schema::List => {
            r#"{"type": "object", "required": ["apiVersion", "kind", "items"], "properties": {"apiVersion": {"const": "v1"}, "kind": {"const": "List"}, "items": {"type": "array"}}, "additionalProperties": false}"#
        }
    }
}

const ALL: [Schema; 17] = [
    Schema::Hpa136,
    Schema::Hpa129,
    Schema::KedaScaledObject,
    Schema::KedaTriggerAuthentication,
    Schema::Kserve,
    Schema::Vpa,
    Schema::AwsRegister,
    Schema::AwsPolicy,
    Schema::AwsSchedule,
    Schema::Engine,
    Schema::AdmissionPolicy,
    Schema::AdmissionBinding,
    Schema::ConfigMap,
    Schema::Service,
    Schema::StatefulSet,
    Schema::NetworkPolicy,
    Schema::List,
];

fn validator(s: Schema) -> &'static jsonschema::Validator {
    static CACHE: [OnceLock<jsonschema::Validator>; 17] = [const { OnceLock::new() }; 17];
    let i = ALL
        .iter()
        .position(|x| *x == s)
        .expect("every schema is listed");
    CACHE[i].get_or_init(|| {
        let schema: Value =
            serde_json::from_str(schema_text(s)).expect("bundled schemas are valid JSON");
        jsonschema::validator_for(&schema).expect("bundled schemas compile")
    })
}

/// Validates a JSON value against a schema; the errors as `path: message`.
pub fn against(schema: Schema, value: &Value) -> Vec<String> {
    let mut errors: Vec<String> = validator(schema)
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if schema == Schema::List {
        for (i, item) in value["items"].as_array().into_iter().flatten().enumerate() {
            let s = match item["kind"].as_str() {
                Some("ValidatingAdmissionPolicy") => Schema::AdmissionPolicy,
                Some("ValidatingAdmissionPolicyBinding") => Schema::AdmissionBinding,
                Some("ConfigMap") => Schema::ConfigMap,
                Some("Service") => Schema::Service,
                Some("StatefulSet") => Schema::StatefulSet,
                Some("NetworkPolicy") => Schema::NetworkPolicy,
                other => {
                    errors.push(format!("/items/{i}: unexpected kind {other:?}"));
                    continue;
                }
            };
            errors.extend(
                against(s, item)
                    .into_iter()
                    .map(|e| format!("/items/{i}{e}")),
            );
        }
    }
    errors
}

/// Validates one document: schema, then the platform's server-side rules.
pub fn check(doc: &Document) -> Result<(), String> {
    let Some(schema) = doc.schema else {
        return Ok(());
    };
    let mut errors = against(schema, &doc.body);
    errors.extend(server_rules(schema, &doc.body));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} fails validation:\n  {}",
            doc.file_name,
            errors.join("\n  ")
        ))
    }
}

fn int(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

/// The rules Kubernetes, KEDA and AWS enforce on the server side.
pub fn server_rules(schema: Schema, v: &Value) -> Vec<String> {
    let mut e = Vec::new();
    match schema {
        Schema::Hpa136 | Schema::Hpa129 => {
            hpa_rules(v.pointer("/spec").unwrap_or(&Value::Null), &mut e)
        }
        Schema::KedaScaledObject => keda_rules(v, &mut e),
        Schema::AwsRegister => {
            if int(v, "/MinCapacity") > int(v, "/MaxCapacity") {
                e.push("MinCapacity > MaxCapacity".into());
            }
            resource_rules(v, &mut e);
        }
        Schema::AwsPolicy => {
            let ty = v.get("PolicyType").and_then(Value::as_str);
            let has = |k: &str| v.get(k).is_some();
            match ty {
                Some("TargetTrackingScaling")
                    if !has("TargetTrackingScalingPolicyConfiguration") =>
                {
                    e.push("TargetTrackingScaling without its configuration".into())
                }
                Some("StepScaling") if !has("StepScalingPolicyConfiguration") => {
                    e.push("StepScaling without its configuration".into())
                }
                _ => {}
            }
            resource_rules(v, &mut e);
        }
        Schema::AwsSchedule => {
            let s = v.get("Schedule").and_then(Value::as_str).unwrap_or("");
            let ok = s
                .strip_prefix("cron(")
                .and_then(|x| x.strip_suffix(')'))
                .is_some_and(|c| c.split_whitespace().count() == 6)
                || s.starts_with("at(")
                || s.starts_with("rate(");
            if !ok {
                e.push(format!(
                    "Schedule `{s}` is not at(...), rate(...) or a 6-field cron(...)"
                ));
            }
            resource_rules(v, &mut e);
        }
        Schema::Kserve => kserve_rules(v, &mut e),
        Schema::List => {
            for (i, item) in v["items"].as_array().into_iter().flatten().enumerate() {
                if item["apiVersion"] == "admissionregistration.k8s.io/v1" {
                    admission_rules(item, &mut e, i);
                }
            }
        }
        Schema::AdmissionPolicy | Schema::AdmissionBinding => admission_rules(v, &mut e, 0),
        Schema::Vpa
        | Schema::KedaTriggerAuthentication
        | Schema::Engine
        | Schema::ConfigMap
        | Schema::Service
        | Schema::StatefulSet
        | Schema::NetworkPolicy => {}
    }
    e
}

/// What the API server checks beyond the schema (Kubernetes
/// pkg/apis/admissionregistration/validation): names are DNS subdomains,
/// messages hold no line break, each expression compiles (here: parses as
/// CEL), validation actions are non-empty and unique.
fn admission_rules(v: &Value, e: &mut Vec<String>, i: usize) {
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let dns = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if !dns {
        e.push(format!(
            "/items/{i}/metadata/name: `{name}` is not a DNS subdomain"
        ));
    }
    for (j, val) in v
        .pointer("/spec/validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let expr = val["expression"].as_str().unwrap_or("");
        let owned = expr.to_string();
        let parses = scalepol_common::quiet::quietly(move || {
            cel_parser::Parser::new().parse(&owned).is_ok()
        })
        .unwrap_or(false);
        if !parses {
            e.push(format!(
                "/items/{i}/spec/validations/{j}/expression: does not compile: {expr}"
            ));
        }
        if val["message"]
            .as_str()
            .is_some_and(|m| m.contains(['\n', '\r']))
        {
            e.push(format!(
                "/items/{i}/spec/validations/{j}/message: must not contain line breaks"
            ));
        }
    }
    if let Some(actions) = v
        .pointer("/spec/validationActions")
        .and_then(Value::as_array)
    {
        let mut seen: Vec<&Value> = Vec::new();
        for a in actions {
            if seen.contains(&a) {
                e.push(format!("/items/{i}/spec/validationActions: {a} twice"));
            }
            seen.push(a);
        }
        if actions.is_empty() {
            e.push(format!(
                "/items/{i}/spec/validationActions: must not be empty"
            ));
        }
    }
}

/// KEDA's admission rules for a ScaledObject (KEDA 2.20,
/// apis/keda/v1alpha1/scaledobject_types.go: CheckReplicaCountBoundsAreValid,
/// CheckFallbackValid; scaledobject_webhook.go), with its messages.
fn keda_rules(v: &Value, e: &mut Vec<String>) {
    let spec = v.get("spec").unwrap_or(&Value::Null);
    // KEDA's defaults: no minimum is 0, no maximum is 100.
    let min = int(spec, "/minReplicaCount").unwrap_or(0);
    let max = int(spec, "/maxReplicaCount").unwrap_or(100);
    if min > max {
        e.push(format!(
            "MinReplicaCount={min} must be less than MaxReplicaCount={max}"
        ));
    }
    if let Some(idle) = int(spec, "/idleReplicaCount") {
        if idle >= min {
            e.push(format!(
                "IdleReplicaCount={idle} must be less than MinReplicaCount={min}"
            ));
        }
    }
    if let Some(f) = spec.get("fallback").filter(|f| !f.is_null()) {
        fallback_rules(spec, f, e);
    }
    let triggers = spec.get("triggers").and_then(Value::as_array);
    let types = || {
        triggers
            .into_iter()
            .flatten()
            .map(|t| t.get("type").and_then(Value::as_str).unwrap_or(""))
    };
    if triggers.is_none_or(|t| t.is_empty()) {
        e.push("no triggers: a ScaledObject needs at least one".into());
    } else if min == 0 && types().all(|t| matches!(t, "cpu" | "memory")) {
        e.push("scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)".into());
    }
    name_rules(v, spec, e);
    let modifiers = |k: &str| {
        spec.pointer(&format!("/advanced/scalingModifiers/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    if !modifiers("formula").is_empty() && modifiers("target").is_empty() {
        e.push("error ScalingModifiers.Target is not set: a formula needs a target".into());
    }
    if let Some(b) = spec.pointer("/advanced/horizontalPodAutoscalerConfig/behavior") {
        behavior_rules(b, e);
    }
    for t in spec
        .get("triggers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mt = t.get("metricType").and_then(Value::as_str);
        if !matches!(
            mt,
            None | Some("" | "AverageValue" | "Value" | "Utilization")
        ) {
            e.push(format!("/spec/triggers: metricType {mt:?}"));
        }
        let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
        if mt == Some("Utilization") && !matches!(ty, "cpu" | "memory") {
            e.push(format!(
                "/spec/triggers: metricType Utilization on a `{ty}` trigger (cpu and memory only)"
            ));
        }
    }
    if let Some(n) = v
        .pointer("/metadata/annotations/autoscaling.keda.sh~1paused-replicas")
        .and_then(Value::as_str)
    {
        if n.parse::<i32>().is_err() {
            e.push(format!(
                "autoscaling.keda.sh/paused-replicas `{n}` is not an integer"
            ));
        }
    }
}

/// The ScaledObject's name and the HPA's (`keda-hpa-NAME` unless
/// `advanced.horizontalPodAutoscalerConfig.name` is set) become label
/// values, at most 63 characters (KEDA's webhook).
fn name_rules(v: &Value, spec: &Value, e: &mut Vec<String>) {
    const LABEL: usize = 63;
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.len() > LABEL {
        e.push(format!(
            "the ScaledObject's name has {} characters: at most {LABEL} (a label value)",
            name.len()
        ));
    }
    let hpa = spec
        .pointer("/advanced/horizontalPodAutoscalerConfig/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map_or_else(|| format!("keda-hpa-{name}"), str::to_string);
    if hpa.len() > LABEL {
        e.push(format!(
            "the generated HPA name `{hpa}` has {} characters: at most {LABEL} (a label value)",
            hpa.len()
        ));
    }
}

/// CheckFallbackValid: non-negative numbers, and something to fall back
/// for: an AverageValue formula, or an AverageValue trigger that is not
/// cpu or memory.
fn fallback_rules(spec: &Value, f: &Value, e: &mut Vec<String>) {
    let threshold = int(f, "/failureThreshold").unwrap_or(0);
    let replicas = int(f, "/replicas").unwrap_or(0);
    if threshold < 0 || replicas < 0 {
        e.push(format!(
            "FailureThreshold={threshold} & Replicas={replicas} must both be greater than or equal to 0"
        ));
    }
    let modifiers = spec.pointer("/advanced/scalingModifiers");
    let text = |k: &str| {
        modifiers
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    if !text("formula").is_empty() || !text("target").is_empty() {
        if !matches!(text("metricType"), "" | "AverageValue") {
            e.push("ScaledObject.Spec.Advanced.ScalingModifiers.MetricType must be AverageValue to have fallback enabled".into());
        }
        return;
    }
    let averaged = spec
        .get("triggers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| {
            let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
            let mt = t.get("metricType").and_then(Value::as_str).unwrap_or("");
            !matches!(ty, "cpu" | "memory") && matches!(mt, "" | "AverageValue")
        });
    if !averaged {
        e.push("at least one trigger (that is not cpu or memory) has to have the AverageValue type for the fallback to be enabled".into());
    }
}

/// KServe 0.20's admission rules for an InferenceService's predictor
/// (pkg/apis/serving/v1beta1/inference_service_validation.go and the
/// reconcilers): the deployment modes and autoscaler classes it knows, the
/// metrics each can scale on.
fn kserve_rules(v: &Value, e: &mut Vec<String>) {
    let annotation = |k: &str| {
        v.pointer(&format!("/metadata/annotations/{}", k.replace('/', "~1")))
            .and_then(Value::as_str)
    };
    let mode = annotation("serving.kserve.io/deploymentMode").unwrap_or("Knative");
    if !matches!(
        mode,
        "Knative" | "Serverless" | "Standard" | "RawDeployment" | "ModelMesh"
    ) {
        e.push(format!("deploymentMode `{mode}` is not one KServe knows"));
    }
    let class = annotation("serving.kserve.io/autoscalerClass");
    if !matches!(class, None | Some("hpa" | "keda" | "external" | "none")) {
        e.push(format!(
            "autoscalerClass `{}` is refused (hpa, keda, external or none)",
            class.unwrap_or("")
        ));
    }
    let predictor = v.pointer("/spec/predictor").unwrap_or(&Value::Null);
    let metric = predictor.get("scaleMetric").and_then(Value::as_str);
    let target = predictor.get("scaleTarget").and_then(Value::as_i64);
    let standard = matches!(mode, "Standard" | "RawDeployment");
    if standard && matches!(class, None | Some("hpa")) {
        if !matches!(metric, None | Some("cpu" | "memory")) {
            e.push(format!(
                "scaleMetric `{}` is not supported by the hpa autoscaler class (cpu or memory)",
                metric.unwrap_or("")
            ));
        }
        if metric.is_none_or(|m| m == "cpu") && target.is_some_and(|t| !(1..=100).contains(&t)) {
            e.push("scaleTarget for cpu utilization must be 1 to 100".into());
        }
    }
    let knative_class = predictor
        .pointer("/annotations/autoscaling.knative.dev~1class")
        .and_then(Value::as_str)
        .unwrap_or("kpa.autoscaling.knative.dev");
    if !standard && knative_class.starts_with("kpa.") && matches!(metric, Some("cpu" | "memory")) {
        e.push(format!("Knative's KPA scales on concurrency or rps, not `{}` (that needs the hpa.autoscaling.knative.dev class)", metric.unwrap_or("")));
    }
}

fn hpa_rules(spec: &Value, e: &mut Vec<String>) {
    let min = int(spec, "/minReplicas").unwrap_or(1);
    if min < 1 {
        e.push("minReplicas < 1".into());
    }
    if int(spec, "/maxReplicas").unwrap_or(0) < min {
        e.push("maxReplicas < minReplicas".into());
    }
    for m in spec
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
        let member = match ty {
            "Resource" => "resource",
            "ContainerResource" => "containerResource",
            "Pods" => "pods",
            "Object" => "object",
            "External" => "external",
            _ => {
                e.push(format!("metrics[].type {ty:?}"));
                continue;
            }
        };
        let target = m
            .pointer(&format!("/{member}/target/type"))
            .and_then(Value::as_str);
        if !matches!(target, Some("Utilization" | "Value" | "AverageValue")) {
            e.push(format!("metrics[].{member}.target.type {target:?}"));
        }
    }
    if let Some(b) = spec.get("behavior") {
        behavior_rules(b, e);
    }
}

fn behavior_rules(b: &Value, e: &mut Vec<String>) {
    for dir in ["scaleUp", "scaleDown"] {
        let Some(r) = b.get(dir) else { continue };
        if !(0..=3600).contains(&int(r, "/stabilizationWindowSeconds").unwrap_or(0)) {
            e.push(format!("{dir}.stabilizationWindowSeconds outside 0..3600"));
        }
        if !matches!(
            r.get("selectPolicy").and_then(Value::as_str),
            None | Some("Max" | "Min" | "Disabled")
        ) {
            e.push(format!("{dir}.selectPolicy"));
        }
        for p in r
            .get("policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !matches!(
                p.get("type").and_then(Value::as_str),
                Some("Pods" | "Percent")
            ) {
                e.push(format!("{dir}.policies[].type"));
            }
            if int(p, "/value").unwrap_or(0) <= 0 {
                e.push(format!("{dir}.policies[].value <= 0"));
            }
            if !(1..=1800).contains(&int(p, "/periodSeconds").unwrap_or(0)) {
                e.push(format!("{dir}.policies[].periodSeconds outside 1..1800"));
            }
        }
    }
}

/// ResourceId formats per scalable dimension.
fn resource_rules(v: &Value, e: &mut Vec<String>) {
    let id = v.get("ResourceId").and_then(Value::as_str).unwrap_or("");
    let dim = v
        .get("ScalableDimension")
        .and_then(Value::as_str)
        .unwrap_or("");
    let parts: Vec<&str> = id.split('/').collect();
    let ok = match dim {
        "sagemaker:variant:DesiredInstanceCount" => {
            parts.len() == 4 && parts[0] == "endpoint" && parts[2] == "variant"
        }
        "sagemaker:inference-component:DesiredCopyCount" => {
            parts.len() == 2 && parts[0] == "inference-component"
        }
        "ecs:service:DesiredCount" => parts.len() == 3 && parts[0] == "service",
        _ => true,
    };
    if !ok {
        e.push(format!("ResourceId `{id}` does not fit {dim}"));
    }
}
