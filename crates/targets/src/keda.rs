//! KEDA ScaledObject `keda.sh/v1alpha1` (KEDA 2.20).

use crate::common::{
    self, meta, quantity, trim_float, HpaBehavior, Object, ObjectMeta, ScaleTargetRef,
};
use crate::{Document, Emitted, Format, Options, Schema};
use scalepol_compiler::codes::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use serde::Serialize;
use std::collections::BTreeMap;

type ScaledObject = Object<ObjectMeta, Spec>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    scale_target_ref: ScaleTargetRef,
    polling_interval: u64,
    cooldown_period: u64,
    min_replica_count: u32,
    max_replica_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_replica_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<Fallback>,
    advanced: Advanced,
    triggers: Vec<Trigger>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fallback {
    failure_threshold: u32,
    replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    behavior: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Advanced {
    horizontal_pod_autoscaler_config: HpaConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling_modifiers: Option<ScalingModifiers>,
}

/// `advanced.scalingModifiers`: KEDA computes the formula over the named
/// triggers' raw values and gives the HPA that one metric.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScalingModifiers {
    formula: String,
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    activation_target: Option<String>,
    metric_type: &'static str,
}

#[derive(Serialize)]
struct HpaConfig {
    /// Absent for `behavior legacy`: KEDA then creates the HPA without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    behavior: Option<HpaBehavior>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Trigger {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric_type: Option<&'static str>,
    metadata: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication_ref: Option<AuthRef>,
}

#[derive(Serialize)]
struct AuthRef {
    name: String,
}

/// A TriggerAuthentication: a reference to the Secret by name and key,
/// never the secret's value.
type TriggerAuthentication = Object<ObjectMeta, AuthSpec>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthSpec {
    secret_target_ref: Vec<SecretRef>,
}

#[derive(Serialize)]
struct SecretRef {
    parameter: &'static str,
    name: String,
    key: &'static str,
}

fn metric_type(t: &ScaleTarget) -> &'static str {
    match t.mode {
        TargetMode::Utilization => "Utilization",
        TargetMode::PerReplica => "AverageValue",
        TargetMode::Total => "Value",
    }
}

/// The trigger for one target; `None` for built-in GPU utilisation in a
/// policy with no Prometheus server to read DCGM from.
fn trigger(p: &Policy, t: &ScaleTarget) -> Option<Trigger> {
    let m = p.metric(&t.metric)?;
    let mut md = BTreeMap::new();
    let kind = match m.source {
        // Refused before (`refused`): KEDA has no trigger for it.
        MetricSourceKind::Pods | MetricSourceKind::Object => return None,
        // GPU utilisation through DCGM, on the policy's own Prometheus server.
        MetricSourceKind::Builtin if m.name == "gpu" => {
            let server = p
                .metrics
                .iter()
                .find(|x| x.source == MetricSourceKind::Prometheus)?
                .endpoint
                .clone()?;
            let (_, workload) = p.workload.namespace_and_name();
            md.insert("serverAddress", server);
            md.insert(
                "query",
                format!("avg(DCGM_FI_DEV_GPU_UTIL{{pod=~\"{workload}-.*\"}})"),
            );
            md.insert("threshold", trim_float(t.target));
            "prometheus"
        }
        MetricSourceKind::Builtin => {
            let v = if m.name == "memory" && t.mode == TargetMode::PerReplica {
                common::bytes(t.target as u64)
            } else {
                quantity(t.target)
            };
            md.insert("value", v);
            if m.name == "cpu" {
                "cpu"
            } else {
                "memory"
            }
        }
        MetricSourceKind::Prometheus => {
            md.insert("serverAddress", m.endpoint.clone().unwrap_or_default());
            md.insert("query", m.query.clone());
            md.insert("threshold", trim_float(t.target));
            "prometheus"
        }
        MetricSourceKind::Cloudwatch => {
            // `Namespace/Name/Metric`: the namespace is all but the last segment.
            let (ns, name) = m.query.rsplit_once('/').unwrap_or(("", m.query.as_str()));
            md.insert("namespace", ns.to_string());
            md.insert("metricName", name.to_string());
            md.insert("awsRegion", m.endpoint.clone().unwrap_or_default());
            md.insert("targetMetricValue", trim_float(t.target));
            let cw = &m.cloudwatch;
            md.insert(
                "metricStat",
                cw.statistic.clone().unwrap_or_else(|| "Average".into()),
            );
            // KEDA's aws-cloudwatch scaler: names and values `;`-separated.
            if !cw.dimensions.is_empty() {
                let join = |f: fn(&(String, String)) -> &str| {
                    cw.dimensions.iter().map(f).collect::<Vec<_>>().join(";")
                };
                md.insert("dimensionName", join(|d| &d.0));
                md.insert("dimensionValue", join(|d| &d.1));
            }
            if let Some(u) = &cw.unit {
                md.insert("metricUnit", u.clone());
            }
            "aws-cloudwatch"
        }
        MetricSourceKind::External => {
            md.insert("scalerAddress", m.endpoint.clone().unwrap_or_default());
            md.insert("metricName", m.name.clone());
            md.insert("query", m.query.clone());
            md.insert("targetValue", trim_float(t.target));
            "external"
        }
    };
    if let Some(a) = t.activation {
        let key = match kind {
            "aws-cloudwatch" => "activationTargetMetricValue",
            "external" => "activationTargetValue",
            _ => "activationThreshold",
        };
        md.insert(key, trim_float(a));
    }
    // KEDA takes Utilization for cpu and memory only; an averaged gauge is a
    // Value target, which scales proportionally just the same.
    let metric_type = match metric_type(t) {
        "Utilization" if !matches!(kind, "cpu" | "memory") => "Value",
        other => other,
    };
    Some(Trigger {
        kind,
        name: t.metric.replace('_', "-"),
        metric_type: Some(metric_type),
        metadata: md,
        authentication_ref: None,
    })
}

