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
    // The reference at the end of docs/language.md, from the vocabulary.
    let path = format!("{}/../../docs/language.md", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let marker = "<!-- reference: generated from crates/compiler/src/vocabulary.rs -->\n";
    let head = text.split(marker).next().unwrap_or(&text);
    let reference = scalepol_compiler::vocabulary::markdown();
    check_generated(
        "docs/language.md",
        &format!("{head}{marker}\n{}\n", reference.trim_end()),
    );
    check_generated(
        "editors/tree-sitter-scalepol/queries/highlights.scm",
        &scalepol_compiler::vocabulary::highlights(),
    );
}

/// A word is either a node keyword or an argument word, never both: the
/// highlight queries give each one colour.
#[test]
fn argument_words_are_not_node_keywords() {
    use scalepol_compiler::vocabulary::{node_keywords, ARGUMENT_WORDS};
    let keywords = node_keywords();
    for w in ARGUMENT_WORDS {
        assert!(!keywords.contains(w), "`{w}` is both");
    }
    let mut sorted = ARGUMENT_WORDS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, ARGUMENT_WORDS, "ARGUMENT_WORDS: keep sorted, once");
}

/// The VS Code grammar highlights every keyword of the vocabulary.
#[test]
fn the_editor_grammar_knows_every_keyword() {
    let path = format!(
        "{}/../../editors/vscode/syntaxes/scalepol.tmLanguage.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let grammar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let repo = &grammar["repository"];
    let words = |key: &str| -> Vec<String> {
        let m = repo[key]["match"].as_str().unwrap_or("");
        let inner = m
            .split('(')
            .nth(1)
            .and_then(|x| x.split(')').next())
            .unwrap_or("");
        inner.split('|').map(str::to_string).collect()
    };
    let known: Vec<String> = words("block-keyword")
        .into_iter()
        .chain(words("keyword"))
        .collect();
    for k in scalepol_compiler::vocabulary::ARGUMENT_WORDS {
        assert!(
            known.iter().any(|w| w == k),
            "editors/vscode/syntaxes: argument word `{k}` is not highlighted"
        );
    }
    for b in scalepol_compiler::vocabulary::BLOCKS {
        for k in std::iter::once(b.keyword).chain(b.keywords()) {
            assert!(
                known.iter().any(|w| w == k),
                "editors/vscode/syntaxes: `{k}` ({}) is not highlighted",
                b.name
            );
        }
    }
}

/// Every complete `scalepol` example in the docs and README parses (blocks
/// with `...` are excerpts and are skipped).
#[test]
fn documented_examples_parse() {
    for path in ["docs/language.md", "README.md", "docs/diagnostics.md"] {
        let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&full).unwrap();
        let mut blocks = text.split("```scalepol\n").skip(1);
        let mut count = 0;
        for block in blocks.by_ref() {
            let code = block.split("```").next().unwrap();
            if code.contains("...") || code.contains("// wrong") || code.contains("// SP0") {
                continue;
            }
            if let Err(e) = scalepol_syntax::parse(code) {
                panic!("{path}: example does not parse: {e:?}\n{code}");
            }
            count += 1;
        }
        assert!(
            count > 0 || path.ends_with("diagnostics.md"),
            "{path}: no examples checked"
        );
    }
}

/// The README's headline example is a complete, clean policy.
#[test]
fn readme_example_checks_clean() {
    let full = format!("{}/../../README.md", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap();
    let code = text
        .split("```scalepol\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let checked = scalepol_compiler::check_source("README.md", code, &scalepol_compiler::FsLoader);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
}

/// Every domain check (`SP05xx`) has its section in docs/checks.md.
#[test]
fn every_domain_check_is_documented() {
    let full = format!("{}/../../docs/checks.md", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(full).unwrap();
    for c in scalepol_compiler::REGISTRY
        .iter()
        .filter(|c| c.code.starts_with("SP05"))
    {
        assert!(
            text.contains(&format!("**{} {}**", c.code, c.name)),
            "docs/checks.md lacks {} {}",
            c.code,
            c.name
        );
    }
}
