//! KEDA in external-scaler mode: `target keda { scaler "ADDRESS" }`. The
//! ScaledObject's one trigger calls `scalepol scaler` at ADDRESS, which runs
//! the decision engine with the policy's whole semantics (rules, formulas,
//! schedules, fallback, activation) and answers with the decided count;
//! the HPA that KEDA creates gets a pass-through behavior (no window, no
//! rate limit, no tolerance) so that nothing is smoothed twice. Beside it,
//! `compile` writes the scaler's own objects for the policies of one run
//! (`manifests`): the engines as a ConfigMap, a StatefulSet (one pod per
//! shard) and its headless Service.

use crate::common::{HpaBehavior, HpaPolicy, ScalingRules};
use crate::{Document, Schema};
use scalepol_compiler::codes::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use serde_json::{json, Value};

/// Where the scaler serving a ScaledObject listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalerAddress {
    /// `host:port`, with `{shard}` standing for the shard's number when
    /// there are several.
    pub template: String,
    pub shards: u32,
}

const SHARD: &str = "{shard}";

impl ScalerAddress {
    /// The address a ScaledObject's trigger names.
    pub fn for_object(&self, namespace: &str, name: &str) -> String {
        let shard = scalepol_common::shard::shard_of(namespace, name, self.shards);
        self.template.replace(SHARD, &shard.to_string())
    }

    /// `SERVICE.NAMESPACE.svc[.cluster.local]:PORT`, or with shards
    /// `SERVICE-{shard}.SERVICE.NAMESPACE.svc[...]:PORT`: the in-cluster
    /// names a StatefulSet and its headless Service give; `None` for any
    /// other address (the scaler then runs where the user put it).
    fn in_cluster(&self) -> Option<(String, String, u16)> {
        let (host, port) = self.template.rsplit_once(':')?;
        let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
        let labels: Vec<&str> = host.split('.').collect();
        let labels = if self.shards > 1 {
            let (first, rest) = labels.split_first()?;
            let prefix = first.strip_suffix(&format!("-{SHARD}"))?;
            (rest.first() == Some(&prefix)).then_some(rest)?.to_vec()
        } else {
            labels
        };
        match labels.as_slice() {
            [svc, ns, "svc"] | [svc, ns, "svc", "cluster", "local"] => {
                Some((svc.to_string(), ns.to_string(), port))
            }
            _ => None,
        }
    }
}

fn option<'a>(p: &'a Policy, key: &str) -> Option<&'a str> {
    p.targets
        .iter()
        .find(|t| t.target == TargetKind::Keda)
        .and_then(|t| t.options.iter().find(|(k, _)| k == key))
        .map(|(_, v)| v.as_str())
}

/// The policy's scaler, if it compiles to KEDA in external-scaler mode;
/// an error when the address or the shard count cannot work.
pub fn address(p: &Policy) -> Option<Result<ScalerAddress, Box<Diagnostic>>> {
    let template = option(p, "scaler")?.to_string();
    let span = p
        .targets
        .iter()
        .find(|t| t.target == TargetKind::Keda)
        .map_or(p.name_span, |t| t.span);
    let shards = option(p, "scaler_shards")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1u32);
    let refuse = |msg: String, help: &str| {
        Err(Box::new(
            Diagnostic::new(code::TARGET_REFUSES, FileId(0), span, msg)
                .label("scaler address")
                .help(help.to_string()),
        ))
    };
    let valid_port = template
        .rsplit_once(':')
        .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !valid_port || template.contains("://") || template.chars().any(char::is_whitespace) {
        return Some(refuse(
            format!("keda: the scaler address `{template}` is not HOST:PORT"),
            "write the address KEDA dials, e.g. `scalepol-scaler.scalepol.svc:9090`",
        ));
    }
    let templated = template.contains(SHARD);
    if shards > 1 && !templated {
        return Some(refuse(
            format!("keda: {shards} scaler shards need `{SHARD}` in the address `{template}`"),
            "name each shard's pod, e.g. `scalepol-scaler-{shard}.scalepol-scaler.scalepol.svc:9090`",
        ));
    }
    if shards <= 1 && templated {
        return Some(refuse(
            format!("keda: the scaler address `{template}` has `{SHARD}` but there is one shard"),
            "set `scaler_shards N`, or write the address without `{shard}`",
        ));
    }
    Some(Ok(ScalerAddress { template, shards }))
}

/// The behavior that lets the HPA apply the engine's count as it is: no
/// stabilisation, any change in one period, and (Kubernetes 1.33+) no
/// tolerance band. `bound`: the pool's maximum, the largest change.
pub fn pass_through(bound: u32, with_tolerance: bool) -> HpaBehavior {
    let rules = || ScalingRules {
        stabilization_window_seconds: 0,
        select_policy: "Max",
        policies: vec![HpaPolicy {
            kind: "Pods",
            value: bound.max(1),
            period_seconds: 1,
        }],
        tolerance: with_tolerance.then(|| "0".to_string()),
    };
    HpaBehavior {
        scale_up: rules(),
        scale_down: rules(),
    }
}

