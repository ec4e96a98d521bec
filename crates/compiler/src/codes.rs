//! The registry of diagnostic codes. Codes are stable: a code is never reused
//! for another meaning. `SP01xx` syntax, `SP02xx` names and structure,
//! `SP03xx` units and ranges, `SP04xx` CEL expressions, `SP05xx` domain checks,
//! `SP06xx` suppression, guardrails and cross-policy quotas, `SP07xx` compile targets,
//! `SP08xx` metric queries (PromQL and the serving-metrics catalogue).
//! `docs/diagnostics.md` is generated from this table.

use crate::diagnostics::Severity;

/// A code of the registry. Only the registry's constants (`code::X`) make
/// one, so a diagnostic cannot carry a code the registry does not know;
/// organisation codes go through `Diagnostic::org`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The registry's entry for the code.
    pub fn info(self) -> &'static CodeInfo {
        REGISTRY
            .iter()
            .find(|c| c.code == self.0)
            .expect("every Code constant is in the registry")
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.0
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Where a code is in its life. Codes are never reused: a removed code's
/// number stays taken (`RETIRED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Its meaning and default severity hold across releases.
    Stable,
    /// New: its wording or severity may still change.
    Preview,
    /// Still reported, to be removed; the explanation says what replaces it.
    Deprecated,
}

/// Codes no longer reported, with the name they had: never given again.
pub static RETIRED: &[(&str, &str)] = &[];

/// One diagnostic code and its long explanation.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: &'static str,
    /// A short kebab-case name, for config files and suppressions.
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// The long form printed by `scalepol explain`: why it matters, with an
    /// example and its fix.
    pub explanation: &'static str,
    pub lifecycle: Lifecycle,
}

macro_rules! codes {
    ($($id:ident = $code:literal $sev:ident $(($life:ident))? $name:literal $summary:literal $expl:literal;)*) => {
        /// Constants for every code, by name.
        pub mod code {
            use super::Code;
            $(pub const $id: Code = Code($code);)*
        }
        /// Every code, in order.
        pub static REGISTRY: &[CodeInfo] = &[
            $(CodeInfo { code: $code, name: $name, severity: Severity::$sev,
                         summary: $summary, explanation: $expl,
                         lifecycle: lifecycle!($($life)?) },)*
        ];
    };
}

/// A code's lifecycle, written after its severity (`Warning (Preview)`);
/// stable when not written.
macro_rules! lifecycle {
    () => {
        Lifecycle::Stable
    };
    ($life:ident) => {
        Lifecycle::$life
    };
}

/// Looks a code up, case-insensitively (`sp0203` works).
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    REGISTRY
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code) || c.name == code)
}

codes! {
SYNTAX = "SP0101" Error "syntax-error" "the text does not follow the grammar"
"Every line of a policy is a keyword, its arguments, and optionally a block in braces:

    pool main: gpu {
      replicas 1..8
    }

Arguments are names, \"strings\", `expressions`, numbers with units (`30s`, `80%`,
`$0.81/h`), ranges (`1..8`) and operators (`<`, `>=`, `=`). The message names what
the parser expected at the marked place.";

UNTERMINATED_STRING = "SP0102" Error "unterminated-string" "a string is never closed"
"Strings are written in double quotes and end on the line they start on.

    workload deployment \"inference/chat      // wrong
    workload deployment \"inference/chat\"     // right";

UNTERMINATED_CODE = "SP0103" Error "unterminated-expression" "a back-quoted expression is never closed"
"CEL expressions and metric queries are written between back-quotes and may span
lines; the file ended before the closing back-quote.

    rule \"floor\" when `queue_depth > 50 { replicas >= 2 }     // wrong
    rule \"floor\" when `queue_depth > 50` { replicas >= 2 }    // right";

UNCLOSED_BRACE = "SP0104" Error "unclosed-brace" "a block is never closed"
"Every `{` needs a matching `}`. The diagnostic points at the end of the file and
at the `{` that is still open.";

STRAY_BRACE = "SP0105" Error "stray-brace" "a `}` closes no block"
"A closing brace appeared where no block is open: usually one `}` too many, or a
`{` missing on the line that starts the block.";

INVALID_ESCAPE = "SP0106" Error "invalid-escape" "an unknown escape sequence in a string"
"Strings know four escapes: `\\\"` (quote), `\\\\` (backslash), `\\n` (newline) and
`\\t` (tab). Any other backslash sequence is refused rather than guessed.";

FILE_TOO_LARGE = "SP0107" Error "file-too-large" "the file is larger than the limit"
"A single policy file may not exceed 16 MiB. Policies are small; a file this large
is almost certainly generated by mistake. Split it into several files.";

TOO_DEEP = "SP0108" Error "too-deep" "blocks nest deeper than the limit"
"Blocks may nest at most 32 deep; the language never needs more than four levels
(policy > scale > up > ...). Deeper nesting is refused before parsing so that no
input can exhaust the stack.";

NOT_UTF8 = "SP0109" Error "not-utf8" "the file is not valid UTF-8"
"Policy files are UTF-8 text. The byte offset of the first invalid sequence is
given; re-save the file as UTF-8.";

EXPECTED_POLICY = "SP0201" Error "expected-policy" "a file must hold one `policy` or `defaults` block"
"The top level of a file holds exactly one `policy NAME { ... }` (or one
`defaults NAME { ... }` for shared org defaults), and comments.

    policy chat-llama3 {
      workload deployment \"inference/vllm-llama3\"
      ...
    }";

UNKNOWN_ITEM = "SP0202" Error "unknown-item" "a keyword that does not belong here"
"Each block accepts its own set of keywords: a pool takes `accelerator`,
`replicas`, `warmup`, `drain`, `capacity`, `cost`, `spot`, `vertical`; a scale
block takes `on`, `tolerance`, `up`, `down`, `cooldown`, `fallback`,
`scale_to_zero`, `interval`; and so on (see docs/language.md). A misspelt keyword
gets a suggestion and a fix.";

