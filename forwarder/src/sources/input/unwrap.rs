//! Unwrapping what carries subscription events (Kinesis and SQS records, SNS notifications,
//! Lambda destination records) and reading `aws logs` output as a batch.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::part::{Content, OutputEvent, Part, part};
use super::shape::{MAX_WRAPPING, Object, Shape, key_name, not_an_event, shape};
use crate::sources::batch::{LogBatch, LogEvent};
use crate::sources::error::DecodeError;
use crate::sources::kinesis::KinesisData;
use crate::sources::payload::{AwsLogs, Payload};

/// A JSON string's text, for bodies and messages that hold JSON as a string.
pub(super) fn string_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Cow<str>>(raw.get()).ok()
}

/// Adds the batches of one JSON value, unwrapping what wraps events.
pub(super) fn expand(json: &str, at: String, depth: usize, parts: &mut Vec<Part<'static>>) {
    if depth > MAX_WRAPPING {
        parts.push(part(at, Err(DecodeError::TooDeep(MAX_WRAPPING))));
        return;
    }
    let json = json.trim().trim_start_matches('\u{feff}');
    if json.starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(json) {
            Ok(items) if items.is_empty() => parts.push(part(
                at,
                Err(DecodeError::NoEvents {
                    what: "the JSON array",
                }),
            )),
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    expand(item.get(), format!("{at}#{}", i + 1), depth + 1, parts);
                }
            }
            Err(e) => parts.push(part(at, Err(DecodeError::EventJson(e)))),
        }
        return;
    }
    let object = match serde_json::from_str::<Object>(json) {
        Ok(o) => o,
        Err(e) if json.starts_with('{') => {
            parts.push(part(at, Err(DecodeError::EventJson(e))));
            return;
        }
        Err(_) => {
            parts.push(part(at, Err(DecodeError::NotAnEvent(not_an_event(json)))));
            return;
        }
    };
    let inner = |key: &str| object.get(key);
    let shape = shape(&object);
    if let Some(key) = object
        .duplicate
        .as_deref()
        .filter(|_| shape != Shape::Unknown)
    {
        let e = DecodeError::DuplicateKey {
            what: shape.name(),
            key: key_name(key),
        };
        parts.push(part(at, Err(e)));
        return;
    }
    match shape {
        Shape::Subscription => {
            let data = inner("awslogs")
                .and_then(|v| serde_json::from_str::<AwsLogs>(v.get()).ok())
                .and_then(|a| a.data)
                .map(|d| d.0.into_owned());
            let content = data
                .map(Content::Encoded)
                .ok_or(DecodeError::MissingAwslogs);
            parts.push(part(at, content));
        }
        Shape::Payload => parts.push(part(
            at,
            Ok(Content::Payload(Payload(json.as_bytes().to_vec()))),
        )),
        Shape::Records => records(inner("Records"), &at, depth, parts),
        Shape::Messages => messages(inner("Messages"), &at, depth, parts),
        Shape::Message => {
            let body = inner("Body").or(inner("body"));
            expand_string(body, "SQS message", "Body", at, depth, parts);
        }
        Shape::Destination => {
            let payload = inner("requestPayload").expect("the shape says so");
            expand(payload.get(), at, depth + 1, parts);
        }
        Shape::EventBridge => {
            let detail = inner("detail").expect("the shape says so");
            expand(detail.get(), at, depth + 1, parts);
        }
        Shape::Notification => expand_string(
            inner("Message"),
            "SNS notification",
            "Message",
            at,
            depth,
            parts,
        ),
        Shape::LogEvents => parts.push(part(at, log_events(inner("events")))),
        Shape::Unknown => parts.push(part(at, Err(DecodeError::NotAnEvent(not_an_event(json))))),
    }
}

/// Reads the event a wrapper holds as a JSON string under `key`, or says the wrapper has none.
pub(super) fn expand_string(
    raw: Option<&RawValue>,
    what: &str,
    key: &str,
    at: String,
    depth: usize,
    parts: &mut Vec<Part<'static>>,
) {
    match raw.and_then(string_of) {
        Some(json) => expand(&json, at, depth + 1, parts),
        None => {
            let e = DecodeError::NotAnEvent(format!("{what} has no {key} string"));
            parts.push(part(at, Err(e)));
        }
    }
}

/// One record of a Lambda event's `Records`.
#[derive(Deserialize)]
pub(super) struct Record<'a> {
    #[serde(borrow)]
    kinesis: Option<&'a RawValue>,
    #[serde(borrow)]
    body: Option<&'a RawValue>,
    #[serde(rename = "messageId", borrow)]
    message_id: Option<Cow<'a, str>>,
    #[serde(rename = "Sns", borrow)]
    sns: Option<SnsRecord<'a>>,
    #[serde(rename = "eventSource", alias = "EventSource", borrow)]
    event_source: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(super) struct SnsRecord<'a> {
    #[serde(rename = "MessageId", borrow)]
    message_id: Option<Cow<'a, str>>,
    #[serde(rename = "Message", borrow)]
    message: Option<&'a RawValue>,
}

