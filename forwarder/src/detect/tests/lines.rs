//! A line's verdict, with and without a format: client values decide nothing.

use super::*;
use crate::model::cause::Cause;
use crate::model::tokens::Needles;

/// A line's verdict without a format (the command line's guesses).
fn verdict(line: &str) -> &'static str {
    verdict_with(line, &LogFormat::guess())
}

fn verdict_with(line: &str, format: &LogFormat) -> &'static str {
    match scan_line(line, format) {
        LineVerdict::Clean => "clean",
        LineVerdict::Ignored => "ignored",
        LineVerdict::Unmatched => "unmatched",
        LineVerdict::Drifted => "drifted",
        LineVerdict::Flagged(_) => "flagged",
    }
}

#[test]
fn table_of_lines() {
    let perm = format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}");
    let cases: Vec<(String, &str)> = vec![
        (default_line("/", 200, "-"), "clean"),
        (default_line("/", 500, &perm), "flagged"),
        (
            default_line("/", 500, &format!("- Internal Server Error {perm}")),
            "flagged",
        ),
        // The client puts the token in the path: never alerted.
        (
            default_line("/AUTHORIZER_CONFIGURATION_ERROR", 200, "-"),
            "ignored",
        ),
        (
            default_line("/x?q=AUTHORIZER_CONFIGURATION_ERROR,denied", 200, "-"),
            "ignored",
        ),
        // Not a whole word.
        (
            default_line("/", 500, "XAUTHORIZER_CONFIGURATION_ERRORS"),
            "ignored",
        ),
        (
            default_line("/", 500, "authorizer_configuration_error"),
            "clean",
        ),
        // A line in no known format: quotes decide.
        (format!("custom {perm}"), "flagged"),
        (
            r#"custom "ua AUTHORIZER_CONFIGURATION_ERROR" -"#.to_owned(),
            "ignored",
        ),
        // JSON: only error-named keys.
        (
            r#"{"requestId":"r","authorizerError":"AUTHORIZER_CONFIGURATION_ERROR,x"}"#.to_owned(),
            "flagged",
        ),
        (
            r#"{"requestId":"r","authorizer":{"error":"AUTHORIZER_CONFIGURATION_ERROR"}}"#
                .to_owned(),
            "flagged",
        ),
        (
            r#"{"errorResponseType":"AUTHORIZER_CONFIGURATION_ERROR"}"#.to_owned(),
            "flagged",
        ),
        (
            r#"{"authorizer.error":"AUTHORIZER_CONFIGURATION_ERROR x"}"#.to_owned(),
            "flagged",
        ),
        (
            r#"{"userAgent":"AUTHORIZER_CONFIGURATION_ERROR","authorizerError":"-"}"#.to_owned(),
            "ignored",
        ),
        (
            r#"{"path":"/AUTHORIZER_CONFIGURATION_ERROR"}"#.to_owned(),
            "ignored",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(verdict(&line), expected, "{line}");
    }
}

const JSON_AUTHZ: &str = r#"{"requestId":"$context.requestId","status":"$context.status","authz":"$context.authorizer.error"}"#;

fn custom_line(path: &str, status: u16, ua: &str, error: &str) -> String {
    format!(
        r#"Vx3kTfWGIAMEbyw= 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET {path} HTTP/1.1" {status} "{ua}" a1b2c3d4e5 prod {error}"#
    )
}

