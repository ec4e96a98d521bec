//! KEDA's own validation cases (`tests/upstream/keda.json`, with their
//! provenance), run through the rules every compiled ScaledObject is held
//! to (`validate::server_rules`) and the HPA bounds the engine and the
//! importer assume.

use scalepol_common::defaults::keda::hpa_bounds;
use scalepol_targets::validate::server_rules;
use scalepol_targets::Schema;
use serde_json::{json, Value};

fn cases() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/upstream/keda.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn keda_admission_rules() {
    let doc = cases();
    let mut failures = Vec::new();
    let all = doc["validate"].as_array().unwrap();
    for c in all {
        let object = json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {
                "name": c.get("name").cloned().unwrap_or(json!("so")),
                "annotations": c.get("annotations").cloned().unwrap_or(json!({}))
            },
            "spec": c["spec"],
        });
        let errors = server_rules(Schema::KedaScaledObject, &object);
        match c.get("error").and_then(Value::as_str) {
            None if !errors.is_empty() => {
                failures.push(format!("{}: expected valid, got {errors:?}", c["upstream"]))
            }
            Some(e) if !errors.iter().any(|x| x.contains(e)) => failures.push(format!(
                "{}: expected an error containing {e:?}, got {errors:?}",
                c["upstream"]
            )),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(all.len() >= 33);
}

#[test]
fn keda_hpa_bounds() {
    let doc = cases();
    for c in doc["hpa_bounds"].as_array().unwrap() {
        let n = |k: &str| c[k].as_u64().map(|v| v as u32);
        let want: (u32, u32) = serde_json::from_value(c["expect"].clone()).unwrap();
        assert_eq!(hpa_bounds(n("min"), n("max")), want, "{}", c["upstream"]);
    }
}

/// KEDA's annotation cases: the annotations `import` reads become the
/// pause the engine artifact carries.
#[test]
fn keda_annotations_reach_the_engine() {
    use scalepol_compiler::{check_source, FsLoader};
    let doc = cases();
    for c in doc["annotations"].as_array().unwrap() {
        let so = json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "so", "namespace": "ml", "annotations": c["annotations"]},
            "spec": {
                "scaleTargetRef": {"name": "svc"},
                "minReplicaCount": 1,
                "maxReplicaCount": 10,
                "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}]
            }
        });
        let imported = scalepol_targets::import::import(&so).unwrap();
        let checked = check_source("so.scalepol", &imported.source, &FsLoader);
        let policy = checked.policy.unwrap_or_else(|| {
            panic!(
                "{}: {:?}\n{}",
                c["upstream"], checked.diagnostics, imported.source
            )
        });
        let artifact = scalepol_targets::engine::artifact(&policy);
        let got = serde_json::to_value(&artifact.pools[0].keda).unwrap();
        assert_eq!(got, c["expect"], "{}:\n{}", c["upstream"], imported.source);
    }
}
