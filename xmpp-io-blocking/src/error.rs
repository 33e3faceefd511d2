//! The blocking adapter's own error: the session is over. Every other
//! error type is shared with the Tokio adapter, from `xmpp_proto::adapter`
//! ([`ConnectError`](crate::ConnectError), [`TlsError`](crate::TlsError),
//! [`CommandError`](crate::CommandError)).

/// [`Reader::next_event`](crate::Reader::next_event) after the last event
/// ([`Event::Disconnected`](crate::Event::Disconnected)) was returned: the
/// session is over (as `std::sync::mpsc::RecvError` for a closed channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session has ended; no more events")]
pub struct SessionEnded;
