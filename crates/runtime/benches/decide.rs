//! `decide()` for a two-metric pool, without and with two CEL rules, and
//! for a pool on one formula over the same two metrics.
//! `cargo bench -p scalepol-runtime --bench decide`

use criterion::{criterion_group, criterion_main, Criterion};
use scalepol_runtime::artifact::*;
use scalepol_runtime::{Engine, Observation, State};
use std::hint::black_box;

fn engine(rules: Vec<RuleSpec>, formula: bool) -> Engine {
    let behavior = |window: f64| BehaviorSpec {
        policies: vec![
            RateSpec {
                kind: RateKind::Percent,
                value: 100,
                period_seconds: 15.0,
            },
            RateSpec {
                kind: RateKind::Pods,
                value: 4,
                period_seconds: 15.0,
            },
        ],
        select: Select::Max,
        stabilization_seconds: window,
    };
    let target = |m: &str, mode| TargetSpec {
        metric: m.into(),
        mode,
        target: 8.0,
        activation: None,
        formula: None,
    };
    let pool = PoolSpec {
        name: "main".into(),
        min: 1,
        max: 50,
        targets: if formula {
            vec![TargetSpec {
                metric: "formula".into(),
                mode: Mode::PerReplica,
                target: 8.0,
                activation: None,
                formula: Some("(queue + 2.0 * kv) / 3.0".into()),
            }]
        } else {
            vec![target("queue", Mode::PerReplica), target("kv", Mode::Total)]
        },
        tolerance_up: 0.1,
        tolerance_down: 0.1,
        up: behavior(0.0),
        down: behavior(300.0),
        cooldown_seconds: 300.0,
        interval_seconds: 15.0,
        fallback: None,
        warmup_seconds: 60.0,
        legacy: false,
        idle_to_zero: false,
        kpa: None,
        keda: Default::default(),
    };
    let metric = |n: &str| MetricSpec {
        name: n.into(),
        unit: "count".into(),
        source: None,
        endpoint: None,
        query: None,
    };
    let a = Artifact {
        format: FORMAT.into(),
        version: VERSION,
        policy: "bench".into(),
        pools: vec![pool],
        metrics: vec![metric("queue"), metric("kv")],
        rules,
        schedules: vec![],
    };
    Engine::new(a).unwrap()
}

fn bench(c: &mut Criterion) {
    let rule = |n: &str, when: &str| RuleSpec {
        name: n.into(),
        pool: None,
        when: when.into(),
        min: Some(4),
        max: None,
    };
    let plain = engine(vec![], false);
    let composite = engine(vec![], true);
    let ruled = engine(
        vec![
            rule("burst", "queue > 50.0 && hour >= 8"),
            rule("kv", "kv > 90.0 || replicas < 2"),
        ],
        false,
    );
    let obs = Observation {
        replicas: 10,
        metrics: [("queue".to_string(), 97.0), ("kv".to_string(), 7.5)].into(),
        pods: Vec::new(),
        samples: Default::default(),
    };
    for (name, e) in [
        ("decide: two metrics", &plain),
        ("decide: two metrics, two CEL rules", &ruled),
        ("decide: one formula over two metrics", &composite),
    ] {
        let mut state = State::default();
        let mut t = 0.0;
        c.bench_function(name, |b| {
            b.iter(|| {
                t += 15.0;
                black_box(e.decide(0, &mut state, black_box(&obs), t).unwrap())
            })
        });
    }
}

criterion_group!(decide, bench);
criterion_main!(decide);
