//! Writes a long per-minute request series with a daily and weekly shape,
//! for measuring the simulator on weeks of traffic:
//! `cargo run --release -p scalepol-sim --example gen_series -- OUT.csv [DAYS] [MEAN_RPS]`.
//! Deterministic: the same arguments give the same file.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .expect("usage: gen_series OUT.csv [DAYS] [MEAN_RPS]");
    let days: u64 = args.get(2).map_or(14, |d| d.parse().expect("DAYS"));
    let mean: f64 = args.get(3).map_or(196.0, |m| m.parse().expect("MEAN_RPS"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).expect("create"));
    writeln!(f, "minute,count").expect("write");
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for m in 0..days * 1440 {
        let hour = (m % 1440) as f64 / 60.0;
        let weekday = (m / 1440) % 7 < 5;
        // A day peaking mid-afternoon at about 1.7x the mean, quiet nights,
        // quieter weekends, and a little noise.
        let day = 1.0 + 0.7 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin();
        let week = if weekday { 1.1 } else { 0.75 };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = 0.9 + 0.2 * (seed % 1000) as f64 / 1000.0;
        let count = (mean * 60.0 * day * week * noise).round();
        writeln!(f, "{m},{count}").expect("write");
    }
}
