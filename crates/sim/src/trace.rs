//! Traces: request-level CSV (`timestamp_s,input_tokens,output_tokens`) or
//! aggregated series (time, request count per interval). Every row is
//! validated; a bad one is an error naming its line, never a guess.

use std::fmt;

/// One request: its arrival (seconds from the start of the trace) and its
/// tokens (0 when the trace has none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub t: f64,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// A service time given by the caller (seconds), instead of the serving
    /// model's; used by model-validation tests.
    pub service: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub requests: Vec<Request>,
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

/// Which columns hold what. Names as in the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub time: String,
    pub input_tokens: Option<String>,
    pub output_tokens: Option<String>,
    pub count: String,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            time: "timestamp_s".into(),
            input_tokens: Some("input_tokens".into()),
            output_tokens: Some("output_tokens".into()),
            count: "count".into(),
        }
    }
}

impl Columns {
    /// Applies `--columns time=ts,count=n,input=in,output=out`.
    pub fn with_mapping(mut self, spec: &str) -> Result<Columns, TraceError> {
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                return Err(TraceError::Option(format!(
                    "`{part}` in --columns is not ROLE=COLUMN"
                )));
            };
            let v = v.trim().to_string();
            match k.trim() {
                "time" => self.time = v,
                "input" => self.input_tokens = Some(v),
                "output" => self.output_tokens = Some(v),
                "count" => self.count = v,
                other => {
                    return Err(TraceError::Option(format!(
                        "unknown column role `{other}` in --columns (time, input, output, count)"
                    )))
                }
            }
        }
        Ok(self)
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
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
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
    let rows = rdr.records().map(|r| {
        r.map_err(|e| TraceError::Line {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })
    });
    match layout {
        Layout::Requests => {
            let input = opts.columns.input_tokens.as_deref().and_then(find);
            let output = opts.columns.output_tokens.as_deref().and_then(find);
            requests(rows, time, input, output)
        }
        Layout::Series => {
            let count = find(&opts.columns.count).ok_or_else(|| {
                TraceError::Header(format!(
                    "a series needs a `{}` column; map one with --columns count=NAME",
                    opts.columns.count
                ))
            })?;
            series(rows, time, count, opts.interval)
        }
    }
}

fn field<'a>(
    r: &'a csv::StringRecord,
    i: usize,
    line: u64,
    what: &str,
) -> Result<&'a str, TraceError> {
    r.get(i)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| TraceError::Line {
            line,
            message: format!("the {what} is missing"),
        })
}

fn number(r: &csv::StringRecord, i: usize, line: u64, what: &str) -> Result<f64, TraceError> {
    let s = field(r, i, line, what)?;
    let v: f64 = s.parse().map_err(|_| TraceError::Line {
        line,
        message: format!("the {what} `{s}` is not a number"),
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(TraceError::Line {
            line,
            message: format!("the {what} `{s}` must be a finite number, 0 or more"),
        });
    }
    Ok(v)
}

fn line_of(r: &csv::StringRecord) -> u64 {
    r.position().map_or(0, |p| p.line())
}

fn requests(
    rows: impl Iterator<Item = Result<csv::StringRecord, TraceError>>,
    time: usize,
    input: Option<usize>,
    output: Option<usize>,
) -> Result<Trace, TraceError> {
    let mut out = Vec::new();
    let mut last = 0.0f64;
    for r in rows {
        let r = r?;
        let line = line_of(&r);
        let t = number(&r, time, line, "time")?;
        if t < last {
            return Err(TraceError::Line {
                line,
                message: format!(
                    "time {t} is before the previous row's {last}: the trace must be sorted"
                ),
            });
        }
        last = t;
        let tokens = |i: Option<usize>, what| -> Result<u32, TraceError> {
            match i {
                Some(i) => Ok(number(&r, i, line, what)?.min(u32::MAX as f64) as u32),
                None => Ok(0),
            }
        };
        out.push(Request {
            t,
            input_tokens: tokens(input, "input token count")?,
            output_tokens: tokens(output, "output token count")?,
            service: None,
        });
    }
    if out.is_empty() {
        return Err(TraceError::Empty);
    }
    Ok(Trace {
        duration: last,
        requests: out,
        has_tokens: input.is_some() || output.is_some(),
    })
}

fn series(
    rows: impl Iterator<Item = Result<csv::StringRecord, TraceError>>,
    time: usize,
    count: usize,
    interval: Option<f64>,
) -> Result<Trace, TraceError> {
    let mut points: Vec<(f64, f64, u64)> = Vec::new();
    for r in rows {
        let r = r?;
        let line = line_of(&r);
        let t = number(&r, time, line, "time")?;
        let n = number(&r, count, line, "request count")?;
        if let Some(&(prev, _, _)) = points.last() {
            if t <= prev {
                return Err(TraceError::Line {
                    line,
                    message: format!("time {t} does not follow the previous row's {prev}: a series must be strictly increasing"),
                });
            }
        }
        points.push((t, n, line));
    }
    if points.is_empty() {
        return Err(TraceError::Empty);
    }
    let step = match interval {
        Some(s) if s > 0.0 && s.is_finite() => s,
        Some(s) => {
            return Err(TraceError::Option(format!(
                "the interval {s} must be above 0"
            )))
        }
        None if points.len() >= 2 => points[1].0 - points[0].0,
        None => {
            return Err(TraceError::Option(
                "a one-row series needs --interval".into(),
            ))
        }
    };
    // Arrivals spread evenly over each interval (documented in
    // docs/simulation.md): deterministic, and the per-interval count exact.
    let mut out = Vec::new();
    for &(t, n, _) in &points {
        let n = n.round() as u64;
        for i in 0..n {
            out.push(Request {
                t: t + (i as f64 + 0.5) * step / n as f64,
                input_tokens: 0,
                output_tokens: 0,
                service: None,
            });
        }
    }
    let end = points.last().map_or(0.0, |p| p.0 + step);
    Ok(Trace {
        requests: out,
        duration: end,
        has_tokens: false,
    })
}

impl Trace {
    /// The arrivals replayed `speedup` times faster (time compressed) and
    /// at `scale` times the load (each request repeated: whole and
    /// fractional copies spread deterministically over the gap to the next
    /// request), generated as they are needed.
    pub fn arrivals(&self, speedup: f64, scale: f64) -> impl Iterator<Item = Request> + Clone + '_ {
        let mut carry = 0.0f64;
        self.requests.iter().enumerate().flat_map(move |(i, r)| {
            carry += scale;
            let copies = carry.floor();
            carry -= copies;
            let next = self.requests.get(i + 1).map_or(r.t, |n| n.t);
            (0..copies as u32).map(move |k| Request {
                t: (r.t + (next - r.t) * f64::from(k) / copies.max(1.0)) / speedup,
                ..*r
            })
        })
    }

    /// The trace as [`Trace::arrivals`] replays it.
    pub fn reshaped(&self, speedup: f64, scale: f64) -> Trace {
        Trace {
            requests: self.arrivals(speedup, scale).collect(),
            duration: self.duration / speedup,
            has_tokens: self.has_tokens,
        }
    }

    /// The highest arrival rate over `window`-second bins, requests per second.
    pub fn peak_rate(&self, window: f64) -> f64 {
        peak_rate(self.requests.iter().copied(), self.duration, window)
    }

    pub fn mean_rate(&self) -> f64 {
        if self.duration > 0.0 {
            self.requests.len() as f64 / self.duration
        } else {
            0.0
        }
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
