//! The policy block: workload, SLO, budget, rules, schedules, tests, targets;
//! and the name resolution that ties them to pools and metrics.

use super::{metrics, pool, scale, Ctx, Item, Seen, POLICY_ITEMS};
use crate::args::{self, Args};
use crate::cel;
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::suggest;
use scalepol_syntax::{ArgKind, Node, Op, Span};

pub fn lower_items(
    ctx: &mut Ctx,
    name: &str,
    name_span: Span,
    extends: Option<String>,
    policy_node: &Node,
    file: FileId,
    items: &[Item],
) -> Option<Policy> {
    let allowed: Vec<&str> = POLICY_ITEMS.iter().map(|(k, _)| *k).collect();
    let mut seen = Seen::default();
    let mut workload = None;
    let mut pools: Vec<Pool> = Vec::new();
    let mut slo = None;
    let mut budget = None;
    let mut metric_items: Vec<Item> = Vec::new();
    let mut scale_items: Vec<Item> = Vec::new();
    let mut rule_items: Vec<Item> = Vec::new();
    let mut schedule_items: Vec<Item> = Vec::new();
    let mut test_items: Vec<Item> = Vec::new();
    let mut targets: Vec<TargetOptions> = Vec::new();
    for &(f, n) in items {
        match n.keyword.as_str() {
            "workload" if seen.first(ctx, f, n) => workload = lower_workload(ctx, f, n),
            "slo" if seen.first(ctx, f, n) => slo = lower_slo(ctx, f, n),
            "budget" if seen.first(ctx, f, n) => budget = lower_budget(ctx, f, n),
            "workload" | "slo" | "budget" => {}
            "pool" => {
                if let Some(p) = pool::lower_pool(ctx, f, n) {
                    if let Some(prev) = pools.iter().find(|q| q.name == p.name) {
                        duplicate_name(ctx, f, p.name_span, "pool", &p.name, prev.name_span);
                    } else {
                        pools.push(p);
                    }
                }
            }
            "metrics" => metric_items.push((f, n)),
            "scale" => scale_items.push((f, n)),
            "rule" => rule_items.push((f, n)),
            "schedule" => schedule_items.push((f, n)),
            "test" => test_items.push((f, n)),
            "target" => {
                if let Some(t) = lower_target(ctx, f, n) {
                    if let Some(prev) = targets.iter().find(|x| x.target == t.target) {
                        duplicate_name(
                            ctx,
                            f,
                            t.span,
                            "target",
                            n.args[0].as_word().unwrap_or(""),
                            prev.span,
                        );
                    } else {
                        targets.push(t);
                    }
                }
            }
            _ => ctx.unknown_item(f, n, "a policy", &allowed),
        }
    }
    let metrics = metrics::lower_metrics(ctx, &metric_items);
    scale::attach_scaling(ctx, &mut pools, &metrics, &scale_items);
    let rules = lower_rules(ctx, &rule_items, &pools, &metrics);
    let schedules = lower_schedules(ctx, &schedule_items, &pools);
    let tests = lower_tests(ctx, &test_items, &pools, &metrics);
    let workload = match workload {
        Some(w) => w,
        None => {
            if !items.iter().any(|(_, n)| n.keyword == "workload") {
                missing(
                    ctx,
                    file,
                    policy_node,
                    "`workload`",
                    "workload deployment \"namespace/name\"",
                );
            }
            return None;
        }
    };
    if pools.is_empty() && !items.iter().any(|(_, n)| n.keyword == "pool") {
        missing(
            ctx,
            file,
            policy_node,
            "`pool`",
            "pool main: gpu { replicas 1..4 }",
        );
    }
    let policy = Policy {
        name: name.to_string(),
        name_span,
        extends,
        workload,
        pools,
        slo,
        budget,
        metrics,
        rules,
        schedules,
        tests,
        targets,
    };
    // After an error, a metric may look unused only because its use failed.
    if !ctx.sink.has_errors() {
        metrics::report_unused(ctx, &policy);
    }
    Some(policy)
}

