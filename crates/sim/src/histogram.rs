//! Latency distributions in constant memory: log-spaced buckets, so that a
//! percentile is exact to the bucket's relative width whatever the count.

/// Counts of values (milliseconds) in buckets growing by `ratio`.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    ln_ratio: f64,
    n: u64,
    sum: f64,
}

/// The smallest value told apart from zero, ms.
const FLOOR_MS: f64 = 0.01;

impl Histogram {
    /// Buckets `precision` wide relative to their value (0.001: 0.1%),
    /// from 0.01 ms to about 115 days.
    pub fn new(precision: f64) -> Histogram {
        let ln_ratio = (1.0 + precision).ln();
        let buckets = ((1e10f64 / FLOOR_MS).ln() / ln_ratio).ceil() as usize + 2;
        Histogram {
            counts: vec![0; buckets],
            ln_ratio,
            n: 0,
            sum: 0.0,
        }
    }

    fn bucket(&self, ms: f64) -> usize {
        if ms <= FLOOR_MS || ms.is_nan() {
            return 0;
        }
        (((ms / FLOOR_MS).ln() / self.ln_ratio) as usize + 1).min(self.counts.len() - 1)
    }

    /// The value a bucket stands for: its geometric middle.
    fn value(&self, b: usize) -> f64 {
        if b == 0 {
            0.0
        } else {
            FLOOR_MS * ((b as f64 - 0.5) * self.ln_ratio).exp()
        }
    }

    pub fn record(&mut self, ms: f64) {
        let b = self.bucket(ms);
        self.counts[b] += 1;
        self.n += 1;
        self.sum += ms;
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
