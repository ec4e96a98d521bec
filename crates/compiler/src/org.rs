//! Organisation rules and checks across every policy checked together.
//!
//! A rules file (`scalepol check --rules FILE`) holds one `rules NAME { ... }`
//! block: per-code `level`s (like clippy's lint levels), `quota`s over the
//! whole set of policies, and `guardrail`s: CEL conditions over a view of each
//! policy (`view.rs`). Without a rules file, the set checks still run: unique
//! policy names, one policy per workload.

use crate::args::Args;
use crate::codes::{self, code};
use crate::diagnostics::{Diagnostic, FileId, Severity};
use crate::lower::{Ctx, Seen};
use crate::model::{BudgetPeriod, Policy};
use crate::units::Money;
use crate::view::PolicyView;
use crate::vocabulary;
use crate::{Checked, SourceFile};
use scalepol_syntax::{Node, Op, Span};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

/// What a `level` line does to a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Allow,
    Set(Severity),
}

#[derive(Debug)]
enum Quota {
    Accelerator { name: String, max: u32, span: Span },
    Budget { limit: Money, span: Span },
}

struct Guardrail {
    name: String,
    code: &'static str,
    severity: Severity,
    message: String,
    expr_span: Span,
    source: String,
    program: cel_interpreter::Program,
}

