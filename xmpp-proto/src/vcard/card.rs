//! The vCard-XML format of vcard-temp (XEP-0054 §3 examples, §9 DTD):
//! typed fields for the common properties and the raw elements of the
//! rest, kept so that a card read and written back loses nothing.
//!
//! Parsing is bounded ([`VCardLimits`]) and never panics: a card that is
//! not `<vCard xmlns='vcard-temp'/>`, has more entries of one kind than
//! allowed or a photo that is not base64 is a typed [`VCardParseError`]. A
//! photo larger than the limit is measured as base64 and never decoded:
//! it is kept as received ([`Photo::Oversized`]), so writing the card back
//! keeps it.

use std::collections::BTreeSet;

use crate::avatar::{decode_base64, encode_base64, encoded_len, max_encoded_len, AvatarImage};
use crate::xml::Element;

/// The vcard-temp namespace.
pub const NS_VCARD: &str = "vcard-temp";

/// The bounds of a parsed card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VCardLimits {
    /// The largest photo decoded, in bytes; a larger one (measured as
    /// base64 before decoding) is kept undecoded ([`Photo::Oversized`]).
    /// Default 64 KiB.
    pub max_photo_bytes: usize,
    /// The most entries of one repeated property (EMAIL, TEL, ADR, ORGUNIT).
    /// Default 64.
    pub max_entries: usize,
    /// The most other child elements kept raw. Default 256.
    pub max_other: usize,
}

impl Default for VCardLimits {
    fn default() -> Self {
        VCardLimits {
            max_photo_bytes: crate::avatar::DEFAULT_MAX_BYTES,
            max_entries: 64,
            max_other: 256,
        }
    }
}

/// Why an element is not a card this crate accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VCardParseError {
    /// Not `<vCard xmlns='vcard-temp'/>`.
    #[error("expected <vCard xmlns='vcard-temp'/>")]
    WrongElement,
    /// More entries of one kind than [`VCardLimits`] allow.
    #[error("more than {max} {what} in one vCard")]
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// The bound.
        max: usize,
    },
    /// The photo's BINVAL is not base64.
    #[error("the photo is not base64")]
    InvalidPhoto,
}

macro_rules! kinds {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $el:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every kind, in the order of the DTD.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The element naming this kind (`"HOME"`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $el),+
                }
            }

            /// The kind an element names, if it is one.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($el => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    /// What kind of email address an EMAIL is.
    EmailType {
        /// `<HOME/>`.
        Home = "HOME",
        /// `<WORK/>`.
        Work = "WORK",
        /// `<INTERNET/>` (the default kind).
        Internet = "INTERNET",
        /// `<PREF/>`: the preferred one.
        Pref = "PREF",
        /// `<X400/>`.
        X400 = "X400",
    }
}

kinds! {
    /// What kind of number a TEL is.
    TelType {
        /// `<HOME/>`.
        Home = "HOME",
        /// `<WORK/>`.
        Work = "WORK",
        /// `<VOICE/>`.
        Voice = "VOICE",
        /// `<FAX/>`.
        Fax = "FAX",
        /// `<PAGER/>`.
        Pager = "PAGER",
        /// `<MSG/>`.
        Msg = "MSG",
        /// `<CELL/>`.
        Cell = "CELL",
        /// `<VIDEO/>`.
        Video = "VIDEO",
        /// `<BBS/>`.
        Bbs = "BBS",
        /// `<MODEM/>`.
        Modem = "MODEM",
        /// `<ISDN/>`.
        Isdn = "ISDN",
        /// `<PCS/>`.
        Pcs = "PCS",
        /// `<PREF/>`: the preferred one.
        Pref = "PREF",
    }
}

