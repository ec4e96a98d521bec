//! The syntax tree. Nodes keep byte spans and the comments around them.

use serde::{Deserialize, Serialize};
/// Short tokens (keywords, names, numbers, units) are stored inline.
pub use smol_str::SmolStr;

/// A byte range `start..end` in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn contains(&self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }
}

/// A `// ...` comment; `text` includes the slashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub text: String,
    pub span: Span,
    /// A blank line stands between this comment and what precedes it.
    pub blank_before: bool,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub nodes: Vec<Node>,
    /// Comments after the last node of the file.
    pub trailing_comments: Vec<Comment>,
}

/// `keyword arg* { block }?`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub keyword: SmolStr,
    pub keyword_span: Span,
    pub args: Vec<Arg>,
    pub block: Option<Block>,
    /// From the keyword to the closing brace or last argument.
    pub span: Span,
    /// Comments on the lines just above the node.
    pub leading_comments: Vec<Comment>,
    /// A comment at the end of the node's last line.
    pub trailing_comment: Option<Comment>,
    /// A blank line separates this node from the previous one.
    pub blank_before: bool,
    /// A blank line separates the leading comments from the node itself
    /// (a file header, a section comment).
    pub blank_after_comments: bool,
}

impl Node {
    pub fn block_nodes(&self) -> &[Node] {
        self.block
            .as_ref()
            .map(|b| b.nodes.as_slice())
            .unwrap_or(&[])
    }
    /// The span of the arguments, or just after the keyword when there are none.
    pub fn args_span(&self) -> Span {
        match (self.args.first(), self.args.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => Span::new(self.keyword_span.end, self.keyword_span.end),
        }
    }
    /// The span of the keyword and arguments (the node's header line).
    pub fn header_span(&self) -> Span {
        self.keyword_span.to(self.args_span())
    }
}

/// `{ ... }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub nodes: Vec<Node>,
    pub span: Span,
    /// The block was written on one line (the formatter keeps it so).
    pub inline: bool,
    /// A comment right after `{` on the same line.
    pub open_comment: Option<Comment>,
    /// Comments after the last node, before `}`.
    pub dangling_comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arg {
    pub kind: ArgKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ArgKind {
    /// A bare word: a name, a keyword, a unit written apart (`16 concurrent`).
    Word(SmolStr),
    /// `"..."`, unescaped.
    Str(String),
    /// `` `...` ``: a CEL expression or a metric query, verbatim.
    Code(String),
    /// A number with an optional unit attached: `800ms`, `80%`, `12`.
    /// The number is kept as written, so that decimals stay exact.
    Number {
        text: SmolStr,
        unit: Option<SmolStr>,
    },
    /// `$0.81/h`, `$8000`.
    Money {
        text: SmolStr,
        per: Option<SmolStr>,
    },
    /// `1..12`, `2Gi..16Gi`.
    Range(Box<Arg>, Box<Arg>),
    Op(Op),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    EqEq,
    Ne,
    Colon,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "=",
            Op::EqEq => "==",
            Op::Ne => "!=",
            Op::Colon => ":",
        }
    }
}

impl Arg {
    pub fn as_word(&self) -> Option<&str> {
        match &self.kind {
            ArgKind::Word(w) => Some(w),
            _ => None,
        }
    }
    pub fn is_word(&self, w: &str) -> bool {
        self.as_word() == Some(w)
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ArgKind::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_op(&self, op: Op) -> bool {
        matches!(self.kind, ArgKind::Op(o) if o == op)
    }
    /// How the argument reads in a message: `word`, `"string"`, `12m`.
    pub fn describe(&self) -> String {
        match &self.kind {
            ArgKind::Word(w) => format!("`{w}`"),
            ArgKind::Str(s) => format!("the string \"{s}\""),
            ArgKind::Code(_) => "an expression in back-quotes".to_string(),
            ArgKind::Number { text, unit } => {
                format!("`{}{}`", text, unit.as_deref().unwrap_or(""))
            }
            ArgKind::Money { text, per } => match per {
                Some(p) => format!("`${text}/{p}`"),
                None => format!("`${text}`"),
            },
            ArgKind::Range(a, b) => format!("the range {}..{}", a.describe(), b.describe()),
            ArgKind::Op(o) => format!("`{}`", o.as_str()),
        }
    }
}

impl Document {
    /// Moves every span `by` bytes: a session of several files gives each
    /// file its own range of offsets, so a span alone says which file it is
    /// in (as rustc's source map does).
    pub fn shift(&mut self, by: usize) {
        for n in &mut self.nodes {
            n.shift(by);
        }
        for c in &mut self.trailing_comments {
            c.span = c.span.shifted(by);
        }
    }
}

impl Span {
    /// The span `by` bytes later.
    pub fn shifted(self, by: usize) -> Span {
        Span::new(self.start + by, self.end + by)
    }
}

impl Node {
    fn shift(&mut self, by: usize) {
        self.keyword_span = self.keyword_span.shifted(by);
        self.span = self.span.shifted(by);
        for a in &mut self.args {
            a.shift(by);
        }
        for c in self
            .leading_comments
            .iter_mut()
            .chain(&mut self.trailing_comment)
        {
            c.span = c.span.shifted(by);
        }
        if let Some(b) = &mut self.block {
            b.span = b.span.shifted(by);
            for c in b.open_comment.iter_mut().chain(&mut b.dangling_comments) {
                c.span = c.span.shifted(by);
            }
            for n in &mut b.nodes {
                n.shift(by);
            }
        }
    }
}

impl Arg {
    fn shift(&mut self, by: usize) {
        self.span = self.span.shifted(by);
        if let ArgKind::Range(lo, hi) = &mut self.kind {
            lo.shift(by);
            hi.shift(by);
        }
    }
}
