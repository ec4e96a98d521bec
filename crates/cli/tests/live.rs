//! `scalepol run` against a real Prometheus server (the Debian package
//! `prometheus`), started on a loopback port and scraping a small loopback
//! exporter that the test controls. No mock on the main path. Without a
//! `prometheus` binary the Prometheus cases are skipped with a note, unless
//! SCALEPOL_REQUIRE_PROMETHEUS is set (as in CI), when they fail.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::prometheus::*;

const POLICY: &str = r#"policy live {
  workload deployment "ml/live"

  pool main: gpu {
    accelerator "nvidia-l4"
    replicas MIN..10
    capacity 8 concurrent
  }

  metrics prometheus "http://127.0.0.1:PORT" {
    queue = `QUERY`
  }

  scale {
    on queue per replica target 4
    up { by 10 replicas every 1s, stabilize 0s }
    cooldown 1s
  }
}
"#;

fn policy_file(dir: &Path, port: u16, query: &str, min: u32) -> std::path::PathBuf {
    let path = dir.join("live.scalepol");
    let text = POLICY
        .replace("PORT", &port.to_string())
        .replace("QUERY", query)
        .replace("MIN", &min.to_string());
    std::fs::write(&path, text).unwrap();
    path
}

fn scalepol(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .args(args)
        .output()
        .unwrap()
}

