//! `target KIND { options }`: per-target settings of the compiled documents.

use super::shared::positive;
use super::{Ctx, Seen};
use crate::args::{self};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::suggest;
use scalepol_syntax::{ArgKind, Node};

const TARGET_OPTIONS: &[(TargetKind, &[&str])] = &[
    (TargetKind::Hpa, &["kubernetes"]),
    (TargetKind::Keda, &["polling", "auth"]),
    (TargetKind::Kserve, &["mode", "autoscaler"]),
    (TargetKind::Vpa, &["mode"]),
    (TargetKind::Aws, &["resource", "role", "region"]),
    (TargetKind::Engine, &[]),
];

pub(super) fn lower_target(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<TargetOptions> {
    let mut a = ctx.args(
        n,
        file,
        "target hpa|keda|kserve|vpa|aws|engine { OPTION VALUE }",
    );
    let (tw, tspan) = a.word(&mut ctx.sink, "a target name")?;
    a.end(&mut ctx.sink);
    let names: Vec<&str> = TargetKind::ALL.iter().map(|(k, _)| *k).collect();
    let Some(kind) = TargetKind::ALL
        .iter()
        .find(|(k, _)| *k == tw)
        .map(|(_, k)| *k)
    else {
        let mut d = Diagnostic::new(
            code::UNKNOWN_TARGET,
            file,
            tspan,
            format!("unknown target `{tw}`"),
        )
        .label("unknown target");
        d = crate::suggest::did_you_mean(
            d,
            tw,
            &names,
            tspan,
            format!("the targets are: {}", names.join(", ")),
        );
        ctx.push(d);
        return None;
    };
    let allowed = TARGET_OPTIONS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, o)| *o)
        .unwrap_or(&[]);
    let mut options = Vec::new();
    let mut seen = Seen::default();
    for o in n.block_nodes() {
        if !allowed.contains(&o.keyword.as_str()) {
            let mut d = Diagnostic::new(
                code::UNKNOWN_TARGET_OPTION,
                file,
                o.keyword_span,
                format!("target `{tw}` has no option `{}`", o.keyword),
            )
            .label("unknown option");
            d = match suggest::closest(&o.keyword, allowed) {
                Some(s) => d.help(format!("did you mean `{s}`?")).fix(
                    format!("replace with `{s}`"),
                    o.keyword_span,
                    s,
                ),
                None if allowed.is_empty() => d.help(format!("target `{tw}` takes no options")),
                None => d.help(format!("target `{tw}` takes: {}", allowed.join(", "))),
            };
            ctx.push(d);
            continue;
        }
        if !seen.first(ctx, file, o) {
            continue;
        }
        if let Some(v) = target_value(ctx, file, o, kind) {
            options.push((o.keyword.to_string(), v));
        }
    }
    Some(TargetOptions {
        target: kind,
        options,
        span: n.span,
    })
}

/// Reads one target option's value and checks it against its allowed values.
fn target_value(ctx: &mut Ctx, file: FileId, o: &Node, kind: TargetKind) -> Option<String> {
    let choices: &[&str] = match (kind, o.keyword.as_str()) {
        (TargetKind::Kserve, "mode") => &["serverless", "standard"],
        (TargetKind::Kserve, "autoscaler") => &["hpa", "keda"],
        (TargetKind::Vpa, "mode") => &["off", "initial", "recreate", "auto"],
        _ => &[],
    };
    let mut a = ctx.args(o, file, "OPTION VALUE");
    let value = if choices.is_empty() {
        match a.peek().map(|x| &x.kind) {
            Some(ArgKind::Number { .. }) => {
                let q = a.quantity(&mut ctx.sink, "a duration")?;
                let d = args::to_duration(&mut ctx.sink, file, &q, &o.keyword)?;
                if !positive(ctx, file, &q, d, &o.keyword) {
                    return None;
                }
                d.to_string()
            }
            _ => a.string(&mut ctx.sink, "a value in quotes")?.0.to_string(),
        }
    } else {
        let (w, span) = a.word(&mut ctx.sink, &format!("one of {}", choices.join(", ")))?;
        if !choices.contains(&w) {
            let mut d = Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                span,
                format!("`{w}` is not a value of `{}`", o.keyword),
            )
            .label(format!("expected one of {}", choices.join(", ")))
            .help(format!("write one of: {}", choices.join(", ")));
            if let Some(s) = suggest::closest(w, choices) {
                d = d.fix(format!("replace with `{s}`"), span, s);
            }
            ctx.push(d);
            return None;
        }
        w.to_string()
    };
    a.end(&mut ctx.sink);
    Some(value)
}
