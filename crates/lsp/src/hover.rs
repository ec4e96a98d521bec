//! Hover: what a keyword means, a value in base units, a metric's query, a
//! pool's worst-case cost, the defaults in force and where they come from,
//! a serving metric inside a query (from the catalogue), and the
//! explanation of a diagnostic under the cursor.

use crate::analysis::{arg_at, path_at, run_at, word_at, Analysis};
use scalepol_compiler::checks::catalogue;
use scalepol_compiler::model::{Origin, Pool, Scaling, Valued};
use scalepol_compiler::units;
use scalepol_compiler::vocabulary::{self, Block};
use scalepol_syntax::{ArgKind, Node, Span};

/// Markdown and the span it is about.
pub fn hover(a: &Analysis, offset: usize) -> Option<(String, Span)> {
    let mut parts = Vec::new();
    let mut span = None;
    for d in a
        .diagnostics
        .iter()
        .filter(|d| d.primary.file.0 == 0 && contains(d.primary.span, offset))
    {
        let info = scalepol_compiler::codes::lookup(d.code);
        let mut s = format!("**{}** {}", d.code, d.message);
        if let Some(i) = info {
            s.push_str(&format!("\n\n*{}*: {}", i.name, i.explanation));
        }
        parts.push(s);
        span.get_or_insert(d.primary.span);
    }
    if let Some((text, s)) = symbol(a, offset) {
        parts.push(text);
        span = span.or(Some(s));
    }
    (!parts.is_empty()).then(|| {
        (
            parts.join("\n\n---\n\n"),
            span.unwrap_or(Span::new(offset, offset)),
        )
    })
}

fn contains(s: Span, offset: usize) -> bool {
    s.start <= offset && offset <= s.end.max(s.start + 1)
}

fn symbol(a: &Analysis, offset: usize) -> Option<(String, Span)> {
    let text = &a.text.text;
    let Some(doc) = a.tree() else {
        // A broken file: names still answer, from the last model.
        let (s, w) = word_at(text, offset)?;
        return name_info(a, w).map(|t| (t, s));
    };
    let path = path_at(doc, offset);
    let node = *path.last()?;
    let parent = path.len().checked_sub(2).map(|i| path[i]);
    if contains(node.keyword_span, offset) {
        let doc = keyword_doc(node, parent, a)?;
        return Some((doc, node.keyword_span));
    }
    let arg = arg_at(node, offset)?;
    let info = match &arg.kind {
        ArgKind::Number { text, unit } => number(text, unit.as_deref()),
        ArgKind::Money { text, per } => money(text, per.as_deref()),
        ArgKind::Word(w) => name_info(a, w),
        ArgKind::Str(s) if node.keyword == "accelerator" => accelerator(s),
        ArgKind::Str(s) if node.keyword == "schedule" && s.contains('/') => {
            Some(format!("time zone `{s}`"))
        }
        ArgKind::Code(_) if parent.is_some_and(|p| p.keyword == "metrics") => {
            // A Prometheus metric name: letters, digits, `_` and `:`.
            let (s, w) = run_at(text, offset, |c| {
                c.is_ascii_alphanumeric() || c == '_' || c == ':'
            })?;
            return serving_metric(w).map(|t| (t, s));
        }
        ArgKind::Code(_) => {
            let (s, w) = word_at(text, offset)?;
            return cel_word(a, w).map(|t| (t, s));
        }
        _ => None,
    }?;
    Some((info, arg.span))
}

fn table(block: &Block, kw: &str) -> Option<String> {
    block
        .setting(kw)
        .map(|s| format!("**{}**: {}", s.keyword, s.doc))
}

