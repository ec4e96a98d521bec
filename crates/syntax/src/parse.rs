//! Text to [`Document`]: the pest parser, the tree builder, and plain-words
//! syntax errors.

use crate::ast::*;
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "scalepol.pest"]
struct Grammar;

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Blocks nested deeper than this are refused before parsing (the language
/// itself never needs more than four levels).
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// Something other than what the grammar allows here.
    Unexpected,
    UnterminatedString,
    UnterminatedCode,
    UnclosedBrace,
    UnexpectedCloseBrace,
    InvalidEscape,
    FileTooLarge,
    TooDeep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub message: String,
    pub span: Span,
    pub label: String,
    /// Another place worth pointing at (the `{` that is never closed).
    pub related: Option<(Span, String)>,
    /// What to write instead.
    pub help: String,
}

/// Parses a whole file. Returns the first syntax error: the grammar is
/// newline-delimited, so the first error is the one worth fixing first.
pub fn parse(src: &str) -> Result<Document, SyntaxError> {
    if src.len() > MAX_FILE_BYTES {
        return Err(SyntaxError {
            kind: SyntaxErrorKind::FileTooLarge,
            message: format!(
                "this file is {} bytes; the limit is {} bytes",
                src.len(),
                MAX_FILE_BYTES
            ),
            span: Span::new(0, 0),
            label: "file starts here".into(),
            related: None,
            help: "split the policies into several files".into(),
        });
    }
    scan_structure(src)?;
    let mut pairs = Grammar::parse(Rule::file, src).map_err(|e| convert_error(src, e))?;
    let file = pairs.next().expect("the file rule always yields one pair");
    let (nodes, _, trailing) = build_items(src, file.into_inner(), 0, false)?;
    Ok(Document {
        nodes,
        trailing_comments: trailing,
    })
}

/// A linear pre-scan for what pest would report badly or not survive:
/// nesting depth, unclosed or stray braces, unterminated strings and code.
fn scan_structure(src: &str) -> Result<(), SyntaxError> {
    let bytes = src.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                // A comment runs to the end of the line (a lone `\r` ends it too).
                // (Two single-byte searches: these use memchr, a char set does not.)
                let rest = &src[i..];
                let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
                i += line.find('\r').unwrap_or(line.len());
                continue;
            }
            b'"' => i = skip_string(src, i)?,
            b'`' => match src[i + 1..].find('`') {
                Some(off) => i += off + 1,
                None => {
                    return Err(err(
                        SyntaxErrorKind::UnterminatedCode,
                        "this expression is never closed",
                        Span::new(i, i + 1),
                        "opening back-quote",
                        "add a closing ` at the end of the expression".into(),
                    ))
                }
            },
            b'{' => {
                open.push(i);
                if open.len() > MAX_DEPTH {
                    return Err(err(
                        SyntaxErrorKind::TooDeep,
                        &format!("blocks are nested more than {MAX_DEPTH} deep"),
                        Span::new(i, i + 1),
                        "too deep",
                        "flatten the nesting: no construct needs more than four levels".into(),
                    ));
                }
            }
            // The guard pops the block this brace closes; an empty stack is an error.
            b'}' if open.pop().is_none() => {
                return Err(err(
                    SyntaxErrorKind::UnexpectedCloseBrace,
                    "this `}` closes no block",
                    Span::new(i, i + 1),
                    "no matching `{`",
                    "remove it, or add the `{` it should close".into(),
                ));
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(&start) = open.last() {
        let mut e = err(
            SyntaxErrorKind::UnclosedBrace,
            "this block is never closed",
            Span::new(src.len(), src.len()),
            "the file ends here",
            "add a `}` to close the block".into(),
        );
        e.related = Some((Span::new(start, start + 1), "block opened here".into()));
        return Err(e);
    }
    Ok(())
}

/// Returns the index of the closing quote of the string starting at `start`.
fn skip_string(src: &str, start: usize) -> Result<usize, SyntaxError> {
    let bytes = src.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i),
            b'\n' | b'\r' => break,
            _ => i += 1,
        }
    }
    Err(err(
        SyntaxErrorKind::UnterminatedString,
        "this string is never closed",
        Span::new(start, i.min(src.len())),
        "string starts here",
        "add a closing `\"` on the same line (strings cannot span lines)".into(),
    ))
}

fn err(kind: SyntaxErrorKind, msg: &str, span: Span, label: &str, help: String) -> SyntaxError {
    SyntaxError {
        kind,
        message: msg.to_string(),
        span,
        label: label.to_string(),
        related: None,
        help,
    }
}

