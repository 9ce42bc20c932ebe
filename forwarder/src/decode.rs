//! Turning what CloudWatch Logs delivers into a [`LogBatch`].
//!
//! A subscription filter invokes the function with `{"awslogs":{"data":"..."}}`, where `data` is
//! base64 of a gzip of the JSON payload
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample>).
//! `aws_lambda_events` has a deserializer for this, but it inflates without a bound and folds every
//! failure into one serde message; an alerting tool must survive a gzip bomb and say which layer of
//! a bad event broke, so the layers are decoded here one by one.

use std::borrow::Cow;
use std::io::{self, Read};
use std::sync::LazyLock;

use base64::Engine;
use serde::{Deserialize, Serialize};

/// Decompressed payloads larger than this are refused: CloudWatch Logs batches are at most about
/// 1 MB compressed, so anything bigger is corrupt or hostile.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Which layer of an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("event is empty")]
    Empty,
    #[error("event is not JSON: {0}")]
    EventJson(#[source] serde_json::Error),
    #[error("event has no awslogs.data string (not a CloudWatch Logs subscription event)")]
    MissingAwslogs,
    #[error("awslogs.data is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("payload is not gzip (bad magic bytes)")]
    NotGzip,
    #[error("gzip stream is truncated")]
    Truncated,
    #[error("gzip stream is corrupt: {0}")]
    Gzip(#[source] io::Error),
    #[error("payload inflates to more than {limit} bytes (refused as a possible gzip bomb)")]
    TooLarge { limit: usize },
    #[error("payload JSON is invalid: {0}")]
    PayloadJson(#[source] serde_json::Error),
    #[error("payload JSON is invalid: not UTF-8 (invalid byte at offset {offset})")]
    PayloadNotUtf8 { offset: usize },
    #[error("input is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
}

/// `messageType` of a payload. `CONTROL_MESSAGE` is the subscription's connectivity check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    DataMessage,
    ControlMessage,
}

/// The decoded payload of one subscription delivery. Strings borrow from the decompressed bytes
/// (see [`Payload`]) unless JSON escapes force a copy, so a batch costs one buffer, not two.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogBatch<'a> {
    pub message_type: MessageType,
    #[serde(default, borrow)]
    pub owner: Cow<'a, str>,
    #[serde(borrow)]
    pub log_group: Cow<'a, str>,
    #[serde(default, borrow)]
    pub log_stream: Cow<'a, str>,
    #[serde(default, borrow)]
    pub subscription_filters: Vec<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "events_sized")]
    pub log_events: Vec<LogEvent<'a>>,
}

thread_local! {
    /// How many events [`parse_payload`] expects, for `logEvents` to reserve at once: serde_json
    /// knows no array's length, and regrowing the list would copy a batch's events about twice.
    static EXPECTED_EVENTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A payload's bytes per event are at least this in practice (a 56-digit id, a timestamp and an
/// access-log line); smaller events only make the list grow as usual.
const TYPICAL_EVENT_BYTES: usize = 128;

fn events_sized<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<LogEvent<'a>>, D::Error> {
    struct Events;
    impl<'de> serde::de::Visitor<'de> for Events {
        type Value = Vec<LogEvent<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut events = Vec::with_capacity(EXPECTED_EVENTS.get());
            while let Some(event) = seq.next_element()? {
                events.push(event);
            }
            Ok(events)
        }
    }
    deserializer.deserialize_seq(Events)
}

/// One log event of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent<'a> {
    #[serde(default, borrow)]
    pub id: Cow<'a, str>,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    #[serde(borrow)]
    pub message: Message<'a>,
}

/// A log event's message, left JSON-escaped until someone reads it.
///
/// Access-log lines in the default format quote their fields, so nearly every message of a batch
/// carries `\"` escapes and unescaping it means a copy. Only lines with the token are ever read,
/// so the rest stay as borrowed escaped text: see [`Message::escaped_contains`].
#[derive(Clone)]
pub struct Message<'a>(MessageRepr<'a>);

