//! `decide()`: one scaling decision for one pool, from the pool's state, an
//! observation and the time. Deterministic: the same inputs give the same
//! decision and the same next state.
//!
//! The order follows the Kubernetes HPA controller (pkg/controller/
//! podautoscaler/horizontal.go): a proposal per metric with the tolerance,
//! the largest proposal, then the replica range, then `behavior`
//! (stabilisation over past recommendations, rate limits over past scale
//! events). KEDA's activation, cooldown and fallback act around it, and
//! schedules and rules set the range (docs/runtime.md).

use crate::artifact::*;
use chrono::{Datelike, TimeZone, Timelike};
use std::collections::{BTreeMap, VecDeque};

/// Why an engine could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

struct Rule {
    spec: RuleSpec,
    program: cel_interpreter::Program,
}

struct Schedule {
    spec: ScheduleSpec,
    cron: croner::Cron,
    tz: chrono_tz::Tz,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Engine({}, {} pools, {} rules, {} schedules)",
            self.artifact.policy,
            self.artifact.pools.len(),
            self.rules.len(),
            self.schedules.len()
        )
    }
}

/// A loaded artifact: rules and schedules compiled once.
pub struct Engine {
    pub artifact: Artifact,
    rules: Vec<Rule>,
    schedules: Vec<Schedule>,
}

/// What a pool's controller remembers between decisions. `State::default()`
/// is a steady state (the observation has held for longer than any window);
/// [`State::new_controller`] is a controller that has just started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// (time, unstabilised recommendation), newest last.
    history: VecDeque<(f64, u32)>,
    /// (time, replica change) of past scale events.
    events: VecDeque<(f64, i64)>,
    /// Consecutive failures of each target's metric (KEDA counts per metric).
    failures: Vec<u32>,
    /// The last time a target was active (KEDA), if ever.
    last_active: Option<f64>,
    last_time: Option<f64>,
    /// Knative's panic state and the metric's recent samples (KPA pools).
    kpa: Option<crate::kpa::KpaState>,
    samples: VecDeque<(f64, f64)>,
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

/// One reading: the current replicas and the metric values in their units.
/// A metric that is absent, NaN, infinite or negative could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub replicas: u32,
    pub metrics: BTreeMap<String, f64>,
    /// Per-pod samples, when known: utilisation targets are then computed
    /// the way the HPA's replica calculator does, pod by pod.
    pub pods: Vec<Pod>,
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

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposal {
    pub metric: String,
    /// `None` when the metric could not be read.
    pub value: Option<f64>,
    pub replicas: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    pub pool: String,
    pub time: f64,
    pub current: u32,
    pub desired: u32,
    pub proposals: Vec<Proposal>,
    /// What shaped the result: `tolerance`, `min`, `max`, `stabilization`,
    /// `rate`, `schedule:NAME`, `rule:NAME`, `fallback`, `hold`,
    /// `activation`, `cooldown`.
    pub limited_by: Vec<String>,
    pub reason: String,
}

/// Kubernetes stores replica counts as int32.
const MAX_REPLICAS: f64 = i32::MAX as f64;

fn ceil_replicas(v: f64) -> u32 {
    if v.is_nan() {
        0
    } else {
        v.ceil().clamp(0.0, MAX_REPLICAS) as u32
    }
}

