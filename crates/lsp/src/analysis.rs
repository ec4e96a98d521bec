//! One document's analysis: the compiler's diagnostics for the current
//! text, and the syntax tree and model of the last text that had them, so
//! every feature still answers while the file is broken.

use crate::text::Text;
use scalepol_compiler::diagnostics::Diagnostic;
use scalepol_compiler::model::Policy;
use scalepol_compiler::{check_source, Loader, SourceFile};
use scalepol_syntax::{Arg, ArgKind, Document, Node, Span};

#[derive(Clone)]
pub struct Analysis {
    /// The file's path (as the compiler names it).
    pub name: String,
    pub text: Text,
    pub version: i32,
    pub diagnostics: Vec<Diagnostic>,
    /// The files of the check: this one first, then its defaults chain.
    pub files: Vec<SourceFile>,
    /// The syntax tree: of this text, or of the last one that parsed.
    pub document: Option<Document>,
    /// The text `document` was parsed from (spans index into it).
    pub document_text: Option<Text>,
    /// The model: of this text, or of the last one that built one.
    pub policy: Option<Policy>,
}

impl Analysis {
    pub fn new(
        name: &str,
        text: Text,
        version: i32,
        loader: &dyn Loader,
        previous: Option<&Analysis>,
    ) -> Analysis {
        let mut checked = check_source(name, &text.text, loader);
        // The project's levels (scalepol.toml), as `scalepol check` applies
        // them: the editor shows what CI will say.
        let levels = scalepol_compiler::project::levels_for(std::path::Path::new(name));
        scalepol_compiler::org::apply_levels(&mut checked.diagnostics, &levels);
        let (document, document_text) = match checked.document {
            Some(d) => (Some(d), Some(text.clone())),
            None => (
                previous.and_then(|p| p.document.clone()),
                previous.and_then(|p| p.document_text.clone()),
            ),
        };
        let policy = checked
            .policy
            .or_else(|| previous.and_then(|p| p.policy.clone()));
        Analysis {
            name: name.to_string(),
            text,
            version,
            diagnostics: checked.diagnostics,
            files: checked.files,
            document,
            document_text,
            policy,
        }
    }

    /// Whether the syntax tree is of the current text (its spans are exact).
    pub fn fresh(&self) -> bool {
        self.document_text
            .as_ref()
            .is_some_and(|t| t.text == self.text.text)
    }

    /// The tree, only when its spans match the current text.
    pub fn tree(&self) -> Option<&Document> {
        self.document.as_ref().filter(|_| self.fresh())
    }

    /// Declared metric names, from the model, else from the tree.
    pub fn metric_names(&self) -> Vec<String> {
        if let Some(p) = &self.policy {
            return p.metrics.iter().map(|m| m.name.clone()).collect();
        }
        let mut out = vec!["cpu".to_string(), "memory".to_string(), "gpu".to_string()];
        if let Some(d) = &self.document {
            walk(&d.nodes, &mut |n, parent| {
                if parent.is_some_and(|p| p.keyword == "metrics") {
                    out.push(n.keyword.to_string());
                }
            });
        }
        out
    }

    /// Declared pool names.
    pub fn pool_names(&self) -> Vec<String> {
        if let Some(p) = &self.policy {
            return p.pools.iter().map(|x| x.name.clone()).collect();
        }
        let mut out = Vec::new();
        if let Some(d) = &self.document {
            walk(&d.nodes, &mut |n, _| {
                if n.keyword == "pool" && n.block.is_some() {
                    if let Some(w) = n.args.first().and_then(Arg::as_word) {
                        out.push(w.to_string());
                    }
                }
            });
        }
        out
    }
}

/// Visits every node with its parent, depth first.
pub fn walk<'a>(nodes: &'a [Node], f: &mut impl FnMut(&'a Node, Option<&'a Node>)) {
    fn go<'a>(
        nodes: &'a [Node],
        parent: Option<&'a Node>,
        f: &mut impl FnMut(&'a Node, Option<&'a Node>),
    ) {
        for n in nodes {
            f(n, parent);
            go(n.block_nodes(), Some(n), f);
        }
    }
    go(nodes, None, f);
}

