//! VerticalPodAutoscaler `autoscaling.k8s.io/v1`, from a pool's vertical bounds.

use crate::common::{self, meta, quantity, Object, ObjectMeta, ScaleTargetRef};
use crate::{Document, Emitted, Format, Schema};
use scalepol_compiler::code;
use scalepol_compiler::diagnostics::{Diagnostic, FileId};
use scalepol_compiler::model::*;
use serde::Serialize;
use std::collections::BTreeMap;

type Vpa = Object<ObjectMeta, Spec>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    target_ref: ScaleTargetRef,
    update_policy: UpdatePolicy,
    resource_policy: ResourcePolicy,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePolicy {
    update_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourcePolicy {
    container_policies: Vec<ContainerPolicy>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPolicy {
    container_name: &'static str,
    min_allowed: BTreeMap<&'static str, String>,
    max_allowed: BTreeMap<&'static str, String>,
    controlled_resources: Vec<&'static str>,
}

pub fn emit(p: &Policy, pool: &Pool, out: &mut Emitted) {
    let (Some(v), Some(target_ref)) = (&pool.vertical, common::target_ref(p)) else {
        return;
    };
    let mode = p
        .targets
        .iter()
        .find(|t| t.target == TargetKind::Vpa)
        .and_then(|t| t.options.iter().find(|(k, _)| k == "mode"))
        .map(|(_, m)| m.as_str())
        .unwrap_or("initial");
    let (mut min, mut max, mut controlled) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    if let Some((lo, hi)) = v.cpu {
        min.insert("cpu", quantity(lo));
        max.insert("cpu", quantity(hi));
        controlled.push("cpu");
    }
    if let Some((lo, hi)) = v.memory {
        min.insert("memory", common::bytes(lo.0));
        max.insert("memory", common::bytes(hi.0));
        controlled.push("memory");
    }
    // The HPA scaling on a resource the VPA also sizes: they undo each other.
    let fights: Vec<&str> = pool
        .scale
        .iter()
        .flat_map(|s| &s.targets)
        .filter(|t| t.mode == TargetMode::Utilization && controlled.contains(&t.metric.as_str()))
        .map(|t| t.metric.as_str())
        .collect();
    if let Some(first) = fights.first() {
        out.diagnostics.push(
            Diagnostic::new(code::HPA_VPA_CONFLICT, FileId(0), v.span, format!("the VPA sizes `{first}` of pool `{}` while the pool also scales on its utilisation", pool.name))
                .label("vertical bounds")
                .help(format!("scale horizontally on another metric, or bound only the resource the horizontal target does not use (remove `{first}` here)")),
        );
    }
    let name = common::object_name(p, pool);
    let vpa = Vpa {
        api_version: "autoscaling.k8s.io/v1",
        kind: "VerticalPodAutoscaler",
        metadata: meta(p, name.clone()),
        spec: Spec {
            target_ref,
            update_policy: UpdatePolicy {
                update_mode: match mode {
                    "off" => "Off",
                    "recreate" => "Recreate",
                    "auto" => "Auto",
                    _ => "Initial",
                },
            },
            resource_policy: ResourcePolicy {
                container_policies: vec![ContainerPolicy {
                    container_name: "*",
                    min_allowed: min,
                    max_allowed: max,
                    controlled_resources: controlled,
                }],
            },
        },
    };
    out.push(Document::new(
        format!("{name}.vpa.yaml"),
        Schema::Vpa,
        Format::Yaml,
        &vpa,
    ));
}
