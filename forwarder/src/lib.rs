//! Alerts on API Gateway Lambda authorizer configuration errors, for HTTP, REST and WebSocket APIs.
//!
//! A CloudWatch Logs subscription filter on the stage's access-log group (and a REST
//! or WebSocket API's execution-log group) invokes the function with batches of lines. Lines where
//! API Gateway wrote `AUTHORIZER_CONFIGURATION_ERROR`, `AUTHORIZER_FAILURE` or its authorizer
//! message, or an execution log's failure, are classified by cause, grouped, and published to SNS
//! as an email, a chat notification and machine JSON.
//!
//! When asked to, each alert is checked against the API's live configuration: the route's
//! authorizer, its function and that function's resource policy.
//!
//! The crate is laid out as that pipeline, and each module uses only those declared before it
//! (ARCHITECTURE.md has the map and the invariants; `tests/tests/layout.rs` holds the code to
//! them): shared text and facts ([`text`], [`model`]), the SDK's set-up ([`sdk`]), then the
//! stages from event to alert ([`sources`], [`detect`], [`diagnose`], [`config`], [`alerts`],
//! [`metrics`], [`forward`]), the checks before traffic ([`deploy`]), and the edges a person
//! or Lambda calls ([`preflight`], [`cli`], [`lambda`]). The stages are plain functions over
//! plain data; each AWS call sits behind a small trait with an in-memory version.

/// Hostile text made safe to show, and the grammars of AWS names and ids.
pub mod text;

/// What every stage shares: API Gateway's tokens and messages, causes, findings, log kinds.
pub mod model;

/// The AWS SDK's set-up: Region, credentials, timeouts, TLS roots, one-line errors.
pub mod sdk;

/// Reading what AWS delivers: subscription and Kinesis events, gzip, CLI inputs, change events.
pub mod sources;

/// Finding the token and reading each line by its log's format.
pub mod detect;

/// The live API read and judged: which authorizer, which function, which policy.
pub mod diagnose;

/// The operator's settings, read once from the environment or the command line.
pub mod config;

/// Grouping findings, flood control, rendering and publishing alerts.
pub mod alerts;

/// Each invocation's counts as CloudWatch metrics (embedded metric format).
pub mod metrics;

/// The pipeline from an event to published alerts, and the invocation's errors.
pub mod forward;

/// Checks of an API before any request fails: deployments, API changes, a sweep.
pub mod deploy;

/// `check`: whether a log group is set up so failures reach the forwarder.
pub mod preflight;

/// The command line.
pub mod cli;

/// The Lambda handler.
pub mod lambda;

/// Turns transparent huge pages off for this process, as the binary does before its allocator's
/// first arena (see `main.rs` for why); benches and the floor process call it to run as it ships.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with the documented arguments of PR_SET_THP_DISABLE only changes this
    // process's page policy; it touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
