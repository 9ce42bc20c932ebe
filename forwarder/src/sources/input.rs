//! What a file or standard input given to `forwarder scan` holds.
//!
//! Users feed whatever they have: an exported log, an event copied from a test, a dead-letter
//! queue dump, a gzip of any of these. Each is read whole or refused with what is wrong with it;
//! nothing is read as an empty log by mistake.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{AwsLogs, DecodeError, GZIP_MAGIC, KinesisData, MAX_DECOMPRESSED_BYTES, Payload};

/// Gzip layers read: a gzip of an event file is common, a gzip of that again is not.
const MAX_GZIP_LAYERS: usize = 2;

/// How deep events may be wrapped: an SQS dump's message holding an SNS notification holding a
/// destination record holding the event is four.
const MAX_WRAPPING: usize = 6;

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
    /// ([`super::decode_data`]), so an input of many events holds one payload at a time.
    Encoded(String),
    /// A decoded payload.
    Payload(Payload),
    /// The events of `aws logs filter-log-events` or `get-log-events` output, with their bounds.
    Events(Vec<OutputEvent>),
}

fn part<'a>(at: String, content: Result<Content<'a>, DecodeError>) -> Part<'a> {
    Part { at, content }
}

/// Recognises what an input is, by its bytes: gzip, a byte-order mark, plain or JSON access-log
/// lines, or JSON documents that are or wrap events (one, JSON Lines, back to back, an array).
/// An error is about the whole input; a part's error is about that part alone.
pub fn sniff(bytes: &[u8]) -> Result<Vec<Part<'_>>, DecodeError> {
    sniff_bytes(Cow::Borrowed(bytes), 0)
}

const OTHER_COMPRESSIONS: [(&[u8], &str); 4] = [
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
    (b"BZh", "bzip2"),
    (b"PK\x03\x04", "zip"),
];

fn sniff_bytes(bytes: Cow<'_, [u8]>, layers: usize) -> Result<Vec<Part<'_>>, DecodeError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        if layers == MAX_GZIP_LAYERS {
            return Err(DecodeError::GzipLayers);
        }
        let inflated = super::inflate(&bytes, MAX_DECOMPRESSED_BYTES)?;
        return sniff_bytes(Cow::Owned(inflated), layers + 1);
    }
    if let Some((_, name)) = OTHER_COMPRESSIONS
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
    {
        return Err(DecodeError::Compressed(name));
    }
    let text = match bytes.get(..2) {
        Some([0xff, 0xfe]) => Cow::Owned(utf16(&bytes, u16::from_le_bytes)?),
        Some([0xfe, 0xff]) => Cow::Owned(utf16(&bytes, u16::from_be_bytes)?),
        _ => utf8(bytes)?,
    };
    let text = strip_bom(text);
    if let Some(offset) = memchr::memchr(0, text.as_bytes()) {
        return Err(DecodeError::NulByte { offset });
    }
    sniff_text(text)
}

fn utf8(bytes: Cow<'_, [u8]>) -> Result<Cow<'_, str>, DecodeError> {
    let not_utf8 = |e: std::str::Utf8Error| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    };
    match bytes {
        Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).map_err(not_utf8),
        Cow::Owned(b) => String::from_utf8(b)
            .map(Cow::Owned)
            .map_err(|e| not_utf8(e.utf8_error())),
    }
}

/// Decodes UTF-16 after its byte-order mark (PowerShell's `>` writes it).
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    let body = &bytes[2..];
    if body.len() % 2 == 1 {
        return Err(DecodeError::Utf16 {
            offset: bytes.len() - 1,
        });
    }
    let units = body.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(body.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => out.push(c),
            Err(_) => {
                let done: usize = out.chars().map(char::len_utf16).sum();
                return Err(DecodeError::Utf16 {
                    offset: 2 + 2 * done,
                });
            }
        }
    }
    Ok(out)
}

/// Drops a leading byte-order mark, which editors on Windows write and JSON parsers refuse.
fn strip_bom(text: Cow<'_, str>) -> Cow<'_, str> {
    const BOM: char = '\u{feff}';
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(t.strip_prefix(BOM).unwrap_or(t)),
        Cow::Owned(mut t) if t.starts_with(BOM) => {
            t.drain(..BOM.len_utf8());
            Cow::Owned(t)
        }
        owned => owned,
    }
}

