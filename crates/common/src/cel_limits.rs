//! The limits on a CEL expression, checked before anything parses it:
//! cel-parser recurses on nesting and operator chains and overflows its
//! stack on deep input, and panics on some malformed input.
//!
//! Nesting is counted over every character, string literals included: a
//! string cannot hide brackets from the count, whatever its quoting
//! (escapes, raw strings, triple quotes). Operators and non-ASCII
//! characters are counted outside string literals, which are scanned with
//! their escapes.

/// The longest expression, bytes.
pub const MAX_LEN: usize = 4096;
/// The deepest nesting of `(`, `[` and `{`.
pub const MAX_NESTING: usize = 32;
/// The most operators outside string literals.
pub const MAX_OPERATORS: usize = 256;
/// The most comprehension macros (`all`, `exists`, `exists_one`, `map`,
/// `filter`): each may iterate over a list another one builds, so their
/// evaluation cost multiplies.
pub const MAX_MACROS: usize = 2;

/// The most comprehension iterations an evaluation may run: checked
/// before evaluating, from the sizes of the lists the expression can reach
/// (`iteration_bound`), as the evaluator has no budget of its own.
pub const MAX_ITERATIONS: u64 = 1_000_000;

const MACROS: [&str; 5] = ["all(", "exists(", "exists_one(", "map(", "filter("];

/// Why an expression is refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Nothing but blanks and comments.
    Empty,
    TooLong {
        len: usize,
    },
    TooDeep {
        depth: usize,
    },
    TooManyOperators {
        count: usize,
    },
    TooManyMacros {
        count: usize,
    },
    /// A non-ASCII character outside a string literal, at this byte offset.
    NonAscii {
        offset: usize,
        ch: char,
    },
    /// A string literal that never closes, opened at this byte offset.
    UnclosedString {
        offset: usize,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::Empty => f.write_str("the expression is empty"),
            Violation::TooLong { len } => {
                write!(f, "the expression is {len} bytes long; the limit is {MAX_LEN}")
            }
            Violation::TooDeep { depth } => {
                write!(f, "the expression nests {depth} deep; the limit is {MAX_NESTING}")
            }
            Violation::TooManyOperators { count } => write!(
                f,
                "the expression has {count} operators; the limit is {MAX_OPERATORS}"
            ),
            Violation::TooManyMacros { count } => write!(
                f,
                "the expression has {count} comprehensions (all, exists, exists_one, map, filter); the limit is {MAX_MACROS}"
            ),
            Violation::NonAscii { ch, .. } => {
                write!(f, "`{ch}` cannot appear in an expression outside a string")
            }
            Violation::UnclosedString { .. } => f.write_str("a string literal is never closed"),
        }
    }
}

/// Checks `src` against every limit; the first violation found.
pub fn check(src: &str) -> Result<(), Violation> {
    let code: String = src
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect();
    if code.trim().is_empty() {
        return Err(Violation::Empty);
    }
    if src.len() > MAX_LEN {
        return Err(Violation::TooLong { len: src.len() });
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in src.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return Err(Violation::TooDeep { depth: deepest });
    }
    let outside = outside_strings(src)?;
    let ops = outside
        .iter()
        .filter(|(_, c)| {
            matches!(
                c,
                '+' | '-' | '*' | '/' | '%' | '&' | '|' | '<' | '>' | '=' | '!' | '?' | '.' | ','
            )
        })
        .count();
    if ops > MAX_OPERATORS {
        return Err(Violation::TooManyOperators { count: ops });
    }
    if let Some(&(offset, ch)) = outside.iter().find(|(_, c)| !c.is_ascii()) {
        return Err(Violation::NonAscii { offset, ch });
    }
    let text: String = outside.iter().map(|(_, c)| *c).collect();
    let macros = macro_calls(&text).len();
    if macros > MAX_MACROS {
        return Err(Violation::TooManyMacros { count: macros });
    }
    Ok(())
}

