//! The knobs of a policy: each parameter the search may change, where it is
//! written (or where it would be inserted) and the values it may take.
//! Knobs are found in the syntax tree, so an edit replaces exactly the text
//! of one setting and keeps everything else the user wrote.

use crate::edit::{indent_of, line_start, Edit};
use scalepol_syntax::{Arg, ArgKind, Document, Node, Span};

/// One parameter: its text now and the texts it may take instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Knob {
    /// What it is, for the report: "floor of pool `l4`".
    pub name: String,
    /// The text replaced; empty where the setting is not written and a
    /// candidate inserts it.
    pub span: Span,
    pub current: String,
    pub candidates: Vec<String>,
}

impl Knob {
    /// The edit that sets choice `c` (0 is the current text: no edit).
    pub fn edit(&self, c: usize) -> Option<Edit> {
        (c > 0).then(|| Edit {
            span: self.span,
            text: self.candidates[c - 1].clone(),
        })
    }

    /// The text of choice `c`, for the report.
    pub fn text(&self, c: usize) -> &str {
        if c == 0 {
            &self.current
        } else {
            &self.candidates[c - 1]
        }
    }

    pub fn choices(&self) -> usize {
        self.candidates.len() + 1
    }
}

/// Scale-up behaviours tried, from cautious to aggressive.
const UP: [&str; 5] = [
    "up { by 100% every 15s, by 4 replicas every 15s, select max, stabilize 0s }",
    "up { by 200% every 15s, by 8 replicas every 15s, select max, stabilize 0s }",
    "up { by 100% every 15s, by 4 replicas every 15s, select max, stabilize 30s }",
    "up { by 50% every 30s, by 2 replicas every 30s, select max, stabilize 0s }",
    "up { by 100% every 30s, select max, stabilize 1m }",
];

/// Scale-down behaviours tried, from quick to cautious.
const DOWN: [&str; 8] = [
    "down { by 100% every 15s, stabilize 1m }",
    "down { by 100% every 15s, stabilize 2m }",
    "down { by 100% every 15s, stabilize 3m }",
    "down { by 100% every 15s, stabilize 5m }",
    "down { by 50% every 1m, stabilize 2m }",
    "down { by 20% every 1m, stabilize 5m }",
    "down { by 2 replicas every 1m, stabilize 2m }",
    "down { by 1 replica every 1m, stabilize 5m }",
];

const TOLERANCE: [&str; 5] = ["5%", "10%", "15%", "20%", "30%"];

/// Factors tried on a target value.
const TARGET_FACTORS: [f64; 8] = [0.5, 0.67, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0];

/// The knobs of `pool` in the policy's text.
pub fn find(source: &str, doc: &Document, pool: &str, max: u32) -> Vec<Knob> {
    let Some(policy) = doc.nodes.iter().find(|n| n.keyword == "policy") else {
        return Vec::new();
    };
    let body = policy.block_nodes();
    let single_pool = body.iter().filter(|n| n.keyword == "pool").count() == 1;
    let mut out = Vec::new();
    let named = |n: &&Node| n.args.first().and_then(Arg::as_word) == Some(pool);
    if let Some(p) = body.iter().filter(|n| n.keyword == "pool").find(named) {
        replicas(source, p, pool, max, &mut out);
    }
    let scale = body
        .iter()
        .filter(|n| n.keyword == "scale")
        .find(|n| named(n) || (single_pool && n.args.is_empty()));
    if let Some(s) = scale {
        scale_knobs(source, s, pool, &mut out);
    }
    for n in body
        .iter()
        .filter(|n| n.keyword == "rule" || n.keyword == "schedule")
    {
        bounds(source, n, max, &mut out);
    }
    out.retain(|k| !k.candidates.is_empty());
    out
}

fn number(a: &Arg) -> Option<(f64, Option<&str>, &str)> {
    match &a.kind {
        ArgKind::Number { text, unit } => Some((text.parse().ok()?, unit.as_deref(), text)),
        _ => None,
    }
}

/// Whole counts from 0 up to `top`, and a few beyond.
fn counts(current: u32, top: u32, floor: u32) -> Vec<String> {
    let mut v: Vec<u32> = (floor..=top.min(12)).collect();
    v.extend([16, 20, 24, 32, 48, 64].into_iter().filter(|&n| n <= top));
    v.retain(|&n| n != current);
    v.dedup();
    v.into_iter().map(|n| n.to_string()).collect()
}

