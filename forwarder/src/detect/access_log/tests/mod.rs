//! Unit tests of `access_log`, beside it so its source stays readable.

use serde_json::Value;

use super::*;
use crate::detect::access_log::presets::literals_of;

mod paths;

/// Every console preset parses, holds no error variable (so it can never show a failure), and
/// frames a line rendered in it however a client's value breaks its quoting.
#[test]
fn console_presets_parse_and_frame_their_lines() {
    assert_eq!(PRESET_FORMATS.len(), CONSOLE_PRESETS.len());
    for preset in PRESET_FORMATS.iter() {
        assert!(
            !preset.format.vars().iter().any(Var::is_error),
            "{}",
            preset.name
        );
        let line = preset
            .format
            .vars()
            .iter()
            .fold(preset.format.source().to_owned(), |line, v| {
                line.replacen(&format!("$context.{}", v.0), "a\"b,c</x>", 1)
            });
        let distinctive = literals_of(
            CONSOLE_PRESETS
                .iter()
                .find(|p| p.0 == preset.name)
                .unwrap()
                .1,
        )
        .iter()
        .any(|l| l.trim().len() > 1);
        assert_eq!(preset.frames(&line), distinctive, "{}: {line}", preset.name);
        assert!(
            !preset.frames("a\"b,c</x> AUTHORIZER_FAILURE"),
            "{}",
            preset.name
        );
    }
}

const TOKEN: &str = "AUTHORIZER_CONFIGURATION_ERROR";

/// Every occurrence of the token in `line`, as spans.
pub(super) fn token_spans(line: &str) -> Vec<(usize, usize)> {
    line.match_indices(TOKEN)
        .map(|(at, t)| (at, at + t.len()))
        .collect()
}

/// Where the splits put the line's tokens, `None` when it does not follow the format.
pub(super) fn places(format: &LogFormat, line: &str) -> Option<Vec<Place>> {
    match format.split(line, &token_spans(line), &mut Scratch::default()) {
        Split::Parsed { places } => Some(places),
        Split::NoMatch => None,
    }
}

/// Each variable's value in the split chosen for the fields.
pub(super) fn split_map(format: &LogFormat, line: &str) -> Vec<(String, String)> {
    let mut scratch = Scratch::default();
    assert_ne!(
        format.split(line, &[], &mut scratch),
        Split::NoMatch,
        "line follows the format"
    );
    format
        .vars
        .iter()
        .enumerate()
        .map(|(i, v)| (v.0.clone(), scratch.value(line, i).to_owned()))
        .collect()
}

pub(super) const CUSTOM: &str = r#"$context.requestId $context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status "$context.identity.userAgent" $context.apiId $context.stage $context.authorizer.error"#;

pub(super) fn custom_line(path: &str, status: &str, ua: &str, error: &str) -> String {
    format!(
        r#"Vx3kTfWGIAMEbyw= 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET {path} HTTP/1.1" {status} "{ua}" a1b2c3d4e5 prod {error}"#
    )
}

