//! A VerticalPodAutoscaler as a policy: its resource bounds as the pool's
//! `vertical` block, its update mode as `target vpa { mode ... }`. The
//! compiled VPA bounds every container (`containerName: "*"`), so one
//! policy for all containers is carried and any other is named.

use super::*;

impl Builder {
    pub(super) fn vpa(mut self, doc: &Value) -> Result<Imported, String> {
        let spec = &doc["spec"];
        let policies = spec
            .pointer("/resourcePolicy/containerPolicies")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        // The policy for every container, else the only one there is.
        let chosen = policies
            .iter()
            .find(|c| s(c, "/containerName") == Some("*"))
            .or_else(|| (policies.len() == 1).then(|| &policies[0]));
        for c in policies
            .iter()
            .filter(|c| chosen.is_none_or(|x| !std::ptr::eq(*c, x)))
        {
            self.notes.push(format!(
                "the resource policy of container `{}` was not imported: the compiled VPA bounds every container alike",
                one_line(s(c, "/containerName").unwrap_or("?"))
            ));
        }
        match chosen {
            Some(c) => self.container_policy(c),
            None => self.notes.push(
                "no resource bounds: the compiled VPA always bounds what it recommends (write `vertical { cpu MIN..MAX cores, memory MIN..MAX }`)".into(),
            ),
        }
        let mode = match s(spec, "/updatePolicy/updateMode").unwrap_or("Auto") {
            "Off" => "off",
            "Initial" => "initial",
            "Recreate" => "recreate",
            "Auto" => "auto",
            other => {
                self.notes.push(format!(
                    "updateMode `{}` was not imported: scalepol writes Off, Initial, Recreate or Auto",
                    one_line(other)
                ));
                "auto"
            }
        };
        self.targets
            .push(format!("target vpa {{\n    mode {mode}\n  }}"));
        if let Some(n) = spec.pointer("/updatePolicy/minReplicas") {
            self.notes.push(format!(
                "updatePolicy.minReplicas {n} (the fewest live replicas before the VPA evicts) was not imported"
            ));
        }
        match self.workload_replicas {
            Some(n) => {
                (self.min, self.max) = (n, n);
                self.replicas_comment =
                    Some("the workload's own count, from its manifest: the VPA does not set it");
            }
            None => {
                self.replicas_comment =
                    Some("the VPA does not set the replica count: write the workload's")
            }
        }
        self.unknown_fields(doc);
        self.finish("VerticalPodAutoscaler")
    }

    /// One container's bounds as `vertical { cpu ..., memory ... }`.
    fn container_policy(&mut self, c: &Value) {
        if s(c, "/mode") == Some("Off") {
            self.notes
                .push("a container policy with mode Off was imported as bounds".into());
        }
        if s(c, "/controlledValues") == Some("RequestsOnly") {
            self.notes.push(
                "controlledValues RequestsOnly was not imported: the compiled VPA scales limits with requests".into(),
            );
        }
        let mut lines = Vec::new();
        for (resource, controlled) in [("cpu", "cpu"), ("memory", "memory")] {
            let bound = |k: &str| quantity(&c[k][resource]);
            match (bound("minAllowed"), bound("maxAllowed")) {
                (Some(lo), Some(hi)) if resource == "cpu" => {
                    lines.push(format!("cpu {}..{} cores", number(lo), number(hi)))
                }
                (Some(lo), Some(hi)) => lines.push(format!(
                    "memory {}..{}",
                    crate::common::bytes(lo as u64),
                    crate::common::bytes(hi as u64)
                )),
                (None, None) => {}
                _ => self.notes.push(format!(
                    "a {resource} bound on one side only was not imported: scalepol bounds both"
                )),
            }
            let listed = c["controlledResources"].as_array();
            if listed.is_some_and(|l| !l.iter().any(|x| x == controlled))
                && bound("minAllowed").is_some()
            {
                self.notes.push(format!(
                    "{resource} is bounded but not in controlledResources: the compiled VPA controls every bounded resource"
                ));
            }
        }
        if !lines.is_empty() {
            self.pool
                .push(format!("vertical {{ {} }}", lines.join(", ")));
        }
    }
}
