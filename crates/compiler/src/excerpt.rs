//! The part of a file that a human report shows: the lines around each
//! label, a long line cut to a window around its label.
//!
//! miette reads its snippets from a `SourceCode`; given the whole file it
//! scans from the start for every label (thousands of findings in a large
//! file made `check` quadratic) and prints lines whole (a 16 MB line went to
//! the CI log in full). An `Excerpt` holds only the shown lines, in pieces
//! of consecutive lines, and answers miette's reads with the file's own
//! line numbers.

use crate::SourceFile;
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// The longest line shown whole, in bytes; a longer one is cut.
pub const MAX_LINE: usize = 240;
/// Bytes kept before the labelled point of a cut line.
const LEAD: usize = 60;
/// The most lines of one label shown (its first ones).
const MAX_LABEL_LINES: usize = 200;
/// Lines of context around a label, as miette's default.
const CONTEXT: usize = 1;
const ELLIPSIS: &str = "…";

/// One shown line: where it is in the file and what of it is kept.
struct Shown {
    /// The line's start in the file.
    start: usize,
    /// The kept bytes of the file, `keep.0..keep.1`, within the line.
    keep: (usize, usize),
    /// The line's end in the file, without its newline.
    end: usize,
    /// Where the kept bytes start in the piece's text.
    at: usize,
}

/// Consecutive lines of the file.
struct Piece {
    /// 0-based number of the first line.
    first_line: usize,
    /// Where the piece starts in excerpt coordinates.
    offset: usize,
    text: String,
    lines: Vec<Shown>,
}

pub struct Excerpt {
    name: String,
    pieces: Vec<Piece>,
}

impl Excerpt {
    /// The lines of `file` that show `spans` (byte ranges of the file).
    pub fn new(file: &SourceFile, spans: &[(usize, usize)]) -> Excerpt {
        let text = &file.text;
        let index = file.lines();
        let last_line = index.line_col(text.len()).0;
        let spans: Vec<(usize, usize)> = spans
            .iter()
            .map(|&(s, e)| {
                let s = s.min(text.len());
                (s, e.min(text.len()).max(s))
            })
            .collect();
        let mut ranges: Vec<(usize, usize)> = spans
            .iter()
            .map(|&(s, e)| {
                let first = index.line_col(s).0;
                let end_line = index.line_col(e.saturating_sub(1).max(s)).0;
                let end_line = end_line.min(first + MAX_LABEL_LINES);
                (
                    first.saturating_sub(CONTEXT),
                    (end_line + CONTEXT).min(last_line),
                )
            })
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut pieces = Vec::with_capacity(merged.len());
        let mut offset = 0;
        for (a, b) in merged {
            let piece = piece(file, a, b, &spans, offset);
            offset += piece.text.len();
            pieces.push(piece);
        }
        Excerpt {
            name: file.name.clone(),
            pieces,
        }
    }

    /// Where a byte offset of the file is in the excerpt: a point in a cut
    /// part goes to the nearest kept end.
    pub fn map(&self, pos: usize) -> usize {
        let i = self
            .pieces
            .partition_point(|p| p.lines.last().is_none_or(|l| l.end < pos))
            .min(self.pieces.len().saturating_sub(1));
        let Some(p) = self.pieces.get(i) else {
            return 0;
        };
        let j = p
            .lines
            .partition_point(|l| l.end < pos)
            .min(p.lines.len().saturating_sub(1));
        let Some(l) = p.lines.get(j) else {
            return p.offset;
        };
        let local = if pos < l.keep.0 {
            l.at - l.cut_before()
        } else {
            l.at + pos.min(l.keep.1) - l.keep.0
        };
        p.offset + local
    }

    /// A span of the file in excerpt coordinates.
    pub fn span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.map(start);
        let e = self.map(end.max(start)).max(s);
        (s, e - s)
    }
}

impl Shown {
    /// The bytes of the ellipsis before a line cut at its start.
    fn cut_before(&self) -> usize {
        if self.keep.0 > self.start {
            ELLIPSIS.len()
        } else {
            0
        }
    }
}

