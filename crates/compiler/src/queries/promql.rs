//! PromQL, read with the `promql-parser` crate: where a query is wrong
//! (the parser gives messages, not positions, so the position is found
//! from the message or by the longest prefix that parses), and what a
//! query that parses does, as far as the checks need it.

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, LabelModifier};
use std::ops::Range;

/// The longest query for which the prefix search runs (it parses once per
/// token).
const PREFIX_SEARCH_LIMIT: usize = 2_000;

/// A parse error with the byte range in the query it is about.
#[derive(Debug)]
pub struct ParseError {
    pub message: String,
    pub range: Range<usize>,
}

pub fn parse(query: &str) -> Result<Expr, ParseError> {
    parser::parse(query).map_err(|message| {
        let range = locate(query, &message);
        // The parser's generic message says nothing the span does not.
        let message = match query.get(range.clone()) {
            Some(t) if message == "invalid promql query" && range.len() < query.len() => {
                format!("unexpected `{t}`")
            }
            _ => message,
        };
        ParseError { message, range }
    })
}

/// Where in the query a parse error is.
fn locate(query: &str, message: &str) -> Range<usize> {
    let quoted = message.split('\'').nth(1).filter(|n| !n.is_empty());
    if message.contains("parenthes") || message.contains("braces") || message.contains("bracket") {
        if let Some(r) = unbalanced(query) {
            return r;
        }
    }
    if let Some(name) = quoted {
        if let Some(at) = word_at(query, name) {
            return at..at + name.len();
        }
    }
    if query.len() <= PREFIX_SEARCH_LIMIT {
        if let Some(r) = first_bad_token(query) {
            return r;
        }
    }
    0..query.len()
}

/// The first bracket that is never closed, or a closing one that closes
/// nothing (strings skipped).
fn unbalanced(query: &str) -> Option<Range<usize>> {
    let mut open: Vec<usize> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in query.char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '{' | '[' => open.push(i),
            ')' | '}' | ']' if open.pop().is_none() => return Some(i..i + 1),
            _ => {}
        }
    }
    open.first().map(|&i| i..i + 1)
}

/// The first occurrence of `name` as a whole word.
fn word_at(query: &str, name: &str) -> Option<usize> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    query.match_indices(name).map(|(i, _)| i).find(|&i| {
        let before = query[..i].chars().next_back().is_none_or(|c| !is_word(c));
        let after = query[i + name.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_word(c));
        before && after
    })
}

/// Token boundaries: runs of word characters, strings, and single
/// punctuation characters.
fn tokens(query: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut chars = query.char_indices().peekable();
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.');
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        let mut end = i + c.len_utf8();
        if word(c) {
            while let Some(&(j, d)) = chars.peek().filter(|(_, d)| word(*d)) {
                end = j + d.len_utf8();
                chars.next();
            }
        } else if matches!(c, '"' | '\'' | '`') {
            let mut escaped = false;
            for (j, d) in chars.by_ref() {
                end = j + d.len_utf8();
                if !escaped && d == c {
                    break;
                }
                escaped = !escaped && d == '\\';
            }
        }
        out.push(i..end);
    }
    out
}

/// The token after the longest prefix that parses: the query is fine up to
/// there. None when no prefix parses (the first token is wrong) or the
/// whole query does.
fn first_bad_token(query: &str) -> Option<Range<usize>> {
    let toks = tokens(query);
    let good = (1..toks.len())
        .rev()
        .find(|&k| parser::parse(&query[..toks[k - 1].end]).is_ok())?;
    Some(toks[good].clone())
}

/// A metric read by a query, and how.
#[derive(Debug, Clone)]
pub struct Selector {
    pub name: String,
    /// Where the name is in the query; None when it could not be found
    /// (a `{__name__="..."}` selector).
    pub range: Option<Range<usize>>,
    /// Labels with a matcher that narrows the selection.
    pub scoped_by: Vec<String>,
    /// Inside `rate`, `irate`, `increase` or `resets`.
    pub in_rate: bool,
    /// Inside `histogram_quantile`'s second argument.
    pub in_quantile: bool,
    /// An aggregation between `histogram_quantile` and here drops `le`.
    pub le_dropped: bool,
}

/// How many series a query returns, as far as can be known without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    /// A scalar, or an aggregation without grouping.
    One,
    /// One per series selected, or per group.
    Many,
}

/// What the checks need to know of a query that parses.
#[derive(Debug)]
pub struct Analysis {
    pub selectors: Vec<Selector>,
    pub cardinality: Cardinality,
    /// The outermost operation averages over series (`avg(...)`, or a sum
    /// divided by a `count(...)`).
    pub averages: bool,
    /// A multiplication by 100 appears (a fraction turned into percent).
    pub times_hundred: bool,
}

#[derive(Clone, Copy, Default)]
struct Ctx {
    in_rate: bool,
    in_quantile: bool,
    le_dropped: bool,
}

pub fn analyse(query: &str, e: &Expr) -> Analysis {
    let mut selectors = Vec::new();
    let mut times_hundred = false;
    walk(e, Ctx::default(), &mut selectors, &mut times_hundred);
    locate_names(query, &mut selectors);
    Analysis {
        selectors,
        cardinality: cardinality(e, false),
        averages: averages(e),
        times_hundred,
    }
}

