//! The replica range of a decision: the pool's range, narrowed or raised by
//! the schedules active now (cron in a time zone, as KEDA's cron scaler
//! reads it) and by the rules whose CEL condition holds on the observation.

use crate::artifact::{PoolSpec, RuleSpec, ScheduleSpec};
use crate::engine::{Engine, LoadError};
use crate::explain::Limit;
use crate::observation::Observation;
use chrono::{Datelike, TimeZone, Timelike};

pub(crate) struct Rule {
    spec: RuleSpec,
    program: cel_interpreter::Program,
}

pub(crate) struct Schedule {
    spec: ScheduleSpec,
    cron: scalepol_common::schedule::Cron,
    tz: scalepol_common::schedule::Tz,
}

impl Rule {
    /// A rule condition is held to the compiler's limits
    /// (`scalepol_common::cel_limits`) before it is parsed: an artifact may
    /// have been edited by hand, and the CEL parser overflows its stack on deep
    /// input and panics on some malformed input.
    pub(crate) fn compile(r: &RuleSpec) -> Result<Rule, LoadError> {
        let err = |why: String| LoadError(format!("rule `{}`: {why}", r.name));
        use scalepol_common::cel_limits;
        cel_limits::check(&r.when).map_err(|v| err(v.to_string()))?;
        // A rule's variables are numbers: its lists are its own literals.
        if cel_limits::iteration_bound(&r.when, 0).is_none_or(|n| n > cel_limits::MAX_ITERATIONS) {
            return Err(err("its comprehensions may run too long".into()));
        }
        let when = r.when.clone();
        match scalepol_common::quiet::quietly(move || cel_interpreter::Program::compile(&when)) {
            Ok(Ok(program)) => Ok(Rule {
                spec: r.clone(),
                program,
            }),
            Ok(Err(e)) => Err(err(e.to_string())),
            Err(_) => Err(err("the condition does not parse".into())),
        }
    }
}

impl Schedule {
    /// Parses the cron expression and the time zone once, by the rules
    /// `check` applies (`scalepol_common::schedule`).
    pub(crate) fn compile(s: &ScheduleSpec) -> Result<Schedule, LoadError> {
        use scalepol_common::schedule::{parse_cron, parse_zone};
        let err = |e: scalepol_common::schedule::ScheduleError| {
            LoadError(format!("schedule `{}`: {e}", s.name))
        };
        Ok(Schedule {
            spec: s.clone(),
            cron: parse_cron(&s.cron).map_err(err)?,
            tz: parse_zone(&s.timezone).map_err(err)?,
        })
    }
}

impl Engine {
    pub(crate) fn apply_schedules(
        &self,
        p: &PoolSpec,
        now: f64,
        range: &mut (u32, u32),
        why: &mut Vec<Limit>,
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
                why.push(Limit::Schedule(s.spec.name.clone()));
            }
        }
        if let Some(h) = hit {
            *range = (h.0.clamp(p.min, p.max), h.1.clamp(p.min, p.max));
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn apply_rules(
        &self,
        p: &PoolSpec,
        obs: &Observation,
        now: f64,
        current: u32,
        range: &mut (u32, u32),
        why: &mut Vec<Limit>,
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
        for v in scalepol_common::rule_context::VARIABLES {
            if let Some(value) = variable(v.name, current, &t) {
                ctx.add_variable_from_value(v.name, value);
            }
        }
        for r in rules {
            // cel-interpreter panics on some expressions it does not
            // implement (a comprehension over a number): not applied, noted.
            let run = std::panic::AssertUnwindSafe(|| r.program.execute(&ctx));
            let Ok(result) = scalepol_common::quiet::quietly(run) else {
                notes.push(format!(
                    "rule `{}` not applied: the evaluator failed on it",
                    r.spec.name
                ));
                continue;
            };
            match result {
                Ok(cel_interpreter::Value::Bool(true)) => {
                    if let Some(m) = r.spec.min {
                        range.0 = range.0.max(m).min(p.max);
                        range.1 = range.1.max(range.0);
                    }
                    if let Some(m) = r.spec.max {
                        range.1 = range.1.min(m).max(range.0);
                    }
                    why.push(Limit::Rule(r.spec.name.clone()));
                }
                Ok(_) => {}
                Err(e) => notes.push(format!("rule `{}` not applied: {e}", r.spec.name)),
            }
        }
    }
}

/// The value of a rule variable (`scalepol_common::rule_context`), the time
/// in UTC.
fn variable(name: &str, current: u32, t: &chrono::DateTime<chrono::Utc>) -> Option<i64> {
    Some(match name {
        "replicas" => current as i64,
        "hour" => t.hour() as i64,
        "minute" => t.minute() as i64,
        "weekday" => t.weekday().num_days_from_sunday() as i64,
        _ => return None,
    })
}

/// Whether a schedule is active: an occurrence started at most its
/// duration ago.
fn active(s: &Schedule, now: f64) -> bool {
    scalepol_common::schedule::active(&s.cron, s.tz, s.spec.duration_seconds, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_variable_has_a_value() {
        // 2026-01-05 07:30 UTC, a Monday.
        let t = chrono::Utc
            .timestamp_opt(1_767_598_200, 0)
            .single()
            .unwrap();
        for v in scalepol_common::rule_context::VARIABLES {
            assert!(
                variable(v.name, 3, &t).is_some(),
                "`{}` is never set",
                v.name
            );
        }
        assert_eq!(variable("hour", 3, &t), Some(7));
        assert_eq!(variable("minute", 3, &t), Some(30));
        assert_eq!(variable("weekday", 3, &t), Some(1));
        assert_eq!(variable("replicas", 3, &t), Some(3));
    }
}
