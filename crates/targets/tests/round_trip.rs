//! Import fidelity judged by the decision engine: a manifest imported, and
//! the same manifest compiled back and imported again, must make the same
//! decisions on generated observation streams; a composite metric
//! (`advanced.scalingModifiers`) must be evaluated as KEDA evaluates it.

use scalepol_compiler::{check_source, model::TargetKind, FsLoader};
use scalepol_runtime::{Engine, Observation, State};
use scalepol_targets::{compile, engine, import, Options};
use serde_json::{json, Value};

/// The engine of an imported manifest, and the imported policy's text.
fn engine_of(manifest: &Value) -> (Engine, String) {
    let imported = import::import(manifest).unwrap_or_else(|e| panic!("{e}: {manifest}"));
    let checked = check_source("imported.scalepol", &imported.source, &FsLoader);
    let policy = checked
        .policy
        .unwrap_or_else(|| panic!("{:?}\n{}", checked.diagnostics, imported.source));
    let e = Engine::new(engine::artifact(&policy)).expect("the artifact loads");
    (e, imported.source)
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f64 / 10_000.0
    }
}

/// `steps` observations of `metrics` every 15 s: a random walk with bursts,
/// and now and then a metric that cannot be read.
fn stream(metrics: &[&str], seed: u64, steps: usize) -> Vec<(f64, Vec<(String, f64)>)> {
    let mut rng = Rng(seed | 1);
    let mut level: Vec<f64> = metrics.iter().map(|_| 10.0).collect();
    (0..steps)
        .map(|i| {
            let values = metrics
                .iter()
                .zip(level.iter_mut())
                .filter_map(|(m, l)| {
                    let burst = if rng.next() > 0.95 { 60.0 } else { 0.0 };
                    *l = (*l + (rng.next() - 0.5) * 12.0 + burst).max(0.0) * 0.97;
                    (rng.next() > 0.02).then(|| (m.to_string(), *l))
                })
                .collect();
            (1_700_000_000.0 + 15.0 * i as f64, values)
        })
        .collect()
}

/// Runs both engines over the stream, each at the count it decided, and
/// returns the first step where they differ.
fn first_difference(a: &Engine, b: &Engine, metrics: &[&str], seed: u64) -> Option<String> {
    let (mut sa, mut sb) = (State::default(), State::default());
    let mut replicas = 3;
    for (now, values) in stream(metrics, seed, 400) {
        let obs = Observation {
            replicas,
            metrics: values.into_iter().collect(),
            ..Default::default()
        };
        let da = a.decide(0, &mut sa, &obs, now).unwrap();
        let db = b.decide(0, &mut sb, &obs, now).unwrap();
        if da.desired != db.desired {
            return Some(format!(
                "at {now}: {} vs {} ({:?}): {} | {}",
                da.desired, db.desired, obs.metrics, da.reason, db.reason
            ));
        }
        replicas = da.desired;
    }
    None
}

/// compile(import(x)) imported again decides as import(x) does.
fn assert_round_trip(manifest: &Value, target: TargetKind, metrics: &[&str]) {
    let (first, source) = engine_of(manifest);
    let policy = check_source("imported.scalepol", &source, &FsLoader)
        .policy
        .unwrap();
    let out = compile(&policy, target, &Options::default());
    assert!(!out.has_errors(), "{:?}\n{source}", out.diagnostics);
    let (second, again) = engine_of(&out.documents[0].body);
    for seed in [1, 7, 42, 1234] {
        if let Some(d) = first_difference(&first, &second, metrics, seed) {
            panic!("seed {seed}: {d}\nfirst:\n{source}\nsecond:\n{again}");
        }
    }
}

/// The scalingModifiers example of KEDA's documentation (keda-docs,
/// content/docs/2.20/reference/scaledobject-spec.md, "scalingModifiers":
/// formula `(trig_one + trig_two)/2`, target 2, AverageValue), with
/// Prometheus triggers in place of the example's `kubernetes-workload` and
/// `metrics-api` ones, which scalepol does not read, and an activation
/// target of 1 where the example has 2: an activation at the target is
/// refused by `check` (SP0533: a pool at zero would wake only at full load).
fn keda_docs_modifiers() -> Value {
    let trigger = |name: &str, query: &str| {
        json!({"type": "prometheus", "name": name, "metadata": {
            "serverAddress": "http://prometheus:9090", "query": query, "threshold": "5"}})
    };
    json!({
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "composite", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"name": "workload"},
            "minReplicaCount": 1,
            "maxReplicaCount": 40,
            "advanced": {"scalingModifiers": {
                "formula": "(trig_one + trig_two)/2",
                "target": "2",
                "activationTarget": "1",
                "metricType": "AverageValue"
            }},
            "triggers": [trigger("trig_one", "sum(queue_a)"), trigger("trig_two", "sum(queue_b)")]
        }
    })
}

/// The engine proposes what KEDA's HPA computes from the composite metric:
/// the formula over the raw trigger values, an AverageValue target, the
/// HPA's 10% tolerance (replica_calculator.go, GetExternalMetricReplicas).
#[test]
fn a_formula_proposes_what_kedas_composite_metric_makes_the_hpa_propose() {
    let (e, source) = engine_of(&keda_docs_modifiers());
    assert!(
        source.contains("on formula `(trig_one + trig_two) / 2.0` per replica target 2 activate 1"),
        "{source}"
    );
    let mut checked = 0;
    for (now, values) in stream(&["trig_one", "trig_two"], 9, 300) {
        let current = 1 + (now as u32 % 13);
        let obs = Observation {
            replicas: current,
            metrics: values.iter().cloned().collect(),
            ..Default::default()
        };
        let d = e.decide(0, &mut State::default(), &obs, now).unwrap();
        let proposal = d.proposals[0].replicas;
        let want = match (obs.metrics.get("trig_one"), obs.metrics.get("trig_two")) {
            (Some(a), Some(b)) => {
                let composite = (a + b) / 2.0;
                let ratio = composite / (2.0 * f64::from(current));
                Some(if (ratio - 1.0).abs() <= 0.1 {
                    current
                } else {
                    (composite / 2.0).ceil() as u32
                })
            }
            // A trigger that fails fails the composite metric.
            _ => None,
        };
        assert_eq!(
            proposal, want,
            "{:?} at {current}: {}",
            obs.metrics, d.reason
        );
        checked += 1;
    }
    assert_eq!(checked, 300);
}

