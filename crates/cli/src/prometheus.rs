//! A small Prometheus HTTP API client, shared by `scalepol run` (one value
//! per metric and tick) and `scalepol check --prometheus` (each query run
//! once, and the metrics it reads looked up). HTTP or HTTPS (rustls, with
//! the Mozilla roots, plus a private CA from a file), with an optional
//! bearer token, as managed Prometheus services and authenticating proxies
//! want.

use std::path::Path;
use std::time::Duration;

pub struct Client {
    agent: ureq::Agent,
    base: String,
    /// `Authorization: Bearer ...`, never printed.
    token: Option<String>,
}

/// The bearer token: from a file (`--prometheus-token-file`, as mounted
/// from a Kubernetes secret), else `SCALEPOL_PROMETHEUS_TOKEN`.
pub fn token(file: Option<&Path>) -> Result<Option<String>, String> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let t = text.trim();
        if t.is_empty() {
            return Err(format!("{}: the token file is empty", f.display()));
        }
        return Ok(Some(t.to_string()));
    }
    Ok(std::env::var("SCALEPOL_PROMETHEUS_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_string()))
}

/// How to reach the server beyond its URL.
#[derive(Clone, Default)]
pub struct Access {
    pub token: Option<String>,
    /// Trusting a private CA's certificates besides the public roots.
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Access {
    /// From the command line's `--prometheus-token-file` and
    /// `--prometheus-ca`, both read (and refused) at once.
    pub fn from_files(token_file: Option<&Path>, ca: Option<&Path>) -> Result<Access, String> {
        Ok(Access {
            token: token(token_file)?,
            tls: ca.map(tls_config).transpose()?,
        })
    }
}

/// A TLS configuration trusting the Mozilla roots and the CA file's
/// certificates.
fn tls_config(ca: &Path) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let certs = CertificateDer::pem_file_iter(ca)
        .map_err(|e| format!("{}: {e}", ca.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", ca.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", ca.display()));
    }
    for c in certs {
        roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

impl Client {
    pub fn new(base: &str, timeout: Duration, access: &Access) -> Result<Client, String> {
        let https = base.starts_with("https://");
        if !https && !base.starts_with("http://") {
            return Err(format!("{base}: not an http:// or https:// URL"));
        }
        let mut agent = ureq::AgentBuilder::new().timeout(timeout);
        if let Some(tls) = &access.tls {
            agent = agent.tls_config(std::sync::Arc::clone(tls));
        }
        Ok(Client {
            agent: agent.build(),
            base: base.trim_end_matches('/').to_string(),
            token: access.token.clone(),
        })
    }

    fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<serde_json::Value, String> {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        for (k, v) in params {
            req = req.query(k, v);
        }
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let body: serde_json::Value = match req.call() {
            Ok(r) => r
                .into_string()
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .ok_or_else(|| "an answer that is not Prometheus JSON".to_string())?,
            Err(ureq::Error::Status(code, r)) => {
                let msg = r
                    .into_string()
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| v["error"].as_str().map(str::to_string))
                    .unwrap_or_default();
                return Err(format!("HTTP {code} {msg}").trim().to_string());
            }
            Err(e) => return Err(e.to_string()),
        };
        if body["status"] != "success" {
            return Err(format!(
                "query failed: {}",
                body["error"].as_str().unwrap_or("unknown error")
            ));
        }
        Ok(body["data"].clone())
    }

    /// An instant query: the value of each series of the result (a scalar
    /// is one value).
    pub fn instant(&self, promql: &str, now: f64) -> Result<Vec<f64>, String> {
        let data = self.get(
            "/api/v1/query",
            &[("query", promql), ("time", &format!("{now:.3}"))],
        )?;
        let value = |sample: &serde_json::Value| -> Result<f64, String> {
            sample[1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| "a sample without a value".to_string())
        };
        match data["resultType"].as_str() {
            Some("scalar") => Ok(vec![value(&data["result"])?]),
            Some("vector") => data["result"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|s| value(&s["value"]))
                .collect(),
            other => Err(format!(
                "a {} result, not a vector or scalar",
                other.unwrap_or("missing")
            )),
        }
    }

    /// The value of a query that must return exactly one finite number.
    pub fn value(&self, promql: &str, now: f64) -> Result<f64, String> {
        let v = match self.instant(promql, now)?.as_slice() {
            [] => return Err("no data".into()),
            [one] => *one,
            many => {
                return Err(format!(
                    "{} series: aggregate them (sum, avg, max)",
                    many.len()
                ))
            }
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("the value is {v}"))
        }
    }

    /// Whether Prometheus holds any series of the metric in the hour before
    /// `now`.
    pub fn has_series(&self, metric: &str, now: f64) -> Result<bool, String> {
        let selector = format!(
            "{{__name__=\"{}\"}}",
            metric.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let data = self.get(
            "/api/v1/series",
            &[
                ("match[]", &selector),
                ("start", &format!("{:.3}", now - 3600.0)),
                ("end", &format!("{now:.3}")),
            ],
        )?;
        Ok(data.as_array().is_some_and(|a| !a.is_empty()))
    }
}
