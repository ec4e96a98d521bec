//! `scale [POOL] { on ..., tolerance, up, down, cooldown, interval, fallback, scale_to_zero }`
//!
//! Defaults follow Kubernetes (HPA `behavior` and tolerance) and KEDA
//! (cooldown), and are recorded with their source.

use super::behavior::{default_down, default_up, lower_behavior};
use super::{pool::duration_setting, Ctx, Item, Seen};
use crate::args::{self, UnitClass};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::lower::metrics;
use crate::model::*;
use crate::units::Duration;
use scalepol_common::defaults::{self, hpa};
use scalepol_syntax::{Node, Span};

const HPA_TOLERANCE: &str =
    "the Kubernetes HPA default tolerance (--horizontal-pod-autoscaler-tolerance)";

/// Assigns each scale block to its pool, layered over the defaults' scale settings.
pub fn attach_scaling(ctx: &mut Ctx, pools: &mut [Pool], metrics: &[Metric], items: &[Item]) {
    let mut base: Vec<Item> = Vec::new();
    for &(file, n) in items.iter().filter(|(f, _)| *f != FileId(0)) {
        for b in n.block_nodes() {
            if b.keyword == "on" {
                ctx.push(
                    Diagnostic::new(
                        code::UNKNOWN_ITEM,
                        file,
                        b.keyword_span,
                        "defaults cannot declare scale targets",
                    )
                    .label("`on` in a defaults file")
                    .help("targets belong to each policy: move this `on` into the policies"),
                );
            } else {
                base.push((file, b));
            }
        }
    }
    let mut assigned: Vec<(String, Span)> = Vec::new();
    for &(file, n) in items.iter().filter(|(f, _)| *f == FileId(0)) {
        let Some(idx) = scale_pool(ctx, file, n, pools) else {
            continue;
        };
        let name = pools[idx].name.clone();
        if let Some((_, first)) = assigned.iter().find(|(p, _)| *p == name) {
            ctx.push(
                Diagnostic::new(
                    code::DUPLICATE_ITEM,
                    file,
                    n.keyword_span,
                    format!("pool `{name}` has two scale blocks"),
                )
                .label("second scale block")
                .with_secondary(file, *first, "first scale block")
                .help("merge them into one"),
            );
            continue;
        }
        assigned.push((name, n.keyword_span));
        let own: Vec<Item> = n.block_nodes().iter().map(|b| (file, b)).collect();
        let merged: Vec<Item> = base
            .iter()
            .filter(|(_, b)| !own.iter().any(|(_, o)| o.keyword == b.keyword))
            .chain(own.iter())
            .copied()
            .collect();
        pools[idx].scale = lower_scaling(ctx, file, n, &merged, metrics, true);
    }
}

/// The index of the pool a scale block applies to.
fn scale_pool(ctx: &mut Ctx, file: FileId, n: &Node, pools: &[Pool]) -> Option<usize> {
    let mut a = ctx.args(n, file, "scale [POOL] { ... }");
    let named = if a.is_done() {
        None
    } else {
        a.word(&mut ctx.sink, "a pool name")
    };
    a.end(&mut ctx.sink);
    match named {
        Some((name, span)) => {
            let found = super::shared::resolve_pool(ctx, file, name, span, pools)?;
            pools.iter().position(|p| p.name == found)
        }
        None if pools.len() == 1 => Some(0),
        None if pools.is_empty() => None,
        None => {
            let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
            ctx.push(
                Diagnostic::new(
                    code::AMBIGUOUS_SCALE,
                    file,
                    n.keyword_span,
                    format!(
                        "this policy has {} pools; which one does this block scale?",
                        pools.len()
                    ),
                )
                .label("no pool named")
                .help(format!(
                    "name the pool: `scale {} {{ ... }}` (pools: {})",
                    names[0],
                    names.join(", ")
                ))
                .fix(
                    format!("scale pool `{}`", names[0]),
                    Span::new(n.keyword_span.end, n.keyword_span.end),
                    format!(" {}", names[0]),
                ),
            );
            None
        }
    }
}

