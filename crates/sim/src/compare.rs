//! `scalepol diff`: two versions of a policy on the same trace, decision by
//! decision, with the cost and SLO each would give: the canary of a
//! policy change.

use crate::report::Run;
use crate::trace::Trace;
use crate::{simulate, Options, SimError};
use scalepol_compiler::model::Policy;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub old: Run,
    pub new: Run,
    /// Decisions compared (ticks of the controller).
    pub decisions: usize,
    /// Decisions where the two ask for different counts.
    pub differing: usize,
    /// The first such decision: (seconds into the trace, old, new).
    pub first_difference: Option<(f64, u32, u32)>,
    /// The widest gap between the two counts.
    pub widest_gap: u32,
    /// (new - old) / old cost; 0 when the old costs nothing.
    pub cost_change: f64,
    /// New minus old: share of minutes meeting the objective, and of
    /// requests within it.
    pub slo_windows_change: Option<f64>,
    pub slo_requests_change: Option<f64>,
}

/// Runs both policies on the trace with the same options.
pub fn compare(old: &Policy, new: &Policy, trace: &Trace, o: &Options) -> Result<Diff, SimError> {
    let o = Options {
        baselines: false,
        record: true,
        ..o.clone()
    };
    let a = simulate(old, trace, &o)?.runs.swap_remove(0);
    let b = simulate(new, trace, &o)?.runs.swap_remove(0);
    let pairs: Vec<_> = a.decisions.iter().zip(&b.decisions).collect();
    let differing: Vec<_> = pairs.iter().filter(|(x, y)| x.1 != y.1).collect();
    let delta = |x: Option<f64>, y: Option<f64>| Some(((y? - x?) * 1e4).round() / 1e4);
    Ok(Diff {
        decisions: pairs.len(),
        differing: differing.len(),
        first_difference: differing.first().map(|(x, y)| (x.0, x.1, y.1)),
        widest_gap: differing
            .iter()
            .map(|(x, y)| x.1.abs_diff(y.1))
            .max()
            .unwrap_or(0),
        cost_change: if a.cost_usd > 0.0 {
            ((b.cost_usd - a.cost_usd) / a.cost_usd * 1e4).round() / 1e4
        } else if b.replica_hours > 0.0 && a.replica_hours > 0.0 {
            ((b.replica_hours - a.replica_hours) / a.replica_hours * 1e4).round() / 1e4
        } else {
            0.0
        },
        slo_windows_change: delta(a.slo_windows, b.slo_windows),
        slo_requests_change: delta(a.slo_requests, b.slo_requests),
        old: a,
        new: b,
    })
}

impl Diff {
    pub fn table(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1}%", v * 100.0));
        let signed = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:+.1} points", v * 100.0));
        let mut out = format!("decisions: {} of {} differ", self.differing, self.decisions);
        if let Some((t, a, b)) = self.first_difference {
            out.push_str(&format!(
                "; the first at {t:.0} s ({a} -> {b} replicas); the widest gap {} replicas",
                self.widest_gap
            ));
        }
        out.push('\n');
        out.push_str(&format!(
            "{:<26}{:>14}{:>14}{:>16}\n",
            "", "old", "new", "change"
        ));
        let rows = [
            (
                "cost",
                format!("${:.2}", self.old.cost_usd),
                format!("${:.2}", self.new.cost_usd),
                format!("{:+.1}%", self.cost_change * 100.0),
            ),
            (
                "replica-hours",
                format!("{:.2}", self.old.replica_hours),
                format!("{:.2}", self.new.replica_hours),
                String::new(),
            ),
            (
                "SLO: minutes meeting it",
                pct(self.old.slo_windows),
                pct(self.new.slo_windows),
                signed(self.slo_windows_change),
            ),
            (
                "SLO: requests within",
                pct(self.old.slo_requests),
                pct(self.new.slo_requests),
                signed(self.slo_requests_change),
            ),
            (
                "scale events",
                self.old.scale_events.to_string(),
                self.new.scale_events.to_string(),
                String::new(),
            ),
        ];
        for (l, a, b, c) in rows {
            out.push_str(&format!("{l:<26}{a:>14}{b:>14}{c:>16}\n"));
        }
        out
    }
}