/// The floor and the maximum of `replicas MIN..MAX`.
fn replicas(source: &str, pool: &Node, name: &str, max: u32, out: &mut Vec<Knob>) {
    let Some(r) = pool.block_nodes().iter().find(|n| n.keyword == "replicas") else {
        return;
    };
    let Some(ArgKind::Range(lo, hi)) = r.args.first().map(|a| &a.kind) else {
        return;
    };
    let (Some((min, ..)), Some((top, ..))) = (number(lo), number(hi)) else {
        return;
    };
    let (min, top) = (min as u32, top as u32);
    out.push(Knob {
        name: format!("floor of pool `{name}`"),
        span: lo.span,
        current: source[lo.span.start..lo.span.end].to_string(),
        candidates: counts(min, top.min(max), 0),
    });
    // A lower maximum narrows the worst case (the budget); a higher one
    // serves a burst the old one capped.
    let mut tops: Vec<u32> = [top / 2, top * 3 / 4, top + top / 2, top * 2]
        .into_iter()
        .filter(|&t| t >= min.max(1) && t != top && t <= 100_000)
        .collect();
    tops.dedup();
    out.push(Knob {
        name: format!("maximum of pool `{name}`"),
        span: hi.span,
        current: source[hi.span.start..hi.span.end].to_string(),
        candidates: tops.into_iter().map(|n| n.to_string()).collect(),
    });
}

/// A target value times `f`, written as the original is.
fn scaled(value: f64, unit: Option<&str>, text: &str, f: f64) -> Option<String> {
    let mut v = value * f;
    if unit == Some("%") {
        v = v.min(100.0);
    }
    if v <= 0.0 || !v.is_finite() {
        return None;
    }
    let whole = !text.contains('.');
    let t = if whole && v >= 2.0 {
        format!("{}", v.round())
    } else {
        let r = (v * 100.0).round() / 100.0;
        if r <= 0.0 {
            return None;
        }
        format!("{r}")
    };
    Some(format!("{t}{}", unit.unwrap_or("")))
}

fn scale_knobs(source: &str, scale: &Node, pool: &str, out: &mut Vec<Knob>) {
    let body = scale.block_nodes();
    let targets: Vec<&Node> = body.iter().filter(|n| n.keyword == "on").collect();
    for t in &targets {
        let metric = t.args.first().and_then(Arg::as_word).unwrap_or("?");
        let Some(i) = t.args.iter().position(|a| a.is_word("target")) else {
            continue;
        };
        let Some(arg) = t.args.get(i + 1) else {
            continue;
        };
        let Some((value, unit, text)) = number(arg) else {
            continue;
        };
        let current = source[arg.span.start..arg.span.end].to_string();
        let mut candidates: Vec<String> = TARGET_FACTORS
            .iter()
            .filter_map(|&f| scaled(value, unit, text, f))
            .filter(|c| *c != current)
            .collect();
        candidates.dedup();
        out.push(Knob {
            name: format!("target of `{metric}` for `{pool}`"),
            span: arg.span,
            current,
            candidates,
        });
    }
    // With several targets, the largest proposal wins: one of them may only
    // add cost. Removing it leaves its text as a comment.
    if targets.len() > 1 {
        for t in &targets {
            let metric = t.args.first().and_then(Arg::as_word).unwrap_or("?");
            let text = &source[t.span.start..t.span.end];
            out.push(Knob {
                name: format!("scaling on `{metric}` for `{pool}`"),
                span: t.span,
                current: text.to_string(),
                candidates: vec![format!("// {text} (removed by scalepol tune)")],
            });
        }
    }
    setting(
        source,
        scale,
        "tolerance",
        &TOLERANCE.map(|t| format!("tolerance {t}")),
        pool,
        out,
    );
    setting(source, scale, "up", &UP.map(String::from), pool, out);
    setting(source, scale, "down", &DOWN.map(String::from), pool, out);
}

/// A whole setting of the scale block (`tolerance ...`, `up { ... }`):
/// replaced where written, else inserted.
fn setting(
    source: &str,
    scale: &Node,
    keyword: &str,
    library: &[String],
    pool: &str,
    out: &mut Vec<Knob>,
) {
    let name = format!("{keyword} of `{pool}`");
    if let Some(n) = scale.block_nodes().iter().find(|n| n.keyword == keyword) {
        let current = source[n.span.start..n.span.end].to_string();
        out.push(Knob {
            name,
            span: n.span,
            candidates: library.iter().filter(|c| **c != current).cloned().collect(),
            current,
        });
        return;
    }
    let Some((at, wrap)) = insertion_point(source, scale) else {
        return;
    };
    out.push(Knob {
        name,
        span: Span::new(at, at),
        current: String::new(),
        candidates: library.iter().map(|c| wrap(c)).collect(),
    });
}

