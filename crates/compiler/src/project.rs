//! The project's configuration file, `scalepol.toml`, as written: found
//! from a directory upward, parsed strictly (unknown keys are errors), with
//! its per-code levels resolved against the registry. The command line
//! resolves its paths against the working directory (the CLI's
//! `config.rs`); the language server applies its levels to what it
//! publishes, so that the editor and CI agree.

use crate::org::Level;
use crate::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "scalepol.toml";

/// The file as written; paths are relative to the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectFile {
    /// What `check`, `fmt`, `compile` and `test` work on when given no paths.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// gitignore-style patterns left out of directory walks.
    #[serde(default)]
    pub exclude: Vec<String>,
    pub rules: Option<PathBuf>,
    pub deny: Option<Deny>,
    #[serde(default)]
    pub levels: BTreeMap<String, String>,
    #[serde(default)]
    pub compile: Compile,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Deny {
    Warnings,
}

/// `[compile]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Compile {
    pub out: Option<PathBuf>,
    pub target: Option<String>,
    pub k8s_version: Option<String>,
}

/// The nearest `scalepol.toml` in `dir` or above.
pub fn find(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|f| f.is_file())
}

/// Reads and parses the file; the error names it as `shown`.
pub fn read(file: &Path, shown: &Path) -> Result<ProjectFile, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", shown.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", shown.display()))
}

impl ProjectFile {
    /// The `[levels]` table, each code checked against the registry.
    pub fn levels(&self) -> Result<Vec<(&'static str, Level)>, String> {
        self.levels
            .iter()
            .map(|(code, level)| parse_level(code, level))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("[levels] {e}"))
    }
}

fn parse_level(code: &str, level: &str) -> Result<(&'static str, Level), String> {
    let info = crate::codes::lookup(code).ok_or_else(|| {
        format!("`{code}` is not a diagnostic code or name (`scalepol explain` lists them)")
    })?;
    let level = match level {
        "allow" => Level::Allow,
        "note" => Level::Set(Severity::Note),
        "warning" | "warn" => Level::Set(Severity::Warning),
        "error" | "deny" => Level::Set(Severity::Error),
        other => {
            return Err(format!(
                "{code} = \"{other}\": a level is allow, note, warning or error"
            ))
        }
    };
    Ok((info.code, level))
}

/// The levels of the project a policy file belongs to, if it has a
/// readable configuration (the language server's view: a broken file
/// changes nothing, `scalepol check` reports it).
pub fn levels_for(policy: &Path) -> Vec<(&'static str, Level)> {
    policy
        .parent()
        .and_then(find)
        .and_then(|f| read(&f, &f).ok())
        .and_then(|p| p.levels().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_name_known_codes() {
        assert!(parse_level("SP0532", "allow").is_ok());
        assert!(parse_level("unused-metric", "error").is_ok());
        assert!(parse_level("SP9999", "allow")
            .unwrap_err()
            .contains("not a diagnostic code"));
        assert!(parse_level("SP0532", "loud")
            .unwrap_err()
            .contains("allow, note"));
    }
}