#[derive(Clone)]
enum MessageRepr<'a> {
    Text(Cow<'a, str>),
    /// The inside of a JSON string literal whose escapes serde_json has already checked, and which
    /// holds no `\u` escape (those are decoded eagerly, see [`Message::deserialize`]).
    Escaped(&'a str),
}

impl<'a> Message<'a> {
    /// The message as API Gateway wrote it.
    pub fn text(&self) -> Cow<'a, str> {
        match &self.0 {
            MessageRepr::Text(text) => text.clone(),
            MessageRepr::Escaped(inner) => {
                let mut out = String::with_capacity(inner.len());
                unescape_into(inner, &mut out);
                Cow::Owned(out)
            }
        }
    }

    /// The message as API Gateway wrote it, unescaped into `scratch` when it has to be, so a
    /// batch's flagged lines share one buffer.
    pub fn read<'s>(&'s self, scratch: &'s mut String) -> &'s str {
        match &self.0 {
            MessageRepr::Text(text) => text,
            MessageRepr::Escaped(inner) => {
                scratch.clear();
                unescape_into(inner, scratch);
                scratch
            }
        }
    }

    /// Whether the message holds `needle`, without unescaping it. Exact for needles made of ASCII
    /// letters, digits and `_`: no escape other than `\u` (never kept escaped) produces or splits
    /// such characters, the escape letters `b f n r t` being lower case and the token upper case.
    pub fn escaped_contains(&self, finder: &memchr::memmem::Finder) -> bool {
        let haystack = match &self.0 {
            MessageRepr::Text(text) => text.as_bytes(),
            MessageRepr::Escaped(inner) => inner.as_bytes(),
        };
        finder.find(haystack).is_some()
    }
}

/// Decodes the simple escapes of a JSON string's inside (no `\u`, checked when parsed).
fn unescape_into(inner: &str, out: &mut String) {
    let mut rest = inner;
    while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let escaped = rest.as_bytes().get(at + 1).copied().unwrap_or(b'\\');
        out.push(match escaped {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            other => char::from(other),
        });
        rest = rest.get(at + 2..).unwrap_or("");
    }
    out.push_str(rest);
}

impl<'a> From<&'a str> for Message<'a> {
    fn from(text: &'a str) -> Self {
        Message(MessageRepr::Text(Cow::Borrowed(text)))
    }
}

impl From<String> for Message<'_> {
    fn from(text: String) -> Self {
        Message(MessageRepr::Text(Cow::Owned(text)))
    }
}

impl PartialEq for Message<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Message<'_> {}

impl std::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.text(), f)
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Message<'a> {
    /// Borrows the raw JSON string; serde_json has checked its escapes and UTF-8 by then. `\u`
    /// escapes are decoded here, so a lone surrogate is still reported as bad payload JSON.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: &'de serde_json::value::RawValue = Deserialize::deserialize(deserializer)?;
        let literal = raw.get();
        let Some(inner) = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"')) else {
            return Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Other("a non-string JSON value"),
                &"a string",
            ));
        };
        // memchr's searchers, not `str::contains`: this runs on every message of every batch.
        if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
            return Ok(Message(MessageRepr::Text(Cow::Borrowed(inner))));
        }
        static UNICODE_ESCAPE: LazyLock<memchr::memmem::Finder<'static>> =
            LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));
        if UNICODE_ESCAPE.find(inner.as_bytes()).is_some() {
            let text: String = serde_json::from_str(literal).map_err(serde::de::Error::custom)?;
            return Ok(Message(MessageRepr::Text(Cow::Owned(text))));
        }
        Ok(Message(MessageRepr::Escaped(inner)))
    }
}

impl LogBatch<'_> {
    pub fn is_control(&self) -> bool {
        self.message_type == MessageType::ControlMessage
    }
}

/// The decompressed payload JSON of an event; [`Payload::parse`] reads a [`LogBatch`] out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload(Vec<u8>);

impl Payload {
    /// Parses the payload; its strings borrow from `self`.
    pub fn parse(&self) -> Result<LogBatch<'_>, DecodeError> {
        parse_payload(&self.0)
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    awslogs: Option<AwsLogs<'a>>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Option<Data<'a>>,
}

