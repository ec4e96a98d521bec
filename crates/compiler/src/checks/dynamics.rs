//! Cold starts and scaling lag (SP0520, SP0521) and oscillation
//! (SP0530-SP0536).

use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId, Severity};
use crate::model::*;
use crate::units::Duration;
use scalepol_syntax::Span;

pub fn check(p: &Policy, out: &mut Vec<Diagnostic>) {
    for pool in &p.pools {
        let Some(s) = &pool.scale else { continue };
        cold_start(p, pool, s, out);
        warmup_vs_rate(pool, s, out);
        down_window(p, pool, s, out);
        down_vs_up(pool, s, out);
        zero_tolerance(pool, s, out);
        targets(p, pool, s, out);
        fallback_targets(p, s, out);
    }
}

/// KEDA falls back only for AverageValue targets of its own scalers
/// (pkg/fallback: isFallbackEnabled; CheckFallbackValid refuses a
/// ScaledObject without one): CPU and memory are read by the HPA itself.
/// Without such a target, the fallback is dead. With one, the other
/// targets simply hold when they fail, which is the HPA's rule anyway.
fn fallback_targets(p: &Policy, s: &Scaling, out: &mut Vec<Diagnostic>) {
    let Some(f) = &s.fallback else { return };
    if s.targets.is_empty() || s.targets.iter().any(|t| p.falls_back(t)) {
        return;
    }
    let mut d = Diagnostic::new(
        code::FALLBACK_NOT_PER_REPLICA,
        FileId(0),
        f.span,
        "this fallback never applies: KEDA falls back only for `per replica` targets other than cpu and memory, and this block has none",
    )
    .label("never used");
    for t in &s.targets {
        let why = if t.mode == TargetMode::PerReplica {
            "read by the HPA itself"
        } else {
            "not per replica"
        };
        d = d.with_secondary(FileId(0), t.span, why);
    }
    out.push(d.help("when a metric fails, the HPA holds the current count instead; scale on a metric `per replica` for the fallback to apply (the KEDA output leaves this fallback out)"));
}

/// Where a value is written (in the policy or the defaults file it was
/// inherited from: spans are in session offsets), or the fallback for a
/// default, which is written nowhere.
fn at<T>(v: &Valued<T>, fallback: Span) -> Span {
    v.span().unwrap_or(fallback)
}

fn cold_start(p: &Policy, pool: &Pool, s: &Scaling, out: &mut Vec<Diagnostic>) {
    if pool.replicas.min > 0 {
        return;
    }
    let warmup = pool.warmup.value;
    if let Some(lat) = p.slo.as_ref().and_then(|x| x.objective()) {
        if warmup > lat.threshold {
            out.push(
                Diagnostic::new(code::COLD_START, FileId(0), pool.replicas.span, format!(
                    "pool `{}` scales to zero, and its warmup of {warmup} is longer than the latency objective of {}: the first request after idle waits {warmup}",
                    pool.name, lat.threshold
                ))
                .label("minimum 0")
                .with_secondary(FileId(0), lat.span, "latency objective")
                .help("keep one replica warm (`replicas 1..N`), or shorten the warmup (smaller image, cached weights)")
                .fix("keep one replica", pool.replicas.span, format!("1..{}", pool.replicas.max)),
            );
        }
    }
    let cooldown = s.cooldown.value;
    if warmup > cooldown {
        out.push(
            Diagnostic::new(code::COOLDOWN_SHORT, FileId(0), at(&s.cooldown, s.span), format!(
                "pool `{}` goes to zero {cooldown} after the last request but needs {warmup} to come back",
                pool.name
            ))
            .label(if s.cooldown.is_default() { "cooldown (default 5m)".to_string() } else { "cooldown".to_string() })
            .help(format!("set `cooldown {warmup}` or longer, so that short gaps in traffic do not pay a cold start")),
        );
    }
}

/// The shortest period among the scale-up rate policies.
fn shortest_period(b: &Behavior) -> Option<Duration> {
    b.policies.value.iter().map(|r| r.period).min()
}

/// Only `total` targets compound: their proposal is proportional to the
/// current count, which includes replicas still warming up, while the metric
/// (a gauge of the serving replicas) has not moved yet. `per replica`
/// proposals do not depend on the current count.
fn warmup_vs_rate(pool: &Pool, s: &Scaling, out: &mut Vec<Diagnostic>) {
    let proportional = s.targets.iter().any(|t| t.mode == TargetMode::Total);
    if s.up.select.value == SelectPolicy::Disabled || !proportional {
        return;
    }
    let (Some(period), warmup) = (shortest_period(&s.up), pool.warmup.value) else {
        return;
    };
    if warmup > period && s.up.stabilization.value < warmup {
        let steps = warmup.0 / period.0.max(1);
        out.push(
            Diagnostic::new(code::WARMUP_VS_RATE, FileId(0), at(&pool.warmup, pool.name_span), format!(
                "a new replica of `{}` serves after {warmup}, while scale-up may act every {period}: a `total` target may compound up to {steps} steps before the first one serves",
                pool.name
            ))
            .label("warmup")
            .help(format!("the proposal grows with replicas that are not serving yet: a scale-up window near the warmup (`up {{ ..., stabilize {warmup} }}`) holds the count until the first new replica serves")),
        );
    }
}

