//! Unit tests of `detect`, beside it so its source stays readable.

use super::*;
use crate::model::finding::MAX_RFC3339_MILLIS;
use crate::model::tokens::Needles;

const PERMISSION: &str = "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";

fn default_line(path: &str, status: u16, error: &str) -> String {
    format!(
        r#"203.0.113.9 - - [10/Oct/2023:01:01:01 +0000] "GET {path} HTTP/1.1" {status} 35 req-1= {error}"#
    )
}

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

const CUSTOM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../samplelogs/custom-format.fmt"
));
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

/// A line of `samplelogs/json-format.fmt` with client values written in raw, as an API Gateway
/// that escaped nothing would write them.
fn raw_json_line(id: &str, method: &str, path: &str, ua: &str, error: &str) -> String {
    format!(
        r#"{{"requestId":"{id}","ip":"203.0.113.7","requestTime":"20/Nov/2026:09:14:03 +0000","httpMethod":"{method}","routeKey":"GET /orders","path":"{path}","status":"500","protocol":"HTTP/1.1","responseLength":"35","userAgent":"{ua}","apiId":"a1b2c3d4e5","stage":"prod","authorizerError":"{error}"}}"#
    )
}

const JSON_SAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../samplelogs/json-format.fmt"
));

/// Drift rests on lines no client can make. A client's broken lines are unmatched, never drift,
/// however many there are; lines without the format's layout are drift, and a client's lines
/// can neither raise it nor hide it.
#[test]
fn only_lines_no_client_can_make_say_the_format_drifted() {
    let json = LogFormat::parse(JSON_SAMPLE).unwrap();
    let custom = LogFormat::parse(CUSTOM).unwrap();
    let default = LogFormat::default();
    let perm = format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}");
    let real = raw_json_line("Wk1aBjQ2IAMEb2A=", "GET", "/orders", "curl/8", &perm);
    let quoted_ua = raw_json_line("Wk1aBjQ2IAMEb2B=", "GET", "/", "Mozilla\" x", &perm);
    let forged = raw_json_line(
        "Wk1aBjQ2IAMEb2C=",
        "GET",
        "/",
        &format!("x\",\"authorizerError\":\"{perm}"),
        "-",
    );
    let appended = format!("{} \"curl/8.5.0\"", default_line("/", 500, &perm));
    /// What, the format, the lines, (findings, unmatched, drifted), and drift.
    type Case<'f> = (
        &'static str,
        &'f LogFormat,
        Vec<String>,
        (usize, usize, usize),
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "a user agent with a quote breaks the batch's only token line",
            &json,
            vec![quoted_ua.clone()],
            (0, 1, 0),
            false,
        ),
        (
            "a forged key after a quote",
            &json,
            vec![forged.clone(), forged.clone()],
            (0, 2, 0),
            false,
        ),
        (
            "a REST client's own request id, and a method of its own",
            &custom,
            vec![
                format!(
                    r#"my "id 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET / HTTP/1.1" 500 "ua" a1b2c3d4e5 prod {perm}"#
                ),
                format!(
                    r#"r1 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "get / HTTP/1.1" 500 "ua" a1b2c3d4e5 prod {perm}"#
                ),
            ],
            (0, 2, 0),
            false,
        ),
        (
            "the stage appended a value after the error",
            &default,
            vec![appended.clone(), appended.clone(), appended.clone()],
            (0, 3, 3),
            true,
        ),
        (
            "text lines read with a JSON format, beside a client's broken lines",
            &json,
            vec![
                default_line("/", 500, &perm),
                default_line("/", 500, &perm),
                quoted_ua.clone(),
                quoted_ua.clone(),
                quoted_ua.clone(),
                quoted_ua.clone(),
                quoted_ua.clone(),
            ],
            (0, 7, 2),
            true,
        ),
        (
            "one line in another format beside real findings",
            &json,
            vec![default_line("/", 500, &perm), real.clone(), real.clone()],
            (2, 1, 1),
            false,
        ),
        (
            "no access-log line is over 1 MiB",
            &json,
            vec![format!("{perm} {}", "x".repeat(MAX_LINE_BYTES))],
            (0, 1, 1),
            true,
        ),
    ];
    for (what, format, lines, counts, drift) in cases {
        let scan = scan_text(&lines.join("\n"), format);
        assert_eq!(
            (scan.findings.len(), scan.unmatched, scan.drifted),
            counts,
            "{what}"
        );
        assert_eq!(scan.format_drift(), drift, "{what}");
    }
    // A batch's drifted line is the sample the drift alert shows, whatever came first.
    let mut first = scan_text(&quoted_ua, &json);
    first.merge(scan_text(&default_line("/", 500, &perm), &json));
    assert_eq!((first.unmatched, first.drifted), (2, 1));
    assert_eq!(first.unmatched_sample, Some(default_line("/", 500, &perm)));
    let both = scan_text(
        &[quoted_ua.clone(), default_line("/", 500, &perm)].join("\n"),
        &json,
    );
    assert_eq!(both.unmatched_sample, first.unmatched_sample);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever a client writes where it can (its request id on a REST API, its method, path
    /// and user agent), written into the line raw, its line never counts as drift.
    #[test]
    fn no_client_value_makes_a_line_drift(
        id in client_text(),
        method in client_text(),
        path in client_text(),
        ua in client_text(),
        real in proptest::bool::ANY,
    ) {
        let error = if real { format!("AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION}") } else { "-".into() };
        let json = LogFormat::parse(JSON_SAMPLE).unwrap();
        let custom = LogFormat::parse(CUSTOM).unwrap();
        let text = format!(
            r#"{id} 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "{method} {path} HTTP/1.1" 500 "{ua}" a1b2c3d4e5 prod {error}"#
        );
        for (format, line) in [(&json, raw_json_line(&id, &method, &path, &ua, &error)), (&custom, text)] {
            proptest::prop_assume!(line.len() <= MAX_LINE_BYTES);
            proptest::prop_assert_ne!(scan_line(&line, format), LineVerdict::Drifted, "{}", &line[..line.len().min(300)]);
        }
    }
}

