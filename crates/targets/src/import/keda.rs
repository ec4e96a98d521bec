//! A KEDA ScaledObject as a policy: triggers as metrics and targets, cron
//! triggers as schedules, fallback, cooldown and the HPA behavior inside.

use super::*;

impl Builder {
    pub(super) fn keda(mut self, doc: &Value) -> Result<Imported, String> {
        let spec = &doc["spec"];
        // Compiled in scaler mode: the engine decides, and the policy is the
        // source of the artifact the scaler serves, not this object.
        if let Some(t) = spec["triggers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["type"] == "external" && t.pointer("/metadata/policy").is_some())
        {
            return Err(format!(
                "this ScaledObject is served by `scalepol scaler` (policy `{}`): its policy is the source of the engine artifact the scaler serves, not this object",
                s(t, "/metadata/policy").unwrap_or("?")
            ));
        }
        self.min = spec["minReplicaCount"].as_u64().unwrap_or(0);
        let max = spec["maxReplicaCount"]
            .as_u64()
            .map(|m| m.min(u64::from(u32::MAX)) as u32);
        self.max = u64::from(scalepol_common::defaults::keda::hpa_bounds(None, max).1);
        let before = (self.scale.len(), self.schedules.len());
        let triggers = spec["triggers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for t in triggers {
            self.trigger(t);
        }
        if let Some(m) = spec.pointer("/advanced/scalingModifiers") {
            self.modifiers(m, triggers, before);
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
        self.advanced(spec);
        self.annotations(doc);
        match spec.pointer("/advanced/horizontalPodAutoscalerConfig/behavior") {
            Some(b) => self.behavior(b),
            // KEDA then creates the HPA without `behavior`: the legacy path.
            None => self.scale.push("behavior legacy".into()),
        }
        self.unknown_fields(doc);
        self.finish("ScaledObject")
    }

    /// `spec.advanced` beyond the HPA's behavior: what has no equivalent is
    /// named, never dropped in silence.
    fn advanced(&mut self, spec: &Value) {
        if spec.pointer("/advanced/restoreToOriginalReplicaCount") == Some(&Value::Bool(true)) {
            self.notes.push(
                "advanced.restoreToOriginalReplicaCount was not imported: deleting the compiled ScaledObject leaves the workload at its current count".into(),
            );
        }
        if let Some(n) = s(spec, "/advanced/horizontalPodAutoscalerConfig/name") {
            self.notes.push(format!(
                "the generated HPA's name `{}` was not imported: KEDA names it keda-hpa-<name>",
                one_line(n)
            ));
        }
    }

    /// `advanced.scalingModifiers` as `on formula`: KEDA then gives the HPA
    /// the formula's metric and the resource (cpu, memory) triggers only,
    /// so the other triggers' own targets (from `first_target` on) give way
    /// to the formula; their metrics stay declared, named as the formula
    /// reads them. A formula that cannot be carried exactly is refused.
    fn modifiers(
        &mut self,
        m: &Value,
        triggers: &[Value],
        (first_target, first_schedule): (usize, usize),
    ) {
        let formula = s(m, "/formula").unwrap_or("");
        let Some(target) = s(m, "/target") else {
            self.refused.push(
                "advanced.scalingModifiers has a formula but no target (KEDA refuses it)".into(),
            );
            return;
        };
        // The triggers that became declared metrics; the others (cpu,
        // memory, cron, GPU utilisation) are no variables of the formula here.
        let metric = |t: &Value| match s(t, "/type") {
            Some("prometheus") => !s(t, "/metadata/query").is_some_and(|q| q.contains(DCGM)),
            Some("aws-cloudwatch") => true,
            _ => false,
        };
        let name = |n: &str| match triggers.iter().find(|t| s(t, "/name") == Some(n)) {
            Some(t) if metric(t) => Ok(ident(n)),
            Some(t) => Err(format!(
                "`{n}`, a `{}` trigger, which a policy's formula cannot read",
                s(t, "/type").unwrap_or("")
            )),
            None => Err(format!("`{n}`, which names no trigger")),
        };
        let cel = match crate::formula::from_expr_lang(formula, &name) {
            Ok(cel) => self.code(&cel, "the formula"),
            Err(why) => {
                self.refused.push(format!(
                    "advanced.scalingModifiers.formula `{}` uses {why}",
                    one_line(formula)
                ));
                return;
            }
        };
        for schedule in self.schedules.split_off(first_schedule) {
            let name = schedule.split('"').nth(1).unwrap_or("").to_string();
            self.notes.push(format!(
                "cron trigger `{}` was not imported: beside scalingModifiers KEDA gives the HPA only the formula's metric and the cpu and memory triggers, so it never applied",
                one_line(&name)
            ));
        }
        let mut kept = self.scale.split_off(first_target);
        kept.retain(|line| line.starts_with("on cpu ") || line.starts_with("on memory "));
        self.scale.extend(kept);
        let per = match s(m, "/metricType") {
            Some("Value") => "",
            _ => "per replica ",
        };
        let target = self.num(target, "the formula's target");
        let mut line = format!("on formula `{cel}` {per}target {target}");
        if let Some(a) = s(m, "/activationTarget") {
            let a = self.num(a, "the formula's activation target");
            line.push_str(&format!(" activate {a}"));
        }
        self.scale.push(line);
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
        self.trigger_keys(t, ty);
        let known = matches!(
            ty,
            "cpu" | "memory" | "prometheus" | "aws-cloudwatch" | "cron"
        );
        if t.get("authenticationRef").is_some() && known {
            self.notes.push(format!(
                "the authenticationRef of trigger `{}` was not imported",
                one_line(s(t, "/name").unwrap_or(ty))
            ));
        }
        if t.get("useCachedMetrics") == Some(&Value::Bool(true)) {
            self.notes.push(format!(
                "useCachedMetrics of trigger `{}` was not imported: the HPA then reads its value as of the last polling interval",
                one_line(s(t, "/name").unwrap_or(ty))
            ));
        }
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
                let detail = self.cloudwatch_detail(md);
                self.metrics.push(MetricDecl {
                    source: "cloudwatch",
                    endpoint: s(md, "/awsRegion").unwrap_or("").into(),
                    name: name.clone(),
                    query,
                    unit: detail,
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
                    unit: String::new(),
                });
                let target = self.num(s(md, "/threshold").unwrap_or("1"), "the threshold");
                let mut line = format!("on {name} {per}target {target}");
                if let Some(a) = s(md, "/activationThreshold") {
                    let a = self.num(a, "the activation threshold");
                    line.push_str(&format!(" activate {a}"));
                }
                self.scale.push(line);
            }
            "cron" => self.cron(t),
            _ => self
                .notes
                .push(format!("a `{ty}` trigger was not imported")),
        }
    }

