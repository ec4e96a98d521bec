//! Properties of the parser and formatter: no input panics; formatting is
//! idempotent; formatting keeps every comment attached to the same construct.

use proptest::prelude::*;
use scalepol_syntax::{format_document, parse, Arg, ArgKind, Comment, Document, Node};

/// The tree without spans and layout: what formatting must preserve.
#[derive(Debug, PartialEq)]
enum Shape {
    Node {
        keyword: String,
        args: Vec<String>,
        leading: Vec<String>,
        trailing: Option<String>,
        block: Option<Box<BlockShape>>,
    },
}

#[derive(Debug, PartialEq)]
struct BlockShape {
    nodes: Vec<Shape>,
    open: Option<String>,
    dangling: Vec<String>,
}

fn arg_shape(a: &Arg) -> String {
    match &a.kind {
        ArgKind::Range(lo, hi) => format!("{}..{}", arg_shape(lo), arg_shape(hi)),
        k => format!("{k:?}"),
    }
}

fn texts(c: &[Comment]) -> Vec<String> {
    c.iter().map(|c| c.text.clone()).collect()
}

fn shape(n: &Node) -> Shape {
    Shape::Node {
        keyword: n.keyword.to_string(),
        args: n.args.iter().map(arg_shape).collect(),
        leading: texts(&n.leading_comments),
        trailing: n.trailing_comment.as_ref().map(|c| c.text.clone()),
        block: n.block.as_ref().map(|b| {
            Box::new(BlockShape {
                nodes: b.nodes.iter().map(shape).collect(),
                open: b.open_comment.as_ref().map(|c| c.text.clone()),
                dangling: texts(&b.dangling_comments),
            })
        }),
    }
}

fn doc_shape(d: &Document) -> (Vec<Shape>, Vec<String>) {
    (
        d.nodes.iter().map(shape).collect(),
        texts(&d.trailing_comments),
    )
}

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_-]{0,8}",
        "[0-9]{1,4}(\\.[0-9]{1,2})?(ms|s|m|h|%|Gi)?",
        "[0-9]{1,2}\\.\\.[0-9]{1,3}",
        "\\$[0-9]{1,4}(\\.[0-9]{1,3})?(/h)?",
        "\"[a-zA-Z0-9 /:._-]{0,12}\"",
        "\"a\\\\\"b\\\\\\\\c\"",
        "`[a-z_ ><=&|.0-9()]{1,20}`",
        prop_oneof![Just("<"), Just("<="), Just(">="), Just("="), Just("!=")]
            .prop_map(String::from),
    ]
}

fn comment() -> impl Strategy<Value = String> {
    "// [a-zA-Z0-9 {}`\"é,;]{0,20}".prop_map(|s| s.trim_end().to_string())
}

/// A random document rendered in a random (valid) layout.
fn document() -> impl Strategy<Value = String> {
    let leaf = (
        "[a-z][a-z_]{0,8}",
        prop::collection::vec(arg(), 0..4),
        prop::option::of(comment()),
        prop::option::of(comment()),
    )
        .prop_map(|(k, args, lead, trail)| {
            let mut s = String::new();
            if let Some(l) = lead {
                s.push_str(&l);
                s.push('\n');
            }
            s.push_str(&k);
            for a in args {
                s.push(' ');
                s.push_str(&a);
            }
            if let Some(t) = trail {
                s.push_str("  ");
                s.push_str(&t);
            }
            s.push('\n');
            s
        });
    leaf.prop_recursive(3, 24, 5, |inner| {
        (
            "[a-z][a-z_]{0,8}",
            prop::collection::vec(arg(), 0..3),
            prop::collection::vec(inner, 0..5),
            prop::option::of(comment()),
            prop::bool::ANY,
            "[ \t]{0,3}",
        )
            .prop_map(|(k, args, children, dangling, blank, ws)| {
                let mut s = format!("{k}{ws}");
                for a in args {
                    s.push(' ');
                    s.push_str(&a);
                }
                s.push_str(" {\n");
                for c in children {
                    if blank {
                        s.push('\n');
                    }
                    s.push_str(&c);
                }
                if let Some(d) = dangling {
                    s.push_str(&d);
                    s.push('\n');
                }
                s.push_str("}\n");
                s
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn parser_never_panics_on_any_text(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_policy_like_text(s in "[a-z{}\\n `\"$.0-9%/:<>=,;]{0,300}") {
        if let Ok(doc) = parse(&s) {
            let _ = format_document(&doc);
        }
    }

    #[test]
    fn generated_documents_parse(doc in document()) {
        prop_assert!(parse(&doc).is_ok(), "{doc}");
    }

    #[test]
    fn format_is_idempotent_and_keeps_comments(doc in document()) {
        let parsed = parse(&doc).unwrap();
        let once = format_document(&parsed);
        let reparsed = parse(&once).map_err(|e| TestCaseError::fail(format!("{e:?}\n{once}")))?;
        prop_assert_eq!(doc_shape(&parsed), doc_shape(&reparsed), "{}", once);
        let twice = format_document(&reparsed);
        prop_assert_eq!(once, twice);
    }
}

#[test]
fn every_comment_position_survives() {
    let src = "// file header\n\npolicy x { // open\n  // leading\n  a 1 // trailing\n\n  // second group\n  b { c 2, d 3 } // after inline\n  // dangling\n}\n// end of file\n";
    let doc = parse(src).unwrap();
    let out = format_document(&doc);
    assert_eq!(out, src);
}

#[test]
fn layout_is_canonical() {
    let src = "policy   x{\n\n\n  a    1..2\n      b \"s\" {c 1,d 2}\n  e { f 1\n  }\n}";
    let out = format_document(&parse(src).unwrap());
    assert_eq!(
        out,
        "policy x {\n  a 1..2\n  b \"s\" { c 1, d 2 }\n  e {\n    f 1\n  }\n}\n"
    );
}

/// `//` starts a comment even inside a word: `c//ron` is the word `c` and a
/// comment, as the pre-scan and the editor grammar read it (a `/` joins
/// two parts of a word only: `req/s`).
#[test]
fn a_double_slash_inside_a_word_starts_a_comment() {
    let doc =
        scalepol_syntax::parse("policy p {\n  schedule c//ron \"x\"\n  rate 5 req/s\n}\n").unwrap();
    let block = doc.nodes[0].block_nodes();
    assert_eq!(block[0].keyword, "schedule");
    assert_eq!(block[0].args.len(), 1, "{:?}", block[0].args);
    assert!(block[0].trailing_comment.is_some());
    assert!(
        block[1].args.iter().any(|a| a.is_word("req/s")),
        "{:?}",
        block[1].args
    );
    // And a word does not end in a slash.
    assert!(scalepol_syntax::parse("policy p {\n  x a/ b\n}\n").is_err());
}