/// A pool with a formula target: KEDA's scalingModifiers, and one trigger
/// per metric the formula reads (a target of its own, read raw: KEDA
/// builds the formula's scalers as metric sources). `None` without a
/// formula. KEDA then gives the HPA the composite metric alone
/// (controllers/keda/hpa.go), so a formula cannot stand beside other
/// targets or a schedule's cron trigger: refused rather than dropped.
fn modifiers(
    p: &Policy,
    pool: &Pool,
    s: &Scaling,
) -> Result<Option<(ScalingModifiers, Vec<ScaleTarget>)>, Box<Diagnostic>> {
    let Some(t) = s.targets.iter().find(|t| t.formula.is_some()) else {
        return Ok(None);
    };
    let f = t.formula.as_ref().expect("found by its formula");
    let refuse = |span, msg: String, label: &str, help: &str| {
        Box::new(
            Diagnostic::new(code::TARGET_REFUSES, FileId(0), span, msg)
                .label(label.to_string())
                .help(help.to_string()),
        )
    };
    let resource = |x: &ScaleTarget| p.metric(&x.metric).is_some_and(|m| m.resource().is_some());
    if let Some(other) = s
        .targets
        .iter()
        .find(|x| !std::ptr::eq(*x, t) && !resource(x))
    {
        return Err(refuse(
            other.span,
            format!("keda: pool `{}` scales on a formula and on another target; with scalingModifiers KEDA gives the HPA the formula's metric and the cpu and memory targets only, so this target would be ignored", pool.name),
            "ignored beside a formula",
            "write this metric into the formula (`max(formula_part, other / target)`), or scale on it alone",
        ));
    }
    // pkg/fallback: HasValidFallback parses the modifiers' target as an integer.
    if s.fallback.is_some() && p.falls_back(t) && t.target.fract() != 0.0 {
        return Err(refuse(
            t.span,
            format!("keda: pool `{}` has a fallback and a formula target of {}; KEDA applies a fallback beside scalingModifiers only for a whole-number target", pool.name, trim_float(t.target)),
            "not a whole number",
            "write a whole-number target (scale the formula instead), or drop the fallback",
        ));
    }
    if let Some(sch) = p
        .schedules
        .iter()
        .find(|x| x.pool.as_deref().is_none_or(|n| n == pool.name))
    {
        return Err(refuse(
            sch.span,
            format!("keda: schedule `{}` would be a cron trigger beside pool `{}`'s formula; with scalingModifiers KEDA reads only the formula, so the schedule's floor would not apply", sch.name, pool.name),
            "ignored beside a formula",
            "compile to the engine, or drop the formula for this pool",
        ));
    }
    let formula = crate::formula::to_expr_lang(&f.expr).map_err(|why| {
        refuse(
            f.span,
            format!("keda: this formula uses {why}, which KEDA's formula language (expr-lang) cannot express the same way"),
            "not expressible in KEDA",
            "use doubles, arithmetic, comparisons, `&&`, `||`, `!`, `? :`, min and max",
        )
    })?;
    let resources = s.targets.iter().filter(|x| resource(x)).cloned();
    let inputs = resources
        .chain(f.reads.iter().map(|m| ScaleTarget {
            metric: m.clone(),
            mode: TargetMode::Total,
            target: t.target,
            activation: None,
            span: t.span,
            formula: None,
        }))
        .collect();
    let m = ScalingModifiers {
        formula,
        target: trim_float(t.target),
        activation_target: t.activation.map(trim_float),
        metric_type: metric_type(t),
    };
    Ok(Some((m, inputs)))
}