fn sniff_text(text: Cow<'_, str>) -> Result<Vec<Part<'_>>, DecodeError> {
    let text = line_ends(text);
    let body = text.trim_start();
    if body.is_empty() {
        return Err(if text.is_empty() {
            DecodeError::InputEmpty
        } else {
            DecodeError::InputBlank
        });
    }
    if (body.starts_with('{') || body.starts_with('['))
        && !json_access_lines(&text)?
        && let Some(parts) = documents(&text)?
    {
        return Ok(parts);
    }
    if is_tail_output(body) {
        return Err(DecodeError::TailOutput);
    }
    // `aws logs filter-log-events --output text` (or get-log-events): one tab-separated row per
    // event, a message's line breaks printed as they are.
    if body.starts_with("EVENTS\t") {
        return Err(DecodeError::TextOutput);
    }
    Ok(vec![part(String::new(), Ok(Content::Lines(text)))])
}

/// Whether text is `aws logs tail` output: its first line starts with the time tail prints, an
/// ISO 8601 UTC time (`2026-12-07T09:45:51.123000+00:00`, or to the second in `--format short`),
/// possibly coloured. No API Gateway variable is written that way, so no access-log line starts
/// so. Tail prints a message's line breaks as they are, so events cannot be told apart.
fn is_tail_output(body: &str) -> bool {
    let first = body.lines().next().unwrap_or_default();
    // `--color on` wraps the time in an ANSI colour.
    let first = first.strip_prefix("\u{1b}[32m").unwrap_or(first);
    let b = first.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = |at: usize, c: u8| b.get(at) == Some(&c);
    let second = digits(0..4)
        && shape(4, b'-')
        && digits(5..7)
        && shape(7, b'-')
        && digits(8..10)
        && shape(10, b'T')
        && digits(11..13)
        && shape(13, b':')
        && digits(14..16)
        && shape(16, b':')
        && digits(17..19);
    if !second {
        return false;
    }
    let mut rest = &first[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    rest = rest.strip_prefix("+00:00").unwrap_or(rest);
    rest = rest.strip_prefix("\u{1b}[0m").unwrap_or(rest);
    rest.starts_with(' ')
}

/// Makes a lone `\r` (classic Mac line ends) a `\n`; `\n` and `\r\n` are what `str::lines` splits.
fn line_ends<'a>(text: Cow<'a, str>) -> Cow<'a, str> {
    let bytes = text.as_bytes();
    let lone = |i: usize| bytes.get(i + 1) != Some(&b'\n');
    if !memchr::memchr_iter(b'\r', bytes).any(lone) {
        return text;
    }
    let mut out = text.into_owned().into_bytes();
    for i in 0..out.len() {
        if out[i] == b'\r' && out.get(i + 1) != Some(&b'\n') {
            out[i] = b'\n';
        }
    }
    Cow::Owned(String::from_utf8(out).expect("swapping one ASCII byte for another keeps UTF-8"))
}

/// A JSON object's top-level keys, each value left unparsed, and the first key it gives twice.
///
/// JSON leaves a repeated key's meaning open and parsers differ (serde keeps the last, others the
/// first), so a wrapper that repeats one is refused, as the function refuses it. An access-log line
/// may repeat a key (a client value can hold `","key":"`); that is the scan's business, not this
/// module's.
struct Object<'a> {
    keys: BTreeMap<String, &'a RawValue>,
    duplicate: Option<String>,
}

impl<'a> Object<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.keys.get(key).copied()
    }

    fn contains_key(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn len(&self) -> usize {
        self.keys.len()
    }
}

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut object = Object {
                    keys: BTreeMap::new(),
                    duplicate: None,
                };
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    if let Some(_) = object.keys.insert(key.clone(), value)
                        && object.duplicate.is_none()
                    {
                        object.duplicate = Some(key);
                    }
                }
                Ok(object)
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// Whether the text is JSON-format access-log lines: its first line is a JSON object on its own
/// of no event's shape. A client value cannot make a line one: the line keeps its format's own
/// keys, and no event has those. An event on a later line is refused rather than read as a line.
fn json_access_lines(text: &str) -> Result<bool, DecodeError> {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Ok(false);
    };
    let Ok(object) = serde_json::from_str::<Object>(first) else {
        return Ok(false);
    };
    if shape(&object) != Shape::Unknown {
        return Ok(false);
    }
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.starts_with('{')
            && serde_json::from_str::<Object>(line).is_ok_and(|o| shape(&o) != Shape::Unknown)
        {
            return Err(DecodeError::EventAmongLines { line: i + 1 });
        }
    }
    Ok(true)
}

