//! A CloudWatch Logs payload as the scan reads it: the batch, its events, and each message kept
//! escaped until a line needs reading.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// `messageType` of a payload. `CONTROL_MESSAGE` is the subscription's connectivity check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    DataMessage,
    ControlMessage,
}

/// The decoded payload of one subscription delivery. Strings borrow from the decompressed bytes
/// (see [`Payload`](crate::sources::Payload)) unless JSON escapes force a copy, so a batch costs one buffer, not two.
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
    /// The batch's events; after [`Payload::parse_candidates`](crate::sources::Payload::parse_candidates), only those that may hold the token.
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
    pub(super) static EXPECTED_EVENTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A payload's bytes per event are at least this in practice (a 56-digit id, a timestamp and an
/// access-log line); smaller events only make the list grow as usual.
pub(super) const TYPICAL_EVENT_BYTES: usize = 128;

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
pub struct Message<'a>(pub(super) MessageRepr<'a>);

#[derive(Clone)]
pub(super) enum MessageRepr<'a> {
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

impl<'a> LogBatch<'a> {
    /// Events read another way than a subscription delivers them (a log search, `aws logs`
    /// output), as a data batch: no owner and no filter, so nothing in it names an account.
    pub fn of_events(
        log_group: &'a str,
        log_stream: &'a str,
        log_events: Vec<LogEvent<'a>>,
    ) -> Self {
        LogBatch {
            message_type: MessageType::DataMessage,
            owner: Cow::Borrowed(""),
            log_group: Cow::Borrowed(log_group),
            log_stream: Cow::Borrowed(log_stream),
            subscription_filters: Vec::new(),
            log_events,
            omitted_events: 0,
        }
    }

    pub fn is_control(&self) -> bool {
        self.message_type == MessageType::ControlMessage
    }

    /// How many events the payload held: those in `log_events` and those left out.
    pub fn line_count(&self) -> usize {
        self.log_events.len() + self.omitted_events
    }
}
