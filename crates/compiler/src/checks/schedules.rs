//! Draining (SP0570), schedules (SP0571-SP0573) and tests (SP0580).

use super::week;
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use chrono::{Offset, TimeZone};

pub fn check(p: &Policy, weeks: &[week::ScheduleWeek], out: &mut Vec<Diagnostic>) {
    drain(p, out);
    for pool in &p.pools {
        let mine: Vec<(&Schedule, &week::ScheduleWeek)> = p
            .schedules
            .iter()
            .zip(weeks)
            .filter(|(s, _)| week::applies(s, pool))
            .collect();
        for (s, _) in &mine {
            outside_pool(pool, s, out);
        }
        for r in p
            .rules
            .iter()
            .filter(|r| r.pool.as_deref().is_none_or(|n| n == pool.name))
        {
            rule_outside_pool(pool, r, out);
        }
        overlaps(pool, &mine, out);
    }
    for (s, w) in p.schedules.iter().zip(weeks) {
        dst(s, w, out);
    }
    for t in &p.tests {
        impossible(p, t, out);
    }
}

fn drain(p: &Policy, out: &mut Vec<Diagnostic>) {
    let Some(timeout) = p.slo.as_ref().and_then(|s| s.timeout.as_ref()) else {
        return;
    };
    for pool in &p.pools {
        let d = pool.drain.value;
        if d < timeout.value {
            let span = pool
                .drain
                .span()
                .filter(|_| !pool.drain.is_default())
                .unwrap_or(pool.name_span);
            let default = if pool.drain.is_default() {
                " (the default)"
            } else {
                ""
            };
            out.push(
                Diagnostic::new(code::DRAIN_SHORT, FileId(0), span, format!(
                    "pool `{}` drains for {d}{default}, but requests may run for {} (the SLO timeout)",
                    pool.name, timeout.value
                ))
                .label("drain")
                .help(format!("set `drain {}` or longer, so that scale-down never cuts a request", timeout.value)),
            );
        }
    }
}

fn outside_pool(pool: &Pool, s: &Schedule, out: &mut Vec<Diagnostic>) {
    let (lo, hi) = (s.replicas.min, s.replicas.max);
    let below =
        lo.is_some_and(|v| v < pool.replicas.min) || hi.is_some_and(|v| v < pool.replicas.min);
    let above =
        lo.is_some_and(|v| v > pool.replicas.max) || hi.is_some_and(|v| v > pool.replicas.max);
    if below || above {
        let show = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_else(|| "_".into());
        out.push(
            Diagnostic::new(code::SCHEDULE_OUTSIDE_POOL, FileId(0), s.replicas.span, format!(
                "schedule `{}` sets {}..{} replicas, outside pool `{}`'s {}..{}",
                s.name, show(lo), show(hi), pool.name, pool.replicas.min, pool.replicas.max
            ))
            .label("outside the pool's range")
            .with_secondary(FileId(0), pool.replicas.span, "the pool's range")
            .help("a schedule moves the range within the pool's: widen the pool's range or narrow the schedule's"),
        );
    }
}

/// SP0574: a rule's floor above the pool's maximum never holds; its
/// ceiling below the pool's minimum always clamps.
fn rule_outside_pool(pool: &Pool, r: &Rule, out: &mut Vec<Diagnostic>) {
    let c = &r.constraint;
    let (lo, hi) = (pool.replicas.min, pool.replicas.max);
    let what = match (c.min, c.max) {
        (Some(n), _) if n > hi => format!(
            "rule `{}` asks for at least {n} replicas, above pool `{}`'s maximum of {hi}: it can never hold",
            r.name, pool.name
        ),
        (_, Some(n)) if n < lo => format!(
            "rule `{}` caps pool `{}` at {n} replicas, below its minimum of {lo}: the pool stays at {lo} whenever it applies",
            r.name, pool.name
        ),
        _ => return,
    };
    out.push(
        Diagnostic::new(code::RULE_OUTSIDE_POOL, FileId(0), c.span, what)
            .label("outside the pool's range")
            .with_secondary(FileId(0), pool.replicas.span, "the pool's range")
            .help(format!("a rule moves the count within the pool's range {lo}..{hi}: bring its bound inside it, or widen the range")),
    );
}

fn overlaps(pool: &Pool, mine: &[(&Schedule, &week::ScheduleWeek)], out: &mut Vec<Diagnostic>) {
    for (i, (a, wa)) in mine.iter().enumerate() {
        for (b, wb) in &mine[i + 1..] {
            if (a.replicas.min, a.replicas.max) == (b.replicas.min, b.replicas.max) {
                continue;
            }
            if let Some(m) = wa.first_overlap(wb) {
                let day = [
                    "Monday",
                    "Tuesday",
                    "Wednesday",
                    "Thursday",
                    "Friday",
                    "Saturday",
                    "Sunday",
                ][(m / week::DAY) as usize];
                out.push(
                    Diagnostic::new(code::SCHEDULE_CONFLICT, FileId(0), b.span, format!(
                        "schedules `{}` and `{}` of pool `{}` are both active on {day} at {:02}:{:02} UTC with different ranges",
                        a.name, b.name, pool.name, (m % week::DAY) / 60, m % 60
                    ))
                    .label("overlaps")
                    .with_secondary(FileId(0), a.span, "the other schedule")
                    .help("make the schedules disjoint in time, or give them the same range"),
                );
            }
        }
    }
}

/// A note when the schedule starts between 01:00 and 03:00 local time in a
/// zone that observes daylight-saving time.
fn dst(s: &Schedule, w: &week::ScheduleWeek, out: &mut Vec<Diagnostic>) {
    let Ok(tz) = scalepol_common::schedule::parse_zone(&s.timezone) else {
        return;
    };
    let offset = |m: u32| {
        tz.with_ymd_and_hms(2026, m, 1, 12, 0, 0)
            .single()
            .map(|t| t.offset().fix().local_minus_utc())
    };
    let observes_dst = offset(1) != offset(7);
    if observes_dst && w.start_hours.iter().any(|h| (1..3).contains(h)) {
        out.push(
            Diagnostic::new(code::SCHEDULE_DST, FileId(0), s.cron_span, format!(
                "schedule `{}` starts between 01:00 and 03:00 in {}, which changes clocks for daylight-saving time",
                s.name, s.timezone
            ))
            .label("in the transition hours")
            .help("on transition days this start is skipped or repeated; start outside 01:00-03:00, or schedule in UTC"),
        );
    }
}

fn impossible(p: &Policy, t: &TestCase, out: &mut Vec<Diagnostic>) {
    let pool = t
        .pool
        .as_deref()
        .and_then(|n| p.pool(n))
        .or(p.pools.first());
    let Some(pool) = pool else { return };
    let (lo, hi) = (
        pool.replicas.min,
        if pool.scale.is_some() {
            pool.replicas.max
        } else {
            pool.replicas.min
        },
    );
    let e = &t.expect;
    let never = e.min.is_some_and(|m| m > hi) || e.max.is_some_and(|m| m < lo);
    if never {
        out.push(
            Diagnostic::new(
                code::IMPOSSIBLE_TEST,
                FileId(0),
                e.span,
                format!(
                    "test `{}` can never pass: pool `{}` always holds {lo}..{hi} replicas",
                    t.name, pool.name
                ),
            )
            .label("outside the pool's range")
            .with_secondary(FileId(0), pool.replicas.span, "the pool's range")
            .help("expect a count within the pool's range, or widen the range"),
        );
    }
}
