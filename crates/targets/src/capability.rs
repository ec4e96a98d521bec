//! The capability table: for each policy feature and each target, whether the
//! target expresses it natively, approximates it (and what will differ), or
//! cannot express it. Emitters consult it; `docs/targets.md` is generated
//! from it. Facts from the targets' documentation and source (see the
//! `SOURCES` section of the generated page).

use scalepol_compiler::model::TargetKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Feature {
    CpuMemory,
    GpuUtilization,
    CustomMetric,
    MultipleMetrics,
    Formula,
    ScaleToZero,
    Activation,
    Stabilization,
    RatePolicies,
    Tolerance,
    Cooldown,
    DecisionInterval,
    Fallback,
    Schedules,
    Rules,
    VerticalBounds,
    Drain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Native(&'static str),
    /// What will differ from the policy's meaning.
    Approx(&'static str),
    Unsupported,
    /// Not this target's concern: the VPA sizes replicas and leaves every
    /// horizontal feature to the horizontal target beside it.
    Elsewhere,
}

impl Feature {
    pub const ALL: [Feature; 17] = [
        Feature::CpuMemory,
        Feature::GpuUtilization,
        Feature::CustomMetric,
        Feature::MultipleMetrics,
        Feature::Formula,
        Feature::ScaleToZero,
        Feature::Activation,
        Feature::Stabilization,
        Feature::RatePolicies,
        Feature::Tolerance,
        Feature::Cooldown,
        Feature::DecisionInterval,
        Feature::Fallback,
        Feature::Schedules,
        Feature::Rules,
        Feature::VerticalBounds,
        Feature::Drain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feature::CpuMemory => "scaling on CPU or memory utilisation",
            Feature::GpuUtilization => "scaling on GPU utilisation",
            Feature::CustomMetric => "scaling on a metric query (Prometheus, CloudWatch, external)",
            Feature::MultipleMetrics => "several targets (the largest proposal wins)",
            Feature::Formula => "a formula over several metrics (`on formula`)",
            Feature::ScaleToZero => "scale to zero (`replicas 0..N`)",
            Feature::Activation => "activation threshold (0 to 1)",
            Feature::Stabilization => "stabilisation windows per direction",
            Feature::RatePolicies => "rate policies per direction (`by ... every ...`)",
            Feature::Tolerance => "tolerance per direction",
            Feature::Cooldown => "cooldown before scaling to zero",
            Feature::DecisionInterval => "decision interval",
            Feature::Fallback => "fallback replicas when metrics fail",
            Feature::Schedules => "schedules",
            Feature::Rules => "rules (CEL conditions)",
            Feature::VerticalBounds => "vertical bounds (CPU and memory per replica)",
            Feature::Drain => "draining before removal",
        }
    }
}

/// The horizontal targets and VPA, in table order.
pub const TARGETS: [(TargetKind, &str); 5] = [
    (TargetKind::Hpa, "HPA autoscaling/v2"),
    (TargetKind::Keda, "KEDA ScaledObject"),
    (TargetKind::Kserve, "KServe (Knative mode, KPA)"),
    (TargetKind::Vpa, "VPA"),
    (TargetKind::Aws, "AWS Application Auto Scaling"),
];

use Feature as F;
use Support::*;
use TargetKind as T;

/// How `target` expresses `feature`.
pub fn support(feature: Feature, target: TargetKind) -> Support {
    match (feature, target) {
        (_, T::Engine) => Native("the engine runs the policy's own semantics"),
        // VPA only sizes replicas; everything horizontal is another target's job.
        (F::VerticalBounds, T::Vpa) => Native("resourcePolicy.containerPolicies[].minAllowed/maxAllowed"),
        (_, T::Vpa) => Elsewhere,
        // Vertical bounds are the VPA's: a horizontal target leaves them to it.
        (F::VerticalBounds, _) => Elsewhere,

        (F::CpuMemory, T::Hpa) => Native("metrics[].resource (Utilization / AverageValue)"),
        (F::CpuMemory, T::Keda) => Native("`cpu` / `memory` triggers"),
        (F::CpuMemory, T::Kserve) => Approx("Knative's KPA scales on concurrency or rps only; CPU needs the HPA class, which cannot scale to zero"),
        (F::CpuMemory, T::Aws) => Native("ECSServiceAverageCPUUtilization / MemoryUtilization (ECS); a custom metric for SageMaker"),

        (F::GpuUtilization, T::Hpa) => Approx("read as a Pods metric `DCGM_FI_DEV_GPU_UTIL` through a metrics adapter that the cluster must provide"),
        (F::GpuUtilization, T::Keda) => Approx("a `prometheus` trigger on DCGM_FI_DEV_GPU_UTIL of the workload's pods, on the policy's Prometheus server (none declared: no trigger)"),
        (F::GpuUtilization, T::Kserve) | (F::GpuUtilization, T::Aws) => Unsupported,

        (F::CustomMetric, T::Hpa) => Approx("an External metric; the HPA has no query language, so a prometheus-adapter rule (emitted beside it) must serve the query"),
        (F::CustomMetric, T::Keda) => Native("`prometheus`, `aws-cloudwatch` or `external` trigger with the query"),
        (F::CustomMetric, T::Kserve) => Approx("only a concurrency or rps target maps to Knative's KPA; other queries are not read"),
        (F::CustomMetric, T::Aws) => Native("target tracking with a customized CloudWatch metric"),

        (F::MultipleMetrics, T::Hpa) | (F::MultipleMetrics, T::Keda) => Native("the largest proposal of the metrics wins"),
        (F::MultipleMetrics, T::Kserve) => Approx("Knative scales a revision on one metric: the first target is used"),
        (F::MultipleMetrics, T::Aws) => Native("one target-tracking policy per target; the largest capacity wins"),

        (F::Formula, T::Keda) => Native("advanced.scalingModifiers (formula in expr-lang, target, activationTarget, metricType) over triggers named after the metrics; alone in its pool, as KEDA then gives the HPA the formula's metric only"),
        (F::Formula, T::Hpa) => Approx("one External metric served by a prometheus-adapter rule that computes the formula in PromQL over `scalar()` of each query; only arithmetic over Prometheus metrics can be written so (otherwise refused)"),
        (F::Formula, T::Aws) => Approx("target tracking on a CloudWatch metric-math expression (CustomizedMetricSpecification.Metrics), when the formula is arithmetic over CloudWatch metrics (otherwise refused)"),
        (F::Formula, T::Kserve) => Unsupported,

        (F::ScaleToZero, T::Hpa) => Approx("the HPA cannot scale to zero (only behind the alpha HPAScaleToZero gate): the floor becomes 1"),
        (F::ScaleToZero, T::Keda) => Native("minReplicaCount 0"),
        (F::ScaleToZero, T::Kserve) => Native("minReplicas 0 (Knative scale to zero)"),
        (F::ScaleToZero, T::Aws) => Approx("MinCapacity 0; scaling out from zero needs an alarm-driven step policy (inference components), which is not emitted"),

        (F::Activation, T::Keda) => Native("activationThreshold on the trigger"),
        (F::Activation, T::Hpa) | (F::Activation, T::Kserve) | (F::Activation, T::Aws) => Approx("no activation threshold: any non-zero demand wakes the workload"),

        (F::Stabilization, T::Hpa) | (F::Stabilization, T::Keda) => Native("behavior.scaleUp/scaleDown.stabilizationWindowSeconds"),
        (F::Stabilization, T::Kserve) => Approx("one stable window for both directions (autoscaling.knative.dev/window); scale-down uses scale-down-delay"),
        (F::Stabilization, T::Aws) => Approx("ScaleOutCooldown / ScaleInCooldown: a cooldown after each scaling activity, not a window over recommendations"),

        (F::RatePolicies, T::Hpa) | (F::RatePolicies, T::Keda) => Native("behavior policies (Pods / Percent, periodSeconds, selectPolicy)"),
        (F::RatePolicies, T::Kserve) => Approx("no per-service rate limits: Knative's max-scale-up-rate and max-scale-down-rate are cluster-wide"),
        (F::RatePolicies, T::Aws) => Approx("no rate limits: target tracking scales out proportionally and in gradually"),

        (F::Tolerance, T::Hpa) | (F::Tolerance, T::Keda) => Native("behavior.*.tolerance (Kubernetes 1.33+; beta and on by default from 1.35)"),
        (F::Tolerance, T::Kserve) => Approx("Knative has no tolerance band"),
        (F::Tolerance, T::Aws) => Approx("the band is fixed by AWS's alarms, which scale in only well below target (often about 10%)"),

        (F::Cooldown, T::Keda) => Native("cooldownPeriod"),
        (F::Cooldown, T::Kserve) => Native("autoscaling.knative.dev/scale-to-zero-pod-retention-period"),
        (F::Cooldown, T::Hpa) | (F::Cooldown, T::Aws) => Approx("no cooldown before zero: the target does not scale to zero on its own"),

        (F::DecisionInterval, T::Keda) => Native("pollingInterval"),
        (F::DecisionInterval, T::Hpa) => Approx("the HPA sync period is cluster-wide (--horizontal-pod-autoscaler-sync-period, 15 s)"),
        (F::DecisionInterval, T::Kserve) => Approx("Knative decides every 2 s, cluster-wide"),
        (F::DecisionInterval, T::Aws) => Approx("CloudWatch alarms evaluate one-minute datapoints"),

        (F::Fallback, T::Keda) => Native("fallback.failureThreshold / fallback.replicas"),
        (F::Fallback, T::Hpa) => Approx("the HPA holds its count when a metric fails (it skips scale-down) but has no fallback count"),
        (F::Fallback, T::Kserve) => Unsupported,
        (F::Fallback, T::Aws) => Approx("missing data leaves the alarms in INSUFFICIENT_DATA: capacity holds, no fallback count"),

        (F::Schedules, T::Keda) => Approx("a `cron` trigger raises the floor to the schedule's minimum while active; a schedule's maximum is not applied"),
        (F::Schedules, T::Aws) => Native("PutScheduledAction with cron and time zone, MinCapacity/MaxCapacity"),
        (F::Schedules, T::Hpa) | (F::Schedules, T::Kserve) => Unsupported,

        (F::Rules, _) => Approx("rules are enforced only by the scalepol decision engine"),

        (F::Drain, T::Hpa) | (F::Drain, T::Keda) | (F::Drain, T::Kserve) => Native("a patch sets terminationGracePeriodSeconds and a preStop wait"),
        (F::Drain, T::Aws) => Approx("connection draining is configured on the load balancer or endpoint, not by autoscaling"),
    }
}

/// The targets that support `feature` natively, for error messages.
pub fn native_targets(feature: Feature) -> Vec<&'static str> {
    TARGETS
        .iter()
        .filter(|(t, _)| matches!(support(feature, *t), Native(_)))
        .map(|(t, _)| target_name(*t))
        .collect()
}

