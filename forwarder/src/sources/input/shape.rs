//! Telling a JSON document's kind by its keys, so each is read as what it is and anything else
//! is refused by naming what it looks like.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Whether a JSON value is an event or wraps events: an object of a known shape, or an array whose
/// first element is one (an empty array is left to say it holds none). Arrays are looked into at
/// most [`MAX_WRAPPING`] deep.
pub(super) fn is_event(json: &str) -> bool {
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
pub(super) enum Shape {
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

pub(super) const KNOWN_SHAPES: [Shape; 9] = [
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
    pub(super) fn keys(self) -> &'static [&'static str] {
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
    pub(super) fn name(self) -> &'static str {
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
    pub(super) fn marked(self, o: &Object) -> bool {
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
    pub(super) fn of_key(key: &str) -> Option<Shape> {
        KNOWN_SHAPES
            .into_iter()
            .find(|s| s.keys().first() == Some(&key))
    }
}

/// The object's shape: the first whose marks it has and whose keys hold all of its keys.
pub(super) fn shape(o: &Object) -> Shape {
    KNOWN_SHAPES
        .into_iter()
        .find(|s| s.marked(o) && o.keys.keys().all(|k| s.keys().contains(&k.as_str())))
        .unwrap_or(Shape::Unknown)
}

/// A key as an error names it: quoted, and cut short.
pub(super) fn key_name(key: &str) -> String {
    match key.char_indices().nth(40) {
        Some((at, _)) => format!("`{}...`", &key[..at]),
        None => format!("`{key}`"),
    }
}

/// What a JSON value that is no event is, for the error.
pub(super) fn not_an_event(json: &str) -> String {
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
pub(crate) fn describe(json: &[u8]) -> Option<String> {
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

/// A JSON object's top-level keys, each value left unparsed, and the first key it gives twice.
///
/// JSON leaves a repeated key's meaning open and parsers differ (serde keeps the last, others the
/// first), so a wrapper that repeats one is refused, as the function refuses it. An access-log line
/// may repeat a key (a client value can hold `","key":"`); that is the scan's business, not this
/// module's.
pub(super) struct Object<'a> {
    pub(super) keys: BTreeMap<String, &'a RawValue>,
    pub(super) duplicate: Option<String>,
}

impl<'a> Object<'a> {
    pub(super) fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.keys.get(key).copied()
    }

    pub(super) fn contains_key(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(super) fn len(&self) -> usize {
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

/// How deep events may be wrapped: an SQS dump's message holding an SNS notification holding a
/// destination record holding the event is four.
pub(super) const MAX_WRAPPING: usize = 6;
