//! `scalepol scaler`, KEDA's external scaler, driven end to end over gRPC
//! by a client generated from the same `externalscaler.proto`, on loopback:
//! the policy is compiled to KEDA in scaler mode, the scaler serves the
//! engine artifact `compile` wrote, reads the metric from a real Prometheus
//! (scraping an exporter the test controls), and each answer must equal
//! what `decide()` gives for the same observations at the same times. The
//! scaler is then stopped (SIGTERM) and started again on the same state
//! directory: it continues the controller it had.

mod support;

use scalepol_runtime::{Engine, Observation, State};
use scalepol_scaler::proto::external_scaler_client::ExternalScalerClient;
use scalepol_scaler::proto::{GetMetricsRequest, ScaledObjectRef};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::prometheus::*;

const POLICY: &str = r#"policy scaled {
  workload deployment "ml/scaled"

  pool main: gpu {
    accelerator "nvidia-l4"
    replicas 0..10
    capacity 8 concurrent
  }

  metrics prometheus "http://127.0.0.1:PROM" {
    queue = `test_queue_depth`
  }

  scale {
    on queue per replica target 40 activate 1
    up { by 10 replicas every 1s, stabilize 0s }
    down { by 2 replicas every 1s, stabilize 2s }
    cooldown 1s
  }

  // The engine's own semantics, which a plain ScaledObject only approximates.
  rule "burst floor" when `queue > 100.0` {
    replicas >= 8
  }

  target keda { scaler "127.0.0.1:GRPC" }
}
"#;

struct Scaler {
    child: Child,
    http: u16,
    grpc: u16,
}

impl Drop for Scaler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    match ureq::get(&format!("http://127.0.0.1:{port}{path}")).call() {
        Ok(r) => Some((r.status(), r.into_string().ok()?)),
        Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap_or_default())),
        Err(_) => None,
    }
}

