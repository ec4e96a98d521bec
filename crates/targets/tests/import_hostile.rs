//! Import on hostile values: every leaf of every corpus manifest (and of the
//! AWS documents scalepol writes) replaced by values chosen to break an
//! importer (quotes, back-quotes, line breaks, huge and negative numbers,
//! wrong types). Import never panics; what it writes is a policy that
//! parses and checks without panicking, or it refuses.

use proptest::prelude::*;
use scalepol_compiler::{check_source, FsLoader};
use scalepol_targets::import;
use serde_json::{json, Value};

fn corpus() -> Vec<Vec<Value>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut out: Vec<Vec<Value>> = files
        .iter()
        .map(|p| {
            scalepol_targets::yaml::from_str_all(&std::fs::read_to_string(p).unwrap()).unwrap()
        })
        .collect();
    // An AWS template with a schedule and metric math.
    out.push(vec![json!({"Resources": {
        "T": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "ServiceNamespace": "ecs", "ResourceId": "service/c/s", "ScalableDimension": "ecs:service:DesiredCount",
            "MinCapacity": 1, "MaxCapacity": 5,
            "ScheduledActions": [
                {"ScheduledActionName": "x-a-start", "Schedule": "cron(0 8 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 2}},
                {"ScheduledActionName": "x-a-end", "Schedule": "cron(0 18 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 1}}]}},
        "P": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": "x-formula", "PolicyType": "TargetTrackingScaling", "ScalingTargetId": {"Ref": "T"},
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 10.0, "CustomizedMetricSpecification": {"Metrics": [
                {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": "A"}, "Stat": "Sum"}, "ReturnData": false},
                {"Id": "e1", "Expression": "m1 * 2", "ReturnData": true}]}}}}
    }})]);
    out
}

/// Every leaf path of a document.
fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            paths(
                x,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| paths(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

fn hostile() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("`rm -rf /`")),
        Just(json!("a\"b\\c")),
        Just(json!("line\nbreak")),
        Just(json!("}\npolicy evil {")),
        Just(json!("1e309")),
        Just(json!(-1)),
        Just(json!(1e300)),
        Just(json!(u64::MAX)),
        Just(json!(null)),
        Just(json!([])),
        Just(json!({})),
        Just(json!(true)),
        Just(json!("")),
        Just(json!("é∑😀")),
        Just(json!("cron(* * * * * *)")),
        Just(json!("(a + ) * ?? b")),
        "[ -~]{0,40}".prop_map(Value::from),
    ]
}

fn import_all(docs: &[Value]) {
    let aws: Vec<Value> = docs.iter().filter(|d| import::is_aws(d)).cloned().collect();
    let mut results = if aws.is_empty() {
        Vec::new()
    } else {
        import::import_aws(&aws)
    };
    results.extend(
        docs.iter()
            .filter(|d| !import::is_aws(d) && import::is_autoscaler(d))
            .map(|d| import::import_in(d, docs)),
    );
    for i in results.into_iter().flatten() {
        scalepol_syntax::parse(&i.source).unwrap_or_else(|e| panic!("{}: {}", e.message, i.source));
        let _ = check_source("imported.scalepol", &i.source, &FsLoader);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn import_survives_hostile_values(pick in any::<prop::sample::Index>(), leaf in any::<prop::sample::Index>(), value in hostile()) {
        let all = corpus();
        let mut docs = pick.get(&all).clone();
        let mut leaves = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            paths(d, format!("{i}"), &mut leaves);
        }
        if !leaves.is_empty() {
            let path = leaf.get(&leaves).clone();
            let (doc, ptr) = path.split_once('/').map(|(d, p)| (d.parse::<usize>().unwrap(), format!("/{p}"))).unwrap_or((0, String::new()));
            if let Some(slot) = docs[doc].pointer_mut(&ptr) {
                *slot = value;
            }
        }
        import_all(&docs);
    }
}
