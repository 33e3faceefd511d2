//! XEP-0115 §5 verification strings: the generation method (§5.1, with the
//! examples of §5.2 and §5.3 as tests) and the processing rules (§5.4)
//! that decide whether a disco#info answer may be cached for a `ver`.
//!
//! Sorting is "i;octet" (RFC 4790 §9.3): byte order of the UTF-8 strings,
//! which is Rust's `str` order. Identities sort by category, then type,
//! then `xml:lang` (an absent one as empty), then name: the order of the
//! tuple, not of the formatted `category/type/lang/name` strings (which
//! would differ where a category is a prefix of another).

use std::collections::BTreeSet;

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

use super::form::{DataForm, FieldType, FORM_TYPE};
use super::DiscoInfo;

/// The hash functions of a `<c hash='...'/>` this crate computes. Only
/// SHA-1, the mandatory one (§9.1); others are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CapsHash {
    /// `sha-1` (RFC 3174).
    Sha1,
}

impl CapsHash {
    /// The name in the `hash` attribute (the IANA hash function textual name).
    pub fn as_str(self) -> &'static str {
        match self {
            CapsHash::Sha1 => "sha-1",
        }
    }

    /// The hash named by a `hash` attribute, when this crate computes it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha-1" => Some(CapsHash::Sha1),
            _ => None,
        }
    }
}

/// Why a disco#info answer cannot be cached for a `ver` (§5.4 step 3).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapsError {
    /// Two identities with the same category/type/lang/name (§5.4 3.3).
    #[error("the identity {0} is listed twice")]
    DuplicateIdentity(String),
    /// Two features with the same name (§5.4 3.4).
    #[error("the feature {0:?} is listed twice")]
    DuplicateFeature(String),
    /// Two extension forms with the same `FORM_TYPE` (§5.4 3.5).
    #[error("two extension forms have the FORM_TYPE {0:?}")]
    DuplicateFormType(String),
    /// A `FORM_TYPE` field with different values (§5.4 3.5).
    #[error("a FORM_TYPE field has different values")]
    AmbiguousFormType,
    /// A field of a hashed form without a `var`, or a `var` twice: the
    /// hash would not cover it, or would depend on document order.
    #[error("a field of the form {0:?} has no var, or the same var as another")]
    AmbiguousField(String),
    /// A hashed string contains `<`, the separator of the hash input: two
    /// different answers could then hash alike (the "trivial preimage"
    /// attack on XEP-0115; refused here, a rule of this crate).
    #[error("{0:?} contains '<', the separator of the hash input")]
    Separator(String),
    /// The answer hashes to another `ver`: it is not what was advertised.
    #[error("the answer hashes to {computed}, not to the advertised ver")]
    Mismatch {
        /// What the answer hashes to.
        computed: String,
    },
}

/// The string S of §5.1 (steps 1-8) for `info`. Extension forms count only
/// with a `FORM_TYPE` field of type `hidden` (§5.4 3.6); fields without a
/// `var` are left out.
pub fn hash_input(info: &DiscoInfo) -> String {
    let mut s = String::new();
    let mut identities: Vec<_> = info
        .identities
        .iter()
        .map(|i| {
            (
                i.category.as_str(),
                i.kind.as_str(),
                i.lang.as_deref().unwrap_or(""),
                i.name.as_deref().unwrap_or(""),
            )
        })
        .collect();
    identities.sort_unstable();
    for (category, kind, lang, name) in identities {
        for part in [category, "/", kind, "/", lang, "/", name, "<"] {
            s.push_str(part);
        }
    }
    let mut features: Vec<&str> = info.features.iter().map(String::as_str).collect();
    features.sort_unstable();
    for f in features {
        s.push_str(f);
        s.push('<');
    }
    let mut forms: Vec<(&str, &DataForm)> = info
        .extensions
        .iter()
        .filter_map(|f| Some((hashed_form_type(f)?, f)))
        .collect();
    forms.sort_by(|a, b| a.0.cmp(b.0));
    for (form_type, form) in forms {
        s.push_str(form_type);
        s.push('<');
        let mut fields: Vec<(&str, Vec<&str>)> = form
            .fields
            .iter()
            .filter_map(|f| {
                let var = f.var.as_deref().filter(|v| *v != FORM_TYPE)?;
                let mut values: Vec<&str> = f.values.iter().map(String::as_str).collect();
                values.sort_unstable();
                Some((var, values))
            })
            .collect();
        fields.sort_unstable();
        for (var, values) in fields {
            s.push_str(var);
            s.push('<');
            for v in values {
                s.push_str(v);
                s.push('<');
            }
        }
    }
    s
}

