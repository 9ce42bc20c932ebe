//! Unit tests of `forward`, beside it so its source stays readable.

use super::*;
use crate::alerts::publish::{MemoryPublisher, PublishError};
use crate::diagnose::inspect::{InspectError, MemoryInspector};
use crate::diagnose::{ApiConfig, ApiKind, Authorizer, Route};

const PERMISSION: &str = r#"198.51.100.7 - - [10/Oct/2023:01:01:01 +0000] "GET GET /orders HTTP/1.1" 500 35 req-1= AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."#;
const FORMAT: &str = r#"198.51.100.7 - - [10/Oct/2023:01:01:02 +0000] "GET GET /pets HTTP/1.1" 500 35 req-2= AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;
const HEALTHY: &str =
    r#"198.51.100.7 - - [10/Oct/2023:01:01:03 +0000] "GET GET /health HTTP/1.1" 200 2 req-3= -"#;

fn event(lines: &[&str]) -> Vec<u8> {
    let e = sources::encode_event(&lines.join("\n"), "/aws/api/prod", "s", "123456789012", 0);
    serde_json::to_vec(&e).unwrap()
}

fn config() -> Config {
    Config {
        topic: Some("arn:aws:sns:us-east-1:123456789012:t".parse().unwrap()),
        label: Some("prod".into()),
        region: Some("us-east-1".into()),
        ..Config::default()
    }
}

/// A publisher whose calls never return, as an SNS that accepts and never answers.
struct Stuck;

impl Publisher for Stuck {
    async fn publish(&self, _: &Alert) -> Result<String, PublishError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn kinesis_reports_the_records_left_when_time_runs_out() {
    let gz = |line: &str| {
        let e = sources::encode_event(line, "/aws/api/prod", "s", "123456789012", 0);
        let data = e["awslogs"]["data"].as_str().unwrap().to_owned();
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).unwrap()
    };
    let records = [("1", gz(HEALTHY)), ("2", gz(PERMISSION)), ("3", gz(FORMAT))];
    let event = serde_json::to_vec(&sources::encode_kinesis(&records)).unwrap();
    let stuck = Stuck;
    let services = Services::new(&stuck).until(Some(Instant::now() + Duration::from_millis(50)));
    let response = handle_kinesis(&event, &config(), &services).await.unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        ["2", "3"],
        "the healthy record is done, the rest retried"
    );
    // Without a deadline, as the CLI runs it, every record goes through.
    let memory = MemoryPublisher::new();
    let unhurried = Services::new(&memory);
    let out = handle_kinesis(&event, &config(), &unhurried).await.unwrap();
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(memory.sent().len(), 2);
}

#[tokio::test]
async fn publishes_one_alert_per_cause() {
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &event(&[PERMISSION, FORMAT, HEALTHY, PERMISSION]),
        &config(),
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    assert_eq!((out.lines, out.findings, out.ignored), (4, 3, 0));
    assert_eq!(out.message_ids, ["memory-1", "memory-2"]);
    let sent = publisher.sent();
    assert_eq!(
        sent[0].subject,
        "[prod] API authorizer misconfigured: missing invoke permission (2x)"
    );
    assert_eq!(sent[0].attributes.cause, "missing_invoke_permission");
    assert_eq!(
        sent[0].attributes.log_group.as_deref(),
        Some("/aws/api/prod")
    );
    assert_eq!(sent[1].attributes.cause, "invalid_response_format");
    assert!(
        sent[1]
            .email
            .contains("Simple response did not include 'isAuthorized'")
    );
}