pub fn lower_scaling(
    ctx: &mut Ctx,
    file: FileId,
    n: &Node,
    items: &[Item],
    metrics: &[Metric],
    require_targets: bool,
) -> Option<Scaling> {
    let mut s = Scaling {
        span: n.span,
        targets: Vec::new(),
        tolerance_up: Valued::default(hpa::TOLERANCE, HPA_TOLERANCE),
        tolerance_down: Valued::default(hpa::TOLERANCE, HPA_TOLERANCE),
        up: default_up(),
        down: default_down(),
        cooldown: Valued::default(
            Duration::from_secs(defaults::keda::COOLDOWN_SECONDS),
            "the KEDA cooldownPeriod default",
        ),
        interval: Valued::default(
            Duration::from_secs(hpa::SYNC_PERIOD_SECONDS),
            "the Kubernetes HPA sync period default (--horizontal-pod-autoscaler-sync-period)",
        ),
        fallback: None,
        scale_to_zero: None,
        legacy: None,
    };
    let allowed = crate::vocabulary::SCALE.keywords();
    let mut seen = Seen::default();
    for &(f, b) in items {
        if !allowed.contains(&b.keyword.as_str()) {
            ctx.unknown_item(f, b, "a scale block", &allowed);
            continue;
        }
        if b.keyword != "on" && !seen.first(ctx, f, b) {
            continue;
        }
        match b.keyword.as_str() {
            "on" => {
                if let Some(t) = lower_target(ctx, f, b, metrics) {
                    // Its value goes by one name (`formula`) in the engine and
                    // in KEDA's one composite metric.
                    let first = s.targets.iter().find(|x| x.formula.is_some());
                    if let (Some(first), Some(_)) = (first, &t.formula) {
                        ctx.push(
                            Diagnostic::new(
                                code::DUPLICATE_ITEM,
                                f,
                                b.keyword_span,
                                "this scale block has two formulas",
                            )
                            .label("second formula")
                            .with_secondary(f, first.span, "first formula")
                            .help("combine them into one formula, like `max(a_part, b_part)`"),
                        );
                    } else {
                        s.targets.push(t);
                    }
                }
            }
            "tolerance" => lower_tolerance(ctx, f, b, &mut s),
            "up" => lower_behavior(ctx, f, b, &mut s.up),
            "down" => lower_behavior(ctx, f, b, &mut s.down),
            "cooldown" => {
                if let Some((d, span)) = duration_setting(ctx, f, b) {
                    s.cooldown = ctx.valued(d, f, span);
                }
            }
            "interval" => {
                if let Some((d, span)) = duration_setting(ctx, f, b) {
                    if d.0 == 0 {
                        ctx.push(zero_duration(f, span, "interval"));
                    } else {
                        s.interval = ctx.valued(d, f, span);
                    }
                }
            }
            "fallback" => s.fallback = lower_fallback(ctx, f, b),
            "behavior" => s.legacy = lower_legacy(ctx, f, b, items),
            _ => s.scale_to_zero = lower_to_zero(ctx, f, b),
        }
    }
    if let Some(&(f, _)) = items.iter().find(|(_, b)| b.keyword == "scale_to_zero") {
        link_idle_to_cooldown(ctx, f, &mut s);
    }
    if require_targets && s.targets.is_empty() && !items.iter().any(|(_, b)| b.keyword == "on") {
        ctx.push(
            Diagnostic::new(
                code::SCALE_NEEDS_TARGET,
                file,
                n.header_span(),
                "this scale block has no target",
            )
            .label("no `on` target")
            .help(
                "add a target, like `on cpu target 70%` or `on queue_depth per replica target 8`",
            ),
        );
        return None;
    }
    Some(s)
}

fn zero_duration(file: FileId, span: Span, kw: &str) -> Diagnostic {
    Diagnostic::new(
        code::NONPOSITIVE_DURATION,
        file,
        span,
        format!("`{kw}` must be longer than zero"),
    )
    .label("zero")
    .help("write a positive duration, like `15s`")
}

