//! Static checks of CEL conditions: size and nesting limits (cel-parser
//! overflows its stack on deep input and panics on some inputs, so those never
//! reach it), syntax with the span inside the back-quotes, names, and a small
//! type checker over the types policies expose (cel-interpreter has none).

use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::lower::Ctx;
use crate::model::Metric;
use cel_parser::ast::{CallExpr, Expr, IdedExpr};
use cel_parser::reference::Val;
use scalepol_common::rule_context;
use scalepol_syntax::Span;

/// The longest expression accepted, in bytes.
pub const MAX_LEN: usize = scalepol_common::cel_limits::MAX_LEN;
/// The deepest bracket nesting accepted.
pub const MAX_NESTING: usize = scalepol_common::cel_limits::MAX_NESTING;
/// The most operators accepted (each adds a level to the parser's recursion).
pub const MAX_OPERATORS: usize = scalepol_common::cel_limits::MAX_OPERATORS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Double,
    String,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Double => "double",
            Type::String => "string",
        }
    }
}

/// Checks a rule condition. Returns the identifiers it reads, or `None` after
/// reporting why it cannot run.
pub fn check_condition(
    ctx: &mut Ctx,
    file: FileId,
    src: &str,
    span: Span,
    metrics: &[Metric],
) -> Option<Vec<String>> {
    let (ty, reads, inner) = check_expression(ctx, file, src, span, metrics, false)?;
    if let Some(ty) = ty {
        if ty != Type::Bool {
            ctx.push(
                Diagnostic::new(
                    code::CEL_NOT_BOOL,
                    file,
                    inner,
                    format!("this condition is {}, not a bool", article(ty)),
                )
                .label(format!("{} value", ty.name()))
                .help("compare it with something: `queue_depth > 50.0`"),
            );
            return None;
        }
    }
    Some(reads)
}

/// Checks a formula (`on formula `EXPR``): a number computed from the
/// declared metrics. Not from the built-in utilisations (the HPA and KEDA
/// read those per pod, apart from every other metric, and KEDA leaves them
/// out of a formula's variables) nor from the rule variables (a formula is
/// a metric: it must not change with the clock or the replica count).
/// Returns the metrics it reads, or `None` after reporting why it cannot run.
pub fn check_formula(
    ctx: &mut Ctx,
    file: FileId,
    src: &str,
    span: Span,
    metrics: &[Metric],
) -> Option<Vec<String>> {
    let (ty, reads, inner) = check_expression(ctx, file, src, span, metrics, true)?;
    match ty {
        Some(Type::Double | Type::Int) => Some(reads),
        Some(ty) => {
            ctx.push(
                Diagnostic::new(
                    code::CEL_TYPE,
                    file,
                    inner,
                    format!("this formula is {}, not a number", article(ty)),
                )
                .label(format!("{} value", ty.name()))
                .help("a formula computes the value to hold at the target: `(queue_depth + 2.0 * running) / 3.0`; for a choice, `running > 8.0 ? running : queue_depth`"),
            );
            None
        }
        None => None,
    }
}

/// Parses and type-checks the expression inside the back-quotes at `span`:
/// its type (`None` when it cannot be known), the names it reads, and the
/// span inside the quotes; `None` after reporting why it cannot run.
fn check_expression(
    ctx: &mut Ctx,
    file: FileId,
    src: &str,
    span: Span,
    metrics: &[Metric],
    formula: bool,
) -> Option<(Option<Type>, Vec<String>, Span)> {
    let inner = Span::new(span.start + 1, span.end - 1);
    let expr = parse_guarded(ctx, file, src, inner)?;
    let mut checker = Checker {
        ctx,
        file,
        src,
        span: inner,
        metrics,
        reads: Vec::new(),
        failed: false,
        formula,
    };
    let ty = checker.check(&expr);
    if checker.failed {
        return None;
    }
    Some((ty, checker.reads, inner))
}

