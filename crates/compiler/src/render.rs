//! Diagnostics as text for people (miette), JSON, SARIF 2.1.0 and GitHub
//! workflow annotations. Every renderer takes the same inputs, so `check`
//! and the language server agree on what a diagnostic says.

use crate::diagnostics::{Diagnostic, Severity};
use crate::excerpt::Excerpt;
use crate::{codes, SourceFile};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};
use serde_json::{json, Value};
use std::fmt;

/// A diagnostic with its files, as miette wants it.
struct Report<'a> {
    d: &'a Diagnostic,
    /// The labelled lines only, long ones cut; labels are in its coordinates.
    source: Excerpt,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut text = self.d.help.clone().unwrap_or_default();
        if let Some(fix) = &self.d.fix {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("fix: {}", fix.description));
        }
        (!text.is_empty()).then(|| Box::new(text) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let file = self.d.primary.file;
        let primary = std::iter::once(LabeledSpan::new_primary_with_span(
            Some(self.d.primary.message.clone()).filter(|m| !m.is_empty()),
            self.source
                .span(self.d.primary.span.start, self.d.primary.span.end),
        ));
        let secondary = self
            .d
            .secondary
            .iter()
            .filter(move |l| l.file == file)
            .map(|l| {
                LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    self.source.span(l.span.start, l.span.end),
                )
            });
        Some(Box::new(primary.chain(secondary)))
    }
}

/// The human report for one diagnostic: source excerpt, labels, help.
pub fn human(d: &Diagnostic, files: &[SourceFile], color: bool) -> String {
    let f = &files[d.primary.file.0 as usize];
    let spans: Vec<(usize, usize)> = std::iter::once(d.primary.span)
        .chain(
            d.secondary
                .iter()
                .filter(|l| l.file == d.primary.file)
                .map(|l| l.span),
        )
        .map(|s| (s.start, s.end))
        .collect();
    let report = Report {
        d,
        source: Excerpt::new(f, &spans),
    };
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: [{}] {}\n", d.severity.as_str(), d.code, d.message);
    }
    for l in d.secondary.iter().filter(|l| l.file != d.primary.file) {
        let other = &files[l.file.0 as usize];
        let (line, col) = other.human(l.span.start);
        out.push_str(&format!(
            "  note: {} ({}:{}:{})\n",
            l.message, other.name, line, col
        ));
    }
    out
}

/// One line: `file:line:col: warning[SP0701]: message (help)`.
pub fn short(d: &Diagnostic, files: &[SourceFile]) -> String {
    let f = &files[d.primary.file.0 as usize];
    let (line, col) = f.human(d.primary.span.start);
    let help = d
        .help
        .as_deref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    format!(
        "{}:{line}:{col}: {}[{}]: {}{help}\n",
        f.name,
        d.severity.as_str(),
        d.code,
        d.message
    )
}

/// One diagnostic as the documented JSON object.
pub fn json(d: &Diagnostic, files: &[SourceFile]) -> Value {
    let loc = |file: crate::diagnostics::FileId, span: scalepol_syntax::Span| {
        let f = &files[file.0 as usize];
        let (sl, sc) = f.human(span.start);
        let (el, ec) = f.human(span.end);
        json!({
            "file": f.name,
            "span": {"start": span.start, "end": span.end},
            "start": {"line": sl, "column": sc},
            "end": {"line": el, "column": ec},
        })
    };
    let mut primary = loc(d.primary.file, d.primary.span);
    primary["label"] = json!(d.primary.message);
    let secondary: Vec<Value> = d
        .secondary
        .iter()
        .map(|l| {
            let mut v = loc(l.file, l.span);
            v["label"] = json!(l.message);
            v
        })
        .collect();
    let fix = d.fix.as_ref().map(|f| {
        let mut v = loc(f.file, f.span);
        v["description"] = json!(f.description);
        v["replacement"] = json!(f.replacement);
        v
    });
    json!({
        "code": d.code,
        "severity": d.severity.as_str(),
        "message": d.message,
        "primary": primary,
        "secondary": secondary,
        "help": d.help,
        "fix": fix,
    })
}