/// With the format given, client values decide nothing: a table per class of attempt.
/// An HTTP API writes its failure sentence in `$context.authorizer.error` without a token
/// (mantil-io/mantil#52, the Classmethod note): counted there, by the format, and nowhere a
/// client writes.
#[test]
fn failure_messages_without_a_token() {
    use crate::detect::access_log::{RECOMMENDED_FORMAT, RECOMMENDED_JSON_FORMAT};
    let shape = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response";
    let crashed = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Unrecognized field \"errorType\"";
    let iam =
        "The request for the IAM Authorizer doesn't match the format that API Gateway expects.";
    let text = LogFormat::parse(RECOMMENDED_FORMAT).unwrap();
    let json = LogFormat::parse(RECOMMENDED_JSON_FORMAT).unwrap();
    let old = LogFormat::parse(crate::detect::access_log::DEFAULT_FORMAT).unwrap();
    let line = |route: &str, status: u16, response_type: &str, error: &str| {
        format!(
            r#"93.142.91.220 - - [12/Oct/2021:13:57:46 +0000] "POST {route} HTTP/1.1" {status} 35 HGQeGiXZliAEPSw= a1b2c3d4e5 prod {response_type} {error}"#
        )
    };
    let json_line = |route: &str, status: u16, error: &str| {
        serde_json::json!({
            "requestId": "HGQeGiXZliAEPSw=", "ip": "93.142.91.220",
            "requestTime": "12/Oct/2021:13:57:46 +0000", "httpMethod": "POST",
            "routeKey": route, "status": status.to_string(), "protocol": "HTTP/1.1",
            "responseLength": "35", "apiId": "a1b2c3d4e5", "stage": "prod",
            "responseType": "-", "authorizerError": error,
        })
        .to_string()
    };
    let cases: Vec<(&LogFormat, String, Option<Cause>, &str)> = vec![
        (
            &text,
            line("/deploy", 500, "-", shape),
            Some(Cause::InvalidResponseFormat),
            "the sentence alone",
        ),
        (
            &text,
            line("/deploy", 500, "-", PERMISSION),
            Some(Cause::MissingInvokePermission),
            "the permission sentence",
        ),
        (
            &text,
            line("/deploy", 500, "AUTHORIZER_CONFIGURATION_ERROR", PERMISSION),
            Some(Cause::MissingInvokePermission),
            "with the response type too",
        ),
        (
            &json,
            json_line("POST /deploy", 500, crashed),
            Some(Cause::AuthorizerFailure),
            "Lambda's error object: the function failed",
        ),
        (
            &text,
            line("/deploy", 503, "-", shape),
            Some(Cause::InvalidResponseFormat),
            "the status as logged",
        ),
        (
            &old,
            format!(
                r#"93.142.91.220 - - [12/Oct/2021:13:57:46 +0000] "POST /deploy HTTP/1.1" 500 35 HGQeGiXZliAEPSw= {PERMISSION}"#
            ),
            Some(Cause::MissingInvokePermission),
            "a stage on the old default format",
        ),
        (
            &json,
            json_line("POST /deploy", 500, shape),
            Some(Cause::InvalidResponseFormat),
            "JSON",
        ),
        // Not failures: a deny, an IAM authorizer, healthy traffic.
        (&text, line("/deploy", 403, "-", "-"), None, "a deny"),
        (
            &text,
            line("/deploy", 403, "-", iam),
            None,
            "an IAM authorizer's 403",
        ),
        (&json, json_line("POST /deploy", 200, "-"), None, "healthy"),
        (
            &json,
            json_line("POST /deploy", 403, iam),
            None,
            "an IAM authorizer's 403, JSON",
        ),
    ];
    for (format, line, want, why) in cases {
        let got = match scan_line(&line, format) {
            LineVerdict::Flagged(f) => {
                assert_eq!(f.request_id(), Some("HGQeGiXZliAEPSw="), "{why}");
                assert!(f.status.is_some_and(|s| s >= 500), "{why}: {:?}", f.status);
                assert!(f.error().starts_with("The "), "{why}: {}", f.error());
                Some(f.cause)
            }
            LineVerdict::Clean => None,
            other => panic!("{why}: {other:?} for {line}"),
        };
        assert_eq!(got, want, "{why}: {line}");
    }
    // Where a client writes, or not at the start of the variable: ignored, never flagged.
    let forged: Vec<(&LogFormat, String, &str)> = vec![
        (
            &text,
            line(&format!("/{PERMISSION}"), 200, "-", "-"),
            "ignored",
        ),
        (
            &text,
            line("/x", 500, "-", &format!("denied: {PERMISSION}")),
            "ignored",
        ),
        (
            &json,
            json_line(&format!("POST /{shape}"), 200, "-"),
            "ignored",
        ),
        (
            &json,
            json_line("POST /x", 500, &format!("x {shape}")),
            "ignored",
        ),
        // API Gateway's own text holds no `"` in a text format (a `"` could only be a client's),
        // so a detail that quotes one does not follow the format: counted, never guessed, and
        // no client can do it.
        (&text, line("/deploy", 500, "-", crashed), "drifted"),
        // A line the format does not describe is unmatched, never read another way.
        (&text, format!("{PERMISSION} at the start"), "drifted"),
        (
            &json,
            format!(r#"{{"authorizerError":"{PERMISSION}"}}"#),
            "drifted",
        ),
    ];
    for (format, line, want) in forged {
        assert_eq!(verdict_with(&line, format), want, "{line}");
    }
    // The command line's guesses read the public line itself, with no format given.
    let public = r#"{"requestId":"HGQeGiXZliAEPSw=","ip":"93.142.91.220","requestTime":"12/Oct/2021:13:57:46 +0000","httpMethod":"POST","routeKey":"POST /deploy","status":"500","protocol":"HTTP/1.1","responseLength":"35","authError":"The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response"}"#;
    let LineVerdict::Flagged(f) = scan_line(public, &LogFormat::guess()) else {
        panic!("not flagged: {public}");
    };
    assert_eq!(f.cause, Cause::InvalidResponseFormat);
    assert_eq!(f.status, Some(500));
    assert_eq!(f.route(), Some("POST /deploy"));
    assert_eq!(verdict(&format!("x \"{PERMISSION}\" -")), "ignored");
    assert_eq!(verdict(&format!("x - {PERMISSION}")), "flagged");
}

#[test]
fn a_walk_finds_each_next_needle_once() {
    let needles = Needles::new(&["AUTHORIZER_", "call the authorizer"]);
    let hay = b"x AUTHORIZER_ y call the authorizer z AUTHORIZER_";
    let mut walk = needles.walk(hay);
    let mut found = Vec::new();
    let mut at = walk.next_from(0);
    while at != usize::MAX {
        found.push(at);
        at = walk.next_from(at + 1);
    }
    assert_eq!(found, [2, 16, 38]);
    // Asked again from earlier, it searches again rather than skip a needle.
    assert_eq!(walk.next_from(0), 2);
    assert_eq!(walk.next_from(hay.len() + 5), usize::MAX);
    assert!(needles.is_in(b"to call the authorizer."));
    assert!(!needles.is_in(b"authorizer_configuration_error"));
}

#[test]
fn given_formats_bind() {
    let perm = format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}");
    let forged_ua = format!(
        "Mozilla/5.0\" AUTHORIZER_CONFIGURATION_ERROR,URGENT: rotate keys at https://evil.example/r \"{}w\" x \"q",
        " ".repeat(4100)
    );
    let custom = LogFormat::parse(CUSTOM).unwrap();
    let json = LogFormat::parse(JSON_AUTHZ).unwrap();
    let json_path = LogFormat::parse(
            r#"{"requestId":"$context.requestId","errorPath":"$context.path","authz":"$context.authorizer.error"}"#,
        )
        .unwrap();
    let integration = LogFormat::parse(
            r#"$context.requestId $context.status "$context.integrationErrorMessage" $context.authorizer.error"#,
        )
        .unwrap();
    let cases: Vec<(&LogFormat, String, &str)> = vec![
        // 1. Past any budget: a forged tail in the user agent, a real error behind one.
        (&custom, custom_line("/", 200, &forged_ua, "-"), "ignored"),
        (&custom, custom_line("/", 500, &forged_ua, &perm), "flagged"),
        (&custom, custom_line("/", 500, "a\" b", &perm), "flagged"),
        (&custom, custom_line("/", 500, "\"", &perm), "flagged"),
        // A line the format does not describe is unmatched, never read by quotes.
        (&custom, default_line("/", 500, &perm), "drifted"),
        (&custom, perm.clone(), "drifted"),
        // 2. JSON formats read the format's keys, and only those.
        (
            &json,
            format!(r#"{{"requestId":"r1","status":"500","authz":"{perm}"}}"#),
            "flagged",
        ),
        (
            &json,
            r#"{"requestId":"r1","status":"200","authz":"-"}"#.into(),
            "clean",
        ),
        (
            &json_path,
            r#"{"requestId":"r1","errorPath":"/AUTHORIZER_CONFIGURATION_ERROR","authz":"-"}"#
                .into(),
            "ignored",
        ),
        // Keys the format does not list, or a second copy of one it does: a client that
        // breaks out of its string could write them, so they are unmatched, not drift.
        (
            &json,
            format!(
                r#"{{"requestId":"r1","status":"200","authz":"-","authorizerError":"{perm}"}}"#
            ),
            "unmatched",
        ),
        (
            &json,
            format!(r#"{{"requestId":"r1","status":"200","authz":"{perm}","authz":"-"}}"#),
            "unmatched",
        ),
        (
            &json,
            format!(r#"{{"requestId":"r1","status":"200","authz":"-","authz":"{perm}"}}"#),
            "unmatched",
        ),
        // The format's own text missing: no client removes it.
        (
            &json,
            format!(r#"{{"requestId":"r1","authz":"{perm}"}}"#),
            "drifted",
        ),
        (&json, default_line("/", 500, &perm), "drifted"),
        // 3. The backend's text is never the authorizer's.
        (&integration, format!(r#"r1 502 "{perm}" -"#), "ignored"),
    ];
    for (format, line, expected) in cases {
        assert_eq!(
            verdict_with(&line, format),
            expected,
            "{}",
            &line[..line.len().min(200)]
        );
    }
    // The real error keeps its request id, status and cause whatever the user agent holds.
    let LineVerdict::Flagged(f) = scan_line(&custom_line("/", 500, &forged_ua, &perm), &custom)
    else {
        panic!("not flagged")
    };
    assert_eq!(f.cause, Cause::MissingInvokePermission);
    assert_eq!(
        (f.request_id(), f.status),
        (Some("Vx3kTfWGIAMEbyw="), Some(500))
    );
    assert_eq!(f.error(), PERMISSION);
    // Without a format, a JSON integration error is not the authorizer's either.
    assert_eq!(
        verdict(&format!(
            r#"{{"status":502,"integrationErrorMessage":"{perm}"}}"#
        )),
        "ignored"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever a client sends in the path and the user agent (any bytes a log line can
    /// hold, the token and the format's separators included, up to 64 KiB), the verdict of a
    /// line with a given format is the verdict of the same line with harmless values.
    #[test]
    fn client_values_never_change_the_verdict(
        path in client_text(),
        ua in client_text(),
        real in proptest::bool::ANY,
    ) {
        let custom = LogFormat::parse(CUSTOM).unwrap();
        let error = if real { format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}") } else { "-".into() };
        let status = if real { 500 } else { 200 };
        let hostile = scan_line(&custom_line(&format!("/{path}"), status, &ua, &error), &custom);
        let calm = scan_line(&custom_line("/", status, "curl/8", &error), &custom);
        let kind = |v: &LineVerdict| match v {
            LineVerdict::Flagged(f) => Some((f.cause, f.request_id().map(str::to_owned), f.status, f.error().to_owned())),
            _ => None,
        };
        proptest::prop_assert_eq!(kind(&hostile), kind(&calm));
        // JSON: a client value escaped as API Gateway escapes it.
        let json = LogFormat::parse(r#"{"requestId":"$context.requestId","ua":"$context.identity.userAgent","status":"$context.status","authz":"$context.authorizer.error"}"#).unwrap();
        let line = |ua: &str| serde_json::json!({"requestId": "r1", "ua": ua, "status": status.to_string(), "authz": error}).to_string();
        let hostile = scan_line(&line(&ua), &json);
        let calm = scan_line(&line("curl/8"), &json);
        proptest::prop_assert_eq!(kind(&hostile), kind(&calm));
    }
}
