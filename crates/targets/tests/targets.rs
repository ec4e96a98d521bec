//! Every example policy compiled to every target it applies to: each
//! document validated against its schema and snapshotted. The shared schema
//! examples reach both paths of the validator.

use scalepol_compiler::model::TargetKind;
use scalepol_compiler::{check_source, FsLoader, Policy};
use scalepol_targets::{applies, compile, render, validate, yaml, Options, Schema};
use serde_json::json;

fn policies() -> Vec<(String, Policy)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            check_source(&p.to_string_lossy(), &text, &FsLoader)
                .policy
                .map(|x| (stem, x))
        })
        .collect()
}

const TARGETS: [TargetKind; 6] = [
    TargetKind::Hpa,
    TargetKind::Keda,
    TargetKind::Kserve,
    TargetKind::Vpa,
    TargetKind::Aws,
    TargetKind::Engine,
];

#[test]
fn every_policy_compiles_to_valid_documents() {
    let mut compiled = 0;
    for (stem, p) in policies() {
        for target in TARGETS.into_iter().filter(|t| applies(&p, *t)) {
            let out = compile(&p, target, &Options::default());
            let mut text = String::new();
            for d in &out.diagnostics {
                text.push_str(&format!("# {} {:?}: {}\n", d.code, d.severity, d.message));
            }
            for doc in &out.documents {
                validate::check(doc).unwrap_or_else(|e| panic!("{stem} -> {target:?}: {e}"));
                text.push_str(&format!(
                    "--- {}\n{}",
                    doc.file_name,
                    render(doc, &format!("policies/{stem}.scalepol"), "0000")
                ));
                compiled += 1;
            }
            let name = format!(
                "{stem}@{}",
                scalepol_targets::capability::target_name(target)
            );
            insta::assert_snapshot!(name, text);
        }
    }
    assert!(compiled >= 20, "only {compiled} documents");
}

#[test]
fn older_kubernetes_gets_no_tolerance_field() {
    let (_, p) = policies()
        .into_iter()
        .find(|(s, _)| s == "reranker-multi-metric")
        .unwrap();
    let new = compile(&p, TargetKind::Hpa, &Options::default());
    let old = compile(
        &p,
        TargetKind::Hpa,
        &Options {
            kubernetes: (1, 29),
        },
    );
    assert!(new.documents[0]
        .body
        .pointer("/spec/behavior/scaleUp/tolerance")
        .is_some());
    assert!(old.documents[0]
        .body
        .pointer("/spec/behavior/scaleUp/tolerance")
        .is_none());
    assert!(old.diagnostics.iter().any(|d| d.code == "SP0701"
        && d.message
            .contains("Kubernetes 1.29 has no per-direction tolerance")));
    assert!(!new
        .diagnostics
        .iter()
        .any(|d| d.message.contains("per-direction tolerance")));
    validate::check(&old.documents[0]).unwrap();
}

fn example(name: &str) -> Vec<serde_json::Value> {
    let path = format!(
        "{}/tests/schema-examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    if name.ends_with(".json") {
        vec![serde_json::from_str(&text).unwrap()]
    } else {
        yaml::from_str_all(&text).unwrap()
    }
}

#[test]
fn shared_schema_examples_reach_both_paths() {
    let cases = [
        ("hpa-autoscaling-v2-k8s-1.36", Schema::Hpa136),
        ("hpa-autoscaling-v2-k8s-1.29", Schema::Hpa129),
        ("keda-scaledobject-v1alpha1", Schema::KedaScaledObject),
        ("kserve-inferenceservice-v1beta1", Schema::Kserve),
        (
            "aws-application-autoscaling-RegisterScalableTarget",
            Schema::AwsRegister,
        ),
        (
            "aws-application-autoscaling-PutScalingPolicy",
            Schema::AwsPolicy,
        ),
        (
            "aws-application-autoscaling-PutScheduledAction",
            Schema::AwsSchedule,
        ),
    ];
    let dir = format!("{}/tests/schema-examples", env!("CARGO_MANIFEST_DIR"));
    let files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for (prefix, schema) in cases {
        let mut seen = (0, 0);
        for f in files
            .iter()
            .filter(|f| f.starts_with(&format!("{prefix}.")))
        {
            for doc in example(f) {
                let errors = validate::against(schema, &doc);
                if f.contains(".valid") {
                    assert!(errors.is_empty(), "{f}: {errors:?}");
                    seen.0 += 1;
                } else {
                    assert!(!errors.is_empty(), "{f} should be rejected");
                    seen.1 += 1;
                }
            }
        }
        assert!(seen.0 > 0 && seen.1 > 0, "{prefix}: {seen:?}");
    }
}

