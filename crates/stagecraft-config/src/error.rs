//! Configuration diagnostics: one [`ConfigError`] per problem, each with its span, and
//! [`ConfigErrors`] to render all of them against the named source at once.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

/// One problem in a configuration file, pointing at its span.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        }
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

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

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
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            self.span,
        ))))
    }
}

/// Every problem found in one file, rendered together against that file's text.
#[derive(Debug)]
pub struct ConfigErrors {
    source: NamedSource<String>,
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Wraps the errors of one file, sorted by position.
    pub fn new(name: impl AsRef<str>, text: String, mut errors: Vec<ConfigError>) -> ConfigErrors {
        errors.sort_by_key(|error| (error.span.offset(), error.span.len()));
        ConfigErrors {
            source: NamedSource::new(name, text).with_language("toml"),
            errors,
        }
    }

    /// The individual errors, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            1 => write!(f, "1 error in {}", self.source.name()),
            n => write!(f, "{n} errors in {}", self.source.name()),
        }
    }
}

impl std::error::Error for ConfigErrors {}

impl Diagnostic for ConfigErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("config::invalid"))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.errors.iter().map(|error| error as &dyn Diagnostic),
        ))
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
