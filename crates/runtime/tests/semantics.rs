//! The engine's semantics, case by case (numbers from the Kubernetes HPA and
//! KEDA documentation and controller source, as summarised in
//! docs/runtime.md), and properties over random observation streams.

use proptest::prelude::*;
use scalepol_runtime::artifact::*;
use scalepol_runtime::{Engine, Limit, Observation, State};

fn behavior(select: Select, window: f64, policies: Vec<(RateKind, u32, f64)>) -> BehaviorSpec {
    BehaviorSpec {
        policies: policies
            .into_iter()
            .map(|(kind, value, period_seconds)| RateSpec {
                kind,
                value,
                period_seconds,
            })
            .collect(),
        select,
        stabilization_seconds: window,
    }
}

/// A pool on one `per replica` target of 10, HPA default behaviour.
fn pool(min: u32, max: u32, mode: Mode) -> PoolSpec {
    PoolSpec {
        name: "main".into(),
        min,
        max,
        targets: vec![TargetSpec {
            metric: "m".into(),
            mode,
            target: 10.0,
            activation: None,
            formula: None,
        }],
        tolerance_up: 0.1,
        tolerance_down: 0.1,
        up: BehaviorSpec::kubernetes_scale_up(),
        down: BehaviorSpec::kubernetes_scale_down(),
        cooldown_seconds: 300.0,
        interval_seconds: 15.0,
        fallback: None,
        warmup_seconds: 0.0,
        legacy: false,
        idle_to_zero: false,
        kpa: None,
        keda: Default::default(),
    }
}

fn engine_with(p: PoolSpec, rules: Vec<RuleSpec>, schedules: Vec<ScheduleSpec>) -> Engine {
    let a = Artifact {
        format: FORMAT.into(),
        version: VERSION,
        policy: "t".into(),
        pools: vec![p],
        metrics: vec![MetricSpec {
            name: "m".into(),
            unit: "count".into(),
            source: None,
            endpoint: None,
            query: None,
        }],
        rules,
        schedules,
    };
    Engine::new(a).unwrap()
}

fn engine(p: PoolSpec) -> Engine {
    engine_with(p, vec![], vec![])
}

fn obs(replicas: u32, m: f64) -> Observation {
    Observation {
        replicas,
        metrics: [("m".to_string(), m)].into(),
        pods: Vec::new(),
        samples: Default::default(),
    }
}

#[test]
fn a_pool_the_artifact_does_not_have_is_an_error() {
    let e = engine(pool(1, 100, Mode::PerReplica));
    let err = e
        .decide(7, &mut State::default(), &obs(4, 10.0), 0.0)
        .unwrap_err();
    assert_eq!((err.index, err.pools), (7, 1));
    assert_eq!(
        err.to_string(),
        "no pool #7 in the artifact: it has 1 pool(s)"
    );
}

#[test]
fn limits_serialise_as_the_documented_strings() {
    let all = [
        (Limit::Tolerance, "tolerance"),
        (Limit::Min, "min"),
        (Limit::Max, "max"),
        (Limit::Stabilization, "stabilization"),
        (Limit::Rate, "rate"),
        (Limit::Schedule("day".into()), "schedule:day"),
        (Limit::Rule("burst floor".into()), "rule:burst floor"),
        (Limit::Fallback, "fallback"),
        (Limit::Hold, "hold"),
        (Limit::Activation, "activation"),
        (Limit::Cooldown, "cooldown"),
        (Limit::Panic, "panic"),
    ];
    let docs = include_str!("../../../docs/runtime.md");
    for (limit, text) in all {
        assert_eq!(
            serde_json::to_value(&limit).unwrap(),
            serde_json::json!(text)
        );
        let listed = text.replace("day", "NAME").replace("burst floor", "NAME");
        assert!(
            docs.contains(&format!("`{listed}`")),
            "docs/runtime.md does not list `{listed}`"
        );
    }
}

