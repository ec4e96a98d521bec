//! AWS Application Auto Scaling as a policy, from what teams have: the
//! `--cli-input-json` requests (RegisterScalableTarget, PutScalingPolicy,
//! PutScheduledAction, as `scalepol compile --target aws` writes them), a
//! CloudFormation template, or the output of `describe-scalable-targets`,
//! `describe-scaling-policies` and `describe-scheduled-actions`. All are
//! read into request shapes, grouped by scalable target, and each group
//! becomes one policy.

use super::*;
use serde_json::json;

/// Whether `doc` is something this module reads.
pub fn is_aws(doc: &Value) -> bool {
    doc.get("ServiceNamespace").is_some()
        || doc.get("AWSTemplateFormatVersion").is_some()
        || ["ScalableTargets", "ScalingPolicies", "ScheduledActions"]
            .iter()
            .any(|k| doc.get(*k).is_some_and(Value::is_array))
        || doc
            .pointer("/Resources")
            .and_then(Value::as_object)
            .is_some_and(|r| {
                r.values().any(|x| {
                    s(x, "/Type").is_some_and(|t| t.starts_with("AWS::ApplicationAutoScaling::"))
                })
            })
}

/// One scalable target's requests.
#[derive(Default)]
struct Group {
    resource: String,
    target: Option<Value>,
    policies: Vec<Value>,
    actions: Vec<Value>,
}

