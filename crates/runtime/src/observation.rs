//! What `decide()` reads: the current replicas, the metric values and,
//! when known, each pod's state and samples (docs/runtime.md).

use std::collections::BTreeMap;

/// One reading: the current replicas and the metric values in their units.
/// A metric that is absent, NaN, infinite or negative could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub replicas: u32,
    pub metrics: BTreeMap<String, f64>,
    /// Per-pod samples, when known: utilisation targets are then computed
    /// the way the HPA's replica calculator does, pod by pod.
    pub pods: Vec<Pod>,
    /// Per-second samples by metric, (time, value), oldest first: what
    /// Knative's collector scrapes between two decisions. Read by KPA pools
    /// instead of `metrics`.
    pub samples: BTreeMap<String, Vec<(f64, f64)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Running,
    Pending,
    Failed,
}

/// One pod's state and samples.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    /// Ready as the HPA counts it: for CPU, a pod in its initialisation
    /// period whose sample predates readiness is not ready.
    #[serde(default = "yes")]
    pub ready: bool,
    #[serde(default)]
    pub phase: Phase,
    /// Has a deletion timestamp.
    #[serde(default)]
    pub deleted: bool,
    /// Per-pod samples by metric (absent: missing for this pod).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Per-pod resource requests by metric (`cpu`, `memory`), for utilisation.
    #[serde(default)]
    pub requests: BTreeMap<String, f64>,
}

fn yes() -> bool {
    true
}

/// Pods that are running, ready and not being deleted; `None` without pods.
pub(crate) fn ready_pods(pods: &[Pod]) -> Option<u32> {
    (!pods.is_empty()).then(|| {
        pods.iter()
            .filter(|x| x.ready && x.phase == Phase::Running && !x.deleted)
            .count() as u32
    })
}
