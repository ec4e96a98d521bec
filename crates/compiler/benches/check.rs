//! Parsing and checking throughput on a 1 MB policy set made of renamed
//! copies of `policies/` (as `scalepol check` sees them: one file per policy).
//!
//!     cargo bench -p scalepol-compiler --bench check

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scalepol_compiler::{check_source, Loader};
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct NoFiles;
impl Loader for NoFiles {
    fn load(&self, _: &str, path: &str) -> Result<(String, String), String> {
        Err(format!("{path}: not loaded in benchmarks"))
    }
}

/// About `size` bytes of self-contained policies, one string per file.
fn policy_set(size: usize) -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut examples: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|t| t.contains("\npolicy ") && !t.contains("extends"))
        .collect();
    examples.sort();
    let mut out = Vec::new();
    let mut total = 0;
    while total < size {
        let i = out.len();
        let text =
            examples[i % examples.len()].replacen("\npolicy ", &format!("\npolicy p{i}-"), 1);
        total += text.len();
        out.push((format!("p{i}.scalepol"), text));
    }
    out
}

fn benches(c: &mut Criterion) {
    let set = policy_set(1 << 20);
    let bytes: usize = set.iter().map(|(_, t)| t.len()).sum();
    let mut g = c.benchmark_group("1MB policy set");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(30);
    g.bench_function("parse", |b| {
        b.iter(|| {
            for (_, text) in &set {
                black_box(scalepol_syntax::parse(black_box(text)).unwrap());
            }
        })
    });
    // The same bytes as one file: parsing without the per-file setup.
    let one_file: String = set
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    g.bench_function("parse as one file", |b| {
        b.iter(|| black_box(scalepol_syntax::parse(black_box(&one_file)).unwrap()))
    });
    g.bench_function("check (parse, lower, all checks)", |b| {
        b.iter(|| {
            for (name, text) in &set {
                black_box(check_source(name, black_box(text), &NoFiles));
            }
        })
    });
    g.finish();
    let one = &set[0];
    c.bench_function("check one policy", |b| {
        b.iter(|| black_box(check_source(&one.0, black_box(&one.1), &NoFiles)))
    });
}

criterion_group!(check, benches);
criterion_main!(check);
