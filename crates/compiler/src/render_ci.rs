//! Reports for CI systems beyond SARIF and GitHub annotations: GitLab's
//! Code Quality JSON (docs.gitlab.com, "Code Quality report format") and
//! JUnit XML (the format Jenkins, GitLab and most CI dashboards read).

use crate::diagnostics::{Diagnostic, Severity};
use crate::SourceFile;
use serde_json::{json, Value};

/// A stable fingerprint (FNV-1a, 64 bits) of a finding: the same finding
/// at the same place keeps it from run to run, so GitLab can tell new
/// findings from old ones.
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// GitLab Code Quality: one issue per finding.
pub fn gitlab(results: &[(&[SourceFile], &[Diagnostic])]) -> Value {
    let issues: Vec<Value> = results
        .iter()
        .flat_map(|(files, diags)| diags.iter().map(move |d| (*files, d)))
        .map(|(files, d)| {
            let f = &files[d.primary.file.0 as usize];
            let (line, _) = f.human(d.primary.span.start);
            let severity = match d.severity {
                Severity::Error => "major",
                Severity::Warning => "minor",
                Severity::Note => "info",
            };
            let name = d.info().map(|i| i.name).unwrap_or("");
            json!({
                "description": format!("{}: {}", d.code, d.message),
                "check_name": format!("{} {name}", d.code).trim_end(),
                "fingerprint": fingerprint(&[&f.name, d.code, &line.to_string(), &d.message]),
                "severity": severity,
                "location": {"path": f.name, "lines": {"begin": line}},
            })
        })
        .collect();
    Value::Array(issues)
}

/// Text escaped for XML attributes and content; characters XML 1.0 cannot
/// carry at all are dropped.
pub fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML: a test case per checked file that passes when it has no
/// finding at the failing level, and one failing test case per such
/// finding (errors; warnings too when `deny_warnings`).
pub fn junit(results: &[(&[SourceFile], &[Diagnostic])], deny_warnings: bool) -> String {
    let fails = |d: &Diagnostic| {
        d.severity == Severity::Error || (deny_warnings && d.severity == Severity::Warning)
    };
    let mut cases = String::new();
    let (mut tests, mut failures) = (0, 0);
    for (files, diags) in results {
        let name = &files[0].name;
        let failing: Vec<&Diagnostic> = diags.iter().filter(|d| fails(d)).collect();
        if failing.is_empty() {
            tests += 1;
            cases.push_str(&format!(
                "    <testcase classname=\"scalepol.check\" name=\"{}\"/>\n",
                xml(name)
            ));
        }
        for d in failing {
            tests += 1;
            failures += 1;
            let f = &files[d.primary.file.0 as usize];
            let (line, col) = f.human(d.primary.span.start);
            let help = d
                .help
                .as_deref()
                .map(|h| format!("\nhelp: {h}"))
                .unwrap_or_default();
            cases.push_str(&format!(
                "    <testcase classname=\"scalepol.check\" name=\"{}:{line}:{col} {}\">\n      <failure type=\"{}\" message=\"{}\">{}:{line}:{col}: {}{}</failure>\n    </testcase>\n",
                xml(&f.name),
                d.code,
                d.code,
                xml(&d.message),
                xml(&f.name),
                xml(&d.message),
                xml(&help)
            ));
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"scalepol\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"scalepol check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::{fingerprint, xml};

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
    }

    #[test]
    fn xml_is_escaped_and_control_characters_dropped() {
        assert_eq!(
            xml("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}