fn missing(ctx: &mut Ctx, file: FileId, node: &Node, what: &str, example: &str) {
    ctx.push(
        Diagnostic::new(
            code::MISSING_ITEM,
            file,
            node.header_span(),
            format!("this policy has no {what}"),
        )
        .label(format!("a {what} is required"))
        .help(format!("add, for example, `{example}`")),
    );
}

pub fn duplicate_name(
    ctx: &mut Ctx,
    file: FileId,
    span: Span,
    kind: &str,
    name: &str,
    first: Span,
) {
    ctx.push(
        Diagnostic::new(
            code::DUPLICATE_NAME,
            file,
            span,
            format!("the {kind} `{name}` is declared twice"),
        )
        .label("declared again here")
        .with_secondary(file, first, "first declared here")
        .help(format!("give each {kind} its own name")),
    );
}

fn lower_workload(ctx: &mut Ctx, file: FileId, node: &Node) -> Option<Workload> {
    let mut a = ctx.args(node, file, "workload KIND \"NAME\"");
    let (kind_word, kind_span) = a.word(&mut ctx.sink, "the workload kind")?;
    let kinds: Vec<&str> = WorkloadKind::ALL.iter().map(|(k, _)| *k).collect();
    let Some(kind) = WorkloadKind::ALL
        .iter()
        .find(|(k, _)| *k == kind_word)
        .map(|(_, k)| *k)
    else {
        let mut d = Diagnostic::new(
            code::UNKNOWN_WORKLOAD_KIND,
            file,
            kind_span,
            format!("unknown workload kind `{kind_word}`"),
        )
        .label("unknown kind");
        d = crate::suggest::did_you_mean(
            d,
            kind_word,
            &kinds,
            kind_span,
            format!("the kinds are: {}", kinds.join(", ")),
        );
        ctx.push(d);
        return None;
    };
    let (name, name_span) = a.string(&mut ctx.sink, "the workload's name in quotes")?;
    a.end(&mut ctx.sink);
    if name.trim().is_empty() {
        ctx.push(
            Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                name_span,
                "the workload name is empty",
            )
            .label("empty")
            .help("name the workload: `\"namespace/name\"`"),
        );
        return None;
    }
    // The name becomes object references and AWS resource ids: one `/` at
    // most (`namespace/name`, `endpoint/variant`, `cluster/service`), none
    // for an inference component.
    let slashes = name.matches('/').count();
    let max = if kind == WorkloadKind::SagemakerComponent {
        0
    } else {
        1
    };
    if slashes > max || name.starts_with('/') || name.ends_with('/') {
        let shape = match kind {
            WorkloadKind::SagemakerVariant => "\"endpoint/variant\"",
            WorkloadKind::SagemakerComponent => "\"component-name\" (no `/`)",
            WorkloadKind::EcsService => "\"cluster/service\"",
            _ => "\"namespace/name\"",
        };
        ctx.push(
            Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                name_span,
                format!("`{name}` is not a {kind_word} name"),
            )
            .label("malformed name")
            .help(format!("a {kind_word} is named {shape}")),
        );
        return None;
    }
    Some(Workload {
        kind,
        name: name.to_string(),
        span: node.span,
    })
}

pub const SLO_ITEMS: &[&str] = &["latency", "availability", "peak", "timeout"];

