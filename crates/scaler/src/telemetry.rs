//! The scaler's own health and metrics over HTTP: `/healthz` (the process
//! serves), `/readyz` (engines are loaded and it is not shutting down),
//! `/metrics` (Prometheus text format), `/objects` (each ScaledObject's
//! last decision, as JSON, for `kubectl port-forward` and for tests).

use crate::Scaler;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    policy: String,
    pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    /// `ok` or the gRPC status code's name.
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MetricLabels {
    metric: String,
}

pub struct Telemetry {
    registry: Registry,
    decisions: Family<PoolLabels, Counter>,
    desired: Family<PoolLabels, Gauge>,
    calls: Family<CallLabels, Counter>,
    metric_failures: Family<MetricLabels, Counter>,
    latency: Histogram,
    engines: Gauge,
    engine_problems: Gauge,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let mut registry = Registry::with_prefix("scalepol_scaler");
        let t = Telemetry {
            decisions: Family::default(),
            desired: Family::default(),
            calls: Family::default(),
            metric_failures: Family::default(),
            // 50 µs to about 13 s: a decision is microseconds, a slow
            // Prometheus read seconds.
            latency: Histogram::new(exponential_buckets(0.000_05, 4.0, 10)),
            engines: Gauge::default(),
            engine_problems: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "decisions",
            "Decisions made, by policy and pool",
            t.decisions.clone(),
        );
        registry.register(
            "desired_replicas",
            "The last decided replica count, by policy and pool",
            t.desired.clone(),
        );
        registry.register(
            "calls",
            "gRPC calls from KEDA, by method and result",
            t.calls.clone(),
        );
        registry.register(
            "metric_failures",
            "Metric reads that failed (counted as failed metrics by the engine)",
            t.metric_failures.clone(),
        );
        registry.register(
            "decision_seconds",
            "Time to read the metrics and decide",
            t.latency.clone(),
        );
        registry.register("engines", "Engine artifacts served", t.engines.clone());
        registry.register(
            "engine_load_problems",
            "Artifact files that could not be loaded at the last (re)load",
            t.engine_problems.clone(),
        );
        Telemetry { registry, ..t }
    }

    pub fn decided(&self, policy: &str, pool: &str, desired: u32, took: Duration) {
        let labels = PoolLabels {
            policy: policy.into(),
            pool: pool.into(),
        };
        self.decisions.get_or_create(&labels).inc();
        self.desired.get_or_create(&labels).set(i64::from(desired));
        self.latency.observe(took.as_secs_f64());
    }

    pub fn call<T>(&self, method: &str, result: &Result<T, tonic::Status>) {
        let code = match result {
            Ok(_) => "ok".to_string(),
            Err(s) => format!("{:?}", s.code()),
        };
        self.calls
            .get_or_create(&CallLabels {
                method: method.into(),
                code,
            })
            .inc();
    }

    pub fn metric_failed(&self, metric: &str) {
        self.metric_failures
            .get_or_create(&MetricLabels {
                metric: metric.into(),
            })
            .inc();
    }

    pub fn set_engines(&self, served: usize, problems: usize) {
        self.engines.set(served as i64);
        self.engine_problems.set(problems as i64);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

pub fn router(scaler: Arc<Scaler>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/objects", get(objects))
        .with_state(scaler)
}

async fn ready(State(s): State<Arc<Scaler>>) -> impl IntoResponse {
    if s.is_ready() && s.serves_any() {
        (StatusCode::OK, "ready\n")
    } else if s.is_ready() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no engine artifact loaded\n",
        )
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    }
}

async fn metrics(State(s): State<Arc<Scaler>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.telemetry.encode(),
    )
}

async fn objects(State(s): State<Arc<Scaler>>) -> impl IntoResponse {
    axum::Json(s.objects().await)
}