/// A SARIF 2.1.0 log of all results; `files` lists each checked file with
/// its session files and diagnostics.
pub fn sarif(results: &[(&[SourceFile], &[Diagnostic])]) -> Value {
    let mut rules: Vec<Value> = codes::REGISTRY
        .iter()
        .map(|c| {
            json!({
                "id": c.code,
                "name": c.name,
                "shortDescription": {"text": c.summary},
                "fullDescription": {"text": c.explanation},
                "help": {"text": c.explanation},
                "helpUri": format!("https://github.com/scalepol/scalepol/blob/main/docs/diagnostics.md#{}", c.code.to_lowercase()),
                "defaultConfiguration": {"level": sarif_level(c.severity)},
            })
        })
        .collect();
    // Organisation codes (guardrails) are rules too, after the registry's.
    let mut ids: Vec<&str> = codes::REGISTRY.iter().map(|c| c.code).collect();
    for d in results.iter().flat_map(|(_, ds)| ds.iter()) {
        if !ids.contains(&d.code) {
            ids.push(d.code);
            rules.push(json!({
                "id": d.code,
                "shortDescription": {"text": d.message},
                "defaultConfiguration": {"level": sarif_level(d.severity)},
            }));
        }
    }
    let mut out = Vec::new();
    for (files, diags) in results {
        for d in diags.iter() {
            let f = &files[d.primary.file.0 as usize];
            let (sl, sc) = f.human(d.primary.span.start);
            let (el, ec) = f.human(d.primary.span.end);
            // Every code is in `ids`: the registry's, then the ones added above.
            let rule_index = ids.iter().position(|c| *c == d.code).unwrap_or(0);
            out.push(json!({
                "ruleId": d.code,
                "ruleIndex": rule_index,
                "level": sarif_level(d.severity),
                "message": {"text": match &d.help { Some(h) => format!("{} (help: {h})", d.message), None => d.message.clone() }},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": sarif_uri(&f.name)},
                        "region": {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec.max(if el == sl { sc + 1 } else { 1 })}
                    }
                }]
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scalepol",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/scalepol/scalepol",
                "rules": rules,
            }},
            "results": out,
        }]
    })
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A path with forward slashes and no leading `./`, as GitHub annotations
/// take it.
fn uri(name: &str) -> String {
    let n = name.replace('\\', "/");
    n.strip_prefix("./").unwrap_or(&n).to_string()
}

/// A path as SARIF's `artifactLocation.uri` wants it: a valid URI reference
/// (RFC 3986: spaces, `%`, `#`, `?` and non-ASCII bytes percent-encoded), and
/// an absolute path as a `file://` URI (SARIF Multitool SARIF1002, SARIF1004).
fn sarif_uri(name: &str) -> String {
    let path = uri(name);
    let windows_drive =
        path.len() > 2 && path.as_bytes()[1] == b':' && path.as_bytes()[0].is_ascii_alphabetic();
    let mut out = String::new();
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
            )
            || (b == b':' && windows_drive);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else if windows_drive {
        format!("file:///{out}")
    } else {
        out
    }
}

/// A GitHub Actions workflow command that annotates the line.
pub fn github(d: &Diagnostic, files: &[SourceFile]) -> String {
    let f = &files[d.primary.file.0 as usize];
    let (sl, sc) = f.human(d.primary.span.start);
    let (el, ec) = f.human(d.primary.span.end);
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut msg = d.message.clone();
    if let Some(h) = &d.help {
        msg.push_str("\nhelp: ");
        msg.push_str(h);
    }
    format!(
        "::{level} file={},line={sl},col={sc},endLine={el},endColumn={ec},title={}::{}",
        escape_property(&uri(&f.name)),
        escape_property(&format!(
            "{} {}",
            d.code,
            d.info().map(|i| i.name).unwrap_or("")
        )),
        escape_data(&msg)
    )
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::sarif_uri;

    #[test]
    fn sarif_uris_are_valid_uri_references() {
        assert_eq!(
            sarif_uri("policies/chat.scalepol"),
            "policies/chat.scalepol"
        );
        assert_eq!(
            sarif_uri("./my policies/50%.scalepol"),
            "my%20policies/50%25.scalepol"
        );
        assert_eq!(sarif_uri("größe.scalepol"), "gr%C3%B6%C3%9Fe.scalepol");
        assert_eq!(
            sarif_uri("/srv/ci/a b.scalepol"),
            "file:///srv/ci/a%20b.scalepol"
        );
        assert_eq!(sarif_uri("C:\\ci\\p.scalepol"), "file:///C:/ci/p.scalepol");
        assert_eq!(sarif_uri("a#b?.scalepol"), "a%23b%3F.scalepol");
    }
}