fn down_window(p: &Policy, pool: &Pool, s: &Scaling, out: &mut Vec<Diagnostic>) {
    if s.down.select.value == SelectPolicy::Disabled {
        return;
    }
    let window = s.down.stabilization.value;
    let sample = s
        .targets
        .iter()
        .flat_map(|t| t.reads())
        .filter_map(|m| p.metric(m)?.interval)
        .max()
        .unwrap_or_default()
        .max(s.interval.value);
    let two = Duration(sample.0 * 2);
    let (limit, why) = if pool.warmup.value > two {
        (
            pool.warmup.value,
            format!("the warmup of {}", pool.warmup.value),
        )
    } else {
        (two, format!("two metric intervals ({two})"))
    };
    if window < limit {
        // Shorter than two samples, one noisy sample removes replicas: a
        // warning. Shorter than the warmup only, it depends on the traffic:
        // on bursty traffic a replica removed now costs a warmup to get back,
        // on smooth traffic the simulator shows a short window saving 15-20%
        // at the same SLO. That is a note that says so.
        let noisy = window < two;
        let mut d = Diagnostic::new(
            code::DOWN_WINDOW_SHORT,
            FileId(0),
            at(&s.down.stabilization, s.span),
            format!(
                "pool `{}` scales down on a {window} stabilisation window, shorter than {why}",
                pool.name
            ),
        )
        .label("scale-down window");
        d = if noisy {
            d.help(format!("set `down {{ stabilize {limit} }}` or longer: one noisy sample removes replicas, and a replica removed now costs {} to get back", pool.warmup.value))
        } else {
            d.severity(Severity::Note).help(format!(
                "on bursty traffic a replica removed now costs {} to get back; on smooth traffic a short window saves cost: `scalepol simulate` or `scalepol tune` on your traffic decides",
                pool.warmup.value
            ))
        };
        out.push(d);
    }
}

/// Replicas per minute that a direction may change at `at` replicas.
fn rate_per_minute(b: &Behavior, at: u32) -> f64 {
    let rates = b.policies.value.iter().map(|r| {
        let step = match r.kind {
            RateKind::Percent => (at as f64 * r.value as f64 / 100.0).ceil(),
            RateKind::Replicas => r.value as f64,
        };
        step * 60_000.0 / r.period.0.max(1) as f64
    });
    match b.select.value {
        SelectPolicy::Disabled => 0.0,
        SelectPolicy::Max => rates.fold(0.0, f64::max),
        SelectPolicy::Min => rates.fold(f64::INFINITY, f64::min),
    }
}

fn down_vs_up(pool: &Pool, s: &Scaling, out: &mut Vec<Diagnostic>) {
    let at_max = pool.replicas.max;
    let (up, down) = (
        rate_per_minute(&s.up, at_max),
        rate_per_minute(&s.down, at_max),
    );
    if down > up && down.is_finite() {
        let span = s.down.policies.span().unwrap_or(s.span);
        out.push(
            Diagnostic::new(code::DOWN_FASTER_THAN_UP, FileId(0), span, format!(
                "at {at_max} replicas pool `{}` may remove {down:.1} replicas a minute but add only {up:.1}",
                pool.name
            ))
            .label("scale-down rate")
            .help("scale up aggressively and down conservatively: slow the `down` policies or speed up the `up` ones"),
        );
    }
}

fn zero_tolerance(pool: &Pool, s: &Scaling, out: &mut Vec<Diagnostic>) {
    for (v, dir) in [(&s.tolerance_up, "up"), (&s.tolerance_down, "down")] {
        if v.value == 0.0 && pool.replicas.max <= 10 {
            out.push(
                Diagnostic::new(code::ZERO_TOLERANCE, FileId(0), at(v, s.span), format!(
                    "a 0% tolerance {dir} on pool `{}` of at most {} replicas: every fluctuation moves it",
                    pool.name, pool.replicas.max
                ))
                .label("zero tolerance")
                .help("use a tolerance of 5-10% (Kubernetes uses 10%)"),
            );
            return;
        }
    }
}

fn targets(p: &Policy, pool: &Pool, s: &Scaling, out: &mut Vec<Diagnostic>) {
    for t in &s.targets {
        if let Some(a) = t.activation {
            if a >= t.target {
                out.push(
                    Diagnostic::new(code::ACTIVATION_ABOVE_TARGET, FileId(0), t.span, format!(
                        "the activation threshold {a} of `{}` is not below its target {}",
                        t.metric, t.target
                    ))
                    .label("activates too late")
                    .help("activation is the level at which a pool at zero wakes: set it well below the target"),
                );
            }
        }
        let rate = p.metric(&t.metric).is_some_and(|m| {
            matches!(
                m.unit,
                MetricUnit::RequestsPerSecond | MetricUnit::TokensPerSecond
            )
        });
        if t.mode == TargetMode::Total && rate {
            out.push(
                Diagnostic::new(code::TOTAL_RATE_TARGET, FileId(0), t.span, format!(
                    "`{}` is a total rate: it does not fall as `{}` adds replicas, so a total target keeps scaling up",
                    t.metric, pool.name
                ))
                .label("total target on a rate")
                .help(format!("write `on {} per replica target ...`", t.metric)),
            );
        }
    }
}