/// The first key of the text's first object (after an opening `[`), read without parsing the
/// rest: what a broken document was meant to be. An access-log line's first key is its format's,
/// which no client value comes before.
fn first_key(text: &str) -> Option<&str> {
    let rest = text.trim_start();
    let rest = rest.strip_prefix('[').map_or(rest, str::trim_start);
    let rest = rest.strip_prefix('{')?.trim_start().strip_prefix('"')?;
    let end = rest.find(['"', '\\'])?;
    Some(&rest[..end])
}

/// Reads JSON documents: one, several back to back (JSON Lines, or with no space between), or
/// an array. `None` when the text is lines that happen to start with `{` or `[`: its first value
/// does not parse and its first key is no event's.
fn documents(text: &str) -> Result<Option<Vec<Part<'static>>>, DecodeError> {
    let mut values = Vec::new();
    let mut failure = None;
    for value in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>() {
        match value {
            Ok(v) => values.push(v),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let Some(first) = values.first() else {
        let e = failure.expect("text that is not blank holds a value or an error");
        let names_an_event = first_key(text).is_some_and(|k| Shape::of_key(k).is_some());
        if e.is_eof() || names_an_event {
            return Err(DecodeError::EventJson(e));
        }
        return Ok(None);
    };
    // A first document that is no event makes the input something else: say what it is once.
    // Unless it ends inside its line: that is a JSON-format access-log line whose client value
    // held `"}` (API Gateway does not escape it), read as the lines it is.
    if !is_event(first.get()) {
        if ends_inside_its_line(text, first.get()) {
            return Ok(None);
        }
        return Err(DecodeError::NotAnEvent(not_an_event(first.get())));
    }
    let several = values.len() > 1 || failure.is_some();
    let mut parts = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let at = if several {
            format!("#{}", i + 1)
        } else {
            String::new()
        };
        expand(value.get(), at, 0, &mut parts);
    }
    if let Some(e) = failure {
        let at = format!("#{}", values.len() + 1);
        parts.push(part(at, Err(DecodeError::EventJson(e))));
    }
    Ok(Some(parts))
}

/// Whether more than white space follows `value`, a slice of `text`, on the line it ends on.
fn ends_inside_its_line(text: &str, value: &str) -> bool {
    let end = (value.as_ptr() as usize - text.as_ptr() as usize) + value.len();
    let rest = text.get(end..).unwrap_or_default();
    let line = rest.split('\n').next().unwrap_or_default();
    !line.trim().is_empty()
}

/// Whether a JSON value is an event or wraps events: an object of a known shape, or an array whose
/// first element is one (an empty array is left to say it holds none). Arrays are looked into at
/// most [`MAX_WRAPPING`] deep.
fn is_event(json: &str) -> bool {
    let mut json = json;
    for _ in 0..=MAX_WRAPPING {
        if let Ok(object) = serde_json::from_str::<Object>(json) {
            return shape(&object) != Shape::Unknown;
        }
        match serde_json::from_str::<Vec<&RawValue>>(json) {
            Ok(items) => match items.first() {
                None => return true,
                Some(first) => json = first.get(),
            },
            Err(_) => return false,
        }
    }
    false
}

/// The JSON shapes read, by their top-level keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `{"awslogs":{"data":...}}`, what a subscription filter sends.
    Subscription,
    /// `{"messageType":...,"logEvents":[...]}`, decoded.
    Payload,
    /// `{"Records":[...]}`: a Kinesis, SQS or SNS event as Lambda delivers it.
    Records,
    /// `{"Messages":[...]}`: `aws sqs receive-message` output, a dead-letter queue dump.
    Messages,
    /// One SQS message: `MessageId` and `Body` (either case).
    Message,
    /// A Lambda destination record (on failure: the dead-letter queue): `requestPayload`.
    Destination,
    /// An SNS notification as an SQS subscriber receives it: `Type` and `Message`.
    Notification,
    /// A destination record delivered through EventBridge: `detail`.
    EventBridge,
    /// `aws logs filter-log-events` or `get-log-events` output: `events[].message`.
    LogEvents,
    Unknown,
}

const KNOWN_SHAPES: [Shape; 9] = [
    Shape::Subscription,
    Shape::Payload,
    Shape::Records,
    Shape::Messages,
    Shape::Destination,
    Shape::Message,
    Shape::Notification,
    Shape::EventBridge,
    Shape::LogEvents,
];

