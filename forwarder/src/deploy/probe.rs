//! Trying an authorizer without a request: API Gateway's own `TestInvokeAuthorizer` for REST APIs,
//! and (opt-in) invoking an HTTP or WebSocket API's authorizer function with a synthetic request
//! of its payload format, whose answer is then read as API Gateway would read it.
//!
//! Both run the authorizer's code. Only what API Gateway says it could not do, or an answer that
//! lacks what API Gateway requires, is a failure; an authorizer that raises or denies on a made-up
//! caller is not one.

use std::future::Future;

use serde_json::{Value, json};

use crate::diagnose::inspect::InspectError;
use crate::diagnose::{ApiKind, Authorizer, Check};
use crate::model::cause::{self, Cause};

/// The value given for every identity source: no real caller has it.
pub const PROBE_IDENTITY: &str = "forwarder-deploy-check";

/// What `TestInvokeAuthorizer` answered
/// (<https://docs.aws.amazon.com/apigateway/latest/api/API_TestInvokeAuthorizer.html>).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestInvoke {
    /// The status a client would have got; 0 when the authorizer allowed.
    pub client_status: i32,
    /// API Gateway's execution log of the test.
    pub log: String,
}

/// What invoking a function answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `FunctionError` (`Unhandled`) when the function raised.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

/// A REST authorizer's identity sources as a test request: headers, and a path with the query
/// string parameters (`method.request.header.NAME`, `method.request.querystring.NAME`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRequest {
    pub headers: Vec<(String, String)>,
    pub path_with_query: String,
}

/// The calls that try an authorizer.
pub trait Prober: Sync {
    fn test_invoke(
        &self,
        rest_api_id: &str,
        authorizer_id: &str,
        request: &TestRequest,
    ) -> impl Future<Output = Result<TestInvoke, InspectError>> + Send;

    fn invoke(
        &self,
        function_arn: &str,
        payload: &str,
    ) -> impl Future<Output = Result<Invocation, InspectError>> + Send;
}