/// An HTTP API's message without a token, in the recommended format the stage was given: one
/// alert naming the API, with the status as logged; the message in a client's place alerts no one.
#[tokio::test]
async fn messages_without_a_token_are_alerted() {
    let line = |rid: &str, route: &str, status: u16, error: &str| {
        format!(
            r#"93.142.91.220 - - [12/Oct/2021:13:57:46 +0000] "POST {route} HTTP/1.1" {status} 35 {rid} k7m2p9x4qa prod - {error}"#
        )
    };
    let message = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response";
    let recommended = Config {
        format: crate::detect::access_log::LogFormat::parse(
            crate::detect::access_log::RECOMMENDED_FORMAT,
        )
        .unwrap(),
        ..config()
    };
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &event(&[
            &line("HGQeGiXZliAEPSw=", "/deploy", 500, message),
            &line("HGQeHbXZliAEPTw=", "/deploy", 500, message),
            &line("HGQeIcXZliAEPUw=", "/health", 200, "-"),
        ]),
        &recommended,
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    assert_eq!((out.lines, out.findings, out.ignored), (3, 2, 0));
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].subject,
        "[prod] API authorizer misconfigured: invalid response format (2x)"
    );
    assert_eq!(sent[0].attributes.cause, "invalid_response_format");
    assert!(sent[0].email.contains("k7m2p9x4qa"), "{}", sent[0].email);
    assert!(sent[0].email.contains("HTTP 500"), "{}", sent[0].email);
    assert!(
        sent[0]
            .email
            .contains("Invalid json in authorizer response")
    );

    // Only a client wrote the words (the route, in a format that logs the path): ignored.
    let path_format = crate::detect::access_log::LogFormat::parse(
        r#"$context.requestId "$context.path" $context.status $context.authorizer.error"#,
    )
    .unwrap();
    let quiet = MemoryPublisher::new();
    let out = handle_event(
        &event(&[&format!(r#"HGQeJdXZliAEPVw= "/{message}" 404 -"#)]),
        &Config {
            format: path_format,
            ..config()
        },
        &Services::new(&quiet),
    )
    .await
    .unwrap();
    assert_eq!((out.findings, out.ignored), (0, 1));
    assert!(quiet.sent().is_empty());
}

/// The stage's format changed (a user agent appended) while the forwarder kept the old one:
/// the token lines no longer follow it, and that is alerted on instead of going quiet.
#[tokio::test]
async fn format_drift_is_alerted_not_silent() {
    let appended = format!("{PERMISSION} \"Mozilla/5.0 AUTHORIZER_CONFIGURATION_ERROR\"");
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &event(&[&appended, &appended, PERMISSION, HEALTHY]),
        &config(),
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    assert_eq!((out.findings, out.unmatched), (1, 2));
    let sent = publisher.sent();
    assert_eq!(sent.len(), 2);
    let drift = &sent[1];
    assert_eq!(drift.attributes.cause, "format_mismatch");
    assert_eq!(drift.attributes.severity, "warning");
    assert_eq!(
        drift.subject,
        "[prod] API authorizer alerts blind: access-log format mismatch (2x)"
    );
    assert!(
        drift
            .email
            .contains("Lines not read: 2 / 3 lines carrying the token")
    );
    assert!(
        drift
            .email
            .contains(crate::detect::access_log::DEFAULT_FORMAT)
    );
    assert!(
        drift
            .email
            .contains("Mozilla/5.0 AUTHORIZER_CONFIGURATION_ERROR")
    );
    assert!(drift.email.contains("get-stage"));
    let machine: serde_json::Value = serde_json::from_str(&drift.machine).unwrap();
    assert_eq!(machine["drift"]["with_token"], 3);
    assert_eq!(machine["count"], 2);
    // A minority of such lines is counted, not alerted on.
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &event(&[&appended, PERMISSION, PERMISSION]),
        &config(),
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    assert_eq!((out.findings, out.unmatched), (2, 1));
    assert_eq!(publisher.sent().len(), 1);
}

/// An account-level subscription policy that reaches the forwarder's own log group delivers
/// its lines back to it: they are counted ignored, never flagged, so nothing loops.
#[tokio::test]
async fn the_forwarder_never_reads_its_own_log_group() {
    let own = "/aws/lambda/alerts-forwarder";
    let batch = LogBatch {
        message_type: sources::MessageType::DataMessage,
        owner: "123456789012".into(),
        log_group: own.into(),
        log_stream: "2026/12/07/[$LATEST]abc".into(),
        subscription_filters: vec![],
        log_events: vec![
            sources::LogEvent {
                id: "1".into(),
                timestamp: 0,
                message: PERMISSION.into(),
            },
            sources::LogEvent {
                id: "2".into(),
                timestamp: 0,
                message: "START RequestId: 1".into(),
            },
        ],
        omitted_events: 0,
    };
    let bytes = serde_json::to_vec(&sources::encode_batch(&batch)).unwrap();
    let publisher = MemoryPublisher::new();
    let own_config = Config {
        own_log_group: Some(own.into()),
        ..config()
    };
    let out = handle_event(&bytes, &own_config, &Services::new(&publisher))
        .await
        .unwrap();
    assert_eq!((out.lines, out.findings, out.ignored), (2, 0, 1));
    assert!(publisher.sent().is_empty());
    // The same lines in any other group are read as usual.
    let out = handle_event(&bytes, &config(), &Services::new(&publisher))
        .await
        .unwrap();
    assert_eq!(out.findings, 1);
}

#[tokio::test]
async fn control_message_publishes_nothing() {
    let batch = LogBatch {
        message_type: sources::MessageType::ControlMessage,
        owner: "CloudwatchLogs".into(),
        log_group: "".into(),
        log_stream: "".into(),
        subscription_filters: vec![],
        log_events: vec![sources::LogEvent {
            id: "".into(),
            timestamp: 0,
            message: PERMISSION.into(),
        }],
        omitted_events: 0,
    };
    let bytes = serde_json::to_vec(&sources::encode_batch(&batch)).unwrap();
    let publisher = MemoryPublisher::new();
    let out = handle_event(&bytes, &config(), &Services::new(&publisher))
        .await
        .unwrap();
    assert!(out.control_message);
    assert!(publisher.sent().is_empty());
}

#[tokio::test]
async fn bad_event_is_an_error() {
    let err = handle_event(b"{}", &config(), &Services::new(&MemoryPublisher::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForwardError::Decode(DecodeError::MissingAwslogs)),
        "{err}"
    );
}

#[tokio::test]
async fn partial_publish_is_an_error_that_counts() {
    let publisher = MemoryPublisher::failing_after(1);
    let err = handle_event(
        &event(&[PERMISSION, FORMAT]),
        &config(),
        &Services::new(&publisher),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 of 2 alerts published, then publishing to memory failed: refused by test publisher"
    );
    assert_eq!(publisher.sent().len(), 1);
}

#[tokio::test]
async fn an_invocation_counts_what_it_saw_held_back_and_sent() {
    const FORGED: &str = r#"198.51.100.7 - - [10/Oct/2023:01:01:04 +0000] "GET GET /AUTHORIZER_CONFIGURATION_ERROR HTTP/1.1" 200 2 req-4= -"#;
    let publisher = MemoryPublisher::failing_after(1);
    let windows = crate::alerts::flood::MemoryWindows::default();
    let flood = Config {
        state_table: Some("windows".into()),
        ..config()
    };
    let services = Services::new(&publisher).windows(&windows);
    let recorder = Recorder::default();
    // Two causes, a forged line and a healthy one; the second alert fails to publish.
    let batch = event(&[PERMISSION, FORMAT, PERMISSION, FORGED, HEALTHY]);
    handle_event(&batch, &flood, &services.metrics(&recorder))
        .await
        .unwrap_err();
    let t = recorder.take();
    assert_eq!(t.failed_requests(), 3);
    assert_eq!(
        t.failures
            .iter()
            .map(|((c, _), n)| (*c, *n))
            .collect::<Vec<_>>(),
        [
            (Cause::MissingInvokePermission, 2),
            (Cause::InvalidResponseFormat, 1)
        ]
    );
    assert_eq!((t.forged_ignored, t.alerts_published), (1, 1));
    // The retry repeats only the alert that failed: the one that went out is marked. Its
    // lines are counted again.
    let publisher = MemoryPublisher::default();
    let services = Services::new(&publisher).windows(&windows);
    handle_event(&batch, &flood, &services.metrics(&recorder))
        .await
        .unwrap();
    let t = recorder.take();
    assert_eq!(
        (t.failed_requests(), t.alerts_published, t.alerts_suppressed),
        (3, 1, 1)
    );
    assert_eq!(
        publisher.sent()[0].attributes.cause,
        "invalid_response_format"
    );
    // Another batch of the same problems, from another stream: both held back.
    let other = sources::encode_event(
        &[PERMISSION, FORMAT].join("\n"),
        "/aws/api/prod",
        "s2",
        "123456789012",
        0,
    );
    handle_event(
        &serde_json::to_vec(&other).unwrap(),
        &flood,
        &services.metrics(&recorder),
    )
    .await
    .unwrap();
    let t = recorder.take();
    assert_eq!(
        (t.failed_requests(), t.alerts_published, t.alerts_suppressed),
        (2, 0, 2)
    );
    assert_eq!(t.diagnosis_unavailable, 0, "diagnosis is off");
    // Without a recorder nothing is counted, and nothing fails for it.
    handle_event(&event(&[PERMISSION]), &config(), &Services::new(&publisher))
        .await
        .unwrap();
    assert_eq!(recorder.take(), Tally::default());
}

/// One failed request on each of `apis` distinct APIs, in a JSON format that logs the API.
fn many_apis(apis: usize, stream: &str) -> (Vec<u8>, Config) {
    let lines: Vec<String> = (0..apis)
            .map(|i| {
                format!(
                    r#"{{"requestId":"r{i}","status":"500","apiId":"{i:010}","authorizerError":"AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."}}"#
                )
            })
            .collect();
    let e = sources::encode_event(
        &lines.join("\n"),
        "/aws/api/prod",
        stream,
        "123456789012",
        0,
    );
    let format = crate::detect::access_log::LogFormat::parse(
            r#"{"requestId":"$context.requestId","status":"$context.status","apiId":"$context.apiId","authorizerError":"$context.authorizer.error"}"#,
        )
        .unwrap();
    (
        serde_json::to_vec(&e).unwrap(),
        Config { format, ..config() },
    )
}

/// The summary's problems and lines, from its machine JSON.
fn summary_totals(alert: &Alert) -> (u64, u64) {
    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
    assert_eq!(machine["type"], "authorizer_configuration_error_overflow");
    (
        machine["problems"].as_u64().unwrap(),
        machine["lines"].as_u64().unwrap(),
    )
}

/// A batch naming 50,000 APIs: grouping stays linear, and one invocation sends MAX_ALERTS
/// alerts and one summary of the rest, both through the handler and as the command line
/// renders a scan.
#[tokio::test]
async fn a_batch_of_many_apis_sends_capped_alerts_and_one_summary() {
    const APIS: usize = 50_000;
    let (event, config) = many_apis(APIS, "s");
    let publisher = MemoryPublisher::new();
    let out = handle_event(&event, &config, &Services::new(&publisher))
        .await
        .unwrap();
    assert_eq!(
        (out.findings, out.summarised),
        (APIS, APIS - render::MAX_ALERTS)
    );
    let sent = publisher.sent();
    assert_eq!(sent.len(), render::MAX_ALERTS + 1);
    assert_eq!(out.message_ids.len(), sent.len());
    let summary = sent.last().unwrap();
    let left = (APIS - render::MAX_ALERTS) as u64;
    assert_eq!(summary_totals(summary), (left, left));
    assert_eq!(summary.attributes.cause, render::OVERFLOW_CAUSE_CODE);
    assert!(summary.publish_bytes() < render::MAX_MESSAGE_BYTES);
    assert!(
        summary
            .email
            .contains(&format!("Left out: {left} problems, {left} lines")),
        "{}",
        summary.email
    );
    // The APIs left out start after those alerted on.
    assert!(
        summary.email.contains("APIs: 0000000025, 0000000026"),
        "{}",
        summary.email
    );
    // The command line's rendering of the same scan.
    let payload = sources::decode_event(&event).unwrap();
    let (scan, alerts) = prepare(&payload.parse_candidates().unwrap(), &config);
    assert_eq!(scan.findings.len(), APIS);
    assert_eq!(alerts.len(), render::MAX_ALERTS + 1);
    assert_eq!(summary_totals(alerts.last().unwrap()), (left, left));
}

/// A Kinesis invocation's records share its alerts: once MAX_ALERTS went out one by one,
/// each later record's problems are in its summary.
#[tokio::test]
async fn kinesis_records_share_the_invocations_alerts() {
    // Each record holds 20 APIs' failures; without flood control each record alerts on its
    // own, so the three would be 60 alerts one by one.
    let (event, config) = many_apis(20, "s");
    let event: serde_json::Value = serde_json::from_slice(&event).unwrap();
    let data = event["awslogs"]["data"].as_str().unwrap();
    let gz = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).unwrap();
    let (first, second, third) = (gz.clone(), gz.clone(), gz);
    let records = [("1", first), ("2", second), ("3", third)];
    let event = serde_json::to_vec(&sources::encode_kinesis(&records)).unwrap();
    let publisher = MemoryPublisher::new();
    let out = handle_kinesis(&event, &config, &Services::new(&publisher))
        .await
        .unwrap();
    assert!(out.batch_item_failures.is_empty());
    let sent = publisher.sent();
    let summaries: Vec<(u64, u64)> = sent
        .iter()
        .filter(|a| a.attributes.cause == render::OVERFLOW_CAUSE_CODE)
        .map(summary_totals)
        .collect();
    // 20 from the first record, 5 from the second and its summary of 15, the third's summary.
    assert_eq!(sent.len(), render::MAX_ALERTS + 2);
    assert_eq!(summaries, [(15, 15), (20, 20)]);
}

/// With flood control, a batch asks about a bounded number of windows: it stops once
/// MAX_ALERTS groups may alert, and the next batch of the same problems reaches further.
#[tokio::test]
async fn flood_control_asks_about_a_bounded_number_of_groups() {
    const APIS: usize = 1_000;
    let windows = crate::alerts::flood::MemoryWindows::default();
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher).windows(&windows);
    let (first, config) = many_apis(APIS, "s1");
    let config = Config {
        state_table: Some("windows".into()),
        ..config
    };
    let out = handle_event(&first, &config, &services).await.unwrap();
    let cap = render::MAX_ALERTS;
    assert_eq!((out.suppressed, out.summarised), (0, APIS - cap));
    assert_eq!(out.message_ids.len(), cap + 1);
    // The same problems again: the first windows are open, the next ones open now.
    let (again, _) = many_apis(APIS, "s2");
    let out = handle_event(&again, &config, &services).await.unwrap();
    assert_eq!((out.suppressed, out.summarised), (cap, APIS - 2 * cap));
    assert_eq!(out.message_ids.len(), cap + 1);
    let sent = publisher.sent();
    let second: Vec<&Alert> = sent[cap + 1..].iter().collect();
    assert!(
        second[0].email.contains("0000000025"),
        "{}",
        second[0].email
    );
    let left = (APIS - 2 * cap) as u64;
    assert_eq!(summary_totals(second[cap]), (left, left));
    // Each batch reaches 25 further, until every window it may ask about is open: then none
    // alerts one by one, and the summary still tells what was left out.
    assert_eq!(
        crate::alerts::flood::DECISIONS_PER_ALERT,
        4,
        "the table assumes it"
    );
    for (stream, suppressed, alerts) in [
        ("s3", 2 * cap, cap),
        ("s4", 3 * cap, cap),
        ("s5", 4 * cap, 0),
        ("s6", 4 * cap, 0),
    ] {
        let (batch, _) = many_apis(APIS, stream);
        let out = handle_event(&batch, &config, &services).await.unwrap();
        assert_eq!(out.suppressed, suppressed, "{stream}");
        assert_eq!(out.message_ids.len(), alerts + 1, "{stream}");
        assert_eq!(out.summarised, APIS - suppressed - alerts, "{stream}");
    }
}

