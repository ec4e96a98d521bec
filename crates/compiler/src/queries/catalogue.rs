//! The serving-metrics catalogue: what each metric of the common inference
//! engines and exporters is (type, unit, the labels that name a model), and
//! when it was deprecated or removed. The data is in `crates/compiler/
//! metrics/*.toml`, one file per engine with its sources; it is compiled in
//! and read once.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The files, in the order they are searched.
const FILES: &[(&str, &str)] = &[
    ("vllm.toml", include_str!("../../metrics/vllm.toml")),
    ("tgi.toml", include_str!("../../metrics/tgi.toml")),
    ("sglang.toml", include_str!("../../metrics/sglang.toml")),
    ("triton.toml", include_str!("../../metrics/triton.toml")),
    ("tei.toml", include_str!("../../metrics/tei.toml")),
    (
        "ray-serve.toml",
        include_str!("../../metrics/ray-serve.toml"),
    ),
    ("knative.toml", include_str!("../../metrics/knative.toml")),
    ("dcgm.toml", include_str!("../../metrics/dcgm.toml")),
    (
        "kubernetes.toml",
        include_str!("../../metrics/kubernetes.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    pub engine: String,
    /// Labels that name a model or deployment: a query with no matcher on
    /// one of them reads every model in the cluster.
    pub identity: Vec<String>,
    #[serde(rename = "metric")]
    pub metrics: Vec<MetricInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// What a metric's values measure. Only the scale matters to the checks:
/// a `fraction` is 0 to 1, a `percent` 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Requests,
    Tokens,
    TokensPerSecond,
    Fraction,
    Percent,
    Seconds,
    Milliseconds,
    Microseconds,
    Bytes,
    Mebibytes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub unit: Unit,
    pub help: String,
    /// The engine version that deprecated it.
    pub deprecated: Option<String>,
    /// The engine version that no longer emits it.
    pub removed: Option<String>,
    pub replacement: Option<String>,
    /// Where the deprecation or removal is recorded.
    pub source: Option<String>,
    /// It measures how busy the GPU is (not how much work waits).
    #[serde(default)]
    pub gpu_utilisation: bool,
}

/// How a series name relates to its catalogue entry: a histogram is read
/// through `_bucket`, `_sum` and `_count` series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Whole,
    Bucket,
    Sum,
    Count,
}

/// A series name found in the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub engine: &'static Engine,
    pub metric: &'static MetricInfo,
    pub series: Series,
}

impl Found {
    /// Whether the series only ever grows (a counter, or a histogram's sum
    /// and count): it means something only through `rate` or `increase`.
    pub fn is_cumulative(&self) -> bool {
        self.metric.kind == Kind::Counter
            || (self.metric.kind == Kind::Histogram && self.series != Series::Bucket)
    }
}

struct Catalogue {
    engines: Vec<Engine>,
    by_name: HashMap<String, (usize, usize)>,
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        // The files are part of the build; a test parses each one, so a
        // mistake in them fails there rather than here.
        let engines: Vec<Engine> = FILES
            .iter()
            .filter_map(|(_, text)| toml::from_str(text).ok())
            .collect();
        let mut by_name = HashMap::new();
        for (e, engine) in engines.iter().enumerate() {
            for (m, metric) in engine.metrics.iter().enumerate() {
                by_name.entry(metric.name.clone()).or_insert((e, m));
            }
        }
        Catalogue { engines, by_name }
    })
}

/// The catalogue entry of a series name, if any.
pub fn find(name: &str) -> Option<Found> {
    let c = catalogue();
    let hit = |n: &str, series: Series| {
        let &(e, m) = c.by_name.get(n)?;
        let metric = &c.engines[e].metrics[m];
        let fits = series == Series::Whole || metric.kind == Kind::Histogram;
        fits.then_some(Found {
            engine: &c.engines[e],
            metric,
            series,
        })
    };
    hit(name, Series::Whole).or_else(|| {
        [
            ("_bucket", Series::Bucket),
            ("_sum", Series::Sum),
            ("_count", Series::Count),
        ]
        .into_iter()
        .find_map(|(suffix, series)| hit(name.strip_suffix(suffix)?, series))
    })
}

/// Every engine, for documentation and tests.
pub fn engines() -> &'static [Engine] {
    &catalogue().engines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (file, text) in FILES {
            let engine: Engine =
                toml::from_str(text).unwrap_or_else(|e| panic!("metrics/{file}: {e}"));
            assert!(!engine.metrics.is_empty(), "{file}");
            for m in &engine.metrics {
                assert!(seen.insert(m.name.clone()), "{} is listed twice", m.name);
                if let Some(r) = &m.replacement {
                    let to = find(r).unwrap_or_else(|| panic!("{file}: {r} is not listed"));
                    assert!(
                        to.metric.deprecated.is_none(),
                        "{r} replaces but is deprecated"
                    );
                }
                assert!(
                    m.removed.is_none() || m.deprecated.is_some(),
                    "{}: removed without a deprecation",
                    m.name
                );
                assert!(
                    m.deprecated.is_none() || m.source.is_some(),
                    "{}: a deprecation needs its source",
                    m.name
                );
            }
        }
        assert_eq!(engines().len(), FILES.len());
    }

    #[test]
    fn histogram_series_are_found_by_suffix() {
        let f = find("vllm:time_to_first_token_seconds_bucket").unwrap();
        assert_eq!(f.series, Series::Bucket);
        assert!(!f.is_cumulative());
        assert!(find("vllm:time_to_first_token_seconds_count")
            .unwrap()
            .is_cumulative());
        // A gauge has no `_count` series.
        assert!(find("vllm:num_requests_waiting_count").is_none());
        assert_eq!(
            find("vllm:num_requests_waiting").unwrap().engine.engine,
            "vLLM"
        );
    }
}
