//! The organisation's rules as Kubernetes admission policies: each
//! guardrail, and each accelerator quota, becomes a
//! `ValidatingAdmissionPolicy` (admissionregistration.k8s.io/v1, CEL) with
//! its binding, so that autoscalers edited by hand in the cluster are held
//! to the rules that policies are held to in CI.
//!
//! A guardrail is CEL over the policy view (`policy.pools.all(p, ...)`); an
//! admission policy is CEL over one object. The translation walks the
//! guardrail's syntax tree: a quantifier over `policy.pools` becomes its
//! body for the one pool the object scales, each pool field becomes the
//! object's field (with the platform's default where the field may be
//! absent), and anything an object does not carry (the SLO, the budget,
//! drain, other policies) makes the guardrail inexpressible for that kind,
//! with the reason. The pool's kind and accelerators are read from the
//! labels `compile` writes on the autoscalers (`common::pool_meta`).

use crate::common::{ACCELERATOR_COUNT_LABEL, ACCELERATOR_LABEL, POOL_KIND_LABEL};
use crate::{Document, Schema};
use cel_parser::ast::{Expr, IdedExpr};
use cel_parser::reference::Val;
use scalepol_compiler::org::{GuardrailSource, OrgRules};
use scalepol_compiler::Severity;
use serde_json::{json, Value};

/// The autoscaler kinds an admission policy checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hpa,
    ScaledObject,
    InferenceService,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Hpa, Kind::ScaledObject, Kind::InferenceService];

    /// `request.kind.kind`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hpa => "HorizontalPodAutoscaler",
            Kind::ScaledObject => "ScaledObject",
            Kind::InferenceService => "InferenceService",
        }
    }

    /// (API group, version, resource). The default `matchPolicy:
    /// Equivalent` also sends autoscaling/v1 HPAs, converted to v2.
    fn resource(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Hpa => ("autoscaling", "v2", "horizontalpodautoscalers"),
            Kind::ScaledObject => ("keda.sh", "v1alpha1", "scaledobjects"),
            Kind::InferenceService => ("serving.kserve.io", "v1beta1", "inferenceservices"),
        }
    }
}

/// What one guardrail or quota became.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub code: String,
    /// Per kind: the CEL over `object`, or why it cannot be written.
    pub kinds: Vec<(Kind, Result<String, String>)>,
}

/// A label's value, or `default` when the object has no such label.
fn label(key: &str, default: &str) -> String {
    format!(
        "(has(object.metadata.labels) && '{key}' in object.metadata.labels ? object.metadata.labels['{key}'] : {default})"
    )
}

/// An optional field with the platform's default.
fn or_default(guards: &[&str], field: &str, default: &str) -> String {
    let has: Vec<String> = guards.iter().map(|g| format!("has({g})")).collect();
    format!("({} ? {field} : {default})", has.join(" && "))
}

/// The object's expression for a field of the pool view (`replicas.max`),
/// with its CEL type as the view has it.
fn pool_field(kind: Kind, path: &str) -> Result<String, String> {
    use Kind::*;
    let behavior = |k: Kind, dir: &str, default: &str| {
        let base = match k {
            Hpa => "object.spec.behavior".to_string(),
            _ => "object.spec.advanced.horizontalPodAutoscalerConfig.behavior".to_string(),
        };
        let mut guards: Vec<String> = Vec::new();
        if k == ScaledObject {
            guards.push("object.spec.advanced".into());
            guards.push("object.spec.advanced.horizontalPodAutoscalerConfig".into());
        }
        guards.push(base.clone());
        guards.push(format!("{base}.{dir}"));
        guards.push(format!("{base}.{dir}.stabilizationWindowSeconds"));
        let g: Vec<&str> = guards.iter().map(String::as_str).collect();
        format!(
            "double{}",
            or_default(
                &g,
                &format!("{base}.{dir}.stabilizationWindowSeconds"),
                default
            )
        )
    };
    let text = match (path, kind) {
        ("kind", _) => label(POOL_KIND_LABEL, "''"),
        ("accelerator.name", _) => label(ACCELERATOR_LABEL, "''"),
        ("accelerator.count", _) => format!("int({})", label(ACCELERATOR_COUNT_LABEL, "'1'")),
        ("replicas.min", Hpa) => or_default(&["object.spec.minReplicas"], "object.spec.minReplicas", "1"),
        ("replicas.min", ScaledObject) => or_default(&["object.spec.minReplicaCount"], "object.spec.minReplicaCount", "0"),
        ("replicas.min", InferenceService) => or_default(&["object.spec.predictor.minReplicas"], "object.spec.predictor.minReplicas", "1"),
        ("replicas.max", Hpa) => "object.spec.maxReplicas".into(),
        ("replicas.max", ScaledObject) => or_default(&["object.spec.maxReplicaCount"], "object.spec.maxReplicaCount", "100"),
        // KServe: absent or 0 is unbounded.
        ("replicas.max", InferenceService) => "(has(object.spec.predictor.maxReplicas) && object.spec.predictor.maxReplicas > 0 ? object.spec.predictor.maxReplicas : 2147483647)".into(),
        ("scale.down.stabilization_seconds", Hpa | ScaledObject) => behavior(kind, "scaleDown", "300"),
        ("scale.up.stabilization_seconds", Hpa | ScaledObject) => behavior(kind, "scaleUp", "0"),
        ("scale.cooldown_seconds", ScaledObject) => format!("double{}", or_default(&["object.spec.cooldownPeriod"], "object.spec.cooldownPeriod", "300")),
        ("scale.interval_seconds", ScaledObject) => format!("double{}", or_default(&["object.spec.pollingInterval"], "object.spec.pollingInterval", "30")),
        ("scale.fallback_replicas", ScaledObject) => "object.spec.fallback.replicas".into(),
        _ => {
            return Err(format!(
                "`p.{path}` is not on a{} {}",
                if kind == InferenceService { "n" } else { "" },
                kind.name()
            ))
        }
    };
    Ok(text)
}

