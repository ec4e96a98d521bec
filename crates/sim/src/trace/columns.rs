//! Which CSV columns hold what: names, indexes and time units.

use super::*;

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
