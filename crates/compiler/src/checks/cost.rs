//! Budget (SP0501-SP0503) and SLO vs capacity vs budget (SP0510, SP0511).

use super::week;
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId, Severity};
use crate::measure::replica_rate;
use crate::model::*;
use crate::units::{Money, MoneyRate};

/// Target utilisation assumed where no target relates to the capacity.
const DEFAULT_UTILIZATION: f64 = 0.8;
/// The steepest ramp assumed for SP0522: zero to the declared peak in 15 minutes.
const RAMP_SECONDS: f64 = 15.0 * 60.0;

pub fn check(p: &Policy, weeks: &[week::ScheduleWeek], out: &mut Vec<Diagnostic>) {
    let before = out.len();
    if let Some(peak) = p.slo.as_ref().and_then(|s| s.peak_rps.as_ref()) {
        peak_capacity(p, peak.value, out);
    }
    // When serving the peak already breaks the budget, that conflict is the
    // explanation: "lower the maximum" (SP0501's advice) would break the SLO.
    let conflict = out[before..]
        .iter()
        .any(|d| d.code == code::SLO_BUDGET_CONFLICT);
    if let Some(b) = &p.budget {
        budget(p, weeks, b, !conflict, out);
    }
}

fn severity(b: &Budget) -> Severity {
    match b.enforcement.value {
        Enforcement::Enforce => Severity::Error,
        Enforcement::Warn => Severity::Warning,
    }
}

/// One pool's spend over the budget period: at the ceiling and at the floor.
struct Spend {
    pool: String,
    price: MoneyRate,
    /// Replica-hours in the worst period, at the ceiling and at the floor.
    top_hours: f64,
    floor_hours: f64,
    top: Money,
    floor: Money,
    /// Schedules change the ceiling (or floor) over time; else the plain
    /// `replicas x hours` product is exact.
    shaped_top: bool,
    shaped_floor: bool,
    /// The range when not shaped.
    flat_top: u32,
    flat_floor: u32,
}

/// Replica-minutes in the worst period: the whole week scaled to a month,
/// or the most expensive day of the week.
fn period_minutes(
    profile: &[week::Segment],
    period: BudgetPeriod,
    pick: fn(&week::Segment) -> u32,
) -> f64 {
    let minutes = |seg: &week::Segment| (seg.end - seg.start) as u64 * pick(seg) as u64;
    match period {
        BudgetPeriod::Monthly => profile.iter().map(minutes).sum::<u64>() as f64 * 730.0 / 168.0,
        // Segments never cross midnight, so each belongs to one day.
        BudgetPeriod::Daily => (0..7)
            .map(|d| {
                profile
                    .iter()
                    .filter(|x| x.start / week::DAY == d)
                    .map(minutes)
                    .sum::<u64>()
            })
            .max()
            .unwrap_or(0) as f64,
    }
}

fn cost_of(price: MoneyRate, replica_minutes: f64) -> Money {
    Money((price.0 as f64 * replica_minutes / 60.0).round() as i64)
}

fn spend(
    p: &Policy,
    weeks: &[week::ScheduleWeek],
    pool: &Pool,
    period: BudgetPeriod,
) -> Option<Spend> {
    let price = pool.cost.as_ref()?.value;
    let profile = week::profile(pool, &p.schedules, weeks);
    let top_min = period_minutes(&profile, period, |x| x.top);
    let floor_min = period_minutes(&profile, period, |x| x.floor);
    let shaped_top = profile.iter().any(|x| x.top != profile[0].top);
    let shaped_floor = profile.iter().any(|x| x.floor != profile[0].floor);
    Some(Spend {
        pool: pool.name.clone(),
        price,
        top_hours: top_min / 60.0,
        floor_hours: floor_min / 60.0,
        top: cost_of(price, top_min),
        floor: cost_of(price, floor_min),
        shaped_top,
        shaped_floor,
        flat_top: profile[0].top,
        flat_floor: profile[0].floor,
    })
}

/// `12 replicas x $0.85/h x 730 h = $7,446` or, with schedules,
/// `6,935 replica-hours x $0.85/h = $5,894.75 (schedules applied)`.
fn arithmetic(s: &Spend, hours: u32, floor: bool) -> String {
    let (count, rh, total, shaped) = if floor {
        (s.flat_floor, s.floor_hours, s.floor, s.shaped_floor)
    } else {
        (s.flat_top, s.top_hours, s.top, s.shaped_top)
    };
    if shaped {
        format!(
            "{}: {:.0} replica-hours x {} = {} (schedules applied)",
            s.pool, rh, s.price, total
        )
    } else {
        format!(
            "{}: {} replicas x {} x {} h = {}",
            s.pool, count, s.price, hours, total
        )
    }
}