/// Applies the limits, then parses behind `catch_unwind`.
pub fn parse_guarded(ctx: &mut Ctx, file: FileId, src: &str, inner: Span) -> Option<IdedExpr> {
    if let Some(d) = precheck(file, src, inner) {
        ctx.push(d);
        return None;
    }
    let owned = src.to_string();
    let result = quietly(move || cel_parser::Parser::new().parse(&owned));
    match result {
        Ok(Ok(expr)) => Some(expr),
        Ok(Err(errs)) => {
            let e = errs.errors.first();
            let msg = e
                .map(|e| e.msg.clone())
                .unwrap_or_else(|| "invalid expression".into());
            let at = e.map(|e| offset_of(src, e.pos.0, e.pos.1)).unwrap_or(0);
            let start = inner.start + at.min(src.len());
            let end = (start + 1).min(inner.end).max(start);
            ctx.push(
                Diagnostic::new(
                    code::CEL_SYNTAX,
                    file,
                    Span::new(start, end),
                    format!("invalid CEL: {msg}"),
                )
                .label("the expression stops making sense here")
                .help("conditions are CEL: `queue_depth > 50.0 && hour >= 8`"),
            );
            None
        }
        Err(_) => {
            ctx.push(
                Diagnostic::new(
                    code::CEL_SYNTAX,
                    file,
                    inner,
                    "this expression could not be parsed",
                )
                .label("invalid CEL")
                .help("conditions are CEL: `queue_depth > 50.0 && hour >= 8`"),
            );
            None
        }
    }
}

pub use scalepol_common::quiet::quietly;

/// The byte offset of a 1-based line and 0-based column from cel-parser.
fn offset_of(src: &str, line: isize, col: isize) -> usize {
    let mut off = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i as isize + 1 == line.max(1) {
            let col = col.max(0) as usize;
            return off + l.char_indices().nth(col).map(|(b, _)| b).unwrap_or(l.len());
        }
        off += l.len();
    }
    src.len()
}

/// The inputs cel-parser mishandles: empty, comment-only, too long, too
/// deep, too many operators or comprehensions, non-ASCII outside string
/// literals, an unclosed string. The limits are the runtime's too
/// (`scalepol_common::cel_limits`), so a rule that checks also loads.
fn precheck(file: FileId, src: &str, inner: Span) -> Option<Diagnostic> {
    use scalepol_common::cel_limits::{check, Violation};
    let v = check(src).err()?;
    Some(match v {
        Violation::Empty => {
            Diagnostic::new(code::CEL_EMPTY, file, inner, "this expression is empty")
                .label("nothing to evaluate")
                .help("write a condition, like `queue_depth > 50.0`")
        }
        Violation::NonAscii { offset, ch } => {
            let at = inner.start + offset;
            Diagnostic::new(
                code::CEL_SYNTAX,
                file,
                Span::new(at, at + ch.len_utf8()),
                v.to_string(),
            )
            .label("non-ASCII character")
            .help("identifiers in CEL are ASCII letters, digits and `_`")
        }
        Violation::UnclosedString { offset } => {
            let at = inner.start + offset;
            Diagnostic::new(code::CEL_SYNTAX, file, Span::new(at, at + 1), v.to_string())
                .label("this quote is never closed")
                .help("close the string with the same quote")
        }
        other => too_complex(file, inner, other.to_string()),
    })
}

fn too_complex(file: FileId, inner: Span, msg: String) -> Diagnostic {
    // Point at the start: the whole expression is too long to underline.
    let at = Span::new(inner.start, (inner.start + 1).min(inner.end));
    Diagnostic::new(code::CEL_TOO_COMPLEX, file, at, msg)
        .label("too complex")
        .help("split the condition into several rules, or simplify it")
}

struct Checker<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
    file: FileId,
    src: &'a str,
    span: Span,
    metrics: &'a [Metric],
    reads: Vec<String>,
    failed: bool,
    /// A formula reads declared metrics only, and must be a number.
    formula: bool,
}

impl Checker<'_, '_> {
    /// What is being checked, for messages.
    fn what(&self) -> &'static str {
        if self.formula {
            "formulas"
        } else {
            "rule conditions"
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.failed = true;
        self.ctx.push(d);
    }

    fn type_error(&mut self, msg: String, help: &str) {
        let d = Diagnostic::new(code::CEL_TYPE, self.file, self.span, msg)
            .label("ill-typed")
            .help(help);
        self.error(d);
    }

