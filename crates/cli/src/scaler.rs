//! `scalepol scaler`: the decision engine as a KEDA external scaler
//! (crates/scaler). This module turns the command line into the scaler's
//! configuration, gives it the Prometheus client `run` uses, and runs it
//! until SIGTERM or SIGINT.

use crate::duration::positive_seconds;
use crate::prometheus::{Access, Client};
use scalepol_runtime::artifact::MetricSpec;
use scalepol_scaler::{Config, MetricReader, Scaler, Shard, Tls};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// The directory of engine artifacts to serve (`*.json`, from `scalepol
    /// compile --target engine` or the scaler's ConfigMap); read again when
    /// it changes.
    #[arg(long, value_name = "DIR")]
    pub engines: PathBuf,
    /// The gRPC address KEDA calls (the trigger's `scalerAddress`).
    #[arg(long, default_value = "0.0.0.0:9090", value_name = "ADDRESS")]
    pub listen: SocketAddr,
    /// Health (`/healthz`, `/readyz`), `/metrics` and `/objects` over HTTP.
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDRESS")]
    pub http: SocketAddr,
    /// Keep each ScaledObject's controller memory here, across restarts
    /// (default: in memory only).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The number of scaler replicas sharing the ScaledObjects.
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// This replica's shard: a number, or `hostname` for a StatefulSet
    /// pod's ordinal (`scalepol-scaler-2` is shard 2).
    #[arg(long, value_name = "N|hostname")]
    pub shard: Option<String>,
    /// The Prometheus server to query (default: each metric's own URL).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// A file holding a bearer token for Prometheus; else
    /// `SCALEPOL_PROMETHEUS_TOKEN`, if set.
    #[arg(long, value_name = "FILE")]
    pub prometheus_token_file: Option<PathBuf>,
    /// PEM certificates of a private CA that signed Prometheus's certificate.
    #[arg(long, value_name = "FILE")]
    pub prometheus_ca: Option<PathBuf>,
    /// Give up on a query after this long.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub timeout: String,
    /// Return a ScaledObject's decision again, rather than deciding anew,
    /// when it is younger than this (KEDA asks IsActive and GetMetrics back
    /// to back).
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub reuse: String,
    /// Serve gRPC over TLS with this PEM certificate chain (and `--tls-key`).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require callers to present a certificate signed by this PEM CA
    /// (mutual TLS; KEDA sends the TriggerAuthentication's `tlsClientCert`).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// How often to look for changed engine artifacts.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub reload: String,
}

pub fn run(a: &Args) -> u8 {
    match config(a).and_then(|(config, reader)| serve(a, config, reader)) {
        Ok(()) => 0,
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            code
        }
    }
}

fn shard(a: &Args) -> Result<Option<Shard>, String> {
    if a.shards == 0 {
        return Err("--shards must be at least 1".into());
    }
    let index = match a.shard.as_deref() {
        None if a.shards == 1 => return Ok(None),
        None => {
            return Err(format!(
                "--shards {} needs --shard N or --shard hostname",
                a.shards
            ))
        }
        Some("hostname") => {
            let host = std::env::var("HOSTNAME").unwrap_or_default();
            host.rsplit_once('-')
                .and_then(|(_, n)| n.parse::<u32>().ok())
                .ok_or_else(|| format!("--shard hostname: the host name `{host}` does not end in `-N` (a StatefulSet pod's ordinal)"))?
        }
        Some(n) => n
            .parse::<u32>()
            .map_err(|_| format!("--shard `{n}`: a number or `hostname`"))?,
    };
    if index >= a.shards {
        return Err(format!(
            "--shard {index} is not below --shards {}",
            a.shards
        ));
    }
    Ok(Some(Shard {
        index,
        count: a.shards,
    }))
}

fn config(a: &Args) -> Result<(Config, MetricReader), (u8, String)> {
    let bad = |e: String| (2, e);
    let timeout = positive_seconds(&a.timeout, "--timeout").map_err(bad)?;
    let reuse = positive_seconds(&a.reuse, "--reuse").map_err(bad)?;
    let reload = positive_seconds(&a.reload, "--reload").map_err(bad)?;
    let access = Access::from_files(
        a.prometheus_token_file.as_deref(),
        a.prometheus_ca.as_deref(),
    )
    .map_err(bad)?;
    let timeout = Duration::from_secs_f64(timeout);
    if let Some(url) = &a.prometheus {
        Client::new(url, timeout, &access).map_err(bad)?;
    }
    let config = Config {
        engines: a.engines.clone(),
        state: a.state_dir.clone(),
        shard: shard(a).map_err(bad)?,
        reuse: Duration::from_secs_f64(reuse),
        reload: Duration::from_secs_f64(reload),
        tls: tls(a).map_err(bad)?,
    };
    Ok((config, reader(a.prometheus.clone(), timeout, access)))
}

/// The TLS files, read (and refused) at start.
fn tls(a: &Args) -> Result<Option<Tls>, String> {
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let pem = |p: &PathBuf, what: &str| {
        let bytes = read(p)?;
        if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") {
            return Err(format!("{}: not a PEM {what}", p.display()));
        }
        Ok(bytes)
    };
    let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) else {
        return Ok(None);
    };
    Ok(Some(Tls {
        cert_pem: pem(cert, "certificate")?,
        key_pem: pem(key, "private key")?,
        client_ca_pem: a
            .tls_client_ca
            .as_ref()
            .map(|c| pem(c, "CA certificate"))
            .transpose()?,
    }))
}

/// Reads a metric from Prometheus, as `scalepol run` does: one client per
/// server URL, made on first use and shared by every ScaledObject.
fn reader(prometheus: Option<String>, timeout: Duration, access: Access) -> MetricReader {
    type Clients = BTreeMap<String, Result<Arc<Client>, String>>;
    let clients: Mutex<Clients> = Mutex::new(BTreeMap::new());
    Arc::new(move |m: &MetricSpec, at: f64| {
        if m.source.as_deref() != Some("prometheus") {
            return Err(format!(
                "it comes from {}, which the scaler does not read",
                m.source.as_deref().unwrap_or("an unknown source")
            ));
        }
        let url = prometheus
            .clone()
            .or_else(|| m.endpoint.clone())
            .ok_or("no Prometheus URL: pass --prometheus")?;
        let query = m.query.as_deref().ok_or("no query")?;
        let client = clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(url.clone())
            .or_insert_with(|| Client::new(&url, timeout, &access).map(Arc::new))
            .clone()?;
        client.value(query, at)
    })
}

fn serve(a: &Args, config: Config, reader: MetricReader) -> Result<(), (u8, String)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| (2, format!("cannot start the runtime: {e}")))?;
    let scaler = Arc::new(Scaler::new(config, reader).map_err(|e| (2, e))?);
    runtime.block_on(async {
        let grpc = scalepol_scaler::bind(a.listen).await.map_err(|e| (2, e))?;
        let http = scalepol_scaler::bind(a.http).await.map_err(|e| (2, e))?;
        let security = match scaler
            .config
            .tls
            .as_ref()
            .map(|t| t.client_ca_pem.is_some())
        {
            Some(true) => "mutual TLS",
            Some(false) => "TLS",
            None => "plain text",
        };
        eprintln!(
            "serving KEDA's external scaler on {} ({security}; health and metrics on {})",
            grpc.local_addr().map_or(a.listen, |x| x),
            http.local_addr().map_or(a.http, |x| x)
        );
        scalepol_scaler::serve(scaler, grpc, Some(http), stop_signal())
            .await
            .map_err(|e| (1, e))?;
        eprintln!("stopped on a signal");
        Ok(())
    })
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