DUPLICATE_ITEM = "SP0203" Error "duplicate-item" "a setting is given twice"
"Settings such as `replicas`, `warmup` or `budget` take one value. When one is
written twice, which one wins would be a guess, so both are reported: keep one.

    pool main: gpu {
      warmup 2m
      warmup 90s     // SP0203: remove one of the two
    }";

DUPLICATE_NAME = "SP0204" Error "duplicate-name" "two things of one kind share a name"
"Pools, metrics, rules, schedules and tests are referred to by name, so each name
is declared once per kind.";

MISSING_ITEM = "SP0205" Error "missing-item" "a required setting is missing"
"A policy needs a `workload` and at least one `pool`; a pool needs `replicas`; a
scaled pool needs at least one `on` target. The diagnostic names what is missing
and where it belongs.";

UNKNOWN_METRIC = "SP0206" Error "unknown-metric" "a metric name that is not declared"
"`on`, `given` and expressions refer to metrics by name. A name must be one of the
built-in metrics (`cpu`, `memory`, `gpu`) or declared in a `metrics` block:

    metrics prometheus \"http://prometheus:9090\" {
      queue_depth = `sum(vllm:num_requests_waiting{model_name=\"llama3\"})`
    }
    scale { on queue_depth per replica target 8 }";

UNKNOWN_POOL = "SP0207" Error "unknown-pool" "a pool name that is not declared"
"`scale NAME`, `pool NAME` in rules, schedules and tests refer to a pool declared
with `pool NAME: gpu|cpu { ... }` in the same policy (or its defaults).";

BAD_ARGUMENTS = "SP0208" Error "bad-arguments" "the arguments do not fit the keyword"
"Each keyword takes arguments of a fixed shape, for example `replicas MIN..MAX`,
`warmup DURATION`, `cost $PRICE/h`, `on METRIC per replica target VALUE`. The
message shows the expected shape and what was found instead.";

