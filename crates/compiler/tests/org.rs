//! Organisation rules and checks across a set of policies: guardrails,
//! quotas, levels, one policy per workload. Each scenario snapshots what
//! `check --rules` reports and asserts the codes it is about.

use scalepol_compiler::org::{check_set, load_rules};
use scalepol_compiler::{check_source, render, Checked, FsLoader};

fn policy(name: &str, workload: &str, max: u32, accelerator: &str) -> String {
    format!(
        "policy {name} {{\n  workload deployment \"{workload}\"\n  pool main: gpu {{\n    accelerator \"{accelerator}\"\n    replicas 1..{max}\n    capacity 10 req/s\n    cost $1/h\n  }}\n  slo {{\n    latency p95 < 1s\n  }}\n  budget monthly <= ${budget}\n  metrics prometheus \"http://prom:9090\" {{\n    rps = `sum(rate(x[1m]))` as req/s\n  }}\n  scale {{\n    on rps per replica target 8 req/s\n    down {{ stabilize 5m }}\n  }}\n}}\n",
        budget = max * 730 + 100
    )
}

/// Checks the policies together with the rules; returns the report and codes.
fn scenario(rules: &str, policies: &[(&str, String)]) -> (String, Vec<String>) {
    let mut r = load_rules("org.rules", rules);
    let mut checked: Vec<Checked> = policies
        .iter()
        .map(|(n, t)| check_source(n, t, &FsLoader))
        .collect();
    check_set(&mut checked, Some(&mut r));
    let mut out = String::new();
    let mut codes = Vec::new();
    for c in &checked {
        for d in &c.diagnostics {
            out.push_str(&render::human(d, &c.files, false));
            codes.push(d.code.to_string());
        }
    }
    let rules_file = [r.file.clone()];
    for d in &r.diagnostics {
        out.push_str(&render::human(d, &rules_file, false));
        codes.push(d.code.to_string());
    }
    (out, codes)
}

const GUARDRAILS: &str = r#"rules acme {
  guardrail "GPU pools are capped" {
    code ACME001
    severity error
    message "GPU pools may not exceed 32 replicas"
    require `policy.pools.all(p, p.kind != "gpu" || p.replicas.max <= 32)`
  }
  guardrail "a field that is not there" {
    code ACME002
    message "never true"
    require `policy.nonexistent > 1`
  }
}
"#;

