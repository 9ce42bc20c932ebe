//! Which kind of event an invocation holds, read from the fields AWS writes (`awslogs`, a record's
//! `eventSource`, EventBridge's `source` and `detail-type`), never from a log line.

use std::borrow::Cow;

use serde::Deserialize;

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
