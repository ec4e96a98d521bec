//! Quantities to base units: durations, percentages, replica counts and
//! bytes, with the unit classes and the diagnostics for a wrong or missing
//! unit.

use super::*;

pub fn negative(file: FileId, span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        code::NEGATIVE_VALUE,
        file,
        span,
        format!("{what} cannot be negative"),
    )
    .label("negative")
    .help("use zero or a positive value")
}

/// What kind of quantity a unit spelling denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitClass {
    Plain,
    Duration,
    Percent,
    Bytes,
    Cores,
    Requests,
    Tokens,
    Concurrent,
    Replicas,
    Unknown,
}

impl UnitClass {
    pub fn of(unit: Option<&str>) -> UnitClass {
        match unit {
            None => UnitClass::Plain,
            Some(u) if units::duration_unit(u).is_some() => UnitClass::Duration,
            Some("%") => UnitClass::Percent,
            Some(u) if units::byte_unit(u).is_some() => UnitClass::Bytes,
            Some("cores" | "core") => UnitClass::Cores,
            Some("req/s" | "requests/s" | "rps") => UnitClass::Requests,
            Some("tokens/s" | "tok/s") => UnitClass::Tokens,
            Some("concurrent") => UnitClass::Concurrent,
            Some("replicas" | "replica") => UnitClass::Replicas,
            Some(_) => UnitClass::Unknown,
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            UnitClass::Plain => "a plain number",
            UnitClass::Duration => "a duration",
            UnitClass::Percent => "a percentage",
            UnitClass::Bytes => "an amount of memory",
            UnitClass::Cores => "a number of cores",
            UnitClass::Requests => "a request rate",
            UnitClass::Tokens => "a token rate",
            UnitClass::Concurrent => "a concurrency",
            UnitClass::Replicas => "a replica count",
            UnitClass::Unknown => "an unknown unit",
        }
    }
}

impl Quantity {
    pub fn class(&self) -> UnitClass {
        UnitClass::of(self.unit.as_deref())
    }
}

/// Reports a quantity whose unit is not the one expected. `example` shows a
/// value of the right kind.
pub fn unit_mismatch(
    file: FileId,
    q: &Quantity,
    kw: &str,
    want: UnitClass,
    example: &str,
) -> Diagnostic {
    let got = q.class();
    match got {
        UnitClass::Unknown => {
            let unit = q.unit.as_deref().unwrap_or("");
            let mut d = Diagnostic::new(
                code::UNKNOWN_UNIT,
                file,
                q.span,
                format!("unknown unit `{unit}`"),
            )
            .label("not a unit")
            .help(format!(
                "`{kw}` takes {}, like `{example}`",
                want.describe()
            ));
            if let Some(s) =
                unit_alias(unit).or_else(|| crate::suggest::closest(unit, units::ALL_UNITS))
            {
                d = d
                    .help(format!(
                        "`{kw}` takes {}, like `{example}`; did you mean `{s}`?",
                        want.describe()
                    ))
                    .fix(
                        format!("write `{}{s}`", q.text),
                        q.span,
                        format!("{}{s}", q.text),
                    );
            }
            d
        }
        UnitClass::Plain => Diagnostic::new(
            code::MISSING_UNIT,
            file,
            q.span,
            format!("`{kw}` needs a unit: {}", want.describe()),
        )
        .label("no unit")
        .help(format!("write the unit, like `{example}`")),
        _ => Diagnostic::new(
            code::WRONG_UNIT,
            file,
            q.span,
            format!("`{kw}` takes {}, found {}", want.describe(), got.describe()),
        )
        .label(format!("expected {}", want.describe()))
        .help(format!("write {}, like `{example}`", want.describe())),
    }
}

/// The unit meant by a common spelling the language does not use.
fn unit_alias(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "sec" | "secs" | "second" | "seconds" => "s",
        "min" | "mins" | "minute" | "minutes" => "m",
        "hr" | "hrs" | "hour" | "hours" => "h",
        "day" | "days" => "d",
        "msec" | "millis" | "milliseconds" => "ms",
        "Gb" | "GB" | "gb" => "Gi",
        "Mb" | "MB" | "mb" => "Mi",
        "pct" | "percent" => "%",
        _ => return None,
    })
}

