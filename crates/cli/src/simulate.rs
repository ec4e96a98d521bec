//! `scalepol simulate`: a policy on a traffic trace, against baselines.

use crate::duration::seconds;
use crate::fmt::write_atomically;
use scalepol_sim::signals::Signal;
use scalepol_sim::trace::{self, Layout, ReadOptions, TimeUnit};
use scalepol_sim::{Load, Options};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The policy file.
    pub policy: PathBuf,
    #[command(flatten)]
    pub replay: Replay,
    /// Print the report as JSON (with a per-minute timeline of each run).
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report with charts (or, for a
    /// `.svg` file, the charts alone).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Skip the baselines.
    #[arg(long)]
    pub no_baselines: bool,
}

/// How a trace is read and replayed: shared by simulate, tune and diff.
#[derive(clap::Args)]
pub struct Replay {
    /// The trace: request-level CSV (timestamp_s,input_tokens,output_tokens)
    /// or a series (time and a request count per interval).
    #[arg(long)]
    pub trace: PathBuf,
    /// The pool to simulate (default: the first that scales).
    #[arg(long)]
    pub pool: Option<String>,
    /// requests or series (default: a `count` column means series).
    #[arg(long, value_parser = ["requests", "series"])]
    pub layout: Option<String>,
    /// Other column names: `time=ts,count=n,input=in,output=out`; a time
    /// or service column may name its unit (`time=minute:m`,
    /// `service=exec_ms:ms`); `service=COL` reads each request's service time.
    #[arg(long, value_name = "ROLE=COLUMN,...")]
    pub columns: Option<String>,
    /// The time column's unit: ms, s, m, h or d (default s).
    #[arg(long, value_name = "UNIT")]
    pub time_unit: Option<String>,
    /// A series' interval (default: inferred from its first two rows).
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Replay N times faster.
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// Replay at N times the load, or `peak` to meet the policy's declared peak.
    #[arg(long, default_value = "1")]
    pub scale: String,
    /// Wall-clock time of the trace's start (RFC 3339), for schedules and
    /// rules (default: Monday 2026-01-05 12:00 UTC).
    #[arg(long)]
    pub start: Option<String>,
    /// Service time of a request when the pool declares no rate.
    #[arg(long, value_name = "DURATION")]
    pub service_time: Option<String>,
    /// How much faster a replica reads input tokens than it writes output tokens.
    #[arg(long, default_value_t = 10.0)]
    pub prefill_speedup: f64,
    /// Slots per replica when the pool declares no concurrency.
    #[arg(long)]
    pub slots: Option<u32>,
    /// How late metrics reach the controller.
    #[arg(long, default_value = "15s", value_name = "DURATION")]
    pub scrape_delay: String,
    /// Replicas the policy starts with (default: see --warm and --cold).
    #[arg(long)]
    pub initial: Option<u32>,
    /// Start every run at the count the first minutes need, ready (the default).
    #[arg(long, conflicts_with = "cold")]
    pub warm: bool,
    /// Start the policy and the HPA baseline at the pool's minimum, as
    /// controllers just deployed.
    #[arg(long)]
    pub cold: bool,
    /// Leave the first DURATION out of every statistic (a warm-up period).
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub settle: String,
    /// What a metric reads: NAME=SIGNAL (arrivals, tokens, running, queued,
    /// load, utilization, latency_p95, wait). Repeatable.
    #[arg(long = "metric", value_name = "NAME=SIGNAL")]
    pub metrics: Vec<String>,
}

