//! Replay of journals: operations carried until settled, torn lines, and the calls read back
//! with their services.
#![allow(clippy::unwrap_used)]
use super::*;

fn op(address: &str) -> Interrupted {
    Interrupted {
        address: stage(address),
        call: Call::CreateDeployment,
        snapshot: None,
    }
}

/// The stage `s` of REST API `<api>`.
fn stage(api: &str) -> Address {
    Address::Stage {
        api: api.into(),
        stage: "s".into(),
    }
}

#[test]
fn operations_in_doubt_are_carried_until_settled() {
    let mut state = State::new("p", "lin".to_string());
    state.serial = 4;
    let mut entries = carried(&state, &[op("a"), op("b")]);
    // The next run appends its own header and operations.
    entries.push(JournalEntry::Header {
        lineage: "lin".into(),
        serial: Some(4),
        project: "p".into(),
    });
    entries.push(JournalEntry::Started {
        operation: 1,
        address: stage("a"),
        call: Call::UpdateStage,
        snapshot: None,
    });
    entries.push(JournalEntry::Completed {
        operation: 1,
        effects: Vec::new(),
    });
    // Cut here: both carried operations are still in doubt.
    let (_, replayed) = replay(Some(state.clone()), &entries).unwrap();
    assert_eq!(replayed.interrupted, vec![op("a"), op("b")]);
    entries.push(JournalEntry::Settled {
        address: stage("a"),
    });
    let (_, replayed) = replay(Some(state.clone()), &entries).unwrap();
    assert_eq!(replayed.interrupted, vec![op("b")]);
    // A torn last line is ignored; a torn line in the middle is corruption.
    let mut text: String = entries
        .iter()
        .map(|entry| serde_json::to_string(entry).unwrap() + "\n")
        .collect();
    text.push_str("{\"entry\":\"sta");
    assert_eq!(parse(&text).unwrap(), entries);
    text.push_str("\n{}\n");
    assert!(matches!(parse(&text), Err(JournalError::Corrupt { .. })));
}

/// Guards the journal's on-disk format: lines written by the version before calls were typed
/// (the call as AWS's name, Amplify's `CreateDeployment` told apart only by its resource) read
/// back as the same calls, and are written again byte for byte.
#[test]
fn journals_of_the_string_call_format_read_back_with_their_services() {
    let text = concat!(
        r#"{"entry":"header","lineage":"lin","serial":3,"project":"p"}"#,
        "\n",
        r#"{"entry":"started","operation":1,"address":"rest_apis.api.stages.prod","call":"CreateDeployment"}"#,
        "\n",
        r#"{"entry":"completed","operation":1,"effects":[]}"#,
        "\n",
        r#"{"entry":"started","operation":2,"address":"amplify_apps.site.branches.main","call":"CreateDeployment"}"#,
        "\n",
        r#"{"entry":"completed","operation":2,"effects":[]}"#,
        "\n",
        r#"{"entry":"started","operation":3,"address":"amplify_apps.site.branches.main","call":"upload"}"#,
        "\n",
    );
    let entries = parse(text).unwrap();
    let calls: Vec<Call> = entries
        .iter()
        .filter_map(|entry| match entry {
            JournalEntry::Started { call, .. } => Some(*call),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            Call::CreateDeployment,
            Call::CreateAmplifyDeployment,
            Call::Upload
        ]
    );
    let written: String = entries
        .iter()
        .map(|entry| serde_json::to_string(entry).unwrap() + "\n")
        .collect();
    assert_eq!(written, text);

    let mut state = State::new("p", "lin".to_string());
    state.serial = 3;
    let (_, replayed) = replay(Some(state), &entries).unwrap();
    assert_eq!(
        replayed.interrupted,
        vec![Interrupted {
            address: Address::parse("amplify_apps.site.branches.main").unwrap(),
            call: Call::Upload,
            snapshot: None,
        }]
    );
}

/// A call named on a resource whose service has no such call, or a line whose address does
/// not parse, is corruption, not a call to guess at.
#[test]
fn a_call_foreign_to_its_resource_is_corruption() {
    for line in [
        r#"{"entry":"started","operation":1,"address":"rest_apis.api.stages.prod","call":"StartDeployment"}"#,
        r#"{"entry":"started","operation":1,"address":"nonsense","call":"UpdateStage"}"#,
    ] {
        let text = format!("{line}\n");
        assert!(
            matches!(parse(&text), Err(JournalError::Corrupt { line: 1, .. })),
            "{line}"
        );
    }
}

/// A snapshot's marker travels in its `started` line and is carried with the operation in
/// doubt, so that the next run can look for the snapshot before making another; a line
/// written before markers existed reads as having none.
#[test]
fn a_snapshot_marker_is_carried_with_its_operation() {
    let marker = SnapshotMarker::new("api1", "v2", "lin", "run7", 3);
    assert_eq!(marker.description, "v2 (stagecraft lin run7-3)");
    let text = [
        r#"{"entry":"header","lineage":"lin","serial":1,"project":"p"}"#.to_string(),
        serde_json::to_string(&JournalEntry::Started {
            operation: 1,
            address: stage("a"),
            call: Call::CreateDeployment,
            snapshot: Some(marker.clone()),
        })
        .unwrap(),
        r#"{"entry":"started","operation":2,"address":"rest_apis.b.stages.s","call":"CreateDeployment"}"#
            .to_string(),
        String::new(),
    ]
    .join("\n");
    let entries = parse(&text).unwrap();
    let mut state = State::new("p", "lin".to_string());
    state.serial = 1;
    let (state, replayed) = replay(Some(state), &entries).unwrap();
    let markers: Vec<_> = replayed
        .interrupted
        .iter()
        .map(|op| op.snapshot.clone())
        .collect();
    assert_eq!(markers, vec![Some(marker.clone()), None]);
    // Carried into the next journal, it is still there.
    let (_, again) = replay(None, &carried(&state, &replayed.interrupted)).unwrap();
    assert_eq!(again.interrupted[0].snapshot, Some(marker));
}

/// A canary's calls include CloudWatch's `DescribeAlarms` (its rollout's alarm checks); a stage
/// or a branch never makes one, so a journal saying so is refused as foreign.
#[test]
fn describe_alarms_reads_back_on_a_canary_only() {
    assert_eq!(
        Call::named(ResourceKind::Canary, "DescribeAlarms"),
        Some(Call::DescribeAlarms)
    );
    assert_eq!(Call::DescribeAlarms.service(), Service::CloudWatch);
    assert_eq!(Call::named(ResourceKind::Stage, "DescribeAlarms"), None);
    assert_eq!(Call::named(ResourceKind::Branch, "DescribeAlarms"), None);
    let text = concat!(
        r#"{"entry":"header","lineage":"lin","serial":3,"project":"p"}"#,
        "\n",
        r#"{"entry":"started","operation":1,"address":"rest_apis.api.stages.prod.canary","call":"DescribeAlarms"}"#,
        "\n",
    );
    let entries = parse(text).unwrap();
    assert!(matches!(
        entries[1],
        JournalEntry::Started {
            call: Call::DescribeAlarms,
            ..
        }
    ));
}
