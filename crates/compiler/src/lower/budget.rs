//! `budget monthly|daily <= $AMOUNT [enforce|warn]`.

use super::Ctx;
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::suggest;
use scalepol_syntax::{Node, Op};

pub(super) fn lower_budget(ctx: &mut Ctx, file: FileId, node: &Node) -> Option<Budget> {
    let mut a = ctx.args(node, file, "budget monthly|daily <= $AMOUNT [enforce|warn]");
    let (pw, pspan) = a.word(&mut ctx.sink, "`monthly` or `daily`")?;
    let period = match pw {
        "monthly" => BudgetPeriod::Monthly,
        "daily" => BudgetPeriod::Daily,
        _ => {
            let mut d = Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                pspan,
                format!("`{pw}` is not a budget period"),
            )
            .label("expected `monthly` or `daily`")
            .help("write it as `budget monthly <= $8000`");
            if let Some(s) = suggest::closest(pw, &["monthly", "daily"]) {
                d = d.fix(format!("replace with `{s}`"), pspan, s);
            }
            ctx.push(d);
            return None;
        }
    };
    if !a.eat_op(Op::Le) {
        a.op(&mut ctx.sink, Op::Le)?;
    }
    let (limit, _) = a.money(&mut ctx.sink, "an amount like `$8000`")?;
    let enforcement = match a.peek().and_then(|x| x.as_word()) {
        Some("enforce") => Some(Enforcement::Enforce),
        Some("warn") => Some(Enforcement::Warn),
        _ => None,
    };
    let enforcement = match enforcement {
        Some(e) => {
            let span = a.next().map(|x| x.span).unwrap_or_default();
            ctx.valued(e, file, span)
        }
        None => Valued::default(
            Enforcement::Enforce,
            "scalepol: budgets are enforced unless `warn` is written",
        ),
    };
    a.end(&mut ctx.sink);
    Some(Budget {
        period,
        limit,
        enforcement,
        span: node.span,
    })
}
