//! Configurable bounds on what one peer can make the reader hold.

/// Limits of the stream reader. Each exceeded limit is a typed
/// [`XmlError`](super::XmlError); together they bound the memory one stream
/// can hold to about `max_stanza_size + max_buffered` plus the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderLimits {
    /// Largest top-level element (stanza) in bytes, markup included.
    /// Default 256 KiB, as Prosody's `c2s_stanza_size_limit`.
    pub max_stanza_size: usize,
    /// Deepest nesting below the stream element (a stanza is depth 1). Default 64.
    pub max_depth: usize,
    /// Most attributes on one element, namespace declarations included. Default 64.
    pub max_attributes: usize,
    /// Most bytes held without a complete token: one text run without `<`,
    /// one unterminated tag. Default 256 KiB.
    pub max_buffered: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        ReaderLimits {
            max_stanza_size: 256 * 1024,
            max_depth: 64,
            max_attributes: 64,
            max_buffered: 256 * 1024,
        }
    }
}
