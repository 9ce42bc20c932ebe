//! One thing an input held: a batch to scan, or why that part of it could not be read.

use std::borrow::Cow;

use crate::sources::error::DecodeError;
use crate::sources::payload::Payload;

/// One thing an input holds: its log, or one of its batches.
#[derive(Debug)]
pub struct Part<'a> {
    /// Where it sits, appended to the input's name: empty for the input itself, `#2` for the
    /// second of several events, `#SEQUENCE` for a Kinesis record, `#MESSAGE_ID` for an SQS
    /// message, nested as they are (`#2#SEQUENCE`).
    pub at: String,
    pub content: Result<Content<'a>, DecodeError>,
}

/// What a [`Part`] is.
#[derive(Debug)]
pub enum Content<'a> {
    /// Access-log lines, text or JSON. Lines end in `\n` or `\r\n`; a lone `\r` has been made a `\n`.
    Lines(Cow<'a, str>),
    /// A batch as `awslogs.data` or a Kinesis record's `data` holds it. Decoded when read
    /// ([`crate::sources::decode_data`]), so an input of many events holds one payload at a time.
    Encoded(String),
    /// A decoded payload.
    Payload(Payload),
    /// The events of `aws logs filter-log-events` or `get-log-events` output, with their bounds.
    Events(Vec<OutputEvent>),
}

pub(super) fn part<'a>(at: String, content: Result<Content<'a>, DecodeError>) -> Part<'a> {
    Part { at, content }
}

/// One event of `aws logs` output, kept whole: an execution log's event may hold a logged body
/// with line breaks of its own, and only the event's bounds tell API Gateway's text from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputEvent {
    pub message: String,
    pub timestamp: Option<i64>,
    pub event_id: Option<String>,
    pub log_stream: Option<String>,
}
