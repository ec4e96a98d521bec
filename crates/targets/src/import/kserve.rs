//! A KServe InferenceService (serving.kserve.io/v1beta1) as a policy: the
//! predictor's replica range, its metric and target, and the deployment
//! mode: Knative (KPA annotations as `target kserve` options), or Standard
//! with the `hpa` class (`scaleMetric`/`scaleTarget`) or the `keda` class
//! (`autoScaling.metrics`). The model, runtime and pod settings are not
//! autoscaling settings; the transformer's and explainer's scaling are
//! named, as scalepol compiles the predictor's.

use super::*;

/// Knative's per-revision annotations and the `target kserve` options
/// they are written from (the compiler's `kserve/knative.rs`), with the
/// unit each option takes.
const KNATIVE: [(&str, &str, &str); 6] = [
    ("window", "window", ""),
    ("target-utilization-percentage", "target_utilization", "%"),
    ("panic-window-percentage", "panic_window", "%"),
    ("panic-threshold-percentage", "panic_threshold", "%"),
    ("scale-down-delay", "scale_down_delay", ""),
    ("initial-scale", "initial_scale", ""),
];

/// Knative's default concurrency target (config-autoscaler,
/// container-concurrency-target-default).
const KNATIVE_DEFAULT_TARGET: &str = "100";

impl Builder {
    pub(super) fn kserve(mut self, doc: &Value) -> Result<Imported, String> {
        let p = &doc["spec"]["predictor"];
        self.pool_name = "predictor";
        let ann = |k: &str| annotation(doc, k).map(str::to_string);
        let mode = ann("serving.kserve.io/deploymentMode").unwrap_or_else(|| "Knative".into());
        self.min = p["minReplicas"].as_u64().unwrap_or(1);
        match p["maxReplicas"].as_u64().filter(|m| *m > 0) {
            Some(m) => self.max = m.max(self.min),
            None => {
                self.max = self.min.max(1).saturating_mul(10);
                self.notes.push(format!(
                    "the predictor has no maxReplicas (KServe leaves it unbounded) and a policy must bound it: imported as {}, write your own",
                    self.max
                ));
            }
        }
        if let Some(c) = p["containerConcurrency"].as_u64().filter(|c| *c > 0) {
            self.pool.push(format!("capacity {c} concurrent"));
        }
        let mut options = Vec::new();
        match mode.as_str() {
            "Knative" | "Serverless" => {
                options.push("mode serverless".to_string());
                self.knative(doc, p, &mut options);
            }
            "Standard" | "RawDeployment" => {
                options.push("mode standard".to_string());
                match ann("serving.kserve.io/autoscalerClass").as_deref().unwrap_or("hpa") {
                    "hpa" => self.kserve_hpa(p),
                    "keda" => {
                        options.push("autoscaler keda".to_string());
                        self.kserve_keda(p);
                    }
                    other => self.notes.push(format!(
                        "autoscalerClass `{}` was not imported: KServe does not scale the predictor itself then",
                        one_line(other)
                    )),
                }
            }
            other => {
                return Err(format!(
                    "deploymentMode `{}`: scalepol imports the Knative and Standard modes",
                    one_line(other)
                ))
            }
        }
        for component in ["transformer", "explainer"] {
            if doc["spec"].get(component).is_some_and(|c| {
                [
                    "minReplicas",
                    "maxReplicas",
                    "scaleMetric",
                    "scaleTarget",
                    "autoScaling",
                ]
                .iter()
                .any(|k| c.get(k).is_some())
            }) {
                self.notes.push(format!(
                    "the {component}'s scaling was not imported: scalepol compiles the predictor's"
                ));
            }
        }
        self.targets.push(format!(
            "target kserve {{\n    {}\n  }}",
            options.join("\n    ")
        ));
        self.unknown_fields(doc);
        self.finish("InferenceService")
    }

