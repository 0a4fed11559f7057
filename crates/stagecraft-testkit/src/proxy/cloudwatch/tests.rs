//! The CBOR reading behind `describe_alarms_fault`, on bodies shaped as the SDK sends them
//! (an indefinite-length map, definite arrays) and as other encoders might.
#![allow(clippy::unwrap_used)]

use super::{describe_alarms_fault, describe_alarms_input, text_map};

/// A CBOR text string (the key of a one-entry map whose value is empty).
fn text(out: &mut Vec<u8>, value: &str) {
    let entry = text_map(&[(value, "")]);
    out.extend(&entry[1..entry.len() - 1]);
}

/// `{ "AlarmNames": [names...], "AlarmTypes": ["MetricAlarm"], "MaxRecords": max }`, as an
/// indefinite-length map (`definite`: a map of 3); `max` `None` sends -1.
fn body(names: usize, max: Option<u64>, definite: bool) -> Vec<u8> {
    let mut out = vec![if definite { 0xa3 } else { 0xbf }];
    text(&mut out, "AlarmNames");
    match names {
        0..=23 => out.push(0x80 | names as u8),
        _ => out.extend([0x98, names as u8]),
    }
    for i in 0..names {
        text(&mut out, &format!("alarm-{i}"));
    }
    text(&mut out, "AlarmTypes");
    out.push(0x81);
    text(&mut out, "MetricAlarm");
    text(&mut out, "MaxRecords");
    match max {
        Some(max) if max < 24 => out.push(max as u8),
        Some(max) => out.extend([0x19, (max >> 8) as u8, max as u8]),
        None => out.push(0x20),
    }
    if !definite {
        out.push(0xff);
    }
    out
}

#[test]
fn names_and_max_records_are_read_from_either_map_form() {
    for definite in [false, true] {
        assert_eq!(
            describe_alarms_input(&body(3, Some(100), definite)),
            Some((3, Some(100)))
        );
        assert_eq!(
            describe_alarms_input(&body(101, Some(5), definite)),
            Some((101, Some(5)))
        );
        assert_eq!(
            describe_alarms_input(&body(1, Some(500), definite)),
            Some((1, Some(500)))
        );
        assert_eq!(
            describe_alarms_input(&body(1, None, definite)),
            Some((1, Some(0)))
        );
    }
    assert_eq!(describe_alarms_input(b"{}"), None);
    assert_eq!(describe_alarms_input(&[0xbf, 0x6a]), None, "cut short");
}

#[test]
fn what_aws_refuses_is_refused_and_the_rest_passes() {
    assert!(describe_alarms_fault(&body(100, Some(100), false)).is_none());
    assert!(describe_alarms_fault(&body(0, Some(1), false)).is_none());
    assert!(describe_alarms_fault(b"not cbor").is_none());
    for bad in [
        body(101, Some(100), false),
        body(3, Some(101), false),
        body(3, None, false),
    ] {
        let refused = describe_alarms_fault(&bad).unwrap();
        assert_eq!(refused.status(), 400);
        assert_eq!(
            refused.headers()["x-amzn-query-error"],
            "ValidationError;Sender"
        );
    }
}
