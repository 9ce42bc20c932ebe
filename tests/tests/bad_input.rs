//! Odd and hostile input through the whole handler: every case states its outcome. Property tests
//! show the decoder and the line parser never panic, and that nothing a client writes inside a
//! quoted segment changes what is detected.

use std::io::Write;

use base64::Engine;
use forwarder::alerts::publish::MemoryPublisher;
use forwarder::alerts::render::MAX_MESSAGE_BYTES;
use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder::detect::scan_line;
use forwarder::forward::{Outcome, Services, handle_event};
use forwarder::model::finding::LineVerdict;
use forwarder::sources::{self, LogBatch, LogEvent, MessageType};
use proptest::prelude::*;

const PERMISSION: &str = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";

fn line(error: &str) -> String {
    format!(
        r#"203.0.113.9 - - [20/Nov/2026:09:14:03 +0000] "GET GET /orders HTTP/1.1" 500 35 req= {error}"#
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn event_of(data: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"awslogs": {"data": data}})).unwrap()
}

fn batch_of(messages: Vec<String>) -> Vec<u8> {
    let batch = LogBatch {
        message_type: MessageType::DataMessage,
        owner: "123456789012".into(),
        log_group: "/aws/api/prod".into(),
        log_stream: "s".into(),
        subscription_filters: vec![],
        log_events: messages
            .into_iter()
            .enumerate()
            .map(|(i, message)| LogEvent {
                id: i.to_string().into(),
                timestamp: i as i64,
                message: message.into(),
            })
            .collect(),
        omitted_events: 0,
    };
    serde_json::to_vec(&sources::encode_batch(&batch)).unwrap()
}

fn config() -> Config {
    Config {
        topic: Some("arn:aws:sns:us-east-1:123456789012:t".parse().unwrap()),
        region: Some("us-east-1".into()),
        ..Config::default()
    }
}