pub(super) fn lower_slo(ctx: &mut Ctx, file: FileId, node: &Node) -> Option<Slo> {
    let mut slo = Slo {
        latency: None,
        availability: None,
        peak_rps: None,
        timeout: None,
        span: node.span,
    };
    let mut seen = Seen::default();
    for n in node.block_nodes() {
        if SLO_ITEMS.contains(&n.keyword.as_str()) && !seen.first(ctx, file, n) {
            continue;
        }
        match n.keyword.as_str() {
            "latency" => slo.latency = lower_latency(ctx, file, n),
            "availability" => {
                let mut a = ctx.args(n, file, "availability >= 99.9%");
                if !a.eat_op(Op::Ge) {
                    a.op(&mut ctx.sink, Op::Ge);
                    continue;
                }
                let Some(q) = a.quantity(&mut ctx.sink, "a percentage") else {
                    continue;
                };
                a.end(&mut ctx.sink);
                if q.class() != args::UnitClass::Percent {
                    ctx.push(args::unit_mismatch(
                        file,
                        &q,
                        "availability",
                        args::UnitClass::Percent,
                        "99.9%",
                    ));
                } else if q.value <= 0.0 || q.value > 100.0 {
                    ctx.push(
                        Diagnostic::new(
                            code::AVAILABILITY_RANGE,
                            file,
                            q.span,
                            format!("an availability of {}% is not meaningful", q.text),
                        )
                        .label("outside (0%, 100%]")
                        .help("availability objectives are like 99%, 99.9% or 99.95%"),
                    );
                } else {
                    slo.availability = Some(ctx.valued(q.value / 100.0, file, q.span));
                }
            }
            "peak" => {
                let mut a = ctx.args(n, file, "peak 40 req/s");
                let Some(q) = a.quantity(&mut ctx.sink, "a request rate") else {
                    continue;
                };
                a.end(&mut ctx.sink);
                if q.class() != args::UnitClass::Requests {
                    ctx.push(args::unit_mismatch(
                        file,
                        &q,
                        "peak",
                        args::UnitClass::Requests,
                        "40 req/s",
                    ));
                } else if q.value < 0.0 {
                    ctx.push(args::negative(file, q.span, "a request rate"));
                } else {
                    slo.peak_rps = Some(ctx.valued(q.value, file, q.span));
                }
            }
            "timeout" => {
                let mut a = ctx.args(n, file, "timeout DURATION");
                let Some(q) = a.quantity(&mut ctx.sink, "a duration") else {
                    continue;
                };
                a.end(&mut ctx.sink);
                if let Some(d) = args::to_duration(&mut ctx.sink, file, &q, "timeout") {
                    if positive(ctx, file, &q, d, "timeout") {
                        slo.timeout = Some(ctx.valued(d, file, q.span));
                    }
                }
            }
            _ => ctx.unknown_item(file, n, "an slo block", SLO_ITEMS),
        }
    }
    Some(slo)
}

/// Reports a zero duration where only a positive one makes sense.
pub fn positive(
    ctx: &mut Ctx,
    file: FileId,
    q: &args::Quantity,
    d: crate::units::Duration,
    kw: &str,
) -> bool {
    if d.0 == 0 {
        ctx.push(
            Diagnostic::new(
                code::NONPOSITIVE_DURATION,
                file,
                q.span,
                format!("`{kw}` must be longer than zero"),
            )
            .label("zero")
            .help("write a positive duration, like `15s`"),
        );
        return false;
    }
    true
}

fn lower_latency(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<LatencyObjective> {
    let mut a = ctx.args(n, file, "latency pNN < DURATION");
    let (pw, pspan) = a.word(&mut ctx.sink, "a percentile like `p95`")?;
    let pct = pw
        .strip_prefix('p')
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|v| *v > 0.0 && *v < 100.0);
    let Some(pct) = pct else {
        ctx.push(
            Diagnostic::new(
                code::INVALID_PERCENTILE,
                file,
                pspan,
                format!("`{pw}` is not a percentile"),
            )
            .label("expected p50, p90, p95, p99, p99.9 ...")
            .help("write a percentile strictly between p0 and p100, like `p95`"),
        );
        return None;
    };
    if !(a.eat_op(Op::Lt) || a.eat_op(Op::Le)) {
        a.expected(&mut ctx.sink, "`<`");
        return None;
    }
    let q = a.quantity(&mut ctx.sink, "a duration")?;
    a.end(&mut ctx.sink);
    let d = args::to_duration(&mut ctx.sink, file, &q, "latency")?;
    if !positive(ctx, file, &q, d, "latency") {
        return None;
    }
    Some(LatencyObjective {
        percentile: pct / 100.0,
        threshold: d,
        span: n.span,
    })
}