type Wrap = Box<dyn Fn(&str) -> String>;

/// Where a new setting goes in a block, and how to write it there: a line of
/// its own before the closing brace, or `, X` in a one-line block.
fn insertion_point(source: &str, node: &Node) -> Option<(usize, Wrap)> {
    let block = node.block.as_ref()?;
    let last = block.nodes.last()?;
    if block.inline {
        return Some((last.span.end, Box::new(|c: &str| format!(", {c}"))));
    }
    if let Some((at, indent)) = line_before_close(source, node) {
        return Some((at, Box::new(move |c: &str| format!("{indent}{c}\n"))));
    }
    let indent = indent_of(source, last.span.start).to_string();
    let close = block.span.end - 1;
    Some((close, Box::new(move |c: &str| format!("\n{indent}{c}\n"))))
}

/// The start of the line that closes a multi-line block, when the closing
/// brace stands alone on it, and the indentation of the block's items.
fn line_before_close(source: &str, node: &Node) -> Option<(usize, String)> {
    let block = node.block.as_ref()?;
    let last = block.nodes.last()?;
    let close = block.span.end - 1;
    let at = line_start(source, close);
    (!block.inline && source[at..close].trim().is_empty())
        .then(|| (at, indent_of(source, last.span.start).to_string()))
}

/// The replica bounds a rule or a schedule sets.
fn bounds(source: &str, node: &Node, max: u32, out: &mut Vec<Knob>) {
    let label = node
        .args
        .first()
        .and_then(Arg::as_str)
        .unwrap_or(node.keyword.as_str());
    for r in node
        .block_nodes()
        .iter()
        .filter(|n| n.keyword == "replicas")
    {
        let arg = match r.args.as_slice() {
            [a] => match &a.kind {
                ArgKind::Range(lo, _) => Some(lo.as_ref()),
                _ => None,
            },
            [_, a] => Some(a),
            _ => None,
        };
        let Some(arg) = arg else { continue };
        let Some((v, ..)) = number(arg) else { continue };
        out.push(Knob {
            name: format!("floor of {} \"{label}\"", node.keyword),
            span: arg.span,
            current: source[arg.span.start..arg.span.end].to_string(),
            candidates: counts(v as u32, max, 1),
        });
    }
}

/// What a schedule derived from the trace may be: the daily window of
/// the busiest hours, and the floor to hold in it.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyShape {
    /// Mean replicas needed (the oracle's count) per hour of the day, UTC.
    pub hourly: [f64; 24],
    /// Whether weekdays need clearly more than weekends.
    pub weekday_heavy: bool,
}

/// A knob that adds a schedule raising `pool`'s floor over the busiest
/// hours of the day (and only on weekdays when the trace says so), from
/// the trace's daily pattern. `None` when there is nothing to add it to.
pub fn schedule_knob(
    source: &str,
    doc: &Document,
    pool: &str,
    range: (u32, u32),
    shape: &DailyShape,
) -> Option<Knob> {
    let policy = doc.nodes.iter().find(|n| n.keyword == "policy")?;
    let (at, indent) = line_before_close(source, policy)?;
    let q = &shape.hourly;
    let mut candidates = Vec::new();
    for hours in [6usize, 8, 10, 12, 14, 16] {
        // The busiest window of `hours` consecutive hours (around midnight too).
        let (start, _) = (0..24)
            .map(|h| (h, (0..hours).map(|k| q[(h + k) % 24]).sum::<f64>()))
            .fold((0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best });
        let inside: Vec<f64> = (0..hours).map(|k| q[(start + k) % 24]).collect();
        let low = inside.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = inside.iter().sum::<f64>() / hours as f64;
        let days: &[&str] = if shape.weekday_heavy {
            &["*", "MON-FRI"]
        } else {
            &["*"]
        };
        for floor in [low.floor(), mean.round()] {
            let floor = (floor as u32).min(range.1);
            if floor <= range.0 {
                continue;
            }
            for d in days {
                let text = format!(
                    "{indent}schedule \"busy hours (scalepol tune)\" cron \"0 {start} * * {d}\" for {hours}h tz \"UTC\" {{\n{indent}{indent}replicas {floor}..{}\n{indent}}}\n",
                    range.1
                );
                if !candidates.contains(&text) {
                    candidates.push(text);
                }
            }
        }
    }
    (!candidates.is_empty()).then(|| Knob {
        name: format!("a daily schedule for `{pool}` from the trace"),
        span: Span::new(at, at),
        current: String::new(),
        candidates,
    })
}