fn walk(e: &Expr, ctx: Ctx, out: &mut Vec<Selector>, hundred: &mut bool) {
    match e {
        Expr::Aggregate(a) => {
            let mut inner = ctx;
            if ctx.in_quantile && drops_le(a.modifier.as_ref()) {
                inner.le_dropped = true;
            }
            walk(&a.expr, inner, out, hundred);
            if let Some(p) = &a.param {
                walk(p, ctx, out, hundred);
            }
        }
        Expr::Unary(u) => walk(&u.expr, ctx, out, hundred),
        Expr::Binary(b) => {
            let is_hundred = |x: &Expr| matches!(x, Expr::NumberLiteral(n) if n.val == 100.0);
            if b.op.to_string() == "*" && (is_hundred(&b.lhs) || is_hundred(&b.rhs)) {
                *hundred = true;
            }
            walk(&b.lhs, ctx, out, hundred);
            walk(&b.rhs, ctx, out, hundred);
        }
        Expr::Paren(p) => walk(&p.expr, ctx, out, hundred),
        Expr::Subquery(s) => walk(&s.expr, ctx, out, hundred),
        Expr::VectorSelector(v) => out.push(selector(v, ctx)),
        Expr::MatrixSelector(m) => out.push(selector(&m.vs, ctx)),
        Expr::Call(c) => {
            let name = c.func.name;
            for (i, arg) in c.args.args.iter().enumerate() {
                let mut inner = ctx;
                inner.in_rate |= matches!(name, "rate" | "irate" | "increase" | "resets");
                if name == "histogram_quantile" && i == 1 {
                    inner.in_quantile = true;
                    inner.le_dropped = false;
                }
                walk(arg, inner, out, hundred);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn drops_le(m: Option<&LabelModifier>) -> bool {
    match m {
        // `sum(...)` without `by` drops every label, `le` too.
        None => true,
        Some(LabelModifier::Include(l)) => !l.labels.iter().any(|x| x == "le"),
        Some(LabelModifier::Exclude(l)) => l.labels.iter().any(|x| x == "le"),
    }
}

fn selector(v: &promql_parser::parser::VectorSelector, ctx: Ctx) -> Selector {
    let name_matcher = v
        .matchers
        .matchers
        .iter()
        .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
        .map(|m| m.value.clone());
    let scoped_by = v
        .matchers
        .matchers
        .iter()
        .chain(v.matchers.or_matchers.iter().flatten())
        .filter(|m| m.name != "__name__" && narrows(m))
        .map(|m| m.name.clone())
        .collect();
    Selector {
        name: v.name.clone().or(name_matcher).unwrap_or_default(),
        range: None,
        scoped_by,
        in_rate: ctx.in_rate,
        in_quantile: ctx.in_quantile,
        le_dropped: ctx.le_dropped,
    }
}

/// Whether a matcher picks some series out (`model_name="x"`,
/// `model_name=~"a|b"`), rather than everything (`=~".*"`, `!=""`).
fn narrows(m: &promql_parser::label::Matcher) -> bool {
    match &m.op {
        MatchOp::Equal => !m.value.is_empty(),
        MatchOp::Re(_) => !matches!(m.value.as_str(), ".*" | ".+" | ""),
        MatchOp::NotEqual | MatchOp::NotRe(_) => false,
    }
}

/// Finds each selector's name in the query, in order of appearance.
fn locate_names(query: &str, selectors: &mut [Selector]) {
    let mut from = 0;
    for s in selectors.iter_mut().filter(|s| !s.name.is_empty()) {
        let at = word_at(&query[from..], &s.name).map(|i| i + from);
        if let Some(i) = at {
            s.range = Some(i..i + s.name.len());
            from = i + s.name.len();
        }
    }
}

/// `under_quantile`: inside `histogram_quantile`, which consumes the `le`
/// label, so grouping by `le` alone still gives one series.
fn cardinality(e: &Expr, under_quantile: bool) -> Cardinality {
    use Cardinality::*;
    match e {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => One,
        Expr::Aggregate(a) => {
            let op = a.op.to_string();
            // Grouping by a label every selector pins to one value (`by
            // (model_name)` over `{model_name="m"}`) still gives one group.
            let pinned = pinned_labels(&a.expr);
            let grouped = match &a.modifier {
                None => false,
                Some(LabelModifier::Include(l)) => l
                    .labels
                    .iter()
                    .any(|x| !(pinned.contains(x) || (under_quantile && x == "le"))),
                Some(LabelModifier::Exclude(_)) => true,
            };
            let one_of_k = matches!(op.as_str(), "topk" | "bottomk" | "limitk")
                && matches!(a.param.as_deref(), Some(Expr::NumberLiteral(n)) if n.val == 1.0);
            let keeps_series = matches!(
                op.as_str(),
                "topk" | "bottomk" | "limitk" | "limit_ratio" | "count_values"
            );
            if grouped || (keeps_series && !one_of_k) {
                Many
            } else {
                One
            }
        }
        Expr::Unary(u) => cardinality(&u.expr, under_quantile),
        Expr::Paren(p) => cardinality(&p.expr, under_quantile),
        Expr::Subquery(s) => cardinality(&s.expr, under_quantile),
        Expr::Binary(b) => match (
            cardinality(&b.lhs, under_quantile),
            cardinality(&b.rhs, under_quantile),
        ) {
            (One, One) => One,
            _ => Many,
        },
        Expr::Call(c) => match c.func.name {
            "vector" | "scalar" | "time" | "absent" | "absent_over_time" | "pi" => One,
            _ => c
                .args
                .args
                .iter()
                .map(|a| cardinality(a, under_quantile || c.func.name == "histogram_quantile"))
                .find(|k| *k == Many)
                .unwrap_or(One),
        },
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) | Expr::Extension(_) => Many,
    }
}

/// The labels that every selector under `e` matches with `=` to one value.
fn pinned_labels(e: &Expr) -> Vec<String> {
    let mut selectors = Vec::new();
    collect_selectors(e, &mut selectors);
    let mut out: Option<Vec<String>> = None;
    for v in selectors {
        let mine: Vec<String> = v
            .matchers
            .matchers
            .iter()
            .filter(|m| matches!(m.op, MatchOp::Equal) && !m.value.is_empty())
            .map(|m| m.name.clone())
            .collect();
        out = Some(match out {
            None => mine,
            Some(prev) => prev.into_iter().filter(|l| mine.contains(l)).collect(),
        });
    }
    out.unwrap_or_default()
}

fn collect_selectors<'a>(e: &'a Expr, out: &mut Vec<&'a promql_parser::parser::VectorSelector>) {
    match e {
        Expr::Aggregate(a) => collect_selectors(&a.expr, out),
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Subquery(s) => collect_selectors(&s.expr, out),
        Expr::VectorSelector(v) => out.push(v),
        Expr::MatrixSelector(m) => out.push(&m.vs),
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// `avg(...)`, or `X / count(...)`, outermost (through parentheses and a
/// scaling by a number).
fn averages(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => averages(&p.expr),
        Expr::Aggregate(a) => a.op.to_string() == "avg",
        Expr::Binary(b) => {
            let op = b.op.to_string();
            let is_count =
                |x: &Expr| matches!(strip(x), Expr::Aggregate(a) if a.op.to_string() == "count");
            let is_number = |x: &Expr| matches!(strip(x), Expr::NumberLiteral(_));
            (op == "/" && is_count(&b.rhs))
                || (matches!(op.as_str(), "*" | "/") && is_number(&b.rhs) && averages(&b.lhs))
                || (op == "*" && is_number(&b.lhs) && averages(&b.rhs))
        }
        _ => false,
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(q: &str) -> String {
        let e = parse(q).unwrap_err();
        q[e.range].to_string()
    }

    #[test]
    fn errors_point_into_the_query() {
        assert_eq!(at("sum(rate(x[1m]) by (le)"), "(");
        assert_eq!(at("sum(x) bye (y)"), "bye");
        assert_eq!(at("rate(x[5m]) +"), "+");
        assert_eq!(at("unknownfn(x)"), "unknownfn");
        assert_eq!(at("foo{"), "{");
        assert_eq!(at("rate(x)"), "rate");
    }

    fn analysed(q: &str) -> Analysis {
        analyse(q, &parse(q).unwrap())
    }

    #[test]
    fn selectors_know_their_context() {
        let a = analysed(
            "histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{model_name=\"m\"}[1m])))",
        );
        let s = &a.selectors[0];
        assert!(s.in_rate && s.in_quantile && !s.le_dropped);
        assert_eq!(s.scoped_by, ["model_name"]);
        assert_eq!(a.cardinality, Cardinality::One);
        let a = analysed("histogram_quantile(0.95, sum(rate(x_bucket[1m])))");
        assert!(a.selectors[0].le_dropped);
        let a = analysed("sum(x{model_name=~\".*\"}) + y");
        assert!(a.selectors[0].scoped_by.is_empty());
        assert_eq!(a.selectors[1].range, Some(27..28));
        assert_eq!(a.cardinality, Cardinality::Many);
    }

    #[test]
    fn averages_and_percent() {
        assert!(analysed("avg(x) * 100").averages);
        assert!(analysed("avg(x) * 100").times_hundred);
        assert!(analysed("sum(x) / count(x)").averages);
        assert!(!analysed("sum(x)").averages);
        assert!(!analysed("sum(x) * 2").times_hundred);
        assert_eq!(analysed("sum by (pod) (x)").cardinality, Cardinality::Many);
        assert_eq!(
            analysed("sum by (m) (x{m=\"a\"}) / sum by (m) (y{m=\"a\"})").cardinality,
            Cardinality::One
        );
        assert_eq!(
            analysed("sum by (m) (x{m=~\"a|b\"})").cardinality,
            Cardinality::Many
        );
        assert_eq!(analysed("topk(1, x)").cardinality, Cardinality::One);
        assert_eq!(analysed("vector(1)").cardinality, Cardinality::One);
    }
}