#[test]
fn per_replica_target_is_ceil_of_total_over_target() {
    let e = engine(pool(1, 100, Mode::PerReplica));
    // 4 replicas, 97 in total: ceil(97 / 10) = 10; capped by the scale-up rate: max(4 + 4, 4 * 2) = 8.
    let d = e
        .decide(0, &mut State::default(), &obs(4, 97.0), 0.0)
        .unwrap();
    assert_eq!(d.desired, 8);
    assert!(d.limited_by.contains(&Limit::Rate), "{d:?}");
}

#[test]
fn tolerance_is_inclusive_per_direction() {
    let e = engine(pool(1, 100, Mode::PerReplica));
    // ratio 44 / (10 * 4) = 1.1: exactly at the tolerance, no change.
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(4, 44.0), 0.0)
            .unwrap()
            .desired,
        4
    );
    // 1.125: outside, ceil(45 / 10) = 5.
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(4, 45.0), 0.0)
            .unwrap()
            .desired,
        5
    );
    let mut p = pool(1, 100, Mode::PerReplica);
    p.tolerance_down = 0.5;
    let e = engine(p);
    // ratio 0.5: within a 50% scale-down tolerance.
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(4, 20.0), 0.0)
            .unwrap()
            .desired,
        4
    );
}

#[test]
fn total_target_scales_proportionally() {
    let e = engine(pool(1, 100, Mode::Total));
    // value 15 vs target 10 with 4 replicas: ceil(1.5 * 4) = 6.
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(4, 15.0), 0.0)
            .unwrap()
            .desired,
        6
    );
}

#[test]
fn scale_down_waits_for_the_stabilization_window() {
    let e = engine(pool(1, 100, Mode::PerReplica));
    let mut s = State::new_controller(10, 0.0);
    // A new controller seeds the window with the current count: no scale-down yet.
    assert_eq!(
        e.decide(0, &mut s, &obs(10, 20.0), 15.0).unwrap().desired,
        10
    );
    assert_eq!(
        e.decide(0, &mut s, &obs(10, 20.0), 299.0).unwrap().desired,
        10
    );
    // The window is strictly the last 300 s: at 300 s the seed has left it.
    assert_eq!(
        e.decide(0, &mut s, &obs(10, 20.0), 300.0).unwrap().desired,
        2
    );
}

#[test]
fn scale_down_percent_truncates_and_counts_past_events() {
    let mut p = pool(1, 100, Mode::PerReplica);
    p.down = behavior(Select::Max, 0.0, vec![(RateKind::Percent, 10, 60.0)]);
    let e = engine(p);
    let mut s = State::default();
    // 25 replicas, 10% a minute: int(25 * 0.9) = 22.
    assert_eq!(
        e.decide(0, &mut s, &obs(25, 10.0), 0.0).unwrap().desired,
        22
    );
    // 30 s later the minute is not over: the period started at 25, so 22 still.
    assert_eq!(
        e.decide(0, &mut s, &obs(22, 10.0), 30.0).unwrap().desired,
        22
    );
    // After the period (strictly more than 60 s later), a new step: int(22 * 0.9) = 19.
    assert_eq!(
        e.decide(0, &mut s, &obs(22, 10.0), 61.0).unwrap().desired,
        19
    );
}

#[test]
fn select_min_takes_the_most_conservative_policy() {
    let mut p = pool(1, 100, Mode::PerReplica);
    p.up = behavior(
        Select::Min,
        0.0,
        vec![(RateKind::Percent, 100, 15.0), (RateKind::Pods, 2, 15.0)],
    );
    let e = engine(p);
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(10, 500.0), 0.0)
            .unwrap()
            .desired,
        12
    );
    let mut p = pool(1, 100, Mode::PerReplica);
    p.up = behavior(Select::Disabled, 0.0, vec![(RateKind::Percent, 100, 15.0)]);
    assert_eq!(
        engine(p)
            .decide(0, &mut State::default(), &obs(10, 500.0), 0.0)
            .unwrap()
            .desired,
        10
    );
}

#[test]
fn min_and_max_clamp() {
    let e = engine(pool(3, 6, Mode::PerReplica));
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(4, 1.0), 0.0)
            .unwrap()
            .desired,
        3
    );
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(5, 1000.0), 0.0)
            .unwrap()
            .desired,
        6
    );
}

