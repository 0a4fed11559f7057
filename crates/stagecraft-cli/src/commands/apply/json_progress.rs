//! Apply's progress under `--json`: each executor event as `apply_start`, `apply_progress`,
//! `apply_complete` or `apply_errored` (with its `diagnostic`) lines, elapsed times measured
//! from each change's start on the CLI's clock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stagecraft_config::Address;
use stagecraft_core::apply::Event;
use stagecraft_core::plan::Plan;
use stagecraft_core::render::json_ui;

use crate::json_ui::emit_all;

/// Writes apply's events as JSON lines.
pub struct JsonProgress<'a> {
    plan: &'a Plan,
    started: Mutex<BTreeMap<Address, Instant>>,
}

impl<'a> JsonProgress<'a> {
    pub fn new(plan: &'a Plan) -> JsonProgress<'a> {
        JsonProgress {
            plan,
            started: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn event(&self, event: Event) {
        let elapsed = {
            let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
            match &event {
                Event::Started { address, .. } => {
                    started.insert(address.clone(), Instant::now());
                    Duration::ZERO
                }
                Event::Progress { address, .. } | Event::Retrying { address, .. } => started
                    .get(address)
                    .map_or(Duration::ZERO, Instant::elapsed),
                Event::Finished { .. } => Duration::ZERO,
            }
        };
        emit_all(&json_ui::apply_events(self.plan, &event, elapsed));
    }
}
