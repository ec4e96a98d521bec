//! Which policy files a directory holds, for the CLI's directory arguments
//! and the language server's workspace: every `*.scalepol` file below it,
//! as git would see the tree. What `.gitignore`, `.ignore` and
//! `.git/info/exclude` exclude is skipped (in a git checkout or not), so are
//! hidden entries and `target` and `node_modules` directories. Symlinks
//! count as what they point to, except that a link to a directory is not
//! followed (no cycles, no escape from the tree).

use std::path::{Path, PathBuf};

/// The policy files under `dir`, sorted; the first unreadable entry is an
/// error (the CLI reports it).
pub fn policy_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    walk(dir, false)
}

/// The policy files under `dir` that can be read, sorted (the language
/// server indexes what it can).
pub fn readable_policy_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir, true).unwrap_or_default()
}

fn walk(dir: &Path, skip_errors: bool) -> std::io::Result<Vec<PathBuf>> {
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| {
            e.depth() == 0 || !matches!(e.file_name().to_str(), Some("target" | "node_modules"))
        })
        .build();
    let mut out = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(_) if skip_errors => continue,
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        };
        let path = entry.path();
        let Some(ty) = entry.file_type() else {
            continue;
        };
        let is_file = ty.is_file() || (ty.is_symlink() && path.is_file());
        if is_file && path.extension().is_some_and(|e| e == "scalepol") {
            out.push(path.to_path_buf());
        }
    }
    out.sort();
    Ok(out)
}
