//! `scalepol run`: the engine in a live loop. Each tick reads the pool's
//! metrics from Prometheus (HTTP API), decides with the same `decide()` as
//! everything else, and prints the decision or hands it to an actuator
//! command. Missing, NaN or unreachable metrics are failed metrics: the
//! engine falls back or holds, and never scales to zero on them.

use crate::duration::positive_seconds;
use crate::prometheus::Client;
use scalepol_runtime::{Engine, Observation, State};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(clap::Args)]
pub struct Args {
    /// The policy file, or an engine artifact (`*.json`, from
    /// `scalepol compile --target engine`).
    pub policy: PathBuf,
    /// The Prometheus server to query (default: each metric's own URL).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// A file holding a bearer token for Prometheus (a mounted secret);
    /// else `SCALEPOL_PROMETHEUS_TOKEN`, if set.
    #[arg(long, value_name = "FILE")]
    pub prometheus_token_file: Option<PathBuf>,
    /// PEM certificates of a private CA that signed an https Prometheus's
    /// certificate (the public roots are trusted anyway).
    #[arg(long, value_name = "FILE")]
    pub prometheus_ca: Option<PathBuf>,
    /// Time between decisions.
    #[arg(long, default_value = "15s", value_name = "DURATION")]
    pub interval: String,
    /// The pool to decide for (default: the first that scales).
    #[arg(long)]
    pub pool: Option<String>,
    /// `print` (JSON Lines on stdout) or `exec` (run the command after `--`
    /// with the pool and the count as two more arguments, the decision as
    /// JSON on its stdin; never through a shell).
    #[arg(long, default_value = "print", value_parser = ["print", "exec"])]
    pub actuator: String,
    /// PromQL for the current replica count (default: the last decision,
    /// assumed applied).
    #[arg(long, value_name = "PROMQL")]
    pub replicas_query: Option<String>,
    /// Replicas before the first decision (default: the pool's minimum).
    #[arg(long)]
    pub initial: Option<u32>,
    /// Give up on a query after this long.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub timeout: String,
    /// Stop after this many decisions (default: run until SIGTERM or SIGINT).
    #[arg(long)]
    pub ticks: Option<u64>,
    /// The actuator command and its arguments, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// One client per Prometheus URL, made on first use.
struct Clients {
    by_url: BTreeMap<String, Result<Client, String>>,
    timeout: Duration,
    access: crate::prometheus::Access,
}

/// One query's single value, through the URL's client.
fn read(clients: &mut Clients, url: &str, promql: &str, now: f64) -> Result<f64, String> {
    let timeout = clients.timeout;
    let access = &clients.access;
    clients
        .by_url
        .entry(url.to_string())
        .or_insert_with(|| Client::new(url, timeout, access))
        .as_ref()
        .map_err(String::clone)
        .and_then(|c| c.value(promql, now))
}

fn log(msg: &str) {
    eprintln!("{} {msg}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
}

/// The engine from a policy, or from an engine artifact (`.json`).
fn load(a: &Args) -> Result<(Engine, usize), (u8, String)> {
    let name = a.policy.to_string_lossy().into_owned();
    let engine =
        crate::files::engine_of(&a.policy).map_err(|code| (code, format!("{name} cannot run")))?;
    let pool = match &a.pool {
        Some(n) => engine
            .pool_index(n)
            .ok_or_else(|| (2, format!("{name} has no pool `{n}`")))?,
        None => engine.artifact().default_pool(),
    };
    Ok((engine, pool))
}

pub fn run(a: &Args) -> u8 {
    match run_loop(a) {
        Ok(()) => 0,
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            code
        }
    }
}

fn run_loop(a: &Args) -> Result<(), (u8, String)> {
    let interval = positive_seconds(&a.interval, "--interval").map_err(|e| (2, e))?;
    let timeout = positive_seconds(&a.timeout, "--timeout").map_err(|e| (2, e))?;
    if a.actuator == "exec" && a.command.is_empty() {
        return Err((2, "--actuator exec needs the command after `--`".into()));
    }
    let (engine, pool) = load(a)?;
    let artifact = engine.artifact();
    let Some(spec) = artifact.pools.get(pool) else {
        return Err((1, "the engine artifact has no pool to run".into()));
    };
    // The metrics this pool's targets and the rules read.
    let wanted = artifact.metrics_read_by(pool);
    for m in &wanted {
        if m.source.as_deref() != Some("prometheus") {
            log(&format!(
                "metric `{}` comes from {}, which the live loop does not read: it counts as failed",
                m.name,
                m.source.as_deref().unwrap_or("an unknown source")
            ));
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| (2, format!("signal handler: {e}")))?;
    }
    let access = crate::prometheus::Access::from_files(
        a.prometheus_token_file.as_deref(),
        a.prometheus_ca.as_deref(),
    )
    .map_err(|e| (2, e))?;
    if let Some(url) = &a.prometheus {
        Client::new(url, Duration::from_secs_f64(timeout), &access).map_err(|e| (2, e))?;
    }
    let mut clients = Clients {
        by_url: BTreeMap::new(),
        timeout: Duration::from_secs_f64(timeout),
        access,
    };
    let server = |m: &scalepol_runtime::artifact::MetricSpec| {
        a.prometheus.clone().or_else(|| m.endpoint.clone())
    };
    let mut current = a.initial.unwrap_or(spec.min);
    let epoch = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let mut state = State::new_controller(current, epoch());
    log(&format!(
        "deciding for pool `{}` every {}s",
        spec.name, interval
    ));
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) && a.ticks.is_none_or(|n| tick < n) {
        let started = Instant::now();
        let now = epoch();
        let mut metrics = BTreeMap::new();
        for m in wanted
            .iter()
            .filter(|m| m.source.as_deref() == Some("prometheus"))
        {
            let (Some(url), Some(q)) = (server(m), m.query.as_deref()) else {
                log(&format!(
                    "metric `{}` has no Prometheus URL: pass --prometheus",
                    m.name
                ));
                continue;
            };
            match read(&mut clients, &url, q, now) {
                Ok(v) => {
                    metrics.insert(m.name.clone(), v);
                }
                Err(e) => log(&format!(
                    "metric `{}` is missing ({e}): it counts as failed",
                    m.name
                )),
            }
        }
        if let Some(q) = &a.replicas_query {
            let url = a
                .prometheus
                .clone()
                .or_else(|| wanted.iter().find_map(|m| m.endpoint.clone()));
            match url.map(|u| read(&mut clients, &u, q, now)) {
                Some(Ok(v)) if v >= 0.0 => current = v.round().min(f64::from(u32::MAX)) as u32,
                Some(Ok(v)) => log(&format!("the replica count read {v}: keeping {current}")),
                Some(Err(e)) => log(&format!(
                    "the replica count is missing ({e}): keeping {current}"
                )),
                None => log("no Prometheus URL for --replicas-query: pass --prometheus"),
            }
        }
        let obs = Observation {
            replicas: current,
            metrics,
            pods: Vec::new(),
            samples: Default::default(),
        };
        let d = match engine.decide(pool, &mut state, &obs, now) {
            Ok(d) => d,
            Err(e) => return Err((2, e.to_string())),
        };
        if act(a, &d) {
            current = d.desired;
        }
        tick += 1;
        // Sleep in short steps, so that a signal stops the loop at once.
        while !stop.load(Ordering::Relaxed)
            && a.ticks.is_none_or(|n| tick < n)
            && started.elapsed().as_secs_f64() < interval
        {
            std::thread::sleep(Duration::from_millis(50).min(Duration::from_secs_f64(interval)));
        }
    }
    if stop.load(Ordering::Relaxed) {
        log("stopping on a signal");
    }
    Ok(())
}

/// Hands the decision on; whether it was applied.
fn act(a: &Args, d: &scalepol_runtime::Decision) -> bool {
    let json = serde_json::to_string(d).expect("a decision serialises");
    if a.actuator == "print" {
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{json}").and_then(|_| out.flush()).is_ok();
    }
    let (program, args) = a.command.split_first().expect("checked at start");
    let child = Command::new(program)
        .args(args)
        .arg(&d.pool)
        .arg(d.desired.to_string())
        .stdin(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            log(&format!("the actuator `{program}` did not start: {e}"));
            return false;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{json}");
    }
    match child.wait() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            log(&format!(
                "the actuator `{program}` failed ({s}): the count is unchanged"
            ));
            false
        }
        Err(e) => {
            log(&format!("the actuator `{program}`: {e}"));
            false
        }
    }
}
