//! The accounting promise: in every input kind `scan` reads, and in the Lambda, every line that
//! carries a token or one of API Gateway's failure messages ends up flagged, ignored or unmatched,
//! never clean, and the command line and the function agree on each batch.
//!
//! Lines are generated as API Gateway writes them, client values unescaped (a client's `"` can
//! break a JSON line's quoting), with the tokens and messages anywhere: in the error variable, a
//! path, a user agent, or pieces of them. Each batch is given to `scan` in every shape an operator
//! may hold it in (plain lines, a subscription event, a decoded payload, a Kinesis event, an SQS
//! event, an SNS notification, a destination record, `aws logs filter-log-events` and
//! `get-log-events` output, gzipped) and to the function's handler as a subscription event.

use std::io::Write;

use forwarder::alerts::publish::MemoryPublisher;
use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder::forward::{Services, handle_event};
use forwarder_tests::forwarder;
use proptest::prelude::*;
use serde_json::{Value, json};

const JSON_FORMAT: &str = r#"{"requestId":"$context.requestId","path":"$context.path","ua":"$context.identity.userAgent","status":"$context.status","authz":"$context.authorizer.error"}"#;
const TEXT_FORMAT: &str = r#"$context.requestId "$context.path" "$context.identity.userAgent" $context.status $context.authorizer.error"#;

const PERMISSION: &str = "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
const RESPONSE: &str = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response";

/// What a line carries that must be accounted for: a token's or a message's text anywhere.
fn carries_a_needle(line: &str) -> bool {
    line.contains("AUTHORIZER_")
        || line.contains("permissions to call the authorizer")
        || line.contains("Lambda Authorizer function doesn't match")
}

/// Client text: what a path or user agent may hold, tokens, messages and quotes included.
fn client() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            "x",
            "/pets",
            "\"",
            "\\",
            ",",
            " ",
            "}",
            "{",
            ":",
            "AUTHORIZER_CONFIGURATION_ERROR",
            "AUTHORIZER_FAILURE",
            "AUTHORIZER_",
            PERMISSION,
            RESPONSE,
        ]),
        0..6,
    )
    .prop_map(|pieces| pieces.concat())
}

/// What API Gateway writes in `$context.authorizer.error`.
fn error_value() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "-".to_owned(),
        format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}"),
        PERMISSION.to_owned(),
        RESPONSE.to_owned(),
        "AUTHORIZER_FAILURE".to_owned(),
    ])
}

#[derive(Clone, Debug)]
struct Request {
    path: String,
    ua: String,
    status: u16,
    error: String,
}

fn request() -> impl Strategy<Value = Request> {
    (
        client(),
        client(),
        proptest::sample::select(vec![200u16, 403, 500, 503]),
        error_value(),
    )
        .prop_map(|(path, ua, status, error)| Request {
            path,
            ua,
            status,
            error,
        })
}

