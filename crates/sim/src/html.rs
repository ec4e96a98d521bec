//! `--report FILE.html`: one self-contained page (inline SVG and CSS, no
//! script, nothing fetched) with the summary and charts of demand, replicas
//! and latency over time.

use crate::report::{Report, Run};

const COLORS: [&str; 4] = ["#1f6feb", "#d97706", "#6b7280", "#16a34a"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart of several series over minutes, with its heading.
fn chart(title: &str, unit: &str, series: &[(&str, Vec<f64>)], line: Option<f64>) -> String {
    format!(
        "<h2>{}</h2>{}",
        esc(title),
        chart_svg(title, unit, series, line, 0.0)
    )
}

/// The chart alone: an `<svg>` placed `y` down in an enclosing drawing.
fn chart_svg(
    title: &str,
    unit: &str,
    series: &[(&str, Vec<f64>)],
    line: Option<f64>,
    y0: f64,
) -> String {
    let (w, h, pad) = (760.0, 220.0, 40.0);
    let n = series.iter().map(|s| s.1.len()).max().unwrap_or(0).max(2);
    let top = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .chain(line)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64;
    let y = |v: f64| h - pad + -(h - 2.0 * pad) * (v.min(top) / top);
    let mut svg = format!(
        "<svg y=\"{y0}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <text x=\"{r}\" y=\"14\" font-size=\"13\" text-anchor=\"end\" font-weight=\"bold\">{t}</text>\
         <line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"#999\"/>\
         <text x=\"{pad}\" y=\"{ty}\" font-size=\"11\">{top:.1} {u}</text>\
         <text x=\"{r}\" y=\"{lb}\" font-size=\"11\" text-anchor=\"end\">{n} min</text>",
        t = esc(title),
        b = h - pad,
        r = w - pad,
        ty = pad - 6.0,
        lb = h - pad + 16.0,
        u = esc(unit),
    );
    if let Some(l) = line {
        svg.push_str(&format!(
            "<line x1=\"{pad}\" y1=\"{yy:.1}\" x2=\"{r}\" y2=\"{yy:.1}\" stroke=\"#dc2626\" stroke-dasharray=\"4 3\"/>",
            yy = y(l),
            r = w - pad
        ));
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let pts: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let c = COLORS[k % COLORS.len()];
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{lx}\" y=\"{ly}\" font-size=\"11\" fill=\"{c}\">{}</text>",
            pts.join(" "),
            esc(name),
            lx = pad + 8.0 + 150.0 * k as f64,
            ly = pad + 12.0,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The three series of a report, as (title, unit, series, objective line).
type Charts<'a> = [(String, &'static str, Vec<(&'a str, Vec<f64>)>, Option<f64>); 3];

fn charts(r: &Report) -> Charts<'_> {
    let runs: &[Run] = &r.runs;
    let demand: Vec<f64> = runs[0].timeline.iter().map(|p| p.1).collect();
    let replicas = runs
        .iter()
        .map(|run| {
            (
                run.name.as_str(),
                run.timeline.iter().map(|p| f64::from(p.2)).collect(),
            )
        })
        .collect();
    let latency = runs
        .iter()
        .map(|run| {
            (
                run.name.as_str(),
                run.timeline.iter().map(|p| p.3).collect(),
            )
        })
        .collect();
    let q = r.objective.as_ref().map_or(95.0, |o| o.percentile * 100.0);
    [
        (
            "Demand".to_string(),
            "req/s",
            vec![("arrivals", demand)],
            None,
        ),
        ("Replicas".to_string(), "replicas", replicas, None),
        (
            format!("Latency p{q:.0} per minute"),
            "ms",
            latency,
            r.objective.as_ref().map(|o| o.threshold_ms),
        ),
    ]
}

/// One standalone SVG drawing with the three charts, for documents that
/// take images (a README).
pub fn svg(r: &Report) -> String {
    let mut out = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"660\" viewBox=\"0 0 760 660\" font-family=\"sans-serif\">\
         <rect width=\"760\" height=\"660\" fill=\"white\"/>",
    );
    for (i, (title, unit, series, line)) in charts(r).iter().enumerate() {
        out.push_str(&chart_svg(title, unit, series, *line, 220.0 * i as f64));
    }
    out.push_str("</svg>\n");
    out
}

pub fn render(r: &Report) -> String {
    let body: String = charts(r)
        .iter()
        .map(|(title, unit, series, line)| chart(title, unit, series, *line))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>scalepol simulation: {policy}</title>\
         <style>body{{font:14px system-ui,sans-serif;max-width:820px;margin:2em auto;color:#111}}\
         pre{{background:#f6f8fa;padding:1em;overflow:auto}}svg{{width:100%;height:auto}}</style>\
         </head><body><h1>{policy}: pool <code>{pool}</code> on {trace}</h1>\
         <pre>{table}</pre>{body}</body></html>\n",
        policy = esc(&r.policy),
        pool = esc(&r.pool),
        trace = esc(&r.trace.name),
        table = esc(&r.table()),
    )
}
