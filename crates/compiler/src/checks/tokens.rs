//! Token-level objectives (SP0553, SP0554): what a replica's declared token
//! rate and batch size allow, against `itl` and `throughput`. The arithmetic
//! is the simulator's serving model (docs/simulation.md): a replica's token
//! rate is shared by the streams it decodes at once.

use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;

pub fn check(p: &Policy, out: &mut Vec<Diagnostic>) {
    let Some(slo) = &p.slo else { return };
    if let Some(itl) = &slo.itl {
        for pool in &p.pools {
            if let Some(d) = itl_at_full_batch(pool, itl) {
                out.push(d);
            }
        }
    }
    if let Some(t) = &slo.throughput {
        if let Some(d) = throughput(p, t) {
            out.push(d);
        }
    }
}

fn capacity(pool: &Pool, unit: CapacityUnit) -> Option<&Capacity> {
    pool.capacity.iter().find(|c| c.unit == unit)
}

/// SP0553: each of `concurrent` streams decodes at rate / concurrent tokens
/// per second at full batch.
fn itl_at_full_batch(pool: &Pool, itl: &LatencyObjective) -> Option<Diagnostic> {
    let rate = capacity(pool, CapacityUnit::TokensPerSecond)?;
    let batch = capacity(pool, CapacityUnit::Concurrent)?;
    if rate.value <= 0.0 || batch.value <= 0.0 {
        return None;
    }
    let gap_ms = batch.value / rate.value * 1e3;
    let limit_ms = itl.threshold.secs_f64() * 1e3;
    if gap_ms <= limit_ms {
        return None;
    }
    let fits = (itl.threshold.secs_f64() * rate.value).floor();
    let help = if fits >= 1.0 {
        format!(
            "at most {fits} streams per replica keep it within {limit_ms} ms: declare `capacity {fits} concurrent` (and scale on concurrency), or a faster accelerator"
        )
    } else {
        format!(
            "even one stream alone waits {:.1} ms between tokens: the objective needs a faster accelerator or a smaller model",
            1e3 / rate.value
        )
    };
    Some(
        Diagnostic::new(
            code::ITL_ABOVE_OBJECTIVE,
            FileId(0),
            batch.span,
            format!(
                "at full batch, each of the {} streams of a `{}` replica gets {:.0} tokens/s: {gap_ms:.1} ms between tokens, above the objective's {limit_ms} ms",
                batch.value, pool.name, rate.value / batch.value
            ),
        )
        .label("batch size")
        .with_secondary(FileId(0), itl.span, "inter-token objective")
        .help(help),
    )
}

/// SP0554: the pools' token rates at their maxima, when every pool declares
/// one.
fn throughput(p: &Policy, t: &Valued<f64>) -> Option<Diagnostic> {
    let mut total = 0.0;
    for pool in &p.pools {
        let rate = capacity(pool, CapacityUnit::TokensPerSecond)?;
        total += rate.value * f64::from(pool.replicas.max);
    }
    if total >= t.value {
        return None;
    }
    let span = t.span()?;
    let help = match p.pools.as_slice() {
        [one] => {
            let rate = capacity(one, CapacityUnit::TokensPerSecond)?.value;
            format!(
                "raise the maximum of `{}` to {} replicas (each generates {rate} tokens/s)",
                one.name,
                (t.value / rate).ceil()
            )
        }
        _ => {
            "raise the pools' maxima, or lower the objective to what they can generate".to_string()
        }
    };
    Some(
        Diagnostic::new(
            code::THROUGHPUT_UNREACHABLE,
            FileId(0),
            span,
            format!(
                "at their maxima the pools generate {total} tokens/s, below the objective of {} tokens/s",
                t.value
            ),
        )
        .label("unreachable")
        .help(help),
    )
}
