//! `scalepol fmt`

use crate::files::{self, Input};
use scalepol_compiler::diagnostics::FileId;
use scalepol_compiler::{render, syntax_diagnostic, SourceFile};
use std::io::Write;

pub fn run(paths: &[std::path::PathBuf], check: bool, diff: bool) -> u8 {
    let inputs = match files::collect(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut status = 0u8;
    for input in &inputs {
        let code = format_one(input, check, diff);
        status = status.max(code);
    }
    status
}

/// Formats one input; returns its exit code.
fn format_one(input: &Input, check: bool, diff: bool) -> u8 {
    let name = input.name();
    let text = match input.read() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return if e.ends_with("[SP0109]") { 1 } else { 2 };
        }
    };
    let doc = match scalepol_syntax::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            let files = [SourceFile::new(name.clone(), text)];
            eprint!(
                "{}",
                render::human(&syntax_diagnostic(FileId(0), &e), &files, false)
            );
            eprintln!("{name}: not formatted: fix the syntax error first");
            return 1;
        }
    };
    let formatted = scalepol_syntax::format_document(&doc);
    if diff {
        if formatted == text {
            return 0;
        }
        print!("{}", unified_diff(&name, &text, &formatted));
        return 1;
    }
    match input {
        Input::Stdin => {
            if check {
                return u8::from(formatted != text);
            }
            print!("{formatted}");
            0
        }
        Input::File(path) => {
            if formatted == text {
                return 0;
            }
            if check {
                println!("{name}: would reformat");
                return 1;
            }
            match rewrite(path, &formatted) {
                Ok(()) => {
                    println!("{name}: formatted");
                    0
                }
                Err(e) => {
                    eprintln!("error: {name}: {e}");
                    2
                }
            }
        }
    }
}

/// What formatting would change, as a unified diff (`a/NAME`, `b/NAME`).
pub(crate) fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Rewrites a policy in place as the user would expect of an editor: a
/// symlink's target is rewritten (the link stays a link), a file with other
/// hard links is rewritten in place (the links keep sharing it), a
/// read-only file is refused; otherwise atomically.
pub fn rewrite(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let real = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&real)?;
    if meta.permissions().readonly() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "the file is read-only; not rewritten",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&real)?;
            f.write_all(text.as_bytes())?;
            return f.sync_all();
        }
    }
    write_atomically(&real, text)
}

/// Writes through a temporary file in the same directory, then renames, so
/// that a crash never leaves a half-written policy.
pub fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    write_all_atomically(&[(path.to_path_buf(), text)])
}

/// A new temporary file beside `path`: 0666 less the umask, as any new
/// file (tempfile's default is 0600), or the permissions of the file it
/// replaces.
fn staged(path: &std::path::Path, text: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    Ok(tmp)
}

/// Writes every file or none: all are staged as temporary files beside
/// their targets first (a failure there removes them all and writes
/// nothing), then renamed into place.
pub fn write_all_atomically(files: &[(std::path::PathBuf, &str)]) -> std::io::Result<()> {
    let mut ready = Vec::with_capacity(files.len());
    for (path, text) in files {
        // On an error, the files staged so far are removed as they drop.
        ready.push((staged(path, text)?, path));
    }
    for (tmp, path) in ready {
        tmp.persist(path).map_err(|e| e.error)?;
    }
    Ok(())
}
