//! User avatars (XEP-0084) through the Personal Eventing Protocol
//! (XEP-0163): the metadata node (§4.2, read from notifications, §3.3,
//! which our `urn:xmpp:avatar:metadata+notify` feature asks for, or
//! fetched, XEP-0060 §6.5.7), the data node (§4.1, an item retrieved by
//! its id, §3.4), and publishing our own (§3.1 data first, then §3.2 the
//! metadata) or none (§3.5).
//!
//! Also the image type and the bounded base64 and SHA-1 helpers that
//! vCard-based avatars ([`crate::vcard`], XEP-0153) share.
//!
//! Security and bounds. A notification about a contact's metadata counts
//! only from that contact's bare JID (and one about ours only from our
//! account's, or without `from`): a full JID posing as a PEP service is
//! refused with a warning ([`crate::pep`]). Announced sizes are checked
//! before anything is asked ([`Avatars::fetch_data`] refuses an `<info/>`
//! whose `bytes` pass [`Avatars::max_bytes`]), received data is measured
//! as base64 before it is decoded, and the decoded image must hash (SHA-1)
//! to the item id asked for, which is the metadata's `id`: otherwise it is
//! refused ([`AvatarError::HashMismatch`]). A metadata item holds at most
//! 16 `<info/>`s.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::avatar::{AvatarImage, Avatars};
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Avatars::new()).unwrap();
//! // Online: publish ours (data node, then metadata node); the outcome
//! // comes back as Event::Avatar(AvatarEvent::Published { id, .. }).
//! let png = AvatarImage::new("image/png", vec![0x89, b'P', b'N', b'G']);
//! let sent = client.with_module(Instant::now(), |a: &mut Avatars, cx| a.publish(cx, &png, Some((64, 64))));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

mod image;
mod metadata;

use std::collections::BTreeMap;

use crate::client::{Event, Handled, IqFailure, Module, ModuleContext, SendError};
use crate::disco::DataForm;
use crate::pep::{self, AccessModel, NodeChange, Notification, PepError, PepItem};
use crate::stanza::{BareJid, Iq, Jid, Stanza};
use crate::xml::Element;

pub use image::{sha1_hex, AvatarImage};
pub use metadata::{AvatarInfo, AvatarMetadata};

pub(crate) use image::{decode_base64, encode_base64, encoded_len, is_sha1_hex, max_encoded_len};
use metadata::MAX_INFOS;

/// The data node and its payload's namespace (§4.1).
pub const NS_AVATAR_DATA: &str = "urn:xmpp:avatar:data";
/// The metadata node and its payload's namespace (§4.2).
pub const NS_AVATAR_METADATA: &str = "urn:xmpp:avatar:metadata";
/// The feature asking for metadata notifications (§3.3, XEP-0163 §4.3).
pub const NS_AVATAR_METADATA_NOTIFY: &str = "urn:xmpp:avatar:metadata+notify";

/// The largest image accepted by default, decoded: far above the 8 KiB
/// XEP-0153 §4.6 asks for and the few KiB real avatars weigh.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;

