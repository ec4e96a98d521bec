//! Composite metrics: a target on a CEL formula over the pool's metrics
//! (`on formula `...``), as KEDA's `advanced.scalingModifiers` computes it
//! (pkg/scaling/scale_handler.go: the formula runs over each trigger's raw
//! value, and the HPA sees only its result). The engine evaluates the
//! formula and hands its value to the replica calculator like any metric's.

use crate::artifact::{PoolSpec, TargetSpec};
use crate::engine::LoadError;
use std::collections::BTreeMap;

/// A pool's formulas, compiled once, by target index.
pub(crate) struct Formulas(Vec<Option<cel_interpreter::Program>>);

impl Formulas {
    /// Holds each formula to the compiler's limits before parsing it (an
    /// artifact may have been edited by hand; the CEL parser overflows its
    /// stack on deep input and panics on some malformed input).
    pub(crate) fn compile(p: &PoolSpec) -> Result<Formulas, LoadError> {
        let one = |t: &TargetSpec| -> Result<Option<cel_interpreter::Program>, LoadError> {
            let Some(src) = &t.formula else {
                return Ok(None);
            };
            let err = |why: String| LoadError(format!("pool `{}`: formula: {why}", p.name));
            use scalepol_common::cel_limits;
            cel_limits::check(src).map_err(|v| err(v.to_string()))?;
            if cel_limits::iteration_bound(src, 0).is_none_or(|n| n > 0) {
                return Err(err("a formula has no comprehensions".into()));
            }
            let owned = src.clone();
            match scalepol_common::quiet::quietly(move || cel_interpreter::Program::compile(&owned))
            {
                Ok(Ok(program)) => Ok(Some(program)),
                Ok(Err(e)) => Err(err(e.to_string())),
                Err(_) => Err(err("it does not parse".into())),
            }
        };
        p.targets
            .iter()
            .map(one)
            .collect::<Result<_, _>>()
            .map(Formulas)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// Each formula's value, by the target's metric name, from the metrics
    /// that could be read (finite, not negative). A formula whose metric is
    /// missing, or whose value is not a finite number, has no value: the
    /// target has failed, as a composite metric fails in KEDA when one of
    /// its triggers does. A negative value counts as zero: the HPA's
    /// proportional rule gives it the fewest replicas either way.
    pub(crate) fn values(
        &self,
        p: &PoolSpec,
        metrics: &BTreeMap<String, f64>,
    ) -> BTreeMap<String, f64> {
        let mut ctx = cel_interpreter::Context::default();
        for (k, v) in metrics.iter().filter(|(_, v)| v.is_finite() && **v >= 0.0) {
            ctx.add_variable_from_value(k.clone(), *v);
        }
        let mut out = BTreeMap::new();
        for (t, program) in p.targets.iter().zip(&self.0) {
            let Some(program) = program else { continue };
            let run = std::panic::AssertUnwindSafe(|| program.execute(&ctx));
            let value = match scalepol_common::quiet::quietly(run) {
                Ok(Ok(cel_interpreter::Value::Float(v))) => v,
                Ok(Ok(cel_interpreter::Value::Int(v))) => v as f64,
                Ok(Ok(cel_interpreter::Value::UInt(v))) => v as f64,
                _ => continue,
            };
            if value.is_finite() {
                out.insert(t.metric.clone(), value.max(0.0));
            }
        }
        out
    }
}