/// A loaded rules file, with the diagnostics about the file itself.
pub struct OrgRules {
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    levels: Vec<(&'static str, Level)>,
    quotas: Vec<Quota>,
    guardrails: Vec<Guardrail>,
}

/// Guardrail codes are the user's: interned once, so that diagnostics keep
/// `&'static str` codes like every built-in one.
fn intern(s: &str) -> &'static str {
    static CODES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut guard = CODES.lock().unwrap_or_else(|e| e.into_inner());
    let set = guard.get_or_insert_with(HashSet::new);
    if let Some(c) = set.get(s) {
        return c;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Reads a rules file. Problems in it are in `diagnostics`, with `FileId(0)`
/// standing for the rules file.
pub fn load_rules(name: &str, text: &str) -> OrgRules {
    let file = SourceFile::new(name.to_string(), text.to_string());
    let mut rules = OrgRules {
        file,
        diagnostics: Vec::new(),
        levels: Vec::new(),
        quotas: Vec::new(),
        guardrails: Vec::new(),
    };
    let doc = match scalepol_syntax::parse(text) {
        Ok(d) => d,
        Err(e) => {
            rules
                .diagnostics
                .push(crate::syntax_diagnostic(FileId(0), &e));
            return rules;
        }
    };
    let names = [name.to_string()];
    let mut ctx = Ctx {
        names: &names,
        sink: Default::default(),
    };
    let top = doc.nodes.iter().find(|n| n.keyword == "rules");
    let Some(top) = top else {
        ctx.push(
            Diagnostic::new(
                code::EXPECTED_POLICY,
                FileId(0),
                Span::default(),
                "a rules file holds one `rules NAME { ... }` block",
            )
            .label("no `rules` block")
            .help("write `rules acme { level SP0532 allow, quota ..., guardrail ... }`"),
        );
        rules.diagnostics = ctx.sink.diagnostics;
        return rules;
    };
    for n in top.block_nodes() {
        match n.keyword.as_str() {
            "level" => rules.levels.extend(level(&mut ctx, n)),
            "quota" => rules.quotas.extend(quota(&mut ctx, n)),
            "guardrail" => rules.guardrails.extend(guardrail(&mut ctx, n)),
            _ => ctx.unknown_item(
                FileId(0),
                n,
                vocabulary::RULES.name,
                &vocabulary::RULES.keywords(),
            ),
        }
    }
    rules.diagnostics = ctx.sink.diagnostics;
    rules
}

fn level(ctx: &mut Ctx, n: &Node) -> Option<(&'static str, Level)> {
    let mut a = Args::new(n, FileId(0), "level CODE allow|note|warning|error");
    let (c, span) = a.word(&mut ctx.sink, "a diagnostic code or name")?;
    let Some(info) = codes::lookup(c) else {
        ctx.push(
            Diagnostic::new(
                code::UNKNOWN_LEVEL_CODE,
                FileId(0),
                span,
                format!("`{c}` is not a diagnostic code or name"),
            )
            .label("unknown code")
            .help("`scalepol explain` lists the codes"),
        );
        return None;
    };
    let (w, wspan) = a.word(&mut ctx.sink, "allow, note, warning or error")?;
    a.end(&mut ctx.sink);
    let lvl = match w {
        "allow" => Level::Allow,
        "note" => Level::Set(Severity::Note),
        "warning" | "warn" => Level::Set(Severity::Warning),
        "error" | "deny" => Level::Set(Severity::Error),
        _ => {
            ctx.push(
                Diagnostic::new(
                    code::BAD_ARGUMENTS,
                    FileId(0),
                    wspan,
                    format!("`{w}` is not a level"),
                )
                .label("expected allow, note, warning or error")
                .help("write `level SP0532 allow`"),
            );
            return None;
        }
    };
    Some((info.code, lvl))
}

fn quota(ctx: &mut Ctx, n: &Node) -> Option<Quota> {
    let mut a = Args::new(
        n,
        FileId(0),
        "quota accelerator \"TYPE\" <= N | quota budget monthly <= $N",
    );
    let (kind, _) = a.word(&mut ctx.sink, "`accelerator` or `budget`")?;
    let q = match kind {
        "accelerator" => {
            let (name, _) = a.string(&mut ctx.sink, "the accelerator type in quotes")?;
            a.op(&mut ctx.sink, Op::Le)?;
            let qty = a.quantity(&mut ctx.sink, "a number of accelerators")?;
            let max = crate::args::to_replicas(&mut ctx.sink, FileId(0), &qty, "quota")?;
            Quota::Accelerator {
                name: name.to_string(),
                max,
                span: n.span,
            }
        }
        "budget" => {
            a.keyword(&mut ctx.sink, "monthly")?;
            a.op(&mut ctx.sink, Op::Le)?;
            let (limit, _) = a.money(&mut ctx.sink, "an amount like `$250000`")?;
            Quota::Budget {
                limit,
                span: n.span,
            }
        }
        _ => {
            a.expected(&mut ctx.sink, "`accelerator` or `budget`");
            return None;
        }
    };
    a.end(&mut ctx.sink);
    Some(q)
}

fn guardrail(ctx: &mut Ctx, n: &Node) -> Option<Guardrail> {
    let mut a = Args::new(
        n,
        FileId(0),
        "guardrail \"NAME\" { code, severity, message, require }",
    );
    let (name, _) = a.string(&mut ctx.sink, "the guardrail's name in quotes")?;
    a.end(&mut ctx.sink);
    let (mut gcode, mut severity, mut message, mut require) = (None, Severity::Error, None, None);
    let mut seen = Seen::default();
    for b in n.block_nodes() {
        if !vocabulary::GUARDRAIL.accepts(&b.keyword) {
            ctx.unknown_item(
                FileId(0),
                b,
                vocabulary::GUARDRAIL.name,
                &vocabulary::GUARDRAIL.keywords(),
            );
            continue;
        }
        if !seen.first(ctx, FileId(0), b) {
            continue;
        }
        let mut a = Args::new(
            b,
            FileId(0),
            "code ORG0001 | severity error | message \"...\" | require `CEL`",
        );
        match b.keyword.as_str() {
            "code" => {
                gcode = a
                    .word(&mut ctx.sink, "a code like ORG0001")
                    .and_then(|(c, s)| user_code(ctx, c, s))
            }
            "severity" => {
                severity = match a
                    .word(&mut ctx.sink, "error, warning or note")
                    .map(|(w, _)| w)
                {
                    Some("warning") => Severity::Warning,
                    Some("note") => Severity::Note,
                    _ => Severity::Error,
                }
            }
            "message" => {
                message = a
                    .string(&mut ctx.sink, "the message in quotes")
                    .map(|(m, _)| m.to_string())
            }
            _ => {
                require = a
                    .code(&mut ctx.sink, "a CEL condition in back-quotes")
                    .map(|(e, s)| (e.to_string(), s))
            }
        }
        a.end(&mut ctx.sink);
    }
    let present = |k: &str| n.block_nodes().iter().any(|b| b.keyword == k);
    let missing: Vec<&str> = ["code", "message", "require"]
        .into_iter()
        .filter(|k| !present(k))
        .collect();
    let (Some(gcode), Some(message), Some((expr, span))) = (gcode, message, require) else {
        // An item that is present but invalid has been reported already.
        if missing.is_empty() {
            return None;
        }
        ctx.push(
            Diagnostic::new(code::GUARDRAIL_INVALID, FileId(0), n.header_span(), format!("guardrail \"{name}\" has no {}", missing.join(", ")))
                .label("incomplete guardrail")
                .help("a guardrail needs a code, a message and a `require` condition: see `scalepol explain SP0610`"),
        );
        return None;
    };
    let inner = Span::new(span.start + 1, span.end - 1);
    crate::cel::parse_guarded(ctx, FileId(0), &expr, inner)?;
    let compiled = crate::cel::quietly(|| cel_interpreter::Program::compile(&expr))
        .ok()?
        .ok()?;
    Some(Guardrail {
        name: name.to_string(),
        code: gcode,
        severity,
        message,
        expr_span: inner,
        source: expr,
        program: compiled,
    })
}

/// A user code: capital letters then digits, not in scalepol's own `SP` range.
fn user_code(ctx: &mut Ctx, c: &str, span: Span) -> Option<&'static str> {
    let letters = c.chars().take_while(|ch| ch.is_ascii_uppercase()).count();
    let ok = letters > 0
        && letters < c.len()
        && c[letters..].chars().all(|ch| ch.is_ascii_digit())
        && !c.starts_with("SP");
    if !ok {
        ctx.push(
            Diagnostic::new(
                code::GUARDRAIL_INVALID,
                FileId(0),
                span,
                format!("`{c}` is not a guardrail code"),
            )
            .label("expected capital letters then digits, like ORG0001")
            .help("guardrail codes are the organisation's own: `SP` codes are scalepol's"),
        );
        return None;
    }
    Some(intern(c))
}

/// Checks every policy of a set together, with the organisation's rules if
/// given: unique names, one policy per workload, guardrails, quotas, levels.
pub fn check_set(checked: &mut [Checked], mut rules: Option<&mut OrgRules>) {
    unique_names(checked);
    one_policy_per_workload(checked);
    if let Some(r) = rules.as_deref_mut() {
        for c in checked.iter_mut() {
            guardrails(c, r);
        }
        quotas(checked, r);
    }
    if let Some(r) = rules {
        for c in checked.iter_mut() {
            apply_levels(&mut c.diagnostics, &r.levels);
        }
        let levels = std::mem::take(&mut r.levels);
        apply_levels(&mut r.diagnostics, &levels);
        r.levels = levels;
    }
}

fn unique_names(checked: &mut [Checked]) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for c in checked.iter_mut() {
        let Some(p) = &c.policy else { continue };
        let here = c.files[0].name.clone();
        if let Some(first) = seen.get(&p.name) {
            c.diagnostics.push(
                Diagnostic::new(
                    code::DUPLICATE_POLICY_NAME,
                    FileId(0),
                    p.name_span,
                    format!("policy `{}` is also declared in {first}", p.name),
                )
                .label("same name")
                .help("policy names become output file and object names: make them unique"),
            );
        } else {
            seen.insert(p.name.clone(), here);
        }
    }
}

