//! Traces: request-level CSV (`timestamp_s,input_tokens,output_tokens`) or
//! aggregated series (time, request count per interval). Every row is
//! validated; a bad one is an error naming its line, never a guess.

use std::fmt;

mod arrivals;
mod columns;
mod reading;

pub use arrivals::{peak_rate, Arrivals};
pub use columns::Columns;
pub use reading::MAX_SECONDS;
use reading::{requests, series, Cols, Rows};

/// One request: its arrival (seconds from the start of the trace) and its
/// tokens (0 when the trace has none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub t: f64,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// The request's own service time (seconds), from a trace column or a
    /// model-validation test, instead of the serving model's.
    pub service: Option<f64>,
}

/// One row of a series: `count` requests in the interval from `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: f64,
    pub count: u64,
    /// Service time of each of these requests, seconds, when the series has
    /// a service-time column.
    pub service: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// A request-level trace's rows (empty for a series).
    pub requests: Vec<Request>,
    /// A series' rows (empty for a request-level trace): never expanded
    /// into one value per request, so memory follows rows, not requests.
    pub series: Vec<Point>,
    /// A series' interval, seconds.
    pub step: f64,
    /// Seconds from 0 to the end of the trace.
    pub duration: f64,
    pub has_tokens: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One row per request.
    Requests,
    /// One row per interval with a request count.
    Series,
}

/// A time column's unit: the factor to seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeUnit(pub f64);

impl TimeUnit {
    pub const SECONDS: TimeUnit = TimeUnit(1.0);

    /// `ms`, `s`, `m`, `h` or `d` (and their long names).
    pub fn parse(s: &str) -> Option<TimeUnit> {
        Some(TimeUnit(match s.trim() {
            "ms" | "millisecond" | "milliseconds" => 1e-3,
            "s" | "second" | "seconds" => 1.0,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            _ => return None,
        }))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TraceError {
    /// A problem on a line of the file (1-based, the header is line 1).
    Line {
        line: u64,
        message: String,
    },
    Header(String),
    Empty,
    Option(String),
    Io(String),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Line { line, message } => write!(f, "line {line}: {message}"),
            TraceError::Header(m) => write!(f, "header: {m}"),
            TraceError::Empty => write!(f, "the trace has no rows"),
            TraceError::Option(m) | TraceError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TraceError {}

/// How to read a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    pub layout: Option<Layout>,
    pub columns: Columns,
    /// The series' interval in seconds; inferred from the first two rows
    /// when not given.
    pub interval: Option<f64>,
}

/// Reads a trace from CSV text. The layout is inferred from the header when
/// not given: a `count` column means a series.
pub fn parse(text: &str, opts: &ReadOptions) -> Result<Trace, TraceError> {
    parse_reader(text.as_bytes(), opts)
}

/// [`parse`] from a reader: rows are read one at a time.
pub fn parse_reader(input: impl std::io::Read, opts: &ReadOptions) -> Result<Trace, TraceError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(input);
    let header = rdr
        .headers()
        .map_err(|e| TraceError::Header(e.to_string()))?
        .clone();
    let find = |name: &str| header.iter().position(|h| h == name);
    let layout = opts
        .layout
        .unwrap_or(if find(&opts.columns.count).is_some() {
            Layout::Series
        } else {
            Layout::Requests
        });
    // The default time column has common aliases; a mapped one does not.
    let aliases: &[&str] = if opts.columns.time == Columns::default().time {
        &["timestamp_s", "time", "timestamp", "time_s", "t"]
    } else {
        &[]
    };
    let time = find(&opts.columns.time)
        .or_else(|| aliases.iter().find_map(|a| find(a)))
        .ok_or_else(|| {
            TraceError::Header(format!(
                "no `{}` column (columns: {}); map one with --columns time=NAME",
                opts.columns.time,
                header.iter().collect::<Vec<_>>().join(", ")
            ))
        })?;
    let service = match &opts.columns.service {
        Some((name, unit)) => Some((
            find(name).ok_or_else(|| {
                TraceError::Header(format!(
                    "no `{name}` column for --columns service= (columns: {})",
                    header.iter().collect::<Vec<_>>().join(", ")
                ))
            })?,
            unit.0,
        )),
        None => None,
    };
    let cols = Cols {
        time,
        time_unit: opts.columns.time_unit.0,
        service,
    };
    let rows = Rows {
        rdr,
        record: csv::StringRecord::new(),
    };
    match layout {
        Layout::Requests => {
            let input = opts.columns.input_tokens.as_deref().and_then(find);
            let output = opts.columns.output_tokens.as_deref().and_then(find);
            requests(rows, &cols, input, output)
        }
        Layout::Series => {
            let count = find(&opts.columns.count).ok_or_else(|| {
                TraceError::Header(format!(
                    "a series needs a `{}` column; map one with --columns count=NAME",
                    opts.columns.count
                ))
            })?;
            series(rows, &cols, count, opts.interval)
        }
    }
}

impl Trace {
    /// The arrivals replayed `speedup` times faster (time compressed) and
    /// at `scale` times the load, generated as they are needed
    /// (docs/simulation.md, "Traces").
    pub fn arrivals(&self, speedup: f64, scale: f64) -> Arrivals<'_> {
        Arrivals::new(self, speedup, scale)
    }

