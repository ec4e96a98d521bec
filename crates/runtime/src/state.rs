//! What a pool's controller remembers between decisions, and how it is kept
//! bounded: the HPA's recommendation history and scale events
//! (pkg/controller/podautoscaler/horizontal.go: recommendations,
//! scaleUpEvents, scaleDownEvents), KEDA's failure counts and last activity,
//! Knative's panic state and samples.

use crate::artifact::PoolSpec;
use std::collections::VecDeque;

/// What a pool's controller remembers between decisions. `State::default()`
/// is a steady state (the observation has held for longer than any window);
/// [`State::new_controller`] is a controller that has just started.
///
/// It serialises (serde) so that a long-running controller, such as the
/// KEDA external scaler, can keep it across restarts; the fields stay
/// private, the snapshot format is this struct's serde form.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct State {
    /// (time, unstabilised recommendation), newest last.
    pub(crate) history: VecDeque<(f64, u32)>,
    /// (time, replica change) of past scale events.
    pub(crate) events: VecDeque<(f64, i64)>,
    /// Consecutive failures of each target's metric (KEDA counts per metric).
    pub(crate) failures: Vec<u32>,
    /// The last time a target was active (KEDA), if ever.
    pub(crate) last_active: Option<f64>,
    pub(crate) last_time: Option<f64>,
    /// Knative's panic state and the metric's recent samples (KPA pools).
    pub(crate) kpa: Option<crate::kpa::KpaState>,
    pub(crate) samples: VecDeque<(f64, f64)>,
}

impl State {
    /// A controller's memory, for replays: past (time, recommendation) and
    /// (time, replica change) pairs, oldest first.
    pub fn replay(history: Vec<(f64, u32)>, events: Vec<(f64, i64)>) -> State {
        State {
            history: history.into(),
            events: events.into(),
            ..State::default()
        }
    }

    /// A controller seeing the pool for the first time at `now`: like the
    /// HPA (maybeInitScaleDownStabilizationWindow), the scale-down window
    /// starts with the current count, so it does not scale down at once.
    pub fn new_controller(current: u32, now: f64) -> State {
        let mut s = State::default();
        s.history.push_back((now, current));
        s.last_active = Some(now);
        s
    }
}

/// Adds a recommendation to the history. The windows read only the lowest
/// and the highest recommendation at any instant, so at most two are kept
/// per instant: a stream of observations with one timestamp (a replay, a
/// hostile input) cannot grow the history, or the cost of every decision,
/// without bound.
pub(crate) fn remember(history: &mut VecDeque<(f64, u32)>, now: f64, r: u32) {
    let same: Vec<usize> = (0..history.len())
        .rev()
        .take_while(|&i| history[i].0 == now)
        .collect();
    match same.as_slice() {
        [hi, lo] => {
            let (a, b) = (history[*lo].1, history[*hi].1);
            history[*lo].1 = a.min(b).min(r);
            history[*hi].1 = a.max(b).max(r);
        }
        _ => history.push_back((now, r)),
    }
}

/// Adds a scale event. The rate limits sum the replicas added, and those
/// removed, over a period: events at one instant are summed by direction,
/// which keeps both sums exact and the list bounded.
pub(crate) fn remember_event(events: &mut VecDeque<(f64, i64)>, now: f64, change: i64) {
    let hit = (0..events.len())
        .rev()
        .take_while(|&i| events[i].0 == now)
        .find(|&i| events[i].1.signum() == change.signum());
    match hit {
        Some(i) => events[i].1 += change,
        None => events.push_back((now, change)),
    }
}

/// Forgets what no window or period can reach any more.
pub(crate) fn trim(state: &mut State, p: &PoolSpec, now: f64) {
    let window = p.up.stabilization_seconds.max(p.down.stabilization_seconds);
    while state
        .history
        .front()
        .is_some_and(|(t, _)| *t <= now - window)
    {
        state.history.pop_front();
    }
    let period =
        p.up.policies
            .iter()
            .chain(&p.down.policies)
            .map(|r| r.period_seconds)
            .fold(0.0, f64::max);
    while state
        .events
        .front()
        .is_some_and(|(t, _)| *t <= now - period)
    {
        state.events.pop_front();
    }
}
