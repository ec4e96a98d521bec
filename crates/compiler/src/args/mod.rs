//! Reading a node's arguments as typed values. Every reader reports what it
//! expected, in the node's own shape (`replicas MIN..MAX`), when the argument
//! does not fit.

use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId, Sink};
use crate::units::{self, Bytes, DecimalError, Duration, Money, MoneyRate};
use scalepol_syntax::{Arg, ArgKind, Node, Op, SmolStr, Span};

mod convert;
pub use convert::*;

/// A cursor over one node's arguments.
pub struct Args<'a> {
    pub node: &'a Node,
    pos: usize,
    pub file: FileId,
    /// The node's shape, for messages: `warmup DURATION`.
    shape: &'static str,
}

/// A number with its unit, before the unit is checked.
#[derive(Debug, Clone)]
pub struct Quantity {
    pub text: SmolStr,
    pub value: f64,
    pub unit: Option<SmolStr>,
    pub span: Span,
}

/// Unit words that may stand apart from their number: `16 concurrent`.
const SEPARATE_UNITS: &[&str] = &[
    "cores",
    "core",
    "concurrent",
    "req/s",
    "requests/s",
    "tokens/s",
    "replicas",
    "replica",
];

/// The largest replica count accepted (Kubernetes uses int32; no real pool is near this).
/// The largest replica count: Kubernetes counts replicas in an int32.
pub const MAX_REPLICAS: u32 = i32::MAX as u32;
/// The longest duration accepted: 366 days.
pub const MAX_DURATION_MS: u64 = 366 * 86_400_000;

impl<'a> Args<'a> {
    pub fn new(node: &'a Node, file: FileId, shape: &'static str) -> Self {
        Args {
            node,
            pos: 0,
            file,
            shape,
        }
    }