fn keyword_doc(n: &Node, parent: Option<&Node>, a: &Analysis) -> Option<String> {
    let kw = n.keyword.as_str();
    let base = match parent.map(|p| p.keyword.as_str()) {
        None if kw == "policy" => {
            Some("**policy**: one service's scaling policy: `policy NAME { ... }`".to_string())
        }
        None if kw == "defaults" => {
            Some("**defaults**: settings that policies share with `extends`".to_string())
        }
        Some("policy" | "defaults") => table(&vocabulary::POLICY, kw),
        Some(k @ ("pool" | "scale" | "up" | "down" | "slo" | "rule" | "schedule" | "test")) => {
            vocabulary::block(k).and_then(|b| table(b, kw))
        }
        Some("metrics") => name_info(a, kw),
        Some("given") => name_info(a, kw).map(|t| format!("a value given for {t}")),
        _ => None,
    };
    let mut out = base?;
    // The settings in force, with where each comes from.
    if kw == "scale" {
        if let Some(s) = scaling_for(a, n) {
            out.push_str("\n\n");
            out.push_str(&settings(s));
        }
    }
    if kw == "pool" && parent.is_some_and(|p| p.keyword == "policy") {
        if let Some(p) = n
            .args
            .first()
            .and_then(|x| x.as_word())
            .and_then(|w| a.policy.as_ref()?.pool(w))
        {
            out.push_str("\n\n");
            out.push_str(&pool_info(p));
        }
    }
    Some(out)
}

fn scaling_for<'a>(a: &'a Analysis, n: &Node) -> Option<&'a Scaling> {
    let p = a.policy.as_ref()?;
    let pool = match n.args.first().and_then(|x| x.as_word()) {
        Some(name) => p.pool(name)?,
        None => p.pools.iter().find(|x| x.scale.is_some())?,
    };
    pool.scale.as_ref()
}

fn origin<T>(v: &Valued<T>) -> String {
    match &v.origin {
        Origin::Written { .. } => "written".into(),
        Origin::Inherited { file, .. } => format!("from `{file}`"),
        Origin::Default { source } => format!("default: {source}"),
    }
}

fn settings(s: &Scaling) -> String {
    let pct = |v: f64| format!("{}%", (v * 1000.0).round() / 10.0);
    let behavior = |b: &scalepol_compiler::model::Behavior| {
        let rates: Vec<String> = b
            .policies
            .value
            .iter()
            .map(|r| match r.kind {
                scalepol_compiler::model::RateKind::Percent => {
                    format!("{}% every {}", r.value, r.period)
                }
                scalepol_compiler::model::RateKind::Replicas => {
                    format!("{} replicas every {}", r.value, r.period)
                }
            })
            .collect();
        format!(
            "{} (select {:?}; {}), stabilise {} ({})",
            if rates.is_empty() {
                "disabled".to_string()
            } else {
                rates.join(", ")
            },
            b.select.value,
            origin(&b.select),
            b.stabilization.value,
            origin(&b.stabilization)
        )
    };
    format!(
        "| setting | value | from |\n|---|---|---|\n| tolerance up | {} | {} |\n| tolerance down | {} | {} |\n| up | {} | {} |\n| down | {} | {} |\n| cooldown | {} | {} |\n| interval | {} | {} |",
        pct(s.tolerance_up.value),
        origin(&s.tolerance_up),
        pct(s.tolerance_down.value),
        origin(&s.tolerance_down),
        behavior(&s.up),
        origin(&s.up.policies),
        behavior(&s.down),
        origin(&s.down.policies),
        s.cooldown.value,
        origin(&s.cooldown),
        s.interval.value,
        origin(&s.interval),
    )
}

/// A metric's or a pool's description, by name: from the model, else (a
/// policy with errors) from the syntax tree.
fn name_info(a: &Analysis, name: &str) -> Option<String> {
    let Some(p) = a.policy.as_ref() else {
        return tree_info(a, name);
    };
    if let Some(m) = p.metric(name) {
        let mut s = format!("metric `{}`: {:?}, in {}", m.name, m.source, m.unit.name());
        if let Some(e) = &m.endpoint {
            s.push_str(&format!(" from `{e}`"));
        }
        if m.inherited {
            s.push_str(" (inherited)");
        }
        s.push_str(&format!("\n\n```\n{}\n```", m.query));
        return Some(s);
    }
    p.pool(name).map(pool_info)
}

fn pool_info(p: &Pool) -> String {
    let mut s = format!(
        "pool `{}`: {:?}, {}..{} replicas, warmup {} ({})",
        p.name,
        p.kind,
        p.replicas.min,
        p.replicas.max,
        p.warmup.value,
        origin(&p.warmup)
    );
    if let Some(acc) = &p.accelerator {
        s.push_str(&format!(", {} x {}", acc.count, acc.name));
    }
    if let Some(c) = &p.cost {
        let monthly = c.value.times(u64::from(p.replicas.max), 730);
        s.push_str(&format!(
            "\n\nworst case: {monthly} a month ({} replicas x {} x 730 h)",
            p.replicas.max, c.value
        ));
    }
    s
}

