//! The scalepol compiler front end: syntax tree to typed policy model, with
//! every diagnostic of names, types, units, ranges and CEL.
//!
//! Entry point: [`check_source`]. It parses one policy file, follows its
//! `extends` chain through a [`Loader`], and returns the model (when the
//! policy is sound enough to build one) with all diagnostics.

mod args;
pub mod cel;
pub mod checks;
pub mod codes;
pub mod diagnostics;
pub mod discover;
mod excerpt;
pub mod lines;
pub mod lower;
pub mod measure;
pub mod model;
pub mod org;
pub mod project;
pub mod queries;
pub mod render;
pub mod render_ci;
mod schedule;
mod suggest;
pub mod suppress;
pub mod units;
mod view;
pub mod vocabulary;

use diagnostics::{Diagnostic, FileId, Sink};
use lower::{Ctx, Item};
use scalepol_syntax::{Document, Span, SyntaxErrorKind};
use std::path::{Path, PathBuf};

pub use codes::{code, CodeInfo, REGISTRY};
pub use diagnostics::Severity;
pub use model::Policy;

/// A file of a check session: the policy file first, then its defaults chain.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Line starts, computed on first use: every renderer of every
    /// diagnostic shares them (thousands of findings in one large file
    /// must not each rescan it).
    lines: std::sync::OnceLock<lines::LineIndex>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
            lines: std::sync::OnceLock::new(),
        }
    }

    /// The file's line index.
    pub fn lines(&self) -> &lines::LineIndex {
        self.lines.get_or_init(|| lines::LineIndex::new(&self.text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn human(&self, offset: usize) -> (usize, usize) {
        self.lines().human(&self.text, offset)
    }
}

/// Reads the files that `extends` names.
pub trait Loader {
    /// Reads `path` as written in `from` (relative paths are relative to
    /// `from`'s directory). Returns the resolved name and the text.
    fn load(&self, from: &str, path: &str) -> Result<(String, String), String>;
}

/// Reads defaults files from the file system.
pub struct FsLoader;

impl FsLoader {
    /// Where `extends` may reach from `from`: the nearest ancestor of its
    /// directory that holds `.git` or `scalepol.toml` (the project), else its
    /// own directory (docs/security.md).
    fn root_of(from: &Path) -> Option<PathBuf> {
        let dir = from.parent()?.canonicalize().ok()?;
        let project = dir
            .ancestors()
            .find(|d| d.join(".git").exists() || d.join("scalepol.toml").exists());
        Some(project.unwrap_or(&dir).to_path_buf())
    }
}

impl Loader for FsLoader {
    /// Reads a defaults file under the rules of docs/security.md: a relative
    /// path to a `.scalepol` file, inside the project, a regular file of at
    /// most 16 MiB. A policy from a pull request cannot make scalepol read
    /// (and print) a file outside the repository, block on a FIFO or read a
    /// device forever.
    fn load(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let asked = Path::new(path);
        if asked.is_absolute() || path.starts_with('~') {
            return Err("`extends` takes a path relative to this file, not an absolute one".into());
        }
        if asked.extension().is_none_or(|e| e != "scalepol") {
            return Err("`extends` names a `.scalepol` file".into());
        }
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let full: PathBuf = base.join(asked);
        let root = Self::root_of(Path::new(from))
            .ok_or_else(|| "the policy's directory cannot be resolved".to_string())?;
        let real = full.canonicalize().map_err(|e| e.to_string())?;
        if !real.starts_with(&root) {
            return Err(format!(
                "the file is outside the project ({}); `extends` stays inside it",
                root.display()
            ));
        }
        let text = read_source(&real)?;
        Ok((full.to_string_lossy().into_owned(), text))
    }
}

/// Opens a file scalepol is given for reading, refusing what is not a
/// regular file (a device or FIFO never ends or blocks; opening a FIFO blocks
/// until a writer comes, so this looks before it opens) or is over `limit`
/// bytes; the reader stops at `limit` whatever the file grows to.
pub fn open_regular(path: &Path, limit: u64) -> Result<std::io::Take<std::fs::File>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > limit {
        return Err(format!(
            "the file is {} bytes, over the limit of {limit}",
            meta.len()
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    Ok(std::io::Read::take(file, limit))
}

/// Reads a text file that scalepol is given (a policy, a rules file, a
/// manifest, an artifact): a regular file ([`open_regular`]) of at most
/// 16 MiB, in UTF-8.
pub fn read_source(path: &Path) -> Result<String, String> {
    let limit = scalepol_syntax::MAX_FILE_BYTES as u64;
    let mut file = open_regular(path, limit)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not valid UTF-8 (first invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(without_bom(text))
}

/// A UTF-8 byte-order mark, which some Windows editors write, is not text:
/// it is dropped rather than reported as an invisible character.
pub fn without_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// The result of checking one file.
#[derive(Debug)]
pub struct Checked {
    pub files: Vec<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
    /// The syntax tree of the checked file, when it parsed.
    pub document: Option<Document>,
    /// The model, when the policy had no errors that prevent building it.
    pub policy: Option<Policy>,
    /// The model as far as it could be built despite errors (what failed is
    /// left out): for tools that must answer on a broken policy, such as an
    /// editor. Never compiled or run.
    pub partial: Option<Policy>,
    /// True when the file is a `defaults` file rather than a policy.
    pub is_defaults: bool,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Converts a syntax error of `file` to a diagnostic.
pub fn syntax_diagnostic(file: FileId, e: &scalepol_syntax::SyntaxError) -> Diagnostic {
    let c = match e.kind {
        SyntaxErrorKind::Unexpected => code::SYNTAX,
        SyntaxErrorKind::UnterminatedString => code::UNTERMINATED_STRING,
        SyntaxErrorKind::UnterminatedCode => code::UNTERMINATED_CODE,
        SyntaxErrorKind::UnclosedBrace => code::UNCLOSED_BRACE,
        SyntaxErrorKind::UnexpectedCloseBrace => code::STRAY_BRACE,
        SyntaxErrorKind::InvalidEscape => code::INVALID_ESCAPE,
        SyntaxErrorKind::FileTooLarge => code::FILE_TOO_LARGE,
        SyntaxErrorKind::TooDeep => code::TOO_DEEP,
    };
    let mut d = Diagnostic::new(c, file, e.span, e.message.clone()).label(e.label.clone());
    if !e.help.is_empty() {
        d = d.help(e.help.clone());
    }
    if let Some((span, text)) = &e.related {
        d = d.with_secondary(file, *span, text.clone());
    }
    d
}

/// Checks one file's text.
pub fn check_source(name: &str, text: &str, loader: &dyn Loader) -> Checked {
    let mut files = vec![SourceFile::new(name.to_string(), text.to_string())];
    let doc = match scalepol_syntax::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let diagnostics = vec![syntax_diagnostic(FileId(0), &e)];
            return Checked {
                files,
                diagnostics,
                document: None,
                policy: None,
                partial: None,
                is_defaults: false,
            };
        }
    };
    let mut sink = Sink::default();
    let mut docs: Vec<Document> = Vec::new();
    let top_kw = doc
        .nodes
        .iter()
        .find(|n| n.keyword == "policy" || n.keyword == "defaults")
        .map(|n| n.keyword.clone());
    let is_defaults = top_kw.as_deref() == Some("defaults");
    if let Some(top) = doc
        .nodes
        .iter()
        .find(|n| n.keyword == "policy" || n.keyword == "defaults")
    {
        load_chain(&mut files, &mut docs, &mut sink, loader, top, 0);
    }
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let mut ctx = Ctx {
        names: &names,
        sink,
    };
    let want = if is_defaults { "defaults" } else { "policy" };
    let mut policy = None;
    if let Some(top) = lower::top_node(&mut ctx, FileId(0), &doc, want) {
        // Items of the defaults chain, the nearest file overriding the farther.
        let mut inherited: Vec<Item> = Vec::new();
        for (i, d) in docs.iter().enumerate().rev() {
            let file = FileId(i as u32 + 1);
            if let Some(n) = d.nodes.iter().find(|n| n.keyword == "defaults") {
                let own = lower::defaults_items(&mut ctx, file, n);
                inherited = lower::merge_defaults(&inherited, &own);
            }
        }
        if is_defaults {
            let own = lower::defaults_items(&mut ctx, FileId(0), top);
            let items = lower::merge_defaults(&inherited, &own);
            lower::check_defaults(&mut ctx, &items);
        } else {
            policy = lower::lower_policy(&mut ctx, FileId(0), top, &inherited);
        }
    }
    let mut diagnostics = ctx.sink.diagnostics;
    let mut allows = suppress::Allows::collect(&doc);
    allows.filter(&mut diagnostics);
    // Domain checks need a sound model: they run only when lowering succeeded
    // (allowed findings do not count).
    let sound = !diagnostics.iter().any(|d| d.severity == Severity::Error);
    if let (Some(p), true) = (&policy, sound) {
        let mut domain = checks::run(p);
        allows.filter(&mut domain);
        diagnostics.extend(domain);
    }
    diagnostics.extend(allows.finish());
    locate(&files, &mut diagnostics);
    let mut checked = Checked {
        files,
        diagnostics,
        document: Some(doc),
        policy: None,
        partial: None,
        is_defaults,
    };
    if checked.has_errors() {
        checked.partial = policy;
    } else {
        checked.policy = policy;
    }
    checked
}

/// Where file `idx` of a session starts in the session's offsets: each file
/// after the one before, one byte apart. File 0 (the checked file) starts at
/// 0, so its spans are its own offsets.
fn base(files: &[SourceFile], idx: usize) -> usize {
    files[..idx].iter().map(|f| f.text.len() + 1).sum()
}

/// Points every label of `diagnostics` into the file its span is in, in that
/// file's own offsets. Spans from the model and the syntax trees of a
/// session are in session offsets (a defaults file's after the policy's):
/// a finding about a setting inherited from a defaults file thus points into
/// that file. Call it once on diagnostics built from a session's model (the
/// compiler does for `check`; compile targets call it for theirs).
pub fn locate(files: &[SourceFile], diagnostics: &mut [Diagnostic]) {
    let bases: Vec<usize> = (0..files.len()).map(|i| base(files, i)).collect();
    let at = |span: Span| -> (diagnostics::FileId, Span) {
        let i = bases
            .partition_point(|&b| b <= span.start)
            .saturating_sub(1);
        let b = bases.get(i).copied().unwrap_or(0);
        (
            diagnostics::FileId(i as u32),
            Span::new(
                span.start - b,
                span.end.saturating_sub(b).max(span.start - b),
            ),
        )
    };
    for d in diagnostics.iter_mut() {
        (d.primary.file, d.primary.span) = at(d.primary.span);
        for l in &mut d.secondary {
            (l.file, l.span) = at(l.span);
        }
        if let Some(f) = &mut d.fix {
            (f.file, f.span) = at(f.span);
        }
    }
}

/// Follows `extends` from the top node of file `from`, appending each
/// defaults file (and its parsed document) until the chain ends.
fn load_chain(
    files: &mut Vec<SourceFile>,
    docs: &mut Vec<Document>,
    sink: &mut Sink,
    loader: &dyn Loader,
    top: &scalepol_syntax::Node,
    from: usize,
) {
    let Some((path, span)) = lower::extends_of(top) else {
        return;
    };
    let from_name = files[from].name.clone();
    let (name, text) = match loader.load(&from_name, path) {
        Ok(x) => x,
        Err(e) => {
            sink.push(
                Diagnostic::new(
                    code::EXTENDS_NOT_FOUND,
                    FileId(from as u32),
                    span,
                    format!("cannot read the defaults file \"{path}\": {e}"),
                )
                .label("not readable")
                .help("the path is relative to this file's directory"),
            );
            return;
        }
    };
    if files.iter().any(|f| f.name == name) {
        let chain: Vec<&str> = files
            .iter()
            .map(|f| f.name.as_str())
            .chain([name.as_str()])
            .collect();
        sink.push(
            Diagnostic::new(
                code::EXTENDS_CYCLE,
                FileId(from as u32),
                span,
                format!(
                    "defaults extend each other in a cycle: {}",
                    chain.join(" -> ")
                ),
            )
            .label("closes the cycle")
            .help("remove one `extends` so that the chain ends"),
        );
        return;
    }
    files.push(SourceFile::new(name, text));
    let idx = files.len() - 1;
    match scalepol_syntax::parse(&files[idx].text) {
        Ok(mut doc) => {
            // Its spans in the session's offsets: whatever the model or a
            // diagnostic keeps of this file says so by its span alone.
            doc.shift(base(files, idx));
            let next = doc.nodes.iter().find(|n| n.keyword == "defaults").cloned();
            if next.is_none() {
                sink.push(
                    Diagnostic::new(
                        code::EXTENDS_NOT_FOUND,
                        FileId(from as u32),
                        span,
                        format!("\"{path}\" holds no `defaults` block"),
                    )
                    .label("not a defaults file")
                    .help("a file that policies extend holds `defaults NAME { ... }`"),
                );
            }
            docs.push(doc);
            if let Some(n) = next {
                load_chain(files, docs, sink, loader, &n, idx);
            }
        }
        Err(e) => {
            // Said at the `extends`, without echoing the file: it may not be
            // a policy at all (docs/security.md). Its own check shows more.
            let (line, col) = files[idx].human(e.span.start);
            sink.push(
                Diagnostic::new(
                    code::EXTENDS_NOT_FOUND,
                    FileId(from as u32),
                    span,
                    format!(
                        "\"{path}\" does not parse: a syntax error at line {line}, column {col}"
                    ),
                )
                .label("not a defaults file")
                .help(format!("check it on its own: `scalepol check {path}`")),
            );
            docs.push(Document {
                nodes: Vec::new(),
                trailing_comments: Vec::new(),
            });
        }
    }
}

/// A span covering nothing, at the start of a file.
pub const START: Span = Span { start: 0, end: 0 };