/// The nodes containing `offset`, outermost first.
pub fn path_at(doc: &Document, offset: usize) -> Vec<&Node> {
    let mut out = Vec::new();
    let mut nodes = &doc.nodes[..];
    'down: loop {
        for n in nodes {
            if n.span.start <= offset && offset <= n.span.end {
                out.push(n);
                nodes = n.block_nodes();
                continue 'down;
            }
        }
        return out;
    }
}

/// The innermost argument of `node` at `offset`.
pub fn arg_at(node: &Node, offset: usize) -> Option<&Arg> {
    fn inner(a: &Arg, offset: usize) -> &Arg {
        if let ArgKind::Range(x, y) = &a.kind {
            for part in [x, y] {
                if part.span.start <= offset && offset <= part.span.end {
                    return inner(part, offset);
                }
            }
        }
        a
    }
    node.args
        .iter()
        .find(|a| a.span.start <= offset && offset <= a.span.end)
        .map(|a| inner(a, offset))
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The identifier around `offset` in `text`.
pub fn word_at(text: &str, offset: usize) -> Option<(Span, &str)> {
    run_at(text, offset, is_ident)
}

/// The run of characters that `part` accepts around `offset` in `text`
/// (a policy's names, or a Prometheus metric name inside a query).
pub fn run_at(text: &str, offset: usize, part: impl Fn(char) -> bool) -> Option<(Span, &str)> {
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    // After the last character that is not part of a name (which may be
    // several bytes long).
    let start = text[..offset]
        .char_indices()
        .rev()
        .find(|(_, c)| !part(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[offset..]
        .find(|c: char| !part(c))
        .map_or(text.len(), |i| offset + i);
    (start < end).then(|| (Span::new(start, end), &text[start..end]))
}

/// Every place `name` occurs as a metric or pool reference in the tree:
/// words, node keywords under `metrics` and `given`, and identifiers in
/// back-quoted CEL (not in metric queries, which are another language).
pub fn occurrences(doc: &Document, text: &str, name: &str) -> Vec<Span> {
    let mut out = Vec::new();
    walk(&doc.nodes, &mut |n, parent| {
        let parent_kw = parent.map(|p| p.keyword.as_str());
        if n.keyword == name && matches!(parent_kw, Some("metrics" | "given")) {
            out.push(n.keyword_span);
        }
        let in_metrics = parent_kw == Some("metrics");
        for a in &n.args {
            collect_arg(a, text, name, in_metrics, &mut out);
        }
    });
    out.sort_by_key(|s| s.start);
    out.dedup();
    out
}

fn collect_arg(a: &Arg, text: &str, name: &str, in_metrics: bool, out: &mut Vec<Span>) {
    match &a.kind {
        ArgKind::Word(w) if w == name => out.push(a.span),
        ArgKind::Code(_) if !in_metrics => {
            let body = &text[a.span.start..a.span.end];
            let mut i = 0;
            while let Some(k) = body[i..].find(name) {
                let s = i + k;
                let e = s + name.len();
                let before = body[..s].chars().next_back();
                let after = body[e..].chars().next();
                if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
                    out.push(Span::new(a.span.start + s, a.span.start + e));
                }
                i = e;
            }
        }
        ArgKind::Range(x, y) => {
            collect_arg(x, text, name, in_metrics, out);
            collect_arg(y, text, name, in_metrics, out);
        }
        _ => {}
    }
}

/// Where `name` is declared in this tree: a metric's node keyword in a
/// `metrics` block, or a pool's name.
pub fn declaration(doc: &Document, name: &str) -> Option<Span> {
    let mut found = None;
    walk(&doc.nodes, &mut |n, parent| {
        if found.is_some() {
            return;
        }
        if parent.is_some_and(|p| p.keyword == "metrics") && n.keyword == name {
            found = Some(n.keyword_span);
        }
        if n.keyword == "pool" && n.block.is_some() {
            if let Some(a) = n.args.first().filter(|a| a.is_word(name)) {
                found = Some(a.span);
            }
        }
    });
    found
}
