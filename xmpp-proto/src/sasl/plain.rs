//! SASL PLAIN (RFC 4616 §2), as profiled by RFC 6120 §6 and §13.8.3: the
//! message is `[authzid] NUL authcid NUL passwd`, sent as the initial
//! response, and only over TLS unless the policy explicitly allows otherwise.
//! XEP-0474 §6 notes PLAIN gets no downgrade protection: pin SCRAM once used.

use std::fmt;

use super::error::SaslError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    Sent,
    Done,
    Failed,
}

/// One PLAIN attempt.
pub(crate) struct PlainClient {
    message: Vec<u8>,
    state: State,
}

impl PlainClient {
    /// Builds `\0authcid\0password` (empty authzid: the server derives it).
    pub(crate) fn new(
        authcid: &str,
        password: &str,
        tls: bool,
        allow_plain_without_tls: bool,
    ) -> Result<Self, SaslError> {
        if !tls && !allow_plain_without_tls {
            return Err(SaslError::PlainWithoutTls);
        }
        if authcid.is_empty() {
            return Err(SaslError::InvalidUsername {
                reason: "it is empty",
            });
        }
        if authcid.contains('\0') {
            return Err(SaslError::InvalidUsername {
                reason: "it contains a NUL character",
            });
        }
        if password.is_empty() {
            return Err(SaslError::InvalidPassword {
                reason: "it is empty",
            });
        }
        if password.contains('\0') {
            return Err(SaslError::InvalidPassword {
                reason: "it contains a NUL character, which PLAIN cannot carry",
            });
        }
        let mut message = Vec::with_capacity(authcid.len() + password.len() + 2);
        message.push(0);
        message.extend_from_slice(authcid.as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        Ok(PlainClient {
            message,
            state: State::Ready,
        })
    }

    /// The whole PLAIN message; repeated calls return the same bytes.
    pub(crate) fn initial_response(&mut self) -> Vec<u8> {
        if self.state == State::Ready {
            self.state = State::Sent;
        }
        self.message.clone()
    }

    /// PLAIN has no challenges: any challenge is a protocol error.
    pub(crate) fn challenge(&mut self, _data: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.state = State::Failed;
        Err(SaslError::UnexpectedMessage {
            got: "challenge",
            state: "PLAIN has no challenges",
        })
    }

    /// Accepts `<success/>` once the message was sent (any data is ignored:
    /// PLAIN defines none).
    pub(crate) fn success(&mut self, _data: &[u8]) -> Result<(), SaslError> {
        match self.state {
            State::Sent => {
                self.state = State::Done;
                Ok(())
            }
            State::Ready => {
                self.state = State::Failed;
                Err(SaslError::UnexpectedMessage {
                    got: "success",
                    state: "the PLAIN message had not been sent yet",
                })
            }
            State::Done | State::Failed => Err(SaslError::UnexpectedMessage {
                got: "success",
                state: "the exchange was already over",
            }),
        }
    }
}

impl fmt::Debug for PlainClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainClient")
            .field("message", &"<redacted>")
            .field("state", &self.state)
            .finish()
    }
}
