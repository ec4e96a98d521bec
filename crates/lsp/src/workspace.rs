//! Features over the whole workspace: rename across the files that share a
//! defaults file, and workspace symbols. Pure functions of a `Workspace`, a
//! snapshot of the policy files (open buffers first, then the disk) that the
//! server takes before it runs them, so no lock is held while the workspace
//! is checked, and tests can hold the files in memory.

use crate::analysis::{declaration, Analysis};
use crate::navigate;
use crate::outline::{self, Symbol, SymbolKind};
use scalepol_compiler::Loader;
use scalepol_syntax::Span;
use std::collections::BTreeMap;
use std::path::Path;

/// The policy files of a workspace by name, with their texts.
#[derive(Debug, Default, Clone)]
pub struct Workspace {
    files: BTreeMap<String, String>,
}

impl Workspace {
    /// Files held in memory (open buffers, or a test's files).
    pub fn new(files: impl IntoIterator<Item = (String, String)>) -> Workspace {
        Workspace {
            files: files.into_iter().collect(),
        }
    }

    /// The open buffers, and every policy file under `root` that is not
    /// open, read from the disk.
    pub fn snapshot(open: BTreeMap<String, String>, root: Option<&Path>) -> Workspace {
        let mut files = open;
        for path in root.map(policy_files).unwrap_or_default() {
            let name = path.to_string_lossy().into_owned();
            files
                .entry(name)
                .or_insert_with(|| scalepol_compiler::read_source(&path).unwrap_or_default());
        }
        Workspace { files }
    }

    /// A file's text, if the workspace holds it.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(n, t)| (n.as_str(), t.as_str()))
    }
}

/// `extends` reads the workspace's texts first (open buffers may be
/// unsaved), then the disk, by the compiler's rules.
impl Loader for Workspace {
    fn load(&self, from: &str, path: &str) -> Result<(String, String), String> {
        // What the compiler refuses (absolute paths, other files) it refuses
        // with its own message, open or not.
        if !Path::new(path).is_relative() || !path.ends_with(".scalepol") {
            return scalepol_compiler::FsLoader.load(from, path);
        }
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let full = base.join(path).to_string_lossy().into_owned();
        match self.text(&full) {
            Some(t) => Ok((full, t.to_string())),
            None => scalepol_compiler::FsLoader.load(from, path),
        }
    }
}

/// The policy files of a workspace: the CLI's walk (`.gitignore`
/// respected), keeping what can be read.
pub fn policy_files(root: &Path) -> Vec<std::path::PathBuf> {
    scalepol_compiler::discover::readable_policy_files(root)
}

/// Why a rename is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenameError {
    /// The new name is not one the compiler accepts.
    InvalidName(String),
    /// Built-in metrics keep their names.
    BuiltIn(String),
}

impl std::fmt::Display for RenameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenameError::InvalidName(n) => write!(
                f,
                "`{n}` is not a valid name: a letter, then letters, digits and `_`"
            ),
            RenameError::BuiltIn(n) => write!(f, "`{n}` is built in and cannot be renamed"),
        }
    }
}

/// The edits of one file: each span becomes the new name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdits {
    pub name: String,
    pub text: String,
    pub spans: Vec<Span>,
}

/// Renames the pool or metric at `offset` of the analysed file: its
/// occurrences there and, when a defaults file declares it, in that file
/// and in every workspace policy that extends it without declaring the name
/// itself. `Ok(None)` when no name is at the offset.
pub fn rename(
    a: &Analysis,
    offset: usize,
    new_name: &str,
    ws: &Workspace,
) -> Result<Option<Vec<FileEdits>>, RenameError> {
    if !navigate::valid_name(new_name) {
        return Err(RenameError::InvalidName(new_name.to_string()));
    }
    let Some((_, name)) = navigate::name_at(a, offset) else {
        return Ok(None);
    };
    if scalepol_compiler::model::BUILTIN_METRICS.contains(&name.as_str()) {
        return Err(RenameError::BuiltIn(name));
    }
    let mut out = vec![FileEdits {
        name: a.name.clone(),
        text: a.text.text.clone(),
        spans: navigate::references(a, &name),
    }];
    let Some(place) = navigate::definition(a, &name).filter(|d| d.file > 0) else {
        return Ok(Some(out));
    };
    let defaults = &a.files[place.file];
    out.push(FileEdits {
        name: defaults.name.clone(),
        text: defaults.text.clone(),
        spans: navigate::occurrences_in(&defaults.text, &name),
    });
    for (file, text) in ws.files() {
        if out.iter().any(|e| e.name == file) {
            continue;
        }
        let checked = scalepol_compiler::check_source(file, text, ws);
        let extends = checked
            .files
            .iter()
            .skip(1)
            .any(|f| f.name == defaults.name);
        let local = checked
            .document
            .as_ref()
            .and_then(|d| declaration(d, &name))
            .is_some();
        let spans = navigate::occurrences_in(text, &name);
        if extends && !local && !spans.is_empty() {
            out.push(FileEdits {
                name: file.to_string(),
                text: text.to_string(),
                spans,
            });
        }
    }
    Ok(Some(out))
}

/// A named item of a workspace file.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceSymbol {
    pub file: String,
    pub text: String,
    pub symbol: Symbol,
}

/// The named items (policies, pools, metrics, rules, schedules, tests) of
/// every file that parses, whose name contains `query` (any case), in file
/// order.
pub fn symbols(ws: &Workspace, query: &str) -> Vec<WorkspaceSymbol> {
    let query = query.to_lowercase();
    let mut out = Vec::new();
    for (file, text) in ws.files() {
        let Ok(doc) = scalepol_syntax::parse(text) else {
            continue;
        };
        let mut all = Vec::new();
        flatten(&outline::symbols(&doc), &mut all);
        for s in all {
            let named = !matches!(s.kind, SymbolKind::Setting | SymbolKind::Block);
            if named && s.name.to_lowercase().contains(&query) {
                out.push(WorkspaceSymbol {
                    file: file.to_string(),
                    text: text.to_string(),
                    symbol: s,
                });
            }
        }
    }
    out
}

fn flatten(symbols: &[Symbol], out: &mut Vec<Symbol>) {
    for s in symbols {
        out.push(s.clone());
        flatten(&s.children, out);
    }
}