    /// Requests in the trace as read.
    pub fn len(&self) -> u64 {
        if self.series.is_empty() {
            self.requests.len() as u64
        } else {
            self.series.iter().map(|p| p.count).sum()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The trace cut at `at` seconds (at a row of a series): the part
    /// before, and the part after with its times counted from the cut.
    pub fn split(&self, at: f64) -> (Trace, Trace) {
        if self.series.is_empty() {
            let k = self.requests.partition_point(|r| r.t < at);
            let head = Trace {
                requests: self.requests[..k].to_vec(),
                duration: at,
                ..self.clone_empty()
            };
            let tail = Trace {
                requests: self.requests[k..]
                    .iter()
                    .map(|r| Request { t: r.t - at, ..*r })
                    .collect(),
                duration: (self.duration - at).max(0.0),
                ..self.clone_empty()
            };
            return (head, tail);
        }
        let k = self.series.partition_point(|p| p.t < at);
        let cut = self.series.get(k).map_or(self.duration, |p| p.t);
        let head = Trace {
            series: self.series[..k].to_vec(),
            duration: cut,
            ..self.clone_empty()
        };
        let tail = Trace {
            series: self.series[k..]
                .iter()
                .map(|p| Point { t: p.t - cut, ..*p })
                .collect(),
            duration: (self.duration - cut).max(0.0),
            ..self.clone_empty()
        };
        (head, tail)
    }

    fn clone_empty(&self) -> Trace {
        Trace {
            requests: Vec::new(),
            series: Vec::new(),
            step: self.step,
            duration: 0.0,
            has_tokens: self.has_tokens,
        }
    }

    /// Whether the trace carries its own service times.
    pub fn has_service(&self) -> bool {
        self.requests.first().is_some_and(|r| r.service.is_some())
            || self.series.first().is_some_and(|p| p.service.is_some())
    }

    /// The trace as [`Trace::arrivals`] replays it, as a request-level
    /// trace (for tests and small traces).
    pub fn reshaped(&self, speedup: f64, scale: f64) -> Trace {
        Trace {
            requests: self.arrivals(speedup, scale).collect(),
            series: Vec::new(),
            step: 0.0,
            duration: self.duration / speedup,
            has_tokens: self.has_tokens,
        }
    }

    /// The highest arrival rate over `window`-second bins, requests per second.
    pub fn peak_rate(&self, window: f64) -> f64 {
        peak_rate(self.arrivals(1.0, 1.0), self.duration, window)
    }

    pub fn mean_rate(&self) -> f64 {
        if self.duration > 0.0 {
            self.len() as f64 / self.duration
        } else {
            0.0
        }
    }
}
