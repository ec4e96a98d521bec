//! `target KIND { options }`: per-target settings of the compiled documents.

use super::shared::positive;
use super::{Ctx, Seen};
use crate::args::{self};
use crate::codes::code;
use crate::diagnostics::{Diagnostic, FileId};
use crate::model::*;
use crate::suggest;
use crate::units::Duration;
use scalepol_syntax::Node;

/// What a target option's value is, and the range its platform accepts.
#[derive(Clone, Copy)]
enum Kind {
    /// One of these words.
    Choice(&'static [&'static str]),
    /// `true` or `false`.
    Flag,
    /// A duration, in whole milliseconds, within `min..=max`.
    Duration { min_ms: u64, max_ms: u64 },
    /// A percentage within `min..=max`.
    Percent { min: f64, max: f64 },
    /// A whole count, at least `min`.
    Count { min: u32 },
    /// A plain number strictly above `above`.
    Number { above: f64 },
    /// A quoted string.
    Text,
}

const FLAG: Kind = Kind::Flag;
const HOUR_MS: u64 = 3_600_000;

/// Each target's options. Ranges are the platforms' own validation:
/// Knative serving pkg/apis/autoscaling/annotation_validation.go and
/// config-autoscaler; KEDA apis/keda/v1alpha1.
const TARGET_OPTIONS: &[(TargetKind, &[(&str, Kind)])] = &[
    (TargetKind::Hpa, &[("kubernetes", Kind::Text)]),
    (
        TargetKind::Keda,
        &[
            (
                "polling",
                Kind::Duration {
                    min_ms: 1000,
                    max_ms: u64::MAX,
                },
            ),
            ("auth", Kind::Text),
            ("paused", FLAG),
            ("paused_replicas", Kind::Count { min: 0 }),
            ("paused_scale_in", FLAG),
            ("paused_scale_out", FLAG),
            ("force_activation", FLAG),
            // External-scaler mode: `scalepol scaler` at this HOST:PORT decides.
            ("scaler", Kind::Text),
            ("scaler_shards", Kind::Count { min: 1 }),
            // Where KEDA runs: only it may call the scaler (NetworkPolicy).
            ("keda_namespace", Kind::Text),
            // Mutual TLS: a Secret with KEDA's client certificate (`tls.crt`,
            // `tls.key`) and the CA (`ca.crt`), as cert-manager writes it.
            ("scaler_tls", Kind::Text),
        ],
    ),
    (
        TargetKind::Kserve,
        &[
            ("mode", Kind::Choice(&["serverless", "standard"])),
            ("autoscaler", Kind::Choice(&["hpa", "keda"])),
            (
                "target_utilization",
                Kind::Percent {
                    min: 1.0,
                    max: 100.0,
                },
            ),
            (
                "window",
                Kind::Duration {
                    min_ms: 6000,
                    max_ms: HOUR_MS,
                },
            ),
            (
                "panic_window",
                Kind::Percent {
                    min: 1.0,
                    max: 100.0,
                },
            ),
            (
                "panic_threshold",
                Kind::Percent {
                    min: 110.0,
                    max: 1000.0,
                },
            ),
            (
                "scale_down_delay",
                Kind::Duration {
                    min_ms: 0,
                    max_ms: HOUR_MS,
                },
            ),
            ("initial_scale", Kind::Count { min: 0 }),
            ("activation_scale", Kind::Count { min: 1 }),
            ("max_scale_up_rate", Kind::Number { above: 1.0 }),
            ("max_scale_down_rate", Kind::Number { above: 1.0 }),
            (
                "scale_to_zero_grace",
                Kind::Duration {
                    min_ms: 6000,
                    max_ms: HOUR_MS,
                },
            ),
        ],
    ),
    (
        TargetKind::Vpa,
        &[(
            "mode",
            Kind::Choice(&["off", "initial", "recreate", "auto"]),
        )],
    ),
    (
        TargetKind::Aws,
        &[
            ("resource", Kind::Text),
            ("role", Kind::Text),
            ("region", Kind::Text),
        ],
    ),
    (TargetKind::Engine, &[]),
];

/// The options of a target, by name.
pub fn target_option_names(kind: TargetKind) -> Vec<&'static str> {
    options_of(kind).iter().map(|(k, _)| *k).collect()
}

fn options_of(kind: TargetKind) -> &'static [(&'static str, Kind)] {
    TARGET_OPTIONS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, o)| *o)
        .unwrap_or(&[])
}

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
    let allowed = target_option_names(kind);
    let allowed = allowed.as_slice();
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