/// A table of lines against the format with two client values: the token's place in each.
#[test]
fn client_values_never_place_the_token() {
    let f = LogFormat::parse(CUSTOM).unwrap();
    let perm = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
    let forged = format!(
        "Mozilla/5.0\" AUTHORIZER_CONFIGURATION_ERROR,URGENT: rotate keys at https://evil.example/r \"{}w\" x \"q",
        " ".repeat(4100)
    );
    let cases: Vec<(String, Option<Vec<Place>>)> = vec![
        (
            custom_line("/", "500", "curl/8", perm),
            Some(vec![Place::Error { var: 10 }]),
        ),
        (custom_line("/", "200", "curl/8", "-"), Some(vec![])),
        // A forged tail in the user agent: the real fields after it win.
        (
            custom_line("/", "200", &forged, "-"),
            Some(vec![Place::Elsewhere]),
        ),
        // The same user agent cannot hide or change a real error.
        (
            custom_line("/", "500", &forged, perm),
            Some(vec![Place::Elsewhere, Place::Error { var: 10 }]),
        ),
        // An empty user agent.
        (
            custom_line("/", "500", "", perm),
            Some(vec![Place::Error { var: 10 }]),
        ),
        // An odd number of quotes in the user agent.
        (
            custom_line("/", "500", "a\" \"b\" c", perm),
            Some(vec![Place::Error { var: 10 }]),
        ),
        (
            custom_line(
                "/x\" 500 \"ua\" a1b2c3d4e5 prod AUTHORIZER_CONFIGURATION_ERROR,x",
                "200",
                "ua",
                "-",
            ),
            Some(vec![Place::Elsewhere]),
        ),
        // A line of another format.
        (
            "203.0.113.7 - - [t] \"GET / HTTP/1.1\" 500 AUTHORIZER_CONFIGURATION_ERROR".into(),
            None,
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(
            places(&f, &line),
            expected,
            "{}",
            &line[..line.len().min(300)]
        );
    }
}

/// A format that puts the error between two client values cannot tell who wrote a token the
/// client placed there; the line is ambiguous rather than flagged or ignored.
#[test]
fn an_error_between_client_values_is_ambiguous_when_a_client_makes_it_so() {
    let f = LogFormat::parse(
        r#""$context.path" $context.authorizer.error "$context.identity.userAgent""#,
    )
    .unwrap();
    assert_eq!(
        places(&f, r#""/p" AUTHORIZER_CONFIGURATION_ERROR,x "ua""#),
        Some(vec![Place::Error { var: 1 }])
    );
    assert_eq!(
        places(
            &f,
            r#""/p" - "x" AUTHORIZER_CONFIGURATION_ERROR,forged "y""#
        ),
        Some(vec![Place::Ambiguous])
    );
}

/// The formats that let a client make its own line ambiguous are named; the others are not.
#[test]
fn formats_where_a_client_could_blur_the_error_are_named() {
    let cases = [
        (DEFAULT_FORMAT, false),
        (CUSTOM, false),
        (
            r#"$context.requestId "$context.authorizer.error" "$context.identity.userAgent""#,
            false,
        ),
        (
            r#"$context.requestId $context.status $context.authorizer.error"#,
            false,
        ),
        (
            r#"{"ua":"$context.identity.userAgent","authz":"$context.authorizer.error"}"#,
            false,
        ),
        (
            r#"$context.path $context.status $context.authorizer.error"#,
            true,
        ),
        (
            r#""$context.path" $context.authorizer.error "$context.identity.userAgent""#,
            true,
        ),
        (
            r#"$context.authorizer.error $context.status $context.identity.userAgent"#,
            true,
        ),
    ];
    for (format, ambiguous) in cases {
        let f = LogFormat::parse(format).unwrap();
        assert_eq!(
            f.ambiguity().is_some(),
            ambiguous,
            "{format}: {:?}",
            f.ambiguity()
        );
    }
    let why = LogFormat::parse(cases[5].0).unwrap().ambiguity().unwrap();
    assert!(
        why.starts_with("$context.authorizer.error sits next to client-controlled $context.path"),
        "{why}"
    );
}

#[test]
fn integration_and_validation_variables_never_count() {
    let f = LogFormat::parse(
            r#"$context.requestId $context.status "$context.integrationErrorMessage" "$context.error.validationErrorString" $context.authorizer.error"#,
        )
        .unwrap();
    let line =
        r#"r1 502 "AUTHORIZER_CONFIGURATION_ERROR,backend" "AUTHORIZER_CONFIGURATION_ERROR" -"#;
    assert_eq!(
        places(&f, line),
        Some(vec![Place::Elsewhere, Place::Elsewhere])
    );
    assert!(!Var("integration.error".into()).is_error());
    assert!(!is_error_name("integrationErrorMessage"));
    assert!(is_error_name("authorizerError"));
}

#[test]
fn quoted_message_string_is_read_inside_its_quotes() {
    // Refused by `parse` (the message string never carries a failure); split all the same.
    let f = LogFormat::parse_layout(
        r#"$context.requestId "$context.identity.userAgent" $context.error.messageString"#,
    )
    .unwrap();
    assert_eq!(
        places(&f, r#"r1 "ua" "AUTHORIZER_CONFIGURATION_ERROR x""#),
        Some(vec![Place::Error { var: 2 }])
    );
    assert_eq!(
        split_map(&f, r#"r1 "u"a" "m""#)[1],
        ("identity.userAgent".into(), "u\"a".into())
    );
}

const REAL_LINE: &str = r#"203.0.113.0 - - [10/Oct/2023:01:01:01 +0000] "GET ANY / HTTP/1.1" 500 35 abcdefghijklmno= - Internal Server Error AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;

#[test]
fn default_format_splits_the_real_line() {
    let f = LogFormat::default();
    let got = split_map(&f, REAL_LINE);
    let get = |name: &str| got.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert_eq!(get("identity.sourceIp"), "203.0.113.0");
    assert_eq!(get("requestTime"), "10/Oct/2023:01:01:01 +0000");
    assert_eq!(get("httpMethod"), "GET");
    assert_eq!(get("routeKey"), "ANY /");
    assert_eq!(get("protocol"), "HTTP/1.1");
    assert_eq!(get("status"), "500");
    assert_eq!(get("requestId"), "abcdefghijklmno=");
    assert!(get("authorizer.error").contains("AUTHORIZER_CONFIGURATION_ERROR,The response"));
    assert_eq!(places(&f, REAL_LINE), Some(vec![Place::Error { var: 8 }]));
}

#[test]
fn a_forged_path_stays_inside_the_path() {
    let f = LogFormat::parse(
            r#"$context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status $context.requestId $context.authorizer.error"#,
        )
        .unwrap();
    let line = r#"1.2.3.4 [t] "GET /x HTTP/1.1" 500 r AUTHORIZER_CONFIGURATION_ERROR,fake " HTTP/1.1" 200 realid -"#;
    let got = split_map(&f, line);
    assert_eq!(
        got.last().unwrap(),
        &("authorizer.error".into(), "-".into())
    );
    assert_eq!(got[6], ("requestId".into(), "realid".into()));
    assert_eq!(places(&f, line), Some(vec![Place::Elsewhere]));
}

#[test]
fn bad_formats_are_refused_with_a_reason() {
    let cases = [
        ("", FormatError::NoVariables),
        ("plain text", FormatError::NoVariables),
        (
            "$context.requestId $context.status",
            FormatError::NoErrorVariable,
        ),
        (
            "$context.requestId $context.integrationErrorMessage",
            FormatError::NoErrorVariable,
        ),
        (
            "$context.requestId$context.authorizer.error",
            FormatError::AdjacentVariables(
                "context.requestId".into(),
                "context.authorizer.error".into(),
            ),
        ),
        (
            r#"{"a.b":"$context.requestId","a":{"b":"$context.authorizer.error"}}"#,
            FormatError::DuplicateJsonKey("a.b".into()),
        ),
    ];
    for (format, expected) in cases {
        assert_eq!(LogFormat::parse(format).unwrap_err(), expected, "{format}");
    }
}

/// A format that starts like JSON is checked as the JSON it makes, with the position in the
/// format as given; bare variables (`"status": $context.status`) make valid JSON.
#[test]
fn json_formats_are_checked_as_json() {
    let not_json = |reason: &str, line, column| FormatError::NotJson {
        reason: reason.to_owned(),
        line,
        column,
    };
    let cases = [
        (
            r#"{"requestId":"$context.requestId", "error":"$context.authorizer.error""#,
            not_json("EOF while parsing an object", 1, 70),
        ),
        (
            r#"{"requestId":"$context.requestId" "error":"$context.authorizer.error"}"#,
            not_json("expected `,` or `}`", 1, 35),
        ),
        (
            "{\n  \"id\": \"$context.requestId\",\n  \"id\": \"$context.authorizer.error\"\n}",
            not_json("the key \"id\" appears twice", 3, 6),
        ),
        (
            r#"{"id":"$context.requestId","e":{"a":"$context.authorizer.error","a":"x"}}"#,
            not_json("the key \"a\" appears twice", 1, 67),
        ),
        (
            r#"{'id':'$context.requestId','e':'$context.authorizer.error'}"#,
            not_json("key must be a string", 1, 2),
        ),
    ];
    for (format, expected) in cases {
        assert_eq!(LogFormat::parse(format).unwrap_err(), expected, "{format}");
    }
    for fine in [
        r#"{"requestId":"$context.requestId","status":$context.status,"error":"$context.authorizer.error"}"#,
        r#"{ "requestId": "$context.requestId", "error": { "authorizer": "$context.authorizer.error" } }"#,
        "{$context.requestId} $context.authorizer.error",
    ] {
        LogFormat::parse(fine).unwrap_or_else(|e| panic!("{fine}: {e}"));
    }
}

/// Every format we ship, recommend or use in the samples and templates loads.
#[test]
fn the_formats_in_use_all_load() {
    let formats = formats_in_use();
    assert!(formats.len() > 11, "the demo's formats were found");
    for (name, format) in formats {
        if let Err(e) = LogFormat::parse(&format) {
            panic!("{name}: {e}");
        }
    }
}

/// Every format we ship, recommend or use in the samples and templates, named by where it is.
pub(super) fn formats_in_use() -> Vec<(String, String)> {
    let mut formats: Vec<(String, String)> = [
        ("DEFAULT_FORMAT", DEFAULT_FORMAT),
        ("RECOMMENDED_FORMAT", RECOMMENDED_FORMAT),
        ("RECOMMENDED_JSON_FORMAT", RECOMMENDED_JSON_FORMAT),
        (
            "default-format.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/default-format.fmt"
            )),
        ),
        (
            "custom-format.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/custom-format.fmt"
            )),
        ),
        (
            "json-format.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/json-format.fmt"
            )),
        ),
        (
            "http/public-json.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/http/public-json.fmt"
            )),
        ),
        (
            "http/recommended.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/http/recommended.fmt"
            )),
        ),
        (
            "rest/access-text.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/rest/access-text.fmt"
            )),
        ),
        (
            "rest/access-json.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/rest/access-json.fmt"
            )),
        ),
        (
            "websocket/access-json.fmt",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../samplelogs/websocket/access-json.fmt"
            )),
        ),
    ]
    .into_iter()
    .map(|(name, f)| (name.to_owned(), f.to_owned()))
    .collect();
    // The demo stack's stages and the AccessLogFormat it gives the forwarders.
    let demo = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/demo/template.yaml"
    ));
    for line in demo.lines() {
        if let Some((_, quoted)) = line.split_once("Format: '") {
            let format = quoted.strip_suffix('\'').expect("one quoted format a line");
            formats.push((format!("infra/demo: {}", line.trim()), format.to_owned()));
        }
    }
    formats
}