#[test]
fn server_side_rules_catch_what_schemas_do_not() {
    let hpa = serde_json::json!({"spec": {"minReplicas": 0, "maxReplicas": 3, "behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 3600}]}}}});
    let errors = validate::server_rules(Schema::Hpa136, &hpa);
    assert_eq!(errors.len(), 3, "{errors:?}");
    let reg = serde_json::json!({"ResourceId": "endpoint/x", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount", "MinCapacity": 5, "MaxCapacity": 2});
    assert_eq!(validate::server_rules(Schema::AwsRegister, &reg).len(), 2);
}

#[test]
fn targets_doc_is_generated() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/targets.md");
    let expected = scalepol_targets::capability::markdown();
    if std::env::var_os("SCALEPOL_BLESS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/targets.md is out of date: run `SCALEPOL_BLESS=1 cargo test -p scalepol-targets`"
    );
}

/// Every feature of the table is exercised by at least one example policy.
#[test]
fn every_feature_is_used_by_an_example() {
    let ps = policies();
    for f in scalepol_targets::capability::Feature::ALL {
        let used = ps.iter().any(|(_, p)| {
            p.pools.iter().any(|pool| {
                scalepol_targets::features(p, pool)
                    .iter()
                    .any(|(x, _)| *x == f)
            })
        });
        assert!(used, "no example policy uses {}", f.name());
    }
}

fn one(text: &str) -> Policy {
    let c = check_source("t.scalepol", text, &FsLoader);
    c.policy.unwrap_or_else(|| panic!("{:?}", c.diagnostics))
}

#[test]
fn a_target_refuses_a_workload_it_cannot_scale() {
    let p = one("policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 1..4\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n");
    let out = compile(&p, TargetKind::Aws, &Options::default());
    assert_eq!(
        out.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["SP0703"]
    );
    assert!(out.documents.is_empty());
    assert!(!applies(&p, TargetKind::Kserve) && applies(&p, TargetKind::Hpa));
}

#[test]
fn vpa_and_hpa_on_the_same_resource_warn() {
    let p = one("policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 1..4\n    vertical { cpu 1..4 cores }\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n");
    let out = compile(&p, TargetKind::Vpa, &Options::default());
    assert_eq!(
        out.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["SP0704"]
    );
    validate::check(&out.documents[0]).unwrap();
}

#[test]
fn endpoint_variants_cannot_scale_to_zero_but_components_can() {
    let text = |kind: &str| {
        let name = if kind == "sagemaker-variant" {
            "ep/AllTraffic"
        } else {
            "chat-component"
        };
        format!("policy svc {{\n  workload {kind} \"{name}\"\n  pool main: cpu {{\n    replicas 0..4\n  }}\n  metrics cloudwatch \"us-east-1\" {{\n    inv = `AWS/SageMaker/InvocationsPerCopy`\n  }}\n  scale {{\n    on inv target 10\n  }}\n}}\n")
    };
    let variant = compile(
        &one(&text("sagemaker-variant")),
        TargetKind::Aws,
        &Options::default(),
    );
    assert!(variant
        .diagnostics
        .iter()
        .any(|d| d.code == "SP0702" && d.message.contains("inference components can")));
    let component = compile(
        &one(&text("sagemaker-component")),
        TargetKind::Aws,
        &Options::default(),
    );
    assert!(!component.has_errors(), "{:?}", component.diagnostics);
    for d in &component.documents {
        validate::check(d).unwrap();
    }
}

/// compile(import(compile(p))) == compile(p): importing what scalepol wrote
/// gives back a policy that compiles to the same objects.
#[test]
fn import_round_trips_compiled_hpa_and_keda() {
    let mut trips = 0;
    for (stem, p) in policies() {
        for target in [
            TargetKind::Hpa,
            TargetKind::Keda,
            TargetKind::Vpa,
            TargetKind::Kserve,
        ]
        .into_iter()
        .filter(|t| applies(&p, *t))
        // In scaler mode the policy is the artifact's source: import refuses.
        .filter(|t| *t != TargetKind::Keda || scalepol_targets::scaler::address(&p).is_none())
        {
            let first = compile(&p, target, &Options::default());
            let Some(doc) = first.documents.first().filter(|_| !first.has_errors()) else {
                continue;
            };
            let imported = scalepol_targets::import::import(&doc.body)
                .unwrap_or_else(|e| panic!("{stem}: {e}"));
            let again = one(&imported.source);
            let second = compile(&again, target, &Options::default());
            // Authentication lives in a separate TriggerAuthentication that a
            // ScaledObject alone cannot give back (the import notes it).
            let without_auth = |v: &serde_json::Value| {
                let mut v = v.clone();
                for t in v
                    .pointer_mut("/spec/triggers")
                    .and_then(|t| t.as_array_mut())
                    .into_iter()
                    .flatten()
                {
                    if let Some(o) = t.as_object_mut() {
                        o.remove("authenticationRef");
                    }
                    if let Some(m) = t.pointer_mut("/metadata").and_then(|m| m.as_object_mut()) {
                        m.remove("authModes");
                    }
                }
                v
            };
            assert_eq!(
                without_auth(&second.documents[0].body),
                without_auth(&doc.body),
                "{stem} -> {target:?} -> import:\n{}",
                imported.source
            );
            trips += 1;
        }
    }
    assert!(trips >= 12, "{trips}");
}

/// The AWS documents of every policy for AWS, imported from the
/// CloudFormation template and, separately, from the request files, compile
/// back to the same documents.
#[test]
fn import_round_trips_compiled_aws() {
    let mut trips = 0;
    // And with a schedule, which becomes a start and an end action.
    let path = format!(
        "{}/../../policies/ecs-asr.scalepol",
        env!("CARGO_MANIFEST_DIR")
    );
    let scheduled = std::fs::read_to_string(path).unwrap().replacen(
        "  target aws {",
        "  schedule \"weekday peak\" cron \"0 8 * * MON-FRI\" for 10h tz \"Europe/Berlin\" { replicas 6..24 }\n\n  target aws {",
        1,
    );
    let mut all = policies();
    all.push(("ecs-asr-scheduled".into(), one(&scheduled)));
    // And a formula, which becomes metric math.
    all.push(("sqs-formula".into(), one(r#"policy sqs-workers {
  workload ecs-service "jobs/workers"
  pool tasks: cpu {
    replicas 1..20
  }
  metrics cloudwatch "us-east-1" {
    visible = `AWS/SQS/ApproximateNumberOfMessagesVisible` dimension "QueueName" = "jobs" statistic sum
    delayed = `AWS/SQS/ApproximateNumberOfMessagesDelayed` dimension "QueueName" = "jobs" statistic sum
  }
  scale {
    on formula `visible + 0.5 * delayed` target 100
  }
  target aws {
    resource "service/jobs/workers"
  }
}
"#)));
    for (stem, p) in all.into_iter().filter(|(_, p)| applies(p, TargetKind::Aws)) {
        let first = compile(&p, TargetKind::Aws, &Options::default());
        assert!(!first.has_errors(), "{stem}: {:?}", first.diagnostics);
        let template: Vec<serde_json::Value> = first
            .documents
            .iter()
            .filter(|d| d.file_name.ends_with("cloudformation.json"))
            .map(|d| d.body.clone())
            .collect();
        let requests: Vec<serde_json::Value> = first
            .documents
            .iter()
            .filter(|d| !d.file_name.ends_with("cloudformation.json"))
            .map(|d| d.body.clone())
            .collect();
        for docs in [template, requests] {
            let imported = scalepol_targets::import::import_aws(&docs);
            assert_eq!(imported.len(), 1, "{stem}");
            let i = imported.into_iter().next().unwrap().unwrap();
            assert!(i.notes.is_empty(), "{stem}: {:?}", i.notes);
            let second = compile(&one(&i.source), TargetKind::Aws, &Options::default());
            let bodies = |e: &scalepol_targets::Emitted| -> Vec<serde_json::Value> {
                e.documents.iter().map(|d| d.body.clone()).collect()
            };
            assert_eq!(bodies(&second), bodies(&first), "{stem}:\n{}", i.source);
            trips += 1;
        }
    }
    assert!(trips >= 8, "{trips}");
}

/// Importing a hand-written HPA keeps what scalepol can express and says
/// what it cannot.
#[test]
fn import_of_a_foreign_hpa_keeps_the_representable_parts() {
    let doc = &example("hpa-autoscaling-v2-k8s-1.36.valid.yaml")[0];
    let imported = scalepol_targets::import::import(doc).unwrap();
    assert_eq!(imported.notes.len(), 2, "{:?}", imported.notes);
    let p = one(&imported.source);
    let out = compile(&p, TargetKind::Hpa, &Options::default());
    let body = &out.documents[0].body;
    for ptr in [
        "/spec/minReplicas",
        "/spec/maxReplicas",
        "/spec/metrics/0",
        "/spec/behavior/scaleUp/policies",
        "/spec/behavior/scaleUp/tolerance",
        "/spec/behavior/scaleDown/policies",
        "/spec/behavior/scaleDown/selectPolicy",
        "/spec/behavior/scaleDown/stabilizationWindowSeconds",
    ] {
        assert!(body.pointer(ptr).is_some(), "{ptr} missing");
        assert_eq!(body.pointer(ptr), doc.pointer(ptr), "{ptr}");
    }
    let queue = body["spec"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m.pointer("/external/metric/name") == Some(&serde_json::json!("queue_depth")))
        .unwrap();
    assert_eq!(
        queue["external"]["target"],
        doc["spec"]["metrics"][4]["external"]["target"]
    );
    // The Object and Pods metrics come back as they were.
    for kind in ["Object", "Pods"] {
        let of = |v: &serde_json::Value| {
            v["spec"]["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["type"] == kind)
                .cloned()
        };
        if let Some(original) = of(doc) {
            let mut original = original;
            // Selectors are named in a note, not carried.
            if let Some(m) = original.pointer_mut(&format!("/{}/metric", kind.to_lowercase())) {
                m.as_object_mut().unwrap().remove("selector");
            }
            // Quantities compare by value (`2k` is written back as `2000`).
            let normal = |v: serde_json::Value| {
                let mut v = v;
                let member = kind.to_lowercase();
                for key in ["value", "averageValue"] {
                    let ptr = format!("/{member}/target/{key}");
                    if let Some(q) = v.pointer_mut(&ptr) {
                        let t = q
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| q.to_string());
                        let (n, f) = match t.strip_suffix('k') {
                            Some(n) => (n.to_string(), 1000.0),
                            None => (t.clone(), 1.0),
                        };
                        *q = serde_json::json!(n.parse::<f64>().unwrap() * f);
                    }
                }
                v
            };
            assert_eq!(of(body).map(normal), Some(normal(original)), "{kind}");
        }
    }
    validate::check(&out.documents[0]).unwrap();
}

/// The runtime loads every artifact the compiler writes.
#[test]
fn every_engine_artifact_loads_in_the_runtime() {
    for (stem, p) in policies() {
        let out = compile(&p, TargetKind::Engine, &Options::default());
        let text = serde_json::to_string(&out.documents[0].body).unwrap();
        scalepol_runtime::Engine::load(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
    }
}

/// The preStop `sleep` action exists from Kubernetes 1.30; before, the
/// drain patch waits with an `exec` of `sleep` (a 1.29 Pod schema has no
/// `sleep` handler).
#[test]
fn drain_patches_fit_the_kubernetes_version() {
    let (_, p) = policies()
        .into_iter()
        .find(|(s, _)| s == "chat-llama3")
        .unwrap();
    let patch = |version| {
        let out = compile(
            &p,
            TargetKind::Keda,
            &Options {
                kubernetes: version,
            },
        );
        let doc = out
            .documents
            .iter()
            .find(|d| d.file_name.ends_with(".drain-patch.yaml"))
            .expect("a drain patch")
            .body
            .clone();
        doc[1]["value"]["preStop"].clone()
    };
    assert!(patch((1, 36)).get("sleep").is_some());
    assert!(patch((1, 30)).get("sleep").is_some());
    let old = patch((1, 29));
    assert!(old.get("sleep").is_none(), "{old}");
    assert_eq!(old["exec"]["command"][0], "sleep");
}

/// What KEDA's admission webhook would refuse is a compile error (SP0705),
/// never an object the cluster rejects: a name whose generated HPA name
/// exceeds a label value, scale to zero on CPU or memory alone.
#[test]
fn keda_refusals_are_compile_errors() {
    let long = format!(
        "policy {} {{\n  workload deployment \"ml/svc\"\n  pool main: cpu {{\n    replicas 1..4\n  }}\n  scale {{\n    on cpu target 70%\n  }}\n}}\n",
        "a".repeat(55)
    );
    let zero = "policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 0..4\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n";
    for (text, needle) in [
        (long.as_str(), "more than 54"),
        (zero, "CPU or memory only"),
    ] {
        let out = compile(&one(text), TargetKind::Keda, &Options::default());
        assert!(out.documents.is_empty());
        let d = out.diagnostics.iter().find(|d| d.code == "SP0705").unwrap();
        assert!(d.message.contains(needle), "{}", d.message);
    }
    // At 54 characters, and with a floor of one, both compile and validate.
    let fits = long.replace(&"a".repeat(55), &"a".repeat(54));
    let floor = zero.replace("0..4", "1..4");
    for text in [fits, floor] {
        let out = compile(&one(&text), TargetKind::Keda, &Options::default());
        assert!(!out.has_errors(), "{:?}", out.diagnostics);
        validate::check(&out.documents[0]).unwrap();
    }
}

fn kserve_policy(target: &str, mode: &str) -> Policy {
    one(&format!(
        "policy bert {{\n  workload inferenceservice \"ml/bert\"\n  pool predictor: cpu {{\n    replicas 0..8\n    capacity 8 concurrent\n  }}\n  metrics prometheus \"http://prom:9090\" {{\n    concurrency = `sum(revision_app_request_concurrency)`\n  }}\n  scale {{\n    {target}\n  }}\n  target kserve {{ {mode} }}\n}}\n"
    ))
}

/// KServe's modes and classes as its admission webhook accepts them: the
/// `hpa` class of Standard mode scales on cpu or memory only, the `keda`
/// class takes KServe's `autoScaling.metrics`, Knative mode needs Knative's
/// HPA class for CPU. What KServe would refuse is SP0705, never a document.
#[test]
fn kserve_modes_compile_to_what_its_webhook_accepts() {
    let compile_one = |target: &str, mode: &str| {
        compile(
            &kserve_policy(target, mode),
            TargetKind::Kserve,
            &Options::default(),
        )
    };
    // Standard + hpa on concurrency: refused.
    let out = compile_one("on concurrency per replica target 6", "mode standard");
    assert!(out.documents.is_empty());
    assert!(out
        .diagnostics
        .iter()
        .any(|d| d.code == "SP0705" && d.message.contains("cpu or memory")));
    // Standard + hpa on CPU: scaleMetric cpu, floor 1.
    let out = compile_one("on cpu target 70%", "mode standard");
    let body = &out.documents[0].body;
    assert_eq!(
        body.pointer("/metadata/annotations/serving.kserve.io~1deploymentMode"),
        Some(&json!("Standard"))
    );
    assert_eq!(
        body.pointer("/spec/predictor/scaleMetric"),
        Some(&json!("cpu"))
    );
    assert_eq!(body.pointer("/spec/predictor/minReplicas"), Some(&json!(1)));
    validate::check(&out.documents[0]).unwrap();
    // Standard + keda on a Prometheus query: autoScaling.metrics, zero allowed.
    let out = compile_one(
        "on concurrency per replica target 6",
        "mode standard\n  autoscaler keda",
    );
    let body = &out.documents[0].body;
    assert_eq!(
        body.pointer("/spec/predictor/autoScaling/metrics/0/type"),
        Some(&json!("External"))
    );
    assert_eq!(
        body.pointer("/spec/predictor/autoScaling/metrics/0/external/target/value"),
        Some(&json!("6"))
    );
    assert_eq!(body.pointer("/spec/predictor/minReplicas"), Some(&json!(0)));
    assert!(body.pointer("/spec/predictor/scaleMetric").is_none());
    validate::check(&out.documents[0]).unwrap();
    // Knative mode on CPU: Knative's HPA class, floor 1.
    let out = compile_one("on cpu target 70%", "mode serverless");
    let body = &out.documents[0].body;
    assert_eq!(
        body.pointer("/metadata/annotations/serving.kserve.io~1deploymentMode"),
        Some(&json!("Knative"))
    );
    assert_eq!(
        body.pointer("/spec/predictor/annotations/autoscaling.knative.dev~1class"),
        Some(&json!("hpa.autoscaling.knative.dev"))
    );
    assert_eq!(body.pointer("/spec/predictor/minReplicas"), Some(&json!(1)));
    validate::check(&out.documents[0]).unwrap();
    // The rules hold hand-written objects to the same (the webhook's) limits.
    let refused = |annotations: serde_json::Value, predictor: serde_json::Value| {
        validate::server_rules(
            Schema::Kserve,
            &json!({"metadata": {"name": "x", "annotations": annotations}, "spec": {"predictor": predictor}}),
        )
    };
    assert!(!refused(
        json!({"serving.kserve.io/deploymentMode": "RawDeployment"}),
        json!({"scaleMetric": "concurrency"})
    )
    .is_empty());
    assert!(!refused(json!({}), json!({"scaleMetric": "cpu"})).is_empty());
    assert!(!refused(json!({"serving.kserve.io/deploymentMode": "Standard", "serving.kserve.io/autoscalerClass": "kpa"}), json!({})).is_empty());
    assert!(refused(
        json!({"serving.kserve.io/deploymentMode": "Serverless"}),
        json!({"scaleMetric": "rps"})
    )
    .is_empty());
}

/// Schedules that end after midnight get their end action (AWS) and their
/// end time (KEDA) on the next day.
#[test]
fn schedules_past_midnight_end_the_next_day() {
    let text = "policy api {\n  workload deployment \"ml/api\"\n  pool main: cpu {\n    replicas 1..10\n  }\n  metrics prometheus \"http://prom:9090\" {\n    queue = `sum(q)`\n  }\n  scale {\n    on queue per replica target 10\n  }\n  schedule \"night\" cron \"0 22 * * MON-FRI\" for 10h tz \"UTC\" {\n    replicas 4..10\n  }\n}\n";
    let out = compile(&one(text), TargetKind::Keda, &Options::default());
    let body = &out.documents[0].body;
    let cron = body["spec"]["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "cron")
        .expect("a cron trigger");
    assert_eq!(cron["metadata"]["end"], "0 8 * * TUE,WED,THU,FRI,SAT");
    let sagemaker = text
        .replace("deployment \"ml/api\"", "sagemaker-variant \"api/AllTraffic\"")
        .replace("metrics prometheus \"http://prom:9090\" {\n    queue = `sum(q)`\n  }", "metrics cloudwatch \"us-east-1\" {\n    queue = `AWS/SageMaker/InvocationsPerInstance`\n  }");
    let out = compile(&one(&sagemaker), TargetKind::Aws, &Options::default());
    assert!(
        !out.diagnostics
            .iter()
            .any(|d| d.message.contains("no end action")),
        "{:?}",
        out.diagnostics
    );
    let end = out
        .documents
        .iter()
        .find(|d| d.file_name.contains("night-end"))
        .expect("an end action");
    assert_eq!(end.body["Schedule"], "cron(0 8 ? * TUE,WED,THU,FRI,SAT *)");
    validate::check(end).unwrap();
}

/// A CloudWatch metric's dimensions, statistic and unit reach both the AWS
/// policy and KEDA's trigger (without them an SQS queue's metric has no
/// data).
#[test]
fn cloudwatch_dimensions_reach_aws_and_keda() {
    let text = |workload: &str| {
        format!("policy jobs {{\n  workload {workload}\n  pool main: cpu {{\n    replicas 1..10\n  }}\n  metrics cloudwatch \"us-east-1\" {{\n    backlog = `AWS/SQS/ApproximateNumberOfMessagesVisible` dimension \"QueueName\" = \"jobs\" dimension \"Env\" = \"prod\" statistic sum unit \"Count\"\n  }}\n  scale {{\n    on backlog per replica target 20\n  }}\n}}\n")
    };
    let out = compile(
        &one(&text("ecs-service \"jobs-cluster/jobs\"")),
        TargetKind::Aws,
        &Options::default(),
    );
    let policy = out
        .documents
        .iter()
        .find(|d| d.file_name.contains("02-policy"))
        .expect("a scaling policy");
    let spec =
        &policy.body["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"];
    assert_eq!(
        spec["Dimensions"],
        json!([{"Name": "QueueName", "Value": "jobs"}, {"Name": "Env", "Value": "prod"}])
    );
    assert_eq!(spec["Statistic"], "Sum");
    assert_eq!(spec["Unit"], "Count");
    validate::check(policy).unwrap();
    let out = compile(
        &one(&text("deployment \"ml/jobs\"")),
        TargetKind::Keda,
        &Options::default(),
    );
    let md = &out.documents[0].body["spec"]["triggers"][0]["metadata"];
    assert_eq!(md["dimensionName"], "QueueName;Env");
    assert_eq!(md["dimensionValue"], "jobs;prod");
    assert_eq!(md["metricStat"], "Sum");
    assert_eq!(md["metricUnit"], "Count");
    validate::check(&out.documents[0]).unwrap();
}