    /// Knative mode: the metric and target (fields, else the older
    /// annotations), and the KPA annotations as options.
    fn knative(&mut self, doc: &Value, p: &Value, options: &mut Vec<String>) {
        let ann = |k: &str| annotation(doc, k);
        let metric = s(p, "/scaleMetric")
            .or_else(|| ann("autoscaling.knative.dev/metric"))
            .unwrap_or("concurrency");
        let target = p["scaleTarget"]
            .as_u64()
            .map(|t| t.to_string())
            .or_else(|| ann("autoscaling.knative.dev/target").map(str::to_string))
            .unwrap_or_else(|| KNATIVE_DEFAULT_TARGET.to_string());
        let target = self.num(&target, "the scale target");
        let name = s(doc, "/metadata/name").unwrap_or("predictor");
        match metric {
            "cpu" | "memory" => self.scale.push(format!("on {metric} target {target}%")),
            "concurrency" | "rps" => {
                // Knative reads these from its queue-proxy; the same series in
                // Prometheus serve the simulator and `scalepol run`.
                let (series, unit) = if metric == "rps" {
                    (format!("sum(rate(revision_app_request_count{{configuration_name=\"{name}-predictor\"}}[1m]))"), " as req/s")
                } else {
                    (format!("sum(revision_app_request_concurrency{{configuration_name=\"{name}-predictor\"}})"), "")
                };
                let query = self.code(&series, "the service's name");
                self.comments.push(format!(
                    "Knative measures {metric} itself; \"{KNATIVE_PROMETHEUS}\" stands for the Prometheus that `scalepol run` and `check --prometheus` would read it from: write yours."
                ));
                self.metrics.push(MetricDecl {
                    source: "prometheus",
                    endpoint: KNATIVE_PROMETHEUS.into(),
                    name: metric.to_string(),
                    query,
                    unit: unit.to_string(),
                });
                self.scale
                    .push(format!("on {metric} per replica target {target}"));
            }
            other => self.notes.push(format!(
                "scale metric `{}` was not imported",
                one_line(other)
            )),
        }
        for (annotation, option, unit) in KNATIVE {
            if let Some(v) = ann(&format!("autoscaling.knative.dev/{annotation}")) {
                let v = if unit == "%" {
                    format!("{}%", self.num(v, annotation))
                } else {
                    self.plain(v, annotation)
                };
                options.push(format!("{option} {v}"));
            }
        }
        if let Some(v) = ann("autoscaling.knative.dev/scale-to-zero-pod-retention-period") {
            let v = self.plain(v, "scale-to-zero-pod-retention-period");
            self.scale.push(format!("cooldown {v}"));
        }
        let known = [
            "metric",
            "target",
            "class",
            "scale-to-zero-pod-retention-period",
            "min-scale",
            "max-scale",
        ];
        let all = [p.get("annotations"), doc.pointer("/metadata/annotations")];
        for key in all
            .iter()
            .flatten()
            .filter_map(|a| a.as_object())
            .flat_map(|a| a.keys())
        {
            let Some(k) = key.strip_prefix("autoscaling.knative.dev/") else {
                continue;
            };
            if !known.contains(&k) && !KNATIVE.iter().any(|(a, _, _)| *a == k) {
                self.notes
                    .push(format!("annotation `{}` was not imported", one_line(key)));
            }
        }
        if ann("autoscaling.knative.dev/min-scale").is_some()
            || ann("autoscaling.knative.dev/max-scale").is_some()
        {
            self.notes.push("the min-scale and max-scale annotations were not imported: minReplicas and maxReplicas are read".into());
        }
    }

    /// Standard mode, `hpa` class: a cpu or memory utilisation.
    fn kserve_hpa(&mut self, p: &Value) {
        let metric = s(p, "/scaleMetric").unwrap_or("cpu");
        if !matches!(metric, "cpu" | "memory") {
            self.notes.push(format!(
                "scale metric `{}` was not imported: KServe's hpa class reads cpu or memory",
                one_line(metric)
            ));
            return;
        }
        if s(p, "/scaleMetricType").is_some_and(|t| t != "Utilization") {
            self.notes
                .push("scaleMetricType other than Utilization was not imported".into());
        }
        let target = p["scaleTarget"].as_u64().unwrap_or(80);
        self.scale.push(format!("on {metric} target {target}%"));
    }

    /// Standard mode, `keda` class: resource and Prometheus metrics.
    fn kserve_keda(&mut self, p: &Value) {
        let metrics = p.pointer("/autoScaling/metrics").and_then(Value::as_array);
        for (i, m) in metrics.into_iter().flatten().enumerate() {
            match s(m, "/type") {
                Some("Resource") => {
                    let name = s(m, "/resource/name").unwrap_or("cpu").to_string();
                    self.target_line(&name, &m["resource"]["target"], true);
                }
                Some("External")
                    if s(m, "/external/metric/backend").unwrap_or("prometheus") == "prometheus" =>
                {
                    let name = format!("query_{}", i + 1);
                    let query =
                        self.code(s(m, "/external/metric/query").unwrap_or(""), "the query");
                    self.metrics.push(MetricDecl {
                        source: "prometheus",
                        endpoint: s(m, "/external/metric/serverAddress").unwrap_or("").into(),
                        name: name.clone(),
                        query,
                        unit: String::new(),
                    });
                    let v = quantity(&m["external"]["target"]["value"])
                        .or_else(|| quantity(&m["external"]["target"]["averageValue"]))
                        .unwrap_or(1.0);
                    self.scale
                        .push(format!("on {name} per replica target {}", number(v)));
                }
                other => self.notes.push(format!(
                    "an autoScaling metric of type {:?} was not imported",
                    other.unwrap_or("")
                )),
            }
        }
        if p.pointer("/autoScaling/behavior").is_some() {
            self.notes
                .push("autoScaling.behavior was not imported".into());
        }
    }

    /// A Knative duration or count as written (`60s`, `2`): digits, a
    /// point and a unit letter only.
    fn plain(&mut self, v: &str, what: &str) -> String {
        if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
            v.to_string()
        } else {
            self.refused.push(format!(
                "annotation {what} `{}` is not a plain value",
                one_line(v)
            ));
            "0".into()
        }
    }
}

/// An annotation of the predictor, else of the InferenceService.
fn annotation<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    let key = key.replace('/', "~1");
    doc.pointer(&format!("/spec/predictor/annotations/{key}"))
        .or_else(|| doc.pointer(&format!("/metadata/annotations/{key}")))
        .and_then(Value::as_str)
}

/// The Prometheus a Knative metric is read from when the service says
/// nothing: the policy names it, to be edited.
const KNATIVE_PROMETHEUS: &str = "http://prometheus:9090";
