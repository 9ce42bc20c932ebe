//! Why an event could not be read, naming the layer that broke (event JSON, base64, gzip,
//! payload JSON), so the function's error says what to look at.

use std::io;

/// Which layer of an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("event is empty")]
    Empty,
    #[error("event is not JSON: {0}")]
    EventJson(#[source] serde_json::Error),
    #[error("event is JSON but not {expected}: {source}")]
    EventShape {
        expected: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("event has no awslogs.data string (not a CloudWatch Logs subscription event)")]
    MissingAwslogs,
    /// Another kind of event, named so it can be replayed right.
    #[error("event has no awslogs.data string (not a CloudWatch Logs subscription event: {found})")]
    NotSubscription { found: String },
    #[error("awslogs.data is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("payload is not gzip (bad magic bytes)")]
    NotGzip,
    #[error("gzip stream is truncated")]
    Truncated,
    #[error("gzip stream is corrupt: {0}")]
    Gzip(#[source] io::Error),
    #[error(
        "payload inflates to more than {limit} bytes, the inflate cap (refused as a possible gzip bomb)"
    )]
    TooLarge { limit: usize },
    #[error("payload JSON is invalid: {0}")]
    PayloadJson(#[source] serde_json::Error),
    #[error("payload JSON is invalid: not UTF-8 (invalid byte at offset {offset})")]
    PayloadNotUtf8 { offset: usize },
    #[error("input is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("input is empty: no log lines or events")]
    InputEmpty,
    #[error("input holds only whitespace: no log lines or events")]
    InputBlank,
    #[error(
        "input holds a NUL byte at offset {offset}: binary data, or UTF-16 without a byte-order mark (convert it to UTF-8)"
    )]
    NulByte { offset: usize },
    #[error("input is UTF-16 but broken at byte {offset} (an odd length or an unpaired surrogate)")]
    Utf16 { offset: usize },
    #[error("input is {0}-compressed; only gzip is read (decompress it first)")]
    Compressed(&'static str),
    #[error("input is gzip inside gzip inside gzip; at most two layers are read")]
    GzipLayers,
    #[error("{0}")]
    NotAnEvent(String),
    #[error("{what} is empty: no events in it")]
    NoEvents { what: &'static str },
    #[error(
        "line {line} is an event among JSON access-log lines; give events and logs as separate inputs"
    )]
    EventAmongLines { line: usize },
    #[error("events are wrapped more than {0} levels deep")]
    TooDeep(usize),
    #[error("{what} gives the key {key} twice, so what it holds is ambiguous; refused")]
    DuplicateKey { what: &'static str, key: String },
    #[error(
        "input is `aws logs tail` output, which loses where each event ends (a logged body's line breaks look like API Gateway's lines); save `aws logs filter-log-events --output json` instead, which keeps every event whole"
    )]
    TailOutput,
    #[error(
        "input is `aws logs` output in --output text, which loses where each event ends; save it with --output json instead, which keeps every event whole"
    )]
    TextOutput,
}

/// An event's JSON error: broken JSON, or JSON of another shape than `expected`.
pub(super) fn event_json(expected: &'static str) -> impl Fn(serde_json::Error) -> DecodeError {
    move |source| match source.classify() {
        serde_json::error::Category::Data => DecodeError::EventShape { expected, source },
        _ => DecodeError::EventJson(source),
    }
}
