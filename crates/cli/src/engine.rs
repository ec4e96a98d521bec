//! `scalepol test` and `scalepol decide`: the decision engine from the CLI.
//! Both go through the engine artifact, as a deployed runtime would.

use crate::files;
use scalepol_compiler::Policy;
use scalepol_runtime::{Engine, Observation, State};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

/// When a test gives no `at`: Monday 2026-01-05 12:00 UTC.
const DEFAULT_TIME: f64 = 1_767_614_400.0;

/// Checks a file and loads its engine; prints the errors when it cannot.
fn load(name: &str, text: &str) -> Result<(Policy, Engine), ()> {
    let p = files::policy_of(name, text).map_err(|_| ())?;
    match Engine::new(scalepol_targets::engine::artifact(&p)) {
        Ok(e) => Ok((p, e)),
        Err(e) => {
            eprintln!("error: {name}: the engine does not load: {e}");
            Err(())
        }
    }
}

/// How `scalepol test` reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestFormat {
    /// One line per test, like `cargo test`.
    Human,
    /// One JSON document (docs/json-output.md).
    Json,
    /// JUnit XML, for CI test dashboards.
    Junit,
}

/// One test's result, or a file whose tests could not run (`name` None).
struct TestResult {
    file: String,
    name: Option<String>,
    /// None when it passed; what went wrong otherwise.
    failure: Option<String>,
}

pub fn test(paths: &[PathBuf], artifact: Option<&std::path::Path>, format: TestFormat) -> u8 {
    let inputs = match files::collect(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // One artifact stands for one policy: its tests, that engine.
    let deployed = match artifact {
        Some(_) if inputs.len() != 1 => {
            eprintln!(
                "error: --engine runs the tests of exactly one policy; {} given",
                inputs.len()
            );
            return 2;
        }
        Some(path) => match files::engine_of(path) {
            Ok(e) => Some(e),
            Err(code) => return code,
        },
        None => None,
    };
    let mut results = Vec::new();
    for input in &inputs {
        let file = input.name();
        let broken = |why: &str| TestResult {
            file: file.clone(),
            name: None,
            failure: Some(why.to_string()),
        };
        let Ok(text) = input.read() else {
            results.push(broken("the file could not be read"));
            continue;
        };
        let Ok((p, own)) = load(&file, &text) else {
            // A defaults file has no tests of its own.
            if !text.contains("defaults ") {
                results.push(broken("the policy has errors (see `scalepol check`)"));
            }
            continue;
        };
        let engine = deployed.as_ref().unwrap_or(&own);
        for t in &p.tests {
            results.push(TestResult {
                file: file.clone(),
                name: Some(t.name.clone()),
                failure: run_one(engine, t).err(),
            });
        }
    }
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    let out = match format {
        TestFormat::Human => human(&results),
        TestFormat::Json => json(&results),
        TestFormat::Junit => junit(&results),
    };
    print!("{out}");
    u8::from(failed > 0)
}

/// Decides one test's observation from a fresh state: Ok when the count is
/// in the expected range, else what was expected and why it was not.
fn run_one(engine: &Engine, t: &scalepol_compiler::model::TestCase) -> Result<(), String> {
    let pool = match t.pool.as_deref() {
        None => 0,
        Some(n) => engine.pool_index(n).unwrap_or(usize::MAX),
    };
    let now =
        t.at.as_deref()
            .and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok())
            .map(|d| d.timestamp() as f64)
            .unwrap_or(DEFAULT_TIME);
    let obs = Observation {
        replicas: t.replicas,
        metrics: t.given.iter().cloned().collect(),
        pods: Vec::new(),
        samples: Default::default(),
    };
    let d = engine
        .decide(pool, &mut State::default(), &obs, now)
        .map_err(|e| e.to_string())?;
    let ok =
        t.expect.min.is_none_or(|m| d.desired >= m) && t.expect.max.is_none_or(|m| d.desired <= m);
    if ok {
        return Ok(());
    }
    let expected = match (t.expect.min, t.expect.max) {
        (Some(a), Some(b)) if a == b => format!("{a}"),
        (Some(a), Some(b)) => format!("{a}..{b}"),
        (Some(a), None) => format!(">= {a}"),
        (None, Some(b)) => format!("<= {b}"),
        (None, None) => "anything".into(),
    };
    Err(format!(
        "expected replicas {expected}, got {}\n{}",
        d.desired, d.reason
    ))
}

fn human(results: &[TestResult]) -> String {
    let mut out = String::new();
    let (mut passed, mut failed, mut broken) = (0, 0, 0);
    for r in results {
        match (&r.name, &r.failure) {
            (Some(n), None) => {
                passed += 1;
                out.push_str(&format!("test {} :: {n} ... ok\n", r.file));
            }
            (Some(n), Some(why)) => {
                failed += 1;
                let why = why.replace('\n', "\n    ");
                out.push_str(&format!("test {} :: {n} ... FAILED\n    {why}\n", r.file));
            }
            (None, _) => broken += 1,
        }
    }
    let status = if failed + broken == 0 { "ok" } else { "FAILED" };
    out.push_str(&format!(
        "\ntest result: {status}. {passed} passed; {failed} failed\n"
    ));
    if broken > 0 {
        out.push_str(&format!(
            "{broken} files could not be tested (see the errors above)\n"
        ));
    }
    out
}

