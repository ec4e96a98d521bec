//! AWS Application Auto Scaling: `--cli-input-json` request files in apply
//! order (RegisterScalableTarget, PutScalingPolicy per target,
//! PutScheduledAction per schedule start and end) and the same as a
//! CloudFormation template.

use crate::common;
use crate::{Document, Emitted, Format, Schema};
use scalepol_compiler::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use serde_json::{json, Value};

/// (ServiceNamespace, ResourceId, ScalableDimension) of the workload.
fn resource(p: &Policy) -> Option<(&'static str, String, &'static str)> {
    let option = p
        .targets
        .iter()
        .find(|t| t.target == TargetKind::Aws)
        .and_then(|t| t.options.iter().find(|(k, _)| k == "resource"))
        .map(|(_, v)| v.clone());
    let (ns, id, dim) = match p.workload.kind {
        WorkloadKind::SagemakerVariant => {
            let (e, v) = p
                .workload
                .name
                .split_once('/')
                .unwrap_or((p.workload.name.as_str(), "AllTraffic"));
            (
                "sagemaker",
                format!("endpoint/{e}/variant/{v}"),
                "sagemaker:variant:DesiredInstanceCount",
            )
        }
        WorkloadKind::SagemakerComponent => (
            "sagemaker",
            format!("inference-component/{}", p.workload.name),
            "sagemaker:inference-component:DesiredCopyCount",
        ),
        WorkloadKind::EcsService => {
            let (c, s) = p
                .workload
                .name
                .split_once('/')
                .unwrap_or(("default", p.workload.name.as_str()));
            (
                "ecs",
                format!("service/{c}/{s}"),
                "ecs:service:DesiredCount",
            )
        }
        _ => return None,
    };
    Some((ns, option.unwrap_or(id), dim))
}

/// The metric specification of a target: predefined where AWS has one.
fn metric_spec(
    p: &Policy,
    t: &ScaleTarget,
    ns: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<(&'static str, Value)> {
    if let Some(f) = &t.formula {
        return metric_math(p, f, out);
    }
    let m = p.metric(&t.metric)?;
    let predefined = |kind: &str| json!({"PredefinedMetricType": kind});
    match (m.source, m.name.as_str(), ns) {
        (MetricSourceKind::Builtin, "cpu", "ecs") => Some((
            "PredefinedMetricSpecification",
            predefined("ECSServiceAverageCPUUtilization"),
        )),
        (MetricSourceKind::Builtin, "memory", "ecs") => Some((
            "PredefinedMetricSpecification",
            predefined("ECSServiceAverageMemoryUtilization"),
        )),
        (MetricSourceKind::Cloudwatch, _, _)
            if m.query == "AWS/SageMaker/InvocationsPerInstance" =>
        {
            Some((
                "PredefinedMetricSpecification",
                predefined("SageMakerVariantInvocationsPerInstance"),
            ))
        }
        (MetricSourceKind::Cloudwatch, _, _) if m.query == "AWS/SageMaker/InvocationsPerCopy" => {
            Some((
                "PredefinedMetricSpecification",
                predefined("SageMakerInferenceComponentInvocationsPerCopy"),
            ))
        }
        (MetricSourceKind::Cloudwatch, _, _) => {
            let (namespace, name) = m.query.rsplit_once('/').unwrap_or(("", m.query.as_str()));
            let cw = &m.cloudwatch;
            let mut spec = json!({
                "MetricName": name,
                "Namespace": namespace,
                "Statistic": cw.statistic.as_deref().unwrap_or("Average"),
            });
            if !cw.dimensions.is_empty() {
                spec["Dimensions"] = cw
                    .dimensions
                    .iter()
                    .map(|(n, v)| json!({"Name": n, "Value": v}))
                    .collect();
            }
            if let Some(u) = &cw.unit {
                spec["Unit"] = json!(u);
            }
            Some(("CustomizedMetricSpecification", spec))
        }
        _ => {
            out.push(
                Diagnostic::new(code::TARGET_UNSUPPORTED, FileId(0), t.span, format!("aws cannot read `{}`: Application Auto Scaling tracks CloudWatch metrics only", t.metric))
                    .label("not a CloudWatch metric")
                    .help("declare the metric in `metrics cloudwatch \"REGION\" { ... }`, or compile this policy to keda"),
            );
            None
        }
    }
}

/// A CloudWatch metric as metric math reads it (`MetricStat`).
fn metric_stat(m: &Metric) -> Value {
    let (namespace, name) = m.query.rsplit_once('/').unwrap_or(("", m.query.as_str()));
    let cw = &m.cloudwatch;
    let mut metric = json!({"Namespace": namespace, "MetricName": name});
    if !cw.dimensions.is_empty() {
        metric["Dimensions"] = cw
            .dimensions
            .iter()
            .map(|(n, v)| json!({"Name": n, "Value": v}))
            .collect();
    }
    let mut stat = json!({"Metric": metric, "Stat": cw.statistic.as_deref().unwrap_or("Average")});
    if let Some(u) = &cw.unit {
        stat["Unit"] = json!(u);
    }
    stat
}

/// A formula target: the metrics it reads (`m1`, `m2`, ...) and a
/// metric-math expression over them, the one that returns data
/// (target tracking with `CustomizedMetricSpecification.Metrics`).
fn metric_math(
    p: &Policy,
    f: &Formula,
    out: &mut Vec<Diagnostic>,
) -> Option<(&'static str, Value)> {
    let id = |name: &str| {
        f.reads
            .iter()
            .position(|r| r == name)
            .filter(|_| {
                p.metric(name)
                    .is_some_and(|m| m.source == MetricSourceKind::Cloudwatch)
            })
            .map(|i| format!("m{}", i + 1))
    };
    let expression = match crate::formula::to_metric_math(&f.expr, id) {
        Ok(e) => e,
        Err(why) => {
            out.push(
                Diagnostic::new(code::TARGET_REFUSES, FileId(0), f.span, format!("aws: this formula reads {why}; Application Auto Scaling can track a metric-math expression of arithmetic over CloudWatch metrics only"))
                    .label("not expressible for AWS")
                    .help("keep the formula to `+ - * /` over CloudWatch metrics, or compile to KEDA or the engine"),
            );
            return None;
        }
    };
    let mut metrics: Vec<Value> = f
        .reads
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let m = p.metric(name)?;
            Some(json!({"Id": format!("m{}", i + 1), "MetricStat": metric_stat(m), "ReturnData": false}))
        })
        .collect();
    metrics
        .push(json!({"Id": "e1", "Expression": expression, "Label": FORMULA, "ReturnData": true}));
    Some(("CustomizedMetricSpecification", json!({"Metrics": metrics})))
}

