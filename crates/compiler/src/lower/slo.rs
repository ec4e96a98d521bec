//! `slo { latency, ttft, itl, throughput, availability, peak, timeout }`.

use super::shared::positive;
use super::{Ctx, Seen};
use crate::args::{self};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use scalepol_syntax::{Node, Op};

use crate::vocabulary::SLO;

pub(super) fn lower_slo(ctx: &mut Ctx, file: FileId, node: &Node) -> Option<Slo> {
    let mut slo = Slo {
        latency: None,
        ttft: None,
        itl: None,
        throughput: None,
        availability: None,
        peak_rps: None,
        timeout: None,
        span: node.span,
    };
    let mut seen = Seen::default();
    for n in node.block_nodes() {
        if SLO.accepts(&n.keyword) && !seen.first(ctx, file, n) {
            continue;
        }
        match n.keyword.as_str() {
            "latency" => slo.latency = lower_latency(ctx, file, n),
            "ttft" => slo.ttft = lower_latency(ctx, file, n),
            "itl" => slo.itl = lower_latency(ctx, file, n),
            "throughput" => slo.throughput = lower_throughput(ctx, file, n),
            "availability" => {
                let mut a = ctx.args(n, file, "availability >= 99.9%");
                if !a.eat_op(Op::Ge) {
                    a.op(&mut ctx.sink, Op::Ge);
                    continue;
                }
                let Some(q) = a.quantity(&mut ctx.sink, "a percentage") else {
                    continue;
                };
                a.end(&mut ctx.sink);
                if q.class() != args::UnitClass::Percent {
                    ctx.push(args::unit_mismatch(
                        file,
                        &q,
                        "availability",
                        args::UnitClass::Percent,
                        "99.9%",
                    ));
                } else if q.value <= 0.0 || q.value > 100.0 {
                    ctx.push(
                        Diagnostic::new(
                            code::AVAILABILITY_RANGE,
                            file,
                            q.span,
                            format!("an availability of {}% is not meaningful", q.text),
                        )
                        .label("outside (0%, 100%]")
                        .help("availability objectives are like 99%, 99.9% or 99.95%"),
                    );
                } else {
                    slo.availability = Some(ctx.valued(q.value / 100.0, file, q.span));
                }
            }
            "peak" => {
                let mut a = ctx.args(n, file, "peak 40 req/s");
                let Some(q) = a.quantity(&mut ctx.sink, "a request rate") else {
                    continue;
                };
                a.end(&mut ctx.sink);
                if q.class() != args::UnitClass::Requests {
                    ctx.push(args::unit_mismatch(
                        file,
                        &q,
                        "peak",
                        args::UnitClass::Requests,
                        "40 req/s",
                    ));
                } else if q.value < 0.0 {
                    ctx.push(args::negative(file, q.span, "a request rate"));
                } else {
                    slo.peak_rps = Some(ctx.valued(q.value, file, q.span));
                }
            }
            "timeout" => {
                let mut a = ctx.args(n, file, "timeout DURATION");
                let Some(q) = a.quantity(&mut ctx.sink, "a duration") else {
                    continue;
                };
                a.end(&mut ctx.sink);
                if let Some(d) = args::to_duration(&mut ctx.sink, file, &q, "timeout") {
                    if positive(ctx, file, &q, d, "timeout") {
                        slo.timeout = Some(ctx.valued(d, file, q.span));
                    }
                }
            }
            _ => ctx.unknown_item(file, n, SLO.name, &SLO.keywords()),
        }
    }
    Some(slo)
}

/// `throughput >= 2000 tokens/s`.
fn lower_throughput(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<Valued<f64>> {
    let mut a = ctx.args(n, file, "throughput >= N tokens/s");
    if !a.eat_op(Op::Ge) {
        a.op(&mut ctx.sink, Op::Ge);
        return None;
    }
    let q = a.quantity(&mut ctx.sink, "a token rate")?;
    a.end(&mut ctx.sink);
    if q.class() != args::UnitClass::Tokens {
        ctx.push(args::unit_mismatch(
            file,
            &q,
            "throughput",
            args::UnitClass::Tokens,
            "2000 tokens/s",
        ));
        return None;
    }
    if q.value <= 0.0 {
        ctx.push(args::negative(file, q.span, "a token rate"));
        return None;
    }
    Some(ctx.valued(q.value, file, q.span))
}

/// `latency pNN < DURATION`, and `ttft` and `itl` in the same shape.
pub(super) fn lower_latency(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<LatencyObjective> {
    let shape = match n.keyword.as_str() {
        "ttft" => "ttft pNN < DURATION",
        "itl" => "itl pNN < DURATION",
        _ => "latency pNN < DURATION",
    };
    let mut a = ctx.args(n, file, shape);
    let (pw, pspan) = a.word(&mut ctx.sink, "a percentile like `p95`")?;
    let pct = pw
        .strip_prefix('p')
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|v| *v > 0.0 && *v < 100.0);
    let Some(pct) = pct else {
        ctx.push(
            Diagnostic::new(
                code::INVALID_PERCENTILE,
                file,
                pspan,
                format!("`{pw}` is not a percentile"),
            )
            .label("expected p50, p90, p95, p99, p99.9 ...")
            .help("write a percentile strictly between p0 and p100, like `p95`"),
        );
        return None;
    };
    if !(a.eat_op(Op::Lt) || a.eat_op(Op::Le)) {
        a.expected(&mut ctx.sink, "`<`");
        return None;
    }
    let q = a.quantity(&mut ctx.sink, "a duration")?;
    a.end(&mut ctx.sink);
    let d = args::to_duration(&mut ctx.sink, file, &q, "latency")?;
    if !positive(ctx, file, &q, d, "latency") {
        return None;
    }
    Some(LatencyObjective {
        percentile: pct / 100.0,
        threshold: d,
        span: n.span,
    })
}
