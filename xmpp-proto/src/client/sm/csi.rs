//! XEP-0352 client state indication: the application says whether its user
//! is looking (`<active/>`) or not (`<inactive/>`), and the server may hold
//! back what is not urgent meanwhile. Sent only to a server that
//! advertises `<csi xmlns='urn:xmpp:csi:0'/>` (§4.1). Every stream, a
//! resumed one too (§5.2), begins active: a remembered `Inactive` is sent
//! again after each login.

use std::time::Instant;

use crate::xml::Element;

use super::super::features::StreamFeatures;
use super::super::{Client, SendError};

/// XEP-0352 namespace.
pub const NS_CSI: &str = "urn:xmpp:csi:0";

/// What the user is doing with the client (XEP-0352).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientState {
    /// The user is interacting with the client (every stream's start).
    #[default]
    Active,
    /// The user is not: the server may defer or drop what is not urgent.
    Inactive,
}

impl ClientState {
    fn element(self) -> Element {
        let name = match self {
            ClientState::Active => "active",
            ClientState::Inactive => "inactive",
        };
        Element::new(NS_CSI, name)
    }
}

/// The state the application wants and what this stream knows.
#[derive(Debug, Default)]
pub(crate) struct Csi {
    /// What the application asked for last.
    wanted: ClientState,
    /// What the server of this stream was told (every stream starts active).
    told: ClientState,
    /// The server of this stream advertises CSI.
    offered: bool,
}

impl Client {
    /// Tells the server whether the user is using the client (XEP-0352).
    /// The state is remembered either way, and told to the server again
    /// after every login (new or resumed stream: each begins active). Sent
    /// at once when online with a server that advertises CSI, and only
    /// when it changes; while offline it waits for the login. Refused with
    /// [`SendError::NotOffered`] when the server of this stream does not
    /// advertise CSI (the state is still remembered for a later stream).
    pub fn set_client_state(&mut self, now: Instant, state: ClientState) -> Result<(), SendError> {
        self.now = now;
        self.sm.csi.wanted = state;
        if !self.is_online() {
            return Ok(());
        }
        if !self.sm.csi.offered {
            return Err(SendError::NotOffered(NS_CSI));
        }
        self.tell_client_state();
        self.arm_session_timers();
        Ok(())
    }

    /// The client state the application last set (`Active` until then).
    pub fn client_state(&self) -> ClientState {
        self.sm.csi.wanted
    }

    /// A login: the new stream is active; tell the server if we are not.
    pub(crate) fn csi_online(&mut self, features: &StreamFeatures) {
        self.sm.csi.offered = features.has(NS_CSI, "csi");
        self.sm.csi.told = ClientState::Active;
        if self.sm.csi.offered {
            self.tell_client_state();
        }
    }

    fn tell_client_state(&mut self) {
        let csi = &mut self.sm.csi;
        if csi.told != csi.wanted {
            csi.told = csi.wanted;
            let e = csi.wanted.element();
            self.outbox.write_element(&e);
        }
    }
}
