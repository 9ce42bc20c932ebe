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
//! The core ([`decode`], [`access_log`], [`execution_log`], [`detect`], [`cause`], [`diagnose`],
//! [`alert`]) is plain functions over plain data; AWS calls sit behind the small traits of
//! [`publish`] and [`inspect`]. Each invocation's counts become CloudWatch metrics through
//! [`metrics`].

pub mod alerts;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod detect;
pub mod diagnose;
pub mod forward;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod preflight;
pub mod sdk;
pub mod sources;
pub mod text;

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
