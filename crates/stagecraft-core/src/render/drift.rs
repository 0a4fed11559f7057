//! The drift `--refresh` found, as text: Terraform's "Objects have changed outside of
//! Terraform" note, one block per resource, one `~ attribute = recorded -> live` line per
//! attribute (secrets already masked by `live`).

use std::fmt::Write as _;

use crate::live::Drift;

/// The drift as text, in Terraform's "Objects have changed outside of Terraform" manner.
pub fn drift(drifts: &[Drift]) -> String {
    let mut out = String::from(
        "Note: Objects have changed outside of stagecraft\n\nstagecraft read the live resources \
         and found these differences from the state:\n",
    );
    // Writing to a String cannot fail.
    for drift in drifts {
        if drift.deleted {
            let _ = writeln!(out, "\n  # {} has been deleted", drift.address);
            continue;
        }
        let _ = writeln!(out, "\n  # {} has changed", drift.address);
        for attribute in &drift.attributes {
            let _ = writeln!(
                out,
                "      ~ {} = {} -> {}",
                attribute.attribute, attribute.recorded, attribute.live
            );
        }
    }
    out.push('\n');
    out
}
