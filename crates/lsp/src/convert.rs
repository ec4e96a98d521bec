//! Between the compiler's types and LSP's: file names and URIs, diagnostics
//! with their related places, symbols, semantic tokens, and the loader that
//! reads open buffers before the disk.

use crate::analysis::Analysis;
use crate::outline::{self, SymbolKind as SK};
use crate::text::Text;
use scalepol_compiler::diagnostics::Diagnostic as CDiagnostic;
use scalepol_compiler::{Loader, Severity};
use std::collections::HashMap;
use std::path::Path;
use tower_lsp::lsp_types::*;

/// The compiler's name for a document: its path, or the URI.
pub(crate) fn file_name(uri: &Url) -> String {
    uri.to_file_path()
        .map_or_else(|_| uri.to_string(), |p| p.to_string_lossy().into_owned())
}

pub(crate) fn uri_of(name: &str) -> Option<Url> {
    Url::from_file_path(name)
        .ok()
        .or_else(|| Url::parse(name).ok())
}

/// `extends` reads open buffers first, then the disk. It borrows the open
/// documents: checking on every keystroke copies only the files it reads.
pub(crate) struct BufferLoader<'a> {
    pub(crate) docs: &'a HashMap<Url, Analysis>,
}

impl BufferLoader<'_> {
    /// The text of the open document named `name` (its path), if open.
    fn open(&self, name: &str) -> Option<&str> {
        self.docs
            .values()
            .find(|a| a.name == name)
            .map(|a| a.text.text.as_str())
    }
}

impl Loader for BufferLoader<'_> {
    fn load(&self, from: &str, path: &str) -> std::result::Result<(String, String), String> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let full = base.join(path).to_string_lossy().into_owned();
        match self.open(&full) {
            Some(t) => Ok((full, t.to_string())),
            None => scalepol_compiler::FsLoader.load(from, path),
        }
    }
}

pub(crate) fn docs_url(code: &str) -> Option<Url> {
    Url::parse(&format!(
        "{}/blob/main/docs/diagnostics.md#{}",
        env!("CARGO_PKG_REPOSITORY"),
        code.to_ascii_lowercase()
    ))
    .ok()
}

pub(crate) fn lsp_diagnostics(uri: &Url, a: &Analysis) -> Vec<Diagnostic> {
    a.diagnostics
        .iter()
        .map(|d| lsp_diagnostic(uri, a, d))
        .collect()
}

pub(crate) fn location(
    uri: &Url,
    a: &Analysis,
    file: usize,
    span: scalepol_syntax::Span,
) -> Option<Location> {
    if file == 0 {
        return Some(Location::new(uri.clone(), a.text.span_range(span)));
    }
    let f = a.files.get(file)?;
    Some(Location::new(
        uri_of(&f.name)?,
        Text::new(f.text.clone())
            .with_utf8(a.text.utf8)
            .span_range(span),
    ))
}

/// The span of the `extends "FILE"` of the analysed text, when its tree is
/// of the current text.
fn extends_span(a: &Analysis) -> Option<scalepol_syntax::Span> {
    let current = a.document_text.as_ref()?.text == a.text.text;
    let doc = a.document.as_ref().filter(|_| current)?;
    let top = doc
        .nodes
        .iter()
        .find(|n| n.keyword == "policy" || n.keyword == "defaults")?;
    scalepol_compiler::lower::extends_of(top).map(|(_, span)| span)
}

pub(crate) fn lsp_diagnostic(uri: &Url, a: &Analysis, d: &CDiagnostic) -> Diagnostic {
    let here = d.primary.file.0 == 0;
    // A problem in a defaults file shows at the `extends` that brings it
    // in (or the top, when the text has none), naming the file.
    let (range, message) = if here {
        (a.text.span_range(d.primary.span), d.message.clone())
    } else {
        let f = a
            .files
            .get(d.primary.file.0 as usize)
            .map_or("a defaults file", |f| f.name.as_str());
        let at = extends_span(a).map_or(Range::default(), |s| a.text.span_range(s));
        (at, format!("in {f}: {}", d.message))
    };
    let mut related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: location(uri, a, l.file.0 as usize, l.span)?,
                message: l.message.clone(),
            })
        })
        .collect();
    if !here {
        if let Some(l) = location(uri, a, d.primary.file.0 as usize, d.primary.span) {
            related.push(DiagnosticRelatedInformation {
                location: l,
                message: d.primary.message.clone(),
            });
        }
    }
    let mut message = message;
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            _ => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: docs_url(d.code).map(|href| CodeDescription { href }),
        source: Some("scalepol".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    }
}