const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:auth-fn";

fn live_api() -> MemoryInspector {
    let mut m = MemoryInspector::default();
    m.apis.insert(
        "a1b2c3".into(),
        ApiConfig {
            api_id: "a1b2c3".into(),
            kind: ApiKind::Http,
            name: None,
            routes: vec![Route {
                route_key: "GET /orders".into(),
                authorization_type: Some("CUSTOM".into()),
                authorizer_id: Some("au1".into()),
            }],
            authorizers: vec![Authorizer {
                id: "au1".into(),
                name: "orders-auth".into(),
                authorizer_type: "REQUEST".into(),
                uri: Some(format!(
                    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"
                )),
                credentials_arn: None,
                simple_responses: true,
                payload_format_version: Some("2.0".into()),
                identity_source: None,
            }],
        },
    );
    m
}

fn diagnosing() -> Config {
    Config {
        diagnose: true,
        api_id: Some("a1b2c3".into()),
        ..config()
    }
}

#[tokio::test]
async fn alerts_carry_the_diagnosis_and_the_exact_command() {
    let publisher = MemoryPublisher::new();
    handle_event(
        &event(&[PERMISSION]),
        &diagnosing(),
        &Services::new(&publisher).inspector(&live_api()),
    )
    .await
    .unwrap();
    let sent = publisher.sent();
    let email = &sent[0].email;
    assert!(
            email.contains("route GET /orders -> authorizer orders-auth (au1) -> function arn:aws:lambda:us-east-1:123456789012:function:auth-fn"),
            "{email}"
        );
    assert!(
        email.contains("PROBLEM: function auth-fn has no resource policy"),
        "{email}"
    );
    assert!(
        email.contains(
            "--source-arn arn:aws:execute-api:us-east-1:123456789012:a1b2c3/authorizers/au1"
        ),
        "{email}"
    );
    let machine: serde_json::Value = serde_json::from_str(&sent[0].machine).unwrap();
    assert_eq!(machine["diagnosis"]["status"], "checked");
    assert_eq!(
        machine["diagnosis"]["authorizers"][0]["authorizer_id"],
        "au1"
    );
    let chat: serde_json::Value = serde_json::from_str(&sent[0].chat).unwrap();
    assert!(
        chat["content"]["nextSteps"]
            .to_string()
            .contains("authorizers/au1")
    );
}

