//! The subscription event's layers, decoded one by one: `awslogs.data`, base64, gzip, the JSON
//! payload; and the same layers built again, for the CLI's `encode` and the tests.

use std::borrow::Cow;

use base64::Engine;
use serde::Deserialize;

use super::batch::{EXPECTED_EVENTS, LogBatch, LogEvent, MessageType, TYPICAL_EVENT_BYTES};
use super::compact;
use super::error::{DecodeError, event_json};
use super::gzip::{gzip, inflate, inflate_cap};
use super::input::shape::describe;

/// The decompressed payload JSON of an event; [`Payload::parse`] reads a [`LogBatch`] out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload(pub(super) Vec<u8>);

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
    /// the token (as [`Message::escaped_contains`](crate::sources::Message::escaped_contains) finds it), the rest may be left out and counted
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
pub(super) struct AwsLogs<'a> {
    #[serde(borrow)]
    pub(super) data: Option<Data<'a>>,
}

/// `awslogs.data`, borrowed from the event: serde's `borrow` does not reach through an `Option`,
/// and a bare `Option<Cow<str>>` would copy the largest string of the event.
#[derive(Deserialize)]
pub(super) struct Data<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

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
        None => Err(match describe(bytes) {
            Some(found) => DecodeError::NotSubscription { found },
            None => DecodeError::MissingAwslogs,
        }),
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

/// Serialises, gzips and base64-encodes a batch into the `awslogs` envelope.
pub fn encode_batch(batch: &LogBatch) -> serde_json::Value {
    let data = base64::engine::general_purpose::STANDARD.encode(gzip_batch(batch));
    serde_json::json!({ "awslogs": { "data": data } })
}

/// A batch as CloudWatch Logs ships it: gzip of its JSON.
pub fn gzip_batch(batch: &LogBatch) -> Vec<u8> {
    gzip(&serde_json::to_vec(batch).expect("a LogBatch always serialises"))
}
