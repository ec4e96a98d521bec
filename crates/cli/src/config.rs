//! The project's configuration: `scalepol.toml`, found from the working
//! directory upward (like ruff's `ruff.toml` or rustfmt's), or named with
//! `--config`. It holds what a team would otherwise repeat on every command
//! line: which paths to work on, what to leave out, the rules file, levels
//! per code, and compile's output folder and Kubernetes version. Flags given
//! on the command line win over the file.

use scalepol_compiler::org::Level;
use scalepol_compiler::project::{self, Compile, Deny};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The configuration in force, with paths resolved against the working
/// directory.
#[derive(Default)]
pub struct Project {
    pub paths: Vec<PathBuf>,
    pub rules: Option<PathBuf>,
    pub deny_warnings: bool,
    pub levels: Vec<(&'static str, Level)>,
    pub compile: Compile,
    exclude: Option<ignore::gitignore::Gitignore>,
}

static CURRENT: OnceLock<Project> = OnceLock::new();

/// The configuration loaded at start-up (empty before, or without a file).
pub fn current() -> &'static Project {
    CURRENT.get_or_init(Project::default)
}

/// Loads the configuration once, at start-up: `explicit` if given, else the
/// nearest `scalepol.toml` from the working directory upward; none with
/// `isolated`.
pub fn load(explicit: Option<&Path>, isolated: bool) -> Result<(), String> {
    let project = if isolated {
        Project::default()
    } else {
        let cwd = std::env::current_dir().map_err(|e| format!("working directory: {e}"))?;
        match explicit
            .map(|f| cwd.join(f))
            .or_else(|| project::find(&cwd))
        {
            Some(file) => read(&file, &cwd)?,
            None => Project::default(),
        }
    };
    // Set once, before any command reads it.
    let _ = CURRENT.set(project);
    Ok(())
}

fn read(file: &Path, cwd: &Path) -> Result<Project, String> {
    let shown = relative_to(file, cwd);
    let parsed = project::read(file, &shown)?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let dir_shown = shown.parent().unwrap_or(Path::new("")).to_path_buf();
    let at = |p: &Path| -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            normalise(&dir_shown.join(p))
        }
    };
    let levels = parsed
        .levels()
        .map_err(|e| format!("{}: {e}", shown.display()))?;
    let exclude =
        excludes(dir, &parsed.exclude).map_err(|e| format!("{}: {e}", shown.display()))?;
    let mut compile = parsed.compile;
    compile.out = compile.out.as_deref().map(at);
    Ok(Project {
        paths: parsed.paths.iter().map(|p| at(p)).collect(),
        rules: parsed.rules.as_deref().map(at),
        deny_warnings: parsed.deny == Some(Deny::Warnings),
        levels,
        compile,
        exclude,
    })
}

fn excludes(
    dir: &Path,
    patterns: &[String],
) -> Result<Option<ignore::gitignore::Gitignore>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
    for p in patterns {
        builder
            .add_line(None, p)
            .map_err(|e| format!("exclude `{p}`: {e}"))?;
    }
    builder.build().map(Some).map_err(|e| e.to_string())
}

impl Project {
    /// Whether a file found by a directory walk is left out.
    pub fn excludes(&self, path: &Path) -> bool {
        let Some(matcher) = &self.exclude else {
            return false;
        };
        let Ok(cwd) = std::env::current_dir() else {
            return false;
        };
        let full = normalise(&cwd.join(path));
        matcher
            .matched_path_or_any_parents(&full, false)
            .is_ignore()
    }
}

/// `path` as seen from `base` when it is under it or above it (`../x`),
/// else as given.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix(base) {
        return rest.to_path_buf();
    }
    // The file was found in an ancestor of the working directory.
    for (up, ancestor) in base.ancestors().enumerate().skip(1) {
        if let Ok(rest) = path.strip_prefix(ancestor) {
            let mut out: PathBuf = std::iter::repeat_n("..", up).collect();
            out.push(rest);
            return out;
        }
    }
    path.to_path_buf()
}

/// Drops `.` components and folds `dir/..` (lexically: the paths are the
/// user's, not resolved through links).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_seen_from_the_working_directory() {
        let base = Path::new("/r/a/b");
        assert_eq!(
            relative_to(Path::new("/r/a/b/x.toml"), base),
            PathBuf::from("x.toml")
        );
        assert_eq!(
            relative_to(Path::new("/r/x.toml"), base),
            PathBuf::from("../../x.toml")
        );
        assert_eq!(
            normalise(Path::new("../../policies/./x")),
            PathBuf::from("../../policies/x")
        );
        assert_eq!(normalise(Path::new("a/../b")), PathBuf::from("b"));
        assert_eq!(normalise(Path::new("")), PathBuf::from("."));
    }
}
