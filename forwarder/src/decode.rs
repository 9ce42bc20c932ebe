//! Turning what CloudWatch Logs delivers into a [`LogBatch`].
//!
//! A subscription filter invokes the function with `{"awslogs":{"data":"..."}}`, where `data` is
//! base64 of a gzip of the JSON payload
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample>).
//! `aws_lambda_events` has a deserializer for this, but it inflates without a bound and folds every
//! failure into one serde message; an alerting tool must survive a gzip bomb and say which layer of
//! a bad event broke, so the layers are decoded here one by one.

use std::io::{self, Read};

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

/// The decoded payload of one subscription delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogBatch {
    pub message_type: MessageType,
    #[serde(default)]
    pub owner: String,
    pub log_group: String,
    #[serde(default)]
    pub log_stream: String,
    #[serde(default)]
    pub subscription_filters: Vec<String>,
    pub log_events: Vec<LogEvent>,
}

/// One log event of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    #[serde(default)]
    pub id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub message: String,
}

impl LogBatch {
    pub fn is_control(&self) -> bool {
        self.message_type == MessageType::ControlMessage
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
    data: Option<std::borrow::Cow<'a, str>>,
}

/// Decodes a subscription event: `{"awslogs":{"data":"<base64 gzip>"}}`.
pub fn decode_event(bytes: &[u8]) -> Result<LogBatch, DecodeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(DecodeError::EventJson)?;
    let data = envelope
        .awslogs
        .and_then(|a| a.data)
        .ok_or(DecodeError::MissingAwslogs)?;
    decode_data(&data)
}

/// Decodes the `awslogs.data` string.
pub fn decode_data(data: &str) -> Result<LogBatch, DecodeError> {
    let gz = base64::engine::general_purpose::STANDARD.decode(data.trim())?;
    parse_payload(&inflate(&gz, MAX_DECOMPRESSED_BYTES)?)
}

/// Gunzips `gz`, refusing output larger than `limit`.
pub fn inflate(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if !gz.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::NotGzip);
    }
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
pub fn parse_payload(json: &[u8]) -> Result<LogBatch, DecodeError> {
    serde_json::from_slice(json).map_err(DecodeError::PayloadJson)
}

/// What a file or stdin given to the CLI turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// A subscription event, a decoded payload, or a gzip of a payload.
    Batch(LogBatch),
    /// Plain access-log lines.
    Lines(String),
}

/// Recognises the CLI's input kinds by their first bytes, so users can feed whatever they have.
pub fn sniff(bytes: &[u8]) -> Result<Input, DecodeError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Input::Batch(parse_payload(&inflate(
            bytes,
            MAX_DECOMPRESSED_BYTES,
        )?)?));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        // One JSON document is an event or a payload; JSON-format access logs are one object a line.
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(trimmed) {
            if map.contains_key("awslogs") {
                return decode_event(bytes).map(Input::Batch);
            }
            if map.contains_key("messageType") || map.contains_key("logEvents") {
                return parse_payload(bytes).map(Input::Batch);
            }
        }
    }
    Ok(Input::Lines(text.to_owned()))
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
        owner: owner.to_owned(),
        log_group: log_group.to_owned(),
        log_stream: log_stream.to_owned(),
        subscription_filters: vec!["authorizer-errors".to_owned()],
        log_events: lines
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, line)| LogEvent {
                // Real ids are 56-digit numbers; a zero-padded index keeps them unique and stable.
                id: format!("{:056}", i),
                timestamp: start_ms + i as i64,
                message: line.to_owned(),
            })
            .collect(),
    };
    encode_batch(&batch)
}

/// Serialises, gzips and base64-encodes a batch into the `awslogs` envelope.
pub fn encode_batch(batch: &LogBatch) -> serde_json::Value {
    let json = serde_json::to_vec(batch).expect("a LogBatch always serialises");
    let data = base64::engine::general_purpose::STANDARD.encode(gzip(&json));
    serde_json::json!({ "awslogs": { "data": data } })
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
        let batch = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
        assert_eq!(batch.message_type, MessageType::DataMessage);
        assert_eq!(batch.log_group, "/g");
        assert_eq!(batch.owner, "123456789012");
        let messages: Vec<_> = batch
            .log_events
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(messages, ["a line", "second line"]);
        assert_eq!(batch.log_events[1].timestamp, 1001);
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
            let err = decode_event(&input).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{:?}: {err}",
                String::from_utf8_lossy(&input)
            );
        }
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
        let batch = decode_data(&b64(&gzip(payload))).unwrap();
        assert!(batch.is_control());
    }

    #[test]
    fn non_utf8_message_is_a_payload_error() {
        let mut payload = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":1,"message":"bad "#.to_vec();
        payload.extend_from_slice(&[0xff, 0xfe]);
        payload.extend_from_slice(br#""}]}"#);
        let err = decode_data(&b64(&gzip(&payload))).unwrap_err();
        assert!(matches!(err, DecodeError::PayloadJson(_)), "{err}");
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
        ];
        for (bytes, kind) in kinds {
            let got = match sniff(&bytes).unwrap() {
                Input::Batch(_) => "batch",
                Input::Lines(_) => "lines",
            };
            assert_eq!(got, kind, "{}", String::from_utf8_lossy(&bytes));
        }
        assert!(matches!(
            sniff(&[b'a', 0xff]),
            Err(DecodeError::NotUtf8 { offset: 1 })
        ));
    }
}
