//! Completion from a lexical view of the text before the cursor, so that it
//! works on a file that does not parse: the enclosing blocks, whether the
//! cursor is in a string or a back-quoted expression, and the word before.

use crate::analysis::Analysis;
use scalepol_common::rule_context;
use scalepol_compiler::checks::catalogue::ACCELERATORS;
use scalepol_compiler::vocabulary::{self, Block};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Keyword,
    Snippet,
    Unit,
    Metric,
    Pool,
    Value,
    Function,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub label: String,
    pub kind: Kind,
    pub detail: String,
    /// Snippet text (LSP snippet syntax), when not the label.
    pub snippet: Option<String>,
    /// Plain text inserted at the cursor (nothing replaced), with the text
    /// the editor filters on: a unit after the number being typed.
    pub append: Option<(String, String)>,
}

fn item(label: &str, kind: Kind, detail: &str) -> Item {
    Item {
        label: label.into(),
        kind,
        detail: detail.into(),
        snippet: None,
        append: None,
    }
}

/// What the text before the cursor says about where it is.
#[derive(Debug, Default, PartialEq)]
pub struct Context {
    /// Keywords of the enclosing blocks, outermost first.
    pub blocks: Vec<String>,
    pub in_string: bool,
    pub in_code: bool,
    /// The words of the current statement before the cursor's word.
    pub words: Vec<String>,
    /// The partial word at the cursor.
    pub partial: String,
}

pub fn context(text: &str, offset: usize) -> Context {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let mut c = Context::default();
    let mut word = String::new();
    let mut chars = text[..offset].chars().peekable();
    let mut comment = false;
    while let Some(ch) = chars.next() {
        if comment {
            comment = ch != '\n';
            continue;
        }
        if c.in_string {
            c.in_string = ch != '"' && ch != '\n';
            continue;
        }
        if c.in_code {
            c.in_code = ch != '`';
            continue;
        }
        let boundary = |c: &mut Context, word: &mut String| {
            if !word.is_empty() {
                c.words.push(std::mem::take(word));
            }
        };
        match ch {
            '/' if chars.peek() == Some(&'/') => {
                boundary(&mut c, &mut word);
                comment = true;
            }
            '"' => {
                boundary(&mut c, &mut word);
                c.in_string = true;
            }
            '`' => {
                boundary(&mut c, &mut word);
                c.in_code = true;
            }
            '{' => {
                boundary(&mut c, &mut word);
                c.blocks.push(c.words.first().cloned().unwrap_or_default());
                c.words.clear();
            }
            '}' => {
                c.blocks.pop();
                c.words.clear();
                word.clear();
            }
            '\n' | ',' | ';' => {
                c.words.clear();
                word.clear();
            }
            ch if ch.is_whitespace() => boundary(&mut c, &mut word),
            ch => word.push(ch),
        }
    }
    c.partial = word;
    c
}

const UNITS: &[(&str, &str)] = &[
    ("ms", "milliseconds"),
    ("s", "seconds"),
    ("m", "minutes"),
    ("h", "hours"),
    ("%", "percent"),
    ("Gi", "gibibytes"),
    ("Mi", "mebibytes"),
    (" req/s", "requests per second"),
    (" tokens/s", "tokens per second"),
    (" concurrent", "requests in flight at once"),
    (" replicas", "replicas"),
];

const SNIPPETS: &[(&str, &str, &str)] = &[
    ("policy", "policy ${1:name} {\n  workload deployment \"${2:namespace/name}\"\n\n  pool ${3:main}: ${4|gpu,cpu|} {\n    replicas ${5:1}..${6:4}\n  }\n\n  scale {\n    on ${7:cpu} target ${8:70%}\n  }\n}\n", "a whole policy"),
    ("pool", "pool ${1:name}: ${2|gpu,cpu|} {\n  accelerator \"${3:nvidia-l4}\"\n  replicas ${4:1}..${5:8}\n  warmup ${6:2m}\n  capacity ${7:16} concurrent\n  cost \\$${8:0.85}/h\n}", "a pool block"),
    ("scale", "scale {\n  on ${1:metric} per replica target ${2:4}\n  up { by 100% every 15s, stabilize 0s }\n  down { by 1 replica every 2m, stabilize 5m }\n}", "a scale block"),
    ("slo", "slo {\n  latency p95 < ${1:2s}\n  availability >= ${2:99.9%}\n}", "an slo block"),
    ("metrics", "metrics prometheus \"${1:http://prometheus:9090}\" {\n  ${2:name} = `${3:query}` as ${4|count,percent,req/s,tokens/s,ms|}\n}", "a metrics block"),
    ("rule", "rule \"${1:name}\" when `${2:condition}` {\n  replicas >= ${3:2}\n}", "a rule block"),
    ("schedule", "schedule \"${1:name}\" cron \"${2:0 8 * * MON-FRI}\" for ${3:10h} tz \"${4:UTC}\" {\n  replicas ${5:2}..${6:8}\n}", "a schedule block"),
    ("test", "test \"${1:name}\" {\n  given { replicas ${2:2} }\n  expect replicas ${3:2}\n}", "a test block"),
];