pub(super) fn lower_budget(ctx: &mut Ctx, file: FileId, node: &Node) -> Option<Budget> {
    let mut a = ctx.args(node, file, "budget monthly|daily <= $AMOUNT [enforce|warn]");
    let (pw, pspan) = a.word(&mut ctx.sink, "`monthly` or `daily`")?;
    let period = match pw {
        "monthly" => BudgetPeriod::Monthly,
        "daily" => BudgetPeriod::Daily,
        _ => {
            let mut d = Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                pspan,
                format!("`{pw}` is not a budget period"),
            )
            .label("expected `monthly` or `daily`")
            .help("write it as `budget monthly <= $8000`");
            if let Some(s) = suggest::closest(pw, &["monthly", "daily"]) {
                d = d.fix(format!("replace with `{s}`"), pspan, s);
            }
            ctx.push(d);
            return None;
        }
    };
    if !a.eat_op(Op::Le) {
        a.op(&mut ctx.sink, Op::Le)?;
    }
    let (limit, _) = a.money(&mut ctx.sink, "an amount like `$8000`")?;
    let enforcement = match a.peek().and_then(|x| x.as_word()) {
        Some("enforce") => Some(Enforcement::Enforce),
        Some("warn") => Some(Enforcement::Warn),
        _ => None,
    };
    let enforcement = match enforcement {
        Some(e) => {
            let span = a.next().map(|x| x.span).unwrap_or_default();
            ctx.valued(e, file, span)
        }
        None => Valued::default(
            Enforcement::Enforce,
            "scalepol: budgets are enforced unless `warn` is written",
        ),
    };
    a.end(&mut ctx.sink);
    Some(Budget {
        period,
        limit,
        enforcement,
        span: node.span,
    })
}

/// `replicas >= N`, `replicas <= N`, `replicas = N`, `replicas MIN..MAX`.
pub fn replica_constraint(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<ReplicaConstraint> {
    let mut a: Args = ctx.args(n, file, "replicas >= N | replicas <= N | replicas MIN..MAX");
    let c = if a.eat_op(Op::Ge) {
        let q = a.quantity(&mut ctx.sink, "a replica count")?;
        let v = args::to_replicas(&mut ctx.sink, file, &q, "replicas")?;
        ReplicaConstraint {
            min: Some(v),
            max: None,
            span: n.span,
        }
    } else if a.eat_op(Op::Le) {
        let q = a.quantity(&mut ctx.sink, "a replica count")?;
        let v = args::to_replicas(&mut ctx.sink, file, &q, "replicas")?;
        ReplicaConstraint {
            min: None,
            max: Some(v),
            span: n.span,
        }
    } else if a.eat_op(Op::Eq) || matches!(a.peek().map(|x| &x.kind), Some(ArgKind::Number { .. }))
    {
        let q = a.quantity(&mut ctx.sink, "a replica count")?;
        let v = args::to_replicas(&mut ctx.sink, file, &q, "replicas")?;
        ReplicaConstraint {
            min: Some(v),
            max: Some(v),
            span: n.span,
        }
    } else {
        let (lo, hi, span) = a.range(&mut ctx.sink, "`>= N`, `<= N` or a range `MIN..MAX`")?;
        let lo = args::to_replicas(&mut ctx.sink, file, &lo, "replicas")?;
        let hi = args::to_replicas(&mut ctx.sink, file, &hi, "replicas")?;
        if lo > hi {
            ctx.push(pool::inverted(file, span, lo, hi));
            return None;
        }
        ReplicaConstraint {
            min: Some(lo),
            max: Some(hi),
            span: n.span,
        }
    };
    a.end(&mut ctx.sink);
    Some(c)
}

/// Resolves `pool NAME` inside a rule, schedule or test.
fn pool_ref(ctx: &mut Ctx, file: FileId, n: &Node, pools: &[Pool]) -> Option<String> {
    let mut a = ctx.args(n, file, "pool NAME");
    let (name, span) = a.word(&mut ctx.sink, "a pool name")?;
    a.end(&mut ctx.sink);
    resolve_pool(ctx, file, name, span, pools)
}

pub fn resolve_pool(
    ctx: &mut Ctx,
    file: FileId,
    name: &str,
    span: Span,
    pools: &[Pool],
) -> Option<String> {
    if pools.iter().any(|p| p.name == name) {
        return Some(name.to_string());
    }
    let mut d = Diagnostic::new(
        code::UNKNOWN_POOL,
        file,
        span,
        format!("no pool is named `{name}`"),
    )
    .label("unknown pool");
    match suggest::closest_owned(name, pools.iter().map(|p| p.name.as_str())) {
        Some(s) => {
            d = d
                .help(format!("did you mean `{s}`?"))
                .fix(format!("replace with `{s}`"), span, s)
        }
        None if pools.is_empty() => {
            d = d.help("declare the pool with `pool NAME: gpu|cpu { ... }`")
        }
        None => {
            let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
            d = d.help(format!("the pools are: {}", names.join(", ")));
        }
    }
    ctx.push(d);
    None
}

fn named_header<'n>(
    ctx: &mut Ctx,
    a: &mut Args<'n>,
    kind: &str,
    names: &mut Vec<(String, Span)>,
) -> Option<(String, Span)> {
    let file = a.file;
    let (name, span) = a.string(&mut ctx.sink, &format!("the {kind}'s name in quotes"))?;
    if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
        duplicate_name(ctx, file, span, kind, name, *first);
    }
    names.push((name.to_string(), span));
    Some((name.to_string(), span))
}

