//! Formulas between the policy's CEL and KEDA's `scalingModifiers.formula`,
//! which is expr-lang (github.com/expr-lang/expr): KEDA compiles it over a
//! map of trigger name to float64, wrapped in `float(...)`
//! (apis/keda/v1alpha1/scaledobject_webhook.go,
//! ValidateAndCompileScalingModifiers).
//!
//! The two languages share the subset a formula uses (arithmetic,
//! comparisons, `&&`, `||`, `!`, `? :`, `min`, `max`) with two differences
//! that change values: expr-lang divides integers as floats (CEL truncates),
//! and promotes an integer literal beside a float (CEL refuses the mix). So
//! each direction walks the parsed expression and prints it for the other
//! language, refusing what it cannot carry exactly.

use cel_parser::ast::{Expr, IdedExpr};
use cel_parser::reference::Val;

/// The policy's formula (checked CEL) as a KEDA formula.
pub fn to_expr_lang(cel: &str) -> Result<String, String> {
    let e = parse(cel)?;
    print(
        &e,
        0,
        &Printer {
            dialect: Dialect::ExprLang,
            name: &|n| Ok(n.to_string()),
        },
    )
}

/// The policy's formula as one PromQL expression, for a prometheus-adapter
/// rule: each metric becomes `scalar(QUERY)` (its one series; NaN without
/// exactly one, which the HPA reads as a failed metric) and the whole is
/// wrapped in `vector(...)`, the instant vector the adapter serves. Only
/// arithmetic translates: PromQL's comparisons filter rather than answer
/// true or false, and it has no conditional. `query` gives a metric's
/// PromQL, `None` for a metric that is not a Prometheus query.
pub fn to_promql(cel: &str, query: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let e = parse(cel)?;
    let leaf = |name: &str| {
        query(name)
            .map(|q| format!("scalar({q})"))
            .ok_or_else(|| format!("`{name}`, which is not a Prometheus query"))
    };
    Ok(format!("vector({})", arithmetic(&e, 0, &leaf, "PromQL")?))
}

/// The policy's formula as a CloudWatch metric-math expression over the
/// ids `id` gives each metric (`m1 + 2.0 * m2`), for a target-tracking
/// policy's `CustomizedMetricSpecification.Metrics`. Arithmetic only, as
/// for PromQL.
pub fn to_metric_math(cel: &str, id: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let e = parse(cel)?;
    let leaf =
        |name: &str| id(name).ok_or_else(|| format!("`{name}`, which is not a CloudWatch metric"));
    arithmetic(&e, 0, &leaf, "CloudWatch metric math")
}

/// Arithmetic (`+ - * /`, unary minus, numbers, `double()`) printed with
/// `leaf` for each metric; anything else is refused, naming `lang`.
fn arithmetic(
    e: &IdedExpr,
    outer: u8,
    leaf: &dyn Fn(&str) -> Result<String, String>,
    lang: &str,
) -> Result<String, String> {
    match &e.expr {
        Expr::Ident(name) => leaf(name),
        Expr::Literal(Val::Double(x)) => Ok(double(*x)),
        Expr::Literal(Val::Int(i)) => Ok(i.to_string()),
        Expr::Call(c) if c.target.is_none() && c.func_name == "double" && c.args.len() == 1 => {
            arithmetic(&c.args[0], outer, leaf, lang)
        }
        Expr::Call(c) if c.target.is_none() => {
            let f = c.func_name.as_str();
            let p = precedence(f).filter(|p| *p >= 5).ok_or_else(|| {
                format!(
                    "`{}`, which {lang} has no equivalent for",
                    f.trim_matches('_')
                )
            })?;
            let text = match f {
                "-_" => format!("-{}", arithmetic(&c.args[0], p, leaf, lang)?),
                "_%_" => return Err("`%`".into()),
                "_/_" if is_int(&c.args[0]) && is_int(&c.args[1]) => {
                    return Err(format!(
                        "an integer division, which {lang} computes as a float"
                    ))
                }
                _ => format!(
                    "{} {} {}",
                    arithmetic(&c.args[0], p, leaf, lang)?,
                    f.trim_matches('_'),
                    arithmetic(&c.args[1], p + 1, leaf, lang)?
                ),
            };
            Ok(if p < outer { format!("({text})") } else { text })
        }
        _ => Err("something other than arithmetic".into()),
    }
}

/// A KEDA formula as the policy's CEL. Every variable is a trigger's
/// float64 value, so every number is a double; integer arithmetic (`int`,
/// `%`) is refused: its promotions differ between the languages.
/// `name` gives the policy's metric for a trigger name, or why there is none.
pub fn from_expr_lang(
    expr: &str,
    name: &dyn Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    // expr-lang's word operators, where CEL has only symbols.
    let words = [" and ", " or ", "not "];
    if let Some(w) = words.iter().find(|w| expr.contains(*w)) {
        return Err(format!(
            "the word operator `{}` (write it as a symbol: `&&`, `||`, `!`)",
            w.trim()
        ));
    }
    let e = parse(expr).map_err(|_| {
        "expr-lang syntax that CEL does not share (scalepol reads arithmetic, comparisons, `&&`, `||`, `!`, `? :`, min, max, float and int)".to_string()
    })?;
    print(
        &e,
        0,
        &Printer {
            dialect: Dialect::Cel,
            name,
        },
    )
}

