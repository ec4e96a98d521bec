//! `decide()`: one scaling decision for one pool, from the pool's state, an
//! observation and the time. Deterministic: the same inputs give the same
//! decision and the same next state.
//!
//! The order follows the Kubernetes HPA controller (pkg/controller/
//! podautoscaler/horizontal.go): a proposal per metric with the tolerance
//! (`replica_calculator`), the largest proposal, then the replica range
//! (`range`), then `behavior` (`behavior`: stabilisation over past
//! recommendations, rate limits over past scale events). KEDA's activation,
//! cooldown and fallback act around it (`keda`), Knative's KPA replaces it
//! for serverless pools (`kpa`); `explain` words the result
//! (docs/runtime.md).

use crate::artifact::*;
use crate::behavior::{legacy, stabilize, with_rate_limits};
use crate::explain::{reason, Decision, Limit, Proposal};
use crate::keda::{activation, with_fallback};
use crate::observation::{ready_pods, Observation};
use crate::range::{Rule, Schedule};
use crate::replica_calculator::{per_pod, proposal};
use crate::state::{remember_event, trim, State};

/// Why an engine could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// `decide` was asked for a pool the artifact does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPool {
    pub index: usize,
    pub pools: usize,
}

impl std::fmt::Display for UnknownPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no pool #{} in the artifact: it has {} pool(s)",
            self.index, self.pools
        )
    }
}

impl std::error::Error for UnknownPool {}