#[test]
fn a_missing_metric_allows_scale_up_but_not_down() {
    let mut p = pool(1, 100, Mode::PerReplica);
    p.targets.push(TargetSpec {
        metric: "other".into(),
        mode: Mode::PerReplica,
        target: 10.0,
        activation: None,
        formula: None,
    });
    let e = engine(p);
    // `other` missing, `m` asks to scale down: hold.
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(8, 10.0), 0.0)
            .unwrap()
            .desired,
        8
    );
    // `m` asks to scale up: allowed.
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(8, 120.0), 0.0)
            .unwrap()
            .desired,
        12
    );
    // NaN, infinite and negative values are unreadable too.
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        let d = e
            .decide(0, &mut State::default(), &obs(8, bad), 0.0)
            .unwrap();
        assert_eq!(d.desired, 8, "{bad}: {d:?}");
    }
}

#[test]
fn keda_activation_is_strictly_greater_and_cooldown_precedes_zero() {
    let mut p = pool(0, 10, Mode::PerReplica);
    p.targets[0].activation = Some(5.0);
    p.cooldown_seconds = 300.0;
    let e = engine(p);
    // At zero, value equal to the activation threshold: stays at zero.
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(0, 5.0), 0.0)
            .unwrap()
            .desired,
        0
    );
    // Above it: wakes to at least one.
    let mut s = State::default();
    assert_eq!(e.decide(0, &mut s, &obs(0, 5.5), 0.0).unwrap().desired, 1);
    // Inactive again, but within the cooldown: holds one.
    assert_eq!(e.decide(0, &mut s, &obs(1, 1.0), 200.0).unwrap().desired, 1);
    // After the cooldown: zero.
    assert_eq!(e.decide(0, &mut s, &obs(1, 1.0), 300.0).unwrap().desired, 0);
}

fn failing(replicas: u32) -> Observation {
    Observation {
        replicas,
        metrics: Default::default(),
        pods: Vec::new(),
        samples: Default::default(),
    }
}

fn with_fallback(behavior: FallbackBehavior) -> Engine {
    let mut p = pool(1, 10, Mode::PerReplica);
    p.fallback = Some(FallbackSpec {
        replicas: 6,
        after_failures: 3,
        behavior,
    });
    engine(p)
}

#[test]
fn fallback_after_consecutive_failures() {
    let e = with_fallback(FallbackBehavior::Static);
    let mut s = State::default();
    // KEDA falls back once the failures exceed the threshold: the fourth.
    for t in [0.0, 15.0, 30.0] {
        assert_eq!(e.decide(0, &mut s, &failing(2), t).unwrap().desired, 2);
    }
    let d = e.decide(0, &mut s, &failing(2), 45.0).unwrap();
    assert_eq!(d.desired, 6);
    assert!(d.limited_by.contains(&Limit::Fallback));
    // One good reading resets the count; the scale-down still goes through
    // the HPA's window (KEDA's fallback works through the HPA), which holds 6.
    let d = e.decide(0, &mut s, &obs(6, 20.0), 60.0).unwrap();
    assert_eq!(d.desired, 6);
    assert!(d.limited_by.contains(&Limit::Stabilization), "{d:?}");
    assert_eq!(
        e.decide(0, &mut s, &obs(6, 20.0), 361.0).unwrap().desired,
        2
    );
    // The count starts again from zero.
    assert_eq!(e.decide(0, &mut s, &failing(2), 376.0).unwrap().desired, 2);
}

#[test]
fn fallback_behaviors() {
    // (behavior, current, expected): KEDA's doFallback.
    let cases = [
        (FallbackBehavior::Static, 3, 6),
        (FallbackBehavior::Current, 3, 3),
        (FallbackBehavior::CurrentIfHigher, 3, 6),
        (FallbackBehavior::CurrentIfHigher, 8, 8),
        (FallbackBehavior::CurrentIfLower, 3, 3),
        (FallbackBehavior::CurrentIfLower, 8, 6),
    ];
    for (behavior, current, expected) in cases {
        let e = with_fallback(behavior);
        let mut s = State::default();
        for t in [0.0, 15.0, 30.0] {
            e.decide(0, &mut s, &failing(current), t).unwrap();
        }
        let d = e.decide(0, &mut s, &failing(current), 45.0).unwrap();
        assert_eq!(
            d.proposals[0].replicas,
            Some(expected),
            "{behavior:?} from {current}"
        );
        // A scale-down still passes the HPA's window, which remembers the
        // held count of the failing decisions.
        assert_eq!(d.desired, expected.max(current), "{behavior:?}: {d:?}");
    }
}

