//! SCRAM client state machine: RFC 5802 §3 (algorithm), §5 (exchange), §7
//! (message grammar), §9 (security: nonce and iteration checks), RFC 7677
//! (SHA-256 variants), with the XEP-0474 `h=` check in the server-first step.
//!
//! Hash, HMAC and PBKDF2 come from the `sasl` crate's [`ScramProvider`]s;
//! the nonce comes from the caller. Pre-salted keys are matched here and
//! never passed to `ScramProvider::derive` (its pre-salted path is broken in
//! sasl 0.5.2).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sasl::common::scram::{ScramProvider, Sha1, Sha256};
use sasl::common::Password;

use super::channel_binding::Gs2Flag;
use super::downgrade;
use super::error::{SaslError, ScramServerError};
use super::mechanism::{Offer, SaslPolicy, ScramHash};
use super::scram_message::{attributes, ct_eq, escape_saslname, message_text, parse_server_first};

/// SCRAM keys derived from the password: `SaltedPassword = Hi(password, salt,
/// iterations)` (RFC 5802 §3). Storing these instead of the password lets the
/// app log in again without it, as long as the server keeps salt and count.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    /// The hash function the keys belong to.
    pub mechanism_hash: ScramHash,
    /// The server's salt (raw bytes, not base64).
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// `SaltedPassword`: as secret as the password for this server.
    pub salted_password: Vec<u8>,
}

impl ScramKeys {
    /// Runs PBKDF2 (`Hi`) over `password`: `iterations` HMAC rounds, so cap
    /// `iterations` first.
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, SaslError> {
        let password = Password::Plain(password.to_owned());
        let derived = match hash {
            ScramHash::Sha1 => Sha1::derive(&password, salt, iterations),
            ScramHash::Sha256 => Sha256::derive(&password, salt, iterations),
        };
        let salted_password = derived.map_err(|_| SaslError::Internal { what: "PBKDF2" })?;
        Ok(ScramKeys {
            mechanism_hash: hash,
            salt: salt.to_vec(),
            iterations,
            salted_password,
        })
    }
}

impl fmt::Debug for ScramKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramKeys")
            .field("mechanism_hash", &self.mechanism_hash)
            .field("salt", &STANDARD.encode(&self.salt))
            .field("iterations", &self.iterations)
            .field("salted_password", &"<redacted>")
            .finish()
    }
}

/// What the user authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The password (used as its UTF-8 bytes: no SASLprep, see the module doc).
    Password(String),
    /// Keys from an earlier SCRAM login (see [`SaslClient::success`](super::SaslClient::success)).
    /// Only SCRAM with the keys' hash can be used, and only while the
    /// server keeps the salt and iteration count.
    Salted(ScramKeys),
    /// Keys from an earlier login, and the password: the keys are used when
    /// they fit the server's SCRAM challenge (no PBKDF2 is run), the
    /// password when they do not (the server changed its salt, count or
    /// hash) and for PLAIN. What a client that stores the keys passes.
    PasswordAndKeys(String, ScramKeys),
}

impl Credentials {
    /// The password, if these credentials carry one.
    pub fn password(&self) -> Option<&str> {
        match self {
            Credentials::Password(p) | Credentials::PasswordAndKeys(p, _) => Some(p),
            Credentials::Salted(_) => None,
        }
    }

    /// The stored keys, if any.
    pub fn keys(&self) -> Option<&ScramKeys> {
        match self {
            Credentials::Salted(k) | Credentials::PasswordAndKeys(_, k) => Some(k),
            Credentials::Password(_) => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password(_) => f.write_str("Password(<redacted>)"),
            Credentials::Salted(keys) => f.debug_tuple("Salted").field(keys).finish(),
            Credentials::PasswordAndKeys(_, keys) => f
                .debug_tuple("PasswordAndKeys")
                .field(&"<redacted>")
                .field(keys)
                .finish(),
        }
    }
}

impl ScramHash {
    pub(crate) fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::hash(data),
            ScramHash::Sha256 => Sha256::hash(data),
        }
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SaslError> {
        let mac = match self {
            ScramHash::Sha1 => Sha1::hmac(data, key),
            ScramHash::Sha256 => Sha256::hmac(data, key),
        };
        mac.map_err(|_| SaslError::Internal { what: "HMAC" })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ready,
    FirstSent,
    FinalSent,
    Verified,
    Done,
    Failed,
}

