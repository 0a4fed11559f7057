//! The state file's `resources` map: read as the entries written (duplicates kept, so they can
//! be refused), checked into a map keyed by [`Address`], and written back in the order of the
//! addresses' text.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serializer};
use stagecraft_config::Address;

use super::{ResourceState, StateError};

/// The entries of `resources` in the order written, keys as written.
#[derive(Debug, Default)]
pub(super) struct Entries(Vec<(String, ResourceState)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from resource addresses to records")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(key) = map.next_key::<String>()? {
                    // Name the resource whose record does not parse; serde alone gives only
                    // a line and column.
                    let record = map.next_value::<ResourceState>().map_err(|error| {
                        serde::de::Error::custom(format_args!("resource `{key}`: {error}"))
                    })?;
                    entries.push((key, record));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

impl Entries {
    /// The map by address; the first key that is no address, that holds a record of another
    /// kind, or that names a resource already recorded, is the error.
    pub(super) fn into_map(self) -> Result<BTreeMap<Address, ResourceState>, StateError> {
        // Each record keeps its key as written until all are checked, to name the first
        // spelling when a resource turns up twice.
        let mut map: BTreeMap<Address, (String, ResourceState)> = BTreeMap::new();
        for (key, record) in self.0 {
            let address = match Address::parse(&key) {
                Ok(address) => address,
                Err(reason) => {
                    return Err(StateError::BadAddress {
                        key,
                        reason: reason.to_string(),
                    });
                }
            };
            if address.kind() != record.kind() {
                return Err(StateError::KindMismatch {
                    key,
                    found: record.kind().as_str(),
                    expected: address.kind().as_str(),
                });
            }
            match map.entry(address) {
                Entry::Vacant(slot) => {
                    slot.insert((key, record));
                }
                Entry::Occupied(slot) => {
                    return Err(StateError::Duplicate {
                        key,
                        first: slot.get().0.clone(),
                    });
                }
            }
        }
        Ok(map
            .into_iter()
            .map(|(address, (_, record))| (address, record))
            .collect())
    }
}

/// Writes the map with the addresses' text as keys, sorted by that text as the file always was.
pub(super) fn serialize<S: Serializer>(
    resources: &BTreeMap<Address, ResourceState>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(String, &ResourceState)> = resources
        .iter()
        .map(|(address, record)| (address.to_string(), record))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (key, record) in entries {
        map.serialize_entry(&key, record)?;
    }
    map.end()
}
