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

mod catch_up;
mod prefs;
mod query;
mod rsm;

use std::collections::BTreeMap;

use crate::client::{
    from_own_account, Event, Handled, IqFailure, Module, ModuleContext, Provenance, SendError,
};
use crate::disco::DataForm;
use crate::messages::{NS_DELAY, NS_FORWARD};
use crate::stanza::{BareJid, Iq, Jid, Message, MessageType, PresenceType, Stanza};
use crate::xml::Element;

pub use catch_up::CATCH_UP_PAGE;
use catch_up::{CatchUp, Run, Step};
pub use prefs::{DefaultPolicy, Prefs, PrefsError, MAX_PREFS_JIDS};
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
    /// The preferences in the answer are not valid.
    #[error(transparent)]
    Prefs(#[from] PrefsError),
    /// The answer to a fields request has no valid data form.
    #[error("the archive's answer has no valid <x xmlns='jabber:x:data'/> form")]
    NoForm,
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
    /// The answer to [`Mam::get_prefs`] or [`Mam::set_prefs`]: the
    /// preferences in force.
    Prefs {
        /// The request's id.
        id: String,
        /// The preferences, or why there are none.
        result: Result<Prefs, QueryError>,
    },
    /// The answer to [`Mam::query_fields`]: the archive's query form, whose
    /// fields are the filters it supports (§4.1.4).
    Fields {
        /// The request's id.
        id: String,
        /// The form, or why there is none.
        result: Result<DataForm, QueryError>,
    },
    /// The last archive id the application has seen moved forwards (a
    /// live message, or a catch-up page): what to store and hand back to
    /// [`Mam::catch_up`] at the next start. Emitted after the messages it
    /// covers.
    Cursor {
        /// The archive id.
        id: String,
    },
    /// An automatic catch-up ([`Mam::catch_up`]) ended.
    CaughtUp {
        /// Archived messages it passed on (duplicates of messages already
        /// delivered are then dropped by the messages module).
        results: usize,
        /// `Ok`, or why it stopped early (it starts again from the cursor
        /// at the next login that is not a resumption).
        result: Result<(), QueryError>,
    },
}

/// A request other than a query in flight.
#[derive(Clone, Debug)]
enum Request {
    /// Preferences asked for or set.
    Prefs,
    /// The query form.
    Fields,
}

/// A query in flight.
#[derive(Clone, Debug)]
struct Pending {
    id: String,
    /// The archive queried: none for our own.
    archive: Option<BareJid>,
    /// A catch-up's query, or the application's (`None`).
    run: Option<Run>,
}

/// The archive module (XEP-0313). See the [module documentation](self).
#[derive(Debug, Default)]
pub struct Mam {
    /// Queries in flight, by `queryid`.
    pending: BTreeMap<String, Pending>,
    /// Other requests in flight, by IQ id.
    requests: BTreeMap<String, Request>,
    /// Automatic catch-up, when on.
    catch_up: Option<CatchUp>,
}

impl Mam {
    /// No query in flight, no automatic catch-up.
    pub fn new() -> Self {
        Mam::default()
    }

    /// Turns on automatic catch-up: at each login that is not a stream
    /// resumption, every message of the account's archive after `cursor`
    /// (the last archive id the application saw, as the last
    /// [`MamEvent::Cursor`] said; `None` the first time) is fetched page by
    /// page and delivered as archived messages marked `catch_up`, then
    /// [`MamEvent::CaughtUp`]. The messages module drops those it delivered
    /// live already. Without a cursor, the archive's newest id is learnt
    /// instead (nothing to catch up with yet). Set before registration.
    pub fn catch_up(mut self, cursor: Option<String>) -> Self {
        self.catch_up = Some(CatchUp::new(cursor));
        self
    }

    /// The page size of a catch-up ([`CATCH_UP_PAGE`] by default; at least 1).
    pub fn catch_up_page(mut self, max: usize) -> Self {
        if let Some(c) = &mut self.catch_up {
            c.page = max.max(1);
        }
        self
    }

    /// The last archive id the application saw (with catch-up on).
    pub fn cursor(&self) -> Option<&str> {
        self.catch_up.as_ref().and_then(|c| c.cursor.as_deref())
    }

    /// True while a catch-up runs.
    pub fn catching_up(&self) -> bool {
        self.catch_up.as_ref().is_some_and(|c| c.running.is_some())
    }

