//! Times the stages of `check` over a directory, single-threaded:
//!     cargo run --release --example profile_check -- DIR
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: profile_check DIR");
    let mut texts = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        texts.push((
            p.to_string_lossy().into_owned(),
            std::fs::read_to_string(&p).unwrap(),
        ));
    }
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let t = Instant::now();
    for (_, text) in &texts {
        scalepol_syntax::parse(text).unwrap();
    }
    let parse = t.elapsed();
    let t = Instant::now();
    for (name, text) in &texts {
        scalepol_compiler::check_source(name, text, &scalepol_compiler::FsLoader);
    }
    let check = t.elapsed();
    let mb = bytes as f64 / 1e6;
    println!("{} files, {:.2} MB", texts.len(), mb);
    println!("parse: {:?} ({:.1} MB/s)", parse, mb / parse.as_secs_f64());
    println!("check (parse + lower): {:?}", check);
}
