//! Entity capabilities (XEP-0115), a built-in module: our `<c/>` on every
//! available presence we send (§4, §6.1), and a verified cache of what
//! others' `ver`s stand for (§5.4, §6.2, §8.4).
//!
//! Ours: the `ver` is the SHA-1 verification string (§5.1) of exactly the
//! disco#info the core answers, which the core hands in through
//! [`Module::own_disco_info`] before every `online`; the core answers a
//! disco#info query for `NODE#VER` with that same info
//! ([`Module::disco_node_info`]).
//!
//! Others': the module reads `<c hash='sha-1' node ver/>` from every
//! available presence our server delivers (observing, never consuming; not
//! from presences a module unwrapped from another stanza) and remembers which
//! entity advertised which `ver`. An unknown `ver` is asked of the entity
//! that advertised it (disco#info of `node#ver`, §6.2), at most one query
//! per `ver` and [`CapsLimits::queries`] in all at once; the others wait
//! their turn. The answer is cached only when it is well formed and hashes
//! to exactly that `ver` (§5.4); otherwise a warning, nothing cached, and
//! the next entity advertising the same `ver` is asked (§5.4 3.9). Legacy
//! caps (no `hash`) and hashes other than `sha-1` are ignored.
//!
//! Bounded: the cache holds [`CapsLimits::cache`] answers (least recently
//! seen dropped first), each at most [`CapsLimits::max_info_size`] bytes of
//! hash input; the table of advertisers holds [`CapsLimits::entities`]
//! entries the same way. State in as data ([`Caps::with_cache`]), new
//! entries out as [`DiscoEvent::CapsLearned`]: no storage here.

use std::collections::VecDeque;

use crate::client::{Event, IqFailure, Module, ModuleContext};
use crate::stanza::{Iq, Jid, Presence, PresenceType, Stanza};
use crate::xml::Element;

use super::lru::Lru;
use super::ver::{hash_input, verification_string, verify, CapsHash};
use super::{DiscoEvent, DiscoInfo, NS_DISCO_INFO};

/// The XEP-0115 namespace (also the feature we list).
pub const NS_CAPS: &str = "http://jabber.org/protocol/caps";

/// The longest `ver` read (a SHA-512 one is 88 bytes).
const MAX_VER: usize = 128;
/// The longest `node` read.
const MAX_NODE: usize = 1024;

/// How much the caps module keeps and asks, at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapsLimits {
    /// Verified answers cached. Default 1,000.
    pub cache: usize,
    /// Entities whose advertised `ver` is remembered. Default 10,000.
    pub entities: usize,
    /// Disco#info queries for unknown `ver`s in flight at once. Default 4.
    pub queries: usize,
    /// The largest answer cached, in bytes of its hash input (§5.1 S).
    /// Default 16 KiB (real clients: 1-3 KiB).
    pub max_info_size: usize,
}

impl Default for CapsLimits {
    fn default() -> Self {
        CapsLimits {
            cache: 1_000,
            entities: 10_000,
            queries: 4,
            max_info_size: 16 * 1024,
        }
    }
}

/// What an entity advertised last.
#[derive(Clone, Debug)]
struct Advert {
    hash: CapsHash,
    node: String,
    ver: String,
    /// Asked already for this `ver` and failed: not asked again.
    tried: bool,
}

/// A disco#info query for an unknown `ver`.
#[derive(Clone, Debug)]
struct Query {
    id: String,
    jid: Jid,
    hash: CapsHash,
    ver: String,
}

/// The entity capabilities module (XEP-0115). Ours: `<c hash='sha-1'
/// node ver/>` on every available presence we send, `ver` the hash of
/// exactly the disco#info the core answers. Others': read from their
/// presences, an unknown `ver` asked of its advertiser, the answer cached
/// only when it hashes to that `ver` (else a warning); bounded by
/// [`CapsLimits`]. Query it with [`Caps::info_for`] and [`Caps::supports`];
/// store what [`DiscoEvent::CapsLearned`] reports and hand it back with
/// [`Caps::with_cache`]. See [`crate::disco`].
#[derive(Clone, Debug)]
pub struct Caps {
    node: String,
    limits: CapsLimits,
    /// Our disco#info, its `ver` and the `<c/>` that carries it, once the
    /// core handed it in (the element is cloned onto each presence: its
    /// strings are shared, not copied).
    own: Option<(DiscoInfo, String, Element)>,
    cache: Lru<(CapsHash, String), DiscoInfo>,
    entities: Lru<Jid, Advert>,
    queries: Vec<Query>,
    /// Entities whose unknown `ver` waits for a query slot.
    waiting: VecDeque<Jid>,
}

impl Caps {
    /// A caps module advertising `node`: a URI naming this software, best
    /// an HTTP URL about it (§4), e.g. `https://example.org/my-client`.
    pub fn new(node: impl Into<String>) -> Self {
        let limits = CapsLimits::default();
        Caps {
            node: node.into(),
            limits,
            own: None,
            cache: Lru::new(limits.cache),
            entities: Lru::new(limits.entities),
            queries: Vec::new(),
            waiting: VecDeque::new(),
        }
    }

