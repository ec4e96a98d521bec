//! `test "NAME" { pool, at, given { ... }, expect replicas ... }`.

use super::metrics;
use super::shared::{named_header, pool_ref, replica_constraint};
use super::{Ctx, Item, Seen};
use crate::args::{self, Args};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use scalepol_syntax::Node;

pub(super) fn lower_tests(
    ctx: &mut Ctx,
    items: &[Item],
    pools: &[Pool],
    metrics: &[Metric],
) -> Vec<TestCase> {
    let mut names = Vec::new();
    let mut out = Vec::new();
    for &(file, n) in items {
        let mut a = ctx.args(
            n,
            file,
            "test \"NAME\" { given { ... }, expect replicas N }",
        );
        let Some((name, _)) = named_header(ctx, &mut a, "test", &mut names) else {
            continue;
        };
        a.end(&mut ctx.sink);
        if let Some(t) = lower_test_body(ctx, file, n, name, pools, metrics) {
            out.push(t);
        }
    }
    out
}

fn lower_test_body(
    ctx: &mut Ctx,
    file: FileId,
    n: &Node,
    name: String,
    pools: &[Pool],
    metrics: &[Metric],
) -> Option<TestCase> {
    let mut t = TestCase {
        name,
        span: n.span,
        pool: None,
        at: None,
        replicas: 0,
        given: Vec::new(),
        expect: ReplicaConstraint {
            min: None,
            max: None,
            span: n.span,
        },
    };
    let mut replicas = None;
    let mut expect = None;
    let mut seen = Seen::default();
    let mut ok = true;
    for b in n.block_nodes() {
        if !seen.first(ctx, file, b) {
            continue;
        }
        match b.keyword.as_str() {
            "pool" => t.pool = pool_ref(ctx, file, b, pools),
            "at" => t.at = lower_test_time(ctx, file, b),
            "given" => ok &= lower_given(ctx, file, b, metrics, &mut replicas, &mut t.given),
            "expect" => {
                let mut a = ctx.args(b, file, "expect replicas N");
                if a.keyword(&mut ctx.sink, "replicas").is_some() {
                    expect = expect_constraint(ctx, file, b, &mut a);
                }
            }
            _ => ctx.unknown_item(
                file,
                b,
                crate::vocabulary::TEST.name,
                &crate::vocabulary::TEST.keywords(),
            ),
        }
    }
    if !n.block_nodes().iter().any(|b| b.keyword == "expect") {
        ctx.push(
            Diagnostic::new(
                code::MISSING_ITEM,
                file,
                n.header_span(),
                format!("test `{}` expects nothing", t.name),
            )
            .label("no `expect`")
            .help("add `expect replicas N` to the test"),
        );
    }
    let default_replicas = t
        .pool
        .as_deref()
        .and_then(|p| pools.iter().find(|x| x.name == p))
        .or(pools.first())
        .map(|p| p.replicas.min.max(1))
        .unwrap_or(1);
    t.replicas = replicas.unwrap_or(default_replicas);
    t.expect = expect?;
    ok.then_some(t)
}

fn expect_constraint(
    ctx: &mut Ctx,
    file: FileId,
    b: &Node,
    a: &mut Args,
) -> Option<ReplicaConstraint> {
    let rest = Node {
        args: a.node.args[1..].to_vec(),
        ..b.clone()
    };
    let c = replica_constraint(ctx, file, &rest);
    while a.next().is_some() {}
    c
}

fn lower_test_time(ctx: &mut Ctx, file: FileId, b: &Node) -> Option<String> {
    let mut a = ctx.args(b, file, "at \"2026-03-02T09:30:00+01:00\"");
    let (s, span) = a.string(&mut ctx.sink, "an RFC 3339 time in quotes")?;
    a.end(&mut ctx.sink);
    if chrono::DateTime::parse_from_rfc3339(s).is_err() {
        ctx.push(
            Diagnostic::new(
                code::INVALID_TIME,
                file,
                span,
                format!("`{s}` is not an RFC 3339 time"),
            )
            .label("invalid time")
            .help("write the date, time and offset: \"2026-03-02T09:30:00+01:00\""),
        );
        return None;
    }
    Some(s.to_string())
}

fn lower_given(
    ctx: &mut Ctx,
    file: FileId,
    b: &Node,
    metrics: &[Metric],
    replicas: &mut Option<u32>,
    given: &mut Vec<(String, f64)>,
) -> bool {
    let mut ok = true;
    if b.block.is_none() || !b.args.is_empty() {
        let a = ctx.args(b, file, "given { replicas N, METRIC VALUE, ... }");
        a.expected(&mut ctx.sink, "a block `{ replicas N, METRIC VALUE }`");
        return false;
    }
    for g in b.block_nodes() {
        if g.keyword == "replicas" {
            let mut a = ctx.args(g, file, "replicas N");
            let r = a
                .quantity(&mut ctx.sink, "a replica count")
                .and_then(|q| args::to_replicas(&mut ctx.sink, file, &q, "replicas"));
            a.end(&mut ctx.sink);
            ok &= r.is_some();
            *replicas = r;
            continue;
        }
        let Some(m) = metrics::resolve(ctx, file, &g.keyword, g.keyword_span, metrics) else {
            ok = false;
            continue;
        };
        let mut a = ctx.args(g, file, "METRIC VALUE");
        let v = a
            .quantity(&mut ctx.sink, "the metric's value")
            .and_then(|q| metrics::value_in_unit(ctx, file, &q, m));
        a.end(&mut ctx.sink);
        match v {
            Some(v) => given.push((m.name.clone(), v)),
            None => ok = false,
        }
    }
    ok
}
