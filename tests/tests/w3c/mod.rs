//! Support code of the W3C XML conformance test: reading the catalogs and
//! computing what the restricted-XML profile expects for each case.

pub mod catalog;
pub mod oracle;