    pub fn peek(&self) -> Option<&'a Arg> {
        self.node.args.get(self.pos)
    }
    pub fn next(&mut self) -> Option<&'a Arg> {
        let a = self.node.args.get(self.pos);
        if a.is_some() {
            self.pos += 1;
        }
        a
    }
    pub fn is_done(&self) -> bool {
        self.pos >= self.node.args.len()
    }

    /// Reports that something else was expected at the cursor.
    pub fn expected(&self, sink: &mut Sink, what: &str) {
        let kw = &self.node.keyword;
        let d = match self.peek() {
            Some(arg) => Diagnostic::new(
                code::BAD_ARGUMENTS,
                self.file,
                arg.span,
                format!("`{kw}` expects {what} here, found {}", arg.describe()),
            )
            .label(format!("expected {what}")),
            None => {
                let end = self.node.header_span().end;
                Diagnostic::new(
                    code::BAD_ARGUMENTS,
                    self.file,
                    Span::new(end, end),
                    format!("`{kw}` is missing {what}"),
                )
                .label(format!("{what} expected after this"))
            }
        };
        sink.push(d.help(format!("write it as `{}`", self.shape)));
    }

    /// Reports arguments left over after the node's shape is complete.
    pub fn end(&mut self, sink: &mut Sink) {
        if let Some(arg) = self.peek() {
            let last = self.node.args.last().map(|a| a.span).unwrap_or(arg.span);
            let extra = arg.span.to(last);
            sink.push(
                Diagnostic::new(
                    code::BAD_ARGUMENTS,
                    self.file,
                    extra,
                    format!("unexpected {} after `{}`", arg.describe(), self.shape),
                )
                .label("not part of this setting")
                .help(format!("write it as `{}`", self.shape))
                .fix(
                    "remove the extra arguments",
                    Span::new(self.prev_end(), last.end),
                    "",
                ),
            );
            self.pos = self.node.args.len();
        }
    }

    fn prev_end(&self) -> usize {
        match self.pos.checked_sub(1).and_then(|i| self.node.args.get(i)) {
            Some(a) => a.span.end,
            None => self.node.keyword_span.end,
        }
    }

    pub fn eat_word(&mut self, w: &str) -> bool {
        if self.peek().is_some_and(|a| a.is_word(w)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    pub fn eat_op(&mut self, op: Op) -> bool {
        if self.peek().is_some_and(|a| a.is_op(op)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    /// Expects the literal word `w`.
    pub fn keyword(&mut self, sink: &mut Sink, w: &str) -> Option<()> {
        if self.eat_word(w) {
            Some(())
        } else {
            self.expected(sink, &format!("`{w}`"));
            None
        }
    }
    pub fn op(&mut self, sink: &mut Sink, op: Op) -> Option<()> {
        if self.eat_op(op) {
            Some(())
        } else {
            self.expected(sink, &format!("`{}`", op.as_str()));
            None
        }
    }

    pub fn word(&mut self, sink: &mut Sink, what: &str) -> Option<(&'a str, Span)> {
        match self.peek() {
            Some(Arg {
                kind: ArgKind::Word(w),
                span,
            }) => {
                self.pos += 1;
                Some((w.as_str(), *span))
            }
            _ => {
                self.expected(sink, what);
                None
            }
        }
    }
    pub fn string(&mut self, sink: &mut Sink, what: &str) -> Option<(&'a str, Span)> {
        match self.peek() {
            Some(Arg {
                kind: ArgKind::Str(s),
                span,
            }) => {
                self.pos += 1;
                Some((s.as_str(), *span))
            }
            _ => {
                self.expected(sink, what);
                None
            }
        }
    }
    pub fn code(&mut self, sink: &mut Sink, what: &str) -> Option<(&'a str, Span)> {
        match self.peek() {
            Some(Arg {
                kind: ArgKind::Code(s),
                span,
            }) => {
                self.pos += 1;
                Some((s.as_str(), *span))
            }
            _ => {
                self.expected(sink, what);
                None
            }
        }
    }

    /// A number and its unit (attached, or a unit word right after it).
    pub fn quantity(&mut self, sink: &mut Sink, what: &str) -> Option<Quantity> {
        match self.peek() {
            Some(
                arg @ Arg {
                    kind: ArgKind::Number { .. },
                    ..
                },
            ) => {
                self.pos += 1;
                let Some(mut q) = to_quantity(arg) else {
                    sink.push(beyond_f64(self.file, arg));
                    return None;
                };
                self.attach_unit_word(&mut q);
                Some(q)
            }
            _ => {
                self.expected(sink, what);
                None
            }
        }
    }

    fn attach_unit_word(&mut self, q: &mut Quantity) {
        if q.unit.is_none() {
            if let Some(Arg {
                kind: ArgKind::Word(w),
                span,
            }) = self.peek()
            {
                if SEPARATE_UNITS.contains(&w.as_str()) {
                    q.unit = Some(w.clone());
                    q.span = q.span.to(*span);
                    self.pos += 1;
                }
            }
        }
    }

    /// A range `LO..HI`; a unit word after it applies to both ends.
    pub fn range(&mut self, sink: &mut Sink, what: &str) -> Option<(Quantity, Quantity, Span)> {
        match self.peek() {
            Some(Arg {
                kind: ArgKind::Range(lo, hi),
                span,
            }) => {
                self.pos += 1;
                let (Some(mut lo), Some(mut hi)) = (to_quantity(lo), to_quantity(hi)) else {
                    let bad = if to_quantity(lo).is_none() { lo } else { hi };
                    sink.push(beyond_f64(self.file, bad));
                    return None;
                };
                self.attach_unit_word(&mut hi);
                if lo.unit.is_none() {
                    lo.unit = hi.unit.clone();
                }
                Some((lo, hi, *span))
            }
            _ => {
                self.expected(sink, what);
                None
            }
        }
    }

    /// A money amount `$N` (no period).
    pub fn money(&mut self, sink: &mut Sink, what: &str) -> Option<(Money, Span)> {
        let (micros, per, span) = self.money_parts(sink, what)?;
        if let Some(p) = per {
            sink.push(
                Diagnostic::new(
                    code::WRONG_UNIT,
                    self.file,
                    span,
                    format!(
                        "`{}` takes an amount, not a price per `{p}`",
                        self.node.keyword
                    ),
                )
                .label("a rate")
                .help(format!("write it as `{}`", self.shape)),
            );
            return None;
        }
        Some((Money(micros), span))
    }

    /// A price per hour `$N/h`.
    pub fn money_rate(&mut self, sink: &mut Sink, what: &str) -> Option<(MoneyRate, Span)> {
        let (micros, per, span) = self.money_parts(sink, what)?;
        match per.as_deref() {
            Some("h") | Some("hr") | Some("hour") => Some((MoneyRate(micros), span)),
            Some(other) => {
                sink.push(
                    Diagnostic::new(
                        code::WRONG_UNIT,
                        self.file,
                        span,
                        format!("prices are per hour, found a price per `{other}`"),
                    )
                    .label("not per hour")
                    .help("convert the price to dollars per hour: `$0.81/h`"),
                );
                None
            }
            None => {
                sink.push(
                    Diagnostic::new(
                        code::MISSING_UNIT,
                        self.file,
                        span,
                        "a price needs its period",
                    )
                    .label("per what?")
                    .help("prices are per hour: `$0.81/h`")
                    .fix("price per hour", Span::new(span.end, span.end), "/h"),
                );
                None
            }
        }
    }

    fn money_parts(&mut self, sink: &mut Sink, what: &str) -> Option<(i64, Option<SmolStr>, Span)> {
        match self.peek() {
            Some(Arg {
                kind: ArgKind::Money { text, per },
                span,
            }) => {
                self.pos += 1;
                let micros = match units::parse_scaled(text, 6) {
                    Ok(v) => v,
                    Err(e) => {
                        let why = match e {
                            DecimalError::TooManyDecimals => "has more than six decimals",
                            DecimalError::TooLarge => "is too large",
                            DecimalError::Malformed => "is not a plain decimal",
                        };
                        sink.push(
                            Diagnostic::new(
                                code::INVALID_MONEY,
                                self.file,
                                *span,
                                format!("the amount `${text}` {why}"),
                            )
                            .label("invalid amount")
                            .help("write dollars with at most six decimals, like `$0.81/h`"),
                        );
                        return None;
                    }
                };
                if micros < 0 {
                    sink.push(negative(self.file, *span, "an amount of money"));
                    return None;
                }
                if micros > 1_000_000 * 1_000_000_000 {
                    sink.push(
                        Diagnostic::new(
                            code::VALUE_TOO_LARGE,
                            self.file,
                            *span,
                            "this amount is larger than $1,000,000,000",
                        )
                        .label("too large"),
                    );
                    return None;
                }
                Some((micros, per.clone(), *span))
            }
            Some(Arg {
                kind: ArgKind::Number { .. },
                span,
            }) => {
                let span = *span;
                sink.push(
                    Diagnostic::new(
                        code::MISSING_UNIT,
                        self.file,
                        span,
                        format!("`{}` expects an amount of money", self.node.keyword),
                    )
                    .label("a plain number")
                    .help(format!("write it as `{}`", self.shape))
                    .fix(
                        "write it as dollars",
                        span,
                        money_fix(
                            self.node.args[self.pos].describe().trim_matches('`'),
                            self.shape,
                        ),
                    ),
                );
                self.pos += 1;
                None
            }
            _ => {
                self.expected(sink, what);
                None
            }
        }
    }
}

/// `0.81` written for a price becomes `$0.81/h`; for an amount, `$0.81`.
fn money_fix(number: &str, shape: &str) -> String {
    if shape.contains("/h") {
        format!("${number}/h")
    } else {
        format!("${number}")
    }
}

/// A number that does not fit a 64-bit float (`1e400`): never silently
/// dropped in favour of a default.
fn beyond_f64(file: FileId, arg: &Arg) -> Diagnostic {
    Diagnostic::new(
        code::VALUE_TOO_LARGE,
        file,
        arg.span,
        format!(
            "{} is beyond the numbers scalepol can represent",
            arg.describe()
        ),
    )
    .label("too large")
    .help("write a number below 1e300")
}

fn to_quantity(arg: &Arg) -> Option<Quantity> {
    match &arg.kind {
        ArgKind::Number { text, unit } => Some(Quantity {
            text: text.clone(),
            value: text.parse::<f64>().ok().filter(|v| v.is_finite())?,
            unit: unit.clone(),
            span: arg.span,
        }),
        _ => None,
    }
}
