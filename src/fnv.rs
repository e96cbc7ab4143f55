//! FNV-1a, the one stable hash: its output is fixed by its definition
//! (std's DefaultHasher may change between Rust releases), for what must
//! hash the same across restarts and upgrades: page tokens' filter
//! fingerprints, a schedule's jitter.

/// The 64-bit FNV-1a hash of `bytes`.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
