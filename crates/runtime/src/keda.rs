//! KEDA around the HPA: fallback for failing scalers (kedacore/keda
//! pkg/fallback/fallback.go) and activation with the cooldown period, to and
//! from zero (pkg/scaling/executor/scale_scaledobjects.go).

use crate::artifact::{FallbackBehavior, Mode, PoolSpec};
use crate::explain::{Limit, Proposal};
use crate::replica_calculator::proposal;
use crate::state::State;

/// KEDA's fallback (pkg/fallback): each metric counts its consecutive
/// failures; once a metric has failed more than `after_failures` times,
/// and its target is per replica (AverageValue, the only kind KEDA falls
/// back for) on a metric of KEDA's own (not cpu or memory), it reads as
/// `target x N`, so it proposes N replicas (the
/// tolerance still applies, as in the HPA).
pub(crate) fn with_fallback(
    p: &PoolSpec,
    state: &mut State,
    proposals: &mut [Proposal],
    current: u32,
    why: &mut Vec<Limit>,
    notes: &mut Vec<String>,
) {
    state.failures.resize(proposals.len(), 0);
    for (i, (x, t)) in proposals.iter_mut().zip(&p.targets).enumerate() {
        if x.value.is_some() {
            state.failures[i] = 0;
            continue;
        }
        state.failures[i] = state.failures[i].saturating_add(1);
        let Some(f) = p.fallback.as_ref() else {
            continue;
        };
        // CPU and memory are read by the HPA, not KEDA: no fallback.
        let resource = matches!(t.metric.as_str(), "cpu" | "memory");
        if t.mode != Mode::PerReplica || resource || state.failures[i] <= f.after_failures {
            continue;
        }
        let n = match f.behavior {
            FallbackBehavior::Static => f.replicas,
            FallbackBehavior::Current => current,
            FallbackBehavior::CurrentIfHigher => current.max(f.replicas),
            FallbackBehavior::CurrentIfLower => current.min(f.replicas),
        };
        let value = f64::from(n) * t.target;
        *x = proposal(p, t, Some(value), current, None);
        if !why.contains(&Limit::Fallback) {
            why.push(Limit::Fallback);
        }
        notes.push(format!(
            "`{}` failed {} times in a row: it reads as {n} replicas",
            t.metric, state.failures[i]
        ));
    }
}

/// KEDA: active when a target's value is strictly above its activation
/// threshold (0 by default) or activation is forced by annotation; inactive
/// for the cooldown, the pool goes to zero (unless scale-in is paused);
/// from zero, activity brings it to at least one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn activation(
    p: &PoolSpec,
    state: &mut State,
    proposals: &[Proposal],
    current: u32,
    rec: u32,
    now: f64,
    why: &mut Vec<Limit>,
) -> u32 {
    let active = p.keda.force_activation
        || p.targets
            .iter()
            .zip(proposals)
            .any(|(t, x)| x.value.is_some_and(|v| v > t.activation.unwrap_or(0.0)));
    if active {
        state.last_active = Some(now);
        return rec.max(1);
    }
    // Inactive only because a metric could not be read: never to zero
    // on missing data (KEDA keeps the count when a scaler errors).
    if current > 0 && proposals.iter().any(|x| x.value.is_none()) {
        why.push(Limit::Hold);
        return rec.max(1);
    }
    // Scale-in paused: KEDA never takes the target to zero or idle.
    if current > 0 && p.keda.paused_scale_in {
        why.push(Limit::Paused);
        return rec.max(1);
    }
    let idle_for = state.last_active.map(|t| now - t).unwrap_or(f64::INFINITY);
    if current == 0 || idle_for >= p.cooldown_seconds {
        why.push(Limit::Activation);
        0
    } else {
        why.push(Limit::Cooldown);
        rec.max(1)
    }
}
