//! The engine artifact: a versioned, self-contained JSON document with all
//! the runtime needs. Written by `scalepol compile --target engine`; its
//! JSON Schema is docs/engine-artifact.schema.json.

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "scalepol-engine";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub format: String,
    pub version: u32,
    pub policy: String,
    pub pools: Vec<PoolSpec>,
    pub metrics: Vec<MetricSpec>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    #[serde(default)]
    pub schedules: Vec<ScheduleSpec>,
}

impl Artifact {
    /// The pool a controller decides for when none is named: the first
    /// that scales (a fixed-size pool has nothing to decide), else the first.
    pub fn default_pool(&self) -> usize {
        self.pools
            .iter()
            .position(|p| !p.targets.is_empty())
            .unwrap_or(0)
    }

    /// The metrics a live controller must read to decide for pool `pool`:
    /// those its targets scale on, those its formulas read, and those the
    /// rules that apply to it read. Expressions are matched by identifier,
    /// so `queue` is not read by a rule over `queue_depth`.
    pub fn metrics_read_by(&self, pool: usize) -> Vec<&MetricSpec> {
        let Some(spec) = self.pools.get(pool) else {
            return Vec::new();
        };
        let mut texts: Vec<&str> = spec
            .targets
            .iter()
            .filter_map(|t| t.formula.as_deref())
            .collect();
        texts.extend(
            self.rules
                .iter()
                .filter(|r| r.pool.as_deref().is_none_or(|p| p == spec.name))
                .map(|r| r.when.as_str()),
        );
        let words: std::collections::BTreeSet<&str> = texts
            .iter()
            .flat_map(|t| t.split(|c: char| !(c.is_alphanumeric() || c == '_')))
            .collect();
        self.metrics
            .iter()
            .filter(|m| {
                spec.targets.iter().any(|t| t.metric == m.name) || words.contains(m.name.as_str())
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub name: String,
    /// `count`, `percent`, `req/s`, `tokens/s`, `ms`, `bytes`.
    pub unit: String,
    /// Where a live loop reads it: `builtin`, `prometheus`, `cloudwatch`
    /// or `external`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The server (Prometheus URL, CloudWatch region, scaler address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The query as written (PromQL for Prometheus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// HPA AverageValue: the metric divided by the replicas is held at target.
    PerReplica,
    /// HPA Value: the metric is held at target, proportionally.
    Total,
    /// HPA Utilization: an average utilisation held at target.
    Utilization,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub metric: String,
    pub mode: Mode,
    pub target: f64,
    #[serde(default)]
    pub activation: Option<f64>,
    /// A CEL formula over the metrics whose value is this target's metric
    /// (`metric` is then its name, `formula`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    Percent,
    Pods,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub kind: RateKind,
    pub value: u32,
    pub period_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    pub policies: Vec<RateSpec>,
    pub select: Select,
    pub stabilization_seconds: f64,
}

impl BehaviorSpec {
    /// The HPA's default scale-up (Kubernetes API reference,
    /// HPAScalingRules): 100% or 4 pods per 15 s, the larger; no window.
    pub fn kubernetes_scale_up() -> BehaviorSpec {
        use scalepol_common::defaults::hpa;
        BehaviorSpec::upstream(&hpa::SCALE_UP, hpa::SCALE_UP_STABILIZATION_SECONDS)
    }

    /// The HPA's default scale-down: 100% per 15 s after a 300 s window.
    pub fn kubernetes_scale_down() -> BehaviorSpec {
        use scalepol_common::defaults::hpa;
        BehaviorSpec::upstream(&hpa::SCALE_DOWN, hpa::SCALE_DOWN_STABILIZATION_SECONDS)
    }

    fn upstream(rates: &[scalepol_common::defaults::Rate], stabilization: u64) -> BehaviorSpec {
        BehaviorSpec {
            policies: rates
                .iter()
                .map(|r| RateSpec {
                    kind: if r.percent {
                        RateKind::Percent
                    } else {
                        RateKind::Pods
                    },
                    value: r.value,
                    period_seconds: r.period_seconds as f64,
                })
                .collect(),
            select: Select::Max,
            stabilization_seconds: stabilization as f64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackSpec {
    pub replicas: u32,
    /// KEDA's failureThreshold: the fallback applies from the failure after
    /// this many in a row.
    pub after_failures: u32,
    #[serde(default)]
    pub behavior: FallbackBehavior,
}

/// KEDA's `fallback.behavior`: which count a failing metric proposes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackBehavior {
    /// `replicas`.
    #[default]
    Static,
    /// The current count.
    Current,
    /// The current count if above `replicas`, else `replicas`.
    CurrentIfHigher,
    /// The current count if below `replicas`, else `replicas`.
    CurrentIfLower,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    pub name: String,
    pub min: u32,
    pub max: u32,
    /// Empty for a fixed-size pool (it holds `min`).
    pub targets: Vec<TargetSpec>,
    pub tolerance_up: f64,
    pub tolerance_down: f64,
    pub up: BehaviorSpec,
    pub down: BehaviorSpec,
    pub cooldown_seconds: f64,
    pub interval_seconds: f64,
    #[serde(default)]
    pub fallback: Option<FallbackSpec>,
    pub warmup_seconds: f64,
    /// Kubernetes' rules for an HPA without `behavior`: scale-down
    /// stabilisation over `down.stabilization_seconds`, scale-up limited to
    /// max(2 x current, 4). Policies always carry a behavior; this replays
    /// HPAs that have none (and upstream tests written for them).
    #[serde(default)]
    pub legacy: bool,
    /// KEDA `idleReplicaCount: 0`: a pool with a floor still goes to zero
    /// when every target is inactive for `cooldown_seconds`.
    #[serde(default)]
    pub idle_to_zero: bool,
    /// Knative's KPA decides instead of the HPA (KServe Serverless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpa: Option<crate::kpa::KpaSpec>,
    /// KEDA's ScaledObject annotations (`autoscaling.keda.sh/...`): pauses
    /// and forced activation.
    #[serde(default, skip_serializing_if = "KedaAnnotations::is_empty")]
    pub keda: KedaAnnotations,
}

/// The annotations KEDA reads on a ScaledObject (KEDA 2.20,
/// apis/keda/v1alpha1/scaledobject_types.go), as the engine honours them
/// (pkg/scaling/executor, controllers/keda/hpa.go).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KedaAnnotations {
    /// `paused-replicas: N`: autoscaling stops and the target is held at N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_replicas: Option<u32>,
    /// `paused: "true"`: autoscaling stops at the current count.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// `paused-scale-in: "true"`: the HPA's scale-down is `Disabled` and
    /// KEDA never scales to zero or to the idle count.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused_scale_in: bool,
    /// `paused-scale-out: "true"`: the HPA's scale-up is `Disabled` and
    /// KEDA never activates from zero or the idle count.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused_scale_out: bool,
    /// `force-activation: "true"`: the ScaledObject is active whatever its
    /// triggers say.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_activation: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl KedaAnnotations {
    pub fn is_empty(&self) -> bool {
        *self == KedaAnnotations::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default)]
    pub pool: Option<String>,
    /// CEL, compiled once at load.
    pub when: String,
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    pub name: String,
    #[serde(default)]
    pub pool: Option<String>,
    /// Five-field cron.
    pub cron: String,
    pub duration_seconds: f64,
    pub timezone: String,
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_read_by_targets_formulas_and_rules_by_identifier() {
        let mut a: Artifact = serde_json::from_str(
            r#"{"format": "scalepol-engine", "version": 1, "policy": "p",
            "pools": [{"name": "main", "min": 1, "max": 4,
              "targets": [{"metric": "formula", "mode": "per_replica", "target": 1.0, "formula": "running + 2.0 * waiting"}],
              "tolerance_up": 0.1, "tolerance_down": 0.1,
              "up": {"policies": [], "select": "max", "stabilization_seconds": 0.0},
              "down": {"policies": [], "select": "max", "stabilization_seconds": 0.0},
              "cooldown_seconds": 0.0, "interval_seconds": 15.0, "warmup_seconds": 0.0}],
            "metrics": [], "rules": [{"name": "r", "when": "queue_depth > 4.0", "min": 2}]}"#,
        )
        .unwrap();
        for name in ["running", "waiting", "queue", "queue_depth", "kv"] {
            a.metrics.push(MetricSpec {
                name: name.into(),
                unit: "count".into(),
                source: Some("prometheus".into()),
                endpoint: None,
                query: Some(name.into()),
            });
        }
        let read: Vec<&str> = a
            .metrics_read_by(0)
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(read, ["running", "waiting", "queue_depth"]);
        assert!(a.metrics_read_by(1).is_empty());
    }
}
