//! The HPA's `behavior`, as kubernetes pkg/controller/podautoscaler/
//! horizontal.go applies it after the replica calculator: stabilisation
//! windows over past recommendations (stabilizeRecommendationWithBehaviors),
//! rate limits over past scale events (convertDesiredReplicasWithBehaviorRate,
//! calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors),
//! and the path of an HPA without `behavior` (normalizeDesiredReplicas,
//! convertDesiredReplicasWithRules).

use crate::artifact::{BehaviorSpec, PoolSpec, RateKind, Select};
use crate::explain::Limit;
use crate::replica_calculator::MAX_REPLICAS;
use crate::state::{remember, State};
use std::collections::VecDeque;

/// HPA stabilisation (stabilizeRecommendationWithBehaviors): the lowest
/// recommendation of the scale-up window and the highest of the scale-down
/// window bound the result; the new recommendation joins the history.
pub(crate) fn stabilize(
    p: &PoolSpec,
    state: &mut State,
    recommendation: u32,
    current: u32,
    now: f64,
    why: &mut Vec<Limit>,
) -> u32 {
    let (mut up, mut down) = (recommendation, recommendation);
    for &(t, r) in &state.history {
        if t > now - p.up.stabilization_seconds {
            up = up.min(r);
        }
        if t > now - p.down.stabilization_seconds {
            down = down.max(r);
        }
    }
    remember(&mut state.history, now, recommendation);
    let mut result = current;
    if result < up {
        result = up;
    }
    if result > down {
        result = down;
    }
    if result != recommendation {
        why.push(Limit::Stabilization);
    }
    result
}

/// An HPA without `behavior` (normalizeDesiredReplicas): the highest
/// recommendation of the scale-down window (a sample exactly at the cutoff
/// still counts: upstream drops only those before it), then
/// convertDesiredReplicasWithRules: the minimum, and scale-up limited to
/// max(2 x current, 4) unless the maximum is lower.
pub(crate) fn legacy(
    p: &PoolSpec,
    state: &mut State,
    recommendation: u32,
    current: u32,
    range: (u32, u32),
    now: f64,
    why: &mut Vec<Limit>,
) -> u32 {
    let cutoff = now - p.down.stabilization_seconds;
    let stabilized = state
        .history
        .iter()
        .filter(|&&(t, _)| t >= cutoff)
        .fold(recommendation, |acc, &(_, r)| acc.max(r));
    remember(&mut state.history, now, recommendation);
    if stabilized != recommendation {
        why.push(Limit::Stabilization);
    }
    let up_limit = current.saturating_mul(2).max(4);
    let (ceiling, limit) = if range.1 > up_limit {
        (up_limit, Limit::Rate)
    } else {
        (range.1, Limit::Max)
    };
    if stabilized < range.0 {
        why.push(Limit::Min);
        range.0
    } else if stabilized > ceiling {
        why.push(limit);
        ceiling
    } else {
        stabilized
    }
}

/// Rate limits and the replica range together
/// (convertDesiredReplicasWithBehaviorRate).
pub(crate) fn with_rate_limits(
    p: &PoolSpec,
    state: &State,
    desired: u32,
    current: u32,
    range: (u32, u32),
    now: f64,
    why: &mut Vec<Limit>,
) -> u32 {
    let (min, max) = (range.0.max(1), range.1.max(range.0.max(1)));
    let (lo, hi, rate_bound) = if desired > current {
        let limit = scale_up_limit(current, &state.events, &p.up, now).max(current);
        (min, max.min(limit), limit < max)
    } else if desired < current {
        let limit = scale_down_limit(current, &state.events, &p.down, now).min(current);
        (min.max(limit), max, limit > min)
    } else {
        (min, max, false)
    };
    let result = desired.clamp(lo, hi.max(lo));
    if result != desired {
        let by_rate = rate_bound
            && ((desired > current && result == hi) || (desired < current && result == lo));
        why.push(if by_rate {
            Limit::Rate
        } else if result > desired {
            Limit::Min
        } else {
            Limit::Max
        });
    }
    result
}

/// The replica count at the start of a rate policy's period: the current
/// count less what was added, plus what was removed, by scale events strictly
/// within the period.
fn period_start(current: u32, events: &VecDeque<(f64, i64)>, now: f64, period: f64) -> f64 {
    let (added, removed) = changes_since(events, now, period);
    (current as i64 - added + removed).max(0) as f64
}

/// Replicas added and removed by events strictly after `now - period`.
fn changes_since(events: &VecDeque<(f64, i64)>, now: f64, period: f64) -> (i64, i64) {
    let mut added = 0;
    let mut removed = 0;
    for &(t, c) in events {
        if t > now - period {
            if c > 0 {
                added += c;
            } else {
                removed -= c;
            }
        }
    }
    (added, removed)
}

fn scale_up_limit(current: u32, events: &VecDeque<(f64, i64)>, b: &BehaviorSpec, now: f64) -> u32 {
    if b.select == Select::Disabled || b.policies.is_empty() {
        return current;
    }
    let proposals = b.policies.iter().map(|r| {
        let start = period_start(current, events, now, r.period_seconds);
        match r.kind {
            RateKind::Pods => start + r.value as f64,
            RateKind::Percent => (start * (1.0 + r.value as f64 / 100.0)).ceil(),
        }
    });
    let v = match b.select {
        Select::Min => proposals.fold(f64::INFINITY, f64::min),
        _ => proposals.fold(f64::NEG_INFINITY, f64::max),
    };
    v.clamp(0.0, MAX_REPLICAS) as u32
}

fn scale_down_limit(
    current: u32,
    events: &VecDeque<(f64, i64)>,
    b: &BehaviorSpec,
    now: f64,
) -> u32 {
    if b.select == Select::Disabled || b.policies.is_empty() {
        return current;
    }
    let proposals = b.policies.iter().map(|r| {
        let start = period_start(current, events, now, r.period_seconds);
        match r.kind {
            RateKind::Pods => start - r.value as f64,
            // Upstream truncates: int32(start * (1 - value/100)).
            RateKind::Percent => (start * (1.0 - r.value as f64 / 100.0)).trunc(),
        }
    });
    // Select Max allows the most change: the lowest count; Min the highest.
    let v = match b.select {
        Select::Min => proposals.fold(f64::NEG_INFINITY, f64::max),
        _ => proposals.fold(f64::INFINITY, f64::min),
    };
    v.clamp(0.0, MAX_REPLICAS) as u32
}