    /// A CloudWatch trigger's dimensions (`;`-separated names and values),
    /// statistic and unit, as the policy writes them after the query.
    fn cloudwatch_detail(&mut self, md: &Value) -> String {
        let mut out = String::new();
        let split = |k: &str| -> Vec<String> {
            s(md, k)
                .filter(|v| !v.is_empty())
                .map(|v| v.split(';').map(str::to_string).collect())
                .unwrap_or_default()
        };
        let (names, values) = (split("/dimensionName"), split("/dimensionValue"));
        if names.len() != values.len() {
            self.refused.push(
                "the trigger's dimensionName and dimensionValue lists differ in length".into(),
            );
        }
        for (n, v) in names.iter().zip(&values) {
            let (n, v) = (
                self.string(n, "a dimension's name"),
                self.string(v, "a dimension's value"),
            );
            out.push_str(&format!(" dimension {n} = {v}"));
        }
        match s(md, "/metricStat") {
            None | Some("Average") => {}
            Some(st) => match scalepol_compiler::model::CLOUDWATCH_STATISTICS
                .iter()
                .find(|(_, aws)| *aws == st)
            {
                Some((word, _)) => out.push_str(&format!(" statistic {word}")),
                None => self
                    .notes
                    .push(format!("metricStat `{}` was not imported", one_line(st))),
            },
        }
        if let Some(u) = s(md, "/metricUnit").filter(|u| !u.is_empty()) {
            let u = self.string(u, "the unit");
            out.push_str(&format!(" unit {u}"));
        }
        out
    }

