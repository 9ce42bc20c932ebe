//! Why an invocation failed, as Lambda is told it: every kind goes back as an error, so Lambda's
//! retries and the on-failure destination keep the event.

use crate::alerts::publish::PublishError;
use crate::diagnose::inspect::InspectError;
use crate::sources::DecodeError;
use crate::sources::changes::EventError;

/// Why an invocation failed. Both kinds are returned to Lambda as errors, so its retries and the
/// on-failure destination keep the event: a bad event is kept for a person to look at, a failed
/// publish is tried again.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("event rejected: {0}")]
    Decode(#[from] DecodeError),
    /// Delivery is at least once: the alerts sent before the failure are sent again on retry.
    #[error("{published} of {total} alerts published, then {source}")]
    Publish {
        published: usize,
        total: usize,
        #[source]
        source: PublishError,
    },
    /// Only the scheduled recovery check reads the windows without a batch to alert on; it
    /// fails, and the next run tries again.
    #[error("flood-control windows unreadable: {0}")]
    Windows(String),
    /// A check before traffic could not be finished (see [`crate::deploy`]).
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The invocation's time ran out (see [`super::Services::until`]); Lambda retries the event.
    #[error("stopped before the function's timeout with the batch not done; the event is retried")]
    Deadline,
}

/// Why a check invocation failed besides publishing: Lambda retries it, then keeps it.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("event rejected: {0}")]
    Event(#[from] EventError),
    #[error("stack {stack}: {source}")]
    Stack {
        stack: String,
        #[source]
        source: InspectError,
    },
    #[error("listing the APIs to sweep: {0}")]
    Catalog(InspectError),
    #[error("{} of {} APIs not checked: {}", .unchecked.len(), .total, unchecked_text(.unchecked))]
    Unchecked {
        /// Each API not checked, and why.
        unchecked: Vec<(String, String)>,
        total: usize,
    },
}

fn unchecked_text(unchecked: &[(String, String)]) -> String {
    unchecked
        .iter()
        .map(|(api, why)| format!("{api}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}
