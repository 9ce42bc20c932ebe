//! A Kinesis event, as the organisation set-up's stream delivers CloudWatch Logs batches: one
//! subscription payload per record.

use std::borrow::Cow;

use base64::Engine;

use serde::Deserialize;

use super::error::{DecodeError, event_json};

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