pub fn target_name(t: TargetKind) -> &'static str {
    TargetKind::ALL
        .iter()
        .find(|(_, k)| *k == t)
        .map(|(n, _)| *n)
        .unwrap_or("engine")
}

/// `docs/targets.md`, generated from the table.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Compile targets\n\n\
         Generated from the capability table (`crates/targets/src/capability.rs`) by the\n\
         test `targets_doc_is_generated`; do not edit by hand. `scalepol compile --explain`\n\
         prints the same for one policy.\n\n\
         Each feature of a policy is **native** on a target (a field says exactly the same),\n\
         **approximated** (a warning, SP0701, says what will differ) or **unsupported** (an\n\
         error, SP0702, that names the targets that can; with `--target all` the target is\n\
         skipped for that policy). Every document is validated against the platform's JSON\n\
         Schema (`crates/targets/schemas/`) and its server-side rules before it is written.\n\n\
         KEDA in scaler mode (`target keda { scaler \"HOST:PORT\" }`) is the engine column: the\n\
         ScaledObject calls `scalepol scaler`, KEDA's external scaler, which decides with the\n\
         engine, so every feature is native there; its metrics must be Prometheus queries\n\
         (docs/runtime.md, \"In the cluster\").\n\n\
         | feature |",
    );
    for (_, label) in TARGETS {
        out.push_str(&format!(" {label} |"));
    }
    out.push_str("\n|---|");
    for _ in TARGETS {
        out.push_str("---|");
    }
    out.push('\n');
    for f in Feature::ALL {
        out.push_str(&format!("| {} |", f.name()));
        for (t, _) in TARGETS {
            let cell = match support(f, t) {
                Support::Native(how) => format!("native: {how}"),
                Support::Approx(what) => format!("approximated: {what}"),
                Support::Unsupported => "unsupported".to_string(),
                Support::Elsewhere => "left to the horizontal target".to_string(),
            };
            out.push_str(&format!(" {} |", cell.replace('|', "\\|")));
        }
        out.push('\n');
    }
    out.push_str(MAPPING);
    out
}

