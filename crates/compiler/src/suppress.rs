//! Inline suppression: `// scalepol-allow(CODE, ...): reason` on a construct
//! (a comment on the lines above it, or at the end of its line) silences those
//! codes for diagnostics inside that construct. The reason is mandatory.

use crate::codes::{self, code};
use crate::diagnostics::{Diagnostic, FileId};
use scalepol_syntax::{Comment, Document, Node, Span};

const MARKER: &str = "scalepol-allow(";

/// One allow comment and the construct it covers.
struct Allow {
    codes: Vec<&'static str>,
    covers: Span,
    comment: Span,
    used: bool,
}

/// The allow comments of one file.
pub struct Allows {
    allows: Vec<Allow>,
    problems: Vec<Diagnostic>,
}

impl Allows {
    pub fn collect(doc: &Document) -> Self {
        let mut allows = Vec::new();
        let mut problems = Vec::new();
        collect(&doc.nodes, &mut allows, &mut problems);
        Allows { allows, problems }
    }

    /// Removes the diagnostics that an allow covers.
    pub fn filter(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        diagnostics.retain(|d| {
            let in_file = d.primary.file == FileId(0);
            let hit = self.allows.iter_mut().find(|a| {
                in_file && a.codes.contains(&d.code) && a.covers.contains(d.primary.span.start)
            });
            match hit {
                Some(a) => {
                    a.used = true;
                    false
                }
                None => true,
            }
        });
    }

    /// The invalid allows, and those that silenced nothing.
    pub fn finish(self) -> Vec<Diagnostic> {
        let mut out = self.problems;
        for a in self.allows.iter().filter(|a| !a.used) {
            out.push(
                Diagnostic::new(
                    code::UNUSED_ALLOW,
                    FileId(0),
                    a.comment,
                    format!("this allow silences nothing ({})", a.codes.join(", ")),
                )
                .label("unused")
                .help("remove the comment: the finding it silenced is gone")
                .fix("remove the comment", a.comment, ""),
            );
        }
        out
    }
}

fn collect(nodes: &[Node], out: &mut Vec<Allow>, problems: &mut Vec<Diagnostic>) {
    for n in nodes {
        for c in n.leading_comments.iter().chain(n.trailing_comment.as_ref()) {
            if let Some(a) = parse(c, n.span, problems) {
                out.push(a);
            }
        }
        if let Some(b) = &n.block {
            collect(&b.nodes, out, problems);
        }
    }
}

/// Reads one comment; `None` when it is not an allow or is invalid (reported).
fn parse(c: &Comment, covers: Span, problems: &mut Vec<Diagnostic>) -> Option<Allow> {
    let body = c.text.trim_start_matches('/').trim_start();
    let rest = body.strip_prefix(MARKER)?;
    let Some((list, after)) = rest.split_once(')') else {
        problems.push(no_reason(c.span, "this allow is never closed with `)`"));
        return None;
    };
    let reason = after
        .trim_start()
        .strip_prefix(':')
        .map(str::trim)
        .unwrap_or("");
    if reason.is_empty() {
        problems.push(no_reason(c.span, "this allow gives no reason"));
        return None;
    }
    let mut found = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match codes::lookup(item) {
            Some(info) => found.push(info.code),
            None => problems.push(
                Diagnostic::new(code::ALLOW_UNKNOWN_CODE, FileId(0), c.span, format!("`{item}` is not a diagnostic code or name"))
                    .label("unknown code")
                    .help("name codes like `SP0532` or names like `zero-tolerance-small-pool`; `scalepol explain` lists them"),
            ),
        }
    }
    (!found.is_empty()).then_some(Allow {
        codes: found,
        covers,
        comment: c.span,
        used: false,
    })
}

fn no_reason(span: Span, msg: &str) -> Diagnostic {
    Diagnostic::new(code::ALLOW_WITHOUT_REASON, FileId(0), span, msg.to_string())
        .label("allow without a reason")
        .help("write why the finding does not apply: `// scalepol-allow(SP0532): a two-replica canary`")
}
