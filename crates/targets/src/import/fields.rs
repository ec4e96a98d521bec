//! Where every field of a source object goes. Each source kind has a table:
//! the fields `import` carries into the policy (or names in a note of its
//! own, where it carries them only in part), and the fields that are not
//! autoscaling settings at all, each with the reason. Any field of the
//! input that the table does not name is reported as not imported, so a
//! field added upstream, or misspelt by hand, is never dropped in silence.
//! A test walks each bundled JSON Schema and holds the tables to it.

use serde_json::Value;

/// A kind's fields, as JSON-pointer patterns: `*` is any one segment (an
/// array index or a key), a final `**` any subtree.
pub struct Fields {
    pub kind: &'static str,
    pub carried: &'static [&'static str],
    pub ignored: &'static [(&'static str, &'static str)],
}

const METADATA: (&str, &str) = (
    "/metadata/**",
    "object metadata (labels, annotations other than the ones read, ownership, bookkeeping) is not an autoscaling setting",
);
const STATUS: (&str, &str) = ("/status/**", "status is written by the controller");

pub const HPA_V2: Fields = Fields {
    kind: "HorizontalPodAutoscaler",
    carried: &[
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
        "/spec/scaleTargetRef/apiVersion",
        "/spec/scaleTargetRef/kind",
        "/spec/scaleTargetRef/name",
        "/spec/minReplicas",
        "/spec/maxReplicas",
        "/spec/metrics/*/type",
        "/spec/metrics/*/resource/name",
        "/spec/metrics/*/resource/target/**",
        // Carried for the whole pod, with a note naming the container.
        "/spec/metrics/*/containerResource/**",
        "/spec/metrics/*/pods/metric/name",
        "/spec/metrics/*/pods/target/**",
        "/spec/metrics/*/external/metric/name",
        "/spec/metrics/*/external/target/**",
        "/spec/metrics/*/object/metric/name",
        "/spec/metrics/*/object/describedObject/**",
        "/spec/metrics/*/object/target/**",
        // Named in a note: a metric's label selector.
        "/spec/metrics/*/pods/metric/selector/**",
        "/spec/metrics/*/external/metric/selector/**",
        "/spec/metrics/*/object/metric/selector/**",
        "/spec/behavior/*/policies/*/type",
        "/spec/behavior/*/policies/*/value",
        "/spec/behavior/*/policies/*/periodSeconds",
        "/spec/behavior/*/selectPolicy",
        "/spec/behavior/*/stabilizationWindowSeconds",
        "/spec/behavior/*/tolerance",
    ],
    ignored: &[METADATA, STATUS],
};

pub const SCALED_OBJECT: Fields = Fields {
    kind: "ScaledObject",
    carried: &[
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
        // The keys under autoscaling.keda.sh/ are read (pauses, activation).
        "/metadata/annotations/**",
        "/spec/scaleTargetRef/apiVersion",
        "/spec/scaleTargetRef/kind",
        "/spec/scaleTargetRef/name",
        "/spec/pollingInterval",
        "/spec/cooldownPeriod",
        "/spec/minReplicaCount",
        "/spec/maxReplicaCount",
        "/spec/idleReplicaCount",
        "/spec/fallback/failureThreshold",
        "/spec/fallback/replicas",
        "/spec/fallback/behavior",
        "/spec/advanced/horizontalPodAutoscalerConfig/behavior/*/policies/*/type",
        "/spec/advanced/horizontalPodAutoscalerConfig/behavior/*/policies/*/value",
        "/spec/advanced/horizontalPodAutoscalerConfig/behavior/*/policies/*/periodSeconds",
        "/spec/advanced/horizontalPodAutoscalerConfig/behavior/*/selectPolicy",
        "/spec/advanced/horizontalPodAutoscalerConfig/behavior/*/stabilizationWindowSeconds",
        "/spec/advanced/horizontalPodAutoscalerConfig/behavior/*/tolerance",
        "/spec/advanced/scalingModifiers/formula",
        "/spec/advanced/scalingModifiers/target",
        "/spec/advanced/scalingModifiers/activationTarget",
        "/spec/advanced/scalingModifiers/metricType",
        "/spec/triggers/*/type",
        "/spec/triggers/*/name",
        "/spec/triggers/*/metricType",
        // Each trigger type's own keys are checked where the trigger is read.
        "/spec/triggers/*/metadata/**",
        // Named in a note when present.
        "/spec/initialCooldownPeriod",
        "/spec/advanced/restoreToOriginalReplicaCount",
        "/spec/advanced/horizontalPodAutoscalerConfig/name",
        "/spec/triggers/*/authenticationRef/**",
        "/spec/triggers/*/useCachedMetrics",
    ],
    ignored: &[
        METADATA,
        STATUS,
        (
            "/spec/scaleTargetRef/envSourceContainerName",
            "the container whose environment trigger keys ending in `FromEnv` read; those keys are named where they appear",
        ),
    ],
};