fn one_policy_per_workload(checked: &mut [Checked]) {
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for c in checked.iter_mut() {
        let Some(p) = &c.policy else { continue };
        let key = (format!("{:?}", p.workload.kind), p.workload.name.clone());
        let here = format!("policy `{}` ({})", p.name, c.files[0].name);
        if let Some(first) = seen.get(&key) {
            c.diagnostics.push(
                Diagnostic::new(
                    code::WORKLOAD_TWICE,
                    FileId(0),
                    p.workload.span,
                    format!("{first} already scales \"{}\"", p.workload.name),
                )
                .label("scaled twice")
                .help(
                    "two autoscalers on one workload undo each other: keep one policy per workload",
                ),
            );
        } else {
            seen.insert(key, here);
        }
    }
}

/// The file id of the rules file within a checked file's session, adding it.
fn rules_file(c: &mut Checked, r: &OrgRules) -> FileId {
    let at = c
        .files
        .iter()
        .position(|f| f.name == r.file.name)
        .unwrap_or_else(|| {
            c.files.push(r.file.clone());
            c.files.len() - 1
        });
    FileId(at as u32)
}

fn guardrails(c: &mut Checked, r: &OrgRules) {
    let Some(p) = &c.policy else { return };
    let Ok(value) = cel_interpreter::to_value(PolicyView::new(p)) else {
        return;
    };
    let name_span = p.name_span;
    let policy_name = p.name.clone();
    let largest = largest_collection(&value);
    let mut found = Vec::new();
    for g in &r.guardrails {
        // The evaluator has no budget: a comprehension nested in another
        // over a large policy would run for minutes or exhaust memory.
        let limit = scalepol_common::cel_limits::MAX_ITERATIONS;
        match scalepol_common::cel_limits::iteration_bound(&g.source, largest) {
            Some(n) if n <= limit => {}
            bound => {
                let why = match bound {
                    Some(n) => format!("it may iterate {n} times over lists of up to {largest} entries; the limit is {limit}"),
                    None => "it exceeds the limits on CEL expressions".to_string(),
                };
                found.push((g, Some(why)));
                continue;
            }
        }
        let mut context = cel_interpreter::Context::default();
        context.add_variable_from_value("policy", value.clone());
        // Guardrails are the organisation's code: a panic in the evaluator
        // is an evaluation error, not a crash.
        let run = std::panic::AssertUnwindSafe(|| g.program.execute(&context));
        let result = match crate::cel::quietly(run) {
            Ok(r) => r,
            Err(_) => {
                found.push((g, Some("the evaluator failed on this policy".to_string())));
                continue;
            }
        };
        match result {
            Ok(cel_interpreter::Value::Bool(true)) => {}
            Ok(cel_interpreter::Value::Bool(false)) => found.push((g, None)),
            Ok(other) => found.push((
                g,
                Some(format!("the condition returned {other:?}, not a bool")),
            )),
            Err(e) => found.push((g, Some(e.to_string()))),
        }
    }
    for (g, error) in found {
        let file = rules_file(c, r);
        let d = match error {
            None => Diagnostic::org(g.code, g.severity, FileId(0), name_span, format!("{} (guardrail \"{}\")", g.message, g.name))
                .label(format!("policy `{policy_name}`"))
                .with_secondary(file, g.expr_span, "the guardrail")
                .help(format!("the organisation's rules require this of every policy; see {}", r.file.name)),
            Some(e) => Diagnostic::new(code::GUARDRAIL_EVAL, FileId(0), name_span, format!("guardrail \"{}\" could not be evaluated on `{policy_name}`: {e}", g.name))
                .label(format!("policy `{policy_name}`"))
                .with_secondary(file, g.expr_span, "the guardrail")
                .help("guard optional fields with `has(...)`; the policy view is described in docs/guardrails.md"),
        };
        c.diagnostics.push(d);
    }
}