/// A format with which no failure API Gateway reports is ever flagged is refused when it is
/// loaded, with one line that says why; formats that see some failure load.
#[test]
fn formats_that_can_never_see_a_failure_are_refused() {
    let refused = [
        (
            "$context.requestId $context.authorizer.error $context.path",
            "sits next to client-controlled $context.path",
        ),
        ("$context.authorizer.error $context.path", "$context.path"),
        (
            "$context.requestId $context.status $context.error.message",
            "hold only the body the client got",
        ),
        (
            r#"{"requestId":"$context.requestId","message":"$context.error.messageString"}"#,
            "hold only the body the client got",
        ),
        // API Gateway writes the message string with its quotes: every line breaks the JSON.
        (
            r#"{"requestId":"$context.requestId","type":"$context.error.responseType","message":"$context.error.messageString","authz":"$context.authorizer.error"}"#,
            "is not read as one",
        ),
    ];
    for (format, why) in refused {
        let err = LogFormat::parse(format).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, FormatError::NeverSeesFailure(_)),
            "{format}: {text}"
        );
        assert!(
            text.starts_with("it would never report an authorizer failure: "),
            "{text}"
        );
        assert!(text.contains(why), "{format}: {text}");
        assert!(!text.contains('\n'), "{text}");
    }
    let accepted = [
        // A REST API's response type alone: the token says that the authorizer failed.
        "$context.requestId $context.status $context.error.responseType",
        "$context.error.responseType \"$context.identity.userAgent\"",
        r#"{"type":"$context.error.responseType","message":$context.error.messageString}"#,
        // Client values all around, yet API Gateway's own failure line splits one way.
        "$context.path $context.status $context.authorizer.error",
        r#""$context.path" $context.authorizer.error "$context.identity.userAgent""#,
    ];
    for format in accepted {
        if let Err(e) = LogFormat::parse(format) {
            panic!("{format}: {e}");
        }
    }
}