    /// Names each metadata key of a trigger that its reader does not carry
    /// (a Prometheus trigger's `namespace` or `customHeaders`, a CloudWatch
    /// trigger's dimensions): each changes what the trigger reads. A trigger
    /// type that is not read at all is named once, by `trigger`.
    fn trigger_keys(&mut self, t: &Value, ty: &str) {
        let known: &[&str] = match ty {
            "cpu" | "memory" => &["value", "type"],
            // `metricName` only named the metric for the HPA; KEDA has
            // generated that name itself since 2.10 and reads no such key.
            "prometheus" => &[
                "serverAddress",
                "query",
                "threshold",
                "activationThreshold",
                "authModes",
                "metricName",
            ],
            "aws-cloudwatch" => &[
                "namespace",
                "metricName",
                "awsRegion",
                "targetMetricValue",
                "activationTargetMetricValue",
                "dimensionName",
                "dimensionValue",
                "metricStat",
                "metricUnit",
            ],
            "cron" => &["timezone", "start", "end", "desiredReplicas"],
            _ => return,
        };
        let name = s(t, "/name").unwrap_or(ty).to_string();
        for key in t["metadata"].as_object().into_iter().flat_map(|m| m.keys()) {
            if !known.contains(&key.as_str()) {
                self.notes.push(format!(
                    "metadata `{}` of trigger `{}` was not imported",
                    one_line(key),
                    one_line(&name)
                ));
            }
        }
    }

    /// A `cron` trigger as a schedule: the start, the length to the end, and
    /// the floor (`desiredReplicas`). Start and end may be any cron
    /// expressions that differ only in their minute and hour (`0 8 * * 1-5`
    /// to `0 18 * * 1-5`, or `30 * * * *` to `45 * * * *`).
    pub(super) fn cron(&mut self, t: &Value) {
        let md = &t["metadata"];
        let (Some(start), Some(end)) = (s(md, "/start"), s(md, "/end")) else {
            return;
        };
        let Some(minutes) = cron_length(start, end) else {
            self.notes.push(format!("cron trigger `{}`..`{}` was not imported: its start and end differ in more than the minute and hour", one_line(start), one_line(end)));
            return;
        };
        let length = scalepol_compiler::units::Duration((minutes * 60_000) as u64);
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

/// Minutes from a start occurrence to the next end occurrence, for cron
/// expressions that share their day, month and weekday fields: a fixed hour
/// on both (`0 8 * * *` to `30 17 * * *`), or the same hour pattern and a
/// fixed minute (`30 * * * *` to `45 * * * *`).
pub(super) fn cron_length(start: &str, end: &str) -> Option<i64> {
    let a: Vec<&str> = start.split_whitespace().collect();
    let b: Vec<&str> = end.split_whitespace().collect();
    if a.len() != 5 || b.len() != 5 || a[2..] != b[2..] {
        return None;
    }
    let num = |f: &str| f.parse::<i64>().ok();
    let (ma, mb) = (num(a[0])?, num(b[0])?);
    let length = match (num(a[1]), num(b[1])) {
        (Some(ha), Some(hb)) => (hb * 60 + mb - ha * 60 - ma).rem_euclid(24 * 60),
        // Every hour the pattern names, from minute to minute.
        (None, None) if a[1] == b[1] && mb > ma => mb - ma,
        _ => return None,
    };
    // KEDA refuses a start equal to the end.
    (length > 0).then_some(length)
}

#[cfg(test)]
mod tests {
    use super::cron_length;

    #[test]
    fn cron_lengths() {
        assert_eq!(cron_length("0 8 * * 1-5", "0 18 * * 1-5"), Some(600));
        assert_eq!(cron_length("0 22 * * *", "0 6 * * *"), Some(480));
        assert_eq!(cron_length("30 * * * *", "45 * * * *"), Some(15));
        assert_eq!(cron_length("0 18 * * 5", "0 8 * * 1"), None);
        assert_eq!(cron_length("45 * * * *", "30 * * * *"), None);
        assert_eq!(cron_length("*/5 8 * * *", "0 9 * * *"), None);
        assert_eq!(cron_length("0 8 * * *", "0 8 * * *"), None);
    }
}
