//! A format is loaded only if the lines API Gateway writes with it for a failure are flagged.
//! The check scans those lines, so it sits above the line scanner, which reads formats.

use crate::detect::access_log::format::{FormatError, LogFormat};
use crate::detect::access_log::presets::DEFAULT_FORMAT;
use crate::detect::access_log::vars::Var;
use crate::detect::line::scan_line;
use crate::model::cause::Cause;
use crate::model::finding::LineVerdict;

impl LogFormat {
    /// Parses the format string exactly as pasted into API Gateway, and refuses a format with
    /// which no failure API Gateway reports would ever be flagged: a stack with it would never
    /// alert, and a scan with it would pass every real failure as harmless.
    pub fn parse(source: &str) -> Result<Self, FormatError> {
        let format = Self::parse_layout(source)?;
        if !format.vars.iter().any(Var::is_error) {
            return Err(FormatError::NoErrorVariable);
        }
        format.sees_failures()?;
        Ok(format)
    }

    /// Refuses a format that can never report an authorizer failure: the lines API Gateway
    /// writes with it for each failure it reports ([`FAILURES`], the other variables plain or
    /// realistic) are scanned with it, and none is flagged with the cause its values name.
    fn sees_failures(&self) -> Result<(), FormatError> {
        let seen = FAILURES.iter().any(|failure| {
            [false, true].into_iter().any(|realistic| {
                let line = self.render(failure, realistic);
                matches!(
                    scan_line(&line, self),
                    LineVerdict::Flagged(f) if f.cause == failure.cause
                )
            })
        });
        if seen {
            return Ok(());
        }
        let only_messages = self
            .vars
            .iter()
            .filter(|v| v.is_error())
            .all(|v| matches!(v.0.as_str(), "error.message" | "error.messageString"));
        let why = if only_messages {
            "$context.error.message and $context.error.messageString hold only the body the client got, never the authorizer's error; log $context.error.responseType and $context.authorizer.error".to_owned()
        } else if let Some(why) = self.ambiguity() {
            format!("a failure line API Gateway writes with it is not read as one: {why}")
        } else {
            "a failure line API Gateway writes with it is not read as one; keep $context.error.responseType and $context.authorizer.error apart from client values, as the recommended format does".to_owned()
        };
        Err(FormatError::NeverSeesFailure(why))
    }

    /// The line API Gateway would write with this format for `failure`.
    fn render(&self, failure: &Failure, realistic: bool) -> String {
        let literals = &self.automaton.literals;
        let mut line = literals[0].clone();
        for (var, literal) in self.vars.iter().zip(&literals[1..]) {
            match var.0.as_str() {
                "authorizer.error" | "authorize.error" => line.push_str(failure.authorizer_error),
                "error.responseType" => line.push_str(failure.response_type),
                "error.message" => line.push_str(failure.message),
                "error.messageString" => {
                    line.push('"');
                    line.push_str(failure.message);
                    line.push('"');
                }
                _ => line.push_str(sample_value(var, realistic)),
            }
            line.push_str(literal);
        }
        line
    }
}

/// What API Gateway writes in the error variables for an authorizer it could not use, and the
/// cause those values name.
struct Failure {
    /// `$context.authorizer.error`, and `$context.authorize.error` (which the detector reads alike).
    authorizer_error: &'static str,
    /// `$context.error.responseType`.
    response_type: &'static str,
    /// `$context.error.message`, the body the client got; `$context.error.messageString` quotes it.
    message: &'static str,
    cause: Cause,
}

/// One row per API kind and failure: an HTTP API's sentences alone (mantil-io/mantil#52, the
/// Classmethod note) and after the token (the line in our reference material); a REST API's
/// response type with and without a reason, and its `AUTHORIZER_FAILURE` (a WebSocket API's
/// `$connect` logs the same variables).
const FAILURES: [Failure; 6] = [
    Failure {
        authorizer_error: "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.",
        response_type: "-",
        message: "Internal Server Error",
        cause: Cause::MissingInvokePermission,
    },
    Failure {
        authorizer_error: "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
        response_type: "-",
        message: "Internal Server Error",
        cause: Cause::InvalidResponseFormat,
    },
    Failure {
        authorizer_error: "AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
        response_type: "-",
        message: "Internal Server Error",
        cause: Cause::InvalidResponseFormat,
    },
    Failure {
        authorizer_error: "Invalid permissions on Lambda function",
        response_type: "AUTHORIZER_CONFIGURATION_ERROR",
        message: "null",
        cause: Cause::MissingInvokePermission,
    },
    Failure {
        authorizer_error: "-",
        response_type: "AUTHORIZER_CONFIGURATION_ERROR",
        message: "null",
        cause: Cause::Unknown,
    },
    Failure {
        authorizer_error: "-",
        response_type: "AUTHORIZER_FAILURE",
        message: "null",
        cause: Cause::AuthorizerFailure,
    },
];

/// A value API Gateway could write for a variable other than an error variable: `-` (an empty
/// value) unless `realistic`, except where a failure line always has a value.
fn sample_value(var: &Var, realistic: bool) -> &'static str {
    match (var.0.as_str(), realistic) {
        ("status", _) => "500",
        ("requestTime", _) => "10/Oct/2023:01:01:01 +0000",
        ("requestId", _) => "Vx3kTfWGIAMEbyw=",
        ("apiId", _) => "a1b2c3d4e5",
        ("stage", _) => "prod",
        ("httpMethod", true) => "GET",
        ("protocol", true) => "HTTP/1.1",
        ("identity.sourceIp", true) => "203.0.113.7",
        ("routeKey", true) => "GET /pets",
        ("path" | "resourcePath", true) => "/pets",
        ("identity.userAgent", true) => "Mozilla/5.0 (X11; Linux x86_64)",
        _ => "-",
    }
}

impl Default for LogFormat {
    fn default() -> Self {
        Self::parse(DEFAULT_FORMAT).expect("the default format parses")
    }
}
