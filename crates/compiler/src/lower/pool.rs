//! `pool NAME: gpu|cpu { ... }`

use super::{check_local_name, Ctx, Seen};
use crate::args::{self, UnitClass};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::units::Duration;
use scalepol_syntax::{Node, Op, Span};

pub fn inverted(
    file: FileId,
    span: Span,
    lo: impl std::fmt::Display,
    hi: impl std::fmt::Display,
) -> Diagnostic {
    Diagnostic::new(
        code::INVERTED_RANGE,
        file,
        span,
        format!("the range starts at {lo} but ends at {hi}"),
    )
    .label("minimum above maximum")
    .help("write the smaller bound first")
    .fix("swap the bounds", span, format!("{hi}..{lo}"))
}

pub fn lower_pool(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<Pool> {
    let mut a = ctx.args(n, file, "pool NAME: gpu|cpu { ... }");
    let (name, name_span) = a.word(&mut ctx.sink, "the pool's name")?;
    check_local_name(ctx, file, name, name_span, "pool");
    a.op(&mut ctx.sink, Op::Colon)?;
    let (kw, kspan) = a.word(&mut ctx.sink, "`gpu` or `cpu`")?;
    let kind = match kw {
        "gpu" => PoolKind::Gpu,
        "cpu" => PoolKind::Cpu,
        _ => {
            let mut d = Diagnostic::new(
                code::UNKNOWN_POOL_KIND,
                file,
                kspan,
                format!("`{kw}` is not a pool kind"),
            )
            .label("expected `gpu` or `cpu`")
            .help("a pool is `gpu` (accelerated) or `cpu`");
            if let Some(s) = crate::suggest::closest(kw, &["gpu", "cpu"]) {
                d = d.fix(format!("replace with `{s}`"), kspan, s);
            }
            ctx.push(d);
            return None;
        }
    };
    a.end(&mut ctx.sink);
    let mut pool = Pool {
        name: name.to_string(),
        name_span,
        kind,
        accelerator: None,
        replicas: ReplicaRange {
            min: 1,
            max: 1,
            span: n.header_span(),
        },
        warmup: Valued::default(
            Duration(0),
            "not declared: replicas are assumed to serve at once",
        ),
        drain: Valued::default(
            Duration::from_secs(30),
            "the Kubernetes terminationGracePeriodSeconds default",
        ),
        capacity: Vec::new(),
        cost: None,
        spot: Valued::default(0.0, "not declared: all replicas on-demand"),
        vertical: None,
        scale: None,
    };
    let mut has_replicas = false;
    let mut seen = Seen::default();
    let allowed = crate::vocabulary::POOL.keywords();
    for b in n.block_nodes() {
        if !allowed.contains(&b.keyword.as_str()) {
            ctx.unknown_item(file, b, "a pool", &allowed);
            continue;
        }
        // `capacity` may be given once per unit.
        if b.keyword != "capacity" && !seen.first(ctx, file, b) {
            continue;
        }
        match b.keyword.as_str() {
            "replicas" => has_replicas |= lower_replicas(ctx, file, b, &mut pool),
            "warmup" | "drain" => {
                if let Some((d, span)) = duration_setting(ctx, file, b) {
                    let v = ctx.valued(d, file, span);
                    if b.keyword == "warmup" {
                        pool.warmup = v
                    } else {
                        pool.drain = v
                    }
                }
            }
            "accelerator" => pool.accelerator = lower_accelerator(ctx, file, b),
            "capacity" => lower_capacity(ctx, file, b, &mut pool.capacity),
            "cost" => {
                let mut a = ctx.args(b, file, "cost $PRICE/h");
                if let Some((r, span)) = a.money_rate(&mut ctx.sink, "a price like `$0.81/h`") {
                    pool.cost = Some(ctx.valued(r, file, span));
                }
                a.end(&mut ctx.sink);
            }
            "spot" => {
                let mut a = ctx.args(b, file, "spot PERCENT");
                if let Some(q) = a.quantity(&mut ctx.sink, "a percentage") {
                    if let Some(f) = args::to_percent(&mut ctx.sink, file, &q, "spot", 100.0) {
                        pool.spot = ctx.valued(f, file, q.span);
                    }
                }
                a.end(&mut ctx.sink);
            }
            _ => pool.vertical = lower_vertical(ctx, file, b),
        }
    }
    if !has_replicas && !n.block_nodes().iter().any(|b| b.keyword == "replicas") {
        ctx.push(
            Diagnostic::new(
                code::MISSING_ITEM,
                file,
                n.header_span(),
                format!("pool `{name}` has no replica range"),
            )
            .label("`replicas` is required")
            .help("add `replicas MIN..MAX` to the pool"),
        );
    }
    Some(pool)
}

/// A one-duration setting: `warmup 2m`.
pub fn duration_setting(ctx: &mut Ctx, file: FileId, b: &Node) -> Option<(Duration, Span)> {
    let shape = match b.keyword.as_str() {
        "warmup" => "warmup DURATION",
        "drain" => "drain DURATION",
        "cooldown" => "cooldown DURATION",
        "interval" => "interval DURATION",
        "stabilize" => "stabilize DURATION",
        _ => "KEYWORD DURATION",
    };
    let mut a = ctx.args(b, file, shape);
    let q = a.quantity(&mut ctx.sink, "a duration")?;
    a.end(&mut ctx.sink);
    let d = args::to_duration(&mut ctx.sink, file, &q, &b.keyword)?;
    Some((d, q.span))
}

fn lower_replicas(ctx: &mut Ctx, file: FileId, b: &Node, pool: &mut Pool) -> bool {
    let mut a = ctx.args(b, file, "replicas MIN..MAX");
    let Some((lo, hi, span)) = a.range(&mut ctx.sink, "a range `MIN..MAX`") else {
        return false;
    };
    a.end(&mut ctx.sink);
    let lo = args::to_replicas(&mut ctx.sink, file, &lo, "replicas");
    let hi_v = args::to_replicas(&mut ctx.sink, file, &hi, "replicas");
    let (Some(lo), Some(hi_v)) = (lo, hi_v) else {
        return false;
    };
    if hi_v == 0 {
        ctx.push(
            Diagnostic::new(
                code::ZERO_MAX_REPLICAS,
                file,
                hi.span,
                "a pool of at most 0 replicas can never serve",
            )
            .label("maximum is zero")
            .help("the maximum must be at least 1; use `replicas 0..N` to allow scaling to zero"),
        );
        return false;
    }
    if lo > hi_v {
        ctx.push(inverted(file, span, lo, hi_v));
        return false;
    }
    pool.replicas = ReplicaRange {
        min: lo,
        max: hi_v,
        span,
    };
    true
}

fn lower_accelerator(ctx: &mut Ctx, file: FileId, b: &Node) -> Option<Accelerator> {
    let mut a = ctx.args(b, file, "accelerator \"TYPE\" [count N]");
    let (name, _) = a.string(&mut ctx.sink, "the accelerator type in quotes")?;
    let mut count = 1;
    if a.eat_word("count") {
        let q = a.quantity(&mut ctx.sink, "the number of accelerators per replica")?;
        count = args::to_replicas(&mut ctx.sink, file, &q, "count")?;
        if count == 0 {
            ctx.push(
                Diagnostic::new(
                    code::BAD_ARGUMENTS,
                    file,
                    q.span,
                    "a replica with zero accelerators",
                )
                .label("zero")
                .help("remove `accelerator` for a CPU pool, or count at least 1"),
            );
            return None;
        }
    }
    a.end(&mut ctx.sink);
    Some(Accelerator {
        name: name.to_string(),
        count,
        span: b.span,
    })
}

fn lower_capacity(ctx: &mut Ctx, file: FileId, b: &Node, out: &mut Vec<Capacity>) {
    let mut a = ctx.args(b, file, "capacity N concurrent|req/s|tokens/s");
    let Some(q) = a.quantity(&mut ctx.sink, "what one replica serves") else {
        return;
    };
    a.end(&mut ctx.sink);
    let unit = match q.class() {
        UnitClass::Concurrent => CapacityUnit::Concurrent,
        UnitClass::Requests => CapacityUnit::RequestsPerSecond,
        UnitClass::Tokens => CapacityUnit::TokensPerSecond,
        _ => {
            let mut d =
                args::unit_mismatch(file, &q, "capacity", UnitClass::Concurrent, "16 concurrent");
            d.help = Some("capacity is `N concurrent`, `N req/s` or `N tokens/s`".into());
            ctx.push(d);
            return;
        }
    };
    if q.value <= 0.0 {
        ctx.push(args::negative(file, q.span, "a capacity").help("capacity is above zero"));
        return;
    }
    if let Some(prev) = out.iter().find(|c| c.unit == unit) {
        ctx.duplicate(file, b, (file, prev.span));
        return;
    }
    out.push(Capacity {
        value: q.value,
        unit,
        span: q.span,
    });
}

fn lower_vertical(ctx: &mut Ctx, file: FileId, b: &Node) -> Option<Vertical> {
    let mut v = Vertical {
        cpu: None,
        memory: None,
        span: b.span,
    };
    let mut seen = Seen::default();
    for n in b.block_nodes() {
        if !matches!(n.keyword.as_str(), "cpu" | "memory") {
            ctx.unknown_item(file, n, "a vertical block", &["cpu", "memory"]);
            continue;
        }
        if !seen.first(ctx, file, n) {
            continue;
        }
        let mut a = ctx.args(
            n,
            file,
            if n.keyword == "cpu" {
                "cpu MIN..MAX cores"
            } else {
                "memory MIN..MAX (like 8Gi..32Gi)"
            },
        );
        let Some((lo, hi, span)) = a.range(&mut ctx.sink, "a range `MIN..MAX`") else {
            continue;
        };
        a.end(&mut ctx.sink);
        if n.keyword == "cpu" {
            if lo.class() != UnitClass::Cores || hi.class() != UnitClass::Cores {
                let bad = if lo.class() != UnitClass::Cores {
                    &lo
                } else {
                    &hi
                };
                ctx.push(args::unit_mismatch(
                    file,
                    bad,
                    "cpu",
                    UnitClass::Cores,
                    "2..8 cores",
                ));
                continue;
            }
            if lo.value < 0.0 {
                ctx.push(args::negative(file, lo.span, "a CPU amount"));
            } else if lo.value > hi.value {
                ctx.push(inverted(file, span, &lo.text, &hi.text));
            } else {
                v.cpu = Some((lo.value, hi.value));
            }
        } else {
            let (Some(l), Some(h)) = (
                args::to_bytes(&mut ctx.sink, file, &lo, "memory"),
                args::to_bytes(&mut ctx.sink, file, &hi, "memory"),
            ) else {
                continue;
            };
            if l > h {
                ctx.push(inverted(
                    file,
                    span,
                    format!("{}{}", lo.text, lo.unit.as_deref().unwrap_or("")),
                    format!("{}{}", hi.text, hi.unit.as_deref().unwrap_or("")),
                ));
            } else {
                v.memory = Some((l, h));
            }
        }
    }
    Some(v)
}
