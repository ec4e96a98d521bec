//! What a run reports: per-minute records and the whole outcome.

use super::*;

/// One minute of a run: requests by arrival minute (two counters: SLO
/// attainment per minute needs no histogram), and the pool as it was at the
/// minute's end. A few dozen bytes a minute, whatever the load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minute {
    /// Requests that arrived in the minute, settle period included.
    pub demand: u64,
    /// Requests that arrived in the minute (after the settle period).
    pub arrived: u64,
    /// Of those, served within the objective.
    pub within: u64,
    /// Replicas serving, warming and draining at the minute's end.
    pub ready: u32,
    pub warming: u32,
    pub draining: u32,
    /// The objective's percentile of the latency of requests completed in
    /// the minute, ms (NaN when none completed).
    pub latency_ms: f32,
}

impl Minute {
    pub(super) fn new() -> Minute {
        Minute {
            demand: 0,
            arrived: 0,
            within: 0,
            ready: 0,
            warming: 0,
            draining: 0,
            latency_ms: f32::NAN,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub served: u64,
    /// Requests that waited past the timeout.
    pub timed_out: u64,
    /// Requests cut off by a drain that ran out.
    pub cut_off: u64,
    /// Requests still queued when the simulation ended.
    pub unserved: u64,
    /// Served within the objective.
    pub within: u64,
    /// The latency the objective measures (time to first token for LLM
    /// pools, end to end otherwise), ms.
    pub latency: Histogram,
    pub end_to_end: Histogram,
    /// Time spent queueing, summed over served requests, seconds.
    pub wait_sum: f64,
    pub minutes: Vec<Minute>,
    /// Replica-seconds paid (warming, serving and draining) over the trace.
    pub replica_seconds: f64,
    /// Decisions that changed the replica count.
    pub scale_events: u32,
    pub max_replicas: u32,
    /// (time, desired) of every decision, when the setup records them.
    pub decisions: Vec<(f64, u32)>,
    /// The first (time, count) above [`super::MAX_SIMULATED`]: the run
    /// modelled no more than that, so its figures do not stand.
    pub capped: Option<(f64, u32)>,
}

impl Outcome {
    pub(super) fn new() -> Outcome {
        Outcome {
            served: 0,
            timed_out: 0,
            cut_off: 0,
            unserved: 0,
            within: 0,
            latency: Histogram::new(0.001),
            end_to_end: Histogram::new(0.001),
            wait_sum: 0.0,
            minutes: Vec::new(),
            replica_seconds: 0.0,
            scale_events: 0,
            max_replicas: 0,
            capped: None,
            decisions: Vec::new(),
        }
    }

    pub(super) fn minute(&mut self, t: f64) -> &mut Minute {
        let m = (t.max(0.0) / 60.0) as usize;
        if self.minutes.len() <= m {
            self.minutes.resize_with(m + 1, Minute::new);
        }
        &mut self.minutes[m]
    }

    /// All requests that arrived (after the settle period).
    pub fn requests(&self) -> u64 {
        self.served + self.timed_out + self.cut_off + self.unserved
    }
}
