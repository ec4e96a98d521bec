//! Every feature on arbitrary text at arbitrary offsets: answers or nothing,
//! never a panic (the server runs them on every keystroke).

use proptest::prelude::*;
use scalepol_lsp::analysis::Analysis;
use scalepol_lsp::text::Text;
use scalepol_lsp::{actions, completion, hover, navigate, outline};
use scalepol_syntax::Span;

const BASE: &str = include_str!("../../../policies/chat-llama3.scalepol");

fn mutated() -> impl Strategy<Value = String> {
    (
        0usize..BASE.len(),
        0usize..40,
        prop::sample::select(vec![
            "",
            "`",
            "\"",
            "{",
            "}",
            "é🚀",
            "pool x: gpu {",
            "on kv_cache",
            "2m",
            "$",
            "..",
            "\n",
        ]),
    )
        .prop_map(|(at, cut, insert)| {
            let mut at = at;
            while !BASE.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(BASE.len());
            while !BASE.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}{insert}{}", &BASE[..at], &BASE[end..])
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn features_never_panic(text in mutated(), offsets in prop::collection::vec(0usize..4000, 1..6)) {
        let a = Analysis::new("p.scalepol", Text::new(text.clone()), 1, &scalepol_compiler::FsLoader, None);
        let b = Analysis::new("p.scalepol", Text::new(format!("{text}\n")), 2, &scalepol_compiler::FsLoader, Some(&a));
        for an in [&a, &b] {
            for &o in &offsets {
                let o = o.min(an.text.text.len());
                let _ = hover::hover(an, o);
                let _ = completion::complete(an, o);
                if let Some((_, name)) = navigate::name_at(an, o) {
                    let _ = navigate::definition(an, &name);
                    let _ = navigate::references(an, &name);
                }
                let _ = actions::actions(an, Span::new(o.saturating_sub(5), o));
            }
            let _ = actions::format(an);
            if let Some(doc) = an.tree() {
                let _ = outline::symbols(doc);
                let _ = outline::folds(doc);
                let names = an.metric_names();
                let tokens = outline::tokens(doc, &names);
                prop_assert!(tokens.windows(2).all(|w| w[0].span.end <= w[1].span.start));
            }
        }
    }
}
