//! Trace-driven simulation of a scalepol policy: one pool served under the
//! serving model of `serving`, scaled by the same `decide()` as the engine
//! artifact (there is no second implementation), compared in the same run
//! with static provisioning for the peak and with the Kubernetes HPA
//! defaults on utilisation. See docs/simulation.md.

pub mod histogram;
pub mod html;
pub mod report;
pub mod serving;
pub mod signals;
pub mod sim;
pub mod trace;

use report::{Money, Objective, Report, TraceSummary};
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
pub fn simulate_with_progress(
    p: &Policy,
    raw: &Trace,
    o: &Options,
    progress: &mut dyn FnMut(f64),
) -> Result<Report, SimError> {
    if !(o.speedup > 0.0 && o.speedup.is_finite()) {
        return Err(SimError::BadOption(format!(
            "--speedup {} must be above 0",
            o.speedup
        )));
    }
    let pool_index = pick_pool(p, o.pool.as_deref())?;
    let pool = &p.pools[pool_index];
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
    let arrivals = raw.arrivals(o.speedup, scale);
    let duration = raw.duration / o.speedup;
    // The busiest minute, for the static baseline and the summary.
    let peak = trace::peak_rate(arrivals.clone(), duration, 60.0);
    let model = ServingModel::for_pool(p, pool, raw, &o.model);
    let signals = signals_for(p, pool, &o.signals)?;
    let setup = Setup {
        model: model.clone(),
        warmup: pool.warmup.value.secs_f64(),
        drain: pool.drain.value.secs_f64(),
        timeout: p
            .slo
            .as_ref()
            .and_then(|s| s.timeout.as_ref())
            .map(|t| t.value.secs_f64()),
        initial: o.initial.unwrap_or(pool.replicas.min),
        scrape_delay: o.scrape_delay,
        rate_window: o.rate_window,
        start_epoch: o.start_epoch,
        objective: p
            .slo
            .as_ref()
            .and_then(|s| s.latency.as_ref())
            .map(|l| l.threshold.secs_f64()),
    };
    let objective = p
        .slo
        .as_ref()
        .and_then(|s| s.latency.as_ref())
        .map(|l| Objective {
            percentile: l.percentile,
            threshold_ms: l.threshold.secs_f64() * 1e3,
            measures: if model.first_token() {
                "time to first token: queueing and prefill"
            } else {
                "end to end: queueing and service"
            },
        });
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
    let runs_total = if o.baselines { 3.0 } else { 1.0 };
    let mut done = 0.0;
    let mut run = |name: &str, setup: &Setup, scaler: &Scaler| {
        let mut tick = |t: f64| progress((done + (t / duration.max(1e-9)).min(1.0)) / runs_total);
        let out = sim::run_with_progress(arrivals.clone(), duration, setup, scaler, &mut tick);
        done += 1.0;
        report::summarize(
            name,
            &out,
            duration,
            objective.as_ref(),
            &money,
            setup.initial,
        )
    };
    let mut runs = vec![run("policy", &setup, &scaler)];
    if o.baselines {
        // An operator provisioning for the peak keeps the pool's floor.
        let n = static_for_peak(peak, raw, &model).max(pool.replicas.min);
        runs.push(run(
            "static peak",
            &Setup {
                initial: n,
                ..setup.clone()
            },
            &Scaler::Fixed(n),
        ));
        let hpa = load(hpa_defaults(spec))?;
        let hpa_signals = vec![("utilization".to_string(), Signal::Utilization)];
        let hpa_setup = Setup {
            initial: setup.initial.max(1),
            ..setup.clone()
        };
        let scaler = Scaler::Engine {
            engine: &hpa,
            pool: 0,
            signals: &hpa_signals,
            interval: 15.0,
        };
        runs.push(run("HPA defaults", &hpa_setup, &scaler));
    }
    Ok(Report {
        policy: p.name.clone(),
        pool: pool.name.clone(),
        trace: TraceSummary {
            name: o.trace_name.clone(),
            requests: runs[0].requests,
            duration_s: (duration * 10.0).round() / 10.0,
            mean_rps: (runs[0].requests as f64 / duration.max(1e-9) * 100.0).round() / 100.0,
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
        runs,
    })
}

/// The named pool, or the first that scales, or the first.
fn pick_pool(p: &Policy, name: Option<&str>) -> Result<usize, SimError> {
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
            .any(|t| t.metric == name)
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

/// Enough replicas that the busiest minute runs its slots at 80%.
fn static_for_peak(peak: f64, raw: &Trace, model: &ServingModel) -> u32 {
    let offered = peak * model.mean_service(raw);
    (offered / (f64::from(model.slots) * 0.8)).ceil().max(1.0) as u32
}

/// The pool under a plain HPA: utilisation at 50% (the Kubernetes HPA
/// walkthrough's target) with the default behavior, and no scale to zero.
fn hpa_defaults(p: &a::PoolSpec) -> a::Artifact {
    let pool = a::PoolSpec {
        name: p.name.clone(),
        min: p.min.max(1),
        max: p.max.max(1),
        targets: vec![a::TargetSpec {
            metric: "utilization".into(),
            mode: a::Mode::Utilization,
            target: 50.0,
            activation: None,
        }],
        tolerance_up: 0.1,
        tolerance_down: 0.1,
        up: a::BehaviorSpec::kubernetes_scale_up(),
        down: a::BehaviorSpec::kubernetes_scale_down(),
        cooldown_seconds: 300.0,
        interval_seconds: 15.0,
        fallback: None,
        warmup_seconds: p.warmup_seconds,
        legacy: false,
        idle_to_zero: false,
        kpa: None,
    };
    a::Artifact {
        format: a::FORMAT.into(),
        version: a::VERSION,
        policy: "hpa-defaults".into(),
        pools: vec![pool],
        metrics: vec![a::MetricSpec {
            name: "utilization".into(),
            unit: "percent".into(),
            source: None,
            endpoint: None,
            query: None,
        }],
        rules: Vec::new(),
        schedules: Vec::new(),
    }
}
