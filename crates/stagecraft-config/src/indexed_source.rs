//! A configuration's text with the start of every line indexed, so that a diagnostic's snippet
//! is found without reading the file from its beginning.
//!
//! miette's own `SourceCode` for strings counts lines from the first byte for every label it
//! renders: a file with thousands of errors took time quadratic in its size to render. Here
//! each lookup starts at the first line the snippet shows, found by a binary search, and
//! returns exactly what miette's would.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// The text and the byte offset at which each of its lines starts.
#[derive(Debug, Clone)]
pub(crate) struct IndexedSource {
    text: String,
    /// The first line's start (0), then the offset after each line break, as miette counts
    /// them: `\n`, `\r\n` and a lone `\r`.
    line_starts: Vec<usize>,
}

impl IndexedSource {
    /// Indexes `text`'s lines.
    pub(crate) fn new(text: String) -> IndexedSource {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut at = 0;
        while at < bytes.len() {
            match bytes[at] {
                b'\n' => line_starts.push(at + 1),
                b'\r' if bytes.get(at + 1) == Some(&b'\n') => {
                    at += 1;
                    line_starts.push(at + 1);
                }
                b'\r' => line_starts.push(at + 1),
                _ => {}
            }
            at += 1;
        }
        IndexedSource { text, line_starts }
    }

    /// The length of the text in bytes.
    pub(crate) fn len(&self) -> usize {
        self.text.len()
    }

    /// The line (from 1) and column (from 1, in characters) of byte `offset`.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(0, |before| before.chars().count());
        (line + 1, column + 1)
    }

    /// The number of the line (from 0) that holds byte `offset`. A line break belongs to the
    /// line it ends.
    fn line_of(&self, offset: usize) -> usize {
        // Line starts are sorted and the first is 0, so the count is at least 1.
        self.line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // The snippet starts `context_lines_before` lines above the span's line. miette's scan
        // from one line further up sees the same bytes as a scan from the start of the file
        // would, only with line numbers and offsets that count from that line: shift them
        // back. (The extra line matters for an empty span at a line's start, which miette
        // ends at the line break before it.)
        let first_line = self
            .line_of(span.offset())
            .saturating_sub(context_lines_before + 1);
        let base = self.line_starts.get(first_line).copied().unwrap_or(0);
        let tail = &self.text.as_bytes()[base..];
        let shifted = SourceSpan::new((span.offset() - base).into(), span.len());
        let contents = tail.read_span(&shifted, context_lines_before, context_lines_after)?;
        let found = contents.span();
        Ok(Box::new(MietteSpanContents::new(
            contents.data(),
            SourceSpan::new((found.offset() + base).into(), found.len()),
            contents.line() + first_line,
            contents.column(),
            contents.line_count() + first_line,
        )))
    }
}

#[cfg(test)]
mod tests;
