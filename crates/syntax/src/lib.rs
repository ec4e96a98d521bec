//! The `.scalepol` surface syntax: grammar, syntax tree and formatter.
//!
//! The grammar is deliberately generic: every construct is a [`Node`] with a
//! keyword, arguments and an optional block. The compiler gives nodes their
//! meaning. Every node carries its byte span and the comments around it, so the
//! formatter and the language server can reproduce and point at anything the
//! user wrote.

// A parse returns at most one `SyntaxError`, on the cold path: boxing it
// would cost every caller a pattern for no measurable gain.
#![allow(clippy::result_large_err)]

// pest is built without `std`, which drops its per-rule stack probe (about a
// tenth of parse time); the derive then names `alloc`. Recursion stays bounded
// by the brace-depth pre-scan in `parse`.
extern crate alloc;

mod ast;
mod format;
mod parse;

pub use ast::{Arg, ArgKind, Block, Comment, Document, Node, Op, SmolStr, Span};
pub use format::format_document;
pub use parse::{parse, SyntaxError, SyntaxErrorKind, MAX_DEPTH, MAX_FILE_BYTES};
