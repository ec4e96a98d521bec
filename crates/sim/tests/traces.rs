//! Trace reading: both layouts, column mapping, and an error with its line
//! for every malformed row.

use scalepol_sim::trace::{parse, Columns, Layout, ReadOptions, TraceError};

fn read(text: &str) -> Result<scalepol_sim::trace::Trace, TraceError> {
    parse(text, &ReadOptions::default())
}

fn line_of(e: TraceError) -> (u64, String) {
    match e {
        TraceError::Line { line, message } => (line, message),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn request_level_trace() {
    let t = read("timestamp_s,input_tokens,output_tokens\n0.0,10,5\n0.5,20,7\n2.0,1,1\n").unwrap();
    assert_eq!(t.requests.len(), 3);
    assert_eq!(t.duration, 2.0);
    assert!(t.has_tokens);
    assert_eq!(t.requests[1].input_tokens, 20);
}

#[test]
fn series_with_inferred_interval() {
    let t = read("time,count\n0,3\n60,0\n120,6\n").unwrap();
    assert_eq!(t.requests.len(), 9);
    assert_eq!(t.duration, 180.0);
    // Spread evenly over their interval.
    assert!((t.requests[0].t - 10.0).abs() < 1e-9 && (t.requests[2].t - 50.0).abs() < 1e-9);
    assert!(t.requests[3].t >= 120.0);
}

#[test]
fn column_mapping() {
    let cols = Columns::default().with_mapping("time=ts,count=n").unwrap();
    let opts = ReadOptions {
        columns: cols,
        layout: Some(Layout::Series),
        interval: Some(30.0),
    };
    let t = parse("ts,n\n0,2\n", &opts).unwrap();
    assert_eq!(t.requests.len(), 2);
    assert_eq!(t.duration, 30.0);
    assert!(Columns::default().with_mapping("when=ts").is_err());
}

#[test]
fn malformed_rows_name_their_line() {
    let h = "timestamp_s,input_tokens,output_tokens\n";
    let cases = [
        ("0,1,1\n2,1,1\n1,1,1\n", 4, "sorted"),
        ("0,1,1\n-1,1,1\n", 3, "0 or more"),
        ("0,1,1\nNaN,1,1\n", 3, "finite"),
        ("0,1,1\nx,1,1\n", 3, "not a number"),
        ("0,1,1\n1,,1\n", 3, "missing"),
        ("0,1,1\n1,1\n", 3, ""),
    ];
    for (body, line, words) in cases {
        let (l, m) = line_of(read(&format!("{h}{body}")).unwrap_err());
        assert_eq!(l, line, "{body:?}: {m}");
        assert!(m.contains(words), "{body:?}: {m}");
    }
}

#[test]
fn a_series_must_increase() {
    let (l, m) = line_of(read("time,count\n0,1\n0,2\n").unwrap_err());
    assert_eq!(l, 3);
    assert!(m.contains("strictly increasing"), "{m}");
}

#[test]
fn missing_columns_and_empty_traces() {
    assert!(
        matches!(read("when,tokens\n1,2\n"), Err(TraceError::Header(m)) if m.contains("--columns time="))
    );
    assert_eq!(read("timestamp_s\n"), Err(TraceError::Empty));
    assert!(matches!(
        read("time,count\n5,1\n"),
        Err(TraceError::Option(_))
    ));
}

#[test]
fn reshaping_scales_load_and_time() {
    let t = read("timestamp_s\n0\n1\n2\n3\n").unwrap();
    let double = t.reshaped(1.0, 2.0);
    assert_eq!(double.requests.len(), 8);
    assert!(double.requests.windows(2).all(|w| w[0].t <= w[1].t));
    let half = t.reshaped(1.0, 0.5);
    assert_eq!(half.requests.len(), 2);
    let fast = t.reshaped(3.0, 1.0);
    assert_eq!(fast.duration, 1.0);
}