/// Starts `scalepol scaler` and waits until it is ready.
fn start_scaler(engines: &Path, state: &Path, grpc: u16, extra: &[&str]) -> Scaler {
    let http = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .arg("scaler")
        .arg("--engines")
        .arg(engines)
        .arg("--state-dir")
        .arg(state)
        .args(["--listen", &format!("127.0.0.1:{grpc}")])
        .args(["--http", &format!("127.0.0.1:{http}")])
        .args(["--reuse", "500ms", "--reload", "200ms"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let s = Scaler { child, http, grpc };
    let start = Instant::now();
    while http_get(http, "/readyz").map(|r| r.0) != Some(200) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the scaler did not become ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn client(port: u16) -> ExternalScalerClient<tonic::transport::Channel> {
    ExternalScalerClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .unwrap()
}

/// The ScaledObject `compile` wrote, as KEDA would present it.
fn scaled_object(out: &Path) -> ScaledObjectRef {
    let text = std::fs::read_to_string(out.join("scaled.keda.yaml")).unwrap();
    let so = scalepol_targets::yaml::from_str(&text).unwrap();
    let trigger = &so["spec"]["triggers"][0];
    assert_eq!(trigger["type"], "external");
    assert_eq!(trigger["metricType"], "AverageValue");
    let behavior = &so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"];
    assert_eq!(behavior["scaleDown"]["stabilizationWindowSeconds"], 0);
    assert_eq!(behavior["scaleUp"]["tolerance"], "0");
    let metadata: HashMap<String, String> = trigger["metadata"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    ScaledObjectRef {
        name: so["metadata"]["name"].as_str().unwrap().into(),
        namespace: so["metadata"]["namespace"].as_str().unwrap().into(),
        scaler_metadata: metadata,
    }
}

fn compile(dir: &Path, prom: u16, grpc: u16) -> PathBuf {
    let policy = dir.join("scaled.scalepol");
    let text = POLICY
        .replace("PROM", &prom.to_string())
        .replace("GRPC", &grpc.to_string());
    std::fs::write(&policy, text).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .args(["compile", "--target", "keda", "-o"])
        .arg(&out)
        .arg(&policy)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // No SP0701: the rule is the engine's, in the cluster.
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("SP0701"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Sets the exporter's value and waits until Prometheus returns it.
fn serve_value(body: &Mutex<String>, prom: u16, v: f64) {
    *body.lock().unwrap() = format!("# TYPE test_queue_depth gauge\ntest_queue_depth {v}\n");
    let start = Instant::now();
    loop {
        let got = query(prom, "test_queue_depth").and_then(|j| {
            j["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
        });
        if got == Some(v) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Prometheus never served {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One exchange as KEDA makes it: the metric, then the activity.
#[derive(Debug)]
struct Answer {
    queue: f64,
    value: f64,
    active: bool,
    /// When the scaler decided, from its state snapshot.
    at: f64,
}

fn ask(
    rt: &tokio::runtime::Runtime,
    s: &Scaler,
    obj: &ScaledObjectRef,
    state: &Path,
    queue: f64,
) -> Answer {
    rt.block_on(async {
        let mut c = client(s.grpc).await;
        let m = c
            .get_metrics(GetMetricsRequest {
                scaled_object_ref: Some(obj.clone()),
                metric_name: "s0-scalepol-main".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let active = c.is_active(obj.clone()).await.unwrap().into_inner().result;
        let snap: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(state.join("ml.scaled.json")).unwrap())
                .unwrap();
        assert_eq!(m.metric_values[0].metric_name, "s0-scalepol-main");
        Answer {
            queue,
            value: m.metric_values[0].metric_value_float,
            active,
            at: snap["decided_at"].as_f64().unwrap(),
        }
    })
}

/// `decide()` over the same observations at the same times, the last
/// decision taken as applied (as the scaler does).
fn replay(engine: &Engine, answers: &[Answer]) -> Vec<u32> {
    let mut state = State::new_controller(0, answers[0].at);
    let mut current = 0;
    answers
        .iter()
        .map(|a| {
            let obs = Observation {
                replicas: current,
                metrics: BTreeMap::from([("queue".to_string(), a.queue)]),
                pods: Vec::new(),
                samples: Default::default(),
            };
            current = engine.decide(0, &mut state, &obs, a.at).unwrap().desired;
            current
        })
        .collect()
}

#[test]
fn keda_calls_reproduce_decide_and_survive_a_restart() {
    if !has_prometheus() {
        return;
    }
    let body = Arc::new(Mutex::new(
        "# TYPE test_queue_depth gauge\ntest_queue_depth 40\n".to_string(),
    ));
    let prom = prometheus(exporter(Arc::clone(&body)), "test_queue_depth");
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_port();
    let out = compile(dir.path(), prom.port, grpc);
    let obj = scaled_object(&out);
    let engine =
        Engine::load(&std::fs::read_to_string(out.join("scaled.engine.json")).unwrap()).unwrap();
    let state = dir.path().join("state");
    let rt = runtime();
    let scaler = start_scaler(&out, &state, grpc, &[]);
    let spec = rt.block_on(async {
        let mut c = client(grpc).await;
        c.get_metric_spec(obj.clone()).await.unwrap().into_inner()
    });
    assert_eq!(spec.metric_specs[0].metric_name, "scalepol-main");
    assert_eq!(spec.metric_specs[0].target_size_float, 1.0);

    // Demand appears, bursts past the rule's threshold, then falls away.
    let mut answers = Vec::new();
    for q in [40.0, 120.0, 120.0, 8.0] {
        serve_value(&body, prom.port, q);
        std::thread::sleep(Duration::from_millis(1100));
        answers.push(ask(&rt, &scaler, &obj, &state, q));
    }
    let expected = replay(&engine, &answers);
    let got: Vec<u32> = answers.iter().map(|a| a.value as u32).collect();
    assert_eq!(got, expected, "{answers:?}");
    assert!(answers.iter().all(|a| a.active == (a.value > 0.0)));
    // The rule raised the floor to 8 where the metric alone asks for 3.
    assert_eq!(got[1], 8, "{answers:?}");
    // Scale-down is rate-limited (2 per second): it is on the way down.
    assert!(got[3] > 1 && got[3] < 8, "{answers:?}");

    let metrics = http_get(scaler.http, "/metrics").unwrap().1;
    assert!(
        metrics.contains(r#"scalepol_scaler_decisions_total{policy="scaled",pool="main"} 4"#),
        "{metrics}"
    );
    let objects: serde_json::Value =
        serde_json::from_str(&http_get(scaler.http, "/objects").unwrap().1).unwrap();
    assert_eq!(objects[0]["replicas"], got[3]);

    // SIGTERM: it stops accepting, finishes, and exits cleanly (the
    // client's connections closed first, or the scaler waits out its grace).
    drop(rt);
    let rt = runtime();
    let mut scaler = scaler;
    unsafe { libc::kill(scaler.child.id() as i32, libc::SIGTERM) };
    let status = scaler.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut scaler.child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("stopped on a signal"), "{err}");

    // Started again on the same state: the controller continues where it
    // was, on its way down.
    let again = start_scaler(&out, &state, grpc, &[]);
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(1100));
        answers.push(ask(&rt, &again, &obj, &state, 8.0));
    }
    let expected = replay(&engine, &answers);
    let got: Vec<u32> = answers.iter().map(|a| a.value as u32).collect();
    assert_eq!(got, expected, "{answers:?}");
    // A controller started afresh would have decided otherwise.
    let fresh = replay(&engine, &answers[4..]);
    assert_ne!(got[4], fresh[0], "{answers:?}");
}

/// Misconfigured calls get a gRPC status that says what is wrong; a
/// replica refuses objects of another shard; a new artifact in the
/// directory is served without a restart. No Prometheus needed.
#[test]
fn bad_calls_get_a_clear_status_and_artifacts_reload() {
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_port();
    let out = compile(dir.path(), free_port(), grpc);
    std::fs::write(out.join("broken.json"), "{ not json").unwrap();
    let state = dir.path().join("state");
    let s = start_scaler(&out, &state, grpc, &["--shards", "2", "--shard", "0"]);
    let rt = runtime();
    // Names of each shard (the same FNV-1a split the compiler uses).
    let mine = (0..)
        .map(|i| format!("model-{i}"))
        .find(|n| scalepol_common::shard::shard_of("ml", n, 2) == 0)
        .unwrap();
    let other = (0..)
        .map(|i| format!("model-{i}"))
        .find(|n| scalepol_common::shard::shard_of("ml", n, 2) == 1)
        .unwrap();
    let obj = |name: &str, md: &[(&str, &str)]| ScaledObjectRef {
        name: name.into(),
        namespace: "ml".into(),
        scaler_metadata: md
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    rt.block_on(async {
        let mut c = client(s.grpc).await;
        let e = c.is_active(obj(&mine, &[])).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("no `policy`"), "{}", e.message());
        // Names that are not Kubernetes names never reach the state directory.
        for bad in ["../../etc/passwd", "", "UPPER", "a b"] {
            let e = c
                .is_active(obj(bad, &[("policy", "scaled")]))
                .await
                .unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{bad:?}");
        }
        let e = c
            .is_active(obj(&mine, &[("policy", "nope")]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        assert!(e.message().contains("serving: scaled"), "{}", e.message());
        let e = c
            .get_metric_spec(obj(&mine, &[("policy", "scaled"), ("pool", "gpu")]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        let e = c
            .is_active(obj(&other, &[("policy", "scaled")]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition);
        assert!(
            e.message().contains("belongs to shard 1 of 2"),
            "{}",
            e.message()
        );
        // Prometheus is not there: the metric fails, the engine holds at
        // the pool's floor rather than erroring.
        let r = c
            .get_metrics(GetMetricsRequest {
                scaled_object_ref: Some(obj(&mine, &[("policy", "scaled")])),
                metric_name: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.metric_values[0].metric_name, "scalepol-main");
        assert_eq!(r.metric_values[0].metric_value_float, 0.0);
        // `external-push`: the stream's first message is the activity now.
        let mut stream = c
            .stream_is_active(obj(&mine, &[("policy", "scaled")]))
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().unwrap();
        assert!(!first.result);
    });
    // A second policy appears in the directory: served after a reload.
    let text = std::fs::read_to_string(out.join("scaled.engine.json"))
        .unwrap()
        .replace("\"policy\": \"scaled\"", "\"policy\": \"second\"");
    std::fs::write(out.join("second.engine.json"), text).unwrap();
    let start = Instant::now();
    loop {
        let r = rt.block_on(async {
            let mut c = client(s.grpc).await;
            c.get_metric_spec(obj(&mine, &[("policy", "second")])).await
        });
        if r.is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not reloaded: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = http_get(s.http, "/metrics").unwrap().1;
    assert!(metrics.contains("scalepol_scaler_engines 2"), "{metrics}");
    assert!(
        metrics.contains("scalepol_scaler_engine_load_problems 1"),
        "{metrics}"
    );
}

#[test]
fn bad_options_are_errors() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scalepol"))
            .arg("scaler")
            .args(args)
            .output()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let not_pem = dir.path().join("cert.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let not_pem = not_pem.to_str().unwrap();
    for (args, says) in [
        (
            vec![
                "--engines",
                d,
                "--tls-cert",
                "/nonexistent/c",
                "--tls-key",
                "/nonexistent/k",
            ],
            "/nonexistent/c",
        ),
        (
            vec!["--engines", d, "--tls-cert", not_pem, "--tls-key", not_pem],
            "not a PEM certificate",
        ),
        (vec!["--engines", d, "--tls-cert", not_pem], "--tls-key"),
        (vec!["--engines", "/nonexistent/engines"], "cannot read"),
        (vec!["--engines", d, "--shards", "2"], "needs --shard"),
        (
            vec!["--engines", d, "--shards", "2", "--shard", "2"],
            "not below",
        ),
        (vec!["--engines", d, "--shards", "0"], "at least 1"),
        (vec!["--engines", d, "--reuse", "0s"], "--reuse"),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// `compile --explain` says that in scaler mode the engine decides for KEDA.
#[test]
fn explain_shows_the_engine_deciding_for_keda() {
    let o = Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .args([
            "compile",
            "--explain",
            "policies/chat-llama3-exact.scalepol",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let keda: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("KEDA ScaledObject"))
        .collect();
    assert!(!keda.is_empty(), "{out}");
    assert!(
        keda.iter()
            .all(|l| l.contains("decided by the engine in `scalepol scaler`")),
        "{out}"
    );
}

/// A CA, a server certificate for 127.0.0.1 and localhost, and a client
/// certificate, as PEM files: (ca, server, server key, client, client key).
fn mtls_files(dir: &Path) -> [PathBuf; 5] {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "scalepol test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let leaf = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let server = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let client = leaf(vec!["keda-operator".into()]);
    let files = [
        ("ca.pem", ca.pem()),
        ("server.pem", server.0),
        ("server-key.pem", server.1),
        ("client.pem", client.0),
        ("client-key.pem", client.1),
    ];
    files.map(|(name, text)| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    })
}

/// `scaler_tls`: the scaler serves mutual TLS; KEDA's side (a client with
/// the CA and its own certificate) is served, a client without a
/// certificate or without TLS is not.
#[test]
fn mutual_tls_admits_only_clients_with_a_certificate() {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_port();
    let out = compile(dir.path(), free_port(), grpc);
    let [ca, cert, key, client, client_key] = mtls_files(dir.path());
    let arg = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (cert, key, ca_arg) = (arg(&cert), arg(&key), arg(&ca));
    let s = start_scaler(
        &out,
        &dir.path().join("state"),
        grpc,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca_arg,
        ],
    );
    let read = |p: &PathBuf| std::fs::read(p).unwrap();
    let obj = scaled_object(&out);
    let rt = runtime();
    let call = |tls: Option<ClientTlsConfig>| {
        rt.block_on(async {
            let scheme = if tls.is_some() { "https" } else { "http" };
            let mut endpoint =
                Channel::from_shared(format!("{scheme}://127.0.0.1:{}", s.grpc)).unwrap();
            if let Some(t) = tls {
                endpoint = endpoint.tls_config(t).unwrap();
            }
            let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
            ExternalScalerClient::new(channel)
                .get_metric_spec(obj.clone())
                .await
                .map(|r| r.into_inner().metric_specs[0].metric_name.clone())
                .map_err(|e| e.to_string())
        })
    };
    let trusting = || {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&ca)))
            .domain_name("localhost")
    };
    let with_cert = trusting().identity(Identity::from_pem(read(&client), read(&client_key)));
    assert_eq!(call(Some(with_cert)).as_deref(), Ok("scalepol-main"));
    assert!(call(Some(trusting())).is_err(), "no client certificate");
    assert!(call(None).is_err(), "plain text");
}
