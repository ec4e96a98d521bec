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

/// Which columns hold what. Names as in the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub time: String,
    /// The time column's unit (`--columns time=minute:m`, `--time-unit m`).
    pub time_unit: TimeUnit,
    pub input_tokens: Option<String>,
    pub output_tokens: Option<String>,
    pub count: String,
    /// A per-request (or per-row) service time column, and its unit.
    pub service: Option<(String, TimeUnit)>,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            time: "timestamp_s".into(),
            time_unit: TimeUnit::SECONDS,
            input_tokens: Some("input_tokens".into()),
            output_tokens: Some("output_tokens".into()),
            count: "count".into(),
            service: None,
        }
    }
}

/// `NAME` or `NAME:UNIT`.
fn named_with_unit(v: &str, role: &str) -> Result<(String, Option<TimeUnit>), TraceError> {
    match v.rsplit_once(':') {
        Some((name, unit)) => {
            let u = TimeUnit::parse(unit).ok_or_else(|| {
                TraceError::Option(format!(
                    "`{unit}` in --columns {role}={v} is not a time unit (ms, s, m, h, d)"
                ))
            })?;
            Ok((name.trim().to_string(), Some(u)))
        }
        None => Ok((v.to_string(), None)),
    }
}

impl Columns {
    /// Applies `--columns time=ts:m,count=n,input=in,output=out,service=exec:ms`.
    pub fn with_mapping(mut self, spec: &str) -> Result<Columns, TraceError> {
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                return Err(TraceError::Option(format!(
                    "`{part}` in --columns is not ROLE=COLUMN"
                )));
            };
            let v = v.trim().to_string();
            match k.trim() {
                "time" => {
                    let (name, unit) = named_with_unit(&v, "time")?;
                    self.time = name;
                    if let Some(u) = unit {
                        self.time_unit = u;
                    }
                }
                "input" => self.input_tokens = Some(v),
                "output" => self.output_tokens = Some(v),
                "count" => self.count = v,
                "service" => {
                    let (name, unit) = named_with_unit(&v, "service")?;
                    self.service = Some((name, unit.unwrap_or(TimeUnit::SECONDS)));
                }
                other => {
                    return Err(TraceError::Option(format!(
                        "unknown column role `{other}` in --columns (time, input, output, count, service)"
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

/// The rows of a CSV file, read into one record reused for every row (a
/// new record per row made the allocator most of the reading time).
struct Rows<R> {
    rdr: csv::Reader<R>,
    record: csv::StringRecord,
}

impl<R: std::io::Read> Rows<R> {
    fn next(&mut self) -> Option<Result<&csv::StringRecord, TraceError>> {
        match self.rdr.read_record(&mut self.record) {
            Ok(true) => Some(Ok(&self.record)),
            Ok(false) => None,
            Err(e) => Some(Err(TraceError::Line {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })),
        }
    }
}

/// Column positions and units shared by both layouts.
struct Cols {
    time: usize,
    time_unit: f64,
    service: Option<(usize, f64)>,
}

impl Cols {
    fn time(&self, r: &csv::StringRecord, line: u64) -> Result<f64, TraceError> {
        let t = number(r, self.time, line, "time")? * self.time_unit;
        if !t.is_finite() || t > MAX_SECONDS {
            return Err(TraceError::Line {
                line,
                message: format!(
                    "time {t} s is beyond {MAX_SECONDS} s (400 days): check the time unit"
                ),
            });
        }
        Ok(t)
    }

    fn service(&self, r: &csv::StringRecord, line: u64) -> Result<Option<f64>, TraceError> {
        self.service
            .map(|(i, unit)| {
                let s = number(r, i, line, "service time")? * unit;
                if s > MAX_SECONDS / 1e3 {
                    return Err(TraceError::Line {
                        line,
                        message: format!("the service time {s} s is implausibly long"),
                    });
                }
                Ok(s)
            })
            .transpose()
    }
}

/// The longest trace read: 400 days, so that per-minute bookkeeping stays
/// a few megabytes whatever the file says.
pub const MAX_SECONDS: f64 = 400.0 * 86_400.0;

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
        message: format!("the {what} `{}` is not a number", truncate(s)),
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(TraceError::Line {
            line,
            message: format!(
                "the {what} `{}` must be a finite number, 0 or more",
                truncate(s)
            ),
        });
    }
    Ok(v)
}

/// A field as echoed in a message: at most 40 characters.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn line_of(r: &csv::StringRecord) -> u64 {
    r.position().map_or(0, |p| p.line())
}

fn requests<R: std::io::Read>(
    mut rows: Rows<R>,
    cols: &Cols,
    input: Option<usize>,
    output: Option<usize>,
) -> Result<Trace, TraceError> {
    let mut out = Vec::new();
    let mut last = 0.0f64;
    while let Some(r) = rows.next() {
        let r = r?;
        let line = line_of(r);
        let t = cols.time(r, line)?;
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
                Some(i) => Ok(number(r, i, line, what)?.min(u32::MAX as f64) as u32),
                None => Ok(0),
            }
        };
        out.push(Request {
            t,
            input_tokens: tokens(input, "input token count")?,
            output_tokens: tokens(output, "output token count")?,
            service: cols.service(r, line)?,
        });
    }
    if out.is_empty() {
        return Err(TraceError::Empty);
    }
    Ok(Trace {
        duration: last,
        requests: out,
        series: Vec::new(),
        step: 0.0,
        has_tokens: input.is_some() || output.is_some(),
    })
}

fn series<R: std::io::Read>(
    mut rows: Rows<R>,
    cols: &Cols,
    count: usize,
    interval: Option<f64>,
) -> Result<Trace, TraceError> {
    let mut points: Vec<Point> = Vec::new();
    // The narrowest gap between rows, and the line that has it.
    let mut narrowest = (f64::INFINITY, 0u64);
    while let Some(r) = rows.next() {
        let r = r?;
        let line = line_of(r);
        let t = cols.time(r, line)?;
        let n = number(r, count, line, "request count")?;
        if n > 1e12 {
            return Err(TraceError::Line {
                line,
                message: format!("the request count {n} is beyond 10^12 per row"),
            });
        }
        if let Some(prev) = points.last() {
            if t <= prev.t {
                return Err(TraceError::Line {
                    line,
                    message: format!("time {t} does not follow the previous row's {}: a series must be strictly increasing", prev.t),
                });
            }
            if t - prev.t < narrowest.0 {
                narrowest = (t - prev.t, line);
            }
        }
        points.push(Point {
            t,
            count: n.round() as u64,
            service: cols.service(r, line)?,
        });
    }
    if points.is_empty() {
        return Err(TraceError::Empty);
    }
    let step = match interval {
        Some(s) if s > 0.0 && s.is_finite() => {
            if s > narrowest.0 + 1e-9 {
                return Err(TraceError::Option(format!(
                    "--interval {s} s is longer than the {} s between rows (line {}): the intervals would overlap; check the time unit (--columns time=NAME:m)",
                    narrowest.0, narrowest.1
                )));
            }
            s
        }
        Some(s) => {
            return Err(TraceError::Option(format!(
                "the interval {s} must be above 0"
            )))
        }
        // The rows' spacing; a gap wider than it is a run of empty intervals.
        None if points.len() >= 2 => narrowest.0,
        None => {
            return Err(TraceError::Option(
                "a one-row series needs --interval".into(),
            ))
        }
    };
    let end = points.last().map_or(0.0, |p| p.t + step);
    Ok(Trace {
        requests: Vec::new(),
        series: points,
        step,
        duration: end,
        has_tokens: false,
    })
}

impl Trace {
    /// The arrivals replayed `speedup` times faster (time compressed) and
    /// at `scale` times the load, generated as they are needed
    /// (docs/simulation.md, "Traces").
    pub fn arrivals(&self, speedup: f64, scale: f64) -> Arrivals<'_> {
        Arrivals {
            trace: self,
            speedup,
            scale,
            row: 0,
            group: Group::default(),
            carry: 0.0,
        }
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

/// The requests being generated from one group of rows.
#[derive(Debug, Clone, Copy, Default)]
struct Group {
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
