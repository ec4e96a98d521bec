//! Latency distributions in constant memory: log-linear buckets taken from
//! the bits of the value (as HdrHistogram does), so that a percentile is
//! exact to the bucket's relative width whatever the count, and recording
//! costs a few integer operations, not a logarithm.

/// Counts of values (milliseconds) in buckets of relative width 2^-bits.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    /// Mantissa bits kept: buckets are 2^-bits wide relative to their value.
    bits: u32,
    n: u64,
    sum: f64,
}

/// The smallest value told apart from zero, ms (about 0.01 ms: 2^-7).
const FLOOR_EXP: i32 = -7;
/// The largest, ms (2^34 ms: about 200 days).
const TOP_EXP: i32 = 34;

impl Histogram {
    /// Buckets at most `precision` wide relative to their value (0.001:
    /// 0.1%), from 0.01 ms to about 200 days.
    pub fn new(precision: f64) -> Histogram {
        let bits = (1.0 / precision.clamp(1e-6, 0.5)).log2().ceil() as u32;
        let buckets = ((TOP_EXP - FLOOR_EXP) as usize + 1) << bits;
        Histogram {
            counts: vec![0; buckets + 1],
            bits,
            n: 0,
            sum: 0.0,
        }
    }

    /// Bucket 0 holds zero and everything below the floor; bucket k > 0
    /// the values whose exponent and top `bits` mantissa bits give k.
    fn bucket(&self, ms: f64) -> usize {
        if ms.is_nan() || ms < f64::powi(2.0, FLOOR_EXP) {
            return 0;
        }
        let raw = ms.to_bits();
        let exp = ((raw >> 52) & 0x7FF) as i64 - 1023;
        let mantissa = (raw >> (52 - self.bits)) & ((1 << self.bits) - 1);
        let k = (((exp - i64::from(FLOOR_EXP)) << self.bits) as u64 | mantissa) as usize + 1;
        k.min(self.counts.len() - 1)
    }

    /// The value a bucket stands for: its middle.
    fn value(&self, b: usize) -> f64 {
        if b == 0 {
            return 0.0;
        }
        let k = (b - 1) as i64;
        let exp = (k >> self.bits) + i64::from(FLOOR_EXP);
        let mantissa = (k & ((1 << self.bits) - 1)) as f64 + 0.5;
        (1.0 + mantissa / f64::from(1u32 << self.bits)) * (exp as f64).exp2()
    }

    pub fn record(&mut self, ms: f64) {
        let b = self.bucket(ms);
        self.counts[b] += 1;
        self.n += 1;
        self.sum += ms;
    }

    /// Empties the histogram, keeping its buckets.
    pub fn clear(&mut self) {
        if self.n > 0 {
            self.counts.fill(0);
        }
        self.n = 0;
        self.sum = 0.0;
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }

    /// The nearest-rank percentile (`q` in 0..=1), or 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return self.value(b);
            }
        }
        self.value(self.counts.len() - 1)
    }

    /// How many values are at or below `ms` (to the bucket).
    pub fn at_or_below(&self, ms: f64) -> u64 {
        let b = self.bucket(ms);
        self.counts[..=b].iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    #[test]
    fn quantiles_are_within_the_precision() {
        let mut h = Histogram::new(0.001);
        for i in 1..=100_000 {
            h.record(f64::from(i) * 0.37);
        }
        for (q, exact) in [
            (0.5, 50_000.0 * 0.37),
            (0.95, 95_000.0 * 0.37),
            (0.99, 99_000.0 * 0.37),
        ] {
            let got = h.quantile(q);
            assert!((got / exact - 1.0).abs() < 0.001, "{q}: {got} vs {exact}");
        }
        assert_eq!(h.len(), 100_000);
        assert_eq!(Histogram::new(0.001).quantile(0.5), 0.0);
    }

    #[test]
    fn extremes_land_in_the_end_buckets() {
        let mut h = Histogram::new(0.01);
        for v in [0.0, 1e-9, f64::NAN, 1e300, f64::INFINITY, 5.0] {
            h.record(v);
        }
        assert_eq!(h.at_or_below(0.0), 3);
        assert!((h.quantile(4.0 / 6.0) / 5.0 - 1.0).abs() < 0.01);
        h.clear();
        assert!(h.is_empty());
    }
}