/// `has(p.PATH)` for the pool view.
fn pool_has(kind: Kind, path: &str) -> Result<String, String> {
    match (path, kind) {
        ("scale", _) => Ok("true".into()),
        ("accelerator", _) => Ok(format!(
            "(has(object.metadata.labels) && '{ACCELERATOR_LABEL}' in object.metadata.labels)"
        )),
        ("scale.fallback_replicas", Kind::ScaledObject) => Ok("has(object.spec.fallback)".into()),
        ("scale.fallback_replicas", _) => Ok("false".into()),
        _ => Err(format!(
            "`has(p.{path})` cannot be read from a {}",
            kind.name()
        )),
    }
}

/// Translates one guardrail condition for one kind of object.
pub fn translate(expr: &str, kind: Kind) -> Result<String, String> {
    scalepol_common::cel_limits::check(expr).map_err(|v| v.to_string())?;
    let owned = expr.to_string();
    let parsed = scalepol_common::quiet::quietly(move || cel_parser::Parser::new().parse(&owned))
        .map_err(|_| "the condition could not be parsed".to_string())?
        .map_err(|_| "the condition could not be parsed".to_string())?;
    Printer { kind, pool: None }.print(&parsed, 0)
}

struct Printer {
    kind: Kind,
    /// The variable bound to the object's pool, inside `policy.pools.all`.
    pool: Option<String>,
}

/// A chain of field selections from a variable: (`p`, `replicas.max`).
fn path(e: &IdedExpr) -> Option<(String, String)> {
    match &e.expr {
        Expr::Ident(n) => Some((n.to_string(), String::new())),
        Expr::Select(s) if !s.test => {
            let (root, rest) = path(&s.operand)?;
            let joined = if rest.is_empty() {
                s.field.to_string()
            } else {
                format!("{rest}.{}", s.field)
            };
            Some((root, joined))
        }
        _ => None,
    }
}

fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "_?_:_" => 1,
        "_||_" => 2,
        "_&&_" => 3,
        "_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_" | "@in" => 4,
        "_+_" | "_-_" => 5,
        "_*_" | "_/_" | "_%_" => 6,
        "-_" | "!_" => 7,
        _ => return None,
    })
}

