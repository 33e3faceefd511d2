//! Service discovery (XEP-0030) and entity capabilities (XEP-0115): typed
//! disco results and the XEP-0115 verification string.
//!
//! The model, reusable by any module: [`DiscoInfo`] (§3.1: identities,
//! features, and XEP-0128 extension forms, [`DataForm`]) and [`DiscoItems`]
//! (§4), each parsed from and written to its `<query/>`. Parsing never
//! panics: a malformed result or a list past its bound ([`limits`]) is a
//! typed [`DiscoParseError`].

mod error;
pub mod form;
mod info;
mod items;
mod ver;

pub use crate::client::NS_DISCO_INFO;
pub use error::{DiscoError, DiscoParseError};
pub use form::{DataForm, FieldType, FormField, FormKind};
pub use info::{DiscoInfo, Identity};
pub use items::{DiscoItem, DiscoItems};
pub use ver::{check_well_formed, hash_input, verification_string, verify, CapsError, CapsHash};

/// The XEP-0030 disco#items namespace.
pub const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// Bounds on what one parsed result may hold; past one, the whole result
/// is refused ([`DiscoParseError::TooMany`]). Far above what real entities
/// send (Prosody's disco#info has about 30 features), and bounded anyway
/// by the reader's stanza size (256 KiB by default).
pub mod limits {
    /// Identities in one disco#info result.
    pub const MAX_IDENTITIES: usize = 64;
    /// Features in one disco#info result.
    pub const MAX_FEATURES: usize = 1024;
    /// Extension forms in one disco#info result.
    pub const MAX_EXTENSIONS: usize = 16;
    /// Fields in one data form.
    pub const MAX_FIELDS: usize = 256;
    /// Values in one field.
    pub const MAX_VALUES: usize = 256;
    /// Items in one disco#items result.
    pub const MAX_ITEMS: usize = 10_000;
}
