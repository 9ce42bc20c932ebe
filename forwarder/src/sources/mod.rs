//! Turning what CloudWatch Logs delivers into a [`LogBatch`].
//!
//! A subscription filter invokes the function with `{"awslogs":{"data":"..."}}`, where `data` is
//! base64 of a gzip of the JSON payload
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample>).
//! `aws_lambda_events` has a deserializer for this, but it inflates without a bound and folds every
//! failure into one serde message; an alerting tool must survive a gzip bomb and say which layer of
//! a bad event broke, so the layers are decoded here one by one.

mod batch;
pub mod changes;
mod compact;
mod error;
mod gzip;
mod input;
mod kind;
mod kinesis;
mod payload;

pub use batch::{LogBatch, LogEvent, Message, MessageType};
pub use error::DecodeError;
pub use gzip::{
    FUNCTION_BASE_MIB, MAX_DECOMPRESSED_BYTES, PEAK_BYTES_PER_PAYLOAD_BYTE, gzip, inflate,
    inflate_cap, inflate_cap_for_memory, inflate_cap_from_env, set_inflate_cap,
};
pub use input::{Content, OutputEvent, Part, output_batch, sniff};
pub use kind::{EventKind, event_kind};
pub use kinesis::{KinesisData, KinesisEvent, KinesisRecord, encode_kinesis, parse_kinesis};
pub use payload::{
    Payload, decode_base64, decode_data, decode_event, encode_batch, encode_event, gzip_batch,
    parse_payload,
};

#[cfg(test)]
mod tests;
