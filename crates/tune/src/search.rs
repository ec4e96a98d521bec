//! Coordinate descent over the knobs, with pair moves to leave its local
//! optima: descent tries every value of one knob with the others held (in
//! parallel, on all cores), keeps the best and moves to the next knob,
//! until none improves; then every pair of knobs is tried together, and
//! the first pair that improves restarts the descent. The search stops when
//! nothing improves or the budget is spent. Deterministic: results are
//! compared by a total order that ends in the candidate's choices, whatever
//! order the threads finish in.

use crate::edit::apply;
use crate::knobs::Knob;
use crate::{Source, TuneError};
use rayon::prelude::*;
use scalepol_sim::report::Run;
use scalepol_sim::trace::Trace;
use scalepol_sim::{simulate, Options};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering as Atomic};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the search minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// The lowest cost that meets the objectives.
    Cost,
    /// The highest attainment within the budget, then the lowest cost.
    Slo,
}

/// One candidate policy, judged.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The choice made for each knob (0: as written).
    pub choices: Vec<usize>,
    /// Whether the text checks without a new warning.
    pub valid: bool,
    pub feasible: bool,
    pub cost: f64,
    /// Replica-hours (the cost when the pool has no price).
    pub replica_hours: f64,
    /// Share of minutes meeting the latency objective (or of requests
    /// served, without one).
    pub attainment: f64,
    pub within_budget: bool,
}

impl Evaluation {
    fn invalid(choices: Vec<usize>) -> Evaluation {
        Evaluation {
            choices,
            valid: false,
            feasible: false,
            cost: f64::INFINITY,
            replica_hours: f64::INFINITY,
            attainment: 0.0,
            within_budget: false,
        }
    }

    /// Better first: valid, then feasible, then by the goal.
    fn rank(&self, other: &Evaluation, goal: Goal) -> Ordering {
        let spend = |e: &Evaluation| e.cost + e.replica_hours * 1e-9;
        other
            .valid
            .cmp(&self.valid)
            .then(other.feasible.cmp(&self.feasible))
            .then_with(|| match (goal, self.feasible) {
                (Goal::Cost, true) => spend(self).total_cmp(&spend(other)),
                _ => other
                    .attainment
                    .total_cmp(&self.attainment)
                    .then(spend(self).total_cmp(&spend(other))),
            })
    }
}

pub(crate) struct Search<'a> {
    pub source: &'a Source<'a>,
    pub text: &'a str,
    /// The original's warnings: a candidate may have these and no other.
    pub allowed: BTreeSet<&'static str>,
    pub knobs: &'a [Knob],
    pub trace: &'a Trace,
    pub sim: Options,
    pub goal: Goal,
    pub objective: f64,
    /// Format the result (the original was in the canonical layout).
    pub reformat: bool,
}

/// Improvements smaller than this share of the cost are noise.
const MIN_GAIN: f64 = 1e-4;
/// Rounds of descent and pairs at most.
const MAX_ROUNDS: usize = 8;