    /// Asks for the archiving preferences (§6.1); the answer comes as
    /// [`MamEvent::Prefs`]. Returns the request's id.
    pub fn get_prefs(&mut self, cx: &mut ModuleContext<'_>) -> Result<String, SendError> {
        let id = cx.send_iq(Iq::get(None, "", Element::new(NS_MAM, "prefs")))?;
        self.requests.insert(id.clone(), Request::Prefs);
        Ok(id)
    }

    /// Sets the archiving preferences (§6.1); the server's answer, the
    /// preferences now in force, comes as [`MamEvent::Prefs`].
    pub fn set_prefs(
        &mut self,
        cx: &mut ModuleContext<'_>,
        prefs: &Prefs,
    ) -> Result<String, SendError> {
        let id = cx.send_iq(Iq::set(None, "", prefs.to_element()))?;
        self.requests.insert(id.clone(), Request::Prefs);
        Ok(id)
    }

    /// Asks an archive (ours, or a room's) which filter fields it supports
    /// (§4.1.4); the form comes as [`MamEvent::Fields`].
    pub fn query_fields(
        &mut self,
        cx: &mut ModuleContext<'_>,
        archive: Option<BareJid>,
    ) -> Result<String, SendError> {
        let to = archive.map(Jid::from);
        let id = cx.send_iq(Iq::get(to, "", Element::new(NS_MAM, "query")))?;
        self.requests.insert(id.clone(), Request::Fields);
        Ok(id)
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
        self.send_query(cx, query, None)
    }

    /// Sends a query and remembers it.
    fn send_query(
        &mut self,
        cx: &mut ModuleContext<'_>,
        query: Query,
        run: Option<Run>,
    ) -> Result<QueryStarted, MamError> {
        let query_id = cx.new_id();
        let to = query.archive.clone().map(Jid::from);
        let id = cx.send_iq(Iq::set(to, "", query.to_element(&query_id)))?;
        self.pending.insert(
            query_id.clone(),
            Pending {
                id: id.clone(),
                archive: query.archive,
                run,
            },
        );
        Ok(QueryStarted { id, query_id })
    }

    /// Starts a catch-up run, if on and none runs.
    fn start_catch_up(&mut self, cx: &mut ModuleContext<'_>) {
        let Some(c) = &mut self.catch_up else { return };
        if c.running.is_some() {
            return;
        }
        let query = c.start();
        let run = c.running;
        if self.send_query(cx, query, run).is_err() {
            // Only when the session cannot send: it is going offline.
            self.catch_up_failed(cx, QueryError::Iq(IqFailure::Disconnected));
        }
    }

    /// Starts the follow-up run after our initial presence (see the
    /// `catch_up` module).
    fn start_follow_up(&mut self, cx: &mut ModuleContext<'_>) {
        let Some(c) = &mut self.catch_up else { return };
        let before = c.cursor.clone();
        let query = c.start_follow_up();
        let run = c.running;
        cursor_moved(cx, before, &c.cursor);
        if self.send_query(cx, query, run).is_err() {
            self.catch_up_failed(cx, QueryError::Iq(IqFailure::Disconnected));
        }
    }

    /// A catch-up run stopped early.
    fn catch_up_failed(&mut self, cx: &mut ModuleContext<'_>, error: QueryError) {
        let Some(c) = &mut self.catch_up else { return };
        let before = c.cursor.clone();
        let results = c.delivered;
        c.failed();
        c.take_follow_up();
        cursor_moved(cx, before, &c.cursor);
        cx.emit(Event::Mam(MamEvent::CaughtUp {
            results,
            result: Err(error),
        }));
    }

    /// A catch-up page ended: the cursor moves, and the next page is asked
    /// for or the run ends.
    fn catch_up_page_done(&mut self, cx: &mut ModuleContext<'_>, fin: &Fin) {
        let Some(c) = &mut self.catch_up else { return };
        let before = c.cursor.clone();
        let step = c.page_done(fin);
        let results = c.delivered;
        let run = c.running;
        cursor_moved(cx, before, &c.cursor);
        match step {
            Step::Next(query) => {
                if self.send_query(cx, *query, run).is_err() {
                    self.catch_up_failed(cx, QueryError::Iq(IqFailure::Disconnected));
                }
            }
            Step::Finished => {
                cx.emit(Event::Mam(MamEvent::CaughtUp {
                    results,
                    result: Ok(()),
                }));
                if self.catch_up.as_mut().is_some_and(CatchUp::take_follow_up) {
                    self.start_follow_up(cx);
                }
            }
        }
    }