#[tokio::test]
async fn a_failed_lookup_still_alerts() {
    let cases = [
        (
            MemoryInspector {
                failure: Some(InspectError::Denied {
                    call: "apigateway:GetRoutes",
                    reason: "AccessDeniedException".into(),
                }),
                ..MemoryInspector::default()
            },
            "Diagnosis unavailable: apigateway:GetRoutes was refused: AccessDeniedException",
        ),
        (
            MemoryInspector::default(),
            "Diagnosis unavailable: API a1b2c3 was not found in this account and region",
        ),
    ];
    for (inspector, expected) in cases {
        let publisher = MemoryPublisher::new();
        handle_event(
            &event(&[PERMISSION]),
            &diagnosing(),
            &Services::new(&publisher).inspector(&inspector),
        )
        .await
        .unwrap();
        let email = &publisher.sent()[0].email;
        assert!(email.contains(expected), "{email}");
        // The remedy's own command stands in for the exact one.
        assert!(email.contains("aws lambda add-permission"), "{email}");
    }
    // Without an API id there is nothing to look up.
    let publisher = MemoryPublisher::new();
    let config = Config {
        api_id: None,
        ..diagnosing()
    };
    handle_event(
        &event(&[PERMISSION]),
        &config,
        &Services::new(&publisher).inspector(&live_api()),
    )
    .await
    .unwrap();
    assert!(
        publisher.sent()[0]
            .email
            .contains("Diagnosis unavailable: the log lines carry no $context.apiId")
    );
}
