//! The rule of `import`: every field of every kind it reads is carried into
//! the policy or named in a note. This walks each bundled JSON Schema, field
//! by field, and holds the importer's tables (`import::fields`) to it; then
//! it sets each field the tables do not carry in a real object and checks
//! that the import names it.

use scalepol_targets::import::{self, fields};
use serde_json::{json, Value};

/// Every leaf of a schema as a JSON pointer (arrays as `*`; maps, whose
/// keys the schema does not list, as one leaf).
fn schema_leaves(schema: &Value) -> Vec<String> {
    fn walk(root: &Value, node: &Value, path: String, depth: usize, out: &mut Vec<String>) {
        let node = match node.get("$ref").and_then(Value::as_str) {
            Some(r) => root
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("unresolved {r}")),
            None => node,
        };
        if depth > 16 {
            return;
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                walk(root, v, format!("{path}/{k}"), depth + 1, out);
            }
        } else if let Some(items) = node.get("items") {
            walk(root, items, format!("{path}/*"), depth + 1, out);
        } else {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    walk(schema, schema, String::new(), 0, &mut out);
    out
}

fn schema(file: &str) -> Value {
    let path = format!("{}/schemas/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_field_of_every_imported_kind_is_carried_or_named() {
    for (kind, files) in [
        (
            "HorizontalPodAutoscaler",
            &[
                "hpa-autoscaling-v2-k8s-1.36.strict.json",
                "hpa-autoscaling-v2-k8s-1.29.strict.json",
            ][..],
        ),
        (
            "ScaledObject",
            &["keda-scaledobject-v1alpha1.strict.json"][..],
        ),
        ("VerticalPodAutoscaler", &["vpa-v1.strict.json"][..]),
        (
            "InferenceService",
            &["kserve-inferenceservice-v1beta1.strict.json"][..],
        ),
        (
            "HorizontalPodAutoscaler autoscaling/v1",
            &["hpa-autoscaling-v1.strict.json"][..],
        ),
        (
            "RegisterScalableTarget",
            &["aws-application-autoscaling-RegisterScalableTarget.request.json"][..],
        ),
        (
            "PutScalingPolicy",
            &["aws-application-autoscaling-PutScalingPolicy.request.json"][..],
        ),
        (
            "PutScheduledAction",
            &["aws-application-autoscaling-PutScheduledAction.request.json"][..],
        ),
    ] {
        let table = match kind {
            "RegisterScalableTarget" => &fields::AWS_REGISTER,
            "PutScalingPolicy" => &fields::AWS_POLICY,
            "PutScheduledAction" => &fields::AWS_SCHEDULE,
            _ => match kind.split_once(' ') {
                Some((k, v)) => fields::of_object(&json!({"kind": k, "apiVersion": v})).unwrap(),
                None => fields::of(kind).unwrap(),
            },
        };
        let mut all = Vec::new();
        for file in files {
            let leaves = schema_leaves(&schema(file));
            assert!(leaves.len() > 7, "{file}: {}", leaves.len());
            let unnamed: Vec<&String> = leaves.iter().filter(|p| !table.names(p)).collect();
            assert!(
                unnamed.is_empty(),
                "{file}: fields the import table does not name: {unnamed:#?}"
            );
            all.extend(leaves);
        }
        // No pattern of the table is dead: each names a field of a schema.
        for p in table.carried {
            assert!(
                all.iter().any(|l| fields::matches(p, l)),
                "{kind}: `{p}` names no field of {files:?}"
            );
        }
    }
}

/// An autoscaling/v1 HPA: its CPU target, and the controller's path
/// without `behavior`; it decides as the v2 HPA it converts to.
#[test]
fn an_autoscaling_v1_hpa_imports_as_its_v2_conversion() {
    let v1 = json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "php-apache", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
            "minReplicas": 1, "maxReplicas": 10, "targetCPUUtilizationPercentage": 50
        }
    });
    let i = import::import(&v1).unwrap();
    assert!(i.notes.is_empty(), "{:?}", i.notes);
    assert!(
        i.source.contains("on cpu target 50%") && i.source.contains("behavior legacy"),
        "{}",
        i.source
    );
    let mut v2 = v1.clone();
    v2["apiVersion"] = json!("autoscaling/v2");
    v2["spec"] = json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
        "minReplicas": 1, "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 50}}}]
    });
    assert_eq!(import::import(&v2).unwrap().source, i.source);
}

