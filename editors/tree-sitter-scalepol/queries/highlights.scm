; Generated from crates/compiler/src/vocabulary.rs: do not edit by hand.
; Regenerate with `SCALEPOL_BLESS=1 cargo test -p scalepol-compiler --test docs`.

(comment) @comment

(string) @string
(code) @string.special
(value) @number
(operator) @operator
["{" "}"] @punctuation.bracket
["," ";"] @punctuation.delimiter

; A block and the name it gives: `policy chat`, `pool l4`, `scale l4`.
(node
  keyword: (identifier) @keyword
  .
  (identifier) @type
  (#any-of? @keyword "policy" "defaults" "pool" "scale"))

; The same blocks without a name: `defaults {`.
(node
  keyword: (identifier) @keyword
  .
  body: (block)
  (#any-of? @keyword "policy" "defaults" "pool" "scale"))

(node
  keyword: (identifier) @keyword
  (#any-of? @keyword "accelerator" "at" "availability" "behavior" "budget" "by" "capacity" "code" "cooldown" "cost" "down" "drain" "expect" "fallback" "given" "guardrail" "interval" "itl" "latency" "level" "message" "metrics" "on" "peak" "quota" "replicas" "require" "rule" "rules" "scale_to_zero" "schedule" "select" "severity" "slo" "spot" "stabilize" "target" "test" "throughput" "timeout" "tolerance" "ttft" "up" "vertical" "warmup" "workload"))

((identifier) @keyword.modifier
  (#any-of? @keyword.modifier "activate" "after" "as" "aws" "cloudwatch" "concurrent" "cpu" "cron" "current" "daily" "deployment" "disabled" "enforce" "every" "extends" "external" "failures" "for" "formula" "gpu" "hpa" "inferenceservice" "keda" "kserve" "least" "legacy" "max" "memory" "min" "monthly" "most" "per" "percent" "prometheus" "replica" "req/s" "statefulset" "tokens/s" "total" "tz" "vpa" "warn" "when"))