/// Lines `a..=b` of `file`, long ones cut around the spans that touch them.
fn piece(file: &SourceFile, a: usize, b: usize, spans: &[(usize, usize)], offset: usize) -> Piece {
    let text = &file.text;
    let index = file.lines();
    let mut out = String::new();
    let mut lines = Vec::with_capacity(b - a + 1);
    for line in a..=b {
        let start = index.line_start(line).unwrap_or(text.len());
        let end = index
            .line_start(line + 1)
            .map(|n| n - 1)
            .unwrap_or(text.len());
        let (keep_a, keep_b) = if end - start <= MAX_LINE {
            (start, end)
        } else {
            let point = spans
                .iter()
                .filter(|&&(s, e)| s <= end && e >= start)
                .map(|&(s, _)| s.max(start))
                .min()
                .unwrap_or(start);
            let from = floor_char(text, point.saturating_sub(LEAD).max(start));
            (from, floor_char(text, (from + MAX_LINE).min(end)))
        };
        if keep_a > start {
            out.push_str(ELLIPSIS);
        }
        let at = out.len();
        out.push_str(&text[keep_a..keep_b]);
        if keep_b < end {
            out.push_str(ELLIPSIS);
        }
        if line < b || end < text.len() {
            out.push('\n');
        }
        lines.push(Shown {
            start,
            keep: (keep_a, keep_b),
            end,
            at,
        });
    }
    Piece {
        first_line: a,
        offset,
        text: out,
        lines,
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let at = span.offset();
        let i = self
            .pieces
            .partition_point(|p| p.offset <= at)
            .checked_sub(1)
            .ok_or(MietteError::OutOfBounds)?;
        let p = &self.pieces[i];
        let local = at - p.offset;
        // A span that runs past its piece would join lines that are not
        // neighbours in the file: miette then shows the snippets apart.
        if local + span.len() > p.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let local_span = SourceSpan::new(local.into(), span.len());
        let inner = p.text.as_bytes().read_span(&local_span, before, after)?;
        let first = inner.line();
        let data_end = inner.span().offset() + inner.span().len();
        // Lines in the data: the merge test (`line + line_count`) then
        // joins only snippets that touch.
        let count = p.text.as_bytes()[inner.span().offset()..data_end]
            .iter()
            .filter(|&&c| c == b'\n')
            .count();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + p.offset).into(),
                inner.span().len(),
            ),
            first + p.first_line,
            column(p, first, inner.column()),
            count,
        )))
    }
}

/// The file's byte column for a column of a (possibly cut) shown line.
fn column(p: &Piece, line: usize, col: usize) -> usize {
    match p.lines.get(line) {
        Some(l) => (l.keep.0 - l.start) + col.saturating_sub(l.cut_before()),
        None => col,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, spans: &[(usize, usize)]) -> (Excerpt, String) {
        let file = SourceFile::new("f", text);
        let ex = Excerpt::new(&file, spans);
        let all = ex.pieces.iter().map(|p| p.text.as_str()).collect();
        (ex, all)
    }

    #[test]
    fn only_the_labelled_lines_and_their_neighbours_are_kept() {
        let text: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        let at = text.find("line 5000").unwrap();
        let (ex, all) = shown(&text, &[(at, at + 4)]);
        assert_eq!(all, "line 4999\nline 5000\nline 5001\n");
        let contents = ex
            .read_span(&SourceSpan::new(ex.map(at).into(), 4), 1, 1)
            .unwrap();
        assert_eq!(
            contents.line(),
            4999,
            "0-based line of the first shown line"
        );
        assert_eq!(contents.line_count(), 3);
    }

    #[test]
    fn distant_labels_are_separate_pieces_and_never_read_as_one() {
        let text: String = (0..100).map(|i| format!("l{i}\n")).collect();
        let (a, b) = (text.find("l10\n").unwrap(), text.find("l90\n").unwrap());
        let (ex, _) = shown(&text, &[(a, a + 3), (b, b + 3)]);
        assert_eq!(ex.pieces.len(), 2);
        let (sa, _) = ex.span(a, a + 3);
        let (sb, lb) = ex.span(b, b + 3);
        let joined = SourceSpan::new(sa.into(), sb + lb - sa);
        assert!(ex.read_span(&joined, 1, 1).is_err());
        let second = ex.read_span(&SourceSpan::new(sb.into(), lb), 0, 0).unwrap();
        assert_eq!((second.line(), second.column()), (90, 0));
    }

    #[test]
    fn a_long_line_is_cut_around_its_label_with_the_file_column() {
        let mut text = "é".repeat(400_000);
        let at = text.len();
        text.push_str("bogus");
        text.push_str(&"x".repeat(1_000_000));
        let (ex, all) = shown(&text, &[(at, at + 5)]);
        assert!(all.len() < 2 * MAX_LINE, "{} bytes shown", all.len());
        assert!(all.starts_with(ELLIPSIS) && all.trim_end().ends_with(ELLIPSIS));
        let (s, len) = ex.span(at, at + 5);
        assert_eq!(&all[s..s + len], "bogus");
        let c = ex.read_span(&SourceSpan::new(s.into(), len), 0, 0).unwrap();
        assert_eq!(c.column(), at, "the byte column in the file");
    }

    #[test]
    fn spans_past_the_end_and_empty_files_do_not_panic() {
        let (ex, all) = shown("", &[(0, 0), (5, 9)]);
        assert_eq!(all, "");
        assert_eq!(ex.span(5, 9), (0, 0));
        let (ex, _) = shown("ab\ncd", &[(10, 2)]);
        assert!(ex
            .read_span(&SourceSpan::new(ex.map(10).into(), 0), 1, 1)
            .is_ok());
    }
}