/// A field outside the tables, in a real object, is named by the import.
#[test]
fn an_unknown_field_is_named_not_dropped() {
    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 60}}}],
            "scaleUpDelay": "30s"
        }
    });
    let i = import::import(&hpa).unwrap();
    assert!(
        i.notes.iter().any(|n| n.contains("`spec.scaleUpDelay`")),
        "{:?}",
        i.notes
    );
    assert!(
        i.source
            .contains("// Not carried over: field `spec.scaleUpDelay`"),
        "{}",
        i.source
    );
    let so = json!({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "q"},
        "spec": {
            "scaleTargetRef": {"name": "q"},
            "triggers": [{"type": "prometheus", "name": "depth", "metadata": {
                "serverAddress": "http://prometheus:9090", "query": "sum(q)", "threshold": "5",
                "namespace": "tenant-a", "ignoreNullValues": "false"}}]
        }
    });
    let i = import::import(&so).unwrap();
    for key in [
        "`namespace` of trigger `depth`",
        "`ignoreNullValues` of trigger `depth`",
    ] {
        assert!(
            i.notes.iter().any(|n| n.contains(key)),
            "{key}: {:?}",
            i.notes
        );
    }
}

/// The output of `aws application-autoscaling describe-scaling-policies`
/// and `describe-scalable-targets` (fields as the AWS CLI reference shows
/// them): AWS's bookkeeping is passed over, a step-scaling policy named.
#[test]
fn aws_describe_output_imports_with_its_bookkeeping_passed_over() {
    let targets = json!({"ScalableTargets": [{
        "ServiceNamespace": "ecs", "ResourceId": "service/default/web-app",
        "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1, "MaxCapacity": 10,
        "RoleARN": "arn:aws:iam::012345678910:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
        "CreationTime": 1462558906.199,
        "SuspendedState": {"DynamicScalingInSuspended": false, "DynamicScalingOutSuspended": false, "ScheduledScalingSuspended": false},
        "ScalableTargetARN": "arn:aws:application-autoscaling:us-west-2:123456789012:scalable-target/1234abcd56ab78cd901ef1234567890ab123"
    }]});
    let policies = json!({"ScalingPolicies": [{
        "PolicyARN": "arn:aws:autoscaling:us-west-2:012345678910:scalingPolicy:6d8972f3:resource/ecs/service/default/web-app:policyName/cpu75-target-tracking-scaling-policy",
        "PolicyName": "cpu75-target-tracking-scaling-policy",
        "ServiceNamespace": "ecs", "ResourceId": "service/default/web-app",
        "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 75.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "ScaleOutCooldown": 60, "ScaleInCooldown": 60
        },
        "Alarms": [{"AlarmName": "TargetTracking-service/default/web-app-AlarmHigh", "AlarmARN": "arn:aws:cloudwatch:us-west-2:012345678910:alarm:x"}],
        "CreationTime": 1691998345.049
    }, {
        "PolicyName": "step", "ServiceNamespace": "ecs", "ResourceId": "service/default/web-app",
        "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]}
    }]});
    let out = import::import_aws(&[targets, policies]);
    assert_eq!(out.len(), 1);
    let i = out.into_iter().next().unwrap().unwrap();
    assert!(
        i.source
            .contains("workload ecs-service \"default/web-app\""),
        "{}",
        i.source
    );
    assert!(
        i.source.contains("replicas 1..10") && i.source.contains("on cpu target 75%"),
        "{}",
        i.source
    );
    assert!(
        i.source.contains("up { stabilize 1m }") && i.source.contains("down { stabilize 1m }"),
        "{}",
        i.source
    );
    assert_eq!(i.notes.len(), 1, "{:?}", i.notes);
    assert!(
        i.notes[0].contains("`step` of type StepScaling"),
        "{:?}",
        i.notes
    );
}
