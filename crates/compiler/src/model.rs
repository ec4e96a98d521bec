//! The typed policy model: names resolved, units normalised to base units
//! (milliseconds, micro-dollars, bytes, fractions of one), defaults applied and
//! recorded with their origin. Every later stage (targets, the engine, the
//! simulator, the language server) reads this model, never the syntax tree.

use crate::units::{Bytes, Duration, Money, MoneyRate};
use scalepol_syntax::Span;
use serde::{Deserialize, Serialize};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Written in the policy at this span (of the policy's own file).
    Written { span: Span },
    /// Inherited from a defaults file.
    Inherited { file: String, span: Span },
    /// Not written: a documented default.
    Default { source: String },
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Valued<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Valued<T> {
    pub fn written(value: T, span: Span) -> Self {
        Valued {
            value,
            origin: Origin::Written { span },
        }
    }
    pub fn default(value: T, source: &str) -> Self {
        Valued {
            value,
            origin: Origin::Default {
                source: source.to_string(),
            },
        }
    }
    pub fn is_default(&self) -> bool {
        matches!(self.origin, Origin::Default { .. })
    }
    /// The span it was written at, in its own file, if written.
    pub fn span(&self) -> Option<Span> {
        match &self.origin {
            Origin::Written { span } | Origin::Inherited { span, .. } => Some(*span),
            Origin::Default { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub name_span: Span,
    /// The defaults file this policy extends, as written.
    pub extends: Option<String>,
    pub workload: Workload,
    pub pools: Vec<Pool>,
    pub slo: Option<Slo>,
    pub budget: Option<Budget>,
    pub metrics: Vec<Metric>,
    pub rules: Vec<Rule>,
    pub schedules: Vec<Schedule>,
    pub tests: Vec<TestCase>,
    pub targets: Vec<TargetOptions>,
}

impl Policy {
    /// The value of `target KIND { KEY VALUE }`, in its canonical spelling.
    pub fn target_option(&self, kind: TargetKind, key: &str) -> Option<&str> {
        self.targets
            .iter()
            .find(|t| t.target == kind)
            .and_then(|t| t.options.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.as_str())
    }
    /// Whether KEDA falls back for a failing target (pkg/fallback): per
    /// replica, on a metric of KEDA's own scalers (the HPA reads CPU and
    /// memory itself).
    pub fn falls_back(&self, t: &ScaleTarget) -> bool {
        t.mode == TargetMode::PerReplica
            && self
                .metric(&t.metric)
                .is_none_or(|m| m.resource().is_none())
    }
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    Deployment,
    Statefulset,
    Inferenceservice,
    SagemakerVariant,
    SagemakerComponent,
    EcsService,
}

impl WorkloadKind {
    pub const ALL: [(&'static str, WorkloadKind); 6] = [
        ("deployment", WorkloadKind::Deployment),
        ("statefulset", WorkloadKind::Statefulset),
        ("inferenceservice", WorkloadKind::Inferenceservice),
        ("sagemaker-variant", WorkloadKind::SagemakerVariant),
        ("sagemaker-component", WorkloadKind::SagemakerComponent),
        ("ecs-service", WorkloadKind::EcsService),
    ];
    pub fn is_kubernetes(self) -> bool {
        matches!(
            self,
            WorkloadKind::Deployment | WorkloadKind::Statefulset | WorkloadKind::Inferenceservice
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// `namespace/name` for Kubernetes kinds (namespace may be absent),
    /// `endpoint/variant` for SageMaker variants, `cluster/service` for ECS.
    pub name: String,
    pub span: Span,
}

impl Workload {
    /// The namespace and the object name of a Kubernetes workload.
    pub fn namespace_and_name(&self) -> (Option<&str>, &str) {
        match self.name.split_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, self.name.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    Gpu,
    Cpu,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub name: String,
    pub name_span: Span,
    pub kind: PoolKind,
    pub accelerator: Option<Accelerator>,
    pub replicas: ReplicaRange,
    /// From the scale-up decision to serving traffic (model load included).
    pub warmup: Valued<Duration>,
    /// Connection draining before a replica is removed.
    pub drain: Valued<Duration>,
    pub capacity: Vec<Capacity>,
    pub cost: Option<Valued<MoneyRate>>,
    /// Share of replicas on spot capacity, 0.0..=1.0.
    pub spot: Valued<f64>,
    pub vertical: Option<Vertical>,
    /// How the pool scales; `None` means a fixed-size pool (`replicas.min`).
    pub scale: Option<Scaling>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accelerator {
    pub name: String,
    /// Accelerators per replica.
    pub count: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplicaRange {
    pub min: u32,
    pub max: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityUnit {
    /// Requests in flight at once.
    Concurrent,
    RequestsPerSecond,
    TokensPerSecond,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub value: f64,
    pub unit: CapacityUnit,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Vertical {
    /// CPU cores per replica.
    pub cpu: Option<(f64, f64)>,
    pub memory: Option<(Bytes, Bytes)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub latency: Option<LatencyObjective>,
    /// Time to first token (LLM pools): queueing and prefill.
    #[serde(default)]
    pub ttft: Option<LatencyObjective>,
    /// Inter-token latency (LLM pools): the time between output tokens of
    /// one stream while it decodes.
    #[serde(default)]
    pub itl: Option<LatencyObjective>,
    /// Output tokens per second the pool must be able to generate.
    #[serde(default)]
    pub throughput: Option<Valued<f64>>,
    /// Fraction of one, e.g. 0.999.
    pub availability: Option<Valued<f64>>,
    /// Declared peak demand, requests per second.
    pub peak_rps: Option<Valued<f64>>,
    /// Request timeout (clients give up after it).
    pub timeout: Option<Valued<Duration>>,
    pub span: Span,
}

impl Slo {
    /// The objective on a request's wait for its answer: `latency`, or for
    /// an LLM pool that declares only `ttft`, the time to first token (the
    /// simulator measures an LLM request's latency to its first token).
    pub fn objective(&self) -> Option<&LatencyObjective> {
        self.latency.as_ref().or(self.ttft.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyObjective {
    /// The percentile as a fraction: p95 is 0.95.
    pub percentile: f64,
    pub threshold: Duration,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Monthly,
    Daily,
}

impl BudgetPeriod {
    /// Hours in the period: 730 for a month (8760 / 12), 24 for a day.
    pub fn hours(self) -> u32 {
        match self {
            BudgetPeriod::Monthly => 730,
            BudgetPeriod::Daily => 24,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    Enforce,
    Warn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub period: BudgetPeriod,
    pub limit: Money,
    pub enforcement: Valued<Enforcement>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricSourceKind {
    /// Container CPU, memory or GPU utilisation, known to every platform.
    Builtin,
    Prometheus,
    Cloudwatch,
    External,
    /// A per-pod metric of the custom metrics API (`custom.metrics.k8s.io`),
    /// averaged over the pods: the HPA's `Pods` metric type.
    Pods,
    /// A metric of another object of the custom metrics API (an Ingress's
    /// request rate): the HPA's `Object` metric type. The endpoint names the
    /// object, `APIVERSION/KIND/NAME`.
    Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricUnit {
    /// A plain count or gauge.
    Count,
    /// A utilisation in percent, 0-100.
    Percent,
    RequestsPerSecond,
    TokensPerSecond,
    /// A latency or duration, in milliseconds.
    Milliseconds,
    Bytes,
}

impl MetricUnit {
    pub fn name(self) -> &'static str {
        match self {
            MetricUnit::Count => "count",
            MetricUnit::Percent => "percent",
            MetricUnit::RequestsPerSecond => "req/s",
            MetricUnit::TokensPerSecond => "tokens/s",
            MetricUnit::Milliseconds => "ms",
            MetricUnit::Bytes => "bytes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub span: Span,
    pub source: MetricSourceKind,
    /// The server URL (Prometheus), region (CloudWatch) or scaler address.
    pub endpoint: Option<String>,
    /// The query as written (PromQL, `Namespace/MetricName`, ...); for
    /// built-ins, the resource name (`cpu`, `memory`, `gpu`).
    pub query: String,
    /// Where the query's text is: inside the back-quotes, byte for byte;
    /// a quoted string's whole span (escapes shift its offsets).
    #[serde(default)]
    pub query_span: Span,
    pub unit: MetricUnit,
    /// How often the metric is sampled, if declared.
    pub interval: Option<Duration>,
    /// Declared in a defaults file rather than the policy itself.
    pub inherited: bool,
    /// A CloudWatch metric's dimensions, statistic and unit.
    #[serde(default)]
    pub cloudwatch: CloudWatchDetail,
}

/// What identifies a CloudWatch metric beyond its namespace and name: the
/// dimensions it was published with (a metric published with dimensions has
/// no data without them), the statistic read and its unit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudWatchDetail {
    /// (name, value), in the order written.
    pub dimensions: Vec<(String, String)>,
    /// `Average` (the default), `Minimum`, `Maximum`, `SampleCount`, `Sum`.
    pub statistic: Option<String>,
    /// A CloudWatch standard unit (`Count`, `Seconds`, ...).
    pub unit: Option<String>,
}

/// CloudWatch's statistics, as the policy writes them and as AWS names them.
pub const CLOUDWATCH_STATISTICS: [(&str, &str); 5] = [
    ("average", "Average"),
    ("minimum", "Minimum"),
    ("maximum", "Maximum"),
    ("sample_count", "SampleCount"),
    ("sum", "Sum"),
];

/// CloudWatch's standard units (the CloudWatch API's `StandardUnit`).
pub const CLOUDWATCH_UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

impl Metric {
    /// The container resource a built-in metric reads (`cpu`, `memory`):
    /// the HPA reads those from the metrics server itself, and the
    /// platforms treat them apart from every other metric.
    pub fn resource(&self) -> Option<&'static str> {
        match (self.source, self.name.as_str()) {
            (MetricSourceKind::Builtin, "cpu") => Some("cpu"),
            (MetricSourceKind::Builtin, "memory") => Some("memory"),
            _ => None,
        }
    }
}

/// The built-in metrics, always in scope.
pub const BUILTIN_METRICS: [&str; 3] = ["cpu", "memory", "gpu"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    pub span: Span,
    pub targets: Vec<ScaleTarget>,
    /// Band around the target in which nothing changes, per direction.
    pub tolerance_up: Valued<f64>,
    pub tolerance_down: Valued<f64>,
    pub up: Behavior,
    pub down: Behavior,
    /// KEDA cooldown: how long after the last active trigger before scaling to zero.
    pub cooldown: Valued<Duration>,
    /// How often metrics are read and a decision made.
    pub interval: Valued<Duration>,
    pub fallback: Option<Fallback>,
    pub scale_to_zero: Option<ScaleToZero>,
    /// `behavior legacy`, where written: the HPA without `behavior`
    /// (autoscaling/v1, or v2 without it), run by the controller's
    /// normalizeDesiredReplicas instead of `up` and `down`.
    #[serde(default)]
    pub legacy: Option<Span>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetMode {
    /// The metric divided by the replica count (HPA `AverageValue`).
    PerReplica,
    /// The metric as a whole (HPA `Value`).
    Total,
    /// A utilisation percentage of the requested resource (HPA `Utilization`).
    Utilization,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleTarget {
    pub metric: String,
    pub mode: TargetMode,
    /// In the metric's base unit (percent as 0-100, durations in ms).
    pub target: f64,
    /// KEDA activation: at or below this, the workload may scale to zero.
    pub activation: Option<f64>,
    pub span: Span,
    /// `on formula `EXPR``: the target is a CEL expression over the declared
    /// metrics, and `metric` is [`FORMULA`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<Formula>,
}

impl ScaleTarget {
    /// The declared metrics this target reads: its metric, or its formula's.
    pub fn reads(&self) -> Vec<&str> {
        match &self.formula {
            Some(f) => f.reads.iter().map(String::as_str).collect(),
            None => vec![self.metric.as_str()],
        }
    }
}

/// The name a formula target's value goes by (in the engine's observation,
/// in explanations): reserved, so no declared metric can take it.
pub const FORMULA: &str = "formula";

/// A composite metric: CEL over the declared metrics, checked to be a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formula {
    /// The expression as written, between the back-quotes.
    pub expr: String,
    /// Where the expression is: inside the back-quotes.
    pub span: Span,
    /// The metrics it reads, in order of first use.
    pub reads: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    Percent,
    Replicas,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatePolicy {
    pub kind: RateKind,
    /// Percent (100 = double) or replicas.
    pub value: u32,
    pub period: Duration,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Behavior {
    pub policies: Valued<Vec<RatePolicy>>,
    pub select: Valued<SelectPolicy>,
    pub stabilization: Valued<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fallback {
    pub replicas: u32,
    /// Consecutive metric failures before the fallback applies (KEDA's
    /// failureThreshold: it applies from the next failure).
    pub after_failures: u32,
    pub behavior: FallbackBehavior,
    pub span: Span,
}

/// Which count a failing metric stands for (KEDA's `fallback.behavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackBehavior {
    /// `fallback N replicas`: N.
    Static,
    /// `fallback current replicas`: the current count.
    Current,
    /// `fallback at least N replicas`: the current count if higher, else N.
    AtLeast,
    /// `fallback at most N replicas`: the current count if lower, else N.
    AtMost,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleToZero {
    /// Idle time with every target at or below activation before going to zero.
    pub idle: Duration,
    pub span: Span,
}

/// A replica constraint: `replicas >= 4`, `replicas <= 10`, `replicas 2..6`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaConstraint {
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub span: Span,
    /// The pool it constrains; `None` means every pool.
    pub pool: Option<String>,
    /// The CEL condition, verbatim.
    pub when: String,
    pub when_span: Span,
    /// Identifiers the condition reads.
    pub reads: Vec<String>,
    pub constraint: ReplicaConstraint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    pub span: Span,
    pub pool: Option<String>,
    /// Five-field cron, as written.
    pub cron: String,
    pub cron_span: Span,
    pub duration: Duration,
    /// IANA time zone name.
    pub timezone: String,
    pub replicas: ReplicaConstraint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    pub name: String,
    pub span: Span,
    pub pool: Option<String>,
    /// RFC 3339 time of the observation, for schedules and time-of-day rules.
    pub at: Option<String>,
    pub replicas: u32,
    /// Metric values in the metric's base unit.
    pub given: Vec<(String, f64)>,
    pub expect: ReplicaConstraint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Hpa,
    Keda,
    Kserve,
    Vpa,
    Aws,
    Engine,
}

impl TargetKind {
    pub const ALL: [(&'static str, TargetKind); 6] = [
        ("hpa", TargetKind::Hpa),
        ("keda", TargetKind::Keda),
        ("kserve", TargetKind::Kserve),
        ("vpa", TargetKind::Vpa),
        ("aws", TargetKind::Aws),
        ("engine", TargetKind::Engine),
    ];
}

/// Options for one target; values are kept as strings, validated per key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetOptions {
    pub target: TargetKind,
    pub options: Vec<(String, String)>,
    pub span: Span,
}
