//! `scalepol scaler`: the decision engine served to KEDA as an external
//! scaler (KEDA's `externalscaler.proto`, gRPC). KEDA asks, per
//! ScaledObject, whether the workload is active and for a metric value;
//! the scaler answers with the engine's own decision, as a value that makes
//! the HPA KEDA creates land exactly on it (target 1 per replica, with the
//! pass-through behavior the compiled ScaledObject carries).
//!
//! Modules: `engines` (the artifacts served, reloaded on change), `store`
//! (each object's controller memory, kept across restarts), `service` (the
//! gRPC methods), `telemetry` (health, readiness and Prometheus metrics).

pub mod engines;
pub mod service;
pub mod store;
pub mod telemetry;

/// The code generated from `proto/externalscaler.proto`: the server the
/// scaler implements and the client its tests (and any tool) drive it with.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("externalscaler");
}

pub use service::{Config, MetricReader, Scaler, Shard, Tls};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Serves gRPC on `grpc` and, if given, health, readiness and metrics over
/// HTTP on `http`, until `shutdown` completes; then stops accepting calls,
/// lets the ones in flight finish, and returns.
pub async fn serve(
    scaler: Arc<Scaler>,
    grpc: tokio::net::TcpListener,
    http: Option<tokio::net::TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reload = tokio::spawn(engines::watch(Arc::clone(&scaler), stop_rx.clone()));
    let http_task = http.map(|listener| {
        let app = telemetry::router(Arc::clone(&scaler));
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
        })
    });
    // Small request/response exchanges: no Nagle delay.
    let incoming = tonic::transport::server::TcpIncoming::from(grpc).with_nodelay(Some(true));
    let mut rx = stop_rx.clone();
    let service = proto::external_scaler_server::ExternalScalerServer::new(service::Service(
        Arc::clone(&scaler),
    ));
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &scaler.config.tls {
        let mut cfg = tonic::transport::ServerTlsConfig::new().identity(
            tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem),
        );
        if let Some(ca) = &tls.client_ca_pem {
            cfg = cfg.client_ca_root(tonic::transport::Certificate::from_pem(ca));
        }
        builder = builder.tls_config(cfg).map_err(|e| format!("TLS: {e}"))?;
    }
    let grpc_task = tokio::spawn(builder.add_service(service).serve_with_incoming_shutdown(
        incoming,
        async move {
            let _ = rx.wait_for(|s| *s).await;
        },
    ));
    shutdown.await;
    scaler.set_ready(false);
    let _ = stop_tx.send(true);
    // Calls in flight finish; connections KEDA keeps open would hold the
    // server forever, so the wait is bounded.
    let grpc_result = match tokio::time::timeout(GRACE, grpc_task).await {
        Ok(joined) => joined.map_err(|e| e.to_string())?,
        Err(_) => Ok(()),
    };
    if let Some(t) = http_task {
        if let Ok(joined) = tokio::time::timeout(GRACE, t).await {
            joined
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("http: {e}"))?;
        }
    }
    let _ = reload.await;
    grpc_result.map_err(|e| format!("grpc: {e}"))
}

/// How long a stopping scaler waits for calls in flight (a decision takes
/// at most a Prometheus timeout); well within Kubernetes' default 30 s
/// termination grace period.
const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Binds a TCP listener, with the address in the error.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}
