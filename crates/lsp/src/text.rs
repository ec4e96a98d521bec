//! Document text and LSP positions. LSP counts columns in UTF-16 code
//! units by default, or in bytes (UTF-8) when client and server agree on
//! it; the compiler counts bytes. Every conversion clamps, so a position
//! past the end of a line or of the file is never a panic.

use tower_lsp::lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// A document's text with its line starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub text: String,
    starts: Vec<usize>,
    /// Columns in bytes (negotiated `utf-8`) rather than UTF-16 units.
    pub utf8: bool,
}

impl Text {
    pub fn new(text: String) -> Text {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Text {
            text,
            starts,
            utf8: false,
        }
    }

    /// The same text, counting columns in bytes when `utf8`.
    pub fn with_utf8(mut self, utf8: bool) -> Text {
        self.utf8 = utf8;
        self
    }

    pub fn lines(&self) -> usize {
        self.starts.len()
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.starts[line];
        let end = self.starts.get(line + 1).map_or(self.text.len(), |&e| e);
        &self.text[start..end]
    }

    /// The byte offset of an LSP position (clamped to the line and the file).
    pub fn offset(&self, p: Position) -> usize {
        let line = p.line as usize;
        if line >= self.starts.len() {
            return self.text.len();
        }
        let start = self.starts[line];
        if self.utf8 {
            let content = self.line_text(line).trim_end_matches(['\n', '\r']).len();
            let mut at = start + (p.character as usize).min(content);
            while !self.text.is_char_boundary(at) {
                at -= 1;
            }
            return at;
        }
        let mut units = 0u32;
        for (i, c) in self.line_text(line).char_indices() {
            let next = units + c.len_utf16() as u32;
            // A column inside a surrogate pair rounds down to its character.
            if next > p.character || c == '\n' || c == '\r' {
                return start + i;
            }
            units = next;
        }
        start + self.line_text(line).len()
    }

    /// The LSP position of a byte offset (clamped, and moved back to a
    /// character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts[line];
        // An offset inside the line break is the end of the line's text.
        let content = self.line_text(line).trim_end_matches(['\n', '\r']).len();
        let offset = offset.min(start + content);
        if self.utf8 {
            return Position::new(line as u32, (offset - start) as u32);
        }
        let character = self.text[start..offset]
            .chars()
            .map(|c| c.len_utf16() as u32)
            .sum();
        Position::new(line as u32, character)
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    pub fn span_range(&self, s: scalepol_syntax::Span) -> Range {
        self.range(s.start, s.end)
    }

    /// Applies one change of `didChange`: a range replaced, or the whole text.
    pub fn apply(&mut self, change: &TextDocumentContentChangeEvent) {
        let text = match change.range {
            Some(r) => {
                let (a, b) = (self.offset(r.start), self.offset(r.end));
                let (a, b) = (a.min(b), a.max(b));
                let mut t = String::with_capacity(self.text.len() + change.text.len());
                t.push_str(&self.text[..a]);
                t.push_str(&change.text);
                t.push_str(&self.text[b..]);
                t
            }
            None => change.text.clone(),
        };
        *self = Text::new(text).with_utf8(self.utf8);
    }
}
