//! KEDA in scaler mode: the ScaledObject that calls `scalepol scaler`, the
//! scaler's own manifests (validated against the Kubernetes 1.36 schemas of
//! ConfigMap, Service and StatefulSet), sharded addresses, and the
//! addresses and metrics it refuses.

use scalepol_compiler::model::TargetKind;
use scalepol_compiler::{check_source, FsLoader};
use scalepol_targets::{compile, scaler, validate, Options};

fn policy(name: &str, target: &str, metric: &str) -> scalepol_compiler::model::Policy {
    let text = format!(
        r#"policy {name} {{
  workload deployment "ml/{name}"
  pool main: gpu {{
    accelerator "nvidia-l4" count 2
    replicas 1..8
    capacity 8 concurrent
  }}
  metrics prometheus "http://prometheus.monitoring:9090" {{
    queue = `sum(queue_depth{{app="{name}"}})`
  }}
  scale {{
    on {metric}
  }}
  rule "night cap" when `hour < 6` {{
    replicas <= 2
  }}
  {target}
}}
"#
    );
    let c = check_source(&format!("{name}.scalepol"), &text, &FsLoader);
    assert!(
        c.diagnostics
            .iter()
            .all(|d| d.severity != scalepol_compiler::Severity::Error),
        "{:#?}",
        c.diagnostics
    );
    c.policy.unwrap()
}

#[test]
fn scaled_object_and_manifests() {
    let p = policy(
        "chat",
        r#"target keda { scaler "scalepol-scaler.scalepol.svc:9090" }"#,
        "queue per replica target 4",
    );
    let out = compile(&p, TargetKind::Keda, &Options::default());
    // The rule is the engine's: no approximation warning.
    assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
    let names: Vec<&str> = out.documents.iter().map(|d| d.file_name.as_str()).collect();
    assert_eq!(names, ["chat.keda.yaml", "chat.engine.json"]);
    for d in &out.documents {
        validate::check(d).unwrap();
    }
    let json = scalepol_targets::render(&out.documents[1], "", "");
    let (docs, notes) = scaler::manifests(&[(&p, json)]);
    assert!(notes.is_empty());
    validate::check(&docs[0]).unwrap();
    insta::assert_snapshot!(
        "scaler_mode",
        format!(
            "{}\n{}",
            scalepol_targets::render(&out.documents[0], "chat.scalepol", "HASH"),
            scalepol_targets::render(&docs[0], "chat.scalepol", "HASH")
                .replace(env!("CARGO_PKG_VERSION"), "VERSION")
        )
    );
}

#[test]
fn shards_name_each_objects_replica() {
    let target = r#"target keda { scaler "scalepol-scaler-{shard}.scalepol-scaler.scalepol.svc:9090", scaler_shards 3, keda_namespace "autoscaling" }"#;
    let mut seen = std::collections::BTreeSet::new();
    let mut engines = Vec::new();
    let mut policies = Vec::new();
    for i in 0..12 {
        policies.push(policy(
            &format!("model-{i}"),
            target,
            "queue per replica target 4",
        ));
    }
    for p in &policies {
        let out = compile(p, TargetKind::Keda, &Options::default());
        let so = &out.documents[0].body;
        let addr = so["spec"]["triggers"][0]["metadata"]["scalerAddress"]
            .as_str()
            .unwrap();
        let shard = scalepol_common::shard::shard_of("ml", &p.name, 3);
        assert_eq!(
            addr,
            format!("scalepol-scaler-{shard}.scalepol-scaler.scalepol.svc:9090")
        );
        seen.insert(shard);
        engines.push((p, scalepol_targets::render(&out.documents[1], "", "")));
    }
    assert_eq!(seen.len(), 3, "twelve objects spread over the three shards");
    let (docs, _) = scaler::manifests(&engines);
    assert_eq!(docs.len(), 1);
    validate::check(&docs[0]).unwrap();
    let items = docs[0].body["items"].as_array().unwrap();
    assert_eq!(items[0]["data"].as_object().unwrap().len(), 12);
    let sts = &items[2];
    assert_eq!(sts["spec"]["replicas"], 3);
    let args: Vec<&str> = sts["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.contains(&"--shards=3") && args.contains(&"--shard=hostname"),
        "{args:?}"
    );
    // Only KEDA's namespace may call the gRPC port.
    let from = &items[3]["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"];
    assert_eq!(from["kubernetes.io/metadata.name"], "autoscaling");
}

