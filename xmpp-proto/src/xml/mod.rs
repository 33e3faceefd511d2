//! The XML layer: an incremental, chunking-independent stream reader under
//! RFC 6120's restricted-XML profile, the element tree, and the writer.
//!
//! Layers: [`reader`](StreamReader) (buffer, UTF-8, scanner, tokenizer,
//! builder) -> [`StreamEvent`]s carrying [`Element`] trees -> writer.

mod builder;
mod decl;
mod element;
mod error;
mod escape;
mod intern;
mod limits;
mod namespaces;
mod reader;
mod scanner;
mod writer;

pub use bytestring::ByteString;
pub use element::{is_ncname, Attribute, Element, InvalidName, Name, Node, NS_XML, NS_XMLNS};
pub use error::{XmlError, XmlErrorKind};
pub use limits::ReaderLimits;
pub use reader::{StreamEvent, StreamReader};
pub use writer::{write_stream_open, NS_STREAMS, STREAM_CLOSE};

#[cfg(test)]
mod tests;
