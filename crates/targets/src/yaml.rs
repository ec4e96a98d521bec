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

/// Parses every document of a multi-document YAML stream.
pub fn from_str_all(text: &str) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_json::Value::deserialize(d).map_err(|e| e.to_string()))
        .filter(|v| !matches!(v, Ok(serde_json::Value::Null)))
        .collect()
}