impl Engine {
    /// Loads an artifact: rejects unknown formats and versions, compiles the
    /// CEL rules and the schedules once.
    pub fn load(json: &str) -> Result<Engine, LoadError> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| LoadError(format!("not an engine artifact: {e}")))?;
        let format = v.get("format").and_then(|f| f.as_str());
        if format != Some(FORMAT) {
            return Err(LoadError(format!(
                "not a scalepol engine artifact (format {format:?})"
            )));
        }
        match v.get("version").and_then(|x| x.as_u64()) {
            Some(x) if x == VERSION as u64 => {}
            other => {
                let found = other
                    .map(|v| format!("version {v}"))
                    .unwrap_or_else(|| "no version".into());
                return Err(LoadError(format!(
                    "engine artifact {found} is not supported: this runtime reads version {VERSION}; compile the policy again with this scalepol"
                )));
            }
        }
        let artifact: Artifact = serde_json::from_value(v)
            .map_err(|e| LoadError(format!("invalid engine artifact: {e}")))?;
        Engine::new(artifact)
    }

    /// An engine for an artifact already in memory (as the compiler builds
    /// it): compiles the CEL rules and the schedules once.
    pub fn new(artifact: Artifact) -> Result<Engine, LoadError> {
        let mut rules = Vec::new();
        for r in &artifact.rules {
            let program = compile_rule(r)?;
            rules.push(Rule {
                spec: r.clone(),
                program,
            });
        }
        let mut schedules = Vec::new();
        for s in &artifact.schedules {
            let cron = croner::Cron::new(&s.cron)
                .parse()
                .map_err(|e| LoadError(format!("schedule `{}`: {e}", s.name)))?;
            let tz = s.timezone.parse().map_err(|_| {
                LoadError(format!(
                    "schedule `{}`: unknown time zone {}",
                    s.name, s.timezone
                ))
            })?;
            schedules.push(Schedule {
                spec: s.clone(),
                cron,
                tz,
            });
        }
        Ok(Engine {
            artifact,
            rules,
            schedules,
        })
    }

    /// The artifact this engine runs.
    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }

    /// The index of the pool named `name`, if the artifact has it.
    pub fn pool_index(&self, name: &str) -> Option<usize> {
        self.artifact.pools.iter().position(|p| p.name == name)
    }

    /// Decides the replicas of pool `pool` at `now` (seconds since the Unix
    /// epoch) and updates its state.
    pub fn decide(&self, pool: usize, state: &mut State, obs: &Observation, now: f64) -> Decision {
        let p = &self.artifact.pools[pool];
        let mut why: Vec<String> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        // A clock that goes backwards must not rewrite history: decide at the last time.
        let now = match state.last_time {
            Some(last) if now < last || now.is_nan() => {
                notes.push("the clock went backwards: decided at the last known time".into());
                last
            }
            _ => now,
        };
        state.last_time = Some(now);
        let current = obs.replicas.min(i32::MAX as u32);
        let valid = |m: &str| {
            obs.metrics
                .get(m)
                .copied()
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let mut proposals: Vec<Proposal> = p
            .targets
            .iter()
            .map(|t| {
                per_pod(p, t, &obs.pods, current).unwrap_or_else(|| {
                    proposal(p, t, valid(&t.metric), current, ready_pods(&obs.pods))
                })
            })
            .collect();
        self.with_fallback(p, state, &mut proposals, current, &mut why, &mut notes);
        if let Some(k) = &p.kpa {
            return self.decide_kpa(p, k, state, obs, proposals, now, why, notes);
        }
        let recommendation = if p.targets.is_empty() {
            notes.push("a fixed-size pool".into());
            p.min
        } else {
            self.recommend(p, state, &proposals, current, now, &mut why, &mut notes)
        };
        let mut range = (p.min, p.max);
        self.apply_schedules(p, now, &mut range, &mut why);
        self.apply_rules(p, obs, now, current, &mut range, &mut why, &mut notes);
        // To and from zero is KEDA's, for pools that may scale to zero; a
        // pool with a floor takes a zero recommendation through the HPA path.
        if p.idle_to_zero && recommendation == 0 {
            range.0 = 0;
        }
        let desired = if p.legacy && current == 0 && p.min > 0 {
            // An HPA whose target was scaled to zero by hand stays there.
            notes.push("zero replicas and a floor: scaling is disabled, as in the HPA".into());
            0
        } else if (recommendation == 0 && range.0 == 0) || current == 0 {
            let zero_ok = range.0 == 0;
            let d = if recommendation == 0 && zero_ok {
                0
            } else {
                recommendation.clamp(range.0.max(1), range.1.max(range.0.max(1)))
            };
            if d != recommendation {
                why.push(if d > recommendation { "min" } else { "max" }.to_string());
            }
            d
        } else if p.legacy {
            legacy(p, state, recommendation, current, range, now, &mut why)
        } else {
            let stabilized = stabilize(p, state, recommendation, current, now, &mut why);
            with_rate_limits(p, state, stabilized, current, range, now, &mut why)
        };
        finish(p, state, current, desired, proposals, why, notes, now)
    }

    /// A KServe Serverless pool: Knative's KPA on the first target's metric
    /// (docs/runtime.md), averaged over the stable and panic windows of the
    /// samples this engine has seen; then scale to zero after the retention
    /// period (`cooldown`), and the range.
    #[allow(clippy::too_many_arguments)]
    fn decide_kpa(
        &self,
        p: &PoolSpec,
        k: &crate::kpa::KpaSpec,
        state: &mut State,
        obs: &Observation,
        proposals: Vec<Proposal>,
        now: f64,
        mut why: Vec<String>,
        mut notes: Vec<String>,
    ) -> Decision {
        let current = obs.replicas.min(i32::MAX as u32);
        let ready = ready_pods(&obs.pods).unwrap_or(current);
        let value = proposals.first().and_then(|x| x.value);
        let desired = match value {
            None => {
                why.push("hold".into());
                notes.push("no metric to scale on: the KPA keeps the count".into());
                current
            }
            Some(v) => {
                state.samples.push_back((now, v));
                while state
                    .samples
                    .front()
                    .is_some_and(|&(t, _)| t <= now - k.stable_window_seconds)
                {
                    state.samples.pop_front();
                }
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
                let kpa = state
                    .kpa
                    .get_or_insert_with(|| crate::kpa::KpaState::starting(ready, now));
                let d = crate::kpa::scale(k, kpa, ready, stable, panic, true, now);
                if crate::kpa::panicking(kpa) {
                    why.push("panic".into());
                }
                d
            }
        };
        if desired > 0 {
            state.last_active = Some(now);
        }
        let mut range = (p.min, p.max);
        self.apply_schedules(p, now, &mut range, &mut why);
        self.apply_rules(p, obs, now, current, &mut range, &mut why, &mut notes);
        // To zero only after the retention period since the last demand.
        let idle_for = state.last_active.map_or(f64::INFINITY, |t| now - t);
        let floor = if range.0 == 0 && desired == 0 && current > 0 && idle_for < p.cooldown_seconds
        {
            why.push("cooldown".into());
            1
        } else {
            range.0
        };
        let result = desired.clamp(floor, range.1.max(floor));
        if result != desired && !why.iter().any(|w| w == "cooldown") {
            why.push(if result > desired { "min" } else { "max" }.to_string());
        }
        finish(p, state, current, result, proposals, why, notes, now)
    }

    /// The largest proposal, with fallback, invalid metrics and activation.
    #[allow(clippy::too_many_arguments)]
    fn recommend(
        &self,
        p: &PoolSpec,
        state: &mut State,
        proposals: &[Proposal],
        current: u32,
        now: f64,
        why: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> u32 {
        let failed = proposals.iter().any(|x| x.value.is_none());
        let best = proposals.iter().filter_map(|x| x.replicas).max();
        let mut rec = match best {
            None => {
                why.push("hold".into());
                notes.push("no metric could be read: holding".into());
                return current;
            }
            // Upstream: when a metric fails, scale up but never down.
            Some(b) if failed && b < current => {
                why.push("hold".into());
                notes.push("a metric failed: not scaling down".into());
                current
            }
            Some(b) => b,
        };
        if proposals.iter().all(|x| x.replicas == Some(current)) && rec == current {
            why.push("tolerance".into());
        }
        if p.min == 0 || p.idle_to_zero {
            rec = self.activation(p, state, proposals, current, rec, now, why);
        }
        rec
    }

    /// KEDA's fallback (pkg/fallback): each metric counts its consecutive
    /// failures; once a metric has failed more than `after_failures` times,
    /// and its target is per replica (AverageValue, the only kind KEDA falls
    /// back for), it reads as `target x N`, so it proposes N replicas (the
    /// tolerance still applies, as in the HPA).
    fn with_fallback(
        &self,
        p: &PoolSpec,
        state: &mut State,
        proposals: &mut [Proposal],
        current: u32,
        why: &mut Vec<String>,
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
            if t.mode != Mode::PerReplica || state.failures[i] <= f.after_failures {
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
            if !why.iter().any(|w| w == "fallback") {
                why.push("fallback".into());
            }
            notes.push(format!(
                "`{}` failed {} times in a row: it reads as {n} replicas",
                t.metric, state.failures[i]
            ));
        }
    }

    /// KEDA: active when a target's value is strictly above its activation
    /// threshold (0 by default); inactive for the cooldown, the pool goes to
    /// zero; from zero, activity brings it to at least one.
    #[allow(clippy::too_many_arguments)]
    fn activation(
        &self,
        p: &PoolSpec,
        state: &mut State,
        proposals: &[Proposal],
        current: u32,
        rec: u32,
        now: f64,
        why: &mut Vec<String>,
    ) -> u32 {
        let active = p
            .targets
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
            why.push("hold".into());
            return rec.max(1);
        }
        let idle_for = state.last_active.map(|t| now - t).unwrap_or(f64::INFINITY);
        if current == 0 || idle_for >= p.cooldown_seconds {
            why.push("activation".into());
            0
        } else {
            why.push("cooldown".into());
            rec.max(1)
        }
    }

    fn apply_schedules(
        &self,
        p: &PoolSpec,
        now: f64,
        range: &mut (u32, u32),
        why: &mut Vec<String>,
    ) {
        let mut hit: Option<(u32, u32)> = None;
        for s in self
            .schedules
            .iter()
            .filter(|s| s.spec.pool.as_deref().is_none_or(|n| n == p.name))
        {
            if active(s, now) {
                let r = (s.spec.min.unwrap_or(p.min), s.spec.max.unwrap_or(p.max));
                // Overlapping schedules: the widest reading (as the budget check).
                hit = Some(hit.map_or(r, |(a, b)| (a.max(r.0), b.max(r.1))));
                why.push(format!("schedule:{}", s.spec.name));
            }
        }
        if let Some(h) = hit {
            *range = (h.0.clamp(p.min, p.max), h.1.clamp(p.min, p.max));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_rules(
        &self,
        p: &PoolSpec,
        obs: &Observation,
        now: f64,
        current: u32,
        range: &mut (u32, u32),
        why: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) {
        let rules: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.spec.pool.as_deref().is_none_or(|n| n == p.name))
            .collect();
        if rules.is_empty() {
            return;
        }
        let mut ctx = cel_interpreter::Context::default();
        for (k, v) in &obs.metrics {
            ctx.add_variable_from_value(k.clone(), *v);
        }
        let t = chrono::Utc
            .timestamp_opt(now as i64, 0)
            .single()
            .unwrap_or_default();
        ctx.add_variable_from_value("replicas", current as i64);
        ctx.add_variable_from_value("hour", t.hour() as i64);
        ctx.add_variable_from_value("minute", t.minute() as i64);
        ctx.add_variable_from_value("weekday", t.weekday().num_days_from_sunday() as i64);
        for r in rules {
            match r.program.execute(&ctx) {
                Ok(cel_interpreter::Value::Bool(true)) => {
                    if let Some(m) = r.spec.min {
                        range.0 = range.0.max(m).min(p.max);
                        range.1 = range.1.max(range.0);
                    }
                    if let Some(m) = r.spec.max {
                        range.1 = range.1.min(m).max(range.0);
                    }
                    why.push(format!("rule:{}", r.spec.name));
                }
                Ok(_) => {}
                Err(e) => notes.push(format!("rule `{}` not applied: {e}", r.spec.name)),
            }
        }
    }
}

/// HPA stabilisation (stabilizeRecommendationWithBehaviors): the lowest
/// recommendation of the scale-up window and the highest of the scale-down
/// window bound the result; the new recommendation joins the history.
fn stabilize(
    p: &PoolSpec,
    state: &mut State,
    recommendation: u32,
    current: u32,
    now: f64,
    why: &mut Vec<String>,
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
        why.push("stabilization".into());
    }
    result
}

