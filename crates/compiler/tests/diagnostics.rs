//! The bad-input corpus: one small policy per case in `cases/`, each
//! snapshotted as the human report followed by the JSON diagnostics.

use scalepol_compiler::{check_source, render, FsLoader, REGISTRY};
use std::collections::BTreeSet;
use std::path::Path;

/// Human report and JSON for one case file.
fn report(path: &Path) -> (String, Vec<&'static str>) {
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(path).unwrap();
    let checked = check_source(&name, &text, &FsLoader);
    let mut out = String::new();
    for d in &checked.diagnostics {
        out.push_str(&render::human(d, &checked.files, false));
        out.push('\n');
    }
    let json: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| render::json(d, &checked.files))
        .collect();
    out.push_str("---- json ----\n");
    out.push_str(&serde_json::to_string_pretty(&json).unwrap());
    out.push('\n');
    (out, checked.diagnostics.iter().map(|d| d.code).collect())
}

#[test]
fn bad_policies() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    insta::glob!("cases/*.scalepol", |path| {
        let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        let (out, codes) = report(rel);
        let stem = rel.file_stem().unwrap().to_string_lossy();
        // `*_ok` cases are the does-not-fire half of a pair: fully clean.
        if stem.contains("_ok_") || stem.ends_with("_ok") {
            assert!(codes.is_empty(), "{stem} should be clean, got {codes:?}");
        } else {
            assert!(!codes.is_empty(), "{stem} should produce a diagnostic");
        }
        // A `*_fires` case is the other half: it fires a domain check.
        if stem.ends_with("_fires") {
            assert!(
                codes.iter().any(|c| c.starts_with("SP05")),
                "{stem} fires no domain check: {codes:?}"
            );
        }
        insta::assert_snapshot!(out);
    });
}

/// Every code of the registry is produced by at least one case (the few that
/// need inputs a file cannot hold are covered by the CLI and size tests).
#[test]
fn every_code_has_a_case() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir("tests/cases").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "scalepol") {
            seen.extend(report(&path).1);
        }
    }
    // Covered by the size test below, the CLI tests, tests/org.rs (set-wide
    // checks) and the targets crate's tests (SP07xx, compile diagnostics).
    let elsewhere = [
        "SP0107", "SP0109", "SP0221", "SP0610", "SP0611", "SP0620", "SP0621", "SP0622", "SP0623",
        "SP0701", "SP0702", "SP0703", "SP0704", "SP0705",
        // Live checks against a real Prometheus: crates/cli/tests/live.rs.
        "SP0809", "SP0810", "SP0811",
    ];
    let missing: Vec<&str> = REGISTRY
        .iter()
        .map(|c| c.code)
        .filter(|c| !seen.contains(c) && !elsewhere.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
    assert!(REGISTRY.len() >= 40);
}

#[test]
fn oversized_file_is_refused_before_parsing() {
    let text = format!(
        "policy x {{\n{}}}\n",
        "  // filler line of a generated file\n".repeat(500_000)
    );
    let checked = check_source("big.scalepol", &text, &FsLoader);
    assert_eq!(
        checked
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect::<Vec<_>>(),
        ["SP0107"]
    );
}

#[test]
fn deep_cel_nesting_does_not_overflow() {
    for expr in [
        "(".repeat(10_000),
        "1 + ".repeat(10_000) + "1",
        "a".to_string() + &".b".repeat(10_000),
        "[".repeat(5000),
    ] {
        let text = format!("policy x {{\n  workload deployment \"a/b\"\n  pool p: cpu {{ replicas 1..2 }}\n  rule \"r\" when `{expr}` {{ replicas >= 1 }}\n}}\n");
        let checked = check_source("deep.scalepol", &text, &FsLoader);
        assert!(
            checked.diagnostics.iter().any(|d| d.code == "SP0405"),
            "{:?}",
            checked.diagnostics
        );
    }
}

#[test]
fn codes_are_unique_and_named() {
    let mut codes = BTreeSet::new();
    let mut names = BTreeSet::new();
    for c in REGISTRY {
        assert!(codes.insert(c.code), "duplicate code {}", c.code);
        assert!(names.insert(c.name), "duplicate name {}", c.name);
        assert!(c.code.len() == 6 && c.code.starts_with("SP"));
        assert!(!c.explanation.is_empty());
    }
}

/// Every fix in the corpus, applied: the text re-checks without that
/// finding, and with no error the original did not have (ruff's fix tests).
#[test]
fn every_fix_removes_its_finding_and_adds_no_error() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut applied = 0;
    let mut failures = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir("tests/cases")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&path).unwrap();
        let before = check_source(&name, &text, &FsLoader);
        let errors_before: BTreeSet<&str> = before
            .diagnostics
            .iter()
            .filter(|d| d.severity == scalepol_compiler::Severity::Error)
            .map(|d| d.code)
            .collect();
        for d in &before.diagnostics {
            let Some(fix) = d.fix.as_ref().filter(|f| f.file.0 == 0) else {
                continue;
            };
            applied += 1;
            let mut fixed = text.clone();
            fixed.replace_range(fix.span.start..fix.span.end, &fix.replacement);
            let after = check_source(&name, &fixed, &FsLoader);
            let count = |c: &scalepol_compiler::Checked| {
                c.diagnostics.iter().filter(|x| x.code == d.code).count()
            };
            if count(&after) >= count(&before) {
                failures.push(format!(
                    "{name}: the fix `{}` for {} leaves it in place",
                    fix.description, d.code
                ));
            }
            let new: Vec<&str> = after
                .diagnostics
                .iter()
                .filter(|x| x.severity == scalepol_compiler::Severity::Error)
                .map(|x| x.code)
                .filter(|c| !errors_before.contains(c))
                .collect();
            if !new.is_empty() {
                failures.push(format!(
                    "{name}: the fix `{}` for {} brings new errors {new:?}",
                    fix.description, d.code
                ));
            }
        }
    }
    assert!(applied >= 20, "only {applied} fixes in the corpus");
    assert!(
        failures.is_empty(),
        "{} of {applied} fixes fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
