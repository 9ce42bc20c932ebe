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
//! The crate is laid out as that pipeline. Each module uses only those declared before it;
//! ARCHITECTURE.md maps them with their invariants, and `tests/tests/layout.rs` holds the code
//! to the map. The stages are plain functions over plain data, and each AWS call sits behind a
//! small trait with an in-memory version.
//!
//! - [`text`]: hostile text made safe to show, and the grammars of AWS names and ids.
//! - [`model`]: what every stage shares: API Gateway's tokens and messages, causes, findings.
//! - [`sdk`]: the AWS SDK's set-up: one HTTPS client, Region, timeouts, one-line errors.
//! - [`sources`]: reading what AWS delivers: subscription, Kinesis and change events, gzip, and
//!   what a file given to the CLI holds.
//! - [`detect`]: finding the token and reading each line by its log's format.
//! - [`diagnose`]: the live API read and judged: which authorizer, function and policy.
//! - [`config`]: the operator's settings, read once from the environment or the command line.
//! - [`alerts`]: grouping findings, flood control, rendering and publishing alerts.
//! - [`metrics`]: each invocation's counts as CloudWatch metrics (embedded metric format).
//! - [`forward`]: the pipeline from an event to published alerts, and the invocation's errors.
//! - [`deploy`]: checks of an API before any request fails: deployments, changes, a sweep.
//! - [`preflight`]: what a deploy of the templates would fail on in an account, and the fix.
//! - [`cli`]: the command line.
//! - [`lambda`]: the Lambda handler.

pub mod text;

pub mod model;

pub mod sdk;

pub mod sources;

pub mod detect;

pub mod diagnose;

pub mod config;

pub mod alerts;

pub mod metrics;

pub mod forward;

pub mod deploy;

pub mod preflight;

pub mod cli;

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
