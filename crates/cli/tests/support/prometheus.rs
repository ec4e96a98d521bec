//! A real Prometheus server (the Debian package `prometheus`) on a
//! loopback port, scraping a small loopback exporter that the test
//! controls: shared by the live-loop and the external-scaler tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves `/metrics` in the Prometheus text format with the given body.
pub fn exporter(body: Arc<Mutex<String>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let text = body.lock().unwrap().clone();
            let mut s = &stream;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    port
}

pub struct Prometheus {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn has_prometheus() -> bool {
    let found = Command::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("SCALEPOL_REQUIRE_PROMETHEUS").is_none(),
            "prometheus is not installed (apt-get install prometheus)"
        );
        eprintln!("note: no `prometheus` binary: the live-loop integration cases are skipped");
    }
    found
}

pub fn query(port: u16, q: &str) -> Option<serde_json::Value> {
    let text = ureq::get(&format!("http://127.0.0.1:{port}/api/v1/query"))
        .query("query", q)
        .call()
        .ok()?
        .into_string()
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// Starts Prometheus scraping the exporter every second and waits until it
/// has a sample of `metric`.
pub fn prometheus(exporter_port: u16, metric: &str) -> Prometheus {
    let p = start_prometheus(exporter_port, None);
    let start = Instant::now();
    loop {
        let v = query(p.port, metric);
        if v.is_some_and(|v| {
            v["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        }) {
            return p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Prometheus did not scrape the exporter in 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts Prometheus scraping the exporter every second, serving its API
/// with the given web configuration (TLS) if any; does not wait.
pub fn start_prometheus(exporter_port: u16, web_config: Option<&str>) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: test\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(web_config.map(|w| {
            let path = dir.path().join("web.yml");
            std::fs::write(&path, w).unwrap();
            format!("--web.config.file={}", path.display())
        }))
        .arg("--log.level=error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Prometheus {
        child,
        port,
        _dir: dir,
    }
}