pub fn complete(a: &Analysis, offset: usize) -> Vec<Item> {
    let c = context(&a.text.text, offset);
    let metrics = || {
        a.metric_names()
            .into_iter()
            .map(|m| item(&m, Kind::Metric, "metric"))
    };
    let pools = || {
        a.pool_names()
            .into_iter()
            .map(|p| item(&p, Kind::Pool, "pool"))
    };
    if c.in_code {
        let mut out: Vec<Item> = metrics().collect();
        out.extend(
            rule_context::VARIABLES
                .iter()
                .map(|v| item(v.name, Kind::Value, &format!("{}: {}", v.ty, v.doc))),
        );
        out.extend(
            rule_context::FUNCTIONS
                .iter()
                .map(|(f, d)| item(f, Kind::Function, d)),
        );
        return out;
    }
    let first = c.words.first().map(String::as_str);
    let last = c.words.last().map(String::as_str);
    if c.in_string {
        return match (first, last) {
            (Some("accelerator"), _) => ACCELERATORS
                .iter()
                .map(|x| item(x.name, Kind::Value, &format!("{} GiB", x.memory_gib)))
                .collect(),
            (_, Some("tz")) => chrono_tz::TZ_VARIANTS
                .iter()
                .map(|t| item(t.name(), Kind::Value, "time zone"))
                .collect(),
            _ => Vec::new(),
        };
    }
    if c.partial
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_digit())
    {
        return UNITS
            .iter()
            .map(|(u, d)| Item {
                append: Some((u.to_string(), format!("{}{u}", c.partial))),
                ..item(u.trim(), Kind::Unit, d)
            })
            .collect();
    }
    let block = c.blocks.last().map(String::as_str);
    match (block, last) {
        (Some("scale"), Some("on")) => {
            let formula = item(
                "formula",
                Kind::Keyword,
                "a target on a CEL formula over the metrics: on formula `(a + 2.0 * b) / 3.0` per replica target N",
            );
            return metrics().chain(std::iter::once(formula)).collect();
        }
        (Some("policy" | "defaults"), Some("scale")) => return pools().collect(),
        (Some("rule" | "schedule" | "test"), Some("pool")) => return pools().collect(),
        (_, Some("tz")) => return vec![item("\"UTC\"", Kind::Value, "time zone")],
        _ => {}
    }
    if !c.words.is_empty() {
        return Vec::new();
    }
    keywords(block, &c, a)
}

fn keywords(block: Option<&str>, c: &Context, a: &Analysis) -> Vec<Item> {
    let from = |b: &Block| -> Vec<Item> {
        b.settings
            .iter()
            .map(|s| item(s.keyword, Kind::Keyword, s.doc))
            .collect()
    };
    let snippets = |names: &[&str]| -> Vec<Item> {
        SNIPPETS
            .iter()
            .filter(|(n, _, _)| names.contains(n))
            .map(|(n, s, d)| Item {
                snippet: Some(s.to_string()),
                ..item(&format!("{n} {{ }}"), Kind::Snippet, d)
            })
            .collect()
    };
    match block {
        None if c.blocks.is_empty() => {
            let mut v = vec![
                item("policy", Kind::Keyword, "a policy"),
                item("defaults", Kind::Keyword, "shared defaults"),
            ];
            v.extend(snippets(&["policy"]));
            v
        }
        Some("policy" | "defaults") => {
            let mut v = from(&vocabulary::POLICY);
            v.extend(snippets(&[
                "pool", "scale", "slo", "metrics", "rule", "schedule", "test",
            ]));
            v
        }
        Some(k @ ("pool" | "scale" | "up" | "down" | "slo" | "rule" | "schedule" | "test")) => {
            vocabulary::block(k).map(from).unwrap_or_default()
        }
        Some("given") => {
            let mut v = vec![item("replicas", Kind::Keyword, "the current replicas")];
            v.extend(
                a.metric_names()
                    .into_iter()
                    .map(|m| item(&m, Kind::Metric, "metric")),
            );
            v
        }
        _ => Vec::new(),
    }
}
