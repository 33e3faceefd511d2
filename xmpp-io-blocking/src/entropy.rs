//! Entropy from the operating system (`getrandom`), handed to the core and
//! to the shared connection logic, which never draw their own.

use crate::ConnectError;

/// 32 fresh bytes for [`xmpp_proto::Config::seed`]: every stanza id and
/// SCRAM nonce of one connection derives from them. There is no fallback:
/// without OS entropy the nonces would be predictable, so the connection
/// fails instead.
pub(crate) fn seed() -> Result<[u8; 32], ConnectError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| {
        ConnectError::Io(std::io::Error::other(format!(
            "the OS random source failed: {e}"
        )))
    })?;
    Ok(seed)
}

/// Random bits for choices that need no secrecy (SRV weights, backoff
/// jitter); the middle of the range if the OS source fails.
pub(crate) fn u64() -> u64 {
    getrandom::u64().unwrap_or(u64::MAX / 2)
}