type Items = (Vec<Node>, Option<Comment>, Vec<Comment>);

/// Builds the nodes of one `items` sequence, attaching each comment to the
/// node it belongs to: a comment on the same line as a node's end trails it;
/// comments on their own lines lead the next node, or dangle at the block end.
fn build_items(
    src: &str,
    pairs: Pairs<Rule>,
    mut gap_from: usize,
    in_block: bool,
) -> Result<Items, SyntaxError> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut pending: Vec<Comment> = Vec::new();
    let mut open_comment = None;
    let mut newlines_since = 0usize; // newlines since the last node or comment
    let mut seen_anything = false;
    for pair in pairs {
        let start = pair.as_span().start();
        newlines_since += count_newlines(&src[gap_from.min(start)..start]);
        gap_from = pair.as_span().end();
        match pair.as_rule() {
            Rule::comment => {
                let span = span_of(&pair);
                let text = pair.as_str().trim_end().to_string();
                let blank_before = seen_anything && newlines_since >= 2;
                let c = Comment {
                    text,
                    span,
                    blank_before,
                };
                if newlines_since == 0 && pending.is_empty() {
                    match nodes.last_mut() {
                        Some(n) if n.trailing_comment.is_none() => n.trailing_comment = Some(c),
                        Some(_) => pending.push(c),
                        None if in_block && !seen_anything => open_comment = Some(c),
                        None => pending.push(c),
                    }
                } else {
                    pending.push(c);
                }
                newlines_since = 0;
                seen_anything = true;
            }
            Rule::node => {
                let mut node = build_node(src, pair)?;
                node.blank_before = match pending.first() {
                    Some(c) => c.blank_before,
                    None => seen_anything && newlines_since >= 2,
                };
                node.blank_after_comments = !pending.is_empty() && newlines_since >= 2;
                node.leading_comments = std::mem::take(&mut pending);
                nodes.push(node);
                newlines_since = 0;
                seen_anything = true;
            }
            Rule::EOI => {}
            r => unreachable!("items contain only comments and nodes, not {r:?}"),
        }
    }
    Ok((nodes, open_comment, pending))
}

/// Line breaks in a gap between tokens (`\r\n` counts once).
fn count_newlines(gap: &str) -> usize {
    let b = gap.as_bytes();
    b.iter()
        .enumerate()
        .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')))
        .count()
}

fn build_node(src: &str, pair: Pair<Rule>) -> Result<Node, SyntaxError> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let kw = inner.next().expect("a node starts with its keyword");
    let mut node = Node {
        keyword: SmolStr::new(kw.as_str()),
        keyword_span: span_of(&kw),
        args: Vec::new(),
        block: None,
        span,
        leading_comments: Vec::new(),
        trailing_comment: None,
        blank_before: false,
        blank_after_comments: false,
    };
    for p in inner {
        if p.as_rule() == Rule::block {
            node.block = Some(build_block(src, p)?);
        } else {
            node.args.push(build_arg(p)?);
        }
    }
    Ok(node)
}

fn build_block(src: &str, pair: Pair<Rule>) -> Result<Block, SyntaxError> {
    let span = span_of(&pair);
    let inline = !pair.as_str().contains(['\n', '\r']);
    let (nodes, open_comment, dangling) =
        build_items(src, pair.into_inner(), span.start + 1, true)?;
    Ok(Block {
        nodes,
        span,
        inline,
        open_comment,
        dangling_comments: dangling,
    })
}

fn build_arg(pair: Pair<Rule>) -> Result<Arg, SyntaxError> {
    let span = span_of(&pair);
    let text = pair.as_str();
    let kind = match pair.as_rule() {
        Rule::word => ArgKind::Word(SmolStr::new(text)),
        Rule::string => ArgKind::Str(unescape(&text[1..text.len() - 1], span.start + 1)?),
        Rule::code => ArgKind::Code(text[1..text.len() - 1].to_string()),
        Rule::value => return Ok(build_value(text, span.start)),
        Rule::op => ArgKind::Op(match text {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "=" => Op::Eq,
            "==" => Op::EqEq,
            "!=" => Op::Ne,
            _ => Op::Colon,
        }),
        r => unreachable!("not an argument rule: {r:?}"),
    };
    Ok(Arg { kind, span })
}

