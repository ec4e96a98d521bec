//! The editor integrations, with real clients: the VS Code extension under
//! the real `vscode-languageclient` and packaged by `vsce`, the documented
//! Neovim setup in real headless Neovims, and the grammar's soundness.

use std::path::Path;
use std::process::Command;

fn vscode() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../editors/vscode"))
}

/// Whether a Node.js tool the editor tests need is there: a test that
/// cannot run says so, and fails under CI (`SCALEPOL_REQUIRE_VSCODE=1`).
fn available(what: &str, found: bool) -> bool {
    assert!(
        found || std::env::var_os("SCALEPOL_REQUIRE_VSCODE").is_none(),
        "{what} is missing"
    );
    if !found {
        eprintln!("note: {what} is missing: skipped (`npm ci` in editors/vscode)");
    }
    found
}

/// The extension with the real `vscode-languageclient` (its server launch,
/// `--stdio` transport and handshake; only the `vscode` API is stubbed,
/// since VS Code cannot run here) starts the real binary and gets a hover.
#[test]
fn the_vscode_extension_runs_with_the_real_languageclient() {
    let library = vscode().join("node_modules/vscode-languageclient/package.json");
    if !available("vscode-languageclient", library.exists()) {
        return;
    }
    let o = Command::new("node")
        .arg(vscode().join("test/client.js"))
        .arg(env!("CARGO_BIN_EXE_scalepol"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("completed the handshake, and hovered"),
        "{out}"
    );
}

/// `vsce package` (the tool that publishes to the marketplace) accepts the
/// extension, and the package holds the code and its runtime dependency but
/// not the tests. `SCALEPOL_VSCE` names the vsce binary.
#[test]
fn the_vscode_extension_packages() {
    let vsce = std::env::var("SCALEPOL_VSCE").ok();
    let library = vscode().join("node_modules/vscode-languageclient/package.json");
    if !available("vsce (SCALEPOL_VSCE)", vsce.is_some() && library.exists()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vsix = dir.path().join("scalepol.vsix");
    let o = Command::new(vsce.unwrap())
        .args(["package", "--allow-missing-repository", "--out"])
        .arg(&vsix)
        .current_dir(vscode())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let list = Command::new("python3")
        .args(["-m", "zipfile", "-l"])
        .arg(&vsix)
        .output()
        .unwrap();
    let files = String::from_utf8_lossy(&list.stdout);
    for f in [
        "extension/package.json",
        "extension/extension.js",
        "extension/syntaxes/scalepol.tmLanguage.json",
        "extension/LICENSE.txt",
        "extension/node_modules/vscode-languageclient/package.json",
    ] {
        assert!(files.contains(f), "{f} is not in the package:\n{files}");
    }
    assert!(!files.contains("extension/test/"), "{files}");
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

/// The Neovim binaries to drive: `SCALEPOL_NVIM` (paths separated by `:`),
/// else `nvim` on PATH. CI installs Debian's (0.7) and a 0.11+ build and
/// sets `SCALEPOL_REQUIRE_NEOVIM=1`, so that a missing one fails.
fn neovims() -> Vec<String> {
    let listed: Vec<String> = std::env::var("SCALEPOL_NVIM")
        .map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_else(|_| vec!["nvim".to_string()]);
    let required = std::env::var_os("SCALEPOL_REQUIRE_NEOVIM").is_some();
    listed
        .into_iter()
        .filter(|nvim| {
            let found = Command::new(nvim).arg("--version").output().is_ok();
            assert!(found || !required, "`{nvim}` cannot be run");
            if !found {
                eprintln!("note: no `{nvim}`: its Neovim test is skipped");
            }
            found
        })
        .collect()
}

/// The documented Neovim configuration (editors/neovim/scalepol.lua, the
/// file docs/editors.md tells users to install) in a real headless Neovim:
/// the server attaches, publishes a diagnostic, clears it after an edit in
/// the buffer, answers hover and completion. Each Neovim runs it twice: with
/// its newest API, and with `vim.lsp.config` hidden, so that a 0.11+ build
/// also exercises the `vim.lsp.start` path of 0.8-0.10.
#[test]
fn the_documented_neovim_setup_works_in_real_neovim() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let config = root.join("editors/neovim/scalepol.lua");
    let check = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/neovim/check.lua"
    ));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_scalepol")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("svc.scalepol");
    std::fs::write(
        &policy,
        "policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 1..4\n    \n  }\n  metrics prometheus \"http://prom:9090\" {\n    queue = `sum(q)`\n  }\n  scale {\n    on queu per replica target 4\n  }\n}\n",
    )
    .unwrap();
    for nvim in neovims() {
        for hide in ["", "lua vim.lsp.config = nil; vim.lsp.enable = nil"] {
            let out = dir.path().join("result");
            let _ = std::fs::remove_file(&out);
            let o = Command::new(&nvim)
                .args(["--headless", "-n", "-i", "NONE", "--cmd", hide, "-u"])
                .arg(&config)
                .arg("-c")
                .arg(format!("luafile {}", check.display()))
                .arg(&policy)
                .env("PATH", &path)
                .env("SCALEPOL_NVIM_OUT", &out)
                .current_dir(dir.path())
                .output()
                .unwrap();
            let result = std::fs::read_to_string(&out).unwrap_or_default();
            assert!(
                o.status.success() && result.starts_with("ok"),
                "{nvim} ({}): {result}\n{}{}",
                if hide.is_empty() {
                    "newest API"
                } else {
                    "vim.lsp.start"
                },
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}
