//! Which files a command works on.

use std::path::{Path, PathBuf};

/// One input: a file on disk or standard input.
pub enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::File(p) => p.to_string_lossy().into_owned(),
            Input::Stdin => "<stdin>".to_string(),
        }
    }

    /// Reads the input as UTF-8 text.
    pub fn read(&self) -> Result<String, String> {
        // One byte over the limit is enough to say the input is too large.
        let limit = scalepol_syntax::MAX_FILE_BYTES as u64;
        let mut bytes = Vec::new();
        match self {
            Input::File(p) => {
                let mut f = read_limited(p, limit).map_err(|e| format!("{}: {e}", p.display()))?;
                std::io::Read::read_to_end(&mut f, &mut bytes)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
            }
            Input::Stdin => {
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(std::io::stdin(), limit + 1),
                    &mut bytes,
                )
                .map_err(|e| format!("<stdin>: {e}"))?;
                if bytes.len() as u64 > limit {
                    return Err(format!(
                        "<stdin>: over the limit of {limit} bytes for a policy"
                    ));
                }
            }
        };
        String::from_utf8(bytes)
            .map(scalepol_compiler::without_bom)
            .map_err(|e| {
                format!(
                    "{}: not valid UTF-8 (first invalid byte at offset {}) [SP0109]",
                    self.name(),
                    e.utf8_error().valid_up_to()
                )
            })
    }
}

/// Expands paths: files as given, directories recursively to their
/// `*.scalepol` files in sorted order (without what the project's
/// `exclude` leaves out), `-` to standard input. No paths: the project's
/// `paths`, else the current directory.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Input>, String> {
    let project = crate::config::current();
    let default = [PathBuf::from(".")];
    let paths = if !paths.is_empty() {
        paths
    } else if !project.paths.is_empty() {
        &project.paths[..]
    } else {
        &default[..]
    };
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Input::Stdin);
        } else if p.is_dir() {
            let found = scalepol_compiler::discover::policy_files(p)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            out.extend(
                found
                    .into_iter()
                    .filter(|f| !project.excludes(f))
                    .map(Input::File),
            );
        } else if p.exists() {
            // Read (and refused if not a regular file) when checked.
            out.push(Input::File(p.clone()));
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

/// Reads and checks one policy file; on failure prints why and gives the
/// exit code (2: unreadable, 1: the policy has errors).
pub fn read_policy(path: &Path) -> Result<scalepol_compiler::Policy, u8> {
    let name = path.to_string_lossy().into_owned();
    let text = scalepol_compiler::read_source(path).map_err(|e| {
        eprintln!("error: {name}: {e}");
        2u8
    })?;
    policy_of(&name, &text)
}

/// The engine of a policy, or of an engine artifact (`.json`, as `scalepol
/// compile --target engine` writes it: what a deployment ships). The exit
/// code on failure: 2 for a file that cannot be read, 1 for a policy with
/// errors or an artifact the runtime refuses (the message is printed).
pub fn engine_of(path: &Path) -> Result<scalepol_runtime::Engine, u8> {
    let name = path.to_string_lossy().into_owned();
    let loaded = if path.extension().is_some_and(|e| e == "json") {
        let json = scalepol_compiler::read_source(path).map_err(|e| {
            eprintln!("error: {name}: {e}");
            2u8
        })?;
        scalepol_runtime::Engine::load(&json)
    } else {
        let policy = read_policy(path)?;
        scalepol_runtime::Engine::new(scalepol_targets::engine::artifact(&policy))
    };
    loaded.map_err(|e| {
        eprintln!("error: {name}: the engine does not load: {e}");
        1
    })
}

/// Checks one policy's text; on errors prints them and gives exit code 1.
pub fn policy_of(name: &str, text: &str) -> Result<scalepol_compiler::Policy, u8> {
    use scalepol_compiler::{check_source, render, FsLoader, Severity};
    let checked = check_source(name, text, &FsLoader);
    checked.policy.clone().ok_or_else(|| {
        for d in checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            eprint!("{}", render::human(d, &checked.files, false));
        }
        1
    })
}

/// The largest trace read: 4 GiB.
pub const MAX_TRACE_BYTES: u64 = 4 << 30;

/// Opens a regular file for reading, refusing devices, FIFOs and
/// directories (they never end, or block), and stopping at `limit` bytes.
pub fn read_limited(path: &Path, limit: u64) -> Result<impl std::io::Read, String> {
    scalepol_compiler::open_regular(path, limit).map(std::io::BufReader::new)
}