/// Splits a `value` token (already validated by the grammar) into a number,
/// an amount of money, or a range of either.
fn build_value(text: &str, offset: usize) -> Arg {
    if let Some(mid) = text.as_bytes().windows(2).position(|w| w == b"..") {
        let lo = build_scalar(&text[..mid], offset);
        let hi = build_scalar(&text[mid + 2..], offset + mid + 2);
        let span = Span::new(offset, offset + text.len());
        return Arg {
            kind: ArgKind::Range(Box::new(lo), Box::new(hi)),
            span,
        };
    }
    build_scalar(text, offset)
}

fn build_scalar(text: &str, offset: usize) -> Arg {
    let span = Span::new(offset, offset + text.len());
    let (money, body) = match text.strip_prefix('$') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let end = number_len(body);
    let (number, rest) = body.split_at(end);
    let kind = if money {
        ArgKind::Money {
            text: SmolStr::new(number),
            per: rest.strip_prefix('/').map(SmolStr::new),
        }
    } else {
        ArgKind::Number {
            text: SmolStr::new(number),
            unit: (!rest.is_empty()).then(|| SmolStr::new(rest)),
        }
    };
    Arg { kind, span }
}

/// The length of the number at the start of `s`: `-`? digits (`.` digits)?
/// (`e` sign? digits)?, as the grammar's `number` rule reads it.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(usize::from(b.first() == Some(&b'-')));
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            i = digits(j);
        }
    }
    i
}

fn unescape(raw: &str, offset: usize) -> Result<String, SyntaxError> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((j, other)) => {
                return Err(SyntaxError {
                    kind: SyntaxErrorKind::InvalidEscape,
                    message: format!("`\\{other}` is not an escape this language knows"),
                    span: Span::new(offset + i, offset + j + other.len_utf8()),
                    label: "unknown escape".into(),
                    related: None,
                    help: "the escapes are \\\", \\\\, \\n and \\t".into(),
                })
            }
            None => out.push('\\'),
        }
    }
    Ok(out)
}

fn span_of(p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    Span::new(s.start(), s.end())
}

/// Turns a pest error into plain words: what was expected, what was found.
fn convert_error(src: &str, e: pest::error::Error<Rule>) -> SyntaxError {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let expected = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = describe_found(src, pos);
    let mut words: Vec<&str> = expected.iter().filter_map(|r| rule_words(*r)).collect();
    words.sort_unstable();
    words.dedup();
    let expected_text = match words.len() {
        0 => "a keyword, a value or the end of the line".to_string(),
        1 => words[0].to_string(),
        n => format!("{} or {}", words[..n - 1].join(", "), words[n - 1]),
    };
    let end = (pos + found_len(src, pos)).min(src.len());
    if src[pos..].starts_with("..") {
        return SyntaxError {
            kind: SyntaxErrorKind::Unexpected,
            message: "this range has no end".into(),
            span: Span::new(pos, pos + 2),
            label: "a value must follow `..`".into(),
            related: None,
            help: "write both bounds of a range: `1..12`, `2Gi..16Gi`".into(),
        };
    }
    // Where anything could follow (a long list), say what was found and put
    // the alternatives in the label.
    let (message, label) = if words.len() > 3 {
        (
            format!("unexpected {found}"),
            "expected a name, a number, a string, an operator, `{`, or the end of the line"
                .to_string(),
        )
    } else {
        (
            format!("expected {expected_text}, found {found}"),
            format!("found {found}"),
        )
    };
    SyntaxError {
        kind: SyntaxErrorKind::Unexpected,
        message,
        span: Span::new(pos, end),
        label,
        related: None,
        help: "each line is a keyword, its arguments and an optional `{ block }`, like `warmup 2m`"
            .into(),
    }
}

fn rule_words(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::keyword | Rule::node => "a keyword",
        Rule::word => "a name",
        Rule::EOI => "the end of the line",
        Rule::block => "`{`",
        Rule::comment => "a comment",
        Rule::value => "a number",
        Rule::string => "a string",
        Rule::code => "an expression in back-quotes",
        Rule::op => "an operator",
        _ => return None,
    })
}

fn describe_found(src: &str, pos: usize) -> String {
    match src[pos..].chars().next() {
        None => "the end of the file".into(),
        Some('\n') | Some('\r') => "the end of the line".into(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let w: String = src[pos..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            format!("`{w}`")
        }
        Some(c) => format!("`{c}`"),
    }
}

fn found_len(src: &str, pos: usize) -> usize {
    match src[pos..].chars().next() {
        None | Some('\n') | Some('\r') => 0,
        Some(c) if c.is_alphanumeric() || c == '_' => src[pos..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum(),
        Some(c) => c.len_utf8(),
    }
}