UNKNOWN_WORKLOAD_KIND = "SP0209" Error "unknown-workload-kind" "an unknown workload kind"
"`workload KIND \"NAME\"` names what is scaled. The kinds are `deployment`,
`statefulset` (Kubernetes, NAME = \"namespace/name\"), `inferenceservice` (KServe),
`sagemaker-variant` (\"endpoint/variant\"), `sagemaker-component` (an inference
component name) and `ecs-service` (\"cluster/service\").";

UNKNOWN_POOL_KIND = "SP0210" Error "unknown-pool-kind" "a pool is neither `gpu` nor `cpu`"
"A pool is declared `pool NAME: gpu { ... }` or `pool NAME: cpu { ... }`. The kind
decides which checks apply (GPU pools need an accelerator and are not scaled on
CPU).";

AMBIGUOUS_SCALE = "SP0211" Error "ambiguous-scale" "a `scale` block names no pool in a policy with several"
"With one pool, `scale { ... }` applies to it. With several, each scale block must
name its pool: `scale main { ... }`. Each pool has at most one scale block.";

RESERVED_NAME = "SP0212" Error "reserved-name" "a declaration reuses a reserved name"
"`cpu`, `memory`, `gpu`, `replicas`, `hour`, `weekday` and `minute` are built in:
they mean the container utilisation metrics and the values every CEL expression
can read. Declared metrics must use other names.";

EXTENDS_NOT_FOUND = "SP0213" Error "extends-not-found" "the defaults file of `extends` cannot be read"
"`policy NAME extends \"FILE\"` reads FILE relative to the policy's own file. The
file must exist and hold a `defaults NAME { ... }` block.";

EXTENDS_CYCLE = "SP0214" Error "extends-cycle" "defaults extend each other in a cycle"
"A defaults file may itself extend another, but the chain must end. The message
lists the files of the cycle.";

UNKNOWN_TARGET = "SP0215" Error "unknown-target" "an unknown compile target"
"`target NAME { ... }` sets options for one compile target: `hpa`, `keda`,
`kserve`, `vpa`, `aws` or `engine`.";

UNKNOWN_TARGET_OPTION = "SP0216" Error "unknown-target-option" "an option the target does not have"
"Target options by target: hpa: `kubernetes \"1.36\"`; keda: `polling DURATION`,
keda: `auth \"SECRET\"` (a Secret whose `token` key holds a bearer token for
Prometheus), `scaler \"HOST:PORT\"` and `scaler_shards N` (the engine as KEDA's external
scaler, `scalepol scaler`), `keda_namespace \"NAME\"` (who may call it), `scaler_tls \"SECRET\"` (mutual TLS); kserve: `mode serverless|standard`, `autoscaler hpa|keda`; aws: `resource \"ID\"`,
`role \"ARN\"`; vpa: `mode off|initial|recreate|auto`.";

INVALID_NAME = "SP0217" Error "invalid-name" "a name is not a valid identifier"
"Policy names become Kubernetes object names, so they follow RFC 1123: lower-case
letters, digits and `-`, starting and ending with a letter or digit, at most 63
characters. Pool and metric names are letters, digits and `_`, starting with a
letter.";

DUPLICATE_POLICY = "SP0218" Error "duplicate-policy" "more than one policy in one file"
"A file holds one policy, so that file names, diagnostics and compiled outputs map
one to one. Move the second policy into its own file.";

UNKNOWN_SOURCE = "SP0219" Error "unknown-metric-source" "an unknown metric source"
"`metrics SOURCE \"ENDPOINT\" { ... }` takes `prometheus` (ENDPOINT is the server
URL), `cloudwatch` (ENDPOINT is the region) or `external` (ENDPOINT is the
external scaler's address).";

UNUSED_METRIC = "SP0220" Warning "unused-metric" "a metric is declared but never used"
"A declared metric that no `on`, rule or test uses is dead configuration: every
target would still query it. Use it or remove it.";

DUPLICATE_POLICY_NAME = "SP0221" Error "duplicate-policy-name" "two files declare a policy of the same name"
"Compiled outputs are named after the policy, so two policies checked together
must have different names.";

SCALE_NEEDS_TARGET = "SP0222" Error "no-scale-target" "a scale block has no `on` target"
"A scale block decides replicas from at least one target: `on METRIC ... target
VALUE`. Without one there is nothing to scale on.";

WRONG_UNIT = "SP0301" Error "wrong-unit" "a value has the wrong unit"
"Every number carries its unit, and each setting takes one kind: durations
(`ms`, `s`, `m`, `h`, `d`), percent (`%`), money (`$8000`), money per hour
(`$0.81/h`), replicas, rates (`req/s`, `tokens/s`), bytes (`Mi`, `Gi`), cores.

    warmup 120%     // SP0301: warmup is a duration
    warmup 2m       // right";

MISSING_UNIT = "SP0302" Error "missing-unit" "a number needs a unit"
"A bare number is ambiguous where a unit is expected: `warmup 120` could be
seconds or minutes. Write the unit: `warmup 120s`.";

UNKNOWN_UNIT = "SP0303" Error "unknown-unit" "an unknown unit"
"The units are: ms s m h d (durations), % (percent), Ki Mi Gi Ti K M G (bytes),
cores, req/s, tokens/s, concurrent, replicas, and `$N/h` for prices.";

INVERTED_RANGE = "SP0304" Error "inverted-range" "a range's minimum exceeds its maximum"
"Ranges are written `MIN..MAX` with MIN <= MAX. `replicas 12..1` would leave the
autoscaler no valid count.";

PERCENT_RANGE = "SP0305" Error "percent-out-of-range" "a percentage outside its range"
"Spot shares, availability and the utilisation of a GPU or a cache are fractions of
a whole: between 0% and 100%. CPU and memory utilisation are shares of the pod's
request and may exceed it (`on cpu target 300%`, as Kubernetes allows), up to
10000%. (Rate policies such as `by 200% every 15s` may exceed 100%; they are not
checked by this code.)";

NONPOSITIVE_DURATION = "SP0306" Error "nonpositive-duration" "a duration that must be positive is zero or negative"
"Periods, intervals and schedule lengths must be longer than zero: a rate policy
`every 0s` or `interval 0s` has no meaning. (Stabilisation windows, warmup and
drain may be zero.)";

FRACTIONAL_REPLICAS = "SP0307" Error "fractional-replicas" "a replica count is not a whole number"
"Replicas are whole pods or instances: `replicas 1..8`, not `1..7.5`.";

ZERO_MAX_REPLICAS = "SP0308" Error "zero-max-replicas" "a pool's maximum is zero replicas"
"A maximum of zero replicas can never serve a request. Kubernetes rejects
`maxReplicas: 0`; write at least 1.";

VALUE_TOO_LARGE = "SP0309" Error "value-too-large" "a value exceeds its limit"
"Replica counts are int32 in Kubernetes: at most 2147483647, as the platforms
accept. Durations are capped at 366 days, prices at $1,000,000 per hour; money
sums saturate rather than wrap.";

NEGATIVE_VALUE = "SP0310" Error "negative-value" "a value that cannot be negative is negative"
"Replicas, durations, prices, capacities and targets are zero or more.";

INVALID_CRON = "SP0311" Error "invalid-cron" "an invalid cron expression"
"Schedules use five-field cron: minute hour day-of-month month day-of-week, with
names for months and weekdays (`0 8 * * MON-FRI`). The message gives the field
that is wrong.";

UNKNOWN_TIMEZONE = "SP0312" Error "unknown-timezone" "an unknown IANA time zone"
"Time zones are IANA names such as `Europe/Berlin` or `America/New_York`
(abbreviations like `CET` or `PST` are ambiguous and refused). Similar names are
suggested.";

INVALID_PERCENTILE = "SP0313" Error "invalid-percentile" "an invalid latency percentile"
"Latency objectives name a percentile `pNN` strictly between p0 and p100, such as
`p50`, `p95`, `p99` or `p99.9`.";

PERIOD_RANGE = "SP0314" Error "period-out-of-range" "a rate policy period outside 1s-30m"
"Kubernetes accepts HPA scaling policy periods from 1 to 1800 seconds
(`periodSeconds`); KEDA passes them through to the HPA.";

WINDOW_RANGE = "SP0315" Error "window-out-of-range" "a stabilisation window outside 0-1h"
"Kubernetes accepts stabilisation windows from 0 to 3600 seconds
(`stabilizationWindowSeconds`).";

TOLERANCE_RANGE = "SP0316" Error "tolerance-out-of-range" "a negative tolerance"
"The tolerance is the band around the target inside which no scaling happens
(10% by default in Kubernetes). It is 0% or more; above 100% is valid, as in
Kubernetes and KEDA (`tolerance up 150%` waits for 2.5 times the target).";

INVALID_TIME = "SP0317" Error "invalid-time" "an invalid test time"
"`at \"...\"` in a test takes an RFC 3339 timestamp with its offset, for example
`\"2026-03-02T09:30:00+01:00\"`.";

INVALID_MONEY = "SP0318" Error "invalid-money" "an invalid amount of money"
"Amounts are dollars with at most six decimals (`$0.000123/h`), so budget
arithmetic stays exact. Prices are per hour (`/h`); budgets are plain amounts.";

AVAILABILITY_RANGE = "SP0319" Error "availability-out-of-range" "an availability objective that cannot be met or means nothing"
"Availability is a percentage strictly above 0% and at most 100%. 100% itself is
allowed but warned about elsewhere: no system meets it.";

EMPTY_RANGE_SCHEDULE = "SP0320" Error "schedule-without-replicas" "a schedule sets no replica range"
"A schedule changes the pool's replica range while it is active: `schedule
\"NAME\" cron \"...\" for 10h tz \"Zone\" { replicas 3..12 }`.";

OPTION_RANGE = "SP0321" Error "option-out-of-range" "a target option outside the range its platform accepts"
"Some target options are checked by the platform when the object is applied:
Knative refuses a `window` outside 6s-1h, a `panic_threshold` outside
110%-1000%, a `target_utilization` outside 1%-100%; KEDA refuses a negative
`paused_replicas`. scalepol checks them before the platform does.";

CEL_SYNTAX = "SP0401" Error "cel-syntax" "a CEL expression does not parse"
"Rule conditions are CEL (https://cel.dev) over the declared metrics:

    rule \"burst\" when `queue_depth > 50.0 && hour >= 8` { replicas >= 4 }

The span points inside the back-quotes at the place the CEL parser stopped.";

CEL_EMPTY = "SP0402" Error "cel-empty" "an empty expression"
"Back-quotes must hold an expression (or a query). An empty or blank one, or one
that is only a comment, has no value.";

CEL_UNKNOWN_IDENT = "SP0403" Error "cel-unknown-identifier" "a CEL identifier that is not a metric or built-in"
"A CEL expression may read the declared metrics, the built-in metrics `cpu`,
`memory`, `gpu`, and `replicas`, `hour`, `minute`, `weekday` (0 = Sunday). Any other
name would be unbound at run time.";

CEL_TYPE = "SP0404" Error "cel-type-error" "a CEL expression is ill-typed"
"Metrics are doubles, `replicas`, `hour`, `minute` and `weekday` are ints. CEL does
not convert between them implicitly, so `queue_depth > 50` (double vs int) fails
at run time in most CEL implementations; write `queue_depth > 50.0` or
`double(replicas) > queue_depth`. Operators need operands of matching type.
A formula must be a number, not a comparison.";

CEL_TOO_COMPLEX = "SP0405" Error "cel-too-complex" "an expression is too long or nested too deep"
"Expressions are limited to 4096 characters and 32 levels of nesting, so that no
rule can exhaust the evaluator's stack or time.";

CEL_NOT_BOOL = "SP0406" Error "cel-not-bool" "a rule condition is not a boolean"
"A `when` condition must be true or false: `queue_depth > 50.0`, not
`queue_depth`.";

CEL_UNSUPPORTED = "SP0407" Error "cel-unsupported" "a CEL feature the rules do not support"
"Rule conditions and formulas use arithmetic, comparison, logic, the
conditional operator and the functions `double`, `int`, `min` and `max`.
Other functions, maps, lists and macros would not be portable to every
target. A formula (`on formula `...``) reads the declared metrics only: not
`cpu`, `memory` or `gpu` (the platforms read those per pod; give them their
own `on`), nor `replicas` or the clock (conditions on those are rules).";
BUDGET_EXCEEDED = "SP0501" Error "budget-exceeded" "the worst-case spend exceeds the budget"
"Worst-case spend is every pool at its maximum replicas for the whole period, at
its price: max replicas x price per hour x hours (730 in a month, 24 in a day),
narrowed where a schedule caps a pool's maximum. Above the budget it is an error
under `enforce` (the default) and a warning under `warn`.

    pool gpu: gpu { replicas 1..12, cost $0.81/h }
    budget monthly <= $5000     // 12 x $0.81/h x 730 h = $7,095.60

Lower the maximum, add a schedule that caps it off-hours, or raise the budget.";

FLOOR_OVER_BUDGET = "SP0502" Error "floor-over-budget" "the minimum replicas alone cost more than the budget"
"The floor (minimum replicas, always on, raised by schedules where they raise it)
is spent whatever the traffic. When it alone exceeds the budget, no scaling
behaviour can keep the policy within it, whatever the enforcement.";

BUDGET_UNPRICED = "SP0503" Warning "budget-unpriced-pool" "a budget is declared but a pool has no price"
"Budget checks need every pool's `cost $N/h`. A pool without a price is left out
of the arithmetic, so the budget check cannot be trusted.";

PEAK_UNSERVABLE = "SP0510" Error "peak-unservable" "the declared peak needs more replicas than the maximum"
"With `slo { peak N req/s }` and a per-replica capacity, the replicas needed at
peak are ceil(peak / (capacity x target utilisation)). The target utilisation is
the scaling target divided by the capacity where a target is on the same unit,
else 80%. Needed replicas above the pool's maximum cannot serve the declared peak.
The rate of a replica is its `capacity N req/s`. Without one, a `concurrent`
capacity converts to a rate with the simulator's assumption that a request takes
a quarter of the latency objective; the finding is then a note that says so.
A pool whose capacity is in tokens/s has no request rate without a trace (the
tokens per request): `scalepol simulate --scale peak` checks it.";

SLO_BUDGET_CONFLICT = "SP0511" Error "slo-budget-conflict" "serving the declared peak costs more than the budget"
"The replicas needed at peak (see SP0510), kept for the whole period, cost more
than the budget: the SLO and the budget cannot both hold if the peak lasts. The
message gives the shortfall. An error under `enforce`, a warning under `warn`.";

COLD_START = "SP0520" Warning "cold-start-exceeds-slo" "scale to zero with a warmup longer than the latency objective"
"After scaling to zero, the first request waits for a replica to warm up. With a
warmup longer than the latency objective, that request misses it (and so does
every request queued behind it). Keep a floor of one replica, or accept it for a
dev service by lowering the objective's scope.";

WARMUP_VS_RATE = "SP0521" Note "warmup-longer-than-scale-up-period" "new replicas take longer to serve than one scale-up period"
"A `total` target proposes a count proportional to the current count, which
includes replicas still warming up, while the metric (from the serving
replicas) has not moved yet: scale-up may compound every period until the first
new replica serves. A scale-up stabilisation window near the warmup
(`up { ..., stabilize 2m }` for a 2-minute warmup) holds the count until then.
On the shipped traces this lowers the simulated cost of chat-llama3 by about 12%
at the same SLO (tested).";

FLOOR_TOO_LOW = "SP0522" Note "floor-too-low-for-lag" "the floor cannot absorb demand growth while new replicas start"
"A scale-up takes effect after one decision interval plus the warmup. During
that lag the replicas already running must absorb the growth in demand. With a
declared peak, this note assumes demand may climb from zero to the peak in 15
minutes (a steep morning ramp) and compares the floor with the growth of one lag:
floor x rate per replica x target utilisation >= peak x lag / 15 min. Few
services ramp like that, and a floor is paid every hour of the month: on real
traces a high floor often costs several times the policy for a fraction of a
point of SLO. It is a note, not advice: `scalepol simulate` or `scalepol tune`
on your own traffic says whether a higher floor pays for itself.";

DOWN_WINDOW_SHORT = "SP0530" Warning "short-scale-down-window" "the scale-down window is shorter than warmup or two metric intervals"
"A scale-down stabilisation window shorter than two metric intervals lets one
noisy sample remove replicas that the next minute needs: classic flapping, a
warning. A window shorter than the warmup (but covering two samples) is a note:
on bursty traffic a replica removed now costs a full warmup to get back, while
on smooth traffic a short window saves cost at the same SLO (the simulator on
the shipped traces shows both). `scalepol tune` decides it on real traffic.";

DOWN_FASTER_THAN_UP = "SP0531" Warning "scale-down-faster-than-up" "the policy removes replicas faster than it adds them"
"Operators scale up aggressively and down conservatively: a missing replica costs
latency, a spare one only money. Compared at the pool's maximum, in replicas per
minute, this policy's scale-down rate exceeds its scale-up rate.";

ZERO_TOLERANCE = "SP0532" Warning "zero-tolerance-small-pool" "zero tolerance on a small pool"
"With a 0% tolerance every tiny fluctuation changes the replica count; on a pool
of ten replicas or fewer each change is a large step. Kubernetes defaults to 10%.";

ACTIVATION_ABOVE_TARGET = "SP0533" Error "activation-at-or-above-target" "the activation threshold is at or above the scaling target"
"KEDA activates a scaled-to-zero workload when a metric exceeds its activation
threshold. At or above the target, the workload would stay at zero while the
metric already calls for replicas.";

COOLDOWN_SHORT = "SP0534" Warning "cooldown-shorter-than-warmup" "the cooldown before scaling to zero is shorter than warmup"
"A pool that goes to zero sooner after the last request than it takes to come
back pays a full cold start on every gap in traffic longer than the cooldown.";

TOTAL_RATE_TARGET = "SP0535" Warning "total-rate-target" "a total rate used as a proportional target"
"A `total` target scales proportionally: desired = current x value / target.
A total request or token rate does not fall as replicas are added, so the
proposal keeps growing until the maximum. Scale on it `per replica`.";

FALLBACK_NOT_PER_REPLICA = "SP0536" Warning "fallback-without-per-replica-target" "a fallback in a scale block without a per-replica target"
"KEDA applies `fallback` only to triggers whose target is an average value
(`per replica`, HPA AverageValue). In a scale block whose targets are all
`total` or utilisation, the fallback never applies: a failing metric stays
failed and the HPA holds the current count. Scale on a metric `per replica`
for the fallback to apply.";

GPU_ON_CPU = "SP0540" Warning "gpu-scaled-on-cpu" "a GPU pool scaled only on CPU or memory"
"GPU inference is rarely CPU-bound: the CPU stays low while requests queue on the
GPU. Scale GPU pools on queue depth, KV-cache use, tokens/s or concurrency.";

GPU_UTIL_ONLY = "SP0541" Warning "gpu-utilization-only" "a GPU pool scaled only on GPU utilisation"
"GPU utilisation (the share of time a kernel runs) reaches 100% long before an
LLM server is saturated, and stays there: it cannot tell 'busy' from
'overloaded'. Add a queue-depth, KV-cache or concurrency target.";

UNKNOWN_ACCELERATOR = "SP0542" Warning "unknown-accelerator" "an accelerator that is not in the catalogue"
"scalepol knows common accelerators (memory, typical price) by their usual names:
nvidia-t4, nvidia-l4, nvidia-a10g, nvidia-l40s, nvidia-a100-40gb,
nvidia-a100-80gb, nvidia-h100-80gb, nvidia-h200, amd-mi300x, aws-inferentia2,
google-tpu-v5e. A misspelt name would not match the node labels of the cluster.";

GPU_WITHOUT_ACCELERATOR = "SP0543" Warning "gpu-pool-without-accelerator" "a GPU pool names no accelerator"
"A `gpu` pool should say which accelerator it runs on (`accelerator \"nvidia-l4\"`):
the checks of GPU pools, and the targets' node selection, need it.";

TARGET_ABOVE_CAPACITY = "SP0550" Error "target-above-capacity" "the per-replica target is above what a replica can serve"
"A per-replica target above the replica's declared capacity means the pool only
scales after replicas are already saturated: latency degrades first.";

TARGET_AT_CAPACITY = "SP0551" Warning "target-at-capacity" "the per-replica target equals the replica's capacity"
"A target at 100% of capacity leaves no headroom for the time it takes to scale:
requests queue during every scale-up. Targets of 60-85% of capacity are usual.";

TARGET_NEVER_SCALES_UP = "SP0552" Warning (Preview) "target-never-scales-up" "the target can never be exceeded by enough to scale up"
"The HPA scales up only when a metric exceeds its target by more than the
tolerance: value > target x (1 + tolerance). Some metrics have a ceiling: a
count of requests in service is at most the replica's `capacity N concurrent`
per replica, and a percentage is at most 100%. When target x (1 + tolerance)
reaches that ceiling, the pool never scales up on this target, however
overloaded it is: requests queue while the count holds. Lower the target below
ceiling / (1 + tolerance), or scale on the queue.";

ITL_ABOVE_OBJECTIVE = "SP0553" Warning "itl-above-objective" "at full batch, a stream decodes slower than the inter-token objective"
"A replica's token rate is shared by the requests it decodes at once. With
`capacity 2400 tokens/s` and `capacity 32 concurrent`, each of 32 streams gets 75
tokens/s at full batch: 13.3 ms between tokens. An `itl p95 < 10ms` objective
then fails whenever the pool is busy, whatever the autoscaler does; the help
gives the batch size that meets it (`capacity 24 concurrent`: 24 / 2400 s = 10 ms).

    slo { itl p95 < 10ms }
    pool l4: gpu { capacity 32 concurrent, capacity 2400 tokens/s }   // 13.3 ms
    pool l4: gpu { capacity 24 concurrent, capacity 2400 tokens/s }   // 10 ms";

THROUGHPUT_UNREACHABLE = "SP0554" Error "throughput-unreachable" "the pools at their maxima generate fewer tokens per second than the objective"
"`throughput >= N tokens/s` asks the policy to be able to generate N output tokens
per second. Each pool's maximum replicas times its `capacity ... tokens/s` is
what it can generate; below the objective, no scaling meets it.

    slo { throughput >= 20000 tokens/s }
    pool l4: gpu { replicas 1..8, capacity 2400 tokens/s }    // 19,200 tokens/s: wrong
    pool l4: gpu { replicas 1..9, capacity 2400 tokens/s }    // 21,600 tokens/s: right";

RULE_OUTSIDE_POOL = "SP0574" Warning (Preview) "rule-outside-pool-range" "a rule's bound lies outside the pool's range"
"A rule's `replicas >= N` above the pool's maximum can never hold (the pool
stays at its maximum, and the rule reads as a promise it cannot keep); a
`replicas <= N` below the pool's minimum always clamps to the minimum; a bound
that equals the pool's own (>= its minimum, <= its maximum) does nothing. Bring
the bound within the pool's range or change the range.";

ALL_SPOT_LATENCY = "SP0560" Warning "latency-critical-all-spot" "a latency-critical pool entirely on spot"
"Spot capacity can be reclaimed at once (two minutes' notice on AWS, thirty
seconds on GCP). A pool serving a latency objective entirely on spot, with no
on-demand floor, can lose every replica together.";

