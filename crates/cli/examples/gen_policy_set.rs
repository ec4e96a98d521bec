//! Writes a policy set of about SIZE bytes into DIR, made of renamed copies of
//! the example policies, for benchmarks of `scalepol check` as a whole process:
//!
//!     cargo run --release --example gen_policy_set -- DIR [SIZE_BYTES]

use std::path::Path;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: gen_policy_set DIR [SIZE_BYTES]");
    let size: usize = args
        .next()
        .map(|s| s.parse().expect("SIZE_BYTES is a number"))
        .unwrap_or(1 << 20);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut examples: Vec<(String, String)> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scalepol"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        // Self-contained policies only: copies must not depend on a defaults file.
        .filter(|(_, t)| t.contains("policy ") && !t.contains("extends"))
        .collect();
    examples.sort();
    std::fs::create_dir_all(&dir).unwrap();
    let (mut written, mut i) = (0, 0);
    while written < size {
        let (stem, text) = &examples[i % examples.len()];
        let name = policy_name(text);
        // Distinct names and workloads: copies must not collide (SP0221, SP0622).
        let renamed = rename_workload(
            &text.replacen(
                &format!("policy {name} "),
                &format!("policy {name}-{i} "),
                1,
            ),
            i,
        );
        std::fs::write(
            Path::new(&dir).join(format!("{stem}-{i}.scalepol")),
            &renamed,
        )
        .unwrap();
        written += renamed.len();
        i += 1;
    }
    println!("{i} files, {written} bytes in {dir}");
}

fn policy_name(text: &str) -> String {
    let at = text.find("\npolicy ").map(|i| i + 8).unwrap_or(7);
    text[at..]
        .split_whitespace()
        .next()
        .unwrap_or("p")
        .to_string()
}

/// Appends `-{i}` to the workload name: `workload KIND "a/b"` -> `"a/b-{i}"`.
fn rename_workload(text: &str, i: usize) -> String {
    let Some(at) = text.find("\n  workload ") else {
        return text.to_string();
    };
    let line_end = text[at + 1..]
        .find('\n')
        .map(|e| at + 1 + e)
        .unwrap_or(text.len());
    let Some(close) = text[at..line_end].rfind('"').map(|c| at + c) else {
        return text.to_string();
    };
    format!("{}-{i}{}", &text[..close], &text[close..])
}
