//! `schedule "NAME" cron "..." for DURATION tz "ZONE" { pool, replicas }`.

use super::shared::{named_header, positive, range_body};
use super::{Ctx, Item};
use crate::args::{self};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use scalepol_syntax::{Node, Span};

pub(super) fn lower_schedules(ctx: &mut Ctx, items: &[Item], pools: &[Pool]) -> Vec<Schedule> {
    let mut names = Vec::new();
    let mut out = Vec::new();
    for &(file, n) in items {
        if let Some(s) = lower_schedule(ctx, file, n, pools, &mut names) {
            out.push(s);
        }
    }
    out
}

fn lower_schedule(
    ctx: &mut Ctx,
    file: FileId,
    n: &Node,
    pools: &[Pool],
    names: &mut Vec<(String, Span)>,
) -> Option<Schedule> {
    let mut a = ctx.args(n, file, "schedule \"NAME\" cron \"MIN HOUR DOM MON DOW\" for DURATION tz \"ZONE\" { replicas MIN..MAX }");
    let (name, _) = named_header(ctx, &mut a, "schedule", names)?;
    a.keyword(&mut ctx.sink, "cron")?;
    let (cron, cron_span) = a.string(&mut ctx.sink, "a cron expression in quotes")?;
    let cron_ok = crate::schedule::check_cron(ctx, file, cron, cron_span);
    a.keyword(&mut ctx.sink, "for")?;
    let q = a.quantity(&mut ctx.sink, "how long the schedule lasts")?;
    let duration = args::to_duration(&mut ctx.sink, file, &q, "for")?;
    if !positive(ctx, file, &q, duration, "for") {
        return None;
    }
    let timezone = if a.eat_word("tz") {
        let (tz, tz_span) = a.string(&mut ctx.sink, "an IANA time zone in quotes")?;
        crate::schedule::check_timezone(ctx, file, tz, tz_span)?;
        tz.to_string()
    } else {
        "UTC".to_string()
    };
    a.end(&mut ctx.sink);
    let (pool, replicas) = range_body(ctx, file, n, pools, &crate::vocabulary::SCHEDULE);
    if replicas.is_none() && !n.block_nodes().iter().any(|b| b.keyword == "replicas") {
        ctx.push(
            Diagnostic::new(
                code::EMPTY_RANGE_SCHEDULE,
                file,
                n.header_span(),
                format!("schedule `{name}` sets no replica range"),
            )
            .label("no `replicas` in the body")
            .help("add a body: `{ replicas 3..12 }`"),
        );
    }
    if !cron_ok {
        return None;
    }
    Some(Schedule {
        name,
        span: n.span,
        pool,
        cron: cron.to_string(),
        cron_span,
        duration,
        timezone,
        replicas: replicas?,
    })
}
