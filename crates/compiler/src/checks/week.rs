//! Schedules over one reference week, computed once per policy: the time
//! windows each schedule is active, and its local start hours. The budget
//! arithmetic and the schedule checks read these instead of iterating cron.

use crate::model::{Pool, Schedule};
use chrono::{Duration as ChronoDuration, TimeZone, Timelike, Utc};

pub const MINUTES: u32 = 7 * 24 * 60;
pub const DAY: u32 = 24 * 60;

/// The reference week: Monday 2026-01-05 00:00 UTC. No daylight-saving
/// transition falls in it, so it measures the usual week. (A schedule limited
/// to months outside January is not seen by the budget arithmetic.)
fn week_start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .expect("a valid fixed date")
}

/// One schedule's week.
#[derive(Debug, Default)]
pub struct ScheduleWeek {
    /// Minutes of the week `[start, end)` in which it is active, merged and sorted.
    pub windows: Vec<(u32, u32)>,
    /// Local hours at which its occurrences start.
    pub start_hours: Vec<u32>,
}

impl ScheduleWeek {
    pub fn new(s: &Schedule) -> Self {
        use scalepol_common::schedule::{parse_cron, parse_zone};
        let (Ok(cron), Ok(tz)) = (parse_cron(&s.cron), parse_zone(&s.timezone)) else {
            return ScheduleWeek::default(); // lowering already reported it
        };
        let start = week_start();
        let len = s.duration.0.div_ceil(60_000) as i64;
        let mut week = ScheduleWeek::default();
        let from = (start - ChronoDuration::minutes(len)).with_timezone(&tz);
        for at in cron.iter_from(from).take(MINUTES as usize * 2) {
            let first = (at.with_timezone(&Utc) - start).num_minutes();
            if first >= MINUTES as i64 {
                break;
            }
            if !week.start_hours.contains(&at.hour()) {
                week.start_hours.push(at.hour());
            }
            let (a, b) = (
                first.max(0) as u32,
                (first + len).clamp(0, MINUTES as i64) as u32,
            );
            match week.windows.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ if a < b => week.windows.push((a, b)),
                _ => {}
            }
        }
        week
    }

    pub fn active(&self, minute: u32) -> bool {
        self.windows.iter().any(|&(a, b)| a <= minute && minute < b)
    }

    /// The first minute at which both are active.
    pub fn first_overlap(&self, other: &ScheduleWeek) -> Option<u32> {
        self.windows
            .iter()
            .flat_map(|&(a, b)| {
                other
                    .windows
                    .iter()
                    .map(move |&(c, d)| (a.max(c), b.min(d)))
            })
            .filter(|(s, e)| s < e)
            .map(|(s, _)| s)
            .min()
    }
}

/// Whether a schedule applies to a pool (`pool NAME`, or every pool).
pub fn applies(s: &Schedule, pool: &Pool) -> bool {
    s.pool.as_deref().is_none_or(|p| p == pool.name)
}

/// A stretch of the week with one replica range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: u32,
    pub end: u32,
    pub floor: u32,
    pub top: u32,
}

/// The pool's range over the week, in segments that never cross midnight
/// UTC: the pool's own range, raised or capped by the active schedules. Where
/// several overlap, the widest reading is taken (the highest floor and the
/// highest ceiling): the worst case for cost.
pub fn profile(pool: &Pool, schedules: &[Schedule], weeks: &[ScheduleWeek]) -> Vec<Segment> {
    let fixed = pool.scale.is_none();
    let top = if fixed {
        pool.replicas.min
    } else {
        pool.replicas.max
    };
    let relevant: Vec<(&Schedule, &ScheduleWeek)> = schedules
        .iter()
        .zip(weeks)
        .filter(|(s, _)| !fixed && applies(s, pool))
        .collect();
    let mut cuts: Vec<u32> = (0..=7).map(|d| d * DAY).collect();
    for (_, w) in &relevant {
        cuts.extend(w.windows.iter().flat_map(|&(a, b)| [a, b]));
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|c| {
            let (start, end) = (c[0], c[1]);
            let mut range: Option<(u32, u32)> = None;
            for (s, _) in relevant.iter().filter(|(_, w)| w.active(start)) {
                let lo = s.replicas.min.unwrap_or(pool.replicas.min);
                let hi = s.replicas.max.unwrap_or(pool.replicas.max);
                range = Some(range.map_or((lo, hi), |(a, b)| (a.max(lo), b.max(hi))));
            }
            let (floor, top) = range.unwrap_or((pool.replicas.min, top));
            Segment {
                start,
                end,
                floor,
                top,
            }
        })
        .collect()
}
