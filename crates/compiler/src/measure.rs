//! What a metric measures, and what a replica can serve: the knowledge the
//! checks and the simulator share, written once (docs/simulation.md,
//! "Serving model" and "Metrics").

use crate::model::{CapacityUnit, Metric, MetricSourceKind, MetricUnit, Policy, Pool};

/// What a metric counts, from its unit, then words in its name and query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Requests per second arriving.
    Arrivals,
    /// Tokens per second arriving.
    Tokens,
    /// A percentage of a whole (0-100): busy slots, KV cache, GPU.
    Percent,
    /// A built-in resource utilisation (CPU, memory, GPU of the request).
    Utilization,
    /// Queueing delay, ms.
    Wait,
    /// Request latency, ms.
    Latency,
    Bytes,
    /// Requests waiting for a slot.
    Queued,
    /// Requests in service: at most a replica's concurrency each.
    Running,
    /// Another count: running and queued together.
    Load,
}

const QUEUED: [&str; 5] = ["queue", "waiting", "pending", "backlog", "lag"];
const RUNNING: [&str; 6] = [
    "running",
    "inflight",
    "in_flight",
    "concurren",
    "active",
    "busy",
];

impl Metric {
    pub fn measures(&self) -> Measure {
        let text = format!("{} {}", self.name, self.query).to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        match self.unit {
            MetricUnit::RequestsPerSecond => Measure::Arrivals,
            MetricUnit::TokensPerSecond => Measure::Tokens,
            MetricUnit::Percent => Measure::Percent,
            MetricUnit::Milliseconds if has(&["wait", "queue"]) => Measure::Wait,
            MetricUnit::Milliseconds => Measure::Latency,
            MetricUnit::Bytes => Measure::Bytes,
            MetricUnit::Count if self.source == MetricSourceKind::Builtin => Measure::Utilization,
            MetricUnit::Count if has(&QUEUED) => Measure::Queued,
            MetricUnit::Count if has(&RUNNING) => Measure::Running,
            MetricUnit::Count => Measure::Load,
        }
    }
}

/// Without a declared rate, a request is assumed to take this share of the
/// latency objective (served well inside it). The simulator's default.
pub const SERVICE_SHARE_OF_LATENCY: f64 = 0.25;

/// Requests per second one replica serves, under the simulator's serving
/// model, with how it was derived and whether it rests on an assumption.
pub struct ReplicaRate {
    pub rate: f64,
    pub how: String,
    /// False when the rate assumes a service time (no declared req/s).
    pub declared: bool,
}

/// A replica's request rate: its declared `req/s`; else its concurrency
/// over the assumed service time (a quarter of the latency objective). A
/// pool whose capacity is in tokens/s has no request rate without knowing
/// the tokens per request (a trace): `None`.
pub fn replica_rate(p: &Policy, pool: &Pool) -> Option<ReplicaRate> {
    let cap = |u: CapacityUnit| pool.capacity.iter().find(|c| c.unit == u).map(|c| c.value);
    if let Some(r) = cap(CapacityUnit::RequestsPerSecond) {
        return Some(ReplicaRate {
            rate: r,
            how: format!("{r} req/s per replica"),
            declared: true,
        });
    }
    if cap(CapacityUnit::TokensPerSecond).is_some() {
        return None;
    }
    let conc = cap(CapacityUnit::Concurrent)?;
    let latency = p.slo.as_ref()?.objective()?;
    let service = latency.threshold.secs_f64() * SERVICE_SHARE_OF_LATENCY;
    (service > 0.0).then(|| {
        let rate = conc / service;
        ReplicaRate {
            rate,
            how: format!(
                "{conc} concurrent, each request assumed to take a quarter of the {} latency objective ({service:.3} s, as `scalepol simulate` assumes): {rate:.1} req/s per replica",
                latency.threshold
            ),
            declared: false,
        }
    })
}
