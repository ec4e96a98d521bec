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

pub fn test(paths: &[PathBuf], artifact: Option<&std::path::Path>) -> u8 {
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
    let (mut passed, mut failed, mut broken) = (0, 0, 0);
    for input in &inputs {
        let name = input.name();
        let Ok(text) = input.read() else {
            broken += 1;
            continue;
        };
        let Ok((p, own)) = load(&name, &text) else {
            broken += u32::from(!text.contains("defaults "));
            continue;
        };
        let engine = deployed.as_ref().unwrap_or(&own);
        for t in &p.tests {
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
            let d = match engine.decide(pool, &mut State::default(), &obs, now) {
                Ok(d) => d,
                Err(e) => {
                    failed += 1;
                    println!("test {name} :: {} ... FAILED\n    {e}", t.name);
                    continue;
                }
            };
            let ok = t.expect.min.is_none_or(|m| d.desired >= m)
                && t.expect.max.is_none_or(|m| d.desired <= m);
            let expected = match (t.expect.min, t.expect.max) {
                (Some(a), Some(b)) if a == b => format!("{a}"),
                (Some(a), Some(b)) => format!("{a}..{b}"),
                (Some(a), None) => format!(">= {a}"),
                (None, Some(b)) => format!("<= {b}"),
                (None, None) => "anything".into(),
            };
            if ok {
                passed += 1;
                println!("test {name} :: {} ... ok", t.name);
            } else {
                failed += 1;
                println!("test {name} :: {} ... FAILED\n    expected replicas {expected}, got {}\n    {}", t.name, d.desired, d.reason);
            }
        }
    }
    let status = if failed + broken == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {status}. {passed} passed; {failed} failed");
    if broken > 0 {
        println!("{broken} files could not be tested (see the errors above)");
    }
    u8::from(failed + broken > 0)
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
