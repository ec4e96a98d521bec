//! Arrivals generated lazily from a trace: sped up, scaled (extra copies
//! spread with a deterministic jitter), and the peak rate of a stream.

use super::*;

/// The requests being generated from one group of rows.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Group {
    /// The first row of the group and how many rows share its time.
    first: usize,
    rows: usize,
    /// Its time, and the gap to the next distinct time.
    t: f64,
    gap: f64,
    /// Requests to generate, and how many are out.
    total: u64,
    next: u64,
}

/// The lazily generated arrivals of a trace ([`Trace::arrivals`]).
///
/// A request-level trace is read in groups of rows that share a time. At a
/// load factor of at most 1 each kept request stays at its own time. Above
/// 1, the originals stay and the extra copies are spread over the gap to the
/// next distinct time, each in its own stratum with a deterministic jitter:
/// the scaled trace keeps the original's shape at the trace's own
/// resolution instead of stacking copies on one instant. A series' requests
/// are spread evenly over their interval.
#[derive(Debug, Clone)]
pub struct Arrivals<'a> {
    trace: &'a Trace,
    speedup: f64,
    scale: f64,
    row: usize,
    group: Group,
    carry: f64,
}

impl<'a> Arrivals<'a> {
    pub(super) fn new(trace: &'a Trace, speedup: f64, scale: f64) -> Arrivals<'a> {
        Arrivals {
            trace,
            speedup,
            scale,
            row: 0,
            group: Group::default(),
            carry: 0.0,
        }
    }
}

/// A deterministic number in [0, 1) from two integers (SplitMix64).
fn jitter(a: u64, b: u64) -> f64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl Arrivals<'_> {
    /// How many requests `n` rows become at the load factor.
    fn copies(&mut self, n: f64) -> u64 {
        self.carry += n * self.scale;
        let c = self.carry.floor();
        self.carry -= c;
        c as u64
    }

    fn next_group(&mut self) -> bool {
        let t = self.trace;
        if t.series.is_empty() {
            let r = &t.requests;
            if self.row >= r.len() {
                return false;
            }
            let first = self.row;
            let time = r[first].t;
            let mut end = first + 1;
            while end < r.len() && r[end].t == time {
                end += 1;
            }
            let gap = r.get(end).map_or(0.0, |n| n.t - time);
            let total = self.copies((end - first) as f64);
            self.group = Group {
                first,
                rows: end - first,
                t: time,
                gap,
                total,
                next: 0,
            };
            self.row = end;
        } else {
            let Some(p) = t.series.get(self.row) else {
                return false;
            };
            let total = self.copies(p.count as f64);
            self.group = Group {
                first: self.row,
                rows: 1,
                t: p.t,
                gap: t.step,
                total,
                next: 0,
            };
            self.row += 1;
        }
        true
    }
}

impl Iterator for Arrivals<'_> {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        while self.group.next >= self.group.total {
            if !self.next_group() {
                return None;
            }
        }
        let g = self.group;
        let k = g.next;
        self.group.next += 1;
        let trace = self.trace;
        let (t, r) = if trace.series.is_empty() {
            let rows = g.rows as u64;
            let r = trace.requests[g.first + (k % rows) as usize];
            let t = if k < rows {
                g.t
            } else {
                let extra = (g.total - rows) as f64;
                let stratum = (k - rows) as f64 + jitter(g.first as u64, k);
                g.t + g.gap * stratum / extra
            };
            (t, r)
        } else {
            let p = trace.series[g.first];
            let t = g.t + (k as f64 + 0.5) * g.gap / g.total as f64;
            let r = Request {
                t,
                input_tokens: 0,
                output_tokens: 0,
                service: p.service,
            };
            (t, r)
        };
        Some(Request {
            t: t / self.speedup,
            ..r
        })
    }
}

/// The highest arrival rate over `window`-second bins of `duration`.
pub fn peak_rate(arrivals: impl Iterator<Item = Request>, duration: f64, window: f64) -> f64 {
    let bins = (duration / window).floor() as usize + 1;
    let mut counts = vec![0u64; bins];
    for r in arrivals {
        counts[((r.t / window) as usize).min(bins - 1)] += 1;
    }
    counts.into_iter().max().unwrap_or(0) as f64 / window
}
