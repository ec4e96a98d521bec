//! The language's vocabulary, written once: each block and the settings it
//! accepts, with what each means. Lowering takes its allowed keywords from
//! here (and says them in "not a setting of" diagnostics), the language
//! server completes and hovers from it, the reference section of
//! docs/language.md is generated from it, and a test holds the editor
//! grammar to it.

/// One setting of a block: its keyword and what it means (with its shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub keyword: &'static str,
    pub doc: &'static str,
}

/// A block and the settings it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// The keyword that opens it (`pool`), or the file's top node.
    pub keyword: &'static str,
    /// How diagnostics name it: "a pool".
    pub name: &'static str,
    pub shape: &'static str,
    pub settings: &'static [Setting],
}

impl Block {
    /// The keywords it accepts, in order.
    pub fn keywords(&self) -> Vec<&'static str> {
        self.settings.iter().map(|s| s.keyword).collect()
    }

    pub fn setting(&self, keyword: &str) -> Option<&'static Setting> {
        self.settings.iter().find(|s| s.keyword == keyword)
    }

    pub fn accepts(&self, keyword: &str) -> bool {
        self.setting(keyword).is_some()
    }
}

const fn s(keyword: &'static str, doc: &'static str) -> Setting {
    Setting { keyword, doc }
}

pub const POLICY: Block = Block {
    keyword: "policy",
    name: "a policy",
    shape: "policy NAME [extends \"FILE\"] { ... }",
    settings: &[
        s(
            "workload",
            "what is scaled: `workload deployment \"namespace/name\"`",
        ),
        s(
            "pool",
            "a set of identical replicas: `pool NAME: gpu|cpu { ... }`",
        ),
        s(
            "slo",
            "latency and availability objectives, declared peak demand",
        ),
        s(
            "budget",
            "spending limit: `budget monthly <= $8000 enforce|warn`",
        ),
        s(
            "metrics",
            "metrics from a source: `metrics prometheus \"URL\" { name = `query` }`",
        ),
        s("scale", "how a pool scales: targets, rates, stabilisation"),
        s("rule", "a replica constraint under a CEL condition"),
        s("schedule", "a replica range for a cron-scheduled period"),
        s("test", "an expectation run through the decision engine"),
        s(
            "target",
            "options for one compile target: `target kserve { mode serverless }`",
        ),
    ],
};

/// What a `defaults` file may declare for the policies that extend it.
pub const DEFAULTS: Block = Block {
    keyword: "defaults",
    name: "a defaults block",
    shape: "defaults NAME [extends \"FILE\"] { ... }",
    settings: &[
        s("slo", "objectives every extending policy inherits"),
        s("budget", "a budget every extending policy inherits"),
        s(
            "metrics",
            "metric declarations every extending policy can read",
        ),
        s("scale", "scale settings (not targets) every pool inherits"),
        s("rule", "a rule every extending policy inherits"),
        s("schedule", "a schedule every extending policy inherits"),
        s(
            "target",
            "compile-target options every extending policy inherits",
        ),
    ],
};

pub const POOL: Block = Block {
    keyword: "pool",
    name: "a pool",
    shape: "pool NAME: gpu|cpu { ... }",
    settings: &[
        s(
            "accelerator",
            "accelerator type and count per replica: `accelerator \"nvidia-l4\" count 1`",
        ),
        s("replicas", "the replica range: `replicas MIN..MAX`"),
        s(
            "warmup",
            "time from scale-up to serving, model load included: `warmup 2m`",
        ),
        s(
            "drain",
            "connection draining before a replica is removed: `drain 30s`",
        ),
        s(
            "capacity",
            "what one replica serves: `capacity 16 concurrent`, `capacity 2400 tokens/s`",
        ),
        s("cost", "price of one replica: `cost $0.81/h`"),
        s("spot", "share of replicas on spot capacity: `spot 50%`"),
        s(
            "vertical",
            "per-replica resource bounds: `vertical { cpu 2..8 cores, memory 8Gi..32Gi }`",
        ),
    ],
};

