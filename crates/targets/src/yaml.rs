//! YAML emission, behind one function: serde_yaml is archived upstream, and
//! a maintained fork can replace it here alone.

/// A JSON value as YAML text (keys in the value's order).
pub fn to_string(v: &serde_json::Value) -> String {
    serde_yaml::to_string(v).expect("JSON values always serialise to YAML")
}

/// Parses YAML text (one document) into a JSON value.
pub fn from_str(text: &str) -> Result<serde_json::Value, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// The deepest nesting of flow collections (`[`, `{`) accepted, counted
/// over every byte, quoted or not: libyaml's scanner is quadratic in it
/// (20,000 levels take seconds, 300,000 minutes) before serde_yaml's own
/// recursion limit applies.
pub const MAX_FLOW_DEPTH: usize = 1000;
/// The longest a stream may take to parse. The depth count can be fooled
/// by closing brackets inside quoted strings; this bound cannot.
pub const MAX_PARSE_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Parses every document of a multi-document YAML stream, within
/// `MAX_FLOW_DEPTH` and `MAX_PARSE_TIME`. A parse that runs out of time is
/// left running on its own thread (it holds no lock and writes nothing);
/// the caller is told at once.
pub fn from_str_all(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let depth = flow_depth(text);
    if depth > MAX_FLOW_DEPTH {
        return Err(format!(
            "brackets nest {depth} deep; the limit is {MAX_FLOW_DEPTH}"
        ));
    }
    let owned = text.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("yaml".into())
        .spawn(move || {
            let _ = tx.send(parse_all(&owned));
        });
    if spawned.is_err() {
        return parse_all(text);
    }
    rx.recv_timeout(MAX_PARSE_TIME).unwrap_or_else(|_| {
        Err(format!(
            "parsing took longer than {} s; refused (nesting that deep is not a manifest)",
            MAX_PARSE_TIME.as_secs()
        ))
    })
}

/// The deepest run of unclosed `[` and `{`.
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn parse_all(text: &str) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_json::Value::deserialize(d).map_err(|e| e.to_string()))
        .filter(|v| !matches!(v, Ok(serde_json::Value::Null)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_at_once() {
        let deep = format!("x: {}{}\n", "[".repeat(300_000), "]".repeat(300_000));
        let started = std::time::Instant::now();
        let err = from_str_all(&deep).unwrap_err();
        assert!(err.contains("nest 300000 deep"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn closing_brackets_in_strings_cannot_buy_time() {
        // Each level hides a closer in a string: the count sees depth 1.
        let deep = format!("x: {}\n", "[ \"]\", ".repeat(200_000));
        assert!(flow_depth(&deep) <= 1);
        let started = std::time::Instant::now();
        assert!(from_str_all(&deep).is_err());
        assert!(started.elapsed() < MAX_PARSE_TIME + std::time::Duration::from_secs(2));
    }

    #[test]
    fn manifests_with_many_balanced_brackets_parse() {
        let wide = format!("x: [{}]\n", vec!["[]"; 50_000].join(","));
        assert_eq!(from_str_all(&wide).unwrap().len(), 1);
    }
}
