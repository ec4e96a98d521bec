//! Hostile input at every entry point of the release interface: generated
//! policies, observation streams, traces, manifests and LSP byte streams go
//! to the real binary under a memory cap (1 GiB of address space) and a time
//! limit. Every case must end with exit 0, 1 or 2, within seconds, without a
//! panic. Bounded: a fixed number of cases per entry point, so CI stays fast
//! (SCALEPOL_HOSTILE_CASES raises it for a longer run).

use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases() -> u32 {
    std::env::var("SCALEPOL_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// Runs the binary with `args` in `dir`, `stdin` fed, under the caps; the
/// exit code and standard error.
fn run_capped(args: &[&str], dir: &Path, stdin: &[u8], limit: Duration) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scalepol"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            cmd.pre_exec(|| {
                let cap = libc::rlimit {
                    rlim_cur: 1 << 30,
                    rlim_max: 1 << 30,
                };
                libc::setrlimit(libc::RLIMIT_AS, &cap);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let _ = feeder.join();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} ran past {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn assert_clean_exit(args: &[&str], code: i32, err: &str) {
    assert!((0..=2).contains(&code), "{args:?} exited {code}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
}

/// Text mutated at a few places: bytes replaced, inserted or cut.
fn mutate(base: &str) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    let edits = prop::collection::vec(
        (0..len, prop::sample::select(HOSTILE.to_vec()), 0usize..3),
        1..6,
    );
    let base = base.as_bytes().to_vec();
    edits.prop_map(move |edits| {
        let mut b = base.clone();
        for (at, piece, how) in edits {
            let at = at.min(b.len());
            match how {
                0 => b.splice(at..at, piece.bytes()).for_each(drop),
                1 => {
                    let end = (at + piece.len()).min(b.len());
                    b.splice(at..end, piece.bytes()).for_each(drop);
                }
                _ => {
                    let end = (at + 7).min(b.len());
                    b.drain(at..end);
                }
            }
        }
        b
    })
}

/// Pieces an attacker reaches for.
const HOSTILE: [&str; 18] = [
    "`",
    "\"",
    "\\\"",
    "{",
    "}",
    "\n",
    "1e400",
    "-1",
    "((((((((((((((((((((((((((((((((((((",
    "extends \"../../../../etc/passwd\"",
    "extends \"/dev/zero\"",
    "\u{feff}",
    "\u{0}",
    "..",
    "$1e400/h",
    "é",
    "9999999999999999999999",
    ".all(x, [1,2].all(y, true))",
];

/// CEL as an attacker writes it: nesting, comprehensions over the policy,
/// escapes, raw and triple-quoted strings, comments, numbers beyond f64.
fn cel() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("queue_depth".to_string()),
        Just("1.0".to_string()),
        Just("1e400".to_string()),
        Just(r#""\"""#.to_string()),
        Just(r#"r"\""#.to_string()),
        Just(r#""""a " b""""#.to_string()),
        Just("'(((('".to_string()),
        Just("[1, 2, 3]".to_string()),
        Just("policy.pools".to_string()),
        Just("x.replicas.max".to_string()),
        Just("null".to_string()),
        "[a-z_]{1,8}",
    ];
    atom.prop_recursive(5, 48, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["&&", "||", "+", "*", "/", "%", "==", "<", "in"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            (
                inner.clone(),
                prop::sample::select(vec!["all", "exists", "exists_one", "map", "filter"]),
                inner.clone()
            )
                .prop_map(|(l, m, b)| format!("{l}.{m}(x, {b})")),
            (
                prop::sample::select(vec!["size", "int", "double", "string", "has", "max"]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            inner.clone().prop_map(|a| format!("{a}[0]")),
            inner.clone().prop_map(|a| format!("{a} // {a}\n")),
            (1usize..400).prop_map(|d| format!("{}1{}", "(".repeat(d), ")".repeat(d))),
        ]
    })
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("policies").join(name)).unwrap()
}

/// The engine artifact of the chat example, compiled once by the binary.
fn artifact() -> String {
    static ARTIFACT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ARTIFACT
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let policy = root().join("policies/chat-llama3.scalepol");
            let status = Command::new(env!("CARGO_BIN_EXE_scalepol"))
                .args([
                    "compile",
                    policy.to_str().unwrap(),
                    "--target",
                    "engine",
                    "--out",
                ])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
            let text = std::fs::read_to_string(dir.path().join("chat-llama3.engine.json")).unwrap();
            assert!(
                text.contains("\"queue_depth > 50.0\""),
                "the rule is in the artifact"
            );
            text
        })
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn check_and_fmt_on_mutated_policies(text in mutate(&example("chat-llama3.scalepol"))) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.scalepol"), &text).unwrap();
        for args in [vec!["check", "p.scalepol"], vec!["fmt", "--check", "p.scalepol"], vec!["check", "-"]] {
            let (code, err) = run_capped(&args, dir.path(), &text, Duration::from_secs(10));
            assert_clean_exit(&args, code, &err);
        }
    }

    #[test]
    fn cel_in_rules_guardrails_and_artifacts(expr in cel()) {
        let dir = tempfile::tempdir().unwrap();
        let expr = expr.replace('`', "");
        let policy = example("chat-llama3.scalepol").replace("queue_depth > 50.0", &expr);
        std::fs::write(dir.path().join("p.scalepol"), &policy).unwrap();
        let rules = format!("rules acme {{\n  guardrail \"g\" {{\n    code ACME001\n    message \"m\"\n    require `{expr}`\n  }}\n}}\n");
        std::fs::write(dir.path().join("org.rules"), rules).unwrap();
        // The compiled example with the expression as its rule, as a hand
        // edit of an artifact would have it.
        let artifact = artifact().replace(
            "\"queue_depth > 50.0\"",
            &serde_json::to_string(&expr).unwrap(),
        );
        std::fs::write(dir.path().join("a.engine.json"), artifact).unwrap();
        let example = root().join("policies/chat-llama3.scalepol");
        let observation = b"{\"time\": 0, \"replicas\": 2, \"metrics\": {\"queue_depth\": 40, \"kv_cache\": 50}}\n";
        for args in [
            vec!["check", "p.scalepol"],
            vec!["decide", "p.scalepol"],
            vec!["check", "--rules", "org.rules", example.to_str().unwrap()],
            vec!["decide", "a.engine.json"],
        ] {
            let (code, err) = run_capped(&args, dir.path(), observation, Duration::from_secs(10));
            assert_clean_exit(&args, code, &err);
        }
    }

    #[test]
    fn decide_on_hostile_observation_streams(
        lines in prop::collection::vec(prop_oneof![
            Just(b"{\"time\": 0, \"replicas\": 2, \"metrics\": {\"queue_depth\": 40}}".to_vec()),
            Just(b"{\"time\": 1e308, \"replicas\": 4294967295, \"metrics\": {}}".to_vec()),
            Just(b"{\"time\": -5, \"replicas\": -1}".to_vec()),
            Just(vec![0xff, 0xfe, b'{']),
            Just(b"[]".to_vec()),
            Just(b"{\"time\": 0, \"replicas\": 2, \"metrics\": {\"queue_depth\": 1e400}}".to_vec()),
            prop::collection::vec(any::<u8>(), 0..64),
        ], 1..40)
    ) {
        let mut stdin = Vec::new();
        for l in lines {
            stdin.extend(l);
            stdin.push(b'\n');
        }
        let policy = root().join("policies/chat-llama3.scalepol");
        let args = ["decide", policy.to_str().unwrap()];
        let (code, err) = run_capped(&args, &root(), &stdin, Duration::from_secs(10));
        assert_clean_exit(&args, code, &err);
    }

    #[test]
    fn simulate_on_hostile_traces(
        rows in prop::collection::vec((prop_oneof![Just("0".to_string()), Just("1e300".to_string()), Just("-1".to_string()), Just("NaN".to_string()), (0u32..100_000).prop_map(|v| v.to_string())], 0u32..100_000, 0u32..5000), 0..30),
        // 1e12 is refused before anything runs; legitimately long runs are not hostile.
        scale in prop_oneof![Just("1"), Just("1e12"), Just("0.001"), Just("peak"), Just("-3"), Just("12")],
        speedup in prop_oneof![Just("1"), Just("1e-300"), Just("1e300"), Just("0")],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("timestamp_s,input_tokens,output_tokens\n");
        for (t, i, o) in rows {
            csv.push_str(&format!("{t},{i},{o}\n"));
        }
        std::fs::write(dir.path().join("t.csv"), csv).unwrap();
        let policy = root().join("policies/chat-llama3.scalepol");
        let args = ["simulate", policy.to_str().unwrap(), "--trace", "t.csv", "--scale", scale, "--speedup", speedup, "--no-baselines"];
        let (code, err) = run_capped(&args, dir.path(), b"", Duration::from_secs(30));
        assert_clean_exit(&args, code, &err);
    }

    #[test]
    fn import_on_hostile_manifests(text in mutate("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: api\n  namespace: ml\nspec:\n  scaleTargetRef:\n    name: api\n  minReplicaCount: 1\n  maxReplicaCount: 4\n  triggers:\n    - type: prometheus\n      name: q\n      metadata:\n        serverAddress: http://prom:9090\n        query: sum(x)\n        threshold: '5'\n")) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.yaml"), &text).unwrap();
        let args = ["import", "m.yaml"];
        let (code, err) = run_capped(&args, dir.path(), b"", Duration::from_secs(10));
        assert_clean_exit(&args, code, &err);
    }

    #[test]
    fn the_language_server_survives_garbage(garbage in prop::collection::vec(any::<u8>(), 0..2000)) {
        // Garbage, then a well-formed exit: the server must end cleanly.
        let mut stdin = garbage;
        let exit = b"{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}";
        stdin.extend(format!("\r\n\r\nContent-Length: {}\r\n\r\n", exit.len()).bytes());
        stdin.extend(exit);
        let (code, err) = run_capped(&["lsp"], &root(), &stdin, Duration::from_secs(10));
        assert_clean_exit(&["lsp"], code, &err);
    }
}
