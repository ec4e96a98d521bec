//! One KEDA `GetMetrics` call served end to end over loopback gRPC: the
//! request decoded, the metrics read (from memory here: the time of a real
//! Prometheus query is Prometheus's), `decide()` with a CEL rule, the state
//! kept (in memory, or written to a state directory), the answer encoded.
//! `cargo bench -p scalepol-scaler --bench grpc`

use criterion::{criterion_group, criterion_main, Criterion};
use scalepol_scaler::proto::external_scaler_client::ExternalScalerClient;
use scalepol_scaler::proto::{GetMetricsRequest, ScaledObjectRef};
use scalepol_scaler::{Config, MetricReader, Scaler};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A two-metric pool with a rule, as `scalepol compile --target engine`
/// writes it (from a policy with `on queue per replica target 8`, `on
/// running per replica target 8` and `rule "burst" when queue > 100.0`),
/// with no scale-down window: at a thousand decisions a second (KEDA makes
/// one per object every 15 s) a 5-minute window would remember 300,000
/// recommendations and measure that instead of the serving.
const ARTIFACT: &str = r#"{"format": "scalepol-engine", "version": 1, "policy": "bench", "pools": [{"name": "main", "min": 1, "max": 50, "targets": [{"metric": "queue", "mode": "per_replica", "target": 8.0, "activation": null}, {"metric": "running", "mode": "per_replica", "target": 8.0, "activation": null}], "tolerance_up": 0.1, "tolerance_down": 0.1, "up": {"policies": [{"kind": "percent", "value": 100, "period_seconds": 15.0}, {"kind": "pods", "value": 4, "period_seconds": 15.0}], "select": "max", "stabilization_seconds": 0.0}, "down": {"policies": [{"kind": "percent", "value": 100, "period_seconds": 15.0}], "select": "max", "stabilization_seconds": 0.0}, "cooldown_seconds": 300.0, "interval_seconds": 15.0, "fallback": null, "warmup_seconds": 0.0, "legacy": false, "idle_to_zero": false}], "metrics": [{"name": "queue", "unit": "count", "source": "prometheus", "endpoint": "http://127.0.0.1:9", "query": "sum(queue)"}, {"name": "running", "unit": "count", "source": "prometheus", "endpoint": "http://127.0.0.1:9", "query": "sum(running)"}], "rules": [{"name": "burst", "pool": null, "when": "queue > 100.0", "min": 4, "max": null}], "schedules": []}"#;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (label, keep) in [("state in memory", false), ("state written to disk", true)] {
        let dir = tempfile::tempdir().unwrap();
        let engines = dir.path().join("engines");
        std::fs::create_dir_all(&engines).unwrap();
        std::fs::write(engines.join("bench.json"), ARTIFACT).unwrap();
        // A metric that moves, so each decision has work to do.
        let tick = Arc::new(AtomicU64::new(0));
        let t = Arc::clone(&tick);
        let read: MetricReader = Arc::new(move |m, _| {
            let n = t.fetch_add(1, Ordering::Relaxed) % 64;
            Ok(if m.name == "queue" {
                n as f64 * 2.0
            } else {
                16.0
            })
        });
        let config = Config {
            engines,
            state: keep.then(|| dir.path().join("state")),
            shard: None,
            reuse: Duration::from_nanos(1),
            reload: Duration::from_secs(3600),
            tls: None,
        };
        let scaler = Arc::new(Scaler::new(config, read).unwrap());
        let (port, stop) = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(scalepol_scaler::serve(scaler, listener, None, async {
                let _ = rx.await;
            }));
            (port, tx)
        });
        let mut client = rt.block_on(async {
            ExternalScalerClient::connect(format!("http://127.0.0.1:{port}"))
                .await
                .unwrap()
        });
        let request = GetMetricsRequest {
            scaled_object_ref: Some(ScaledObjectRef {
                name: "bench".into(),
                namespace: "ml".into(),
                scaler_metadata: [("policy".to_string(), "bench".to_string())].into(),
            }),
            metric_name: "s0-scalepol-main".into(),
        };
        c.bench_function(&format!("GetMetrics over loopback gRPC, {label}"), |b| {
            b.iter(|| {
                rt.block_on(client.get_metrics(request.clone())).unwrap();
            })
        });
        let _ = stop.send(());
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
