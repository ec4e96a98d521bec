//! End-to-end tests of the `scalepol` binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scalepol"));
    c.env("NO_COLOR", "1");
    c
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str], dir: &Path) -> Output {
    bin().args(args).current_dir(dir).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const GOOD: &str = "policy svc {\n  workload deployment \"ml/svc\"\n\n  pool main: cpu {\n    replicas 1..4\n  }\n\n  scale {\n    on cpu target 70%\n  }\n}\n";
const UNUSED: &str = "policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 1..4\n  }\n  metrics prometheus \"http://p\" {\n    spare = `sum(x)`\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n";
const BAD: &str = "policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 4..1\n  }\n}\n";

fn temp_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn the_example_policies_check_clean() {
    let o = run(&["check", "policies/"], &root());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("no problems"));
}

#[test]
fn errors_exit_1_and_show_code_span_and_help() {
    let d = temp_with(&[("bad.scalepol", BAD.as_bytes())]);
    let o = run(&["check", "bad.scalepol"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("SP0304")
            && out.contains("bad.scalepol:4:14")
            && out.contains("swap the bounds"),
        "{out}"
    );
}

#[test]
fn warnings_fail_only_under_deny_warnings() {
    let d = temp_with(&[("w.scalepol", UNUSED.as_bytes())]);
    assert_eq!(
        run(&["check", "w.scalepol"], d.path()).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["check", "--deny", "warnings", "w.scalepol"], d.path())
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let d = temp_with(&[]);
    assert_eq!(
        run(&["check", "missing.scalepol"], d.path()).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["check", "--format", "xml"], d.path()).status.code(),
        Some(2)
    );
    assert_eq!(run(&["explain", "SP9999"], d.path()).status.code(), Some(2));
}

#[test]
fn json_output_is_documented_shape() {
    let d = temp_with(&[
        ("bad.scalepol", BAD.as_bytes()),
        ("good.scalepol", GOOD.as_bytes()),
    ]);
    let o = run(&["check", "--format", "json", "."], d.path());
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["files"], 2);
    assert_eq!(v["summary"]["errors"], 1);
    let d0 = &v["files"][0]["diagnostics"][0];
    assert_eq!(d0["code"], "SP0304");
    assert_eq!(d0["severity"], "error");
    assert_eq!(d0["primary"]["start"]["line"], 4);
    assert_eq!(d0["primary"]["start"]["column"], 14);
    assert_eq!(d0["fix"]["replacement"], "1..4");
    assert_eq!(v["files"][1]["diagnostics"].as_array().unwrap().len(), 0);
}

#[test]
fn sarif_output_is_valid_for_code_scanning() {
    let d = temp_with(&[("bad.scalepol", BAD.as_bytes())]);
    let o = run(&["check", "--format", "sarif", "bad.scalepol"], d.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "scalepol");
    assert!(run0["tool"]["driver"]["rules"].as_array().unwrap().len() >= 40);
    let r = &run0["results"][0];
    assert_eq!(r["ruleId"], "SP0304");
    assert_eq!(r["level"], "error");
    let region = &r["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 4);
    assert_eq!(region["startColumn"], 14);
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "bad.scalepol"
    );
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run0["tool"]["driver"]["rules"][idx]["id"], "SP0304");
}

#[test]
fn github_annotations() {
    let d = temp_with(&[("bad.scalepol", BAD.as_bytes())]);
    let o = run(&["check", "--format", "github", "bad.scalepol"], d.path());
    let out = stdout(&o);
    assert!(out.starts_with("::error file=bad.scalepol,line=4,col=14,endLine=4,endColumn=18,title=SP0304 inverted-range::"), "{out}");
    assert!(!out.lines().next().unwrap().contains('\n'));
}

#[test]
fn stdin_is_checked() {
    let o = run_with_stdin(&["check", "-"], &root(), BAD);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("<stdin>:4:14"));
}

