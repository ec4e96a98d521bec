//! Reading rows: request-level and series CSV, each row validated, one
//! record reused for every row.

use super::*;

/// The rows of a CSV file, read into one record reused for every row (a
/// new record per row made the allocator most of the reading time).
pub(super) struct Rows<R> {
    pub(super) rdr: csv::Reader<R>,
    pub(super) record: csv::StringRecord,
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
pub(super) struct Cols {
    pub(super) time: usize,
    pub(super) time_unit: f64,
    pub(super) service: Option<(usize, f64)>,
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

pub(super) fn requests<R: std::io::Read>(
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

pub(super) fn series<R: std::io::Read>(
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