/// The most entries of any list or map in a value, at any depth.
fn largest_collection(v: &cel_interpreter::Value) -> usize {
    use cel_interpreter::Value;
    match v {
        Value::List(items) => items
            .iter()
            .map(largest_collection)
            .fold(items.len(), usize::max),
        Value::Map(m) => m
            .map
            .values()
            .map(largest_collection)
            .fold(m.map.len(), usize::max),
        _ => 0,
    }
}

fn quotas(checked: &[Checked], r: &mut OrgRules) {
    let policies: Vec<&Policy> = checked.iter().filter_map(|c| c.policy.as_ref()).collect();
    for q in &r.quotas {
        match q {
            Quota::Accelerator { name, max, span } => {
                let uses: Vec<(String, u64)> = policies
                    .iter()
                    .map(|p| {
                        let n: u64 = p
                            .pools
                            .iter()
                            .filter_map(|pl| {
                                pl.accelerator
                                    .as_ref()
                                    .filter(|a| a.name == *name)
                                    .map(|a| a.count as u64 * pl.replicas.max as u64)
                            })
                            .sum();
                        (p.name.clone(), n)
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect();
                let total: u64 = uses.iter().map(|(_, n)| n).sum();
                if total > *max as u64 {
                    let parts: Vec<String> = uses.iter().map(|(p, n)| format!("{p} {n}")).collect();
                    r.diagnostics.push(
                        Diagnostic::new(code::QUOTA_ACCELERATORS, FileId(0), *span, format!("the policies may use {total} {name} at their maximums; the quota is {max}"))
                            .label("quota")
                            .help(format!("{}: lower some maximums or raise the quota", parts.join(", "))),
                    );
                }
            }
            Quota::Budget { limit, span } => {
                let monthly = |p: &&Policy| {
                    p.budget.as_ref().map(|b| match b.period {
                        BudgetPeriod::Monthly => b.limit.0,
                        BudgetPeriod::Daily => b.limit.0 * 730 / 24,
                    })
                };
                let total: i64 = policies.iter().filter_map(monthly).sum();
                if Money(total) > *limit {
                    r.diagnostics.push(
                        Diagnostic::new(code::QUOTA_BUDGET, FileId(0), *span, format!("the policies' budgets add up to {} a month; the organisation's is {limit}", Money(total)))
                            .label("quota")
                            .help(format!("{} over: lower some budgets or raise the quota", Money(total - limit.0))),
                    );
                }
            }
        }
    }
}

fn apply_levels(diagnostics: &mut Vec<Diagnostic>, levels: &[(&'static str, Level)]) {
    diagnostics.retain_mut(|d| match levels.iter().rev().find(|(c, _)| *c == d.code) {
        Some((_, Level::Allow)) => false,
        Some((_, Level::Set(s))) => {
            d.severity = *s;
            true
        }
        None => true,
    });
}