/// Why an avatar, its metadata or a publication failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvatarError {
    /// The entity answered with an error, or no answer came.
    #[error(transparent)]
    Iq(#[from] IqFailure),
    /// The answer is not a valid pubsub result.
    #[error(transparent)]
    Pubsub(#[from] PepError),
    /// The metadata is malformed (what is wrong is in the message).
    #[error("invalid avatar metadata: {0}")]
    Metadata(&'static str),
    /// The item asked for is not in the answer.
    #[error("the avatar data item is not in the answer")]
    NotFound,
    /// The image is larger than [`Avatars::max_bytes`]: refused before
    /// decoding (received) or before sending (ours).
    #[error("an avatar of {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// The size announced, or measured (for base64: the decoded size it stands for).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The data is not base64.
    #[error("the avatar data is not base64")]
    NotBase64,
    /// The image does not hash to the id asked for (the metadata's):
    /// refused.
    #[error("the avatar data hashes to {actual}, not to its id {expected}")]
    HashMismatch {
        /// The id (SHA-1 hex) asked for.
        expected: String,
        /// What the data hashes to.
        actual: String,
    },
}

/// What the user avatar module reports ([`Event::Avatar`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AvatarEvent {
    /// A metadata notification (§3.3): `jid`'s avatar changed; `None`
    /// means it has none now (disabled, retracted or purged).
    Notified {
        /// Whose avatar (a contact, or our own account).
        jid: BareJid,
        /// The new metadata.
        metadata: Option<AvatarMetadata>,
    },
    /// The answer to [`Avatars::fetch_metadata`].
    Metadata {
        /// The request's id.
        id: String,
        /// Whose.
        jid: BareJid,
        /// The latest metadata (`None`: no avatar), or why there is none.
        result: Result<Option<AvatarMetadata>, AvatarError>,
    },
    /// The answer to [`Avatars::fetch_data`]: checked for size before it
    /// was decoded, and to hash to its id.
    Data {
        /// The request's id.
        id: String,
        /// Whose.
        jid: BareJid,
        /// The item id (SHA-1 hex) asked for.
        hash: String,
        /// The image, or why there is none.
        result: Result<AvatarImage, AvatarError>,
    },
    /// [`Avatars::publish`] or [`Avatars::disable`] finished (both nodes
    /// for a publication).
    Published {
        /// The id the command returned.
        id: String,
        /// `Ok`, or why it failed.
        result: Result<(), AvatarError>,
    },
}

/// A command that could not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvatarCommandError {
    /// The image (or the announced size) is larger than [`Avatars::max_bytes`].
    #[error("an avatar of {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// The session refused the request.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// A request in flight.
#[derive(Clone, Debug)]
enum Pending {
    Metadata {
        jid: BareJid,
    },
    Data {
        jid: BareJid,
        hash: String,
        mime_type: String,
    },
    /// The data node is being published; then this metadata item.
    PublishData {
        metadata: PepItem,
    },
    /// The metadata node is being published for the command `id`.
    PublishMetadata {
        id: String,
    },
}

/// The user avatar module (XEP-0084). See the [module documentation](self).
#[derive(Debug)]
pub struct Avatars {
    max_bytes: usize,
    access: Option<AccessModel>,
    pending: BTreeMap<String, Pending>,
}

impl Default for Avatars {
    fn default() -> Self {
        Avatars::new()
    }
}

impl Avatars {
    /// A module asking for metadata notifications, with the default limit.
    pub fn new() -> Self {
        Avatars {
            max_bytes: DEFAULT_MAX_BYTES,
            access: None,
            pending: BTreeMap::new(),
        }
    }

    /// Publish both nodes with this access model (a publish-option,
    /// XEP-0060 §7.1.5), e.g. [`AccessModel::Open`] so that anyone may see
    /// our avatar, as anyone may read our vCard. Without it, the server's
    /// default applies (for PEP: those subscribed to our presence,
    /// XEP-0163 §4.2). A node that exists with another model makes the
    /// server refuse the publication (`precondition-not-met`).
    pub fn access_model(mut self, model: AccessModel) -> Self {
        self.access = Some(model);
        self
    }

    /// The publish-options of our publications.
    fn options(&self) -> Option<DataForm> {
        self.access
            .map(|m| pep::publish_options([("pubsub#access_model", m.as_str())]))
    }

    /// Accept (and publish) images of at most `max` bytes (default
    /// [`DEFAULT_MAX_BYTES`]).
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max;
        self
    }

    /// The limit on image sizes.
    pub fn limit(&self) -> usize {
        self.max_bytes
    }

    /// Asks `jid` (a contact, or our own account) for its latest metadata
    /// (XEP-0060 §6.5.7). Answered by [`AvatarEvent::Metadata`].
    pub fn fetch_metadata(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: BareJid,
    ) -> Result<String, SendError> {
        let request = pep::items_request(NS_AVATAR_METADATA, &[], Some(1));
        let id = cx.send_iq(Iq::get(Some(Jid::from(jid.clone())), "", request))?;
        self.pending.insert(id.clone(), Pending::Metadata { jid });
        Ok(id)
    }

    /// Asks `jid` for the data of `info` (one of its metadata's formats,
    /// §3.4: the data node item whose id is `info.id`). An `info` whose
    /// announced size passes [`Avatars::max_bytes`] is refused before
    /// anything is sent. Answered by [`AvatarEvent::Data`].
    pub fn fetch_data(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: BareJid,
        info: &AvatarInfo,
    ) -> Result<String, AvatarCommandError> {
        if info.bytes > self.max_bytes as u64 {
            return Err(AvatarCommandError::TooLarge {
                size: info.bytes,
                max: self.max_bytes,
            });
        }
        let request = pep::items_request(NS_AVATAR_DATA, &[&info.id], None);
        let id = cx.send_iq(Iq::get(Some(Jid::from(jid.clone())), "", request))?;
        let pending = Pending::Data {
            jid,
            hash: info.id.to_ascii_lowercase(),
            mime_type: info.mime_type.clone(),
        };
        self.pending.insert(id.clone(), pending);
        Ok(id)
    }

    /// Publishes `image` as our avatar: the data node first (§3.1, item id
    /// its SHA-1), then, once the server took it, the metadata node (§3.2)
    /// with its size, type and `dimensions` (width, height) when given.
    /// The type defaults to `image/png` (the one the data node holds,
    /// §4.1). Answered by [`AvatarEvent::Published`] with the returned id.
    pub fn publish(
        &mut self,
        cx: &mut ModuleContext<'_>,
        image: &AvatarImage,
        dimensions: Option<(u16, u16)>,
    ) -> Result<String, AvatarCommandError> {
        if image.data.len() > self.max_bytes {
            return Err(AvatarCommandError::TooLarge {
                size: image.data.len() as u64,
                max: self.max_bytes,
            });
        }
        let hash = image.sha1_hex();
        let info = AvatarInfo {
            id: hash.clone(),
            bytes: image.data.len() as u64,
            mime_type: image
                .mime_type
                .clone()
                .unwrap_or_else(|| "image/png".to_string()),
            width: dimensions.map(|d| d.0),
            height: dimensions.map(|d| d.1),
            url: None,
        };
        let metadata = Element::new(NS_AVATAR_METADATA, "metadata").with_child(info.to_element());
        let data = Element::new(NS_AVATAR_DATA, "data").with_text(encode_base64(&image.data));
        let options = self.options();
        let request = pep::publish_request(
            NS_AVATAR_DATA,
            PepItem::new(hash.clone(), data),
            options.as_ref(),
        );
        let id = cx.send_iq(Iq::set(None, "", request))?;
        let pending = Pending::PublishData {
            metadata: PepItem::new(hash, metadata),
        };
        self.pending.insert(id.clone(), pending);
        Ok(id)
    }

    /// Publishes "no avatar" (§3.5: an empty `<metadata/>`). Answered by
    /// [`AvatarEvent::Published`].
    pub fn disable(&mut self, cx: &mut ModuleContext<'_>) -> Result<String, SendError> {
        let item = PepItem {
            id: None,
            payload: Some(Element::new(NS_AVATAR_METADATA, "metadata")),
        };
        let options = self.options();
        let request = pep::publish_request(NS_AVATAR_METADATA, item, options.as_ref());
        let id = cx.send_iq(Iq::set(None, "", request))?;
        self.pending
            .insert(id.clone(), Pending::PublishMetadata { id: id.clone() });
        Ok(id)
    }

    /// A metadata notification, from a contact's or our own bare JID.
    fn notified(&mut self, cx: &mut ModuleContext<'_>, n: Notification) {
        let metadata = match n.change {
            NodeChange::Items { published, .. } => match published.last() {
                Some(item) => {
                    let parsed = item
                        .payload
                        .as_ref()
                        .ok_or(AvatarError::Metadata("an item without payload"))
                        .and_then(AvatarMetadata::parse);
                    match parsed {
                        Ok(m) => m,
                        Err(e) => {
                            return cx
                                .warn(format!("ignored the avatar metadata of {}: {e}", n.jid))
                        }
                    }
                }
                // Only retractions: the avatar is gone.
                None => None,
            },
            NodeChange::Purged | NodeChange::Deleted => None,
        };
        cx.emit(Event::Avatar(AvatarEvent::Notified {
            jid: n.jid,
            metadata,
        }));
    }

    /// The data item of a result, checked: the size of its base64 before
    /// decoding, then the hash.
    // The error goes into an event as it is, never boxed and unboxed.
    #[allow(clippy::result_large_err)]
    fn data_of(&self, iq: &Iq, hash: &str, mime_type: String) -> Result<AvatarImage, AvatarError> {
        let items = pep::parse_items(iq.payload_element(), NS_AVATAR_DATA, MAX_INFOS)?;
        let item = items
            .iter()
            .find(|i| {
                i.id.as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(hash))
            })
            .ok_or(AvatarError::NotFound)?;
        let data = item
            .payload
            .as_ref()
            .filter(|p| p.is(NS_AVATAR_DATA, "data"))
            .ok_or(AvatarError::NotFound)?
            .text();
        let encoded = encoded_len(&data);
        if encoded > max_encoded_len(self.max_bytes) {
            return Err(AvatarError::TooLarge {
                size: encoded / 4 * 3,
                max: self.max_bytes,
            });
        }
        let bytes = decode_base64(&data).ok_or(AvatarError::NotBase64)?;
        let actual = sha1_hex(&bytes);
        if actual != hash {
            return Err(AvatarError::HashMismatch {
                expected: hash.to_string(),
                actual,
            });
        }
        Ok(AvatarImage {
            mime_type: Some(mime_type),
            data: bytes,
        })
    }
}

