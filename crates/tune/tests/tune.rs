//! `tune` on the example policies and the shipped traces: the result checks
//! clean (no warning the original lacks), never costs more than the
//! original when the original meets its objectives, keeps every comment,
//! and is the same on every run.

use scalepol_compiler::{check_source, FsLoader, Severity};
use scalepol_sim::trace::{parse, ReadOptions, Trace};
use scalepol_sim::{Load, Options};
use scalepol_tune::{tune, TuneOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn trace(name: &str) -> Trace {
    let text = std::fs::read_to_string(root().join("traces").join(name)).unwrap();
    parse(&text, &ReadOptions::default()).unwrap()
}

fn options(sims: usize) -> TuneOptions {
    TuneOptions {
        sim: Options {
            load: Load::DeclaredPeak,
            ..Options::default()
        },
        max_sims: sims,
        max_time: Duration::from_secs(600),
        ..TuneOptions::default()
    }
}

fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.find("//").map(|i| l[i..].trim()))
        .collect()
}

fn warnings(name: &str, text: &str) -> Vec<&'static str> {
    check_source(name, text, &FsLoader)
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(|d| d.code)
        .collect()
}

#[test]
fn tuned_policies_check_clean_cost_less_and_keep_comments() {
    let t = trace("azure_llm_2023_conv.csv");
    for policy in ["image-gen-sdxl", "chat-llama70b-tgi"] {
        let path = root().join(format!("policies/{policy}.scalepol"));
        let name = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let r = tune(&name, &text, &FsLoader, &t, &options(400), &|_, _| {}).unwrap();
        assert!(!r.changes.is_empty(), "{policy}: nothing tuned");
        // --deny warnings passes on the result as on the original.
        assert_eq!(warnings(&name, &r.text), Vec::<&str>::new(), "{policy}");
        let (before, after) = (&r.tuning.before.runs[0], &r.tuning.after.runs[0]);
        assert!(r.meets_objectives, "{policy}");
        assert!(
            after.cost_usd < before.cost_usd,
            "{policy}: {} vs {}",
            after.cost_usd,
            before.cost_usd
        );
        assert!(after.slo_windows >= Some(r.objective), "{policy}");
        // Every comment of the original is still there, in order.
        let (old, new) = (comments(&text), comments(&r.text));
        let mut rest = new.iter();
        for c in &old {
            assert!(rest.any(|n| n == c), "{policy}: lost {c}");
        }
        // Only the changed settings' lines differ: each change replaces or
        // inserts one line (lines compared as multisets, so insertions do
        // not shift the count).
        let diff = |a: &str, b: &str| {
            let mut pool: Vec<&str> = b.lines().collect();
            a.lines()
                .filter(|l| match pool.iter().position(|x| x == l) {
                    Some(i) => {
                        pool.swap_remove(i);
                        false
                    }
                    None => true,
                })
                .count()
        };
        let (removed, added) = (diff(&text, &r.text), diff(&r.text, &text));
        assert!(
            removed <= r.changes.len() && added <= r.changes.len(),
            "{policy}: -{removed} +{added} lines for {:?}",
            r.changes
        );
    }
}

#[test]
fn the_search_is_deterministic() {
    let t = trace("azure_llm_2023_code.csv");
    let path = root().join("policies/image-gen-sdxl.scalepol");
    let name = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&path).unwrap();
    let a = tune(&name, &text, &FsLoader, &t, &options(150), &|_, _| {}).unwrap();
    let b = tune(&name, &text, &FsLoader, &t, &options(150), &|_, _| {}).unwrap();
    assert_eq!(a.text, b.text);
    assert_eq!(a.changes, b.changes);
}

#[test]
fn holdout_reports_on_the_unseen_part() {
    let t = trace("azure_llm_2023_conv.csv");
    let path = root().join("policies/image-gen-sdxl.scalepol");
    let name = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&path).unwrap();
    let o = TuneOptions {
        holdout: Some(0.3),
        ..options(100)
    };
    let r = tune(&name, &text, &FsLoader, &t, &o, &|_, _| {}).unwrap();
    let h = r.holdout.expect("a holdout report");
    let (train, test) = (r.tuning.before.trace.duration_s, h.before.trace.duration_s);
    assert!(
        (train / (train + test) - 0.7).abs() < 0.01,
        "{train} {test}"
    );
    let bad = TuneOptions {
        holdout: Some(1.5),
        ..options(10)
    };
    assert!(tune(&name, &text, &FsLoader, &t, &bad, &|_, _| {}).is_err());
}

#[test]
fn a_policy_with_errors_is_refused() {
    let t = trace("azure_llm_2023_conv.csv");
    let text = "policy x {\n  pool p: gpu { replicas 5..2 }\n}\n";
    let e = tune("x.scalepol", text, &FsLoader, &t, &options(10), &|_, _| {}).unwrap_err();
    assert!(matches!(e, scalepol_tune::TuneError::Policy(_)), "{e}");
}

#[test]
fn a_multi_day_trace_offers_a_daily_schedule_that_checks_clean() {
    use scalepol_tune::knobs::{schedule_knob, DailyShape};
    let path = root().join("policies/image-gen-sdxl.scalepol");
    let name = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = scalepol_syntax::parse(&text).unwrap();
    // Busy from 08:00 to 18:00 UTC on weekdays.
    let mut hourly = [2.0; 24];
    for h in hourly.iter_mut().take(18).skip(8) {
        *h = 9.0;
    }
    let shape = DailyShape {
        hourly,
        weekday_heavy: true,
    };
    let k = schedule_knob(&text, &doc, "a10g", (3, 16), &shape).expect("a schedule knob");
    assert!(
        k.candidates
            .iter()
            .any(|c| c.contains("cron \"0 8 * * MON-FRI\" for 10h")),
        "{:?}",
        k.candidates
    );
    let base = warnings(&name, &text);
    for c in 1..k.choices() {
        let edited = scalepol_tune::edit::apply(&text, &[k.edit(c).unwrap()]);
        let checked = check_source(&name, &edited, &FsLoader);
        assert!(
            !checked.has_errors(),
            "{}: {:?}",
            k.text(c),
            checked.diagnostics
        );
        assert_eq!(warnings(&name, &edited), base, "{}", k.text(c));
    }
    // A flat day offers nothing above the floor.
    let flat = DailyShape {
        hourly: [2.0; 24],
        weekday_heavy: false,
    };
    assert!(schedule_knob(&text, &doc, "a10g", (3, 16), &flat).is_none());
}
