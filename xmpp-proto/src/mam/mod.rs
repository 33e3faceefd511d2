//! XEP-0313 message archive management (`urn:xmpp:mam:2`): querying the
//! account's archive (§3.1) or a room's (§3.2) with filters (§4.1) and
//! XEP-0059 paging (§4.2), the results (§4.3) delivered as archived
//! messages, and the `<fin/>` that ends each query.
//!
//! [`Mam::query`] sends the query with a fresh `queryid`. Each result is a
//! `<message/>` wrapping a XEP-0297 `<forwarded/>` message with its
//! `<delay/>`; the module unwraps it and routes the message again marked
//! [`Provenance::Archive`] (the archive's id and the query's), so every
//! module sees it as a message, and the
//! [`Messages`](crate::messages::Messages) module delivers it as
//! [`Event::ChatMessage`] with the archive id as its stanza-id and the
//! forwarded `<delay/>` as its delay (the module puts that delay in the
//! message it routes, in place of any the message carried). The query's
//! answer becomes [`MamEvent::Done`] with `complete` and the page cursor,
//! an error or no answer [`MamEvent::Failed`].
//!
//! Security (§7.1, spoofed results): a result is accepted only when its
//! `queryid` is one of a query of ours in flight and it comes from the
//! archive that query went to: without `from` or from the account's bare
//! JID for our own archive, from the room's bare JID for a room's. Anything
//! else (a contact, another resource of ours, another room, an occupant,
//! a result nested in a forwarded stanza) is refused with a warning and
//! never becomes a message. At most [`MAX_QUERIES_IN_FLIGHT`] queries run
//! at once. This module is offered messages before the messages module
//! ([`MAM_ROUTING_PRIORITY`]), whatever the registration order.

mod query;
mod rsm;

use std::collections::BTreeMap;

use crate::client::{
    from_own_account, Event, Handled, IqFailure, Module, ModuleContext, Provenance, SendError,
};
use crate::messages::{NS_DELAY, NS_FORWARD};
use crate::stanza::{BareJid, Iq, Jid, Message, Stanza};
use crate::xml::Element;

pub use query::{Fin, Query};
pub use rsm::{Page, PageInfo, NS_RSM};

/// The XEP-0313 namespace.
pub const NS_MAM: &str = "urn:xmpp:mam:2";

/// The most queries in flight at once ([`MamError::TooManyQueries`] past it).
pub const MAX_QUERIES_IN_FLIGHT: usize = 16;

/// This module's [`Module::routing_priority`]: above the default 0 of the
/// [`Messages`](crate::messages::Messages) module, which turns every
/// message it is offered into a chat message.
pub const MAM_ROUTING_PRIORITY: i32 = 20;

/// A query sent: the IQ's id (in [`MamEvent::Done`] and
/// [`MamEvent::Failed`]) and the `queryid` its results carry
/// ([`Provenance::Archive`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryStarted {
    /// The IQ's id.
    pub id: String,
    /// The query's `queryid`.
    pub query_id: String,
}

/// Why a query could not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MamError {
    /// The session cannot send now.
    #[error(transparent)]
    Send(#[from] SendError),
    /// [`MAX_QUERIES_IN_FLIGHT`] queries are running: wait for one to end.
    #[error("{MAX_QUERIES_IN_FLIGHT} archive queries are in flight already")]
    TooManyQueries,
}

/// Why a query failed ([`MamEvent::Failed`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The archive answered with an error, or none came.
    #[error(transparent)]
    Iq(#[from] IqFailure),
    /// The answer has no `<fin xmlns='urn:xmpp:mam:2'/>`.
    #[error("the archive's answer has no <fin xmlns='urn:xmpp:mam:2'/>")]
    NoFin,
}

/// News from the archive module ([`Event::Mam`]). The results themselves
/// come before as [`Event::ChatMessage`]s marked archived.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MamEvent {
    /// A query ended: every result of the page came before.
    Done {
        /// The IQ's id ([`QueryStarted::id`]).
        id: String,
        /// The query's `queryid`.
        query_id: String,
        /// True when the archive has nothing more in this direction.
        complete: bool,
        /// The archive id of the page's first result.
        first: Option<String>,
        /// The archive id of the page's last result (`after` for the next page).
        last: Option<String>,
        /// How many results the whole query has, if the archive said.
        count: Option<usize>,
    },
    /// A query failed.
    Failed {
        /// The IQ's id.
        id: String,
        /// The query's `queryid`.
        query_id: String,
        /// Why.
        error: QueryError,
    },
}

/// A query in flight.
#[derive(Clone, Debug)]
struct Pending {
    id: String,
    /// The archive queried: none for our own.
    archive: Option<BareJid>,
}

/// The archive module (XEP-0313). See the [module documentation](self).
#[derive(Debug, Default)]
pub struct Mam {
    /// Queries in flight, by `queryid`.
    pending: BTreeMap<String, Pending>,
}

