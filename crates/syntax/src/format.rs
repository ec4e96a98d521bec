//! The canonical layout. Two-space indentation, one node per line, single
//! spaces between arguments, at most one blank line in a row. A block written
//! on one line stays on one line while it holds no comment. Every comment is
//! printed where it was attached: the formatter never drops or moves one to
//! another construct.

use crate::ast::*;

const INDENT: &str = "  ";

/// Prints a document in the canonical layout.
pub fn format_document(doc: &Document) -> String {
    let mut out = String::new();
    write_nodes(&mut out, &doc.nodes, 0);
    write_comments(&mut out, &doc.trailing_comments, 0, !doc.nodes.is_empty());
    out
}

fn write_nodes(out: &mut String, nodes: &[Node], depth: usize) {
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 && node.blank_before {
            out.push('\n');
        }
        write_node(out, node, depth);
    }
}

fn write_comments(out: &mut String, comments: &[Comment], depth: usize, after_content: bool) {
    for (i, c) in comments.iter().enumerate() {
        if c.blank_before && (i > 0 || after_content) {
            out.push('\n');
        }
        indent(out, depth);
        out.push_str(&c.text);
        out.push('\n');
    }
}

fn write_node(out: &mut String, node: &Node, depth: usize) {
    write_comments(out, &node.leading_comments, depth, false);
    if node.blank_after_comments {
        out.push('\n');
    }
    indent(out, depth);
    write_header(out, node);
    if let Some(block) = &node.block {
        out.push(' ');
        write_block(out, block, depth);
    }
    if let Some(c) = &node.trailing_comment {
        out.push(' ');
        out.push_str(&c.text);
    }
    out.push('\n');
}

fn write_header(out: &mut String, node: &Node) {
    out.push_str(&node.keyword);
    for arg in &node.args {
        if !arg.is_op(Op::Colon) {
            out.push(' ');
        }
        write_arg(out, arg);
    }
}

fn write_block(out: &mut String, block: &Block, depth: usize) {
    if block.nodes.is_empty() && block.open_comment.is_none() && block.dangling_comments.is_empty()
    {
        out.push_str("{}");
        return;
    }
    if stays_inline(block) {
        out.push_str("{ ");
        for (i, n) in block.nodes.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_header(out, n);
            if let Some(b) = &n.block {
                out.push(' ');
                write_block(out, b, depth + 1);
            }
        }
        out.push_str(" }");
        return;
    }
    out.push('{');
    if let Some(c) = &block.open_comment {
        out.push(' ');
        out.push_str(&c.text);
    }
    out.push('\n');
    write_nodes(out, &block.nodes, depth + 1);
    write_comments(
        out,
        &block.dangling_comments,
        depth + 1,
        !block.nodes.is_empty(),
    );
    indent(out, depth);
    out.push('}');
}

/// A block stays on one line when it was written so and nothing in it is a
/// comment (a `//` comment runs to the end of the line) or multi-line.
fn stays_inline(block: &Block) -> bool {
    block.inline
        && block.open_comment.is_none()
        && block.dangling_comments.is_empty()
        && block.nodes.iter().all(|n| {
            n.leading_comments.is_empty()
                && n.trailing_comment.is_none()
                && n.block.as_ref().is_none_or(stays_inline)
                && n.args
                    .iter()
                    .all(|a| !matches!(&a.kind, ArgKind::Code(c) if c.contains('\n')))
        })
}

fn write_arg(out: &mut String, arg: &Arg) {
    match &arg.kind {
        ArgKind::Word(w) => out.push_str(w),
        ArgKind::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        ArgKind::Code(c) => {
            out.push('`');
            out.push_str(c);
            out.push('`');
        }
        ArgKind::Number { text, unit } => {
            out.push_str(text);
            if let Some(u) = unit {
                out.push_str(u);
            }
        }
        ArgKind::Money { text, per } => {
            out.push('$');
            out.push_str(text);
            if let Some(p) = per {
                out.push('/');
                out.push_str(p);
            }
        }
        ArgKind::Range(lo, hi) => {
            write_arg(out, lo);
            out.push_str("..");
            write_arg(out, hi);
        }
        ArgKind::Op(op) => out.push_str(op.as_str()),
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}
