//! `scalepol tune` and `scalepol diff`: the search for a policy's cheapest
//! parameters, and the canary of a policy change, both on a trace.

use crate::simulate::{bar, prepare, Replay};
use scalepol_compiler::FsLoader;
use scalepol_sim::report::{Report, Run};
use scalepol_tune::{Goal, TuneOptions};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct TuneArgs {
    /// The policy file.
    pub policy: PathBuf,
    #[command(flatten)]
    pub replay: Replay,
    /// What to minimise: `cost` (the lowest cost that meets the policy's
    /// availability objective and budget) or `slo` (the highest attainment
    /// within budget, then the lowest cost).
    #[arg(long, default_value = "cost", value_parser = ["cost", "slo"])]
    pub objective: String,
    /// Stop after this many simulations.
    #[arg(long, default_value_t = 3000)]
    pub budget_sims: usize,
    /// Stop after this long.
    #[arg(long, default_value = "2m", value_name = "DURATION")]
    pub budget_time: String,
    /// Tune on the first part of the trace and report on this last share
    /// of it (like 30%), to see whether the tuned policy generalises.
    #[arg(long, value_name = "PERCENT")]
    pub holdout: Option<String>,
    /// Rewrite the policy file with the tuned values.
    #[arg(long)]
    pub write: bool,
    /// Print the whole tuned policy to standard output.
    #[arg(long, conflicts_with = "write")]
    pub print: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn percent(text: &str, what: &str) -> Result<f64, String> {
    let n = text.trim().trim_end_matches('%');
    let v: f64 = n
        .parse()
        .map_err(|_| format!("{what} `{text}` is not a percentage like 30%"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{what} `{text}` must be between 0% and 100%"));
    }
    Ok(v / 100.0)
}

pub fn tune(a: &TuneArgs) -> u8 {
    let (trace, sim) = match prepare(&a.replay) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let options = (|| -> Result<TuneOptions, String> {
        Ok(TuneOptions {
            sim,
            goal: if a.objective == "slo" {
                Goal::Slo
            } else {
                Goal::Cost
            },
            max_sims: a.budget_sims.max(1),
            max_time: Duration::from_secs_f64(crate::duration::positive_seconds(
                &a.budget_time,
                "--budget-time",
            )?),
            holdout: a
                .holdout
                .as_deref()
                .map(|h| percent(h, "--holdout"))
                .transpose()?,
        })
    })();
    let options = match options {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let name = a.policy.to_string_lossy().into_owned();
    let text = match crate::files::Input::File(a.policy.clone()).read() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let bar = bar(true, "tuning");
    let progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_position((done * 1000 / total.max(1)) as u64);
        }
    };
    let result = scalepol_tune::tune(&name, &text, &FsLoader, &trace, &options, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let tuned = match result {
        Ok(t) => t,
        Err(scalepol_tune::TuneError::Policy(m)) => {
            // Show the policy's own diagnostics.
            if crate::files::policy_of(&name, &text).is_ok() {
                eprintln!("error: {name}: {m}");
            }
            return 1;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if a.json {
        match serde_json::to_string_pretty(&tuned) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("error: the result does not serialise: {e}");
                return 2;
            }
        }
    } else if a.print {
        print!("{}", tuned.text);
    } else {
        print!("{}", summary(&name, &tuned));
    }
    if a.write && !tuned.changes.is_empty() {
        if let Err(e) = crate::fmt::write_atomically(&a.policy, &tuned.text) {
            eprintln!("error: {name}: {e}");
            return 2;
        }
        eprintln!("wrote {name}");
    }
    0
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1}%", v * 100.0))
}

/// A row of a table: its label and how a run shows in it.
type Row = (&'static str, fn(&Run) -> String);

/// The before/after table of one trace.
fn table(title: &str, c: &scalepol_tune::Comparison) -> String {
    let (b, a) = (&c.before.runs[0], &c.after.runs[0]);
    let rows: [Row; 6] = [
        ("cost", |r| format!("${:.2}", r.cost_usd)),
        ("replica-hours", |r| format!("{:.2}", r.replica_hours)),
        ("SLO: minutes meeting it", |r| pct(r.slo_windows)),
        ("SLO: requests within", |r| pct(r.slo_requests)),
        ("captured share", |r| pct(r.captured_share)),
        ("scale events", |r| r.scale_events.to_string()),
    ];
    let mut out = format!("{title}\n{:<26}{:>14}{:>14}\n", "", "before", "after");
    for (label, f) in rows {
        out.push_str(&format!("{label:<26}{:>14}{:>14}\n", f(b), f(a)));
    }
    out.push_str(&baselines(&c.after));
    out
}

fn baselines(r: &Report) -> String {
    let mut out = String::new();
    if let Some(s) = r.runs.iter().find(|x| x.name == "static peak") {
        out.push_str(&format!(
            "{:<26}{:>28}\n",
            "static peak",
            format!("${:.2}, SLO {}", s.cost_usd, pct(s.slo_windows))
        ));
    }
    if let Some(o) = &r.oracle {
        out.push_str(&format!(
            "{:<26}{:>28}\n",
            "perfect foresight",
            format!("${:.2}", o.cost_usd)
        ));
    }
    out
}

fn summary(name: &str, t: &scalepol_tune::Tuned) -> String {
    let mut out = String::new();
    if t.changes.is_empty() {
        out.push_str(&format!(
            "{name}: no change found that lowers the cost and meets the objectives ({} simulations)\n",
            t.simulations
        ));
    } else {
        out.push_str(&format!(
            "{name}: {} change(s) after {} simulations\n",
            t.changes.len(),
            t.simulations
        ));
        for c in &t.changes {
            out.push_str(&format!(
                "  line {}: {}: `{}` -> `{}`\n",
                c.line,
                c.setting,
                if c.from.is_empty() {
                    "(not written)"
                } else {
                    &c.from
                },
                c.to
            ));
        }
    }
    out.push('\n');
    out.push_str(&table("on the tuning trace:", &t.tuning));
    if let Some(h) = &t.holdout {
        out.push('\n');
        out.push_str(&table("on the holdout (not seen by the search):", h));
    }
    if !t.meets_objectives {
        out.push_str(&format!(
            "\nnote: no setting found meets the objective ({:.1}% of minutes within the latency objective, within budget) on this trace; the result is the closest found\n",
            t.objective * 100.0
        ));
    }
    for n in &t.tuning.after.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    if !t.changes.is_empty() {
        out.push_str("\nrun again with --write to apply, or --print to see the whole policy\n");
    }
    out
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The policy as it is.
    pub old: PathBuf,
    /// The policy as proposed.
    pub new: PathBuf,
    #[command(flatten)]
    pub replay: Replay,
    /// Fail (exit 1) when the new policy costs more than this much more
    /// than the old, like 5%.
    #[arg(long, value_name = "PERCENT")]
    pub max_cost_increase: Option<String>,
    /// Fail (exit 1) when the new policy's SLO attainment (minutes meeting
    /// the latency objective) is below this, like 99%.
    #[arg(long, value_name = "PERCENT")]
    pub min_slo: Option<String>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn diff(a: &DiffArgs) -> u8 {
    let (trace, mut sim) = match prepare(&a.replay) {
        Ok(x) => x,
        Err(code) => return code,
    };
    sim.baselines = false;
    let gates = (|| -> Result<(Option<f64>, Option<f64>), String> {
        Ok((
            a.max_cost_increase
                .as_deref()
                .map(|v| percent(v, "--max-cost-increase"))
                .transpose()?,
            a.min_slo
                .as_deref()
                .map(|v| percent(v, "--min-slo"))
                .transpose()?,
        ))
    })();
    let (max_cost, min_slo) = match gates {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let old = match crate::files::read_policy(&a.old) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let new = match crate::files::read_policy(&a.new) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let d = match scalepol_sim::compare::compare(&old, &new, &trace, &sim) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut failures = Vec::new();
    if let Some(limit) = max_cost {
        if d.cost_change > limit + 1e-12 {
            failures.push(format!(
                "the new policy costs {:.1}% more, over the limit of {:.1}%",
                d.cost_change * 100.0,
                limit * 100.0
            ));
        }
    }
    if let Some(limit) = min_slo {
        let got = d.new.slo_windows.or(d.new.slo_requests).unwrap_or(1.0);
        if got + 1e-12 < limit {
            failures.push(format!(
                "the new policy meets the objective in {:.1}% of minutes, under the floor of {:.1}%",
                got * 100.0,
                limit * 100.0
            ));
        }
    }
    if a.json {
        let out = serde_json::json!({ "diff": d, "failures": failures });
        println!("{out:#}");
    } else {
        print!("{}", d.table());
        for f in &failures {
            println!("fail: {f}");
        }
    }
    u8::from(!failures.is_empty())
}
