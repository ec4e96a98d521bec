//! The documentation's transcripts are true: every ```text block of the
//! README and docs/ that starts with `$ scalepol` is run, and what the
//! binary prints (stdout and stderr, interleaved as a terminal shows them)
//! must be what the block shows. A `...` line stands for any number of
//! lines; trailing spaces do not count. Blocks that redirect, talk to a
//! server (`run`), serve (`scaler`) or import from files the repository does not have are
//! not run.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Transcript {
    doc: String,
    /// Each command with the lines it prints.
    steps: Vec<(String, Vec<String>)>,
}

fn transcripts(doc: &str) -> Vec<Transcript> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap();
    let mut out = Vec::new();
    for block in text.split("```text\n").skip(1) {
        let body = block.split("\n```").next().unwrap_or("");
        if !body.starts_with("$ scalepol ") {
            continue;
        }
        let mut steps: Vec<(String, Vec<String>)> = Vec::new();
        for line in body.lines() {
            match line.strip_prefix("$ ") {
                Some(cmd) => {
                    // `# ...` after a command is a remark for the reader.
                    let cmd = cmd.split(" #").next().unwrap_or(cmd).trim();
                    steps.push((cmd.to_string(), Vec::new()));
                }
                None => steps
                    .last_mut()
                    .unwrap()
                    .1
                    .push(line.trim_end().to_string()),
            }
        }
        out.push(Transcript {
            doc: doc.to_string(),
            steps,
        });
    }
    out
}

fn runnable(t: &Transcript) -> bool {
    t.steps.iter().all(|(cmd, _)| {
        !cmd.contains('>')
            && !cmd.contains('"')
            && !cmd.contains('\'')
            && !cmd.starts_with("scalepol run ")
            && !cmd.starts_with("scalepol scaler ")
            && !cmd.starts_with("scalepol import ")
    })
}

/// Whether `actual` is `expected` with each `...` line standing for any
/// run of lines.
fn matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((e, rest)) => actual.first().is_some_and(|a| a == e) && matches(rest, &actual[1..]),
    }
}

/// A scratch folder that sees the repository's policies, traces and docs,
/// so that what a command writes stays out of the checkout.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["policies", "traces", "docs"] {
        std::os::unix::fs::symlink(
            root().join(name).canonicalize().unwrap(),
            dir.path().join(name),
        )
        .unwrap();
    }
    dir
}

fn run(cmd: &str, dir: &Path) -> Vec<String> {
    let mut words = cmd.split_whitespace();
    assert_eq!(words.next(), Some("scalepol"));
    // One pipe for both streams, as a terminal interleaves them.
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(env!("CARGO_BIN_EXE_scalepol"))
        .args(words)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn the_documented_transcripts_are_what_the_binary_prints() {
    let mut docs = vec!["README.md".to_string()];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            docs.push(format!("docs/{}", p.file_name().unwrap().to_string_lossy()));
        }
    }
    docs.sort();
    let mut ran = 0;
    let mut wrong = Vec::new();
    for t in docs.iter().flat_map(|d| transcripts(d)) {
        if !runnable(&t) {
            continue;
        }
        let dir = workspace();
        for (cmd, expected) in &t.steps {
            let actual = run(cmd, dir.path());
            ran += 1;
            if !matches(expected, &actual) {
                wrong.push(format!(
                    "{}: `$ {cmd}` prints:\n{}\n",
                    t.doc,
                    actual.join("\n")
                ));
            }
        }
    }
    assert!(ran >= 8, "only {ran} transcripts ran");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn ellipses_match_any_run_of_lines() {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(matches(&v(&["a", "...", "d"]), &v(&["a", "b", "c", "d"])));
    assert!(matches(&v(&["a", "...", "d"]), &v(&["a", "d"])));
    assert!(!matches(&v(&["a", "...", "d"]), &v(&["a", "b"])));
    assert!(!matches(&v(&["a"]), &v(&["a", "b"])));
}
