//! Roster pushes (RFC 6121 §2.1.6): a small `xmpp_proto::Module` that
//! answers the server's `<iq type='set'><query xmlns='jabber:iq:roster'/>`
//! and reports each pushed item as a `roster-push` event through a callback
//! (each CLI's I/O loop decides how to print it).
//!
//! A push that does not come from the account itself (no `from`, or the
//! account's bare JID) is refused with `forbidden`, and the CLI prints a
//! `warning`.

use std::sync::Arc;

use serde_json::Value;
use xmpp_proto::stanza::{DefinedCondition, ErrorType, Iq, IqPayload};
use xmpp_proto::{from_own_account, IqAnswer, Module, ModuleContext};

use super::command::NS_ROSTER;
use super::event::roster_push;

/// Where roster-push events go.
pub type Sink = Arc<dyn Fn(Value) + Send + Sync>;

/// Answers roster pushes and reports their items.
pub struct RosterPush {
    sink: Sink,
}

impl RosterPush {
    /// A module reporting to `sink`.
    pub fn new(sink: Sink) -> Self {
        RosterPush { sink }
    }
}

impl Module for RosterPush {
    fn name(&self) -> &'static str {
        "cli-roster-push"
    }

    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[(NS_ROSTER, "query")]
    }

    fn handle_iq_request(&mut self, ctx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        let IqPayload::Set(query) = &iq.payload else {
            return IqAnswer::error(ErrorType::Cancel, DefinedCondition::BadRequest);
        };
        if !from_own_account(iq.from.as_ref(), ctx.account()) {
            let from = iq.from.as_ref().map(|j| j.as_str()).unwrap_or("");
            ctx.warn(format!(
                "ignored a roster push from {from}, not from our account"
            ));
            return IqAnswer::error(ErrorType::Cancel, DefinedCondition::Forbidden);
        }
        for item in query.children().filter(|c| c.is(NS_ROSTER, "item")) {
            (self.sink)(roster_push(item));
        }
        IqAnswer::Result(None)
    }
}
