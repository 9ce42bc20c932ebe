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
    pub fn escaped_contains(&self, needles: &crate::detect::Needles) -> bool {
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
        let finder_for = |_: &str| &*crate::detect::CANDIDATE_NEEDLES;
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
        }) if source == crate::deploy::events::STACK_SOURCE
            && detail == crate::deploy::events::STACK_STATUS_CHANGE =>
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
        for text in ["\u{feff}a line\r\nsecond line\r\n", "a line\rsecond line\r"] {
            let event = encode_event(text, "/g", "s", "1", 0);
            let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
            let batch = payload.parse().unwrap();
            let messages: Vec<_> = batch.log_events.iter().map(|e| e.message.text()).collect();
            assert_eq!(messages, ["a line", "second line"], "{text:?}");
        }
        assert_eq!(batch.log_events[1].timestamp, 1001);
    }

    /// Any start time encodes: the times of later lines stop at the ends of `i64`.
    #[test]
    fn encodes_any_start_time() {
        let cases = [
            (i64::MAX, [i64::MAX, i64::MAX]),
            (i64::MAX - 1, [i64::MAX - 1, i64::MAX]),
            (i64::MIN, [i64::MIN, i64::MIN + 1]),
            (-1, [-1, 0]),
        ];
        for (start, want) in cases {
            let event = encode_event("a\nb", "/g", "s", "1", start);
            let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
            let batch = payload.parse().unwrap();
            let times: Vec<i64> = batch.log_events.iter().map(|e| e.timestamp).collect();
            assert_eq!(times, want, "{start}");
        }
    }

    /// Every kind of JSON escape a message can hold, read back exactly, and the token search on the
    /// escaped text agreeing with a search on the decoded text.
    #[test]
    fn messages_stay_escaped_until_read() {
        let token = &*crate::detect::CANDIDATE_NEEDLES;
        let cases = [
            "a \"q\" The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer.",
            "The response from the Lambda Authorizer function doesn't match\nthe format",
            "split Lambda Authorizer function doesn't\tmatch",
            "\tpermissions to call the authorizer",
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
                event.message.escaped_contains(token),
                token.is_in(text.as_bytes()),
                "{json}"
            );
        }
        // A token spelled with \u escapes is decoded when parsed, so the search still sees it.
        let json =
            r#"{"id":"1","timestamp":1,"message":"\u0041UTHORIZER_CONFIGURATION_ERROR \"x\""}"#;
        let event: LogEvent = serde_json::from_str(json).unwrap();
        assert!(event.message.escaped_contains(token));
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

    /// Today's gunzip before libdeflate, as the reference: flate2 (zlib-rs) inflates a lone
    /// member in one call, and anything it declines goes to the same streaming path.
    fn inflate_flate2(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        if !gz.starts_with(&GZIP_MAGIC) {
            return Err(DecodeError::NotGzip);
        }
        let whole = (|| {
            let trailer: [u8; 4] = gz.get(gz.len().checked_sub(4)?..)?.try_into().ok()?;
            let size = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
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
        })();
        match whole {
            Some(out) => Ok(out),
            None => inflate_streaming(gz, limit),
        }
    }

    /// `inflate` and the reference agree: the same bytes, or the same error.
    fn agrees(gz: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let ours = inflate(gz, limit).map_err(|e| e.to_string());
        let theirs = inflate_flate2(gz, limit).map_err(|e| e.to_string());
        assert_eq!(ours, theirs, "{gz:02x?} limit {limit}");
        ours
    }

    fn gzip_at(bytes: &[u8], level: u32, header: u8) -> Vec<u8> {
        use std::io::Write;
        let mut builder = flate2::GzBuilder::new();
        if header & 1 != 0 {
            builder = builder.filename("access.log");
        }
        if header & 2 != 0 {
            builder = builder.comment("a comment");
        }
        if header & 4 != 0 {
            builder = builder.extra(vec![b'x'; 9]);
        }
        let mut enc = builder.write(Vec::new(), flate2::Compression::new(level));
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Every kind of stream, good and broken, inflates exactly as the flate2 path inflates it, and
    /// output above the cap is refused by naming it.
    #[test]
    fn libdeflate_agrees_with_flate2() {
        use proptest::prelude::*;
        let payload = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..3000),
            // Few distinct bytes, repeated, so deflate finds matches and Huffman-codes them.
            (
                proptest::collection::vec(proptest::sample::select(&b"ab {}\n\"0"[..]), 0..300),
                1usize..40
            )
                .prop_map(|(unit, times)| unit.repeat(times)),
        ];
        proptest!(|(
            payload in payload,
            level in 0u32..=9,
            header in 0u8..8,
            shape in 0u8..6,
            at in any::<proptest::sample::Index>(),
            noise in proptest::collection::vec(any::<u8>(), 1..16),
            mask in 1u8..=255,
            limit in prop_oneof![Just(usize::MAX), any::<proptest::sample::Index>().prop_map(|i| i.index(8000))],
        )| {
            let one = gzip_at(&payload, level, header);
            let gz = match shape {
                0 => one,
                1 => {
                    let cut = at.index(payload.len() + 1);
                    [gzip_at(&payload[..cut], level, header), gzip_at(&payload[cut..], level, 0)].concat()
                }
                2 => [one, noise].concat(),
                3 => {
                    let mut lying = one;
                    let n = lying.len();
                    lying[n - 4 + at.index(4)] ^= mask;
                    lying
                }
                4 => {
                    let mut cut = one;
                    cut.truncate(at.index(cut.len()));
                    cut
                }
                _ => {
                    let mut flipped = one;
                    let i = at.index(flipped.len());
                    flipped[i] ^= mask;
                    flipped
                }
            };
            let got = agrees(&gz, limit);
            if shape < 2 {
                if payload.len() > limit {
                    prop_assert_eq!(got, Err(DecodeError::TooLarge { limit }.to_string()));
                } else {
                    prop_assert_eq!(got, Ok(payload));
                }
            }
        });
    }

    /// A header CRC is checked, as zlib checks it, though libdeflate would skip it.
    #[test]
    fn a_header_crc_is_checked() {
        let text = b"one line\n".repeat(50);
        let plain = gzip(&text);
        let mut header = plain[..10].to_vec();
        header[3] |= GZIP_FHCRC;
        let mut crc = flate2::Crc::new();
        crc.update(&header);
        let good = [&header[..], &(crc.sum() as u16).to_le_bytes(), &plain[10..]].concat();
        assert_eq!(agrees(&good, 1 << 20).unwrap(), text);
        let bad = [
            &header[..],
            &(!crc.sum() as u16).to_le_bytes(),
            &plain[10..],
        ]
        .concat();
        assert!(agrees(&bad, 1 << 20).is_err());
    }

    /// Where the two differ, on purpose-built streams only: libdeflate reads litlen symbols 286
    /// and 287 (and offset symbols 30 and 31) that deflate reserves and zlib refuses, and some
    /// incomplete Huffman codes zlib refuses. Such a stream whose trailer matches what libdeflate
    /// reads from it inflates where flate2 named it corrupt. No deflate encoder writes them.
    #[test]
    fn libdeflate_reads_reserved_symbols_zlib_refuses() {
        // One final fixed-Huffman block: literal 'a', then length symbol 286 (read by libdeflate
        // as length 258) at distance 1, then end of block.
        let mut bits: Vec<bool> = vec![true, true, false]; // BFINAL, BTYPE = 01 (LSB first)
        let mut code =
            |value: u32, len: u32| bits.extend((0..len).rev().map(|i| value >> i & 1 == 1));
        code(0x30 + u32::from(b'a'), 8);
        code(0xc0 + (286 - 280), 8);
        code(0, 5); // distance 1
        code(0, 7); // end of block
        let mut deflate = vec![0u8; bits.len().div_ceil(8)];
        for (i, &bit) in bits.iter().enumerate() {
            deflate[i / 8] |= u8::from(bit) << (i % 8);
        }
        let text = vec![b'a'; 259];
        let mut crc = flate2::Crc::new();
        crc.update(&text);
        let gz = [
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff][..],
            &deflate,
            &crc.sum().to_le_bytes(),
            &259u32.to_le_bytes(),
        ]
        .concat();
        assert_eq!(inflate(&gz, 1 << 20).unwrap(), text);
        assert!(matches!(
            inflate_flate2(&gz, 1 << 20),
            Err(DecodeError::Gzip(_))
        ));
    }

    /// The SIMD decoder with its fallback accepts exactly what the `base64` crate's STANDARD
    /// engine accepts, with the same bytes, and refuses with that crate's error.
    #[test]
    fn base64_agrees_with_the_base64_crate() {
        let check = |data: &str| {
            let ours = decode_base64(data).map_err(|e| e.to_string());
            let theirs = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| DecodeError::from(e).to_string());
            assert_eq!(ours, theirs, "{data:?}");
        };
        for data in [
            "",
            "=",
            "==",
            "===",
            "====",
            "QQ==",
            "QQ=",
            "QQ",
            "QR==",
            "QUI=",
            "QUJ=",
            "QUJD",
            "QUJD====",
            "QU=D",
            "Q===",
            "QUJDRA==QUJD",
            " QUJD",
            "QUJD ",
            "QU JD",
            "QUJD\n",
            "QUJ-",
            "QUJ_",
            "QUJ\u{e9}",
            "QUJDRA",
        ] {
            check(data);
        }
        let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        for n in 0..70 {
            check(&b64(&bytes[..n]));
            check(&b64(&bytes[n..n * 40]));
        }
        proptest::proptest!(|(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            edits in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), proptest::sample::select(&b"A/+=9z-_ \n\x80"[..])),
                0..3,
            ),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
        )| {
            let mut data = b64(&raw).into_bytes();
            if !data.is_empty() {
                for (at, byte) in &edits {
                    let i = at.index(data.len());
                    data[i] = *byte;
                }
                if edits.len() == 2 {
                    data.truncate(cut.index(data.len() + 1));
                }
            }
            check(&String::from_utf8_lossy(&data));
        });
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
        let stack = br#"{"source":"aws.cloudformation","detail-type":"CloudFormation Stack Status Change","detail":{}}"#;
        let queue =
            br#"{"Records":[{"messageId":"m","body":"{}","eventSource":"aws:sqs"},{"x":1}]}"#;
        for (bytes, kind) in [
            (&stack[..], EventKind::StackStatus),
            (&queue[..], EventKind::Queue),
            // Only the first record's own `eventSource` names a queue; anything else under
            // `Records` is a stream's event, which its decoder refuses by name.
            (
                br#"{"Records":[{"eventSource":7},{"eventSource":"aws:sqs"}]}"#,
                EventKind::Kinesis,
            ),
            (
                br#"{"Records":[[{"eventSource":"aws:sqs"}]]}"#,
                EventKind::Kinesis,
            ),
            (
                br#"{"Records":{"eventSource":"aws:sqs"}}"#,
                EventKind::Kinesis,
            ),
            (br#"{"Records":[1]}"#, EventKind::Kinesis),
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

    /// What a sniffed input came to, per part: `lines:N` with its line count, `batch:E` with its
    /// event count once decoded, or `error:TEXT`; an error of the whole input is one `error:`.
    fn sniffed(bytes: &[u8]) -> Vec<String> {
        let parts = match sniff(bytes) {
            Ok(parts) => parts,
            Err(e) => return vec![format!("error:{e}")],
        };
        parts
            .into_iter()
            .map(|p| {
                let at = p.at;
                let batch = |payload: Result<Payload, DecodeError>| match payload
                    .and_then(|p| p.parse().map(|b| b.log_events.len()))
                {
                    Ok(n) => format!("{at}batch:{n}"),
                    Err(e) => format!("{at}error:{e}"),
                };
                match p.content {
                    Ok(Content::Lines(text)) => format!("{at}lines:{}", text.lines().count()),
                    Ok(Content::Encoded(data)) => batch(decode_data(&data)),
                    Ok(Content::Payload(payload)) => batch(Ok(payload)),
                    Ok(Content::Events(events)) => format!("{at}events:{}", events.len()),
                    Err(e) => format!("{at}error:{e}"),
                }
            })
            .collect()
    }

    /// Every kind of input a user may give `scan`, with what it must come to. A case's expected
    /// parts are prefixes, so an error is matched by its leading words.
    #[test]
    fn sniffs_every_input_kind() {
        let lines = "1.2.3.4 - - [x] \"GET / HTTP/1.1\" 200 1 id -\n5.6.7.8 - - [x] \"GET / HTTP/1.1\" 200 1 id -\n";
        let event = serde_json::to_string(&encode_event(lines, "/g", "s", "1", 0)).unwrap();
        let pretty = serde_json::to_string_pretty(&encode_event(lines, "/g", "s", "1", 0)).unwrap();
        let payload = r#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":[{"id":"1","timestamp":1,"message":"m"}]}"#;
        let kinesis = |seq: &str| {
            serde_json::to_string(&encode_kinesis(&[(seq, gzip(payload.as_bytes()))])).unwrap()
        };
        let destination = serde_json::json!({
            "version": "1.0",
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": serde_json::from_str::<serde_json::Value>(&event).unwrap(),
            "responsePayload": {"errorType": "PublishFailed"},
        })
        .to_string();
        let sqs_dump = serde_json::json!({"Messages": [
            {"MessageId": "m-1", "ReceiptHandle": "r", "Body": destination},
            {"MessageId": "m-2", "ReceiptHandle": "r", "Body": event},
        ]})
        .to_string();
        let sqs_event = serde_json::json!({"Records": [
            {"messageId": "q-1", "body": destination, "eventSource": "aws:sqs"},
        ]})
        .to_string();
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "n", "TopicArn": "t", "Message": event}).to_string();
        let bridge = serde_json::json!({"detail-type": "Lambda Function Invocation Result - Failure", "source": "lambda", "detail": serde_json::from_str::<serde_json::Value>(&destination).unwrap()}).to_string();
        let export = serde_json::json!({"events": [
            {"logStreamName": "s", "timestamp": 1, "message": "line one"},
            {"logStreamName": "s", "timestamp": 2, "message": "line two"},
        ], "searchedLogStreams": []})
        .to_string();
        let json_lines =
            "{\"requestId\":\"a\",\"status\":\"200\"}\n{\"requestId\":\"b\",\"status\":\"500\"}\n";
        let bom = |s: &str| [b"\xef\xbb\xbf".as_slice(), s.as_bytes()].concat();
        let utf16 = |s: &str, le: bool| {
            let mut out = if le {
                vec![0xff, 0xfe]
            } else {
                vec![0xfe, 0xff]
            };
            for u in s.encode_utf16() {
                out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            out
        };
        let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
            ("plain lines", lines.into(), vec!["lines:2"]),
            ("CRLF", lines.replace('\n', "\r\n").into(), vec!["lines:2"]),
            ("CR only", lines.replace('\n', "\r").into(), vec!["lines:2"]),
            (
                "CR only, no final line end",
                lines.trim_end().replace('\n', "\r").into(),
                vec!["lines:2"],
            ),
            ("BOM before lines", bom(lines), vec!["lines:2"]),
            ("UTF-16 LE lines", utf16(lines, true), vec!["lines:2"]),
            ("UTF-16 BE event", utf16(&event, false), vec!["batch:2"]),
            ("JSON access-log lines", json_lines.into(), vec!["lines:2"]),
            (
                "one JSON access-log line",
                br#"{"requestId":"a","status":"200"}"#.to_vec(),
                vec!["lines:1"],
            ),
            (
                "JSON lines, CR only",
                json_lines.replace('\n', "\r").into(),
                vec!["lines:2"],
            ),
            (
                "text lines starting with [",
                b"[20/Nov/2026:09:14:03 +0000] GET / 500 x\n".to_vec(),
                vec!["lines:1"],
            ),
            ("event", event.clone().into(), vec!["batch:2"]),
            ("pretty event", pretty.clone().into(), vec!["batch:2"]),
            ("BOM before an event", bom(&event), vec!["batch:2"]),
            (
                "event with CRLF",
                pretty.replace('\n', "\r\n").into(),
                vec!["batch:2"],
            ),
            (
                "JSON Lines of events",
                format!("{event}\n{event}\n").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "JSON Lines of events, CRLF",
                format!("{event}\r\n{event}\r\n").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "events back to back",
                format!("{event}{event}").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "pretty events back to back",
                format!("{pretty}\n{pretty}").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "array of events",
                format!("[{event},{event}]").into(),
                vec!["#1batch:2", "#2batch:2"],
            ),
            ("payload", payload.into(), vec!["batch:1"]),
            (
                "gzip of a payload",
                gzip(payload.as_bytes()),
                vec!["batch:1"],
            ),
            ("gzip of lines", gzip(lines.as_bytes()), vec!["lines:2"]),
            ("gzip of an event", gzip(event.as_bytes()), vec!["batch:2"]),
            (
                "gzip of JSON Lines of events",
                gzip(format!("{event}\n{event}").as_bytes()),
                vec!["#1batch:2", "#2batch:2"],
            ),
            (
                "gzip of a BOM and CR-only lines",
                gzip(&bom(&lines.replace('\n', "\r"))),
                vec!["lines:2"],
            ),
            (
                "gzip of gzip of lines",
                gzip(&gzip(lines.as_bytes())),
                vec!["lines:2"],
            ),
            (
                "three layers of gzip",
                gzip(&gzip(&gzip(lines.as_bytes()))),
                vec!["error:input is gzip inside gzip inside gzip"],
            ),
            ("Kinesis event", kinesis("7").into(), vec!["#7batch:1"]),
            (
                "Kinesis events back to back",
                format!("{}{}", kinesis("7"), kinesis("8")).into(),
                vec!["#1#7batch:1", "#2#8batch:1"],
            ),
            (
                "Kinesis events as JSON Lines",
                format!("{}\n{}\n", kinesis("7"), kinesis("8")).into(),
                vec!["#1#7batch:1", "#2#8batch:1"],
            ),
            (
                "Lambda destination record",
                destination.clone().into(),
                vec!["batch:2"],
            ),
            (
                "SQS dump of the dead-letter queue",
                sqs_dump.into(),
                vec!["#m-1batch:2", "#m-2batch:2"],
            ),
            ("SQS event", sqs_event.clone().into(), vec!["#q-1batch:2"]),
            (
                "one SQS message",
                serde_json::json!({"MessageId": "m", "Body": event})
                    .to_string()
                    .into(),
                vec!["batch:2"],
            ),
            ("SNS notification", sns.into(), vec!["batch:2"]),
            ("EventBridge destination", bridge.into(), vec!["batch:2"]),
            ("aws logs output", export.into(), vec!["events:2"]),
            (
                "filter-log-events output, every key",
                serde_json::json!({
                    "events": [
                        {"logStreamName": "s", "timestamp": 1, "message": "a\nb", "ingestionTime": 2, "eventId": "e1"},
                        {"logStreamName": "s", "timestamp": 3, "message": "c", "ingestionTime": 4, "eventId": "e2"},
                    ],
                    "searchedLogStreams": [],
                    "nextToken": "t",
                })
                .to_string()
                .into(),
                vec!["events:2"],
            ),
            (
                "get-log-events output",
                serde_json::json!({
                    "events": [{"timestamp": 1, "message": "a", "ingestionTime": 2}],
                    "nextForwardToken": "f/1",
                    "nextBackwardToken": "b/1",
                })
                .to_string()
                .into(),
                vec!["events:1"],
            ),
            // A client value of a JSON-format line can hold `","awslogs":{...}` (API Gateway does
            // not escape it): the line keeps its format's keys, so it is no event.
            (
                "JSON access-log line with an injected envelope key",
                format!(
                    "{{\"requestId\":\"a\",\"ua\":\"x\",\"awslogs\":{}}}\n{{\"requestId\":\"b\",\"ua\":\"y\"}}\n",
                    serde_json::from_str::<serde_json::Value>(&event).unwrap()["awslogs"]
                )
                .into(),
                vec!["lines:2"],
            ),
            (
                "JSON access-log lines, a later one with an injected envelope key",
                format!(
                    "{json_lines}{{\"requestId\":\"c\",\"awslogs\":{}}}\n",
                    serde_json::from_str::<serde_json::Value>(&event).unwrap()["awslogs"]
                )
                .into(),
                vec!["lines:3"],
            ),
            (
                "JSON access-log line a client's quote broke, first",
                b"{\"requestId\":\"a\",\"ua\":\"x\"y\",\"awslogs\":\"z\"}\n{\"requestId\":\"b\",\"ua\":\"y\"}\n".to_vec(),
                vec!["lines:2"],
            ),
            // A client value holding `"}` closes the object early; the line goes on after it.
            (
                "JSON access-log line a client's `\"}` closed early",
                b"{\"requestId\":\"a\",\"path\":\"\"}\",\"ua\":\"\",\"status\":\"200\"}\n".to_vec(),
                vec!["lines:1"],
            ),
            (
                "JSON access-log line with an array a client injected",
                br#"{"requestId":"a","ua":"x","items":[1,2]}"#.to_vec(),
                vec!["lines:1"],
            ),
            // On one line it is what a JSON-format access-log line with a client's injected key
            // would be, and is read so; printed over several lines it is no log line.
            (
                "one-line subscription event with a key AWS does not write",
                event.replacen('{', "{\"extra\":1,", 1).into(),
                vec!["lines:1"],
            ),
            (
                "subscription event with a key AWS does not write",
                pretty.replacen('{', "{\"extra\":1,", 1).into(),
                vec!["error:a JSON object with the marks of a CloudWatch Logs subscription event also has the key `extra`"],
            ),
            (
                "subscription event giving awslogs twice",
                {
                    let awslogs = serde_json::from_str::<serde_json::Value>(&event).unwrap()["awslogs"].to_string();
                    format!("{{\"awslogs\":{awslogs},\"awslogs\":{awslogs}}}").into()
                },
                vec!["error:a CloudWatch Logs subscription event gives the key `awslogs` twice"],
            ),
            (
                "Records given twice",
                format!("{{\"Records\":[],\"Records\":{}}}", serde_json::from_str::<serde_json::Value>(&sqs_event).unwrap()["Records"]).into(),
                vec!["error:a Lambda event of Records gives the key `Records` twice"],
            ),
            (
                "SNS notification giving Message twice",
                format!("{{\"Type\":\"Notification\",\"Message\":\"x\",\"Message\":{}}}", serde_json::Value::String(event.clone())).into(),
                vec!["error:an SNS notification gives the key `Message` twice"],
            ),
            (
                "destination record giving requestPayload twice",
                format!("{{\"requestPayload\":{{}},\"requestPayload\":{event}}}").into(),
                vec!["error:a Lambda destination record gives the key `requestPayload` twice"],
            ),
            (
                "aws logs tail output",
                b"2026-12-07T09:45:51.123000+00:00 3ed5d3ff (6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f) Execution failed due to configuration error: Authorizer error\n".to_vec(),
                vec!["error:input is `aws logs tail` output"],
            ),
            (
                "aws logs --output text",
                b"EVENTS\t00000000000000000000000000000000000000000000000000000001\t1795172402000\tabc\t(6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f) AuthorizerConfigurationException\t1795172401000\n".to_vec(),
                vec!["error:input is `aws logs` output in --output text"],
            ),
            (
                "aws logs tail --format short output",
                b"2026-12-07T09:45:51 (6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f) AuthorizerConfigurationException\n".to_vec(),
                vec!["error:input is `aws logs tail` output"],
            ),
            (
                "aws logs tail --color on output",
                b"\x1b[32m2026-12-07T09:45:51.123000+00:00\x1b[0m \x1b[36ms\x1b[0m x\n".to_vec(),
                vec!["error:input is `aws logs tail` output"],
            ),
            (
                "deeply nested arrays",
                format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into(),
                vec!["error:"],
            ),
            (
                "deeply nested objects",
                format!("{}1{}", "{\"Records\":".repeat(5000), "}".repeat(5000)).into(),
                vec!["error:"],
            ),
            ("empty", vec![], vec!["error:input is empty"]),
            (
                "only whitespace",
                b" \n\t\r\n ".to_vec(),
                vec!["error:input holds only whitespace"],
            ),
            ("only a BOM", bom(""), vec!["error:input is empty"]),
            (
                "UTF-16 without a BOM",
                utf16(lines, true)[2..].to_vec(),
                vec!["error:input holds a NUL byte at offset 1"],
            ),
            (
                "UTF-16 of odd length",
                utf16(lines, true)[..9].to_vec(),
                vec!["error:input is UTF-16 but broken at byte 8"],
            ),
            (
                "Latin-1",
                b"caf\xe9 AUTHORIZER_CONFIGURATION_ERROR\n".to_vec(),
                vec!["error:input is not UTF-8 text (invalid byte at offset 3)"],
            ),
            (
                "zstd",
                b"\x28\xb5\x2f\xfd\x00\x00".to_vec(),
                vec!["error:input is zstd-compressed"],
            ),
            (
                "zip",
                b"PK\x03\x04\x14\x00".to_vec(),
                vec!["error:input is zip-compressed"],
            ),
            (
                "unknown JSON document",
                b"{\n  \"foo\": {\"bar\": 1}\n}\n".to_vec(),
                vec!["error:a JSON object with keys `foo` is neither"],
            ),
            (
                "JSON array of numbers",
                b"[1, 2]".to_vec(),
                vec!["error:a JSON array is neither"],
            ),
            (
                "empty JSON array",
                b"[]".to_vec(),
                vec!["error:the JSON array is empty"],
            ),
            (
                "empty Records",
                br#"{"Records":[]}"#.to_vec(),
                vec!["error:Records is empty"],
            ),
            (
                "empty SQS dump",
                br#"{"Messages":[]}"#.to_vec(),
                vec!["error:Messages is empty"],
            ),
            (
                "S3 event",
                br#"{"Records":[{"eventSource":"aws:s3","s3":{}}]}"#.to_vec(),
                vec!["#1error:record 1 is not a Kinesis, SQS or SNS record (eventSource aws:s3)"],
            ),
            (
                "truncated event",
                event.as_bytes()[..event.len() / 2].to_vec(),
                vec!["error:event is not JSON: EOF while parsing"],
            ),
            (
                "event with a broken key",
                event.replacen("\"data\"", "data", 1).into(),
                vec!["error:event is not JSON: key must be a string"],
            ),
            (
                "an event then garbage",
                format!("{event}\n}}garbage").into(),
                vec!["#1batch:2", "#2error:event is not JSON"],
            ),
            (
                "an event then an unknown object",
                format!("{event}\n{{\"a\":1}}").into(),
                vec![
                    "#1batch:2",
                    "#2error:a JSON object with keys `a` is neither",
                ],
            ),
            (
                "an event among JSON log lines",
                format!("{json_lines}{event}\n").into(),
                vec!["error:line 3 is an event among JSON access-log lines"],
            ),
            (
                "SQS message without a body",
                br#"{"Messages":[{"MessageId":"m"}]}"#.to_vec(),
                vec!["#merror:SQS message has no Body string"],
            ),
            (
                "SQS message whose body is a log line",
                serde_json::json!({"MessageId": "m", "Body": "1.2.3.4 GET /"})
                    .to_string()
                    .into(),
                vec!["error:a JSON number is neither"],
            ),
            (
                "awslogs without data",
                br#"{"awslogs":{"type":"gzip"}}"#.to_vec(),
                vec![
                    "error:event has no awslogs.data string (not a CloudWatch Logs subscription event)",
                ],
            ),
            (
                "a record that nests itself",
                {
                    let mut json = event.clone();
                    for _ in 0..10 {
                        json = serde_json::json!({"requestPayload": serde_json::from_str::<serde_json::Value>(&json).unwrap()}).to_string();
                    }
                    json.into()
                },
                vec!["error:events are wrapped more than"],
            ),
        ];
        for (name, bytes, expected) in cases {
            let got = sniffed(&bytes);
            assert_eq!(got.len(), expected.len(), "{name}: {got:?}");
            for (got, expected) in got.iter().zip(&expected) {
                assert!(
                    got.starts_with(expected),
                    "{name}: {got:?}, expected {expected:?}"
                );
            }
        }
    }

    /// An event whose data holds JSON escapes still decodes; one whose `awslogs` has another shape
    /// reaches the decoder, which names what is wrong.
    #[test]
    fn sniffs_escaped_data_and_names_broken_events() {
        let payload = br#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":[]}"#;
        let data = b64(&gzip(payload));
        let escaped = data.replace('/', "\\/");
        let with_escapes = format!(r#"{{"awslogs":{{"data":"{escaped}"}}}}"#);
        assert!(
            with_escapes.contains("\\/"),
            "the data holds an escaped slash"
        );
        assert_eq!(sniffed(with_escapes.as_bytes()), ["batch:0"]);
        let broken: [(&[u8], &str); 4] = [
            (br#"{"awslogs":{}}"#, "no awslogs.data string"),
            (br#"{"awslogs":{"data":null}}"#, "no awslogs.data string"),
            (br#"{"awslogs":{"data":5}}"#, "no awslogs.data string"),
            (br#"{"awslogs":{"data":"!!"}}"#, "not valid base64"),
        ];
        for (bytes, expected) in broken {
            let got = sniffed(bytes);
            assert!(got[0].contains(expected), "{got:?}");
        }
    }

    /// The function is strict, one event an invocation, and names what it was given instead.
    #[test]
    fn the_function_names_what_it_was_sent() {
        let event = serde_json::to_string(&encode_event("x", "/g", "s", "1", 0)).unwrap();
        let destination = format!(r#"{{"version":"1.0","requestPayload":{event}}}"#);
        let twice = format!("{event}{event}");
        let cases: [(&[u8], &str); 9] = [
            (b"", "event is empty"),
            (b"hello", "event is not JSON: expected value"),
            (twice.as_bytes(), "event is not JSON: trailing characters"),
            (
                b"[1]",
                "event is JSON but not a CloudWatch Logs subscription event: invalid type",
            ),
            (
                destination.as_bytes(),
                "(not a CloudWatch Logs subscription event: it is a Lambda destination record; replay its requestPayload)",
            ),
            (
                br#"{"Messages":[]}"#,
                "it is an SQS message; replay its body",
            ),
            (br#"{"a":1,"b":2}"#, "its keys are `a`, `b`"),
            (
                b"{}",
                "no awslogs.data string (not a CloudWatch Logs subscription event)",
            ),
            (
                br#"{"awslogs":{"type":"gzip"}}"#,
                "no awslogs.data string (not a CloudWatch Logs subscription event)",
            ),
        ];
        for (bytes, expected) in cases {
            let e = decode_event(bytes).unwrap_err().to_string();
            assert!(e.contains(expected), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let sqs = br#"{"Records":[{"messageId":"1","body":"{}","eventSource":"aws:sqs"}]}"#;
        let e = parse_kinesis(sqs).unwrap_err().to_string();
        assert!(
            e.starts_with("event is JSON but not a Kinesis event of CloudWatch Logs records: missing field `kinesis`"),
            "{e}"
        );
        // BOMs, JSON Lines and the like are the command line's; the function takes one event.
        assert!(decode_event(format!("\u{feff}{event}").as_bytes()).is_err());
        assert!(decode_event(event.as_bytes()).is_ok());
    }

    /// The caps docs/operations.md and BENCHMARKS.md state for each memory size.
    #[test]
    fn inflate_cap_follows_the_memory_size() {
        for (memory_mb, cap_mib) in [
            (128, 16),
            (256, 41),
            (512, 92),
            (1024, 195),
            (1769, 344),
            (10240, 2038),
            (64, 4),
        ] {
            assert_eq!(
                inflate_cap_for_memory(memory_mb),
                cap_mib << 20,
                "{memory_mb} MB"
            );
        }
        assert_eq!(inflate_cap_from_env(Some("128")), 16 << 20);
        assert_eq!(inflate_cap_from_env(Some("512")), 92 << 20);
        assert_eq!(inflate_cap_from_env(None), MAX_DECOMPRESSED_BYTES);
        assert_eq!(inflate_cap_from_env(Some("lots")), 16 << 20);
    }

    /// A bomb is refused at the cap with an error naming the cap, whatever its trailer claims,
    /// and the count that finds it out holds only a small buffer.
    #[test]
    fn a_bomb_is_refused_by_naming_the_cap() {
        let cap = inflate_cap_for_memory(128);
        let bomb = gzip(&vec![b' '; cap + 1]);
        assert!(bomb.len() < cap / 500, "a bomb: {} bytes", bomb.len());
        let mut lying = bomb.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&100u32.to_le_bytes());
        let two_members = [
            gzip(&vec![b' '; cap / 2 + 1]),
            gzip(&vec![b' '; cap / 2 + 1]),
        ]
        .concat();
        for gz in [&bomb, &lying, &two_members] {
            let e = inflate(gz, cap).unwrap_err();
            assert!(
                matches!(e, DecodeError::TooLarge { limit } if limit == cap),
                "{e}"
            );
            assert_eq!(
                e.to_string(),
                "payload inflates to more than 16777216 bytes, the inflate cap (refused as a possible gzip bomb)"
            );
            assert!(matches!(
                inflated_size(gz, cap),
                Err(DecodeError::TooLarge { .. })
            ));
        }
        assert_eq!(inflate(&bomb, cap + 1).unwrap().len(), cap + 1);
        assert_eq!(inflate(&two_members, cap + 2).unwrap().len(), cap + 2);
    }
}
