//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 between the forwarder's AWS SDK clients and
//! `moto_server`, so a soak can fail calls the way AWS and the network do, from a seed it can
//! replay, and afterwards know which calls reached moto without their answer reaching the client.
//!
//! Each request goes to moto on a new connection (`Connection: close`); the answer is read whole
//! and written back with a `Content-Length`, so a fault acts on a whole answer.
//!
//! The plan and the fault kinds are in `plan.rs`, what the proxy records of each request in
//! `record.rs`, the HTTP/1.1 messages and the forwarding to moto in `wire.rs`, the faults' own
//! answers in `inject.rs`, and the listener with its per-request handling in `proxy.rs`.

mod inject;
mod plan;
mod proxy;
mod record;
mod wire;

#[cfg(test)]
mod tests;

pub use plan::{DownWindow, FaultKind, FaultPlan};
pub use proxy::FaultProxy;
pub use record::{Record, SLOW, summary};