#[test]
fn guardrails_fire_and_report_evaluation_errors() {
    let (out, codes) = scenario(
        GUARDRAILS,
        &[
            ("big.scalepol", policy("big", "ml/big", 40, "nvidia-l4")),
            (
                "small.scalepol",
                policy("small", "ml/small", 8, "nvidia-l4"),
            ),
        ],
    );
    assert_eq!(codes.iter().filter(|c| *c == "ACME001").count(), 1, "{out}");
    assert_eq!(codes.iter().filter(|c| *c == "SP0611").count(), 2, "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn invalid_guardrails_are_diagnosed_in_the_rules_file() {
    let rules = "rules acme {\n  guardrail \"no code\" {\n    message \"m\"\n    require `true`\n  }\n  guardrail \"bad code\" {\n    code SP0001\n    message \"m\"\n    require `true`\n  }\n  guardrail \"bad cel\" {\n    code ORG1\n    message \"m\"\n    require `policy.pools.all(p, `\n  }\n  level SP9999 allow\n}\n";
    let (out, codes) = scenario(rules, &[]);
    assert_eq!(codes.iter().filter(|c| *c == "SP0610").count(), 2, "{out}");
    assert!(
        codes.contains(&"SP0401".to_string()) && codes.contains(&"SP0623".to_string()),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn quotas_over_the_whole_set() {
    let rules = "rules acme {\n  quota accelerator \"nvidia-l4\" <= 20\n  quota budget monthly <= $15000\n}\n";
    let (out, codes) = scenario(
        rules,
        &[
            ("a.scalepol", policy("a", "ml/a", 12, "nvidia-l4")),
            ("b.scalepol", policy("b", "ml/b", 12, "nvidia-l4")),
        ],
    );
    assert_eq!(codes, ["SP0620", "SP0621"], "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn two_policies_on_one_workload() {
    let (out, codes) = scenario(
        "rules acme {\n}\n",
        &[
            ("a.scalepol", policy("a", "ml/same", 4, "nvidia-l4")),
            ("b.scalepol", policy("b", "ml/same", 4, "nvidia-l4")),
        ],
    );
    assert_eq!(codes, ["SP0622"], "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn levels_change_severity_or_silence() {
    let noisy = policy("noisy", "ml/noisy", 4, "nvidia-l4").replace(
        "    down { stabilize 5m }\n",
        "    down { stabilize 5m }\n    tolerance 0%\n",
    );
    let (_, before) = scenario("rules acme {\n}\n", &[("n.scalepol", noisy.clone())]);
    assert_eq!(before, ["SP0532"]);
    let mut r = load_rules(
        "org.rules",
        "rules acme {\n  level zero-tolerance-small-pool error\n}\n",
    );
    let mut checked = vec![check_source("n.scalepol", &noisy, &FsLoader)];
    check_set(&mut checked, Some(&mut r));
    assert_eq!(
        checked[0].diagnostics[0].severity,
        scalepol_compiler::Severity::Error
    );
    let (_, silenced) = scenario(
        "rules acme {\n  level SP0532 allow\n}\n",
        &[("n.scalepol", noisy)],
    );
    assert!(silenced.is_empty());
}

#[test]
fn the_example_rules_hold_for_the_example_policies() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let rules = std::fs::read_to_string(format!("{root}/org/acme.rules")).unwrap();
    let mut r = load_rules("acme.rules", &rules);
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let mut checked: Vec<Checked> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .map(|p| {
            check_source(
                &p.to_string_lossy(),
                &std::fs::read_to_string(&p).unwrap(),
                &FsLoader,
            )
        })
        .collect();
    check_set(&mut checked, Some(&mut r));
    let problems: Vec<_> = checked
        .iter()
        .flat_map(|c| &c.diagnostics)
        .filter(|d| d.severity >= scalepol_compiler::Severity::Warning)
        .map(|d| d.code)
        .collect();
    assert!(
        problems.is_empty() && r.diagnostics.is_empty(),
        "{problems:?} {:?}",
        r.diagnostics
    );
}

/// A policy of `pools` small CPU pools.
fn many_pools(pools: usize) -> String {
    let mut text = String::from("policy many {\n  workload deployment \"ml/many\"\n");
    for i in 0..pools {
        text.push_str(&format!(
            "  pool p{i}: cpu {{\n    replicas 1..4\n    capacity 10 req/s\n    cost $0.1/h\n  }}\n"
        ));
    }
    text.push_str("}\n");
    text
}

#[test]
fn a_nested_comprehension_over_a_large_policy_is_refused_before_it_runs() {
    let rules = r#"rules acme {
  guardrail "ranges are comparable" {
    code ACME003
    message "every pool's maximum is at least every pool's minimum"
    require `policy.pools.all(p, policy.pools.all(q, p.replicas.max >= q.replicas.min))`
  }
}
"#;
    // 3 pools: 9 iterations, evaluated, and true.
    let (_, codes) = scenario(rules, &[("few.scalepol", many_pools(3))]);
    assert!(
        !codes.iter().any(|c| c == "SP0611" || c == "ACME003"),
        "{codes:?}"
    );
    // 2,000 pools: about 4 million iterations; refused in no time.
    let started = std::time::Instant::now();
    let (out, codes) = scenario(rules, &[("many.scalepol", many_pools(2000))]);
    assert!(codes.iter().any(|c| c == "SP0611"), "{codes:?}");
    assert!(out.contains("may iterate"), "{out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
