//! The gRPC methods of KEDA's external scaler, over the decision engine.
//!
//! Each ScaledObject is one controller: its trigger's metadata names the
//! policy (`policy`) and the pool (`pool`) it scales, and the scaler keeps
//! the engine's state for it (`store`). `GetMetrics` and `IsActive` decide
//! (reusing a decision younger than `Config::reuse`, since KEDA calls them
//! back to back); the value is the decided count against a target of 1
//! per replica, so the HPA computes `ceil(count / 1)` = the count.

use crate::engines::{self, Engines};
use crate::proto::external_scaler_server::ExternalScaler;
use crate::proto::{
    GetMetricSpecResponse, GetMetricsRequest, GetMetricsResponse, IsActiveResponse, MetricSpec,
    MetricValue, ScaledObjectRef,
};
use crate::store::{Snapshot, Store, VERSION};
use crate::telemetry::Telemetry;
use scalepol_runtime::artifact::MetricSpec as Metric;
use scalepol_runtime::{Decision, Engine, Observation, State};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tonic::{Request, Response, Status};

/// Reads one metric's current value (`at`: seconds since the Unix epoch).
/// Called off the async runtime's threads, so it may block.
pub type MetricReader = Arc<dyn Fn(&Metric, f64) -> Result<f64, String> + Send + Sync>;

/// This replica's share of the ScaledObjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

pub struct Config {
    pub engines: PathBuf,
    pub state: Option<PathBuf>,
    pub shard: Option<Shard>,
    /// A decision younger than this is returned again rather than remade.
    pub reuse: Duration,
    /// How often the engines directory is read again.
    pub reload: Duration,
    /// Serve gRPC over TLS (PEM certificate chain and key); with a client
    /// CA, callers must present a certificate it signed (mutual TLS, as
    /// KEDA does with a TriggerAuthentication's `tlsClientCert`).
    pub tls: Option<Tls>,
}