    /// The type of `e`, or `None` after an error has been reported.
    fn check(&mut self, e: &IdedExpr) -> Option<Type> {
        match &e.expr {
            Expr::Ident(name) => self.ident(name),
            Expr::Literal(v) => self.literal(v),
            Expr::Call(call) => self.call(call),
            _ => {
                let d = Diagnostic::new(code::CEL_UNSUPPORTED, self.file, self.span, format!("lists, maps, field selection and macros are not supported in {}", self.what()))
                    .label("unsupported")
                    .help("use metrics, numbers, comparisons, `&&`, `||`, `!`, `? :` and double/int/min/max");
                self.error(d);
                None
            }
        }
    }

    fn ident(&mut self, name: &str) -> Option<Type> {
        if !self.reads.iter().any(|r| r == name) {
            self.reads.push(name.to_string());
        }
        let declared = self.metrics.iter().find(|m| m.name == name);
        if self.formula {
            if let Some((why, label, help)) = not_in_formula(name, declared) {
                let d = Diagnostic::new(
                    code::CEL_UNSUPPORTED,
                    self.file,
                    self.ident_span(name),
                    format!("a formula cannot read `{name}`: {why}"),
                )
                .label(label)
                .help(help);
                self.error(d);
                return None;
            }
        }
        if declared.is_some() {
            return Some(Type::Double);
        }
        if rule_context::is_variable(name) {
            return Some(Type::Int);
        }
        let span = self.ident_span(name);
        let mut d = Diagnostic::new(
            code::CEL_UNKNOWN_IDENT,
            self.file,
            span,
            format!("`{name}` is not a metric or a built-in value"),
        )
        .label("unknown name");
        let variables = rule_context::VARIABLES
            .iter()
            .map(|v| v.name)
            .filter(|_| !self.formula);
        let candidates: Vec<&str> = self
            .metrics
            .iter()
            .filter(|m| !self.formula || not_in_formula(&m.name, Some(m)).is_none())
            .map(|m| m.name.as_str())
            .chain(variables)
            .collect();
        d = crate::suggest::did_you_mean(
            d,
            name,
            &candidates,
            span,
            format!("expressions can read: {}", candidates.join(", ")),
        );
        self.error(d);
        None
    }

    fn ident_span(&self, name: &str) -> Span {
        find_ident(self.src, name)
            .map(|o| Span::new(self.span.start + o, self.span.start + o + name.len()))
            .unwrap_or(self.span)
    }

    fn literal(&mut self, v: &Val) -> Option<Type> {
        match v {
            Val::Boolean(_) => Some(Type::Bool),
            Val::Int(_) | Val::UInt(_) => Some(Type::Int),
            Val::Double(_) => Some(Type::Double),
            Val::String(_) if self.formula => {
                let d = Diagnostic::new(
                    code::CEL_UNSUPPORTED,
                    self.file,
                    self.span,
                    "a formula computes with numbers: strings have no use in it",
                )
                .label("string literal")
                .help("combine metrics with numbers: `(queue_depth + 2.0 * running) / 3.0`");
                self.error(d);
                None
            }
            Val::String(_) => Some(Type::String),
            Val::Bytes(_) | Val::Null => {
                self.type_error(
                    "bytes and null literals have no use in a condition".into(),
                    "compare metrics with numbers",
                );
                None
            }
        }
    }

