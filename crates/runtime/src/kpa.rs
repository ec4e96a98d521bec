//! Knative's Pod Autoscaler (KPA), the autoscaler of KServe in Serverless
//! mode, as knative/serving `pkg/autoscaler/scaling/autoscaler.go` decides:
//! the stable and panic windows' desired counts, each bounded by the
//! maximum scale-up and scale-down rates, panic mode (entered when the panic
//! window's desired count is at least the panic threshold times the ready
//! pods, held for a stable window after the last such reading, never
//! scaling down while in it), and the scale-down delay. Facts from
//! upstream; the code is this project's.

use crate::artifact::PoolSpec;
use crate::engine::{finish, Engine};
use crate::explain::{Decision, Limit, Proposal};
use crate::observation::{ready_pods, Observation};
use crate::state::State;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Knative's DeciderSpec, as far as the replica count goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpaSpec {
    /// Per-pod target: the `target` annotation times the target utilisation
    /// (Knative's default utilisation is 70%).
    pub target_value: f64,
    /// Default 1000.
    pub max_scale_up_rate: f64,
    /// Default 2.
    pub max_scale_down_rate: f64,
    /// The panic threshold as a ratio (Knative's 200% is 2.0).
    pub panic_threshold: f64,
    /// Default 60 s.
    pub stable_window_seconds: f64,
    /// Default 10% of the stable window.
    pub panic_window_seconds: f64,
    /// Default 0: no delay.
    #[serde(default)]
    pub scale_down_delay_seconds: f64,
    /// `initial-scale` (default 1): until the revision has once had this
    /// many ready pods (and its minimum), it is not scaled below it.
    #[serde(default = "one")]
    pub initial_scale: u32,
    /// `activation-scale` (default 1): a revision with demand gets at least
    /// this many pods.
    #[serde(default = "one")]
    pub activation_scale: u32,
    /// `scale-to-zero-grace-period` (config-autoscaler, default 30 s): the
    /// last pod stays this long after the decision to scale to zero (with
    /// the retention period, the longer of the two).
    #[serde(default)]
    pub scale_to_zero_grace_seconds: f64,
}

fn one() -> u32 {
    1
}

impl KpaSpec {
    /// Knative's defaults (config-autoscaler) for a per-pod target.
    pub fn defaults(target: f64, stable_window_seconds: f64) -> KpaSpec {
        KpaSpec {
            target_value: target * 70.0 / 100.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            panic_threshold: 2.0,
            stable_window_seconds,
            panic_window_seconds: stable_window_seconds * 0.1,
            scale_down_delay_seconds: 0.0,
            initial_scale: 1,
            activation_scale: 1,
            scale_to_zero_grace_seconds: 30.0,
        }
    }
}

/// What the KPA remembers between decisions.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KpaState {
    /// When the panic began or was last extended.
    pub panic_time: Option<f64>,
    pub max_panic_pods: u32,
    /// (time, desired) of the scale-down delay window.
    delayed: VecDeque<(f64, u32)>,
    /// The revision has reached its initial scale once.
    pub initialized: bool,
}

impl KpaState {
    /// A new autoscaler starts in panic mode when more than one pod is ready
    /// ("keep at least the current scale until enough data").
    pub fn starting(ready: u32, now: f64) -> KpaState {
        KpaState {
            panic_time: (ready > 1).then_some(now),
            max_panic_pods: ready,
            delayed: VecDeque::new(),
            initialized: false,
        }
    }
}

/// Whether the last decision was in panic mode, for reasons.
pub fn panicking(s: &KpaState) -> bool {
    s.panic_time.is_some()
}

/// The desired pod count from the stable- and panic-window averages of the
/// scaling metric (a revision's total concurrency or requests per second).
/// `reachable` is false while the revision takes no traffic (it may then
/// scale down without the rate bound).
pub fn scale(
    spec: &KpaSpec,
    state: &mut KpaState,
    ready: u32,
    stable: f64,
    panic: f64,
    reachable: bool,
    now: f64,
) -> u32 {
    // Zero ready pods count as one.
    let ready = f64::from(ready.max(1));
    let max_up = (spec.max_scale_up_rate * ready).ceil();
    let max_down = if reachable {
        (ready / spec.max_scale_down_rate).floor()
    } else {
        0.0
    };
    let dspc = (stable / spec.target_value).ceil();
    let dppc = (panic / spec.target_value).ceil();
    let bound = |v: f64| v.max(max_down).min(max_up).clamp(0.0, i32::MAX as f64) as u32;
    // With demand, at least the activation scale.
    let activated = |raw: f64, pods: u32| {
        if spec.activation_scale > 1 && raw > 0.0 {
            pods.max(spec.activation_scale)
        } else {
            pods
        }
    };
    let (stable_pods, panic_pods) = (activated(dspc, bound(dspc)), activated(dppc, bound(dppc)));
    let over = dppc / ready >= spec.panic_threshold;
    match state.panic_time {
        _ if over => state.panic_time = Some(now),
        // Out of panic once the surge has been in the stable window for a
        // whole window (upstream: panic time + window strictly before now).
        Some(t) if t + spec.stable_window_seconds < now => {
            state.panic_time = None;
            state.max_panic_pods = 0;
        }
        _ => {}
    }
    let mut desired = stable_pods;
    if state.panic_time.is_some() {
        desired = desired.max(panic_pods);
        // No scale-down in panic mode.
        state.max_panic_pods = state.max_panic_pods.max(desired);
        desired = state.max_panic_pods;
    }
    // An unreachable revision (no route sends it traffic) is not held by
    // the scale-down delay.
    if spec.scale_down_delay_seconds > 0.0 && reachable {
        desired = delay(spec, state, desired, now);
    }
    desired
}

