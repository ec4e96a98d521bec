//! `metrics SOURCE "ENDPOINT" { name = `query` [as UNIT] [every DURATION] }`
//! and metric name resolution.

use super::{check_local_name, Ctx, Item};
use crate::args::{self, Quantity, UnitClass};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::suggest;
use scalepol_syntax::{Op, Span};

const SOURCES: &[(&str, MetricSourceKind)] = &[
    ("prometheus", MetricSourceKind::Prometheus),
    ("cloudwatch", MetricSourceKind::Cloudwatch),
    ("external", MetricSourceKind::External),
    ("pods", MetricSourceKind::Pods),
    ("object", MetricSourceKind::Object),
];

pub const METRIC_UNITS: &[(&str, MetricUnit)] = &[
    ("count", MetricUnit::Count),
    ("percent", MetricUnit::Percent),
    ("req/s", MetricUnit::RequestsPerSecond),
    ("tokens/s", MetricUnit::TokensPerSecond),
    ("ms", MetricUnit::Milliseconds),
    ("bytes", MetricUnit::Bytes),
];

fn builtin(name: &str) -> Metric {
    Metric {
        name: name.to_string(),
        span: Span::default(),
        source: MetricSourceKind::Builtin,
        endpoint: None,
        query: name.to_string(),
        query_span: Span::default(),
        unit: MetricUnit::Percent,
        interval: None,
        inherited: false,
        cloudwatch: CloudWatchDetail::default(),
    }
}

/// The built-in metrics followed by every declared one. A policy's own
/// declaration replaces an inherited one of the same name.
pub fn lower_metrics(ctx: &mut Ctx, items: &[Item]) -> Vec<Metric> {
    let mut out: Vec<Metric> = BUILTIN_METRICS.iter().map(|n| builtin(n)).collect();
    let mut declared: Vec<(Metric, FileId)> = Vec::new();
    for &(file, n) in items {
        let mut a = ctx.args(
            n,
            file,
            "metrics prometheus|cloudwatch|external|pods|object \"ENDPOINT\" { NAME = `QUERY` }",
        );
        let Some((sw, sspan)) = a.word(&mut ctx.sink, "a metric source") else {
            continue;
        };
        let Some(source) = SOURCES.iter().find(|(k, _)| *k == sw).map(|(_, s)| *s) else {
            let names: Vec<&str> = SOURCES.iter().map(|(k, _)| *k).collect();
            let mut d = Diagnostic::new(
                code::UNKNOWN_SOURCE,
                file,
                sspan,
                format!("unknown metric source `{sw}`"),
            )
            .label("unknown source");
            d = crate::suggest::did_you_mean(
                d,
                sw,
                &names,
                sspan,
                format!("the sources are: {}", names.join(", ")),
            );
            ctx.push(d);
            continue;
        };
        let endpoint = a.string(&mut ctx.sink, "the source's endpoint in quotes");
        a.end(&mut ctx.sink);
        // An Object metric's endpoint names the object the metric describes.
        if let Some((e, espan)) = endpoint.filter(|_| source == MetricSourceKind::Object) {
            if e.split('/').filter(|s| !s.is_empty()).count() < 3 {
                ctx.push(
                    Diagnostic::new(code::BAD_ARGUMENTS, file, espan, format!("`{e}` does not name an object"))
                        .label("expected APIVERSION/KIND/NAME")
                        .help("name the object the metric describes, like \"networking.k8s.io/v1/Ingress/main-route\""),
                );
                continue;
            }
        }
        let endpoint = endpoint.map(|(s, _)| s.to_string());
        for m in n.block_nodes() {
            let Some(metric) = lower_metric(ctx, file, m, source, endpoint.clone()) else {
                continue;
            };
            if let Some(i) = declared.iter().position(|(d, _)| d.name == metric.name) {
                if declared[i].1 == file {
                    let first = declared[i].0.span;
                    super::policy::duplicate_name(
                        ctx,
                        file,
                        metric.span,
                        "metric",
                        &metric.name,
                        first,
                    );
                    continue;
                }
                declared.remove(i); // the policy overrides its defaults
            }
            declared.push((metric, file));
        }
    }
    out.extend(declared.into_iter().map(|(m, _)| m));
    out
}

