//! Alerts on API Gateway HTTP API Lambda authorizer configuration errors.
//!
//! A CloudWatch Logs subscription filter on the stage's access-log group invokes the function with
//! batches of lines. Lines where API Gateway wrote `AUTHORIZER_CONFIGURATION_ERROR` are classified
//! by cause, grouped, and published to SNS as an email, a chat notification and machine JSON.
//!
//! The core ([`decode`], [`access_log`], [`detect`], [`cause`], [`alert`]) is plain functions over
//! plain data; the only AWS call sits behind [`publish::Publisher`].

pub mod access_log;
pub mod alert;
pub mod cause;
pub mod cli;
pub mod config;
pub mod decode;
pub mod detect;
pub mod escape;
pub mod forward;
pub mod lambda;
pub mod publish;