fn desired(o: &Output) -> Vec<u64> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["desired"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn decides_from_prometheus_and_holds_on_missing_data() {
    if !has_prometheus() {
        return;
    }
    let body = Arc::new(Mutex::new(
        "# TYPE test_queue_depth gauge\ntest_queue_depth 40\n".to_string(),
    ));
    let prom = prometheus(exporter(Arc::clone(&body)), "test_queue_depth");
    let dir = tempfile::tempdir().unwrap();

    // 40 queued over a target of 4 per replica: 10.
    let p = policy_file(dir.path(), prom.port, "sum(test_queue_depth)", 1);
    let o = scalepol(&[
        "run",
        p.to_str().unwrap(),
        "--interval",
        "300ms",
        "--ticks",
        "3",
        "--initial",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(desired(&o), vec![10, 10, 10]);

    // The same from the compiled engine artifact, as a deployment ships it.
    let out = dir.path().join("out");
    let o = scalepol(&[
        "compile",
        p.to_str().unwrap(),
        "--target",
        "engine",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let artifact = out.join("live.engine.json");
    let o = scalepol(&[
        "run",
        artifact.to_str().unwrap(),
        "--interval",
        "300ms",
        "--ticks",
        "1",
        "--initial",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(desired(&o), vec![10]);

    // The exporter's value changes; the loop follows through Prometheus.
    *body.lock().unwrap() = "# TYPE test_queue_depth gauge\ntest_queue_depth 12\n".into();
    let start = Instant::now();
    while query(prom.port, "test_queue_depth").unwrap()["data"]["result"][0]["value"][1] != "12" {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(200));
    }
    let o = scalepol(&[
        "run",
        p.to_str().unwrap(),
        "--interval",
        "300ms",
        "--ticks",
        "1",
        "--initial",
        "2",
    ]);
    assert_eq!(desired(&o), vec![3]);

    // A series that does not exist: no data, a failed metric. A pool that
    // may scale to zero holds instead, however long the cooldown.
    let p = policy_file(dir.path(), prom.port, "sum(no_such_metric)", 0);
    let o = scalepol(&[
        "run",
        p.to_str().unwrap(),
        "--interval",
        "500ms",
        "--ticks",
        "4",
        "--initial",
        "2",
    ]);
    assert!(o.status.success());
    assert_eq!(desired(&o), vec![2, 2, 2, 2]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("metric `queue` is missing (no data)"), "{err}");

    // Several series are an error to fix in the query, not a guess.
    let p = policy_file(dir.path(), prom.port, "up or vector(1)", 1);
    let o = scalepol(&["run", p.to_str().unwrap(), "--ticks", "1", "--initial", "3"]);
    assert_eq!(desired(&o), vec![3]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 series: aggregate them"));

    // The actuator runs with the pool and the count, the decision on stdin.
    let p = policy_file(dir.path(), prom.port, "sum(test_queue_depth)", 1);
    let out = dir.path().join("applied");
    let o = scalepol(&[
        "run",
        p.to_str().unwrap(),
        "--ticks",
        "1",
        "--actuator",
        "exec",
        "--",
        "/bin/sh",
        "-c",
        "cat > \"$0.json\"; echo \"$1 $2\" > \"$0.args\"",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(out.with_extension("args")).unwrap(),
        "main 3\n"
    );
    let decision: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(decision["desired"], 3);

    // SIGTERM stops the loop cleanly.
    let child = Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .args(["run", p.to_str().unwrap(), "--interval", "200ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?}", o.status);
    assert!(String::from_utf8_lossy(&o.stderr).contains("stopping on a signal"));
    assert!(!desired(&o).is_empty());
}

#[test]
fn an_unreachable_server_is_a_failed_metric() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy_file(dir.path(), free_port(), "sum(x)", 0);
    let o = scalepol(&[
        "run",
        p.to_str().unwrap(),
        "--interval",
        "100ms",
        "--ticks",
        "2",
        "--initial",
        "4",
        "--timeout",
        "1s",
    ]);
    assert!(o.status.success());
    assert_eq!(desired(&o), vec![4, 4]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("metric `queue` is missing"));
}

#[test]
fn bad_options_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy_file(dir.path(), 9, "sum(x)", 1);
    for (args, words) in [
        (vec!["--interval", "0s"], "must be above 0"),
        (vec!["--actuator", "exec"], "needs the command"),
        (vec!["--pool", "nope"], "no pool `nope`"),
        (
            vec!["--prometheus", "ftp://127.0.0.1:9", "--ticks", "1"],
            "not an http:// or https:// URL",
        ),
        (
            vec!["--prometheus-ca", "missing.pem", "--ticks", "1"],
            "missing.pem",
        ),
    ] {
        let mut a = vec!["run", p.to_str().unwrap()];
        a.extend(args);
        let o = scalepol(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(words), "{err}");
    }
}

/// The live check's policy: one metric per kind of finding.
const LIVE_CHECK: &str = r#"policy served {
  workload deployment "ml/served"
  pool main: gpu {
    accelerator "nvidia-l4"
    replicas 1..10
    warmup 30s
    capacity 8 concurrent
    cost $1/h
  }
  slo {
    latency p95 < 2s
  }
  metrics prometheus "http://127.0.0.1:PORT" {
    ok = `sum(vllm:num_requests_waiting{model_name="m"})`
    per_pod = `sum by (pod) (vllm:num_requests_waiting{model_name="m"})`
    twice = `avg(vllm:kv_cache_usage_perc{model_name="m"}) * 100 * 100` as percent
    old = `avg(vllm:gpu_cache_usage_perc{model_name="m"}) * 100` as percent
    gone = `sum(sglang:num_queue_reqs{model_name="m"})`
    refused = `sum(vllm:num_requests_waiting{model_name="m"} / on() vllm:num_requests_waiting{model_name="m"})`
  }
  scale {
    on ok per replica target 4
    on per_pod total target 4
    on twice total target 80%
    on old total target 80%
    on gone total target 4
    on refused total target 4
    up { stabilize 30s }
    down { stabilize 5m }
  }
}
"#;

/// (code, metric named in the message) of each finding of a JSON report.
fn findings(o: &Output) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    v["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let msg = d["message"].as_str().unwrap();
            let metric = msg.split('`').nth(1).unwrap_or("").to_string();
            (d["code"].as_str().unwrap().to_string(), metric)
        })
        .collect()
}

/// `check --prometheus` against a real Prometheus scraping an exporter of
/// a vLLM that still serves the deprecated KV-cache name: each query runs
/// once, and each kind of live finding shows where it should.
#[test]
fn check_runs_the_queries_against_a_real_prometheus() {
    if !has_prometheus() {
        return;
    }
    let body = Arc::new(Mutex::new(
        "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"m\",pod=\"a\"} 3\nvllm:num_requests_waiting{model_name=\"m\",pod=\"b\"} 4\n# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{model_name=\"m\",pod=\"a\"} 0.5\n# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc{model_name=\"m\",pod=\"a\"} 0.5\n".to_string(),
    ));
    let prom = prometheus(exporter(Arc::clone(&body)), "vllm:gpu_cache_usage_perc");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("served.scalepol");
    std::fs::write(&path, LIVE_CHECK.replace("PORT", &prom.port.to_string())).unwrap();
    let url = format!("http://127.0.0.1:{}", prom.port);
    let p = path.to_str().unwrap();

    // Without --prometheus, only the static findings.
    let o = scalepol(&["check", "--isolated", "--format", "json", p]);
    let static_only = findings(&o);
    assert!(!static_only
        .iter()
        .any(|(c, _)| ["SP0809", "SP0810", "SP0811"].contains(&c.as_str())));

    let o = scalepol(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--prometheus",
        &url,
        p,
    ]);
    let all = findings(&o);
    let has = |code: &str, metric: &str| all.iter().any(|(c, m)| c == code && m == metric);
    // The deprecated name is still served: the static warning stands, the
    // query answers.
    assert!(has("SP0802", "vllm:gpu_cache_usage_perc"), "{all:?}");
    assert!(
        !all.iter()
            .any(|(c, m)| c.starts_with("SP081") && m == "old"),
        "{all:?}"
    );
    // Two series, confirmed live on top of the static finding.
    assert_eq!(
        all.iter()
            .filter(|(c, m)| c == "SP0808" && m == "per_pod")
            .count(),
        2,
        "{all:?}"
    );
    assert!(has("SP0811", "twice"), "{all:?}");
    assert!(has("SP0810", "gone"), "{all:?}");
    assert!(has("SP0809", "refused"), "{all:?}");
    assert!(
        !all.iter().any(|(c, m)| c.starts_with("SP08") && m == "ok"),
        "{all:?}"
    );
    // The no-data finding names the metric that has no series.
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("no series of `sglang:num_queue_reqs` in the last hour"),
        "{text}"
    );
    assert_eq!(o.status.code(), Some(1), "SP0809 is an error");
}

#[test]
fn check_against_an_unreachable_server_reports_each_query() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("served.scalepol");
    std::fs::write(&path, LIVE_CHECK.replace("PORT", "1")).unwrap();
    let o = scalepol(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--prometheus",
        "http://127.0.0.1:1",
        path.to_str().unwrap(),
    ]);
    let failed = findings(&o)
        .into_iter()
        .filter(|(c, _)| c == "SP0809")
        .count();
    assert_eq!(failed, 6);
    let o = scalepol(&[
        "check",
        "--isolated",
        "--prometheus",
        "ftp://127.0.0.1:1",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = scalepol(&[
        "check",
        "--isolated",
        "--prometheus",
        "http://127.0.0.1:1",
        "--prometheus-token-file",
        dir.path().join("missing").to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// The bearer token reaches the server (a loopback listener that records
/// the request and answers as Prometheus does), from the file or the
/// environment.
#[test]
fn the_bearer_token_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    log.lock().unwrap().push(line.trim().to_string());
                }
                line.clear();
            }
            let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}"#;
            let mut s = &stream;
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("served.scalepol");
    std::fs::write(&path, LIVE_CHECK.replace("PORT", &port.to_string())).unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let url = format!("http://127.0.0.1:{port}");
    scalepol(&[
        "check",
        "--isolated",
        "--prometheus",
        &url,
        "--prometheus-token-file",
        token.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    let headers = seen.lock().unwrap().clone();
    assert_eq!(headers.len(), 6, "one query per metric: {headers:?}");
    assert!(
        headers.iter().all(|h| h == "Authorization: Bearer s3cret"),
        "{headers:?}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_scalepol"))
        .args([
            "check",
            "--isolated",
            "--prometheus",
            &url,
            path.to_str().unwrap(),
        ])
        .env("SCALEPOL_PROMETHEUS_TOKEN", "from-env")
        .output()
        .unwrap();
    assert!(o.status.code().is_some());
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .any(|h| h == "Authorization: Bearer from-env"));
}

/// A CA and a certificate it signed for 127.0.0.1, as PEM files in `dir`:
/// (ca.pem, server.pem, server-key.pem).
fn certificates(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "scalepol test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server-key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

/// `check --prometheus https://...` and `run` against a real Prometheus
/// serving its API over TLS with a certificate from a private CA: trusted
/// with `--prometheus-ca`, refused without it.
#[test]
fn https_with_a_private_ca() {
    if !has_prometheus() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(certs.path());
    let web = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        cert.display(),
        key.display()
    );
    let body = Arc::new(Mutex::new(
        "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"m\",pod=\"a\"} 40\n".to_string(),
    ));
    let prom = start_prometheus(exporter(Arc::clone(&body)), Some(&web));
    let url = format!("https://127.0.0.1:{}", prom.port);
    let dir = tempfile::tempdir().unwrap();
    let p = policy_file(
        dir.path(),
        prom.port,
        "sum(vllm:num_requests_waiting{model_name=\"m\"})",
        1,
    );
    let p = p.to_str().unwrap();
    let ca = ca.to_str().unwrap();
    // Until the first scrape, the query has no data; then nothing to report.
    let start = Instant::now();
    loop {
        let o = scalepol(&[
            "check",
            "--isolated",
            "--format",
            "json",
            "--prometheus",
            &url,
            "--prometheus-ca",
            ca,
            p,
        ]);
        let live: Vec<_> = findings(&o)
            .into_iter()
            .filter(|(c, _)| c.starts_with("SP08"))
            .collect();
        if live.is_empty() {
            break;
        }
        // Not listening yet (SP0809), or not scraped yet (SP0810).
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{live:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Without the CA, the certificate is not trusted.
    let o = scalepol(&[
        "check",
        "--isolated",
        "--format",
        "json",
        "--prometheus",
        &url,
        p,
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(findings(&o).iter().any(|(c, _)| c == "SP0809"), "{text}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    // The live loop reads the same server: 40 queued over 4 per replica.
    let o = scalepol(&[
        "run",
        p,
        "--prometheus",
        &url,
        "--prometheus-ca",
        ca,
        "--ticks",
        "1",
        "--interval",
        "1s",
        "--initial",
        "1",
    ]);
    assert_eq!(desired(&o), [10], "{}", String::from_utf8_lossy(&o.stderr));
}