fn json(results: &[TestResult]) -> String {
    let count = |f: &dyn Fn(&TestResult) -> bool| results.iter().filter(|r| f(r)).count();
    let tests: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let outcome = match (&r.name, &r.failure) {
                (_, None) => "passed",
                (Some(_), Some(_)) => "failed",
                (None, Some(_)) => "broken",
            };
            serde_json::json!({
                "file": r.file,
                "name": r.name,
                "outcome": outcome,
                "message": r.failure,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "version": 1,
        "tests": tests,
        "summary": {
            "passed": count(&|r| r.failure.is_none()),
            "failed": count(&|r| r.name.is_some() && r.failure.is_some()),
            "broken": count(&|r| r.name.is_none()),
        },
    });
    format!("{doc:#}\n")
}

/// JUnit XML: a test suite per file, a test case per `test` block; a file
/// that cannot run is one case with an `<error>`.
fn junit(results: &[TestResult]) -> String {
    use scalepol_compiler::render_ci::xml;
    let mut suites = String::new();
    let mut files: Vec<&str> = results.iter().map(|r| r.file.as_str()).collect();
    files.dedup();
    let (mut all, mut all_failed, mut all_broken) = (0, 0, 0);
    for file in files {
        let mine: Vec<&TestResult> = results.iter().filter(|r| r.file == file).collect();
        let failed = mine
            .iter()
            .filter(|r| r.name.is_some() && r.failure.is_some())
            .count();
        let broken = mine.iter().filter(|r| r.name.is_none()).count();
        let mut cases = String::new();
        for r in &mine {
            let name = xml(r.name.as_deref().unwrap_or("(the file)"));
            match (&r.name, &r.failure) {
                (_, None) => cases.push_str(&format!(
                    "    <testcase classname=\"{}\" name=\"{name}\"/>\n",
                    xml(file)
                )),
                (Some(_), Some(why)) => cases.push_str(&format!(
                    "    <testcase classname=\"{}\" name=\"{name}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml(file),
                    xml(why.lines().next().unwrap_or("")),
                    xml(why)
                )),
                (None, Some(why)) => cases.push_str(&format!(
                    "    <testcase classname=\"{}\" name=\"{name}\">\n      <error message=\"{}\"/>\n    </testcase>\n",
                    xml(file),
                    xml(why)
                )),
            }
        }
        all += mine.len();
        all_failed += failed;
        all_broken += broken;
        suites.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"{broken}\">\n{cases}  </testsuite>\n",
            xml(file),
            mine.len()
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"scalepol test\" tests=\"{all}\" failures=\"{all_failed}\" errors=\"{all_broken}\">\n{suites}</testsuites>\n"
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    time: f64,
    replicas: u32,
    #[serde(default)]
    metrics: std::collections::BTreeMap<String, Option<f64>>,
    /// Per-pod samples (docs/runtime.md), optional.
    #[serde(default)]
    pods: Vec<scalepol_runtime::Pod>,
    /// Per-second samples by metric, `[[time, value], ...]` (KPA pools).
    #[serde(default)]
    samples: std::collections::BTreeMap<String, Vec<(f64, f64)>>,
}

/// The longest observation line read: 1 MiB.
const MAX_LINE: u64 = 1 << 20;

/// The next line of input: `Ok(None)` at the end; an error for a line that
/// is too long (skipped whole, never held in memory) or not UTF-8.
fn next_line(input: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut buf = Vec::new();
    let n = Read::take(&mut *input, MAX_LINE + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Ok(None);
    }
    if buf.len() as u64 > MAX_LINE && buf.last() != Some(&b'\n') {
        // Skip the rest of the line, a bounded chunk at a time.
        loop {
            let mut rest = Vec::new();
            let m = Read::take(&mut *input, MAX_LINE)
                .read_until(b'\n', &mut rest)
                .map_err(|e| e.to_string())?;
            if m == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
        return Err(format!("longer than {MAX_LINE} bytes; skipped"));
    }
    String::from_utf8(buf).map(Some).map_err(|e| {
        format!(
            "not valid UTF-8 (byte {}); skipped",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Decisions for a stream of observations, from a policy or an engine
/// artifact (`.json`).
pub fn decide(policy: &std::path::Path, pool: Option<&str>) -> u8 {
    let name = policy.to_string_lossy().into_owned();
    let engine = match files::engine_of(policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let index = match pool {
        Some(n) => match engine.pool_index(n) {
            Some(i) => i,
            None => {
                eprintln!("error: {name} has no pool `{n}`");
                return 2;
            }
        },
        None => 0,
    };
    let mut state: Option<State> = None;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut bad = 0;
    let mut input = std::io::stdin().lock();
    // 1-based, as the messages count lines.
    let mut number = 0usize;
    loop {
        number += 1;
        let line = match next_line(&mut input) {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                eprintln!("line {number}: {e}");
                bad += 1;
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = match serde_json::from_str(&line) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("line {number}: {e}");
                bad += 1;
                continue;
            }
        };
        // `null` is a metric that could not be read.
        let metrics = parsed
            .metrics
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let obs = Observation {
            replicas: parsed.replicas,
            metrics,
            pods: parsed.pods,
            samples: parsed.samples,
        };
        let s = state.get_or_insert_with(|| State::new_controller(parsed.replicas, parsed.time));
        let d = match engine.decide(index, s, &obs, parsed.time) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let json = serde_json::to_string(&d).unwrap_or_default();
        if writeln!(out, "{json}").is_err() {
            return 2;
        }
    }
    u8::from(bad > 0)
}