/// An HPA without `behavior` (normalizeDesiredReplicas): the highest
/// recommendation of the scale-down window (a sample exactly at the cutoff
/// still counts: upstream drops only those before it), then
/// convertDesiredReplicasWithRules: the minimum, and scale-up limited to
/// max(2 x current, 4) unless the maximum is lower.
fn legacy(
    p: &PoolSpec,
    state: &mut State,
    recommendation: u32,
    current: u32,
    range: (u32, u32),
    now: f64,
    why: &mut Vec<String>,
) -> u32 {
    let cutoff = now - p.down.stabilization_seconds;
    let stabilized = state
        .history
        .iter()
        .filter(|&&(t, _)| t >= cutoff)
        .fold(recommendation, |acc, &(_, r)| acc.max(r));
    remember(&mut state.history, now, recommendation);
    if stabilized != recommendation {
        why.push("stabilization".into());
    }
    let up_limit = current.saturating_mul(2).max(4);
    let (ceiling, limit) = if range.1 > up_limit {
        (up_limit, "rate")
    } else {
        (range.1, "max")
    };
    if stabilized < range.0 {
        why.push("min".into());
        range.0
    } else if stabilized > ceiling {
        why.push(limit.into());
        ceiling
    } else {
        stabilized
    }
}

/// Rate limits and the replica range together
/// (convertDesiredReplicasWithBehaviorRate).
fn with_rate_limits(
    p: &PoolSpec,
    state: &State,
    desired: u32,
    current: u32,
    range: (u32, u32),
    now: f64,
    why: &mut Vec<String>,
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
        why.push(
            if by_rate {
                "rate"
            } else if result > desired {
                "min"
            } else {
                "max"
            }
            .to_string(),
        );
    }
    result
}