/// A `cron` trigger: the schedule's floor while it is active, from its
/// start to its end (`common::end_cron`: past midnight the days move on).
fn cron_trigger(s: &Schedule) -> Option<Trigger> {
    let end = common::end_cron(&s.cron, s.duration.0)?;
    let mut md = BTreeMap::new();
    md.insert("timezone", s.timezone.clone());
    md.insert("start", s.cron.clone());
    md.insert("end", end);
    md.insert("desiredReplicas", s.replicas.min?.to_string());
    Some(Trigger {
        kind: "cron",
        name: s
            .name
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        metric_type: None,
        metadata: md,
        authentication_ref: None,
    })
}

/// The annotations `target keda { ... }` sets, as the engine reads them.
pub(crate) fn annotations(p: &Policy) -> scalepol_runtime::artifact::KedaAnnotations {
    let flag = |k: &str| p.target_option(TargetKind::Keda, k) == Some("true");
    scalepol_runtime::artifact::KedaAnnotations {
        paused_replicas: p
            .target_option(TargetKind::Keda, "paused_replicas")
            .and_then(|v| v.parse().ok()),
        paused: flag("paused"),
        paused_scale_in: flag("paused_scale_in"),
        paused_scale_out: flag("paused_scale_out"),
        force_activation: flag("force_activation"),
    }
}

/// The same annotations on the ScaledObject (`autoscaling.keda.sh/...`).
fn annotation_map(p: &Policy) -> BTreeMap<String, String> {
    let a = annotations(p);
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(format!("autoscaling.keda.sh/{k}"), v);
    };
    if let Some(n) = a.paused_replicas {
        put("paused-replicas", n.to_string());
    }
    for (on, key) in [
        (a.paused, "paused"),
        (a.paused_scale_in, "paused-scale-in"),
        (a.paused_scale_out, "paused-scale-out"),
        (a.force_activation, "force-activation"),
    ] {
        if on {
            put(key, "true".into());
        }
    }
    m
}

/// What KEDA's admission webhook refuses in a ScaledObject that its
/// schema accepts (validate.rs holds the same rules for any document).
fn refused(p: &Policy, pool: &Pool, s: &Scaling, name: &str) -> Option<Diagnostic> {
    // `keda-hpa-` + the name is the generated HPA's, a label value.
    const LONGEST: usize = 63 - "keda-hpa-".len();
    if name.len() > LONGEST {
        return Some(
            Diagnostic::new(code::TARGET_REFUSES, FileId(0), p.name_span, format!(
                "keda: the ScaledObject `{name}` has a name of {} characters; KEDA refuses more than {LONGEST} (its HPA, `keda-hpa-{name}`, must fit in a 63-character label)",
                name.len()
            ))
            .label("name too long")
            .help(format!("shorten the policy's name (or the pool's) to {LONGEST} characters or fewer")),
        );
    }
    // The custom metrics API's per-pod metrics are the HPA's own; KEDA's
    // triggers read other sources, so the target would vanish.
    if let Some(t) = s.targets.iter().find(|t| {
        t.reads().iter().any(|m| {
            p.metric(m).is_some_and(|m| {
                matches!(m.source, MetricSourceKind::Pods | MetricSourceKind::Object)
            })
        })
    }) {
        return Some(
            Diagnostic::new(code::TARGET_REFUSES, FileId(0), t.span, format!(
                "keda: `{}` is a Pods or Object metric of the custom metrics API, which no KEDA trigger reads",
                t.metric
            ))
            .label("not readable by KEDA")
            .help("compile this pool to the HPA, or read the metric from Prometheus (`metrics prometheus`)"),
        );
    }
    let resource_only = s
        .targets
        .iter()
        .all(|t| p.metric(&t.metric).is_some_and(|m| m.resource().is_some()));
    let to_zero = pool.replicas.min == 0;
    (resource_only && to_zero && !s.targets.is_empty()).then(|| {
        Diagnostic::new(code::TARGET_REFUSES, FileId(0), pool.replicas.span, format!(
            "keda: pool `{}` may scale to zero but scales on CPU or memory only; KEDA refuses it (nothing would wake the workload: the HPA reads CPU and memory from running pods)",
            pool.name
        ))
        .label("minimum 0")
        .help("keep a floor of 1 replica, or add a target on a metric KEDA reads (Prometheus, CloudWatch, an external scaler)")
    })
}

