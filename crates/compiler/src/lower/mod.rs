//! Lowering: syntax tree to typed policy model. Each block kind has its own
//! module; this one holds the entry point, the `extends` merge and the
//! keyword tables that the language server also uses for completion.

mod behavior;
mod budget;
pub mod metrics;
mod policy;
pub mod pool;
mod rules;
pub mod scale;
mod schedules;
pub mod shared;
pub mod slo;
mod targets;
mod test_cases;
mod workload;

use crate::args::Args;
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId, Sink};
use crate::model::*;
use crate::vocabulary;
use scalepol_syntax::{Document, Node, Span};

/// Lowering state: the files of the session and the diagnostics so far.
pub struct Ctx<'a> {
    pub names: &'a [String],
    pub sink: Sink,
}

impl Ctx<'_> {
    pub fn push(&mut self, d: Diagnostic) {
        self.sink.push(d);
    }
    /// The origin of a value written at `span` of `file`.
    pub fn origin(&self, file: FileId, span: Span) -> Origin {
        if file == FileId(0) {
            Origin::Written { span }
        } else {
            Origin::Inherited {
                file: self.names[file.0 as usize].clone(),
                span,
            }
        }
    }
    pub fn valued<T>(&self, value: T, file: FileId, span: Span) -> Valued<T> {
        Valued {
            value,
            origin: self.origin(file, span),
        }
    }
    pub fn args<'n>(&self, node: &'n Node, file: FileId, shape: &'static str) -> Args<'n> {
        Args::new(node, file, shape)
    }
    /// Reports a keyword that does not belong in a block, with a suggestion.
    pub fn unknown_item(&mut self, file: FileId, node: &Node, context: &str, allowed: &[&str]) {
        let kw = &node.keyword;
        let mut d = Diagnostic::new(
            code::UNKNOWN_ITEM,
            file,
            node.keyword_span,
            format!("`{kw}` is not a setting of {context}"),
        )
        .label("unknown here");
        d = crate::suggest::did_you_mean(
            d,
            kw,
            allowed,
            node.keyword_span,
            format!("{context} takes: {}", allowed.join(", ")),
        );
        self.push(d);
    }
    /// Reports a second occurrence of a one-value setting.
    pub fn duplicate(&mut self, file: FileId, node: &Node, first: (FileId, Span)) {
        self.push(
            Diagnostic::new(
                code::DUPLICATE_ITEM,
                file,
                node.keyword_span,
                format!("`{}` is set twice", node.keyword),
            )
            .label("set again here")
            .with_secondary(first.0, first.1, "first set here")
            .help("keep one of the two"),
        );
    }
}

/// A node and the file it was written in (the policy's own, or a defaults file).
pub type Item<'a> = (FileId, &'a Node);

/// Tracks one-value settings of a block, reporting the second occurrence.
#[derive(Default)]
pub struct Seen(Vec<(String, FileId, Span)>);

impl Seen {
    /// True the first time `node`'s keyword is seen.
    pub fn first(&mut self, ctx: &mut Ctx, file: FileId, node: &Node) -> bool {
        if let Some((_, f, s)) = self.0.iter().find(|(k, _, _)| *k == node.keyword) {
            ctx.duplicate(file, node, (*f, *s));
            return false;
        }
        self.0
            .push((node.keyword.to_string(), file, node.keyword_span));
        true
    }
}

