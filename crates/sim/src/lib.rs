//! Trace-driven simulation of a scalepol policy: one pool served under the
//! serving model of `serving`, scaled by the same `decide()` as the engine
//! artifact (there is no second implementation), compared in the same run
//! with static provisioning for the peak and with the Kubernetes HPA
//! defaults on utilisation. See docs/simulation.md.

mod baselines;
pub mod compare;
pub mod histogram;
pub mod html;
pub mod report;
pub mod serving;
pub mod signals;
pub mod sim;
pub mod trace;

use baselines::{hpa_defaults, Demand};
pub use baselines::{minute_needs, BASELINE_UTILIZATION};

use report::{Money, Objective, Report, TraceSummary};
use scalepol_common::defaults::{hpa, keda};
use scalepol_compiler::model::{BudgetPeriod, Policy, Pool};
use scalepol_runtime::artifact as a;
use scalepol_runtime::Engine;
use serving::{ModelOptions, ServingModel};
use signals::Signal;
use sim::{Scaler, Setup};
use std::fmt;
use trace::Trace;

/// When no `--start` is given: Monday 2026-01-05 12:00 UTC.
pub const DEFAULT_START: f64 = 1_767_614_400.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Times the trace's load.
    Factor(f64),
    /// So that the trace's 60-second peak meets the policy's declared peak.
    DeclaredPeak,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub pool: Option<String>,
    pub model: ModelOptions,
    pub scrape_delay: f64,
    pub rate_window: f64,
    pub start_epoch: f64,
    pub initial: Option<u32>,
    pub signals: Vec<(String, Signal)>,
    pub baselines: bool,
    pub trace_name: String,
    pub speedup: f64,
    pub load: Load,
    /// Start each run at the count the first minutes need, ready (else the
    /// policy and the HPA start at the pool's minimum).
    pub warm: bool,
    /// Seconds at the start left out of every statistic.
    pub settle: f64,
    /// Keep every decision of the policy's run in its report.
    pub record: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pool: None,
            model: ModelOptions::default(),
            scrape_delay: 15.0,
            rate_window: 60.0,
            start_epoch: DEFAULT_START,
            initial: None,
            signals: Vec::new(),
            baselines: true,
            trace_name: "the trace".into(),
            speedup: 1.0,
            load: Load::Factor(1.0),
            warm: true,
            settle: 0.0,
            record: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SimError {
    UnknownPool { name: String, pools: Vec<String> },
    UnknownMetric { name: String, metrics: Vec<String> },
    NoDeclaredPeak,
    BadOption(String),
    Engine(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::UnknownPool { name, pools } => {
                write!(
                    f,
                    "the policy has no pool `{name}` (pools: {})",
                    pools.join(", ")
                )
            }
            SimError::UnknownMetric { name, metrics } => {
                write!(
                    f,
                    "--metric names `{name}`, which the policy does not declare (metrics: {})",
                    metrics.join(", ")
                )
            }
            SimError::NoDeclaredPeak => write!(
                f,
                "--scale peak needs the policy's `slo {{ peak N req/s }}`; give a factor instead"
            ),
            SimError::BadOption(m) => f.write_str(m),
            SimError::Engine(m) => write!(f, "the engine does not load: {m}"),
        }
    }
}

impl std::error::Error for SimError {}

/// Simulates `trace` (as read, before `--speedup` and `--scale`) under the
/// policy and, unless turned off, the baselines.
pub fn simulate(p: &Policy, raw: &Trace, o: &Options) -> Result<Report, SimError> {
    simulate_with_progress(p, raw, o, &mut |_| {})
}

/// [`simulate`], telling `progress` how far it is, from 0 to 1 over all
/// the runs.
/// A run that asked for more replicas than the simulator models is an
/// error, not a report of figures that do not stand.
fn within_limit(out: &sim::Outcome) -> Result<(), SimError> {
    match out.capped {
        None => Ok(()),
        Some((t, n)) => Err(SimError::BadOption(format!(
            "at {t:.0} s into the trace the policy asks for {n} replicas; the simulator models at most {} replicas, one by one: lower the maximum, or the rule or schedule that raises it",
            sim::MAX_SIMULATED
        ))),
    }
}

