//! Checks on metric queries (SP08xx): each `metrics prometheus` query is
//! parsed as PromQL and read against the serving-metrics catalogue. These
//! are the mistakes that break an LLM autoscaler in production without a
//! syntax error: a metric no longer emitted, a fraction read as a percent,
//! a counter without `rate`, a quantile without `le`, a query that sums
//! every model in the cluster, an average divided again per replica, and
//! several series where one number is needed. docs/checks.md gives each.

pub mod catalogue;
mod promql;

use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::{Metric, MetricSourceKind, MetricUnit, Policy, TargetMode};
use catalogue::{Found, Series, Unit};
use promql::{Analysis, Cardinality, Selector};
use scalepol_syntax::Span;

/// Labels that narrow a query to one workload whatever the engine.
const WORKLOAD_LABELS: &[&str] = &["pod", "service", "job", "deployment", "app", "instance"];

/// The Prometheus metrics' analyses, by metric name: other checks (GPU
/// utilisation as the only signal) read them too.
pub struct Queries {
    analysed: Vec<(String, Analysis)>,
}

impl Queries {
    /// Whether a metric's query reads only GPU-busy metrics (DCGM
    /// utilisation, Triton's `nv_gpu_utilization`).
    pub fn reads_only_gpu_utilisation(&self, metric: &str) -> bool {
        self.analysed
            .iter()
            .find(|(n, _)| n == metric)
            .is_some_and(|(_, a)| {
                !a.selectors.is_empty()
                    && a.selectors
                        .iter()
                        .all(|s| catalogue::find(&s.name).is_some_and(|f| f.metric.gpu_utilisation))
            })
    }
}

/// The metric names a PromQL query reads, in order (none when it does not
/// parse).
pub fn metric_names(query: &str) -> Vec<String> {
    promql::parse(query)
        .map(|e| promql::analyse(query, &e).selectors)
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.name)
        .filter(|n| !n.is_empty())
        .collect()
}

/// Parses and checks every Prometheus query of the policy.
pub fn check(p: &Policy, out: &mut Vec<Diagnostic>) -> Queries {
    let mut analysed = Vec::new();
    for m in p
        .metrics
        .iter()
        .filter(|m| m.source == MetricSourceKind::Prometheus)
    {
        let at = Locator::new(m);
        let expr = match promql::parse(&m.query) {
            Ok(e) => e,
            Err(e) => {
                out.push(syntax(m, &at, e));
                continue;
            }
        };
        let a = promql::analyse(&m.query, &expr);
        for s in &a.selectors {
            if let Some(found) = catalogue::find(&s.name) {
                selector_checks(m, &at, s, found, out);
            } else {
                generic_checks(&at, s, out);
            }
        }
        percent_scale(m, &at, &a, out);
        several_series(m, &at, &a, out);
        per_replica_twice(p, m, &a, out);
        analysed.push((m.name.clone(), a));
    }
    Queries { analysed }
}

/// Maps a range of the query to a span of the file.
struct Locator {
    whole: Span,
    exact: bool,
}

impl Locator {
    fn new(m: &Metric) -> Self {
        Locator {
            whole: m.query_span,
            exact: m.query_span.len() == m.query.len(),
        }
    }

    fn span(&self, range: Option<&std::ops::Range<usize>>) -> Span {
        match range {
            Some(r) if self.exact => {
                Span::new(self.whole.start + r.start, self.whole.start + r.end)
            }
            _ => self.whole,
        }
    }
}

fn syntax(m: &Metric, at: &Locator, e: promql::ParseError) -> Diagnostic {
    Diagnostic::new(
        code::QUERY_SYNTAX,
        FileId(0),
        at.span(Some(&e.range)),
        format!("the query of `{}` is not valid PromQL: {}", m.name, e.message),
    )
    .label("the query goes wrong here")
    .help("Prometheus would refuse it; see https://prometheus.io/docs/prometheus/latest/querying/basics/")
}

fn selector_checks(m: &Metric, at: &Locator, s: &Selector, f: Found, out: &mut Vec<Diagnostic>) {
    let span = at.span(s.range.as_ref());
    if let Some(d) = deprecated(s, f, span) {
        out.push(d);
    }
    if f.is_cumulative() && !s.in_rate {
        out.push(counter(s, span, &format!("a {} counter", f.engine.engine)));
    }
    if f.series == Series::Bucket {
        if let Some(d) = histogram(s, span) {
            out.push(d);
        }
    }
    let scoped = s
        .scoped_by
        .iter()
        .any(|l| f.engine.identity.contains(l) || WORKLOAD_LABELS.contains(&l.as_str()));
    if !scoped && !f.engine.identity.is_empty() {
        let label = &f.engine.identity[0];
        out.push(
            Diagnostic::new(
                code::QUERY_SPANS_MODELS,
                FileId(0),
                span,
                format!("`{}` is read for every model in the cluster: the query of `{}` selects no `{label}`", s.name, m.name),
            )
            .label(format!("no `{label}` matcher"))
            .help(format!(
                "{} labels each series with {}: write `{}{{{label}=\"...\"}}` so that this workload scales on its own load",
                f.engine.engine,
                names(&f.engine.identity),
                s.name
            )),
        );
    }
}

