//! `scalepol import`

use scalepol_targets::{import, yaml};
use std::path::Path;

/// Imports every object of the file. What has no equivalent is listed as a
/// note; such an import changes behaviour, so it writes nothing and exits 1
/// unless `lossy`.
pub fn run(file: &Path, out: &str, lossy: bool) -> u8 {
    // `-` reads standard input, as every other command does.
    let input = if file == Path::new("-") {
        crate::files::Input::Stdin
    } else {
        crate::files::Input::File(file.to_path_buf())
    };
    let shown = input.name();
    let text = match input.read() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let docs = match yaml::from_str_all(&text) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {}: not YAML: {e}", shown);
            return 1;
        }
    };
    let mut policies = Vec::new();
    // AWS requests, templates and describe output come in parts (a target,
    // its policies, its scheduled actions): they are read together.
    let aws: Vec<serde_json::Value> = docs.iter().filter(|d| import::is_aws(d)).cloned().collect();
    for r in import::import_aws(&aws)
        .into_iter()
        .filter(|_| !aws.is_empty())
    {
        match r {
            Ok(p) => policies.push(p),
            Err(e) => {
                eprintln!("error: {shown}: {e}");
                return 1;
            }
        }
    }
    for (i, doc) in docs.iter().enumerate() {
        if import::is_aws(doc) {
            continue;
        }
        if !import::is_autoscaler(doc) {
            if let Some(kind) = doc.get("kind").and_then(|k| k.as_str()) {
                eprintln!(
                    "note: {} (document {}): a {kind} is not an autoscaler; passed over",
                    shown,
                    i + 1
                );
            }
            continue;
        }
        match import::import_in(doc, &docs) {
            Ok(p) => policies.push(p),
            Err(e) => {
                eprintln!("error: {} (document {}): {e}", shown, i + 1);
                return 1;
            }
        }
    }
    let lost: usize = policies.iter().map(|p| p.notes.len()).sum();
    for p in &policies {
        for n in &p.notes {
            eprintln!("note: {}: not carried over: {n}", p.name);
        }
    }
    if lost > 0 && !lossy {
        eprintln!(
            "error: {shown}: {lost} setting(s) cannot be carried over, so the policy would scale differently; nothing was written (pass --lossy to write it anyway, with the notes as comments)"
        );
        return 1;
    }
    match (out, policies.as_slice()) {
        (_, []) => {
            eprintln!("error: {} holds no object", shown);
            1
        }
        ("-", [one]) => {
            print!("{}", one.source);
            0
        }
        ("-", _) => {
            eprintln!(
                "error: {} holds {} objects: write them to a directory with --out DIR",
                shown,
                policies.len()
            );
            2
        }
        (path, [one]) if !Path::new(path).is_dir() => write(Path::new(path), &one.source),
        (dir, many) => {
            // Two objects with the same name do not overwrite each other.
            let mut taken = std::collections::HashSet::new();
            many.iter()
                .map(|p| {
                    let mut stem = p.name.clone();
                    let mut k = 2;
                    while !taken.insert(stem.clone()) {
                        stem = format!("{}-{k}", p.name);
                        k += 1;
                    }
                    write(&Path::new(dir).join(format!("{stem}.scalepol")), &p.source)
                })
                .max()
                .unwrap_or(0)
        }
    }
}

fn write(path: &Path, text: &str) -> u8 {
    match crate::fmt::write_atomically(path, text) {
        Ok(()) => {
            eprintln!("wrote {}", path.display());
            0
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            2
        }
    }
}
