//! Generated input through both ways in: what `forwarder scan` reads (any bytes, and JSON of every
//! shape an event may be wrapped in) and what the Lambda handler is given. Nothing panics, and
//! every refusal is a typed error: an input error from the reader or the decoder, and from the
//! handler only [`ForwardError::Decode`].
//!
//! The generators mix what real input holds (the tokens, API Gateway's messages, execution-log
//! lines, the wrappers' keys, base64 of gzip of payloads) with what no real input does (extreme
//! timestamps, statuses and nesting), so the cases reach the scan and the alerts, not only the
//! first JSON error.

use base64::Engine;
use forwarder::alerts::publish::MemoryPublisher;
use forwarder::alerts::render::{self, MAX_MESSAGE_BYTES};
use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder::detect::{self};
use forwarder::forward::{self, ForwardError, Services, handle_event, handle_kinesis};
use forwarder::model::finding::Scan;
use forwarder::sources::{
    self, Content, DecodeError, EventKind, LogBatch, LogEvent, MessageType, Payload,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const PERMISSION: &str = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";

/// Pieces of lines: the tokens, API Gateway's messages and execution-log sentences, and the
/// characters formats split on.
const PIECES: &[&str] = &[
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_FAILURE",
    PERMISSION,
    "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
    "Authorizer request timed out after 10000 ms",
    "(0f6e2bd8-4d67-4c04-a1c5-1f2e5c6d7e8f) Execution failed due to configuration error: Authorizer error",
    "(0f6e2bd8-4d67-4c04-a1c5-1f2e5c6d7e8f) Execution failed due to configuration error: Invalid permissions on Lambda function",
    "(PDS1PEC4oAMFpyA=) Gateway response type: AUTHORIZER_CONFIGURATION_ERROR with status code: 503",
    "(PDS1PEC4oAMFpyA=) Gateway response type: AUTHORIZER_FAILURE with status code: 500",
    "203.0.113.9 - - [20/Nov/2026:09:14:03 +0000] \"GET GET /orders HTTP/1.1\" 500 35 Vx3kTfWGIAMEbyw=",
    "{\"requestId\":\"Wk1aBjQ2IAMEb2A=\",\"status\":\"503\",\"apiId\":\"k7x2p9q4md\",\"authorizerError\":\"",
    "\"}",
    " ",
    "\"",
    "[",
    "]",
    "{",
    "}",
    ",",
    "-",
    "\\",
    "\n",
    "\r",
    "\u{feff}",
    "\u{2028}",
    "é",
    "k7x2p9q4md",
    "500",
    "503",
    "99999",
];

/// The keys of events and their wrappers, and of JSON-format access logs.
const KEYS: &[&str] = &[
    "awslogs",
    "data",
    "Records",
    "Messages",
    "MessageId",
    "messageId",
    "Body",
    "body",
    "requestPayload",
    "responsePayload",
    "detail",
    "detail-type",
    "Type",
    "Message",
    "Sns",
    "kinesis",
    "sequenceNumber",
    "eventSource",
    "messageType",
    "owner",
    "logGroup",
    "logStream",
    "subscriptionFilters",
    "logEvents",
    "events",
    "id",
    "timestamp",
    "message",
    "requestId",
    "status",
    "apiId",
    "authorizerError",
    "error",
    "source",
];

/// Log groups that make the scan read an access log or an execution log.
const LOG_GROUPS: &[&str] = &[
    "/aws/vendedlogs/apigateway/orders/prod",
    "API-Gateway-Execution-Logs_a1b2c3d4e5/prod",
    "/aws/apigateway/welcome",
    "",
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(PIECES), 0..12)
            .prop_map(|pieces| pieces.concat()),
        "\\PC{0,120}",
        (
            any::<u16>(),
            "[a-z0-9]{10}",
            proptest::sample::select(PIECES)
        )
            .prop_map(|(status, api, error)| format!("r-{api} {status} {api} prod {error}")),
    ]
}

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MAX),
        Just(i64::MIN),
        Just(253_402_300_800_000),
        0i64..2_000_000_000_000,
    ]
}

/// A payload as CloudWatch Logs writes it, of generated lines and timestamps.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::sample::select(LOG_GROUPS),
        proptest::collection::vec((timestamp(), line()), 0..16),
    )
        .prop_map(|(control, log_group, events)| {
            let batch = LogBatch {
                message_type: if control {
                    MessageType::ControlMessage
                } else {
                    MessageType::DataMessage
                },
                owner: "123456789012".into(),
                log_group: log_group.into(),
                log_stream: "s".into(),
                subscription_filters: vec!["f".into()],
                log_events: events
                    .into_iter()
                    .enumerate()
                    .map(|(i, (timestamp, message))| LogEvent {
                        id: i.to_string().into(),
                        timestamp,
                        message: message.into(),
                    })
                    .collect(),
                omitted_events: 0,
            };
            serde_json::to_vec(&batch).unwrap()
        })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `awslogs.data` or a Kinesis record's `data`: base64 of a gzip of a payload, sometimes spoiled.