/// Finds the one top-level `policy` (or `defaults`) node of a file.
pub fn top_node<'a>(
    ctx: &mut Ctx,
    file: FileId,
    doc: &'a Document,
    want: &str,
) -> Option<&'a Node> {
    let mut found: Option<&Node> = None;
    for node in &doc.nodes {
        match node.keyword.as_str() {
            "policy" | "defaults" if found.is_none() => found = Some(node),
            "policy" | "defaults" => {
                let first = found.map(|n| n.keyword_span).unwrap_or_default();
                ctx.push(
                    Diagnostic::new(
                        code::DUPLICATE_POLICY,
                        file,
                        node.keyword_span,
                        "a second policy in this file",
                    )
                    .label("second policy")
                    .with_secondary(file, first, "first policy")
                    .help("put each policy in its own file"),
                );
            }
            _ => {
                let mut d = Diagnostic::new(
                    code::EXPECTED_POLICY,
                    file,
                    node.keyword_span,
                    format!("`{}` must be inside a `{want}` block", node.keyword),
                )
                .label("at the top level");
                d = crate::suggest::did_you_mean(
                    d,
                    &node.keyword,
                    &["policy", "defaults"],
                    node.keyword_span,
                    format!("wrap the settings in `{want} NAME {{ ... }}`"),
                );
                ctx.push(d);
            }
        }
    }
    if found.is_none() && doc.nodes.is_empty() {
        ctx.push(
            Diagnostic::new(
                code::EXPECTED_POLICY,
                file,
                Span::new(0, 0),
                format!("this file holds no `{want}` block"),
            )
            .label("empty")
            .help(format!("write `{want} NAME {{ ... }}`")),
        );
    }
    found
}

/// Checks a policy or defaults name: RFC 1123 label (it becomes object names).
pub fn check_policy_name(ctx: &mut Ctx, file: FileId, name: &str, span: Span) {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        let fixed: String = name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .trim_matches('-')
            .chars()
            .take(63)
            .collect();
        let mut d = Diagnostic::new(
            code::INVALID_NAME,
            file,
            span,
            format!("`{name}` is not a valid policy name"),
        )
        .label("invalid name")
        .help(
            "policy names are lower-case letters, digits and `-` (RFC 1123), at most 63 characters",
        );
        if !fixed.is_empty() {
            d = d.fix(format!("rename to `{fixed}`"), span, fixed);
        }
        ctx.push(d);
    }
}

/// Whether `name` can name a pool, a metric or another local item:
/// `[A-Za-z][A-Za-z0-9_]*` (the language server's rename asks the same).
pub fn is_local_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a pool, metric or other local name: `[A-Za-z][A-Za-z0-9_]*`.
pub fn check_local_name(ctx: &mut Ctx, file: FileId, name: &str, span: Span, what: &str) -> bool {
    let ok = is_local_name(name);
    if !ok {
        let fixed: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        ctx.push(
            Diagnostic::new(code::INVALID_NAME, file, span, format!("`{name}` is not a valid {what} name"))
                .label("invalid name")
                .help(format!("{what} names are letters, digits and `_`, starting with a letter (CEL reads them as identifiers)"))
                .fix(format!("rename to `{fixed}`"), span, fixed),
        );
    }
    ok
}

/// Lowers a policy node, given the items inherited from its defaults chain.
pub fn lower_policy(
    ctx: &mut Ctx,
    file: FileId,
    node: &Node,
    inherited: &[Item],
) -> Option<Policy> {
    let mut a = ctx.args(node, file, "policy NAME [extends \"FILE\"] { ... }");
    let (name, name_span) = a.word(&mut ctx.sink, "the policy's name")?;
    check_policy_name(ctx, file, name, name_span);
    let extends = if a.eat_word("extends") {
        a.string(&mut ctx.sink, "the defaults file")
            .map(|(s, _)| s.to_string())
    } else {
        None
    };
    a.end(&mut ctx.sink);
    let Some(block) = &node.block else {
        ctx.push(
            Diagnostic::new(code::MISSING_ITEM, file, node.header_span(), format!("policy `{name}` has no body"))
                .label("`{ ... }` expected")
                .help("a policy needs at least a workload and a pool: `policy NAME { workload ...; pool ... }`"),
        );
        return None;
    };
    let own: Vec<Item> = block.nodes.iter().map(|n| (file, n)).collect();
    let items = merge_defaults(inherited, &own);
    policy::lower_items(ctx, name, name_span, extends, node, file, &items)
}

