//! Units as types. Quantities are stored in exact integer base units where
//! arithmetic must be exact (money in micro-dollars, durations in
//! milliseconds, bytes), and as `f64` where they are measurements (rates,
//! utilisation).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A duration in milliseconds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Duration(pub u64);

impl Duration {
    /// Saturating: a count of seconds from a manifest may be anything.
    pub const fn from_secs(s: u64) -> Self {
        Duration(s.saturating_mul(1000))
    }
    pub fn millis(self) -> u64 {
        self.0
    }
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// Whole seconds, rounded up (the unit of Kubernetes fields).
    pub fn secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }
}

impl fmt::Display for Duration {
    /// The shortest exact spelling: `2m`, `90s`, `1500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ] {
            if ms >= size && ms.is_multiple_of(size) {
                return write!(f, "{}{}", ms / size, unit);
            }
        }
        write!(f, "{ms}ms")
    }
}

/// An amount of money in micro-dollars (exact to $0.000001).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(pub i64);

/// A price per hour in micro-dollars.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MoneyRate(pub i64);

impl MoneyRate {
    /// The cost of `hours` hours at this rate, times `count` replicas.
    pub fn times(self, count: u64, hours: u64) -> Money {
        Money(
            self.0
                .saturating_mul(count as i64)
                .saturating_mul(hours as i64),
        )
    }
}

impl fmt::Display for Money {
    /// `$1,234.56`, with more decimals only when they are not zero. A
    /// saturated sum says so rather than print i64::MAX micro-dollars.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == i64::MAX {
            return f.write_str("more than $9,223,372,036,854");
        }
        write_dollars(f, self.0)
    }
}

impl fmt::Display for MoneyRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_dollars(f, self.0)?;
        f.write_str("/h")
    }
}

fn write_dollars(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let whole = m / 1_000_000;
    let frac = m % 1_000_000;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut frac_text = format!("{frac:06}");
    while frac_text.len() > 2 && frac_text.ends_with('0') {
        frac_text.pop();
    }
    if frac == 0 {
        write!(f, "{sign}${grouped}")
    } else {
        write!(f, "{sign}${grouped}.{frac_text}")
    }
}

/// A number of bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Bytes(pub u64);

/// Why a decimal could not be read exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    TooManyDecimals,
    TooLarge,
    Malformed,
}

/// Reads a decimal like `0.81` or `8000` into an integer of `10^-scale` units,
/// exactly (no float on the way).
pub fn parse_scaled(text: &str, scale: u32) -> Result<i64, DecimalError> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.contains(['e', 'E']) {
        return Err(DecimalError::Malformed);
    }
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > scale as usize {
        return Err(DecimalError::TooManyDecimals);
    }
    let mut value: i64 = 0;
    for c in int
        .chars()
        .chain(frac.chars())
        .chain(std::iter::repeat_n('0', scale as usize - frac.len()))
    {
        let d = c.to_digit(10).ok_or(DecimalError::Malformed)? as i64;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or(DecimalError::TooLarge)?;
    }
    Ok(if neg { -value } else { value })
}

/// Milliseconds per duration unit.
pub fn duration_unit(unit: &str) -> Option<u64> {
    Some(match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    })
}

/// Bytes per memory unit (Kubernetes quantity suffixes).
pub fn byte_unit(unit: &str) -> Option<u64> {
    Some(match unit {
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => return None,
    })
}

/// Every unit spelling the language knows, for suggestions.
pub const ALL_UNITS: &[&str] = &[
    "ms",
    "s",
    "m",
    "h",
    "d",
    "%",
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "K",
    "M",
    "G",
    "T",
    "cores",
    "req/s",
    "tokens/s",
    "concurrent",
    "replicas",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_scaled("0.81", 6), Ok(810_000));
        assert_eq!(parse_scaled("8000", 6), Ok(8_000_000_000));
        assert_eq!(
            parse_scaled("0.1234567", 6),
            Err(DecimalError::TooManyDecimals)
        );
        assert_eq!(
            parse_scaled("99999999999999", 6),
            Err(DecimalError::TooLarge)
        );
        // 0.1 + 0.2 is 0.3, unlike f64
        assert_eq!(
            parse_scaled("0.1", 6).unwrap() + parse_scaled("0.2", 6).unwrap(),
            300_000
        );
    }

    #[test]
    fn money_displays_grouped() {
        assert_eq!(Money(8_000_000_000).to_string(), "$8,000");
        assert_eq!(Money(591_300_000).to_string(), "$591.30");
        assert_eq!(Money(i64::MAX).to_string(), "more than $9,223,372,036,854");
        assert_eq!(MoneyRate(810_000).to_string(), "$0.81/h");
        assert_eq!(MoneyRate(1_006_500).to_string(), "$1.0065/h");
    }

    #[test]
    fn durations_display_shortest() {
        assert_eq!(Duration(120_000).to_string(), "2m");
        assert_eq!(Duration(90_000).to_string(), "90s");
        assert_eq!(Duration(1500).to_string(), "1500ms");
        assert_eq!(Duration(0).to_string(), "0s");
    }
}
