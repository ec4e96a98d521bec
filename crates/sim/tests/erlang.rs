//! The queueing model against theory: with a fixed pool, Poisson arrivals
//! and exponential service times, the simulated mean wait in the queue
//! matches the Erlang C formula (M/M/c) within 5%.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use scalepol_sim::serving::{Service, ServingModel};
use scalepol_sim::sim::{run, Scaler, Setup};
use scalepol_sim::trace::{Request, Trace};

/// Erlang C: the probability that an arrival waits, for `c` servers at
/// offered load `a` = lambda / mu (Kleinrock, Queueing Systems vol. 1, 3.2).
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

fn exp(rng: &mut SmallRng, rate: f64) -> f64 {
    -(1.0 - rng.random::<f64>()).ln() / rate
}

fn mean_wait(replicas: u32, slots: u32, lambda: f64, mu: f64, n: usize, seed: u64) -> f64 {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut t = 0.0;
    let mut requests = Vec::with_capacity(n);
    for _ in 0..n {
        t += exp(&mut rng, lambda);
        let s = exp(&mut rng, mu);
        requests.push(Request {
            t,
            input_tokens: 0,
            output_tokens: 0,
            service: Some(s),
        });
    }
    let trace = Trace {
        duration: t,
        requests,
        series: Vec::new(),
        step: 0.0,
        has_tokens: false,
    };
    let setup = Setup {
        model: ServingModel {
            slots,
            service: Service::Fixed(1.0 / mu),
            assumptions: vec![],
        },
        warmup: 0.0,
        drain: 0.0,
        timeout: None,
        initial: replicas,
        scrape_delay: 0.0,
        rate_window: 60.0,
        start_epoch: 0.0,
        objective: None,
        percentile: 0.95,
        settle: 0.0,
        record: false,
    };
    let out = run(
        trace.requests.iter().copied(),
        trace.duration,
        &setup,
        &Scaler::Fixed(replicas),
    );
    assert_eq!(out.served, n as u64);
    out.wait_sum / n as f64
}

#[test]
fn mean_queueing_delay_matches_erlang_c() {
    // (replicas, slots each, lambda, mu): c = replicas x slots servers.
    for (replicas, slots, lambda, mu) in [
        (4, 1, 3.2, 1.0),
        (2, 4, 6.4, 1.0),
        (1, 8, 5.6, 0.8),
        (10, 1, 8.5, 1.0),
    ] {
        let c = replicas * slots;
        let a = lambda / mu;
        let theory = erlang_c(c, a) / (f64::from(c) * mu - lambda);
        let sim = mean_wait(replicas, slots, lambda, mu, 400_000, 7);
        let error = (sim - theory).abs() / theory;
        assert!(
            error < 0.05,
            "c = {c}, a = {a}: simulated {sim:.4} s, Erlang C {theory:.4} s ({:.1}% off)",
            error * 100.0
        );
    }
}

#[test]
fn erlang_c_formula_known_value() {
    // A textbook value: 2 servers at a = 1 wait with probability 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}