/// The language printed, and the name each variable takes in it.
struct Printer<'a> {
    dialect: Dialect,
    name: &'a dyn Fn(&str) -> Result<String, String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    /// Printing CEL for KEDA.
    ExprLang,
    /// Printing a KEDA formula as CEL.
    Cel,
}

fn parse(src: &str) -> Result<IdedExpr, String> {
    scalepol_common::cel_limits::check(src).map_err(|v| v.to_string())?;
    let owned = src.to_string();
    match scalepol_common::quiet::quietly(move || cel_parser::Parser::new().parse(&owned)) {
        Ok(Ok(e)) => Ok(e),
        Ok(Err(errs)) => Err(errs
            .errors
            .first()
            .map(|e| e.msg.clone())
            .unwrap_or_else(|| "invalid expression".into())),
        Err(_) => Err("the expression could not be parsed".into()),
    }
}

/// Binding strength, shared by both languages: `? :` < `||` < `&&` <
/// comparisons < `+ -` < `* / %` < unary.
fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "_?_:_" => 1,
        "_||_" => 2,
        "_&&_" => 3,
        "_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_" => 4,
        "_+_" | "_-_" => 5,
        "_*_" | "_/_" | "_%_" => 6,
        "-_" | "!_" => 7,
        _ => return None,
    })
}

/// Whether `e` is an integer in CEL's typing: literals and `int(...)`, and
/// arithmetic or choices over them (a variable is a double).
fn is_int(e: &IdedExpr) -> bool {
    match &e.expr {
        Expr::Literal(Val::Int(_) | Val::UInt(_)) => true,
        Expr::Call(c) => match c.func_name.as_str() {
            "int" => true,
            "_+_" | "_-_" | "_*_" | "_/_" | "_%_" | "-_" | "min" | "max" => {
                c.args.first().is_some_and(is_int)
            }
            "_?_:_" => c.args.get(1).is_some_and(is_int),
            _ => false,
        },
        _ => false,
    }
}

fn print(e: &IdedExpr, outer: u8, pr: &Printer) -> Result<String, String> {
    let d = pr.dialect;
    match &e.expr {
        Expr::Ident(name) => (pr.name)(name),
        Expr::Literal(v) => literal(v, outer, d),
        Expr::Call(c) if c.target.is_none() => {
            let args = &c.args;
            let f = c.func_name.as_str();
            if let Some(p) = precedence(f) {
                return operator(f, args, p, outer, pr);
            }
            let name = match (f, d) {
                ("double", Dialect::ExprLang) | ("float", Dialect::Cel) => {
                    return Ok(format!("{}({})", conversion(d), print(&args[0], 0, pr)?))
                        .filter_arity(args.len(), 1, f)
                }
                ("int", Dialect::ExprLang) | ("min" | "max", _) => f,
                ("int", Dialect::Cel) => return Err("integer arithmetic (`int`)".into()),
                _ => return Err(format!("the function `{f}`")),
            };
            let printed: Result<Vec<String>, String> =
                args.iter().map(|a| print(a, 0, pr)).collect();
            Ok(format!("{name}({})", printed?.join(", ")))
        }
        Expr::Call(c) => Err(format!("the method call `.{}()`", c.func_name)),
        _ => Err("lists, maps, field selection or macros".into()),
    }
}

trait Arity {
    fn filter_arity(self, got: usize, want: usize, f: &str) -> Self;
}

impl Arity for Result<String, String> {
    fn filter_arity(self, got: usize, want: usize, f: &str) -> Self {
        if got == want {
            self
        } else {
            Err(format!("`{f}` with {got} arguments"))
        }
    }
}

fn conversion(d: Dialect) -> &'static str {
    match d {
        Dialect::ExprLang => "float",
        Dialect::Cel => "double",
    }
}

fn literal(v: &Val, outer: u8, d: Dialect) -> Result<String, String> {
    let text = match (v, d) {
        (Val::Double(x), _) => double(*x),
        // In a KEDA formula every number is a float64 beside the triggers.
        (Val::Int(i), Dialect::Cel) => double(*i as f64),
        (Val::UInt(u), Dialect::Cel) => double(*u as f64),
        (Val::Int(i), Dialect::ExprLang) => i.to_string(),
        (Val::UInt(u), Dialect::ExprLang) => u.to_string(),
        (Val::Boolean(b), _) => b.to_string(),
        _ => return Err("a string, bytes or null literal".into()),
    };
    // A negative literal binds like a unary minus.
    Ok(if text.starts_with('-') && outer >= 7 {
        format!("({text})")
    } else {
        text
    })
}

