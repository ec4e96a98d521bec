//! The checker never panics: on random mutations and truncations of the
//! example policies, and on arbitrary text. Every example policy is clean.

use proptest::prelude::*;
use scalepol_compiler::{check_source, Loader, Severity};

/// Serves nothing: mutated policies must not reach the file system.
struct NoFiles;
impl Loader for NoFiles {
    fn load(&self, _from: &str, path: &str) -> Result<(String, String), String> {
        Err(format!("{path}: not available in this test"))
    }
}

fn policies() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .map(|p| {
            (
                p.to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (
            any::<usize>(),
            prop_oneof![
                "[{}`\"$.%:=<>,;\n]".prop_map(String::from),
                "[a-z0-9 ]{1,6}".prop_map(String::from),
                Just("é".to_string()),
                Just("((((".to_string()),
                Just("0..".to_string()),
            ]
        )
            .prop_map(|(a, s)| Edit::Insert(a, s)),
        (any::<usize>(), 1usize..80).prop_map(|(a, n)| Edit::Duplicate(a, n)),
    ]
}

/// The nearest char boundary at or below `i`.
fn floor(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, e: &Edit) -> String {
    let mut s = text.to_string();
    match e {
        Edit::Truncate(a) => s.truncate(floor(&s, *a)),
        Edit::Delete(a, n) => {
            let start = floor(&s, *a);
            let end = floor(&s, (start + n).min(s.len()));
            s.replace_range(start..end.max(start), "");
        }
        Edit::Insert(a, ins) => s.insert_str(floor(&s, *a), ins),
        Edit::Duplicate(a, n) => {
            let start = floor(&s, *a);
            let end = floor(&s, (start + n).min(s.len())).max(start);
            let piece = s[start..end].to_string();
            s.insert_str(end, &piece);
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_policies_never_panic(which in 0usize..64, edits in prop::collection::vec(edit(), 1..4)) {
        let all = policies();
        let (name, text) = &all[which % all.len()];
        let mut s = text.clone();
        for e in &edits {
            s = apply(&s, e);
        }
        let checked = check_source(name, &s, &NoFiles);
        // A diagnostic's spans always lie inside its file.
        for d in &checked.diagnostics {
            let f = &checked.files[d.primary.file.0 as usize];
            prop_assert!(d.primary.span.end <= f.text.len() && d.primary.span.start <= d.primary.span.end, "{d:?}");
            prop_assert!(f.text.is_char_boundary(d.primary.span.start) && f.text.is_char_boundary(d.primary.span.end), "{d:?}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = check_source("any.scalepol", &s, &NoFiles);
    }
}

#[test]
fn example_policies_are_clean() {
    for (name, text) in policies() {
        let checked = check_source(&name, &text, &scalepol_compiler::FsLoader);
        let problems: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .map(|d| (d.code, d.message.clone()))
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:?}");
        assert!(
            checked.policy.is_some() || checked.is_defaults,
            "{name} built no model"
        );
    }
}

#[test]
fn example_policies_are_formatted() {
    for (name, text) in policies() {
        let doc = scalepol_syntax::parse(&text).unwrap();
        assert_eq!(
            scalepol_syntax::format_document(&doc),
            text,
            "{name} is not in canonical format"
        );
    }
}

#[test]
fn inherited_settings_keep_their_origin() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policies/summarizer.scalepol"
    );
    let text = std::fs::read_to_string(dir).unwrap();
    let checked = check_source(dir, &text, &scalepol_compiler::FsLoader);
    let p = checked.policy.expect("summarizer builds");
    let s = p.pools[0].scale.as_ref().unwrap();
    // From org-defaults.scalepol: `tolerance up 5% down 10%`, `down { ... select min, stabilize 5m }`.
    assert!((s.tolerance_up.value - 0.05).abs() < 1e-9);
    assert!(
        matches!(&s.tolerance_up.origin, scalepol_compiler::model::Origin::Inherited { file, .. } if file.ends_with("org-defaults.scalepol"))
    );
    assert_eq!(
        s.down.select.value,
        scalepol_compiler::model::SelectPolicy::Min
    );
    // Not written anywhere: the documented default, with its source.
    assert!(s.interval.is_default());
    assert!(p.slo.as_ref().unwrap().availability.is_some());
}

/// Thousands of findings in one large file cost what each one shows, not
/// the file's size each: rendering used to rescan the whole file for every
/// diagnostic (20,000 pools took a minute). Compared with one finding's cost
/// so the bound holds on slow machines and in debug builds.
#[test]
fn rendering_many_findings_is_linear() {
    let policy = |pools: usize| {
        let mut text = String::from("policy many {\n  workload deployment \"ml/many\"\n");
        for i in 0..pools {
            text.push_str(&format!(
                "  pool p{i}: cpu {{\n    replicas 1..4\n    capacity 10 req/s\n    cost $0.1/h\n  }}\n"
            ));
        }
        text + "}\n"
    };
    let render_all = |pools: usize| {
        let checked = check_source("many.scalepol", &policy(pools), &NoFiles);
        let started = std::time::Instant::now();
        let mut bytes = 0;
        for d in &checked.diagnostics {
            bytes += scalepol_compiler::render::human(d, &checked.files, false).len();
            bytes += scalepol_compiler::render::json(d, &checked.files)
                .to_string()
                .len();
        }
        (checked.diagnostics.len(), started.elapsed(), bytes)
    };
    let (small_n, small_t, _) = render_all(500);
    let (big_n, big_t, bytes) = render_all(8000);
    assert!(big_n >= 8000 && small_n >= 500, "{big_n} {small_n}");
    let per_small = small_t.as_secs_f64() / small_n as f64;
    let per_big = big_t.as_secs_f64() / big_n as f64;
    assert!(
        per_big < per_small * 4.0,
        "per finding: {per_small:.2e} s at 500 pools, {per_big:.2e} s at 8,000 ({bytes} bytes)"
    );
}

/// A finding on a line of megabytes shows a window of it.
#[test]
fn a_long_line_is_not_echoed_whole() {
    let text = format!(
        "policy x {{\n  workload deployment \"a/b\" // {}\n  bogus 3\n}}\n",
        "x".repeat(4_000_000)
    );
    let checked = check_source("long.scalepol", &text, &NoFiles);
    assert!(!checked.diagnostics.is_empty());
    for d in &checked.diagnostics {
        let shown = scalepol_compiler::render::human(d, &checked.files, false);
        assert!(shown.len() < 4000, "{} bytes", shown.len());
    }
}
