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
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use serde::{Deserialize, Serialize};

pub mod changes;
mod compact;
mod input;

pub use input::{Content, OutputEvent, Part, output_batch, sniff};

/// The CLI's cap on a decompressed payload, and the function's when it knows no memory size:
/// CloudWatch Logs batches are at most about 1 MB compressed, so anything bigger is corrupt or
/// hostile.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// What the function holds besides a batch, in MiB: the runtime, the SDK clients, TLS roots, the
/// event, allocator slack, and a margin so a batch at the cap stays clear of the limit.
pub const FUNCTION_BASE_MIB: usize = 48;

/// Peak bytes a batch costs per decompressed byte when every line is flagged: the payload itself,
/// its list of events, and a finding holding the text of each line. Measured at 2.6 to 2.9 for
/// default-format lines and at most 3 for the shortest (BENCHMARKS.md); 5 leaves room.
pub const PEAK_BYTES_PER_PAYLOAD_BYTE: usize = 5;

/// The smallest cap, for memory sizes too small for the formula: still a full CloudWatch Logs
/// batch of ordinary lines.
const MIN_CAP_MIB: usize = 4;

/// The inflate cap for a function with `memory_mb` of memory (Lambda's MB are MiB): what is left
/// after [`FUNCTION_BASE_MIB`], divided by [`PEAK_BYTES_PER_PAYLOAD_BYTE`], so a fully flagged
/// batch at the cap fits and a larger one is refused cleanly instead of killing the function.
/// 128 MB gives 16 MiB, 256 MB 41 MiB, 512 MB 92 MiB.
pub fn inflate_cap_for_memory(memory_mb: usize) -> usize {
    let mib = memory_mb.saturating_sub(FUNCTION_BASE_MIB) / PEAK_BYTES_PER_PAYLOAD_BYTE;
    mib.max(MIN_CAP_MIB) << 20
}

/// The inflate cap for the function, from `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` as Lambda sets it:
/// [`MAX_DECOMPRESSED_BYTES`] when unset (not under Lambda), the smallest size's cap when it is
/// not a number.
pub fn inflate_cap_from_env(memory_size: Option<&str>) -> usize {
    match memory_size.map(|v| v.trim().parse::<usize>()) {
        None => MAX_DECOMPRESSED_BYTES,
        Some(Ok(mb)) => inflate_cap_for_memory(mb),
        Some(Err(_)) => inflate_cap_for_memory(128),
    }
}

/// The cap [`decode_data`] and [`decode_event`] inflate to. Process-wide because the function sets
/// it once at cold start and every decoding path below the handler must honour it.
static INFLATE_CAP: AtomicUsize = AtomicUsize::new(MAX_DECOMPRESSED_BYTES);

/// Sets the cap for every later [`decode_data`] and [`decode_event`].
pub fn set_inflate_cap(bytes: usize) {
    INFLATE_CAP.store(bytes, Ordering::Relaxed);
}