/// The trigger's metadata: where to call, and which policy and pool the
/// scaler decides for.
pub fn trigger_metadata(
    p: &Policy,
    pool: &Pool,
    addr: &ScalerAddress,
    object: &str,
) -> std::collections::BTreeMap<&'static str, String> {
    let (ns, _) = p.workload.namespace_and_name();
    let mut md = std::collections::BTreeMap::new();
    md.insert(
        "scalerAddress",
        addr.for_object(ns.unwrap_or("default"), object),
    );
    md.insert("policy", p.name.clone());
    md.insert("pool", pool.name.clone());
    md
}

/// On clusters before 1.33 the HPA keeps its cluster-wide tolerance: a
/// decided change within it (10% by default) is not applied.
pub fn tolerance_warning(p: &Policy, pool: &Pool, opts: &crate::Options) -> Option<Diagnostic> {
    (opts.kubernetes < (1, 33)).then(|| {
        Diagnostic::new(
            code::TARGET_APPROXIMATION,
            FileId(0),
            p.targets
                .iter()
                .find(|t| t.target == TargetKind::Keda)
                .map_or(p.name_span, |t| t.span),
            format!(
                "Kubernetes {}.{} has no per-HPA tolerance: the HPA in front of the scaler skips decided changes within the cluster's tolerance (10% by default) for pool `{}`",
                opts.kubernetes.0, opts.kubernetes.1, pool.name
            ),
        )
        .label("tolerance not settable")
        .help("compile with `--k8s-version 1.33` or later, or set --horizontal-pod-autoscaler-tolerance=0 on the controller manager")
    })
}

/// The scaler's objects for the policies of one compile run that use it:
/// per scaler address, a ConfigMap holding their engine artifacts, a
/// StatefulSet running `scalepol scaler` (one pod per shard, each with a
/// volume for its state) and the headless Service that names the pods.
/// `engines`: each policy with its engine artifact's JSON text. Addresses
/// that are not in-cluster names get a note instead.
pub fn manifests(engines: &[(&Policy, String)]) -> (Vec<Document>, Vec<String>) {
    let mut groups: Vec<(ScalerAddress, Vec<(&Policy, &String)>)> = Vec::new();
    for (p, json) in engines {
        let Some(Ok(addr)) = address(p) else { continue };
        match groups.iter_mut().find(|(a, _)| a.template == addr.template) {
            Some((a, list)) => {
                a.shards = a.shards.max(addr.shards);
                list.push((p, json));
            }
            None => groups.push((addr, vec![(p, json)])),
        }
    }
    let mut docs = Vec::new();
    let mut notes = Vec::new();
    for (addr, list) in groups {
        let Some((service, namespace, port)) = addr.in_cluster() else {
            let names: Vec<&str> = list.iter().map(|(p, _)| p.name.as_str()).collect();
            notes.push(format!(
                "the scaler at `{}` (policies {}) is not an in-cluster Service name: no scaler manifests were written; serve their engine artifacts with `scalepol scaler`",
                addr.template,
                names.join(", ")
            ));
            continue;
        };
        let tls = list
            .iter()
            .filter(|(p, _)| option(p, "scaler_tls").is_some())
            .count();
        if tls > 0 && tls < list.len() {
            notes.push(format!(
                "the scaler at `{}` serves TLS since some of its policies set `scaler_tls`; those that do not cannot reach it",
                addr.template
            ));
        }
        let shape = Shape {
            service: &service,
            namespace: &namespace,
            port,
            shards: addr.shards,
            keda: keda_namespace(&list),
            tls: tls > 0,
        };
        docs.push(
            Document::json(
                format!("{service}.scaler.yaml"),
                Schema::List,
                list_of(&shape, &list),
            )
            .in_yaml(),
        );
    }
    (docs, notes)
}

/// The namespace KEDA runs in (`target keda { keda_namespace "..." }`,
/// default `keda`, where KEDA's charts install it).
fn keda_namespace(policies: &[(&Policy, &String)]) -> String {
    policies
        .iter()
        .find_map(|(p, _)| option(p, "keda_namespace"))
        .unwrap_or("keda")
        .to_string()
}

/// Only KEDA's namespace may call the gRPC port (a call advances an
/// object's controller); the HTTP port (probes, metrics) is open to the
/// cluster, for Prometheus to scrape.
fn network_policy(service: &str, namespace: &str, keda: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": service, "namespace": namespace, "labels": labels(service)},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": service}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": keda}}}],
                    "ports": [{"port": "grpc", "protocol": "TCP"}],
                },
                {"ports": [{"port": "http", "protocol": "TCP"}]},
            ],
        },
    })
}

fn labels(service: &str) -> Value {
    json!({
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/component": "keda-external-scaler",
        "app.kubernetes.io/managed-by": "scalepol",
    })
}

/// What the scaler's objects are made from.
struct Shape<'a> {
    service: &'a str,
    namespace: &'a str,
    port: u16,
    shards: u32,
    /// KEDA's namespace, the only one allowed to call.
    keda: String,
    /// Serve mutual TLS with the Secret `SERVICE-tls`.
    tls: bool,
}