    /// An answer to a prefs or fields request.
    fn request_done(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: String,
        request: Request,
        result: Result<Iq, IqFailure>,
    ) {
        let payload = match result {
            Ok(iq) => iq.payload_element().cloned(),
            Err(e) => {
                let error = QueryError::from(e);
                return cx.emit(Event::Mam(match request {
                    Request::Prefs => MamEvent::Prefs {
                        id,
                        result: Err(error),
                    },
                    Request::Fields => MamEvent::Fields {
                        id,
                        result: Err(error),
                    },
                }));
            }
        };
        let event = match request {
            Request::Prefs => MamEvent::Prefs {
                id,
                result: match payload {
                    None => Err(QueryError::Prefs(PrefsError::Missing)),
                    Some(p) => Prefs::parse(&p).map_err(QueryError::from),
                },
            },
            Request::Fields => {
                let form = payload
                    .as_ref()
                    .filter(|q| q.is(NS_MAM, "query"))
                    .and_then(|q| q.child(crate::disco::form::NS_DATA_FORMS, "x"))
                    .and_then(|x| DataForm::parse(x).ok());
                MamEvent::Fields {
                    id,
                    result: form.ok_or(QueryError::NoForm),
                }
            }
        };
        cx.emit(Event::Mam(event));
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
        let run = pending.run;
        if run == Some(Run::Anchor) {
            // Only the newest id was asked for: nothing to deliver.
            if let Some(c) = &mut self.catch_up {
                c.anchored(archive_id);
            }
            return;
        }
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
            catch_up: run.is_some(),
        };
        if run.is_some() {
            if let Some(c) = &mut self.catch_up {
                c.delivered += 1;
            }
        }
        cx.dispatch(Stanza::Message(message), provenance);
    }
}

/// Reports the cursor when it moved from `before`.
fn cursor_moved(cx: &mut ModuleContext<'_>, before: Option<String>, now: &Option<String>) {
    if *now != before {
        if let Some(id) = now.clone() {
            cx.emit(Event::Mam(MamEvent::Cursor { id }));
        }
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

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        if !resumed {
            if let Some(c) = &mut self.catch_up {
                c.new_session();
            }
            self.start_catch_up(cx);
        }
    }

    fn observe_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) {
        // Our own initial presence, reflected by the server: messages reach
        // us live from now on; what it held back before is fetched.
        let (Some(c), Stanza::Presence(p)) = (&mut self.catch_up, stanza) else {
            return;
        };
        let own = match (&p.from, cx.own_jid()) {
            (Some(from), Some(own)) => from.as_str() == own.as_str(),
            _ => false,
        };
        if own && p.type_ == PresenceType::Available && c.presence_reflected() {
            self.start_follow_up(cx);
        }
    }

    fn observes_events(&self) -> bool {
        self.catch_up.is_some()
    }

    fn observe_event(&mut self, cx: &mut ModuleContext<'_>, event: &Event) {
        let (Some(c), Event::ChatMessage(m)) = (&mut self.catch_up, event) else {
            return;
        };
        // Our archive's ids only: live messages and carbons, not a room's.
        let live = matches!(m.provenance, Provenance::Live | Provenance::Carbon(_));
        if !live || m.message.type_ == MessageType::Groupchat {
            return;
        }
        if let Some(id) = m.stanza_id.as_deref().and_then(|id| c.live(id)) {
            cx.emit(Event::Mam(MamEvent::Cursor { id }));
        }
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        if let Some(request) = self.requests.remove(id) {
            return self.request_done(cx, id.to_string(), request, result);
        }
        let Some(query_id) = self
            .pending
            .iter()
            .find(|(_, p)| p.id == id)
            .map(|(q, _)| q.clone())
        else {
            return;
        };
        let run = self.pending.remove(&query_id).and_then(|p| p.run);
        let id = id.to_string();
        let fin = result.map(|iq| iq.payload_element().and_then(Fin::parse));
        if run.is_some() {
            return match fin {
                Ok(Some(fin)) => self.catch_up_page_done(cx, &fin),
                Ok(None) => self.catch_up_failed(cx, QueryError::NoFin),
                Err(e) => self.catch_up_failed(cx, e.into()),
            };
        }
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
