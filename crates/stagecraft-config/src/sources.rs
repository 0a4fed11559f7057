//! The files one configuration is read from (every `--config` file, every `--var-file`, and the
//! `--var` flags), laid end to end in one offset space so that a span names its file by its
//! offset alone. Each file is parsed on its own; the spans of its tree are shifted to where the
//! file starts, so that a merged tree, the model and every diagnostic carry spans that point at
//! the file a value came from. [`SourceCode`] for rendering reads each snippet from its own
//! file, with that file's name and line numbers.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// How many `*` a masked value shows, whatever its length.
const MASK_STARS: usize = 3;

use crate::indexed_source::IndexedSource;

/// What a file is to the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceRole {
    /// A `--config` file (a `deploy.toml`).
    Config,
    /// A `--var-file`: its values are masked when shown.
    VarFile,
    /// The `--var` flags, one line each, values left out.
    Flags,
}

/// One file of a configuration, as read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Its name as diagnostics show it (the path as given).
    pub name: String,
    /// Its role.
    pub role: SourceRole,
    /// The folder its relative paths are resolved in, relative to the first configuration
    /// file's folder (`""`: the same folder), with `/` separators; or an absolute path.
    pub folder: String,
    /// Where it starts in the shared offset space.
    pub start: usize,
    /// Its length in bytes (of the text as shown).
    pub len: usize,
}

/// Every file of a configuration, in one offset space: file `n` starts one byte after file
/// `n - 1` ends, so that no span of one file touches another.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The texts laid end to end, each followed by a line break.
    text: String,
    files: Vec<SourceFile>,
    /// The spans shown masked (the values of var files).
    masks: Vec<std::ops::Range<usize>>,
}

impl Sources {
    /// No files yet.
    pub fn new() -> Sources {
        Sources::default()
    }

    /// One configuration file alone (its folder is the base folder).
    pub fn single(name: impl Into<String>, text: String) -> Sources {
        let len = text.len();
        Sources {
            text,
            files: vec![SourceFile {
                name: name.into(),
                role: SourceRole::Config,
                folder: String::new(),
                start: 0,
                len,
            }],
            masks: Vec::new(),
        }
    }

    /// Where the next file pushed will start.
    pub fn next_start(&self) -> usize {
        if self.files.is_empty() {
            0
        } else {
            self.text.len() + 1
        }
    }

    /// Adds a file (the first one without a copy); returns where it starts.
    pub fn push(
        &mut self,
        name: impl Into<String>,
        role: SourceRole,
        folder: String,
        text: String,
    ) -> usize {
        let start = self.next_start();
        let len = text.len();
        if self.files.is_empty() {
            self.text = text;
        } else {
            self.text.push('\n');
            self.text.push_str(&text);
        }
        self.files.push(SourceFile {
            name: name.into(),
            role,
            folder,
            start,
            len,
        });
        start
    }

    /// The files, in order.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The text of every file, end to end (spans index it).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text of one file.
    pub fn file_text(&self, file: &SourceFile) -> &str {
        &self.text[file.start..file.start + file.len]
    }

    /// The file that holds byte `offset`.
    pub fn file_at(&self, offset: usize) -> Option<&SourceFile> {
        let index = self
            .files
            .partition_point(|file| file.start <= offset)
            .checked_sub(1)?;
        self.files.get(index)
    }

    /// Shows the bytes of `range` masked in every report (`***` then blanks).
    pub(crate) fn mask(&mut self, range: std::ops::Range<usize>) {
        self.masks.push(range);
    }

    /// The text as diagnostics show it: var files with every value masked (their snippets
    /// could otherwise show a sensitive value on a neighbouring line).
    pub(crate) fn shown(&self) -> ShownSources {
        let mut text = self.text.clone().into_bytes();
        // Three stars, then blanks: the same bytes (every span and column stays where it was),
        // but the stars do not count the value's characters.
        for range in &self.masks {
            let mut shown = 0;
            for byte in &mut text[range.clone()] {
                if *byte != b'\n' && *byte != b'\r' {
                    *byte = if shown < MASK_STARS { b'*' } else { b' ' };
                    shown += 1;
                }
            }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        ShownSources {
            files: self
                .files
                .iter()
                .map(|file| {
                    (
                        file.name.clone(),
                        file.start,
                        IndexedSource::new(text[file.start..file.start + file.len].to_string()),
                    )
                })
                .collect(),
        }
    }
}

/// A place in one file, as Terraform's JSON diagnostics give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
    /// The byte offset within the file, from 0.
    pub byte: usize,
}

/// The files as a report renders them: each snippet from its own file, named.
#[derive(Debug, Clone)]
pub(crate) struct ShownSources {
    files: Vec<(String, usize, IndexedSource)>,
}

impl ShownSources {
    /// The names of the files that hold any of `spans`, in file order.
    pub(crate) fn names_of(&self, spans: impl Iterator<Item = SourceSpan>) -> Vec<&str> {
        let mut used = vec![false; self.files.len()];
        for span in spans {
            if let Some(index) = self.index_at(span.offset()) {
                used[index] = true;
            }
        }
        self.files
            .iter()
            .zip(used)
            .filter(|(_, used)| *used)
            .map(|((name, _, _), _)| name.as_str())
            .collect()
    }

    /// Where byte `offset` of the shared offset space is: its file's name, and the line,
    /// column and byte within that file.
    pub(crate) fn position(&self, offset: usize) -> Option<(&str, Position)> {
        let (name, start, text) = &self.files[self.index_at(offset)?];
        let byte = offset - start;
        let (line, column) = text.line_column(byte);
        Some((name.as_str(), Position { line, column, byte }))
    }

    fn index_at(&self, offset: usize) -> Option<usize> {
        self.files
            .partition_point(|(_, start, _)| *start <= offset)
            .checked_sub(1)
    }
}

impl SourceCode for ShownSources {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let index = self
            .index_at(span.offset())
            .ok_or(MietteError::OutOfBounds)?;
        let (name, start, text) = &self.files[index];
        // A span across two files (miette tries one when it joins nearby snippets, judging by
        // line numbers that here restart in each file) is refused, so each keeps its own.
        if span.offset() - start + span.len() > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let local = SourceSpan::new((span.offset() - start).into(), span.len());
        let contents = text.read_span(&local, context_lines_before, context_lines_after)?;
        let found = contents.span();
        Ok(Box::new(MietteSpanContents::new_named(
            name.clone(),
            contents.data(),
            SourceSpan::new((found.offset() + start).into(), found.len()),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests;
