//! `scalepol explain CODE`

use scalepol_compiler::codes;

pub fn run(code: Option<&str>) -> u8 {
    let Some(code) = code else {
        for c in codes::REGISTRY {
            println!("{}  {:<8} {}", c.code, c.severity.as_str(), c.summary);
        }
        return 0;
    };
    match codes::lookup(code) {
        Some(c) => {
            let life = match c.lifecycle {
                codes::Lifecycle::Stable => "",
                codes::Lifecycle::Preview => ", preview: its wording or severity may change",
                codes::Lifecycle::Deprecated => ", deprecated: to be removed",
            };
            println!(
                "{} ({}, {}{life}): {}\n",
                c.code,
                c.name,
                c.severity.as_str(),
                c.summary
            );
            println!("{}", c.explanation);
            0
        }
        None => {
            eprintln!("error: `{code}` is not a scalepol diagnostic code; `scalepol explain` lists them all");
            2
        }
    }
}
