//! The contract between `check` and the runtime: every policy that checks
//! without errors compiles to an engine artifact that the runtime loads (from
//! JSON, as a deployment does) and decides on, for every pool, without error
//! and without panic. Policies are the examples with generated numbers and
//! generated rule conditions spliced in.

use proptest::prelude::*;
use scalepol_compiler::{check_source, FsLoader};
use scalepol_runtime::{Engine, Observation, State};

fn examples() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .map(|p| {
            let name = p.to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Well-typed rule conditions of the accepted subset: integer arithmetic
/// and comparisons, strings of any script, `&&`, `||`, `!`, `? :`.
fn condition() -> impl Strategy<Value = String> {
    let int = prop_oneof![
        Just("replicas".to_string()),
        Just("hour".to_string()),
        Just("weekday".to_string()),
        Just("minute".to_string()),
        (0u32..1000).prop_map(|n| n.to_string()),
    ]
    .prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("max({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("min({a}, {b})")),
        ]
    });
    let boolean = prop_oneof![
        (
            int.clone(),
            prop::sample::select(vec!["<", "<=", ">", ">=", "==", "!="]),
            int
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        Just("\"größe ✓\" == \"größe ✓\"".to_string()),
        Just("'\\'' != \"x\"".to_string()),
    ];
    boolean.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["&&", "||"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("!({a})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
        ]
    })
}

/// Each `replicas MIN..MAX` of the text replaced by a generated range
/// within the written one (so budgets, schedules and tests may still hold).
fn with_ranges(text: &str, ranges: &[(u32, u32)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut k = 0;
    while let Some(at) = rest.find("replicas ") {
        let (head, tail) = rest.split_at(at + "replicas ".len());
        out.push_str(head);
        let end = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(tail.len());
        let written = &tail[..end];
        if let Some((lo, hi)) = written
            .split_once("..")
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        {
            let (a, b) = ranges.get(k).copied().unwrap_or((0, 0));
            let new_lo = if lo == 0 { 0 } else { 1 + a % lo };
            let new_hi = new_lo.max(1) + b % (hi - new_lo.max(1) + 1);
            out.push_str(&format!("{new_lo}..{new_hi}"));
            k += 1;
        } else {
            out.push_str(written);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn what_checks_loads_and_decides(
        which in 0usize..64,
        ranges in prop::collection::vec((0u32..50, 1u32..200), 8),
        when in condition(),
        replicas in 0u32..10_000,
        value in prop_oneof![Just(0.0), 0.0f64..1e6, Just(f64::NAN)],
    ) {
        let all = examples();
        let (name, text) = &all[which % all.len()];
        let mut text = with_ranges(text, &ranges);
        if let Some(end) = text.rfind('}') {
            text.insert_str(end, &format!("  rule \"generated\" when `{when}` {{ replicas >= 1 }}\n"));
        }
        let checked = check_source(name, &text, &FsLoader);
        let Some(policy) = checked.policy else {
            return Ok(()); // refused by check: nothing to hold the runtime to
        };
        let artifact = scalepol_targets::engine::artifact(&policy);
        let json = serde_json::to_string(&artifact).unwrap();
        let engine = Engine::load(&json);
        prop_assert!(engine.is_ok(), "{name}: checks, but the runtime refuses it: {:?}\n{text}", engine.err());
        let engine = engine.unwrap();
        for pool in 0..engine.artifact().pools.len() {
            let obs = Observation {
                replicas,
                metrics: engine.artifact().metrics.iter().map(|m| (m.name.clone(), value)).collect(),
                pods: Vec::new(),
                samples: Default::default(),
            };
            let d = engine.decide(pool, &mut State::default(), &obs, 1_767_614_400.0);
            prop_assert!(d.is_ok());
            let p = &engine.artifact().pools[pool];
            let d = d.unwrap();
            prop_assert!(d.desired <= p.max.max(replicas), "{name}: {d:?}");
        }
    }
}