BATCH_ON_DEMAND = "SP0561" Note "batch-on-demand" "a pool without a latency objective runs fully on-demand"
"A pool with no latency objective tolerates interruptions; spot capacity is
typically 60-70% cheaper. The note estimates the saving at 60% of the
worst-case spend.";

DRAIN_SHORT = "SP0570" Warning "drain-shorter-than-timeout" "draining is shorter than the request timeout"
"A replica being removed finishes in-flight requests for `drain`; requests that
run longer are cut. With a declared timeout longer than the drain, slow requests
fail at every scale-down.";

SCHEDULE_CONFLICT = "SP0571" Warning "overlapping-schedules" "two schedules overlap with different replica ranges"
"When two schedules of one pool are active at once with different ranges, one
of them silently does not apply. Make them disjoint or give them one range.";

SCHEDULE_OUTSIDE_POOL = "SP0572" Error "schedule-outside-pool-range" "a schedule's range leaves the pool's range"
"A schedule narrows or raises the pool's range within `replicas MIN..MAX`; a
schedule range outside it would be clamped by every target.";

SCHEDULE_DST = "SP0573" Note "schedule-dst-ambiguity" "a schedule starts in a daylight-saving transition"
"In zones with daylight-saving time, local times between 01:00 and 03:00 are
skipped or repeated on transition days: the schedule starts late, twice, or not
at all on those days.";