/// Text a client can put in a log line: mostly the format's own separators and the token.
fn client_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let piece = prop_oneof![
        Just("\"".to_owned()),
        Just(" ".to_owned()),
        Just("\" ".to_owned()),
        Just(" \"".to_owned()),
        Just("AUTHORIZER_CONFIGURATION_ERROR".to_owned()),
        Just(",".to_owned()),
        Just("500".to_owned()),
        Just(" a1b2c3d4e5 prod ".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        "[ -~]{0,8}",
        "\\PC{0,4}",
        (1usize..65_536).prop_map(|n| " ".repeat(n)),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

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

/// REST and WebSocket access logs: the token is the gateway response type, the reason (if
/// any) another error variable; a customised status hides nothing, and a client's copy of
/// either token counts for nothing.
#[test]
fn rest_and_websocket_access_lines() {
    let text = LogFormat::parse(
            r#"$context.requestId [$context.requestTime] "$context.httpMethod $context.resourcePath" $context.status "$context.identity.userAgent" $context.apiId $context.stage $context.error.responseType $context.authorizer.error"#,
        )
        .unwrap();
    let line = |path: &str, status: u16, ua: &str, rest: &str| {
        format!(
            r#"r-1 [10/Oct/2023:01:01:01 +0000] "GET {path}" {status} "{ua}" a1b2c3d4e5 prod {rest}"#
        )
    };
    let json = LogFormat::parse(
            r#"{"requestId":"$context.requestId","status":"$context.status","path":"$context.path","responseType":"$context.error.responseType","authorizerError":"$context.authorizer.error","authorizeError":"$context.authorize.error","message":"$context.error.message","apiId":"$context.apiId"}"#,
        )
        .unwrap();
    let json_line = |path: &str, status: u16, rt: &str, ae: &str, msg: &str| {
        serde_json::json!({"requestId": "r-2", "status": status.to_string(), "path": path,
                "responseType": rt, "authorizerError": ae, "authorizeError": "-",
                "message": msg, "apiId": "a1b2c3d4e5"})
        .to_string()
    };
    let cases: Vec<(String, &LogFormat, Option<Cause>)> = vec![
        (line("/pets", 200, "curl", "- -"), &text, None),
        (
            line("/pets", 500, "curl", "AUTHORIZER_CONFIGURATION_ERROR -"),
            &text,
            Some(Cause::Unknown),
        ),
        (
            line(
                "/pets",
                500,
                "curl",
                "AUTHORIZER_CONFIGURATION_ERROR Invalid permissions on Lambda function",
            ),
            &text,
            Some(Cause::MissingInvokePermission),
        ),
        (
            line("/pets", 500, "curl", "AUTHORIZER_FAILURE -"),
            &text,
            Some(Cause::AuthorizerFailure),
        ),
        // A gateway response customised to 403 still says what broke.
        (
            line("/pets", 403, "curl", "AUTHORIZER_FAILURE -"),
            &text,
            Some(Cause::AuthorizerFailure),
        ),
        (
            line("/pets", 503, "curl", "AUTHORIZER_CONFIGURATION_ERROR -"),
            &text,
            Some(Cause::Unknown),
        ),
        (
            line(
                "/AUTHORIZER_FAILURE",
                401,
                "AUTHORIZER_FAILURE",
                "UNAUTHORIZED -",
            ),
            &text,
            None,
        ),
        (
            json_line("/pets", 500, "AUTHORIZER_FAILURE", "-", "null"),
            &json,
            Some(Cause::AuthorizerFailure),
        ),
        (
            json_line(
                "/pets",
                500,
                "AUTHORIZER_CONFIGURATION_ERROR",
                "Could not parse policy",
                "null",
            ),
            &json,
            Some(Cause::InvalidResponseFormat),
        ),
        (
            json_line(
                "/AUTHORIZER_FAILURE",
                403,
                "ACCESS_DENIED",
                "-",
                "Forbidden",
            ),
            &json,
            None,
        ),
        // WebSocket `$connect`: the same variables.
        (
            json_line(
                "-",
                500,
                "AUTHORIZER_CONFIGURATION_ERROR",
                "-",
                "Internal server error",
            ),
            &json,
            Some(Cause::Unknown),
        ),
    ];
    for (line, format, want) in cases {
        let got = match scan_line(&line, format) {
            LineVerdict::Flagged(f) => Some(f.cause),
            LineVerdict::Clean | LineVerdict::Ignored => None,
            LineVerdict::Unmatched | LineVerdict::Drifted => panic!("unmatched: {line}"),
        };
        assert_eq!(got, want, "{line}");
    }
    let LineVerdict::Flagged(f) = scan_line(
        &json_line("/pets", 500, "AUTHORIZER_FAILURE", "-", "null"),
        &json,
    ) else {
        panic!("not flagged")
    };
    assert_eq!(
        (f.request_id(), f.api_id(), f.status),
        (Some("r-2"), Some("a1b2c3d4e5"), Some(500))
    );
    // The token alone is what API Gateway wrote, and what the alert shows.
    assert_eq!(f.error(), FAILURE_TOKEN);
    // A quoted message that says nothing is no reason either.
    let quoted = LogFormat::parse(
            r#"$context.requestId $context.status $context.error.responseType $context.error.messageString"#,
        )
        .unwrap();
    let LineVerdict::Flagged(f) = scan_line(
        r#"r-3 500 AUTHORIZER_CONFIGURATION_ERROR "Internal server error""#,
        &quoted,
    ) else {
        panic!("not flagged")
    };
    assert_eq!((f.cause, f.error()), (Cause::Unknown, TOKEN));
}

/// An execution-log batch is read as one by its group's name, through the compact walk, and
/// an access-log group's batch holding the same words alerts on nothing.
#[test]
fn execution_log_batches_are_told_by_their_group() {
    use base64::Engine;
    use std::io::Write;
    let id = "6f1c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f";
    let payload = |group: &str| {
        serde_json::json!({
                "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
                "logStream": "s", "subscriptionFilters": ["f"],
                "logEvents": [
                    {"id": "1", "timestamp": 1_700_000_000_000_i64,
                     "message": format!("({id}) Execution failed due to configuration error: Invalid permissions on Lambda function")},
                    {"id": "2", "timestamp": 1_700_000_000_001_i64,
                     "message": format!("({id}) AuthorizerConfigurationException")},
                    {"id": "3", "timestamp": 1_700_000_000_002_i64,
                     "message": format!("({id}) Method completed with status: 500")},
                ]
            })
            .to_string()
    };
    let event = |group: &str| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(payload(group).as_bytes()).unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        serde_json::json!({"awslogs": {"data": data}}).to_string()
    };
    let scan_of = |group: &str| {
        let payload = crate::sources::decode_event(event(group).as_bytes()).unwrap();
        let batch = payload.parse_candidates().unwrap();
        scan_batch(&batch, &LogFormat::guess())
    };
    let scan = scan_of("API-Gateway-Execution-Logs_a1b2c3d4e5/prod");
    assert_eq!(scan.lines, 3);
    assert_eq!(scan.findings.len(), 1, "{:?}", scan.findings);
    let f = &scan.findings[0];
    assert_eq!(f.cause, Cause::MissingInvokePermission);
    assert_eq!(
        (
            f.request_id(),
            f.api_id(),
            f.stage(),
            f.event_id(),
            f.account_id()
        ),
        (
            Some(id),
            Some("a1b2c3d4e5"),
            Some("prod"),
            Some("1"),
            Some("123456789012")
        )
    );
    assert_eq!(f.time(), Some("2023-11-14T22:13:20.000Z"));
    assert_eq!(
        f.log_group.as_deref(),
        Some("API-Gateway-Execution-Logs_a1b2c3d4e5/prod")
    );
    let access = scan_of("/aws/vendedlogs/apigateway/orders");
    assert!(access.findings.is_empty(), "{:?}", access.findings);
}
