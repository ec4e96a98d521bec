//! Durations on the command line: `15s`, `500ms`, `2m`, or bare seconds.

/// Seconds in `text` (0 or more), or a message naming the option `what`.
pub fn seconds(text: &str, what: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n
        .trim()
        .parse()
        .map_err(|_| format!("{what} `{text}` is not a duration like 15s"))?;
    let ms = scalepol_compiler::units::duration_unit(if unit.is_empty() { "s" } else { unit })
        .ok_or_else(|| format!("{what} `{text}`: unknown unit `{unit}` (ms, s, m, h)"))?;
    if !(n >= 0.0 && n.is_finite()) {
        return Err(format!("{what} `{text}` must be 0 or more"));
    }
    let secs = n * ms as f64 / 1e3;
    // Beyond a year no option makes sense, and std::time::Duration would
    // overflow on some platforms' clocks.
    if secs > MAX_SECONDS {
        return Err(format!("{what} `{text}` is longer than a year"));
    }
    Ok(secs)
}

/// The longest duration an option takes: a year.
pub const MAX_SECONDS: f64 = 366.0 * 86_400.0;

/// Seconds above 0.
pub fn positive_seconds(text: &str, what: &str) -> Result<f64, String> {
    match seconds(text, what)? {
        s if s > 0.0 => Ok(s),
        _ => Err(format!("{what} `{text}` must be above 0")),
    }
}
