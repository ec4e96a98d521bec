//! The tuning loop: one candidate judged (check + simulate, the unit of
//! work the search repeats), and a whole bounded search of image-gen-sdxl
//! on the one-hour conversation trace at its declared peak.

use criterion::{criterion_group, criterion_main, Criterion};
use scalepol_compiler::FsLoader;
use scalepol_sim::trace::{parse, ReadOptions};
use scalepol_sim::{Load, Options};
use scalepol_tune::{tune, TuneOptions};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let name = format!("{root}/policies/image-gen-sdxl.scalepol");
    let text = std::fs::read_to_string(&name).unwrap();
    let raw = std::fs::read_to_string(format!("{root}/traces/azure_llm_2023_conv.csv")).unwrap();
    let trace = parse(&raw, &ReadOptions::default()).unwrap();
    let sim = Options {
        load: Load::DeclaredPeak,
        ..Options::default()
    };
    let options = |sims| TuneOptions {
        sim: sim.clone(),
        max_sims: sims,
        max_time: Duration::from_secs(600),
        ..TuneOptions::default()
    };
    let mut g = c.benchmark_group("tune");
    g.sample_size(10);
    // One simulation: the original judged, nothing searched.
    g.bench_function("image-gen-sdxl conv 1h, 1 candidate", |b| {
        b.iter(|| tune(&name, &text, &FsLoader, &trace, &options(1), &|_, _| {}).unwrap())
    });
    g.bench_function("image-gen-sdxl conv 1h, 200 candidates", |b| {
        b.iter(|| tune(&name, &text, &FsLoader, &trace, &options(200), &|_, _| {}).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
