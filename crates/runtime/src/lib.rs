//! The scalepol decision engine. It loads an engine artifact (written by
//! `scalepol compile --target engine`) and decides replicas with the
//! semantics of the Kubernetes HPA and KEDA. It does not depend on the
//! compiler: the artifact is its whole input.

pub mod artifact;
mod engine;
pub mod kpa;

pub use artifact::Artifact;
pub use engine::{Decision, Engine, LoadError, Observation, Phase, Pod, Proposal, State};
