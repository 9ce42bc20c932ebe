//! Unit tests of `decode`, beside it so its source stays readable.

use base64::Engine;

use super::*;

pub(super) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn event_with_data(data: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"awslogs": {"data": data}})).unwrap()
}

#[test]
fn round_trips_encoded_lines() {
    let event = encode_event("a line\n\nsecond line\n", "/g", "s", "123456789012", 1000);
    let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
    let batch = payload.parse().unwrap();
    assert_eq!(batch.message_type, MessageType::DataMessage);
    assert_eq!(batch.log_group, "/g");
    assert_eq!(batch.owner, "123456789012");
    let messages: Vec<_> = batch.log_events.iter().map(|e| e.message.text()).collect();
    assert_eq!(messages, ["a line", "second line"]);
    for text in ["\u{feff}a line\r\nsecond line\r\n", "a line\rsecond line\r"] {
        let event = encode_event(text, "/g", "s", "1", 0);
        let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
        let batch = payload.parse().unwrap();
        let messages: Vec<_> = batch.log_events.iter().map(|e| e.message.text()).collect();
        assert_eq!(messages, ["a line", "second line"], "{text:?}");
    }
    assert_eq!(batch.log_events[1].timestamp, 1001);
}

/// Any start time encodes: the times of later lines stop at the ends of `i64`.
#[test]
fn encodes_any_start_time() {
    let cases = [
        (i64::MAX, [i64::MAX, i64::MAX]),
        (i64::MAX - 1, [i64::MAX - 1, i64::MAX]),
        (i64::MIN, [i64::MIN, i64::MIN + 1]),
        (-1, [-1, 0]),
    ];
    for (start, want) in cases {
        let event = encode_event("a\nb", "/g", "s", "1", start);
        let payload = decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
        let batch = payload.parse().unwrap();
        let times: Vec<i64> = batch.log_events.iter().map(|e| e.timestamp).collect();
        assert_eq!(times, want, "{start}");
    }
}

/// Every kind of JSON escape a message can hold, read back exactly, and the token search on the
/// escaped text agreeing with a search on the decoded text.
#[test]
fn messages_stay_escaped_until_read() {
    let token = &*crate::model::tokens::CANDIDATE_NEEDLES;
    let cases = [
        "a \"q\" The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer.",
        "The response from the Lambda Authorizer function doesn't match\nthe format",
        "split Lambda Authorizer function doesn't\tmatch",
        "\tpermissions to call the authorizer",
        "plain AUTHORIZER_CONFIGURATION_ERROR",
        "1.2.3.4 \"GET / HTTP/1.1\" 500 AUTHORIZER_CONFIGURATION_ERROR",
        "tab\tnew\nline\rform\u{c}back\u{8}slash\\/ \"q\"",
        "trailing backslash \\",
        "control \u{1} and \u{1f} and é and 😀 \"",
        "no token \"here\"",
        "split AUTHORIZER_\"CONFIGURATION_ERROR",
    ];
    for text in cases {
        let json = serde_json::json!({"id": "1", "timestamp": 1, "message": text}).to_string();
        let event: LogEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(event.message.text(), text, "{json}");
        assert_eq!(
            event.message.escaped_contains(token),
            token.is_in(text.as_bytes()),
            "{json}"
        );
    }
    // A token spelled with \u escapes is decoded when parsed, so the search still sees it.
    let json = r#"{"id":"1","timestamp":1,"message":"\u0041UTHORIZER_CONFIGURATION_ERROR \"x\""}"#;
    let event: LogEvent = serde_json::from_str(json).unwrap();
    assert!(event.message.escaped_contains(token));
    // Lone surrogates and non-strings stay errors of the payload.
    for bad in [r#""\ud800 \"""#, "42", "null"] {
        let json = format!(r#"{{"id":"1","timestamp":1,"message":{bad}}}"#);
        assert!(serde_json::from_str::<LogEvent>(&json).is_err(), "{json}");
    }
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
        let err = decode_event(&input)
            .and_then(|p| p.parse().map(|_| ()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "{:?}: {err}",
            String::from_utf8_lossy(&input)
        );
    }
}

/// The SIMD decoder with its fallback accepts exactly what the `base64` crate's STANDARD
/// engine accepts, with the same bytes, and refuses with that crate's error.
#[test]
fn base64_agrees_with_the_base64_crate() {
    let check = |data: &str| {
        let ours = decode_base64(data).map_err(|e| e.to_string());
        let theirs = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| DecodeError::from(e).to_string());
        assert_eq!(ours, theirs, "{data:?}");
    };
    for data in [
        "",
        "=",
        "==",
        "===",
        "====",
        "QQ==",
        "QQ=",
        "QQ",
        "QR==",
        "QUI=",
        "QUJ=",
        "QUJD",
        "QUJD====",
        "QU=D",
        "Q===",
        "QUJDRA==QUJD",
        " QUJD",
        "QUJD ",
        "QU JD",
        "QUJD\n",
        "QUJ-",
        "QUJ_",
        "QUJ\u{e9}",
        "QUJDRA",
    ] {
        check(data);
    }
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    for n in 0..70 {
        check(&b64(&bytes[..n]));
        check(&b64(&bytes[n..n * 40]));
    }
    proptest::proptest!(|(
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::sample::select(&b"A/+=9z-_ \n\x80"[..])),
            0..3,
        ),
        cut in proptest::prelude::any::<proptest::sample::Index>(),
    )| {
        let mut data = b64(&raw).into_bytes();
        if !data.is_empty() {
            for (at, byte) in &edits {
                let i = at.index(data.len());
                data[i] = *byte;
            }
            if edits.len() == 2 {
                data.truncate(cut.index(data.len() + 1));
            }
        }
        check(&String::from_utf8_lossy(&data));
    });
}