fn names(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn deprecated(s: &Selector, f: Found, span: Span) -> Option<Diagnostic> {
    let info = f.metric;
    let since = info.deprecated.as_ref()?;
    let engine = &f.engine.engine;
    let status = match &info.removed {
        Some(r) => format!("deprecated in {engine} {since} and no longer emitted since {r}"),
        None => format!("deprecated in {engine} {since}"),
    };
    let mut d = Diagnostic::new(
        code::DEPRECATED_METRIC,
        FileId(0),
        span,
        format!("`{}` is {status}", s.name),
    )
    .label("deprecated metric");
    let source = info.source.as_deref().unwrap_or("");
    d = match &info.replacement {
        Some(r) => {
            // A histogram's series keep their suffix.
            let suffix = &s.name[info.name.len().min(s.name.len())..];
            let new = format!("{r}{suffix}");
            d.help(format!("read `{new}` instead ({source}); an autoscaler on a metric that is no longer emitted reads nothing"))
                .fix("use the current name", span, new)
        }
        None => d.help(format!("{engine} no longer has an equivalent ({source}): scale on another signal, like queue depth")),
    };
    Some(d)
}

fn counter(s: &Selector, span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        code::COUNTER_WITHOUT_RATE,
        FileId(0),
        span,
        format!("`{}` is {what}, read without `rate` or `increase`", s.name),
    )
    .label("only grows")
    .help(format!(
        "a counter's value is everything done since the process started: read `rate({}[1m])`",
        s.name
    ))
}

fn histogram(s: &Selector, span: Span) -> Option<Diagnostic> {
    let (message, help) = if !s.in_quantile {
        (
            format!("`{}` is a histogram's buckets, read without `histogram_quantile`", s.name),
            format!("a bucket counts observations up to its `le` bound: read a quantile, like `histogram_quantile(0.95, sum by (le) (rate({}[1m])))`", s.name),
        )
    } else if s.le_dropped {
        (
            format!(
                "the aggregation inside `histogram_quantile` drops `le` from `{}`",
                s.name
            ),
            "keep the bucket boundaries: aggregate `by (le)` (with any other label you need)"
                .to_string(),
        )
    } else {
        return None;
    };
    Some(
        Diagnostic::new(code::HISTOGRAM_MISUSE, FileId(0), span, message)
            .label("histogram buckets")
            .help(help),
    )
}

/// Prometheus' naming conventions, for metrics the catalogue does not know:
/// `_total` is a counter, `_bucket` a histogram's buckets.
fn generic_checks(at: &Locator, s: &Selector, out: &mut Vec<Diagnostic>) {
    let span = at.span(s.range.as_ref());
    if s.name.ends_with("_total") && !s.in_rate {
        out.push(counter(s, span, "a counter (its name ends in `_total`)"));
    }
    if s.name.ends_with("_bucket") {
        if let Some(d) = histogram(s, span) {
            out.push(d);
        }
    }
}

/// SP0803 both ways: a fraction declared as percent without `* 100`, a
/// percentage multiplied by 100.
fn percent_scale(m: &Metric, at: &Locator, a: &Analysis, out: &mut Vec<Diagnostic>) {
    if m.unit != MetricUnit::Percent {
        return;
    }
    for s in &a.selectors {
        let Some(f) = catalogue::find(&s.name) else {
            continue;
        };
        let (message, help) = match f.metric.unit {
            Unit::Fraction if !a.times_hundred => (
                format!("`{}` is a fraction from 0 to 1, and `{}` is declared as percent", s.name, m.name),
                "multiply by 100 in the query (`... * 100`): as written, a target like 80% is never reached",
            ),
            Unit::Percent if a.times_hundred => (
                format!("`{}` is already a percentage (0 to 100), and the query multiplies it by 100", s.name),
                "drop the `* 100`: as written, a target of 80% is reached at 0.8%",
            ),
            _ => continue,
        };
        out.push(
            Diagnostic::new(
                code::FRACTION_PERCENT,
                FileId(0),
                at.span(s.range.as_ref()),
                message,
            )
            .label(format!("{:?}", f.metric.unit).to_lowercase())
            .help(help),
        );
        return;
    }
}

fn several_series(m: &Metric, at: &Locator, a: &Analysis, out: &mut Vec<Diagnostic>) {
    if a.cardinality == Cardinality::One {
        return;
    }
    out.push(
        Diagnostic::new(
            code::SEVERAL_SERIES,
            FileId(0),
            at.span(None),
            format!("the query of `{}` may return several series: one number is needed", m.name),
        )
        .label("not aggregated to one series")
        .help("wrap it in `sum(...)` (or `avg`, `max`): KEDA refuses a query that returns several series, and the metrics adapter reads only one"),
    );
}

fn per_replica_twice(p: &Policy, m: &Metric, a: &Analysis, out: &mut Vec<Diagnostic>) {
    if !a.averages {
        return;
    }
    let targets = p
        .pools
        .iter()
        .filter_map(|pool| pool.scale.as_ref())
        .flat_map(|s| &s.targets)
        .filter(|t| t.metric == m.name && t.mode == TargetMode::PerReplica);
    for t in targets {
        out.push(
            Diagnostic::new(
                code::DOUBLE_PER_REPLICA,
                FileId(0),
                t.span,
                format!("`{}` is already an average over pods, and `per replica` divides it again", m.name),
            )
            .label("divided twice")
            .help(format!("drop `per replica` (the average is the per-replica value), or make `{}` a `sum(...)`", m.name)),
        );
    }
}