/// autoscaling/v1: CPU utilisation only, and no `behavior`.
pub const HPA_V1: Fields = Fields {
    kind: "HorizontalPodAutoscaler",
    carried: &[
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
        "/spec/scaleTargetRef/apiVersion",
        "/spec/scaleTargetRef/kind",
        "/spec/scaleTargetRef/name",
        "/spec/minReplicas",
        "/spec/maxReplicas",
        "/spec/targetCPUUtilizationPercentage",
    ],
    ignored: &[METADATA, STATUS],
};

pub const VPA: Fields = Fields {
    kind: "VerticalPodAutoscaler",
    carried: &[
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
        "/spec/targetRef/apiVersion",
        "/spec/targetRef/kind",
        "/spec/targetRef/name",
        "/spec/updatePolicy/updateMode",
        "/spec/resourcePolicy/containerPolicies/*/containerName",
        "/spec/resourcePolicy/containerPolicies/*/minAllowed/**",
        "/spec/resourcePolicy/containerPolicies/*/maxAllowed/**",
        "/spec/resourcePolicy/containerPolicies/*/controlledResources/*",
        // Named in a note when they differ from what the compiled VPA does.
        "/spec/updatePolicy/minReplicas",
        "/spec/resourcePolicy/containerPolicies/*/mode",
        "/spec/resourcePolicy/containerPolicies/*/controlledValues",
    ],
    ignored: &[METADATA, STATUS],
};

pub const INFERENCE_SERVICE: Fields = Fields {
    kind: "InferenceService",
    carried: &[
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
        // deploymentMode, autoscalerClass and Knative's autoscaling keys;
        // other autoscaling.knative.dev/ keys are named where they appear.
        "/metadata/annotations/**",
        "/spec/predictor/annotations/**",
        "/spec/predictor/minReplicas",
        "/spec/predictor/maxReplicas",
        "/spec/predictor/scaleMetric",
        "/spec/predictor/scaleMetricType",
        "/spec/predictor/scaleTarget",
        "/spec/predictor/containerConcurrency",
        "/spec/predictor/autoScaling/metrics/**",
        // Named in a note when present.
        "/spec/predictor/autoScaling/behavior/**",
        "/spec/transformer/minReplicas",
        "/spec/transformer/maxReplicas",
        "/spec/transformer/scaleMetric",
        "/spec/transformer/scaleTarget",
        "/spec/transformer/autoScaling/**",
        "/spec/explainer/minReplicas",
        "/spec/explainer/maxReplicas",
        "/spec/explainer/scaleMetric",
        "/spec/explainer/scaleTarget",
        "/spec/explainer/autoScaling/**",
    ],
    ignored: &[
        METADATA,
        STATUS,
        (
            "/spec/**",
            "the model, its runtime and its pods are not autoscaling settings: scalepol compiles the predictor's scaling fields for server-side apply beside them",
        ),
    ],
};

/// The bookkeeping that `describe-*` output adds to the request shapes.
const DESCRIBED: (&str, &str) = (
    "/CreationTime",
    "written by AWS when the object was created",
);

pub const AWS_REGISTER: Fields = Fields {
    kind: "RegisterScalableTarget",
    carried: &[
        "/ServiceNamespace",
        "/ResourceId",
        "/ScalableDimension",
        "/MinCapacity",
        "/MaxCapacity",
        "/RoleARN",
        // Named in a note when any is true.
        "/SuspendedState/**",
    ],
    ignored: &[
        (
            "/Tags/**",
            "tags label the target; they are not autoscaling settings",
        ),
        ("/ScalableTargetARN", "written by AWS"),
        DESCRIBED,
    ],
};