fn lower_metric(
    ctx: &mut Ctx,
    file: FileId,
    m: &scalepol_syntax::Node,
    source: MetricSourceKind,
    endpoint: Option<String>,
) -> Option<Metric> {
    let name = m.keyword.as_str();
    if BUILTIN_METRICS.contains(&name)
        || scalepol_common::rule_context::is_variable(name)
        || name == FORMULA
    {
        ctx.push(
            Diagnostic::new(code::RESERVED_NAME, file, m.keyword_span, format!("`{name}` is a built-in name"))
                .label("reserved")
                .help(format!("`{name}` already means something in every policy; name this metric differently, like `{name}_custom`")),
        );
        return None;
    }
    if !check_local_name(ctx, file, name, m.keyword_span, "metric") {
        return None;
    }
    let mut a = ctx.args(m, file, "NAME = `QUERY` [as UNIT] [every DURATION]");
    a.op(&mut ctx.sink, Op::Eq)?;
    let (query, qspan, query_span) = match a.peek().map(|x| &x.kind) {
        Some(scalepol_syntax::ArgKind::Str(_)) => {
            let (q, span) = a.string(&mut ctx.sink, "the query")?;
            (q, span, span)
        }
        _ => {
            let (q, span) = a.code(&mut ctx.sink, "the query in back-quotes")?;
            (
                q,
                span,
                Span::new(span.start + 1, span.end.saturating_sub(1)),
            )
        }
    };
    if query.trim().is_empty() {
        ctx.push(
            Diagnostic::new(
                code::CEL_EMPTY,
                file,
                qspan,
                format!("the query of `{name}` is empty"),
            )
            .label("empty query")
            .help("write the query that reads this metric, like `sum(vllm:num_requests_waiting{model_name=\"llama3\"})`"),
        );
        return None;
    }
    let mut unit = MetricUnit::Count;
    let mut interval = None;
    let mut cloudwatch = CloudWatchDetail::default();
    while !a.is_done() {
        if let Some(w) = ["dimension", "statistic", "unit"]
            .into_iter()
            .find(|w| a.peek().is_some_and(|x| x.is_word(w)))
        {
            let span = a.peek().map(|x| x.span).unwrap_or(m.keyword_span);
            a.eat_word(w);
            // A mistake here is reported and the metric kept, so that its
            // uses do not fail too.
            let mut ignored = CloudWatchDetail::default();
            let detail = if source == MetricSourceKind::Cloudwatch {
                &mut cloudwatch
            } else {
                ctx.push(
                    Diagnostic::new(code::BAD_ARGUMENTS, file, span, format!("`{w}` applies to CloudWatch metrics only"))
                        .label("not a CloudWatch metric")
                        .help("dimensions, statistics and units belong to `metrics cloudwatch \"REGION\" { ... }`"),
                );
                &mut ignored
            };
            if cloudwatch_detail(ctx, file, &mut a, w, detail).is_none() {
                break;
            }
        } else if a.eat_word("as") {
            unit = metric_unit(ctx, &mut a)?;
        } else if a.eat_word("every") {
            let q = a.quantity(&mut ctx.sink, "a sampling interval")?;
            let d = args::to_duration(&mut ctx.sink, file, &q, "every")?;
            if !super::shared::positive(ctx, file, &q, d, "every") {
                return None;
            }
            interval = Some(d);
        } else {
            a.end(&mut ctx.sink);
        }
    }
    let inherited = file != FileId(0);
    Some(Metric {
        name: name.to_string(),
        span: m.keyword_span,
        source,
        endpoint,
        query: query.to_string(),
        query_span,
        unit,
        interval,
        inherited,
        cloudwatch,
    })
}