pub const SLO: Block = Block {
    keyword: "slo",
    name: "an slo block",
    shape: "slo { ... }",
    settings: &[
        s("latency", "a latency objective: `latency p95 < 2s`"),
        s(
            "ttft",
            "an LLM pool's time to first token (queueing and prefill): `ttft p95 < 500ms`",
        ),
        s(
            "itl",
            "an LLM pool's inter-token latency while a stream decodes: `itl p95 < 50ms`",
        ),
        s(
            "throughput",
            "the output tokens per second the pool must be able to generate: `throughput >= 2000 tokens/s`",
        ),
        s(
            "availability",
            "the share of requests served: `availability >= 99.9%`",
        ),
        s(
            "peak",
            "the demand the pool must serve at its maximum: `peak 120 req/s`",
        ),
        s(
            "timeout",
            "how long a request waits before it is dropped: `timeout 30s`",
        ),
    ],
};

pub const SCALE: Block = Block {
    keyword: "scale",
    name: "a scale block",
    shape: "scale [POOL] { ... }",
    settings: &[
        s("on", "a target: `on METRIC [per replica|total] target VALUE [activate VALUE]`, or `on formula `EXPR` ...` over several metrics"),
        s("tolerance", "no scaling while the metric is this close to target: `tolerance 10%` or `tolerance up 5% down 10%`"),
        s("up", "scale-up rate and stabilisation: `up { by 100% every 15s, stabilize 0s }`"),
        s("down", "scale-down rate and stabilisation: `down { by 1 replica every 1m, stabilize 5m }`"),
        s("cooldown", "wait after the last activity before scaling to zero (KEDA cooldownPeriod)"),
        s("interval", "how often metrics are read and a decision made"),
        s("fallback", "replicas to hold when metrics fail: `fallback 4 replicas after 3 failures`"),
        s("behavior", "`behavior legacy`: the HPA without `behavior` (autoscaling/v1, or v2 without it): a 5-minute scale-down window and scale-up to max(2 x current, 4); `up`, `down` and `tolerance` do not apply"),
        s("scale_to_zero", "scale to zero after an idle period: `scale_to_zero after 15m`"),
    ],
};

/// `up { ... }` and `down { ... }` in a scale block.
pub const BEHAVIOR: Block = Block {
    keyword: "up",
    name: "an `up` or `down` block",
    shape: "up|down { by ..., select ..., stabilize ... }",
    settings: &[
        s(
            "by",
            "a rate policy: `by 100% every 15s` or `by 4 replicas every 1m`",
        ),
        s(
            "select",
            "which rate policy wins: `select max` (default), `min` or `disabled`",
        ),
        s("stabilize", "the stabilisation window: `stabilize 5m`"),
    ],
};

pub const RULE: Block = Block {
    keyword: "rule",
    name: "a rule",
    shape: "rule \"NAME\" when `CONDITION` { ... }",
    settings: &[
        s(
            "pool",
            "the pool it applies to (default: every pool): `pool gpu`",
        ),
        s(
            "replicas",
            "the constraint while the condition holds: `replicas >= 4`, `<= 8` or `2..8`",
        ),
    ],
};

pub const SCHEDULE: Block = Block {
    keyword: "schedule",
    name: "a schedule",
    shape: "schedule \"NAME\" cron \"MIN HOUR DOM MON DOW\" for DURATION [tz \"ZONE\"] { ... }",
    settings: &[
        s(
            "pool",
            "the pool it applies to (default: every pool): `pool gpu`",
        ),
        s(
            "replicas",
            "the range while the schedule is active: `replicas 4..12`",
        ),
    ],
};

pub const TEST: Block = Block {
    keyword: "test",
    name: "a test",
    shape: "test \"NAME\" { ... }",
    settings: &[
        s("pool", "the pool the test decides for (default: the first)"),
        s(
            "at",
            "the time of the decision, RFC 3339: `at \"2026-03-02T09:00:00+01:00\"`",
        ),
        s(
            "given",
            "the observation: `given { replicas 4, queue_depth 120 }`",
        ),
        s(
            "expect",
            "the expected decision: `expect replicas 6`, `>= 4` or `4..8`",
        ),
    ],
};

/// A rules file's top block (docs/guardrails.md).
pub const RULES: Block = Block {
    keyword: "rules",
    name: "a rules block",
    shape: "rules NAME { ... }",
    settings: &[
        s("level", "a code's severity for every policy: `level SP0530 error` (allow, note, warning, error)"),
        s("quota", "a limit across the policies checked together: `quota accelerator \"nvidia-l4\" <= 64`"),
        s("guardrail", "a CEL requirement on every policy: `guardrail \"NAME\" { code, message, require }`"),
    ],
};

