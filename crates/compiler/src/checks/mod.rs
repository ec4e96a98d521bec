//! Domain checks: the mistakes that cost money or break SLOs, found on the
//! typed model after lowering succeeded. `docs/checks.md` gives each check's
//! rule, arithmetic and source.

pub mod catalogue;
mod cost;
mod dynamics;
mod hardware;
mod schedules;
mod tokens;
mod week;

pub use catalogue::{Accelerator, ACCELERATORS};

use crate::diagnostics::Diagnostic;
use crate::model::Policy;

/// Runs every domain check on a policy built without errors.
pub fn run(p: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let queries = crate::queries::check(p, &mut out);
    // Each schedule's week, computed once: cron iteration is the costly part.
    let weeks: Vec<week::ScheduleWeek> = p.schedules.iter().map(week::ScheduleWeek::new).collect();
    cost::check(p, &weeks, &mut out);
    dynamics::check(p, &mut out);
    hardware::check(p, &queries, &mut out);
    schedules::check(p, &weeks, &mut out);
    tokens::check(p, &mut out);
    out
}
