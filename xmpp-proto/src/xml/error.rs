//! Errors of the stream reader: what went wrong, and where (byte offset).

/// Which rule of restricted XML (RFC 6120 §11) or which limit the input broke.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XmlErrorKind {
    /// The bytes are not valid UTF-8 (the only encoding XMPP allows).
    InvalidUtf8,
    /// The XML declaration names an encoding other than UTF-8, or is malformed.
    BadDeclaration,
    /// A document type declaration (`<!DOCTYPE`): DTDs are never processed.
    Doctype,
    /// A comment (`<!--`), which restricted XML forbids.
    Comment,
    /// A processing instruction (`<?`), allowed only as the XML declaration at the start.
    ProcessingInstruction,
    /// Markup starting with `<!` that is neither CDATA nor one of the above.
    UnknownMarkup,
    /// An entity reference other than `&lt; &gt; &amp; &quot; &apos;` (no entity expansion).
    UndefinedEntity,
    /// A character reference to a character XML 1.0 forbids, or a malformed one.
    InvalidCharRef,
    /// A character XML 1.0 forbids (control characters, U+FFFE, U+FFFF).
    InvalidChar,
    /// A bare `&`, a `<` in an attribute value, or `]]>` in text.
    InvalidMarkupChar,
    /// An end tag that does not match the open element.
    MismatchedTag,
    /// The input ended inside the stream (only reported after `finish`).
    UnexpectedEof,
    /// A prefix used without a namespace declaration in scope.
    UnboundPrefix,
    /// The same attribute (by expanded name) twice on one element.
    DuplicateAttribute,
    /// A misuse of the reserved `xml`/`xmlns` prefixes or namespaces, or an
    /// empty prefixed namespace declaration.
    ReservedNamespace,
    /// An element or attribute name that is not a valid (namespace-aware) XML name.
    InvalidName,
    /// Text or markup outside the root element, or anything after the stream ended.
    ContentOutsideRoot,
    /// Any other syntax error found by the tokenizer.
    Syntax,
    /// A top-level element bigger than the configured `max_stanza_size`.
    StanzaTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Elements nested deeper than `max_depth`.
    TooDeep {
        /// The limit in levels below the stream element.
        limit: usize,
    },
    /// An element with more than `max_attributes` attributes (declarations included).
    TooManyAttributes {
        /// The limit.
        limit: usize,
    },
    /// More than `max_buffered` bytes received without completing a token
    /// (for example endless text without `<`).
    BufferFull {
        /// The limit in bytes.
        limit: usize,
    },
}

impl XmlErrorKind {
    /// A stable, short, kebab-case name for logs and JSON (`"undefined-entity"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            XmlErrorKind::InvalidUtf8 => "invalid-utf8",
            XmlErrorKind::BadDeclaration => "bad-declaration",
            XmlErrorKind::Doctype => "doctype",
            XmlErrorKind::Comment => "comment",
            XmlErrorKind::ProcessingInstruction => "processing-instruction",
            XmlErrorKind::UnknownMarkup => "unknown-markup",
            XmlErrorKind::UndefinedEntity => "undefined-entity",
            XmlErrorKind::InvalidCharRef => "invalid-char-ref",
            XmlErrorKind::InvalidChar => "invalid-char",
            XmlErrorKind::InvalidMarkupChar => "invalid-markup-char",
            XmlErrorKind::MismatchedTag => "mismatched-tag",
            XmlErrorKind::UnexpectedEof => "unexpected-eof",
            XmlErrorKind::UnboundPrefix => "unbound-prefix",
            XmlErrorKind::DuplicateAttribute => "duplicate-attribute",
            XmlErrorKind::ReservedNamespace => "reserved-namespace",
            XmlErrorKind::InvalidName => "invalid-name",
            XmlErrorKind::ContentOutsideRoot => "content-outside-root",
            XmlErrorKind::Syntax => "syntax",
            XmlErrorKind::StanzaTooLarge { .. } => "stanza-too-large",
            XmlErrorKind::TooDeep { .. } => "too-deep",
            XmlErrorKind::TooManyAttributes { .. } => "too-many-attributes",
            XmlErrorKind::BufferFull { .. } => "buffer-full",
        }
    }

    /// True when the error is a configured limit rather than malformed XML
    /// (RFC 6120 maps limits to `policy-violation`, the rest to `not-well-formed`
    /// or `restricted-xml`).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            XmlErrorKind::StanzaTooLarge { .. }
                | XmlErrorKind::TooDeep { .. }
                | XmlErrorKind::TooManyAttributes { .. }
                | XmlErrorKind::BufferFull { .. }
        )
    }

    /// True when the input used an XML feature XMPP forbids (RFC 6120 §11.1):
    /// DTDs, comments, processing instructions, undefined entities.
    pub fn is_restricted_xml(&self) -> bool {
        matches!(
            self,
            XmlErrorKind::Doctype
                | XmlErrorKind::Comment
                | XmlErrorKind::ProcessingInstruction
                | XmlErrorKind::UndefinedEntity
        )
    }
}

/// A fatal error in the received XML stream. The reader stops at the first
/// one; every complete element before it has already been delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("XML stream error at byte {offset}: {} ({}); the stream cannot continue, close it with a stream error", .kind.as_str(), describe(.kind))]
pub struct XmlError {
    /// What rule was broken.
    pub kind: XmlErrorKind,
    /// Byte offset in the stream (counted from the first byte fed) where the
    /// offending construct starts.
    pub offset: u64,
}

fn describe(kind: &XmlErrorKind) -> String {
    match kind {
        XmlErrorKind::InvalidUtf8 => "bytes are not valid UTF-8".into(),
        XmlErrorKind::BadDeclaration => "malformed XML declaration or non-UTF-8 encoding".into(),
        XmlErrorKind::Doctype => "DOCTYPE/DTD is not allowed in XMPP".into(),
        XmlErrorKind::Comment => "comments are not allowed in XMPP".into(),
        XmlErrorKind::ProcessingInstruction => {
            "processing instructions are not allowed in XMPP".into()
        }
        XmlErrorKind::UnknownMarkup => "unknown markup declaration".into(),
        XmlErrorKind::UndefinedEntity => "only the five predefined entities are allowed".into(),
        XmlErrorKind::InvalidCharRef => "character reference to a forbidden character".into(),
        XmlErrorKind::InvalidChar => "character not allowed in XML 1.0".into(),
        XmlErrorKind::InvalidMarkupChar => "bare '&', '<' in attribute or ']]>' in text".into(),
        XmlErrorKind::MismatchedTag => "end tag does not match the open element".into(),
        XmlErrorKind::UnexpectedEof => "input ended inside the stream".into(),
        XmlErrorKind::UnboundPrefix => "namespace prefix is not declared".into(),
        XmlErrorKind::DuplicateAttribute => "attribute appears twice".into(),
        XmlErrorKind::ReservedNamespace => "reserved xml/xmlns prefix or namespace misused".into(),
        XmlErrorKind::InvalidName => "invalid element or attribute name".into(),
        XmlErrorKind::ContentOutsideRoot => "content outside the stream element".into(),
        XmlErrorKind::Syntax => "malformed markup".into(),
        XmlErrorKind::StanzaTooLarge { limit } => format!("stanza larger than {limit} bytes"),
        XmlErrorKind::TooDeep { limit } => format!("elements nested deeper than {limit}"),
        XmlErrorKind::TooManyAttributes { limit } => {
            format!("more than {limit} attributes on one element")
        }
        XmlErrorKind::BufferFull { limit } => {
            format!("more than {limit} bytes buffered without a complete token")
        }
    }
}