pub(super) fn lower_rules(
    ctx: &mut Ctx,
    items: &[Item],
    pools: &[Pool],
    metrics: &[Metric],
) -> Vec<Rule> {
    let mut names = Vec::new();
    let mut out = Vec::new();
    for &(file, n) in items {
        let mut a = ctx.args(n, file, "rule \"NAME\" when `CONDITION` { replicas >= N }");
        let Some((name, _)) = named_header(ctx, &mut a, "rule", &mut names) else {
            continue;
        };
        if a.keyword(&mut ctx.sink, "when").is_none() {
            continue;
        }
        let Some((expr, expr_span)) = a.code(&mut ctx.sink, "a CEL condition in back-quotes")
        else {
            continue;
        };
        a.end(&mut ctx.sink);
        let reads = cel::check_condition(ctx, file, expr, expr_span, metrics);
        let mut pool = None;
        let mut constraint = None;
        let mut seen = Seen::default();
        for b in n.block_nodes() {
            if !seen.first(ctx, file, b) {
                continue;
            }
            match b.keyword.as_str() {
                "pool" => pool = pool_ref(ctx, file, b, pools),
                "replicas" => constraint = replica_constraint(ctx, file, b),
                _ => ctx.unknown_item(file, b, "a rule", &["pool", "replicas"]),
            }
        }
        if constraint.is_none() && !n.block_nodes().iter().any(|b| b.keyword == "replicas") {
            ctx.push(
                Diagnostic::new(
                    code::MISSING_ITEM,
                    file,
                    n.header_span(),
                    format!("rule `{name}` constrains nothing"),
                )
                .label("no `replicas` constraint")
                .help("add a body: `{ replicas >= 4 }`"),
            );
        }
        if let (Some(reads), Some(constraint)) = (reads, constraint) {
            out.push(Rule {
                name,
                span: n.span,
                pool,
                when: expr.to_string(),
                when_span: expr_span,
                reads,
                constraint,
            });
        }
    }
    out
}

pub(super) fn lower_schedules(ctx: &mut Ctx, items: &[Item], pools: &[Pool]) -> Vec<Schedule> {
    let mut names = Vec::new();
    let mut out = Vec::new();
    for &(file, n) in items {
        if let Some(s) = lower_schedule(ctx, file, n, pools, &mut names) {
            out.push(s);
        }
    }
    out
}

