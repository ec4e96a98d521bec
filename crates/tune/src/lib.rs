//! `scalepol tune`: the lowest simulated cost at which a policy meets its
//! objectives, found by changing the policy's own parameters and written
//! as a minimal edit of its text (docs/tuning.md).
//!
//! The simulator is the judge: every candidate is checked by the compiler
//! (a candidate with an error, or with a warning the original does not
//! have, is refused, so the result passes `check --deny warnings` whenever
//! the original does) and replayed on the trace by `scalepol_sim`.

pub mod edit;
pub mod knobs;
mod search;

pub use search::{Evaluation, Goal};

use scalepol_compiler::{check_source, Loader, Policy, Severity};
use scalepol_sim::report::Report;
use scalepol_sim::trace::Trace;
use scalepol_sim::{simulate, Options, SimError};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// How to search.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// The simulation's options (trace shape, start, model).
    pub sim: Options,
    pub goal: Goal,
    /// Stop after this many simulations.
    pub max_sims: usize,
    /// Stop after this long.
    pub max_time: Duration,
    /// Tune on the first part of the trace and report on this share of it.
    pub holdout: Option<f64>,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            sim: Options::default(),
            goal: Goal::Cost,
            max_sims: 3000,
            max_time: Duration::from_secs(120),
            holdout: None,
        }
    }
}

/// One change made to the policy's text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub line: usize,
    pub setting: String,
    pub from: String,
    pub to: String,
}

/// The before and after of one trace (the tuning part, or the holdout).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub before: Report,
    pub after: Report,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tuned {
    /// The tuned policy's text.
    pub text: String,
    pub changes: Vec<Change>,
    /// Whether the tuned policy meets the objectives on the tuning trace.
    pub meets_objectives: bool,
    /// The attainment asked (the policy's availability, default 99%).
    pub objective: f64,
    pub simulations: usize,
    pub tuning: Comparison,
    pub holdout: Option<Comparison>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TuneError {
    /// The policy itself does not check.
    Policy(String),
    Sim(SimError),
    Option(String),
}

impl std::fmt::Display for TuneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TuneError::Policy(m) | TuneError::Option(m) => f.write_str(m),
            TuneError::Sim(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TuneError {}

impl From<SimError> for TuneError {
    fn from(e: SimError) -> Self {
        TuneError::Sim(e)
    }
}

/// What a loader answers: the resolved name and the text, or why not.
type Loaded = Result<(String, String), String>;

/// A loader that reads each `extends` file once for the whole search.
struct Cached<'a> {
    inner: &'a (dyn Loader + Sync),
    seen: Mutex<HashMap<(String, String), Loaded>>,
}

impl Loader for Cached<'_> {
    fn load(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let key = (from.to_string(), path.to_string());
        if let Some(hit) = self.seen.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let got = self.inner.load(from, path);
        if let Ok(mut m) = self.seen.lock() {
            m.insert(key, got.clone());
        }
        got
    }
}

/// A policy's text checked: its model, and the codes of its warnings.
pub(crate) struct Source<'a> {
    pub name: &'a str,
    pub loader: &'a (dyn Loader + Sync),
}

impl Source<'_> {
    pub fn check(&self, text: &str) -> Result<(Policy, BTreeSet<&'static str>), String> {
        let c = check_source(self.name, text, self.loader);
        let warnings = c
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| d.code)
            .collect();
        match c.policy {
            Some(p) if !c.has_errors() => Ok((p, warnings)),
            _ => Err(c
                .diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map_or("the policy does not check".into(), |d| {
                    format!("{}: {}", d.code, d.message)
                })),
        }
    }
}