/// Reads one target option's value and checks it against the range its
/// platform accepts; the value in its canonical spelling.
fn target_value(ctx: &mut Ctx, file: FileId, o: &Node, kind: TargetKind) -> Option<String> {
    let option = options_of(kind)
        .iter()
        .find(|(k, _)| *k == o.keyword.as_str())
        .map(|(_, v)| *v)?;
    let mut a = ctx.args(o, file, "OPTION VALUE");
    let key = o.keyword.as_str();
    let value = match option {
        Kind::Text => a.string(&mut ctx.sink, "a value in quotes")?.0.to_string(),
        Kind::Choice(choices) => choice(ctx, file, &mut a, key, choices)?,
        Kind::Flag => choice(ctx, file, &mut a, key, &["true", "false"])?,
        Kind::Duration { min_ms, max_ms } => {
            let q = a.quantity(&mut ctx.sink, "a duration")?;
            let d = args::to_duration(&mut ctx.sink, file, &q, key)?;
            if min_ms > 0 && d.0 == 0 && !positive(ctx, file, &q, d, key) {
                return None;
            }
            if d.0 < min_ms || d.0 > max_ms {
                let (lo, hi) = (Duration(min_ms), Duration(max_ms));
                let range = if max_ms == u64::MAX {
                    format!("at least {lo}")
                } else {
                    format!("{lo} to {hi}")
                };
                out_of_range(ctx, file, &q, key, &range);
                return None;
            }
            d.to_string()
        }
        Kind::Percent { min, max } => {
            let q = a.quantity(&mut ctx.sink, "a percentage")?;
            args::to_percent(&mut ctx.sink, file, &q, key, f64::MAX)?;
            let pct = q.value;
            if pct < min || pct > max {
                out_of_range(ctx, file, &q, key, &format!("{min}% to {max}%"));
                return None;
            }
            format!("{pct}")
        }
        Kind::Count { min } => {
            let q = a.quantity(&mut ctx.sink, "a count")?;
            let n = args::to_replicas(&mut ctx.sink, file, &q, key)?;
            if n < min {
                out_of_range(
                    ctx,
                    file,
                    &q,
                    key,
                    &format!("a whole number, at least {min}"),
                );
                return None;
            }
            n.to_string()
        }
        Kind::Number { above } => {
            let q = a.quantity(&mut ctx.sink, "a number")?;
            if q.unit.is_some() || !q.value.is_finite() {
                ctx.push(
                    Diagnostic::new(
                        code::BAD_ARGUMENTS,
                        file,
                        q.span,
                        format!("`{key}` takes a plain number, not `{}`", q.text),
                    )
                    .label("expected a number"),
                );
                return None;
            }
            if q.value <= above {
                out_of_range(ctx, file, &q, key, &format!("a number above {above}"));
                return None;
            }
            format!("{}", q.value)
        }
    };
    a.end(&mut ctx.sink);
    Some(value)
}

/// A word among `choices`, with a fix for a near miss.
fn choice(
    ctx: &mut Ctx,
    file: FileId,
    a: &mut args::Args<'_>,
    key: &str,
    choices: &[&str],
) -> Option<String> {
    let (w, span) = a.word(&mut ctx.sink, &format!("one of {}", choices.join(", ")))?;
    if !choices.contains(&w) {
        let mut d = Diagnostic::new(
            code::BAD_ARGUMENTS,
            file,
            span,
            format!("`{w}` is not a value of `{key}`"),
        )
        .label(format!("expected one of {}", choices.join(", ")))
        .help(format!("write one of: {}", choices.join(", ")));
        if let Some(s) = suggest::closest(w, choices) {
            d = d.fix(format!("replace with `{s}`"), span, s);
        }
        ctx.push(d);
        return None;
    }
    Some(w.to_string())
}

fn out_of_range(ctx: &mut Ctx, file: FileId, q: &args::Quantity, key: &str, range: &str) {
    let (span, text) = (
        q.span,
        format!("{}{}", q.text, q.unit.as_deref().unwrap_or("")),
    );
    ctx.push(
        Diagnostic::new(
            code::OPTION_RANGE,
            file,
            span,
            format!("`{key}` is {text}: the platform accepts {range}"),
        )
        .label("out of range")
        .help(format!(
            "write a value the platform accepts for `{key}`: {range}"
        )),
    );
}
