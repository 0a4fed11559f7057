//! The provider's value types: when a cache counts as settled.

use super::CacheStatus;

/// An enabled or resized cache settles only at `AVAILABLE`; `NOT_AVAILABLE` and
/// `DELETE_IN_PROGRESS` settle only a disable (they used to settle an enable too).
#[test]
fn a_cache_settles_by_what_was_asked_of_it() {
    let statuses = [
        CacheStatus::CreateInProgress,
        CacheStatus::Available,
        CacheStatus::DeleteInProgress,
        CacheStatus::NotAvailable,
        CacheStatus::FlushInProgress,
        CacheStatus::Unknown("RESIZE_IN_PROGRESS".into()),
    ];
    let enabled: Vec<&str> = statuses
        .iter()
        .filter(|status| status.is_settled(true))
        .map(CacheStatus::as_str)
        .collect();
    assert_eq!(enabled, ["AVAILABLE"]);
    let disabled: Vec<&str> = statuses
        .iter()
        .filter(|status| status.is_settled(false))
        .map(CacheStatus::as_str)
        .collect();
    assert_eq!(disabled, ["DELETE_IN_PROGRESS", "NOT_AVAILABLE"]);
}