/// `awslogs.data`, borrowed from the event: serde's `borrow` does not reach through an `Option`,
/// and a bare `Option<Cow<str>>` would copy the largest string of the event.
#[derive(Deserialize)]
struct Data<'a>(#[serde(borrow)] Cow<'a, str>);

/// Decodes a subscription event, `{"awslogs":{"data":"<base64 gzip>"}}`, down to its payload.
pub fn decode_event(bytes: &[u8]) -> Result<Payload, DecodeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(DecodeError::EventJson)?;
    let data = envelope
        .awslogs
        .and_then(|a| a.data)
        .ok_or(DecodeError::MissingAwslogs)?;
    decode_data(&data.0)
}

/// A Kinesis event, as Lambda delivers a stream fed by a CloudWatch Logs destination or an
/// account-level subscription policy
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CrossAccountSubscriptions-Kinesis.html>):
/// each record's `data` is base64 of the same gzip payload a subscription sends to Lambda.
#[derive(Clone, Debug, Deserialize)]
pub struct KinesisEvent<'a> {
    #[serde(rename = "Records", borrow)]
    pub records: Vec<KinesisRecord<'a>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct KinesisRecord<'a> {
    #[serde(borrow)]
    pub kinesis: KinesisData<'a>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisData<'a> {
    /// What a partial batch failure names.
    #[serde(borrow)]
    pub sequence_number: Cow<'a, str>,
    #[serde(borrow)]
    pub data: Cow<'a, str>,
}

/// Reads a Kinesis event; its records are decoded one by one, so one bad record is one failure.
pub fn parse_kinesis(bytes: &[u8]) -> Result<KinesisEvent<'_>, DecodeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    serde_json::from_slice(bytes).map_err(DecodeError::EventJson)
}

/// Which kind of event Lambda delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `{"awslogs":{"data":...}}` from a subscription filter.
    Subscription,
    /// `{"Records":[{"kinesis":...}]}` from a stream.
    Kinesis,
    /// An EventBridge schedule: time to report the problems that are over.
    Schedule,
}

#[derive(Deserialize)]
struct KindProbe<'a> {
    #[serde(rename = "Records")]
    records: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<Cow<'a, str>>,
}

/// Tells the kinds of event apart by their top-level keys
/// (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>).
/// Anything else is treated as a subscription event, whose decoder names what is wrong with it.
pub fn event_kind(bytes: &[u8]) -> EventKind {
    match serde_json::from_slice::<KindProbe>(bytes) {
        Ok(KindProbe {
            records: Some(_), ..
        }) => EventKind::Kinesis,
        Ok(KindProbe {
            source: Some(source),
            detail_type: Some(detail),
            ..
        }) if source == "aws.events" && detail == "Scheduled Event" => EventKind::Schedule,
        _ => EventKind::Subscription,
    }
}

/// Decodes the `awslogs.data` string down to its payload.
pub fn decode_data(data: &str) -> Result<Payload, DecodeError> {
    let gz = base64::engine::general_purpose::STANDARD.decode(data.trim())?;
    inflate(&gz, MAX_DECOMPRESSED_BYTES).map(Payload)
}

/// The common case in one call: a single gzip member (CloudWatch Logs writes one) whose trailer
/// states its size, inflated straight into a buffer of exactly that size. No intermediate reader
/// buffers, no zero-filling and no regrowth. `None` for anything else; zlib checks the CRC and size
/// in the trailer, and all of the input must be that one member.
fn inflate_whole(gz: &[u8], limit: usize) -> Option<Vec<u8>> {
    let trailer: [u8; 4] = gz.get(gz.len().checked_sub(4)?..)?.try_into().ok()?;
    let size = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
    // Deflate expands at most about 1032:1, so a larger claim is a lie not worth reserving for.
    if size > limit || size > gz.len().saturating_mul(1032) {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    let mut inflater = flate2::Decompress::new_gzip(15);
    let status = inflater
        .decompress_vec(gz, &mut out, flate2::FlushDecompress::Finish)
        .ok()?;
    (status == flate2::Status::StreamEnd
        && inflater.total_in() == gz.len() as u64
        && out.len() == size)
        .then_some(out)
}

/// Gunzips `gz`, refusing output larger than `limit`.
pub fn inflate(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if !gz.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::NotGzip);
    }
    if let Some(out) = inflate_whole(gz, limit) {
        return Ok(out);
    }
    // Several members, a trailer that lies, or a stream that is corrupt or too large: the streaming
    // decoder finds out which, and names it.
    // Compressed logs are about 10x smaller; reserving that avoids most regrowth.
    let mut out = Vec::with_capacity(gz.len().saturating_mul(10).min(limit));
    let decoder = flate2::read::MultiGzDecoder::new(gz);
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => DecodeError::Truncated,
            _ => DecodeError::Gzip(e),
        })?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