IMPOSSIBLE_TEST = "SP0580" Error "impossible-expectation" "a test expects a replica count outside the pool's range"
"A test whose expectation lies outside `replicas MIN..MAX` can never pass: the
decision is always clamped to the range.";

ALLOW_WITHOUT_REASON = "SP0601" Error "allow-without-reason" "an allow comment gives no reason"
"A finding is silenced where it stands with a comment on the construct, and the
comment must say why, so that the next reader can judge it:

    // scalepol-allow(SP0532): a two-replica canary, fluctuation is the point
    tolerance 0%

Without a reason the allow is ignored and this error is reported.";

ALLOW_UNKNOWN_CODE = "SP0602" Warning "allow-unknown-code" "an allow comment names no known code"
"`scalepol-allow(...)` takes diagnostic codes (`SP0532`) or names
(`zero-tolerance-small-pool`), separated by commas.";

UNUSED_ALLOW = "SP0603" Warning "unused-allow" "an allow comment silences nothing"
"The finding it silenced is gone (or never applied to this construct): remove
the comment so that it does not hide a future one.";

GUARDRAIL_INVALID = "SP0610" Error "guardrail-invalid" "a guardrail is incomplete or malformed"
"A guardrail has a name, a code of capital letters and digits that does not
start with `SP` (`ORG0001`), a severity (`error`, `warning` or `note`), a
message, and a CEL condition that every policy must meet:

    guardrail \"GPU pools are capped\" {
      code ORG0001
      severity error
      message \"GPU pools may not exceed 64 replicas\"
      require `policy.pools.all(p, p.kind != \"gpu\" || p.replicas.max <= 64)`
    }";

