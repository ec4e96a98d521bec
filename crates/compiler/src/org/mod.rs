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

mod across;
pub use across::{apply_levels, check_set};
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
    /// The condition's CEL text, for translation to admission policies.
    expr: String,
    /// What bounds its comprehensions, read once at load.
    iterations: Option<scalepol_common::cel_limits::IterationShape>,
    program: cel_interpreter::Program,
}

/// A loaded rules file, with the diagnostics about the file itself.
pub struct OrgRules {
    /// The `rules NAME` block's name (empty when the file has none).
    pub name: String,
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    levels: Vec<(&'static str, Level)>,
    quotas: Vec<Quota>,
    guardrails: Vec<Guardrail>,
}

impl OrgRules {
    /// Rules with nothing in them: what carries a project's levels when no
    /// rules file is given.
    pub fn empty() -> OrgRules {
        OrgRules {
            name: String::new(),
            file: SourceFile::new(String::new(), String::new()),
            diagnostics: Vec::new(),
            levels: Vec::new(),
            quotas: Vec::new(),
            guardrails: Vec::new(),
        }
    }

    /// Adds a project's levels (scalepol.toml) under the file's own: the
    /// last level given for a code wins, so the organisation's rules file
    /// has the final say.
    pub fn with_project_levels(mut self, levels: &[(&'static str, Level)]) -> OrgRules {
        let mut all = levels.to_vec();
        all.append(&mut self.levels);
        self.levels = all;
        self
    }
}

/// A guardrail as written, for compiling it to another platform's rules
/// (Kubernetes admission policies).
#[derive(Debug, Clone)]
pub struct GuardrailSource {
    pub name: String,
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The `require` condition, CEL over the policy view (`policy`).
    pub expr: String,
}

impl OrgRules {
    pub fn guardrails(&self) -> Vec<GuardrailSource> {
        self.guardrails
            .iter()
            .map(|g| GuardrailSource {
                name: g.name.clone(),
                code: g.code,
                severity: g.severity,
                message: g.message.clone(),
                expr: g.expr.clone(),
            })
            .collect()
    }

    /// `quota accelerator "TYPE" <= N` lines: (type, N).
    pub fn accelerator_quotas(&self) -> Vec<(String, u32)> {
        self.quotas
            .iter()
            .filter_map(|q| match q {
                Quota::Accelerator { name, max, .. } => Some((name.clone(), *max)),
                Quota::Budget { .. } => None,
            })
            .collect()
    }

    /// The monthly budget quota, in dollars, if any.
    pub fn budget_quota(&self) -> Option<f64> {
        self.quotas.iter().find_map(|q| match q {
            Quota::Budget { limit, .. } => Some(limit.0 as f64 / 1e6),
            Quota::Accelerator { .. } => None,
        })
    }
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
        name: String::new(),
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
    rules.name = match top.args.first().map(|a| &a.kind) {
        Some(scalepol_syntax::ArgKind::Word(w)) => w.to_string(),
        Some(scalepol_syntax::ArgKind::Str(s)) => s.clone(),
        _ => String::new(),
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
        expr: expr.clone(),
        iterations: scalepol_common::cel_limits::IterationShape::of(&expr),
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
