//! Configuration diagnostics: one [`ConfigError`] per problem, each with its span, and
//! [`ConfigErrors`] to render all of them against the named source at once.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode, SourceSpan};

use crate::sources::{Position, ShownSources, Sources};

/// How many diagnostics a report shows in full; the rest are counted. A file with thousands of
/// errors is a generated or mangled file, and the first screens say what is wrong with it.
pub const SHOWN_IN_FULL: usize = 50;

/// One problem in a configuration file, pointing at its span.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// A stable machine-readable code, e.g. `config::unknown_key`.
    pub code: &'static str,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Where.
    pub span: SourceSpan,
    /// The short text under the span.
    pub label: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
    /// Further places the problem involves, each with its own label (a cycle's members).
    pub other_labels: Vec<(SourceSpan, String)>,
}

impl ConfigError {
    /// A new error with a label and no help.
    pub fn new(
        code: &'static str,
        span: impl Into<SourceSpan>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            code,
            message: message.into(),
            span: span.into(),
            label: label.into(),
            help: None,
            other_labels: Vec::new(),
        }
    }

    /// Adds a further labelled span.
    pub fn with_label(
        mut self,
        span: impl Into<SourceSpan>,
        label: impl Into<String>,
    ) -> ConfigError {
        self.other_labels.push((span.into(), label.into()));
        self
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> ConfigError {
        self.help = Some(help.into());
        self
    }

    /// Adds a hint when there is one.
    pub fn with_optional_help(mut self, help: Option<String>) -> ConfigError {
        self.help = help;
        self
    }
}

impl Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let first = LabeledSpan::new_with_span(Some(self.label.clone()), self.span);
        let others = self
            .other_labels
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(first).chain(others)))
    }
}

/// A span as a file name and two positions in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRange {
    /// The file, as diagnostics name it.
    pub filename: String,
    /// Where the span starts.
    pub start: Position,
    /// Where it ends (exclusive).
    pub end: Position,
}

/// Every problem found in a configuration's files, rendered together, each snippet from the
/// file it points into: the first [`SHOWN_IN_FULL`] in full, then a count of the rest.
#[derive(Debug, thiserror::Error)]
#[error("{}", summary(.errors.len(), .names.as_str()))]
pub struct ConfigErrors {
    text: ShownSources,
    /// The files the errors point into, as the summary names them.
    names: String,
    errors: Vec<ConfigError>,
    more: Option<MoreErrors>,
}

/// The line that stands for the errors not shown in full.
#[derive(Debug, thiserror::Error)]
#[error("... and {} more {}", thousands(*.0), if *.0 == 1 { "error" } else { "errors" })]
struct MoreErrors(usize);

impl Diagnostic for MoreErrors {
    fn severity(&self) -> Option<Severity> {
        Some(Severity::Advice)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "fix the errors above and run again to see the rest",
        ))
    }
}

fn summary(count: usize, name: &str) -> String {
    match count {
        1 => format!("1 error in {name}"),
        n => format!("{n} errors in {name}"),
    }
}

/// `15950` as `15,950`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl ConfigErrors {
    /// Wraps the errors of one file, sorted by position.
    pub fn new(name: impl AsRef<str>, text: String, errors: Vec<ConfigError>) -> ConfigErrors {
        ConfigErrors::in_sources(&Sources::single(name.as_ref(), text), errors)
    }

    /// Wraps the errors of a configuration read from several files, sorted by file and
    /// position.
    pub fn in_sources(sources: &Sources, mut errors: Vec<ConfigError>) -> ConfigErrors {
        errors.sort_by_key(|error| (error.span.offset(), error.span.len()));
        let more = (errors.len() > SHOWN_IN_FULL).then(|| MoreErrors(errors.len() - SHOWN_IN_FULL));
        let text = sources.shown();
        let mut names = text
            .names_of(errors.iter().map(|error| error.span))
            .join(", ");
        if names.is_empty() {
            names = sources
                .files()
                .first()
                .map(|file| file.name.clone())
                .unwrap_or_default();
        }
        ConfigErrors {
            text,
            names,
            errors,
            more,
        }
    }

    /// The individual errors, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// Where `span` starts and ends: the file's name and the two positions within it (for
    /// machine-readable diagnostics). `None` for a span outside every file.
    pub fn range(&self, span: SourceSpan) -> Option<SpanRange> {
        let (file, start) = self.text.position(span.offset())?;
        let end = match self.text.position(span.offset() + span.len()) {
            Some((end_file, end)) if end_file == file => end,
            _ => start,
        };
        Some(SpanRange {
            filename: file.to_string(),
            start,
            end,
        })
    }
}

impl Diagnostic for ConfigErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("config::invalid"))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.text)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        let shown = self
            .errors
            .iter()
            .take(SHOWN_IN_FULL)
            .map(|error| error as &dyn Diagnostic);
        let more = self.more.iter().map(|more| more as &dyn Diagnostic);
        Some(Box::new(shown.chain(more)))
    }
}

/// The closest of `candidates` to `unknown`, when one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| format!("did you mean `{candidate}`?"))
}

#[cfg(test)]
mod tests;
