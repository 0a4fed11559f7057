//! Addresses: the grammar round-trips through `Display`, errors name the problem, and borrowed
//! addresses order as owned ones do.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn addresses_round_trip_through_display() {
    for text in [
        "rest_apis.a.stages.b",
        "rest_apis.a-1.stages.b_2.canary",
        "amplify_apps.web.branches.main",
        "amplify_apps.web.branches.\"feature/x.y\"",
    ] {
        let address = Address::parse(text).unwrap();
        assert_eq!(address.to_string(), text);
    }
    assert!(Address::parse("rest_apis.a.stage.b").is_err());
    assert!(Address::parse("rest_apis..stages.b").is_err());
}

#[test]
fn address_parse_errors_name_the_problem() {
    assert_eq!(
        Address::parse("rest_apis..stages.b")
            .unwrap_err()
            .to_string(),
        "empty segment in address `rest_apis..stages.b`"
    );
    assert_eq!(
        Address::parse("rest_apis.a.stages.b.canary.x.y")
            .unwrap_err()
            .to_string(),
        Address::parse("rest_apis.a.stages.b.x")
            .unwrap_err()
            .to_string()
            .replace(".x`", ".canary.x.y`")
    );
    assert_eq!(
        Address::parse("rest_apis.\"a.b\".stages.c").unwrap(),
        Address::Stage {
            api: "a.b".to_string(),
            stage: "c".to_string()
        }
    );
}

#[test]
fn borrowed_addresses_order_and_display_as_addresses_do() {
    let mut addresses: Vec<Address> = [
        "amplify_apps.web.branches.main",
        "rest_apis.b.stages.a.canary",
        "rest_apis.a.stages.z",
        "rest_apis.b.stages.a",
        "amplify_apps.api.branches.\"feature/x.y\"",
        "rest_apis.a.stages.z.canary",
    ]
    .into_iter()
    .map(|text| Address::parse(text).unwrap())
    .collect();
    let unsorted = addresses.clone();
    let mut borrowed: Vec<_> = unsorted.iter().map(Address::borrowed).collect();
    addresses.sort();
    borrowed.sort();
    for (address, borrowed) in addresses.iter().zip(&borrowed) {
        assert_eq!(address.borrowed(), *borrowed);
        assert_eq!(address.to_string(), borrowed.to_string());
        assert_eq!(borrowed.to_address(), *address);
    }
}
