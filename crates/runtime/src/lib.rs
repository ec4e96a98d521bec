//! The scalepol decision engine. It loads an engine artifact (written by
//! `scalepol compile --target engine`) and decides replicas with the
//! semantics of the Kubernetes HPA and KEDA. It does not depend on the
//! compiler: the artifact is its whole input.
//!
//! One module per upstream concept, each naming the upstream file it
//! mirrors: `replica_calculator` (one metric's proposal), `behavior`
//! (stabilisation and rate limits), `formula` (composite metrics), `keda` (fallback, activation,
//! cooldown), `kpa` (Knative), `range` (schedules and rules), `state`
//! (what a controller remembers), `explain` (the decision and its reason);
//! `engine` runs them in the controller's order.

pub mod artifact;
mod behavior;
mod engine;
mod explain;
mod formula;
mod keda;
pub mod kpa;
mod observation;
mod range;
mod replica_calculator;
mod state;

pub use artifact::Artifact;
pub use engine::{Engine, LoadError, UnknownPool};
pub use explain::{Decision, Limit, MetricStatus, Proposal};
pub use observation::{Observation, Phase, Pod};
pub use state::State;