fn budget(
    p: &Policy,
    weeks: &[week::ScheduleWeek],
    b: &Budget,
    report_ceiling: bool,
    out: &mut Vec<Diagnostic>,
) {
    let mut spends = Vec::new();
    for pool in &p.pools {
        match spend(p, weeks, pool, b.period) {
            Some(s) => spends.push(s),
            None => out.push(
                Diagnostic::new(
                    code::BUDGET_UNPRICED,
                    FileId(0),
                    pool.name_span,
                    format!(
                        "pool `{}` has no price, so the budget check leaves it out",
                        pool.name
                    ),
                )
                .label("no `cost`")
                .help(price_hint(pool)),
            ),
        }
    }
    if spends.is_empty() {
        return;
    }
    let hours = b.period.hours();
    let period = match b.period {
        BudgetPeriod::Monthly => "monthly",
        BudgetPeriod::Daily => "daily",
    };
    // Money saturates: 2^31 replicas at $1,000,000/h for a month exceed i64.
    let sum = |f: fn(&Spend) -> i64| spends.iter().map(f).fold(0i64, i64::saturating_add);
    let floor = Money(sum(|s| s.floor.0));
    let top = Money(sum(|s| s.top.0));
    if floor > b.limit {
        let lines: Vec<String> = spends.iter().map(|s| arithmetic(s, hours, true)).collect();
        out.push(
            Diagnostic::new(
                code::FLOOR_OVER_BUDGET,
                FileId(0),
                b.span,
                format!(
                    "the minimum replicas alone cost {floor} {period}, over the budget of {}",
                    b.limit
                ),
            )
            .label(format!("{} budget", period))
            .help(format!(
                "{}; lower the minimums or raise the budget",
                lines.join("; ")
            )),
        );
        return;
    }
    if report_ceiling && top > b.limit {
        let lines: Vec<String> = spends.iter().map(|s| arithmetic(s, hours, false)).collect();
        out.push(
            Diagnostic::new(
                code::BUDGET_EXCEEDED,
                FileId(0),
                b.span,
                format!(
                    "worst-case spend is {top} {period}, over the budget of {} by {}",
                    b.limit,
                    Money(top.0 - b.limit.0)
                ),
            )
            .severity(severity(b))
            .label(format!("{} budget", period))
            .help(format!(
                "{}; lower a maximum, cap it with a schedule, or raise the budget",
                lines.join("; ")
            )),
        );
    }
}

fn price_hint(pool: &Pool) -> String {
    let known = pool
        .accelerator
        .as_ref()
        .and_then(|a| super::catalogue::find(&a.name).map(|c| (a, c)));
    match known {
        Some((a, c)) if c.price_per_hour.is_some() => format!(
            "add `cost $N/h`; a typical price for {} is {} ({})",
            a.name,
            MoneyRate(c.price_per_hour.unwrap_or(0) * a.count as i64),
            c.source
        ),
        _ => "add the price of one replica: `cost $N/h`".to_string(),
    }
}

/// The target utilisation of a pool: its per-replica target on a rate metric
/// over its rate capacity, else the default.
fn utilization(p: &Policy, pool: &Pool, rate: f64) -> (f64, String) {
    let target = pool.scale.iter().flat_map(|s| &s.targets).find(|t| {
        t.mode == TargetMode::PerReplica
            && p.metric(&t.metric)
                .is_some_and(|m| m.unit == MetricUnit::RequestsPerSecond)
    });
    match target {
        Some(t) if rate > 0.0 => {
            let u = (t.target / rate).clamp(0.01, 1.0);
            (
                u,
                format!(
                    "target {} req/s of {:.1} = {:.0}%",
                    t.target,
                    rate,
                    u * 100.0
                ),
            )
        }
        _ => (
            DEFAULT_UTILIZATION,
            "80% target utilisation (no target on a req/s metric)".into(),
        ),
    }
}