/// How constructs map to fields, with the upstream references.
const MAPPING: &str = r#"
## Workloads

| workload | targets | scale target |
|---|---|---|
| `deployment`, `statefulset` | hpa, keda, vpa | `scaleTargetRef` / `targetRef` `apps/v1` |
| `inferenceservice` | kserve | the InferenceService's `predictor` |
| `sagemaker-variant` | aws | `endpoint/E/variant/V`, `sagemaker:variant:DesiredInstanceCount` |
| `sagemaker-component` | aws | `inference-component/N`, `sagemaker:inference-component:DesiredCopyCount` |
| `ecs-service` | aws | `service/C/S`, `ecs:service:DesiredCount` |

## Files

| target | files |
|---|---|
| hpa | `NAME.hpa.yaml`; `NAME.prometheus-adapter.yaml` (prometheus-adapter `rules.external` serving each Prometheus query as External metric `scalepol_POLICY_METRIC`); `NAME.drain-patch.yaml` |
| keda | `NAME.keda.yaml` (ScaledObject); `NAME.drain-patch.yaml` |
| kserve | `NAME.kserve.yaml`: the predictor's scaling fields, for `kubectl apply --server-side --field-manager=scalepol` |
| vpa | `NAME.vpa.yaml` |
| aws | `NAME.aws.01-register-scalable-target.json`, `NAME.aws.02-policy-METRIC.json`, `NAME.aws.03-schedule-S-start.json` / `-end.json` (apply in order with `aws application-autoscaling ... --cli-input-json file://...`), and `NAME.aws.cloudformation.json` |