/// `dimension "NAME" = "VALUE"`, `statistic sum`, `unit "Count"`.
fn cloudwatch_detail(
    ctx: &mut Ctx,
    file: FileId,
    a: &mut crate::args::Args,
    what: &str,
    detail: &mut CloudWatchDetail,
) -> Option<()> {
    match what {
        "dimension" => {
            let (name, _) = a.string(&mut ctx.sink, "the dimension's name in quotes")?;
            a.op(&mut ctx.sink, Op::Eq)?;
            let (value, vspan) = a.string(&mut ctx.sink, "the dimension's value in quotes")?;
            // KEDA's aws-cloudwatch scaler joins names and values with `;`.
            if name.contains(';') || value.contains(';') {
                ctx.push(
                    Diagnostic::new(code::BAD_ARGUMENTS, file, vspan, "a dimension cannot contain `;`")
                        .label("`;` inside")
                        .help("KEDA separates CloudWatch dimensions with `;`: a name or value holding one would split"),
                );
                return None;
            }
            detail
                .dimensions
                .push((name.to_string(), value.to_string()));
        }
        "statistic" => {
            let words: Vec<&str> = CLOUDWATCH_STATISTICS.iter().map(|(w, _)| *w).collect();
            let (w, span) = a.word(
                &mut ctx.sink,
                "a statistic: average, minimum, maximum, sample_count, sum",
            )?;
            let Some((_, aws)) = CLOUDWATCH_STATISTICS.iter().find(|(k, _)| *k == w) else {
                let d = Diagnostic::new(
                    code::BAD_ARGUMENTS,
                    file,
                    span,
                    format!("`{w}` is not a CloudWatch statistic"),
                )
                .label("unknown statistic");
                ctx.push(suggest::did_you_mean(
                    d,
                    w,
                    &words,
                    span,
                    format!("the statistics are: {}", words.join(", ")),
                ));
                return None;
            };
            detail.statistic = Some(aws.to_string());
        }
        _ => {
            let (u, span) =
                a.string(&mut ctx.sink, "a CloudWatch unit in quotes, like \"Count\"")?;
            if !CLOUDWATCH_UNITS.contains(&u) {
                let d = Diagnostic::new(
                    code::UNKNOWN_UNIT,
                    file,
                    span,
                    format!("`{u}` is not a CloudWatch unit"),
                )
                .label("unknown unit");
                ctx.push(suggest::did_you_mean(d, u, &CLOUDWATCH_UNITS, span, "CloudWatch units are its StandardUnit names: Count, Percent, Seconds, Bytes, Count/Second, ...".to_string()));
                return None;
            }
            detail.unit = Some(u.to_string());
        }
    }
    Some(())
}

fn metric_unit(ctx: &mut Ctx, a: &mut crate::args::Args) -> Option<MetricUnit> {
    let file = a.file;
    let names: Vec<&str> = METRIC_UNITS.iter().map(|(k, _)| *k).collect();
    let (w, span) = a.word(
        &mut ctx.sink,
        "a unit: count, percent, req/s, tokens/s, ms, bytes",
    )?;
    match METRIC_UNITS.iter().find(|(k, _)| *k == w) {
        Some((_, u)) => Some(*u),
        None => {
            let mut d = Diagnostic::new(
                code::UNKNOWN_UNIT,
                file,
                span,
                format!("`{w}` is not a metric unit"),
            )
            .label("unknown unit");
            d = crate::suggest::did_you_mean(
                d,
                w,
                &names,
                span,
                format!("metric units are: {}", names.join(", ")),
            );
            ctx.push(d);
            None
        }
    }
}

/// Looks a metric up by name, reporting an unknown one with a suggestion.
pub fn resolve<'m>(
    ctx: &mut Ctx,
    file: FileId,
    name: &str,
    span: Span,
    metrics: &'m [Metric],
) -> Option<&'m Metric> {
    if let Some(m) = metrics.iter().find(|m| m.name == name) {
        return Some(m);
    }
    ctx.push(unknown_metric(file, name, span, metrics));
    None
}

