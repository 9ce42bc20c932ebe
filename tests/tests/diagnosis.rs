//! Diagnosis against moto_server: an HTTP API with Lambda authorizers whose functions have the
//! right permission, a wildcard one, one for another API and none; `doctor`, `check` and the
//! handler's enriched alerts must give each its verdict and exact command, and a refused or
//! unreachable API Gateway must leave the alert standing with "diagnosis unavailable".

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_apigatewayv2::types::{AuthorizationType, AuthorizerType, ProtocolType};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use forwarder::access_log::LogFormat;
use forwarder::config::Config;
use forwarder::decode;
use forwarder::forward::{Services, handle_event};
use forwarder::inspect::AwsInspector;
use forwarder::publish::MemoryPublisher;
use forwarder_tests::http::denying_stub;
use forwarder_tests::{
    ACCOUNT, LocalTopic, REGION, closed_port, forwarder, moto_endpoint, sdk_config, sns_envelope,
};

/// The smallest valid zip archive (an empty one): moto stores the code, it never runs it here.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

const PERMISSION_TEXT: &str = "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
const SHAPE_TEXT: &str = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'";

/// What one authorizer of the fixture API is meant to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Permission for exactly this authorizer.
    Allowed,
    /// Permission for every source of this API (`API_ID/*`).
    Wildcard,
    /// Permission only for another API.
    OtherApi,
    /// No resource policy at all.
    NoPolicy,
    /// Allowed, but simple responses with payload 1.0.
    BadShape,
}

const KINDS: [Kind; 5] = [
    Kind::Allowed,
    Kind::Wildcard,
    Kind::OtherApi,
    Kind::NoPolicy,
    Kind::BadShape,
];

impl Kind {
    fn slug(self) -> &'static str {
        match self {
            Kind::Allowed => "allowed",
            Kind::Wildcard => "wildcard",
            Kind::OtherApi => "other-api",
            Kind::NoPolicy => "no-policy",
            Kind::BadShape => "bad-shape",
        }
    }
}

struct Fixture {
    api_id: String,
    /// Authorizer id per kind.
    authorizers: BTreeMap<Kind, String>,
    /// Function ARN per kind.
    functions: BTreeMap<Kind, String>,
}

impl Fixture {
    fn source_arn(&self, kind: Kind) -> String {
        format!(
            "arn:aws:execute-api:{REGION}:{ACCOUNT}:{}/authorizers/{}",
            self.api_id, self.authorizers[&kind]
        )
    }
}

/// Creates the API, its routes, authorizers and functions under names unique to `test` and this
/// process. `kinds` picks which authorizers the API gets.
async fn fixture(test: &str, kinds: &[Kind]) -> Fixture {
    let tag = format!("{test}-{}", std::process::id());
    let sdk = sdk_config(&moto_endpoint()).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let apigw = aws_sdk_apigatewayv2::Client::new(&sdk);
    let role = iam
        .create_role()
        .role_name(format!("authorizer-{tag}"))
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("create role")
        .role
        .expect("role")
        .arn;
    let api = apigw
        .create_api()
        .name(format!("orders-{tag}"))
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .expect("create API");
    let api_id = api.api_id().expect("API id").to_owned();
    apigw
        .create_route()
        .api_id(&api_id)
        .route_key("GET /health")
        .authorization_type(AuthorizationType::None)
        .send()
        .await
        .expect("create open route");
    let mut fixture = Fixture {
        api_id: api_id.clone(),
        authorizers: BTreeMap::new(),
        functions: BTreeMap::new(),
    };
    for &kind in kinds {
        let name = format!("{}-{tag}", kind.slug());
        let function_arn = lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Python312)
            .role(&role)
            .handler("index.handler")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(EMPTY_ZIP))
                    .build(),
            )
            .send()
            .await
            .expect("create function")
            .function_arn
            .expect("function ARN");
        let version = if kind == Kind::BadShape { "1.0" } else { "2.0" };
        let authorizer_id = apigw
            .create_authorizer()
            .api_id(&api_id)
            .name(format!("{}-auth", kind.slug()))
            .authorizer_type(AuthorizerType::Request)
            .authorizer_uri(format!(
                "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
            ))
            .authorizer_payload_format_version(version)
            .enable_simple_responses(true)
            .identity_source("$request.header.Authorization")
            .send()
            .await
            .expect("create authorizer")
            .authorizer_id
            .expect("authorizer id");
        apigw
            .create_route()
            .api_id(&api_id)
            .route_key(format!("GET /{}", kind.slug()))
            .authorization_type(AuthorizationType::Custom)
            .authorizer_id(&authorizer_id)
            .send()
            .await
            .expect("create route");
        let source = match kind {
            Kind::Allowed | Kind::BadShape => Some(format!(
                "arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/authorizers/{authorizer_id}"
            )),
            Kind::Wildcard => Some(format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*")),
            Kind::OtherApi => Some(format!(
                "arn:aws:execute-api:{REGION}:{ACCOUNT}:zzzz999999/*"
            )),
            Kind::NoPolicy => None,
        };
        if let Some(source) = source {
            lambda
                .add_permission()
                .function_name(&name)
                .statement_id("apigateway-invoke")
                .action("lambda:InvokeFunction")
                .principal("apigateway.amazonaws.com")
                .source_arn(source)
                .send()
                .await
                .expect("add permission");
        }
        fixture.authorizers.insert(kind, authorizer_id);
        fixture.functions.insert(kind, function_arn);
    }
    fixture
}

fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ]
}

fn run(args: &[&str], env: &[(&'static str, String)]) -> forwarder_tests::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    forwarder(args, None, &env)
}

/// The expected fix for an authorizer of the fixture.
fn add_permission(f: &Fixture, kind: Kind) -> String {
    format!(
        "aws lambda add-permission --region {REGION} --function-name {} --statement-id apigateway-authorizer-{} --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn {}",
        f.functions[&kind],
        f.authorizers[&kind],
        f.source_arn(kind)
    )
}

#[tokio::test]
async fn doctor_gives_each_authorizer_its_verdict() {
    let f = fixture("doctor", &KINDS).await;
    let env = aws_env(&moto_endpoint());
    let out = run(&["doctor", "--api-id", &f.api_id, "--json"], &env);
    assert_eq!(out.code, 1, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("doctor --json");
    assert_eq!(doc["api_id"], f.api_id.as_str());
    assert_eq!(doc["authorizers_with_problems"], 3, "{doc:#}");
    let reports = doc["authorizers"].as_array().unwrap();
    assert_eq!(reports.len(), KINDS.len(), "/health has no authorizer");
    let by_id = |kind: Kind| {
        reports
            .iter()
            .find(|r| r["authorizer_id"] == f.authorizers[&kind].as_str())
            .unwrap_or_else(|| panic!("{kind:?} in {doc:#}"))
    };
    let problems = |kind: Kind| -> Vec<String> {
        by_id(kind)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["summary"].as_str().unwrap().to_owned())
            .collect()
    };
    for kind in [Kind::Allowed, Kind::Wildcard] {
        assert!(problems(kind).is_empty(), "{kind:?}: {:?}", problems(kind));
        assert_eq!(by_id(kind)["function_arn"], f.functions[&kind].as_str());
        assert_eq!(by_id(kind)["routes"][0], format!("GET /{}", kind.slug()));
    }
    let other = problems(Kind::OtherApi);
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(
        other[0].contains("zzzz999999/*") && other[0].contains(&f.source_arn(Kind::OtherApi)),
        "{other:?}"
    );
    assert!(problems(Kind::NoPolicy)[0].contains("has no resource policy"));
    assert!(problems(Kind::BadShape)[0].contains("need payload format 2.0"));
    let command = |kind: Kind| by_id(kind)["checks"][0]["command"].clone();
    assert_eq!(
        command(Kind::OtherApi),
        add_permission(&f, Kind::OtherApi).as_str()
    );
    assert_eq!(
        command(Kind::NoPolicy),
        add_permission(&f, Kind::NoPolicy).as_str()
    );

    // The text form names each authorizer and the fix to paste.
    let text = run(&["doctor", "--api-id", &f.api_id], &env);
    assert_eq!(text.code, 1, "{text:?}");
    assert!(
        text.stdout.starts_with(&format!(
            "API {}: 5 Lambda authorizers checked, 3 with problems\n",
            f.api_id
        )),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains(&format!("    fix: {}", add_permission(&f, Kind::NoPolicy))),
        "{}",
        text.stdout
    );

    // An API whose every authorizer is fine passes, for a pipeline to go on.
    let healthy = fixture("doctor-ok", &[Kind::Allowed, Kind::Wildcard]).await;
    let ok = run(&["doctor", "--api-id", &healthy.api_id], &env);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(
        ok.stdout
            .contains("2 Lambda authorizers checked, 0 with problems")
    );

    // An API that does not exist is an error of its own, with one line.
    let missing = run(&["doctor", "--api-id", "nosuchapi1"], &env);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert_eq!(
        missing.stderr.trim(),
        "forwarder: API nosuchapi1: API nosuchapi1 was not found in this account and region"
    );
}

/// A default-format access-log line for `route`, written at `time`.
fn line(route: &str, request_id: &str, error: Option<&str>) -> String {
    let tail = error.map_or("-".to_owned(), |e| {
        format!("AUTHORIZER_CONFIGURATION_ERROR,{e}")
    });
    let status = if error.is_some() { 500 } else { 200 };
    format!(
        r#"198.51.100.7 - - [25/Nov/2026:10:00:00 +0000] "GET {route} HTTP/1.1" {status} 35 {request_id} {tail}"#
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn check_reads_the_log_and_publishes_diagnosed_alerts() {
    let f = fixture("check", &KINDS).await;
    let endpoint = moto_endpoint();
    let sdk = sdk_config(&endpoint).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let group = format!("/aws/vendedlogs/apigateway/check-{}", std::process::id());
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name("$default")
        .send()
        .await
        .unwrap();
    let lines = [
        line("GET /health", "ok-1=", None),
        line("GET /other-api", "perm-1=", Some(PERMISSION_TEXT)),
        line("GET /no-policy", "perm-2=", Some(PERMISSION_TEXT)),
        line("GET /bad-shape", "shape-1=", Some(SHAPE_TEXT)),
        // A client's path carries the token; API Gateway wrote nothing.
        line("GET /x/AUTHORIZER_CONFIGURATION_ERROR", "forged=", None),
    ];
    let start = now_ms();
    let events: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(start + i as i64)
                .message(l)
                .build()
                .unwrap()
        })
        .collect();
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name("$default")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();

    let topic = LocalTopic::create("check").await;
    let env = aws_env(&endpoint);
    let out = run(
        &[
            "check",
            "--log-group",
            &group,
            "--since",
            "15m",
            "--diagnose",
            "--api-id",
            &f.api_id,
            "--publish",
            &topic.topic_arn,
        ],
        &env,
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with(&format!(
            "{group}: 4 lines, 3 flagged, 1 ignored (token only in client-controlled text)\n"
        )),
        "{}",
        out.stdout
    );
    let arrow = |kind: Kind| {
        format!(
            "route GET /{} -> authorizer {}-auth ({}) -> function {}",
            kind.slug(),
            kind.slug(),
            f.authorizers[&kind],
            f.functions[&kind]
        )
    };
    for kind in [Kind::OtherApi, Kind::NoPolicy, Kind::BadShape] {
        assert!(
            out.stdout.contains(&arrow(kind)),
            "{kind:?}: {}",
            out.stdout
        );
    }
    // The alerts went out through SNS with the diagnosis in every body.
    let received = topic.receive(&topic.all, 2, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 2, "one alert per cause");
    let mut emails = BTreeMap::new();
    for m in &received {
        let envelope = sns_envelope(m);
        let machine: serde_json::Value =
            serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        assert_eq!(machine["diagnosis"]["status"], "checked", "{machine:#}");
        assert_eq!(machine["diagnosis"]["api_id"], f.api_id.as_str());
        emails.insert(
            machine["cause"].as_str().unwrap().to_owned(),
            machine["text"].as_str().unwrap().to_owned(),
        );
    }
    let permission = &emails["missing_invoke_permission"];
    assert!(
        permission.contains(&arrow(Kind::OtherApi)) && permission.contains(&arrow(Kind::NoPolicy)),
        "{permission}"
    );
    // Only the failing routes' authorizers are in the alert, each with its exact command.
    assert!(!permission.contains(&arrow(Kind::Allowed)), "{permission}");
    for kind in [Kind::OtherApi, Kind::NoPolicy] {
        assert!(
            permission.contains(&format!("  {}\n", add_permission(&f, kind))),
            "{permission}"
        );
    }
    let shape = &emails["invalid_response_format"];
    assert!(
        shape.contains("PROBLEM: simple responses are on but the payload format is 1.0"),
        "{shape}"
    );

    // A log group with nothing flagged in the window: exit 0.
    let empty = format!("{group}-empty");
    logs.create_log_group()
        .log_group_name(&empty)
        .send()
        .await
        .unwrap();
    let quiet = run(&["check", "--log-group", &empty, "--since", "15m"], &env);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert_eq!(quiet.stdout, format!("{empty}: 0 lines, 0 flagged\n"));
    let missing = run(
        &["check", "--log-group", "/no/such/group", "--since", "5m"],
        &env,
    );
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing
            .stderr
            .starts_with("forwarder: /no/such/group: logs:FilterLogEvents failed"),
        "{missing:?}"
    );
}

fn permission_event(api_id: &str) -> Vec<u8> {
    let line = format!(
        r#"{{"requestId":"perm-9=","routeKey":"GET /no-policy","status":"500","apiId":"{api_id}","authorizerError":"AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION_TEXT}"}}"#
    );
    let event = decode::encode_event(&line, "/aws/api/orders", "$default", ACCOUNT, now_ms());
    serde_json::to_vec(&event).unwrap()
}

fn diagnosing(format: &str) -> Config {
    Config {
        diagnose: true,
        region: Some(REGION.into()),
        format: LogFormat::parse(format).unwrap(),
        ..Config::default()
    }
}

const JSON_FORMAT: &str = r#"{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status","apiId":"$context.apiId","authorizerError":"$context.authorizer.error"}"#;

#[tokio::test]
async fn the_handler_enriches_from_the_api_id_in_the_line() {
    let f = fixture("handler", &[Kind::NoPolicy, Kind::Allowed]).await;
    let inspector = AwsInspector::new(&sdk_config(&moto_endpoint()).await);
    let publisher = MemoryPublisher::new();
    handle_event(
        &permission_event(&f.api_id),
        &diagnosing(JSON_FORMAT),
        &Services::new(&publisher).inspector(&inspector),
    )
    .await
    .unwrap();
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    let email = &sent[0].email;
    assert!(
        email.contains(&format!(
            "Diagnosis (API {}, live configuration):",
            f.api_id
        )),
        "{email}"
    );
    assert!(
        email.contains(&format!(
            "PROBLEM: function no-policy-handler-{}",
            std::process::id()
        )),
        "{email}"
    );
    assert!(
        email.contains(&add_permission(&f, Kind::NoPolicy)),
        "{email}"
    );
    let chat: serde_json::Value = serde_json::from_str(&sent[0].chat).unwrap();
    assert!(
        chat["content"]["nextSteps"]
            .to_string()
            .contains(&f.source_arn(Kind::NoPolicy)),
        "{chat:#}"
    );
}

// Several threads: the stub answers on this runtime while the CLI test waits for its process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_or_unreachable_lookups_leave_the_alert_standing() {
    let (denying, _requests) = denying_stub().await;
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let cases = [
        (
            denying,
            "Diagnosis unavailable: apigateway:GetRoutes was refused: AccessDeniedException",
        ),
        (
            unreachable,
            "Diagnosis unavailable: apigateway:GetRoutes failed: dispatch failure",
        ),
    ];
    for (endpoint, expected) in cases {
        let inspector = AwsInspector::new(&sdk_config(&endpoint).await);
        let publisher = MemoryPublisher::new();
        let started = Instant::now();
        handle_event(
            &permission_event("a1b2c3d4e5"),
            &diagnosing(JSON_FORMAT),
            &Services::new(&publisher).inspector(&inspector),
        )
        .await
        .expect("the alert goes out");
        assert!(
            started.elapsed() < forwarder::forward::DIAGNOSIS_BUDGET + Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let sent = publisher.sent();
        assert_eq!(sent.len(), 1, "{endpoint}");
        assert!(
            sent[0].email.contains(expected),
            "{expected}\n{}",
            sent[0].email
        );
        // The remedy's template command still tells a person what to run.
        assert!(sent[0].email.contains("aws lambda add-permission"));
        let machine: serde_json::Value = serde_json::from_str(&sent[0].machine).unwrap();
        assert_eq!(machine["diagnosis"]["status"], "unavailable");
    }

    // The CLI degrades the same way.
    let (denying, _requests) = denying_stub().await;
    let out = run(
        &[
            "scan",
            "--diagnose",
            "--api-id",
            "a1b2c3d4e5",
            "samplelogs/default-format.log",
        ],
        &aws_env(&denying),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "    Diagnosis unavailable: apigateway:GetRoutes was refused: AccessDeniedException"
        ),
        "{}",
        out.stdout
    );
}
