//! Compiling every example policy to every target it applies to, with
//! validation. `cargo bench -p scalepol-targets --bench compile`

use criterion::{criterion_group, criterion_main, Criterion};
use scalepol_compiler::model::TargetKind;
use scalepol_compiler::{check_source, FsLoader};
use scalepol_targets::{applies, compile, validate, Options};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let policies: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .filter_map(|p| {
            check_source(
                &p.to_string_lossy(),
                &std::fs::read_to_string(&p).unwrap(),
                &FsLoader,
            )
            .policy
        })
        .collect();
    let targets = [
        TargetKind::Hpa,
        TargetKind::Keda,
        TargetKind::Kserve,
        TargetKind::Vpa,
        TargetKind::Aws,
    ];
    let opts = Options::default();
    let run = || {
        for p in &policies {
            for t in targets.iter().filter(|t| applies(p, **t)) {
                for d in compile(p, *t, &opts).documents {
                    validate::check(&d).unwrap();
                    black_box(d);
                }
            }
        }
    };
    run(); // build the validators once, as a process does on its first document
    c.bench_function("compile policies/ to every target, validated", |b| {
        b.iter(run)
    });
}

criterion_group!(compile_benches, benches);
criterion_main!(compile_benches);
