//! What a policy is measured against: the offered load of every minute,
//! the replicas each minute needs (the oracle), and the plain HPA baseline.

use crate::*;

/// The offered load of every minute: slot-seconds of work arriving in it.
pub(crate) struct Demand {
    work: Vec<f64>,
    counts: Vec<u64>,
    duration: f64,
}

impl Demand {
    pub(crate) fn of(
        arrivals: impl Iterator<Item = trace::Request>,
        duration: f64,
        m: &ServingModel,
    ) -> Demand {
        let minutes = (duration / 60.0).ceil().max(1.0) as usize;
        let mut d = Demand {
            work: vec![0.0; minutes],
            counts: vec![0; minutes],
            duration,
        };
        for r in arrivals {
            let i = ((r.t / 60.0) as usize).min(minutes - 1);
            d.work[i] += m.times(&r).0;
            d.counts[i] += 1;
        }
        d
    }

    /// The busiest minute, requests per second.
    pub(crate) fn peak_rps(&self) -> f64 {
        self.counts.iter().copied().max().unwrap_or(0) as f64 / 60.0
    }

    /// Replicas each minute needs to run its slots at the baseline's
    /// utilisation, and at least `floor`.
    pub(crate) fn needed(&self, m: &ServingModel, floor: u32) -> Vec<u32> {
        let per_replica = f64::from(m.slots) * BASELINE_UTILIZATION * 60.0;
        self.work
            .iter()
            .map(|w| ((w / per_replica).ceil() as u32).max(floor))
            .collect()
    }

    /// Perfect foresight: each minute after `settle` paid for the replicas
    /// it needs, for that minute only, no warmup.
    pub(crate) fn oracle(&self, needed: &[u32], settle: f64, price: Option<f64>) -> report::Oracle {
        let mut seconds = 0.0;
        for (i, &n) in needed.iter().enumerate() {
            let start = (i as f64 * 60.0).max(settle);
            let end = ((i + 1) as f64 * 60.0).min(self.duration);
            if end > start {
                seconds += f64::from(n) * (end - start);
            }
        }
        let hours = seconds / 3600.0;
        report::Oracle {
            replica_hours: (hours * 1000.0).round() / 1000.0,
            cost_usd: (hours * price.unwrap_or(0.0) * 100.0).round() / 100.0,
            max_replicas: needed.iter().copied().max().unwrap_or(0),
            utilization: BASELINE_UTILIZATION,
        }
    }
}

/// The slot utilisation the static baseline and the oracle provision for.
pub const BASELINE_UTILIZATION: f64 = 0.8;

/// The replicas each minute of the replayed trace needs at the baselines'
/// utilisation (the oracle's counts), for tools that derive settings from
/// the trace's shape (`scalepol tune`'s daily schedules).
pub fn minute_needs(p: &Policy, raw: &Trace, o: &Options) -> Result<Vec<u32>, SimError> {
    let pool = &p.pools[pick_pool(p, o.pool.as_deref())?];
    let (scale, duration) = replay_shape(p, raw, o)?;
    let model = ServingModel::for_pool(p, pool, raw, &o.model);
    let demand = Demand::of(raw.arrivals(o.speedup, scale), duration, &model);
    Ok(demand.needed(&model, u32::from(pool.replicas.min > 0)))
}

/// The pool under a plain HPA: utilisation at 50% (the Kubernetes HPA
/// walkthrough's target) with the default behavior, and no scale to zero.
pub(crate) fn hpa_defaults(p: &a::PoolSpec) -> a::Artifact {
    let pool = a::PoolSpec {
        name: p.name.clone(),
        min: p.min.max(1),
        max: p.max.max(1),
        targets: vec![a::TargetSpec {
            metric: "utilization".into(),
            mode: a::Mode::Utilization,
            target: 50.0,
            activation: None,
            formula: None,
        }],
        tolerance_up: hpa::TOLERANCE,
        tolerance_down: hpa::TOLERANCE,
        up: a::BehaviorSpec::kubernetes_scale_up(),
        down: a::BehaviorSpec::kubernetes_scale_down(),
        cooldown_seconds: keda::COOLDOWN_SECONDS as f64,
        interval_seconds: hpa::SYNC_PERIOD_SECONDS as f64,
        fallback: None,
        warmup_seconds: p.warmup_seconds,
        legacy: false,
        idle_to_zero: false,
        kpa: None,
        keda: Default::default(),
    };
    a::Artifact {
        format: a::FORMAT.into(),
        version: a::VERSION,
        policy: "hpa-defaults".into(),
        pools: vec![pool],
        metrics: vec![a::MetricSpec {
            name: "utilization".into(),
            unit: "percent".into(),
            source: None,
            endpoint: None,
            query: None,
        }],
        rules: Vec::new(),
        schedules: Vec::new(),
    }
}
