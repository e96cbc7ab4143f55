//! Random bytes for secrets (API tokens, webhook signing keys): the one
//! place the daemon asks the OS's random source for them.

/// `N` bytes from the OS's random source (getrandom(2)).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // getrandom(2) fails only before the kernel's pool is seeded at boot
    // (it then blocks) or on a kernel older than 3.17 (the crate falls back
    // to /dev/urandom): a daemon that cannot get randomness must not make
    // secrets.
    getrandom::fill(&mut bytes).expect("the OS's random source is unavailable");
    bytes
}