/// A double as both languages read it: always with a decimal point.
fn double(x: f64) -> String {
    let t = format!("{x:?}");
    if t.contains(['.', 'e', 'E']) || !x.is_finite() {
        t
    } else {
        format!("{t}.0")
    }
}

fn operator(f: &str, args: &[IdedExpr], p: u8, outer: u8, pr: &Printer) -> Result<String, String> {
    let d = pr.dialect;
    let text = match f {
        "-_" | "!_" => format!("{}{}", &f[..1], print(&args[0], p, pr)?),
        "_?_:_" => format!(
            "{} ? {} : {}",
            print(&args[0], p + 1, pr)?,
            print(&args[1], p + 1, pr)?,
            print(&args[2], p, pr)?
        ),
        _ => {
            let symbol = f.trim_matches('_');
            let (l, r) = (&args[0], &args[1]);
            if d == Dialect::ExprLang && symbol == "/" && is_int(l) && is_int(r) {
                // CEL truncates an integer division; expr-lang's is a float.
                return Ok(format!(
                    "int({} / {})",
                    print(l, p, pr)?,
                    print(r, p + 1, pr)?
                ));
            }
            if symbol == "%" && (d == Dialect::Cel || !(is_int(l) && is_int(r))) {
                return Err(
                    "`%` (expr-lang takes it on integers only, CEL's are not promoted)".into(),
                );
            }
            format!("{} {symbol} {}", print(l, p, pr)?, print(r, p + 1, pr)?)
        }
    };
    Ok(if p < outer { format!("({text})") } else { text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cel_to_expr_lang_keeps_the_meaning() {
        let cases = [
            (
                "(queue_depth + 2.0 * running) / 3.0",
                "(queue_depth + 2.0 * running) / 3.0",
            ),
            ("a - (b - c)", "a - (b - c)"),
            ("a - b - c", "a - b - c"),
            ("-a * b", "-a * b"),
            ("-(a * b)", "-(a * b)"),
            (
                "a > 1.0 && b < 2.0 ? max(a, b) : 0.0",
                "a > 1.0 && b < 2.0 ? max(a, b) : 0.0",
            ),
            ("double(7 / 2) + a", "float(int(7 / 2)) + a"),
            ("a / double(int(b))", "a / float(int(b))"),
            ("1e3 * a", "1000.0 * a"),
        ];
        for (cel, expr) in cases {
            assert_eq!(to_expr_lang(cel).as_deref(), Ok(expr), "{cel}");
        }
        assert!(to_expr_lang("a % 2.0").is_err());
        assert!(to_expr_lang("size(a)").is_err());
    }

    #[test]
    fn arithmetic_becomes_one_promql_expression() {
        let q = |m: &str| (m != "cpu").then(|| format!("sum({m})"));
        assert_eq!(
            to_promql("(a + 2.0 * b) / 3.0", q).as_deref(),
            Ok("vector((scalar(sum(a)) + 2.0 * scalar(sum(b))) / 3.0)")
        );
        assert_eq!(
            to_promql("-a - b", q).as_deref(),
            Ok("vector(-scalar(sum(a)) - scalar(sum(b)))")
        );
        for refused in ["a > 1.0 ? a : b", "max(a, b)", "a + cpu", "int(a) % 2"] {
            assert!(to_promql(refused, q).is_err(), "{refused}");
        }
    }

    fn same(n: &str) -> Result<String, String> {
        if n == "nobody" {
            Err("no trigger".into())
        } else {
            Ok(n.to_string())
        }
    }

    #[test]
    fn expr_lang_to_cel_makes_every_number_a_double() {
        let cases = [
            ("trig_one + trig_two", "trig_one + trig_two"),
            ("(a + 2 * b) / 3", "(a + 2.0 * b) / 3.0"),
            ("a > 1 ? 1 : 0", "a > 1.0 ? 1.0 : 0.0"),
            ("float(a)", "double(a)"),
            ("min(a, 4)", "min(a, 4.0)"),
        ];
        for (expr, cel) in cases {
            assert_eq!(from_expr_lang(expr, &same).as_deref(), Ok(cel), "{expr}");
        }
        for refused in [
            "int(a) % 2",
            "int(a) > 2",
            "a ?? b",
            "a and b",
            "abs(a)",
            "a ** 2",
            "count([a, b], # > 1)",
            "nobody + a",
        ] {
            assert!(from_expr_lang(refused, &same).is_err(), "{refused}");
        }
        let renamed = |n: &str| Ok(format!("{n}_x"));
        assert_eq!(
            from_expr_lang("a + b", &renamed).as_deref(),
            Ok("a_x + b_x")
        );
    }
}
