//! What the proxy records of each request, and the counts a report shows.

use std::collections::BTreeMap;
use std::time::Duration;

use super::plan::FaultKind::{self, *};

/// One request as the proxy saw and handled it.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// From the SigV4 credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`);
    /// "unknown" without one.
    pub service: String,
    /// Query protocol: the form's `Action`; JSON protocol: the operation in `X-Amz-Target`; REST:
    /// "METHOD /path" without the query string.
    pub action: String,
    pub fault: Option<FaultKind>,
    /// Dropped because the service was inside a down window.
    pub down: bool,
    /// The drawn latency or slow-read time; zero for other faults.
    pub delay: Duration,
    /// The request reached moto.
    pub forwarded: bool,
    /// The whole answer was written to the client without an error.
    pub answered: bool,
    /// The status written to the client, if any.
    pub status: Option<u16>,
    /// The proxy is finished with the request; until then the fields above may change.
    pub done: bool,
    /// From the request's arrival to the end of its answer (or of the connection).
    pub elapsed: Duration,
    /// The body, form bodies URL-decoded so a Publish's `Message` is readable; kept for "sns" and
    /// "dynamodb" only, to tell which alert a request carried.
    pub body: String,
}

impl Record {
    /// Reached moto, but the client may not have seen the answer: closed after forwarding, an
    /// answer late or slow enough that the client may have timed out (a delay was injected, or
    /// the request took as long as [`SLOW`] anyway, as a busy moto can), or any write error.
    pub fn ambiguous(&self) -> bool {
        let late = matches!(self.fault, Some(LatencyBefore | LatencyAfter | SlowRead))
            || self.elapsed >= SLOW;
        self.forwarded && (!self.answered || late)
    }

    /// "down", the fault's name, or "none": a report's fault column.
    pub fn fault_name(&self) -> &'static str {
        match (self.down, self.fault) {
            (true, _) => "down",
            (false, Some(kind)) => kind.name(),
            (false, None) => "none",
        }
    }
}

/// Half the shortest attempt timeout of the forwarder's clients (2 s, for diagnosis and flood
/// control): an answer this slow may have reached a client that had given up on it.
pub const SLOW: Duration = Duration::from_secs(1);

/// Requests counted by (service, fault name).
pub fn summary(records: &[Record]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        let key = (r.service.clone(), r.fault_name().to_owned());
        *counts.entry(key).or_default() += 1;
    }
    counts
}
