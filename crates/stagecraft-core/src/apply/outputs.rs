//! `[outputs]` recorded once the changes are done: each output's value resolved from what this
//! run applied (docs/behaviour.md, "Outputs").

use super::Run;

impl Run<'_> {
    /// Records every output the plan lists as it stands after the changes: a deferred value
    /// resolved from the state, a sensitive one without its value, a removed one dropped.
    pub(super) fn record_outputs(&self) {
        let applied: Vec<_> = self
            .plan
            .outputs
            .iter()
            .map(|output| {
                let lookup = |address: &str, attribute: &str| self.lookup(address, attribute);
                (output.name.clone(), output.applied(&lookup))
            })
            .collect();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (name, recorded) in applied {
            match recorded {
                Some(recorded) => {
                    state.outputs.insert(name, recorded);
                }
                None => {
                    state.outputs.remove(&name);
                }
            }
        }
    }
}