impl Mam {
    /// No query in flight.
    pub fn new() -> Self {
        Mam::default()
    }

    /// How many queries are in flight.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Sends `query` (to the room's archive, or without `to` to our own).
    /// Its results come as archived [`Event::ChatMessage`]s, then
    /// [`MamEvent::Done`] (or [`MamEvent::Failed`]).
    pub fn query(
        &mut self,
        cx: &mut ModuleContext<'_>,
        query: Query,
    ) -> Result<QueryStarted, MamError> {
        if self.pending.len() >= MAX_QUERIES_IN_FLIGHT {
            return Err(MamError::TooManyQueries);
        }
        let query_id = cx.new_id();
        let to = query.archive.clone().map(Jid::from);
        let id = cx.send_iq(Iq::set(to, "", query.to_element(&query_id)))?;
        self.pending.insert(
            query_id.clone(),
            Pending {
                id: id.clone(),
                archive: query.archive,
            },
        );
        Ok(QueryStarted { id, query_id })
    }

    /// Checks and unwraps one result; refusals are warnings.
    fn on_result(&mut self, cx: &mut ModuleContext<'_>, m: &Message, result: &Element) {
        let sender = m.from.as_ref().map_or("(no from)", Jid::as_str);
        if cx.is_redispatched() {
            return cx.warn(format!(
                "refused an archive result nested in a forwarded message from {sender}"
            ));
        }
        let query_id = result.attr("queryid").unwrap_or("");
        let Some(pending) = self.pending.get(query_id) else {
            return cx.warn(format!(
                "refused an archive result from {sender} for query {query_id:?}, \
                 which is not a query of ours in flight"
            ));
        };
        let from_archive = match &pending.archive {
            None => from_own_account(m.from.as_ref(), cx.account()),
            Some(room) => m
                .from
                .as_ref()
                .is_some_and(|f| f.resource().is_none() && f.to_bare() == *room),
        };
        if !from_archive {
            let archive = pending
                .archive
                .as_ref()
                .map_or("the account's archive", |r| r.as_str());
            return cx.warn(format!(
                "refused an archive result for query {query_id:?} from {sender}: \
                 the query went to {archive} (XEP-0313 §7.1)"
            ));
        }
        let Some(archive_id) = result.attr("id").filter(|id| !id.is_empty()) else {
            return cx.warn("refused an archive result without an id");
        };
        let Some(forwarded) = result.child(NS_FORWARD, "forwarded") else {
            return cx.warn("refused an archive result without a forwarded message");
        };
        let Some(inner) = forwarded.children().find(|c| c.local_name() == "message") else {
            return cx.warn("refused an archive result without a forwarded message");
        };
        let mut message = match Message::parse_lenient(inner.clone()) {
            Ok((message, dropped)) => {
                for e in dropped {
                    cx.warn(format!(
                        "archive result: kept the first text and dropped the other: {e}"
                    ));
                }
                message
            }
            Err(e) => {
                return cx.warn(format!(
                    "refused an archive result whose message is invalid: {e}"
                ))
            }
        };
        // The archive's delay says when it was archived: it replaces any
        // the message claims for itself.
        if let Some(delay) = forwarded.child(NS_DELAY, "delay") {
            message.payloads.retain(|p| !p.is(NS_DELAY, "delay"));
            message.payloads.push(delay.clone());
        }
        let provenance = Provenance::Archive {
            archive_id: archive_id.to_string(),
            query_id: Some(query_id.to_string()),
        };
        cx.dispatch(Stanza::Message(message), provenance);
    }
}

impl Module for Mam {
    fn name(&self) -> &'static str {
        "mam"
    }

    fn routing_priority(&self) -> i32 {
        MAM_ROUTING_PRIORITY
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Message(m) = stanza else {
            return Handled::No;
        };
        let Some(result) = m.payloads.iter().find(|p| p.is(NS_MAM, "result")) else {
            return Handled::No;
        };
        self.on_result(cx, m, result);
        Handled::Yes
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let Some(query_id) = self
            .pending
            .iter()
            .find(|(_, p)| p.id == id)
            .map(|(q, _)| q.clone())
        else {
            return;
        };
        self.pending.remove(&query_id);
        let id = id.to_string();
        let fin = result.map(|iq| iq.payload_element().and_then(Fin::parse));
        let event = match fin {
            Ok(Some(fin)) => MamEvent::Done {
                id,
                query_id,
                complete: fin.complete,
                first: fin.page.first,
                last: fin.page.last,
                count: fin.page.count,
            },
            Ok(None) => MamEvent::Failed {
                id,
                query_id,
                error: QueryError::NoFin,
            },
            Err(e) => MamEvent::Failed {
                id,
                query_id,
                error: e.into(),
            },
        };
        cx.emit(Event::Mam(event));
    }
}
