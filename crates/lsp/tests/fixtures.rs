//! The language server's features, data-driven: each file in `fixtures/`
//! holds one or more files of a workspace (`//- NAME` starts one) and a
//! cursor (`<|>`) in the first. The answer of every feature at the cursor is
//! snapshotted: hover, completion, definition, references, rename (to the
//! name after `//- rename `, if any), and workspace symbols (for the query
//! after `//- symbols `). Features run as pure functions over an in-memory
//! workspace, no server, no disk.

use scalepol_lsp::analysis::Analysis;
use scalepol_lsp::text::Text;
use scalepol_lsp::workspace::{self, Workspace};
use scalepol_lsp::{completion, hover, navigate};
use scalepol_syntax::Span;

struct Fixture {
    /// (name, text), the cursor's file first, `<|>` removed.
    files: Vec<(String, String)>,
    cursor: usize,
    rename: Option<String>,
    symbols: Option<String>,
}

fn parse(text: &str) -> Fixture {
    let (mut files, mut rename, mut symbols) = (Vec::new(), None, None);
    let mut current: Option<(String, String)> = None;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("//- ") {
            let rest = rest.trim();
            if let Some(n) = rest.strip_prefix("rename ") {
                rename = Some(n.to_string());
            } else if let Some(q) = rest.strip_prefix("symbols") {
                symbols = Some(q.trim().to_string());
            } else {
                files.extend(current.take());
                current = Some((rest.to_string(), String::new()));
            }
            continue;
        }
        if let Some((_, t)) = current.as_mut() {
            t.push_str(line);
        }
    }
    files.extend(current);
    let cursor = files[0]
        .1
        .find("<|>")
        .expect("a `<|>` cursor in the first file");
    files[0].1 = files[0].1.replacen("<|>", "", 1);
    Fixture {
        files,
        cursor,
        rename,
        symbols,
    }
}

/// `line:col` (1-based) of a span's start in `text`, and the spanned text.
fn place(text: &str, s: Span) -> String {
    let line = text[..s.start].matches('\n').count() + 1;
    let col = s.start - text[..s.start].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{line}:{col} `{}`", &text[s.start..s.end])
}

fn apply(text: &str, spans: &[Span], with: &str) -> String {
    let mut out = text.to_string();
    let mut spans = spans.to_vec();
    spans.sort_by_key(|s| std::cmp::Reverse(s.start));
    for s in spans {
        out.replace_range(s.start..s.end, with);
    }
    out
}

fn answers(f: &Fixture) -> String {
    let ws = Workspace::new(f.files.clone());
    let (name, text) = &f.files[0];
    let a = Analysis::new(name, Text::new(text.clone()), 1, &ws, None);
    let mut out = String::new();
    match hover::hover(&a, f.cursor) {
        Some((h, s)) => out.push_str(&format!("hover at {}:\n{h}\n", place(text, s))),
        None => out.push_str("hover: none\n"),
    }
    let labels: Vec<String> = completion::complete(&a, f.cursor)
        .into_iter()
        .map(|i| i.label)
        .collect();
    out.push_str(&format!(
        "completion ({}): {}\n",
        labels.len(),
        labels.join(", ")
    ));
    if let Some((_, n)) = navigate::name_at(&a, f.cursor) {
        match navigate::definition(&a, &n) {
            Some(p) => {
                let file = &a.files[p.file];
                out.push_str(&format!(
                    "definition of `{n}`: {} {}\n",
                    file.name,
                    place(&file.text, p.span)
                ));
            }
            None => out.push_str(&format!("definition of `{n}`: none\n")),
        }
        let refs: Vec<String> = navigate::references(&a, &n)
            .into_iter()
            .map(|s| place(text, s))
            .collect();
        out.push_str(&format!("references: {}\n", refs.join("; ")));
    }
    if let Some(new) = &f.rename {
        match workspace::rename(&a, f.cursor, new, &ws) {
            Ok(Some(edits)) => {
                for e in edits {
                    out.push_str(&format!(
                        "rename in {}:\n{}",
                        e.name,
                        apply(&e.text, &e.spans, new)
                    ));
                }
            }
            Ok(None) => out.push_str("rename: nothing at the cursor\n"),
            Err(e) => out.push_str(&format!("rename refused: {e}\n")),
        }
    }
    if let Some(q) = &f.symbols {
        for s in workspace::symbols(&ws, q) {
            out.push_str(&format!(
                "symbol {:?} `{}` in {} at {}\n",
                s.symbol.kind,
                s.symbol.name,
                s.file,
                place(&s.text, s.symbol.selection)
            ));
        }
    }
    out
}

#[test]
fn fixtures() {
    insta::glob!("fixtures/*.scalepol", |path| {
        let f = parse(&std::fs::read_to_string(path).unwrap());
        insta::assert_snapshot!(answers(&f));
    });
}