GUARDRAIL_EVAL = "SP0611" Error "guardrail-evaluation-failed" "a guardrail could not be evaluated on a policy"
"The condition raised an error on this policy (a missing field, a type
mismatch) or did not return a bool. The fields of the policy view are listed in
docs/guardrails.md; `has(x.field)` guards optional ones.";

QUOTA_ACCELERATORS = "SP0620" Error "accelerator-quota-exceeded" "the policies together may use more accelerators than the quota"
"Across every policy checked together: the sum of max replicas x accelerators
per replica, for one accelerator type, above `quota accelerator \"TYPE\" <= N`.";

QUOTA_BUDGET = "SP0621" Error "org-budget-exceeded" "the policies' budgets add up to more than the organisation's"
"The sum of the policies' budgets (daily budgets count 730/24 times in a
month) above `quota budget monthly <= $N`.";

WORKLOAD_TWICE = "SP0622" Error "workload-scaled-twice" "two policies scale the same workload"
"Two autoscalers on one Deployment fight: each undoes the other's decisions
every sync period, a classic incident. Keep one policy per workload.";

UNKNOWN_LEVEL_CODE = "SP0623" Warning "level-unknown-code" "a level names no known code"
"`level CODE allow|note|warning|error` in a rules file takes a diagnostic code
or name from `scalepol explain`.";

