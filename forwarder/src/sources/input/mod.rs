//! What a file or standard input given to `forwarder scan` holds.
//!
//! Users feed whatever they have: an exported log, an event copied from a test, a dead-letter
//! queue dump, a gzip of any of these. Each is read whole or refused with what is wrong with it;
//! nothing is read as an empty log by mistake.

mod part;
pub(super) mod shape;
mod sniff;
mod unwrap;

pub use part::{Content, OutputEvent, Part};
pub use sniff::sniff;
pub use unwrap::output_batch;

#[cfg(test)]
mod tests;
