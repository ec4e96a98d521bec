//! Cron expressions and IANA time zones of schedules.

use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::lower::Ctx;
use scalepol_syntax::Span;

use scalepol_common::schedule::{parse_cron, parse_zone, FIELDS};

/// Checks a five-field cron expression; reports the failing field.
pub fn check_cron(ctx: &mut Ctx, file: FileId, cron: &str, span: Span) -> bool {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        ctx.push(
            Diagnostic::new(
                code::INVALID_CRON,
                file,
                span,
                format!(
                    "a cron expression has five fields; this one has {}",
                    fields.len()
                ),
            )
            .label("expected MIN HOUR DOM MON DOW")
            .help("for example \"0 8 * * MON-FRI\" is 08:00 on weekdays (no seconds field)"),
        );
        return false;
    }
    if parse_cron(cron).is_ok() {
        return true;
    }
    // Find the first field that fails on its own, by substituting it into an
    // otherwise valid expression.
    let bad = (0..5).find(|&i| {
        let mut probe = ["*"; 5];
        probe[i] = fields[i];
        parse_cron(&probe.join(" ")).is_err()
    });
    let (label, sub) = match bad {
        Some(i) => {
            let start = field_offset(cron, i);
            let s = Span::new(
                span.start + 1 + start,
                span.start + 1 + start + fields[i].len(),
            );
            (format!("invalid {} field `{}`", FIELDS[i], fields[i]), s)
        }
        None => (
            "the fields do not combine into a valid schedule".into(),
            span,
        ),
    };
    ctx.push(
        Diagnostic::new(code::INVALID_CRON, file, sub, format!("invalid cron expression: {label}"))
            .label(label)
            .help("fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-7 or SUN-SAT"),
    );
    false
}

fn field_offset(cron: &str, index: usize) -> usize {
    let mut count = 0;
    let mut in_field = false;
    for (i, c) in cron.char_indices() {
        if c.is_whitespace() {
            in_field = false;
        } else if !in_field {
            if count == index {
                return i;
            }
            count += 1;
            in_field = true;
        }
    }
    0
}

/// Checks an IANA zone name, suggesting close names.
pub fn check_timezone(ctx: &mut Ctx, file: FileId, tz: &str, span: Span) -> Option<()> {
    if parse_zone(tz).is_ok() {
        return Some(());
    }
    let lower = tz.to_ascii_lowercase();
    let best = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .filter(|n| n.contains('/'))
        .map(|n| (strsim::jaro_winkler(&lower, &n.to_ascii_lowercase()), n))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(s, _)| *s > 0.85)
        .map(|(_, n)| n);
    let mut d = Diagnostic::new(
        code::UNKNOWN_TIMEZONE,
        file,
        span,
        format!("`{tz}` is not an IANA time zone"),
    )
    .label("unknown time zone");
    d = match best {
        Some(b) => d.help(format!("did you mean \"{b}\"?")).fix(format!("replace with \"{b}\""), span, format!("\"{b}\"")),
        None => d.help("use a region name like \"Europe/Berlin\" or \"America/New_York\" (abbreviations are ambiguous)"),
    };
    ctx.push(d);
    None
}
