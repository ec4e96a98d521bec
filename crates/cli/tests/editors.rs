//! The editor integrations: the VS Code extension starts `scalepol lsp`
//! (run by its smoke test under Node, with the editor's modules stubbed),
//! and its grammar is sound.

use std::path::Path;
use std::process::Command;

fn vscode() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../editors/vscode"))
}

#[test]
fn the_vscode_extension_starts_the_server() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("note: no `node`: the VS Code extension's smoke test is skipped");
        return;
    }
    let o = Command::new("node")
        .arg(vscode().join("test/smoke.js"))
        .arg(env!("CARGO_BIN_EXE_scalepol"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("ok: the server answers initialize"), "{out}");
}

#[test]
fn the_grammar_and_the_manifest_agree() {
    let pkg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vscode().join("package.json")).unwrap())
            .unwrap();
    let grammar_path = pkg["contributes"]["grammars"][0]["path"].as_str().unwrap();
    let grammar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vscode().join(grammar_path)).unwrap())
            .unwrap();
    assert_eq!(
        grammar["scopeName"],
        pkg["contributes"]["grammars"][0]["scopeName"]
    );
    // Every included rule exists.
    for p in grammar["patterns"].as_array().unwrap() {
        let name = p["include"].as_str().unwrap().trim_start_matches('#');
        assert!(
            grammar["repository"].get(name).is_some(),
            "#{name} is not in the repository"
        );
    }
    let config = pkg["contributes"]["languages"][0]["configuration"]
        .as_str()
        .unwrap();
    let lang: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vscode().join(config)).unwrap()).unwrap();
    assert_eq!(lang["comments"]["lineComment"], "//");
}
