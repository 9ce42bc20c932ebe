//! REST and WebSocket APIs: access lines whose token is a gateway response type, and
//! execution-log batches told apart by their log group.

use super::*;
use crate::model::cause::Cause;
use crate::model::tokens::{FAILURE_TOKEN, TOKEN};

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
