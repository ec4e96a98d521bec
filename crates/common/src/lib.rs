//! Knowledge that the compiler (at check time) and the runtime (when it
//! loads an artifact, possibly edited by hand) must share exactly, with no
//! dependency on either: a rule that passes `check` must load in the
//! runtime, and an input the runtime refuses must not pass `check`.

pub mod cel_limits;
pub mod defaults;
pub mod quiet;
pub mod rule_context;
pub mod schedule;
pub mod shard;
