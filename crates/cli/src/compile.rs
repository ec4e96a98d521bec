//! `scalepol compile`: policies to target documents, validated, written
//! atomically, or compared with what is on disk (`--check`).

use crate::files;
use scalepol_compiler::model::{Policy, TargetKind};
use scalepol_compiler::{check_source, render, Checked, FsLoader, Severity};
use scalepol_targets::capability::{self, Support};
use scalepol_targets::{applies, compile, validate, Document, Options};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub struct Args<'a> {
    pub paths: &'a [PathBuf],
    pub target: Option<TargetKind>,
    pub out: &'a str,
    pub check: bool,
    /// With `check`: print the drift as a unified diff.
    pub diff: bool,
    pub explain: bool,
    pub kubernetes: (u32, u32),
    /// Errors and drift only: no notes, approximations or summaries.
    pub quiet: bool,
    /// The organisation's rules: enforced, and compiled to admission policies.
    pub rules: Option<&'a Path>,
}

/// A rendered output file.
struct Output {
    name: String,
    text: String,
}

pub fn run(a: Args) -> u8 {
    let inputs = match files::collect(a.paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut checked = Vec::new();
    for input in &inputs {
        match input.read() {
            Ok(text) => checked.push((check_source(&input.name(), &text, &FsLoader), text)),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let mut set: Vec<Checked> = checked
        .iter()
        .map(|(c, _)| Checked {
            files: c.files.clone(),
            diagnostics: Vec::new(),
            document: None,
            policy: c.policy.clone(),
            partial: None,
            is_defaults: c.is_defaults,
        })
        .collect();
    let mut rules = match a.rules.map(load_rules).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(r) = rules
        .as_ref()
        .filter(|r| r.diagnostics.iter().any(|d| d.severity == Severity::Error))
    {
        for d in &r.diagnostics {
            eprint!("{}", render::human(d, std::slice::from_ref(&r.file), false));
        }
        eprintln!("error: the rules file has errors; nothing was written");
        return 1;
    }
    scalepol_compiler::org::check_set(&mut set, rules.as_mut());
    let opts = Options {
        kubernetes: a.kubernetes,
    };
    let mut outputs = Vec::new();
    let mut failed = false;
    // Policies compiled to KEDA in external-scaler mode, with their engine
    // artifact and source: the scaler's own manifests serve them together.
    let mut served: Vec<(Policy, String, String)> = Vec::new();
    for ((c, text), extra) in checked.iter().zip(&set) {
        // `check` reports the policy's own findings; compile shows them only
        // when they stop it (errors), and otherwise its own.
        let errors: Vec<_> = c
            .diagnostics
            .iter()
            .chain(&extra.diagnostics)
            .filter(|d| d.severity == Severity::Error)
            .cloned()
            .collect();
        let Some(p) = c.policy.as_ref().filter(|_| errors.is_empty()) else {
            failed |= !c.is_defaults;
            for d in &errors {
                eprint!("{}", render::human(d, &c.files, false));
            }
            continue;
        };
        let mut diags = Vec::new();
        if a.explain {
            print!("{}", explain(p));
            continue;
        }
        let hash = hex(&Sha256::digest(text.as_bytes()));
        for target in targets(p, a.target) {
            let emitted = compile(p, target, &opts);
            if emitted.has_errors() && a.target.is_none() {
                if a.quiet {
                    continue;
                }
                eprintln!(
                    "note: {}: skipped for {} ({})",
                    c.files[0].name,
                    capability::target_name(target),
                    first_error(&emitted.diagnostics)
                );
                continue;
            }
            failed |= emitted.has_errors();
            if target == TargetKind::Keda && !emitted.has_errors() {
                let artifact = format!("{}.engine.json", p.name);
                if let Some(doc) = emitted.documents.iter().find(|d| d.file_name == artifact) {
                    let json = scalepol_targets::render(doc, "", "");
                    served.push((p.clone(), json, header_path(&c.files[0].name)));
                }
            }
            diags.extend(emitted.diagnostics);
            for doc in &emitted.documents {
                if let Err(e) = validate::check(doc) {
                    eprintln!("error: internal compiler error, nothing was written: {e}");
                    return 2;
                }
                let mut o = Output {
                    name: doc.file_name.clone(),
                    text: scalepol_targets::render(doc, &header_path(&c.files[0].name), &hash),
                };
                stdout_form(&mut o, doc, a.out == "-");
                // Companions such as the drain patch come from several targets.
                match outputs.iter().find(|x: &&Output| x.name == o.name) {
                    Some(x) if x.text == o.text => {}
                    Some(_) => {
                        eprintln!("error: internal compiler error, nothing was written: two different documents named {}", o.name);
                        return 2;
                    }
                    None => outputs.push(o),
                }
            }
        }
        scalepol_compiler::locate(&c.files, &mut diags);
        if a.quiet {
            diags.retain(|d| d.severity == Severity::Error);
        }
        print_diagnostics(&diags, c);
    }
    if a.explain {
        return u8::from(failed);
    }
    if let (Some(r), false) = (&rules, failed) {
        if let Err(e) = admission(r, &mut outputs, a.out == "-", a.quiet) {
            eprintln!("error: internal compiler error, nothing was written: {e}");
            return 2;
        }
    }
    if !failed {
        if let Err(e) = scaler_manifests(&served, &mut outputs, a.out == "-", a.quiet) {
            eprintln!("error: internal compiler error, nothing was written: {e}");
            return 2;
        }
    }
    if failed {
        eprintln!("error: compile failed; nothing was written");
        return 1;
    }
    if a.out == "-" {
        for o in &outputs {
            print!("---\n{}", o.text);
        }
        return 0;
    }
    let dir = Path::new(a.out);
    let compiled: Vec<(String, String)> = checked
        .iter()
        .filter_map(|(c, _)| {
            let p = c.policy.as_ref()?;
            Some((p.name.clone(), header_path(&c.files[0].name)))
        })
        .collect();
    let stale = stale_files(dir, &outputs, &compiled);
    if a.check {
        return drift(dir, &outputs, &stale, a.diff, a.quiet);
    }
    let code = write_all(dir, &outputs, a.quiet);
    for s in stale.iter().filter(|_| !a.quiet) {
        eprintln!(
            "note: {} was generated by scalepol but no policy produces it any more; delete it if it is not used",
            dir.join(s).display()
        );
    }
    code
}

fn load_rules(path: &Path) -> Result<scalepol_compiler::org::OrgRules, String> {
    let text =
        scalepol_compiler::read_source(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(scalepol_compiler::org::load_rules(
        &path.to_string_lossy(),
        &text,
    ))
}

/// The rules file's guardrails and quotas as admission policies, with a
/// note for what a single object cannot be checked for.
fn admission(
    rules: &scalepol_compiler::org::OrgRules,
    outputs: &mut Vec<Output>,
    to_stdout: bool,
    quiet: bool,
) -> Result<(), String> {
    let (doc, notes) = scalepol_targets::admission::compile(rules);
    for n in notes.iter().filter(|_| !quiet) {
        eprintln!("note: {}: {n}", rules.file.name);
    }
    let Some(doc) = doc else { return Ok(()) };
    validate::check(&doc)?;
    let hash = hex(&Sha256::digest(rules.file.text.as_bytes()));
    let mut o = Output {
        name: doc.file_name.clone(),
        text: scalepol_targets::render(&doc, &header_path(&rules.file.name), &hash),
    };
    stdout_form(&mut o, &doc, to_stdout);
    outputs.push(o);
    Ok(())
}

/// The manifests of the scalers that policies compiled in external mode
/// name, one file per scaler, over every such policy of this run.
fn scaler_manifests(
    served: &[(Policy, String, String)],
    outputs: &mut Vec<Output>,
    to_stdout: bool,
    quiet: bool,
) -> Result<(), String> {
    let engines: Vec<(&Policy, String)> = served.iter().map(|(p, j, _)| (p, j.clone())).collect();
    let (docs, notes) = scalepol_targets::scaler::manifests(&engines);
    for n in notes.iter().filter(|_| !quiet) {
        eprintln!("note: {n}");
    }
    let sources: Vec<&str> = served.iter().map(|(_, _, s)| s.as_str()).collect();
    let hash = hex(&Sha256::digest(
        served
            .iter()
            .map(|(_, j, _)| j.as_str())
            .collect::<String>()
            .as_bytes(),
    ));
    for doc in &docs {
        validate::check(doc)?;
        let mut o = Output {
            name: doc.file_name.clone(),
            text: scalepol_targets::render(doc, &sources.join(", "), &hash),
        };
        stdout_form(&mut o, doc, to_stdout);
        if outputs.iter().any(|x| x.name == o.name) {
            return Err(format!("two documents named {}", o.name));
        }
        outputs.push(o);
    }
    Ok(())
}

/// The policy's path as the generated files' header names it: relative to
/// the current directory when it lies below it, so that the output does not
/// depend on where the repository is checked out.
fn header_path(name: &str) -> String {
    let path = Path::new(name);
    if path.is_absolute() {
        if let Some(rel) = std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        {
            return rel.display().to_string();
        }
        return path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
    }
    name.trim_start_matches("./").to_string()
}

/// Files in the output directory that an earlier compile of these policies
/// wrote and this one does not (a pool or target removed): YAML whose
/// header names one of the compiled policy files, or JSON named as scalepol
/// names a compiled policy's AWS requests and engine artifact.
fn stale_files(dir: &Path, outputs: &[Output], compiled: &[(String, String)]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stale: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !outputs.iter().any(|o| &o.name == name))
        .filter(|name| {
            if name.ends_with(".yaml") {
                let head = read_head(&dir.join(name));
                compiled.iter().any(|(_, source)| {
                    head.starts_with("# Generated by scalepol ")
                        && head.contains(&format!(" from {source} (sha256 "))
                })
            } else {
                compiled.iter().any(|(policy, _)| {
                    name.strip_prefix(policy.as_str()).is_some_and(|rest| {
                        (rest.starts_with(".aws.") && rest.ends_with(".json"))
                            || rest == ".engine.json"
                    })
                })
            }
        })
        .collect();
    stale.sort();
    stale
}

/// On stdout every document is YAML, so the stream is one multi-document file.
fn stdout_form(o: &mut Output, doc: &Document, to_stdout: bool) {
    if to_stdout && doc.format == scalepol_targets::Format::Json {
        o.text = format!(
            "# {}\n{}",
            o.name,
            scalepol_targets::yaml::to_string(&doc.body)
        );
    }
}

fn targets(p: &Policy, only: Option<TargetKind>) -> Vec<TargetKind> {
    match only {
        Some(t) => vec![t],
        None => capability::TARGETS
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| applies(p, *t))
            .collect(),
    }
}

fn first_error(d: &[scalepol_compiler::diagnostics::Diagnostic]) -> String {
    d.iter()
        .find(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .unwrap_or_default()
}

fn print_diagnostics(diags: &[scalepol_compiler::diagnostics::Diagnostic], c: &Checked) {
    for d in diags {
        eprint!("{}", render::short(d, &c.files));
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes every output, or none, through temporary files and renames.
fn write_all(dir: &Path, outputs: &[Output], quiet: bool) -> u8 {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: {}: {e}", dir.display());
        return 2;
    }
    // All or nothing: every file is staged before any replaces its target.
    let files: Vec<(std::path::PathBuf, &str)> = outputs
        .iter()
        .map(|o| (dir.join(&o.name), o.text.as_str()))
        .collect();
    if let Err(e) = crate::fmt::write_all_atomically(&files) {
        eprintln!("error: {}: {e} (nothing written)", dir.display());
        return 2;
    }
    if !quiet {
        let s = if outputs.len() == 1 { "" } else { "s" };
        println!("wrote {} file{s} to {}", outputs.len(), dir.display());
    }
    0
}

/// The first line of a file (at most 4 KiB read): where the header is.
fn read_head(path: &Path) -> String {
    use std::io::Read;
    let mut buf = vec![0; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// `--check`: exit 1 when a file is missing, differs, or is stale; with
/// `diff`, show each change as a unified diff.
fn drift(dir: &Path, outputs: &[Output], stale: &[String], diff: bool, quiet: bool) -> u8 {
    let mut drifted = 0;
    for o in outputs {
        let path = dir.join(&o.name);
        let on_disk = std::fs::read_to_string(&path);
        match &on_disk {
            Ok(t) if *t == o.text => continue,
            Ok(_) => println!("{}: differs from the policy", path.display()),
            Err(_) => println!("{}: missing", path.display()),
        }
        drifted += 1;
        if diff {
            let old = on_disk.unwrap_or_default();
            print!(
                "{}",
                crate::fmt::unified_diff(&path.display().to_string(), &old, &o.text)
            );
        }
    }
    for s in stale {
        println!(
            "{}: stale (generated by scalepol, no longer produced by the policies)",
            dir.join(s).display()
        );
        drifted += 1;
    }
    if drifted == 0 && !quiet {
        println!("{} files up to date in {}", outputs.len(), dir.display());
    }
    u8::from(drifted > 0)
}

/// How each feature of the policy lands on each target.
fn explain(p: &Policy) -> String {
    let mut out = format!("policy `{}` ({})\n", p.name, p.workload.name);
    for pool in &p.pools {
        out.push_str(&format!("\n  pool `{}`\n", pool.name));
        let feats = scalepol_targets::features(p, pool);
        if feats.is_empty() {
            out.push_str("    (no feature needs a target-specific mapping)\n");
        }
        for (f, _) in feats {
            out.push_str(&format!("    {}\n", f.name()));
            // Only the targets this workload can be compiled to.
            for (t, label) in capability::TARGETS
                .into_iter()
                .filter(|(t, _)| applies(p, *t))
            {
                // In scaler mode the engine decides for KEDA.
                let judged =
                    if t == TargetKind::Keda && scalepol_targets::scaler::address(p).is_some() {
                        TargetKind::Engine
                    } else {
                        t
                    };
                let line = match capability::support(f, judged) {
                    Support::Native(_) if judged != t => {
                        "native: decided by the engine in `scalepol scaler` (scaler mode)"
                            .to_string()
                    }
                    Support::Native(how) => format!("native: {how}"),
                    Support::Approx(what) => format!("approximated: {what}"),
                    Support::Unsupported => format!(
                        "unsupported (native on: {})",
                        capability::native_targets(f).join(", ")
                    ),
                    Support::Elsewhere => "left to the horizontal target".to_string(),
                };
                out.push_str(&format!("      {label:<30} {line}\n"));
            }
        }
    }
    out
}