impl Search<'_> {
    pub fn text_of(&self, choices: &[usize]) -> String {
        let edits: Vec<_> = self
            .knobs
            .iter()
            .zip(choices)
            .filter_map(|(k, &c)| k.edit(c))
            .collect();
        let text = apply(self.text, &edits);
        if self.reformat {
            if let Ok(doc) = scalepol_syntax::parse(&text) {
                return scalepol_syntax::format_document(&doc);
            }
        }
        text
    }

    fn evaluate(&self, choices: Vec<usize>) -> Evaluation {
        let text = self.text_of(&choices);
        let Ok((policy, warnings)) = self.source.check(&text) else {
            return Evaluation::invalid(choices);
        };
        if !warnings.is_subset(&self.allowed) {
            return Evaluation::invalid(choices);
        }
        let Ok(report) = simulate(&policy, self.trace, &self.sim) else {
            return Evaluation::invalid(choices);
        };
        let run: &Run = &report.runs[0];
        let attainment = run
            .slo_windows
            .unwrap_or_else(|| run.served as f64 / run.requests.max(1) as f64);
        let within_budget = run.budget.as_ref().is_none_or(|b| b.share <= 1.0);
        Evaluation {
            choices,
            valid: true,
            feasible: within_budget && attainment + 1e-12 >= self.objective,
            cost: run.cost_usd,
            replica_hours: run.replica_hours,
            attainment,
            within_budget,
        }
    }

    /// The best policy found, and how many simulations it took.
    pub fn run(
        &self,
        max_sims: usize,
        max_time: Duration,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(Evaluation, usize), TuneError> {
        let started = Instant::now();
        let sims = AtomicUsize::new(0);
        let cache: Mutex<HashMap<Vec<usize>, Evaluation>> = Mutex::new(HashMap::new());
        let judge = |choices: Vec<usize>| -> Evaluation {
            if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&choices).cloned()) {
                return hit;
            }
            let e = self.evaluate(choices.clone());
            let n = sims.fetch_add(1, Atomic::Relaxed) + 1;
            progress(n.min(max_sims), max_sims);
            if let Ok(mut c) = cache.lock() {
                c.insert(choices, e.clone());
            }
            e
        };
        let mut best = judge(vec![0; self.knobs.len()]);
        if !best.valid {
            return Err(TuneError::Policy(
                "the policy cannot be simulated as written".into(),
            ));
        }
        let out_of_budget =
            || sims.load(Atomic::Relaxed) >= max_sims || started.elapsed() >= max_time;
        // The best of a set of candidates, in a deterministic order.
        let top_of = |tries: Vec<Vec<usize>>| -> Option<Evaluation> {
            let results: Vec<Evaluation> = tries.into_par_iter().map(&judge).collect();
            results
                .into_iter()
                .min_by(|a, b| a.rank(b, self.goal).then_with(|| a.choices.cmp(&b.choices)))
        };
        'search: for _ in 0..MAX_ROUNDS {
            // Coordinate descent: one knob at a time, until none improves.
            loop {
                let mut improved = false;
                for k in 0..self.knobs.len() {
                    if out_of_budget() {
                        break 'search;
                    }
                    if let Some(top) = top_of(self.moves(&best.choices, &[k])) {
                        if self.better(&top, &best) {
                            best = top;
                            improved = true;
                        }
                    }
                }
                if !improved {
                    break;
                }
            }
            // Pairs: two knobs that only help together (a lower floor with
            // a quicker scale-up). The first pair that improves wins, and
            // the descent starts again from there.
            let mut improved = false;
            'pairs: for i in 0..self.knobs.len() {
                for j in i + 1..self.knobs.len() {
                    if out_of_budget() {
                        break 'search;
                    }
                    if let Some(top) = top_of(self.moves(&best.choices, &[i, j])) {
                        if self.better(&top, &best) {
                            best = top;
                            improved = true;
                            break 'pairs;
                        }
                    }
                }
            }
            if !improved {
                break;
            }
        }
        Ok((best, sims.load(Atomic::Relaxed)))
    }

    /// Every way of changing all of `knobs` (each to another choice) from `from`.
    fn moves(&self, from: &[usize], knobs: &[usize]) -> Vec<Vec<usize>> {
        let mut out = vec![from.to_vec()];
        for &k in knobs {
            out = out
                .into_iter()
                .flat_map(|v| {
                    (0..self.knobs[k].choices())
                        .filter(move |&c| c != from[k])
                        .map(move |c| {
                            let mut w = v.clone();
                            w[k] = c;
                            w
                        })
                })
                .collect();
        }
        out
    }

    /// Whether `a` beats `b` by more than noise.
    fn better(&self, a: &Evaluation, b: &Evaluation) -> bool {
        match a.rank(b, self.goal) {
            Ordering::Less => {
                if a.feasible == b.feasible && a.valid == b.valid {
                    match (self.goal, a.feasible) {
                        (Goal::Cost, true) => {
                            a.cost < b.cost * (1.0 - MIN_GAIN)
                                || (a.cost == b.cost
                                    && a.replica_hours < b.replica_hours * (1.0 - MIN_GAIN))
                        }
                        _ => {
                            a.attainment > b.attainment + 1e-9 || a.cost < b.cost * (1.0 - MIN_GAIN)
                        }
                    }
                } else {
                    true
                }
            }
            _ => false,
        }
    }
}
