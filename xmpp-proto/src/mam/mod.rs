//! XEP-0313 message archive management (`urn:xmpp:mam:2`): the query
//! (§4: filters §4.1, XEP-0059 paging §4.2) and the `<fin/>` that ends it
//! (§4.3).

mod query;
mod rsm;

pub use query::{Fin, Query};
pub use rsm::{Page, PageInfo, NS_RSM};

/// The XEP-0313 namespace.
pub const NS_MAM: &str = "urn:xmpp:mam:2";
