//! The tracing subscriber: `-v` / `-vv` or `RUST_LOG` choose what is logged, to standard error,
//! and no level lets a sensitive value through.
//!
//! The AWS SDK and the HTTP stack under it log whole requests and responses at TRACE
//! (`aws_smithy_runtime::client::orchestrator` logs the request, the response with its body,
//! and the deserialized output; `aws_smithy_runtime::client::orchestrator::http` the response
//! body again), so a GetStage answer would show a sensitive stage variable, and a CreateBranch
//! request a branch's environment and basic-auth credentials. At DEBUG they log the errors
//! AWS returns, whose messages may quote a value sent. Their events above INFO are therefore
//! dropped by a filter of their own, which `RUST_LOG` cannot loosen (an `EnvFilter` directive
//! such as `aws_smithy_runtime=trace` would otherwise win). stagecraft's own crates log names,
//! ids and calls, never values, at every level.
//!
//! Without `-v` the SDK and the HTTP stack say nothing at all: their warnings (a credentials
//! provider that found nothing, a retry) are about calls whose outcome stagecraft reports
//! itself, in AWS's code and message. `-v` shows their WARN and INFO events.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// Target prefixes of the AWS SDK and its HTTP stack, whose verbose events carry bodies.
const TRANSPORT_TARGETS: [&str; 7] = ["aws_", "hyper", "h2", "reqwest", "rustls", "tower", "http"];

/// Whether an event (or span) at `level` from `target` could carry a body: anything the AWS
/// SDK or the HTTP stack logs at DEBUG or TRACE.
fn may_carry_a_body(target: &str, level: Level) -> bool {
    is_transport(target) && matches!(level, Level::DEBUG | Level::TRACE)
}

/// Whether `target` is the AWS SDK's or the HTTP stack's.
fn is_transport(target: &str) -> bool {
    TRANSPORT_TARGETS
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

/// Whether an event from `target` at `level` is shown at verbosity `verbose` (`-v` count).
fn shown(target: &str, level: Level, verbose: u8) -> bool {
    !may_carry_a_body(target, level) && (verbose > 0 || !is_transport(target))
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// ANSI colours (standard error is a terminal, colour not turned off).
    Colored,
    /// Plain text.
    Plain,
}

/// Installs the subscriber for the process: `RUST_LOG` if set, else `warn`, `info` with `-v`,
/// `debug` with `-vv`; then the AWS SDK and HTTP stack capped at INFO, and silent without `-v`.
pub fn init(verbose: u8, style: LogStyle) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let chosen = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let filter = chosen.and(filter_fn(move |metadata: &Metadata<'_>| {
        shown(metadata.target(), *metadata.level(), verbose)
    }));
    let layer = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(style == LogStyle::Colored)
        .without_time()
        .with_filter(filter);
    // A subscriber already installed (never the case in the binary) is left in place.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests;
