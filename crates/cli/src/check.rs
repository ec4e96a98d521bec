//! `scalepol check`

use crate::files::{self, Input};
use crate::{Color, Format};
use rayon::prelude::*;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::{check_source, code, render, Checked, FsLoader, Severity, SourceFile};
use serde_json::json;
use std::io::{IsTerminal, Write};

pub struct Args<'a> {
    pub paths: &'a [std::path::PathBuf],
    pub format: Format,
    pub deny_warnings: bool,
    pub color: Color,
    pub rules: Option<&'a std::path::Path>,
    /// `--prometheus`: run the queries against a real server too.
    pub live: Option<crate::check_live::Options<'a>>,
}

pub fn run(a: &Args) -> u8 {
    let Args {
        paths,
        format,
        deny_warnings,
        color,
        rules,
        ..
    } = *a;
    let mut rules = match rules.map(load_rules).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let levels = &crate::config::current().levels;
    if !levels.is_empty() {
        let base = rules.unwrap_or_else(scalepol_compiler::org::OrgRules::empty);
        rules = Some(base.with_project_levels(levels));
    }
    let inputs = match files::collect(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut io_error = false;
    let mut outcomes: Vec<Checked> = inputs
        .par_iter()
        .map(check_input)
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|r| {
            r.map_err(|e| {
                eprintln!("error: {e}");
                io_error = true;
            })
            .ok()
        })
        .collect();
    // Before the set's checks, so that levels apply to the live findings.
    if let Some(live) = &a.live {
        if let Err(e) = crate::check_live::check(&mut outcomes, live) {
            eprintln!("error: --prometheus: {e}");
            return 2;
        }
    }
    scalepol_compiler::org::check_set(&mut outcomes, rules.as_mut());
    // The rules file's own problems are reported like a checked file's.
    if let Some(r) = rules.filter(|r| !r.diagnostics.is_empty()) {
        outcomes.push(Checked {
            files: vec![r.file],
            diagnostics: r.diagnostics,
            document: None,
            policy: None,
            partial: None,
            is_defaults: false,
        });
    }
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => auto_colour(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ),
    };
    let (errors, warnings, notes) = count(&outcomes);
    let out = render_all(
        &outcomes,
        format,
        color,
        (errors, warnings, notes),
        deny_warnings,
    );
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
        .is_err()
    {
        return 2;
    }
    if io_error {
        2
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        1
    } else {
        0
    }
}

