//! Apply's progress on the terminal: a line per event, above a progress bar on a terminal and
//! plain elsewhere; retries go to the log (`-v`).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use stagecraft_core::apply::{Event, Outcome};
use stagecraft_core::render::json_ui::apply_verbs;

/// Prints a line per event: above a progress bar on a terminal, plain elsewhere.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {pos}/{len} applied {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    fn line(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }

    pub fn event(&self, event: Event) {
        match event {
            Event::Started { address, actions } => {
                self.line(format!("{address}: {}...", apply_verbs(&actions).0));
            }
            Event::Progress { address, message } => self.line(format!("{address}: {message}")),
            Event::Retrying {
                address,
                call,
                attempt,
                max_attempts,
                error,
                delay,
            } => tracing::info!(
                "{address}: {call} attempt {attempt}/{max_attempts} failed ({error}); retrying in {:.1}s",
                delay.as_secs_f64()
            ),
            Event::Finished {
                address,
                actions,
                outcome,
                elapsed,
            } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                let elapsed = seconds(elapsed);
                match outcome {
                    Outcome::Failed { error } => {
                        self.line(format!("{address}: failed after {elapsed}: {error}"));
                    }
                    Outcome::NotStarted => {
                        self.line(format!("{address}: not started (interrupted)"));
                    }
                    _ => self.line(format!(
                        "{address}: {} complete after {elapsed}",
                        apply_verbs(&actions).1
                    )),
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