#[derive(Clone)]
pub struct Tls {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

type Shared = Arc<tokio::sync::Mutex<Controller>>;

/// One ScaledObject's controller.
struct Controller {
    policy: String,
    pool: String,
    replicas: u32,
    state: State,
    last: Option<(Instant, Decision)>,
}

impl Controller {
    /// A controller seeing the pool for the first time, as a new HPA does:
    /// at the pool's minimum, its scale-down window starting now.
    fn fresh(engine: &Engine, pool: usize) -> Controller {
        let spec = &engine.artifact().pools[pool];
        Controller {
            policy: engine.artifact().policy.clone(),
            pool: spec.name.clone(),
            replicas: spec.min,
            state: State::new_controller(spec.min, now()),
            last: None,
        }
    }
}

pub struct Scaler {
    pub config: Config,
    engines: RwLock<Arc<Engines>>,
    /// By (namespace, name): one lock per object, so objects decide in parallel.
    controllers: Mutex<HashMap<(String, String), Shared>>,
    store: Store,
    read: MetricReader,
    pub telemetry: Telemetry,
    ready: AtomicBool,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The name of the one metric the scaler gives KEDA for a pool.
pub fn metric_name(pool: &str) -> String {
    format!("scalepol-{pool}")
}

impl Scaler {
    /// Loads the engines directory (it must be readable; a bad file is
    /// reported on stderr and skipped) and opens the state store.
    pub fn new(config: Config, read: MetricReader) -> Result<Scaler, String> {
        let loaded = engines::load(&config.engines, None)?;
        for p in &loaded.problems {
            log(&format!("engine artifact not served: {p}"));
        }
        let store = Store::new(config.state.clone())?;
        let telemetry = Telemetry::new();
        telemetry.set_engines(loaded.engines.len(), loaded.problems.len());
        Ok(Scaler {
            config,
            engines: RwLock::new(Arc::new(loaded.engines)),
            controllers: Mutex::new(HashMap::new()),
            store,
            read,
            telemetry,
            ready: AtomicBool::new(true),
        })
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn serves_any(&self) -> bool {
        !self.engines().is_empty()
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    fn engines(&self) -> Arc<Engines> {
        Arc::clone(&self.engines.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads the engines directory again if it changed (blocking).
    pub fn reload_if_changed(&self) {
        let current = self.engines();
        match engines::changed(&self.config.engines, &current) {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => {
                log(&format!("engines not reloaded: {e}"));
                return;
            }
        }
        match engines::load(&self.config.engines, Some(&current)) {
            Ok(loaded) => {
                for p in &loaded.problems {
                    log(&format!("engine artifact not served: {p}"));
                }
                log(&format!(
                    "reloaded {} engine(s): {}",
                    loaded.engines.len(),
                    loaded.engines.policies().collect::<Vec<_>>().join(", ")
                ));
                self.telemetry
                    .set_engines(loaded.engines.len(), loaded.problems.len());
                *self.engines.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded.engines);
            }
            Err(e) => log(&format!("engines not reloaded: {e}")),
        }
    }

    /// The engine and pool an object's trigger names, or why not.
    fn resolve(&self, obj: &ScaledObjectRef) -> Result<(Arc<Engine>, usize), Status> {
        if !kubernetes_name(&obj.namespace, 63) || !kubernetes_name(&obj.name, 253) {
            return Err(Status::invalid_argument(
                "the ScaledObject reference needs a Kubernetes namespace and name (lower-case letters, digits, `-` and `.`)",
            ));
        }
        if let Some(s) = self.config.shard {
            let owner = scalepol_common::shard::shard_of(&obj.namespace, &obj.name, s.count);
            if owner != s.index {
                return Err(Status::failed_precondition(format!(
                    "ScaledObject {}/{} belongs to shard {owner} of {}, this is shard {}: its scalerAddress names the wrong replica",
                    obj.namespace, obj.name, s.count, s.index
                )));
            }
        }
        let Some(policy) = obj.scaler_metadata.get("policy") else {
            return Err(Status::invalid_argument(
                "the trigger's metadata has no `policy`: compile the ScaledObject with `target keda { scaler \"ADDRESS\" }`",
            ));
        };
        let engines = self.engines();
        let Some(engine) = engines.get(policy) else {
            let known: Vec<&str> = engines.policies().collect();
            return Err(Status::not_found(format!(
                "no engine for policy `{policy}` (serving: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        let pool = match obj.scaler_metadata.get("pool") {
            Some(name) => engine.pool_index(name).ok_or_else(|| {
                Status::not_found(format!("policy `{policy}` has no pool `{name}`"))
            })?,
            None => engine.artifact().default_pool(),
        };
        if engine.artifact().pools.get(pool).is_none() {
            return Err(Status::not_found(format!("policy `{policy}` has no pool")));
        }
        Ok((Arc::clone(engine), pool))
    }

    /// The object's controller: from memory, else from its snapshot, else
    /// new; refused past `MAX_OBJECTS`, so that a caller inventing names
    /// cannot grow the scaler's memory and state without bound.
    fn controller(
        &self,
        obj: &ScaledObjectRef,
        engine: &Engine,
        pool: usize,
    ) -> Result<Shared, Status> {
        let key = (obj.namespace.clone(), obj.name.clone());
        let mut map = self.controllers.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_OBJECTS && !map.contains_key(&key) {
            return Err(Status::resource_exhausted(format!(
                "this scaler already serves {MAX_OBJECTS} ScaledObjects: shard them over more replicas (--shards)"
            )));
        }
        let spec = &engine.artifact().pools[pool];
        let fresh = |why: Option<String>| {
            if let Some(w) = why {
                log(&format!(
                    "{}/{}: {w}; starting afresh",
                    obj.namespace, obj.name
                ));
            }
            Controller::fresh(engine, pool)
        };
        let c = map.entry(key).or_insert_with(|| {
            let restored = match self.store.load(&obj.namespace, &obj.name) {
                Ok(Some(s)) if s.policy == engine.artifact().policy && s.pool == spec.name => {
                    log(&format!(
                        "{}/{}: state restored (last decision {} replicas)",
                        obj.namespace, obj.name, s.replicas
                    ));
                    Controller {
                        policy: s.policy,
                        pool: s.pool,
                        replicas: s.replicas,
                        state: s.state,
                        last: None,
                    }
                }
                Ok(Some(s)) => fresh(Some(format!(
                    "the kept state is for policy `{}` pool `{}`",
                    s.policy, s.pool
                ))),
                Ok(None) => fresh(None),
                Err(e) => fresh(Some(e)),
            };
            Arc::new(tokio::sync::Mutex::new(restored))
        });
        Ok(Arc::clone(c))
    }

    /// Decides for an object (or returns its decision of less than
    /// `reuse` ago), keeping the state.
    pub async fn decide(&self, obj: &ScaledObjectRef) -> Result<Decision, Status> {
        let (engine, pool) = self.resolve(obj)?;
        let controller = self.controller(obj, &engine, pool)?;
        let mut c = controller.lock().await;
        let spec = &engine.artifact().pools[pool];
        if c.policy != engine.artifact().policy || c.pool != spec.name {
            // The trigger now names another policy or pool: a new controller.
            *c = Controller::fresh(&engine, pool);
        }
        if let Some((at, d)) = &c.last {
            if at.elapsed() < self.config.reuse {
                return Ok(d.clone());
            }
        }
        let started = Instant::now();
        let at = now();
        let metrics = self
            .observe(&engine, pool, at, &obj.namespace, &obj.name)
            .await;
        let obs = Observation {
            replicas: c.replicas,
            metrics,
            pods: Vec::new(),
            samples: Default::default(),
        };
        let d = engine
            .decide(pool, &mut c.state, &obs, at)
            .map_err(|e| Status::internal(e.to_string()))?;
        self.telemetry
            .decided(&c.policy, &c.pool, d.desired, started.elapsed());
        c.replicas = d.desired;
        c.last = Some((Instant::now(), d.clone()));
        let snap = Snapshot {
            version: VERSION,
            policy: c.policy.clone(),
            pool: c.pool.clone(),
            replicas: d.desired,
            decided_at: at,
            state: c.state.clone(),
        };
        let store = self.store.clone();
        let (ns, name) = (obj.namespace.clone(), obj.name.clone());
        let saved = tokio::task::spawn_blocking(move || store.save(&ns, &name, &snap)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log(&format!("state not saved: {e}")),
            Err(e) => log(&format!("state not saved: {e}")),
        }
        Ok(d)
    }

    /// Reads the metrics the pool's decision needs; a metric that cannot be
    /// read is left out, which the engine counts as a failed metric.
    async fn observe(
        &self,
        engine: &Arc<Engine>,
        pool: usize,
        at: f64,
        namespace: &str,
        name: &str,
    ) -> BTreeMap<String, f64> {
        let wanted: Vec<Metric> = engine
            .artifact()
            .metrics_read_by(pool)
            .into_iter()
            .cloned()
            .collect();
        let read = Arc::clone(&self.read);
        let results = tokio::task::spawn_blocking(move || {
            wanted
                .into_iter()
                .map(|m| {
                    let v = read(&m, at);
                    (m.name, v)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let mut metrics = BTreeMap::new();
        for (metric, v) in results {
            match v {
                Ok(v) if v.is_finite() => {
                    metrics.insert(metric, v);
                }
                Ok(v) => self.metric_failed(namespace, name, &metric, &format!("the value is {v}")),
                Err(e) => self.metric_failed(namespace, name, &metric, &e),
            }
        }
        metrics
    }

    fn metric_failed(&self, namespace: &str, name: &str, metric: &str, why: &str) {
        self.telemetry.metric_failed(metric);
        log(&format!(
            "{namespace}/{name}: metric `{metric}` is missing ({why}): it counts as failed"
        ));
    }

    /// The last decision of every object this replica serves, for `/objects`.
    pub async fn objects(&self) -> Vec<serde_json::Value> {
        let controllers: Vec<_> = {
            let map = self.controllers.lock().unwrap_or_else(|e| e.into_inner());
            map.iter()
                .map(|(k, c)| (k.clone(), Arc::clone(c)))
                .collect()
        };
        let mut out = Vec::new();
        for ((ns, name), c) in controllers {
            let c = c.lock().await;
            out.push(serde_json::json!({
                "namespace": ns,
                "name": name,
                "policy": c.policy,
                "pool": c.pool,
                "replicas": c.replicas,
                "decision": c.last.as_ref().map(|(_, d)| d),
            }));
        }
        out.sort_by(|a, b| {
            (a["namespace"].as_str(), a["name"].as_str())
                .cmp(&(b["namespace"].as_str(), b["name"].as_str()))
        });
        out
    }
}

/// The most ScaledObjects one scaler replica keeps a controller for.
pub const MAX_OBJECTS: usize = 10_000;

/// A DNS-1123 name of at most `max` characters, as Kubernetes names are.
fn kubernetes_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

pub(crate) fn log(msg: &str) {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    eprintln!("{t} {msg}");
}

type ActiveStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<IsActiveResponse, Status>> + Send>>;

/// The gRPC service: a handle on the scaler (streams outlive a call).
pub struct Service(pub Arc<Scaler>);

#[tonic::async_trait]
impl ExternalScaler for Service {
    async fn is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<IsActiveResponse>, Status> {
        let r = self.0.decide(request.get_ref()).await;
        self.0.telemetry.call("IsActive", &r);
        Ok(Response::new(IsActiveResponse {
            result: r?.desired > 0,
        }))
    }

    type StreamIsActiveStream = ActiveStream;

    /// For `external-push` triggers: decides every pool interval and sends
    /// the activity when it changes (and once at the start).
    async fn stream_is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<ActiveStream>, Status> {
        let obj = request.into_inner();
        let (engine, pool) = self.0.resolve(&obj)?;
        let every = Duration::from_secs_f64(
            engine.artifact().pools[pool]
                .interval_seconds
                .clamp(1.0, 3600.0),
        );
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let me = Arc::clone(&self.0);
        tokio::spawn(async move {
            let mut last: Option<bool> = None;
            loop {
                let r = me.decide(&obj).await;
                me.telemetry.call("StreamIsActive", &r);
                let item = r.map(|d| IsActiveResponse {
                    result: d.desired > 0,
                });
                let send = match &item {
                    Ok(x) => last != Some(x.result),
                    Err(_) => true,
                };
                if let Ok(x) = &item {
                    last = Some(x.result);
                }
                if send && tx.send(item).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_metric_spec(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<GetMetricSpecResponse>, Status> {
        let r = self.0.resolve(request.get_ref());
        self.0.telemetry.call("GetMetricSpec", &r);
        let (engine, pool) = r?;
        Ok(Response::new(GetMetricSpecResponse {
            metric_specs: vec![MetricSpec {
                metric_name: metric_name(&engine.artifact().pools[pool].name),
                #[allow(deprecated)]
                target_size: 1,
                target_size_float: 1.0,
            }],
        }))
    }

    async fn get_metrics(
        &self,
        request: Request<GetMetricsRequest>,
    ) -> Result<Response<GetMetricsResponse>, Status> {
        let req = request.into_inner();
        let Some(obj) = req.scaled_object_ref else {
            let e = Status::invalid_argument("GetMetrics without a ScaledObject reference");
            self.0.telemetry.call::<()>("GetMetrics", &Err(e.clone()));
            return Err(e);
        };
        let r = self.0.decide(&obj).await;
        self.0.telemetry.call("GetMetrics", &r);
        let d = r?;
        let name = if req.metric_name.is_empty() {
            metric_name(&d.pool)
        } else {
            req.metric_name
        };
        Ok(Response::new(GetMetricsResponse {
            metric_values: vec![MetricValue {
                metric_name: name,
                #[allow(deprecated)]
                metric_value: i64::from(d.desired),
                metric_value_float: f64::from(d.desired),
            }],
        }))
    }
}
