//! Digests of sensitive values: what the state and plans keep instead of a secret. Argon2id
//! (memory-hard, so confirming a guessed secret from a leaked state costs real work) over the
//! value, salted with a random part kept in the digest and with the place the value sits (the
//! resource's address and the key path), so the same secret in two places digests differently.
//! The digest names its parameters (`argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>`), so they can
//! change later without making recorded digests unreadable.

use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use stagecraft_config::Address;

/// Memory per digest, in KiB. With [`TIME_COST`], a few milliseconds per digest on one core:
/// a plan with 100 secrets stays under a second, and every guess costs an attacker as much
/// time and 4 MiB of memory.
pub const MEMORY_KIB: u32 = 4 * 1024;
/// Passes over the memory.
pub const TIME_COST: u32 = 1;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// Length of the random part of the salt, in bytes.
pub const SALT_LEN: usize = 16;
/// Length of the hash, in bytes.
const HASH_LEN: usize = 32;
/// What a digest starts with.
const SCHEME: &str = "argon2id";

/// Where a sensitive value sits: the resource and the key path within it
/// (`variables.db_password`, `environment.TOKEN`, `basic_auth.password`).
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The resource holding the value.
    pub address: &'a Address,
    /// The key path of the value within the resource.
    pub key: &'a str,
}

impl<'a> Site<'a> {
    /// The value at `key` of the resource at `address`.
    pub fn new(address: &'a Address, key: &'a str) -> Site<'a> {
        Site { address, key }
    }
}

/// A source of the random parts of salts: a seed supplied from outside (the engine itself
/// reads no randomness), from which each site's salt is derived. Two sites never share a
/// salt, and two seeds give unrelated salts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaltSeed(pub [u8; SALT_LEN]);

impl SaltSeed {
    /// The random part of the salt for a new digest at `site`.
    pub fn salt_for(&self, site: Site<'_>) -> [u8; SALT_LEN] {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(site_bytes(site));
        let mut salt = [0; SALT_LEN];
        salt.copy_from_slice(&hasher.finalize()[..SALT_LEN]);
        salt
    }
}

/// The address and the key path as salt bytes: `<address>\0<key>`.
fn site_bytes(site: Site<'_>) -> Vec<u8> {
    let mut bytes = site.address.to_string().into_bytes();
    bytes.push(0);
    bytes.extend_from_slice(site.key.as_bytes());
    bytes
}

/// The digest of `value` at `site`, with a fresh salt from `seed`.
pub fn sensitive_digest(seed: &SaltSeed, site: Site<'_>, value: &str) -> String {
    let params = DigestParams {
        memory_kib: MEMORY_KIB,
        time_cost: TIME_COST,
        parallelism: PARALLELISM,
    };
    // The parameters are this build's constants, which Argon2 accepts; were they refused, the
    // empty digest matches no value, so the value is planned as changed rather than lost.
    digest_with(&params, &seed.salt_for(site), site, value).unwrap_or_default()
}

/// The digest of `value` at `site` with the given parameters and random part of the salt.
fn digest_with(params: &DigestParams, salt: &[u8], site: Site<'_>, value: &str) -> Option<String> {
    let hash = hash(params, salt, site, value)?;
    Some(format!(
        "{SCHEME}$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.time_cost,
        params.parallelism,
        hex::encode(salt),
        hex::encode(hash)
    ))
}

/// Whether `digest` is the digest of `value` at `site`. A digest in another format (the
/// `sha256:` digests of earlier releases included), with parameters out of bounds, or made for
/// another site, does not match.
pub fn digest_matches(digest: &str, site: Site<'_>, value: &str) -> bool {
    let Some((params, salt, expected)) = parse(digest) else {
        return false;
    };
    hash(&params, &salt, site, value).is_some_and(|hash| hash.as_slice() == expected.as_slice())
}

/// The digest recorded at `site` if it is the digest of `value`, else a new one: an unchanged
/// secret keeps its recorded digest (and so compares equal), a new or changed one gets a fresh
/// salt.
pub fn digest_reusing(
    recorded: Option<&str>,
    seed: &SaltSeed,
    site: Site<'_>,
    value: &str,
) -> String {
    match recorded {
        Some(recorded) if digest_matches(recorded, site, value) => recorded.to_string(),
        _ => sensitive_digest(seed, site, value),
    }
}

/// Argon2's cost parameters, as a digest names them.
pub(crate) struct DigestParams {
    /// `m`: memory in KiB.
    pub(crate) memory_kib: u32,
    /// `t`: passes.
    pub(crate) time_cost: u32,
    /// `p`: lanes.
    pub(crate) parallelism: u32,
}

/// A digest with other parameters than this build's, as an earlier or later build may have
/// recorded (for tests of reading them).
#[cfg(test)]
pub(crate) fn digest_with_params(
    params: &DigestParams,
    salt: &[u8; SALT_LEN],
    site: Site<'_>,
    value: &str,
) -> Option<String> {
    digest_with(params, salt, site, value)
}

/// Upper bounds on the parameters a recorded digest may ask for: a state file edited to ask
/// for gigabytes per digest is refused as "not matching" instead of exhausting memory.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const MAX_TIME_COST: u32 = 16;
const MAX_PARALLELISM: u32 = 4;

fn parse(digest: &str) -> Option<(DigestParams, Vec<u8>, Vec<u8>)> {
    let mut parts = digest.split('$');
    if parts.next()? != SCHEME || parts.next()? != "v=19" {
        return None;
    }
    let mut params = DigestParams {
        memory_kib: 0,
        time_cost: 0,
        parallelism: 0,
    };
    for setting in parts.next()?.split(',') {
        let (name, number) = setting.split_once('=')?;
        let number: u32 = number.parse().ok()?;
        match name {
            "m" => params.memory_kib = number,
            "t" => params.time_cost = number,
            "p" => params.parallelism = number,
            _ => return None,
        }
    }
    if params.memory_kib > MAX_MEMORY_KIB
        || params.time_cost > MAX_TIME_COST
        || params.parallelism > MAX_PARALLELISM
    {
        return None;
    }
    let salt = hex::decode(parts.next()?).ok()?;
    let hash = hex::decode(parts.next()?).ok()?;
    if parts.next().is_some() || salt.len() != SALT_LEN || hash.len() != HASH_LEN {
        return None;
    }
    Some((params, salt, hash))
}

fn hash(params: &DigestParams, salt: &[u8], site: Site<'_>, value: &str) -> Option<[u8; HASH_LEN]> {
    let params = Params::new(
        params.memory_kib,
        params.time_cost,
        params.parallelism,
        Some(HASH_LEN),
    )
    .ok()?;
    let mut full_salt = salt.to_vec();
    full_salt.extend_from_slice(&site_bytes(site));
    let mut out = [0; HASH_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(value.as_bytes(), &full_salt, &mut out)
        .ok()?;
    Some(out)
}
