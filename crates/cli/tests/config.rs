//! `scalepol.toml`: found from the working directory upward, its settings
//! used by check and compile, flags winning over it, mistakes in it refused.

use std::path::Path;
use std::process::{Command, Output};

const GOOD: &str = "policy svc {\n  workload deployment \"ml/svc\"\n\n  pool main: cpu {\n    replicas 1..4\n  }\n\n  scale {\n    on cpu target 70%\n  }\n}\n";
// SP0220: the metric `spare` is never used (a warning).
const UNUSED: &str = "policy other {\n  workload deployment \"ml/other\"\n  pool main: cpu {\n    replicas 1..4\n  }\n  metrics prometheus \"http://p\" {\n    spare = `sum(x)`\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n";
// SP0304: the bounds are swapped.
const BAD: &str = "policy bad {\n  workload deployment \"ml/bad\"\n  pool main: cpu {\n    replicas 4..1\n  }\n}\n";

const CONFIG: &str = r#"# The project's settings.
paths = ["policies"]
exclude = ["policies/fixtures/"]
deny = "warnings"

[levels]
SP0220 = "error"

[compile]
out = "deploy"
target = "hpa"
k8s-version = "1.29"
"#;

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("scalepol.toml", config),
        ("policies/good.scalepol", GOOD),
        ("policies/unused.scalepol", UNUSED),
        ("policies/fixtures/bad.scalepol", BAD),
        ("sub/dir/.keep", ""),
    ] {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .env("NO_COLOR", "1")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn check_uses_the_nearest_config_above_the_working_directory() {
    let p = project(CONFIG);
    let o = run(&["check"], &p.path().join("sub/dir"));
    let out = text(&o);
    // The level makes the unused metric an error; the paths are seen from
    // where the command ran; the excluded fixture is not checked.
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("SP0220") && out.contains("× metric `spare`"),
        "{out}"
    );
    assert!(out.contains("../../policies/unused.scalepol"), "{out}");
    assert!(!out.contains("bad.scalepol"), "{out}");
    // A file named on the command line is checked even when excluded.
    let o = run(&["check", "policies/fixtures/bad.scalepol"], p.path());
    assert!(text(&o).contains("SP0304"), "{}", text(&o));
    // --isolated reads no configuration: the fixture is found, SP0220 is a
    // warning again.
    let o = run(&["check", "--isolated", "--format", "json"], p.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<(String, String)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["diagnostics"].as_array().unwrap().clone())
        .map(|d| {
            (
                d["code"].as_str().unwrap().into(),
                d["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        codes.contains(&("SP0304".into(), "error".into())),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("SP0220".into(), "warning".into())),
        "{codes:?}"
    );
}

#[test]
fn the_rules_file_has_the_last_word_on_levels() {
    let config = CONFIG.replace(
        "deny = \"warnings\"\n",
        "deny = \"warnings\"\nrules = \"org.rules\"\n",
    );
    let p = project(&config);
    std::fs::write(
        p.path().join("org.rules"),
        "rules org {\n  level SP0220 allow\n}\n",
    )
    .unwrap();
    let o = run(&["check"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A rules file on the command line replaces the configured one.
    std::fs::write(
        p.path().join("strict.rules"),
        "rules org {\n  level SP0220 warning\n}\n",
    )
    .unwrap();
    let o = run(&["check", "--rules", "strict.rules"], p.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "deny = warnings holds: {}",
        text(&o)
    );
}

#[test]
fn compile_takes_its_output_target_and_version_from_the_config() {
    let p = project(CONFIG);
    std::fs::remove_dir_all(p.path().join("policies/fixtures")).unwrap();
    let o = run(&["compile"], &p.path().join("sub"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut written: Vec<String> = std::fs::read_dir(p.path().join("deploy"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["other.hpa.yaml", "svc.hpa.yaml"], "{}", text(&o));
    // Flags win: --out - prints instead of writing.
    let o = run(&["compile", "--out", "-", "--target", "keda"], p.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("kind: ScaledObject"));
    // The configured Kubernetes version is checked like the flag.
    let p = project(&CONFIG.replace("1.29", "2.0"));
    let o = run(&["compile"], p.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--k8s-version 2.0"), "{}", text(&o));
}

#[test]
fn mistakes_in_the_config_are_refused_with_where_they_are() {
    let p = project("pahts = [\"policies\"]\n");
    let o = run(&["check"], &p.path().join("sub/dir"));
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("../../scalepol.toml") && out.contains("pahts"),
        "{out}"
    );
    let p = project("[levels]\nSP9999 = \"allow\"\n");
    let out = text(&run(&["check"], p.path()));
    assert!(out.contains("`SP9999` is not a diagnostic code"), "{out}");
    let p = project("[levels]\nSP0220 = \"loud\"\n");
    let out = text(&run(&["check"], p.path()));
    assert!(out.contains("allow, note, warning or error"), "{out}");
    let o = run(&["check", "--config", "missing.toml"], p.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing.toml"));
}

#[test]
fn an_explicit_config_is_used_from_anywhere() {
    let p = project(CONFIG);
    std::fs::write(
        p.path().join("sub/lenient.toml"),
        "paths = [\"../policies\"]\n",
    )
    .unwrap();
    let o = run(&["check", "--config", "sub/lenient.toml"], p.path());
    let out = text(&o);
    // No deny, no levels, no exclude: the fixture is checked, SP0220 warns.
    assert!(
        out.contains("policies/fixtures/bad.scalepol") && out.contains("SP0304"),
        "{out}"
    );
}
