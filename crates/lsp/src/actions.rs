//! Formatting and code actions: the diagnostics' machine-applicable fixes
//! and an "allow with a reason" suppression.

use crate::analysis::Analysis;
use scalepol_compiler::Severity;
use scalepol_syntax::Span;

/// The formatted text, when the document parses and is not formatted.
pub fn format(a: &Analysis) -> Option<String> {
    let doc = a.tree()?;
    let out = scalepol_syntax::format_document(doc);
    (out != a.text.text).then_some(out)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub title: String,
    /// The diagnostic it addresses (index in the analysis).
    pub diagnostic: usize,
    pub edit: (Span, String),
    pub preferred: bool,
}

/// Actions for the diagnostics of this file that touch `range`.
pub fn actions(a: &Analysis, range: Span) -> Vec<Action> {
    let text = &a.text.text;
    let mut out = Vec::new();
    for (i, d) in a.diagnostics.iter().enumerate() {
        let s = d.primary.span;
        let touches = d.primary.file.0 == 0 && s.start <= range.end && range.start <= s.end;
        if !touches {
            continue;
        }
        if let Some(f) = d.fix.as_ref().filter(|f| f.file.0 == 0) {
            out.push(Action {
                title: f.description.clone(),
                diagnostic: i,
                edit: (f.span, f.replacement.clone()),
                preferred: true,
            });
        }
        // Syntax errors cannot be allowed: the file does not parse.
        if d.code.starts_with("SP01") || d.severity == Severity::Error && d.code.starts_with("SP02")
        {
            continue;
        }
        let line_start = text[..s.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let indent: String = text[line_start..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        out.push(Action {
            title: format!("Allow {} here (then write why after the colon)", d.code),
            diagnostic: i,
            edit: (
                Span::new(line_start, line_start),
                format!("{indent}// scalepol-allow({}): \n", d.code),
            ),
            preferred: false,
        });
    }
    out
}