pub fn simulate_with_progress(
    p: &Policy,
    raw: &Trace,
    o: &Options,
    progress: &mut dyn FnMut(f64),
) -> Result<Report, SimError> {
    let pool_index = pick_pool(p, o.pool.as_deref())?;
    let pool = &p.pools[pool_index];
    let (scale, duration) = replay_shape(p, raw, o)?;
    let arrivals = raw.arrivals(o.speedup, scale);
    if !(o.settle == 0.0 || (o.settle > 0.0 && o.settle < duration)) {
        return Err(SimError::BadOption(format!(
            "--settle {} s must be shorter than the trace ({duration:.0} s)",
            o.settle
        )));
    }
    let model = ServingModel::for_pool(p, pool, raw, &o.model);
    // One pass over the arrivals: the offered load of every minute, for the
    // summary, the static baseline and the oracle.
    let demand = Demand::of(arrivals.clone(), duration, &model);
    let peak = demand.peak_rps();
    let signals = signals_for(p, pool, &o.signals)?;
    // An LLM request's latency is its time to first token: `ttft` first.
    let objective = p
        .slo
        .as_ref()
        .and_then(|s| {
            if model.first_token() {
                s.ttft.as_ref().or(s.latency.as_ref())
            } else {
                s.objective()
            }
        })
        .map(|l| Objective {
            percentile: l.percentile,
            threshold_ms: l.threshold.secs_f64() * 1e3,
            measures: if model.first_token() {
                "time to first token: queueing and prefill"
            } else {
                "end to end: queueing and service"
            },
        });
    let floor = u32::from(pool.replicas.min > 0);
    let needed = demand.needed(&model, floor);
    let first_minutes = needed.iter().take(3).copied().max().unwrap_or(1).max(1);
    let policy_initial = o.initial.unwrap_or(if o.warm {
        first_minutes.clamp(pool.replicas.min, pool.replicas.max.max(pool.replicas.min))
    } else {
        pool.replicas.min
    });
    let setup = Setup {
        model: model.clone(),
        warmup: pool.warmup.value.secs_f64(),
        drain: pool.drain.value.secs_f64(),
        timeout: p
            .slo
            .as_ref()
            .and_then(|s| s.timeout.as_ref())
            .map(|t| t.value.secs_f64()),
        initial: policy_initial,
        scrape_delay: o.scrape_delay,
        rate_window: o.rate_window,
        start_epoch: o.start_epoch,
        objective: objective.as_ref().map(|ob| ob.threshold_ms / 1e3),
        percentile: objective.as_ref().map_or(0.95, |ob| ob.percentile),
        settle: o.settle,
        record: o.record,
    };
    let money = money(p, pool);
    let engine = load(scalepol_targets::engine::artifact(p))?;
    let spec = &engine.artifact().pools[pool_index];
    let interval = spec.interval_seconds;
    let scaler = Scaler::Engine {
        engine: &engine,
        pool: pool_index,
        signals: &signals,
        interval,
    };
    let summarize = |name: &str, out: &sim::Outcome| {
        report::summarize(name, out, duration, o.settle, objective.as_ref(), &money)
    };
    let mut tick = |t: f64| progress((t / duration.max(1e-9)).min(1.0));
    let mut runs = Vec::new();
    let mut oracle = None;
    if !o.baselines {
        let out = sim::run_with_progress(arrivals.clone(), duration, &setup, &scaler, &mut tick);
        within_limit(&out)?;
        runs.push(summarize("policy", &out));
    } else {
        // Sized for the busiest minute whatever the policy's floor, so
        // that the baseline does not move with the policy (like for like).
        let n = needed.iter().copied().max().unwrap_or(1).max(1);
        let static_setup = Setup {
            initial: n,
            ..setup.clone()
        };
        let hpa = load(hpa_defaults(spec))?;
        let hpa_signals = vec![("utilization".to_string(), Signal::Utilization)];
        let hpa_setup = Setup {
            initial: if o.warm {
                first_minutes.clamp(spec.min.max(1), spec.max.max(1))
            } else {
                spec.min.max(1)
            },
            ..setup.clone()
        };
        let hpa_scaler = Scaler::Engine {
            engine: &hpa,
            pool: 0,
            signals: &hpa_signals,
            interval: 15.0,
        };
        // The three runs are independent: one thread each; the policy's
        // run reports the progress.
        let (policy, fixed, hpa_run) = std::thread::scope(|scope| {
            let a = arrivals.clone();
            let fixed =
                scope.spawn(move || sim::run(a, duration, &static_setup, &Scaler::Fixed(n)));
            let a = arrivals.clone();
            let hpa_run = scope.spawn(|| sim::run(a, duration, &hpa_setup, &hpa_scaler));
            let policy =
                sim::run_with_progress(arrivals.clone(), duration, &setup, &scaler, &mut tick);
            (policy, fixed.join(), hpa_run.join())
        });
        let (Ok(fixed), Ok(hpa_run)) = (fixed, hpa_run) else {
            return Err(SimError::Engine("a baseline's simulation failed".into()));
        };
        for out in [&policy, &fixed, &hpa_run] {
            within_limit(out)?;
        }
        runs.push(summarize("policy", &policy));
        runs.push(summarize("static peak", &fixed));
        runs.push(summarize("HPA defaults", &hpa_run));
        let o = demand.oracle(&needed, o.settle, money.price_per_hour);
        runs[0].captured_share = captured(&runs[0], &runs[1], &o);
        oracle = Some(o);
    }
    let mut notes = notes(p, &runs, objective.as_ref());
    notes.extend(token_notes(p, &model, &runs[0]));
    let (start, settle_s) = (
        if o.initial.is_some() {
            format!("the policy at {policy_initial} replicas (--initial)")
        } else if o.warm {
            format!("warm: each run at the count the first minutes need ({first_minutes}) within its range, ready; the policy at {policy_initial}")
        } else {
            "cold: the policy and the HPA at the pool's minimum, as controllers just deployed"
                .to_string()
        },
        o.settle,
    );
    Ok(Report {
        policy: p.name.clone(),
        pool: pool.name.clone(),
        trace: TraceSummary {
            name: o.trace_name.clone(),
            requests: runs[0].requests,
            duration_s: (duration * 10.0).round() / 10.0,
            mean_rps: (runs[0].requests as f64 / (duration - o.settle).max(1e-9) * 100.0).round()
                / 100.0,
            peak_rps_60s: (peak * 100.0).round() / 100.0,
            speedup: o.speedup,
            scale: (scale * 1000.0).round() / 1000.0,
        },
        assumptions: model.assumptions.clone(),
        signals: signals
            .iter()
            .map(|(m, s)| (m.clone(), s.to_string()))
            .collect(),
        objective,
        start,
        settle_s,
        oracle,
        runs,
        notes,
    })
}

