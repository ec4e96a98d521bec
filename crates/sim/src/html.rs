//! `--report FILE.html`: one self-contained page (inline SVG and CSS, no
//! script, nothing fetched) with the summary as a table and charts of
//! demand, replicas and latency over time, drawn from the runs' timelines.

use crate::report::{Report, Run};

const COLORS: [&str; 4] = ["#1f6feb", "#d97706", "#6b7280", "#16a34a"];
/// The most points a line gets: longer timelines keep each bucket's highest.
const MAX_POINTS: usize = 1200;
const W: f64 = 760.0;
const H: f64 = 232.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 20.0;
const PAD_T: f64 = 40.0;
const PAD_B: f64 = 34.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How the vertical axis maps values.
#[derive(Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    /// Logarithmic, for latencies that span milliseconds to minutes.
    Log,
}

struct Chart<'a> {
    title: String,
    unit: &'static str,
    series: Vec<(&'a str, Vec<f64>)>,
    /// A horizontal line (the objective), with its label.
    line: Option<(f64, String)>,
    scale: Scale,
}

/// At most [`MAX_POINTS`] values: the highest of each bucket, so that a
/// spike stays visible.
fn downsample(v: &[f64]) -> Vec<f64> {
    if v.len() <= MAX_POINTS {
        return v.to_vec();
    }
    let per = v.len().div_ceil(MAX_POINTS);
    v.chunks(per)
        .map(|c| {
            c.iter()
                .copied()
                .filter(|x| x.is_finite())
                .fold(f64::NAN, f64::max)
        })
        .collect()
}

/// A round label: 1200 as `1200`, 0.25 as `0.25`.
fn label(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Ticks of a linear axis from 0 to at least `top`: 1, 2 or 5 times a power of ten.
fn linear_ticks(top: f64) -> Vec<f64> {
    let raw = top.max(1e-9) / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (0..=5)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= top * 1.0001 + step)
        .collect()
}

/// The x-axis ticks over `minutes`: in minutes up to three hours, else hours or days.
fn time_ticks(minutes: usize) -> (Vec<(usize, String)>, &'static str) {
    let (step, unit, div) = match minutes {
        0..=180 => (if minutes <= 60 { 10 } else { 30 }, "min", 1),
        181..=2880 => (if minutes <= 720 { 60 } else { 240 }, "h", 60),
        _ => (1440 * (minutes / 1440 / 8).max(1), "days", 1440),
    };
    let ticks = (0..=minutes)
        .step_by(step)
        .map(|m| (m, format!("{}", m / div)))
        .collect();
    (ticks, unit)
}

