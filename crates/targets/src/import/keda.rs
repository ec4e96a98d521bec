//! A KEDA ScaledObject as a policy: triggers as metrics and targets, cron
//! triggers as schedules, fallback, cooldown and the HPA behavior inside.

use super::*;

impl Builder {
    pub(super) fn keda(mut self, doc: &Value) -> Result<Imported, String> {
        let spec = &doc["spec"];
        self.min = spec["minReplicaCount"].as_u64().unwrap_or(0);
        let max = spec["maxReplicaCount"]
            .as_u64()
            .map(|m| m.min(u64::from(u32::MAX)) as u32);
        self.max = u64::from(scalepol_common::defaults::keda::hpa_bounds(None, max).1);
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
        self.annotations(doc);
        match spec.pointer("/advanced/horizontalPodAutoscalerConfig/behavior") {
            Some(b) => self.behavior(b),
            // KEDA then creates the HPA without `behavior`: the legacy path.
            None => self.scale.push("behavior legacy".into()),
        }
        self.finish("ScaledObject")
    }

    /// KEDA's pause and activation annotations as `target keda` options.
    /// KEDA reads `paused` as true unless it parses as false
    /// (NeedToBePausedByAnnotation); the others are true only when they
    /// parse as true.
    fn annotations(&mut self, doc: &Value) {
        let Some(a) = doc
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
        else {
            return;
        };
        let get = |k: &str| {
            a.get(&format!("autoscaling.keda.sh/{k}"))
                .and_then(Value::as_str)
        };
        let truth = |v: &str| match v {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
            _ => None,
        };
        let mut options = Vec::new();
        match get("paused-replicas").map(|v| (v, v.parse::<u32>())) {
            Some((_, Ok(n))) => options.push(format!("paused_replicas {n}")),
            Some((v, Err(_))) => self.notes.push(format!(
                "annotation autoscaling.keda.sh/paused-replicas `{}` is not a replica count",
                one_line(v)
            )),
            None => {}
        }
        if get("paused").is_some_and(|v| truth(v) != Some(false)) {
            options.push("paused true".into());
        }
        for (key, option) in [
            ("paused-scale-in", "paused_scale_in"),
            ("paused-scale-out", "paused_scale_out"),
            ("force-activation", "force_activation"),
        ] {
            if get(key).and_then(truth) == Some(true) {
                options.push(format!("{option} true"));
            }
        }
        if !options.is_empty() {
            self.targets.push(format!(
                "target keda {{\n    {}\n  }}",
                options.join("\n    ")
            ));
        }
    }

    pub(super) fn trigger(&mut self, t: &Value) {
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
    pub(super) fn cron(&mut self, t: &Value) {
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
}
