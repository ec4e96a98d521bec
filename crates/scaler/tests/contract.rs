//! Wire compatibility with KEDA: every service method and message field of
//! KEDA's `externalscaler.proto` (kedacore/keda,
//! pkg/scalers/externalscaler/externalscaler.proto at commit 125494be),
//! by name, number and type, as facts in a table, against the descriptor
//! of the proto this crate compiles. A renumbered or retyped field would
//! decode as garbage on KEDA's side with no error at all: this is the test
//! that would say so. (KEDA's newer optional `StreamMetricSpec` is left
//! out: KEDA falls back when a scaler answers it UNIMPLEMENTED, as tonic
//! does for a method the service does not define.)

use protox::prost_reflect::{Cardinality, DescriptorPool, Kind};

/// (message, field, number, type, repeated)
const FIELDS: &[(&str, &str, u32, &str, bool)] = &[
    ("ScaledObjectRef", "name", 1, "string", false),
    ("ScaledObjectRef", "namespace", 2, "string", false),
    (
        "ScaledObjectRef",
        "scalerMetadata",
        3,
        "map<string,string>",
        false,
    ),
    ("IsActiveResponse", "result", 1, "bool", false),
    (
        "GetMetricSpecResponse",
        "metricSpecs",
        1,
        "MetricSpec",
        true,
    ),
    ("MetricSpec", "metricName", 1, "string", false),
    ("MetricSpec", "targetSize", 2, "int64", false),
    ("MetricSpec", "targetSizeFloat", 3, "double", false),
    (
        "GetMetricsRequest",
        "scaledObjectRef",
        1,
        "ScaledObjectRef",
        false,
    ),
    ("GetMetricsRequest", "metricName", 2, "string", false),
    ("GetMetricsResponse", "metricValues", 1, "MetricValue", true),
    ("MetricValue", "metricName", 1, "string", false),
    ("MetricValue", "metricValue", 2, "int64", false),
    ("MetricValue", "metricValueFloat", 3, "double", false),
];

/// (method, input, output, server streaming)
const METHODS: &[(&str, &str, &str, bool)] = &[
    ("IsActive", "ScaledObjectRef", "IsActiveResponse", false),
    (
        "StreamIsActive",
        "ScaledObjectRef",
        "IsActiveResponse",
        true,
    ),
    (
        "GetMetricSpec",
        "ScaledObjectRef",
        "GetMetricSpecResponse",
        false,
    ),
    (
        "GetMetrics",
        "GetMetricsRequest",
        "GetMetricsResponse",
        false,
    ),
];

fn pool() -> DescriptorPool {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
    let fds = protox::compile(["externalscaler.proto"], [dir]).unwrap();
    DescriptorPool::from_file_descriptor_set(fds).unwrap()
}

fn kind_name(k: &Kind) -> String {
    match k {
        Kind::String => "string".into(),
        Kind::Bool => "bool".into(),
        Kind::Int64 => "int64".into(),
        Kind::Double => "double".into(),
        Kind::Message(m) if m.is_map_entry() => {
            let f = |n: &str| kind_name(&m.get_field_by_name(n).unwrap().kind());
            format!("map<{},{}>", f("key"), f("value"))
        }
        Kind::Message(m) => m.name().into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn messages_match_kedas_field_by_field() {
    let pool = pool();
    for (msg, field, number, ty, repeated) in FIELDS {
        let m = pool
            .get_message_by_name(&format!("externalscaler.{msg}"))
            .unwrap_or_else(|| panic!("no message {msg}"));
        let f = m
            .get_field_by_name(field)
            .unwrap_or_else(|| panic!("no field {msg}.{field}"));
        assert_eq!(f.number(), *number, "{msg}.{field}");
        assert_eq!(kind_name(&f.kind()), *ty, "{msg}.{field}");
        let is_repeated = f.cardinality() == Cardinality::Repeated && !f.is_map();
        assert_eq!(is_repeated, *repeated, "{msg}.{field}");
    }
    // No field beyond KEDA's: an extra one would be ignored by KEDA.
    for m in pool.all_messages().filter(|m| !m.is_map_entry()) {
        for f in m.fields() {
            assert!(
                FIELDS
                    .iter()
                    .any(|(msg, name, ..)| *msg == m.name() && *name == f.name()),
                "{}.{} is not in KEDA's contract",
                m.name(),
                f.name()
            );
        }
    }
}

#[test]
fn the_service_matches_kedas() {
    let pool = pool();
    let s = pool
        .get_service_by_name("externalscaler.ExternalScaler")
        .unwrap();
    assert_eq!(s.methods().count(), METHODS.len());
    for (name, input, output, streaming) in METHODS {
        let m = s
            .methods()
            .find(|m| m.name() == *name)
            .unwrap_or_else(|| panic!("no method {name}"));
        assert_eq!(m.input().name(), *input, "{name}");
        assert_eq!(m.output().name(), *output, "{name}");
        assert_eq!(m.is_server_streaming(), *streaming, "{name}");
        assert!(!m.is_client_streaming(), "{name}");
    }
}
