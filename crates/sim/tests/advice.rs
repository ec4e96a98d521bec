//! Advice must be true: where a check suggests a value, the simulator on
//! the shipped traces agrees that following it does not make the policy
//! worse (its SLO attainment does not fall, and where the advice is about
//! cost, neither does the cost rise).

use scalepol_compiler::{check_source, FsLoader, Policy, Severity};
use scalepol_sim::report::Run;
use scalepol_sim::trace::{parse, ReadOptions, Trace};
use scalepol_sim::{simulate, Load, Options};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn traces() -> Vec<Trace> {
    ["azure_llm_2023_conv.csv", "azure_llm_2023_code.csv"]
        .iter()
        .map(|n| {
            let t = std::fs::read_to_string(root().join("traces").join(n)).unwrap();
            parse(&t, &ReadOptions::default()).unwrap()
        })
        .collect()
}

fn policy(name: &str, text: &str) -> (Policy, Vec<(&'static str, String)>) {
    let c = check_source(name, text, &FsLoader);
    let found = c
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Note)
        .map(|d| (d.code, d.help.clone().unwrap_or_default()))
        .collect();
    (c.policy.expect("the policy checks"), found)
}

fn run(p: &Policy, t: &Trace, load: Load) -> Run {
    let o = Options {
        load,
        baselines: false,
        ..Options::default()
    };
    simulate(p, t, &o).unwrap().runs.swap_remove(0)
}

fn slo(r: &Run) -> f64 {
    r.slo_windows.unwrap()
}

/// SP0521: a scale-up window near the warmup, on a `total` target.
#[test]
fn sp0521_scale_up_window_near_the_warmup() {
    let path = root().join("policies/chat-llama3.scalepol");
    let text = std::fs::read_to_string(&path).unwrap();
    let (before, found) = policy("chat-llama3.scalepol", &text);
    let help = &found
        .iter()
        .find(|(c, _)| *c == "SP0521")
        .expect("SP0521 fires")
        .1;
    assert!(help.contains("stabilize 2m"), "{help}");
    let fixed = text.replace("select max, stabilize 0s }", "select max, stabilize 2m }");
    let (after, found) = policy("chat-llama3.scalepol", &fixed);
    assert!(
        !found.iter().any(|(c, _)| *c == "SP0521"),
        "the fix silences it"
    );
    for t in traces() {
        let (a, b) = (
            run(&before, &t, Load::DeclaredPeak),
            run(&after, &t, Load::DeclaredPeak),
        );
        assert!(
            b.cost_usd <= a.cost_usd,
            "cost {} -> {}",
            a.cost_usd,
            b.cost_usd
        );
        assert!(slo(&b) >= slo(&a), "SLO {} -> {}", slo(&a), slo(&b));
    }
}

/// SP0552: a target that can never be exceeded; the suggested one scales.
#[test]
fn sp0552_a_reachable_target() {
    let path = root().join("crates/compiler/tests/cases/target_never_scales_up_fires.scalepol");
    let text = std::fs::read_to_string(&path).unwrap();
    let (before, found) = policy("t.scalepol", &text);
    let help = &found
        .iter()
        .find(|(c, _)| *c == "SP0552")
        .expect("SP0552 fires")
        .1;
    let suggested = help
        .split("like ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let fixed = text.replace(
        "per replica target 15",
        &format!("per replica target {suggested}"),
    );
    let (after, found) = policy("t.scalepol", &fixed);
    assert!(!found.iter().any(|(c, _)| *c == "SP0552"), "{found:?}");
    let mut better = false;
    for t in traces() {
        // Enough load that one replica's 16 slots overflow.
        let (a, b) = (
            run(&before, &t, Load::Factor(6.0)),
            run(&after, &t, Load::Factor(6.0)),
        );
        assert!(slo(&b) >= slo(&a), "SLO {} -> {}", slo(&a), slo(&b));
        assert_eq!(a.scale_events, 0, "the original never scales");
        better |= slo(&b) > slo(&a);
    }
    assert!(better, "the suggested target helps on some trace");
}

/// SP0522 (a note): the suggested floor does not lower the SLO.
#[test]
fn sp0522_floor_for_a_steep_ramp() {
    let path = root().join("crates/compiler/tests/cases/floor_too_low_fires.scalepol");
    let text = std::fs::read_to_string(&path).unwrap();
    let c = check_source("f.scalepol", &text, &FsLoader);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == "SP0522")
        .expect("SP0522 fires");
    assert_eq!(d.severity, Severity::Note, "an assumption is a note");
    let fix = d.fix.as_ref().expect("a fix");
    let mut fixed = text.clone();
    fixed.replace_range(fix.span.start..fix.span.end, &fix.replacement);
    let (before, _) = policy("f.scalepol", &text);
    let (after, _) = policy("f.scalepol", &fixed);
    for t in traces() {
        let (a, b) = (
            run(&before, &t, Load::DeclaredPeak),
            run(&after, &t, Load::DeclaredPeak),
        );
        assert!(slo(&b) >= slo(&a), "SLO {} -> {}", slo(&a), slo(&b));
    }
}

/// SP0530 below the warmup is a note, because the traffic decides: a short
/// scale-down window saves cost at the same SLO on the smooth trace and
/// costs SLO on the bursty one.
#[test]
fn sp0530_the_traffic_decides_below_the_warmup() {
    let path = root().join("policies/image-gen-sdxl.scalepol");
    let text = std::fs::read_to_string(&path).unwrap();
    let short = text.replace(
        "down { by 1 replica every 2m, stabilize 10m }",
        "down { by 100% every 15s, stabilize 1m }",
    );
    let c = check_source("i.scalepol", &short, &FsLoader);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == "SP0530")
        .expect("SP0530 fires");
    assert_eq!(d.severity, Severity::Note);
    let long = text.replace(
        "down { by 1 replica every 2m, stabilize 10m }",
        "down { by 100% every 15s, stabilize 4m }",
    );
    let (a, _) = policy("i.scalepol", &long);
    let (b, _) = policy("i.scalepol", &short);
    let t = traces();
    let (conv_a, conv_b) = (
        run(&a, &t[0], Load::DeclaredPeak),
        run(&b, &t[0], Load::DeclaredPeak),
    );
    assert!(
        conv_b.cost_usd < conv_a.cost_usd && slo(&conv_b) >= 0.995,
        "smooth: {} {}",
        conv_b.cost_usd,
        slo(&conv_b)
    );
    let (code_a, code_b) = (
        run(&a, &t[1], Load::DeclaredPeak),
        run(&b, &t[1], Load::DeclaredPeak),
    );
    assert!(
        slo(&code_b) < slo(&code_a),
        "bursty: {} vs {}",
        slo(&code_b),
        slo(&code_a)
    );
}