impl Shape {
    /// Every top-level key AWS writes in an object of this shape. An object with another key is
    /// not of it: an access-log line always holds its format's own keys besides any a client
    /// injected, so no line is taken for an event, whatever its values hold.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Shape::Subscription => &["awslogs"],
            Shape::Payload => &[
                "messageType",
                "owner",
                "logGroup",
                "logStream",
                "subscriptionFilters",
                "logEvents",
                "policyLevel",
            ],
            Shape::Records => &["Records"],
            Shape::Messages => &["Messages"],
            Shape::Message => &[
                "MessageId",
                "ReceiptHandle",
                "MD5OfBody",
                "Body",
                "Attributes",
                "MessageAttributes",
                "MD5OfMessageAttributes",
                "messageId",
                "receiptHandle",
                "body",
                "attributes",
                "messageAttributes",
                "md5OfBody",
                "md5OfMessageAttributes",
                "eventSource",
                "eventSourceARN",
                "awsRegion",
            ],
            Shape::Destination => &[
                "version",
                "timestamp",
                "requestContext",
                "requestPayload",
                "responseContext",
                "responsePayload",
            ],
            Shape::Notification => &[
                "Type",
                "MessageId",
                "TopicArn",
                "Subject",
                "Message",
                "Timestamp",
                "SignatureVersion",
                "Signature",
                "SigningCertURL",
                "SigningCertUrl",
                "UnsubscribeURL",
                "UnsubscribeUrl",
                "MessageAttributes",
                "SequenceNumber",
            ],
            Shape::EventBridge => &[
                "version",
                "id",
                "detail-type",
                "source",
                "account",
                "time",
                "region",
                "resources",
                "detail",
            ],
            Shape::LogEvents => &[
                "events",
                "searchedLogStreams",
                "nextToken",
                "nextForwardToken",
                "nextBackwardToken",
            ],
            Shape::Unknown => &[],
        }
    }

    /// What an object of this shape is, for errors.
    fn name(self) -> &'static str {
        match self {
            Shape::Subscription => "a CloudWatch Logs subscription event",
            Shape::Payload => "a subscription payload",
            Shape::Records => "a Lambda event of Records",
            Shape::Messages => "aws sqs receive-message output",
            Shape::Message => "an SQS message",
            Shape::Destination => "a Lambda destination record",
            Shape::Notification => "an SNS notification",
            Shape::EventBridge => "an EventBridge event",
            Shape::LogEvents => "aws logs output",
            Shape::Unknown => "no event",
        }
    }

    /// Whether the object has what marks this shape (its keys aside).
    fn marked(self, o: &Object) -> bool {
        let has = |k: &str| o.contains_key(k);
        let raw = |k: &str| o.get(k).map_or("", |v| v.get());
        match self {
            Shape::Subscription => has("awslogs"),
            Shape::Payload => has("messageType") || has("logEvents"),
            Shape::Records => has("Records"),
            Shape::Messages => has("Messages"),
            Shape::Destination => has("requestPayload"),
            Shape::Message => {
                (has("Body") || has("body")) && (has("MessageId") || has("messageId"))
            }
            Shape::Notification => raw("Type") == "\"Notification\"" && has("Message"),
            Shape::EventBridge => {
                raw("detail-type").starts_with("\"Lambda Function Invocation Result")
                    && has("detail")
            }
            Shape::LogEvents => raw("events").starts_with('['),
            Shape::Unknown => false,
        }
    }

    /// The shape a document starting with this key was meant to be, for a broken one.
    fn of_key(key: &str) -> Option<Shape> {
        KNOWN_SHAPES
            .into_iter()
            .find(|s| s.keys().first() == Some(&key))
    }
}

/// The object's shape: the first whose marks it has and whose keys hold all of its keys.
fn shape(o: &Object) -> Shape {
    KNOWN_SHAPES
        .into_iter()
        .find(|s| s.marked(o) && o.keys.keys().all(|k| s.keys().contains(&k.as_str())))
        .unwrap_or(Shape::Unknown)
}

/// A key as an error names it: quoted, and cut short.
fn key_name(key: &str) -> String {
    match key.char_indices().nth(40) {
        Some((at, _)) => format!("`{}...`", &key[..at]),
        None => format!("`{key}`"),
    }
}

