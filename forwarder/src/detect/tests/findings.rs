//! What a flagged line's finding carries: its fields, its event's origin and time.

use super::*;
use crate::detect::marks::after_token;
use crate::model::cause::Cause;
use crate::model::finding::{Finding, FindingText, MAX_RFC3339_MILLIS, format_millis};
use crate::model::tokens::{FAILURE_TOKEN, TOKEN};

#[test]
fn finding_carries_the_fields() {
    let line = default_line(
        "GET /orders",
        500,
        &format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}"),
    );
    let LineVerdict::Flagged(f) = scan_line(&line, &LogFormat::guess()) else {
        panic!("not flagged")
    };
    assert_eq!(f.cause, Cause::MissingInvokePermission);
    assert_eq!(f.request_id(), Some("req-1="));
    assert_eq!(f.status, Some(500));
    assert_eq!(f.time(), Some("10/Oct/2023:01:01:01 +0000"));
    assert_eq!(f.route(), Some("GET /orders"));
    assert_eq!(f.error(), PERMISSION);
    assert_eq!(f.event_id(), None);
}

#[test]
fn json_line_fields_and_sibling_message() {
    let line = r#"{"requestId":"abc","status":500,"routeKey":"GET /pets","apiId":"a1b2c3","error":{"responseType":"AUTHORIZER_CONFIGURATION_ERROR","message":"Authorizer timed out"}}"#;
    let LineVerdict::Flagged(f) = scan_line(line, &LogFormat::guess()) else {
        panic!("not flagged")
    };
    assert_eq!(f.cause, Cause::AuthorizerTimeout);
    assert_eq!(f.request_id(), Some("abc"));
    assert_eq!(f.status, Some(500));
    assert_eq!(f.route(), Some("GET /pets"));
    assert_eq!(f.api_id(), Some("a1b2c3"));
}

#[test]
fn batch_fills_origin() {
    let lines = format!(
        "{}\n{}\n{}\n",
        default_line("/", 200, "-"),
        default_line("/", 500, "AUTHORIZER_CONFIGURATION_ERROR,weird"),
        // No format and no time of its own: the event's timestamp stands in.
        "AUTHORIZER_CONFIGURATION_ERROR timed out"
    );
    let event = crate::sources::encode_event(
        &lines,
        "/aws/http-api/prod",
        "s1",
        "123456789012",
        1_700_000_000_000,
    );
    let payload = crate::sources::decode_event(&serde_json::to_vec(&event).unwrap()).unwrap();
    let batch = payload.parse().unwrap();
    // With the format given, the line in no format is unmatched, and kept as a sample.
    let strict = scan_batch(&batch, &LogFormat::default());
    assert_eq!(
        (strict.lines, strict.findings.len(), strict.unmatched),
        (3, 1, 1)
    );
    assert_eq!(
        strict.unmatched_sample.as_deref(),
        Some("AUTHORIZER_CONFIGURATION_ERROR timed out")
    );
    // It is in no format at all, which no client can bring about, but one line beside a finding
    // is not most of them.
    assert_eq!(strict.drifted, 1);
    assert!(!strict.format_drift());
    let scan = scan_batch(&batch, &LogFormat::guess());
    assert_eq!(scan.lines, 3);
    assert_eq!(scan.findings.len(), 2);
    let f = &scan.findings[0];
    assert_eq!(f.cause, Cause::Unknown);
    assert_eq!(f.log_group.as_deref(), Some("/aws/http-api/prod"));
    assert_eq!(f.log_stream.as_deref(), Some("s1"));
    assert_eq!(f.timestamp, Some(1_700_000_000_001));
    assert_eq!(f.time(), Some("10/Oct/2023:01:01:01 +0000"));
    assert_eq!(f.account_id(), Some("123456789012"));
    assert_eq!(f.event_id(), Some(&*batch.log_events[1].id));
    let g = &scan.findings[1];
    assert_eq!(g.cause, Cause::AuthorizerTimeout);
    assert_eq!(g.time(), Some("2023-11-14T22:13:20.002Z"));
    assert_eq!(g.error(), "timed out");
}

#[test]
fn finding_text_round_trips_and_serialises_flat() {
    let text = FindingText {
        request_id: Some("r1"),
        error: "boom",
        route: Some(""),
        event_id: Some("e1"),
        account_id: Some("123456789012"),
        ..FindingText::default()
    };
    let mut f = Finding::new(Cause::Unknown, text);
    assert_eq!(f.text(), text);
    assert_eq!((f.time(), f.route(), f.error()), (None, Some(""), "boom"));
    f.status = Some(500);
    assert_eq!(
        serde_json::to_string(&f).unwrap(),
        r#"{"cause":"unknown","request_id":"r1","status":500,"verified":true,"time":null,"error":"boom","route":"","api_id":null,"stage":null,"source_ip":null,"log_group":null,"log_stream":null,"event_id":"e1","timestamp":null}"#
    );
}

#[test]
fn after_token_skips_partial_words() {
    assert_eq!(
        after_token("AUTHORIZER_CONFIGURATION_ERRORX AUTHORIZER_CONFIGURATION_ERROR: y"),
        Some((TOKEN, "y"))
    );
    assert_eq!(
        after_token("AUTHORIZER_FAILURES AUTHORIZER_ AUTHORIZER_FAILURE z"),
        Some((FAILURE_TOKEN, "z"))
    );
    assert_eq!(after_token("none"), None);
}

#[test]
fn formats_millis() {
    let cases = [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
        (MAX_RFC3339_MILLIS, "9999-12-31T23:59:59.999Z"),
        (MAX_RFC3339_MILLIS + 1, "253402300800000"),
        (99_999_999_999_999_999, "99999999999999999"),
        (i64::MAX, "9223372036854775807"),
        (-5, "-5"),
        (i64::MIN, "-9223372036854775808"),
    ];
    for (ms, want) in cases {
        assert_eq!(format_millis(ms), want, "{ms}");
    }
}

/// An event's timestamp is the payload's to choose: any of them gives a finding, with the
/// time as logged when the format has none of its own, through both logs' readers.
#[test]
fn any_event_timestamp_is_read() {
    let format =
        LogFormat::parse("$context.requestId $context.status $context.authorizer.error").unwrap();
    let lines = [
        ("/aws/api/prod", "r1 500 AUTHORIZER_CONFIGURATION_ERROR"),
        (
            "API-Gateway-Execution-Logs_a1b2c3d4e5/prod",
            "(0f6e2bd8-4d67-4c04-a1c5-1f2e5c6d7e8f) Execution failed due to configuration error: Authorizer error",
        ),
    ];
    for ts in [i64::MAX, i64::MIN, MAX_RFC3339_MILLIS + 1, -1, 0] {
        for (group, line) in lines {
            let batch = LogBatch {
                message_type: crate::sources::MessageType::DataMessage,
                owner: "123456789012".into(),
                log_group: group.into(),
                log_stream: "s".into(),
                subscription_filters: Vec::new(),
                log_events: vec![crate::sources::LogEvent {
                    id: "1".into(),
                    timestamp: ts,
                    message: line.into(),
                }],
                omitted_events: 0,
            };
            let scan = scan_batch(&batch, &format);
            assert_eq!(scan.findings.len(), 1, "{group} {ts}");
            assert_eq!(scan.findings[0].time(), Some(format_millis(ts).as_str()));
        }
    }
}
