//! What the state records of an `[outputs]` entry: its value once applied, never a sensitive
//! one's (docs/behaviour.md, "Outputs").

use serde::{Deserialize, Serialize};

/// One recorded output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputState {
    /// The value as resolved after apply; `None` for a sensitive output, whose value is never
    /// recorded (nor digested: it is never shown, so nothing needs to know whether it changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Shown as `(sensitive value)` everywhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}