fn lower_target(ctx: &mut Ctx, file: FileId, b: &Node, all: &[Metric]) -> Option<ScaleTarget> {
    if is_formula(b) {
        return lower_formula(ctx, file, b, all);
    }
    let mut a = ctx.args(
        b,
        file,
        "on METRIC [per replica|total] target VALUE [activate VALUE]",
    );
    let (name, nspan) = a.word(&mut ctx.sink, "a metric name")?;
    let metric = metrics::resolve(ctx, file, name, nspan, all)?;
    let builtin = metric.source == MetricSourceKind::Builtin;
    let pods = metric.source == MetricSourceKind::Pods;
    let mut mode = if builtin {
        TargetMode::Utilization
    } else if pods {
        TargetMode::PerReplica
    } else {
        TargetMode::Total
    };
    if a.eat_word("per") {
        a.keyword(&mut ctx.sink, "replica")?;
        mode = TargetMode::PerReplica;
    } else if let Some(span) = a.peek().filter(|x| x.is_word("total")).map(|x| x.span) {
        a.eat_word("total");
        if pods {
            ctx.push(
                Diagnostic::new(code::BAD_ARGUMENTS, file, span, format!("`{name}` is a Pods metric: an average over the pods, it has no total"))
                    .label("`total` does not apply")
                    .help(format!("write `on {name} per replica target ...` (the HPA's Pods metrics take an AverageValue)")),
            );
            return None;
        }
        mode = TargetMode::Total;
    }
    a.keyword(&mut ctx.sink, "target")?;
    let q = a.quantity(&mut ctx.sink, "the target value")?;
    let target = target_value(ctx, file, &q, metric, mode)?;
    let mut activation = None;
    if a.eat_word("activate") {
        let q = a.quantity(&mut ctx.sink, "the activation threshold")?;
        activation = Some(target_value(ctx, file, &q, metric, mode)?);
    }
    a.end(&mut ctx.sink);
    if target <= 0.0 {
        ctx.push(
            Diagnostic::new(code::NEGATIVE_VALUE, file, q.span, "a scaling target must be above zero")
                .label("zero target")
                .help("the replica count is the metric divided by the target: the target must be positive"),
        );
        return None;
    }
    Some(ScaleTarget {
        metric: metric.name.clone(),
        mode,
        target,
        activation,
        span: b.span,
        formula: None,
    })
}

/// `on formula `EXPR` ...`: the word `formula` followed by back-quoted code
/// (a metric cannot be named `formula`, so the word alone decides).
fn is_formula(b: &Node) -> bool {
    matches!(b.args.first(), Some(scalepol_syntax::Arg { kind: scalepol_syntax::ArgKind::Word(w), .. }) if w == FORMULA)
}

/// `on formula `EXPR` [per replica|total] target N [activate N]`: a target
/// on a number computed from the declared metrics. The values are plain
/// numbers: the formula's unit is whatever its arithmetic makes it.
fn lower_formula(ctx: &mut Ctx, file: FileId, b: &Node, all: &[Metric]) -> Option<ScaleTarget> {
    const SHAPE: &str = "on formula `EXPR` [per replica|total] target NUMBER [activate NUMBER]";
    let mut a = ctx.args(b, file, SHAPE);
    a.keyword(&mut ctx.sink, FORMULA)?;
    let (expr, span) = a.code(&mut ctx.sink, "the formula in back-quotes")?;
    let mode = if a.eat_word("per") {
        a.keyword(&mut ctx.sink, "replica")?;
        TargetMode::PerReplica
    } else {
        a.eat_word("total");
        TargetMode::Total
    };
    a.keyword(&mut ctx.sink, "target")?;
    let q = a.quantity(&mut ctx.sink, "the target value")?;
    let activation = if a.eat_word("activate") {
        Some(a.quantity(&mut ctx.sink, "the activation threshold")?)
    } else {
        None
    };
    a.end(&mut ctx.sink);
    let reads = crate::cel::check_formula(ctx, file, expr, span, all);
    let target = plain_number(ctx, file, &q)?;
    let activation = match activation {
        Some(q) => Some(plain_number(ctx, file, &q)?),
        None => None,
    };
    if target <= 0.0 {
        ctx.push(
            Diagnostic::new(code::NEGATIVE_VALUE, file, q.span, "a scaling target must be above zero")
                .label("zero target")
                .help("the replica count is the formula's value divided by the target: the target must be positive"),
        );
        return None;
    }
    Some(ScaleTarget {
        metric: FORMULA.to_string(),
        mode,
        target,
        activation,
        span: b.span,
        formula: Some(Formula {
            expr: expr.to_string(),
            span: Span::new(span.start + 1, span.end - 1),
            reads: reads?,
        }),
    })
}