kinds! {
    /// What kind of address an ADR is.
    AddressType {
        /// `<HOME/>`.
        Home = "HOME",
        /// `<WORK/>`.
        Work = "WORK",
        /// `<POSTAL/>`.
        Postal = "POSTAL",
        /// `<PARCEL/>`.
        Parcel = "PARCEL",
        /// `<DOM/>`: domestic.
        Dom = "DOM",
        /// `<INTL/>`: international.
        Intl = "INTL",
        /// `<PREF/>`: the preferred one.
        Pref = "PREF",
    }
}

/// The structured name (N).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Name {
    /// FAMILY.
    pub family: Option<String>,
    /// GIVEN.
    pub given: Option<String>,
    /// MIDDLE.
    pub middle: Option<String>,
    /// PREFIX.
    pub prefix: Option<String>,
    /// SUFFIX.
    pub suffix: Option<String>,
}

/// An email address (EMAIL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The address (USERID).
    pub address: String,
    /// Its kinds.
    pub types: BTreeSet<EmailType>,
}

impl Email {
    /// An address without kinds.
    pub fn new(address: impl Into<String>) -> Self {
        Email {
            address: address.into(),
            types: BTreeSet::new(),
        }
    }
}

/// A telephone number (TEL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Telephone {
    /// The number (NUMBER).
    pub number: String,
    /// Its kinds.
    pub types: BTreeSet<TelType>,
}

/// A postal address (ADR).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// Its kinds.
    pub types: BTreeSet<AddressType>,
    /// POBOX.
    pub pobox: Option<String>,
    /// EXTADD: the extended address (suite, apartment).
    pub extadd: Option<String>,
    /// STREET.
    pub street: Option<String>,
    /// LOCALITY.
    pub locality: Option<String>,
    /// REGION.
    pub region: Option<String>,
    /// PCODE: the postal code.
    pub pcode: Option<String>,
    /// CTRY: the country.
    pub country: Option<String>,
}

/// The organization (ORG).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organization {
    /// ORGNAME.
    pub name: Option<String>,
    /// ORGUNIT, in order.
    pub units: Vec<String>,
}

/// The photo (PHOTO).
#[derive(Clone, PartialEq, Eq)]
pub enum Photo {
    /// The image itself (TYPE, BINVAL), decoded.
    Binary(AvatarImage),
    /// A URI where it is (EXTVAL).
    External(String),
    /// An image larger than [`VCardLimits::max_photo_bytes`]: measured as
    /// base64 and never decoded; kept as received so the card written back
    /// keeps it.
    Oversized {
        /// TYPE, if given.
        mime_type: Option<String>,
        /// The BINVAL text as received.
        encoded: String,
    },
}

impl std::fmt::Debug for Photo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Photo::Binary(image) => f.debug_tuple("Binary").field(image).finish(),
            Photo::External(uri) => f.debug_tuple("External").field(uri).finish(),
            Photo::Oversized { mime_type, encoded } => f
                .debug_struct("Oversized")
                .field("mime_type", mime_type)
                .field("encoded_len", &encoded.len())
                .finish(),
        }
    }
}

/// A vcard-temp card: the common properties typed, every other child
/// element kept raw in [`VCard::other`] (and a second occurrence of a
/// property read once, too), written back after the typed ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VCard {
    /// FN: the formatted (display) name.
    pub full_name: Option<String>,
    /// N: the structured name.
    pub name: Option<Name>,
    /// NICKNAME.
    pub nickname: Option<String>,
    /// PHOTO.
    pub photo: Option<Photo>,
    /// BDAY: the birthday (ISO 8601 date, as given).
    pub birthday: Option<String>,
    /// ADR, in order.
    pub addresses: Vec<Address>,
    /// TEL, in order.
    pub telephones: Vec<Telephone>,
    /// EMAIL, in order.
    pub emails: Vec<Email>,
    /// TITLE.
    pub title: Option<String>,
    /// ORG.
    pub org: Option<Organization>,
    /// URL.
    pub url: Option<String>,
    /// DESC: free-form text.
    pub description: Option<String>,
    /// Every other child element, as received (JABBERID, ROLE, NOTE, ...).
    pub other: Vec<Element>,
}