/// Converts a duration quantity to milliseconds, or reports why not.
pub fn to_duration(sink: &mut Sink, file: FileId, q: &Quantity, kw: &str) -> Option<Duration> {
    if q.class() != UnitClass::Duration {
        sink.push(unit_mismatch(file, q, kw, UnitClass::Duration, "30s"));
        return None;
    }
    if q.value < 0.0 {
        sink.push(negative(file, q.span, "a duration"));
        return None;
    }
    let per = units::duration_unit(q.unit.as_deref().unwrap_or("s")).unwrap_or(1000) as f64;
    let ms = q.value * per;
    if ms > MAX_DURATION_MS as f64 {
        sink.push(
            Diagnostic::new(
                code::VALUE_TOO_LARGE,
                file,
                q.span,
                "durations are limited to 366 days",
            )
            .label("too long"),
        );
        return None;
    }
    Some(Duration(ms.round() as u64))
}

/// Converts a percentage quantity to a fraction of one, within `0..=max`.
pub fn to_percent(
    sink: &mut Sink,
    file: FileId,
    q: &Quantity,
    kw: &str,
    max_percent: f64,
) -> Option<f64> {
    if q.class() != UnitClass::Percent {
        sink.push(unit_mismatch(file, q, kw, UnitClass::Percent, "80%"));
        return None;
    }
    if q.value < 0.0 || q.value > max_percent {
        sink.push(
            Diagnostic::new(
                code::PERCENT_RANGE,
                file,
                q.span,
                format!("`{kw}` is {}%, outside 0-{max_percent}%", q.text),
            )
            .label("out of range")
            .help(format!(
                "a percentage for `{kw}` lies between 0% and {max_percent}%"
            )),
        );
        return None;
    }
    Some(q.value / 100.0)
}

/// Converts a replica count: a whole number, plain or with `replicas`.
pub fn to_replicas(sink: &mut Sink, file: FileId, q: &Quantity, kw: &str) -> Option<u32> {
    if !matches!(q.class(), UnitClass::Plain | UnitClass::Replicas) {
        sink.push(unit_mismatch(file, q, kw, UnitClass::Replicas, "4"));
        return None;
    }
    if q.value < 0.0 {
        sink.push(negative(file, q.span, "a replica count"));
        return None;
    }
    if q.value.fract() != 0.0 {
        sink.push(
            Diagnostic::new(
                code::FRACTIONAL_REPLICAS,
                file,
                q.span,
                format!("{} is not a whole number of replicas", q.text),
            )
            .label("fractional")
            .help("replicas are whole: round to the count you mean")
            .fix("round up", q.span, format!("{}", q.value.ceil() as u64)),
        );
        return None;
    }
    if q.value > MAX_REPLICAS as f64 {
        sink.push(
            Diagnostic::new(
                code::VALUE_TOO_LARGE,
                file,
                q.span,
                format!("{} replicas is above the limit of {MAX_REPLICAS}", q.text),
            )
            .label("too many")
            .help(format!(
                "Kubernetes replica counts are int32: at most {MAX_REPLICAS}"
            )),
        );
        return None;
    }
    Some(q.value as u32)
}

/// Converts a memory quantity to bytes.
pub fn to_bytes(sink: &mut Sink, file: FileId, q: &Quantity, kw: &str) -> Option<Bytes> {
    if q.class() != UnitClass::Bytes {
        sink.push(unit_mismatch(file, q, kw, UnitClass::Bytes, "16Gi"));
        return None;
    }
    if q.value < 0.0 {
        sink.push(negative(file, q.span, "an amount of memory"));
        return None;
    }
    let per = units::byte_unit(q.unit.as_deref().unwrap_or("")).unwrap_or(1) as f64;
    Some(Bytes((q.value * per).round() as u64))
}