/// A formula's target or activation: a number without a unit.
fn plain_number(ctx: &mut Ctx, file: FileId, q: &args::Quantity) -> Option<f64> {
    if q.unit.is_some() {
        ctx.push(
            Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                q.span,
                "a formula's target is a plain number",
            )
            .label("unit not allowed here")
            .help("the formula's value has whatever unit its arithmetic gives it: write the number alone, like `target 4`"),
        );
        return None;
    }
    Some(q.value)
}

/// A target value in the metric's base unit. Built-in CPU and memory take a
/// utilisation percentage, or with `per replica` an absolute amount.
fn target_value(
    ctx: &mut Ctx,
    file: FileId,
    q: &args::Quantity,
    m: &Metric,
    mode: TargetMode,
) -> Option<f64> {
    if m.source != MetricSourceKind::Builtin {
        return metrics::value_in_unit(ctx, file, q, m);
    }
    match (m.name.as_str(), mode) {
        ("cpu", TargetMode::PerReplica) => {
            if q.class() != UnitClass::Cores {
                ctx.push(args::unit_mismatch(
                    file,
                    q,
                    "cpu per replica",
                    UnitClass::Cores,
                    "1.5 cores",
                ));
                return None;
            }
            Some(q.value)
        }
        ("memory", TargetMode::PerReplica) => {
            args::to_bytes(&mut ctx.sink, file, q, "memory per replica").map(|b| b.0 as f64)
        }
        (_, TargetMode::Total) => {
            ctx.push(
                Diagnostic::new(
                    code::BAD_ARGUMENTS,
                    file,
                    q.span,
                    format!("`{}` is a per-replica utilisation; it has no total", m.name),
                )
                .label("`total` does not apply")
                .help(format!("write `on {} target 70%`", m.name)),
            );
            None
        }
        _ => {
            let max = max_utilisation(&m.name);
            args::to_percent(&mut ctx.sink, file, q, &m.name, max).map(|f| f * 100.0)
        }
    }
}

/// The highest utilisation target of a metric, in percent: CPU and memory
/// are shares of the request (a bursty pod may use 300% of it, and
/// Kubernetes accepts such targets); others (GPU, caches) stop at 100%.
pub(super) fn max_utilisation(metric: &str) -> f64 {
    if matches!(metric, "cpu" | "memory") {
        10_000.0
    } else {
        100.0
    }
}

/// `behavior legacy`: the HPA's path without `behavior`. The settings that
/// only `behavior` carries cannot be written beside it.
fn lower_legacy(ctx: &mut Ctx, file: FileId, b: &Node, items: &[Item]) -> Option<Span> {
    let mut a = ctx.args(b, file, "behavior legacy");
    let (word, span) = a.word(&mut ctx.sink, "`legacy`")?;
    a.end(&mut ctx.sink);
    if word != "legacy" {
        ctx.push(
            Diagnostic::new(code::BAD_ARGUMENTS, file, span, format!("`{word}` is not a behavior"))
                .label("expected `legacy`")
                .help("write `behavior legacy` for an HPA without `behavior`, or leave it out and use `up` and `down`"),
        );
        return None;
    }
    let mut ok = true;
    for &(f, n) in items
        .iter()
        .filter(|(_, n)| matches!(n.keyword.as_str(), "up" | "down" | "tolerance"))
    {
        ok = false;
        ctx.push(
            Diagnostic::new(
                code::BAD_ARGUMENTS,
                f,
                n.keyword_span,
                format!("`{}` does not apply to `behavior legacy`", n.keyword),
            )
            .label("needs HPA behavior rules")
            .with_secondary(file, span, "the HPA without behavior")
            .help("an HPA without `behavior` scales down after a 5-minute window and up to max(2 x current, 4), with the controller's tolerance: remove this, or `behavior legacy`"),
        );
    }
    ok.then_some(b.span)
}

fn tolerance_value(ctx: &mut Ctx, file: FileId, a: &mut args::Args) -> Option<(f64, Span)> {
    let q = a.quantity(&mut ctx.sink, "a percentage")?;
    if q.class() != UnitClass::Percent {
        ctx.push(args::unit_mismatch(
            file,
            &q,
            "tolerance",
            UnitClass::Percent,
            "10%",
        ));
        return None;
    }
    // Kubernetes (HPAScalingRules.tolerance) and KEDA accept any
    // non-negative tolerance: 150% up waits for 2.5 times the target.
    if q.value < 0.0 {
        ctx.push(
            Diagnostic::new(
                code::TOLERANCE_RANGE,
                file,
                q.span,
                format!("a tolerance of {}% is negative", q.text),
            )
            .label("out of range")
            .help("tolerances are 0% or more; Kubernetes uses 10%"),
        );
        return None;
    }
    Some((q.value / 100.0, q.span))
}