#[test]
fn scaling_modifiers_round_trip_through_import_compile_and_the_engine() {
    assert_round_trip(
        &keda_docs_modifiers(),
        TargetKind::Keda,
        &["trig_one", "trig_two"],
    );
}

/// A formula KEDA accepts but CEL reads differently is refused, not bent.
#[test]
fn a_formula_outside_the_shared_language_is_refused_by_name() {
    let mut so = keda_docs_modifiers();
    so["spec"]["advanced"]["scalingModifiers"]["formula"] = json!("trig_one ?? trig_two");
    let e = import::import(&so).err().unwrap();
    assert!(
        e.contains("scalingModifiers.formula") && e.contains("trig_one ?? trig_two"),
        "{e}"
    );
    so["spec"]["advanced"]["scalingModifiers"]["formula"] = json!("trig_one + trig_three");
    let e = import::import(&so).err().unwrap();
    assert!(e.contains("`trig_three`, which names no trigger"), "{e}");
}

/// The corpus of upstream manifests (`tests/corpus/corpus.toml`, with the
/// provenance of each): every autoscaler in it imports, and round-trips
/// through the engine, or `import` names precisely what it cannot carry.
#[test]
fn the_upstream_corpus_imports_or_says_why_not() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let index: toml::Table =
        toml::from_str(&std::fs::read_to_string(format!("{dir}/corpus.toml")).unwrap()).unwrap();
    let entries = index["manifest"].as_array().unwrap();
    assert!(entries.len() >= 30, "{} manifests", entries.len());
    let mut listed = Vec::new();
    for e in entries {
        let field = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or("");
        for k in ["repository", "commit", "path", "licence"] {
            assert!(!field(k).is_empty(), "{}: no {k}", field("file"));
        }
        listed.push(field("file").to_string());
        let text = std::fs::read_to_string(format!("{dir}/{}", field("file"))).unwrap();
        let docs = scalepol_targets::yaml::from_str_all(&text).unwrap();
        let autoscalers: Vec<&Value> = docs.iter().filter(|d| import::is_autoscaler(d)).collect();
        assert_eq!(autoscalers.len(), 1, "{}", field("file"));
        let result = import::import_in(autoscalers[0], &docs);
        match (field("expect"), result) {
            ("imports", Ok(i)) => {
                assert!(i.notes.is_empty(), "{}: {:?}", field("file"), i.notes);
                let target = match field("round_trip") {
                    "keda" => TargetKind::Keda,
                    "kserve" => TargetKind::Kserve,
                    "vpa" => TargetKind::Vpa,
                    "hpa" => TargetKind::Hpa,
                    "none" => {
                        // Still a policy that checks; why it cannot go back is recorded.
                        assert!(!field("why").is_empty(), "{}: no `why`", field("file"));
                        let checked = check_source("i.scalepol", &i.source, &FsLoader);
                        let policy = checked.policy.unwrap_or_else(|| {
                            panic!("{}: {:?}", field("file"), checked.diagnostics)
                        });
                        // The compile to the source's own platform is refused, as the `why` says.
                        assert!(
                            compile(&policy, TargetKind::Keda, &Options::default()).has_errors(),
                            "{}: compiles after all",
                            field("file")
                        );
                        continue;
                    }
                    other => panic!("{}: round_trip {other:?}", field("file")),
                };
                let metrics: Vec<&str> = e["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|m| m.as_str())
                    .collect();
                assert_round_trip(autoscalers[0], target, &metrics);
            }
            ("lossy", Ok(i)) => assert!(
                i.notes.iter().any(|n| n.contains(field("reason"))),
                "{}: {:?}",
                field("file"),
                i.notes
            ),
            ("refused", Err(why)) => {
                assert!(why.contains(field("reason")), "{}: {why}", field("file"))
            }
            (want, got) => panic!(
                "{}: expected {want}, got {:?}",
                field("file"),
                got.map(|i| i.notes)
            ),
        }
    }
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|f| f.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    listed.sort();
    assert_eq!(
        files, listed,
        "every corpus file has an entry, and only those"
    );
}

/// In a stream, the workload an autoscaler names gives what the autoscaler
/// leaves out: here the replica count of the Deployment a VPA sizes.
#[test]
fn a_stream_lends_its_workload_to_the_import() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let text = std::fs::read_to_string(format!("{dir}/vpa-hamster.yaml")).unwrap();
    let docs = scalepol_targets::yaml::from_str_all(&text).unwrap();
    let vpa = docs.iter().find(|d| import::is_autoscaler(d)).unwrap();
    let alone = import::import(vpa).unwrap();
    assert!(
        alone
            .source
            .contains("replicas 1..1 // the VPA does not set"),
        "{}",
        alone.source
    );
    let streamed = import::import_in(vpa, &docs).unwrap();
    assert!(
        streamed
            .source
            .contains("replicas 2..2 // the workload's own count"),
        "{}",
        streamed.source
    );
}