/// What a case must come to.
enum Expect {
    /// The invocation fails with an error containing this text (so Lambda keeps the event).
    Error(&'static str),
    /// It succeeds with these (lines, findings, alerts published).
    Handled(usize, usize, usize),
}

fn cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let payload_json = serde_json::to_vec(&serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "/g", "logStream": "s",
        "subscriptionFilters": [], "logEvents": [{"id": "1", "timestamp": 1, "message": line(PERMISSION)}]
    }))
    .unwrap();
    let gz = sources::gzip(&payload_json);
    let mut non_utf8 = br#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":[{"id":"1","timestamp":1,"message":"AUTHORIZER_CONFIGURATION_ERROR "#.to_vec();
    non_utf8.extend_from_slice(&[0xc3, 0x28, 0xff]);
    non_utf8.extend_from_slice(br#""}]}"#);
    let bomb = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..80 {
            enc.write_all(&chunk).unwrap();
        }
        enc.finish().unwrap()
    };
    assert!(bomb.len() < 200_000, "the bomb is small: {}", bomb.len());
    let nested = format!(
        "{}{{\"error\":\"{PERMISSION}\"}}{}",
        "{\"a\":".repeat(5000),
        "}".repeat(5000)
    );
    let nested_ok = format!(
        "{}{{\"authorizerError\":\"{PERMISSION}\"}}{}",
        "{\"a\":".repeat(100),
        "}".repeat(100)
    );
    vec![
        ("empty body", vec![], Expect::Error("event is empty")),
        ("{}", b"{}".to_vec(), Expect::Error("no awslogs.data")),
        ("missing awslogs", br#"{"records":[]}"#.to_vec(), Expect::Error("no awslogs.data")),
        ("not JSON", b"AUTHORIZER_CONFIGURATION_ERROR".to_vec(), Expect::Error("event is not JSON")),
        ("bad base64", event_of("!!not base64!!"), Expect::Error("not valid base64")),
        ("base64 of non-gzip", event_of(&b64(b"hello")), Expect::Error("not gzip")),
        ("truncated gzip", event_of(&b64(&gz[..gz.len() - 12])), Expect::Error("truncated")),
        ("gzip of non-JSON", event_of(&b64(&sources::gzip(b"<xml/>"))), Expect::Error("payload JSON is invalid")),
        (
            "JSON of the wrong shape",
            event_of(&b64(&sources::gzip(br#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":{}}"#))),
            Expect::Error("payload JSON is invalid"),
        ),
        (
            "unknown messageType",
            event_of(&b64(&sources::gzip(br#"{"messageType":"OTHER","logGroup":"/g","logEvents":[]}"#))),
            Expect::Error("unknown variant `OTHER`"),
        ),
        (
            "CONTROL_MESSAGE",
            event_of(&b64(&sources::gzip(
                br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}"#,
            ))),
            Expect::Handled(0, 0, 0),
        ),
        ("empty logEvents", batch_of(vec![]), Expect::Handled(0, 0, 0)),
        ("gzip bomb", event_of(&b64(&bomb)), Expect::Error("inflates to more than 67108864 bytes")),
        ("non-UTF-8 bytes in a message", event_of(&b64(&sources::gzip(&non_utf8))), Expect::Error("payload JSON is invalid")),
        ("a line just under 1 MiB", batch_of(vec![line(&format!("{PERMISSION} {}", "x".repeat((1 << 20) - 300)))]), Expect::Handled(1, 1, 1)),
        // No CloudWatch Logs event is longer: not split, unmatched, and said as format drift.
        ("a line over 1 MiB", batch_of(vec![line(&format!("{PERMISSION} {}", "x".repeat(1 << 20)))]), Expect::Handled(1, 0, 1)),
        ("100,000 tiny events", batch_of(vec![line(PERMISSION); 100_000]), Expect::Handled(100_000, 100_000, 1)),
        // The format is text: JSON lines do not follow it, whatever their depth, and that is said.
        ("deeply nested JSON line", batch_of(vec![nested]), Expect::Handled(1, 0, 1)),
        ("nested JSON line within limits", batch_of(vec![nested_ok]), Expect::Handled(1, 0, 1)),
        (
            "the token many times",
            batch_of(vec![line(&"AUTHORIZER_CONFIGURATION_ERROR ".repeat(20_000))]),
            Expect::Handled(1, 1, 1),
        ),
        (
            "markdown and mention injection",
            batch_of(vec![line("AUTHORIZER_CONFIGURATION_ERROR,<!channel> <!here> @everyone *bold* _it_ ~s~ ```code``` <http://evil.example|click here>")]),
            Expect::Handled(1, 1, 1),
        ),
        ("terminal escapes", batch_of(vec![line("AUTHORIZER_CONFIGURATION_ERROR,\x1b[2J\x1b]0;owned\x07\u{202e}gnp.exe")]), Expect::Handled(1, 1, 1)),
    ]
}

#[tokio::test]
async fn every_bad_input_has_its_stated_outcome() {
    for (name, input, expect) in cases() {
        let publisher = MemoryPublisher::new();
        let result = handle_event(&input, &config(), &Services::new(&publisher)).await;
        match (expect, result) {
            (Expect::Error(text), Err(e)) => {
                let msg = e.to_string();
                assert!(msg.contains(text), "{name}: {msg}");
                assert!(!msg.contains('\n'), "{name}: one line: {msg}");
                assert!(publisher.sent().is_empty(), "{name}");
            }
            (
                Expect::Handled(lines, findings, alerts),
                Ok(Outcome {
                    lines: l,
                    findings: f,
                    message_ids,
                    ..
                }),
            ) => {
                assert_eq!(
                    (l, f, message_ids.len()),
                    (lines, findings, alerts),
                    "{name}"
                );
                for alert in publisher.sent() {
                    assert!(
                        alert.message().len() <= MAX_MESSAGE_BYTES,
                        "{name}: fits SNS"
                    );
                    assert!(
                        alert.subject.len() <= 100 && alert.subject.is_ascii(),
                        "{name}"
                    );
                    let chat = forwarder_tests::assert_chatbot_notification(&alert.chat);
                    let description = chat["content"]["description"].as_str().unwrap();
                    for forbidden in ["<!channel>", "<!here>", "<http://evil", "\x1b", "\u{202e}"] {
                        assert!(
                            !description.contains(forbidden),
                            "{name}: {forbidden:?} in {description}"
                        );
                    }
                    // Email is plain text: markup is harmless there, control characters are not.
                    assert!(
                        !alert.email.chars().any(|c| c.is_control() && c != '\n'),
                        "{name}: control character in email"
                    );
                    assert!(
                        !alert.email.contains('\u{202e}'),
                        "{name}: direction override in email"
                    );
                }
            }
            (_, Err(e)) => panic!("{name}: unexpected error {e}"),
            (_, Ok(o)) => panic!("{name}: unexpected success {o:?}"),
        }
    }
}

#[tokio::test]
async fn injected_markdown_is_shown_as_code_not_rendered() {
    let input = batch_of(vec![line(
        "AUTHORIZER_CONFIGURATION_ERROR,<!channel> *bold* `tick` <http://evil.example|click>",
    )]);
    let publisher = MemoryPublisher::new();
    handle_event(&input, &config(), &Services::new(&publisher))
        .await
        .unwrap();
    let chat: serde_json::Value = serde_json::from_str(&publisher.sent()[0].chat).unwrap();
    let description = chat["content"]["description"].as_str().unwrap();
    assert!(
        description.contains("`&lt;!channel&gt; *bold* 'tick' &lt;http://evil.example|click&gt;`"),
        "{description}"
    );
}

#[tokio::test]
async fn many_tokens_keep_the_message_small_and_the_count_right() {
    let input = batch_of(vec![line(
        &"AUTHORIZER_CONFIGURATION_ERROR ".repeat(20_000),
    )]);
    let publisher = MemoryPublisher::new();
    handle_event(&input, &config(), &Services::new(&publisher))
        .await
        .unwrap();
    let machine: serde_json::Value = serde_json::from_str(&publisher.sent()[0].machine).unwrap();
    assert_eq!(machine["count"], 1);
    assert!(machine["errors"][0].as_str().unwrap().len() <= 2000);
}

const CUSTOM: &str = r#"$context.requestId $context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status "$context.identity.userAgent" $context.apiId $context.stage $context.authorizer.error"#;

fn custom_line(path: &str, agent: &str, error: &str) -> String {
    format!(
        r#"req= 203.0.113.9 [20/Nov/2026:09:14:03 +0000] "GET {path} HTTP/1.1" 500 "{agent}" k7x2p9q4md prod {error}"#
    )
}

/// What detection decided, without the fields a client may legitimately change.
fn decision(verdict: LineVerdict) -> Option<(String, String)> {
    match verdict {
        LineVerdict::Flagged(f) => Some((f.cause.to_string(), f.error().to_owned())),
        LineVerdict::Clean
        | LineVerdict::Ignored
        | LineVerdict::Unmatched
        | LineVerdict::Drifted => None,
    }
}

/// Anything a client can send on one line, biased towards quotes and the token.
fn client_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\r\n]{0,80}",
        proptest::collection::vec(
            prop_oneof![
                Just("\"".to_owned()),
                Just("AUTHORIZER_CONFIGURATION_ERROR".to_owned()),
                Just(",".to_owned()),
                Just(" ".to_owned()),
                Just(" 500 ".to_owned()),
                Just("-".to_owned()),
                "[^\r\n]{0,8}",
            ],
            0..12
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = sources::decode_event(&bytes).map(|p| p.parse().map(|_| ()));
        let _ = sources::sniff(&bytes);
        let _ = sources::inflate(&bytes, 1 << 20);
    }

    #[test]
    fn decoder_never_panics_on_mangled_events(data in "[A-Za-z0-9+/=]{0,400}", cut in 0usize..400) {
        let _ = sources::decode_event(&event_of(&data)).map(|p| p.parse().map(|_| ()));
        let good = String::from_utf8(batch_of(vec![line(PERMISSION)])).unwrap();
        let cut = cut.min(good.len());
        let _ = sources::decode_event(&good.as_bytes()[..cut]).map(|p| p.parse().map(|_| ()));
    }

    #[test]
    fn line_parser_never_panics(text in "\\PC{0,300}", json in "[{}\\[\\]\":,a-zA-Z_ 0-9]{0,200}") {
        let default = LogFormat::default();
        let custom = LogFormat::parse(CUSTOM).unwrap();
        for candidate in [&text, &json, &format!("{text} AUTHORIZER_CONFIGURATION_ERROR {json}")] {
            let _ = scan_line(candidate, &default);
            let _ = scan_line(candidate, &custom);
        }
    }

    #[test]
    fn client_text_in_quoted_segments_never_changes_detection(
        path in client_text(),
        agent in client_text(),
        route in client_text(),
    ) {
        let custom = LogFormat::parse(CUSTOM).unwrap();
        for error in ["-", PERMISSION] {
            let benign = decision(scan_line(&custom_line("/orders", "curl/8", error), &custom));
            let hostile = decision(scan_line(&custom_line(&path, &agent, error), &custom));
            prop_assert_eq!(&benign, &hostile);
        }
        // The default format's quoted segment holds the route key.
        let default = LogFormat::default();
        let quoted = |route: &str, error: &str| format!(r#"203.0.113.9 - - [t] "GET {route} HTTP/1.1" 500 35 req= {error}"#);
        for error in ["-", PERMISSION] {
            let benign = decision(scan_line(&quoted("GET /orders", error), &default));
            let hostile = decision(scan_line(&quoted(&route, error), &default));
            prop_assert_eq!(benign, hostile);
        }
    }

    #[test]
    fn quote_free_client_text_never_changes_detection_without_a_format(agent in "[^\"\r\n]{0,80}") {
        // A line in no configured format falls back to quote pairing.
        let default = LogFormat::default();
        let unknown = |agent: &str, error: &str| format!(r#"custom "{agent}" {error}"#);
        for error in ["-", PERMISSION] {
            let benign = decision(scan_line(&unknown("curl/8", error), &default));
            let hostile = decision(scan_line(&unknown(&agent, error), &default));
            prop_assert_eq!(benign, hostile);
        }
    }
}

/// What `forwarder scan` must make of an input: each part's name after `<stdin>` with its lines
/// and flagged lines, or a refusal (exit 2) whose one line names the input and contains this.
enum Read {
    Parts(&'static [(&'static str, usize, usize)]),
    Refused(&'static str),
}

/// Every way a user may hand `scan` a log or an event: each is read right or refused by name,
/// never read as a log of no lines. (Sample files: samplelogs/; the event and log hold 10 lines
/// with 5 flagged, the JSON log 6 with 3, the Kinesis event one such batch and a control message.)
#[test]
fn scan_reads_every_input_right_or_refuses_it_by_name() {
    let sample = |rel: &str| std::fs::read(forwarder_tests::sample(rel)).unwrap();
    let log = sample("default-format.log");
    let json_log = sample("json-format.log");
    let event_pretty = sample("events/default-format.json");
    let event: Vec<u8> = {
        let v: serde_json::Value = serde_json::from_slice(&event_pretty).unwrap();
        serde_json::to_vec(&v).unwrap()
    };
    let kinesis: Vec<u8> = {
        let v: serde_json::Value =
            serde_json::from_slice(&sample("events/kinesis-stream.json")).unwrap();
        serde_json::to_vec(&v).unwrap()
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    let cat = |parts: &[&[u8]]| parts.concat();
    let bom = |b: &[u8]| cat(&[b"\xef\xbb\xbf", b]);
    let destination = serde_json::json!({
        "version": "1.0",
        "timestamp": "2026-11-20T09:20:00.000Z",
        "requestContext": {"requestId": "r-1", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": serde_json::from_slice::<serde_json::Value>(&event).unwrap(),
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "PublishFailed", "errorMessage": "0 of 2 alerts published"},
    });
    let dlq_dump = serde_json::to_vec_pretty(&serde_json::json!({"Messages": [
        {"MessageId": "0f1e2d3c", "ReceiptHandle": "AQEB", "MD5OfBody": "x", "Body": destination.to_string()},
        {"MessageId": "4b5a6978", "ReceiptHandle": "AQEB", "MD5OfBody": "x", "Body": destination.to_string()},
    ]}))
    .unwrap();
    let sqs_event = serde_json::to_vec(&serde_json::json!({"Records": [
        {"messageId": "0f1e2d3c", "body": destination.to_string(), "eventSource": "aws:sqs"},
    ]}))
    .unwrap();
    let utf16 = {
        let mut out = vec![0xff, 0xfe];
        for unit in text(&log).encode_utf16() {
            out.extend(unit.to_le_bytes());
        }
        out
    };
    const SEQ1: &str = "#49650000000000000000000000000000000000000000000000000001";
    let cases: Vec<(&str, Vec<u8>, Read)> = vec![
        ("log", log.clone(), Read::Parts(&[("", 10, 5)])),
        (
            "log with CRLF",
            text(&log).replace('\n', "\r\n").into(),
            Read::Parts(&[("", 10, 5)]),
        ),
        (
            "log with CR only",
            text(&log).replace('\n', "\r").into(),
            Read::Parts(&[("", 10, 5)]),
        ),
        ("log after a BOM", bom(&log), Read::Parts(&[("", 10, 5)])),
        (
            "log in UTF-16 with a BOM",
            utf16.clone(),
            Read::Parts(&[("", 10, 5)]),
        ),
        (
            "JSON log with CR only",
            text(&json_log).replace('\n', "\r").into(),
            Read::Parts(&[("", 6, 3)]),
        ),
        (
            "JSON log after a BOM",
            bom(&json_log),
            Read::Parts(&[("", 6, 3)]),
        ),
        (
            "gzip of a log",
            sources::gzip(&log),
            Read::Parts(&[("", 10, 5)]),
        ),
        (
            "gzip of a BOM and CRLF log",
            sources::gzip(&bom(text(&log).replace('\n', "\r\n").as_bytes())),
            Read::Parts(&[("", 10, 5)]),
        ),
        ("event", event.clone(), Read::Parts(&[("", 10, 5)])),
        (
            "event after a BOM",
            bom(&event_pretty),
            Read::Parts(&[("", 10, 5)]),
        ),
        (
            "event with CRLF",
            text(&event_pretty).replace('\n', "\r\n").into(),
            Read::Parts(&[("", 10, 5)]),
        ),
        (
            "JSON Lines of two events",
            cat(&[&event, b"\n", &event, b"\n"]),
            Read::Parts(&[("#1", 10, 5), ("#2", 10, 5)]),
        ),
        (
            "JSON Lines of two events after a BOM, CRLF",
            bom(&cat(&[&event, b"\r\n", &event])),
            Read::Parts(&[("#1", 10, 5), ("#2", 10, 5)]),
        ),
        (
            "events back to back",
            cat(&[&event, &event]),
            Read::Parts(&[("#1", 10, 5), ("#2", 10, 5)]),
        ),
        (
            "pretty events back to back",
            cat(&[&event_pretty, &event_pretty]),
            Read::Parts(&[("#1", 10, 5), ("#2", 10, 5)]),
        ),
        (
            "gzip of JSON Lines of events",
            sources::gzip(&cat(&[&event, b"\n", &event])),
            Read::Parts(&[("#1", 10, 5), ("#2", 10, 5)]),
        ),
        (
            "Kinesis event",
            kinesis.clone(),
            Read::Parts(&[
                (SEQ1, 10, 5),
                (
                    "#49650000000000000000000000000000000000000000000000000002",
                    0,
                    0,
                ),
            ]),
        ),
        (
            "Kinesis events back to back",
            cat(&[&kinesis, &kinesis]),
            Read::Parts(&[
                (
                    "#1#49650000000000000000000000000000000000000000000000000001",
                    10,
                    5,
                ),
                (
                    "#1#49650000000000000000000000000000000000000000000000000002",
                    0,
                    0,
                ),
                (
                    "#2#49650000000000000000000000000000000000000000000000000001",
                    10,
                    5,
                ),
                (
                    "#2#49650000000000000000000000000000000000000000000000000002",
                    0,
                    0,
                ),
            ]),
        ),
        (
            "dead-letter queue dump (aws sqs receive-message)",
            dlq_dump.clone(),
            Read::Parts(&[("#0f1e2d3c", 10, 5), ("#4b5a6978", 10, 5)]),
        ),
        (
            "gzip of a dead-letter queue dump",
            sources::gzip(&dlq_dump),
            Read::Parts(&[("#0f1e2d3c", 10, 5), ("#4b5a6978", 10, 5)]),
        ),
        (
            "Lambda on-failure destination record",
            destination.to_string().into(),
            Read::Parts(&[("", 10, 5)]),
        ),
        (
            "SQS event of a destination record",
            sqs_event,
            Read::Parts(&[("#0f1e2d3c", 10, 5)]),
        ),
        ("empty", vec![], Read::Refused("<stdin>: input is empty")),
        (
            "only whitespace",
            b"\n \t\r\n".to_vec(),
            Read::Refused("<stdin>: input holds only whitespace"),
        ),
        (
            "UTF-16 without a BOM",
            utf16[2..].to_vec(),
            Read::Refused("<stdin>: input holds a NUL byte at offset 1"),
        ),
        (
            "Latin-1",
            b"caf\xe9\n".to_vec(),
            Read::Refused("<stdin>: input is not UTF-8 text"),
        ),
        (
            "unknown JSON document",
            b"{\n  \"status\": \"ok\",\n  \"items\": []\n}\n".to_vec(),
            Read::Refused(
                "<stdin>: a JSON object with keys `items`, `status` is neither access-log lines nor an event",
            ),
        ),
        // One line of a JSON object of no event's keys is what a JSON-format access-log line is
        // (a client may have put the array there): it is read as one, never refused.
        (
            "unknown one-line JSON",
            br#"{"items":[{"id":1}]}"#.to_vec(),
            Read::Parts(&[("", 1, 0)]),
        ),
        (
            "unknown JSON document",
            b"{\n  \"items\": [{\"id\": 1}]\n}\n".to_vec(),
            Read::Refused("<stdin>: a JSON object with keys `items` is neither"),
        ),
        (
            "truncated event",
            event[..event.len() / 2].to_vec(),
            Read::Refused("<stdin>: event is not JSON: EOF while parsing"),
        ),
        (
            "empty dump",
            br#"{"Messages":[]}"#.to_vec(),
            Read::Refused("<stdin>: Messages is empty"),
        ),
        (
            "an event among JSON log lines",
            cat(&[&json_log, &event, b"\n"]),
            Read::Refused("<stdin>: line 7 is an event among JSON access-log lines"),
        ),
        (
            "S3 event",
            br#"{"Records":[{"eventSource":"aws:s3","s3":{}}]}"#.to_vec(),
            Read::Refused(
                "<stdin>#1: record 1 is not a Kinesis, SQS or SNS record (eventSource aws:s3)",
            ),
        ),
        (
            "zstd",
            b"\x28\xb5\x2f\xfd\x04\x00".to_vec(),
            Read::Refused("<stdin>: input is zstd-compressed"),
        ),
    ];
    for (name, input, expected) in cases {
        let run = forwarder_tests::forwarder(&["scan"], Some(&input), &[]);
        match expected {
            Read::Parts(parts) => {
                let flagged = parts.iter().any(|p| p.2 > 0);
                assert_eq!(run.code, if flagged { 1 } else { 0 }, "{name}: {run:?}");
                assert!(run.stderr.is_empty(), "{name}: {run:?}");
                let heads: Vec<&str> = run.stdout.lines().filter(|l| !l.starts_with(' ')).collect();
                let want: Vec<String> = parts
                    .iter()
                    .map(|(at, lines, flagged)| match (lines, flagged) {
                        (0, 0) => format!("<stdin>{at}: control message"),
                        (1, _) => format!("<stdin>{at}: 1 line, {flagged} flagged"),
                        _ => format!("<stdin>{at}: {lines} lines, {flagged} flagged"),
                    })
                    .collect();
                assert_eq!(heads.len(), want.len(), "{name}: {run:?}");
                for (head, want) in heads.iter().zip(&want) {
                    assert!(
                        head.starts_with(want.as_str()),
                        "{name}: {head:?}, expected {want:?}"
                    );
                }
            }
            Read::Refused(reason) => {
                assert_eq!(run.code, 2, "{name}: {run:?}");
                let err = run.stderr.trim_end();
                assert!(!err.contains('\n'), "{name}: one line: {err}");
                assert!(
                    err.starts_with(&format!("forwarder: {reason}")),
                    "{name}: {err}"
                );
            }
        }
    }
}
