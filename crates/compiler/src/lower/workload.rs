//! `workload KIND "NAME"`: what the policy scales.

use super::Ctx;
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use scalepol_syntax::Node;

pub(super) fn lower_workload(ctx: &mut Ctx, file: FileId, node: &Node) -> Option<Workload> {
    let mut a = ctx.args(node, file, "workload KIND \"NAME\"");
    let (kind_word, kind_span) = a.word(&mut ctx.sink, "the workload kind")?;
    let kinds: Vec<&str> = WorkloadKind::ALL.iter().map(|(k, _)| *k).collect();
    let Some(kind) = WorkloadKind::ALL
        .iter()
        .find(|(k, _)| *k == kind_word)
        .map(|(_, k)| *k)
    else {
        let mut d = Diagnostic::new(
            code::UNKNOWN_WORKLOAD_KIND,
            file,
            kind_span,
            format!("unknown workload kind `{kind_word}`"),
        )
        .label("unknown kind");
        d = crate::suggest::did_you_mean(
            d,
            kind_word,
            &kinds,
            kind_span,
            format!("the kinds are: {}", kinds.join(", ")),
        );
        ctx.push(d);
        return None;
    };
    let (name, name_span) = a.string(&mut ctx.sink, "the workload's name in quotes")?;
    a.end(&mut ctx.sink);
    if name.trim().is_empty() {
        ctx.push(
            Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                name_span,
                "the workload name is empty",
            )
            .label("empty")
            .help("name the workload: `\"namespace/name\"`"),
        );
        return None;
    }
    // The name becomes object references and AWS resource ids: one `/` at
    // most (`namespace/name`, `endpoint/variant`, `cluster/service`), none
    // for an inference component.
    let slashes = name.matches('/').count();
    let max = if kind == WorkloadKind::SagemakerComponent {
        0
    } else {
        1
    };
    if slashes > max || name.starts_with('/') || name.ends_with('/') {
        let shape = match kind {
            WorkloadKind::SagemakerVariant => "\"endpoint/variant\"",
            WorkloadKind::SagemakerComponent => "\"component-name\" (no `/`)",
            WorkloadKind::EcsService => "\"cluster/service\"",
            _ => "\"namespace/name\"",
        };
        ctx.push(
            Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                name_span,
                format!("`{name}` is not a {kind_word} name"),
            )
            .label("malformed name")
            .help(format!("a {kind_word} is named {shape}")),
        );
        return None;
    }
    Some(Workload {
        kind,
        name: name.to_string(),
        span: node.span,
    })
}