pub const GUARDRAIL: Block = Block {
    keyword: "guardrail",
    name: "a guardrail",
    shape: "guardrail \"NAME\" { ... }",
    settings: &[
        s("code", "the organisation's own code: `code ACME001`"),
        s("severity", "error (default), warning or note"),
        s("message", "what the finding says: `message \"...\"`"),
        s(
            "require",
            "the CEL condition every policy must meet, in back-quotes",
        ),
    ],
};

/// Every block, in the order of the reference.
pub const BLOCKS: &[Block] = &[
    POLICY, DEFAULTS, POOL, SLO, SCALE, BEHAVIOR, RULE, SCHEDULE, TEST, RULES, GUARDRAIL,
];

/// The block a keyword opens, with the keyword of its parent (`up` and
/// `down` are behavior blocks inside `scale`).
pub fn block(keyword: &str) -> Option<&'static Block> {
    match keyword {
        "down" => Some(&BEHAVIOR),
        k => BLOCKS.iter().find(|b| b.keyword == k),
    }
}

/// The reference section of docs/language.md.
pub fn markdown() -> String {
    let mut out = String::new();
    for b in BLOCKS {
        out.push_str(&format!("### `{}`\n\n`{}`\n\n", b.keyword, b.shape));
        out.push_str("| setting | meaning |\n|---|---|\n");
        for st in b.settings {
            out.push_str(&format!(
                "| `{}` | {} |\n",
                st.keyword,
                st.doc.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

/// Words with a meaning in argument position (`pool l4: gpu`, `on queue_depth
/// per replica`, `budget monthly <= $100 enforce`): editors highlight them.
pub const ARGUMENT_WORDS: &[&str] = &[
    "activate",
    "after",
    "as",
    "aws",
    "cloudwatch",
    "concurrent",
    "cpu",
    "cron",
    "current",
    "daily",
    "deployment",
    "disabled",
    "enforce",
    "every",
    "extends",
    "external",
    "failures",
    "for",
    "formula",
    "gpu",
    "hpa",
    "inferenceservice",
    "keda",
    "kserve",
    "least",
    "legacy",
    "max",
    "memory",
    "min",
    "monthly",
    "most",
    "per",
    "percent",
    "prometheus",
    "replica",
    "req/s",
    "statefulset",
    "tokens/s",
    "total",
    "tz",
    "vpa",
    "warn",
    "when",
];

/// Every keyword that opens a node (a block or a setting), sorted, once.
pub fn node_keywords() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = BLOCKS
        .iter()
        .flat_map(|b| std::iter::once(b.keyword).chain(b.keywords()))
        .chain(["down"])
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The tree-sitter highlight queries (editors/tree-sitter-scalepol/queries/
/// highlights.scm): the grammar knows only nodes and arguments, so which
/// words are keywords comes from here. A keyword the compiler does not know
/// stays uncoloured, which shows a typo before the checker does.
pub fn highlights() -> String {
    let quoted = |words: &[&str]| {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Blocks that take a name. tree-sitter-highlight drops a match whose
    // node another pattern has already coloured, so these keywords are kept
    // out of the general pattern: else the name would lose its colour.
    let namers = ["policy", "defaults", "pool", "scale"];
    let others: Vec<&str> = node_keywords()
        .into_iter()
        .filter(|k| !namers.contains(k))
        .collect();
    format!(
        "; Generated from crates/compiler/src/vocabulary.rs: do not edit by hand.\n\
         ; Regenerate with `SCALEPOL_BLESS=1 cargo test -p scalepol-compiler --test docs`.\n\n\
         (comment) @comment\n\n\
         (string) @string\n\
         (code) @string.special\n\
         (value) @number\n\
         (operator) @operator\n\
         [\"{{\" \"}}\"] @punctuation.bracket\n\
         [\",\" \";\"] @punctuation.delimiter\n\n\
         ; A block and the name it gives: `policy chat`, `pool l4`, `scale l4`.\n\
         (node\n  keyword: (identifier) @keyword\n  .\n  (identifier) @type\n  (#any-of? @keyword {namers}))\n\n\
         ; The same blocks without a name: `defaults {{`.\n\
         (node\n  keyword: (identifier) @keyword\n  .\n  body: (block)\n  (#any-of? @keyword {namers}))\n\n\
         (node\n  keyword: (identifier) @keyword\n  (#any-of? @keyword {others}))\n\n\
         ((identifier) @keyword.modifier\n  (#any-of? @keyword.modifier {modifiers}))\n",
        namers = quoted(&namers),
        others = quoted(&others),
        modifiers = quoted(ARGUMENT_WORDS),
    )
}
