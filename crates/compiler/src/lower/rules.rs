//! `rule "NAME" when `CEL` { pool, replicas }`.

use super::shared::{named_header, range_body};
use super::{Ctx, Item};
use crate::cel;
use crate::codes::code;
use crate::diagnostics::Diagnostic;
use crate::model::*;

pub(super) fn lower_rules(
    ctx: &mut Ctx,
    items: &[Item],
    pools: &[Pool],
    metrics: &[Metric],
) -> Vec<Rule> {
    let mut names = Vec::new();
    let mut out = Vec::new();
    for &(file, n) in items {
        let mut a = ctx.args(n, file, "rule \"NAME\" when `CONDITION` { replicas >= N }");
        let Some((name, _)) = named_header(ctx, &mut a, "rule", &mut names) else {
            continue;
        };
        if a.keyword(&mut ctx.sink, "when").is_none() {
            continue;
        }
        let Some((expr, expr_span)) = a.code(&mut ctx.sink, "a CEL condition in back-quotes")
        else {
            continue;
        };
        a.end(&mut ctx.sink);
        let reads = cel::check_condition(ctx, file, expr, expr_span, metrics);
        let (pool, constraint) = range_body(ctx, file, n, pools, &crate::vocabulary::RULE);
        if constraint.is_none() && !n.block_nodes().iter().any(|b| b.keyword == "replicas") {
            ctx.push(
                Diagnostic::new(
                    code::MISSING_ITEM,
                    file,
                    n.header_span(),
                    format!("rule `{name}` constrains nothing"),
                )
                .label("no `replicas` constraint")
                .help("add a body: `{ replicas >= 4 }`"),
            );
        }
        if let (Some(reads), Some(constraint)) = (reads, constraint) {
            out.push(Rule {
                name,
                span: n.span,
                pool,
                when: expr.to_string(),
                when_span: expr_span,
                reads,
                constraint,
            });
        }
    }
    out
}