fn lower_schedule(
    ctx: &mut Ctx,
    file: FileId,
    n: &Node,
    pools: &[Pool],
    names: &mut Vec<(String, Span)>,
) -> Option<Schedule> {
    let mut a = ctx.args(n, file, "schedule \"NAME\" cron \"MIN HOUR DOM MON DOW\" for DURATION tz \"ZONE\" { replicas MIN..MAX }");
    let (name, _) = named_header(ctx, &mut a, "schedule", names)?;
    a.keyword(&mut ctx.sink, "cron")?;
    let (cron, cron_span) = a.string(&mut ctx.sink, "a cron expression in quotes")?;
    let cron_ok = crate::schedule::check_cron(ctx, file, cron, cron_span);
    a.keyword(&mut ctx.sink, "for")?;
    let q = a.quantity(&mut ctx.sink, "how long the schedule lasts")?;
    let duration = args::to_duration(&mut ctx.sink, file, &q, "for")?;
    if !positive(ctx, file, &q, duration, "for") {
        return None;
    }
    let timezone = if a.eat_word("tz") {
        let (tz, tz_span) = a.string(&mut ctx.sink, "an IANA time zone in quotes")?;
        crate::schedule::check_timezone(ctx, file, tz, tz_span)?;
        tz.to_string()
    } else {
        "UTC".to_string()
    };
    a.end(&mut ctx.sink);
    let mut pool = None;
    let mut replicas = None;
    let mut seen = Seen::default();
    for b in n.block_nodes() {
        if !seen.first(ctx, file, b) {
            continue;
        }
        match b.keyword.as_str() {
            "pool" => pool = pool_ref(ctx, file, b, pools),
            "replicas" => replicas = replica_constraint(ctx, file, b),
            _ => ctx.unknown_item(file, b, "a schedule", &["pool", "replicas"]),
        }
    }
    if replicas.is_none() && !n.block_nodes().iter().any(|b| b.keyword == "replicas") {
        ctx.push(
            Diagnostic::new(
                code::EMPTY_RANGE_SCHEDULE,
                file,
                n.header_span(),
                format!("schedule `{name}` sets no replica range"),
            )
            .label("no `replicas` in the body")
            .help("add a body: `{ replicas 3..12 }`"),
        );
    }
    if !cron_ok {
        return None;
    }
    Some(Schedule {
        name,
        span: n.span,
        pool,
        cron: cron.to_string(),
        cron_span,
        duration,
        timezone,
        replicas: replicas?,
    })
}

fn lower_tests(ctx: &mut Ctx, items: &[Item], pools: &[Pool], metrics: &[Metric]) -> Vec<TestCase> {
    let mut names = Vec::new();
    let mut out = Vec::new();
    for &(file, n) in items {
        let mut a = ctx.args(
            n,
            file,
            "test \"NAME\" { given { ... }, expect replicas N }",
        );
        let Some((name, _)) = named_header(ctx, &mut a, "test", &mut names) else {
            continue;
        };
        a.end(&mut ctx.sink);
        if let Some(t) = lower_test_body(ctx, file, n, name, pools, metrics) {
            out.push(t);
        }
    }
    out
}

fn lower_test_body(
    ctx: &mut Ctx,
    file: FileId,
    n: &Node,
    name: String,
    pools: &[Pool],
    metrics: &[Metric],
) -> Option<TestCase> {
    let mut t = TestCase {
        name,
        span: n.span,
        pool: None,
        at: None,
        replicas: 0,
        given: Vec::new(),
        expect: ReplicaConstraint {
            min: None,
            max: None,
            span: n.span,
        },
    };
    let mut replicas = None;
    let mut expect = None;
    let mut seen = Seen::default();
    let mut ok = true;
    for b in n.block_nodes() {
        if !seen.first(ctx, file, b) {
            continue;
        }
        match b.keyword.as_str() {
            "pool" => t.pool = pool_ref(ctx, file, b, pools),
            "at" => t.at = lower_test_time(ctx, file, b),
            "given" => ok &= lower_given(ctx, file, b, metrics, &mut replicas, &mut t.given),
            "expect" => {
                let mut a = ctx.args(b, file, "expect replicas N");
                if a.keyword(&mut ctx.sink, "replicas").is_some() {
                    expect = expect_constraint(ctx, file, b, &mut a);
                }
            }
            _ => ctx.unknown_item(file, b, "a test", &["pool", "at", "given", "expect"]),
        }
    }
    if !n.block_nodes().iter().any(|b| b.keyword == "expect") {
        ctx.push(
            Diagnostic::new(
                code::MISSING_ITEM,
                file,
                n.header_span(),
                format!("test `{}` expects nothing", t.name),
            )
            .label("no `expect`")
            .help("add `expect replicas N` to the test"),
        );
    }
    let default_replicas = t
        .pool
        .as_deref()
        .and_then(|p| pools.iter().find(|x| x.name == p))
        .or(pools.first())
        .map(|p| p.replicas.min.max(1))
        .unwrap_or(1);
    t.replicas = replicas.unwrap_or(default_replicas);
    t.expect = expect?;
    ok.then_some(t)
}