/// Parses the decompressed payload JSON.
pub fn parse_payload(json: &[u8]) -> Result<LogBatch<'_>, DecodeError> {
    // One UTF-8 check of the whole payload up front lets serde_json skip it per string.
    let json = std::str::from_utf8(json).map_err(|e| DecodeError::PayloadNotUtf8 {
        offset: e.valid_up_to(),
    })?;
    EXPECTED_EVENTS.set(json.len() / TYPICAL_EVENT_BYTES);
    let batch = serde_json::from_str(json).map_err(DecodeError::PayloadJson);
    EXPECTED_EVENTS.set(0);
    batch
}

/// What a file or stdin given to the CLI turned out to be.
#[derive(Debug)]
pub enum Input<'a> {
    /// A subscription event, a decoded payload, or a gzip of a payload.
    Batch(Payload),
    /// Plain access-log lines.
    Lines(&'a str),
    /// A Kinesis event: each record's sequence number and its payload, or why it is unreadable.
    Records(Vec<(String, Result<Payload, DecodeError>)>),
}

/// Just enough of a JSON document to tell an event or a payload from an access-log line. `A` reads
/// `awslogs`: first as the event's data, borrowed, so an event is parsed once; then, for a document
/// whose `awslogs` has another shape, as [`serde::de::IgnoredAny`], so the decoder can name the fault.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe<A> {
    awslogs: Option<A>,
    message_type: Option<serde::de::IgnoredAny>,
    log_events: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Records")]
    records: Option<serde::de::IgnoredAny>,
}

/// What a probed JSON document is.
enum Shape {
    Event,
    Kinesis,
    Payload,
    Lines,
}

impl<A> Probe<A> {
    fn shape(&self) -> Shape {
        if self.awslogs.is_some() {
            Shape::Event
        } else if self.records.is_some() {
            Shape::Kinesis
        } else if self.message_type.is_some() || self.log_events.is_some() {
            Shape::Payload
        } else {
            Shape::Lines
        }
    }
}

/// Recognises the CLI's input kinds by their first bytes, so users can feed whatever they have.
/// A batch is decoded down to its payload; [`Payload::parse`] reports what is wrong inside it.
pub fn sniff(bytes: &[u8]) -> Result<Input<'_>, DecodeError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Input::Batch(Payload(inflate(
            bytes,
            MAX_DECOMPRESSED_BYTES,
        )?)));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    // One JSON document is an event or a payload; JSON-format access logs are one object a line.
    if !text.trim_start().starts_with('{') {
        return Ok(Input::Lines(text));
    }
    let shape = match serde_json::from_str::<Probe<AwsLogs>>(text) {
        Ok(Probe {
            awslogs: Some(AwsLogs { data: Some(data) }),
            ..
        }) => return decode_data(&data.0).map(Input::Batch),
        Ok(probe) => probe.shape(),
        Err(_) => serde_json::from_str::<Probe<serde::de::IgnoredAny>>(text)
            .map_or(Shape::Lines, |probe| probe.shape()),
    };
    match shape {
        // An event without a readable `awslogs.data`: the decoder says what is wrong with it.
        Shape::Event => decode_event(bytes).map(Input::Batch),
        Shape::Kinesis => {
            let event = parse_kinesis(bytes)?;
            Ok(Input::Records(
                event
                    .records
                    .iter()
                    .map(|r| {
                        (
                            r.kinesis.sequence_number.to_string(),
                            decode_data(&r.kinesis.data),
                        )
                    })
                    .collect(),
            ))
        }
        Shape::Payload => Ok(Input::Batch(Payload(bytes.to_vec()))),
        Shape::Lines => Ok(Input::Lines(text)),
    }
}

