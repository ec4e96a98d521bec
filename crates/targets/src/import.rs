//! `scalepol import`: existing HPA and KEDA ScaledObject manifests to a
//! `.scalepol` policy, so that a team can adopt scalepol without rewriting by
//! hand. What has no equivalent is listed and left as a comment in the
//! policy, never dropped silently.

use serde_json::Value;
use std::fmt::Write;

/// The DCGM metric scalepol's targets read GPU utilisation from.
const DCGM: &str = "DCGM_FI_DEV_GPU_UTIL";

/// An imported policy and what could not be carried over.
pub struct Imported {
    pub name: String,
    pub source: String,
    pub notes: Vec<String>,
}

/// Imports one Kubernetes object. Every value written into the policy is
/// escaped (strings), checked (numbers, names) or refused (code that would
/// leave its back-quotes); the result is parsed again and must hold only
/// what the importer writes.
pub fn import(doc: &Value) -> Result<Imported, String> {
    let imported = match doc.get("kind").and_then(Value::as_str) {
        Some("HorizontalPodAutoscaler") => Builder::new(doc)?.hpa(doc),
        Some("ScaledObject") => Builder::new(doc)?.keda(doc),
        Some(k) => Err(format!(
            "cannot import a {k}: scalepol imports HorizontalPodAutoscaler and ScaledObject"
        )),
        None => return Err("not a Kubernetes object (no `kind`)".into()),
    }?;
    verify(&imported.source)?;
    Ok(imported)
}

/// The top-level settings the importer writes; anything else in its output
/// would come from the input, and is refused.
const WRITTEN: [&str; 5] = ["workload", "pool", "metrics", "scale", "schedule"];

fn verify(source: &str) -> Result<(), String> {
    let doc = scalepol_syntax::parse(source).map_err(|e| {
        format!(
            "the imported values do not make a valid policy ({})",
            e.message
        )
    })?;
    let ok = doc.nodes.len() == 1
        && doc.nodes[0].keyword == "policy"
        && doc.nodes[0]
            .block_nodes()
            .iter()
            .all(|n| WRITTEN.contains(&n.keyword.as_str()));
    if ok {
        Ok(())
    } else {
        Err("the imported values would add settings of their own to the policy; refused".into())
    }
}

/// Text for a `//` comment: one line, whatever the input holds.
fn one_line(t: &str) -> String {
    t.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A metric declaration: source, endpoint, name, query.
struct MetricDecl {
    source: &'static str,
    endpoint: String,
    name: String,
    query: String,
}

struct Builder {
    /// Values that cannot be written into a policy exactly (a back-quote in
    /// a query, a threshold that is not a number): the import refuses them
    /// rather than write something else (docs/security.md).
    refused: Vec<String>,
    name: String,
    workload: String,
    min: u64,
    max: u64,
    metrics: Vec<MetricDecl>,
    scale: Vec<String>,
    schedules: Vec<String>,
    notes: Vec<String>,
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// A Kubernetes quantity as a number: `500m` = 0.5, `2k` = 2000, `12Gi`.
fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let t = v.as_str()?;
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().ok()?;
    let factor = match unit {
        "" => 1.0,
        "m" => 0.001,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    Some(n * factor)
}

fn number(v: f64) -> String {
    crate::common::trim_float(v)
}

/// An identifier for a metric name (`vllm:requests-running` -> `vllm_requests_running`).
fn ident(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "m_");
    }
    if matches!(out.as_str(), "cpu" | "memory" | "gpu")
        || scalepol_common::rule_context::is_variable(&out)
    {
        out.push_str("_metric");
    }
    out
}

/// A policy name: RFC 1123 label.
fn policy_name(name: &str) -> String {
    let n: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    n.trim_matches('-').chars().take(63).collect()
}

/// Seconds as the shortest duration spelling.
fn secs(v: &Value) -> Option<String> {
    Some(scalepol_compiler::units::Duration::from_secs(v.as_u64()?).to_string())
}

