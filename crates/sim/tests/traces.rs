//! Trace reading: both layouts, column mapping, and an error with its line
//! for every malformed row.

use scalepol_sim::trace::{parse, Columns, Layout, ReadOptions, TimeUnit, TraceError};

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
    // Never expanded into one value per request.
    assert!(t.requests.is_empty());
    assert_eq!(t.series.len(), 3);
    let a: Vec<_> = t.arrivals(1.0, 1.0).collect();
    assert_eq!(a.len(), 9);
    assert_eq!(t.len(), 9);
    assert_eq!(t.duration, 180.0);
    // Spread evenly over their interval.
    assert!((a[0].t - 10.0).abs() < 1e-9 && (a[2].t - 50.0).abs() < 1e-9);
    assert!(a[3].t >= 120.0);
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
    assert_eq!(t.len(), 2);
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

#[test]
fn time_units_for_series_in_minutes() {
    let cols = Columns::default().with_mapping("time=minute:m").unwrap();
    let opts = ReadOptions {
        columns: cols,
        ..ReadOptions::default()
    };
    let t = parse("minute,count\n0,60\n1,120\n2,60\n", &opts).unwrap();
    assert_eq!(t.step, 60.0);
    assert_eq!(t.duration, 180.0);
    assert!((t.peak_rate(60.0) - 2.0).abs() < 1e-9);
    assert!(Columns::default()
        .with_mapping("time=minute:fortnight")
        .is_err());
    assert_eq!(TimeUnit::parse("h"), Some(TimeUnit(3600.0)));
}

#[test]
fn an_interval_longer_than_the_rows_spacing_is_refused() {
    let opts = ReadOptions {
        interval: Some(120.0),
        ..ReadOptions::default()
    };
    let e = parse("time,count\n0,1\n60,1\n", &opts).unwrap_err();
    assert!(
        matches!(&e, TraceError::Option(m) if m.contains("overlap") && m.contains("line 3")),
        "{e}"
    );
}

#[test]
fn service_times_from_a_column() {
    let cols = Columns::default()
        .with_mapping("service=exec_ms:ms")
        .unwrap();
    let opts = ReadOptions {
        columns: cols,
        ..ReadOptions::default()
    };
    let t = parse("timestamp_s,exec_ms\n0,1500\n1,250\n", &opts).unwrap();
    assert!(t.has_service());
    assert_eq!(t.requests[0].service, Some(1.5));
    assert_eq!(t.requests[1].service, Some(0.25));
    let missing = parse("timestamp_s\n0\n", &opts).unwrap_err();
    assert!(matches!(missing, TraceError::Header(m) if m.contains("exec_ms")));
}

#[test]
fn scaled_copies_keep_the_shape_instead_of_clumping() {
    // 10 requests at one instant, then one every second.
    let mut text = String::from("timestamp_s\n");
    for _ in 0..10 {
        text.push_str("0\n");
    }
    for i in 1..=20 {
        text.push_str(&format!("{i}\n"));
    }
    let t = read(&text).unwrap();
    let a: Vec<f64> = t.arrivals(1.0, 50.0).map(|r| r.t).collect();
    assert_eq!(a.len(), 30 * 50);
    assert!(a.windows(2).all(|w| w[0] <= w[1]), "sorted");
    // The originals keep their instant; the copies spread over the gap to
    // the next distinct time, not onto the same instant.
    let at_zero = a.iter().filter(|&&x| x == 0.0).count();
    assert_eq!(at_zero, 10);
    let in_first_second = a.iter().filter(|&&x| x < 1.0).count();
    assert_eq!(in_first_second, 500);
    let mut distinct = a.clone();
    distinct.dedup();
    assert!(
        distinct.len() > 1400,
        "{} distinct instants",
        distinct.len()
    );
    // Deterministic.
    let b: Vec<f64> = t.arrivals(1.0, 50.0).map(|r| r.t).collect();
    assert_eq!(a, b);
}

#[test]
fn absurd_times_and_counts_are_errors() {
    let (l, m) = line_of(read("timestamp_s\n0\n1e300\n").unwrap_err());
    assert_eq!(l, 3);
    assert!(m.contains("400 days"), "{m}");
    let (l, m) = line_of(read("time,count\n0,1e300\n60,1\n").unwrap_err());
    assert_eq!(l, 2);
    assert!(m.contains("10^12"), "{m}");
}