/// The cap [`decode_data`] and [`decode_event`] inflate to.
pub fn inflate_cap() -> usize {
    INFLATE_CAP.load(Ordering::Relaxed)
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
fn event_json(expected: &'static str) -> impl Fn(serde_json::Error) -> DecodeError {
    move |source| match source.classify() {
        serde_json::error::Category::Data => DecodeError::EventShape { expected, source },
        _ => DecodeError::EventJson(source),
    }
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
    /// The batch's events; after [`Payload::parse_candidates`], only those that may hold the token.
    #[serde(borrow, deserialize_with = "events_sized")]
    pub log_events: Vec<LogEvent<'a>>,
    /// Events of the payload left out of `log_events` because they cannot hold the token; see
    /// [`LogBatch::line_count`].
    #[serde(skip)]
    pub omitted_events: usize,
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

    /// Whether the message holds one of `needles`, without unescaping it. Exact for needles of
    /// printable ASCII without `"`, `\` and `/` that do not start with `b f n r t`: an escape is a
    /// `\` and one of `" \ / b f n r t` (`\u` is never kept escaped), so it neither makes nor
    /// splits such a needle.
    pub fn escaped_contains(&self, needles: &crate::model::tokens::Needles) -> bool {
        let haystack = match &self.0 {
            MessageRepr::Text(text) => text.as_bytes(),
            MessageRepr::Escaped(inner) => inner.as_bytes(),
        };
        needles.is_in(haystack)
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

    /// How many events the payload held: those in `log_events` and those left out.
    pub fn line_count(&self) -> usize {
        self.log_events.len() + self.omitted_events
    }
}

/// The decompressed payload JSON of an event; [`Payload::parse`] reads a [`LogBatch`] out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload(Vec<u8>);

impl Payload {
    /// The decompressed payload's size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the payload is empty (no gzip stream inflates to nothing CloudWatch sends).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the payload; its strings borrow from `self`.
    pub fn parse(&self) -> Result<LogBatch<'_>, DecodeError> {
        parse_payload(&self.0)
    }

    /// Parses the payload for a scan: `log_events` holds at least every event whose message holds
    /// the token (as [`Message::escaped_contains`] finds it), the rest may be left out and counted
    /// in `omitted_events`. A payload in CloudWatch Logs' own compact layout is read without
    /// building the events left out; anything else, and every error, is the full parser's, so the
    /// result and the errors are those of [`Payload::parse`].
    pub fn parse_candidates(&self) -> Result<LogBatch<'_>, DecodeError> {
        let json = payload_str(&self.0)?;
        let finder_for = |_: &str| &*crate::model::tokens::CANDIDATE_NEEDLES;
        match compact::parse(json, finder_for) {
            Some(batch) => Ok(batch),
            None => parse_payload_str(json),
        }
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
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(event_json("a CloudWatch Logs subscription event"))?;
    match envelope.awslogs.and_then(|a| a.data) {
        Some(data) => decode_data(&data.0),
        // Lambda delivers one event as sent; say what was sent instead, so it can be replayed right.
        None => Err(match input::describe(bytes) {
            Some(found) => DecodeError::NotSubscription { found },
            None => DecodeError::MissingAwslogs,
        }),
    }
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
    serde_json::from_slice(bytes).map_err(event_json("a Kinesis event of CloudWatch Logs records"))
}

/// Which kind of event Lambda delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `{"awslogs":{"data":...}}` from a subscription filter.
    Subscription,
    /// `{"Records":[{"kinesis":...}]}` from a stream.
    Kinesis,
    /// An EventBridge schedule: time to report the problems that are over, or to sweep.
    Schedule,
    /// CloudFormation's `Stack Status Change`: a deployment to check ([`crate::deploy`]).
    StackStatus,
    /// `{"Records":[{"eventSource":"aws:sqs",...}]}`: CloudTrail-recorded calls the stack's queue
    /// gathered ([`crate::deploy`]).
    Queue,
}

/// The `eventSource` of a batch's first record. Nothing else is copied: the rest of the record
/// (a Kinesis record's data may be a megabyte) and the other records are skipped.
struct FirstSource(Option<String>);

/// Reads `Records` (`records`) or one record in it: anything but a list of records, or a record
/// that is not an object, names no source, and the event's decoder refuses it by name.
struct SourceVisitor {
    records: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for SourceVisitor {
    type Value = Option<String>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SourceVisitor {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of records")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = if self.records {
            seq.next_element_seed(SourceVisitor { records: false })?
                .flatten()
        } else {
            None
        };
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(first)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut source = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !self.records && key == "eventSource" {
                source = map
                    .next_value::<serde_json::Value>()?
                    .as_str()
                    .map(str::to_owned);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(source)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl<'de> Deserialize<'de> for FirstSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SourceVisitor { records: true })
            .map(FirstSource)
    }
}