fn chart_svg(c: &Chart, minutes: usize, y0: f64) -> String {
    let values = || {
        c.series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .chain(c.line.as_ref().map(|l| l.0))
            .filter(|v| v.is_finite())
    };
    let (lo, hi) = match c.scale {
        Scale::Linear => (0.0, values().fold(0.0f64, f64::max).max(1e-9) * 1.1),
        Scale::Log => {
            let pos = || values().filter(|v| *v > 0.0);
            let lo = 10f64.powf(
                pos()
                    .fold(f64::INFINITY, f64::min)
                    .max(1e-3)
                    .log10()
                    .floor(),
            );
            let hi = 10f64.powf(
                pos()
                    .fold(1.0f64, f64::max)
                    .log10()
                    .ceil()
                    .max(lo.log10() + 1.0),
            );
            (lo, hi)
        }
    };
    let plot_w = W - PAD_L - PAD_R;
    let plot_h = H - PAD_T - PAD_B;
    let frac = |v: f64| match c.scale {
        Scale::Linear => (v - lo) / (hi - lo),
        Scale::Log => (v.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10()),
    };
    let y = |v: f64| PAD_T + plot_h * (1.0 - frac(v).clamp(0.0, 1.0));
    let x = |i: usize, n: usize| PAD_L + plot_w * i as f64 / (n.max(2) - 1) as f64;
    let bottom = H - PAD_B;
    let mut svg = format!(
        "<svg y=\"{y0}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" font-family=\"sans-serif\"><title>{t}</title>\
         <text x=\"{PAD_L}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{t}</text>\
         <line x1=\"{PAD_L}\" y1=\"{bottom}\" x2=\"{r}\" y2=\"{bottom}\" stroke=\"#999\"/>\
         <line x1=\"{PAD_L}\" y1=\"{PAD_T}\" x2=\"{PAD_L}\" y2=\"{bottom}\" stroke=\"#999\"/>\
         <text x=\"12\" y=\"{my}\" font-size=\"11\" transform=\"rotate(-90 12 {my})\" text-anchor=\"middle\">{u}</text>",
        t = esc(&c.title),
        r = W - PAD_R,
        my = PAD_T + plot_h / 2.0,
        u = esc(c.unit),
    );
    let yticks: Vec<f64> = match c.scale {
        Scale::Linear => linear_ticks(hi / 1.1)
            .into_iter()
            .filter(|t| *t <= hi)
            .collect(),
        Scale::Log => {
            let (a, b) = (lo.log10().round() as i32, hi.log10().round() as i32);
            (a..=b).map(|e| 10f64.powi(e)).collect()
        }
    };
    for t in yticks {
        let yy = y(t);
        svg.push_str(&format!(
            "<line x1=\"{PAD_L}\" y1=\"{yy:.1}\" x2=\"{r}\" y2=\"{yy:.1}\" stroke=\"#eee\"/>\
             <text x=\"{lx}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"end\">{l}</text>",
            r = W - PAD_R,
            lx = PAD_L - 4.0,
            ty = yy + 3.0,
            l = label(t)
        ));
    }
    let (xticks, xunit) = time_ticks(minutes);
    for (m, l) in xticks {
        let xx = x(m, minutes + 1);
        svg.push_str(&format!(
            "<line x1=\"{xx:.1}\" y1=\"{bottom}\" x2=\"{xx:.1}\" y2=\"{tb}\" stroke=\"#999\"/>\
             <text x=\"{xx:.1}\" y=\"{ly}\" font-size=\"10\" text-anchor=\"middle\">{l}</text>",
            tb = bottom + 4.0,
            ly = bottom + 15.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{cx}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"middle\">time ({xunit})</text>",
        cx = PAD_L + plot_w / 2.0,
        ly = H - 4.0
    ));
    if let Some((v, text)) = &c.line {
        let yy = y(*v);
        svg.push_str(&format!(
            "<line x1=\"{PAD_L}\" y1=\"{yy:.1}\" x2=\"{r}\" y2=\"{yy:.1}\" stroke=\"#dc2626\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{r}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"#dc2626\" text-anchor=\"end\">{t}</text>",
            r = W - PAD_R,
            ty = yy - 3.0,
            t = esc(text)
        ));
    }
    for (k, (name, values)) in c.series.iter().enumerate() {
        let v = downsample(values);
        let n = v.len();
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| format!("{:.1},{:.1}", x(i, n), y(*v)))
            .collect();
        let color = COLORS[k % COLORS.len()];
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{lx}\" y=\"{ly}\" font-size=\"11\" fill=\"{color}\">{}</text>",
            pts.join(" "),
            esc(name),
            lx = PAD_L + 130.0 * k as f64,
            ly = 31.0,
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn charts(r: &Report) -> Vec<Chart<'_>> {
    let runs: &[Run] = &r.runs;
    let demand: Vec<f64> = runs[0].timeline.iter().map(|m| m.demand_rps).collect();
    let replicas = runs
        .iter()
        .map(|run| {
            let v = run
                .timeline
                .iter()
                .map(|m| f64::from(m.ready + m.warming + m.draining))
                .collect();
            (run.name.as_str(), v)
        })
        .collect();
    let latency = runs
        .iter()
        .map(|run| {
            let v = run
                .timeline
                .iter()
                .map(|m| m.latency_ms.unwrap_or(f64::NAN))
                .collect();
            (run.name.as_str(), v)
        })
        .collect();
    let q = r.objective.as_ref().map_or(95.0, |o| o.percentile * 100.0);
    vec![
        Chart {
            title: "Demand per minute".into(),
            unit: "req/s",
            series: vec![("arrivals", demand)],
            line: None,
            scale: Scale::Linear,
        },
        Chart {
            title: "Replicas (warming, serving and draining) at each minute's end".into(),
            unit: "replicas",
            series: replicas,
            line: None,
            scale: Scale::Linear,
        },
        Chart {
            title: format!("Latency p{q:.0} of requests completed each minute"),
            unit: "ms (log)",
            series: latency,
            line: r.objective.as_ref().map(|o| {
                (
                    o.threshold_ms,
                    format!("objective {} ms", label(o.threshold_ms)),
                )
            }),
            scale: Scale::Log,
        },
    ]
}

fn minutes(r: &Report) -> usize {
    r.runs.first().map_or(1, |x| x.timeline.len().max(1))
}

/// One standalone SVG drawing with the three charts, for documents that
/// take images (a README).
pub fn svg(r: &Report) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" font-family=\"sans-serif\">\
         <rect width=\"{W}\" height=\"{h}\" fill=\"white\"/>",
        h = 3.0 * H
    );
    for (i, c) in charts(r).iter().enumerate() {
        out.push_str(&chart_svg(c, minutes(r), H * i as f64));
    }
    out.push_str("</svg>\n");
    out
}

