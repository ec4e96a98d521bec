//! Generated documentation stays in sync with the code.
//! Run with `SCALEPOL_BLESS=1` to regenerate.

fn check_generated(path: &str, expected: &str) {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("SCALEPOL_BLESS").is_some() {
        std::fs::write(&full, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        actual == expected,
        "{path} is out of date: run `SCALEPOL_BLESS=1 cargo test -p scalepol-compiler --test docs`"
    );
}

#[test]
fn docs_are_generated() {
    check_generated("docs/diagnostics.md", &scalepol_compiler::codes::markdown());
}