    fn call(&mut self, call: &CallExpr) -> Option<Type> {
        if call.target.is_some() {
            let d = Diagnostic::new(
                code::CEL_UNSUPPORTED,
                self.file,
                self.span,
                format!(
                    "method calls like `.{}()` are not supported in {}",
                    call.func_name,
                    self.what()
                ),
            )
            .label("unsupported")
            .help(format!("use {}", rule_context::functions_help()));
            self.error(d);
            return None;
        }
        let args: Vec<Option<Type>> = call.args.iter().map(|a| self.check(a)).collect();
        if args.iter().any(Option::is_none) {
            return None;
        }
        let args: Vec<Type> = args.into_iter().flatten().collect();
        let f = call.func_name.as_str();
        match f {
            "_&&_" | "_||_" | "!_" => self.all_of(f, &args, Type::Bool).then_some(Type::Bool),
            "_==_" | "_!=_" => self.same(f, &args).then_some(Type::Bool),
            "_<_" | "_<=_" | "_>_" | "_>=_" => {
                (self.numeric(f, &args) && self.same(f, &args)).then_some(Type::Bool)
            }
            "_+_" | "_-_" | "_*_" | "_/_" | "_%_" | "-_" => {
                (self.numeric(f, &args) && self.same(f, &args)).then(|| args[0])
            }
            "_?_:_" => {
                if args[0] != Type::Bool {
                    self.type_error(
                        format!("the condition of `? :` is {}, not a bool", article(args[0])),
                        "write a comparison before `?`",
                    );
                    return None;
                }
                self.same(f, &args[1..]).then(|| args[1])
            }
            "double" | "int" if args.len() == 1 && args[0] != Type::Bool => {
                Some(if f == "double" {
                    Type::Double
                } else {
                    Type::Int
                })
            }
            "min" | "max" if !args.is_empty() => {
                (self.numeric(f, &args) && self.same(f, &args)).then(|| args[0])
            }
            _ => {
                let d = Diagnostic::new(
                    code::CEL_UNSUPPORTED,
                    self.file,
                    self.span,
                    format!("`{}` is not available in {}", display_op(f), self.what()),
                )
                .label("unsupported")
                .help(format!(
                    "use arithmetic, comparisons, `&&`, `||`, `!`, `? :` and {}",
                    rule_context::functions_help()
                ));
                self.error(d);
                None
            }
        }
    }

    fn all_of(&mut self, f: &str, args: &[Type], want: Type) -> bool {
        if let Some(t) = args.iter().find(|t| **t != want) {
            self.type_error(
                format!(
                    "`{}` needs {} operands, found {}",
                    display_op(f),
                    want.name(),
                    article(*t)
                ),
                "compare values first: `a > 1.0 && b < 2.0`",
            );
            return false;
        }
        true
    }

    fn same(&mut self, f: &str, args: &[Type]) -> bool {
        if let Some(t) = args.iter().find(|t| **t != args[0]) {
            let help = if matches!(
                (args[0], *t),
                (Type::Int, Type::Double) | (Type::Double, Type::Int)
            ) {
                "CEL does not mix int and double: metrics are doubles, so write `50.0` rather than `50`, or convert with double(x)"
            } else {
                "both sides must have the same type"
            };
            self.type_error(
                format!(
                    "`{}` compares {} with {}",
                    display_op(f),
                    article(args[0]),
                    article(*t)
                ),
                help,
            );
            return false;
        }
        true
    }

    fn numeric(&mut self, f: &str, args: &[Type]) -> bool {
        if let Some(t) = args.iter().find(|t| !matches!(t, Type::Int | Type::Double)) {
            self.type_error(
                format!("`{}` needs numbers, found {}", display_op(f), article(*t)),
                "arithmetic and ordering apply to metrics and numbers",
            );
            return false;
        }
        true
    }
}

/// Why a formula cannot read `name` (declared as `declared`), if it
/// cannot: the message's reason, the label and the help.
fn not_in_formula(
    name: &str,
    declared: Option<&Metric>,
) -> Option<(&'static str, &'static str, &'static str)> {
    match declared {
        Some(m) if m.source == crate::model::MetricSourceKind::Builtin => Some((
            "the built-in utilisations are read per pod by the platform, apart from other metrics (KEDA leaves `cpu` and `memory` out of a formula)",
            "a built-in utilisation",
            "scale on it with its own `on` target beside the formula: the largest proposal wins",
        )),
        Some(_) => None,
        None if rule_context::is_variable(name) => Some((
            "a formula is a metric, and must not depend on the clock or the replica count",
            "not a metric",
            "put conditions on the replica count or the time in a rule: `rule \"NAME\" when `...` { replicas >= N }`",
        )),
        None => None,
    }
}

fn article(t: Type) -> String {
    match t {
        Type::Int => "an int".into(),
        t => format!("a {}", t.name()),
    }
}

fn display_op(f: &str) -> String {
    f.trim_matches('_').replace("_", " ").replace("?  :", "? :")
}

/// The offset of `name` as a whole word in `src`.
fn find_ident(src: &str, name: &str) -> Option<usize> {
    let bytes = src.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(i) = src[from..].find(name) {
        let at = from + i;
        let before = at == 0 || !is_word(bytes[at - 1]);
        let after = at + name.len() >= bytes.len() || !is_word(bytes[at + name.len()]);
        if before && after {
            return Some(at);
        }
        from = at + name.len();
    }
    None
}