#[test]
fn non_utf8_file_gets_a_diagnostic() {
    let d = temp_with(&[("bin.scalepol", b"policy x {\xff\xfe}\n")]);
    let o = run(&["check", "--format", "json", "bin.scalepol"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"][0]["diagnostics"][0]["code"], "SP0109");
}

#[test]
fn one_broken_file_does_not_hide_errors_in_others() {
    let d = temp_with(&[
        ("a.scalepol", b"policy x {\n"),
        ("b.scalepol", BAD.as_bytes()),
    ]);
    let o = run(&["check", "--format", "json", "."], d.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"][0]["diagnostics"][0]["code"], "SP0104");
    assert_eq!(v["files"][1]["diagnostics"][0]["code"], "SP0304");
}

#[test]
fn duplicate_policy_names_across_files() {
    let d = temp_with(&[
        ("a.scalepol", GOOD.as_bytes()),
        ("b.scalepol", GOOD.as_bytes()),
    ]);
    let o = run(&["check", "."], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("SP0221"));
}

#[test]
fn fmt_check_rewrite_and_idempotence() {
    let messy = "policy   svc{\n  workload deployment \"ml/svc\" // the service\n\n\n  pool main: cpu { replicas 1..4 }\n  scale {\n      on cpu target 70%\n  }\n}";
    let d = temp_with(&[("m.scalepol", messy.as_bytes())]);
    assert_eq!(
        run(&["fmt", "--check", "m.scalepol"], d.path())
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("m.scalepol")).unwrap(),
        messy,
        "--check must not write"
    );
    assert_eq!(run(&["fmt", "m.scalepol"], d.path()).status.code(), Some(0));
    let once = std::fs::read_to_string(d.path().join("m.scalepol")).unwrap();
    assert!(once.contains("// the service"));
    assert_eq!(
        run(&["fmt", "--check", "m.scalepol"], d.path())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["check", "m.scalepol"], d.path()).status.code(),
        Some(0)
    );
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors() {
    let broken = "policy svc {\n  workload \"unterminated\n}\n";
    let d = temp_with(&[("b.scalepol", broken.as_bytes())]);
    let o = run(&["fmt", "b.scalepol"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SP0102"));
    assert_eq!(
        std::fs::read_to_string(d.path().join("b.scalepol")).unwrap(),
        broken
    );
}

#[test]
fn explain_prints_the_long_form() {
    let o = run(&["explain", "sp0203"], &root());
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.starts_with("SP0203 (duplicate-item, error)") && out.contains("warmup 90s"),
        "{out}"
    );
    let all = stdout(&run(&["explain"], &root()));
    assert!(all.lines().count() >= 40);
}

#[test]
fn help_teaches() {
    let out = stdout(&run(&["check", "--help"], &root()));
    assert!(out.contains("scalepol check --format sarif"));
}

#[test]
fn rules_file_guardrails_and_levels() {
    let rules = "rules acme {\n  level SP0532 error\n  guardrail \"cpu pools stay small\" {\n    code ACME001\n    severity warning\n    message \"CPU pools stay under 3 replicas\"\n    require `policy.pools.all(p, p.replicas.max < 3)`\n  }\n}\n";
    let d = temp_with(&[
        ("good.scalepol", GOOD.as_bytes()),
        ("acme.rules", rules.as_bytes()),
    ]);
    let o = run(
        &[
            "check",
            "--format",
            "json",
            "--rules",
            "acme.rules",
            "good.scalepol",
        ],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diag = &v["files"][0]["diagnostics"][0];
    assert_eq!(diag["code"], "ACME001", "{}", stdout(&o));
    assert_eq!(diag["severity"], "warning");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        run(
            &[
                "check",
                "--deny",
                "warnings",
                "--rules",
                "acme.rules",
                "good.scalepol"
            ],
            d.path()
        )
        .status
        .code(),
        Some(1)
    );
    // SARIF names the organisation's code as a rule too.
    let o = run(
        &[
            "check",
            "--format",
            "sarif",
            "--rules",
            "acme.rules",
            "good.scalepol",
        ],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &v["runs"][0]["results"][0];
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"][idx]["id"],
        "ACME001"
    );
    // A broken rules file is reported with its own spans.
    std::fs::write(
        d.path().join("bad.rules"),
        "rules acme {\n  levle SP0532 allow\n}\n",
    )
    .unwrap();
    let o = run(
        &["check", "--rules", "bad.rules", "good.scalepol"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("bad.rules:2:3"), "{}", stdout(&o));
    assert_eq!(
        run(
            &["check", "--rules", "missing.rules", "good.scalepol"],
            d.path()
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn compile_writes_validated_files_deterministically() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_string_lossy().into_owned();
    let o = run(&["compile", "policies/", "--out", &dir], &root());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let first: Vec<(String, String)> = {
        let mut v: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert!(first.len() >= 30, "{}", first.len());
    assert!(
        first.iter().any(|(n, _)| n == "reranker.hpa.yaml")
            && first.iter().any(|(n, _)| n == "recsys.keda.yaml")
    );
    let hpa = &first
        .iter()
        .find(|(n, _)| n == "reranker.hpa.yaml")
        .unwrap()
        .1;
    assert!(
        hpa.starts_with("# Generated by scalepol")
            && hpa.contains("Do not edit")
            && hpa.contains("sha256 ")
    );
    // Same input, byte-identical output; --check agrees, then sees drift.
    assert_eq!(
        run(&["compile", "policies/", "--out", &dir, "--check"], &root())
            .status
            .code(),
        Some(0)
    );
    std::fs::write(out.path().join("reranker.hpa.yaml"), "edited\n").unwrap();
    let o = run(&["compile", "policies/", "--out", &dir, "--check"], &root());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("reranker.hpa.yaml: differs"));
    assert_eq!(
        run(&["compile", "policies/", "--out", &dir], &root())
            .status
            .code(),
        Some(0)
    );
    for (name, text) in &first {
        assert_eq!(
            &std::fs::read_to_string(out.path().join(name)).unwrap(),
            text,
            "{name} changed between runs"
        );
    }
}

#[test]
fn compile_to_stdout_is_multi_document_yaml() {
    let o = run(
        &[
            "compile",
            "policies/recsys-schedules.scalepol",
            "--target",
            "keda",
            "-o",
            "-",
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("---\n"));
    assert!(text.contains("kind: ScaledObject") && text.contains("type: cron"));
}

#[test]
fn a_failed_compile_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("gen");
    let o = run(
        &[
            "compile",
            "policies/chat-llama3.scalepol",
            "--target",
            "hpa",
            "--out",
            &dir.to_string_lossy(),
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("SP0702") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!dir.exists());
    // A policy with check errors does not compile either.
    let d = temp_with(&[("bad.scalepol", BAD.as_bytes())]);
    assert_eq!(
        run(&["compile", "bad.scalepol", "-o", "-"], d.path())
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["compile", "bad.scalepol", "--target", "nope"], d.path())
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn compile_explain_shows_each_feature_on_each_target() {
    let o = run(
        &["compile", "policies/recsys-schedules.scalepol", "--explain"],
        &root(),
    );
    let text = stdout(&o);
    assert!(
        text.contains("schedules")
            && text.contains("unsupported (native on: aws)")
            && text.contains("approximated: a `cron` trigger"),
        "{text}"
    );
}

#[test]
fn import_turns_manifests_into_policies() {
    // This object has settings with no equivalent: without --lossy the
    // import refuses, writing nothing.
    let example = "crates/targets/tests/schema-examples/keda-scaledobject-v1alpha1.valid.yaml";
    let o = run(&["import", example], &root());
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass --lossy"));
    let o = run(&["import", "--lossy", example], &root());
    assert_eq!(o.status.code(), Some(0));
    let policy = stdout(&o);
    assert!(
        policy.contains("policy llm-server {")
            && policy.contains("activate 0.5")
            && policy.contains("fallback at least 4 replicas after 3 failures")
            && policy.contains("scale_to_zero after 10m"),
        "{policy}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("not carried over"));
    // The imported policy checks and is already formatted.
    let d = temp_with(&[("imported.scalepol", policy.as_bytes())]);
    assert_eq!(
        run(&["check", "imported.scalepol"], d.path()).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["fmt", "--check", "imported.scalepol"], d.path())
            .status
            .code(),
        Some(0)
    );
    // Several objects need a directory; each becomes its own file.
    let two =
        format!(
            "{}---\n{}",
            std::fs::read_to_string(root().join(
                "crates/targets/tests/schema-examples/hpa-autoscaling-v2-k8s-1.36.valid.yaml"
            ))
            .unwrap(),
            std::fs::read_to_string(root().join(
                "crates/targets/tests/schema-examples/keda-scaledobject-v1alpha1.valid.yaml"
            ))
            .unwrap()
            .replace(
                "name: llm-server\n  namespace",
                "name: llm-server-keda\n  namespace"
            )
        );
    std::fs::write(d.path().join("two.yaml"), two).unwrap();
    assert_eq!(
        run(&["import", "--lossy", "two.yaml"], d.path())
            .status
            .code(),
        Some(2)
    );
    std::fs::create_dir(d.path().join("out")).unwrap();
    assert_eq!(
        run(&["import", "--lossy", "two.yaml", "--out", "out"], d.path())
            .status
            .code(),
        Some(0)
    );
    assert!(
        d.path().join("out/llm-server.scalepol").exists()
            && d.path().join("out/llm-server-keda.scalepol").exists()
    );
    std::fs::write(
        d.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
    )
    .unwrap();
    assert_eq!(
        run(&["import", "svc.yaml"], d.path()).status.code(),
        Some(1)
    );
}

#[test]
fn policy_tests_run_through_the_engine() {
    let o = run(&["test", "policies/"], &root());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("a queue doubles capacity ... ok")
            && out.contains("test result: ok. 9 passed; 0 failed"),
        "{out}"
    );
    let failing = GOOD.replace("  scale {", "  test \"never\" {\n    given { replicas 2, cpu 99% }\n    expect replicas 1\n  }\n  scale {");
    let d = temp_with(&[("f.scalepol", failing.as_bytes())]);
    let o = run(&["test", "f.scalepol"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("never ... FAILED") && out.contains("expected replicas 1, got 3"),
        "{out}"
    );
}

#[test]
fn decide_streams_decisions_and_survives_bad_lines() {
    let input = "{\"time\": 0, \"replicas\": 2, \"metrics\": {\"queue_depth\": 40, \"kv_cache\": 50}}\nnot json\n{\"time\": 15, \"replicas\": 4, \"metrics\": {\"queue_depth\": null, \"kv_cache\": 50}}\n";
    let o = run_with_stdin(&["decide", "policies/chat-llama3.scalepol"], &root(), input);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    // queue 40 over 4 per replica wants 10; the scale-up rate allows max(2 + 4, 2 x 2) = 6.
    assert_eq!(lines[0]["desired"], 6);
    assert!(lines[0]["limited_by"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("rate")));
    // queue_depth unreadable and kv_cache asks for fewer: hold.
    assert_eq!(lines[1]["desired"], 4);
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2:"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn simulate_prints_a_summary_and_writes_a_self_contained_report() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("sim.html");
    let o = run(
        &[
            "simulate",
            "policies/chat-llama3.scalepol",
            "--trace",
            "traces/azure_llm_2023_conv.csv",
            "--scale",
            "peak",
            "--report",
            html.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = stdout(&o);
    assert!(
        text.contains("simulated chat-llama3 on pool `l4`")
            && text.contains("static peak")
            && text.contains("HPA defaults")
            && text.contains("vs static peak: the policy"),
        "{text}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!doctype html>") && page.matches("<svg").count() == 3);
    // Self-contained: nothing to fetch.
    assert!(!page.contains("src=") && !page.contains("href="));
}

#[test]
fn simulate_json_has_every_run() {
    let o = run(
        &[
            "simulate",
            "policies/embeddings-cpu.scalepol",
            "--trace",
            "traces/azure_llm_2023_code.csv",
            "--json",
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["name"], "policy");
    assert!(runs[0]["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(v["trace"]["requests"], 8819);
}

#[test]
fn simulate_rejects_a_malformed_trace_with_its_line() {
    let dir = temp_with(&[(
        "t.csv",
        b"timestamp_s,input_tokens,output_tokens\n0,1,1\n5,1,1\n3,1,1\n",
    )]);
    let policy = root().join("policies/chat-llama3.scalepol");
    let o = run(
        &["simulate", policy.to_str().unwrap(), "--trace", "t.csv"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 4") && err.contains("sorted"), "{err}");
    let good = root().join("traces/azure_llm_2023_code.csv");
    for (args, words) in [
        (vec!["--metric", "nope=queued"], "does not declare"),
        (vec!["--metric", "queue_depth=sideways"], "unknown signal"),
        (vec!["--pool", "h100"], "no pool `h100`"),
        (vec!["--scale", "0"], "must be above 0"),
        (vec!["--start", "yesterday"], "RFC 3339"),
    ] {
        let mut a = vec![
            "simulate",
            policy.to_str().unwrap(),
            "--trace",
            good.to_str().unwrap(),
        ];
        a.extend(args);
        let o = run(&a, dir.path());
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(words), "{err}");
    }
}

#[test]
fn simulate_reports_the_oracle_the_start_and_a_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let o = run(
        &[
            "simulate",
            "policies/image-gen-sdxl.scalepol",
            "--trace",
            "traces/azure_llm_2023_conv.csv",
            "--scale",
            "peak",
            "--settle",
            "5m",
            "--json",
            "--report",
            html.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["start"].as_str().unwrap().starts_with("warm"));
    assert_eq!(v["settle_s"], 300.0);
    let oracle = v["oracle"]["replica_hours"].as_f64().unwrap();
    let static_peak = v["runs"][1]["replica_hours"].as_f64().unwrap();
    assert!(
        oracle > 0.0 && oracle < static_peak,
        "{oracle} {static_peak}"
    );
    let share = v["runs"][0]["captured_share"].as_f64().unwrap();
    let policy = v["runs"][0]["replica_hours"].as_f64().unwrap();
    let expected = (static_peak - policy) / (static_peak - oracle);
    assert!((share - expected).abs() < 0.01, "{share} {expected}");
    let timeline = v["runs"][0]["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 59);
    let m = &timeline[30];
    for field in [
        "t",
        "demand_rps",
        "ready",
        "warming",
        "draining",
        "latency_ms",
        "slo_met",
    ] {
        assert!(m.get(field).is_some(), "{field}: {m}");
    }
    // The report file is readable by others under the usual umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&html).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o044, 0o044, "{mode:o}");
    }
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<table>") && page.contains("perfect foresight"));
    // A cold start is said so.
    let o = run(
        &[
            "simulate",
            "policies/image-gen-sdxl.scalepol",
            "--trace",
            "traces/azure_llm_2023_conv.csv",
            "--cold",
        ],
        &root(),
    );
    assert!(stdout(&o).contains("start: cold"), "{}", stdout(&o));
}

#[test]
fn tune_prints_changes_and_writes_them_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.scalepol");
    std::fs::copy(root().join("policies/image-gen-sdxl.scalepol"), &policy).unwrap();
    let before = std::fs::read_to_string(&policy).unwrap();
    let trace = root().join("traces/azure_llm_2023_conv.csv");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "tune",
            policy.to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
            "--scale",
            "peak",
            "--budget-sims",
            "200",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let o = bin().args(args(&[])).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = stdout(&o);
    assert!(
        text.contains("change(s)") && text.contains("before") && text.contains("captured share"),
        "{text}"
    );
    // Nothing written without --write.
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), before);
    let o = bin().args(args(&["--write"])).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let after = std::fs::read_to_string(&policy).unwrap();
    assert_ne!(after, before);
    let o = run(
        &["check", "--deny", "warnings", policy.to_str().unwrap()],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // Tuning the tuned policy finds it already tuned or better still.
    let o = bin().args(args(&["--json"])).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (b, a) = (
        v["tuning"]["before"]["runs"][0]["cost_usd"]
            .as_f64()
            .unwrap(),
        v["tuning"]["after"]["runs"][0]["cost_usd"]
            .as_f64()
            .unwrap(),
    );
    assert!(a <= b);
}

#[test]
fn diff_compares_decisions_and_gates_on_cost_and_slo() {
    let dir = tempfile::tempdir().unwrap();
    let old = root().join("policies/image-gen-sdxl.scalepol");
    let text = std::fs::read_to_string(&old).unwrap();
    // A lower per-replica target: more replicas, more cost.
    let new = dir.path().join("new.scalepol");
    std::fs::write(
        &new,
        text.replace("per replica target 1.5", "per replica target 1"),
    )
    .unwrap();
    let trace = root().join("traces/azure_llm_2023_conv.csv");
    let base = [
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ];
    let o = run(&base, &root());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let t = stdout(&o);
    assert!(
        t.contains("decisions:") && t.contains("differ") && t.contains("cost"),
        "{t}"
    );
    let mut gated = base.to_vec();
    gated.extend(["--max-cost-increase", "5%"]);
    let o = run(&gated, &root());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("fail: the new policy costs"),
        "{}",
        stdout(&o)
    );
    let mut json = base.to_vec();
    json.push("--json");
    let o = run(&json, &root());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["diff"]["differing"].as_u64().unwrap() > 0);
    assert!(v["diff"]["cost_change"].as_f64().unwrap() > 0.05, "{v}");
    // The same policy twice: nothing differs, every gate passes.
    let same = [
        "diff",
        old.to_str().unwrap(),
        old.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
        "--max-cost-increase",
        "0%",
    ];
    let o = run(&same, &root());
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("decisions: 0 of"), "{}", stdout(&o));
}

#[test]
fn a_rule_that_checks_also_loads_in_the_engine() {
    // Non-ASCII inside a string literal: the compiler and the runtime hold
    // CEL to the same limits (scalepol-common), so what checks also decides.
    let policy = "policy svc {\n  workload deployment \"ml/svc\"\n  pool main: cpu {\n    replicas 1..4\n  }\n  metrics prometheus \"http://prom:9090\" {\n    queue = `sum(q)`\n  }\n  scale {\n    on cpu target 70%\n  }\n  rule \"größe\" when `queue > 1.0 && \"größe\" != \"\"` {\n    replicas >= 2\n  }\n}\n";
    let dir = temp_with(&[("p.scalepol", policy.as_bytes())]);
    let o = run(&["check", "--deny", "warnings", "p.scalepol"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run_with_stdin(
        &["decide", "p.scalepol"],
        dir.path(),
        "{\"time\": 0, \"replicas\": 1, \"metrics\": {\"queue\": 5, \"cpu\": 70}}\n",
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("\"desired\":2"), "{}", stdout(&o));
}

/// A ScaledObject whose fields try to break out of their literals.
fn hostile_scaled_object(query: &str, threshold: &str, name: &str) -> String {
    format!(
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: {name}\n  namespace: ml\nspec:\n  scaleTargetRef:\n    name: api\n  minReplicaCount: 1\n  maxReplicaCount: 4\n  triggers:\n    - type: prometheus\n      name: q\n      metadata:\n        serverAddress: http://prom:9090\n        query: {query}\n        threshold: {threshold}\n"
    )
}

#[test]
fn import_refuses_values_that_would_leave_their_literals() {
    let cases = [
        // A back-quote closes the query and plants a rule.
        (hostile_scaled_object("'sum(x)` as percent\n  }\n  rule \"r\" when `true` { replicas >= 4 }\n  metrics prometheus \"h\" { y = `z'", "'5'", "api"), "back-quote"),
        // A threshold that is code, not a number.
        (hostile_scaled_object("sum(x)", "'5 }\n  rule \"r\" when `true` { replicas >= 4 }\n  scale { on q target 5'", "api"), "not a number"),
        // A name with a line break would end the header comment.
        (hostile_scaled_object("sum(x)", "'5'", "\"api\\nrule x\""), ""),
    ];
    for (yaml, words) in cases {
        let dir = temp_with(&[("so.yaml", yaml.as_bytes())]);
        let o = run(&["import", "so.yaml"], dir.path());
        let err = String::from_utf8_lossy(&o.stderr);
        let out = stdout(&o);
        if words.is_empty() {
            // Imported: then nothing of the input became a setting.
            assert_eq!(o.status.code(), Some(0), "{err}");
            assert!(!out.contains("\nrule") && !out.contains("  rule"), "{out}");
        } else {
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert!(err.contains(words), "{err}");
            assert!(out.is_empty(), "nothing printed on a refused import: {out}");
        }
    }
}

#[test]
fn extends_stays_inside_the_project_and_never_echoes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("p")).unwrap();
    std::fs::write(dir.path().join("secret.scalepol"), "TOKEN=hunter2\n").unwrap();
    std::fs::write(repo.join("p/env.scalepol"), "API_KEY = {{ hunter3\n").unwrap();
    let policy = |extends: &str| {
        format!("policy x extends \"{extends}\" {{\n  workload deployment \"a/b\"\n  pool p: cpu {{\n    replicas 1..2\n  }}\n}}\n")
    };
    for (extends, words) in [
        ("../../secret.scalepol", "outside the project"),
        ("/etc/passwd", "relative"),
        ("../../../../../../etc/passwd", ".scalepol"),
        ("env.scalepol", "does not parse"),
    ] {
        std::fs::write(repo.join("p/x.scalepol"), policy(extends)).unwrap();
        let o = run(&["check", "p/x.scalepol"], &repo);
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(text.contains(words), "{extends}: {text}");
        assert!(
            !text.contains("hunter") && !text.contains("root:"),
            "{text}"
        );
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("f.scalepol");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.map(|s| s.success()).unwrap_or(false) {
        let o = run(&["check", fifo.to_str().unwrap()], dir.path());
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("not a regular file"));
    }
    let o = run(&["check", "/dev/zero"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a regular file"));
    let o = run(
        &[
            "simulate",
            "policies/chat-llama3.scalepol",
            "--trace",
            "/dev/zero",
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_byte_order_mark_is_not_an_error() {
    let mut text = vec![0xef, 0xbb, 0xbf];
    text.extend_from_slice(GOOD.as_bytes());
    let dir = temp_with(&[("p.scalepol", &text)]);
    let o = run(&["check", "p.scalepol"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn import_to_a_directory_never_overwrites_a_namesake() {
    let one = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: api\n  namespace: a\nspec:\n  scaleTargetRef:\n    kind: Deployment\n    name: api\n  minReplicas: 1\n  maxReplicas: 3\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: 70\n";
    let two = one.replace("namespace: a", "namespace: b");
    let dir = temp_with(&[("m.yaml", format!("{one}---\n{two}").as_bytes())]);
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let o = run(&["import", "m.yaml", "--out", "out"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dir.path().join("out/api.scalepol").exists());
    let second = std::fs::read_to_string(dir.path().join("out/api-2.scalepol")).unwrap();
    assert!(second.contains("\"b/api\""), "{second}");
}

/// Runs `args` in `dir` with `input` on stdin.
fn run_with_stdin(args: &[&str], dir: &Path, input: &str) -> Output {
    let mut child = bin()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn decide_and_test_run_an_engine_artifact_as_they_run_its_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = root().join("policies/chat-llama3.scalepol");
    let policy = policy.to_str().unwrap();
    let o = run(
        &["compile", policy, "--target", "engine", "--out", "."],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let input = "{\"time\": 0, \"replicas\": 2, \"metrics\": {\"queue_depth\": 40, \"kv_cache\": 50}}\n{\"time\": 15, \"replicas\": 6, \"metrics\": {\"queue_depth\": 2, \"kv_cache\": 10}}\n";
    let from_policy = run_with_stdin(&["decide", policy], dir.path(), input);
    let from_artifact = run_with_stdin(&["decide", "chat-llama3.engine.json"], dir.path(), input);
    assert!(
        from_artifact.status.success(),
        "{}",
        String::from_utf8_lossy(&from_artifact.stderr)
    );
    assert_eq!(stdout(&from_policy), stdout(&from_artifact));
    assert_eq!(stdout(&from_artifact).lines().count(), 2);
    // The policy's tests against the deployed artifact: they pass.
    let o = run(
        &["test", policy, "--engine", "chat-llama3.engine.json"],
        dir.path(),
    );
    assert!(
        o.status.success(),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    // An artifact edited to a narrower range no longer passes them.
    let text = std::fs::read_to_string(dir.path().join("chat-llama3.engine.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["pools"][0]["max"] = 2.into();
    std::fs::write(dir.path().join("narrow.engine.json"), v.to_string()).unwrap();
    let o = run(
        &["test", policy, "--engine", "narrow.engine.json"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAILED"));
    // A file that is not an artifact: a clear error, exit 1.
    std::fs::write(dir.path().join("bad.json"), "{\"format\": \"other\"}").unwrap();
    let o = run_with_stdin(&["decide", "bad.json"], dir.path(), input);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a scalepol engine artifact"));
}

#[test]
fn an_hpa_without_behavior_round_trips_and_decides_on_the_legacy_path() {
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: api\n  namespace: ml\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: api\n  minReplicas: 1\n  maxReplicas: 20\n  metrics:\n  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: 50\n";
    let dir = temp_with(&[("hpa.yaml", hpa.as_bytes())]);
    let o = run(&["import", "hpa.yaml", "-o", "api.scalepol"], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let policy = std::fs::read_to_string(dir.path().join("api.scalepol")).unwrap();
    assert!(policy.contains("behavior legacy"), "{policy}");
    // Compiled back: an HPA without `behavior`, as imported.
    let o = run(
        &["compile", "api.scalepol", "--target", "hpa", "-o", "-"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!stdout(&o).contains("behavior"), "{}", stdout(&o));
    // The legacy scale-up limit, max(2 x current, 4): from 1 at 10 x the
    // target, 4 (the behavior defaults would allow max(2, 1 + 4) = 5).
    let d = run_with_stdin(
        &["decide", "api.scalepol"],
        dir.path(),
        "{\"time\": 0, \"replicas\": 1, \"metrics\": {\"cpu\": 500}}\n",
    );
    let line: serde_json::Value = serde_json::from_str(stdout(&d).trim()).unwrap();
    assert_eq!(line["desired"], 4, "{line}");
    // `up` beside it is refused: it needs the behavior rules.
    std::fs::write(
        dir.path().join("both.scalepol"),
        policy.replace(
            "behavior legacy",
            "behavior legacy\n    up { by 100% every 15s }",
        ),
    )
    .unwrap();
    let o = run(&["check", "both.scalepol"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let said = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(
        said.contains("does not apply to `behavior legacy`"),
        "{said}"
    );
}

#[test]
fn import_reads_standard_input() {
    let manifest = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: api\n  namespace: ml\nspec:\n  scaleTargetRef:\n    name: api\n  minReplicaCount: 1\n  maxReplicaCount: 4\n  triggers:\n  - type: cpu\n    metricType: Utilization\n    metadata:\n      value: '60'\n";
    let o = run_with_stdin(&["import", "-"], &root(), manifest);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("policy api"), "{}", stdout(&o));
    let o = run_with_stdin(&["import", "-"], &root(), "x: [");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("<stdin>: not YAML"));
}

#[test]
fn kubernetes_versions_outside_what_is_known_are_refused() {
    for v in ["1.10", "2.0", "1.22", "1.99", "one.two"] {
        let o = run(
            &[
                "compile",
                "policies/chat-llama3.scalepol",
                "--k8s-version",
                v,
                "-o",
                "-",
            ],
            &root(),
        );
        assert_eq!(o.status.code(), Some(2), "{v}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("1.23"), "{v}");
    }
    let o = run(
        &[
            "compile",
            "policies/chat-llama3.scalepol",
            "--k8s-version",
            "1.29",
            "-o",
            "-",
        ],
        &root(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains("exec"),
        "the 1.29 drain patch waits with exec"
    );
}

#[test]
fn check_fix_applies_the_fixes_and_reports_what_is_left() {
    let text = "polcy x {\n  workload deployment \"a/b\"\n  pool main: cpu {\n    replicas 1..4\n    capacity 10 req/s\n    cost $0.1/h\n  }\n}\n";
    let dir = temp_with(&[("p.scalepol", text.as_bytes())]);
    let o = run(&["check", "p.scalepol"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "the typo is an error before the fix"
    );
    let o = run(&["check", "--fix", "p.scalepol"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fixed p.scalepol: 1 fix"));
    let fixed = std::fs::read_to_string(dir.path().join("p.scalepol")).unwrap();
    assert!(fixed.starts_with("policy x {"), "{fixed}");
    // Nothing else of the file changed.
    assert_eq!(fixed.replacen("policy", "polcy", 1), text);
    // A second run has nothing to fix and writes nothing.
    let o = run(&["check", "--fix", "p.scalepol"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("fixed"));
}

#[test]
fn fmt_diff_shows_what_would_change_and_writes_nothing() {
    let text = "policy x {\n    workload deployment \"a/b\"   // keep me\n  pool main: cpu {\n    replicas 1..4\n  }\n}\n";
    let dir = temp_with(&[("f.scalepol", text.as_bytes())]);
    let o = run(&["fmt", "--diff", "f.scalepol"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let diff = stdout(&o);
    assert!(
        diff.starts_with("--- a/f.scalepol\n+++ b/f.scalepol\n@@"),
        "{diff}"
    );
    assert!(
        diff.contains("-    workload deployment \"a/b\"   // keep me\n"),
        "{diff}"
    );
    assert!(
        diff.contains("+  workload deployment \"a/b\" // keep me\n"),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.scalepol")).unwrap(),
        text
    );
    // Formatted already: no diff, exit 0.
    let o = run(&["fmt", "--diff", "policies/chat-llama3.scalepol"], &root());
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).is_empty());
}

/// `scalepol compile FILE --target TARGET --out out` in `dir`, which must
/// succeed (the output is shown when it does not).
fn compile_to_out(dir: &Path, file: &str, target: &str) -> Output {
    let o = run(&["compile", file, "--target", target, "--out", "out"], dir);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

const KNATIVE_POLICY: &str = "policy bert {\n  workload inferenceservice \"ml/bert\"\n  pool predictor: cpu {\n    replicas 0..20\n    capacity 8 concurrent\n  }\n  metrics prometheus \"http://prom:9090\" {\n    concurrency = `sum(revision_app_request_concurrency)`\n  }\n  scale {\n    on concurrency per replica target 10\n    cooldown 1m\n  }\n  target kserve {\n    window 60s\n    panic_threshold 300%\n    activation_scale 3\n    initial_scale 4\n    max_scale_up_rate 2\n  }\n}\n";

/// Knative's options from the policy to the annotations and to `decide`:
/// the initial scale holds until reached, per-second samples are averaged,
/// the activation scale applies with demand, and the cluster-wide rate is
/// named as such.
#[test]
fn knative_options_reach_the_annotations_and_the_engine() {
    let dir = temp_with(&[("bert.scalepol", KNATIVE_POLICY.as_bytes())]);
    let o = compile_to_out(dir.path(), "bert.scalepol", "kserve");
    let report = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(
        report.contains("`max_scale_up_rate` is a cluster-wide Knative setting"),
        "{report}"
    );
    let yaml = std::fs::read_to_string(dir.path().join("out/bert.kserve.yaml")).unwrap();
    for line in [
        "autoscaling.knative.dev/panic-threshold-percentage: '300'",
        "autoscaling.knative.dev/activation-scale: '3'",
        "autoscaling.knative.dev/initial-scale: '4'",
        "autoscaling.knative.dev/window: 60s",
    ] {
        assert!(yaml.contains(line), "{line} missing:\n{yaml}");
    }
    assert!(!yaml.contains("max-scale-up-rate"), "{yaml}");
    // One ready pod, no demand yet: the initial scale of 4 holds. Then
    // per-second samples (and no `metrics`): one pod by the target, three
    // by the activation scale, once initialised.
    let input = concat!(
        "{\"time\": 0, \"replicas\": 1, \"metrics\": {\"concurrency\": 0}}\n",
        "{\"time\": 10, \"replicas\": 4, \"samples\": {\"concurrency\": [[1, 0], [2, 0], [9, 0], [10, 10]]}}\n",
    );
    let o = run_with_stdin(&["decide", "bert.scalepol"], dir.path(), input);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["desired"], 4, "{}", stdout(&o));
    assert!(lines[0]["reason"]
        .as_str()
        .unwrap()
        .contains("initial scale"));
    // Stable mean over the window: (0 + 0 + 0 + 0 + 10) / 5 = 2 -> 1 pod,
    // raised to the activation scale of 3; the initial scale was reached.
    assert_eq!(lines[1]["desired"], 3, "{}", stdout(&o));
}

/// KEDA's pause annotations from the policy to the ScaledObject and to
/// `decide`.
#[test]
fn keda_pauses_reach_the_scaled_object_and_the_engine() {
    let policy = "policy api {\n  workload deployment \"ml/api\"\n  pool main: cpu {\n    replicas 1..10\n  }\n  metrics prometheus \"http://prom:9090\" {\n    queue = `sum(q)`\n  }\n  scale {\n    on queue per replica target 10\n  }\n  target keda {\n    paused_scale_in true\n  }\n}\n";
    let dir = temp_with(&[("api.scalepol", policy.as_bytes())]);
    compile_to_out(dir.path(), "api.scalepol", "keda");
    let yaml = std::fs::read_to_string(dir.path().join("out/api.keda.yaml")).unwrap();
    assert!(
        yaml.contains("autoscaling.keda.sh/paused-scale-in: 'true'"),
        "{yaml}"
    );
    // Demand for 2 replicas with 8 running: scale-in is paused.
    let o = run_with_stdin(
        &["decide", "api.scalepol"],
        dir.path(),
        "{\"time\": 0, \"replicas\": 8, \"metrics\": {\"queue\": 20}}\n{\"time\": 600, \"replicas\": 8, \"metrics\": {\"queue\": 20}}\n",
    );
    let last: serde_json::Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(last["desired"], 8, "{}", stdout(&o));
}

/// Replica counts as wide as Kubernetes' int32: checked without overflow
/// (money saturates), compiled, decided; the simulator refuses a count it
/// cannot model instead of exhausting memory.
#[test]
fn int32_replica_counts_check_compile_and_decide() {
    let policy = "policy big {\n  workload deployment \"ml/big\"\n  pool main: gpu {\n    accelerator \"nvidia-l4\" count 1\n    replicas 0..2147483647\n    warmup 1m\n    capacity 16 concurrent\n    cost $1000000/h\n  }\n  slo {\n    latency p95 < 2s\n    peak 100000000 req/s\n  }\n  budget monthly <= $1000\n  metrics prometheus \"http://prom:9090\" {\n    queue = `sum(q)`\n  }\n  scale {\n    on queue per replica target 4\n    up { by 2147483647 replicas every 15s }\n  }\n  rule \"hot\" when `queue > 1.0` { replicas >= 2147483647 }\n}\n";
    let dir = temp_with(&[("big.scalepol", policy.as_bytes())]);
    let o = run(&["check", "big.scalepol"], dir.path());
    let out = stdout(&o);
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "{out}"
    );
    assert!(out.contains("more than $9,223,372,036,854"), "{out}");
    // Without the budget the check passes, and the maximum reaches the
    // ScaledObject unchanged.
    let unbudgeted = policy.replace("  budget monthly <= $1000\n", "");
    std::fs::write(dir.path().join("big.scalepol"), &unbudgeted).unwrap();
    compile_to_out(dir.path(), "big.scalepol", "keda");
    let yaml = std::fs::read_to_string(dir.path().join("out/big.keda.yaml")).unwrap();
    assert!(yaml.contains("maxReplicaCount: 2147483647"), "{yaml}");
    let o = run_with_stdin(
        &["decide", "big.scalepol"],
        dir.path(),
        "{\"time\": 0, \"replicas\": 1, \"metrics\": {\"queue\": 1e12}}\n",
    );
    assert!(
        stdout(&o).contains("\"desired\":2147483647"),
        "{}",
        stdout(&o)
    );
    let trace = root().join("traces/azure_llm_2023_code.csv");
    let o = run(
        &[
            "simulate",
            "big.scalepol",
            "--trace",
            trace.to_str().unwrap(),
        ],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        err.contains("the simulator models at most 1000000 replicas"),
        "{err}"
    );
}

/// `--version` names the commit it was built from; completion scripts and
/// the manual page come from the same command definitions.
#[test]
fn version_completions_and_manual() {
    let o = run(&["--version"], &root());
    let v = stdout(&o);
    assert!(v.starts_with("scalepol 0."), "{v}");
    let commit = v
        .split('(')
        .nth(1)
        .unwrap_or("")
        .trim_end()
        .trim_end_matches(')');
    assert!(
        commit == "unknown"
            || commit
                .trim_end_matches("-dirty")
                .chars()
                .all(|c| c.is_ascii_hexdigit()),
        "{v}"
    );
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef scalepol"),
        ("fish", "complete -c scalepol"),
    ] {
        let o = run(&["completions", shell], &root());
        assert_eq!(o.status.code(), Some(0));
        let script = stdout(&o);
        assert!(script.contains(marker), "{shell}: {script}");
        for sub in ["check", "compile", "simulate", "lsp"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    let o = run(&["man"], &root());
    let page = stdout(&o);
    assert!(page.contains(".TH scalepol 1"), "{page}");
    assert!(
        page.contains("scalepol\\-compile") && page.contains("scalepol\\-lsp"),
        "{page}"
    );
    let o = run(&["completions", "tcsh"], &root());
    assert_eq!(o.status.code(), Some(2));
}

/// `compile --check` finds drift three ways (a file that differs, one
/// missing, one stale: written for a pool the policy no longer has), shows
/// it as a diff with `--diff`, and names the policy by a relative path in
/// the header even when given an absolute one.
#[test]
fn compile_check_reports_differs_missing_and_stale() {
    let two = "policy api {\n  workload deployment \"ml/api\"\n  pool small: cpu {\n    replicas 1..4\n  }\n  pool large: cpu {\n    replicas 1..8\n  }\n  scale small {\n    on cpu target 70%\n  }\n  scale large {\n    on cpu target 60%\n  }\n}\n";
    let dir = temp_with(&[("api.scalepol", two.as_bytes())]);
    let abs = dir.path().join("api.scalepol");
    let o = Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .args([
            "compile",
            abs.to_str().unwrap(),
            "--target",
            "keda",
            "--out",
            "out",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let large = std::fs::read_to_string(dir.path().join("out/api-large.keda.yaml")).unwrap();
    assert!(
        large.starts_with("# Generated by scalepol 0.1.0 from api.scalepol (sha256 "),
        "{large}"
    );
    let check = |args: &[&str]| run(args, dir.path());
    let o = check(&[
        "compile",
        "api.scalepol",
        "--target",
        "keda",
        "--out",
        "out",
        "--check",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A hand edit is drift.
    let small = dir.path().join("out/api-small.keda.yaml");
    let text = std::fs::read_to_string(&small).unwrap();
    std::fs::write(
        &small,
        text.replace("maxReplicaCount: 4", "maxReplicaCount: 40"),
    )
    .unwrap();
    let o = check(&[
        "compile",
        "api.scalepol",
        "--target",
        "keda",
        "--out",
        "out",
        "--check",
        "--diff",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("out/api-small.keda.yaml: differs from the policy"),
        "{out}"
    );
    assert!(
        out.contains("-  maxReplicaCount: 40\n+  maxReplicaCount: 4"),
        "{out}"
    );
    // One pool goes, the other changes its target.
    let one = two
        .replace("  pool large: cpu {\n    replicas 1..8\n  }\n", "")
        .replace("  scale large {\n    on cpu target 60%\n  }\n", "")
        .replace("target 70%", "target 75%");
    std::fs::write(dir.path().join("api.scalepol"), &one).unwrap();
    let o = check(&[
        "compile",
        "api.scalepol",
        "--target",
        "keda",
        "--out",
        "out",
        "--check",
        "--diff",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("out/api.keda.yaml: missing"), "{out}");
    assert!(out.contains("out/api-large.keda.yaml: stale"), "{out}");
    assert!(out.contains("out/api-small.keda.yaml: stale"), "{out}");
    assert!(
        out.contains("+++ b/out/api.keda.yaml") && out.contains("value: '75'"),
        "{out}"
    );
    // Writing says which files are stale, and leaves them.
    let o = check(&[
        "compile",
        "api.scalepol",
        "--target",
        "keda",
        "--out",
        "out",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("api-large.keda.yaml was generated by scalepol but no policy produces it"));
    assert!(dir.path().join("out/api-large.keda.yaml").exists());
}

/// The CI formats: GitLab Code Quality (an array of issues with stable
/// fingerprints), JUnit XML (well-formed: checked by Python's parser), and
/// quiet (the exit code alone).
#[test]
fn check_writes_gitlab_junit_and_quiet_reports() {
    let bad = "crates/compiler/tests/cases/option_range.scalepol";
    let o = run(&["check", "--format", "gitlab", bad], &root());
    assert_eq!(o.status.code(), Some(1));
    let issues: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let issues = issues.as_array().unwrap();
    assert_eq!(issues.len(), 5);
    assert_eq!(issues[0]["location"]["lines"]["begin"], 16);
    assert_eq!(issues[0]["severity"], "major");
    let again = run(&["check", "--format", "gitlab", bad], &root());
    assert_eq!(stdout(&again), stdout(&o), "fingerprints are stable");
    let o = run(
        &[
            "check",
            "--format",
            "junit",
            bad,
            "policies/chat-llama3.scalepol",
        ],
        &root(),
    );
    let report = stdout(&o);
    assert!(report.contains("tests=\"6\" failures=\"5\""), "{report}");
    let parsed = Command::new("python3")
        .args(["-c", "import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); print(sum(1 for _ in r.iter('failure')))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(report.as_bytes())?;
            child.wait_with_output()
        });
    if let Ok(p) = parsed {
        assert_eq!(
            String::from_utf8_lossy(&p.stdout).trim(),
            "5",
            "{}",
            String::from_utf8_lossy(&p.stderr)
        );
    }
    let o = run(&["check", "--format", "quiet", bad], &root());
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

/// Directories are walked as git sees them: what `.gitignore` excludes is
/// not checked (in a git checkout or not), a file named on the command line
/// always is.
#[test]
fn directory_walks_respect_gitignore() {
    let good = "policy ok {\n  workload deployment \"ml/ok\"\n  pool main: cpu {\n    replicas 1..4\n  }\n  scale {\n    on cpu target 70%\n  }\n}\n";
    let dir = temp_with(&[
        (".gitignore", b"generated/\n"),
        ("ok.scalepol", good.as_bytes()),
        ("generated/broken.scalepol", b"policy {"),
        ("target/also.scalepol", b"policy {"),
    ]);
    let o = run(&["check", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("checked 1 file"), "{}", stdout(&o));
    let o = run(&["check", "generated/broken.scalepol"], dir.path());
    assert_eq!(o.status.code(), Some(1));
}

/// `compile -q`: silent when all is well, only the drift when not.
#[test]
fn compile_quiet_prints_only_errors_and_drift() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_string_lossy().into_owned();
    let loud = run(&["compile", "policies/", "--out", &dir], &root());
    assert!(String::from_utf8_lossy(&loud.stderr).contains("SP0701"));
    let o = run(&["compile", "-q", "policies/", "--out", &dir], &root());
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", stdout(&o));
    let o = run(
        &["compile", "-q", "--check", "policies/", "--out", &dir],
        &root(),
    );
    assert!(o.status.success() && o.stdout.is_empty() && o.stderr.is_empty());
    let first = std::fs::read_dir(out.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    std::fs::remove_file(first.path()).unwrap();
    let o = run(
        &["compile", "-q", "--check", "policies/", "--out", &dir],
        &root(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains(": missing"));
    // Errors still show.
    let d = temp_with(&[("bad.scalepol", BAD.as_bytes())]);
    let o = run(&["compile", "-q", "bad.scalepol"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SP0304"));
}

/// `scalepol test --format junit|json`: passes, failures with what was
/// expected, and a broken file, in forms CI dashboards read.
#[test]
fn test_results_as_junit_and_json() {
    let failing = GOOD.replace(
        "  scale {\n    on cpu target 70%\n  }\n",
        "  scale {\n    on cpu target 70%\n  }\n  test \"holds\" {\n    given { replicas 2, cpu 70% }\n    expect replicas 2\n  }\n  test \"wrongly expects a jump\" {\n    given { replicas 2, cpu 70% }\n    expect replicas 4\n  }\n",
    );
    let d = temp_with(&[
        ("a.scalepol", failing.as_bytes()),
        ("b.scalepol", BAD.as_bytes()),
    ]);
    let o = run(&["test", "--format", "junit", "."], d.path());
    assert_eq!(o.status.code(), Some(1));
    let xml = stdout(&o);
    assert!(
        xml.contains("<testsuites name=\"scalepol test\" tests=\"3\" failures=\"1\" errors=\"1\">"),
        "{xml}"
    );
    assert!(xml.contains("name=\"holds\"/>"), "{xml}");
    assert!(
        xml.contains("<failure message=\"expected replicas 4, got 2\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<error message=\"the policy has errors"),
        "{xml}"
    );
    let o = run(&["test", "--format", "json", "."], d.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["summary"],
        serde_json::json!({"passed": 1, "failed": 1, "broken": 1})
    );
    assert_eq!(v["tests"][1]["outcome"], "failed");
    assert_eq!(v["tests"][2]["file"], "./b.scalepol");
    let o = run(&["test", "a.scalepol"], d.path());
    assert!(
        stdout(&o).contains("wrongly expects a jump ... FAILED\n    expected replicas 4, got 2")
    );
}

/// A ScaledObject with what the language cannot say (a formula, restoring
/// the count on deletion, a custom HPA name) and cron triggers on hourly
/// expressions: every loss is named, the import refuses without --lossy,
/// and the cron expressions become schedules.
#[test]
fn import_names_every_loss_and_reads_cron_expressions() {
    let so = r#"apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: batch
  namespace: ml
spec:
  scaleTargetRef:
    name: batch
  minReplicaCount: 1
  maxReplicaCount: 10
  advanced:
    restoreToOriginalReplicaCount: true
    horizontalPodAutoscalerConfig:
      name: custom-hpa
    scalingModifiers:
      formula: "(queue + running) / 2"
      target: "4"
  triggers:
    - type: prometheus
      name: queue
      metadata:
        serverAddress: http://prometheus:9090
        query: sum(queue_depth)
        threshold: "4"
    - type: prometheus
      name: running
      metadata:
        serverAddress: http://prometheus:9090
        query: sum(running)
        threshold: "4"
    - type: cron
      name: half-past
      metadata:
        timezone: Europe/Paris
        start: 30 * * * *
        end: 45 * * * *
        desiredReplicas: "3"
    - type: cron
      name: weekend
      metadata:
        timezone: UTC
        start: 0 18 * * 5
        end: 0 8 * * 1
        desiredReplicas: "2"
"#;
    let d = temp_with(&[("so.yaml", so.as_bytes())]);
    let o = run(&["import", "so.yaml"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    for lost in [
        "cron trigger `half-past` was not imported: beside scalingModifiers",
        "restoreToOriginalReplicaCount",
        "`custom-hpa`",
        "`0 18 * * 5`..`0 8 * * 1`",
    ] {
        assert!(err.contains(lost), "{lost} is not named:\n{err}");
    }
    let o = run(&["import", "--lossy", "so.yaml"], d.path());
    assert_eq!(o.status.code(), Some(0));
    let policy = stdout(&o);
    assert!(
        policy.contains("on formula `(queue + running) / 2.0` per replica target 4"),
        "{policy}"
    );
    assert!(!policy.contains("schedule \"half-past\""), "{policy}");
    // Without the formula, the cron triggers act, and become schedules.
    let plain = so.replace(
        "    scalingModifiers:\n      formula: \"(queue + running) / 2\"\n      target: \"4\"\n",
        "",
    );
    assert_ne!(plain, so);
    let d2 = temp_with(&[("so.yaml", plain.as_bytes())]);
    let o2 = run(&["import", "--lossy", "so.yaml"], d2.path());
    let plain_policy = stdout(&o2);
    assert!(
        plain_policy
            .contains("schedule \"half-past\" cron \"30 * * * *\" for 15m tz \"Europe/Paris\""),
        "{plain_policy}"
    );
    let p = temp_with(&[("batch.scalepol", policy.as_bytes())]);
    let o = run(&["check", "batch.scalepol"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// The inter-token advice is true: the checker's suggested batch size
/// (SP0553) is what the simulator, on a real trace, finds meets the
/// objective; the batch size it warns about misses it.
#[test]
fn the_simulator_agrees_with_the_inter_token_advice() {
    let sim = |case: &str| {
        let o = run(
            &[
                "simulate",
                &format!("crates/compiler/tests/cases/{case}.scalepol"),
                "--trace",
                "traces/azure_llm_2023_conv.csv",
                "--no-baselines",
            ],
            &root(),
        );
        String::from_utf8_lossy(&o.stderr).into_owned() + &stdout(&o)
    };
    let check = run(
        &[
            "check",
            "--isolated",
            "crates/compiler/tests/cases/itl_above_objective_fires.scalepol",
        ],
        &root(),
    );
    assert!(
        stdout(&check).contains("declare `capacity 24 concurrent`"),
        "{}",
        stdout(&check)
    );
    let before = sim("itl_above_objective_fires");
    assert!(
        before.contains("13.3 ms between tokens")
            && before.contains("objective under 10 ms: missed"),
        "{before}"
    );
    // The _ok case is the same policy with the advice applied.
    let after = sim("itl_within_objective_ok");
    assert!(
        after.contains("10.0 ms between tokens") && after.contains("objective under 10 ms: met"),
        "{after}"
    );
}
