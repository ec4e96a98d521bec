//! Names: definitions, references and renames of metrics and pools, in the
//! file and along its `extends` chain.

use crate::analysis::{declaration, occurrences, word_at, Analysis};
use scalepol_syntax::Span;

/// A place in some file: the index of the file in the analysis' chain
/// (0 is the document itself) and the span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub file: usize,
    pub span: Span,
}

/// The metric or pool name at `offset`, if it is one.
pub fn name_at(a: &Analysis, offset: usize) -> Option<(Span, String)> {
    let (span, w) = word_at(&a.text.text, offset)?;
    let known = a.metric_names().iter().any(|m| m == w) || a.pool_names().iter().any(|p| p == w);
    known.then(|| (span, w.to_string()))
}

/// Where the name is declared: this file, else the first file of the
/// `extends` chain that declares it. Built-in metrics have no declaration.
pub fn definition(a: &Analysis, name: &str) -> Option<Place> {
    if let Some(doc) = a.tree() {
        if let Some(span) = declaration(doc, name) {
            return Some(Place { file: 0, span });
        }
    }
    for (i, f) in a.files.iter().enumerate().skip(1) {
        if let Ok(doc) = scalepol_syntax::parse(&f.text) {
            if let Some(span) = declaration(&doc, name) {
                return Some(Place { file: i, span });
            }
        }
    }
    None
}

/// Every reference in this file, the declaration included.
pub fn references(a: &Analysis, name: &str) -> Vec<Span> {
    a.tree()
        .map(|doc| occurrences(doc, &a.text.text, name))
        .unwrap_or_default()
}

/// Whether `name` can be a new metric or pool name: the compiler's rule.
pub fn valid_name(name: &str) -> bool {
    scalepol_compiler::lower::is_local_name(name)
}

/// The occurrences of `name` in another file's text (for renames across
/// the files that share a defaults file).
pub fn occurrences_in(text: &str, name: &str) -> Vec<Span> {
    scalepol_syntax::parse(text)
        .map(|doc| occurrences(&doc, text, name))
        .unwrap_or_default()
}

/// The defaults file named by the `extends "..."` string at `offset`: its
/// index in the analysis' chain.
pub fn extends_at(a: &Analysis, offset: usize) -> Option<usize> {
    let top = a
        .tree()?
        .nodes
        .iter()
        .find(|n| n.keyword == "policy" || n.keyword == "defaults")?;
    let i = top.args.iter().position(|x| x.is_word("extends"))?;
    let path = top.args.get(i + 1)?;
    (path.span.start <= offset && offset <= path.span.end && a.files.len() > 1).then_some(1)
}