// KEDA refuses a fallback with nothing to fall back for (SP0536).
fn fallback(p: &Policy, pool: &Pool, s: &Scaling) -> Option<Fallback> {
    let f = s.fallback.as_ref()?;
    if !s.targets.iter().any(|t| p.falls_back(t)) {
        return None;
    }
    Some(Fallback {
        failure_threshold: f.after_failures,
        // Required by the CRD, unused by `currentReplicas`.
        replicas: if f.behavior == FallbackBehavior::Current {
            pool.replicas.min
        } else {
            f.replicas
        },
        behavior: match f.behavior {
            FallbackBehavior::Static => None,
            FallbackBehavior::Current => Some("currentReplicas"),
            FallbackBehavior::AtLeast => Some("currentReplicasIfHigher"),
            FallbackBehavior::AtMost => Some("currentReplicasIfLower"),
        },
    })
}

fn option(p: &Policy, key: &str) -> Option<String> {
    p.targets
        .iter()
        .find(|t| t.target == TargetKind::Keda)
        .and_then(|t| t.options.iter().find(|(k, _)| k == key))
        .map(|(_, v)| v.clone())
}

fn polling(p: &Policy, s: &Scaling) -> u64 {
    option(p, "polling")
        .and_then(|v| common::duration_secs(&v))
        .map(|x| x.ceil() as u64)
        .unwrap_or(s.interval.value.secs_ceil())
}

pub fn emit(p: &Policy, pool: &Pool, opts: &Options, out: &mut Emitted) {
    let (Some(s), Some(target_ref)) = (&pool.scale, common::target_ref(p)) else {
        return;
    };
    let name = common::object_name(p, pool);
    if let Some(d) = refused(p, pool, s, &name) {
        out.diagnostics.push(d);
        return;
    }
    if let Some(addr) = crate::scaler::address(p) {
        match addr {
            Ok(addr) => emit_external(p, pool, s, opts, target_ref, &addr, out),
            Err(d) => out.diagnostics.push(*d),
        }
        return;
    }
    let modifiers = match modifiers(p, pool, s) {
        Ok(m) => m,
        Err(d) => {
            out.diagnostics.push(*d);
            return;
        }
    };
    let mut triggers: Vec<Trigger> = match &modifiers {
        // The formula names its triggers by the metrics' own names.
        Some((_, inputs)) => inputs
            .iter()
            .filter_map(|t| {
                let mut x = trigger(p, t)?;
                if t.mode == TargetMode::Total {
                    x.name = t.metric.clone();
                }
                Some(x)
            })
            .collect(),
        None => s.targets.iter().filter_map(|t| trigger(p, t)).collect(),
    };
    triggers.extend(
        p.schedules
            .iter()
            .filter(|x| x.pool.as_deref().is_none_or(|n| n == pool.name))
            .filter_map(cron_trigger),
    );
    // `target keda { auth "SECRET" }`: Prometheus triggers authenticate with
    // the bearer token in the Secret's `token` key.
    let auth = option(p, "auth").map(|secret| (format!("{name}-prometheus"), secret));
    if let Some((auth_name, _)) = &auth {
        for t in triggers.iter_mut().filter(|t| t.kind == "prometheus") {
            t.metadata.insert("authModes", "bearer".into());
            t.authentication_ref = Some(AuthRef {
                name: auth_name.clone(),
            });
        }
    }
    let mut metadata = common::pool_meta(p, pool, name.clone());
    metadata.annotations = annotation_map(p);
    let so = ScaledObject {
        api_version: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata,
        spec: Spec {
            scale_target_ref: target_ref,
            polling_interval: polling(p, s),
            cooldown_period: s.cooldown.value.secs_ceil(),
            min_replica_count: pool.replicas.min,
            max_replica_count: pool.replicas.max,
            // KEDA's idle count: a pool with a floor that still idles to zero.
            idle_replica_count: (s.scale_to_zero.is_some() && pool.replicas.min > 0).then_some(0),
            fallback: fallback(p, pool, s),
            advanced: Advanced {
                horizontal_pod_autoscaler_config: HpaConfig {
                    behavior: s
                        .legacy
                        .is_none()
                        .then(|| common::behavior(s, opts.kubernetes >= (1, 33))),
                },
                scaling_modifiers: modifiers.map(|(m, _)| m),
            },
            triggers,
        },
    };
    out.push(Document::new(
        format!("{name}.keda.yaml"),
        Schema::KedaScaledObject,
        Format::Yaml,
        &so,
    ));
    if let Some((auth_name, secret)) = auth {
        out.push(trigger_authentication(
            p,
            &auth_name,
            format!("{name}.keda-auth.yaml"),
            &secret,
            &[("bearerToken", "token")],
        ));
    }
    push_drain_patch(p, pool, opts, out);
}