TARGET_APPROXIMATION = "SP0701" Warning "target-approximation" "the target can only approximate a feature of the policy"
"Each target expresses some features natively and approximates others. The
message says exactly what will differ on this target (for example, the HPA
cannot scale to zero, so the floor becomes one replica). `scalepol compile
--explain` shows how every feature of a policy lands on every target.";

TARGET_UNSUPPORTED = "SP0702" Error "target-unsupported" "the target cannot express a feature of the policy"
"A feature with no equivalent on the target (schedules on a plain HPA, say) is
an error rather than a silent omission. The message names the targets that
support it natively. With `--target all`, the target is skipped for that policy.";

TARGET_WORKLOAD = "SP0703" Error "target-workload-mismatch" "the target cannot scale this kind of workload"
"HPA, KEDA and VPA scale Kubernetes Deployments and StatefulSets; KServe scales
InferenceServices; AWS Application Auto Scaling scales SageMaker variants,
inference components and ECS services.";

TARGET_REFUSES = "SP0705" Error "target-refuses" "the platform would refuse the compiled object"
"Some objects pass the platform's schema and are still refused when applied,
by its admission webhook. KEDA refuses a ScaledObject whose name, or the name
of the HPA it generates (`keda-hpa-NAME`), is longer than a label value (63
characters), and one that may scale to zero with only CPU or memory triggers
(the HPA reads those from running pods, so nothing would wake the workload).
scalepol reports these at compile time instead of writing an object the
cluster rejects.";

HPA_VPA_CONFLICT = "SP0704" Warning "hpa-vpa-conflict" "VPA and the horizontal autoscaler both act on CPU or memory"
"When the VPA changes CPU or memory requests while an HPA scales on their
utilisation, each undoes the other: the VPA raises requests, utilisation drops,
the HPA removes replicas. Scale horizontally on another metric, or let the VPA
control only the resource the HPA does not use.";

QUERY_SYNTAX = "SP0801" Error "query-syntax" "a Prometheus query does not parse"
"A `metrics prometheus` query is PromQL; one that does not parse fails in the
metrics adapter or in KEDA's scaler at run time, so it is an error here. The
span points at the place the parser stopped:

    queue = `sum(vllm:num_requests_waiting) by model_name`     // wrong: `by (...)`
    queue = `sum by (model_name) (vllm:num_requests_waiting)`  // right";

DEPRECATED_METRIC = "SP0802" Warning "deprecated-metric" "the query reads a metric its engine deprecated or removed"
"Serving engines rename their metrics. vLLM deprecated `vllm:gpu_cache_usage_perc`
for `vllm:kv_cache_usage_perc` in 0.9, hid it in 0.10 and removed it: an
autoscaler still reading the old name reads nothing, and holds or falls back.
The catalogue (crates/compiler/metrics/) records each engine's deprecations with
their sources; the fix puts in the replacement.

    kv = `avg(vllm:gpu_cache_usage_perc{model_name=\"m\"}) * 100` as percent   // wrong
    kv = `avg(vllm:kv_cache_usage_perc{model_name=\"m\"}) * 100` as percent    // right";

FRACTION_PERCENT = "SP0803" Warning "fraction-read-as-percent" "a 0-1 fraction declared as percent, or a percent scaled again"
"Some metrics are fractions (vLLM's `kv_cache_usage_perc` is 0 to 1 despite its
name), others percentages (DCGM's `DCGM_FI_DEV_GPU_UTIL` is 0 to 100). A fraction
declared `as percent` without `* 100` never reaches a target like 80%; a
percentage multiplied by 100 reaches it at 0.8%.

    kv = `avg(vllm:kv_cache_usage_perc)` as percent          // wrong: 0 to 1
    kv = `avg(vllm:kv_cache_usage_perc) * 100` as percent    // right";

COUNTER_WITHOUT_RATE = "SP0804" Warning "counter-without-rate" "a counter is read without `rate` or `increase`"
"A counter only grows (until its process restarts): its raw value says how much
work was ever done, not how much is being done now, so a target on it scales up
and never down. Read it through `rate(...[1m])` or `increase(...)`.

    rps = `sum(vllm:request_success_total)`            // wrong
    rps = `sum(rate(vllm:request_success_total[1m]))`  // right";

HISTOGRAM_MISUSE = "SP0805" Warning "histogram-misuse" "a histogram's buckets are read without `histogram_quantile`, or with `le` aggregated away"
"A histogram's `_bucket` series are cumulative counts per bucket boundary (`le`).
Read a latency from them with `histogram_quantile`, over a `rate`, aggregated
`by (le)`: summing away `le` leaves one meaningless series.

    p95 = `histogram_quantile(0.95, sum(rate(x_bucket[1m])))`           // wrong
    p95 = `histogram_quantile(0.95, sum by (le) (rate(x_bucket[1m])))`  // right";

QUERY_SPANS_MODELS = "SP0806" Warning "query-spans-models" "the query reads a per-model metric of every model in the cluster"
"An engine's metrics carry the model or deployment they belong to (vLLM's
`model_name`, Triton's `model`, Ray Serve's `deployment`). A query without a
matcher on such a label sums the queues of every model that exports the metric
to the same Prometheus: the autoscaler scales this workload on everyone's load
(llm-d-autoscaling#1198).

    queue = `sum(vllm:num_requests_waiting)`                         // wrong
    queue = `sum(vllm:num_requests_waiting{model_name=\"llama3\"})`   // right";

DOUBLE_PER_REPLICA = "SP0807" Warning "double-per-replica" "a `per replica` target on a query that already averages over pods"
"`per replica` divides the query's value by the replica count (the HPA's
AverageValue). A query that is already an average over pods (`avg(...)`, or
`sum(...) / count(...)`) is divided twice: the autoscaler sees a value the
replica count times too small and under-provisions.

    scale { on queue per replica target 4 }   // with queue = `avg(...)`: wrong
    scale { on queue target 4 }               // right: the average is the target";

