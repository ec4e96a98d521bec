//! The policy block: its items in order, each to the construct that lowers
//! it, then the name resolution that ties rules, schedules and tests to
//! pools and metrics.

use super::{budget, metrics, pool, rules, scale, schedules, slo, targets, test_cases, workload};
use super::{Ctx, Item, Seen};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use scalepol_syntax::{Node, Span};

pub fn lower_items(
    ctx: &mut Ctx,
    name: &str,
    name_span: Span,
    extends: Option<String>,
    policy_node: &Node,
    file: FileId,
    items: &[Item],
) -> Option<Policy> {
    let allowed = crate::vocabulary::POLICY.keywords();
    let mut seen = Seen::default();
    let mut workload = None;
    let mut pools: Vec<Pool> = Vec::new();
    let mut slo = None;
    let mut budget = None;
    let mut metric_items: Vec<Item> = Vec::new();
    let mut scale_items: Vec<Item> = Vec::new();
    let mut rule_items: Vec<Item> = Vec::new();
    let mut schedule_items: Vec<Item> = Vec::new();
    let mut test_items: Vec<Item> = Vec::new();
    let mut targets: Vec<TargetOptions> = Vec::new();
    for &(f, n) in items {
        match n.keyword.as_str() {
            "workload" if seen.first(ctx, f, n) => workload = workload::lower_workload(ctx, f, n),
            "slo" if seen.first(ctx, f, n) => slo = slo::lower_slo(ctx, f, n),
            "budget" if seen.first(ctx, f, n) => budget = budget::lower_budget(ctx, f, n),
            "workload" | "slo" | "budget" => {}
            "pool" => {
                if let Some(p) = pool::lower_pool(ctx, f, n) {
                    if let Some(prev) = pools.iter().find(|q| q.name == p.name) {
                        duplicate_name(ctx, f, p.name_span, "pool", &p.name, prev.name_span);
                    } else {
                        pools.push(p);
                    }
                }
            }
            "metrics" => metric_items.push((f, n)),
            "scale" => scale_items.push((f, n)),
            "rule" => rule_items.push((f, n)),
            "schedule" => schedule_items.push((f, n)),
            "test" => test_items.push((f, n)),
            "target" => {
                if let Some(t) = targets::lower_target(ctx, f, n) {
                    if let Some(prev) = targets.iter().find(|x| x.target == t.target) {
                        duplicate_name(
                            ctx,
                            f,
                            t.span,
                            "target",
                            n.args[0].as_word().unwrap_or(""),
                            prev.span,
                        );
                    } else {
                        targets.push(t);
                    }
                }
            }
            _ => ctx.unknown_item(f, n, crate::vocabulary::POLICY.name, &allowed),
        }
    }
    let metrics = metrics::lower_metrics(ctx, &metric_items);
    scale::attach_scaling(ctx, &mut pools, &metrics, &scale_items);
    let rules = rules::lower_rules(ctx, &rule_items, &pools, &metrics);
    let schedules = schedules::lower_schedules(ctx, &schedule_items, &pools);
    let tests = test_cases::lower_tests(ctx, &test_items, &pools, &metrics);
    let workload = match workload {
        Some(w) => w,
        None => {
            if !items.iter().any(|(_, n)| n.keyword == "workload") {
                missing(
                    ctx,
                    file,
                    policy_node,
                    "`workload`",
                    "workload deployment \"namespace/name\"",
                );
            }
            return None;
        }
    };
    if pools.is_empty() && !items.iter().any(|(_, n)| n.keyword == "pool") {
        missing(
            ctx,
            file,
            policy_node,
            "`pool`",
            "pool main: gpu { replicas 1..4 }",
        );
    }
    let policy = Policy {
        name: name.to_string(),
        name_span,
        extends,
        workload,
        pools,
        slo,
        budget,
        metrics,
        rules,
        schedules,
        tests,
        targets,
    };
    // After an error, a metric may look unused only because its use failed.
    if !ctx.sink.has_errors() {
        metrics::report_unused(ctx, &policy);
    }
    Some(policy)
}

pub(super) fn missing(ctx: &mut Ctx, file: FileId, node: &Node, what: &str, example: &str) {
    ctx.push(
        Diagnostic::new(
            code::MISSING_ITEM,
            file,
            node.header_span(),
            format!("this policy has no {what}"),
        )
        .label(format!("a {what} is required"))
        .help(format!("add, for example, `{example}`")),
    );
}

pub fn duplicate_name(
    ctx: &mut Ctx,
    file: FileId,
    span: Span,
    kind: &str,
    name: &str,
    first: Span,
) {
    ctx.push(
        Diagnostic::new(
            code::DUPLICATE_NAME,
            file,
            span,
            format!("the {kind} `{name}` is declared twice"),
        )
        .label("declared again here")
        .with_secondary(file, first, "first declared here")
        .help(format!("give each {kind} its own name")),
    );
}