/// The most requests one simulation replays (minutes of compute per run).
pub const MAX_REQUESTS: f64 = 2e9;
/// The most replicas a run may start with.
pub const MAX_INITIAL: u32 = 100_000;

/// Options that would make a run absurdly long or large are refused before
/// anything is allocated.
fn guard(raw: &Trace, o: &Options, scale: f64, duration: f64) -> Result<(), SimError> {
    if duration > trace::MAX_SECONDS {
        return Err(SimError::BadOption(format!(
            "--speedup {:e} stretches the trace to {duration:.3e} s, beyond {} s (400 days)",
            o.speedup,
            trace::MAX_SECONDS
        )));
    }
    let requests = raw.len() as f64 * scale;
    if requests > MAX_REQUESTS {
        return Err(SimError::BadOption(format!(
            "--scale {scale} makes {requests:.3e} requests, beyond the {MAX_REQUESTS:.0e} one simulation replays"
        )));
    }
    if o.initial.is_some_and(|n| n > MAX_INITIAL) {
        return Err(SimError::BadOption(format!(
            "--initial must be at most {MAX_INITIAL} replicas"
        )));
    }
    if !(o.scrape_delay.is_finite() && (0.0..=3600.0).contains(&o.scrape_delay)) {
        return Err(SimError::BadOption(
            "--scrape-delay must be between 0 and 1h".into(),
        ));
    }
    Ok(())
}

/// The share of the possible saving (static peak down to the oracle) that
/// a run captures, in replica-hours (the price is the same for all).
fn captured(run: &report::Run, static_peak: &report::Run, o: &report::Oracle) -> Option<f64> {
    let possible = static_peak.replica_hours - o.replica_hours;
    (possible > 1e-9)
        .then(|| ((static_peak.replica_hours - run.replica_hours) / possible * 1e4).round() / 1e4)
}

/// The availability the policy asks for (default 99%).
pub fn availability(p: &Policy) -> f64 {
    p.slo
        .as_ref()
        .and_then(|s| s.availability.as_ref())
        .map_or(0.99, |a| a.value)
}

fn notes(p: &Policy, runs: &[report::Run], objective: Option<&Objective>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = runs.iter().find(|r| r.name == "static peak") {
        if runs[0].captured_share.is_none() {
            out.push(format!(
                "static peak ({} replicas) is already as cheap as perfect foresight on this trace: there is no saving to capture, only cost to add",
                s.max_replicas
            ));
        }
    }
    if objective.is_none() {
        return out;
    }
    let want = availability(p);
    let pct = |v: f64| format!("{:.1}%", v * 100.0);
    if let Some(s) = runs.iter().find(|r| r.name == "static peak") {
        if let Some(got) = s.slo_requests.filter(|&x| x < want) {
            out.push(format!(
                "static peak itself misses the objective ({} of requests within it, {} asked): the trace is burstier within a minute than one count sized for its busiest minute serves, so savings against it are not like for like",
                pct(got),
                pct(want)
            ));
        }
    }
    if let Some(got) = runs[0].slo_requests.filter(|&x| x < want) {
        out.push(format!(
            "the policy misses its availability objective: {} of requests within the latency objective, {} asked",
            pct(got),
            pct(want)
        ));
    }
    out
}