/// A `v1` List: one file `kubectl apply -f` takes whole.
fn list_of(s: &Shape, policies: &[(&Policy, &String)]) -> Value {
    let (service, namespace, port, shards) = (s.service, s.namespace, s.port, s.shards);
    let config = format!("{service}-engines");
    let data: serde_json::Map<String, Value> = policies
        .iter()
        .map(|(p, json)| (format!("{}.json", p.name), Value::String((*json).clone())))
        .collect();
    let meta =
        |name: &str| json!({"name": name, "namespace": namespace, "labels": labels(service)});
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(&config),
        "data": data,
    });
    let headless = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(service),
        "spec": {
            // Headless: each pod has its own name, `SERVICE-N.SERVICE.NAMESPACE.svc`.
            "clusterIP": "None",
            "selector": {"app.kubernetes.io/name": service},
            "ports": [
                {"name": "grpc", "port": port, "targetPort": "grpc"},
                {"name": "http", "port": 8080, "targetPort": "http"},
            ],
        },
    });
    let stateful_set = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(service),
        "spec": {
            "serviceName": service,
            "replicas": shards,
            // Shards are independent: start and stop them together.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app.kubernetes.io/name": service}},
            "template": {
                "metadata": {
                    "labels": labels(service),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": "8080",
                    },
                },
                "spec": pod_spec(&config, s),
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "state"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "64Mi"}},
                },
            }],
        },
    });
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [config_map, headless, stateful_set, network_policy(service, namespace, &s.keda)],
    })
}

fn pod_spec(config: &str, s: &Shape) -> Value {
    let (port, shards) = (s.port, s.shards);
    let mut args = vec![
        "scaler".to_string(),
        "--engines=/etc/scalepol/engines".into(),
        "--state-dir=/var/lib/scalepol".into(),
        format!("--listen=0.0.0.0:{port}"),
        "--http=0.0.0.0:8080".into(),
    ];
    if shards > 1 {
        args.push(format!("--shards={shards}"));
        args.push("--shard=hostname".into());
    }
    let mut mounts = vec![
        json!({"name": "engines", "mountPath": "/etc/scalepol/engines", "readOnly": true}),
        json!({"name": "state", "mountPath": "/var/lib/scalepol"}),
    ];
    let mut volumes = vec![json!({"name": "engines", "configMap": {"name": config}})];
    if s.tls {
        // The server certificate for the pods' names and the CA that signed
        // KEDA's client certificate, as cert-manager writes a Secret.
        args.push("--tls-cert=/etc/scalepol/tls/tls.crt".into());
        args.push("--tls-key=/etc/scalepol/tls/tls.key".into());
        args.push("--tls-client-ca=/etc/scalepol/tls/ca.crt".into());
        mounts.push(json!({"name": "tls", "mountPath": "/etc/scalepol/tls", "readOnly": true}));
        volumes
            .push(json!({"name": "tls", "secret": {"secretName": format!("{}-tls", s.service)}}));
    }
    // Each metric names its own Prometheus server in the artifact: no
    // --prometheus override here.
    let probe =
        |path: &str| json!({"httpGet": {"path": path, "port": "http"}, "periodSeconds": 10});
    json!({
        // Ends within KEDA's polling: in-flight calls finish, then it exits.
        "terminationGracePeriodSeconds": 30,
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "fsGroup": 65532},
        "containers": [{
            "name": "scaler",
            "image": format!("scalepol:{}", env!("CARGO_PKG_VERSION")),
            "args": args,
            "ports": [
                {"name": "grpc", "containerPort": port},
                {"name": "http", "containerPort": 8080},
            ],
            "readinessProbe": probe("/readyz"),
            "livenessProbe": probe("/healthz"),
            "resources": {
                "requests": {"cpu": "50m", "memory": "64Mi"},
                "limits": {"memory": "256Mi"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": mounts,
        }],
        "volumes": volumes,
    })
}

/// The first metric a pool's decision reads that the scaler cannot: it
/// reads Prometheus only (as `scalepol run` does).
pub fn unreadable(p: &Policy, pool: &Pool) -> Option<Diagnostic> {
    let addr_span = p
        .targets
        .iter()
        .find(|t| t.target == TargetKind::Keda)
        .map_or(p.name_span, |t| t.span);
    let s = pool.scale.as_ref()?;
    let mut reads: Vec<&str> = s.targets.iter().flat_map(|t| t.reads()).collect();
    for r in p
        .rules
        .iter()
        .filter(|r| r.pool.as_deref().is_none_or(|n| n == pool.name))
    {
        reads.extend(r.reads.iter().map(String::as_str));
    }
    let m = reads
        .iter()
        .filter_map(|name| p.metric(name))
        .find(|m| m.source != MetricSourceKind::Prometheus)?;
    Some(
        Diagnostic::new(code::TARGET_REFUSES, FileId(0), addr_span, format!(
            "keda: the scaler reads metrics from Prometheus, and pool `{}` decides on `{}`, which is not a Prometheus metric",
            pool.name, m.name
        ))
        .label("scaler mode")
        .help("read it from Prometheus (`metrics prometheus`), or compile to KEDA without `scaler`"),
    )
}
