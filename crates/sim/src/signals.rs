//! What each of a policy's metrics reads in the simulation: a signal of the
//! simulated pool, chosen from the metric's unit and name, or given with
//! `--metric NAME=SIGNAL` (docs/simulation.md, "Metrics").

use scalepol_compiler::measure::Measure;
use scalepol_compiler::model::Metric;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Arrivals per second over the rate window (pool total).
    Arrivals,
    /// Input plus output tokens arriving per second (pool total).
    Tokens,
    /// Requests in service (pool total).
    Running,
    /// Requests waiting for a slot (pool total).
    Queued,
    /// Running plus queued.
    Load,
    /// Busy slots over serving slots, percent (averaged over the window).
    Utilization,
    /// The 95th percentile latency of requests completed in the window, ms.
    LatencyP95,
    /// The mean queueing delay of requests started in the window, ms.
    Wait,
}

impl Signal {
    pub const ALL: [(&'static str, Signal); 8] = [
        ("arrivals", Signal::Arrivals),
        ("tokens", Signal::Tokens),
        ("running", Signal::Running),
        ("queued", Signal::Queued),
        ("load", Signal::Load),
        ("utilization", Signal::Utilization),
        ("latency_p95", Signal::LatencyP95),
        ("wait", Signal::Wait),
    ];

    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Signal::ALL
            .iter()
            .find(|(_, v)| v == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

/// The signal a metric reads: what it measures (`Metric::measures`, shared
/// with the checks). Bytes have no signal.
pub fn infer(m: &Metric) -> Option<Signal> {
    Some(match m.measures() {
        Measure::Arrivals => Signal::Arrivals,
        Measure::Tokens => Signal::Tokens,
        Measure::Percent | Measure::Utilization => Signal::Utilization,
        Measure::Wait => Signal::Wait,
        Measure::Latency => Signal::LatencyP95,
        Measure::Bytes => return None,
        Measure::Queued => Signal::Queued,
        Measure::Running => Signal::Running,
        Measure::Load => Signal::Load,
    })
}
