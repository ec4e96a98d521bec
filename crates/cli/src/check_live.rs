//! `scalepol check --prometheus URL`: each Prometheus query of the checked
//! policies runs once against a real server, and what it returns is held to
//! what the policy says: data (else which metric has no series), one series
//! (SP0808, now confirmed), a value in the declared unit's range.

use crate::prometheus::Client;
use scalepol_compiler::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::{Metric, MetricSourceKind, MetricUnit};
use scalepol_compiler::Checked;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct Options<'a> {
    pub url: &'a str,
    pub token_file: Option<&'a std::path::Path>,
    pub ca: Option<&'a std::path::Path>,
}

/// Adds the live findings to each checked policy; an error when the server
/// cannot be used at all (a bad URL or token file).
pub fn check(outcomes: &mut [Checked], o: &Options) -> Result<(), String> {
    let access = crate::prometheus::Access::from_files(o.token_file, o.ca)?;
    let client = Client::new(o.url, Duration::from_secs(10), &access)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    for c in outcomes.iter_mut() {
        let Some(p) = &c.policy else { continue };
        let mut found: Vec<Diagnostic> = p
            .metrics
            .iter()
            .filter(|m| m.source == MetricSourceKind::Prometheus)
            .filter_map(|m| one(&client, o.url, m, now))
            .collect();
        scalepol_compiler::locate(&c.files, &mut found);
        c.diagnostics.extend(found);
    }
    Ok(())
}

fn one(client: &Client, url: &str, m: &Metric, now: f64) -> Option<Diagnostic> {
    let at = m.query_span;
    let values = match client.instant(&m.query, now) {
        Ok(v) => v,
        Err(e) => {
            return Some(
                Diagnostic::new(code::LIVE_QUERY_FAILED, FileId(0), at, format!("the query of `{}` fails on {url}: {e}", m.name))
                    .label("refused")
                    .help("the autoscaler would get the same answer: fix the query, or check the server and the token"),
            )
        }
    };
    match values.as_slice() {
        [] => Some(no_data(client, url, m, now)),
        [v] => out_of_range(url, m, *v),
        many => Some(
            Diagnostic::new(code::SEVERAL_SERIES, FileId(0), at, format!("the query of `{}` returns {} series on {url}: one number is needed", m.name, many.len()))
                .label("several series")
                .help("aggregate them (`sum`, `avg`, `max`): KEDA refuses this result and the metrics adapter reads one series"),
        ),
    }
}

fn no_data(client: &Client, url: &str, m: &Metric, now: f64) -> Diagnostic {
    let missing: Vec<String> = scalepol_compiler::queries::metric_names(&m.query)
        .into_iter()
        .filter(|n| client.has_series(n, now).is_ok_and(|has| !has))
        .map(|n| format!("`{n}`"))
        .collect();
    let help = if missing.is_empty() {
        "its metrics exist, but the selection matches nothing now: check the label values"
            .to_string()
    } else {
        format!(
            "no series of {} in the last hour: is it scraped, and still emitted under that name?",
            missing.join(", ")
        )
    };
    Diagnostic::new(
        code::LIVE_NO_DATA,
        FileId(0),
        m.query_span,
        format!("the query of `{}` returns no data on {url}", m.name),
    )
    .label("no data")
    .help(help)
}

fn out_of_range(url: &str, m: &Metric, v: f64) -> Option<Diagnostic> {
    let wrong = match m.unit {
        MetricUnit::Percent => !(0.0..=100.0).contains(&v),
        _ => v < 0.0,
    };
    let range = if m.unit == MetricUnit::Percent {
        "0 to 100"
    } else {
        "zero or more"
    };
    wrong.then(|| {
        Diagnostic::new(
            code::LIVE_OUT_OF_RANGE,
            FileId(0),
            m.query_span,
            format!("`{}` reads {v} on {url}, outside {range} for {}", m.name, m.unit.name()),
        )
        .label("out of range")
        .help("a percentage multiplied by 100 twice, or a query that subtracts: fix the scale or the unit")
    })
}
