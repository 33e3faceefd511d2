//! What the core answers about this client in XEP-0030 service discovery:
//! disco#info (§3.1: the configured identity and the features of the core
//! and of every module; for a node, the module that publishes it, §3.2)
//! and disco#items (§4.1: empty unless a module lists items; for a node,
//! the module that publishes it). A node nobody publishes gets
//! `item-not-found` (§7). The modules learn our disco#info through
//! [`Module::own_disco_info`](super::Module::own_disco_info), which entity
//! capabilities (XEP-0115) hashes.

use crate::disco::{DiscoInfo, DiscoItems};
use crate::stanza::{DefinedCondition, ErrorType, Iq, IqPayload};

use super::module::IqAnswer;
use super::Client;

impl Client {
    /// Our disco#info, exactly as the core answers it: the configured
    /// [`Identity`](crate::Identity), and the features of the core and of
    /// every registered module ([`Client::disco_features`]), sorted, each once.
    pub fn disco_info(&self) -> DiscoInfo {
        let mut features = self.disco_features();
        features.sort_unstable();
        features.dedup();
        DiscoInfo::new([self.config.identity.clone()], features)
    }

    /// Hands our disco#info to every module (before `online`, and after a
    /// registration while online).
    pub(super) fn announce_disco_info(&mut self) {
        let info = self.disco_info();
        for m in &mut self.ext.modules {
            m.own_disco_info(&info);
        }
    }

    /// A disco#info request to us.
    pub(super) fn answer_disco_info(&self, iq: &Iq) -> IqAnswer {
        let Some(node) = node_of(iq) else {
            return not_allowed();
        };
        let Some(node) = node else {
            return IqAnswer::Result(Some(self.disco_info().to_element(None)));
        };
        match self
            .ext
            .modules
            .iter()
            .find_map(|m| m.disco_node_info(node))
        {
            Some(info) => IqAnswer::Result(Some(info.to_element(Some(node)))),
            None => not_found(),
        }
    }

    /// A disco#items request to us.
    pub(super) fn answer_disco_items(&self, iq: &Iq) -> IqAnswer {
        let Some(node) = node_of(iq) else {
            return not_allowed();
        };
        let Some(node) = node else {
            let items = self
                .ext
                .modules
                .iter()
                .filter_map(|m| m.disco_items(None))
                .flatten();
            return IqAnswer::Result(Some(DiscoItems::new(items).to_element(None)));
        };
        match self
            .ext
            .modules
            .iter()
            .find_map(|m| m.disco_items(Some(node)))
        {
            Some(items) => IqAnswer::Result(Some(DiscoItems::new(items).to_element(Some(node)))),
            None => not_found(),
        }
    }
}

/// The query's node (`Some(None)` for none), or `None` for a request
/// that is not a get.
fn node_of(iq: &Iq) -> Option<Option<&str>> {
    match &iq.payload {
        IqPayload::Get(query) => Some(query.attr("node")),
        _ => None,
    }
}

fn not_allowed() -> IqAnswer {
    IqAnswer::error(ErrorType::Cancel, DefinedCondition::NotAllowed)
}

fn not_found() -> IqAnswer {
    IqAnswer::error(ErrorType::Cancel, DefinedCondition::ItemNotFound)
}
