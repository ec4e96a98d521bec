//! Simulation speed: the one-hour Azure conversation trace (19,366
//! requests) on one pool, policy only and with both baselines; and the
//! same trace at 10x the load, to show the cost is linear in requests.

use criterion::{criterion_group, criterion_main, Criterion};
use scalepol_compiler::{check_source, FsLoader};
use scalepol_sim::trace::{parse, ReadOptions};
use scalepol_sim::{simulate, Load, Options};

fn bench(c: &mut Criterion) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let text = std::fs::read_to_string(format!("{root}/policies/chat-llama3.scalepol")).unwrap();
    let policy = check_source("chat-llama3.scalepol", &text, &FsLoader)
        .policy
        .unwrap();
    let raw = std::fs::read_to_string(format!("{root}/traces/azure_llm_2023_conv.csv")).unwrap();
    let trace = parse(&raw, &ReadOptions::default()).unwrap();
    let alone = Options {
        baselines: false,
        ..Options::default()
    };
    c.bench_function("simulate conv 1h, policy", |b| {
        b.iter(|| simulate(&policy, &trace, &alone).unwrap())
    });
    let all = Options::default();
    c.bench_function("simulate conv 1h, policy and 2 baselines", |b| {
        b.iter(|| simulate(&policy, &trace, &all).unwrap())
    });
    let tenfold = Options {
        baselines: false,
        load: Load::Factor(10.0),
        ..Options::default()
    };
    c.bench_function("simulate conv 1h at 10x load, policy", |b| {
        b.iter(|| simulate(&policy, &trace, &tenfold).unwrap())
    });
    c.bench_function("parse conv trace (404 KB)", |b| {
        b.iter(|| parse(&raw, &ReadOptions::default()).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
