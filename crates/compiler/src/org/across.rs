//! Checks across the policies checked together: unique names, one policy
//! per workload, each guardrail on each policy (within an iteration bound),
//! quotas, and the levels that set severities.

use super::*;

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
        match g.iterations.as_ref().map(|s| s.bound(largest)) {
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
                        BudgetPeriod::Daily => b.limit.0.saturating_mul(730) / 24,
                    })
                };
                let total = policies
                    .iter()
                    .filter_map(monthly)
                    .fold(0i64, i64::saturating_add);
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

/// Sets each diagnostic's severity from the last level given for its code,
/// dropping those at `allow`.
pub fn apply_levels(diagnostics: &mut Vec<Diagnostic>, levels: &[(&'static str, Level)]) {
    diagnostics.retain_mut(|d| match levels.iter().rev().find(|(c, _)| *c == d.code) {
        Some((_, Level::Allow)) => false,
        Some((_, Level::Set(s))) => {
            d.severity = *s;
            true
        }
        None => true,
    });
}