fn data() -> impl Strategy<Value = String> {
    (payload(), 0usize..4, any::<usize>()).prop_map(|(payload, spoil, at)| {
        let gz = sources::gzip(&payload);
        match spoil {
            0 => b64(&gz),
            1 => b64(&gz[..at % (gz.len() + 1)]),
            2 => b64(&payload),
            _ => b64(&sources::gzip(&gz)),
        }
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        line().prop_map(Value::from),
        data().prop_map(Value::from),
        payload().prop_map(|p| Value::from(String::from_utf8(p).unwrap())),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z-]{0,8}",
    ]
}

/// Any JSON, shaped like the events and wrappers the reader knows: objects under their keys,
/// arrays, and JSON held as a string (SQS bodies, SNS messages).
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(8, 96, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner.clone()), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            (key(), inner).prop_map(|(k, v)| json!({ k: v.to_string() })),
        ]
    })
}

/// A real payload wrapped the ways an event reaches the reader, up to past the depth it reads.
fn wrapped() -> impl Strategy<Value = Value> {
    (data(), proptest::collection::vec(0u8..8, 0..9)).prop_map(|(data, wraps)| {
        let mut v = json!({ "awslogs": { "data": data } });
        for w in wraps {
            v = match w {
                0 => json!({ "Records": [{ "kinesis": { "sequenceNumber": "1", "data": data } }] }),
                1 => json!({ "Records": [{ "messageId": "m", "body": v.to_string() }] }),
                2 => json!({ "Messages": [{ "MessageId": "m", "Body": v.to_string() }] }),
                3 => json!({ "requestPayload": v }),
                4 => json!({ "Type": "Notification", "Message": v.to_string() }),
                5 => json!({ "detail-type": "Lambda Function Invocation Result - Failure", "detail": v }),
                6 => json!([v, v]),
                _ => json!({ "Records": [{ "Sns": { "MessageId": "n", "Message": v.to_string() } }] }),
            };
        }
        v
    })
}

/// Nesting thousands of levels deep, closed or not, alone or under an event's keys.
fn deep() -> impl Strategy<Value = String> {
    let opener = prop_oneof![
        Just(("[", "]")),
        Just(("{\"a\":", "}")),
        Just(("{\"Records\":", "}")),
        Just(("{\"requestPayload\":", "}")),
        Just(("[{\"awslogs\":", "}]")),
    ];
    (opener, 1usize..5_000, any::<bool>(), 0usize..3).prop_map(
        |((open, close), depth, closed, around)| {
            let mut s = open.repeat(depth);
            s.push_str("null");
            if closed {
                s.push_str(&close.repeat(depth));
            }
            match around {
                0 => s,
                1 => format!("{{\"awslogs\":{{\"data\":{s}}}}}"),
                _ => format!("{{\"Records\":[{{\"body\":{}}}]}}", json!(s)),
            }
        },
    )
}

/// What the command line is given: any bytes, JSON documents, lines, and gzip of any of them.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![
        json().prop_map(|v| v.to_string()),
        wrapped().prop_map(|v| v.to_string()),
        proptest::collection::vec(wrapped(), 1..4).prop_map(|vs| vs
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")),
        deep(),
        proptest::collection::vec(line(), 0..8).prop_map(|ls| ls.join("\n")),
        payload().prop_map(|p| String::from_utf8(p).unwrap()),
    ];
    prop_oneof![
        3 => text.clone().prop_map(String::into_bytes),
        1 => text.prop_map(|t| sources::gzip(t.as_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..1024),
    ]
}

/// What the handler is given: events of every shape, and anything else.
fn event() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => wrapped().prop_map(|v| v.to_string().into_bytes()),
        2 => data().prop_map(|d| json!({ "awslogs": { "data": d } }).to_string().into_bytes()),
        2 => json().prop_map(|v| v.to_string().into_bytes()),
        1 => deep().prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

