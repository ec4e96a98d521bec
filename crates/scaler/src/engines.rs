//! The engine artifacts a scaler serves: every `*.json` file of one
//! directory (`scalepol compile --target engine`, or the ConfigMap that
//! `compile` writes for the scaler), keyed by policy name. The directory is
//! read again every reload interval and the set swapped when its contents
//! changed: a ConfigMap volume is updated in place by the kubelet.

use crate::Scaler;
use scalepol_runtime::Engine;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The engines loaded from one directory.
#[derive(Default)]
pub struct Engines {
    /// Policy name → (file it came from, engine).
    by_policy: BTreeMap<String, (String, Arc<Engine>)>,
    /// A digest of every file's name and content: unchanged, no reload.
    digest: Vec<u8>,
}

/// What a load found: the engines, and one message per file that could
/// not be served.
pub struct Loaded {
    pub engines: Engines,
    pub problems: Vec<String>,
}

impl Engines {
    pub fn get(&self, policy: &str) -> Option<&Arc<Engine>> {
        self.by_policy.get(policy).map(|(_, e)| e)
    }

    pub fn policies(&self) -> impl Iterator<Item = &str> {
        self.by_policy.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_policy.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_policy.is_empty()
    }
}

/// The `*.json` files of `dir`, sorted by name, with their contents.
/// Hidden entries are skipped: a ConfigMap volume keeps its previous
/// version in `..data`-style hidden directories.
fn read_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        // A file removed between listing and reading is simply gone.
        if let Ok(bytes) = std::fs::read(entry.path()) {
            files.push((name, bytes));
        }
    }
    files.sort();
    Ok(files)
}

fn digest(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut h = Sha256::new();
    for (name, bytes) in files {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.finalize().to_vec()
}

/// Loads every artifact of `dir`. A file that does not load keeps the
/// engine it gave last time (`previous`), if any, so a bad edit does not
/// stop the objects that policy scales; two files naming one policy are a
/// problem, the first (by file name) is served.
pub fn load(dir: &Path, previous: Option<&Engines>) -> Result<Loaded, String> {
    let files = read_dir(dir)?;
    let mut engines = Engines {
        digest: digest(&files),
        ..Engines::default()
    };
    let mut problems = Vec::new();
    for (name, bytes) in &files {
        let loaded = std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|text| Engine::load(text).map_err(|e| e.to_string()));
        let engine = match loaded {
            Ok(e) => Arc::new(e),
            Err(e) => {
                let kept = previous.and_then(|p| {
                    p.by_policy
                        .iter()
                        .find(|(_, (file, _))| file == name)
                        .map(|(policy, (_, engine))| (policy.clone(), Arc::clone(engine)))
                });
                match kept {
                    Some((policy, engine)) => {
                        problems.push(format!(
                            "{name}: {e}; still serving its previous version of `{policy}`"
                        ));
                        engines.by_policy.insert(policy, (name.clone(), engine));
                    }
                    None => problems.push(format!("{name}: {e}")),
                }
                continue;
            }
        };
        let policy = engine.artifact().policy.clone();
        if let Some((first, _)) = engines.by_policy.get(&policy) {
            problems.push(format!(
                "{name}: policy `{policy}` is already served from {first}; this file is ignored"
            ));
            continue;
        }
        engines.by_policy.insert(policy, (name.clone(), engine));
    }
    Ok(Loaded { engines, problems })
}

/// Whether the directory's contents differ from what `current` was loaded from.
pub fn changed(dir: &Path, current: &Engines) -> Result<bool, String> {
    Ok(digest(&read_dir(dir)?) != current.digest)
}

/// Reloads the scaler's engines whenever the directory changes, until `stop`.
pub async fn watch(scaler: Arc<Scaler>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = scaler.config.reload;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let s = Arc::clone(&scaler);
        // File reads block: keep them off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || s.reload_if_changed()).await;
    }
}