/// Tunes the policy in `text` (named `name`, for `extends` and messages)
/// on `trace`. `progress` hears the simulations done so far and the budget.
pub fn tune(
    name: &str,
    text: &str,
    loader: &(dyn Loader + Sync),
    trace: &Trace,
    o: &TuneOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Tuned, TuneError> {
    let loader = Cached {
        inner: loader,
        seen: Mutex::new(HashMap::new()),
    };
    let source = Source {
        name,
        loader: &loader,
    };
    let (policy, allowed) = source.check(text).map_err(TuneError::Policy)?;
    let (train, test) = match o.holdout {
        None => (trace.clone(), None),
        Some(h) if h > 0.0 && h < 1.0 => {
            let (a, b) = trace.split(trace.duration * (1.0 - h));
            (a, Some(b))
        }
        Some(h) => {
            return Err(TuneError::Option(format!(
                "--holdout {}% must be between 0% and 100%",
                h * 100.0
            )))
        }
    };
    let doc = scalepol_syntax::parse(text).map_err(|e| TuneError::Policy(e.message.clone()))?;
    let pool = scalepol_sim::pick_pool(&policy, o.sim.pool.as_deref())?;
    let max = policy.pools[pool].replicas.max.max(1);
    let mut knobs = knobs::find(text, &doc, &policy.pools[pool].name, max.saturating_mul(2));
    // A trace of two days or more has a daily shape worth a schedule.
    if train.duration / o.sim.speedup >= 2.0 * 86_400.0 {
        let needs = scalepol_sim::minute_needs(&policy, &train, &o.sim)?;
        let shape = daily_shape(&needs, o.sim.start_epoch);
        let p = &policy.pools[pool];
        if let Some(k) = knobs::schedule_knob(
            text,
            &doc,
            &p.name,
            (p.replicas.min, p.replicas.max),
            &shape,
        ) {
            knobs.push(k);
        }
    }
    let formatted = scalepol_syntax::format_document(&doc) == text;
    let search = search::Search {
        source: &source,
        text,
        allowed,
        knobs: &knobs,
        trace: &train,
        sim: Options {
            baselines: false,
            ..o.sim.clone()
        },
        goal: o.goal,
        objective: scalepol_sim::availability(&policy),
        reformat: formatted,
    };
    let (best, sims) = search.run(o.max_sims, o.max_time, progress)?;
    let tuned_text = search.text_of(&best.choices);
    let changes = knobs
        .iter()
        .zip(&best.choices)
        .filter(|(_, &c)| c != 0)
        .map(|(k, &c)| Change {
            line: edit::line_of(text, k.span.start),
            setting: k.name.clone(),
            from: k.text(0).trim().to_string(),
            to: k.text(c).trim().to_string(),
        })
        .collect();
    let (tuned_policy, _) = source.check(&tuned_text).map_err(TuneError::Policy)?;
    let full = Options {
        baselines: true,
        ..o.sim.clone()
    };
    let compare = |t: &Trace| -> Result<Comparison, TuneError> {
        Ok(Comparison {
            before: simulate(&policy, t, &full)?,
            after: simulate(&tuned_policy, t, &full)?,
        })
    };
    let tuning = compare(&train)?;
    let holdout = test.as_ref().map(compare).transpose()?;
    Ok(Tuned {
        text: tuned_text,
        changes,
        meets_objectives: best.feasible,
        objective: search.objective,
        simulations: sims,
        tuning,
        holdout,
    })
}

/// The oracle's counts by hour of the day (UTC, from the trace's start on
/// the wall clock), and whether weekdays need a third more than weekends.
fn daily_shape(needs: &[u32], start_epoch: f64) -> knobs::DailyShape {
    let mut sum = [0.0f64; 24];
    let mut count = [0u32; 24];
    let (mut weekday, mut weekend) = ((0.0f64, 0u32), (0.0f64, 0u32));
    for (m, &n) in needs.iter().enumerate() {
        let t = start_epoch + m as f64 * 60.0;
        let h = ((t / 3600.0).floor() as i64).rem_euclid(24) as usize;
        sum[h] += f64::from(n);
        count[h] += 1;
        // 1970-01-01 was a Thursday: day 0 is weekday 3 (Monday = 0).
        let day = ((t / 86_400.0).floor() as i64 + 3).rem_euclid(7);
        let slot = if day < 5 { &mut weekday } else { &mut weekend };
        slot.0 += f64::from(n);
        slot.1 += 1;
    }
    let mut hourly = [0.0; 24];
    for h in 0..24 {
        hourly[h] = if count[h] > 0 {
            sum[h] / f64::from(count[h])
        } else {
            0.0
        };
    }
    let mean = |x: (f64, u32)| if x.1 > 0 { x.0 / f64::from(x.1) } else { 0.0 };
    knobs::DailyShape {
        hourly,
        weekday_heavy: weekend.1 > 0 && mean(weekday) > 1.33 * mean(weekend),
    }
}