#[test]
fn control_message_is_recognised() {
    let payload = br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
    let payload = decode_data(&b64(&gzip(payload))).unwrap();
    assert!(payload.parse().unwrap().is_control());
}

#[test]
fn non_utf8_message_is_a_payload_error() {
    let mut payload = br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","timestamp":1,"message":"bad "#.to_vec();
    payload.extend_from_slice(&[0xff, 0xfe]);
    payload.extend_from_slice(br#""}]}"#);
    let err = decode_data(&b64(&gzip(&payload)))
        .unwrap()
        .parse()
        .unwrap_err();
    let offset = payload.iter().position(|&b| b == 0xff).unwrap();
    assert!(
        matches!(err, DecodeError::PayloadNotUtf8 { offset: o } if o == offset),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("payload JSON is invalid"),
        "{err}"
    );
}

#[test]
fn tells_the_lambda_event_kinds_apart() {
    let schedule = br#"{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-25T18:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/recovery"],"detail":{}}"#;
    let kinesis = serde_json::to_vec(&encode_kinesis(&[("1", gzip(b"{}"))])).unwrap();
    let logs = serde_json::to_vec(&encode_event("x", "/g", "s", "1", 0)).unwrap();
    let other_event = br#"{"source":"aws.s3","detail-type":"Object Created"}"#;
    let stack = br#"{"source":"aws.cloudformation","detail-type":"CloudFormation Stack Status Change","detail":{}}"#;
    let queue = br#"{"Records":[{"messageId":"m","body":"{}","eventSource":"aws:sqs"},{"x":1}]}"#;
    for (bytes, kind) in [
        (&stack[..], EventKind::StackStatus),
        (&queue[..], EventKind::Queue),
        // Only the first record's own `eventSource` names a queue; anything else under
        // `Records` is a stream's event, which its decoder refuses by name.
        (
            br#"{"Records":[{"eventSource":7},{"eventSource":"aws:sqs"}]}"#,
            EventKind::Kinesis,
        ),
        (
            br#"{"Records":[[{"eventSource":"aws:sqs"}]]}"#,
            EventKind::Kinesis,
        ),
        (
            br#"{"Records":{"eventSource":"aws:sqs"}}"#,
            EventKind::Kinesis,
        ),
        (br#"{"Records":[1]}"#, EventKind::Kinesis),
        (&schedule[..], EventKind::Schedule),
        (&kinesis[..], EventKind::Kinesis),
        (&logs[..], EventKind::Subscription),
        (&other_event[..], EventKind::Subscription),
        (b"not json", EventKind::Subscription),
    ] {
        assert_eq!(
            event_kind(bytes),
            kind,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// The function is strict, one event an invocation, and names what it was given instead.
#[test]
fn the_function_names_what_it_was_sent() {
    let event = serde_json::to_string(&encode_event("x", "/g", "s", "1", 0)).unwrap();
    let destination = format!(r#"{{"version":"1.0","requestPayload":{event}}}"#);
    let twice = format!("{event}{event}");
    let cases: [(&[u8], &str); 9] = [
        (b"", "event is empty"),
        (b"hello", "event is not JSON: expected value"),
        (twice.as_bytes(), "event is not JSON: trailing characters"),
        (
            b"[1]",
            "event is JSON but not a CloudWatch Logs subscription event: invalid type",
        ),
        (
            destination.as_bytes(),
            "(not a CloudWatch Logs subscription event: it is a Lambda destination record; replay its requestPayload)",
        ),
        (
            br#"{"Messages":[]}"#,
            "it is an SQS message; replay its body",
        ),
        (br#"{"a":1,"b":2}"#, "its keys are `a`, `b`"),
        (
            b"{}",
            "no awslogs.data string (not a CloudWatch Logs subscription event)",
        ),
        (
            br#"{"awslogs":{"type":"gzip"}}"#,
            "no awslogs.data string (not a CloudWatch Logs subscription event)",
        ),
    ];
    for (bytes, expected) in cases {
        let e = decode_event(bytes).unwrap_err().to_string();
        assert!(e.contains(expected), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
    let sqs = br#"{"Records":[{"messageId":"1","body":"{}","eventSource":"aws:sqs"}]}"#;
    let e = parse_kinesis(sqs).unwrap_err().to_string();
    assert!(
            e.starts_with("event is JSON but not a Kinesis event of CloudWatch Logs records: missing field `kinesis`"),
            "{e}"
        );
    // BOMs, JSON Lines and the like are the command line's; the function takes one event.
    assert!(decode_event(format!("\u{feff}{event}").as_bytes()).is_err());
    assert!(decode_event(event.as_bytes()).is_ok());
}