#[test]
fn fallback_only_for_per_replica_targets() {
    // KEDA falls back only for AverageValue metrics; a `total` target fails.
    let mut p = pool(1, 10, Mode::Total);
    p.fallback = Some(FallbackSpec {
        replicas: 6,
        after_failures: 0,
        behavior: FallbackBehavior::Static,
    });
    let e = engine(p);
    let d = e
        .decide(0, &mut State::default(), &failing(2), 0.0)
        .unwrap();
    assert_eq!(d.desired, 2);
    assert!(d.limited_by.contains(&Limit::Hold), "{d:?}");
}

#[test]
fn idle_to_zero_with_a_floor() {
    // KEDA idleReplicaCount 0 with minReplicaCount 3: inactive after the
    // cooldown goes to zero; activity comes back to the floor at once.
    let mut p = pool(3, 10, Mode::PerReplica);
    p.idle_to_zero = true;
    p.cooldown_seconds = 300.0;
    let e = engine(p);
    let mut s = State::new_controller(3, 0.0);
    assert_eq!(e.decide(0, &mut s, &obs(3, 0.0), 100.0).unwrap().desired, 3);
    let d = e.decide(0, &mut s, &obs(3, 0.0), 300.0).unwrap();
    assert_eq!(d.desired, 0, "{d:?}");
    assert_eq!(e.decide(0, &mut s, &obs(0, 0.0), 315.0).unwrap().desired, 0);
    assert_eq!(e.decide(0, &mut s, &obs(0, 1.0), 330.0).unwrap().desired, 3);
}

#[test]
fn rules_and_schedules_set_the_range() {
    let rules = vec![RuleSpec {
        name: "burst".into(),
        pool: None,
        when: "m > 50.0".into(),
        min: Some(7),
        max: None,
    }];
    // 08:00-18:00 UTC on weekdays: at least 5.
    let schedules = vec![ScheduleSpec {
        name: "day".into(),
        pool: None,
        cron: "0 8 * * MON-FRI".into(),
        duration_seconds: 36_000.0,
        timezone: "UTC".into(),
        min: Some(5),
        max: None,
    }];
    let e = engine_with(pool(1, 20, Mode::PerReplica), rules, schedules);
    let monday_noon = 1_767_614_400.0;
    let sunday_noon = monday_noon - 86_400.0;
    assert_eq!(
        e.decide(0, &mut State::default(), &obs(2, 20.0), sunday_noon)
            .unwrap()
            .desired,
        2
    );
    let d = e
        .decide(0, &mut State::default(), &obs(2, 20.0), monday_noon)
        .unwrap();
    assert_eq!(d.desired, 5, "{d:?}");
    assert!(d.limited_by.contains(&Limit::Schedule("day".into())));
    let d = e
        .decide(0, &mut State::default(), &obs(6, 60.0), sunday_noon)
        .unwrap();
    assert_eq!(d.desired, 7, "{d:?}");
}

#[test]
fn loading_rejects_other_versions_and_formats() {
    assert!(Engine::load("{}")
        .unwrap_err()
        .0
        .contains("not a scalepol engine artifact"));
    let v2 = r#"{"format":"scalepol-engine","version":2,"policy":"x","pools":[],"metrics":[]}"#;
    assert!(Engine::load(v2)
        .unwrap_err()
        .0
        .contains("version 2 is not supported"));
    assert!(Engine::load("not json").is_err());
}