/// The request that carries every identity source a REST authorizer names.
pub fn test_request(auth: &Authorizer) -> TestRequest {
    let mut request = TestRequest {
        path_with_query: "/".to_owned(),
        ..TestRequest::default()
    };
    let mut query = Vec::new();
    for source in auth.identity_source.as_deref().unwrap_or("").split(',') {
        let source = source.trim();
        if let Some(name) = source.strip_prefix("method.request.header.") {
            request
                .headers
                .push((name.to_owned(), PROBE_IDENTITY.to_owned()));
        } else if let Some(name) = source.strip_prefix("method.request.querystring.") {
            query.push(format!("{}={PROBE_IDENTITY}", urlencode(name)));
        }
    }
    if auth.authorizer_type.eq_ignore_ascii_case("TOKEN") && request.headers.is_empty() {
        request
            .headers
            .push(("Authorization".to_owned(), PROBE_IDENTITY.to_owned()));
    }
    if !query.is_empty() {
        request.path_with_query = format!("/?{}", query.join("&"));
    }
    request
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Reads API Gateway's answer to a test of a REST authorizer: its own "configuration error"
/// sentences name the failure, as in a stage's execution log; any other answer shows that API
/// Gateway invoked the function and read what it returned.
pub fn judge_test_invoke(t: &TestInvoke) -> Check {
    const CONFIGURATION_ERROR: &str = "Execution failed due to configuration error: ";
    let errors: Vec<&str> = t
        .log
        .lines()
        .filter_map(|l| l.split_once(CONFIGURATION_ERROR).map(|(_, why)| why.trim()))
        .collect();
    let proven = errors.iter().find_map(|why| match cause::classify(why) {
        c @ (Cause::MissingInvokePermission | Cause::InvalidResponseFormat) => Some((c, *why)),
        _ => None,
    });
    if let Some((cause, why)) = proven {
        return Check::failure(
            cause,
            format!(
                "API Gateway's test of the authorizer: {}; status {}",
                crate::text::escape::truncate(why, 200),
                t.client_status
            ),
            None,
        );
    }
    match t.client_status {
        0 | 200 | 401 | 403 => Check::clears(
            Cause::MissingInvokePermission,
            format!(
                "API Gateway's test of the authorizer invoked the function and read its answer (status {})",
                t.client_status
            ),
        ),
        status => Check::problem(
            format!(
                "API Gateway's test of the authorizer ended with status {status}{}; its log says why",
                errors
                    .first()
                    .map(|e| format!(" ({})", crate::text::escape::truncate(e, 200)))
                    .unwrap_or_default()
            ),
            None,
        ),
    }
}

/// The request event API Gateway would send the authorizer of an HTTP or WebSocket API, for a
/// caller whose every identity source is [`PROBE_IDENTITY`]
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>,
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html>).
pub fn synthetic_event(
    kind: ApiKind,
    auth: &Authorizer,
    api_id: &str,
    region: &str,
    account: &str,
    route_key: &str,
) -> Value {
    let mut headers = serde_json::Map::new();
    let mut query = serde_json::Map::new();
    let sources: Vec<&str> = auth
        .identity_source
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for s in &sources {
        let name = s.strip_prefix('$').unwrap_or(s);
        let name = name.strip_prefix("request.").unwrap_or(name);
        let name = name.strip_prefix("route.request.").unwrap_or(name);
        if let Some(h) = name.strip_prefix("header.") {
            headers.insert(h.to_ascii_lowercase(), PROBE_IDENTITY.into());
        } else if let Some(q) = name.strip_prefix("querystring.") {
            query.insert(q.to_owned(), PROBE_IDENTITY.into());
        }
    }
    let (method, path) = route_key.split_once(' ').unwrap_or(("GET", "/"));
    let arn = format!("arn:aws:execute-api:{region}:{account}:{api_id}/$default/{method}{path}");
    let context = json!({
        "accountId": account, "apiId": api_id, "requestId": "forwarder-deploy-check",
        "stage": "$default", "routeKey": route_key,
    });
    match (
        kind,
        auth.payload_format_version.as_deref().unwrap_or("2.0"),
    ) {
        (ApiKind::WebSocket, _) => json!({
            "type": "REQUEST",
            "methodArn": format!("arn:aws:execute-api:{region}:{account}:{api_id}/$default/$connect"),
            "headers": headers, "queryStringParameters": query, "stageVariables": {},
            "requestContext": {
                "routeKey": "$connect", "eventType": "CONNECT", "stage": "$default",
                "requestId": "forwarder-deploy-check", "apiId": api_id, "connectionId": "forwarder=",
            },
        }),
        (_, "1.0") => json!({
            "version": "1.0", "type": "REQUEST", "methodArn": arn,
            "identitySource": vec![PROBE_IDENTITY; sources.len()].join(","),
            "authorizationToken": vec![PROBE_IDENTITY; sources.len()].join(","),
            "resource": path, "path": path, "httpMethod": method,
            "headers": headers, "queryStringParameters": query, "pathParameters": {},
            "stageVariables": {}, "requestContext": context,
        }),
        _ => json!({
            "version": "2.0", "type": "REQUEST", "routeArn": arn,
            "identitySource": vec![PROBE_IDENTITY; sources.len()],
            "routeKey": route_key, "rawPath": path, "rawQueryString": "",
            "headers": headers, "queryStringParameters": query, "requestContext": context,
        }),
    }
}

/// Reads a function's answer to [`synthetic_event`] as API Gateway reads an authorizer's: with
/// simple responses, an object whose `isAuthorized` is a boolean; otherwise an IAM policy, an
/// object with `principalId` and a `policyDocument` holding a `Statement` list.
pub fn judge_response(kind: ApiKind, auth: &Authorizer, inv: &Invocation) -> Check {
    if let Some(error) = &inv.function_error {
        return Check::problem(
            format!(
                "the function raised ({}) on a made-up caller; a real caller may fare otherwise",
                crate::text::escape::truncate(error, 100)
            ),
            None,
        );
    }
    let answer: Option<Value> = serde_json::from_slice(&inv.payload).ok();
    let simple = kind == ApiKind::Http
        && auth.simple_responses
        && auth.payload_format_version.as_deref().unwrap_or("2.0") == "2.0";
    let missing = match &answer {
        None => Some("is not JSON"),
        Some(a) if simple => (!a["isAuthorized"].is_boolean())
            .then_some("has no boolean isAuthorized, which simple responses require"),
        Some(a) => {
            if !a["principalId"].is_string() && kind != ApiKind::Http {
                Some("has no principalId")
            } else if !a["policyDocument"]["Statement"].is_array() {
                Some("has no policyDocument with a Statement list")
            } else {
                None
            }
        }
    };
    match missing {
        Some(what) => Check::failure(
            Cause::InvalidResponseFormat,
            format!(
                "invoked with a {} request of its payload format, the function answered with a response that {what}; API Gateway answers such a response with 500",
                kind.label()
            ),
            None,
        ),
        None => Check::clears(
            Cause::InvalidResponseFormat,
            format!(
                "invoked with a {} request of its payload format, the function answered in a shape API Gateway reads",
                kind.label()
            ),
        ),
    }
}