/// A loaded artifact: rules and schedules compiled once.
pub struct Engine {
    pub artifact: Artifact,
    /// The pools as their controllers run them: KEDA's pause annotations
    /// rewritten into the HPA behavior KEDA generates (`controlled`).
    pools: Vec<PoolSpec>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) schedules: Vec<Schedule>,
    /// Each pool's formulas, compiled once.
    formulas: Vec<crate::formula::Formulas>,
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
        let rules = artifact
            .rules
            .iter()
            .map(Rule::compile)
            .collect::<Result<_, _>>()?;
        let schedules = artifact
            .schedules
            .iter()
            .map(Schedule::compile)
            .collect::<Result<_, _>>()?;
        let formulas = artifact
            .pools
            .iter()
            .map(crate::formula::Formulas::compile)
            .collect::<Result<_, _>>()?;
        let pools = artifact.pools.iter().map(controlled).collect();
        Ok(Engine {
            artifact,
            pools,
            rules,
            schedules,
            formulas,
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
    /// epoch) and updates its state. A pool the artifact does not have is
    /// an error, never a panic.
    pub fn decide(
        &self,
        pool: usize,
        state: &mut State,
        obs: &Observation,
        now: f64,
    ) -> Result<Decision, UnknownPool> {
        let p = self.pools.get(pool).ok_or(UnknownPool {
            index: pool,
            pools: self.pools.len(),
        })?;
        let mut why: Vec<Limit> = Vec::new();
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
        if let Some(d) = paused(p, state, current, now) {
            return Ok(d);
        }
        let formulas = &self.formulas[pool];
        let composite = if formulas.is_empty() {
            Default::default()
        } else {
            formulas.values(p, &obs.metrics)
        };
        let valid = |m: &str| {
            composite
                .get(m)
                .or_else(|| obs.metrics.get(m))
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
        with_fallback(p, state, &mut proposals, current, &mut why, &mut notes);
        if let Some(k) = &p.kpa {
            return Ok(crate::kpa::decide(
                self, p, k, state, obs, proposals, now, why, notes,
            ));
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
        let desired = if current == 0 && p.keda.paused_scale_out {
            why.push(Limit::Paused);
            notes.push(
                "scale-out paused (autoscaling.keda.sh/paused-scale-out): not activating".into(),
            );
            0
        } else if p.legacy && current == 0 && p.min > 0 {
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
                why.push(if d > recommendation {
                    Limit::Min
                } else {
                    Limit::Max
                });
            }
            d
        } else if p.legacy {
            legacy(p, state, recommendation, current, range, now, &mut why)
        } else {
            let stabilized = stabilize(p, state, recommendation, current, now, &mut why);
            with_rate_limits(p, state, stabilized, current, range, now, &mut why)
        };
        Ok(finish(
            p, state, current, desired, proposals, why, notes, now,
        ))
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
        why: &mut Vec<Limit>,
        notes: &mut Vec<String>,
    ) -> u32 {
        let failed = proposals.iter().any(|x| x.value.is_none());
        let best = proposals.iter().filter_map(|x| x.replicas).max();
        let mut rec = match best {
            None => {
                why.push(Limit::Hold);
                notes.push("no metric could be read: holding".into());
                return current;
            }
            // Upstream: when a metric fails, scale up but never down.
            Some(b) if failed && b < current => {
                why.push(Limit::Hold);
                notes.push("a metric failed: not scaling down".into());
                current
            }
            Some(b) => b,
        };
        if proposals.iter().all(|x| x.replicas == Some(current)) && rec == current {
            why.push(Limit::Tolerance);
        }
        if p.min == 0 || p.idle_to_zero {
            rec = activation(p, state, proposals, current, rec, now, why);
        }
        rec
    }
}

/// A pool as KEDA runs it: `paused-scale-in` and `paused-scale-out` set
/// the generated HPA's scale-down or scale-up `selectPolicy` to `Disabled`
/// (controllers/keda/hpa.go), creating a behavior where the ScaledObject
/// has none, so the HPA's defaults apply to the other direction.
fn controlled(p: &PoolSpec) -> PoolSpec {
    let mut p = p.clone();
    let k = &p.keda;
    if !(k.paused_scale_in || k.paused_scale_out) {
        return p;
    }
    if p.legacy {
        p.legacy = false;
        p.up = BehaviorSpec::kubernetes_scale_up();
        p.down = BehaviorSpec::kubernetes_scale_down();
    }
    if p.keda.paused_scale_in {
        p.down.select = Select::Disabled;
    }
    if p.keda.paused_scale_out {
        p.up.select = Select::Disabled;
    }
    p
}

/// KEDA's pauses (`paused-replicas` first, then `paused`): the HPA is
/// removed and the target held, at N or at the current count.
fn paused(p: &PoolSpec, state: &mut State, current: u32, now: f64) -> Option<Decision> {
    let (desired, note) = match (p.keda.paused_replicas, p.keda.paused) {
        (Some(n), _) => (
            n.min(i32::MAX as u32),
            format!("autoscaling paused at {n} replicas (autoscaling.keda.sh/paused-replicas)"),
        ),
        (None, true) => (
            current,
            "autoscaling paused (autoscaling.keda.sh/paused)".to_string(),
        ),
        (None, false) => return None,
    };
    let proposals = p
        .targets
        .iter()
        .map(|t| Proposal {
            metric: t.metric.clone(),
            value: None,
            replicas: None,
            status: None,
        })
        .collect();
    Some(finish(
        p,
        state,
        current,
        desired,
        proposals,
        vec![Limit::Paused],
        vec![note],
        now,
    ))
}

/// Records the scale event, forgets what no window can reach, and words
/// the decision.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    p: &PoolSpec,
    state: &mut State,
    current: u32,
    desired: u32,
    proposals: Vec<Proposal>,
    why: Vec<Limit>,
    notes: Vec<String>,
    now: f64,
) -> Decision {
    if desired != current {
        remember_event(&mut state.events, now, desired as i64 - current as i64);
    }
    trim(state, p, now);
    let mut proposals = proposals;
    for (x, t) in proposals.iter_mut().zip(&p.targets) {
        if x.status.is_none() {
            x.status = x
                .value
                .map(|v| crate::explain::MetricStatus::of(t.mode, v, current));
        }
    }
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