/// The `FORM_TYPE` of a form that takes part in the hash: a `hidden`
/// `FORM_TYPE` field with a value.
fn hashed_form_type(form: &DataForm) -> Option<&str> {
    let field = form.field(FORM_TYPE)?;
    if field.kind != Some(FieldType::Hidden) {
        return None;
    }
    field.values.first().map(String::as_str)
}

/// The verification string of `info` with `hash` (§5.1 step 9): the hash of
/// [`hash_input`], in Base64 with padding.
pub fn verification_string(info: &DiscoInfo, hash: CapsHash) -> String {
    let input = hash_input(info);
    let digest = match hash {
        CapsHash::Sha1 => Sha1::digest(input.as_bytes()),
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The checks of §5.4 step 3 that come before hashing (3.3-3.5), and this
/// crate's refusal of `<` inside hashed strings.
pub fn check_well_formed(info: &DiscoInfo) -> Result<(), CapsError> {
    let mut seen = BTreeSet::new();
    for i in &info.identities {
        let parts = [
            i.category.as_str(),
            i.kind.as_str(),
            i.lang.as_deref().unwrap_or(""),
            i.name.as_deref().unwrap_or(""),
        ];
        for p in parts {
            no_separator(p)?;
        }
        if !seen.insert(parts) {
            return Err(CapsError::DuplicateIdentity(parts.join("/")));
        }
    }
    let mut seen = BTreeSet::new();
    for f in &info.features {
        no_separator(f)?;
        if !seen.insert(f.as_str()) {
            return Err(CapsError::DuplicateFeature(f.clone()));
        }
    }
    let mut form_types = BTreeSet::new();
    for form in &info.extensions {
        if let Some(field) = form.field(FORM_TYPE) {
            if field.values.iter().any(|v| *v != field.values[0]) {
                return Err(CapsError::AmbiguousFormType);
            }
        }
        let Some(form_type) = hashed_form_type(form) else {
            continue; // §5.4 3.6: ignored, not hashed.
        };
        if !form_types.insert(form_type) {
            return Err(CapsError::DuplicateFormType(form_type.to_string()));
        }
        let mut vars = BTreeSet::new();
        for field in &form.fields {
            let Some(var) = field.var.as_deref() else {
                return Err(CapsError::AmbiguousField(form_type.to_string()));
            };
            if !vars.insert(var) {
                return Err(CapsError::AmbiguousField(form_type.to_string()));
            }
            no_separator(var)?;
            for v in &field.values {
                no_separator(v)?;
            }
        }
    }
    Ok(())
}

fn no_separator(s: &str) -> Result<(), CapsError> {
    if s.contains('<') {
        return Err(CapsError::Separator(s.to_string()));
    }
    Ok(())
}

/// §5.4 step 3: `info` may be cached for `ver` only when it is well formed
/// and hashes (with `hash`) to exactly `ver`.
pub fn verify(info: &DiscoInfo, hash: CapsHash, ver: &str) -> Result<(), CapsError> {
    check_well_formed(info)?;
    let computed = verification_string(info, hash);
    if computed != ver {
        return Err(CapsError::Mismatch { computed });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disco::form::FormField;
    use crate::disco::Identity;

    const CAPS: &str = "http://jabber.org/protocol/caps";
    const INFO: &str = "http://jabber.org/protocol/disco#info";
    const ITEMS: &str = "http://jabber.org/protocol/disco#items";
    const MUC: &str = "http://jabber.org/protocol/muc";

    /// §5.2: Exodus 0.9.1 (its features given out of order here).
    fn simple() -> DiscoInfo {
        DiscoInfo::new(
            [Identity::new("client", "pc").with_name("Exodus 0.9.1")],
            [MUC, INFO, CAPS, ITEMS],
        )
    }

    /// §5.3: Psi 0.11 in two languages, with a software-information form.
    fn complex() -> DiscoInfo {
        let mut info = DiscoInfo::new(
            [
                Identity::new("client", "pc")
                    .with_lang("en")
                    .with_name("Psi 0.11"),
                Identity::new("client", "pc")
                    .with_lang("el")
                    .with_name("Ψ 0.11"),
            ],
            [CAPS, INFO, ITEMS, MUC],
        );
        info.extensions.push(DataForm::result(
            "urn:xmpp:dataforms:softwareinfo",
            [
                FormField::new("ip_version", ["ipv4", "ipv6"]).with_type(FieldType::TextMulti),
                FormField::new("os", ["Mac"]),
                FormField::new("os_version", ["10.5.1"]),
                FormField::new("software", ["Psi"]),
                FormField::new("software_version", ["0.11"]),
            ],
        ));
        info
    }

    #[test]
    fn the_simple_example_of_section_5_2() {
        assert_eq!(
            hash_input(&simple()),
            "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<\
             http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<\
             http://jabber.org/protocol/muc<"
        );
        assert_eq!(
            verification_string(&simple(), CapsHash::Sha1),
            "QgayPKawpkPSDYmwT/WM94uAlu0="
        );
        assert_eq!(
            verify(&simple(), CapsHash::Sha1, "QgayPKawpkPSDYmwT/WM94uAlu0="),
            Ok(())
        );
    }

    #[test]
    fn the_complex_example_of_section_5_3() {
        assert_eq!(
            hash_input(&complex()),
            "client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<\
             http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<\
             http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<\
             ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<"
        );
        assert_eq!(
            verification_string(&complex(), CapsHash::Sha1),
            "q07IKJEyjvHSyhy//CH0CxmKi8w="
        );
        // Field and value order does not matter, nor does the form's place.
        let mut shuffled = complex();
        shuffled.extensions[0].fields.reverse();
        shuffled.extensions[0].fields[0].values.reverse();
        shuffled.identities.reverse();
        assert_eq!(
            verify(&shuffled, CapsHash::Sha1, "q07IKJEyjvHSyhy//CH0CxmKi8w="),
            Ok(())
        );
    }

    #[test]
    fn forms_without_a_hidden_form_type_are_not_hashed() {
        let mut info = simple();
        info.extensions.push(DataForm::result(
            "urn:example",
            [FormField::new("a", ["b"])],
        ));
        info.extensions[0].fields[0].kind = Some(FieldType::TextSingle);
        info.extensions.push(DataForm {
            fields: vec![FormField::new("a", ["b"])],
            ..DataForm::default()
        });
        assert_eq!(
            verification_string(&info, CapsHash::Sha1),
            "QgayPKawpkPSDYmwT/WM94uAlu0="
        );
    }

    #[test]
    fn identities_sort_as_tuples_not_as_formatted_strings() {
        // "a-b" < "a" as formatted strings ('-' < '/'), "a" < "a-b" as tuples.
        let info = DiscoInfo::new(
            [Identity::new("a-b", "x"), Identity::new("a", "x")],
            Vec::<String>::new(),
        );
        assert_eq!(hash_input(&info), "a/x//<a-b/x//<");
    }

    #[test]
    fn ill_formed_answers_are_refused_before_hashing() {
        let ver = |info: &DiscoInfo| verification_string(info, CapsHash::Sha1);
        let mut twice = simple();
        twice.features.push(MUC.into());
        assert_eq!(
            verify(&twice, CapsHash::Sha1, &ver(&twice)),
            Err(CapsError::DuplicateFeature(MUC.into()))
        );
        let mut twice = simple();
        twice.identities.push(twice.identities[0].clone());
        assert!(matches!(
            verify(&twice, CapsHash::Sha1, &ver(&twice)),
            Err(CapsError::DuplicateIdentity(_))
        ));
        let mut twice = complex();
        twice.extensions.push(twice.extensions[0].clone());
        assert!(matches!(
            verify(&twice, CapsHash::Sha1, &ver(&twice)),
            Err(CapsError::DuplicateFormType(_))
        ));
        let mut ambiguous = complex();
        ambiguous.extensions[0].fields[0]
            .values
            .push("urn:other".into());
        assert_eq!(
            verify(&ambiguous, CapsHash::Sha1, &ver(&ambiguous)),
            Err(CapsError::AmbiguousFormType)
        );
        // The preimage trick: one feature "a<b" hashes like features "a", "b".
        let split = DiscoInfo::new([Identity::default()], ["a", "b"]);
        let joined = DiscoInfo::new([Identity::default()], ["a<b"]);
        assert_eq!(hash_input(&split), hash_input(&joined));
        assert_eq!(verify(&split, CapsHash::Sha1, &ver(&split)), Ok(()));
        assert_eq!(
            verify(&joined, CapsHash::Sha1, &ver(&split)),
            Err(CapsError::Separator("a<b".into()))
        );
        assert_eq!(
            verify(&simple(), CapsHash::Sha1, "q07IKJEyjvHSyhy//CH0CxmKi8w="),
            Err(CapsError::Mismatch {
                computed: "QgayPKawpkPSDYmwT/WM94uAlu0=".into()
            })
        );
    }
}