#[derive(Deserialize)]
struct KindProbe<'a> {
    #[serde(rename = "Records")]
    records: Option<FirstSource>,
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
            records: Some(FirstSource(Some(source))),
            ..
        }) if source == "aws:sqs" => EventKind::Queue,
        Ok(KindProbe {
            records: Some(_), ..
        }) => EventKind::Kinesis,
        Ok(KindProbe {
            source: Some(source),
            detail_type: Some(detail),
            ..
        }) if source == "aws.events" && detail == "Scheduled Event" => EventKind::Schedule,
        Ok(KindProbe {
            source: Some(source),
            detail_type: Some(detail),
            ..
        }) if source == crate::sources::changes::STACK_SOURCE
            && detail == crate::sources::changes::STACK_STATUS_CHANGE =>
        {
            EventKind::StackStatus
        }
        _ => EventKind::Subscription,
    }
}

/// Decodes the `awslogs.data` string down to its payload.
pub fn decode_data(data: &str) -> Result<Payload, DecodeError> {
    let gz = decode_base64(data.trim())?;
    inflate(&gz, inflate_cap()).map(Payload)
}

/// Decodes standard base64 with canonical padding. The SIMD decoder (AVX2 or SSSE3 chosen at run
/// time on x86-64, NEON on aarch64) reads what CloudWatch Logs writes; what it refuses is decided
/// by the `base64` crate, so exactly the inputs that crate's `STANDARD` engine accepts are accepted
/// (the SIMD decoder accepts a subset of them: it requires the padding and zero trailing bits
/// too) and a refusal names the offending byte as that crate does.
pub fn decode_base64(data: &str) -> Result<Vec<u8>, DecodeError> {
    match base64_simd::STANDARD.decode_to_vec(data) {
        Ok(bytes) => Ok(bytes),
        Err(_) => Ok(base64::engine::general_purpose::STANDARD.decode(data)?),
    }
}

/// The FHCRC flag of a gzip header: a CRC-16 of the header follows it.
const GZIP_FHCRC: u8 = 0x02;

/// The common case in one call: a single gzip member (CloudWatch Logs writes one) whose trailer
/// states its size, inflated by libdeflate straight into a buffer of exactly that size. No
/// intermediate reader buffers, no zero-filling and no regrowth. `None` for anything else, which
/// the streaming decoder then reads or names: libdeflate checks the CRC and size in the trailer,
/// and all of the input must be that one member. A header with a CRC of its own is left to the
/// streaming decoder too, as libdeflate skips that CRC where zlib checks it.
fn inflate_whole(gz: &[u8], limit: usize) -> Option<Vec<u8>> {
    let trailer: [u8; 4] = gz.get(gz.len().checked_sub(4)?..)?.try_into().ok()?;
    let size = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
    // Deflate expands at most about 1032:1, so a larger claim is a lie not worth reserving for.
    if size > limit || size > gz.len().saturating_mul(1032) || gz.get(3)? & GZIP_FHCRC != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    let written = GUNZIP
        .try_with(|gunzip| gunzip.as_ref()?.member_into(gz, &mut out))
        .ok()??;
    (written == size).then_some(out)
}

thread_local! {
    /// libdeflate keeps its decode tables (about 11 KiB) in a decompressor; one per thread, made on
    /// first use. `None` if it could not be allocated, and then every stream takes the streaming path.
    static GUNZIP: Option<Gunzip> = Gunzip::new();
}

/// An owned libdeflate decompressor, freed on drop. Not `Send`: it is used on one thread at a time.
struct Gunzip(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

impl Gunzip {
    fn new() -> Option<Self> {
        // SAFETY: takes no arguments; returns an owned decompressor, or null if allocation failed.
        std::ptr::NonNull::new(unsafe { libdeflate_sys::libdeflate_alloc_decompressor() }).map(Self)
    }

    /// Inflates `gz`, which must be exactly one gzip member with nothing after it, into the spare
    /// capacity of `out`, and extends `out` by what was written. Returns that many bytes, or `None`
    /// (with `out` unchanged) if the member is corrupt, does not fit, or is followed by more input.
    fn member_into(&self, gz: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let spare = out.spare_capacity_mut();
        let (mut used, mut written) = (0usize, 0usize);
        // SAFETY: `self.0` is a live decompressor (freed only on drop) that no other call is using:
        // `Gunzip` is neither `Send` nor `Sync`, and nothing here re-enters it. `gz.as_ptr()` is
        // valid for reads of `gz.len()` bytes, which libdeflate stays within. `spare` is the
        // allocation past `out.len()`, valid for writes of `spare.len()` bytes, which libdeflate
        // stays within; it takes an output buffer of any contents (like `read(2)`), so the bytes
        // there need not be initialised. `used` and `written` are valid for writes. On success
        // libdeflate has written the first `written` bytes of `spare` (at most its length, as
        // checked), so `set_len` covers only initialised bytes; on failure the length stays.
        unsafe {
            let result = libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                gz.as_ptr().cast(),
                gz.len(),
                spare.as_mut_ptr().cast(),
                spare.len(),
                &mut used,
                &mut written,
            );
            if result != libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS
                || used != gz.len()
                || written > spare.len()
            {
                return None;
            }
            out.set_len(out.len() + written);
        }
        Some(written)
    }
}