pub(crate) fn symbol_kind(k: SK) -> SymbolKind {
    match k {
        SK::Policy => SymbolKind::MODULE,
        SK::Pool => SymbolKind::CLASS,
        SK::Metric => SymbolKind::VARIABLE,
        SK::Block => SymbolKind::OBJECT,
        SK::Rule => SymbolKind::EVENT,
        SK::Test => SymbolKind::METHOD,
        SK::Setting => SymbolKind::PROPERTY,
    }
}

#[allow(deprecated)] // DocumentSymbol::deprecated is required by the type
pub(crate) fn document_symbol(t: &Text, s: &outline::Symbol) -> DocumentSymbol {
    DocumentSymbol {
        name: s.name.clone(),
        detail: None,
        kind: symbol_kind(s.kind),
        tags: None,
        deprecated: None,
        range: t.span_range(s.span),
        selection_range: t.span_range(s.selection),
        children: Some(s.children.iter().map(|c| document_symbol(t, c)).collect()),
    }
}

/// Semantic tokens, relative and split at line ends, in UTF-16 units.
pub(crate) fn encode_tokens(t: &Text, tokens: &[outline::Token]) -> Vec<SemanticToken> {
    let mut out = Vec::new();
    let (mut line, mut col) = (0u32, 0u32);
    for tok in tokens {
        let mut start = tok.span.start;
        for piece in t.text[tok.span.start..tok.span.end.min(t.text.len())].split_inclusive('\n') {
            let body = piece.trim_end_matches(['\n', '\r']);
            let p = t.position(start);
            let len: u32 = body.chars().map(|c| c.len_utf16() as u32).sum();
            if len > 0 {
                let delta_line = p.line - line;
                let delta_start = if delta_line == 0 {
                    p.character - col
                } else {
                    p.character
                };
                out.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: len,
                    token_type: tok.kind,
                    token_modifiers_bitset: 0,
                });
                (line, col) = (p.line, p.character);
            }
            start += piece.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Workspace;

    #[test]
    fn a_finding_in_a_defaults_file_shows_at_the_extends() {
        let policy = "policy p extends \"base.scalepol\" {\n  workload deployment \"ml/p\"\n  pool main: cpu {\n    replicas 1..4\n    capacity 10 req/s\n    cost $0.1/h\n    spot 100%\n  }\n  metrics prometheus \"http://prom:9090\" {\n    rps = `sum(rate(x[1m]))` as req/s\n  }\n  scale {\n    on rps per replica target 8 req/s\n  }\n}\n";
        let base = "defaults base {\n  scale {\n    tolerance 0%\n  }\n}\n";
        let ws = Workspace::new([
            ("/ws/p.scalepol".to_string(), policy.to_string()),
            ("/ws/base.scalepol".to_string(), base.to_string()),
        ]);
        let a = Analysis::new(
            "/ws/p.scalepol",
            Text::new(policy.to_string()),
            1,
            &ws,
            None,
        );
        let uri = Url::parse("file:///ws/p.scalepol").unwrap();
        let d = a
            .diagnostics
            .iter()
            .find(|d| d.primary.file.0 == 1)
            .expect("a finding located in the defaults file");
        let shown = lsp_diagnostic(&uri, &a, d);
        assert!(
            shown.message.starts_with("in /ws/base.scalepol: "),
            "{}",
            shown.message
        );
        // Line 0, at `"base.scalepol"` after `policy p extends `.
        assert_eq!(shown.range.start, Position::new(0, 17));
        let related = shown.related_information.unwrap_or_default();
        assert!(related
            .iter()
            .any(|r| r.location.uri.path() == "/ws/base.scalepol"));
    }
}