/// External-scaler mode (crates/targets/src/scaler.rs): one `external`
/// trigger calling `scalepol scaler`, which decides with the engine; KEDA's
/// own windows and the HPA's are set to pass its count through.
fn emit_external(
    p: &Policy,
    pool: &Pool,
    s: &Scaling,
    opts: &Options,
    target_ref: ScaleTargetRef,
    addr: &crate::scaler::ScalerAddress,
    out: &mut Emitted,
) {
    if let Some(d) = crate::scaler::unreadable(p, pool) {
        out.diagnostics.push(d);
        return;
    }
    if let Some(d) = crate::scaler::tolerance_warning(p, pool, opts) {
        out.diagnostics.push(d);
    }
    let name = common::object_name(p, pool);
    let mut metadata = common::pool_meta(p, pool, name.clone());
    metadata.annotations = annotation_map(p);
    // `scaler_tls "SECRET"`: KEDA dials with the Secret's client
    // certificate and checks the scaler's against its CA.
    let tls = option(p, "scaler_tls");
    let so = ScaledObject {
        api_version: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata,
        spec: Spec {
            scale_target_ref: target_ref,
            polling_interval: polling(p, s),
            // The engine's cooldown is in its decision: KEDA adds none.
            cooldown_period: 0,
            min_replica_count: pool.replicas.min,
            max_replica_count: pool.replicas.max,
            idle_replica_count: (s.scale_to_zero.is_some() && pool.replicas.min > 0).then_some(0),
            // KEDA's fallback now covers the scaler itself being unreachable.
            fallback: fallback(p, pool, s),
            advanced: Advanced {
                horizontal_pod_autoscaler_config: HpaConfig {
                    behavior: Some(crate::scaler::pass_through(
                        pool.replicas.max,
                        opts.kubernetes >= (1, 33),
                    )),
                },
                scaling_modifiers: None,
            },
            triggers: vec![Trigger {
                kind: "external",
                name: "scalepol".into(),
                // A target of 1 per replica: the HPA's count is the value.
                metric_type: Some("AverageValue"),
                metadata: crate::scaler::trigger_metadata(p, pool, addr, &name),
                authentication_ref: tls.as_ref().map(|_| AuthRef {
                    name: format!("{name}-scaler-tls"),
                }),
            }],
        },
    };
    out.push(Document::new(
        format!("{name}.keda.yaml"),
        Schema::KedaScaledObject,
        Format::Yaml,
        &so,
    ));
    if let Some(secret) = tls {
        out.push(trigger_authentication(
            p,
            &format!("{name}-scaler-tls"),
            format!("{name}.keda-scaler-tls.yaml"),
            &secret,
            &[
                ("caCert", "ca.crt"),
                ("tlsClientCert", "tls.crt"),
                ("tlsClientKey", "tls.key"),
            ],
        ));
    }
    push_drain_patch(p, pool, opts, out);
}

/// A TriggerAuthentication `name` reading each (KEDA parameter, key) of
/// the Secret `secret`: a reference by name and key, never the value.
fn trigger_authentication(
    p: &Policy,
    name: &str,
    file_name: String,
    secret: &str,
    refs: &[(&'static str, &'static str)],
) -> Document {
    let ta = TriggerAuthentication {
        api_version: "keda.sh/v1alpha1",
        kind: "TriggerAuthentication",
        metadata: meta(p, name.to_string()),
        spec: AuthSpec {
            secret_target_ref: refs
                .iter()
                .map(|&(parameter, key)| SecretRef {
                    parameter,
                    name: secret.to_string(),
                    key,
                })
                .collect(),
        },
    };
    Document::new(
        file_name,
        Schema::KedaTriggerAuthentication,
        Format::Yaml,
        &ta,
    )
}

/// The drain patch beside the ScaledObject, in either mode.
fn push_drain_patch(p: &Policy, pool: &Pool, opts: &Options, out: &mut Emitted) {
    if let Some(patch) = common::drain_patch(p, pool, opts) {
        out.push(Document::unvalidated(
            format!("{}.drain-patch.yaml", common::object_name(p, pool)),
            Format::Yaml,
            patch,
        ));
    }
}