fn expect_constraint(
    ctx: &mut Ctx,
    file: FileId,
    b: &Node,
    a: &mut Args,
) -> Option<ReplicaConstraint> {
    let rest = Node {
        args: a.node.args[1..].to_vec(),
        ..b.clone()
    };
    let c = replica_constraint(ctx, file, &rest);
    while a.next().is_some() {}
    c
}

fn lower_test_time(ctx: &mut Ctx, file: FileId, b: &Node) -> Option<String> {
    let mut a = ctx.args(b, file, "at \"2026-03-02T09:30:00+01:00\"");
    let (s, span) = a.string(&mut ctx.sink, "an RFC 3339 time in quotes")?;
    a.end(&mut ctx.sink);
    if chrono::DateTime::parse_from_rfc3339(s).is_err() {
        ctx.push(
            Diagnostic::new(
                code::INVALID_TIME,
                file,
                span,
                format!("`{s}` is not an RFC 3339 time"),
            )
            .label("invalid time")
            .help("write the date, time and offset: \"2026-03-02T09:30:00+01:00\""),
        );
        return None;
    }
    Some(s.to_string())
}

fn lower_given(
    ctx: &mut Ctx,
    file: FileId,
    b: &Node,
    metrics: &[Metric],
    replicas: &mut Option<u32>,
    given: &mut Vec<(String, f64)>,
) -> bool {
    let mut ok = true;
    if b.block.is_none() || !b.args.is_empty() {
        let a = ctx.args(b, file, "given { replicas N, METRIC VALUE, ... }");
        a.expected(&mut ctx.sink, "a block `{ replicas N, METRIC VALUE }`");
        return false;
    }
    for g in b.block_nodes() {
        if g.keyword == "replicas" {
            let mut a = ctx.args(g, file, "replicas N");
            let r = a
                .quantity(&mut ctx.sink, "a replica count")
                .and_then(|q| args::to_replicas(&mut ctx.sink, file, &q, "replicas"));
            a.end(&mut ctx.sink);
            ok &= r.is_some();
            *replicas = r;
            continue;
        }
        let Some(m) = metrics::resolve(ctx, file, &g.keyword, g.keyword_span, metrics) else {
            ok = false;
            continue;
        };
        let mut a = ctx.args(g, file, "METRIC VALUE");
        let v = a
            .quantity(&mut ctx.sink, "the metric's value")
            .and_then(|q| metrics::value_in_unit(ctx, file, &q, m));
        a.end(&mut ctx.sink);
        match v {
            Some(v) => given.push((m.name.clone(), v)),
            None => ok = false,
        }
    }
    ok
}

const TARGET_OPTIONS: &[(TargetKind, &[&str])] = &[
    (TargetKind::Hpa, &["kubernetes"]),
    (TargetKind::Keda, &["polling", "auth"]),
    (TargetKind::Kserve, &["mode", "autoscaler"]),
    (TargetKind::Vpa, &["mode"]),
    (TargetKind::Aws, &["resource", "role", "region"]),
    (TargetKind::Engine, &[]),
];