/// Where each comprehension's argument list opens and closes in `code`
/// (an expression with its string literals removed).
fn macro_calls(code: &str) -> Vec<(usize, usize)> {
    let bytes = code.as_bytes();
    let mut calls = Vec::new();
    for m in MACROS {
        let needle = format!(".{m}");
        for (at, _) in code.match_indices(&needle) {
            let open = at + needle.len() - 1;
            let mut depth = 0usize;
            let mut close = bytes.len();
            for (i, &b) in bytes.iter().enumerate().skip(open) {
                match b {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            calls.push((open, close));
        }
    }
    calls
}

/// What bounds an expression's comprehension iterations, read once from its
/// text: the bound itself depends on the data (`bound`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IterationShape {
    /// `+` operators: each may join one more list.
    joins: u64,
    /// `,` separators: each may add one literal element.
    commas: u64,
    /// The nesting depth of each comprehension (1 for an outermost one).
    depths: Vec<u32>,
}

impl IterationShape {
    /// The shape of `src`; `None` for an expression that fails `check`.
    pub fn of(src: &str) -> Option<IterationShape> {
        check(src).ok()?;
        let code: String = outside_strings(src).ok()?.iter().map(|(_, c)| *c).collect();
        let count = |c: char| code.chars().filter(|&x| x == c).count() as u64;
        let calls = macro_calls(&code);
        let depths = calls
            .iter()
            .map(|&(open, _)| {
                calls.iter().filter(|&&(o, c)| o < open && open < c).count() as u32 + 1
            })
            .collect();
        Some(IterationShape {
            joins: count('+'),
            commas: count(','),
            depths,
        })
    }

    /// An upper bound on the comprehension iterations when no list or map
    /// in the variables has more than `largest` entries. A list the
    /// expression builds is at most every such list joined by each `+`,
    /// plus its own literal elements; a comprehension runs that many times
    /// for each iteration of every comprehension it is nested in.
    pub fn bound(&self, largest: usize) -> u64 {
        let n = (largest as u64).saturating_mul(self.joins + 1) + self.commas + 1;
        self.depths.iter().fold(0u64, |sum, &depth| {
            sum.saturating_add(n.saturating_pow(depth))
        })
    }
}

/// `IterationShape::of(src)` bounded at `largest`, in one call.
pub fn iteration_bound(src: &str, largest: usize) -> Option<u64> {
    IterationShape::of(src).map(|s| s.bound(largest))
}

/// The characters outside string literals (with their byte offsets).
/// Literals: `"..."`, `'...'`, triple-quoted `"""..."""` and `'''...'''`,
/// each with backslash escapes unless raw (`r"..."`, `R'...'`).
fn outside_strings(src: &str) -> Result<Vec<(usize, char)>, Violation> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c != '"' && c != '\'' {
            out.push((at, c));
            i += 1;
            continue;
        }
        let raw = i > 0 && matches!(chars[i - 1].1, 'r' | 'R');
        let triple = i + 2 < chars.len() && chars[i + 1].1 == c && chars[i + 2].1 == c;
        let width = if triple { 3 } else { 1 };
        i += width;
        loop {
            let Some(&(_, d)) = chars.get(i) else {
                return Err(Violation::UnclosedString { offset: at });
            };
            if d == '\\' && !raw {
                i += 2;
                continue;
            }
            if d == c
                && (!triple || (i + 2 < chars.len() && chars[i + 1].1 == c && chars[i + 2].1 == c))
            {
                i += width;
                break;
            }
            if d == '\n' && !triple {
                return Err(Violation::UnclosedString { offset: at });
            }
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_comprehensions_multiply_and_sequential_ones_add() {
        let nested = "policy.pools.all(p, policy.pools.all(q, p.max >= q.min))";
        // Each comma may add a literal element to a list: n = 4000 + 2 + 1.
        assert_eq!(iteration_bound(nested, 4000), Some(4003 + 4003 * 4003));
        let side_by_side = "policy.pools.all(p, p.max > 1) && policy.pools.exists(p, p.spot < 1.0)";
        assert_eq!(iteration_bound(side_by_side, 4000), Some(2 * 4003));
        assert_eq!(iteration_bound("x > 1.0", 1_000_000), Some(0));
        // A string cannot hide a comprehension, nor fake one.
        assert_eq!(iteration_bound("'.all(' == x", 10), Some(0));
    }

    #[test]
    fn built_lists_count_at_their_largest() {
        let joined = "(a + a + a).map(x, x)";
        assert_eq!(iteration_bound(joined, 100), Some(3 * 100 + 1 + 1));
        let literal = "[1, 2, 3].map(x, [4, 5].map(y, y))";
        assert_eq!(iteration_bound(literal, 0), Some(6 + 6 * 6));
        assert!(iteration_bound(literal, 0).unwrap() < MAX_ITERATIONS);
    }

    #[test]
    fn an_escaped_quote_hides_nothing() {
        let deep = format!("\"\\\"\" + {}1{}", "(".repeat(300), ")".repeat(300));
        assert_eq!(check(&deep), Err(Violation::TooDeep { depth: 300 }));
        let hidden = format!("'\\'' == \"{}\"", "(".repeat(40));
        assert!(matches!(check(&hidden), Err(Violation::TooDeep { .. })));
    }

    #[test]
    fn strings_of_every_kind_close() {
        assert_eq!(check(r#"x == "caf\u00e9 \" é""#), Ok(()));
        assert_eq!(check(r#"x == r"\" && y"#), Ok(()));
        assert_eq!(check("x == \"\"\"a \" b\"\"\""), Ok(()));
        assert!(matches!(
            check("x == \"open"),
            Err(Violation::UnclosedString { offset: 5 })
        ));
        assert!(matches!(
            check("x == 'a\nb'"),
            Err(Violation::UnclosedString { .. })
        ));
    }

    #[test]
    fn non_ascii_only_inside_strings() {
        assert_eq!(check("name == \"größe\""), Ok(()));
        assert!(matches!(
            check("größe > 1.0"),
            Err(Violation::NonAscii { offset: 2, .. })
        ));
    }

    #[test]
    fn empty_long_and_busy_expressions() {
        assert_eq!(check("  // only a comment"), Err(Violation::Empty));
        assert!(matches!(
            check(&"a".repeat(MAX_LEN + 1)),
            Err(Violation::TooLong { .. })
        ));
        let ops = vec!["a"; MAX_OPERATORS + 2].join("+");
        assert!(matches!(
            check(&ops),
            Err(Violation::TooManyOperators { .. })
        ));
        let nested = "[1,2].all(x, [1,2].all(y, [1,2].all(z, true)))";
        assert_eq!(check(nested), Err(Violation::TooManyMacros { count: 3 }));
        assert_eq!(check("[1,2].map(x, x * 2).all(y, y > 0)"), Ok(()));
    }
}
