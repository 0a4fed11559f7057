//! `--json`: the machine-readable UI's lines written to standard output, each event of
//! `stagecraft_core::render::json_ui` stamped with the wall-clock time (RFC 3339), one line
//! per event, flushed at once (docs/json-ui.md). Errors become `diagnostic` events.

use std::io::Write;
use std::time::SystemTime;

use miette::Report;
use stagecraft_config::ConfigErrors;
use stagecraft_core::render::json_ui::{Severity, UiDiagnostic, UiEvent};

/// Whether a command speaks JSON or to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Text for people.
    Human,
    /// `--json`: one event per line.
    Json,
}

impl View {
    /// The view `--json` asks for.
    pub fn of(json: bool) -> View {
        if json { View::Json } else { View::Human }
    }
}

/// Writes one event as a line of standard output (the standard output lock keeps the lines
/// of events from concurrent changes whole).
pub fn emit(event: &UiEvent) {
    let line = event.line(&humantime::format_rfc3339_micros(SystemTime::now()).to_string());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Writes every event in order.
pub fn emit_all(events: &[UiEvent]) {
    for event in events {
        emit(event);
    }
}

/// The `version` event, first in every `--json` stream.
pub fn version() -> UiEvent {
    UiEvent::Version {
        stagecraft: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The `diagnostic` events of an error report: one per configuration error (with the file,
/// line and column of its span), else one for the report (its message, causes and help).
pub fn diagnostics(report: &Report) -> Vec<UiEvent> {
    if let Some(errors) = report.downcast_ref::<ConfigErrors>() {
        return errors
            .errors()
            .iter()
            .map(|error| {
                let mut detail = error.label.clone();
                if let Some(help) = &error.help {
                    detail = format!("{detail}; {help}");
                }
                UiEvent::Diagnostic(UiDiagnostic {
                    severity: Severity::Error,
                    summary: error.message.clone(),
                    detail,
                    code: Some(error.code.to_string()),
                    address: None,
                    range: errors.range(error.span),
                })
            })
            .collect();
    }
    let causes: Vec<String> = report.chain().skip(1).map(ToString::to_string).collect();
    let mut detail = causes.join(": ");
    if let Some(help) = report.help() {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str(&help.to_string());
    }
    vec![UiEvent::Diagnostic(UiDiagnostic {
        severity: Severity::Error,
        summary: report.to_string(),
        detail,
        code: report.code().map(|code| code.to_string()),
        address: None,
        range: None,
    })]
}