/// The text of `el`, `None` when empty or only whitespace.
fn text(el: &Element) -> Option<String> {
    let t = el.text();
    (!t.trim().is_empty()).then(|| t.to_string())
}

/// The text of the child `name` of `el`.
fn child_text(el: &Element, name: &str) -> Option<String> {
    el.child(NS_VCARD, name).and_then(text)
}

/// The kinds named by the empty children of `el`.
fn kinds<T: Ord>(el: &Element, from_name: impl Fn(&str) -> Option<T>) -> BTreeSet<T> {
    el.children()
        .filter(|c| c.ns() == NS_VCARD)
        .filter_map(|c| from_name(c.local_name()))
        .collect()
}

impl VCard {
    /// An empty card.
    pub fn new() -> Self {
        VCard::default()
    }

    /// The first email address, if any.
    pub fn email(&self) -> Option<&str> {
        self.emails.first().map(|e| e.address.as_str())
    }

    /// Reads `<vCard xmlns='vcard-temp'/>` with the default limits.
    pub fn parse(vcard: &Element) -> Result<VCard, VCardParseError> {
        VCard::parse_with(vcard, &VCardLimits::default())
    }

    /// Reads `<vCard xmlns='vcard-temp'/>` within `limits`.
    pub fn parse_with(vcard: &Element, limits: &VCardLimits) -> Result<VCard, VCardParseError> {
        if !vcard.is(NS_VCARD, "vCard") {
            return Err(VCardParseError::WrongElement);
        }
        let mut card = VCard::new();
        let bounded = |len: usize, what: &'static str, max: usize| {
            if len >= max {
                Err(VCardParseError::TooMany { what, max })
            } else {
                Ok(())
            }
        };
        for el in vcard.children() {
            let name = if el.ns() == NS_VCARD {
                el.local_name()
            } else {
                ""
            };
            let kept = match name {
                "FN" if card.full_name.is_none() => {
                    card.full_name = text(el);
                    true
                }
                "NICKNAME" if card.nickname.is_none() => {
                    card.nickname = text(el);
                    true
                }
                "BDAY" if card.birthday.is_none() => {
                    card.birthday = text(el);
                    true
                }
                "TITLE" if card.title.is_none() => {
                    card.title = text(el);
                    true
                }
                "URL" if card.url.is_none() => {
                    card.url = text(el);
                    true
                }
                "DESC" if card.description.is_none() => {
                    card.description = text(el);
                    true
                }
                "N" if card.name.is_none() => {
                    let n = Name {
                        family: child_text(el, "FAMILY"),
                        given: child_text(el, "GIVEN"),
                        middle: child_text(el, "MIDDLE"),
                        prefix: child_text(el, "PREFIX"),
                        suffix: child_text(el, "SUFFIX"),
                    };
                    card.name = (n != Name::default()).then_some(n);
                    true
                }
                "ORG" if card.org.is_none() => {
                    let mut units = Vec::new();
                    for u in el.children().filter(|c| c.is(NS_VCARD, "ORGUNIT")) {
                        bounded(units.len(), "organization units", limits.max_entries)?;
                        units.extend(text(u));
                    }
                    let org = Organization {
                        name: child_text(el, "ORGNAME"),
                        units,
                    };
                    card.org = (org != Organization::default()).then_some(org);
                    true
                }
                "PHOTO" if card.photo.is_none() => {
                    card.photo = photo(el, limits)?;
                    true
                }
                "EMAIL" => {
                    bounded(card.emails.len(), "email addresses", limits.max_entries)?;
                    // USERID; some clients put the address as text (XEP-0153 §3.1).
                    let address = child_text(el, "USERID").or_else(|| text(el));
                    if let Some(address) = address {
                        let types = kinds(el, EmailType::from_name);
                        card.emails.push(Email { address, types });
                    }
                    true
                }
                "TEL" => {
                    bounded(
                        card.telephones.len(),
                        "telephone numbers",
                        limits.max_entries,
                    )?;
                    // An empty NUMBER is a placeholder (XEP-0054 §8).
                    if let Some(number) = child_text(el, "NUMBER") {
                        let types = kinds(el, TelType::from_name);
                        card.telephones.push(Telephone { number, types });
                    }
                    true
                }
                "ADR" => {
                    bounded(card.addresses.len(), "addresses", limits.max_entries)?;
                    let adr = Address {
                        types: kinds(el, AddressType::from_name),
                        pobox: child_text(el, "POBOX"),
                        extadd: child_text(el, "EXTADD"),
                        street: child_text(el, "STREET"),
                        locality: child_text(el, "LOCALITY"),
                        region: child_text(el, "REGION"),
                        pcode: child_text(el, "PCODE"),
                        country: child_text(el, "CTRY"),
                    };
                    let empty = Address {
                        types: adr.types.clone(),
                        ..Address::default()
                    };
                    if adr != empty {
                        card.addresses.push(adr);
                    }
                    true
                }
                _ => false,
            };
            if !kept {
                bounded(card.other.len(), "other elements", limits.max_other)?;
                card.other.push(el.clone());
            }
        }
        Ok(card)
    }

    /// The card as `<vCard xmlns='vcard-temp'/>`: the typed properties in
    /// the order of the DTD, then [`VCard::other`].
    pub fn to_element(&self) -> Element {
        let mut v = Element::new(NS_VCARD, "vCard");
        let leaf = |name: &'static str, value: &str| {
            Element::new(NS_VCARD, name).with_text(value.to_string())
        };
        let opt = |v: &mut Element, name: &'static str, value: &Option<String>| {
            if let Some(value) = value {
                v.push_child(leaf(name, value));
            }
        };
        opt(&mut v, "FN", &self.full_name);
        if let Some(n) = &self.name {
            let mut el = Element::new(NS_VCARD, "N");
            for (name, value) in [
                ("FAMILY", &n.family),
                ("GIVEN", &n.given),
                ("MIDDLE", &n.middle),
                ("PREFIX", &n.prefix),
                ("SUFFIX", &n.suffix),
            ] {
                opt(&mut el, name, value);
            }
            v.push_child(el);
        }
        opt(&mut v, "NICKNAME", &self.nickname);
        if let Some(photo) = &self.photo {
            let mut el = Element::new(NS_VCARD, "PHOTO");
            match photo {
                Photo::Binary(image) => {
                    opt(&mut el, "TYPE", &image.mime_type);
                    el.push_child(leaf("BINVAL", &encode_base64(&image.data)));
                }
                Photo::Oversized { mime_type, encoded } => {
                    opt(&mut el, "TYPE", mime_type);
                    el.push_child(leaf("BINVAL", encoded));
                }
                Photo::External(uri) => el.push_child(leaf("EXTVAL", uri)),
            }
            v.push_child(el);
        }
        opt(&mut v, "BDAY", &self.birthday);
        for a in &self.addresses {
            let mut el = Element::new(NS_VCARD, "ADR");
            for t in &a.types {
                el.push_child(Element::new(NS_VCARD, t.as_str()));
            }
            for (name, value) in [
                ("POBOX", &a.pobox),
                ("EXTADD", &a.extadd),
                ("STREET", &a.street),
                ("LOCALITY", &a.locality),
                ("REGION", &a.region),
                ("PCODE", &a.pcode),
                ("CTRY", &a.country),
            ] {
                opt(&mut el, name, value);
            }
            v.push_child(el);
        }
        for t in &self.telephones {
            let mut el = Element::new(NS_VCARD, "TEL");
            for k in &t.types {
                el.push_child(Element::new(NS_VCARD, k.as_str()));
            }
            v.push_child(el.with_child(leaf("NUMBER", &t.number)));
        }
        for e in &self.emails {
            let mut el = Element::new(NS_VCARD, "EMAIL");
            for k in &e.types {
                el.push_child(Element::new(NS_VCARD, k.as_str()));
            }
            v.push_child(el.with_child(leaf("USERID", &e.address)));
        }
        opt(&mut v, "TITLE", &self.title);
        if let Some(org) = &self.org {
            let mut el = Element::new(NS_VCARD, "ORG");
            opt(&mut el, "ORGNAME", &org.name);
            for u in &org.units {
                el.push_child(leaf("ORGUNIT", u));
            }
            v.push_child(el);
        }
        opt(&mut v, "URL", &self.url);
        opt(&mut v, "DESC", &self.description);
        for o in &self.other {
            v.push_child(o.clone());
        }
        v
    }
}