/// How the run meets the token objectives: the inter-token latency of the
/// serving model (a slot's share of the replica's token rate) and the token
/// rate at the most replicas the policy reached.
fn token_notes(p: &Policy, model: &ServingModel, run: &report::Run) -> Vec<String> {
    let (Some(slo), serving::Service::Tokens { rate, slots, .. }) = (&p.slo, model.service) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(itl) = &slo.itl {
        let gap = 1e3 / rate;
        let limit = itl.threshold.secs_f64() * 1e3;
        let verdict = if gap <= limit { "met" } else { "missed" };
        out.push(format!(
            "inter-token latency: {gap:.1} ms between tokens for a stream (each of {slots} slots decodes at {rate:.1} tokens/s); objective under {limit} ms: {verdict}"
        ));
    }
    if let Some(t) = &slo.throughput {
        let reach = rate * f64::from(slots) * f64::from(run.max_replicas);
        let verdict = if reach >= t.value { "met" } else { "missed" };
        out.push(format!(
            "throughput: at its most ({} replicas) the policy could generate {reach:.0} tokens/s; objective {} tokens/s: {verdict}",
            run.max_replicas, t.value
        ));
    }
    out
}

/// The load factor and the duration of the replayed trace, with every
/// option checked (speedup, load, the size guards).
fn replay_shape(p: &Policy, raw: &Trace, o: &Options) -> Result<(f64, f64), SimError> {
    if !(o.speedup > 0.0 && o.speedup.is_finite()) {
        return Err(SimError::BadOption(format!(
            "--speedup {} must be above 0",
            o.speedup
        )));
    }
    let scale = match o.load {
        Load::Factor(f) if f > 0.0 && f.is_finite() => f,
        Load::Factor(f) => return Err(SimError::BadOption(format!("--scale {f} must be above 0"))),
        Load::DeclaredPeak => {
            let peak = p
                .slo
                .as_ref()
                .and_then(|s| s.peak_rps.as_ref())
                .ok_or(SimError::NoDeclaredPeak)?;
            let trace_peak = raw.peak_rate(60.0) * o.speedup;
            if trace_peak > 0.0 {
                peak.value / trace_peak
            } else {
                1.0
            }
        }
    };
    let duration = raw.duration / o.speedup;
    guard(raw, o, scale, duration)?;
    Ok((scale, duration))
}

/// The named pool, or the first that scales, or the first.
pub fn pick_pool(p: &Policy, name: Option<&str>) -> Result<usize, SimError> {
    match name {
        Some(n) => p
            .pools
            .iter()
            .position(|x| x.name == n)
            .ok_or_else(|| SimError::UnknownPool {
                name: n.to_string(),
                pools: p.pools.iter().map(|x| x.name.clone()).collect(),
            }),
        None => Ok(p.pools.iter().position(|x| x.scale.is_some()).unwrap_or(0)),
    }
}

/// The signal of each metric the pool's targets or the rules read: as
/// overridden, else inferred; a metric with none is absent (the engine
/// treats it as failed).
fn signals_for(
    p: &Policy,
    pool: &Pool,
    overrides: &[(String, Signal)],
) -> Result<Vec<(String, Signal)>, SimError> {
    for (name, _) in overrides {
        if p.metric(name).is_none() {
            return Err(SimError::UnknownMetric {
                name: name.clone(),
                metrics: p.metrics.iter().map(|m| m.name.clone()).collect(),
            });
        }
    }
    let read = |name: &str| {
        pool.scale
            .iter()
            .flat_map(|s| &s.targets)
            .any(|t| t.reads().contains(&name))
            || p.rules.iter().any(|r| r.reads.iter().any(|x| x == name))
            || overrides.iter().any(|(n, _)| n == name)
    };
    Ok(p.metrics
        .iter()
        .filter(|m| read(&m.name))
        .filter_map(|m| {
            let s = overrides
                .iter()
                .find(|(n, _)| *n == m.name)
                .map(|(_, s)| *s)
                .or_else(|| signals::infer(m))?;
            Some((m.name.clone(), s))
        })
        .collect())
}

fn money(p: &Policy, pool: &Pool) -> Money {
    Money {
        price_per_hour: pool.cost.as_ref().map(|c| c.value.0 as f64 / 1e6),
        spot_share: pool.spot.value,
        budget: p.budget.as_ref().map(|b| {
            let period = match b.period {
                BudgetPeriod::Monthly => "month",
                BudgetPeriod::Daily => "day",
            };
            (period, b.limit.0 as f64 / 1e6, f64::from(b.period.hours()))
        }),
    }
}

fn load(a: a::Artifact) -> Result<Engine, SimError> {
    Engine::new(a).map_err(|e| SimError::Engine(e.to_string()))
}
