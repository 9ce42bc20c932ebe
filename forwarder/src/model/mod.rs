//! The facts the pipeline shares: what API Gateway writes and what a failure is.

pub mod cause;
pub mod finding;
pub mod language;
pub mod tokens;