/// Wraps access-log lines into a subscription event, the way CloudWatch Logs would deliver them.
pub fn encode_event(
    lines: &str,
    log_group: &str,
    log_stream: &str,
    owner: &str,
    start_ms: i64,
) -> serde_json::Value {
    let batch = LogBatch {
        message_type: MessageType::DataMessage,
        owner: owner.into(),
        log_group: log_group.into(),
        log_stream: log_stream.into(),
        subscription_filters: vec!["authorizer-errors".into()],
        log_events: lines
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, line)| LogEvent {
                // Real ids are 56-digit numbers; a zero-padded index keeps them unique and stable.
                id: format!("{:056}", i).into(),
                timestamp: start_ms + i as i64,
                message: line.into(),
            })
            .collect(),
    };
    encode_batch(&batch)
}

/// Wraps payloads into a Kinesis event the way Lambda delivers a stream's records; `data` of each
/// is base64 of the gzip of the payload, as a CloudWatch Logs destination writes it.
pub fn encode_kinesis(records: &[(&str, Vec<u8>)]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|(sequence, gz)| {
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "authorizer-errors",
                    "sequenceNumber": sequence,
                    "data": base64::engine::general_purpose::STANDARD.encode(gz),
                    "approximateArrivalTimestamp": 1_764_000_000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{sequence}"),
                "eventName": "aws:kinesis:record",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/access-logs",
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// Serialises, gzips and base64-encodes a batch into the `awslogs` envelope.
pub fn encode_batch(batch: &LogBatch) -> serde_json::Value {
    let data = base64::engine::general_purpose::STANDARD.encode(gzip_batch(batch));
    serde_json::json!({ "awslogs": { "data": data } })
}

/// A batch as CloudWatch Logs ships it: gzip of its JSON.
pub fn gzip_batch(batch: &LogBatch) -> Vec<u8> {
    gzip(&serde_json::to_vec(batch).expect("a LogBatch always serialises"))
}

/// Gzips bytes in memory.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn event_with_data(data: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"awslogs": {"data": data}})).unwrap()
    }

    #[test]
    fn round_trips_encoded_lines() {
        let event = encode_event("a line\n\nsecond line\n", "/g", "s", "123456789012", 1000);
        let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
        let batch = payload.parse().unwrap();
        assert_eq!(batch.message_type, MessageType::DataMessage);
        assert_eq!(batch.log_group, "/g");
        assert_eq!(batch.owner, "123456789012");
        let messages: Vec<_> = batch.log_events.iter().map(|e| e.message.text()).collect();
        assert_eq!(messages, ["a line", "second line"]);
        assert_eq!(batch.log_events[1].timestamp, 1001);
    }

    /// Every kind of JSON escape a message can hold, read back exactly, and the token search on the
    /// escaped text agreeing with a search on the decoded text.
    #[test]
    fn messages_stay_escaped_until_read() {
        let token = memchr::memmem::Finder::new("AUTHORIZER_CONFIGURATION_ERROR");
        let cases = [
            "plain AUTHORIZER_CONFIGURATION_ERROR",
            "1.2.3.4 \"GET / HTTP/1.1\" 500 AUTHORIZER_CONFIGURATION_ERROR",
            "tab\tnew\nline\rform\u{c}back\u{8}slash\\/ \"q\"",
            "trailing backslash \\",
            "control \u{1} and \u{1f} and é and 😀 \"",
            "no token \"here\"",
            "split AUTHORIZER_\"CONFIGURATION_ERROR",
        ];
        for text in cases {
            let json = serde_json::json!({"id": "1", "timestamp": 1, "message": text}).to_string();
            let event: LogEvent = serde_json::from_str(&json).unwrap();
            assert_eq!(event.message.text(), text, "{json}");
            assert_eq!(
                event.message.escaped_contains(&token),
                text.contains("AUTHORIZER_CONFIGURATION_ERROR"),
                "{json}"
            );
        }
        // A token spelled with \u escapes is decoded when parsed, so the search still sees it.
        let json =
            r#"{"id":"1","timestamp":1,"message":"\u0041UTHORIZER_CONFIGURATION_ERROR \"x\""}"#;
        let event: LogEvent = serde_json::from_str(json).unwrap();
        assert!(event.message.escaped_contains(&token));
        // Lone surrogates and non-strings stay errors of the payload.
        for bad in [r#""\ud800 \"""#, "42", "null"] {
            let json = format!(r#"{{"id":"1","timestamp":1,"message":{bad}}}"#);
            assert!(serde_json::from_str::<LogEvent>(&json).is_err(), "{json}");
        }
    }

    #[test]
    fn each_layer_names_itself() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "event is empty"),
            (b"not json".to_vec(), "event is not JSON"),
            (b"{}".to_vec(), "no awslogs.data"),
            (br#"{"awslogs":{}}"#.to_vec(), "no awslogs.data"),
            (event_with_data("%%%"), "not valid base64"),
            (event_with_data(&b64(b"plain text")), "not gzip"),
            (
                event_with_data(&b64(&gzip(b"{\"messageType\":")[..10])),
                "truncated",
            ),
            (
                event_with_data(&b64(&gzip(b"nope"))),
                "payload JSON is invalid",
            ),
            (
                event_with_data(&b64(&gzip(br#"{"messageType":"DATA_MESSAGE"}"#))),
                "missing field `logGroup`",
            ),
        ];
        for (input, expected) in cases {
            let err = decode_event(&input)
                .and_then(|p| p.parse().map(|_| ()))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected),
                "{:?}: {err}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    /// One member inflates in one call; anything else falls back to the streaming decoder, which
    /// agrees on good input and names the problem in bad.
    #[test]
    fn whole_member_fast_path_and_its_fallbacks() {
        let text = b"line one\nline two\n".repeat(1000);
        let one = gzip(&text);
        assert_eq!(inflate_whole(&one, 1 << 20).as_deref(), Some(&text[..]));
        // Two members: the fast path declines, the stream decoder reads both.
        let two = [gzip(b"abc"), gzip(b"xyz")].concat();
        assert_eq!(inflate_whole(&two, 1 << 20), None);
        assert_eq!(inflate(&two, 1 << 20).unwrap(), b"abcxyz");
        // A trailer claiming another size, and a flipped CRC.
        let mut lying = one.clone();
        let n = lying.len();
        lying[n - 4] ^= 1;
        assert_eq!(inflate_whole(&lying, 1 << 20), None);
        assert!(inflate(&lying, 1 << 20).is_err());
        let mut bad_crc = one.clone();
        bad_crc[n - 8] ^= 1;
        assert_eq!(inflate_whole(&bad_crc, 1 << 20), None);
        assert!(matches!(
            inflate(&bad_crc, 1 << 20),
            Err(DecodeError::Gzip(_))
        ));
        // A trailer claiming more than deflate can expand to: declined without reserving it.
        let mut boast = gzip(b"x");
        let m = boast.len();
        boast[m - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(inflate_whole(&boast, usize::MAX), None);
        // Larger than the limit: declined, and refused by name.
        assert_eq!(inflate_whole(&one, 100), None);
        assert!(matches!(
            inflate(&one, 100),
            Err(DecodeError::TooLarge { .. })
        ));
        assert_eq!(inflate(&gzip(b""), 10).unwrap(), b"");
    }

    #[test]
    fn refuses_a_gzip_bomb() {
        let bomb = gzip(&vec![b' '; 2 << 20]);
        assert!(bomb.len() < 10_000);
        let err = inflate(&bomb, 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { limit } if limit == 1 << 20));
        assert_eq!(inflate(&bomb, 2 << 20).unwrap().len(), 2 << 20);
    }

    #[test]
    fn control_message_is_recognised() {
        let payload = br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        let payload = decode_data(&b64(&gzip(payload))).unwrap();
        assert!(payload.parse().unwrap().is_control());
    }

    #[test]
    fn non_utf8_message_is_a_payload_error() {
        let mut payload = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":1,"message":"bad "#.to_vec();
        payload.extend_from_slice(&[0xff, 0xfe]);
        payload.extend_from_slice(br#""}]}"#);
        let err = decode_data(&b64(&gzip(&payload)))
            .unwrap()
            .parse()
            .unwrap_err();
        let offset = payload.iter().position(|&b| b == 0xff).unwrap();
        assert!(
            matches!(err, DecodeError::PayloadNotUtf8 { offset: o } if o == offset),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("payload JSON is invalid"),
            "{err}"
        );
    }

    #[test]
    fn tells_the_lambda_event_kinds_apart() {
        let schedule = br#"{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-25T18:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/recovery"],"detail":{}}"#;
        let kinesis = serde_json::to_vec(&encode_kinesis(&[("1", gzip(b"{}"))])).unwrap();
        let logs = serde_json::to_vec(&encode_event("x", "/g", "s", "1", 0)).unwrap();
        let other_event = br#"{"source":"aws.s3","detail-type":"Object Created"}"#;
        for (bytes, kind) in [
            (&schedule[..], EventKind::Schedule),
            (&kinesis[..], EventKind::Kinesis),
            (&logs[..], EventKind::Subscription),
            (&other_event[..], EventKind::Subscription),
            (b"not json", EventKind::Subscription),
        ] {
            assert_eq!(
                event_kind(bytes),
                kind,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn sniffs_every_input_kind() {
        let lines = "1.2.3.4 - - [x] \"GET / HTTP/1.1\" 200 1 id -\n";
        let event = encode_event(lines, "/g", "s", "1", 0);
        let payload =
            serde_json::json!({"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":[]});
        let payload_bytes = serde_json::to_vec(&payload).unwrap();
        let kinds = [
            (serde_json::to_vec(&event).unwrap(), "batch"),
            (payload_bytes.clone(), "batch"),
            (gzip(&payload_bytes), "batch"),
            (lines.as_bytes().to_vec(), "lines"),
            (br#"{"requestId":"a","status":"200"}"#.to_vec(), "lines"),
            (
                b"{\"requestId\":\"a\"}\n{\"requestId\":\"b\"}\n".to_vec(),
                "lines",
            ),
            (
                serde_json::to_vec(&encode_kinesis(&[("1", gzip(&payload_bytes))])).unwrap(),
                "records",
            ),
        ];
        for (bytes, kind) in kinds {
            let got = match sniff(&bytes).unwrap() {
                Input::Batch(_) => "batch",
                Input::Lines(_) => "lines",
                Input::Records(records) => {
                    assert!(records.iter().all(|(_, p)| p.is_ok()));
                    "records"
                }
            };
            assert_eq!(got, kind, "{}", String::from_utf8_lossy(&bytes));
        }
        assert!(matches!(
            sniff(&[b'a', 0xff]),
            Err(DecodeError::NotUtf8 { offset: 1 })
        ));
    }

    /// An event is read in one pass with its data borrowed; escaped data and events whose
    /// `awslogs` has another shape still reach the decoder, which names what is wrong.
    #[test]
    fn sniffs_events_in_one_pass_and_names_broken_ones() {
        let payload = br#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":[]}"#;
        let data = b64(&gzip(payload));
        let escaped = data.replace('/', "\\/");
        let decoded = |bytes: &[u8]| match sniff(bytes) {
            Ok(Input::Batch(Payload(json))) => Ok(json),
            Ok(other) => panic!("not a batch: {other:?}"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(decoded(&event_with_data(&data)), Ok(payload.to_vec()));
        let with_escapes = format!(r#"{{"awslogs":{{"data":"{escaped}"}}}}"#);
        assert!(
            with_escapes.contains("\\/"),
            "the data holds an escaped slash"
        );
        assert_eq!(decoded(with_escapes.as_bytes()), Ok(payload.to_vec()));
        let broken: [(&[u8], &str); 4] = [
            (br#"{"awslogs":{}}"#, "no awslogs.data string"),
            (br#"{"awslogs":{"data":null}}"#, "no awslogs.data string"),
            (
                br#"{"awslogs":{"data":5}}"#,
                "event is not JSON: invalid type",
            ),
            (br#"{"awslogs":{"data":"!!"}}"#, "not valid base64"),
        ];
        for (bytes, expected) in broken {
            let error = decoded(bytes).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }
}
