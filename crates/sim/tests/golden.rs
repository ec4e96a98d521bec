//! Every example policy on both bundled traces, with its baselines: the
//! summaries are snapshots (reviewed), so a change to the model, the
//! engine or a policy shows up as a diff.

use scalepol_compiler::{check_source, FsLoader};
use scalepol_sim::trace::{parse, ReadOptions};
use scalepol_sim::{simulate, Load, Options};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn every_policy_on_both_traces() {
    let traces = ["azure_llm_2023_conv.csv", "azure_llm_2023_code.csv"];
    let mut policies: Vec<_> = std::fs::read_dir(root().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .collect();
    policies.sort();
    let mut ran = 0;
    for path in &policies {
        let text = std::fs::read_to_string(path).unwrap();
        let checked = check_source(&path.to_string_lossy(), &text, &FsLoader);
        // Defaults files are not policies.
        let Some(policy) = checked.policy else {
            continue;
        };
        for name in traces {
            let raw = std::fs::read_to_string(root().join("traces").join(name)).unwrap();
            let trace = parse(&raw, &ReadOptions::default()).unwrap();
            let declared = policy.slo.as_ref().is_some_and(|s| s.peak_rps.is_some());
            let o = Options {
                trace_name: name.into(),
                load: if declared {
                    Load::DeclaredPeak
                } else {
                    Load::Factor(1.0)
                },
                ..Options::default()
            };
            let report = simulate(&policy, &trace, &o).unwrap();
            let stem = path.file_stem().unwrap().to_string_lossy();
            let trace_stem = name.trim_end_matches(".csv");
            insta::assert_snapshot!(format!("{stem}@{trace_stem}"), report.table());
            ran += 1;
        }
    }
    assert!(ran >= 24, "{ran}");
}