impl Printer {
    fn print(&self, e: &IdedExpr, outer: u8) -> Result<String, String> {
        match &e.expr {
            Expr::Literal(v) => literal(v),
            Expr::Ident(n) if self.pool.as_deref() == Some(n.as_str()) => {
                Err(format!("the whole pool `{n}`, not one of its fields"))
            }
            Expr::Ident(n) => Err(format!("`{n}`, which is not on the object")),
            Expr::Select(s) if s.test => {
                let (root, p) = path(&s.operand).ok_or("a `has()` over an expression")?;
                let full = if p.is_empty() {
                    s.field.to_string()
                } else {
                    format!("{p}.{}", s.field)
                };
                match self.pool.as_deref() {
                    Some(v) if v == root => pool_has(self.kind, &full),
                    _ => Err(format!(
                        "`has({root}.{full})`: the {} does not carry it",
                        self.kind.name()
                    )),
                }
            }
            Expr::Select(_) => {
                let (root, p) = path(e).ok_or("a field of an expression")?;
                match self.pool.as_deref() {
                    Some(v) if v == root => pool_field(self.kind, &p),
                    _ if root == "policy" => Err(format!(
                        "`policy.{p}`, which a single {} does not carry",
                        self.kind.name()
                    )),
                    _ => Err(format!("`{root}.{p}`")),
                }
            }
            Expr::Comprehension(c) => self.quantifier(c),
            Expr::Call(c) => {
                let f = c.func_name.as_str();
                if let Some(p) = precedence(f).filter(|_| c.target.is_none()) {
                    return self.operator(f, &c.args, p, outer);
                }
                let args: Result<Vec<String>, String> =
                    c.args.iter().map(|a| self.print(a, 0)).collect();
                let args = args?.join(", ");
                match (&c.target, f) {
                    (None, "size" | "int" | "double" | "string" | "uint") => {
                        Ok(format!("{f}({args})"))
                    }
                    (Some(t), "startsWith" | "endsWith" | "contains" | "matches" | "size") => {
                        Ok(format!("{}.{f}({args})", self.print(t, 8)?))
                    }
                    (None, "_[_]") => Err("indexing".into()),
                    _ => Err(format!("the function `{f}`")),
                }
            }
            Expr::List(l) => {
                let items: Result<Vec<String>, String> =
                    l.elements.iter().map(|x| self.print(x, 0)).collect();
                Ok(format!("[{}]", items?.join(", ")))
            }
            _ => Err("a map, a message or an unsupported expression".into()),
        }
    }

    /// `policy.pools.all(v, BODY)` and `.exists(v, BODY)`: the object scales
    /// one pool, so both are BODY for it.
    fn quantifier(&self, c: &cel_parser::ast::ComprehensionExpr) -> Result<String, String> {
        let over_pools = path(&c.iter_range).is_some_and(|(r, p)| r == "policy" && p == "pools");
        let step = match &c.loop_step.expr {
            Expr::Call(s)
                if matches!(s.func_name.as_str(), "_&&_" | "_||_") && s.args.len() == 2 =>
            {
                Some(&s.args[1])
            }
            _ => None,
        };
        let is_accu = matches!(&c.result.expr, Expr::Ident(n) if n.as_str() == c.accu_var.as_str());
        match (over_pools, step, is_accu, c.iter_var2.is_none()) {
            (true, Some(body), true, true) => {
                let inner = Printer {
                    kind: self.kind,
                    pool: Some(c.iter_var.to_string()),
                };
                Ok(format!("({})", inner.print(body, 0)?))
            }
            _ => Err("a comprehension other than `policy.pools.all(...)` or `.exists(...)`".into()),
        }
    }

    fn operator(&self, f: &str, args: &[IdedExpr], p: u8, outer: u8) -> Result<String, String> {
        let text = match f {
            "-_" | "!_" => format!("{}{}", &f[..1], self.print(&args[0], p)?),
            "_?_:_" => format!(
                "{} ? {} : {}",
                self.print(&args[0], p + 1)?,
                self.print(&args[1], p + 1)?,
                self.print(&args[2], p)?
            ),
            "@in" => format!(
                "{} in {}",
                self.print(&args[0], p + 1)?,
                self.print(&args[1], p + 1)?
            ),
            _ => format!(
                "{} {} {}",
                self.print(&args[0], p)?,
                f.trim_matches('_'),
                self.print(&args[1], p + 1)?
            ),
        };
        Ok(if p < outer { format!("({text})") } else { text })
    }
}

fn literal(v: &Val) -> Result<String, String> {
    Ok(match v {
        Val::Int(i) => i.to_string(),
        Val::UInt(u) => format!("{u}u"),
        Val::Double(x) => {
            let t = format!("{x:?}");
            if t.contains(['.', 'e', 'E']) {
                t
            } else {
                format!("{t}.0")
            }
        }
        Val::Boolean(b) => b.to_string(),
        Val::String(s) => serde_json::to_string(s).map_err(|e| e.to_string())?,
        Val::Null => "null".into(),
        _ => return Err("a bytes literal".into()),
    })
}