/// One SCRAM attempt (client side).
pub(crate) struct ScramClient {
    hash: ScramHash,
    gs2: Gs2Flag,
    cb_data: Vec<u8>,
    client_nonce: String,
    client_first_bare: String,
    credentials: Credentials,
    min_iterations: u32,
    max_iterations: u32,
    ssdp_expected: Vec<u8>,
    ssdp_verified: bool,
    phase: Phase,
    /// Set once the server-first-message was accepted.
    server_signature: Vec<u8>,
    keys: Option<ScramKeys>,
}

impl ScramClient {
    /// Prepares the client-first-message; `nonce` must be printable ASCII
    /// without `,` (callers pass base64 of fresh entropy).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        hash: ScramHash,
        gs2: Gs2Flag,
        cb_data: &[u8],
        authcid: &str,
        credentials: &Credentials,
        nonce: String,
        policy: &SaslPolicy,
        offer: &Offer,
    ) -> Result<Self, SaslError> {
        let username = escape_saslname(authcid)?;
        match credentials {
            Credentials::Password(p) | Credentials::PasswordAndKeys(p, _) if p.is_empty() => {
                return Err(SaslError::InvalidPassword {
                    reason: "it is empty",
                })
            }
            Credentials::Password(_) | Credentials::PasswordAndKeys(..) => {}
            Credentials::Salted(keys) if keys.mechanism_hash != hash => {
                return Err(SaslError::SaltedKeysMismatch {
                    reason: "they were derived for the other SCRAM hash function",
                })
            }
            Credentials::Salted(keys) if keys.salted_password.len() != hash.output_len() => {
                return Err(SaslError::SaltedKeysMismatch {
                    reason: "the salted password has the wrong length for its hash",
                })
            }
            Credentials::Salted(_) => {}
        }
        if nonce.is_empty() || !nonce.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(SaslError::Internal {
                what: "nonce encoding",
            });
        }
        Ok(ScramClient {
            hash,
            gs2,
            cb_data: cb_data.to_vec(),
            client_first_bare: format!("n={username},r={nonce}"),
            client_nonce: nonce,
            credentials: credentials.clone(),
            min_iterations: policy.min_iterations,
            max_iterations: policy.max_iterations,
            ssdp_expected: downgrade::ssdp_hash(hash, offer),
            ssdp_verified: false,
            phase: Phase::Ready,
            server_signature: Vec::new(),
            keys: None,
        })
    }

    /// Whether the server sent a XEP-0474 `h=` and it matched.
    pub(crate) fn ssdp_verified(&self) -> bool {
        self.ssdp_verified
    }

    /// `gs2-header client-first-message-bare`; idempotent.
    pub(crate) fn initial_response(&mut self) -> Vec<u8> {
        if self.phase == Phase::Ready {
            self.phase = Phase::FirstSent;
        }
        let mut out = self.gs2.header().into_bytes();
        out.extend_from_slice(self.client_first_bare.as_bytes());
        out
    }

    /// Handles the server-first-message (returns the client-final-message),
    /// or a server-final-message sent as a challenge (returns an empty
    /// response). Any error ends the attempt.
    pub(crate) fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, SaslError> {
        let phase = std::mem::replace(&mut self.phase, Phase::Failed);
        let (reply, next) = match phase {
            Phase::FirstSent => (self.server_first(data)?, Phase::FinalSent),
            Phase::FinalSent => {
                self.server_final(data)?;
                (Vec::new(), Phase::Verified)
            }
            Phase::Ready => return Err(unexpected("challenge", "no initial response was sent")),
            Phase::Verified => {
                return Err(unexpected(
                    "challenge",
                    "the server signature was already verified",
                ))
            }
            Phase::Done | Phase::Failed => {
                return Err(unexpected("challenge", "the exchange was already over"))
            }
        };
        self.phase = next;
        Ok(reply)
    }

    /// Handles `<success/>` data; returns the keys once `v=` was verified.
    pub(crate) fn success(&mut self, data: &[u8]) -> Result<ScramKeys, SaslError> {
        let phase = std::mem::replace(&mut self.phase, Phase::Failed);
        match phase {
            Phase::FinalSent if data.is_empty() => return Err(SaslError::MissingServerSignature),
            Phase::FinalSent => self.server_final(data)?,
            Phase::Verified if data.is_empty() => {}
            Phase::Verified => self.server_final(data)?,
            Phase::Ready | Phase::FirstSent => {
                return Err(unexpected(
                    "success",
                    "the SCRAM exchange had not reached its final step (the server skipped it)",
                ))
            }
            Phase::Done | Phase::Failed => {
                return Err(unexpected("success", "the exchange was already over"))
            }
        }
        let keys = self
            .keys
            .take()
            .ok_or(SaslError::Internal { what: "key state" })?;
        self.phase = Phase::Done;
        Ok(keys)
    }

    fn server_first(&mut self, data: &[u8]) -> Result<Vec<u8>, SaslError> {
        let text = message_text(data)?;
        let first = parse_server_first(text)?;
        if first.nonce.len() <= self.client_nonce.len()
            || !first.nonce.starts_with(self.client_nonce.as_str())
        {
            return Err(SaslError::NonceMismatch);
        }
        if first.iterations < u64::from(self.min_iterations) {
            return Err(SaslError::IterationsTooLow {
                got: first.iterations,
                min: self.min_iterations,
            });
        }
        let iterations = match u32::try_from(first.iterations) {
            Ok(i) if i <= self.max_iterations => i,
            _ => {
                return Err(SaslError::IterationsTooHigh {
                    got: first.iterations,
                    max: self.max_iterations,
                })
            }
        };
        let salt = STANDARD
            .decode(first.salt)
            .map_err(|_| SaslError::InvalidSalt {
                reason: "not valid base64",
            })?;
        if salt.is_empty() {
            return Err(SaslError::InvalidSalt { reason: "empty" });
        }
        if let Some(h) = first.ssdp {
            downgrade::verify(&self.ssdp_expected, h)?;
            self.ssdp_verified = true;
        }

        let keys = match &self.credentials {
            Credentials::PasswordAndKeys(_, keys)
                if keys.mechanism_hash == self.hash
                    && keys.salt == salt
                    && keys.iterations == iterations =>
            {
                keys.clone()
            }
            Credentials::Password(password) | Credentials::PasswordAndKeys(password, _) => {
                ScramKeys::derive(self.hash, password, &salt, iterations)?
            }
            Credentials::Salted(keys) if keys.salt != salt => {
                return Err(SaslError::SaltedKeysMismatch {
                    reason: "the server now uses a different salt",
                })
            }
            Credentials::Salted(keys) if keys.iterations != iterations => {
                return Err(SaslError::SaltedKeysMismatch {
                    reason: "the server now uses a different iteration count",
                })
            }
            Credentials::Salted(keys) => keys.clone(),
        };

        let h = self.hash;
        let without_proof = format!(
            "c={},r={}",
            STANDARD.encode(self.gs2.cbind_input(&self.cb_data)),
            first.nonce
        );
        let auth_message = [
            self.client_first_bare.as_str(),
            text,
            without_proof.as_str(),
        ]
        .join(",");
        let client_key = h.hmac(&keys.salted_password, b"Client Key")?;
        let stored_key = h.digest(&client_key);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes())?;
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = h.hmac(&keys.salted_password, b"Server Key")?;
        self.server_signature = h.hmac(&server_key, auth_message.as_bytes())?;
        self.keys = Some(keys);
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes())
    }

    /// Checks a server-final-message: `v=` must match, `e=` is an error.
    fn server_final(&self, data: &[u8]) -> Result<(), SaslError> {
        let text = message_text(data)?;
        let (key, value) = attributes(text)
            .next()
            .ok_or(SaslError::MalformedServerMessage {
                reason: "it is empty",
            })??;
        match key {
            b'e' => Err(SaslError::ServerError(ScramServerError::from_value(value))),
            b'v' => {
                let got =
                    STANDARD
                        .decode(value)
                        .map_err(|_| SaslError::MalformedServerMessage {
                            reason: "the v= signature is not valid base64",
                        })?;
                if ct_eq(&got, &self.server_signature) {
                    Ok(())
                } else {
                    Err(SaslError::ServerSignatureMismatch)
                }
            }
            _ => Err(SaslError::MalformedServerMessage {
                reason: "the server-final-message starts with neither v= nor e=",
            }),
        }
    }
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .field("gs2", &self.gs2)
            .field("phase", &self.phase)
            .field("ssdp_verified", &self.ssdp_verified)
            .finish_non_exhaustive()
    }
}

fn unexpected(got: &'static str, state: &'static str) -> SaslError {
    SaslError::UnexpectedMessage { got, state }
}