/// `check --fix`: applies every fix of each file's own findings (in that
/// file; a fix that overlaps another is left for a second run), rewrites the
/// files that changed, and says how many fixes each got. Standard input is
/// not rewritten. 2 on an I/O error, else 0.
pub fn fix(paths: &[std::path::PathBuf]) -> u8 {
    let inputs = match files::collect(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    for input in &inputs {
        let Input::File(path) = input else { continue };
        let Ok(text) = input.read() else { continue };
        let checked = check_source(&input.name(), &text, &FsLoader);
        let (fixed, applied) = apply_fixes(&text, &checked.diagnostics);
        if applied == 0 {
            continue;
        }
        if let Err(e) = crate::fmt::rewrite(path, &fixed) {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
        eprintln!("fixed {}: {applied} fix(es)", path.display());
    }
    0
}

/// The text with every fix of file 0 applied, from the end, skipping one that
/// overlaps a fix already taken; and how many were applied.
fn apply_fixes(text: &str, diagnostics: &[Diagnostic]) -> (String, usize) {
    let mut fixes: Vec<_> = diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|f| f.file == FileId(0) && f.span.end <= text.len() && f.span.start <= f.span.end)
        .collect();
    fixes.sort_by_key(|f| std::cmp::Reverse((f.span.start, f.span.end)));
    let mut out = text.to_string();
    let mut floor = usize::MAX;
    let mut applied = 0;
    for f in fixes {
        let fits = f.span.end <= floor
            && text.is_char_boundary(f.span.start)
            && text.is_char_boundary(f.span.end);
        if fits {
            out.replace_range(f.span.start..f.span.end, &f.replacement);
            floor = f.span.start;
            applied += 1;
        }
    }
    (out, applied)
}

fn check_input(input: &Input) -> Result<Checked, String> {
    let name = input.name();
    match input.read() {
        Ok(text) => Ok(check_source(&name, &text, &FsLoader)),
        // Not UTF-8 is a fault of the policy file, not of the invocation.
        Err(e) if e.ends_with("[SP0109]") => {
            let d = Diagnostic::new(
                code::NOT_UTF8,
                FileId(0),
                scalepol_syntax::Span::default(),
                e.trim_end_matches(" [SP0109]").to_string(),
            )
            .label("not UTF-8")
            .help("re-save the file as UTF-8");
            Ok(Checked {
                files: vec![SourceFile::new(name, String::new())],
                diagnostics: vec![d],
                document: None,
                policy: None,
                partial: None,
                is_defaults: false,
            })
        }
        Err(e) => Err(e),
    }
}

fn load_rules(path: &std::path::Path) -> Result<scalepol_compiler::org::OrgRules, String> {
    let text =
        scalepol_compiler::read_source(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(scalepol_compiler::org::load_rules(
        &path.to_string_lossy(),
        &text,
    ))
}

fn count(outcomes: &[Checked]) -> (usize, usize, usize) {
    let all = outcomes.iter().flat_map(|o| &o.diagnostics);
    let (mut e, mut w, mut n) = (0, 0, 0);
    for d in all {
        match d.severity {
            Severity::Error => e += 1,
            Severity::Warning => w += 1,
            Severity::Note => n += 1,
        }
    }
    (e, w, n)
}

/// Counts of errors, warnings and notes.
type Counts = (usize, usize, usize);

fn render_all(
    outcomes: &[Checked],
    format: Format,
    color: bool,
    counts: Counts,
    deny_warnings: bool,
) -> String {
    let (errors, warnings, notes) = counts;
    let mut out = String::new();
    match format {
        Format::Human => {
            for o in outcomes {
                let files = &o.files;
                for d in &o.diagnostics {
                    out.push_str(&render::human(d, files, color));
                    out.push('\n');
                }
            }
            out.push_str(&summary_line(outcomes.len(), counts));
        }
        Format::Json => {
            let files: Vec<_> = outcomes
                .iter()
                .map(|o| {
                    let files = &o.files;
                    let ds: Vec<_> = o
                        .diagnostics
                        .iter()
                        .map(|d| render::json(d, files))
                        .collect();
                    json!({"path": files[0].name, "diagnostics": ds})
                })
                .collect();
            let doc = json!({
                "version": 1,
                "files": files,
                "summary": {"files": outcomes.len(), "errors": errors, "warnings": warnings, "notes": notes},
            });
            out = serde_json::to_string_pretty(&doc).unwrap_or_default();
            out.push('\n');
        }
        Format::Sarif => {
            out = serde_json::to_string_pretty(&render::sarif(&refs(outcomes))).unwrap_or_default();
            out.push('\n');
        }
        Format::Gitlab => {
            let report = scalepol_compiler::render_ci::gitlab(&refs(outcomes));
            out = serde_json::to_string_pretty(&report).unwrap_or_default();
            out.push('\n');
        }
        Format::Junit => out = scalepol_compiler::render_ci::junit(&refs(outcomes), deny_warnings),
        Format::Quiet => {}
        Format::Github => {
            for o in outcomes {
                let files = &o.files;
                for d in &o.diagnostics {
                    out.push_str(&render::github(d, files));
                    out.push('\n');
                }
            }
            out.push_str(&summary_line(outcomes.len(), counts));
        }
    }
    out
}

/// Each outcome's files and findings, as the machine formats take them.
fn refs(outcomes: &[Checked]) -> Vec<(&[SourceFile], &[Diagnostic])> {
    outcomes
        .iter()
        .map(|o| (o.files.as_slice(), o.diagnostics.as_slice()))
        .collect()
}

fn summary_line(files: usize, (errors, warnings, notes): Counts) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let notes = if notes > 0 {
        format!(" ({})", plural(notes, "note"))
    } else {
        String::new()
    };
    if errors == 0 && warnings == 0 {
        format!("checked {}: no problems{notes}\n", plural(files, "file"))
    } else {
        format!(
            "checked {}: {}, {}{notes}\n",
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// Colour on a terminal unless NO_COLOR is set to something (no-color.org:
/// an empty NO_COLOR does not count).
fn auto_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    #[test]
    fn an_empty_no_color_is_unset() {
        assert!(super::auto_colour(true, None));
        assert!(super::auto_colour(true, Some(OsStr::new(""))));
        assert!(!super::auto_colour(true, Some(OsStr::new("1"))));
        assert!(!super::auto_colour(false, None));
    }
}