/// The settings a scan may run with: the default format, the command line's guesses, and
/// formats without `$context.requestTime`, where an event's timestamp stands in.
fn config(which: usize) -> Config {
    let format = match which % 4 {
        0 => LogFormat::default(),
        1 => LogFormat::guess(),
        2 => LogFormat::parse("$context.requestId $context.status $context.authorizer.error")
            .unwrap(),
        _ => LogFormat::parse(
            r#"{"requestId":"$context.requestId","status":"$context.status","apiId":"$context.apiId","authorizerError":"$context.authorizer.error"}"#,
        )
        .unwrap(),
    };
    Config {
        topic: Some("arn:aws:sns:us-east-1:123456789012:t".parse().unwrap()),
        region: Some("us-east-1".into()),
        label: Some("fuzz".into()),
        format,
        ..Config::default()
    }
}

/// Every alert a scan gives fits SNS, and there are no more than the cap allows.
fn check_alerts(scan: &Scan, config: &Config) {
    let groups = forward::groups_for(scan, config);
    let alerts = render::render_all(&groups, config);
    let cap = render::MAX_ALERTS;
    assert_eq!(
        alerts.len(),
        groups.len().min(cap) + usize::from(groups.len() > cap)
    );
    for a in &alerts {
        assert!(
            a.publish_bytes() < MAX_MESSAGE_BYTES,
            "{}",
            a.publish_bytes()
        );
    }
}

fn scan_payload(payload: Payload, config: &Config) -> Result<Scan, DecodeError> {
    let batch = payload.parse_candidates()?;
    Ok(detect::scan_batch(&batch, &config.format))
}

/// What `forwarder scan` does with one input (`cli::scan::scan_input`): each part decoded when read,
/// scanned, grouped and rendered. The outer error is about the whole input, an inner one about
/// its part.
fn scan_input(
    bytes: &[u8],
    config: &Config,
) -> Result<Vec<Result<Scan, DecodeError>>, DecodeError> {
    let parts = sources::sniff(bytes)?;
    Ok(parts
        .into_iter()
        .map(|part| {
            let scan = match part.content? {
                Content::Lines(text) => detect::scan_text(&text, &config.format),
                Content::Encoded(data) => scan_payload(sources::decode_data(&data)?, config)?,
                Content::Payload(payload) => scan_payload(payload, config)?,
                Content::Events(events) => {
                    detect::scan_batch(&sources::output_batch(&events, None), &config.format)
                }
            };
            check_alerts(&scan, config);
            Ok(scan)
        })
        .collect())
}

/// The handler on one event, with alerts kept in memory: it publishes all it says it did, and an
/// event it refuses publishes nothing and is refused as input.
fn handle(event: &[u8], config: &Config) -> Result<usize, DecodeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher);
    // As the function's loop dispatches it; a schedule carries no input to read.
    let outcome = match sources::event_kind(event) {
        EventKind::Kinesis => runtime
            .block_on(handle_kinesis(event, config, &services))
            // A record that fails is reported by its sequence number, not as the event's error.
            .map(|_| publisher.sent().len()),
        EventKind::Subscription | EventKind::Schedule => runtime
            .block_on(handle_event(event, config, &services))
            .map(|outcome| outcome.message_ids.len()),
        // A check reads AWS, and here there is none: whatever the event says, nothing is sent.
        EventKind::StackStatus | EventKind::Queue => {
            use forwarder::deploy::{Checkers, catalog::MemoryCatalog, probe::NoProbes};
            let checkers = Checkers {
                catalog: &MemoryCatalog::default(),
                prober: &NoProbes,
                inspector: &forwarder::diagnose::inspect::Offline,
            };
            runtime.block_on(async {
                let _ = checkers.stack_event(event, config, &services).await;
                let _ = checkers.api_changes(event, config, &services).await;
            });
            assert!(publisher.sent().is_empty());
            return Ok(0);
        }
    };
    let sent = publisher.sent();
    assert!(sent.len() <= render::MAX_ALERTS + 1, "{}", sent.len());
    for a in &sent {
        assert!(
            a.publish_bytes() < MAX_MESSAGE_BYTES,
            "{}",
            a.publish_bytes()
        );
    }
    match outcome {
        Ok(published) => {
            assert_eq!(published, sent.len());
            Ok(published)
        }
        Err(ForwardError::Decode(e)) => {
            assert!(sent.is_empty());
            Err(e)
        }
        Err(e) => panic!("an input gave an error that is not about the input: {e}"),
    }
}

/// Runs `work` on a thread with the stack a scan thread of the command line and a Lambda worker
/// have (2 MiB), so a recursion that needs more fails here as it would there.
fn on_small_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(s, work)
            .unwrap()
            .join()
            .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_reader_and_the_scan_take_any_input(bytes in input(), which in 0usize..4) {
        let config = config(which);
        on_small_stack(|| { let _ = scan_input(&bytes, &config); });
    }

    #[test]
    fn the_handler_takes_any_event(event in event(), which in 0usize..4) {
        let config = config(which);
        on_small_stack(|| { let _ = handle(&event, &config); });
    }
}

