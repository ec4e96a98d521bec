//! A decision and its explanation: each metric's proposal, what limited the
//! result (`Limit`, serialised as the strings docs/runtime.md lists) and the
//! one-line reason.

use crate::artifact::PoolSpec;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposal {
    pub metric: String,
    /// `None` when the metric could not be read.
    pub value: Option<f64>,
    pub replicas: Option<u32>,
    /// What the HPA reports for this metric in `status.currentMetrics` (as
    /// `kubectl describe hpa` shows it), when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<MetricStatus>,
}

/// The current value of a metric as the HPA's MetricValueStatus holds it:
/// an average utilisation (whole percent, truncated), an average value per
/// pod, or a value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl MetricStatus {
    /// The status of a target read as `value` with `current` replicas:
    /// per-replica values are averaged over the current replicas (the HPA
    /// divides by the pod count it read, at least one).
    pub fn of(mode: crate::artifact::Mode, value: f64, current: u32) -> MetricStatus {
        use crate::artifact::Mode;
        let none = MetricStatus {
            average_utilization: None,
            average_value: None,
            value: None,
        };
        match mode {
            Mode::Utilization => MetricStatus {
                average_utilization: Some(value.trunc() as i64),
                ..none
            },
            Mode::PerReplica => MetricStatus {
                average_value: Some(value / f64::from(current.max(1))),
                ..none
            },
            Mode::Total => MetricStatus {
                value: Some(value),
                ..none
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    pub pool: String,
    pub time: f64,
    pub current: u32,
    pub desired: u32,
    pub proposals: Vec<Proposal>,
    /// What shaped the result, in the order it applied.
    pub limited_by: Vec<Limit>,
    pub reason: String,
}

/// What shaped a decision. Serialised as the strings docs/runtime.md lists:
/// `tolerance`, `min`, `max`, `stabilization`, `rate`, `schedule:NAME`,
/// `rule:NAME`, `fallback`, `hold`, `activation`, `cooldown`, `panic`,
/// `paused`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// Every metric is within the tolerance of its target.
    Tolerance,
    /// Raised to the range's minimum.
    Min,
    /// Lowered to the range's maximum.
    Max,
    /// Held by a stabilisation window.
    Stabilization,
    /// Held by a scale-up or scale-down rate policy.
    Rate,
    /// The range of an active schedule.
    Schedule(String),
    /// The range of a rule whose condition holds.
    Rule(String),
    /// A failing metric read as its fallback (KEDA).
    Fallback,
    /// Kept at the current count: metrics missing or failing.
    Hold,
    /// To zero: every target inactive for the cooldown (KEDA).
    Activation,
    /// Kept above zero until the cooldown ends.
    Cooldown,
    /// Knative's panic mode: no scale-down.
    Panic,
    /// Autoscaling paused by a KEDA annotation (`paused`, `paused-replicas`,
    /// `paused-scale-in`, `paused-scale-out`).
    Paused,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            Limit::Schedule(name) => return write!(f, "schedule:{name}"),
            Limit::Rule(name) => return write!(f, "rule:{name}"),
            Limit::Tolerance => "tolerance",
            Limit::Min => "min",
            Limit::Max => "max",
            Limit::Stabilization => "stabilization",
            Limit::Rate => "rate",
            Limit::Fallback => "fallback",
            Limit::Hold => "hold",
            Limit::Activation => "activation",
            Limit::Cooldown => "cooldown",
            Limit::Panic => "panic",
            Limit::Paused => "paused",
        };
        f.write_str(word)
    }
}

impl serde::Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

pub(crate) fn reason(
    p: &PoolSpec,
    current: u32,
    desired: u32,
    proposals: &[Proposal],
    why: &[Limit],
    notes: &[String],
) -> String {
    let best = proposals
        .iter()
        .filter(|x| x.replicas.is_some())
        .max_by_key(|x| x.replicas);
    let verb = match desired.cmp(&current) {
        std::cmp::Ordering::Greater => "scale up",
        std::cmp::Ordering::Less => "scale down",
        std::cmp::Ordering::Equal => "hold",
    };
    let mut r = format!("{verb} {current} -> {desired}");
    if let Some(b) = best {
        r.push_str(&format!(
            ": `{}` proposes {}",
            b.metric,
            b.replicas.unwrap_or(0)
        ));
    } else if p.targets.is_empty() {
        r.push_str(": fixed size");
    }
    if !why.is_empty() {
        r.push_str(&format!(
            " (limited by {})",
            why.iter()
                .map(Limit::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for n in notes {
        r.push_str("; ");
        r.push_str(n);
    }
    r
}