fn lower_tolerance(ctx: &mut Ctx, file: FileId, b: &Node, s: &mut Scaling) {
    let mut a = ctx.args(
        b,
        file,
        "tolerance PERCENT | tolerance up PERCENT down PERCENT",
    );
    if matches!(
        a.peek().map(|x| &x.kind),
        Some(scalepol_syntax::ArgKind::Number { .. })
    ) {
        if let Some((v, span)) = tolerance_value(ctx, file, &mut a) {
            s.tolerance_up = ctx.valued(v, file, span);
            s.tolerance_down = ctx.valued(v, file, span);
        }
        a.end(&mut ctx.sink);
        return;
    }
    let mut any = false;
    while !a.is_done() {
        let up = if a.eat_word("up") {
            true
        } else if a.eat_word("down") {
            false
        } else {
            a.expected(&mut ctx.sink, "`up` or `down`");
            return;
        };
        any = true;
        let Some((v, span)) = tolerance_value(ctx, file, &mut a) else {
            return;
        };
        let v = ctx.valued(v, file, span);
        if up {
            s.tolerance_up = v
        } else {
            s.tolerance_down = v
        }
    }
    if !any {
        a.expected(&mut ctx.sink, "a percentage");
    }
}

fn lower_fallback(ctx: &mut Ctx, file: FileId, b: &Node) -> Option<Fallback> {
    let mut a = ctx.args(
        b,
        file,
        "fallback [at least|at most] N replicas [after M failures], or fallback current replicas",
    );
    let (behavior, replicas) = if a.eat_word("current") {
        if !a.eat_word("replicas") {
            a.expected(&mut ctx.sink, "`replicas`");
            return None;
        }
        (FallbackBehavior::Current, 0)
    } else {
        let behavior = if a.eat_word("at") {
            if a.eat_word("least") {
                FallbackBehavior::AtLeast
            } else if a.eat_word("most") {
                FallbackBehavior::AtMost
            } else {
                a.expected(&mut ctx.sink, "`least` or `most`");
                return None;
            }
        } else {
            FallbackBehavior::Static
        };
        let q = a.quantity(&mut ctx.sink, "a replica count")?;
        (
            behavior,
            args::to_replicas(&mut ctx.sink, file, &q, "fallback")?,
        )
    };
    let mut after = 3;
    if a.eat_word("after") {
        let q = a.quantity(&mut ctx.sink, "a number of failures")?;
        after = args::to_replicas(&mut ctx.sink, file, &q, "after")?;
        if !(a.eat_word("failures") || a.eat_word("failure")) {
            a.expected(&mut ctx.sink, "`failures`");
            return None;
        }
    }
    a.end(&mut ctx.sink);
    Some(Fallback {
        replicas,
        after_failures: after,
        behavior,
        span: b.span,
    })
}

fn lower_to_zero(ctx: &mut Ctx, file: FileId, b: &Node) -> Option<ScaleToZero> {
    let mut a = ctx.args(b, file, "scale_to_zero after DURATION");
    a.keyword(&mut ctx.sink, "after")?;
    let q = a.quantity(&mut ctx.sink, "the idle period")?;
    let idle = args::to_duration(&mut ctx.sink, file, &q, "scale_to_zero")?;
    a.end(&mut ctx.sink);
    Some(ScaleToZero { idle, span: b.span })
}

/// `scale_to_zero after D` is KEDA's idle: D is the cooldown. Written both
/// ways, they must agree.
fn link_idle_to_cooldown(ctx: &mut Ctx, file: FileId, s: &mut Scaling) {
    let Some(z) = &s.scale_to_zero else { return };
    if s.cooldown.is_default() {
        s.cooldown = ctx.valued(z.idle, file, z.span);
    } else if s.cooldown.value != z.idle {
        ctx.push(
            Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                z.span,
                format!(
                    "`scale_to_zero after {}` disagrees with `cooldown {}`: both are the idle time before zero",
                    z.idle, s.cooldown.value
                ),
            )
            .label("idle time")
            .help("keep one of them (KEDA has a single cooldownPeriod)"),
        );
    }
}
