//! Edits of a policy's text: replacements of byte spans, applied together.
//! Everything outside the spans (comments, layout) is kept as written.

use scalepol_syntax::Span;

/// Replace `span` with `text` (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

/// Applies non-overlapping edits; they may come in any order.
pub fn apply(source: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(source.len() + 64);
    let mut at = 0;
    for e in sorted {
        if e.span.start < at {
            continue; // overlapping: the knobs never produce these
        }
        out.push_str(&source[at..e.span.start]);
        out.push_str(&e.text);
        at = e.span.end;
    }
    out.push_str(&source[at..]);
    out
}

/// The indentation of the line that holds `offset`.
pub fn indent_of(source: &str, offset: usize) -> &str {
    let start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &source[start..];
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

/// The offset of the start of the line that holds `offset`.
pub fn line_start(source: &str, offset: usize) -> usize {
    source[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// 1-based line of `offset`.
pub fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}