fn quote(t: &str) -> String {
    format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Builder {
    /// A string value: escaped, and refused if it holds a line break or
    /// another control character (a string is one line).
    fn string(&mut self, t: &str, what: &str) -> String {
        if t.chars().any(char::is_control) {
            self.refused
                .push(format!("{what} holds a control character"));
        }
        quote(t)
    }

    /// Code between back-quotes (a query): refused if it would close them
    /// or span lines.
    fn code(&mut self, t: &str, what: &str) -> String {
        if t.contains('`') || t.chars().any(char::is_control) {
            self.refused.push(format!(
                "{what} holds a back-quote or a line break, which a policy cannot carry exactly"
            ));
            return String::new();
        }
        t.to_string()
    }

    /// A number as written in the input: digits, a point and an exponent only.
    fn num(&mut self, t: &str, what: &str) -> String {
        let plain = !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
            && t.parse::<f64>().is_ok_and(f64::is_finite);
        if plain {
            t.to_string()
        } else {
            self.refused
                .push(format!("{what} `{}` is not a number", one_line(t)));
            "0".into()
        }
    }

    fn new(doc: &Value) -> Result<Self, String> {
        let target = doc
            .pointer("/spec/scaleTargetRef")
            .ok_or("no spec.scaleTargetRef")?;
        let kind = match s(target, "/kind").unwrap_or("Deployment") {
            "Deployment" => "deployment",
            "StatefulSet" => "statefulset",
            k => return Err(format!("cannot import a scaler of a {k}: scalepol scales Deployments and StatefulSets here")),
        };
        let name = s(target, "/name").ok_or("no scaleTargetRef.name")?;
        let full = match s(doc, "/metadata/namespace") {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        let control = full.chars().any(char::is_control);
        let workload = format!("{kind} {}", quote(&full));
        let policy = policy_name(s(doc, "/metadata/name").unwrap_or(name));
        if policy.is_empty() {
            return Err("the object's name has no letter or digit to name a policy after".into());
        }
        Ok(Builder {
            refused: if control {
                vec!["the workload's name holds a control character".into()]
            } else {
                Vec::new()
            },
            name: policy,
            workload,
            min: 1,
            max: 1,
            metrics: Vec::new(),
            scale: Vec::new(),
            schedules: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn hpa(mut self, doc: &Value) -> Result<Imported, String> {
        let spec = &doc["spec"];
        self.min = spec["minReplicas"].as_u64().unwrap_or(1);
        self.max = spec["maxReplicas"].as_u64().unwrap_or(self.min);
        let metrics = spec["metrics"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for m in metrics {
            self.hpa_metric(m);
        }
        if metrics.is_empty() {
            // Kubernetes' default when an HPA lists no metric.
            self.scale.push("on cpu target 80%".into());
        }
        if let Some(b) = spec.get("behavior") {
            self.behavior(b);
        }
        self.finish("HorizontalPodAutoscaler")
    }

    /// `on ...` for a target of the given type and value.
    fn target_line(&mut self, metric: &str, target: &Value, memory: bool) {
        let ty = s(target, "/type").unwrap_or("");
        let line = match ty {
            "Utilization" => format!("on {metric} target {}%", target["averageUtilization"]),
            "AverageValue" => {
                let v = quantity(&target["averageValue"]).unwrap_or(0.0);
                match metric {
                    "cpu" => format!("on cpu per replica target {} cores", number(v)),
                    "memory" if memory => format!(
                        "on memory per replica target {}",
                        crate::common::bytes(v as u64)
                    ),
                    _ => format!("on {metric} per replica target {}", number(v)),
                }
            }
            "Value" => format!(
                "on {metric} target {}",
                number(quantity(&target["value"]).unwrap_or(0.0))
            ),
            _ => {
                self.notes.push(format!(
                    "a target of type {ty:?} on {metric} was not imported"
                ));
                return;
            }
        };
        self.scale.push(line);
    }

    fn external(&mut self, name: &str) -> String {
        let id = ident(name);
        if !self.metrics.iter().any(|m| m.name == id) {
            self.metrics.push(MetricDecl {
                source: "external",
                endpoint: "kubernetes-external-metrics".into(),
                name: id.clone(),
                query: name.to_string(),
            });
        }
        id
    }

    fn hpa_metric(&mut self, m: &Value) {
        match s(m, "/type").unwrap_or("") {
            "Resource" => {
                let name = s(m, "/resource/name").unwrap_or("cpu").to_string();
                self.target_line(&name, &m["resource"]["target"], true);
            }
            "ContainerResource" => {
                let name = s(m, "/containerResource/name").unwrap_or("cpu").to_string();
                self.notes.push(format!(
                    "the {name} target of container `{}` was imported for the whole pod",
                    s(m, "/containerResource/container").unwrap_or("?")
                ));
                self.target_line(&name, &m["containerResource"]["target"], true);
            }
            // GPU utilisation through DCGM: the built-in `gpu` target.
            "Pods" if s(m, "/pods/metric/name") == Some(DCGM) => {
                let v = quantity(&m["pods"]["target"]["averageValue"]).unwrap_or(0.0);
                self.scale.push(format!("on gpu target {}%", number(v)));
            }
            "External" | "Pods" => {
                let member = if m["type"] == "External" {
                    "external"
                } else {
                    "pods"
                };
                let name = s(m, &format!("/{member}/metric/name"))
                    .unwrap_or("metric")
                    .to_string();
                if m.pointer(&format!("/{member}/metric/selector")).is_some() {
                    self.notes.push(format!(
                        "the label selector of metric `{name}` was not imported"
                    ));
                }
                if member == "pods" {
                    self.notes.push(format!(
                        "Pods metric `{name}` was imported as an External metric of the same name"
                    ));
                }
                let id = self.external(&name);
                self.target_line(&id, &m[member]["target"], false);
            }
            ty => self.notes.push(format!(
                "a metric of type {ty} was not imported (it targets another object)"
            )),
        }
    }

    fn behavior(&mut self, b: &Value) {
        let mut tolerance = Vec::new();
        for (dir, key) in [("up", "scaleUp"), ("down", "scaleDown")] {
            let Some(r) = b.get(key) else { continue };
            let mut items: Vec<String> = Vec::new();
            for p in r["policies"].as_array().into_iter().flatten() {
                let period = secs(&p["periodSeconds"]).unwrap_or_else(|| "15s".into());
                let value = match p["value"].as_u64() {
                    Some(v) => v.to_string(),
                    None => {
                        self.refused
                            .push("a behavior policy's value is not a whole number".into());
                        "0".into()
                    }
                };
                match s(p, "/type") {
                    Some("Percent") => items.push(format!("by {value}% every {period}")),
                    _ => items.push(format!("by {value} replicas every {period}")),
                }
            }
            if let Some(sel) = s(r, "/selectPolicy") {
                match sel {
                    "Max" | "Min" | "Disabled" => {
                        items.push(format!("select {}", sel.to_ascii_lowercase()))
                    }
                    other => self.refused.push(format!(
                        "selectPolicy `{}` is not Max, Min or Disabled",
                        one_line(other)
                    )),
                }
            }
            if let Some(w) = secs(&r["stabilizationWindowSeconds"]) {
                items.push(format!("stabilize {w}"));
            }
            if let Some(t) = quantity(&r["tolerance"]) {
                tolerance.push(format!("{dir} {}%", number(t * 100.0)));
            }
            if !items.is_empty() {
                self.scale.push(format!("{dir} {{ {} }}", items.join(", ")));
            }
        }
        if !tolerance.is_empty() {
            self.scale
                .push(format!("tolerance {}", tolerance.join(" ")));
        }
    }

    fn keda(mut self, doc: &Value) -> Result<Imported, String> {
        let spec = &doc["spec"];
        self.min = spec["minReplicaCount"].as_u64().unwrap_or(0);
        self.max = spec["maxReplicaCount"].as_u64().unwrap_or(100);
        for t in spec["triggers"].as_array().into_iter().flatten() {
            self.trigger(t);
        }
        if let Some(p) = secs(&spec["pollingInterval"]) {
            self.scale.push(format!("interval {p}"));
        }
        if let Some(c) = secs(&spec["cooldownPeriod"]) {
            self.scale.push(format!("cooldown {c}"));
        }
        if let (Some(r), Some(f)) = (
            spec.pointer("/fallback/replicas").and_then(Value::as_u64),
            spec.pointer("/fallback/failureThreshold")
                .and_then(Value::as_u64),
        ) {
            let count = match s(spec, "/fallback/behavior") {
                Some("currentReplicas") => "current".to_string(),
                Some("currentReplicasIfHigher") => format!("at least {r}"),
                Some("currentReplicasIfLower") => format!("at most {r}"),
                _ => r.to_string(),
            };
            self.scale
                .push(format!("fallback {count} replicas after {f} failures"));
        }
        match spec.pointer("/idleReplicaCount").and_then(Value::as_u64) {
            Some(0) => {
                let after = secs(&spec["cooldownPeriod"]).unwrap_or_else(|| "5m".into());
                self.scale.push(format!("scale_to_zero after {after}"));
            }
            Some(n) => self.notes.push(format!(
                "idleReplicaCount {n} was not imported: only 0 is supported by KEDA"
            )),
            None => {}
        }
        if spec.pointer("/initialCooldownPeriod").is_some() {
            self.notes
                .push("initialCooldownPeriod was not imported".into());
        }
        if let Some(b) = spec.pointer("/advanced/horizontalPodAutoscalerConfig/behavior") {
            self.behavior(b);
        }
        self.finish("ScaledObject")
    }

    fn trigger(&mut self, t: &Value) {
        let md = &t["metadata"];
        let ty = s(t, "/type").unwrap_or("");
        let per = if s(t, "/metricType") == Some("Value") {
            ""
        } else {
            "per replica "
        };
        match ty {
            "cpu" | "memory" => {
                let v = s(md, "/value").unwrap_or("80");
                let line = if s(t, "/metricType") == Some("AverageValue") {
                    let q = quantity(&Value::String(v.into())).unwrap_or(0.0);
                    if ty == "cpu" {
                        format!("on cpu per replica target {} cores", number(q))
                    } else {
                        format!(
                            "on memory per replica target {}",
                            crate::common::bytes(q as u64)
                        )
                    }
                } else {
                    let v = self.num(v, "the utilisation target");
                    format!("on {ty} target {v}%")
                };
                self.scale.push(line);
            }
            "prometheus" if s(md, "/query").is_some_and(|q| q.contains(DCGM)) => {
                let v = self.num(s(md, "/threshold").unwrap_or("80"), "the threshold");
                self.scale.push(format!("on gpu target {v}%"));
            }
            "aws-cloudwatch" => {
                let name = ident(s(t, "/name").unwrap_or("metric"));
                let query = format!(
                    "{}/{}",
                    s(md, "/namespace").unwrap_or(""),
                    s(md, "/metricName").unwrap_or("")
                );
                let query = self.code(&query, "the CloudWatch metric");
                self.metrics.push(MetricDecl {
                    source: "cloudwatch",
                    endpoint: s(md, "/awsRegion").unwrap_or("").into(),
                    name: name.clone(),
                    query,
                });
                let target = self.num(s(md, "/targetMetricValue").unwrap_or("1"), "the target");
                let mut line = format!("on {name} {per}target {target}");
                if let Some(a) = s(md, "/activationTargetMetricValue") {
                    let a = self.num(a, "the activation target");
                    line.push_str(&format!(" activate {a}"));
                }
                self.scale.push(line);
            }
            "prometheus" => {
                let name = ident(s(t, "/name").unwrap_or("metric"));
                let query = self.code(s(md, "/query").unwrap_or(""), "the query");
                self.metrics.push(MetricDecl {
                    source: "prometheus",
                    endpoint: s(md, "/serverAddress").unwrap_or("").into(),
                    name: name.clone(),
                    query,
                });
                let target = self.num(s(md, "/threshold").unwrap_or("1"), "the threshold");
                let mut line = format!("on {name} {per}target {target}");
                if let Some(a) = s(md, "/activationThreshold") {
                    let a = self.num(a, "the activation threshold");
                    line.push_str(&format!(" activate {a}"));
                }
                if t.get("authenticationRef").is_some() {
                    self.notes.push(format!(
                        "the authenticationRef of trigger `{name}` was not imported"
                    ));
                }
                self.scale.push(line);
            }
            "cron" => self.cron(t),
            _ => self
                .notes
                .push(format!("a `{ty}` trigger was not imported")),
        }
    }

    /// A `cron` trigger as a schedule: the start, the length to the end, and
    /// the floor (`desiredReplicas`).
    fn cron(&mut self, t: &Value) {
        let md = &t["metadata"];
        let (Some(start), Some(end)) = (s(md, "/start"), s(md, "/end")) else {
            return;
        };
        let minutes = |c: &str| -> Option<i64> {
            let f: Vec<&str> = c.split_whitespace().collect();
            Some(f.get(1)?.parse::<i64>().ok()? * 60 + f.first()?.parse::<i64>().ok()?)
        };
        let (Some(a), Some(b)) = (minutes(start), minutes(end)) else {
            self.notes.push(format!("cron trigger `{start}`..`{end}` was not imported: start and end must be single times of day"));
            return;
        };
        let length =
            scalepol_compiler::units::Duration(((b - a).rem_euclid(24 * 60) * 60_000) as u64);
        let name = self.string(s(t, "/name").unwrap_or("schedule"), "the trigger's name");
        let floor = s(md, "/desiredReplicas").unwrap_or("1");
        if floor.parse::<u32>().is_err() {
            self.refused.push(format!(
                "desiredReplicas `{}` is not a whole number",
                one_line(floor)
            ));
            return;
        }
        let start = self.string(start, "the cron start");
        let tz = self.string(s(md, "/timezone").unwrap_or("UTC"), "the time zone");
        self.schedules.push(format!(
            "schedule {name} cron {start} for {length} tz {tz} {{\n    replicas {floor}..{}\n  }}",
            self.max
        ));
    }

    fn finish(self, kind: &str) -> Result<Imported, String> {
        if !self.refused.is_empty() {
            return Err(format!(
                "cannot be imported exactly: {}",
                self.refused.join("; ")
            ));
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "// Imported by scalepol from {kind} `{}`: review, then run `scalepol check`.",
            self.name
        );
        for n in &self.notes {
            let _ = writeln!(out, "// Not carried over: {}.", one_line(n));
        }
        let _ = writeln!(
            out,
            "policy {} {{\n  workload {}\n",
            self.name, self.workload
        );
        let _ = writeln!(
            out,
            "  // The kind is unknown: write `gpu` and an accelerator if this runs on GPUs."
        );
        let _ = writeln!(
            out,
            "  pool main: cpu {{\n    replicas {}..{}\n  }}",
            self.min, self.max
        );
        let mut sources: Vec<(&str, &str)> = self
            .metrics
            .iter()
            .map(|m| (m.source, m.endpoint.as_str()))
            .collect();
        sources.sort_unstable();
        sources.dedup();
        for (source, endpoint) in sources {
            if endpoint.chars().any(char::is_control) {
                return Err("cannot be imported exactly: a metric server's address holds a control character".into());
            }
            let _ = writeln!(out, "\n  metrics {source} {} {{", quote(endpoint));
            for m in self
                .metrics
                .iter()
                .filter(|m| m.source == source && m.endpoint == endpoint)
            {
                let _ = writeln!(out, "    {} = `{}`", m.name, m.query);
            }
            out.push_str("  }\n");
        }
        if !self.scale.is_empty() {
            out.push_str("\n  scale {\n");
            for l in &self.scale {
                let _ = writeln!(out, "    {l}");
            }
            out.push_str("  }\n");
        }
        for sch in &self.schedules {
            let _ = writeln!(out, "\n  {sch}");
        }
        out.push_str("}\n");
        Ok(Imported {
            name: self.name,
            source: out,
            notes: self.notes,
        })
    }
}
