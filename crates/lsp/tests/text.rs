//! Document text under random edits: positions in UTF-16 (LSP's default)
//! never panic, always land on character boundaries, and incremental edits
//! agree with an independent model of the text as UTF-16 lines.

use proptest::prelude::*;
use scalepol_lsp::text::Text;
use tower_lsp::lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// The model: each line as UTF-16 units (line breaks kept at line ends).
fn utf16_lines(s: &str) -> Vec<Vec<u16>> {
    s.split_inclusive('\n')
        .map(|l| l.encode_utf16().collect())
        .chain(s.ends_with('\n').then(Vec::new))
        .collect::<Vec<_>>()
}

/// The model's offset, in UTF-16 units from the start, of a clamped position.
fn model_offset(s: &str, p: Position) -> usize {
    let lines = if s.is_empty() {
        vec![Vec::new()]
    } else {
        utf16_lines(s)
    };
    let line = p.line as usize;
    if line >= lines.len() {
        return s.encode_utf16().count();
    }
    let before: usize = lines[..line].iter().map(Vec::len).sum();
    let l = &lines[line];
    let content = l.len()
        - l.iter()
            .rev()
            .take_while(|&&u| u == u16::from(b'\n') || u == u16::from(b'\r'))
            .count();
    // Inside a surrogate pair, LSP positions round down to the character.
    let mut col = (p.character as usize).min(content);
    if col > 0 && col < l.len() && (0xDC00..0xE000).contains(&l[col]) {
        col -= 1;
    }
    before + col
}

fn apply_model(s: &str, r: Range, insert: &str) -> String {
    let units: Vec<u16> = s.encode_utf16().collect();
    let (a, b) = (model_offset(s, r.start), model_offset(s, r.end));
    let (a, b) = (a.min(b), a.max(b));
    let mut out: Vec<u16> = units[..a].to_vec();
    out.extend(insert.encode_utf16());
    out.extend_from_slice(&units[b..]);
    String::from_utf16(&out).unwrap()
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "pool", " ", "\n", "é", "🚀", "中", "`", "{", "}", "\r\n", "0",
        ]),
        0..40,
    )
    .prop_map(|v| v.concat())
}

fn edit_strategy() -> impl Strategy<Value = (u32, u32, u32, u32, String)> {
    (0u32..8, 0u32..12, 0u32..8, 0u32..12, text_strategy())
}

proptest! {
    #[test]
    fn incremental_edits_match_the_model(start in text_strategy(), edits in prop::collection::vec(edit_strategy(), 1..12)) {
        let mut text = Text::new(start.clone());
        let mut model = start;
        for (l1, c1, l2, c2, insert) in edits {
            let range = Range::new(Position::new(l1, c1), Position::new(l2, c2));
            text.apply(&TextDocumentContentChangeEvent { range: Some(range), range_length: None, text: insert.clone() });
            model = apply_model(&model, range, &insert);
            prop_assert_eq!(&text.text, &model);
        }
    }

    #[test]
    fn positions_round_trip(s in text_strategy(), offset in 0usize..200) {
        let t = Text::new(s.clone());
        let p = t.position(offset);
        let back = t.offset(p);
        prop_assert!(s.is_char_boundary(back));
        prop_assert!(back <= offset.min(s.len()));
        prop_assert_eq!(t.position(back), p);
    }
}

/// The byte model: a clamped position as a byte offset on a boundary.
fn byte_offset(s: &str, p: Position) -> usize {
    let mut start = 0;
    for (i, line) in s.split_inclusive('\n').enumerate() {
        if i == p.line as usize {
            let content = line.trim_end_matches(['\n', '\r']).len();
            let mut at = start + (p.character as usize).min(content);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            return at;
        }
        start += line.len();
    }
    if s.ends_with('\n') && p.line as usize == s.split_inclusive('\n').count() {
        return s.len();
    }
    s.len()
}

proptest! {
    #[test]
    fn utf8_edits_match_the_byte_model(start in text_strategy(), edits in prop::collection::vec(edit_strategy(), 1..12)) {
        let mut text = Text::new(start.clone()).with_utf8(true);
        let mut model = start;
        for (l1, c1, l2, c2, insert) in edits {
            let range = Range::new(Position::new(l1, c1), Position::new(l2, c2));
            text.apply(&TextDocumentContentChangeEvent { range: Some(range), range_length: None, text: insert.clone() });
            let (a, b) = (byte_offset(&model, range.start), byte_offset(&model, range.end));
            let (a, b) = (a.min(b), a.max(b));
            model = format!("{}{insert}{}", &model[..a], &model[b..]);
            prop_assert_eq!(&text.text, &model);
            prop_assert!(text.utf8);
        }
    }
}

#[test]
fn a_full_change_replaces_everything() {
    let mut t = Text::new("abc\ndef".into());
    t.apply(&TextDocumentContentChangeEvent {
        range: None,
        range_length: None,
        text: "x🚀\ny".into(),
    });
    assert_eq!(t.text, "x🚀\ny");
    assert_eq!(t.position(t.text.len()), Position::new(1, 1));
    // The rocket is two UTF-16 units.
    assert_eq!(t.offset(Position::new(0, 3)), "x🚀".len());
}
