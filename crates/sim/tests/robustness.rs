//! The simulator on arbitrary small traces and options: a report or an
//! error, never a panic, and every request accounted for.

use proptest::prelude::*;
use scalepol_compiler::{check_source, FsLoader};
use scalepol_sim::trace::{Request, Trace};
use scalepol_sim::{simulate, Load, Options};

fn policy(name: &str) -> scalepol_compiler::Policy {
    let path = format!(
        "{}/../../policies/{name}.scalepol",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    check_source(&path, &text, &FsLoader).policy.unwrap()
}

fn trace() -> impl Strategy<Value = Trace> {
    prop::collection::vec((0.0f64..30.0, 0u32..5000, 0u32..500), 1..200).prop_map(|mut v| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let duration = v.last().map_or(0.0, |x| x.0);
        Trace {
            requests: v
                .into_iter()
                .map(|(t, i, o)| Request {
                    t,
                    input_tokens: i,
                    output_tokens: o,
                    service: None,
                })
                .collect(),
            series: Vec::new(),
            step: 0.0,
            duration,
            has_tokens: true,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]
    #[test]
    fn every_request_is_accounted_for(
        t in trace(),
        which in prop::sample::select(vec!["chat-llama3", "dev-scale-to-zero", "kserve-predictor", "image-gen-sdxl", "embeddings-cpu"]),
        scale in 0.05f64..8.0,
        speedup in 0.1f64..20.0,
        initial in prop::option::of(0u32..6),
        warm in any::<bool>(),
        settle_share in prop::option::of(0.0f64..0.9),
    ) {
        let p = policy(which);
        let settle = settle_share.map_or(0.0, |f| f * t.duration / speedup);
        let o = Options { load: Load::Factor(scale), speedup, initial, warm, settle, ..Options::default() };
        let r = match simulate(&p, &t, &o) {
            Ok(r) => r,
            // A trace of one instant has nothing to settle.
            Err(e) => { prop_assert!(settle > 0.0 || t.duration == 0.0, "{e}"); return Ok(()); }
        };
        if settle == 0.0 {
            prop_assert_eq!(r.runs[0].requests, t.arrivals(speedup, scale).count() as u64);
        }
        for run in &r.runs {
            prop_assert_eq!(run.served + run.timed_out + run.cut_off + run.unserved, run.requests);
            prop_assert!(run.replica_hours >= 0.0 && run.cost_usd >= 0.0);
            prop_assert!(run.slo_requests.is_none_or(|s| (0.0..=1.0).contains(&s)));
        }
        prop_assert_eq!(r.runs[0].requests, r.trace.requests);
    }
}