/// The policy's own items, plus the inherited items it does not override:
/// one-value blocks by keyword, named items by keyword and name, metric
/// declarations by name (see `metrics::merge`), scale settings by keyword.
pub fn merge_defaults<'a>(inherited: &[Item<'a>], own: &[Item<'a>]) -> Vec<Item<'a>> {
    let mut out: Vec<Item> = Vec::new();
    for &(f, n) in inherited {
        let overridden = own.iter().any(|(_, o)| same_item(o, n));
        if !overridden {
            out.push((f, n));
        }
    }
    out.extend_from_slice(own);
    out
}

/// Whether `a` replaces `b` when a policy overrides its defaults.
fn same_item(a: &Node, b: &Node) -> bool {
    if a.keyword != b.keyword {
        return false;
    }
    match a.keyword.as_str() {
        // Merged item by item, not replaced whole.
        "metrics" | "scale" => false,
        "rule" | "schedule" | "test" | "target" | "pool" => {
            a.args.first().map(|x| &x.kind) == b.args.first().map(|x| &x.kind)
        }
        _ => true,
    }
}

/// Lowers the items of a `defaults` node, for a policy that extends it.
pub fn defaults_items<'a>(ctx: &mut Ctx, file: FileId, node: &'a Node) -> Vec<Item<'a>> {
    let mut a = ctx.args(node, file, "defaults NAME { ... }");
    if let Some((name, span)) = a.word(&mut ctx.sink, "the name of the defaults") {
        check_policy_name(ctx, file, name, span);
    }
    if a.eat_word("extends") {
        a.string(&mut ctx.sink, "the defaults file");
    }
    a.end(&mut ctx.sink);
    let mut out = Vec::new();
    for n in node.block_nodes() {
        if vocabulary::DEFAULTS.accepts(&n.keyword) {
            out.push((file, n));
        } else {
            ctx.unknown_item(
                file,
                n,
                vocabulary::DEFAULTS.name,
                &vocabulary::DEFAULTS.keywords(),
            );
        }
    }
    out
}

/// The `extends "FILE"` of a top node, if any.
pub fn extends_of(node: &Node) -> Option<(&str, Span)> {
    let pos = node.args.iter().position(|a| a.is_word("extends"))?;
    let arg = node.args.get(pos + 1)?;
    arg.as_str().map(|s| (s, arg.span))
}

/// Checks the items of a `defaults` file on their own: everything a policy
/// would inherit must be valid wherever it lands.
pub fn check_defaults(ctx: &mut Ctx, items: &[Item]) {
    let metric_items: Vec<Item> = items
        .iter()
        .filter(|(_, n)| n.keyword == "metrics")
        .copied()
        .collect();
    let metrics = metrics::lower_metrics(ctx, &metric_items);
    let mut seen = Seen::default();
    let mut rules = Vec::new();
    let mut schedules = Vec::new();
    for &(f, n) in items {
        match n.keyword.as_str() {
            "slo" if seen.first(ctx, f, n) => {
                slo::lower_slo(ctx, f, n);
            }
            "budget" if seen.first(ctx, f, n) => {
                budget::lower_budget(ctx, f, n);
            }
            "scale" => {
                if !n.args.is_empty() {
                    let mut a = ctx.args(n, f, "scale { ... }");
                    a.end(&mut ctx.sink);
                }
                let own: Vec<Item> = n.block_nodes().iter().map(|b| (f, b)).collect();
                scale::lower_scaling(ctx, f, n, &own, &metrics, false);
            }
            "target" => {
                targets::lower_target(ctx, f, n);
            }
            "rule" => rules.push((f, n)),
            "schedule" => schedules.push((f, n)),
            _ => {}
        }
    }
    rules::lower_rules(ctx, &rules, &[], &metrics);
    schedules::lower_schedules(ctx, &schedules, &[]);
}