/// Each guardrail and accelerator quota, translated for each kind.
pub fn translate_rules(rules: &OrgRules) -> Vec<(Rule, Translated)> {
    let mut out = Vec::new();
    for g in rules.guardrails() {
        let kinds = Kind::ALL
            .iter()
            .map(|k| (*k, translate(&g.expr, *k)))
            .collect();
        out.push((
            Rule::Guardrail(g.clone()),
            Translated {
                code: g.code.to_string(),
                kinds,
            },
        ));
    }
    for (acc, max) in rules.accelerator_quotas() {
        let kinds = Kind::ALL
            .iter()
            .map(|k| {
                let expr = format!(
                    "{} != {} || {} * {} <= {max}",
                    label(ACCELERATOR_LABEL, "''"),
                    serde_json::to_string(&acc).unwrap_or_default(),
                    pool_field(*k, "replicas.max").unwrap_or_default(),
                    pool_field(*k, "accelerator.count").unwrap_or_default(),
                );
                (*k, Ok(expr))
            })
            .collect();
        out.push((
            Rule::Quota {
                accelerator: acc.clone(),
                max,
            },
            Translated {
                code: format!("quota-{acc}"),
                kinds,
            },
        ));
    }
    out
}

/// What an admission policy was made from.
#[derive(Debug, Clone)]
pub enum Rule {
    Guardrail(GuardrailSource),
    Quota { accelerator: String, max: u32 },
}

/// A Kubernetes name from free text: lower case, `[a-z0-9-]`.
fn dns_name(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(200).collect()
}

/// The admission policies and bindings for a rules file, as one `v1` List,
/// and a note for each rule (or kind) that cannot be expressed over a
/// single object.
pub fn compile(rules: &OrgRules) -> (Option<Document>, Vec<String>) {
    let base = if rules.name.is_empty() {
        "org".to_string()
    } else {
        dns_name(&rules.name)
    };
    let mut items = Vec::new();
    let mut notes = Vec::new();
    for (rule, t) in translate_rules(rules) {
        let (message, severity, what) = match &rule {
            Rule::Guardrail(g) => (
                format!("{} ({})", g.message, g.code),
                g.severity,
                format!("guardrail \"{}\" ({})", g.name, g.code),
            ),
            Rule::Quota { accelerator, max } => (
                format!("one autoscaler may hold at most {max} {accelerator} accelerators (maximum replicas x accelerators per replica), the organisation's quota"),
                Severity::Error,
                format!("quota accelerator \"{accelerator}\""),
            ),
        };
        let ok: Vec<(Kind, &String)> = t
            .kinds
            .iter()
            .filter_map(|(k, r)| r.as_ref().ok().map(|e| (*k, e)))
            .collect();
        for (k, r) in &t.kinds {
            if let Err(why) = r {
                notes.push(format!(
                    "{what}: not checked on {} objects: {why}",
                    k.name()
                ));
            }
        }
        if ok.is_empty() {
            continue;
        }
        let name = format!("scalepol-{base}-{}", dns_name(&t.code));
        items.push(policy(&name, &ok, &message));
        items.push(binding(&name, severity));
    }
    if let Some(budget) = rules.budget_quota() {
        notes.push(format!(
            "quota budget monthly <= ${budget}: not checked at admission: it sums the cost of every policy, which no single object carries"
        ));
    }
    let doc = (!items.is_empty()).then(|| {
        Document::json(
            format!("{base}.admission.yaml"),
            Schema::List,
            json!({"apiVersion": "v1", "kind": "List", "items": items}),
        )
        .in_yaml()
    });
    (doc, notes)
}

fn labels() -> Value {
    json!({"app.kubernetes.io/managed-by": "scalepol"})
}

fn policy(name: &str, kinds: &[(Kind, &String)], message: &str) -> Value {
    let rules: Vec<Value> = kinds
        .iter()
        .map(|(k, _)| {
            let (group, version, resource) = k.resource();
            json!({
                "apiGroups": [group],
                "apiVersions": [version],
                "operations": ["CREATE", "UPDATE"],
                "resources": [resource],
            })
        })
        .collect();
    let validations: Vec<Value> = kinds
        .iter()
        .map(|(k, expr)| {
            json!({
                "expression": format!("request.kind.kind != '{}' || {expr}", k.name()),
                "message": message,
                "reason": "Invalid",
            })
        })
        .collect();
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": labels()},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": rules},
            "validations": validations,
        },
    })
}

/// The binding: an error denies, a warning warns the user (kubectl prints
/// it), a note is recorded in the audit log.
fn binding(name: &str, severity: Severity) -> Value {
    let actions = match severity {
        Severity::Error => json!(["Deny"]),
        Severity::Warning => json!(["Warn", "Audit"]),
        _ => json!(["Audit"]),
    };
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels()},
        "spec": {"policyName": name, "validationActions": actions},
    })
}