fn peak_capacity(p: &Policy, peak: f64, out: &mut Vec<Diagnostic>) {
    let span = p
        .slo
        .as_ref()
        .and_then(|s| s.peak_rps.as_ref())
        .and_then(|v| v.span())
        .unwrap_or_default();
    // Pools that can serve the peak, cheapest capacity first. A rate that
    // rests on an assumed service time makes its findings notes.
    let mut options: Vec<(&Pool, f64, String)> = Vec::new();
    let mut assumed = false;
    for pool in p
        .pools
        .iter()
        .filter(|x| x.scale.is_some() || x.replicas.min > 0)
    {
        if let Some(r) = replica_rate(p, pool) {
            let (u, uhow) = utilization(p, pool, r.rate);
            assumed |= !r.declared;
            options.push((pool, r.rate * u, format!("{}, {uhow}", r.how)));
        }
    }
    if options.is_empty() {
        return;
    }
    for (pool, r, how) in &options {
        floor_for_lag(pool, *r, how, peak, out);
    }
    let total: f64 = options
        .iter()
        .map(|(pl, r, _)| r * pl.replicas.max as f64)
        .sum();
    if total + 1e-9 < peak {
        let (pool, r, how) = &options[0];
        let needed = (peak / r).ceil() as u64;
        let msg = if options.len() == 1 {
            format!("serving the declared peak of {peak} req/s needs {needed} replicas of `{}`; the maximum is {}", pool.name, pool.replicas.max)
        } else {
            format!("the pools serve at most {total:.1} req/s at their maximums; the declared peak is {peak} req/s")
        };
        let mut d = Diagnostic::new(code::PEAK_UNSERVABLE, FileId(0), span, msg)
            .label("declared peak")
            .with_secondary(
                FileId(0),
                pool.replicas.span,
                format!("maximum {}", pool.replicas.max),
            )
            .help(format!(
                "{how}: raise the maximum to {needed} or more, or add capacity{}",
                if assumed { "; declare `capacity N req/s` to check this exactly, or run `scalepol simulate --scale peak`" } else { "" }
            ));
        if assumed {
            d = d.severity(Severity::Note);
        }
        out.push(d);
        return;
    }
    if let Some(b) = &p.budget {
        slo_budget(b, peak, &options, span, assumed, out);
    }
}

/// SP0522: the floor must serve the demand growth of one scaling lag.
fn floor_for_lag(pool: &Pool, rate: f64, how: &str, peak: f64, out: &mut Vec<Diagnostic>) {
    let Some(s) = &pool.scale else { return };
    let lag = pool.warmup.value.secs_f64() + s.interval.value.secs_f64();
    let growth = peak * lag / RAMP_SECONDS;
    let floor = pool.replicas.min as f64 * rate;
    if floor + 1e-9 < growth {
        let needed = (growth / rate).ceil() as u32;
        out.push(
            Diagnostic::new(code::FLOOR_TOO_LOW, FileId(0), pool.replicas.span, format!(
                "if demand climbed from zero to the declared peak in 15 minutes, it would grow by {growth:.1} req/s while a new replica of `{}` starts ({lag:.0} s: warmup + one {} interval); the floor of {} serves {floor:.1} req/s",
                pool.name, s.interval.value, pool.replicas.min
            ))
            .label("floor")
            .help(format!("{how}; this assumes demand may climb from zero to the declared peak in 15 minutes, which few services do: a floor of {needed} absorbs one such lag. Check the cost of that floor with `scalepol simulate` or `scalepol tune` on your traffic"))
            .fix(format!("raise the floor to {needed}"), pool.replicas.span, format!("{needed}..{}", pool.replicas.max.max(needed))),
        );
    }
}

/// The cost of serving the peak for the whole period, cheapest capacity first.
fn slo_budget(
    b: &Budget,
    peak: f64,
    options: &[(&Pool, f64, String)],
    span: scalepol_syntax::Span,
    assumed: bool,
    out: &mut Vec<Diagnostic>,
) {
    let mut priced: Vec<(&Pool, f64, MoneyRate)> = options
        .iter()
        .filter_map(|(pl, r, _)| pl.cost.as_ref().map(|c| (*pl, *r, c.value)))
        .collect();
    if priced.len() != options.len() {
        return; // SP0503 already says a pool is unpriced
    }
    priced.sort_by(|a, b| (a.2 .0 as f64 / a.1).total_cmp(&(b.2 .0 as f64 / b.1)));
    let hours = b.period.hours() as u64;
    let (mut left, mut cost, mut parts) = (peak, 0i64, Vec::new());
    for (pool, r, price) in priced {
        if left <= 0.0 {
            break;
        }
        let n = ((left / r).ceil() as u32).min(pool.replicas.max);
        left -= n as f64 * r;
        cost = cost.saturating_add(price.times(n as u64, hours).0);
        parts.push(format!("{n} x `{}` at {} x {} h", pool.name, price, hours));
    }
    if Money(cost) > b.limit {
        out.push(
            Diagnostic::new(code::SLO_BUDGET_CONFLICT, FileId(0), span, format!(
                "serving the declared peak of {peak} req/s costs {} for the period, {} over the budget of {}",
                Money(cost), Money(cost - b.limit.0), b.limit
            ))
            .severity(if assumed { Severity::Note } else { severity(b) })
            .label("declared peak")
            .with_secondary(FileId(0), b.span, "budget")
            .help(format!("{}: if the peak lasts, the SLO and the budget cannot both hold; raise the budget or lower the declared peak", parts.join(" + "))),
        );
    }
}
