//! Odd and hostile input through the whole handler: every case states its outcome. Property tests
//! show the decoder and the line parser never panic, and that nothing a client writes inside a
//! quoted segment changes what is detected.

use std::io::Write;

use base64::Engine;
use forwarder::access_log::LogFormat;
use forwarder::alert::MAX_MESSAGE_BYTES;
use forwarder::config::Config;
use forwarder::decode::{self, LogBatch, LogEvent, MessageType};
use forwarder::detect::{LineVerdict, scan_line};
use forwarder::forward::{Outcome, Services, handle_event};
use forwarder::publish::MemoryPublisher;
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
    };
    serde_json::to_vec(&decode::encode_batch(&batch)).unwrap()
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
    let gz = decode::gzip(&payload_json);
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
        ("gzip of non-JSON", event_of(&b64(&decode::gzip(b"<xml/>"))), Expect::Error("payload JSON is invalid")),
        (
            "JSON of the wrong shape",
            event_of(&b64(&decode::gzip(br#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logEvents":{}}"#))),
            Expect::Error("payload JSON is invalid"),
        ),
        (
            "unknown messageType",
            event_of(&b64(&decode::gzip(br#"{"messageType":"OTHER","logGroup":"/g","logEvents":[]}"#))),
            Expect::Error("unknown variant `OTHER`"),
        ),
        (
            "CONTROL_MESSAGE",
            event_of(&b64(&decode::gzip(
                br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}"#,
            ))),
            Expect::Handled(0, 0, 0),
        ),
        ("empty logEvents", batch_of(vec![]), Expect::Handled(0, 0, 0)),
        ("gzip bomb", event_of(&b64(&bomb)), Expect::Error("inflates to more than 67108864 bytes")),
        ("non-UTF-8 bytes in a message", event_of(&b64(&decode::gzip(&non_utf8))), Expect::Error("payload JSON is invalid")),
        ("1 MiB single line", batch_of(vec![line(&format!("{PERMISSION} {}", "x".repeat(1 << 20)))]), Expect::Handled(1, 1, 1)),
        ("100,000 tiny events", batch_of(vec![line(PERMISSION); 100_000]), Expect::Handled(100_000, 100_000, 1)),
        ("deeply nested JSON line", batch_of(vec![nested]), Expect::Handled(1, 0, 0)),
        ("nested JSON line within limits", batch_of(vec![nested_ok]), Expect::Handled(1, 1, 1)),
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
        LineVerdict::Clean | LineVerdict::Ignored => None,
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
        let _ = decode::decode_event(&bytes).map(|p| p.parse().map(|_| ()));
        let _ = decode::sniff(&bytes);
        let _ = decode::inflate(&bytes, 1 << 20);
    }

    #[test]
    fn decoder_never_panics_on_mangled_events(data in "[A-Za-z0-9+/=]{0,400}", cut in 0usize..400) {
        let _ = decode::decode_event(&event_of(&data)).map(|p| p.parse().map(|_| ()));
        let good = String::from_utf8(batch_of(vec![line(PERMISSION)])).unwrap();
        let cut = cut.min(good.len());
        let _ = decode::decode_event(&good.as_bytes()[..cut]).map(|p| p.parse().map(|_| ()));
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
