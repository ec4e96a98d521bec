//! Conformance with upstream: cases ported from the Kubernetes HPA
//! controller's tests (numbers only, as data in `conformance/*.json`), run
//! through the same `decide()` as everything else. Each case names its
//! upstream test.

use scalepol_runtime::artifact::*;
use scalepol_runtime::{Engine, Observation, State};
use serde_json::Value;

const NOW: f64 = 100_000.0;

fn behavior(v: Option<&Value>, default: BehaviorSpec) -> BehaviorSpec {
    match v {
        Some(v) => serde_json::from_value(v.clone()).unwrap(),
        None => default,
    }
}

fn engine(c: &Value, targets: Vec<TargetSpec>, tolerance: f64) -> Engine {
    let metrics = targets
        .iter()
        .map(|t| MetricSpec {
            name: t.metric.clone(),
            unit: "count".into(),
            source: None,
            endpoint: None,
            query: None,
        })
        .collect();
    let pool = PoolSpec {
        name: "p".into(),
        min: c["min"].as_u64().unwrap() as u32,
        max: c["max"].as_u64().unwrap() as u32,
        targets,
        // Upstream's Tolerances{scaleDown, scaleUp}, when the case sets them.
        tolerance_up: c["tolerances"][1].as_f64().unwrap_or(tolerance),
        tolerance_down: c["tolerances"][0].as_f64().unwrap_or(tolerance),
        up: behavior(c.get("up"), BehaviorSpec::kubernetes_scale_up()),
        down: behavior(c.get("down"), BehaviorSpec::kubernetes_scale_down()),
        cooldown_seconds: 0.0,
        interval_seconds: 15.0,
        fallback: c
            .get("fallback")
            .map(|f| serde_json::from_value(f.clone()).unwrap()),
        warmup_seconds: 0.0,
        legacy: c.get("legacy").and_then(Value::as_bool).unwrap_or(false),
        idle_to_zero: c
            .get("idle_to_zero")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        kpa: None,
        keda: c
            .get("keda")
            .map(|k| serde_json::from_value(k.clone()).unwrap())
            .unwrap_or_default(),
    };
    let a = Artifact {
        format: FORMAT.into(),
        version: VERSION,
        policy: "conformance".into(),
        pools: vec![pool],
        metrics,
        rules: vec![],
        schedules: vec![],
    };
    Engine::new(a).unwrap()
}

fn pairs<T: Copy>(v: Option<&Value>, f: impl Fn(&Value) -> T) -> Vec<(f64, T)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| (NOW + p[0].as_f64().unwrap(), f(&p[1])))
        .collect()
}

#[test]
fn kubernetes_hpa() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/kubernetes-hpa.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut ran = 0;
    for c in doc["behavior_cases"].as_array().unwrap() {
        // The prenormalised recommendation as a per-replica metric with target 1.
        let e = engine(
            c,
            vec![TargetSpec {
                metric: "r".into(),
                mode: Mode::PerReplica,
                target: 1.0,
                activation: None,
                formula: None,
            }],
            0.0,
        );
        let mut state = State::replay(
            pairs(c.get("history"), |v| v.as_u64().unwrap() as u32),
            pairs(c.get("events"), |v| v.as_i64().unwrap()),
        );
        let obs = Observation {
            replicas: c["current"].as_u64().unwrap() as u32,
            metrics: [("r".to_string(), c["recommendation"].as_f64().unwrap())].into(),
            pods: Vec::new(),
            samples: Default::default(),
        };
        let d = e.decide(0, &mut state, &obs, NOW).unwrap();
        ran += 1;
        if d.desired as u64 != c["expect"].as_u64().unwrap() {
            failures.push(format!(
                "{}: expected {}, got {} ({})",
                c["upstream"], c["expect"], d.desired, d.reason
            ));
        }
    }
    for c in doc["controller_cases"].as_array().unwrap() {
        let targets: Vec<TargetSpec> = serde_json::from_value(c["targets"].clone()).unwrap();
        let e = engine(c, targets, 0.1);
        let metrics = c["metrics"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
            .collect();
        let d = e
            .decide(
                0,
                &mut State::default(),
                &Observation {
                    replicas: c["current"].as_u64().unwrap() as u32,
                    metrics,
                    pods: Vec::new(),
                    samples: Default::default(),
                },
                NOW,
            )
            .unwrap();
        ran += 1;
        if d.desired as u64 != c["expect"].as_u64().unwrap() {
            failures.push(format!(
                "{}: expected {}, got {} ({})",
                c["upstream"], c["expect"], d.desired, d.reason
            ));
        }
    }
    for c in doc["legacy_cases"].as_array().unwrap() {
        ran += 1;
        if let Some(f) = whole_controller(c) {
            failures.push(f);
        }
    }
    for c in doc["replica_calc_cases"].as_array().unwrap() {
        ran += 1;
        if let Some(f) = replica_calc(c) {
            failures.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} upstream cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ran >= 202, "{ran}");
}

/// A replica-calculator case: per-pod samples, and no rate limit binding.
fn replica_calc(c: &Value) -> Option<String> {
    let target: TargetSpec = serde_json::from_value(c["target"].clone()).unwrap();
    let mut spec = c.clone();
    spec["min"] = 1.into();
    spec["max"] = c.get("max").cloned().unwrap_or(1000.into());
    let free = serde_json::json!({"policies": [{"kind": "pods", "value": 2147483647_u32, "period_seconds": 15}], "select": "max", "stabilization_seconds": 0});
    spec["up"] = free.clone();
    spec["down"] = free;
    let e = engine(&spec, vec![target], 0.1);
    let pods: Vec<scalepol_runtime::Pod> = serde_json::from_value(c["pods"].clone()).unwrap();
    let obs = observation(c, pods);
    let d = e.decide(0, &mut State::default(), &obs, NOW).unwrap();
    (d.desired as u64 != c["expect"].as_u64().unwrap()).then(|| {
        format!(
            "{}: expected {}, got {} ({})",
            c["upstream"], c["expect"], d.desired, d.reason
        )
    })
}