/// A 5-field cron as AWS's 6-field `cron(...)`: one of day-of-month and
/// day-of-week must be `?`, and a year field follows.
fn aws_cron(cron: &str) -> String {
    let f: Vec<&str> = cron.split_whitespace().collect();
    let (dom, dow) = if f[4] != "*" {
        ("?", f[4])
    } else {
        (f[2], "?")
    };
    format!("cron({} {} {} {} {} *)", f[0], f[1], dom, f[3], dow)
}

pub fn emit(p: &Policy, pool: &Pool, out: &mut Emitted) {
    let Some((ns, id, dim)) = resource(p) else {
        return;
    };
    if pool.replicas.min == 0 && p.workload.kind == WorkloadKind::SagemakerVariant {
        out.diagnostics.push(
            Diagnostic::new(code::TARGET_UNSUPPORTED, FileId(0), pool.replicas.span, "SageMaker endpoint variants cannot scale to zero; inference components can")
                .label("minimum 0")
                .help("host the model as an inference component (`workload sagemaker-component`), or keep a minimum of 1"),
        );
        return;
    }
    let base = json!({"ServiceNamespace": ns, "ResourceId": id, "ScalableDimension": dim});
    let mut register = base.clone();
    register["MinCapacity"] = json!(pool.replicas.min);
    register["MaxCapacity"] = json!(pool.replicas.max);
    let role = p
        .targets
        .iter()
        .find(|t| t.target == TargetKind::Aws)
        .and_then(|t| t.options.iter().find(|(k, _)| k == "role"))
        .map(|(_, v)| v.clone());
    if let Some(r) = &role {
        register["RoleARN"] = json!(r);
    }
    out.push(Document::json(
        format!("{}.aws.01-register-scalable-target.json", p.name),
        Schema::AwsRegister,
        register.clone(),
    ));
    let mut cfn_resources = serde_json::Map::new();
    let mut scheduled = Vec::new();
    let s = pool.scale.as_ref();
    for (i, t) in s.iter().flat_map(|s| &s.targets).enumerate() {
        let Some((key, spec)) = metric_spec(p, t, ns, &mut out.diagnostics) else {
            continue;
        };
        let Some(s) = s else { continue };
        let config = json!({
            "TargetValue": t.target,
            key: spec,
            "ScaleOutCooldown": s.up.stabilization.value.secs_ceil(),
            "ScaleInCooldown": s.down.stabilization.value.secs_ceil(),
            "DisableScaleIn": s.down.select.value == SelectPolicy::Disabled,
        });
        let mut req = base.clone();
        req["PolicyName"] = json!(format!("{}-{}", p.name, t.metric.replace('_', "-")));
        req["PolicyType"] = json!("TargetTrackingScaling");
        req["TargetTrackingScalingPolicyConfiguration"] = config.clone();
        out.push(Document::json(
            format!(
                "{}.aws.02-policy-{}.json",
                p.name,
                t.metric.replace('_', "-")
            ),
            Schema::AwsPolicy,
            req.clone(),
        ));
        cfn_resources.insert(format!("ScalingPolicy{}", i + 1), json!({
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {"PolicyName": req["PolicyName"], "PolicyType": "TargetTrackingScaling", "ScalingTargetId": {"Ref": "ScalableTarget"}, "TargetTrackingScalingPolicyConfiguration": config}
        }));
    }
    for sch in p
        .schedules
        .iter()
        .filter(|x| x.pool.as_deref().is_none_or(|n| n == pool.name))
    {
        let slug = sch
            .name
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let mut action = json!({});
        if let Some(v) = sch.replicas.min {
            action["MinCapacity"] = json!(v);
        }
        if let Some(v) = sch.replicas.max {
            action["MaxCapacity"] = json!(v);
        }
        let mut actions = vec![(format!("{slug}-start"), aws_cron(&sch.cron), action)];
        match common::end_cron(&sch.cron, sch.duration.0) {
            Some(end) => actions.push((format!("{slug}-end"), aws_cron(&end), json!({"MinCapacity": pool.replicas.min, "MaxCapacity": pool.replicas.max}))),
            None => out.diagnostics.push(
                Diagnostic::new(code::TARGET_APPROXIMATION, FileId(0), sch.span, format!("aws: schedule `{}` has no end action", sch.name))
                    .label("no computed end")
                    .help("its start is not a single time of day, or it lasts a day or more, or crosses midnight on set days of the month: add a scheduled action that restores the range"),
            ),
        }
        for (name, schedule, target_action) in actions {
            let mut req = base.clone();
            req["ScheduledActionName"] = json!(format!("{}-{name}", p.name));
            req["Schedule"] = json!(schedule);
            req["Timezone"] = json!(sch.timezone);
            req["ScalableTargetAction"] = target_action.clone();
            out.push(Document::json(
                format!("{}.aws.03-schedule-{name}.json", p.name),
                Schema::AwsSchedule,
                req,
            ));
            scheduled.push(json!({"ScheduledActionName": format!("{}-{name}", p.name), "Schedule": schedule, "Timezone": sch.timezone, "ScalableTargetAction": target_action}));
        }
    }
    let mut target_props = json!({"ServiceNamespace": ns, "ResourceId": id, "ScalableDimension": dim, "MinCapacity": pool.replicas.min, "MaxCapacity": pool.replicas.max});
    if let Some(r) = role {
        target_props["RoleARN"] = json!(r);
    }
    if !scheduled.is_empty() {
        target_props["ScheduledActions"] = json!(scheduled);
    }
    let mut resources = serde_json::Map::new();
    resources.insert(
        "ScalableTarget".into(),
        json!({"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": target_props}),
    );
    resources.extend(cfn_resources);
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("Autoscaling of {} (scalepol policy {})", p.workload.name, p.name),
        "Resources": resources,
    });
    // JSON, not YAML: `2010-09-09` unquoted is a date to YAML 1.1 readers.
    out.push(Document::unvalidated(
        format!("{}.aws.cloudformation.json", p.name),
        Format::Json,
        template,
    ));
}