/// Only API Gateway writing another format takes a line off the format's layout: a client's
/// values, whatever they hold, leave the literal text and API Gateway's own values in place.
#[test]
fn only_a_changed_format_breaks_the_layout() {
    let json = LogFormat::parse(
            r#"{"requestId":"$context.requestId","status":"$context.status","ua":"$context.identity.userAgent","authz":"$context.authorizer.error"}"#,
        )
        .unwrap();
    let custom = LogFormat::parse(CUSTOM).unwrap();
    let default = LogFormat::default();
    let perm = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
    let default_line = |method: &str, error: &str| {
        format!(
            r#"203.0.113.0 - - [10/Oct/2023:01:01:01 +0000] "{method} GET /x HTTP/1.1" 500 35 abcdefghijklmno= {error}"#
        )
    };
    // (format, line, whether it parses as JSON or splits by the format, whether it keeps the
    // layout)
    let cases: Vec<(&LogFormat, String, bool, bool)> = vec![
            // A client's unescaped quote breaks the JSON, not the layout.
            (
                &json,
                r#"{"requestId":"r1","status":"500","ua":"a" AUTHORIZER_CONFIGURATION_ERROR","authz":"-"}"#.into(),
                false,
                true,
            ),
            (
                &json,
                format!(r#"{{"requestId":"r1","status":"500","ua":"curl","authz":"{perm}"}}"#),
                true,
                true,
            ),
            // A key gone, a status API Gateway never writes, a text line: another format.
            (
                &json,
                format!(r#"{{"requestId":"r1","ua":"curl","authz":"{perm}"}}"#),
                true,
                false,
            ),
            (
                &json,
                format!(r#"{{"requestId":"r1","status":"five","ua":"curl","authz":"{perm}"}}"#),
                true,
                false,
            ),
            (&json, default_line("GET", perm), false, false),
            // A REST API's request id of the client's choosing, with a space and a quote.
            (
                &custom,
                format!(
                    r#"my "id 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET / HTTP/1.1" 500 "ua" a1b2c3d4e5 prod {perm}"#
                ),
                false,
                true,
            ),
            // A method of the client's own.
            (&default, default_line("get", perm), false, true),
            (&default, default_line("GET", perm), true, true),
            // The stage appended a value after the error: text API Gateway's error never holds.
            (
                &default,
                format!("{} \"curl/8.5.0\"", default_line("GET", perm)),
                false,
                false,
            ),
            (&default, perm.to_owned(), false, false),
        ];
    for (format, line, reads, keeps) in cases {
        let mut scratch = Scratch::default();
        let read = if format.is_json() {
            serde_json::from_str::<Value>(&line).is_ok()
        } else {
            format.split(&line, &[], &mut scratch) != Split::NoMatch
        };
        assert_eq!(read, reads, "{line}");
        assert_eq!(format.keeps_layout(&line, &mut scratch), keeps, "{line}");
    }
}

#[test]
fn json_format_maps_keys_to_variables() {
    let f = LogFormat::parse(
        r#"{"requestId":"$context.requestId","authorizer":{"error":"$context.authorizer.error"}}"#,
    )
    .unwrap();
    assert!(f.is_json() && f.is_given());
    assert!(!LogFormat::guess().is_given());
    assert_eq!(
        f.var_for_json_key("requestId"),
        Some(&Var("requestId".into()))
    );
    assert_eq!(
        f.var_for_json_key("authorizer.error"),
        Some(&Var("authorizer.error".into()))
    );
    assert_eq!(f.var_for_json_key("status"), None);
}

#[test]
fn fields_keep_first_value_and_skip_dashes() {
    let mut fields = Fields::default();
    fields.set("requestId", "-");
    fields.set("extendedRequestId", "ext");
    fields.set("requestId", "req");
    fields.set("status", "500");
    fields.set("status", "nope");
    fields.set("httpMethod", "GET");
    fields.set("path", "/a");
    assert_eq!(fields.request_id.as_deref(), Some("ext"));
    assert_eq!(fields.status, Some(500));
    assert_eq!(fields.route().as_deref(), Some("GET /a"));
    // A REST API's resource is what its routes are keyed by, not the raw path.
    fields.set("resourcePath", "/a/{id}");
    assert_eq!(fields.route().as_deref(), Some("GET /a/{id}"));
    assert_eq!(guess_var_for_key("resource_path"), Some("resourcePath"));
    fields.set("routeKey", String::from(" GET /b "));
    assert_eq!(fields.route().as_deref(), Some("GET /b"));
}

#[test]
fn guesses_json_keys() {
    assert_eq!(guess_var_for_key("request_id"), Some("requestId"));
    assert_eq!(guess_var_for_key("context.requestId"), Some("requestId"));
    assert_eq!(guess_var_for_key("sourceIp"), Some("identity.sourceIp"));
    assert_eq!(guess_var_for_key("userAgent"), None);
}