fn line(format: &str, i: usize, r: &Request) -> String {
    let id = format!("Req{i:012}=");
    if format == JSON_FORMAT {
        format!(
            r#"{{"requestId":"{id}","path":"{}","ua":"{}","status":"{}","authz":"{}"}}"#,
            r.path, r.ua, r.status, r.error
        )
    } else {
        format!(r#"{id} "{}" "{}" {} {}"#, r.path, r.ua, r.status, r.error)
    }
}

const GROUP: &str = "/aws/vendedlogs/apigateway/orders-api/prod";

fn payload(lines: &[String]) -> Value {
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"id": format!("{i:056}"), "timestamp": 1_795_172_401_000_i64 + i as i64, "message": m}))
        .collect();
    json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": GROUP,
        "logStream": "$default", "subscriptionFilters": ["f"], "logEvents": events})
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The batch in every shape `scan` reads, by name.
fn inputs(lines: &[String]) -> Vec<(&'static str, Vec<u8>)> {
    let payload = payload(lines);
    let data = b64(&gzip(payload.to_string().as_bytes()));
    let event = json!({"awslogs": {"data": data}});
    let output_events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"logStreamName": "$default", "timestamp": 1_795_172_401_000_i64 + i as i64, "message": m, "ingestionTime": 1_795_172_402_000_i64, "eventId": format!("{i:056}")}))
        .collect();
    vec![
        ("lines", lines.join("\n").into_bytes()),
        ("lines.gz", gzip(lines.join("\n").as_bytes())),
        ("event", event.to_string().into_bytes()),
        ("payload", payload.to_string().into_bytes()),
        (
            "kinesis",
            json!({"Records": [{"kinesis": {"sequenceNumber": "1", "data": data}, "eventSource": "aws:kinesis"}]})
                .to_string()
                .into_bytes(),
        ),
        (
            "sqs",
            json!({"Records": [{"messageId": "q", "body": event.to_string(), "eventSource": "aws:sqs"}]})
                .to_string()
                .into_bytes(),
        ),
        (
            "sns",
            json!({"Type": "Notification", "MessageId": "m", "Message": event.to_string()})
                .to_string()
                .into_bytes(),
        ),
        (
            "destination",
            json!({"version": "1.0", "requestPayload": event, "responsePayload": null})
                .to_string()
                .into_bytes(),
        ),
        (
            "filter-log-events",
            json!({"events": output_events, "searchedLogStreams": []})
                .to_string()
                .into_bytes(),
        ),
        (
            "get-log-events",
            json!({"events": output_events, "nextForwardToken": "f", "nextBackwardToken": "b"})
                .to_string()
                .into_bytes(),
        ),
    ]
}

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    flagged: u64,
    ignored: u64,
    unmatched: u64,
}

/// The function's counts for the batch as a subscription event.
fn lambda(format: &str, lines: &[String]) -> Counts {
    let event = json!({"awslogs": {"data": b64(&gzip(payload(lines).to_string().as_bytes()))}});
    let config = Config {
        topic: Some("arn:aws:sns:eu-west-1:123456789012:alerts".parse().unwrap()),
        format: LogFormat::parse(format).unwrap(),
        ..Config::default()
    };
    let publisher = MemoryPublisher::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = runtime
        .block_on(handle_event(
            &serde_json::to_vec(&event).unwrap(),
            &config,
            &Services::new(&publisher),
        ))
        .unwrap();
    Counts {
        flagged: out.findings as u64,
        ignored: out.ignored as u64,
        unmatched: out.unmatched as u64,
    }
}

fn check(format: &str, requests: &[Request]) -> Result<(), TestCaseError> {
    let lines: Vec<String> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| line(format, i, r))
        .collect();
    let carrying = lines.iter().filter(|l| carries_a_needle(l)).count() as u64;
    static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("accounting-{}-{case}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for (name, bytes) in inputs(&lines) {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        paths.push(path.to_str().unwrap().to_owned());
    }
    let mut args = vec!["scan", "--json", "--format", format];
    args.extend(paths.iter().map(String::as_str));
    let run = forwarder(&args, None, &[]);
    prop_assert!(run.code == 0 || run.code == 1, "{run:?}");
    let stats: Vec<Value> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("stats").is_some())
        .collect();
    prop_assert_eq!(stats.len(), paths.len(), "{:?}", run);
    let lambda = lambda(format, &lines);
    prop_assert_eq!(
        lambda.flagged + lambda.ignored + lambda.unmatched,
        carrying,
        "the function: {:?} for {:#?}",
        lambda,
        lines
    );
    for s in &stats {
        let n = |k: &str| s["stats"][k].as_u64().unwrap();
        let got = Counts {
            flagged: n("flagged"),
            ignored: n("ignored"),
            unmatched: n("unmatched"),
        };
        prop_assert_eq!(n("lines"), lines.len() as u64, "{}", s);
        prop_assert_eq!(
            &got,
            &lambda,
            "{} against the function, for {:#?}",
            s,
            lines
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_line_with_a_token_is_accounted_for_in_every_input_kind_json(
        requests in proptest::collection::vec(request(), 1..12)
    ) {
        check(JSON_FORMAT, &requests)?;
    }

    #[test]
    fn every_line_with_a_token_is_accounted_for_in_every_input_kind_text(
        requests in proptest::collection::vec(request(), 1..12)
    ) {
        check(TEXT_FORMAT, &requests)?;
    }
}
