//! What a rule condition reads besides the policy's metrics (each metric is
//! a `double` named as declared): the variables the runtime sets on every
//! decision and the functions the compiler accepts. The compiler's checks,
//! the runtime's evaluation context, the language server's completion and
//! hover, and the importer's reserved names all read these lists.

/// A variable of every rule condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// Its CEL type.
    pub ty: &'static str,
    pub doc: &'static str,
}

pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "replicas",
        ty: "int",
        doc: "the pool's current replica count",
    },
    Variable {
        name: "hour",
        ty: "int",
        doc: "the hour of the decision, 0-23, in UTC",
    },
    Variable {
        name: "minute",
        ty: "int",
        doc: "the minute of the decision, 0-59",
    },
    Variable {
        name: "weekday",
        ty: "int",
        doc: "the day of the decision in UTC, 0 = Sunday .. 6 = Saturday",
    },
];

/// The functions a rule condition may call, with their use.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("double", "double(x): x as a double"),
    ("int", "int(x): x as an int, truncated"),
    ("min", "min(a, b, ...): the smallest"),
    ("max", "max(a, b, ...): the largest"),
];

/// Whether `name` is a variable of every rule condition.
pub fn is_variable(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name)
}

/// The functions as a help text lists them: "double(x), int(x), ...".
pub fn functions_help() -> String {
    FUNCTIONS
        .iter()
        .map(|(_, use_)| use_.split(':').next().unwrap_or(use_))
        .collect::<Vec<_>>()
        .join(", ")
}