pub const AWS_POLICY: Fields = Fields {
    kind: "PutScalingPolicy",
    carried: &[
        "/PolicyName",
        "/ServiceNamespace",
        "/ResourceId",
        "/ScalableDimension",
        "/PolicyType",
        "/TargetTrackingScalingPolicyConfiguration/TargetValue",
        "/TargetTrackingScalingPolicyConfiguration/PredefinedMetricSpecification/PredefinedMetricType",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/MetricName",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Namespace",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Dimensions/*/Name",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Dimensions/*/Value",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Statistic",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Unit",
        "/TargetTrackingScalingPolicyConfiguration/ScaleOutCooldown",
        "/TargetTrackingScalingPolicyConfiguration/ScaleInCooldown",
        "/TargetTrackingScalingPolicyConfiguration/DisableScaleIn",
        // Named in a note: metric math, step and predictive scaling.
        // Metric math: each MetricStat a metric, the expression a formula.
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Metrics/*/Id",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Metrics/*/Expression",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Metrics/*/ReturnData",
        "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Metrics/*/MetricStat/**",
        "/StepScalingPolicyConfiguration/**",
        "/PredictiveScalingPolicyConfiguration/**",
    ],
    ignored: &[
        (
            "/TargetTrackingScalingPolicyConfiguration/PredefinedMetricSpecification/ResourceLabel",
            "names the load balancer target group of an ALB metric, which scalepol does not import",
        ),
        ("/PolicyARN", "written by AWS"),
        (
            "/TargetTrackingScalingPolicyConfiguration/CustomizedMetricSpecification/Metrics/*/Label",
            "a display name for the series in CloudWatch",
        ),
        ("/Alarms/**", "the CloudWatch alarms AWS created for the policy"),
        DESCRIBED,
    ],
};

pub const AWS_SCHEDULE: Fields = Fields {
    kind: "PutScheduledAction",
    carried: &[
        "/ServiceNamespace",
        "/Schedule",
        "/Timezone",
        "/ScheduledActionName",
        "/ResourceId",
        "/ScalableDimension",
        "/ScalableTargetAction/MinCapacity",
        "/ScalableTargetAction/MaxCapacity",
        // Named in a note when present.
        "/StartTime",
        "/EndTime",
    ],
    ignored: &[("/ScheduledActionARN", "written by AWS"), DESCRIBED],
};

/// The table for a kind, if `import` reads it.
pub fn of(kind: &str) -> Option<&'static Fields> {
    [&HPA_V2, &SCALED_OBJECT, &VPA, &INFERENCE_SERVICE]
        .into_iter()
        .find(|f| f.kind == kind)
}

/// The table for an object (autoscaling/v1 HPAs have their own).
pub fn of_object(doc: &Value) -> Option<&'static Fields> {
    let kind = doc.get("kind")?.as_str()?;
    let v1 = doc.get("apiVersion").and_then(Value::as_str) == Some("autoscaling/v1");
    if kind == "HorizontalPodAutoscaler" && v1 {
        return Some(&HPA_V1);
    }
    of(kind)
}

/// The leaves of a document as JSON pointers (array indices as `*`, so
/// that each field is reported once). Empty objects and arrays are leaves.
pub fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                leaves(x, &format!("{prefix}/{}", escape(k)), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                leaves(x, &format!("{prefix}/*"), out);
            }
        }
        _ => {
            if !out.iter().any(|p| p == prefix) {
                out.push(prefix.to_string());
            }
        }
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Whether `path` is named by `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/').skip(1);
    let mut x = path.split('/').skip(1);
    loop {
        match (p.next(), x.next()) {
            (Some("**"), _) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Fields {
    pub fn names(&self, path: &str) -> bool {
        self.carried.iter().any(|p| matches(p, path))
            || self.ignored.iter().any(|(p, _)| matches(p, path))
    }

    /// The fields of `doc` that the table does not name.
    pub fn unknown(&self, doc: &Value) -> Vec<String> {
        let mut all = Vec::new();
        leaves(doc, "", &mut all);
        all.retain(|p| !self.names(p));
        all
    }
}

/// `/spec/foo/*/bar` as `spec.foo[].bar`, for a note.
pub fn dotted(path: &str) -> String {
    path.trim_start_matches('/')
        .replace("/*", "[]")
        .replace('/', ".")
        .replace("~1", "/")
        .replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments_and_subtrees() {
        assert!(matches("/spec/metrics/*/type", "/spec/metrics/*/type"));
        assert!(matches(
            "/spec/behavior/*/tolerance",
            "/spec/behavior/scaleUp/tolerance"
        ));
        assert!(matches("/metadata/**", "/metadata/labels/app"));
        assert!(!matches("/spec/minReplicas", "/spec/minReplicas/x"));
        assert!(!matches("/spec/min", "/spec/minReplicas"));
        let doc = serde_json::json!({"spec": {"minReplicas": 1, "future": {"x": [1, 2]}}});
        assert_eq!(HPA_V2.unknown(&doc), vec!["/spec/future/x/*".to_string()]);
        assert_eq!(dotted("/spec/future/x/*"), "spec.future.x[]");
    }
}
