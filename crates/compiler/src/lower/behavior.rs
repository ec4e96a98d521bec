//! `up { ... }` and `down { ... }` in a scale block: rate policies, which
//! one wins, the stabilisation window; and the HPA's defaults for each
//! (`scalepol_common::defaults`), recorded with their source.

use super::{pool::duration_setting, Ctx, Seen};
use crate::args::{self, UnitClass};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::units::Duration;
use scalepol_common::defaults::{self, hpa};
use scalepol_syntax::{Node, Span};

const HPA_UP: &str = "the Kubernetes HPA scaleUp default";
const HPA_DOWN: &str = "the Kubernetes HPA scaleDown default";

/// A behavior from upstream's defaults (`scalepol_common::defaults`).
fn upstream(rates: &[defaults::Rate], stabilization: u64, why: &'static str) -> Behavior {
    let policies = rates
        .iter()
        .map(|r| RatePolicy {
            kind: if r.percent {
                RateKind::Percent
            } else {
                RateKind::Replicas
            },
            value: r.value,
            period: Duration::from_secs(r.period_seconds),
            span: Span::default(),
        })
        .collect();
    Behavior {
        policies: Valued::default(policies, why),
        select: Valued::default(SelectPolicy::Max, why),
        stabilization: Valued::default(Duration::from_secs(stabilization), why),
    }
}

pub(super) fn default_up() -> Behavior {
    upstream(&hpa::SCALE_UP, hpa::SCALE_UP_STABILIZATION_SECONDS, HPA_UP)
}

pub(super) fn default_down() -> Behavior {
    upstream(
        &hpa::SCALE_DOWN,
        hpa::SCALE_DOWN_STABILIZATION_SECONDS,
        HPA_DOWN,
    )
}

pub(super) fn lower_behavior(ctx: &mut Ctx, file: FileId, b: &Node, out: &mut Behavior) {
    let mut a = ctx.args(
        b,
        file,
        "up|down { by N% every DURATION, select max|min, stabilize DURATION } | up|down disabled",
    );
    if a.eat_word("disabled") {
        out.select = ctx.valued(SelectPolicy::Disabled, file, b.span);
        a.end(&mut ctx.sink);
        return;
    }
    a.end(&mut ctx.sink);
    let mut policies = Vec::new();
    let mut seen = Seen::default();
    for n in b.block_nodes() {
        if !crate::vocabulary::BEHAVIOR.accepts(&n.keyword) {
            let allowed = crate::vocabulary::BEHAVIOR.keywords();
            ctx.unknown_item(file, n, &format!("a `{}` block", b.keyword), &allowed);
            continue;
        }
        if n.keyword != "by" && !seen.first(ctx, file, n) {
            continue;
        }
        match n.keyword.as_str() {
            "by" => policies.extend(lower_rate(ctx, file, n)),
            "select" => {
                let mut a = ctx.args(n, file, "select max|min|disabled");
                let Some((w, span)) = a.word(&mut ctx.sink, "`max`, `min` or `disabled`") else {
                    continue;
                };
                a.end(&mut ctx.sink);
                let sel = match w {
                    "max" => SelectPolicy::Max,
                    "min" => SelectPolicy::Min,
                    "disabled" => SelectPolicy::Disabled,
                    _ => {
                        ctx.push(
                            Diagnostic::new(code::BAD_ARGUMENTS, file, span, format!("`{w}` is not a select policy"))
                                .label("expected max, min or disabled")
                                .help("`select max` takes the policy allowing the largest change (the default), `select min` the smallest"),
                        );
                        continue;
                    }
                };
                out.select = ctx.valued(sel, file, span);
            }
            _ => {
                let Some((d, span)) = duration_setting(ctx, file, n) else {
                    continue;
                };
                if d.0 > 3_600_000 {
                    ctx.push(
                        Diagnostic::new(
                            code::WINDOW_RANGE,
                            file,
                            span,
                            format!("a stabilisation window of {d} is longer than one hour"),
                        )
                        .label("above 3600s")
                        .help("Kubernetes accepts stabilizationWindowSeconds from 0 to 3600"),
                    );
                    continue;
                }
                out.stabilization = ctx.valued(d, file, span);
            }
        }
    }
    if !policies.is_empty() {
        let span = b.span;
        out.policies = ctx.valued(policies, file, span);
    }
}

/// `by 100% every 15s` or `by 4 replicas every 1m`.
fn lower_rate(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<RatePolicy> {
    let mut a = ctx.args(
        n,
        file,
        "by N% every DURATION | by N replicas every DURATION",
    );
    let q = a.quantity(
        &mut ctx.sink,
        "a step: a percentage or a number of replicas",
    )?;
    let (kind, value) = match q.class() {
        UnitClass::Percent => (RateKind::Percent, q.value),
        UnitClass::Plain | UnitClass::Replicas => (RateKind::Replicas, q.value),
        _ => {
            ctx.push(args::unit_mismatch(
                file,
                &q,
                "by",
                UnitClass::Replicas,
                "4 replicas",
            ));
            return None;
        }
    };
    if value <= 0.0 || value.fract() != 0.0 || value > f64::from(i32::MAX) {
        ctx.push(
            Diagnostic::new(code::BAD_ARGUMENTS, file, q.span, "a rate step is a whole number above zero")
                .label("invalid step")
                .help("Kubernetes scaling policies take a whole `value` greater than zero; to stop scaling in a direction write `disabled`"),
        );
        return None;
    }
    a.keyword(&mut ctx.sink, "every")?;
    let pq = a.quantity(&mut ctx.sink, "the period")?;
    let period = args::to_duration(&mut ctx.sink, file, &pq, "every")?;
    a.end(&mut ctx.sink);
    if period.0 < 1000 || period.0 > 1_800_000 || period.0 % 1000 != 0 {
        ctx.push(
            Diagnostic::new(
                code::PERIOD_RANGE,
                file,
                pq.span,
                format!("a rate period of {period} is outside 1s-30m"),
            )
            .label("out of range")
            .help("Kubernetes accepts periodSeconds from 1 to 1800, in whole seconds"),
        );
        return None;
    }
    Some(RatePolicy {
        kind,
        value: value as u32,
        period,
        span: n.span,
    })
}
