//! What several constructs read: replica constraints, pool references,
//! quoted names that must be unique, positive durations, and the body of a
//! rule or a schedule.

use super::{policy::duplicate_name, pool};
use super::{Ctx, Seen};
use crate::args::{self, Args};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::suggest;
use scalepol_syntax::{ArgKind, Node, Op, Span};

/// `replicas >= N`, `replicas <= N`, `replicas = N`, `replicas MIN..MAX`.
pub fn replica_constraint(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<ReplicaConstraint> {
    let mut a: Args = ctx.args(n, file, "replicas >= N | replicas <= N | replicas MIN..MAX");
    let c = if a.eat_op(Op::Ge) {
        let q = a.quantity(&mut ctx.sink, "a replica count")?;
        let v = args::to_replicas(&mut ctx.sink, file, &q, "replicas")?;
        ReplicaConstraint {
            min: Some(v),
            max: None,
            span: n.span,
        }
    } else if a.eat_op(Op::Le) {
        let q = a.quantity(&mut ctx.sink, "a replica count")?;
        let v = args::to_replicas(&mut ctx.sink, file, &q, "replicas")?;
        ReplicaConstraint {
            min: None,
            max: Some(v),
            span: n.span,
        }
    } else if a.eat_op(Op::Eq) || matches!(a.peek().map(|x| &x.kind), Some(ArgKind::Number { .. }))
    {
        let q = a.quantity(&mut ctx.sink, "a replica count")?;
        let v = args::to_replicas(&mut ctx.sink, file, &q, "replicas")?;
        ReplicaConstraint {
            min: Some(v),
            max: Some(v),
            span: n.span,
        }
    } else {
        let (lo, hi, span) = a.range(&mut ctx.sink, "`>= N`, `<= N` or a range `MIN..MAX`")?;
        let lo = args::to_replicas(&mut ctx.sink, file, &lo, "replicas")?;
        let hi = args::to_replicas(&mut ctx.sink, file, &hi, "replicas")?;
        if lo > hi {
            ctx.push(pool::inverted(file, span, lo, hi));
            return None;
        }
        ReplicaConstraint {
            min: Some(lo),
            max: Some(hi),
            span: n.span,
        }
    };
    a.end(&mut ctx.sink);
    Some(c)
}

/// Resolves `pool NAME` inside a rule, schedule or test.
pub(super) fn pool_ref(ctx: &mut Ctx, file: FileId, n: &Node, pools: &[Pool]) -> Option<String> {
    let mut a = ctx.args(n, file, "pool NAME");
    let (name, span) = a.word(&mut ctx.sink, "a pool name")?;
    a.end(&mut ctx.sink);
    resolve_pool(ctx, file, name, span, pools)
}

pub fn resolve_pool(
    ctx: &mut Ctx,
    file: FileId,
    name: &str,
    span: Span,
    pools: &[Pool],
) -> Option<String> {
    if pools.iter().any(|p| p.name == name) {
        return Some(name.to_string());
    }
    let mut d = Diagnostic::new(
        code::UNKNOWN_POOL,
        file,
        span,
        format!("no pool is named `{name}`"),
    )
    .label("unknown pool");
    match suggest::closest_owned(name, pools.iter().map(|p| p.name.as_str())) {
        Some(s) => {
            d = d
                .help(format!("did you mean `{s}`?"))
                .fix(format!("replace with `{s}`"), span, s)
        }
        None if pools.is_empty() => {
            d = d.help("declare the pool with `pool NAME: gpu|cpu { ... }`")
        }
        None => {
            let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
            d = d.help(format!("the pools are: {}", names.join(", ")));
        }
    }
    ctx.push(d);
    None
}

pub(super) fn named_header<'n>(
    ctx: &mut Ctx,
    a: &mut Args<'n>,
    kind: &str,
    names: &mut Vec<(String, Span)>,
) -> Option<(String, Span)> {
    let file = a.file;
    let (name, span) = a.string(&mut ctx.sink, &format!("the {kind}'s name in quotes"))?;
    if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
        duplicate_name(ctx, file, span, kind, name, *first);
    }
    names.push((name.to_string(), span));
    Some((name.to_string(), span))
}

/// Reports a zero duration where only a positive one makes sense.
pub fn positive(
    ctx: &mut Ctx,
    file: FileId,
    q: &args::Quantity,
    d: crate::units::Duration,
    kw: &str,
) -> bool {
    if d.0 == 0 {
        ctx.push(
            Diagnostic::new(
                code::NONPOSITIVE_DURATION,
                file,
                q.span,
                format!("`{kw}` must be longer than zero"),
            )
            .label("zero")
            .help("write a positive duration, like `15s`"),
        );
        return false;
    }
    true
}

/// The body of a rule or a schedule: an optional `pool NAME` and a
/// `replicas` constraint.
pub(super) fn range_body(
    ctx: &mut Ctx,
    file: FileId,
    n: &Node,
    pools: &[Pool],
    block: &crate::vocabulary::Block,
) -> (Option<String>, Option<ReplicaConstraint>) {
    let (mut pool, mut constraint) = (None, None);
    let mut seen = Seen::default();
    for b in n.block_nodes() {
        if !seen.first(ctx, file, b) {
            continue;
        }
        match b.keyword.as_str() {
            "pool" => pool = pool_ref(ctx, file, b, pools),
            "replicas" => constraint = replica_constraint(ctx, file, b),
            _ => ctx.unknown_item(file, b, block.name, &block.keywords()),
        }
    }
    (pool, constraint)
}