/// Pieces of access-log formats: variables API Gateway writes, some twice or misspelt, and the
/// characters formats put between them.
const FORMAT_PIECES: &[&str] = &[
    "$context.requestId",
    "$context.requestTime",
    "$context.requestTimeEpoch",
    "$context.status",
    "$context.apiId",
    "$context.stage",
    "$context.routeKey",
    "$context.path",
    "$context.httpMethod",
    "$context.identity.sourceIp",
    "$context.identity.userAgent",
    "$context.error.message",
    "$context.error.responseType",
    "$context.authorizer.error",
    "$context.integrationErrorMessage",
    "$context.",
    "$context",
    "$",
    " ",
    "\"",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "-",
    "\\",
    "x",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any format the command line is given, or the function is configured with, either is
    /// refused by name or reads any line and any event without a panic.
    #[test]
    fn any_format_reads_any_line(
        format in proptest::collection::vec(proptest::sample::select(FORMAT_PIECES), 0..14),
        lines in proptest::collection::vec(line(), 0..8),
        event in event(),
    ) {
        let format = format.concat();
        let Ok(format) = LogFormat::parse(&format) else { return Ok(()) };
        let config = Config { format, ..config(0) };
        on_small_stack(|| {
            check_alerts(&detect::scan_text(&lines.join("\n"), &config.format), &config);
            let _ = handle(&event, &config);
        });
    }
}

/// What the command line made of an input, for the table below.
#[derive(Debug, PartialEq, Eq)]
enum Read {
    /// The whole input was refused.
    Refused,
    /// Every part of it was refused.
    PartsRefused,
    /// It was read as lines, and nothing was found.
    NothingFound,
}

fn read(text: &str) -> Read {
    let config = config(0);
    match on_small_stack(|| scan_input(text.as_bytes(), &config)) {
        Err(_) => Read::Refused,
        Ok(parts) if parts.iter().all(Result::is_err) => Read::PartsRefused,
        Ok(parts) => {
            let found: usize = parts.iter().flatten().map(|s| s.findings.len()).sum();
            assert_eq!(found, 0, "{}", &text[..40]);
            Read::NothingFound
        }
    }
}

/// Nesting deeper than the JSON parser's limit (128), up to thousands of levels: refused by name
/// on both ways in, never a stack overflow. A JSON object of objects is a JSON access-log line
/// to the command line, one that holds nothing.
#[test]
fn deep_nesting_is_refused_by_name() {
    let cases = [
        ("[", "]", Read::Refused),
        ("{\"a\":", "}", Read::NothingFound),
        ("{\"Records\":", "}", Read::PartsRefused),
        ("{\"requestPayload\":", "}", Read::PartsRefused),
        ("[{\"awslogs\":", "}]", Read::PartsRefused),
        ("{\"awslogs\":{\"data\":", "}}", Read::PartsRefused),
    ];
    for depth in [127, 128, 129, 1_000, 5_000] {
        for (open, close, want) in &cases {
            for closed in [true, false] {
                let mut text = format!("{}null", open.repeat(depth));
                if closed {
                    text.push_str(&close.repeat(depth));
                }
                let config = config(0);
                let handled = on_small_stack(|| handle(text.as_bytes(), &config));
                assert!(handled.is_err(), "{depth} {open} {closed}");
                // Unclosed, every shape is broken JSON; the command line reads a broken first
                // object as lines only when it names no event.
                let got = read(&text);
                if closed {
                    assert_eq!(&got, want, "{depth} {open}");
                } else {
                    assert_ne!(got, Read::PartsRefused, "{depth} {open} unclosed");
                }
            }
        }
    }
    // Far deeper, as the handler reads it.
    for (open, close, _) in &cases {
        let text = format!("{}null{}", open.repeat(200_000), close.repeat(200_000));
        let config = config(0);
        assert!(
            on_small_stack(|| handle(text.as_bytes(), &config)).is_err(),
            "{open}"
        );
    }
}

/// The command line's reader looks into arrays of arrays a bounded number of levels, so arrays
/// nested far deeper than any wrapper are refused, not a scan thread's stack overflow.
#[test]
fn deep_arrays_on_the_command_line() {
    let text = format!("{}null{}", "[".repeat(50_000), "]".repeat(50_000));
    assert_eq!(read(&text), Read::Refused);
}