impl Drop for Gunzip {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `libdeflate_alloc_decompressor` and is freed only here, once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

/// Gunzips `gz`, refusing output larger than `limit`. Memory stays within `limit`: a stream the
/// one-call path declines is first inflated into a small buffer only to count its size, so a gzip
/// bomb is refused at the cap having held a few KiB, and a good stream is then inflated into a
/// buffer of exactly its size.
pub fn inflate(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if !gz.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::NotGzip);
    }
    if let Some(out) = inflate_whole(gz, limit) {
        return Ok(out);
    }
    // Several members, a trailer that lies, or a stream that is corrupt or too large: the streaming
    // decoder finds out which, and names it.
    inflate_streaming(gz, limit)
}

/// Gunzips every member of `gz` with flate2's streaming decoder: first only counting the output
/// (refused past `limit`), then into a buffer of exactly that size.
fn inflate_streaming(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let size = inflated_size(gz, limit)?;
    let mut out = Vec::with_capacity(size);
    flate2::read::MultiGzDecoder::new(gz)
        .take(size as u64)
        .read_to_end(&mut out)
        .map_err(gzip_error)?;
    Ok(out)
}

/// How many bytes `gz` inflates to, stopping as soon as that exceeds `limit`.
fn inflated_size(gz: &[u8], limit: usize) -> Result<usize, DecodeError> {
    let mut decoder = flate2::read::MultiGzDecoder::new(gz);
    let mut scratch = vec![0u8; 64 << 10];
    let mut total = 0usize;
    loop {
        match decoder.read(&mut scratch).map_err(gzip_error)? {
            0 => return Ok(total),
            n => total += n,
        }
        if total > limit {
            return Err(DecodeError::TooLarge { limit });
        }
    }
}

fn gzip_error(e: io::Error) -> DecodeError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => DecodeError::Truncated,
        _ => DecodeError::Gzip(e),
    }
}

/// Parses the decompressed payload JSON.
pub fn parse_payload(json: &[u8]) -> Result<LogBatch<'_>, DecodeError> {
    parse_payload_str(payload_str(json)?)
}

/// One UTF-8 check of the whole payload up front lets serde_json skip it per string.
fn payload_str(json: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(json).map_err(|e| DecodeError::PayloadNotUtf8 {
        offset: e.valid_up_to(),
    })
}

fn parse_payload_str(json: &str) -> Result<LogBatch<'_>, DecodeError> {
    EXPECTED_EVENTS.set(json.len() / TYPICAL_EVENT_BYTES);
    let batch = serde_json::from_str(json).map_err(DecodeError::PayloadJson);
    EXPECTED_EVENTS.set(0);
    batch
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
        // A byte-order mark, and any of `\n`, `\r\n` or a lone `\r` ending a line, as `scan` reads them.
        log_events: lines
            .trim_start_matches('\u{feff}')
            .split(['\n', '\r'])
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, line)| LogEvent {
                // Real ids are 56-digit numbers; a zero-padded index keeps them unique and stable.
                id: format!("{:056}", i).into(),
                // Saturating: a start near the end of `i64` is a caller's to give, not a panic.
                timestamp: start_ms.saturating_add(i64::try_from(i).unwrap_or(i64::MAX)),
                message: line.into(),
            })
            .collect(),
        omitted_events: 0,
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
mod tests;
