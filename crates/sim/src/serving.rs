//! The serving model of one replica, derived from the pool's declared
//! capacity (docs/simulation.md, "Serving model").

use crate::trace::{Request, Trace};
use scalepol_compiler::model::{CapacityUnit, Policy, Pool};

/// Options that tune the model where a policy says nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelOptions {
    /// Service time of a request without tokens, seconds.
    pub service_time: Option<f64>,
    /// How many times faster a replica processes input tokens (prefill)
    /// than it generates output tokens (decode).
    pub prefill_speedup: f64,
    /// Slots per replica when the pool declares no concurrency.
    pub slots: Option<u32>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            service_time: None,
            prefill_speedup: 10.0,
            slots: None,
        }
    }
}

/// How long a request holds a slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Service {
    /// Every request takes the same time, seconds.
    Fixed(f64),
    /// LLM serving: a slot generates `rate` output tokens per second (its
    /// share of the replica's rate); the prefill of the input runs on the
    /// whole replica, `prefill_speedup` times faster than its total output
    /// rate. The first token comes after the prefill.
    Tokens {
        rate: f64,
        slots: u32,
        prefill_speedup: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServingModel {
    /// Requests one replica serves at once.
    pub slots: u32,
    pub service: Service,
    /// Where each number came from, for the report.
    pub assumptions: Vec<String>,
}

impl ServingModel {
    pub fn for_pool(p: &Policy, pool: &Pool, trace: &Trace, o: &ModelOptions) -> ServingModel {
        let cap = |u: CapacityUnit| pool.capacity.iter().find(|c| c.unit == u).map(|c| c.value);
        let concurrent = cap(CapacityUnit::Concurrent);
        let rps = cap(CapacityUnit::RequestsPerSecond);
        let tps = cap(CapacityUnit::TokensPerSecond);
        let mut notes = Vec::new();
        if trace.has_service() {
            notes.push(
                "service times from the trace's service column (the model's apply to rows without one)"
                    .to_string(),
            );
        }
        // Without a declared rate, a quarter of the latency objective (a
        // request served well inside it), or one second.
        let default_service = || match (o.service_time, p.slo.as_ref().and_then(|s| s.objective()))
        {
            (Some(s), _) => (s, "--service-time".to_string()),
            (None, Some(l)) => (
                l.threshold.secs_f64() * scalepol_compiler::measure::SERVICE_SHARE_OF_LATENCY,
                "a quarter of the latency objective (set --service-time)".to_string(),
            ),
            (None, None) => (
                1.0,
                "1 s without a latency objective (set --service-time)".to_string(),
            ),
        };
        if let (Some(t), true) = (tps, trace.has_tokens) {
            let slots = concurrent
                .map(|c| c.max(1.0) as u32)
                .or(o.slots)
                .unwrap_or(1);
            let rate = t / f64::from(slots);
            notes.push(format!(
                "{slots} slots per replica sharing {t} tokens/s: {rate:.1} output tokens/s each; prefill at {} tokens/s",
                t * o.prefill_speedup
            ));
            return ServingModel {
                slots,
                service: Service::Tokens {
                    rate,
                    slots,
                    prefill_speedup: o.prefill_speedup,
                },
                assumptions: notes,
            };
        }
        match (concurrent, rps) {
            (Some(c), Some(r)) => {
                let slots = c.max(1.0) as u32;
                let s = f64::from(slots) / r;
                notes.push(format!(
                    "{slots} slots at {r} req/s: {:.0} ms per request",
                    s * 1e3
                ));
                ServingModel {
                    slots,
                    service: Service::Fixed(s),
                    assumptions: notes,
                }
            }
            (None, Some(r)) => {
                let (s0, why) = default_service();
                let slots = o.slots.unwrap_or_else(|| (r * s0).round().max(1.0) as u32);
                let s = f64::from(slots) / r;
                notes.push(format!(
                    "{r} req/s per replica as {slots} slots of {:.0} ms (service time: {why})",
                    s * 1e3
                ));
                ServingModel {
                    slots,
                    service: Service::Fixed(s),
                    assumptions: notes,
                }
            }
            (c, None) => {
                let (s, why) = default_service();
                let slots = c.map(|c| c.max(1.0) as u32).or(o.slots).unwrap_or(1);
                notes.push(format!(
                    "{slots} slots of {:.0} ms (service time: {why})",
                    s * 1e3
                ));
                ServingModel {
                    slots,
                    service: Service::Fixed(s),
                    assumptions: notes,
                }
            }
        }
    }

    /// (seconds holding a slot, seconds to the first response byte).
    pub fn times(&self, r: &Request) -> (f64, f64) {
        if let Some(s) = r.service {
            return (s, s);
        }
        match self.service {
            Service::Fixed(s) => (s, s),
            Service::Tokens {
                rate,
                slots,
                prefill_speedup,
            } => {
                let prefill =
                    f64::from(r.input_tokens) / (rate * f64::from(slots) * prefill_speedup);
                let total = prefill + f64::from(r.output_tokens) / rate;
                (total.max(1e-3), prefill.max(1e-3))
            }
        }
    }

    /// Whether latency is the time to the first token (LLM pools).
    pub fn first_token(&self) -> bool {
        matches!(self.service, Service::Tokens { .. })
    }
}