/// Answers from memory, for tests and previews: per REST authorizer id a test's result, per
/// function ARN an invocation's; anything else is a failed call.
#[derive(Clone, Debug, Default)]
pub struct MemoryProber {
    pub tests: std::collections::HashMap<String, TestInvoke>,
    pub invocations: std::collections::HashMap<String, Invocation>,
    pub calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Prober for MemoryProber {
    async fn test_invoke(
        &self,
        rest_api_id: &str,
        authorizer_id: &str,
        _: &TestRequest,
    ) -> Result<TestInvoke, InspectError> {
        self.calls
            .lock()
            .expect("not poisoned")
            .push(format!("test_invoke {rest_api_id} {authorizer_id}"));
        self.tests
            .get(authorizer_id)
            .cloned()
            .ok_or_else(|| InspectError::Failed {
                call: "TestInvokeAuthorizer",
                reason: "NotFoundException".into(),
            })
    }

    async fn invoke(&self, function_arn: &str, _: &str) -> Result<Invocation, InspectError> {
        self.calls
            .lock()
            .expect("not poisoned")
            .push(format!("invoke {function_arn}"));
        self.invocations
            .get(function_arn)
            .cloned()
            .ok_or_else(|| InspectError::Failed {
                call: "Invoke",
                reason: "ResourceNotFoundException".into(),
            })
    }
}

/// No tries: the settings allow none, or a preview.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProbes;

impl Prober for NoProbes {
    async fn test_invoke(
        &self,
        _: &str,
        _: &str,
        _: &TestRequest,
    ) -> Result<TestInvoke, InspectError> {
        Err(InspectError::Failed {
            call: "TestInvokeAuthorizer",
            reason: "not allowed by the settings".into(),
        })
    }