pub(super) fn lower_target(ctx: &mut Ctx, file: FileId, n: &Node) -> Option<TargetOptions> {
    let mut a = ctx.args(
        n,
        file,
        "target hpa|keda|kserve|vpa|aws|engine { OPTION VALUE }",
    );
    let (tw, tspan) = a.word(&mut ctx.sink, "a target name")?;
    a.end(&mut ctx.sink);
    let names: Vec<&str> = TargetKind::ALL.iter().map(|(k, _)| *k).collect();
    let Some(kind) = TargetKind::ALL
        .iter()
        .find(|(k, _)| *k == tw)
        .map(|(_, k)| *k)
    else {
        let mut d = Diagnostic::new(
            code::UNKNOWN_TARGET,
            file,
            tspan,
            format!("unknown target `{tw}`"),
        )
        .label("unknown target");
        d = crate::suggest::did_you_mean(
            d,
            tw,
            &names,
            tspan,
            format!("the targets are: {}", names.join(", ")),
        );
        ctx.push(d);
        return None;
    };
    let allowed = TARGET_OPTIONS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, o)| *o)
        .unwrap_or(&[]);
    let mut options = Vec::new();
    let mut seen = Seen::default();
    for o in n.block_nodes() {
        if !allowed.contains(&o.keyword.as_str()) {
            let mut d = Diagnostic::new(
                code::UNKNOWN_TARGET_OPTION,
                file,
                o.keyword_span,
                format!("target `{tw}` has no option `{}`", o.keyword),
            )
            .label("unknown option");
            d = match suggest::closest(&o.keyword, allowed) {
                Some(s) => d.help(format!("did you mean `{s}`?")).fix(
                    format!("replace with `{s}`"),
                    o.keyword_span,
                    s,
                ),
                None if allowed.is_empty() => d.help(format!("target `{tw}` takes no options")),
                None => d.help(format!("target `{tw}` takes: {}", allowed.join(", "))),
            };
            ctx.push(d);
            continue;
        }
        if !seen.first(ctx, file, o) {
            continue;
        }
        if let Some(v) = target_value(ctx, file, o, kind) {
            options.push((o.keyword.to_string(), v));
        }
    }
    Some(TargetOptions {
        target: kind,
        options,
        span: n.span,
    })
}

/// Reads one target option's value and checks it against its allowed values.
fn target_value(ctx: &mut Ctx, file: FileId, o: &Node, kind: TargetKind) -> Option<String> {
    let choices: &[&str] = match (kind, o.keyword.as_str()) {
        (TargetKind::Kserve, "mode") => &["serverless", "standard"],
        (TargetKind::Kserve, "autoscaler") => &["hpa", "keda"],
        (TargetKind::Vpa, "mode") => &["off", "initial", "recreate", "auto"],
        _ => &[],
    };
    let mut a = ctx.args(o, file, "OPTION VALUE");
    let value = if choices.is_empty() {
        match a.peek().map(|x| &x.kind) {
            Some(ArgKind::Number { .. }) => {
                let q = a.quantity(&mut ctx.sink, "a duration")?;
                let d = args::to_duration(&mut ctx.sink, file, &q, &o.keyword)?;
                if !positive(ctx, file, &q, d, &o.keyword) {
                    return None;
                }
                d.to_string()
            }
            _ => a.string(&mut ctx.sink, "a value in quotes")?.0.to_string(),
        }
    } else {
        let (w, span) = a.word(&mut ctx.sink, &format!("one of {}", choices.join(", ")))?;
        if !choices.contains(&w) {
            let mut d = Diagnostic::new(
                code::BAD_ARGUMENTS,
                file,
                span,
                format!("`{w}` is not a value of `{}`", o.keyword),
            )
            .label(format!("expected one of {}", choices.join(", ")))
            .help(format!("write one of: {}", choices.join(", ")));
            if let Some(s) = suggest::closest(w, choices) {
                d = d.fix(format!("replace with `{s}`"), span, s);
            }
            ctx.push(d);
            return None;
        }
        w.to_string()
    };
    a.end(&mut ctx.sink);
    Some(value)
}
