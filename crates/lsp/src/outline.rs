//! The shape of a document: symbols, folding ranges and semantic tokens.

use crate::analysis::walk;
use scalepol_syntax::{Arg, ArgKind, Comment, Document, Node, Span};

#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    pub span: Span,
    pub selection: Span,
    pub children: Vec<Symbol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Policy,
    Pool,
    Metric,
    Block,
    Rule,
    Test,
    Setting,
}

fn title(n: &Node) -> String {
    let first = n.args.first().map(|a| match &a.kind {
        ArgKind::Word(w) => w.to_string(),
        ArgKind::Str(s) => format!("\"{s}\""),
        _ => String::new(),
    });
    match first {
        Some(f) if !f.is_empty() => format!("{} {f}", n.keyword),
        _ => n.keyword.to_string(),
    }
}

pub fn symbols(doc: &Document) -> Vec<Symbol> {
    fn go(nodes: &[Node], parent: Option<&str>) -> Vec<Symbol> {
        nodes
            .iter()
            .filter(|n| {
                n.block.is_some()
                    || parent == Some("metrics")
                    || matches!(parent, None | Some("policy" | "defaults"))
            })
            .map(|n| {
                let kind = match (parent, n.keyword.as_str()) {
                    (None, _) => SymbolKind::Policy,
                    (Some("metrics"), _) => SymbolKind::Metric,
                    (_, "pool") if parent == Some("policy") || parent == Some("defaults") => {
                        SymbolKind::Pool
                    }
                    (_, "rule" | "schedule") => SymbolKind::Rule,
                    (_, "test") => SymbolKind::Test,
                    _ if n.block.is_some() => SymbolKind::Block,
                    _ => SymbolKind::Setting,
                };
                let (name, selection) = match kind {
                    SymbolKind::Metric => (n.keyword.to_string(), n.keyword_span),
                    _ => (title(n), n.args.first().map_or(n.keyword_span, |a| a.span)),
                };
                Symbol {
                    name,
                    kind,
                    span: n.span,
                    selection,
                    children: go(n.block_nodes(), Some(n.keyword.as_str())),
                }
            })
            .collect()
    }
    go(&doc.nodes, None)
}

/// (first line, last line, is a comment) for each foldable region, in
/// byte offsets converted by the caller.
pub fn folds(doc: &Document) -> Vec<(Span, bool)> {
    let mut out = Vec::new();
    walk(&doc.nodes, &mut |n, _| {
        if let Some(b) = &n.block {
            if !b.inline {
                out.push((Span::new(n.span.start, b.span.end), false));
            }
        }
        if n.leading_comments.len() > 1 {
            let first = n.leading_comments.first().expect("checked").span;
            let last = n.leading_comments.last().expect("checked").span;
            out.push((first.to(last), true));
        }
    });
    out
}

/// Semantic token types, in legend order.
pub const TOKEN_TYPES: &[&str] = &[
    "keyword", "variable", "number", "string", "comment", "operator", "regexp", "type",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub span: Span,
    pub kind: u32,
}

fn push_comment(c: &Comment, out: &mut Vec<Token>) {
    out.push(Token {
        span: c.span,
        kind: 4,
    });
}

/// Tokens in document order (not overlapping; may span lines).
pub fn tokens(doc: &Document, names: &[String]) -> Vec<Token> {
    let mut out = Vec::new();
    walk(&doc.nodes, &mut |n, parent| {
        n.leading_comments
            .iter()
            .for_each(|c| push_comment(c, &mut out));
        let is_name = matches!(
            parent.map(|p| p.keyword.as_str()),
            Some("metrics" | "given")
        );
        out.push(Token {
            span: n.keyword_span,
            kind: if is_name { 1 } else { 0 },
        });
        for a in &n.args {
            arg_tokens(a, names, &mut out);
        }
        if let Some(c) = &n.trailing_comment {
            push_comment(c, &mut out);
        }
        if let Some(b) = &n.block {
            b.open_comment
                .iter()
                .for_each(|c| push_comment(c, &mut out));
            b.dangling_comments
                .iter()
                .for_each(|c| push_comment(c, &mut out));
        }
    });
    doc.trailing_comments
        .iter()
        .for_each(|c| push_comment(c, &mut out));
    out.sort_by_key(|t| (t.span.start, t.span.end));
    out.dedup_by(|b, a| b.span.start < a.span.end);
    out
}

fn arg_tokens(a: &Arg, names: &[String], out: &mut Vec<Token>) {
    let kind = match &a.kind {
        ArgKind::Word(w) if names.iter().any(|n| n == w.as_str()) => 1,
        ArgKind::Word(w) if w == "gpu" || w == "cpu" => 7,
        ArgKind::Word(_) => 0,
        ArgKind::Str(_) => 3,
        ArgKind::Code(_) => 6,
        ArgKind::Number { .. } | ArgKind::Money { .. } => 2,
        ArgKind::Op(_) => 5,
        ArgKind::Range(x, y) => {
            arg_tokens(x, names, out);
            arg_tokens(y, names, out);
            return;
        }
    };
    out.push(Token { span: a.span, kind });
}