/// Reads a PHOTO: the size of BINVAL is measured before it is decoded.
fn photo(el: &Element, limits: &VCardLimits) -> Result<Option<Photo>, VCardParseError> {
    let mime_type = child_text(el, "TYPE").map(|t| t.trim().to_string());
    if let Some(binval) = el.child(NS_VCARD, "BINVAL") {
        let encoded = binval.text();
        let len = encoded_len(&encoded);
        if len == 0 {
            return Ok(None);
        }
        if len > max_encoded_len(limits.max_photo_bytes) {
            return Ok(Some(Photo::Oversized {
                mime_type,
                encoded: encoded.to_string(),
            }));
        }
        let data = decode_base64(&encoded).ok_or(VCardParseError::InvalidPhoto)?;
        return Ok(Some(Photo::Binary(AvatarImage { mime_type, data })));
    }
    Ok(child_text(el, "EXTVAL").map(|uri| Photo::External(uri.trim().to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_card() -> VCard {
        VCard {
            full_name: Some("Peter Saint-Andre".into()),
            name: Some(Name {
                family: Some("Saint-Andre".into()),
                given: Some("Peter".into()),
                ..Name::default()
            }),
            nickname: Some("stpeter".into()),
            photo: Some(Photo::Binary(AvatarImage::new(
                "image/png",
                vec![1, 2, 3, 4],
            ))),
            birthday: Some("1966-08-06".into()),
            addresses: vec![Address {
                types: [AddressType::Work].into(),
                locality: Some("Denver".into()),
                country: Some("USA".into()),
                ..Address::default()
            }],
            telephones: vec![Telephone {
                number: "303-308-3282".into(),
                types: [TelType::Work, TelType::Voice].into(),
            }],
            emails: vec![Email {
                address: "stpeter@jabber.org".into(),
                types: [EmailType::Internet, EmailType::Pref].into(),
            }],
            title: Some("Executive Director".into()),
            org: Some(Organization {
                name: Some("XMPP Standards Foundation".into()),
                units: vec!["Board".into()],
            }),
            url: Some("http://www.xmpp.org/xsf/people/stpeter.shtml".into()),
            description: Some("More about me".into()),
            other: vec![Element::new(NS_VCARD, "JABBERID").with_text("stpeter@jabber.org")],
        }
    }

    #[test]
    fn a_card_round_trips() {
        let card = full_card();
        assert_eq!(VCard::parse(&card.to_element()), Ok(card.clone()));
        assert_eq!(card.email(), Some("stpeter@jabber.org"));
        assert_eq!(VCard::parse(&VCard::new().to_element()), Ok(VCard::new()));
    }

    #[test]
    fn duplicates_and_unknown_elements_are_kept_raw() {
        let el = Element::new(NS_VCARD, "vCard")
            .with_child(Element::new(NS_VCARD, "NICKNAME").with_text("one"))
            .with_child(Element::new(NS_VCARD, "NICKNAME").with_text("two"))
            .with_child(Element::new("urn:example", "extra"))
            .with_child(Element::new(NS_VCARD, "EMAIL").with_text("legacy@example.com"))
            .with_child(
                Element::new(NS_VCARD, "TEL")
                    .with_child(Element::new(NS_VCARD, "FAX"))
                    .with_child(Element::new(NS_VCARD, "NUMBER")),
            );
        let card = VCard::parse(&el).expect("valid");
        assert_eq!(card.nickname.as_deref(), Some("one"));
        assert_eq!(card.other.len(), 2);
        assert_eq!(card.email(), Some("legacy@example.com"));
        assert!(
            card.telephones.is_empty(),
            "an empty NUMBER is a placeholder"
        );
        let back = VCard::parse(&card.to_element()).expect("valid");
        assert_eq!(back, card);
    }

    #[test]
    fn hostile_cards_are_typed_errors() {
        assert_eq!(
            VCard::parse(&Element::new("vcard-temp", "vcard")),
            Err(VCardParseError::WrongElement)
        );
        let limits = VCardLimits {
            max_entries: 2,
            max_other: 1,
            ..VCardLimits::default()
        };
        let mut many = Element::new(NS_VCARD, "vCard");
        for _ in 0..3 {
            many.push_child(
                Element::new(NS_VCARD, "EMAIL")
                    .with_child(Element::new(NS_VCARD, "USERID").with_text("a@b")),
            );
        }
        assert!(matches!(
            VCard::parse_with(&many, &limits),
            Err(VCardParseError::TooMany { max: 2, .. })
        ));
        let mut other = Element::new(NS_VCARD, "vCard");
        for _ in 0..2 {
            other.push_child(Element::new(NS_VCARD, "NOTE"));
        }
        assert!(matches!(
            VCard::parse_with(&other, &limits),
            Err(VCardParseError::TooMany { max: 1, .. })
        ));
        let bad_photo = Element::new(NS_VCARD, "vCard").with_child(
            Element::new(NS_VCARD, "PHOTO")
                .with_child(Element::new(NS_VCARD, "BINVAL").with_text("not*base64")),
        );
        assert_eq!(VCard::parse(&bad_photo), Err(VCardParseError::InvalidPhoto));
    }

    #[test]
    fn a_photo_past_the_limit_is_measured_not_decoded_and_kept() {
        let limits = VCardLimits {
            max_photo_bytes: 3,
            ..VCardLimits::default()
        };
        let photo = |b64: &str| {
            Element::new(NS_VCARD, "vCard").with_child(
                Element::new(NS_VCARD, "PHOTO")
                    .with_child(Element::new(NS_VCARD, "TYPE").with_text("image/png"))
                    .with_child(Element::new(NS_VCARD, "BINVAL").with_text(b64.to_string())),
            )
        };
        // 3 bytes, with line breaks: decoded.
        let card = VCard::parse_with(&photo("YW\r\nJj\n"), &limits).expect("valid");
        assert_eq!(
            card.photo,
            Some(Photo::Binary(AvatarImage::new(
                "image/png",
                b"abc".to_vec()
            )))
        );
        // 4 bytes: kept as received, even though it is not valid base64
        // (it was never decoded), and written back as it came.
        let card = VCard::parse_with(&photo("YWJjZA==*"), &limits).expect("kept");
        let Some(Photo::Oversized { mime_type, encoded }) = &card.photo else {
            panic!("{:?}", card.photo)
        };
        assert_eq!(
            (mime_type.as_deref(), encoded.as_str()),
            (Some("image/png"), "YWJjZA==*")
        );
        assert_eq!(VCard::parse_with(&card.to_element(), &limits), Ok(card));
        // An external photo.
        let ext = Element::new(NS_VCARD, "vCard").with_child(
            Element::new(NS_VCARD, "PHOTO")
                .with_child(Element::new(NS_VCARD, "EXTVAL").with_text("https://e.org/a.png")),
        );
        assert_eq!(
            VCard::parse(&ext).expect("valid").photo,
            Some(Photo::External("https://e.org/a.png".into()))
        );
    }
}