/// What a JSON value that is no event is, for the error.
fn not_an_event(json: &str) -> String {
    let what = match serde_json::from_str::<Object>(json) {
        Ok(o) if o.is_empty() => "an empty JSON object".to_owned(),
        Ok(o) => {
            if let Some(near) = KNOWN_SHAPES.into_iter().find(|s| s.marked(&o)) {
                let other = o
                    .keys
                    .keys()
                    .find(|k| !near.keys().contains(&k.as_str()))
                    .expect("a marked object of no shape has a key of another");
                return format!(
                    "a JSON object with the marks of {} also has the key {}, which AWS does not write there, so it is not read as one",
                    near.name(),
                    key_name(other)
                );
            }
            let keys: Vec<String> = o.keys.keys().take(6).map(|k| key_name(k)).collect();
            let more = if o.len() > keys.len() { ", ..." } else { "" };
            format!("a JSON object with keys {}{more}", keys.join(", "))
        }
        Err(_) => match json.trim_start().as_bytes().first() {
            Some(b'[') => "a JSON array".to_owned(),
            Some(b'"') => "a JSON string".to_owned(),
            Some(b't' | b'f') => "a JSON boolean".to_owned(),
            Some(b'n') => "JSON null".to_owned(),
            _ => "a JSON number".to_owned(),
        },
    };
    format!(
        "{what} is neither access-log lines nor an event read here (a CloudWatch Logs subscription event or payload, a Kinesis or SQS event, an SQS message or dump, a Lambda destination record, or aws logs output)"
    )
}

/// What an event that is no subscription event is, for the function's error, so it can be
/// replayed right; `None` when there is no more to say than that it lacks `awslogs.data`.
pub(super) fn describe(json: &[u8]) -> Option<String> {
    let object = serde_json::from_slice::<Object>(json).ok()?;
    let it_is = match shape(&object) {
        Shape::Subscription => return None,
        Shape::Destination | Shape::EventBridge => {
            "a Lambda destination record; replay its requestPayload"
        }
        Shape::Message | Shape::Messages => "an SQS message; replay its body",
        Shape::Notification => "an SNS notification; replay its Message",
        Shape::Records => "an event of Records that are not Kinesis records",
        Shape::Payload => "a decoded payload; send it gzipped and base64-encoded as awslogs.data",
        Shape::LogEvents | Shape::Unknown => "",
    };
    if !it_is.is_empty() {
        return Some(format!("it is {it_is}"));
    }
    if object.is_empty() {
        return None;
    }
    let keys: Vec<String> = object.keys.keys().take(6).map(|k| key_name(k)).collect();
    Some(format!("its keys are {}", keys.join(", ")))
}

/// A JSON string's text, for bodies and messages that hold JSON as a string.
fn string_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Cow<str>>(raw.get()).ok()
}

/// Adds the batches of one JSON value, unwrapping what wraps events.
fn expand(json: &str, at: String, depth: usize, parts: &mut Vec<Part<'static>>) {
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
fn expand_string(
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
struct Record<'a> {
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
struct SnsRecord<'a> {
    #[serde(rename = "MessageId", borrow)]
    message_id: Option<Cow<'a, str>>,
    #[serde(rename = "Message", borrow)]
    message: Option<&'a RawValue>,
}

/// A Kinesis event's records (each a batch, named by sequence number), or an SQS or SNS event's
/// (each wrapping an event, named by message id).
fn records(records: Option<&RawValue>, at: &str, depth: usize, parts: &mut Vec<Part<'static>>) {
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
struct SqsMessage<'a> {
    #[serde(rename = "MessageId", borrow)]
    message_id: Option<Cow<'a, str>>,
    #[serde(rename = "Body", borrow)]
    body: Option<&'a RawValue>,
}

/// A dead-letter queue dump's messages, each wrapping an event, named by message id.
fn messages(messages: Option<&RawValue>, at: &str, depth: usize, parts: &mut Vec<Part<'static>>) {
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
struct ExportedEvent<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    log_stream_name: Option<Cow<'a, str>>,
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

/// The events of `aws logs` output, each as it was logged.
fn log_events(events: Option<&RawValue>) -> Result<Content<'static>, DecodeError> {
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
pub fn output_batch<'a>(
    events: &'a [OutputEvent],
    log_group: Option<&'a str>,
) -> super::LogBatch<'a> {
    super::LogBatch {
        message_type: super::MessageType::DataMessage,
        owner: Cow::Borrowed(""),
        log_group: Cow::Borrowed(log_group.unwrap_or_default()),
        log_stream: Cow::Borrowed(""),
        subscription_filters: Vec::new(),
        log_events: events
            .iter()
            .map(|e| super::LogEvent {
                id: Cow::Borrowed(e.event_id.as_deref().unwrap_or_default()),
                timestamp: e.timestamp.unwrap_or_default(),
                message: e.message.as_str().into(),
            })
            .collect(),
        omitted_events: 0,
    }
}