    /// A caps module with a stored cache (what [`DiscoEvent::CapsLearned`]
    /// reported in earlier sessions). Each entry is verified again and
    /// kept only when it still hashes to its `ver`; past
    /// [`CapsLimits::cache`] the first ones are dropped.
    pub fn with_cache(
        node: impl Into<String>,
        entries: impl IntoIterator<Item = (CapsHash, String, DiscoInfo)>,
    ) -> Self {
        let mut caps = Caps::new(node);
        for (hash, ver, info) in entries {
            if verify(&info, hash, &ver).is_ok() {
                caps.cache.insert((hash, ver), info);
            }
        }
        caps
    }

    /// With these limits (a smaller cache drops its least recently seen
    /// entries).
    pub fn limits(mut self, limits: CapsLimits) -> Self {
        self.limits = limits;
        let mut cache = Lru::new(limits.cache);
        for (k, v) in self.cache.iter() {
            cache.insert(k.clone(), v.clone());
        }
        self.cache = cache;
        self.entities = Lru::new(limits.entities);
        self
    }

    /// The node we advertise.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Our `ver`, once the session came online (the SHA-1 verification
    /// string of our disco#info).
    pub fn own_ver(&self) -> Option<&str> {
        self.own.as_ref().map(|(_, ver, _)| ver.as_str())
    }

    /// What `jid` supports, when it advertised a `ver` whose answer is
    /// verified and cached. `jid` is the exact address the presence came
    /// from (a full JID for a client).
    pub fn info_for(&self, jid: &Jid) -> Option<&DiscoInfo> {
        let a = self.entities.get(jid)?;
        self.cache.get(&(a.hash, a.ver.clone()))
    }

    /// True when `jid`'s verified capabilities include `feature` (false
    /// when they are not known: §8.3, assume no support until known).
    pub fn supports(&self, jid: &Jid, feature: &str) -> bool {
        self.info_for(jid).is_some_and(|i| i.has_feature(feature))
    }

    /// The `ver` `jid` advertised last, verified or not.
    pub fn ver_of(&self, jid: &Jid) -> Option<&str> {
        self.entities.get(jid).map(|a| a.ver.as_str())
    }

    /// The cached answer for (`hash`, `ver`).
    pub fn cached(&self, hash: CapsHash, ver: &str) -> Option<&DiscoInfo> {
        self.cache.get(&(hash, ver.to_string()))
    }

    /// The number of cached answers.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// The number of entities whose `ver` is remembered.
    pub fn entities_len(&self) -> usize {
        self.entities.len()
    }

    /// Every cached entry, to store (the same as the
    /// [`DiscoEvent::CapsLearned`] events reported, plus our own).
    pub fn cache_entries(&self) -> impl Iterator<Item = (CapsHash, &str, &DiscoInfo)> {
        self.cache.iter().map(|((h, v), i)| (*h, v.as_str(), i))
    }

    fn observe(&mut self, cx: &mut ModuleContext<'_>, p: &Presence) {
        let Some(from) = &p.from else {
            return;
        };
        match p.type_ {
            PresenceType::Available => {}
            PresenceType::Unavailable => return self.gone(from),
            _ => return,
        }
        // No <c/>: keep what we know (servers may strip repeats, §8.4).
        let Some(c) = p.payload(NS_CAPS, "c") else {
            return;
        };
        // No hash: the legacy format (§7), not supported; other hashes are
        // ignored (only SHA-1 is computed here).
        let Some(hash) = c.attr("hash").and_then(CapsHash::from_name) else {
            return;
        };
        let (node, ver) = match (c.attr("node"), c.attr("ver")) {
            (Some(n), Some(v))
                if !n.is_empty() && !v.is_empty() && n.len() <= MAX_NODE && v.len() <= MAX_VER =>
            {
                (n, v)
            }
            _ => {
                return cx.warn(format!(
                    "ignored the capabilities of {from}: a node and a ver are required \
                     (at most {MAX_NODE} and {MAX_VER} bytes)"
                ))
            }
        };
        let same = self
            .entities
            .get(from)
            .is_some_and(|a| a.hash == hash && a.ver == ver);
        if same {
            self.entities.touch(from);
        } else {
            let advert = Advert {
                hash,
                node: node.to_string(),
                ver: ver.to_string(),
                tried: false,
            };
            self.entities.insert(from.clone(), advert);
        }
        let key = (hash, ver.to_string());
        if self.cache.contains(&key) {
            self.cache.touch(&key);
        } else {
            self.ask(cx, from.clone());
        }
    }

    /// An unavailable presence: a full JID's resource is gone; a bare
    /// JID's every resource is.
    fn gone(&mut self, from: &Jid) {
        if from.resource().is_some() {
            self.entities.remove(from);
        } else {
            let bare = from.to_bare();
            self.entities.retain(|j, _| j.to_bare() != bare);
        }
    }