#[test]
fn hand_edited_artifacts_with_hostile_rules_are_refused() {
    let rule = |when: String| RuleSpec {
        name: "r".into(),
        pool: None,
        when,
        min: Some(1),
        max: None,
    };
    let p = pool(1, 10, Mode::PerReplica);
    for when in [
        "(".repeat(5000),
        "1 + ".repeat(5000) + "1",
        String::new(),
        "é > 1.0".into(),
        "m > ".into(),
    ] {
        let a = Artifact {
            format: FORMAT.into(),
            version: VERSION,
            policy: "t".into(),
            pools: vec![p.clone()],
            metrics: vec![],
            rules: vec![rule(when.clone())],
            schedules: vec![],
        };
        let e = Engine::load(&serde_json::to_string(&a).unwrap());
        assert!(e.is_err(), "accepted {:?}", &when[..when.len().min(20)]);
    }
}

#[test]
fn the_clock_going_backwards_is_held() {
    let e = engine(pool(1, 100, Mode::PerReplica));
    let mut s = State::default();
    e.decide(0, &mut s, &obs(4, 40.0), 100.0).unwrap();
    let d = e.decide(0, &mut s, &obs(4, 40.0), 50.0).unwrap();
    assert_eq!(d.time, 100.0);
    assert!(d.reason.contains("clock went backwards"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Desired replicas stay within the pool's range (or zero where scaling to
    /// zero is allowed), and no scale-up exceeds what the rate policies allow
    /// in any 15-second period.
    #[test]
    fn decisions_respect_bounds_and_rates(
        min in 0u32..5, span in 0u32..50,
        stream in prop::collection::vec((prop_oneof![Just(f64::NAN), Just(-1.0), 0.0..1e6f64, Just(1e300)], 1u64..40), 1..60),
    ) {
        let max = min + span.max(1);
        let e = engine(pool(min, max, Mode::PerReplica));
        let mut s = State::default();
        let mut replicas = min.max(1);
        let mut t = 0.0;
        let mut ups: Vec<(f64, u32, u32)> = Vec::new();
        for (value, dt) in stream {
            t += dt as f64;
            let d = e.decide(0, &mut s, &obs(replicas, value), t).unwrap();
            prop_assert!(d.desired <= max);
            prop_assert!(d.desired >= min.max(1) || (min == 0 && d.desired == 0), "{d:?}");
            if d.desired > replicas {
                ups.push((t, replicas, d.desired));
            }
            replicas = d.desired;
        }
        // Within any 15 s, at most max(+4, x2) from the count at the period's start.
        for (i, &(t0, before, _)) in ups.iter().enumerate() {
            let reached = ups[i..].iter().filter(|(t, _, _)| *t < t0 + 15.0).map(|u| u.2).max().unwrap_or(before);
            prop_assert!(reached <= (before + 4).max(before * 2).max(1), "{ups:?}");
        }
    }
}

#[test]
fn never_to_zero_on_missing_data() {
    // A scale-to-zero pool whose metric cannot be read holds, however long
    // the cooldown has passed.
    let e = engine(pool(0, 10, Mode::PerReplica));
    let mut s = State::default();
    for t in [0.0, 400.0, 800.0] {
        let d = e.decide(0, &mut s, &failing(3), t).unwrap();
        assert_eq!(d.desired, 3, "{d:?}");
        assert!(d.limited_by.contains(&Limit::Hold));
    }
    // Read and inactive: zero after the cooldown, as before.
    assert_eq!(
        e.decide(0, &mut s, &obs(3, 0.0), 1200.0).unwrap().desired,
        0
    );
}

#[test]
fn kserve_serverless_pools_follow_the_kpa() {
    // Target 10 per pod (KPA target value), stable window 60 s, panic 6 s.
    let mut p = pool(0, 100, Mode::PerReplica);
    let mut k = scalepol_runtime::kpa::KpaSpec::defaults(10.0, 60.0);
    k.target_value = 10.0;
    p.kpa = Some(k);
    p.cooldown_seconds = 30.0;
    let e = engine(p);
    let mut s = State::default();
    // Steady at 40 in flight: 4 pods.
    for t in [0.0, 2.0, 4.0] {
        assert_eq!(e.decide(0, &mut s, &obs(4, 40.0), t).unwrap().desired, 4);
    }
    // A burst: the 6 s panic window sees it at once (at least twice the
    // ready pods' worth: panic), the 60 s stable window barely.
    let d = e.decide(0, &mut s, &obs(4, 400.0), 6.0).unwrap();
    assert!(d.limited_by.contains(&Limit::Panic), "{d:?}");
    assert!(d.desired >= 16, "{d:?}");
    // In panic, no scale-down while the burst fades.
    let high = d.desired;
    assert_eq!(
        e.decide(0, &mut s, &obs(high, 40.0), 20.0).unwrap().desired,
        high
    );
    // A stable window after the last panic reading: back to the stable count,
    // bounded by the scale-down rate (half the ready pods at most).
    let d = e.decide(0, &mut s, &obs(high, 0.0), 80.0).unwrap();
    assert!(!d.limited_by.contains(&Limit::Panic), "{d:?}");
    assert_eq!(d.desired, high / 2);
    // No traffic for the retention period: zero.
    let mut t = 80.0;
    let mut n = high / 2;
    while n > 0 && t < 1000.0 {
        t += 15.0;
        n = e.decide(0, &mut s, &obs(n, 0.0), t).unwrap().desired;
    }
    assert_eq!(n, 0);
}

/// Observations that share a timestamp keep the controller's memory bounded
/// (the windows read only the lowest and highest recommendation of an
/// instant) without changing a decision: 100,000 of them stay fast, and the
/// highest still holds the scale-down window afterwards.
#[test]
fn many_observations_at_one_instant_stay_bounded_and_exact() {
    let e = engine(pool(1, 100, Mode::PerReplica));
    let mut s = State::new_controller(10, 0.0);
    let start = std::time::Instant::now();
    for i in 0..100_000u32 {
        // Recommendations between 1 and 50 (metric / 10 per replica).
        let m = f64::from(1 + i % 50) * 10.0;
        e.decide(0, &mut s, &obs(10, m), 15.0).unwrap();
    }
    assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
    // A low reading later: the window's highest recommendation (50) holds.
    let d = e.decide(0, &mut s, &obs(50, 10.0), 30.0).unwrap();
    assert_eq!(d.desired, 50, "{}", d.reason);
    // After the window, it goes down.
    let d = e.decide(0, &mut s, &obs(50, 10.0), 400.0).unwrap();
    assert!(d.desired < 50, "{}", d.reason);
}

#[test]
fn a_rule_the_evaluator_cannot_run_is_noted_not_a_crash() {
    // cel-interpreter has no comprehension over a number: it panics.
    let rules = vec![RuleSpec {
        name: "odd".into(),
        pool: None,
        when: "1.0.all(x, x > 0.0)".into(),
        min: Some(9),
        max: None,
    }];
    let e = engine_with(pool(1, 100, Mode::PerReplica), rules, vec![]);
    let d = e
        .decide(0, &mut State::default(), &obs(4, 40.0), 0.0)
        .unwrap();
    assert_eq!(d.desired, 4);
    assert!(d.reason.contains("rule `odd` not applied"), "{}", d.reason);
}

#[test]
fn each_proposal_carries_what_the_hpa_reports() {
    use scalepol_runtime::MetricStatus;
    // Per replica: the total over the current replicas (AverageValue).
    let e = engine(pool(1, 100, Mode::PerReplica));
    let d = e
        .decide(0, &mut State::default(), &obs(4, 97.0), 0.0)
        .unwrap();
    let s = d.proposals[0].status.clone().unwrap();
    assert_eq!(s, MetricStatus::of(Mode::PerReplica, 97.0, 4));
    assert_eq!(s.average_value, Some(24.25));
    // Utilisation: whole percent, truncated, as status.currentMetrics holds it.
    assert_eq!(
        MetricStatus::of(Mode::Utilization, 45.9, 3).average_utilization,
        Some(45)
    );
    // A metric that could not be read has no status.
    let mut missing = obs(4, 1.0);
    missing.metrics.clear();
    let d = e.decide(0, &mut State::default(), &missing, 0.0).unwrap();
    assert!(d.proposals[0].status.is_none());
    let json = serde_json::to_value(&d.proposals[0]).unwrap();
    assert!(json.get("status").is_none(), "{json}");
}