`NAME` is the policy's name, with `-POOL` appended when a policy has several
pools. YAML files start with a comment naming the generator version, the
source file and its SHA-256, and "do not edit"; the AWS request files are
plain JSON (AWS rejects unknown members).

The drain patch is a Kustomize JSON 6902 patch (`patches: [{target: {kind:
Deployment, name: ...}, path: NAME.drain-patch.yaml}]`) that sets
`terminationGracePeriodSeconds` to the drain plus a preStop wait of a third
of it (1-15 s) on the first container, so that endpoints are removed before
the server stops accepting requests (the `sleep` action needs Kubernetes 1.30+).

## Field mapping

- **HPA** ([Horizontal Pod Autoscaling](https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/)):
  `replicas MIN..MAX` → `minReplicas` (at least 1) / `maxReplicas`; `on cpu|memory
  target P%` → `Resource` `Utilization`; `per replica` → `AverageValue`; declared
  metrics → `External` (`AverageValue` per replica, `Value` total); `up`/`down` →
  `behavior.scaleUp`/`scaleDown` (`policies`, `selectPolicy`,
  `stabilizationWindowSeconds`); `tolerance` → `behavior.*.tolerance` for
  `--k8s-version` 1.33 and later.
- **KEDA** ([ScaledObject spec](https://keda.sh/docs/2.20/reference/scaledobject-spec/)):
  `minReplicaCount`/`maxReplicaCount`; `interval` → `pollingInterval` (or
  `target keda { polling ... }`); `cooldown` → `cooldownPeriod`; `fallback` →
  `fallback.failureThreshold`/`replicas`; `up`/`down`/`tolerance` →
  `advanced.horizontalPodAutoscalerConfig.behavior`; Prometheus metrics →
  `prometheus` triggers (`serverAddress`, `query`, `threshold`,
  `activationThreshold`), CloudWatch → `aws-cloudwatch`, external → `external`,
  cpu/memory → `cpu`/`memory` triggers; schedules → `cron` triggers
  (`start`, `end` = start + duration, on the next days when it passes midnight,
  `desiredReplicas` = the schedule's minimum).
- **KServe** ([autoscaling](https://kserve.github.io/website/docs/model-serving/predictive-inference/autoscaling/kpa-autoscaler)):
  Knative mode (default, `target kserve { mode serverless }`):
  `serving.kserve.io/deploymentMode: Knative` (KServe 0.20's name; `Serverless` is the legacy one),
  predictor `minReplicas` (0 allowed), `maxReplicas`, `scaleMetric`
  (`concurrency` for a per-replica count, `rps` for a per-replica request rate;
  `cpu`/`memory` with Knative's `hpa.autoscaling.knative.dev` class, floor 1),
  `scaleTarget`, `containerConcurrency` from `capacity N concurrent`, and
  Knative annotations `autoscaling.knative.dev/window` (the scale-down window,
  or `window`, 6 s-1 h), `target-utilization-percentage` (`"100"` unless the
  policy sets it, so that Knative holds the policy's target, not its default
  70% of it), `panic-window-percentage`, `panic-threshold-percentage`,
  `scale-down-delay`, `initial-scale`, `activation-scale` (from `target kserve`
  options) and `scale-to-zero-pod-retention-period` (the cooldown); the
  cluster-wide `max_scale_up_rate`, `max_scale_down_rate` and
  `scale_to_zero_grace` are reported (SP0701), not written. The engine
  decides such pools with Knative's KPA (docs/runtime.md). Standard mode
  (`mode standard`, `deploymentMode: Standard`, formerly `RawDeployment`):
  with `autoscaler hpa` (default) `scaleMetric` `cpu`/`memory` and a
  utilisation `scaleTarget` of 1-100, floor 1 (KServe's webhook refuses
  concurrency and rps there: SP0705); with `autoscaler keda`
  `autoScaling.metrics` (`Resource` for cpu/memory utilisation, `External`
  Prometheus queries for per-replica targets, `minReplicas` 0 allowed).
- **VPA** ([Vertical Pod Autoscaler](https://github.com/kubernetes/autoscaler/tree/master/vertical-pod-autoscaler)):
  `vertical { cpu .. cores, memory .. }` → `resourcePolicy.containerPolicies[*]`
  `minAllowed`/`maxAllowed`/`controlledResources`; `target vpa { mode ... }` →
  `updatePolicy.updateMode` (default `Initial`). SP0704 warns when the pool also
  scales on the utilisation of a resource the VPA controls.
- **AWS** ([Application Auto Scaling](https://docs.aws.amazon.com/autoscaling/application/userguide/what-is-application-auto-scaling.html)):
  `RegisterScalableTarget` with `MinCapacity`/`MaxCapacity` (and `RoleARN` from
  `target aws { role ... }`); one `TargetTrackingScaling` policy per target:
  `AWS/SageMaker/InvocationsPerInstance` → `SageMakerVariantInvocationsPerInstance`,
  `AWS/SageMaker/InvocationsPerCopy` → `SageMakerInferenceComponentInvocationsPerCopy`,
  ECS cpu/memory → `ECSServiceAverageCPUUtilization`/`MemoryUtilization`, other
  CloudWatch metrics → `CustomizedMetricSpecification` (Average);
  up/down stabilisation → `ScaleOutCooldown`/`ScaleInCooldown`; `down disabled` →
  `DisableScaleIn`; schedules → `PutScheduledAction` at the start (the schedule's
  range) and at the end (the pool's range; past midnight on the next days:
  `0 22 * * MON-FRI` for 10h ends `cron(0 8 ? * TUE,WED,THU,FRI,SAT *)`),
  `cron(m h dom mon dow *)` with the time zone. Endpoint variants cannot scale to zero (an error); inference
  components can (MinCapacity 0, approximated: scaling out from zero needs an
  alarm-driven step policy).
"#;