/// The highest count of the scale-down delay window (Knative's max
/// TimeWindow with one-second buckets: a value leaves it once its bucket is
/// a whole window old).
fn delay(spec: &KpaSpec, state: &mut KpaState, desired: u32, now: f64) -> u32 {
    let w = &mut state.delayed;
    w.push_back((now.floor(), desired));
    while w
        .front()
        .is_some_and(|&(t, _)| t <= now.floor() - spec.scale_down_delay_seconds)
    {
        w.pop_front();
    }
    w.iter().map(|&(_, d)| d).max().unwrap_or(desired)
}

/// A KServe Serverless pool: Knative's KPA on the first target's metric
/// (docs/runtime.md), averaged over the stable and panic windows of the
/// samples this engine has seen (one per decision, or the per-second
/// samples an observation carries, as Knative's collector scrapes them);
/// then the initial scale until it is reached, scale to zero after the
/// retention and grace periods, and the range.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide(
    engine: &Engine,
    p: &PoolSpec,
    k: &KpaSpec,
    state: &mut State,
    obs: &Observation,
    proposals: Vec<Proposal>,
    now: f64,
    mut why: Vec<Limit>,
    mut notes: Vec<String>,
) -> Decision {
    let current = obs.replicas.min(i32::MAX as u32);
    let ready = ready_pods(&obs.pods).unwrap_or(current);
    let metric = p.targets.first().map(|t| t.metric.as_str());
    let value = proposals.first().and_then(|x| x.value);
    let read = record(state, obs, metric, value, now, k.stable_window_seconds);
    let kpa = state
        .kpa
        .get_or_insert_with(|| KpaState::starting(ready, now));
    let desired = if read {
        let mean = |window: f64| {
            let in_window: Vec<f64> = state
                .samples
                .iter()
                .filter(|&&(t, _)| t > now - window)
                .map(|&(_, x)| x)
                .collect();
            in_window.iter().sum::<f64>() / in_window.len().max(1) as f64
        };
        let (stable, panic) = (mean(k.stable_window_seconds), mean(k.panic_window_seconds));
        let d = scale(k, kpa, ready, stable, panic, true, now);
        if panicking(kpa) {
            why.push(Limit::Panic);
        }
        d
    } else {
        why.push(Limit::Hold);
        notes.push("no metric to scale on: the KPA keeps the count".into());
        current
    };
    if desired > 0 {
        state.last_active = Some(now);
    }
    let mut range = (p.min, p.max);
    engine.apply_schedules(p, now, &mut range, &mut why);
    engine.apply_rules(p, obs, now, current, &mut range, &mut why, &mut notes);
    // Not below the initial scale until the revision has reached it
    // (Knative's scaler: "adjusting min to meet the initial scale").
    if !kpa.initialized && ready >= p.min.max(k.initial_scale) {
        kpa.initialized = true;
    }
    if !kpa.initialized && k.initial_scale > 1 && range.0 < k.initial_scale {
        range.0 = k.initial_scale.min(range.1);
        notes.push(format!(
            "not yet at the initial scale of {}",
            k.initial_scale
        ));
    }
    // To zero only after the retention and grace periods since the last demand.
    let idle_for = state.last_active.map_or(f64::INFINITY, |t| now - t);
    let wait = p.cooldown_seconds.max(k.scale_to_zero_grace_seconds);
    let floor = if range.0 == 0 && desired == 0 && current > 0 && idle_for < wait {
        why.push(Limit::Cooldown);
        1
    } else {
        range.0
    };
    let result = desired.clamp(floor, range.1.max(floor));
    if result != desired && !why.contains(&Limit::Cooldown) {
        why.push(if result > desired {
            Limit::Min
        } else {
            Limit::Max
        });
    }
    finish(p, state, current, result, proposals, why, notes, now)
}

/// Adds this observation's samples of the scaling metric to the window:
/// its per-second samples when it has them (those after the last one kept,
/// up to `now`), else its one value. False when nothing could be read.
fn record(
    state: &mut State,
    obs: &Observation,
    metric: Option<&str>,
    value: Option<f64>,
    now: f64,
    window: f64,
) -> bool {
    let series = metric
        .and_then(|m| obs.samples.get(m))
        .filter(|s| !s.is_empty());
    let read = match series {
        Some(series) => {
            let mut any = false;
            for &(t, v) in series {
                let after = state.samples.back().is_none_or(|&(last, _)| t > last);
                if after && t <= now && t.is_finite() && v.is_finite() && v >= 0.0 {
                    state.samples.push_back((t, v));
                    any = true;
                }
            }
            any
        }
        None => match value {
            Some(v) => {
                if state.samples.back().is_none_or(|&(last, _)| now > last) {
                    state.samples.push_back((now, v));
                }
                true
            }
            None => false,
        },
    };
    while state
        .samples
        .front()
        .is_some_and(|&(t, _)| t <= now - window)
    {
        state.samples.pop_front();
    }
    read
}