/// The summary as an HTML table: one column per run.
fn table(r: &Report) -> String {
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.2}%", v * 100.0));
    type Row = (&'static str, fn(&Run) -> String);
    let rows: [Row; 9] = [
        ("requests served", |x| x.served.to_string()),
        ("timed out / cut off / unserved", |x| {
            format!("{} / {} / {}", x.timed_out, x.cut_off, x.unserved)
        }),
        ("latency p50 / p95 / p99 (ms)", |x| {
            format!(
                "{} / {} / {}",
                x.latency_ms.p50, x.latency_ms.p95, x.latency_ms.p99
            )
        }),
        ("SLO: requests within", |x| {
            x.slo_requests
                .map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
        }),
        ("SLO: minutes meeting it", |x| {
            x.slo_windows
                .map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
        }),
        ("replica-hours", |x| format!("{:.2}", x.replica_hours)),
        ("mean / max replicas", |x| {
            format!("{:.2} / {}", x.mean_replicas, x.max_replicas)
        }),
        ("cost", |x| format!("${:.2}", x.cost_usd)),
        ("scale events", |x| x.scale_events.to_string()),
    ];
    let mut out = String::from("<table><thead><tr><th></th>");
    for run in &r.runs {
        out.push_str(&format!("<th>{}</th>", esc(&run.name)));
    }
    if r.oracle.is_some() {
        out.push_str("<th>perfect foresight</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (name, cell) in rows {
        out.push_str(&format!("<tr><th>{}</th>", esc(name)));
        for run in &r.runs {
            out.push_str(&format!("<td>{}</td>", esc(&cell(run))));
        }
        if let Some(o) = &r.oracle {
            let v = match name {
                "replica-hours" => format!("{:.2}", o.replica_hours),
                "cost" => format!("${:.2}", o.cost_usd),
                "mean / max replicas" => format!("- / {}", o.max_replicas),
                _ => "-".into(),
            };
            out.push_str(&format!("<td>{v}</td>"));
        }
        out.push_str("</tr>");
    }
    out.push_str(&format!(
        "<tr><th>captured share of the possible saving</th><td>{}</td></tr>",
        pct(r.runs[0].captured_share)
    ));
    out.push_str("</tbody></table>");
    out
}

pub fn render(r: &Report) -> String {
    let body: String = charts(r)
        .iter()
        .map(|c| {
            format!(
                "<h2>{}</h2>{}",
                esc(&c.title),
                chart_svg(c, minutes(r), 0.0)
            )
        })
        .collect();
    let notes: String = r
        .notes
        .iter()
        .map(|n| format!("<p class=\"note\">{}</p>", esc(n)))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>scalepol simulation: {policy}</title>\
         <style>body{{font:14px system-ui,sans-serif;max-width:820px;margin:2em auto;color:#111}}\
         table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #ddd;padding:4px 8px;text-align:right}}\
         thead th,tbody th{{text-align:left;background:#f6f8fa}}.note{{color:#92400e}}\
         details pre{{background:#f6f8fa;padding:1em;overflow:auto}}svg{{width:100%;height:auto}}</style>\
         </head><body><h1>{policy}: pool <code>{pool}</code> on {trace}</h1>\
         {table}{notes}<details><summary>The whole report as text</summary><pre>{text}</pre></details>{body}</body></html>\n",
        policy = esc(&r.policy),
        pool = esc(&r.pool),
        trace = esc(&r.trace.name),
        table = table(r),
        text = esc(&r.table()),
    )
}