/// A rule condition is held to the compiler's limits
/// (`scalepol_common::cel_limits`) before it is parsed: an artifact may
/// have been edited by hand, and the CEL parser overflows its stack on deep
/// input and panics on some malformed input.
fn compile_rule(r: &RuleSpec) -> Result<cel_interpreter::Program, LoadError> {
    let err = |why: String| LoadError(format!("rule `{}`: {why}", r.name));
    use scalepol_common::cel_limits;
    cel_limits::check(&r.when).map_err(|v| err(v.to_string()))?;
    // A rule's variables are numbers: its lists are its own literals.
    if cel_limits::iteration_bound(&r.when, 0).is_none_or(|n| n > cel_limits::MAX_ITERATIONS) {
        return Err(err("its comprehensions may run too long".into()));
    }
    let when = r.when.clone();
    match std::panic::catch_unwind(move || cel_interpreter::Program::compile(&when)) {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(e)) => Err(err(e.to_string())),
        Err(_) => Err(err("the condition does not parse".into())),
    }
}

/// Pods that are running, ready and not being deleted; `None` without pods.
fn ready_pods(pods: &[Pod]) -> Option<u32> {
    (!pods.is_empty()).then(|| {
        pods.iter()
            .filter(|x| x.ready && x.phase == Phase::Running && !x.deleted)
            .count() as u32
    })
}