    async fn invoke(&self, _: &str, _: &str) -> Result<Invocation, InspectError> {
        Err(InspectError::Failed {
            call: "Invoke",
            reason: "not allowed by the settings".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Proof;

    fn auth(t: &str, source: &str, simple: bool, version: Option<&str>) -> Authorizer {
        Authorizer {
            id: "au1".into(),
            name: "a".into(),
            authorizer_type: t.into(),
            identity_source: Some(source.into()),
            simple_responses: simple,
            payload_format_version: version.map(Into::into),
            ..Authorizer::default()
        }
    }

    #[test]
    fn a_rest_test_request_carries_every_identity_source() {
        let r = test_request(&auth(
            "REQUEST",
            "method.request.header.X-Key, method.request.querystring.tenant id",
            false,
            None,
        ));
        assert_eq!(r.headers, [("X-Key".into(), PROBE_IDENTITY.into())]);
        assert_eq!(r.path_with_query, format!("/?tenant%20id={PROBE_IDENTITY}"));
        let t = test_request(&auth("TOKEN", "", false, None));
        assert_eq!(t.headers[0].0, "Authorization");
    }

    /// API Gateway's logs of a test (serverless/serverless#1784, ExpanseLLC/lambda_authorizer#1).
    #[test]
    fn a_test_s_log_names_what_api_gateway_could_not_do() {
        let case = |status: i32, log: &str| {
            judge_test_invoke(&TestInvoke {
                client_status: status,
                log: log.into(),
            })
            .proves
        };
        assert_eq!(
            case(
                500,
                "Mon Dec 07 10:00:00 UTC 2026 : Execution failed due to configuration error: Invalid permissions on Lambda function\nMon Dec 07 10:00:00 UTC 2026 : Execution failed due to configuration error: Authorizer error\nAuthorizerConfigurationException"
            ),
            Some(Proof::Fails(Cause::MissingInvokePermission))
        );
        assert_eq!(
            case(
                500,
                "Authorizer result body before parsing: null\nExecution failed due to configuration error: Could not parse policy\nAuthorizerConfigurationException"
            ),
            Some(Proof::Fails(Cause::InvalidResponseFormat))
        );
        // Denied or allowed: invoked and read.
        assert_eq!(
            case(403, "Authorizer result body before parsing: {...}"),
            Some(Proof::Clears(Cause::MissingInvokePermission))
        );
        assert_eq!(
            case(0, ""),
            Some(Proof::Clears(Cause::MissingInvokePermission))
        );
        // Only "Authorizer error": failed, but not shown why; reported, never alerted on.
        assert_eq!(
            case(
                500,
                "Execution failed due to configuration error: Authorizer error"
            ),
            None
        );
    }

    #[test]
    fn an_answer_is_read_as_api_gateway_reads_it() {
        let inv = |payload: &str| Invocation {
            function_error: None,
            payload: payload.as_bytes().to_vec(),
        };
        let simple = auth(
            "REQUEST",
            "$request.header.Authorization",
            true,
            Some("2.0"),
        );
        let policy = auth(
            "REQUEST",
            "$request.header.Authorization",
            false,
            Some("1.0"),
        );
        let proves = |kind, a: &Authorizer, p: &str| judge_response(kind, a, &inv(p)).proves;
        let fails = Some(Proof::Fails(Cause::InvalidResponseFormat));
        let clears = Some(Proof::Clears(Cause::InvalidResponseFormat));
        assert_eq!(
            proves(ApiKind::Http, &simple, r#"{"isAuthorized":false}"#),
            clears
        );
        assert_eq!(
            proves(ApiKind::Http, &simple, r#"{"authorized":true}"#),
            fails
        );
        assert_eq!(proves(ApiKind::Http, &simple, "not json"), fails);
        let deny = r#"{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Deny"}]}}"#;
        assert_eq!(proves(ApiKind::Http, &policy, deny), clears);
        assert_eq!(proves(ApiKind::WebSocket, &policy, deny), clears);
        assert_eq!(
            proves(ApiKind::Http, &policy, r#"{"isAuthorized":true}"#),
            fails
        );
        let raised = Invocation {
            function_error: Some("Unhandled".into()),
            payload: br#"{"errorType":"Error"}"#.to_vec(),
        };
        assert_eq!(judge_response(ApiKind::Http, &simple, &raised).proves, None);
    }

    #[test]
    fn synthetic_events_follow_each_payload_format() {
        let v2 = synthetic_event(
            ApiKind::Http,
            &auth(
                "REQUEST",
                "$request.header.Authorization",
                true,
                Some("2.0"),
            ),
            "a1b2c3d4e5",
            "us-east-1",
            "123456789012",
            "GET /pets",
        );
        assert_eq!(v2["version"], "2.0");
        assert_eq!(v2["headers"]["authorization"], PROBE_IDENTITY);
        assert_eq!(
            v2["routeArn"],
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/$default/GET/pets"
        );
        let v1 = synthetic_event(
            ApiKind::Http,
            &auth("REQUEST", "$request.querystring.key", false, Some("1.0")),
            "a1b2c3d4e5",
            "us-east-1",
            "123456789012",
            "GET /pets",
        );
        assert_eq!(v1["version"], "1.0");
        assert_eq!(v1["queryStringParameters"]["key"], PROBE_IDENTITY);
        let ws = synthetic_event(
            ApiKind::WebSocket,
            &auth("REQUEST", "route.request.header.Auth", false, None),
            "a1b2c3d4e5",
            "us-east-1",
            "123456789012",
            "$connect",
        );
        assert_eq!(ws["requestContext"]["eventType"], "CONNECT");
        assert_eq!(ws["headers"]["auth"], PROBE_IDENTITY);
    }
}