    /// Asks `jid` what its advertised `ver` stands for, if still unknown
    /// and not asked already; waits for a slot when one query for that
    /// `ver` (or the most in all) is in flight.
    fn ask(&mut self, cx: &mut ModuleContext<'_>, jid: Jid) {
        let Some(a) = self.entities.get(&jid) else {
            return;
        };
        let key = (a.hash, a.ver.clone());
        if a.tried || self.cache.contains(&key) {
            return;
        }
        let in_flight = self
            .queries
            .iter()
            .any(|q| (q.hash, &q.ver) == (a.hash, &a.ver));
        if in_flight || self.queries.len() >= self.limits.queries {
            if self.waiting.len() < self.limits.entities {
                self.waiting.push_back(jid);
            }
            return;
        }
        let query =
            Element::new(NS_DISCO_INFO, "query").with_attr("node", format!("{}#{}", a.node, a.ver));
        let (hash, ver) = key;
        if let Ok(id) = cx.send_iq(Iq::get(Some(jid.clone()), "", query)) {
            self.queries.push(Query { id, jid, hash, ver });
        }
    }

    /// A query ended: give its slot to those waiting (each looked at once).
    fn next(&mut self, cx: &mut ModuleContext<'_>) {
        for _ in 0..self.waiting.len() {
            if self.queries.len() >= self.limits.queries {
                return;
            }
            match self.waiting.pop_front() {
                Some(jid) => self.ask(cx, jid),
                None => return,
            }
        }
    }

    /// The answer to a query: cached only when verified.
    fn answered(&mut self, cx: &mut ModuleContext<'_>, q: Query, result: Result<Iq, IqFailure>) {
        let refused = |why: String| {
            format!(
                "refused the disco#info of {} for caps ver {}: {why}; nothing cached",
                q.jid, q.ver
            )
        };
        let info = match result {
            Ok(iq) => match iq.payload_element().map(DiscoInfo::parse) {
                Some(Ok(info)) => Some(info),
                Some(Err(e)) => {
                    cx.warn(refused(e.to_string()));
                    None
                }
                None => {
                    cx.warn(refused("the result has no <query/>".into()));
                    None
                }
            },
            // An error or no answer: nothing to verify; try another entity.
            Err(_) => None,
        };
        let verified = info.and_then(|info| {
            let size = hash_input(&info).len();
            if size > self.limits.max_info_size {
                cx.warn(refused(format!(
                    "{size} bytes of hash input, more than CapsLimits::max_info_size ({})",
                    self.limits.max_info_size
                )));
                return None;
            }
            match verify(&info, q.hash, &q.ver) {
                Ok(()) => Some(info),
                Err(e) => {
                    cx.warn(refused(e.to_string()));
                    None
                }
            }
        });
        match verified {
            Some(info) => {
                self.cache.insert((q.hash, q.ver.clone()), info.clone());
                cx.emit(Event::Disco(DiscoEvent::CapsLearned {
                    hash: q.hash,
                    ver: q.ver,
                    info,
                }));
            }
            None => {
                if let Some(a) = self.entities.get_mut(&q.jid) {
                    if (a.hash, &a.ver) == (q.hash, &q.ver) {
                        a.tried = true;
                    }
                }
            }
        }
        self.next(cx);
    }
}

impl Module for Caps {
    fn name(&self) -> &'static str {
        "caps"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_CAPS]
    }

    fn own_disco_info(&mut self, info: &DiscoInfo) {
        let ver = verification_string(info, CapsHash::Sha1);
        // Our own resources (and our own presence echoed back) advertise it.
        self.cache
            .insert((CapsHash::Sha1, ver.clone()), info.clone());
        let c = Element::new(NS_CAPS, "c")
            .with_attr("hash", CapsHash::Sha1.as_str())
            .with_attr("node", self.node.clone())
            .with_attr("ver", ver.clone());
        self.own = Some((info.clone(), ver, c));
    }

    fn disco_node_info(&self, node: &str) -> Option<DiscoInfo> {
        let (info, ver, _) = self.own.as_ref()?;
        let ours = node
            .strip_prefix(self.node.as_str())
            .and_then(|rest| rest.strip_prefix('#'))
            == Some(ver.as_str());
        ours.then(|| info.clone())
    }

    fn offline(&mut self, resumable: bool) {
        // The core failed the queries in flight before this.
        self.queries.clear();
        if !resumable {
            // Presence starts over with the next session.
            self.entities.clear();
            self.waiting.clear();
        }
    }

    fn observe_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) {
        // A presence a module unwrapped from another stanza: its `from` is
        // not vouched for by our server.
        if cx.is_redispatched() {
            return;
        }
        if let Stanza::Presence(p) = stanza {
            self.observe(cx, p);
        }
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        if let Some(i) = self.queries.iter().position(|q| q.id == id) {
            let q = self.queries.swap_remove(i);
            self.answered(cx, q, result);
        }
    }

    fn on_outgoing(&mut self, stanza: &mut Stanza) {
        let Stanza::Presence(p) = stanza else {
            return;
        };
        let Some((_, _, c)) = &self.own else {
            return;
        };
        if p.type_ != PresenceType::Available || p.payload(NS_CAPS, "c").is_some() {
            return;
        }
        p.payloads.push(c.clone());
    }
}
