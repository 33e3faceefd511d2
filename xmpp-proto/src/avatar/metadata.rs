//! The metadata node's payload (XEP-0084 §4.2): the formats of the current
//! avatar, or none; bounded, with typed errors.

use crate::xml::Element;

use super::{AvatarError, NS_AVATAR_METADATA};

/// The most `<info/>`s read from one metadata item.
pub(super) const MAX_INFOS: usize = 16;

/// One `<info/>` of a metadata item (§4.2.1): one format of the avatar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarInfo {
    /// The SHA-1 (hex) of the image data: the data node's item id.
    pub id: String,
    /// The size of the image data, in bytes.
    pub bytes: u64,
    /// The content type.
    pub mime_type: String,
    /// The width in pixels, if given.
    pub width: Option<u16>,
    /// The height in pixels, if given.
    pub height: Option<u16>,
    /// Where the data is hosted over HTTP, if it is (then not in the data node).
    pub url: Option<String>,
}

impl AvatarInfo {
    // The error goes into an event as it is, never boxed and unboxed.
    #[allow(clippy::result_large_err)]
    fn parse(info: &Element) -> Result<Self, AvatarError> {
        let required = |name: &'static str| {
            info.attr(name)
                .filter(|v| !v.is_empty())
                .ok_or(AvatarError::Metadata(match name {
                    "id" => "an <info/> without its 'id'",
                    "bytes" => "an <info/> without its 'bytes'",
                    _ => "an <info/> without its 'type'",
                }))
        };
        let id = required("id")?.to_ascii_lowercase();
        let bytes = required("bytes")?
            .parse()
            .map_err(|_| AvatarError::Metadata("an <info/> whose 'bytes' is not a number"))?;
        Ok(AvatarInfo {
            id,
            bytes,
            mime_type: required("type")?.to_string(),
            width: info.attr("width").and_then(|w| w.parse().ok()),
            height: info.attr("height").and_then(|h| h.parse().ok()),
            url: info.attr("url").map(str::to_string),
        })
    }

    pub(super) fn to_element(&self) -> Element {
        let mut info = Element::new(NS_AVATAR_METADATA, "info")
            .with_attr("bytes", self.bytes.to_string())
            .with_attr("id", self.id.clone())
            .with_attr("type", self.mime_type.clone());
        if let Some(w) = self.width {
            info.set_attr("width", w.to_string());
        }
        if let Some(h) = self.height {
            info.set_attr("height", h.to_string());
        }
        if let Some(url) = &self.url {
            info.set_attr("url", url.clone());
        }
        info
    }
}

/// A metadata item (§4.2): the formats of the current avatar, the first
/// one available in the data node (`image/png`, §4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvatarMetadata {
    /// The formats, in document order (at least one).
    pub infos: Vec<AvatarInfo>,
}

impl AvatarMetadata {
    /// The metadata of a published item: `None` for "no avatar" (an empty
    /// `<metadata/>`, §3.5, or the older `<stop/>`).
    // The error goes into an event as it is, never boxed and unboxed.
    #[allow(clippy::result_large_err)]
    pub fn parse(payload: &Element) -> Result<Option<Self>, AvatarError> {
        if !payload.is(NS_AVATAR_METADATA, "metadata") {
            return Err(AvatarError::Metadata("not a <metadata/> element"));
        }
        let mut infos = Vec::new();
        for info in payload
            .children()
            .filter(|c| c.is(NS_AVATAR_METADATA, "info"))
        {
            if infos.len() == MAX_INFOS {
                return Err(AvatarError::Metadata("more than 16 <info/> elements"));
            }
            infos.push(AvatarInfo::parse(info)?);
        }
        Ok((!infos.is_empty()).then_some(AvatarMetadata { infos }))
    }

    /// The `<info/>` of the data node: the first without a `url`.
    pub fn in_data_node(&self) -> Option<&AvatarInfo> {
        self.infos.iter().find(|i| i.url.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_parsed_bounded_and_typed() {
        let info = |id: &str| {
            Element::new(NS_AVATAR_METADATA, "info")
                .with_attr("bytes", "12345")
                .with_attr("id", id.to_string())
                .with_attr("type", "image/png")
                .with_attr("width", "64")
        };
        let m = Element::new(NS_AVATAR_METADATA, "metadata")
            .with_child(info("111F4B3C50D7B0DF729D299BC6F8E9EF9066971F"));
        let parsed = AvatarMetadata::parse(&m)
            .expect("valid")
            .expect("an avatar");
        let first = &parsed.infos[0];
        assert_eq!(first.id, "111f4b3c50d7b0df729d299bc6f8e9ef9066971f");
        assert_eq!(
            (first.bytes, first.width, first.height),
            (12345, Some(64), None)
        );
        assert_eq!(parsed.in_data_node(), Some(first));
        // Round trip of what we publish.
        let back = Element::new(NS_AVATAR_METADATA, "metadata").with_child(first.to_element());
        assert_eq!(AvatarMetadata::parse(&back), Ok(Some(parsed.clone())));
        // No avatar: empty, or the older <stop/>.
        let empty = Element::new(NS_AVATAR_METADATA, "metadata");
        assert_eq!(AvatarMetadata::parse(&empty), Ok(None));
        let stop = empty
            .clone()
            .with_child(Element::new(NS_AVATAR_METADATA, "stop"));
        assert_eq!(AvatarMetadata::parse(&stop), Ok(None));
        // Malformed.
        let no_bytes = Element::new(NS_AVATAR_METADATA, "metadata")
            .with_child(Element::new(NS_AVATAR_METADATA, "info").with_attr("id", "x"));
        assert!(matches!(
            AvatarMetadata::parse(&no_bytes),
            Err(AvatarError::Metadata(_))
        ));
        let mut many = Element::new(NS_AVATAR_METADATA, "metadata");
        for _ in 0..=MAX_INFOS {
            many.push_child(info("a"));
        }
        assert!(matches!(
            AvatarMetadata::parse(&many),
            Err(AvatarError::Metadata(_))
        ));
    }
}
