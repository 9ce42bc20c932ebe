//! What API Gateway can write in each `$context` variable decides where a client's text may
//! stand in a line, and so who wrote a token.

/// A variable of the format, by its name after `$context.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var(pub String);

impl Var {
    /// Variables whose value API Gateway writes about an error; the token only counts in these.
    /// Integration variables carry the backend's text and validation errors can quote the request
    /// body, so neither counts, whatever its name.
    pub fn is_error(&self) -> bool {
        matches!(
            self.0.as_str(),
            "authorizer.error"
                | "authorize.error"
                | "error.message"
                | "error.messageString"
                | "error.responseType"
        )
    }

    /// Variables API Gateway writes its authorizer messages in, with or without a token
    /// ([`crate::model::cause::FAILURE_MESSAGES`]).
    pub fn holds_authorizer_message(&self) -> bool {
        matches!(self.0.as_str(), "authorizer.error" | "authorize.error")
    }

    /// What API Gateway can write for this variable. Anything unknown, and every value a client or
    /// the authorizer function chooses, may hold any byte.
    pub(super) fn class(&self) -> Class {
        match self.0.as_str() {
            "status"
            | "authorizer.status"
            | "authorizer.integrationStatus"
            | "integrationStatus"
            | "integration.status"
            | "integration.integrationStatus"
            | "responseLength"
            | "requestTimeEpoch"
            | "responseLatency"
            | "integrationLatency"
            | "authorizer.latency"
            | "authorizer.integrationLatency"
            | "authorizer.requestTimeEpoch"
            | "integration.latency"
            | "dataProcessed" => Class::Number,
            "requestTime" | "authorizer.requestTime" => Class::Time,
            "httpMethod" => Class::Method,
            "apiId"
            | "accountId"
            | "requestId"
            | "extendedRequestId"
            | "awsEndpointRequestId"
            | "protocol"
            | "stage"
            | "identity.sourceIp"
            | "connectionId"
            | "eventType"
            // A gateway response type: one upper-case word such as AUTHORIZER_FAILURE.
            | "error.responseType" => Class::Token,
            "error.messageString" => Class::Quoted,
            _ if self.is_error() => Class::ErrorText,
            _ => Class::Any,
        }
    }

    /// What this variable's value may hold when the line's layout is checked (see
    /// [`LogFormat::keeps_layout`]): the class of a value only API Gateway writes, and any text
    /// for a value a client can shape. A client chooses its method and its request line's
    /// protocol, a REST API lets it set `$context.requestId`, and an address may come from a
    /// forwarded header, so those are any text here, whatever API Gateway usually writes. In a
    /// JSON line API Gateway's own error text may quote with an escaped `"`, so it is any text.
    ///
    /// [`LogFormat::keeps_layout`]: super::LogFormat::keeps_layout
    pub(super) fn layout_class(&self, json: bool) -> Class {
        match self.0.as_str() {
            "httpMethod" | "protocol" | "requestId" | "identity.sourceIp" => Class::Any,
            _ => match self.class() {
                Class::ErrorText | Class::Quoted if json => Class::Any,
                class => class,
            },
        }
    }
}

/// The bytes a variable's value may hold. API Gateway writes `-` for an empty value of its own,
/// so those have at least one byte; client text may be empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Class {
    /// Digits or `-`: statuses, lengths, latencies.
    Number,
    /// `$context.requestTime`: no `]` (it usually sits in brackets) and no `"`.
    Time,
    /// Upper-case letters or `-`.
    Method,
    /// No white space and no `"`: ids, the protocol, the stage, an address.
    Token,
    /// The text API Gateway writes in an error variable: no `"`. Its messages quote with `'`, so
    /// a `"` can only come from a client value.
    ErrorText,
    /// `$context.error.messageString`: the message in double quotes.
    Quoted,
    /// Client text, the authorizer's context, or a variable of unknown shape.
    Any,
}

impl Class {
    pub(super) fn allows(self, b: u8) -> bool {
        match self {
            Class::Number => b.is_ascii_digit() || b == b'-',
            Class::Time => b != b']' && b != b'"' && b >= 0x20,
            Class::Method => b.is_ascii_uppercase() || b == b'-',
            Class::Token => b > b' ' && b != b'"' && b != 0x7f,
            Class::ErrorText | Class::Quoted => b != b'"',
            Class::Any => true,
        }
    }

    /// Client text: may be empty, and is taken as long as possible when one split has to be
    /// chosen for the fields.
    pub(super) fn is_any(self) -> bool {
        self == Class::Any
    }
}

pub(super) fn var_name(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .unwrap_or(s.len());
    s[..end].trim_end_matches(['.', '-'])
}
