//! Each ScaledObject's controller memory (the engine's `State`: its
//! recommendations, scale events, failure counts), kept across restarts of
//! the scaler: one JSON file per object in the state directory, replaced
//! atomically (written beside, then renamed) after every decision. File
//! names are valid ConfigMap keys (`NAMESPACE.NAME.json`; Kubernetes names
//! hold no `/`), so `kubectl create configmap --from-file=DIR` snapshots
//! the whole directory.

use scalepol_runtime::State;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format of a snapshot file; bumped when it changes incompatibly.
pub const VERSION: u32 = 1;

/// What is kept of one object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub version: u32,
    pub policy: String,
    pub pool: String,
    /// The last decision, taken as applied: KEDA does not tell an external
    /// scaler the current count, and the pass-through HPA lands on it.
    pub replicas: u32,
    /// When it was decided (seconds since the Unix epoch).
    pub decided_at: f64,
    pub state: State,
}

/// Where snapshots live; `None` keeps them in memory only.
#[derive(Debug, Clone)]
pub struct Store {
    dir: Option<PathBuf>,
}

impl Store {
    pub fn new(dir: Option<PathBuf>) -> Result<Store, String> {
        if let Some(d) = &dir {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create the state directory {}: {e}", d.display()))?;
        }
        Ok(Store { dir })
    }

    fn path(&self, namespace: &str, name: &str) -> Option<PathBuf> {
        let key = format!("{}.{}.json", sanitize(namespace), sanitize(name));
        self.dir.as_ref().map(|d| d.join(key))
    }

    /// The object's snapshot, if one was kept and can be read. A file that
    /// does not parse (or is of another version) is reported and ignored:
    /// the controller then starts afresh, as a new HPA would.
    pub fn load(&self, namespace: &str, name: &str) -> Result<Option<Snapshot>, String> {
        let Some(path) = self.path(namespace, name) else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let snap: Snapshot = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a state snapshot ({e})", path.display()))?;
        if snap.version != VERSION {
            return Err(format!(
                "{}: snapshot version {} (this scaler reads {VERSION})",
                path.display(),
                snap.version
            ));
        }
        Ok(Some(snap))
    }

    /// Replaces the object's snapshot atomically.
    pub fn save(&self, namespace: &str, name: &str, snap: &Snapshot) -> Result<(), String> {
        let Some(path) = self.path(namespace, name) else {
            return Ok(());
        };
        let text = serde_json::to_string(snap).map_err(|e| e.to_string())?;
        write_atomically(&path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Written beside, then renamed over: a reader (or a restarted scaler)
/// sees the old snapshot or the new one, never half of one. No fsync: the
/// state must survive the process (a pod restart keeps the page cache of
/// its volume), and a sync per decision would cost far more than the
/// decision; after a power loss a controller at worst starts afresh.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Kubernetes names are `[a-z0-9.-]`; anything else (from a hostile or
/// mistaken request) is replaced, so a name can never leave the directory.
fn sanitize(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(253)
        .collect();
    if clean.is_empty() {
        "_".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_survive_a_new_store_and_names_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Some(dir.path().to_path_buf())).unwrap();
        let snap = Snapshot {
            version: VERSION,
            policy: "chat".into(),
            pool: "main".into(),
            replicas: 3,
            decided_at: 1_700_000_000.0,
            state: State::new_controller(3, 1_700_000_000.0),
        };
        store.save("serving", "../../etc", &snap).unwrap();
        let again = Store::new(Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(again.load("serving", "../../etc").unwrap(), Some(snap));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["serving.______etc.json"]);
        assert_eq!(again.load("serving", "other").unwrap(), None);
        std::fs::write(dir.path().join("serving.bad.json"), "{").unwrap();
        assert!(again.load("serving", "bad").is_err());
    }
}