/// Imports every scalable target the documents describe.
pub fn import_aws(docs: &[Value]) -> Vec<Result<Imported, String>> {
    let mut requests = Vec::new();
    for d in docs {
        if let Err(e) = requests_of(d, &mut requests) {
            return vec![Err(e)];
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    for r in requests {
        let id = s(&r, "/ResourceId").unwrap_or("").to_string();
        let i = match groups.iter().position(|g| g.resource == id) {
            Some(i) => i,
            None => {
                groups.push(Group {
                    resource: id,
                    ..Group::default()
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[i];
        if r.get("PolicyName").is_some() {
            g.policies.push(r);
        } else if r.get("ScheduledActionName").is_some() {
            g.actions.push(r);
        } else {
            g.target = Some(r);
        }
    }
    groups.iter().map(group).collect()
}

/// The requests a document holds, in request shape.
fn requests_of(d: &Value, out: &mut Vec<Value>) -> Result<(), String> {
    if let Some(resources) = d.get("Resources").and_then(Value::as_object) {
        return cloudformation(resources, out);
    }
    if let Some(items) = d.as_array() {
        for item in items {
            requests_of(item, out)?;
        }
        return Ok(());
    }
    let mut any = false;
    for key in ["ScalableTargets", "ScalingPolicies", "ScheduledActions"] {
        if let Some(items) = d.get(key).and_then(Value::as_array) {
            out.extend(items.iter().cloned());
            any = true;
        }
    }
    if !any {
        out.push(d.clone());
    }
    Ok(())
}

/// A template's ScalableTarget and ScalingPolicy resources; a policy finds
/// its target by `ScalingTargetId: {Ref: ...}` or its own ResourceId.
fn cloudformation(
    resources: &serde_json::Map<String, Value>,
    out: &mut Vec<Value>,
) -> Result<(), String> {
    let of_type = |t: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| s(r, "/Type") == Some(t))
    };
    let mut ids = std::collections::BTreeMap::new();
    for (name, r) in of_type("AWS::ApplicationAutoScaling::ScalableTarget") {
        let mut props = r["Properties"].clone();
        let actions = props
            .as_object_mut()
            .and_then(|p| p.remove("ScheduledActions"))
            .unwrap_or(Value::Null);
        let base = json!({
            "ServiceNamespace": props["ServiceNamespace"],
            "ResourceId": props["ResourceId"],
            "ScalableDimension": props["ScalableDimension"],
        });
        for a in actions.as_array().into_iter().flatten() {
            let mut a = a.clone();
            merge(&mut a, &base);
            out.push(a);
        }
        ids.insert(name.clone(), base);
        out.push(props);
    }
    for (_, r) in of_type("AWS::ApplicationAutoScaling::ScalingPolicy") {
        let mut props = r["Properties"].clone();
        if let Some(p) = props.as_object_mut() {
            if let Some(t) = p.remove("ScalingTargetId") {
                let Some(base) = s(&t, "/Ref").and_then(|n| ids.get(n)) else {
                    return Err("a ScalingPolicy's ScalingTargetId is not a Ref to a ScalableTarget of the template".into());
                };
                merge(&mut props, base);
            }
        }
        out.push(props);
    }
    let text = serde_json::to_string(out).unwrap_or_default();
    if text.contains("\"Fn::") || text.contains("{\"Ref\"") {
        return Err("the template computes values with intrinsic functions (Fn::..., Ref); import the values it deploys (describe-scaling-policies output) instead".into());
    }
    Ok(())
}

fn merge(into: &mut Value, from: &Value) {
    if let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in b {
            a.entry(k.clone()).or_insert(v.clone());
        }
    }
}

/// The policy's workload for a scalable target: (kind word, name).
fn workload(ns: &str, id: &str) -> Result<(&'static str, String), String> {
    let parts: Vec<&str> = id.split('/').collect();
    match (ns, parts.as_slice()) {
        ("sagemaker", ["endpoint", e, "variant", v]) => Ok(("sagemaker-variant", format!("{e}/{v}"))),
        ("sagemaker", ["inference-component", c]) => Ok(("sagemaker-component", c.to_string())),
        ("ecs", ["service", c, sv]) => Ok(("ecs-service", format!("{c}/{sv}"))),
        _ => Err(format!(
            "scalable target `{}` of `{}`: scalepol imports SageMaker variants and inference components and ECS services",
            one_line(id),
            one_line(ns)
        )),
    }
}

fn group(g: &Group) -> Result<Imported, String> {
    let any = g
        .target
        .as_ref()
        .or(g.policies.first())
        .or(g.actions.first());
    let ns = any.and_then(|r| s(r, "/ServiceNamespace")).unwrap_or("");
    let (kind, name) = workload(ns, &g.resource)?;
    let doc = json!({"metadata": {"name": policy_name_of(g, kind, &name)}});
    let mut b = Builder::with_workload(&doc, kind, "", &name)?;
    b.workload = format!("{kind} {}", quote(&name));
    b.aws(g)
}

/// The policy's name: what `scalepol compile` named its scaling policies
/// (`POLICY-METRIC`), else the endpoint, component or service.
fn policy_name_of(g: &Group, kind: &str, name: &str) -> String {
    let metric = |p: &Value| {
        let c = &p["TargetTrackingScalingPolicyConfiguration"];
        if c.pointer("/CustomizedMetricSpecification/Metrics")
            .is_some()
        {
            return Some(scalepol_compiler::model::FORMULA.to_string());
        }
        match s(c, "/PredefinedMetricSpecification/PredefinedMetricType") {
            Some(t) if t.starts_with("SageMaker") => Some("invocations".to_string()),
            Some("ECSServiceAverageCPUUtilization") => Some("cpu".into()),
            Some("ECSServiceAverageMemoryUtilization") => Some("memory".into()),
            _ => s(c, "/CustomizedMetricSpecification/MetricName")
                .map(|m| ident(m).replace('_', "-")),
        }
    };
    let compiled = g.policies.iter().find_map(|p| {
        let suffix = format!("-{}", metric(p)?);
        s(p, "/PolicyName")?
            .strip_suffix(&suffix)
            .map(str::to_string)
    });
    compiled.unwrap_or_else(|| match kind {
        "sagemaker-variant" => name.split('/').next().unwrap_or(name).to_string(),
        _ => name.rsplit('/').next().unwrap_or(name).to_string(),
    })
}

impl Builder {
    fn aws(mut self, g: &Group) -> Result<Imported, String> {
        match &g.target {
            Some(t) => {
                self.min = t["MinCapacity"].as_u64().unwrap_or(1);
                self.max = t["MaxCapacity"].as_u64().unwrap_or(self.min);
                self.fields_not_in(t, &fields::AWS_REGISTER);
                if t.pointer("/SuspendedState")
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.values().any(|v| v == true))
                {
                    self.notes.push(
                        "SuspendedState was not imported: scaling is suspended in part".into(),
                    );
                }
            }
            None => self.notes.push(
                "no RegisterScalableTarget: the capacity range is unknown, imported as 1..1".into(),
            ),
        }
        let mut cooldowns: Vec<(u64, u64, bool)> = Vec::new();
        for p in &g.policies {
            self.fields_not_in(p, &fields::AWS_POLICY);
            if s(p, "/PolicyType") != Some("TargetTrackingScaling") {
                self.notes.push(format!(
                    "policy `{}` of type {} was not imported: scalepol writes target tracking",
                    one_line(s(p, "/PolicyName").unwrap_or("?")),
                    one_line(s(p, "/PolicyType").unwrap_or("?"))
                ));
                continue;
            }
            let c = &p["TargetTrackingScalingPolicyConfiguration"];
            self.tracking(c, s(p, "/ServiceNamespace").unwrap_or(""));
            cooldowns.push((
                c["ScaleOutCooldown"].as_u64().unwrap_or(0),
                c["ScaleInCooldown"].as_u64().unwrap_or(300),
                c["DisableScaleIn"] == true,
            ));
        }
        cooldowns.dedup();
        if let Some((out, inn, disabled)) = cooldowns.first().copied() {
            if cooldowns.len() > 1 {
                self.notes.push(
                    "the policies' cooldowns differ: the first policy's were imported".into(),
                );
            }
            self.scale.push(format!(
                "up {{ stabilize {} }}",
                secs(&json!(out)).unwrap_or_default()
            ));
            let select = if disabled { "select disabled, " } else { "" };
            self.scale.push(format!(
                "down {{ {select}stabilize {} }}",
                secs(&json!(inn)).unwrap_or_default()
            ));
        }
        self.actions(&g.actions);
        let mut options = vec![format!(
            "resource {}",
            self.string(&g.resource, "the resource id")
        )];
        if let Some(role) = g.target.as_ref().and_then(|t| s(t, "/RoleARN")) {
            options.push(format!("role {}", self.string(role, "the role")));
        }
        self.targets.push(format!(
            "target aws {{\n    {}\n  }}",
            options.join("\n    ")
        ));
        self.finish("Application Auto Scaling")
    }

    /// One target-tracking configuration as a metric and an `on` line.
    fn tracking(&mut self, c: &Value, ns: &str) {
        let target = c["TargetValue"].as_f64().unwrap_or(0.0);
        if let Some(math) = c
            .pointer("/CustomizedMetricSpecification/Metrics")
            .and_then(Value::as_array)
        {
            self.metric_math(math, target);
            return;
        }
        let predefined = s(c, "/PredefinedMetricSpecification/PredefinedMetricType");
        let (name, query, detail) = match predefined {
            Some("ECSServiceAverageCPUUtilization") if ns == "ecs" => {
                self.scale
                    .push(format!("on cpu target {}%", number(target)));
                return;
            }
            Some("ECSServiceAverageMemoryUtilization") if ns == "ecs" => {
                self.scale
                    .push(format!("on memory target {}%", number(target)));
                return;
            }
            Some("SageMakerVariantInvocationsPerInstance") => (
                "invocations".to_string(),
                "AWS/SageMaker/InvocationsPerInstance".to_string(),
                String::new(),
            ),
            Some("SageMakerInferenceComponentInvocationsPerCopy") => (
                "invocations".to_string(),
                "AWS/SageMaker/InvocationsPerCopy".to_string(),
                String::new(),
            ),
            Some(other) => {
                self.notes.push(format!(
                    "predefined metric {} was not imported",
                    one_line(other)
                ));
                return;
            }
            None => match self.customized(&c["CustomizedMetricSpecification"]) {
                Some(m) => m,
                None => return,
            },
        };
        self.cloudwatch(name.clone(), query, detail);
        self.scale
            .push(format!("on {name} target {}", number(target)));
    }

    /// A metric-math target: each `MetricStat` a declared metric, the
    /// expression that returns data a formula over them (the arithmetic
    /// CEL shares with metric math; anything else is named).
    fn metric_math(&mut self, math: &[Value], target: f64) {
        let mut ids: Vec<(String, String)> = Vec::new();
        for m in math.iter().filter(|m| m.get("MetricStat").is_some()) {
            let stat = &m["MetricStat"];
            let mut spec = serde_json::Map::new();
            for (key, value) in [
                ("Namespace", &stat["Metric"]["Namespace"]),
                ("MetricName", &stat["Metric"]["MetricName"]),
                ("Dimensions", &stat["Metric"]["Dimensions"]),
                ("Statistic", &stat["Stat"]),
                ("Unit", &stat["Unit"]),
            ] {
                if !value.is_null() {
                    spec.insert(key.to_string(), value.clone());
                }
            }
            let Some((name, query, detail)) = self.customized(&Value::Object(spec)) else {
                return;
            };
            self.cloudwatch(name.clone(), query, detail);
            ids.push((s(m, "/Id").unwrap_or("").to_string(), name));
        }
        let returned: Vec<&Value> = math.iter().filter(|m| m["ReturnData"] != false).collect();
        let [out] = returned.as_slice() else {
            self.notes.push(
                "a metric-math specification that does not return exactly one series was not imported"
                    .into(),
            );
            return;
        };
        if out.get("Expression").is_none() {
            // One metric, returned as it is.
            let id = s(out, "/Id").unwrap_or("");
            if let Some((_, name)) = ids.iter().find(|(i, _)| i == id) {
                self.scale
                    .push(format!("on {name} target {}", number(target)));
            }
            return;
        }
        let expr = s(out, "/Expression").unwrap_or("");
        let name = |i: &str| {
            ids.iter()
                .find(|(id, _)| id == i)
                .map(|(_, n)| n.clone())
                .ok_or_else(|| format!("`{i}`, which names no metric of the specification"))
        };
        match crate::formula::from_expr_lang(expr, &name) {
            Ok(cel) => {
                let cel = self.code(&cel, "the expression");
                self.scale
                    .push(format!("on formula `{cel}` target {}", number(target)));
            }
            Err(why) => self.notes.push(format!(
                "metric-math expression `{}` was not imported: it uses {why}",
                one_line(expr)
            )),
        }
    }

    /// A CloudWatch metric, in the region the policy has to stand in for.
    fn cloudwatch(&mut self, name: String, query: String, detail: String) {
        self.declare(MetricDecl {
            source: "cloudwatch",
            endpoint: AWS_REGION.into(),
            name,
            query,
            unit: detail,
        });
        self.region_comment();
    }

    fn region_comment(&mut self) {
        if !self.comments.iter().any(|c| c.contains(AWS_REGION)) {
            self.comments.push(format!(
                "The requests do not name their region: \"{AWS_REGION}\" stands for it in `metrics cloudwatch`; write yours."
            ));
        }
    }

    /// A customized CloudWatch metric: (name, `Namespace/MetricName`, its
    /// dimensions, statistic and unit as the policy writes them).
    fn customized(&mut self, m: &Value) -> Option<(String, String, String)> {
        let (Some(ns), Some(metric)) = (s(m, "/Namespace"), s(m, "/MetricName")) else {
            self.notes
                .push("a target-tracking policy without a metric was not imported".into());
            return None;
        };
        let query = self.code(&format!("{ns}/{metric}"), "the CloudWatch metric");
        let mut detail = String::new();
        for d in m["Dimensions"].as_array().into_iter().flatten() {
            let n = self.string(s(d, "/Name").unwrap_or(""), "a dimension's name");
            let v = self.string(s(d, "/Value").unwrap_or(""), "a dimension's value");
            detail.push_str(&format!(" dimension {n} = {v}"));
        }
        if let Some(st) = s(m, "/Statistic") {
            match scalepol_compiler::model::CLOUDWATCH_STATISTICS
                .iter()
                .find(|(_, aws)| *aws == st)
            {
                Some((word, _)) => detail.push_str(&format!(" statistic {word}")),
                None => self
                    .notes
                    .push(format!("statistic {} was not imported", one_line(st))),
            }
        }
        if let Some(u) = s(m, "/Unit") {
            let u = self.string(u, "the unit");
            detail.push_str(&format!(" unit {u}"));
        }
        Some((ident(metric), query, detail))
    }

    /// Scheduled actions in start/end pairs (`NAME-start` with the range
    /// while active, `NAME-end` restoring it) as schedules; others named.
    fn actions(&mut self, actions: &[Value]) {
        let name_of = |a: &Value| s(a, "/ScheduledActionName").unwrap_or("").to_string();
        for a in actions {
            self.fields_not_in(a, &fields::AWS_SCHEDULE);
            if a.get("StartTime").is_some() || a.get("EndTime").is_some() {
                self.notes.push(format!(
                    "the StartTime and EndTime of scheduled action `{}` were not imported: a schedule repeats without end",
                    one_line(&name_of(a))
                ));
            }
        }
        for a in actions.iter().filter(|a| name_of(a).ends_with("-start")) {
            let base = name_of(a).trim_end_matches("-start").to_string();
            let end = actions.iter().find(|e| name_of(e) == format!("{base}-end"));
            let (Some(start_cron), Some(end_cron)) = (
                s(a, "/Schedule").and_then(five_fields),
                end.and_then(|e| s(e, "/Schedule")).and_then(five_fields),
            ) else {
                self.notes.push(format!("scheduled action `{}` was not imported: no matching `-end` action with a cron schedule", one_line(&name_of(a))));
                continue;
            };
            let Some(minutes) = super::keda::cron_length(&start_cron, &end_cron) else {
                self.notes.push(format!("scheduled action `{}` was not imported: its end is not the same days' later time", one_line(&name_of(a))));
                continue;
            };
            let act = &a["ScalableTargetAction"];
            let range = match (act["MinCapacity"].as_u64(), act["MaxCapacity"].as_u64()) {
                (Some(lo), Some(hi)) => format!("replicas {lo}..{hi}"),
                (Some(lo), None) => format!("replicas >= {lo}"),
                (None, Some(hi)) => format!("replicas <= {hi}"),
                (None, None) => continue,
            };
            // `scalepol compile` names actions POLICY-SCHEDULE-start.
            let prefix = format!("{}-", self.name);
            let label = base.strip_prefix(&prefix).unwrap_or(&base).to_string();
            let tz = s(a, "/Timezone").unwrap_or("UTC");
            let line = format!(
                "schedule {} cron {} for {} tz {} {{ {range} }}",
                self.string(&label, "the action's name"),
                self.string(&start_cron, "the schedule"),
                scalepol_compiler::units::Duration((minutes * 60_000) as u64),
                self.string(tz, "the time zone"),
            );
            self.schedules.push(line);
        }
        for a in actions {
            let n = name_of(a);
            if !n.ends_with("-start") && !n.ends_with("-end") {
                self.notes.push(format!(
                    "scheduled action `{}` was not imported: not a start/end pair",
                    one_line(&n)
                ));
            }
        }
    }
}

/// AWS's `cron(m h dom mon dow year)` as five fields, `?` as `*`; `None`
/// for `at(...)` and `rate(...)` schedules.
fn five_fields(schedule: &str) -> Option<String> {
    let inner = schedule.strip_prefix("cron(")?.strip_suffix(')')?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 6 || f[5] != "*" {
        return None;
    }
    Some(
        f[..5]
            .iter()
            .map(|x| if *x == "?" { "*" } else { x })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The region written for CloudWatch metrics, which requests do not carry.
const AWS_REGION: &str = "us-east-1";
