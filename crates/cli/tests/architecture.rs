//! ARCHITECTURE.md against the code: the crate table's dependencies against
//! `cargo metadata`, and the diagnostic code groups against the registry.
//! A change that moves a dependency or adds a group fails here until the
//! document says so.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// The crate table: (crate, path, the names in its "depends on" column).
fn table() -> Vec<(String, String, BTreeSet<String>)> {
    let text = architecture();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `scalepol")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let path = cells[2].trim_matches('`').to_string();
        let deps = top_level_items(cells[4])
            .into_iter()
            .map(|d| {
                // "jsonschema (no default features)" names jsonschema.
                let d = d.split('(').next().unwrap_or("").trim();
                d.trim_matches('`').to_string()
            })
            .filter(|d| !d.is_empty() && d != "none")
            .collect();
        rows.push((name, path, deps));
    }
    rows
}

/// The comma-separated items of a cell, commas in parentheses kept.
fn top_level_items(cell: &str) -> Vec<String> {
    let (mut items, mut item, mut depth) = (Vec::new(), String::new(), 0usize);
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    items
}

/// `cargo metadata` of the workspace, offline, with `extra` arguments.
fn cargo_metadata(extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(extra)
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each workspace crate's normal (not dev, not build) dependencies, with
/// the workspace's own crates by their short name (`scalepol-sim` is `sim`).
fn metadata() -> Vec<(String, String, BTreeSet<String>)> {
    let v = cargo_metadata(&["--no-deps"]);
    let root = root().canonicalize().unwrap();
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let manifest = Path::new(p["manifest_path"].as_str().unwrap());
            let dir = manifest.parent().unwrap().strip_prefix(&root).unwrap();
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| {
                    let n = d["name"].as_str().unwrap();
                    n.strip_prefix("scalepol-").unwrap_or(n).to_string()
                })
                .collect();
            (
                p["name"].as_str().unwrap().to_string(),
                dir.to_string_lossy().replace('\\', "/"),
                deps,
            )
        })
        .collect()
}

const OWN: [&str; 8] = [
    "common", "syntax", "compiler", "targets", "runtime", "sim", "tune", "lsp",
];

#[test]
fn the_crate_table_matches_cargo_metadata() {
    let documented = table();
    let actual = metadata();
    let names = |rows: &[(String, String, BTreeSet<String>)]| {
        rows.iter().map(|r| r.0.clone()).collect::<BTreeSet<_>>()
    };
    assert_eq!(
        names(&documented),
        names(&actual),
        "the table lists other crates"
    );
    for (name, path, deps) in &documented {
        let (_, real_path, real) = actual.iter().find(|r| &r.0 == name).unwrap();
        assert_eq!(path, real_path, "`{name}` lives elsewhere");
        // The workspace's own crates: exactly.
        let own = |s: &BTreeSet<String>| {
            s.iter()
                .filter(|d| OWN.contains(&d.as_str()))
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(
            own(deps),
            own(real),
            "ARCHITECTURE.md: the workspace crates `{name}` depends on"
        );
        // Others: each one named is a real dependency (the table names
        // the ones that matter, not every one).
        for d in deps.iter().filter(|d| !OWN.contains(&d.as_str())) {
            assert!(
                real.contains(d),
                "ARCHITECTURE.md says `{name}` depends on `{d}`; Cargo.toml does not"
            );
        }
    }
}

#[test]
fn the_code_groups_match_the_registry() {
    let text = architecture();
    let groups: BTreeSet<String> = scalepol_compiler::REGISTRY
        .iter()
        .map(|c| c.code[..4].to_string())
        .collect();
    for g in &groups {
        assert!(
            text.contains(&format!("`{g}xx`")),
            "ARCHITECTURE.md does not describe the code group `{g}xx`"
        );
    }
}

/// The Rust version the workspace declares is no lower than what any locked
/// dependency declares: only one toolchain runs in CI, so this is how the
/// claim in Cargo.toml and the README stays true.
#[test]
fn the_declared_rust_version_covers_every_dependency() {
    let v = cargo_metadata(&["--locked"]);
    // `1.89` and `1.89.0` are the same version.
    let parse = |s: &str| -> Vec<u32> {
        let mut v: Vec<u32> = s.split('.').map(|x| x.parse().unwrap_or(0)).collect();
        v.resize(3, 0);
        v
    };
    let resolved: BTreeSet<&str> = v["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    let packages = v["packages"].as_array().unwrap();
    let declared = packages
        .iter()
        .find(|p| p["name"] == "scalepol")
        .and_then(|p| p["rust_version"].as_str())
        .expect("the workspace declares rust-version");
    let (needed, by) = packages
        .iter()
        .filter(|p| !p["source"].is_null() && resolved.contains(p["id"].as_str().unwrap()))
        .filter_map(|p| Some((parse(p["rust_version"].as_str()?), p["name"].as_str()?)))
        .max()
        .unwrap();
    assert!(
        parse(declared) >= needed,
        "Cargo.toml says rust-version {declared}, but {by} needs {needed:?}: raise it (and the README)"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("({declared} or newer)")),
        "the README's set-up names another Rust version than Cargo.toml ({declared})"
    );
}
