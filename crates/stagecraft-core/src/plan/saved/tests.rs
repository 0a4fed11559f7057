//! The saved plan's digest: a plan read back as saved, refused once edited.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::test_support::{config, make_plan};

fn saved() -> (Plan, String) {
    let plan = make_plan(
        &config(
            "[rest_apis.api]\nid = \"abc\"\n[rest_apis.api.stages.prod]\nrevision = \"r1\"\n\
             description = \"Production\"\nvariables = { key = { env = \"KEY\" } }\n",
        ),
        None,
    )
    .unwrap();
    let text = plan.to_json().unwrap();
    (plan, text)
}

#[test]
fn a_saved_plan_reads_back_with_its_digest_last() {
    let (plan, text) = saved();
    assert_eq!(Plan::from_json(&text).unwrap(), plan);
    let last = text.trim_end().lines().rev().nth(1).unwrap();
    assert!(
        last.trim_start().starts_with("\"digest\": \"sha256:"),
        "{text}"
    );
    assert!(text.ends_with("}\n"));
    // The digest covers the contents, not the layout: the same plan written compactly reads.
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        Plan::from_json(&serde_json::to_string(&value).unwrap()).unwrap(),
        plan
    );
}

/// Integrity 2: a plan whose description was edited after it was saved (still valid JSON, still
/// a plan) was applied as edited. It is refused.
#[test]
fn a_plan_edited_after_it_was_saved_is_refused() {
    let (_, text) = saved();
    let edited = text.replace("\"Production\"", "\"Edited by hand\"");
    assert_ne!(edited, text);
    assert_eq!(Plan::from_json(&edited), Err(SavedPlanError::Edited));
    let reordered = text.replace("\"r1\"", "\"r2\"");
    assert_eq!(Plan::from_json(&reordered), Err(SavedPlanError::Edited));
}

#[test]
fn a_plan_without_its_digest_or_of_another_format_is_refused() {
    let (plan, text) = saved();
    let plain = serde_json::to_string_pretty(&plan).unwrap();
    assert_eq!(Plan::from_json(&plain), Err(SavedPlanError::NoDigest));
    let newer = text.replace(
        &format!("\"format_version\": {}", crate::plan::PLAN_FORMAT_VERSION),
        "\"format_version\": 7",
    );
    assert_eq!(
        Plan::from_json(&newer),
        Err(SavedPlanError::UnknownVersion { found: 7 })
    );
    assert!(matches!(
        Plan::from_json("not json"),
        Err(SavedPlanError::Unreadable { .. })
    ));
    assert!(matches!(
        Plan::from_json("[1]"),
        Err(SavedPlanError::Unreadable { .. })
    ));
}