#[test]
fn addresses_and_metrics_the_scaler_cannot_serve_are_refused() {
    for (target, says) in [
        (
            r#"target keda { scaler "http://scaler:9090" }"#,
            "is not HOST:PORT",
        ),
        (r#"target keda { scaler "scaler" }"#, "is not HOST:PORT"),
        (r#"target keda { scaler "scaler:0" }"#, "is not HOST:PORT"),
        (
            r#"target keda { scaler "scaler.ns.svc:9090", scaler_shards 2 }"#,
            "need `{shard}`",
        ),
        (
            r#"target keda { scaler "s-{shard}.s.ns.svc:9090" }"#,
            "there is one shard",
        ),
    ] {
        let p = policy("bad", target, "queue per replica target 4");
        let out = compile(&p, TargetKind::Keda, &Options::default());
        assert!(out.has_errors(), "{target}");
        let msg = &out.diagnostics[0].message;
        assert!(msg.contains(says), "{target}: {msg}");
        assert!(out.documents.is_empty(), "{target}: nothing is written");
    }
    // The scaler reads Prometheus: a target on CPU cannot be served.
    let p = policy(
        "cpu",
        r#"target keda { scaler "scaler.ns.svc:9090" }"#,
        "cpu target 70%",
    );
    let out = compile(&p, TargetKind::Keda, &Options::default());
    assert!(out.has_errors());
    assert!(
        out.diagnostics[0].message.contains("`cpu`"),
        "{:?}",
        out.diagnostics
    );
    // An address outside the cluster: no manifests, a note.
    let p = policy(
        "far",
        r#"target keda { scaler "10.0.0.7:9090" }"#,
        "queue per replica target 4",
    );
    let out = compile(&p, TargetKind::Keda, &Options::default());
    assert!(!out.has_errors());
    let (docs, notes) =
        scaler::manifests(&[(&p, scalepol_targets::render(&out.documents[1], "", ""))]);
    assert!(docs.is_empty());
    assert!(
        notes[0].contains("not an in-cluster Service name"),
        "{notes:?}"
    );
    // Before 1.33 the HPA keeps its tolerance: a warning.
    let p = policy(
        "old",
        r#"target keda { scaler "scaler.ns.svc:9090" }"#,
        "queue per replica target 4",
    );
    let out = compile(
        &p,
        TargetKind::Keda,
        &Options {
            kubernetes: (1, 29),
        },
    );
    assert!(out
        .diagnostics
        .iter()
        .any(|d| d.message.contains("no per-HPA tolerance")));
}

#[test]
fn scaler_tls_authenticates_keda_and_serves_tls() {
    let p = policy(
        "secure",
        r#"target keda { scaler "scalepol-scaler.scalepol.svc:9090", scaler_tls "keda-scaler-client" }"#,
        "queue per replica target 4",
    );
    let out = compile(&p, TargetKind::Keda, &Options::default());
    assert!(!out.has_errors(), "{:#?}", out.diagnostics);
    for d in &out.documents {
        validate::check(d).unwrap();
    }
    let so = &out.documents[0].body;
    assert_eq!(
        so["spec"]["triggers"][0]["authenticationRef"]["name"],
        "secure-scaler-tls"
    );
    let auth = out
        .documents
        .iter()
        .find(|d| d.file_name == "secure.keda-scaler-tls.yaml")
        .unwrap();
    let refs: Vec<(&str, &str, &str)> = auth.body["spec"]["secretTargetRef"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["parameter"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refs,
        [
            ("caCert", "keda-scaler-client", "ca.crt"),
            ("tlsClientCert", "keda-scaler-client", "tls.crt"),
            ("tlsClientKey", "keda-scaler-client", "tls.key"),
        ]
    );
    let artifact = out
        .documents
        .iter()
        .find(|d| d.file_name == "secure.engine.json")
        .unwrap();
    let (docs, _) = scaler::manifests(&[(&p, scalepol_targets::render(artifact, "", ""))]);
    validate::check(&docs[0]).unwrap();
    let pod = &docs[0].body["items"][2]["spec"]["template"]["spec"];
    let args = pod["containers"][0]["args"].to_string();
    assert!(
        args.contains("--tls-client-ca=/etc/scalepol/tls/ca.crt"),
        "{args}"
    );
    assert_eq!(
        pod["volumes"][1]["secret"]["secretName"],
        "scalepol-scaler-tls"
    );
}
