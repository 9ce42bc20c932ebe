//! Kinesis input: the payloads a CloudWatch Logs destination writes to a stream, as Lambda
//! delivers them. One corrupt record must come back as exactly that record's failure while the
//! others alert; the CLI reads the same events record by record.

use forwarder::alerts::publish::MemoryPublisher;
use forwarder::config::Config;
use forwarder::forward::{BatchItemFailure, Services, handle_kinesis};
use forwarder::sources::{self, encode_kinesis};
use forwarder_tests::{ACCOUNT, forwarder, read_sample};

const PERMISSION: &str = r#"198.51.100.7 - - [25/Nov/2026:10:00:00 +0000] "GET GET /orders HTTP/1.1" 500 35 req-1= AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."#;
const SHAPE: &str = r#"198.51.100.7 - - [25/Nov/2026:10:00:01 +0000] "GET GET /profile HTTP/1.1" 500 35 req-2= AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;

/// The gzip payload a destination writes for `line` from `account`'s log group.
fn record_payload(line: &str, group: &str) -> Vec<u8> {
    let event = sources::encode_event(line, group, "$default", ACCOUNT, 0);
    let data = event["awslogs"]["data"].as_str().unwrap();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

fn config() -> Config {
    Config {
        topic: Some("arn:aws:sns:us-east-1:123456789012:alerts".parse().unwrap()),
        ..Config::default()
    }
}

#[tokio::test]
async fn one_corrupt_record_is_the_only_failure() {
    let good = record_payload(PERMISSION, "/aws/vendedlogs/apigateway/orders");
    let truncated = good[..good.len() / 2].to_vec();
    let other = record_payload(SHAPE, "/aws/vendedlogs/apigateway/profile");
    let event = encode_kinesis(&[
        ("4965000000000000000000000001", good),
        ("4965000000000000000000000002", truncated),
        ("4965000000000000000000000003", b"not gzip at all".to_vec()),
        ("4965000000000000000000000004", other),
    ]);
    let publisher = MemoryPublisher::new();
    let response = handle_kinesis(
        &serde_json::to_vec(&event).unwrap(),
        &config(),
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    assert_eq!(
        response.batch_item_failures,
        [
            BatchItemFailure {
                item_identifier: "4965000000000000000000000002".into()
            },
            BatchItemFailure {
                item_identifier: "4965000000000000000000000003".into()
            }
        ]
    );
    // Lambda reads exactly this shape.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": [
            {"itemIdentifier": "4965000000000000000000000002"},
            {"itemIdentifier": "4965000000000000000000000003"}
        ]})
    );
    let causes: Vec<String> = publisher
        .sent()
        .iter()
        .map(|a| a.attributes.cause.clone())
        .collect();
    assert_eq!(
        causes,
        ["missing_invoke_permission", "invalid_response_format"]
    );
}

#[tokio::test]
async fn a_failed_publish_fails_only_that_record() {
    let event = encode_kinesis(&[
        ("1", record_payload(PERMISSION, "/g/one")),
        ("2", record_payload(SHAPE, "/g/two")),
    ]);
    let publisher = MemoryPublisher::failing_after(1);
    let response = handle_kinesis(
        &serde_json::to_vec(&event).unwrap(),
        &config(),
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    assert_eq!(
        response.batch_item_failures,
        [BatchItemFailure {
            item_identifier: "2".into()
        }]
    );
}

#[tokio::test]
async fn an_unreadable_event_fails_the_whole_invocation() {
    let publisher = MemoryPublisher::new();
    for bad in [&b""[..], b"not json", br#"{"Records": "nope"}"#] {
        let err = handle_kinesis(bad, &config(), &Services::new(&publisher))
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("event rejected: "), "{err}");
    }
}

#[test]
fn the_cli_reads_kinesis_events_record_by_record() {
    // The checked-in stream event: a batch and a control message.
    let run = forwarder(
        &["scan", "samplelogs/events/kinesis-stream.json"],
        None,
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "samplelogs/events/kinesis-stream.json#49650000000000000000000000000000000000000000000000000001: 10 lines, 5 flagged\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("#49650000000000000000000000000000000000000000000000000002: control message")
    );
    // A corrupt record is named on its own line; the others are still reported.
    let good = record_payload(PERMISSION, "/g/one");
    let event = encode_kinesis(&[("7", good), ("8", b"garbage".to_vec())]);
    let run = forwarder(&["scan", "-"], Some(event.to_string().as_bytes()), &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.starts_with("<stdin>#7: 1 line, 1 flagged\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr,
        "forwarder: <stdin>#8: payload is not gzip (bad magic bytes)\n"
    );
    // The Lambda events crate reads what we produce as a Kinesis event.
    let parsed: aws_lambda_events::kinesis::KinesisEvent =
        serde_json::from_slice(&read_sample("events/kinesis-stream.json")).unwrap();
    assert_eq!(parsed.records.len(), 2);
}