SEVERAL_SERIES = "SP0808" Warning "query-returns-several-series" "the query may return several series where one number is needed"
"KEDA's Prometheus scaler and the metrics adapter read one number. A query that
selects series without aggregating them (one per pod, per model, per GPU), or
aggregates `by` a label, returns several: KEDA refuses such a result and the
adapter takes one of them. Aggregate to one series.

    queue = `vllm:num_requests_waiting{model_name=\"m\"}`        // wrong: one per pod
    queue = `sum(vllm:num_requests_waiting{model_name=\"m\"})`   // right";

LIVE_QUERY_FAILED = "SP0809" Error "live-query-failed" "the query fails on the Prometheus server checked against"
"With `scalepol check --prometheus URL`, each Prometheus query runs once as an
instant query. One the server refuses (a syntax it does not support, a timeout, a
refused token) would fail the same way in the autoscaler.";

LIVE_NO_DATA = "SP0810" Warning "live-query-no-data" "the query returns no data on the Prometheus server checked against"
"With `scalepol check --prometheus URL`: the query runs but returns nothing. The
usual cause is a metric that is not scraped, or no longer emitted under that name;
the finding names each metric of the query that has no series in the last hour.
An autoscaler on such a query holds or falls back.";

LIVE_OUT_OF_RANGE = "SP0811" Warning "live-value-out-of-range" "the query's current value is outside its declared unit's range"
"With `scalepol check --prometheus URL`: a metric declared `as percent` reads
below 0 or above 100 (a percentage scaled twice), or another unit reads below
zero. A fraction read as percent cannot be told from a quiet pool by its value;
SP0803 finds it in the query instead.";

}

/// The diagnostics index, `docs/diagnostics.md`, generated from the registry.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Diagnostics\n\n\
         Generated from the code registry (`crates/compiler/src/codes.rs`) by the test\n\
         `docs_are_generated`; do not edit by hand. `scalepol explain CODE` prints the\n\
         same text.\n\n\
         A code is never reused: a code that is no longer reported keeps its number.\n\
         Codes are stable unless marked preview (wording or severity may change) or\n\
         deprecated (to be removed). `SP01xx`: syntax. `SP02xx`: names and structure. `SP03xx`:\n\
         units and ranges. `SP04xx`: CEL expressions. `SP05xx`: domain checks (see\n\
         [checks.md](checks.md)). `SP06xx`: suppression, guardrails, quotas. `SP07xx`: compile\n\
         targets (see [targets.md](targets.md)).\n\n\
         | code | name | severity | summary |\n|---|---|---|---|\n",
    );
    for c in REGISTRY {
        out.push_str(&format!(
            "| [{0}](#{1}) | `{2}` | {3} | {4} |\n",
            c.code,
            c.code.to_lowercase(),
            c.name,
            c.severity.as_str(),
            c.summary.replace('|', "\\|")
        ));
    }
    for c in REGISTRY {
        let life = match c.lifecycle {
            Lifecycle::Stable => "",
            Lifecycle::Preview => ", preview",
            Lifecycle::Deprecated => ", deprecated",
        };
        out.push_str(&format!(
            "\n## {}\n\n`{}` ({}{life}): {}\n\n",
            c.code,
            c.name,
            c.severity.as_str(),
            c.summary
        ));
        // Indented lines of the explanation are examples: fence them.
        let mut in_code = false;
        for line in c.explanation.lines() {
            let code_line = line.starts_with("    ");
            if code_line && !in_code {
                out.push_str("```scalepol\n");
                in_code = true;
            } else if !code_line && in_code && !line.is_empty() {
                out.push_str("```\n");
                in_code = false;
            }
            if in_code {
                if !line.is_empty() {
                    out.push_str(&line[4..]);
                }
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        if in_code {
            while out.ends_with("\n\n") {
                out.pop();
            }
            out.push_str("```\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_and_names_are_unique_well_formed_and_never_reused() {
        let mut codes = BTreeSet::new();
        let mut names = BTreeSet::new();
        for c in REGISTRY {
            let digits = c.code.strip_prefix("SP").unwrap_or("");
            assert!(
                digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()),
                "{} is not SPnnnn",
                c.code
            );
            assert!(codes.insert(c.code), "{} is registered twice", c.code);
            assert!(names.insert(c.name), "the name {} is used twice", c.name);
            assert!(
                c.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{} is not kebab-case",
                c.name
            );
            assert!(
                !RETIRED.iter().any(|(r, n)| *r == c.code || *n == c.name),
                "{} reuses a retired code or name",
                c.code
            );
        }
    }

    #[test]
    fn every_constant_finds_its_entry() {
        for c in REGISTRY {
            assert_eq!(lookup(c.code).map(|i| i.code), Some(c.code));
        }
        assert_eq!(code::SYNTAX.info().code, "SP0101");
        assert!("SP0101" == code::SYNTAX);
    }
}
