//! The tree-sitter grammar (editors/tree-sitter-scalepol), with the real
//! tree-sitter CLI: the committed parser is what grammar.js generates, the
//! grammar's own corpus and highlight tests pass, and it accepts exactly the
//! files the compiler's parser accepts. `SCALEPOL_TREE_SITTER` names the
//! CLI (else `tree-sitter` on PATH); CI sets `SCALEPOL_REQUIRE_TREE_SITTER=1`
//! so that a missing one fails instead of skipping.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn grammar() -> PathBuf {
    root().join("editors/tree-sitter-scalepol")
}

fn cli() -> Option<String> {
    let named = std::env::var("SCALEPOL_TREE_SITTER").unwrap_or_else(|_| "tree-sitter".into());
    let found = Command::new(&named)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("SCALEPOL_REQUIRE_TREE_SITTER").is_none(),
        "the tree-sitter CLI ({named}) is missing: `cargo install tree-sitter-cli`"
    );
    if !found {
        eprintln!(
            "note: the tree-sitter CLI is missing: skipped (`cargo install tree-sitter-cli`)"
        );
    }
    found.then_some(named)
}

/// A copy of the grammar's sources in a scratch folder, so that generating
/// and testing never touch the checkout.
fn scratch_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "grammar.js",
        "tree-sitter.json",
        "queries/highlights.scm",
        "test/corpus/nodes.txt",
        "test/highlight/policy.scalepol",
        "test/highlight/defaults.scalepol",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(grammar().join(rel), &to).unwrap();
    }
    dir
}

/// Runs the CLI with its compiled parsers in `cache`, a folder the test owns.
fn run(cmd: &mut Command, cache: &Path) -> std::process::Output {
    cmd.env("TREE_SITTER_LIBDIR", cache)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap()
}

#[test]
fn the_committed_parser_is_generated_from_the_grammar() {
    let Some(ts) = cli() else { return };
    let dir = scratch_copy();
    let cache = tempfile::tempdir().unwrap();
    let out = run(
        Command::new(&ts).arg("generate").current_dir(dir.path()),
        cache.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for rel in ["src/parser.c", "src/grammar.json", "src/node-types.json"] {
        let fresh = std::fs::read_to_string(dir.path().join(rel)).unwrap();
        let committed = std::fs::read_to_string(grammar().join(rel)).unwrap_or_default();
        assert!(
            fresh == committed,
            "editors/tree-sitter-scalepol/{rel} is stale: run `tree-sitter generate` there"
        );
    }
    // Its corpus and highlight tests, the queries generated from the vocabulary.
    let out = run(
        Command::new(&ts).arg("test").current_dir(dir.path()),
        cache.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains('✗'),
        "tree-sitter test failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("policy.scalepol"),
        "no highlight test ran:\n{text}"
    );
}

/// Every policy, defaults file and corpus case: tree-sitter finds an error
/// exactly where the compiler's parser does (the grammar mirrors
/// crates/syntax/src/scalepol.pest).
#[test]
fn tree_sitter_and_the_compiler_accept_the_same_files() {
    let Some(ts) = cli() else { return };
    let mut files = Vec::new();
    for dir in [
        "policies",
        "crates/compiler/tests/cases",
        "crates/compiler/tests/cases/support",
        "crates/lsp/tests/fixtures",
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "scalepol") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 100, "found only {} files", files.len());
    let mut rejected = 0;
    let cache = tempfile::tempdir().unwrap();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        // The compiler's nesting bound is a resource limit, not syntax: no
        // context-free grammar states it, and editors need not.
        if f.ends_with("syntax_too_deep.scalepol") {
            continue;
        }
        let compiler_accepts = scalepol_syntax::parse(&text).is_ok();
        let out = run(
            Command::new(&ts)
                .args(["parse", "--quiet", "--grammar-path"])
                .arg(grammar())
                .arg(f),
            cache.path(),
        );
        let tree_sitter_accepts = out.status.success();
        assert_eq!(
            tree_sitter_accepts,
            compiler_accepts,
            "{}: tree-sitter {}, the compiler {}\n{}",
            f.display(),
            if tree_sitter_accepts {
                "accepts"
            } else {
                "rejects"
            },
            if compiler_accepts {
                "accepts"
            } else {
                "rejects"
            },
            String::from_utf8_lossy(&out.stdout)
        );
        rejected += usize::from(!compiler_accepts);
    }
    assert!(
        rejected > 5,
        "the syntax-error cases were not among the files"
    );
}

/// Mutants of the example policies (a character deleted, or one of the
/// grammar's delimiters inserted): both parsers still agree on each.
#[test]
fn tree_sitter_and_the_compiler_agree_on_mutants() {
    let Some(ts) = cli() else { return };
    let mut sources = Vec::new();
    for e in std::fs::read_dir(root().join("policies")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "scalepol") {
            sources.push(std::fs::read_to_string(&p).unwrap());
        }
    }
    sources.sort();
    let inserts = [
        "{", "}", "\"", "`", ",", ";", ":", "<", "\n", "$", "..", "\\", "é", "//", "-",
    ];
    // A fixed linear congruential sequence: the same mutants on every run.
    let mut seed: u64 = 0x5ca1_e901;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n.max(1)
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (mut agreed, mut rejected) = (0, 0);
    for i in 0..60 {
        let base = &sources[next(sources.len())];
        let mut at = next(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let mut text = base.clone();
        if i % 2 == 0 {
            if let Some(c) = text[at..].chars().next() {
                text.replace_range(at..at + c.len_utf8(), "");
            }
        } else {
            text.insert_str(at, inserts[next(inserts.len())]);
        }
        let file = dir.path().join(format!("mutant{i}.scalepol"));
        std::fs::write(&file, &text).unwrap();
        let compiler_accepts = scalepol_syntax::parse(&text).is_ok();
        let out = run(
            Command::new(&ts)
                .args(["parse", "--quiet", "--grammar-path"])
                .arg(grammar())
                .arg(&file),
            cache.path(),
        );
        assert_eq!(
            out.status.success(),
            compiler_accepts,
            "the parsers disagree on this mutant (compiler accepts: {compiler_accepts}):\n{text}"
        );
        agreed += 1;
        rejected += usize::from(!compiler_accepts);
    }
    assert!(
        agreed == 60 && rejected > 5,
        "only {rejected} mutants were errors"
    );
}