/// A Kinesis event's records (each a batch, named by sequence number), or an SQS or SNS event's
/// (each wrapping an event, named by message id).
pub(super) fn records(
    records: Option<&RawValue>,
    at: &str,
    depth: usize,
    parts: &mut Vec<Part<'static>>,
) {
    let list = match records.map(|r| serde_json::from_str::<Vec<&RawValue>>(r.get())) {
        Some(Ok(list)) => list,
        _ => {
            let e = DecodeError::NotAnEvent("Records is not a list of records".to_owned());
            parts.push(part(at.to_owned(), Err(e)));
            return;
        }
    };
    if list.is_empty() {
        let e = DecodeError::NoEvents { what: "Records" };
        parts.push(part(at.to_owned(), Err(e)));
        return;
    }
    for (i, raw) in list.iter().enumerate() {
        let numbered = format!("{at}#{}", i + 1);
        let record = match serde_json::from_str::<Record>(raw.get()) {
            Ok(r) => r,
            Err(e) => {
                parts.push(part(numbered, Err(DecodeError::EventJson(e))));
                continue;
            }
        };
        if let Some(kinesis) = record.kinesis {
            match serde_json::from_str::<KinesisData>(kinesis.get()) {
                Ok(k) => parts.push(part(
                    format!("{at}#{}", k.sequence_number),
                    Ok(Content::Encoded(k.data.into_owned())),
                )),
                Err(source) => parts.push(part(
                    numbered,
                    Err(DecodeError::EventShape {
                        expected: "a Kinesis record with sequenceNumber and data",
                        source,
                    }),
                )),
            }
        } else if let Some(body) = record.body {
            let at = record
                .message_id
                .map_or(numbered, |id| format!("{at}#{id}"));
            expand_string(Some(body), "SQS record", "body", at, depth, parts);
        } else if let Some(sns) = record.sns {
            let at = sns.message_id.map_or(numbered, |id| format!("{at}#{id}"));
            expand_string(sns.message, "SNS record", "Message", at, depth, parts);
        } else {
            let source = record
                .event_source
                .map_or("no eventSource".to_owned(), |s| format!("eventSource {s}"));
            let e = DecodeError::NotAnEvent(format!(
                "record {} is not a Kinesis, SQS or SNS record ({source})",
                i + 1
            ));
            parts.push(part(numbered, Err(e)));
        }
    }
}

/// One message of `aws sqs receive-message` output.
#[derive(Deserialize)]
pub(super) struct SqsMessage<'a> {
    #[serde(rename = "MessageId", borrow)]
    message_id: Option<Cow<'a, str>>,
    #[serde(rename = "Body", borrow)]
    body: Option<&'a RawValue>,
}

/// A dead-letter queue dump's messages, each wrapping an event, named by message id.
pub(super) fn messages(
    messages: Option<&RawValue>,
    at: &str,
    depth: usize,
    parts: &mut Vec<Part<'static>>,
) {
    let list = match messages.map(|m| serde_json::from_str::<Vec<SqsMessage>>(m.get())) {
        Some(Ok(list)) => list,
        Some(Err(source)) => {
            let e = DecodeError::EventShape {
                expected: "aws sqs receive-message output",
                source,
            };
            parts.push(part(at.to_owned(), Err(e)));
            return;
        }
        None => unreachable!("the shape says so"),
    };
    if list.is_empty() {
        let e = DecodeError::NoEvents { what: "Messages" };
        parts.push(part(at.to_owned(), Err(e)));
        return;
    }
    for (i, message) in list.into_iter().enumerate() {
        let at = message
            .message_id
            .map_or(format!("{at}#{}", i + 1), |id| format!("{at}#{id}"));
        expand_string(message.body, "SQS message", "Body", at, depth, parts);
    }
}

/// One event of `aws logs filter-log-events` or `get-log-events` output.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExportedEvent<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    log_stream_name: Option<Cow<'a, str>>,
}

/// The events of `aws logs` output, each as it was logged.
pub(super) fn log_events(events: Option<&RawValue>) -> Result<Content<'static>, DecodeError> {
    let events = events.expect("the shape says so");
    let events: Vec<ExportedEvent> =
        serde_json::from_str(events.get()).map_err(|source| DecodeError::EventShape {
            expected: "aws logs output (events with a message each)",
            source,
        })?;
    if events.is_empty() {
        return Err(DecodeError::NoEvents { what: "events" });
    }
    Ok(Content::Events(
        events
            .into_iter()
            .map(|e| OutputEvent {
                message: e.message.into_owned(),
                timestamp: e.timestamp,
                event_id: e.event_id.map(Cow::into_owned),
                log_stream: e.log_stream_name.map(Cow::into_owned),
            })
            .collect(),
    ))
}

/// `aws logs` output as one batch, each event whole, so an execution log's events are read as the
/// function reads a subscription's.
pub fn output_batch<'a>(events: &'a [OutputEvent], log_group: Option<&'a str>) -> LogBatch<'a> {
    let events = events
        .iter()
        .map(|e| LogEvent {
            id: Cow::Borrowed(e.event_id.as_deref().unwrap_or_default()),
            timestamp: e.timestamp.unwrap_or_default(),
            message: e.message.as_str().into(),
        })
        .collect();
    LogBatch::of_events(log_group.unwrap_or_default(), "", events)
}