fn options(a: &Replay) -> Result<(ReadOptions, Options), String> {
    let mut read = ReadOptions {
        layout: a.layout.as_deref().map(|l| {
            if l == "series" {
                Layout::Series
            } else {
                Layout::Requests
            }
        }),
        ..ReadOptions::default()
    };
    if let Some(u) = &a.time_unit {
        read.columns.time_unit = TimeUnit::parse(u)
            .ok_or_else(|| format!("--time-unit `{u}` is not one of ms, s, m, h, d"))?;
    }
    if let Some(c) = &a.columns {
        read.columns = read.columns.with_mapping(c).map_err(|e| e.to_string())?;
    }
    read.interval = a
        .interval
        .as_deref()
        .map(|i| seconds(i, "--interval"))
        .transpose()?;
    let mut o = Options {
        pool: a.pool.clone(),
        speedup: a.speedup,
        scrape_delay: seconds(&a.scrape_delay, "--scrape-delay")?,
        initial: a.initial,
        warm: !a.cold,
        settle: seconds(&a.settle, "--settle")?,
        trace_name: a
            .trace
            .file_name()
            .map_or("the trace".into(), |n| n.to_string_lossy().into_owned()),
        ..Options::default()
    };
    o.load = if a.scale == "peak" {
        Load::DeclaredPeak
    } else {
        Load::Factor(
            a.scale
                .parse()
                .map_err(|_| format!("--scale `{}` is not a number or `peak`", a.scale))?,
        )
    };
    o.model.prefill_speedup = a.prefill_speedup;
    o.model.slots = a.slots;
    o.model.service_time = a
        .service_time
        .as_deref()
        .map(|s| seconds(s, "--service-time"))
        .transpose()?;
    if let Some(s) = &a.start {
        o.start_epoch = chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                format!("--start `{s}`: {e} (expected RFC 3339, like 2026-01-05T12:00:00Z)")
            })?
            .timestamp() as f64;
    }
    for m in &a.metrics {
        let (name, signal) = m
            .split_once('=')
            .ok_or_else(|| format!("--metric `{m}` is not NAME=SIGNAL"))?;
        let s = Signal::parse(signal).ok_or_else(|| {
            let all: Vec<&str> = Signal::ALL.iter().map(|(n, _)| *n).collect();
            format!(
                "--metric `{m}`: unknown signal `{signal}` ({})",
                all.join(", ")
            )
        })?;
        o.signals.push((name.to_string(), s));
    }
    Ok((read, o))
}

/// The load factor when known before the run (a declared peak is not).
pub fn scale_hint(o: &Options) -> f64 {
    match o.load {
        Load::Factor(f) => f,
        Load::DeclaredPeak => 100.0,
    }
}

/// The trace and the simulation options, or the exit code after saying why.
pub fn prepare(a: &Replay) -> Result<(trace::Trace, Options), u8> {
    let (read, o) = options(a).map_err(|e| {
        eprintln!("error: {e}");
        2u8
    })?;
    let trace_name = a.trace.to_string_lossy();
    let trace = crate::files::read_limited(&a.trace, crate::files::MAX_TRACE_BYTES)
        .and_then(|f| trace::parse_reader(f, &read).map_err(|e| e.to_string()))
        .map_err(|e| {
            eprintln!("error: {trace_name}: {e}");
            2u8
        })?;
    Ok((trace, o))
}

/// A progress bar on long runs, on a terminal only.
pub fn bar(long: bool, what: &str) -> Option<indicatif::ProgressBar> {
    (long && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(1000);
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{percent}}% {{elapsed}}"
        )) {
            b.set_style(style);
        }
        b
    })
}

pub fn run(a: &Args) -> u8 {
    let (trace, mut o) = match prepare(&a.replay) {
        Ok(x) => x,
        Err(code) => return code,
    };
    o.baselines = !a.no_baselines;
    let policy = match crate::files::read_policy(&a.policy) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let long = trace.len() as f64 * scale_hint(&o) > 2_000_000.0;
    let bar = bar(long, "simulating");
    let mut progress = |f: f64| {
        if let Some(b) = &bar {
            b.set_position((f * 1000.0) as u64);
        }
    };
    let result = scalepol_sim::simulate_with_progress(&policy, &trace, &o, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if a.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("error: the report does not serialise: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", report.table());
    }
    if let Some(path) = &a.report {
        let svg = path.extension().is_some_and(|e| e == "svg");
        let page = if svg {
            scalepol_sim::html::svg(&report)
        } else {
            scalepol_sim::html::render(&report)
        };
        if let Err(e) = write_atomically(path, &page) {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
        eprintln!("wrote {}", path.display());
    }
    0
}
