//! `[outputs]`: named values worked out after apply from what was applied, shown after
//! `Apply complete!` and by `stagecraft output` (docs/configuration.md, "Outputs").

use miette::SourceSpan;

use crate::model::Template;

/// `[outputs] NAME = "${...}"` or `NAME = { value = "...", sensitive = true, description = "..." }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The value: literal text and `${address.attribute}` references (non-sensitive
    /// `${var.NAME}` already substituted). In a sensitive output, a sensitive variable's use
    /// stands as empty text: its value is never worked out or shown.
    pub value: Template,
    /// Shown as `(sensitive value)` everywhere and never recorded.
    pub sensitive: bool,
    /// What it is for.
    pub description: Option<String>,
    /// Where its name was written.
    pub span: SourceSpan,
}
