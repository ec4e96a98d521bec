//! One metric's proposal, as the HPA's replica calculator computes it
//! (kubernetes pkg/controller/podautoscaler/replica_calculator.go:
//! GetResourceReplicas, GetMetricReplicas, GetObjectMetricReplicas,
//! GetExternalMetricReplicas): the usage ratio to the target, the tolerance
//! per direction, and pod by pod when per-pod samples are given (missing,
//! unready and pending pods as upstream counts them).

use crate::artifact::{Mode, PoolSpec, TargetSpec};
use crate::explain::Proposal;
use crate::observation::{Phase, Pod};

/// Kubernetes stores replica counts as int32.
pub(crate) const MAX_REPLICAS: f64 = i32::MAX as f64;

pub(crate) fn ceil_replicas(v: f64) -> u32 {
    if v.is_nan() {
        0
    } else {
        v.ceil().clamp(0.0, MAX_REPLICAS) as u32
    }
}

fn within(p: &PoolSpec, ratio: f64) -> bool {
    ratio >= 1.0 - p.tolerance_down && ratio <= 1.0 + p.tolerance_up
}

/// A target computed pod by pod, as the HPA's replica calculator does
/// (GetResourceReplicas for utilisation, GetMetricReplicas for per-replica
/// metrics sampled per pod). `None` when there are no per-pod samples for
/// the metric, or for a `total` target (which uses the aggregate).
pub(crate) fn per_pod(
    p: &PoolSpec,
    t: &TargetSpec,
    pods: &[Pod],
    current: u32,
) -> Option<Proposal> {
    let sampled = pods.iter().any(|x| x.metrics.contains_key(&t.metric));
    if !sampled || t.mode == Mode::Total {
        return None;
    }
    let utilization = t.mode == Mode::Utilization;
    let proposal = |replicas: Option<u32>, ratio: Option<f64>| Proposal {
        metric: t.metric.clone(),
        value: ratio.map(|r| r * t.target),
        replicas,
        // From pod samples the value is already the average over the pods.
        status: ratio.map(|r| {
            let per_pod = if utilization {
                Mode::Utilization
            } else {
                Mode::PerReplica
            };
            crate::explain::MetricStatus::of(per_pod, r * t.target, 1)
        }),
    };
    // calculatePodRequests: a pod without a request for the resource (any
    // pod of the selector, ignored ones included) fails the metric ("missing
    // request for cpu"); the HPA does not scale on it.
    if utilization && pods.iter().any(|x| !x.requests.contains_key(&t.metric)) {
        return Some(proposal(None, None));
    }
    // Deleted and failed pods are ignored; pending ones, and (for CPU)
    // unready ones, are set aside; pods without a sample are missing.
    let (mut ready, mut unready, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for pod in pods
        .iter()
        .filter(|x| !x.deleted && x.phase != Phase::Failed)
    {
        // Only utilisation reads requests (checked above); other metrics
        // average over pods.
        let request = pod.requests.get(&t.metric).copied().unwrap_or(1.0);
        match pod
            .metrics
            .get(&t.metric)
            .copied()
            .filter(|v| v.is_finite() && *v >= 0.0)
        {
            _ if pod.phase == Phase::Pending => unready.push(request),
            None => missing.push(request),
            Some(_) if !pod.ready && utilization && t.metric == "cpu" => unready.push(request),
            Some(v) => ready.push((v, request)),
        }
    }
    let ratio_of = |samples: &[(f64, f64)]| {
        let used: f64 = samples.iter().map(|s| s.0).sum();
        if utilization {
            used * 100.0 / samples.iter().map(|s| s.1).sum::<f64>() / t.target
        } else {
            used / samples.len() as f64 / t.target
        }
    };
    if ready.is_empty() {
        return Some(proposal(None, None));
    }
    let ratio = ratio_of(&ready);
    let scale_up_with_unready = !unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        let replicas = if within(p, ratio) {
            current
        } else {
            ceil_replicas(ratio * ready.len() as f64)
        };
        return Some(proposal(Some(replicas), Some(ratio)));
    }
    // Missing pods are added back only off the target: on a scale-down
    // (ratio strictly below 1) at max(100%, target) of their request for
    // utilisation, at the target for other metrics; on a scale-up (strictly
    // above 1) at zero. At a ratio of exactly 1 they stay out. Unready pods
    // count at zero when scaling up.
    let mut all = ready.clone();
    for request in missing {
        if ratio < 1.0 {
            let full = if utilization {
                request * t.target.max(100.0) / 100.0
            } else {
                t.target
            };
            all.push((full, request));
        } else if ratio > 1.0 {
            all.push((0.0, request));
        }
    }
    if scale_up_with_unready {
        all.extend(unready.iter().map(|request| (0.0, *request)));
    }
    let new_ratio = ratio_of(&all);
    let flipped = (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0);
    let mut replicas = if within(p, new_ratio) || flipped {
        current
    } else {
        ceil_replicas(new_ratio * all.len() as f64)
    };
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        replicas = current;
    }
    Some(proposal(Some(replicas), Some(ratio)))
}

/// One metric's proposal with the tolerance applied per direction. With
/// pods given, a `total` target scales from the ready pods (as the HPA does
/// for Object and External Value metrics).
pub(crate) fn proposal(
    p: &PoolSpec,
    t: &TargetSpec,
    value: Option<f64>,
    current: u32,
    ready: Option<u32>,
) -> Proposal {
    let replicas = value.map(|v| {
        let base = match (t.mode, ready) {
            (Mode::Total, Some(r)) => r.max(1) as f64,
            _ => current.max(1) as f64,
        };
        let ratio = match t.mode {
            Mode::PerReplica => v / (t.target * base),
            Mode::Total | Mode::Utilization => v / t.target,
        };
        if current > 0 && ratio >= 1.0 - p.tolerance_down && ratio <= 1.0 + p.tolerance_up {
            current
        } else {
            match t.mode {
                Mode::PerReplica => ceil_replicas(v / t.target),
                _ => ceil_replicas(ratio * base),
            }
        }
    });
    Proposal {
        metric: t.metric.clone(),
        value,
        replicas,
        status: None,
    }
}