fn within(p: &PoolSpec, ratio: f64) -> bool {
    ratio >= 1.0 - p.tolerance_down && ratio <= 1.0 + p.tolerance_up
}

/// A target computed pod by pod, as the HPA's replica calculator does
/// (GetResourceReplicas for utilisation, GetMetricReplicas for per-replica
/// metrics sampled per pod). `None` when there are no per-pod samples for
/// the metric, or for a `total` target (which uses the aggregate).
fn per_pod(p: &PoolSpec, t: &TargetSpec, pods: &[Pod], current: u32) -> Option<Proposal> {
    let sampled = pods.iter().any(|x| x.metrics.contains_key(&t.metric));
    if !sampled || t.mode == Mode::Total {
        return None;
    }
    let utilization = t.mode == Mode::Utilization;
    // Deleted and failed pods are ignored; pending ones, and (for CPU)
    // unready ones, are set aside; pods without a sample are missing.
    let (mut ready, mut unready, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for pod in pods
        .iter()
        .filter(|x| !x.deleted && x.phase != Phase::Failed)
    {
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
    let proposal = |replicas: Option<u32>, ratio: Option<f64>| Proposal {
        metric: t.metric.clone(),
        value: ratio.map(|r| r * t.target),
        replicas,
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
    // Missing pods count at 100% of target on a scale-down and 0 on a
    // scale-up; unready pods at 0 when scaling up.
    let mut all = ready.clone();
    for request in missing {
        let at_target = if utilization {
            request * t.target / 100.0
        } else {
            t.target
        };
        all.push((if ratio < 1.0 { at_target } else { 0.0 }, request));
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
fn proposal(
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
    }
}

/// Whether a schedule is active: an occurrence started at most its
/// duration ago.
fn active(s: &Schedule, now: f64) -> bool {
    let Some(at) = chrono::Utc
        .timestamp_opt((now - s.spec.duration_seconds) as i64, 0)
        .single()
    else {
        return false;
    };
    let from = at.with_timezone(&s.tz);
    match s.cron.find_next_occurrence(&from, true) {
        Ok(start) => (start.timestamp() as f64) <= now,
        Err(_) => false,
    }
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

/// Records the scale event, forgets what no window can reach, and words
/// the decision.
#[allow(clippy::too_many_arguments)]
fn finish(
    p: &PoolSpec,
    state: &mut State,
    current: u32,
    desired: u32,
    proposals: Vec<Proposal>,
    why: Vec<String>,
    notes: Vec<String>,
    now: f64,
) -> Decision {
    if desired != current {
        remember_event(&mut state.events, now, desired as i64 - current as i64);
    }
    trim(state, p, now);
    let reason = reason(p, current, desired, &proposals, &why, &notes);
    Decision {
        pool: p.name.clone(),
        time: now,
        current,
        desired,
        proposals,
        limited_by: why,
        reason,
    }
}

/// Adds a recommendation to the history. The windows read only the lowest
/// and the highest recommendation at any instant, so at most two are kept
/// per instant: a stream of observations with one timestamp (a replay, a
/// hostile input) cannot grow the history, or the cost of every decision,
/// without bound.
fn remember(history: &mut VecDeque<(f64, u32)>, now: f64, r: u32) {
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
fn remember_event(events: &mut VecDeque<(f64, i64)>, now: f64, change: i64) {
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
fn trim(state: &mut State, p: &PoolSpec, now: f64) {
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

fn reason(
    p: &PoolSpec,
    current: u32,
    desired: u32,
    proposals: &[Proposal],
    why: &[String],
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
        r.push_str(&format!(" (limited by {})", why.join(", ")));
    }
    for n in notes {
        r.push_str("; ");
        r.push_str(n);
    }
    r
}
