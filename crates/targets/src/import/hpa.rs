//! An HPA (autoscaling/v2) as a policy: its metrics, targets and behavior.

use super::*;

impl Builder {
    pub(super) fn hpa(mut self, doc: &Value) -> Result<Imported, String> {
        let spec = &doc["spec"];
        self.min = spec["minReplicas"].as_u64().unwrap_or(1);
        self.max = spec["maxReplicas"].as_u64().unwrap_or(self.min);
        let metrics = spec["metrics"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        for m in metrics {
            self.hpa_metric(m);
        }
        if let Some(t) = spec.get("targetCPUUtilizationPercentage") {
            // autoscaling/v1: the one target it has.
            let t = self.num(&t.to_string(), "targetCPUUtilizationPercentage");
            self.scale.push(format!("on cpu target {t}%"));
        } else if metrics.is_empty() {
            // Kubernetes' default when an HPA lists no metric.
            self.scale.push("on cpu target 80%".into());
        }
        match spec.get("behavior") {
            Some(b) => self.behavior(b),
            // Without `behavior` the controller takes its legacy path.
            None => self.scale.push("behavior legacy".into()),
        }
        self.unknown_fields(doc);
        self.finish("HorizontalPodAutoscaler")
    }

    /// `on ...` for a target of the given type and value.
    pub(super) fn target_line(&mut self, metric: &str, target: &Value, memory: bool) {
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

    /// A metric of the external or custom metrics API, by its name there.
    fn api_metric(&mut self, source: &'static str, endpoint: &str, name: &str) -> String {
        self.declare(MetricDecl {
            source,
            endpoint: endpoint.into(),
            name: ident(name),
            query: name.to_string(),
            unit: String::new(),
        })
    }

    pub(super) fn hpa_metric(&mut self, m: &Value) {
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
                let pods = m["type"] == "Pods";
                let member = if pods { "pods" } else { "external" };
                let name = s(m, &format!("/{member}/metric/name"))
                    .unwrap_or("metric")
                    .to_string();
                if m.pointer(&format!("/{member}/metric/selector")).is_some() {
                    self.notes.push(format!(
                        "the label selector of metric `{name}` was not imported"
                    ));
                }
                let id = if pods {
                    self.api_metric("pods", "custom.metrics.k8s.io", &name)
                } else {
                    self.api_metric("external", "kubernetes-external-metrics", &name)
                };
                self.target_line(&id, &m[member]["target"], false);
            }
            "Object" => self.object_metric(m),
            ty => self
                .notes
                .push(format!("a metric of type {ty} was not imported")),
        }
    }

    /// An Object metric: a metric of another object (an Ingress's request
    /// rate), declared with the object as its endpoint.
    fn object_metric(&mut self, m: &Value) {
        let o = &m["object"];
        let name = s(o, "/metric/name").unwrap_or("metric").to_string();
        let d = &o["describedObject"];
        let (Some(kind), Some(object)) = (s(d, "/kind"), s(d, "/name")) else {
            self.notes.push(format!(
                "Object metric `{name}` names no object and was not imported"
            ));
            return;
        };
        let endpoint = format!("{}/{kind}/{object}", s(d, "/apiVersion").unwrap_or("v1"));
        if endpoint.chars().any(|c| c.is_control() || c == '"') {
            self.refused
                .push("an Object metric's object holds a quote or a control character".into());
            return;
        }
        if o.pointer("/metric/selector").is_some() {
            self.notes.push(format!(
                "the label selector of metric `{name}` was not imported"
            ));
        }
        let id = self.api_metric("object", &endpoint, &name);
        self.target_line(&id, &o["target"], false);
    }

    pub(super) fn behavior(&mut self, b: &Value) {
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
}