/// A whole-controller case from horizontal_test.go: an HPA without behavior
/// (the legacy rules) unless the case gives one.
fn whole_controller(c: &Value) -> Option<String> {
    let targets: Vec<TargetSpec> = serde_json::from_value(c["targets"].clone()).unwrap();
    let mut spec = c.clone();
    if spec.get("legacy").is_none() {
        spec["legacy"] = true.into();
    }
    let e = engine(&spec, targets, 0.1);
    let pods: Vec<scalepol_runtime::Pod> =
        serde_json::from_value(c.get("pods").cloned().unwrap_or_default()).unwrap_or_default();
    let obs = observation(c, pods);
    // A test that leaves the recommendations unset gets the controller's
    // seed: the current count, now.
    let mut state = if c.get("seeded").and_then(Value::as_bool) == Some(true) {
        State::new_controller(obs.replicas, NOW)
    } else {
        State::default()
    };
    let d = e.decide(0, &mut state, &obs, NOW).unwrap();
    (d.desired as u64 != c["expect"].as_u64().unwrap()).then(|| {
        format!(
            "{}: expected {}, got {} ({})",
            c["upstream"], c["expect"], d.desired, d.reason
        )
    })
}

/// KEDA's fallback and scale-executor cases: one metric, a few decisions.
#[test]
fn keda() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/keda.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let cases = doc["cases"].as_array().unwrap();
    for c in cases {
        let p = &c["pool"];
        let mut spec = p.clone();
        spec["idle_to_zero"] = p.get("idle_to_zero").cloned().unwrap_or(false.into());
        let target = TargetSpec {
            metric: "m".into(),
            mode: serde_json::from_value(p["mode"].clone()).unwrap(),
            target: p["target"].as_f64().unwrap(),
            activation: None,
            formula: None,
        };
        let e = engine(&spec, vec![target], 0.1);
        let mut state = State::default();
        for (i, step) in c["steps"].as_array().unwrap().iter().enumerate() {
            let metrics = step["value"]
                .as_f64()
                .map(|v| [("m".to_string(), v)].into())
                .unwrap_or_default();
            let obs = Observation {
                replicas: step["current"].as_u64().unwrap() as u32,
                metrics,
                pods: Vec::new(),
                samples: Default::default(),
            };
            let d = e
                .decide(0, &mut state, &obs, NOW + 15.0 * i as f64)
                .unwrap();
            if let Some(want) = step.get("expect_proposal") {
                let got = d.proposals[0].replicas.map(u64::from);
                if got != want.as_u64() {
                    failures.push(format!(
                        "{} step {i}: proposal {want}, got {got:?}",
                        c["upstream"]
                    ));
                }
            }
            if let Some(want) = step.get("expect").and_then(Value::as_u64) {
                if u64::from(d.desired) != want {
                    failures.push(format!(
                        "{} step {i}: expected {want}, got {} ({})",
                        c["upstream"], d.desired, d.reason
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 13);
}

/// Knative's KPA cases, through `kpa::scale`.
#[test]
fn knative_kpa() {
    use scalepol_runtime::kpa::{scale, KpaSpec, KpaState};
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/knative.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    for c in cases {
        let mut spec: KpaSpec = serde_json::from_value(c["spec"].clone()).unwrap();
        let mut reachable = c.get("reachable").and_then(Value::as_bool).unwrap_or(true);
        let mut state = KpaState::starting(c["start_ready"].as_u64().unwrap() as u32, NOW);
        if let Some(p) = c.get("prep") {
            state.panic_time = Some(NOW - p["panic_ago"].as_f64().unwrap());
            state.max_panic_pods = p["max_panic_pods"].as_u64().unwrap() as u32;
        }
        for (i, s) in c["steps"].as_array().unwrap().iter().enumerate() {
            if let Some(sp) = s.get("spec") {
                spec = serde_json::from_value(sp.clone()).unwrap();
            }
            if let Some(r) = s.get("reachable").and_then(Value::as_bool) {
                reachable = r;
            }
            let got = scale(
                &spec,
                &mut state,
                s["ready"].as_u64().unwrap() as u32,
                s["stable"].as_f64().unwrap(),
                s["panic"].as_f64().unwrap(),
                reachable,
                NOW + s["t"].as_f64().unwrap(),
            );
            if u64::from(got) != s["expect"].as_u64().unwrap() {
                failures.push(format!(
                    "{} step {i}: expected {}, got {got}",
                    c["upstream"], s["expect"]
                ));
            }
        }
    }
    for c in doc["start_cases"].as_array().unwrap() {
        let s = KpaState::starting(c["start_ready"].as_u64().unwrap() as u32, NOW);
        let got = (s.panic_time.is_some(), u64::from(s.max_panic_pods));
        let want = (
            c["panic"].as_bool().unwrap(),
            c["max_panic_pods"].as_u64().unwrap(),
        );
        if got != want {
            failures.push(format!("{}: expected {want:?}, got {got:?}", c["upstream"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 30);
}

/// A case's observation: its current count, metrics and pods.
fn observation(c: &Value, pods: Vec<scalepol_runtime::Pod>) -> Observation {
    let metrics = c
        .get("metrics")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    Observation {
        replicas: c["current"].as_u64().unwrap() as u32,
        metrics,
        pods,
        samples: Default::default(),
    }
}