/// The latest metadata of a retrieval result.
// The error goes into an event as it is.
#[allow(clippy::result_large_err)]
fn metadata_of(iq: &Iq) -> Result<Option<AvatarMetadata>, AvatarError> {
    let items = pep::parse_items(iq.payload_element(), NS_AVATAR_METADATA, MAX_INFOS)?;
    match items.last().and_then(|i| i.payload.as_ref()) {
        Some(payload) => AvatarMetadata::parse(payload),
        None => Ok(None),
    }
}

impl Module for Avatars {
    fn name(&self) -> &'static str {
        "avatar"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_AVATAR_METADATA_NOTIFY]
    }

    fn offline(&mut self, _resumable: bool) {
        // The core failed the requests in flight before this.
        self.pending.clear();
    }

    fn observe_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) {
        // Notifications come from the server as they are, never forwarded.
        let Stanza::Message(m) = stanza else { return };
        if cx.is_redispatched() {
            return;
        }
        let account = cx.account().clone();
        match Notification::read(m, &account, &[NS_AVATAR_METADATA], MAX_INFOS) {
            None => {}
            Some(Ok(n)) => self.notified(cx, n),
            Some(Err(e)) => cx.warn(format!("refused an avatar metadata notification: {e}")),
        }
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        // Read in observe_stanza; consumed here so it is no chat message.
        match stanza {
            Stanza::Message(m)
                if !cx.is_redispatched() && Notification::is_about(m, &[NS_AVATAR_METADATA]) =>
            {
                Handled::Yes
            }
            _ => Handled::No,
        }
    }

    // The error goes into an event as it is, never boxed and unboxed.
    #[allow(clippy::result_large_err)]
    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let Some(pending) = self.pending.remove(id) else {
            return;
        };
        let id = id.to_string();
        let event = match pending {
            Pending::Metadata { jid } => AvatarEvent::Metadata {
                id,
                jid,
                result: result
                    .map_err(AvatarError::from)
                    .and_then(|iq| metadata_of(&iq)),
            },
            Pending::Data {
                jid,
                hash,
                mime_type,
            } => {
                let result = result
                    .map_err(AvatarError::from)
                    .and_then(|iq| self.data_of(&iq, &hash, mime_type));
                if let Err(e @ (AvatarError::HashMismatch { .. } | AvatarError::TooLarge { .. })) =
                    &result
                {
                    cx.warn(format!("refused the avatar data of {jid}: {e}"));
                }
                AvatarEvent::Data {
                    id,
                    jid,
                    hash,
                    result,
                }
            }
            Pending::PublishData { metadata } => match result {
                Ok(_) => {
                    let options = self.options();
                    let request =
                        pep::publish_request(NS_AVATAR_METADATA, metadata, options.as_ref());
                    match cx.send_iq(Iq::set(None, "", request)) {
                        Ok(next) => {
                            self.pending.insert(next, Pending::PublishMetadata { id });
                            return;
                        }
                        Err(_) => AvatarEvent::Published {
                            id,
                            result: Err(AvatarError::Iq(IqFailure::Disconnected)),
                        },
                    }
                }
                Err(e) => AvatarEvent::Published {
                    id,
                    result: Err(e.into()),
                },
            },
            Pending::PublishMetadata { id } => AvatarEvent::Published {
                id,
                result: result.map(|_| ()).map_err(AvatarError::from),
            },
        };
        cx.emit(Event::Avatar(event));
    }
}