pub fn unknown_metric(file: FileId, name: &str, span: Span, metrics: &[Metric]) -> Diagnostic {
    let mut d = Diagnostic::new(
        code::UNKNOWN_METRIC,
        file,
        span,
        format!("no metric is named `{name}`"),
    )
    .label("unknown metric");
    match suggest::closest_owned(name, metrics.iter().map(|m| m.name.as_str())) {
        Some(s) => {
            d = d
                .help(format!("did you mean `{s}`?"))
                .fix(format!("replace with `{s}`"), span, s)
        }
        None => {
            let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
            d = d.help(format!(
                "declare it in a `metrics` block; the metrics in scope are: {}",
                names.join(", ")
            ));
        }
    }
    d
}

/// Converts a value written for metric `m` into the metric's base unit.
pub fn value_in_unit(ctx: &mut Ctx, file: FileId, q: &Quantity, m: &Metric) -> Option<f64> {
    let (want, example) = match m.unit {
        MetricUnit::Count => (UnitClass::Plain, "8"),
        MetricUnit::Percent => (UnitClass::Percent, "80%"),
        MetricUnit::RequestsPerSecond => (UnitClass::Requests, "20 req/s"),
        MetricUnit::TokensPerSecond => (UnitClass::Tokens, "2000 tokens/s"),
        MetricUnit::Milliseconds => (UnitClass::Duration, "500ms"),
        MetricUnit::Bytes => (UnitClass::Bytes, "2Gi"),
    };
    if q.class() != want {
        let mut d = args::unit_mismatch(file, q, &m.name, want, example);
        d.message = format!(
            "`{}` is measured in {}, but this value is {}",
            m.name,
            m.unit.name(),
            q.class().describe()
        );
        ctx.push(d);
        return None;
    }
    if q.value < 0.0 {
        ctx.push(args::negative(file, q.span, "a metric value"));
        return None;
    }
    match want {
        UnitClass::Duration => {
            args::to_duration(&mut ctx.sink, file, q, &m.name).map(|d| d.0 as f64)
        }
        UnitClass::Bytes => args::to_bytes(&mut ctx.sink, file, q, &m.name).map(|b| b.0 as f64),
        // CPU and memory utilisation are shares of the request: a pod may
        // use 300% of it, and Kubernetes accepts such targets.
        UnitClass::Percent if q.value > super::scale::max_utilisation(&m.name) => {
            ctx.push(
                Diagnostic::new(
                    code::PERCENT_RANGE,
                    file,
                    q.span,
                    format!("{}% is above {}%", q.text, super::scale::max_utilisation(&m.name)),
                )
                .label("out of range")
                .help(format!(
                    "`{}` lies between 0% and 100% (only `cpu` and `memory`, shares of the request, go above)",
                    m.name
                )),
            );
            None
        }
        _ => Some(q.value),
    }
}

/// Warns about declared metrics that nothing reads.
pub fn report_unused(ctx: &mut Ctx, p: &Policy) {
    for m in p
        .metrics
        .iter()
        .filter(|m| m.source != MetricSourceKind::Builtin)
    {
        let used = p.pools.iter().filter_map(|x| x.scale.as_ref()).any(|s| {
            s.targets
                .iter()
                .any(|t| t.reads().contains(&m.name.as_str()))
        }) || p.rules.iter().any(|r| r.reads.contains(&m.name))
            || p.tests
                .iter()
                .any(|t| t.given.iter().any(|(n, _)| *n == m.name));
        if !used && m.span != Span::default() {
            // Only the policy's own declarations: inherited ones may serve other policies.
            if !m.inherited {
                ctx.push(
                    Diagnostic::new(
                        code::UNUSED_METRIC,
                        FileId(0),
                        m.span,
                        format!("metric `{}` is never used", m.name),
                    )
                    .label("declared here")
                    .help("scale on it with `on`, read it in a rule, or remove it"),
                );
            }
        }
    }
}
