//! Roster pushes (RFC 6121 §2.1.6): a small `xmpp_proto::Module` that
//! answers the server's `<iq type='set'><query xmlns='jabber:iq:roster'/>`
//! and reports each pushed item as a `roster-push` event through a callback
//! (each CLI's I/O loop decides how to print it).
//!
//! A push that does not come from the account itself is refused: the core
//! answers it `service-unavailable` and the CLI prints a `warning`.

use std::any::Any;
use std::sync::Arc;

use serde_json::Value;
use xmpp_proto::stanza::{IqPayload, Stanza};
use xmpp_proto::{from_own_account, Handled, Module, ModuleContext};

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

    fn handle_stanza(&mut self, ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Iq(iq) = stanza else {
            return Handled::No;
        };
        let IqPayload::Set(query) = &iq.payload else {
            return Handled::No;
        };
        if !query.is(NS_ROSTER, "query") {
            return Handled::No;
        }
        if !from_own_account(iq.from.as_ref(), ctx.own_jid()) {
            let from = iq.from.as_ref().map(|j| j.as_str()).unwrap_or("");
            ctx.warn(format!(
                "ignored a roster push from {from}, not from our account"
            ));
            return Handled::No;
        }
        for item in query.children().filter(|c| c.is(NS_ROSTER, "item")) {
            (self.sink)(roster_push(item));
        }
        ctx.send(xmpp_proto::stanza::Iq::result_for(iq));
        Handled::Yes
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