fn cel_word(a: &Analysis, w: &str) -> Option<String> {
    match scalepol_common::rule_context::VARIABLES
        .iter()
        .find(|v| v.name == w)
    {
        Some(v) => Some(format!("`{}` ({}): {}", v.name, v.ty, v.doc)),
        None => name_info(a, w).map(|t| format!("{t}\n\n(a `double` in CEL)")),
    }
}

/// A serving metric from the catalogue: what it is, and whether it is
/// still emitted.
fn serving_metric(name: &str) -> Option<String> {
    use scalepol_compiler::queries::catalogue::{self, Kind};
    let f = catalogue::find(name)?;
    let m = f.metric;
    let kind = match m.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    let mut out = format!(
        "`{}`: {} {kind}, {}: {}",
        m.name,
        f.engine.engine,
        format!("{:?}", m.unit).to_lowercase(),
        m.help
    );
    if !f.engine.identity.is_empty() {
        let labels: Vec<String> = f.engine.identity.iter().map(|l| format!("`{l}`")).collect();
        out.push_str(&format!(
            "\n\nLabels naming the model or workload: {}",
            labels.join(", ")
        ));
    }
    if let Some(d) = &m.deprecated {
        out.push_str(&format!("\n\n**Deprecated** in {} {d}", f.engine.engine));
        if let Some(r) = &m.removed {
            out.push_str(&format!(", no longer emitted since {r}"));
        }
        if let Some(r) = &m.replacement {
            out.push_str(&format!(": use `{r}`"));
        }
        if let Some(s) = &m.source {
            out.push_str(&format!(" ({s})"));
        }
    }
    Some(out)
}

fn accelerator(name: &str) -> Option<String> {
    let acc = catalogue::find(name)?;
    let price = acc
        .price_per_hour
        .map(|p| format!(", list price {} per accelerator-hour", units::MoneyRate(p)))
        .unwrap_or_default();
    Some(format!(
        "accelerator `{}`: {} GiB{price} (source: {})",
        acc.name, acc.memory_gib, acc.source
    ))
}

/// A number with its unit, in base units.
fn number(text: &str, unit: Option<&str>) -> Option<String> {
    let v: f64 = text.parse().ok()?;
    let unit = unit?;
    if let Some(ms) = units::duration_unit(unit) {
        let total = v * ms as f64;
        return Some(if total < 1000.0 {
            format!("{text}{unit} = {total} ms")
        } else {
            format!("{text}{unit} = {} s", total / 1000.0)
        });
    }
    if let Some(b) = units::byte_unit(unit) {
        return Some(format!("{text}{unit} = {} bytes", (v * b as f64).round()));
    }
    if unit == "%" {
        return Some(format!(
            "{text}% = {} (a fraction), or {text} on a 0-100 utilisation scale",
            v / 100.0
        ));
    }
    None
}

fn money(text: &str, per: Option<&str>) -> Option<String> {
    let v: f64 = text.parse().ok()?;
    match per {
        Some("h") => Some(format!(
            "${text}/h = ${:.2} a day, ${:.2} a month (730 h)",
            v * 24.0,
            v * 730.0
        )),
        Some(p) => Some(format!("${text} per {p}")),
        None => Some(format!("${text}")),
    }
}

/// What the syntax tree alone says about a name.
fn tree_info(a: &Analysis, name: &str) -> Option<String> {
    let doc = a.document.as_ref()?;
    let mut found = None;
    crate::analysis::walk(&doc.nodes, &mut |n, parent| {
        if found.is_some() {
            return;
        }
        if parent.is_some_and(|p| p.keyword == "metrics") && n.keyword == name {
            let query = n.args.iter().find_map(|x| match &x.kind {
                ArgKind::Code(q) => Some(q.clone()),
                _ => None,
            });
            found = Some(format!(
                "metric `{name}`\n\n```\n{}\n```",
                query.unwrap_or_default()
            ));
        } else if n.keyword == "pool"
            && n.block.is_some()
            && n.args.first().is_some_and(|x| x.is_word(name))
        {
            found = Some(format!("pool `{name}`"));
        }
    });
    found
}
