//! Diagnosis against moto_server: an HTTP API with Lambda authorizers whose functions have the
//! right permission, a wildcard one, one for another API and none; `doctor`, `check` and the
//! handler's enriched alerts must give each its verdict and exact command, and a refused or
//! unreachable API Gateway must leave the alert standing with "diagnosis unavailable". The same
//! verdicts for a REST API (API Gateway v1) behind a `TOKEN` authorizer and for a WebSocket API's
//! `$connect` authorizer, each found by its id alone.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_apigatewayv2::types::{AuthorizationType, AuthorizerType, ProtocolType};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use forwarder::alerts::publish::MemoryPublisher;
use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder::diagnose::inspect::{self, AwsInspector};
use forwarder::forward::{Services, handle_event};
use forwarder::sources;
use forwarder_tests::http::denying_stub;
use forwarder_tests::{
    ACCOUNT, EMPTY_ZIP, LocalTopic, REGION, TRUST, closed_port, forwarder, moto_endpoint,
    sdk_config, sns_envelope,
};

/// The smallest valid zip archive (an empty one): moto stores the code, it never runs it here.
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
    let role = function_role(&iam, &tag).await;
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
        let function_arn = authorizer_function(&lambda, &name, &role).await;
        let version = if kind == Kind::BadShape { "1.0" } else { "2.0" };
        let authorizer_id = apigw
            .create_authorizer()
            .api_id(&api_id)
            .name(format!("{}-auth", kind.slug()))
            .authorizer_type(AuthorizerType::Request)
            .authorizer_uri(invocation_uri(&function_arn))
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
        permit(&lambda, &name, kind, &api_id, &authorizer_id).await;
        fixture.authorizers.insert(kind, authorizer_id);
        fixture.functions.insert(kind, function_arn);
    }
    fixture
}

/// The role a function runs with.
async fn function_role(iam: &aws_sdk_iam::Client, tag: &str) -> String {
    iam.create_role()
        .role_name(format!("authorizer-{tag}"))
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("create role")
        .role
        .expect("role")
        .arn
}

/// A Lambda function for an authorizer to call; its ARN.
async fn authorizer_function(lambda: &aws_sdk_lambda::Client, name: &str, role: &str) -> String {
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(role)
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
        .expect("function ARN")
}

/// The authorizer URI API Gateway calls the function through.
fn invocation_uri(function_arn: &str) -> String {
    format!(
        "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
}

/// Gives function `name` the resource policy `kind` stands for, for authorizer `authorizer_id` of
/// API `api_id` (the same source ARN shape for every kind of API).
async fn permit(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    kind: Kind,
    api_id: &str,
    authorizer_id: &str,
) {
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
            .function_name(name)
            .statement_id("apigateway-invoke")
            .action("lambda:InvokeFunction")
            .principal("apigateway.amazonaws.com")
            .source_arn(source)
            .send()
            .await
            .expect("add permission");
    }
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
        "forwarder: API nosuchapi1 was not found in this account and region"
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

/// Creates `group` with one stream holding `messages`, one event each, written now.
async fn write_log(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    messages: &[String],
) {
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let start = now_ms();
    let events: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(start + i as i64)
                .message(m)
                .build()
                .unwrap()
        })
        .collect();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
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
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&endpoint).await);
    let group = format!("/aws/vendedlogs/apigateway/check-{}", std::process::id());
    let lines = [
        line("GET /health", "ok-1=", None),
        line("GET /other-api", "perm-1=", Some(PERMISSION_TEXT)),
        line("GET /no-policy", "perm-2=", Some(PERMISSION_TEXT)),
        line("GET /bad-shape", "shape-1=", Some(SHAPE_TEXT)),
        // A client's path carries the token; API Gateway wrote nothing.
        line("GET /x/AUTHORIZER_CONFIGURATION_ERROR", "forged=", None),
    ];
    write_log(&logs, &group, "$default", &lines).await;

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
    // The search asks for either token (`?A ?B`); moto's FilterLogEvents takes `?` patterns as
    // match-all, so the healthy line comes back too and the scan alone decides.
    assert!(
        out.stdout.starts_with(&format!(
            "{group}: 5 lines, 3 flagged, 1 ignored (token only in client-controlled text)\n"
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
    let event = sources::encode_event(&line, "/aws/api/orders", "$default", ACCOUNT, now_ms());
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
    // GetApi is the first call: it tells which kind of API the id names.
    let cases = [
        (
            denying,
            "Diagnosis unavailable: apigateway:GetApi was refused: AccessDeniedException",
        ),
        (
            unreachable,
            "Diagnosis unavailable: apigateway:GetApi failed: cannot connect to 127.0.0.1:",
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
            "    Diagnosis unavailable: apigateway:GetApi was refused: AccessDeniedException"
        ),
        "{}",
        out.stdout
    );
}

/// A REST API with `GET /pets` behind a `TOKEN` authorizer whose function has the permission
/// `kind` stands for, `POST /pets` behind a Cognito authorizer and an open `OPTIONS /pets`.
/// moto (5.2) embeds a resource's methods in `GetResources` whether `embed=methods` is asked for or
/// not and returns every item in one page, so this covers the reading of methods, not the paging.
struct RestFixture {
    api_id: String,
    authorizer_id: String,
    function_name: String,
    function_arn: String,
}

impl RestFixture {
    fn source_arn(&self) -> String {
        format!(
            "arn:aws:execute-api:{REGION}:{ACCOUNT}:{}/authorizers/{}",
            self.api_id, self.authorizer_id
        )
    }

    fn add_permission(&self) -> String {
        format!(
            "aws lambda add-permission --region {REGION} --function-name {} --statement-id apigateway-authorizer-{} --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn {}",
            self.function_arn,
            self.authorizer_id,
            self.source_arn()
        )
    }
}

async fn rest_fixture(test: &str, kind: Kind) -> RestFixture {
    use aws_sdk_apigateway::types::AuthorizerType as RestAuthorizerType;
    let tag = format!("{test}-{}-{}", kind.slug(), std::process::id());
    let sdk = sdk_config(&moto_endpoint()).await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let rest = aws_sdk_apigateway::Client::new(&sdk);
    let role = function_role(&aws_sdk_iam::Client::new(&sdk), &tag).await;
    let function_name = format!("pets-{tag}");
    let function_arn = authorizer_function(&lambda, &function_name, &role).await;
    let api_id = rest
        .create_rest_api()
        .name(format!("pets-{tag}"))
        .send()
        .await
        .expect("create REST API")
        .id
        .expect("REST API id");
    let root = rest
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .expect("get resources")
        .items()
        .iter()
        .find(|r| r.path() == Some("/"))
        .and_then(|r| r.id().map(str::to_owned))
        .expect("root resource");
    let pets = rest
        .create_resource()
        .rest_api_id(&api_id)
        .parent_id(root)
        .path_part("pets")
        .send()
        .await
        .expect("create resource")
        .id
        .expect("resource id");
    let authorizer_id = rest
        .create_authorizer()
        .rest_api_id(&api_id)
        .name("pets-token")
        .r#type(RestAuthorizerType::Token)
        .authorizer_uri(invocation_uri(&function_arn))
        .identity_source("method.request.header.Authorization")
        .send()
        .await
        .expect("create TOKEN authorizer")
        .id
        .expect("authorizer id");
    let cognito = rest
        .create_authorizer()
        .rest_api_id(&api_id)
        .name("pets-users")
        .r#type(RestAuthorizerType::CognitoUserPools)
        .provider_arns(format!(
            "arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_pets"
        ))
        .identity_source("method.request.header.Authorization")
        .send()
        .await
        .expect("create Cognito authorizer")
        .id
        .expect("authorizer id");
    for (method, authorization, authorizer) in [
        ("GET", "CUSTOM", Some(&authorizer_id)),
        ("POST", "COGNITO_USER_POOLS", Some(&cognito)),
        ("OPTIONS", "NONE", None),
    ] {
        rest.put_method()
            .rest_api_id(&api_id)
            .resource_id(&pets)
            .http_method(method)
            .authorization_type(authorization)
            .set_authorizer_id(authorizer.cloned())
            .send()
            .await
            .expect("put method");
    }
    permit(&lambda, &function_name, kind, &api_id, &authorizer_id).await;
    RestFixture {
        api_id,
        authorizer_id,
        function_name,
        function_arn,
    }
}

#[tokio::test]
async fn doctor_checks_a_rest_api_token_authorizer() {
    let env = aws_env(&moto_endpoint());
    for kind in [
        Kind::Allowed,
        Kind::Wildcard,
        Kind::OtherApi,
        Kind::NoPolicy,
    ] {
        let f = rest_fixture("rest", kind).await;
        let ok = matches!(kind, Kind::Allowed | Kind::Wildcard);
        let out = run(&["doctor", "--api-id", &f.api_id], &env);
        assert_eq!(out.code, if ok { 0 } else { 1 }, "{kind:?}: {out:?}");
        let text = &out.stdout;
        // One Lambda authorizer: the Cognito one calls no function.
        assert!(
            text.starts_with(&format!(
                "REST API {}: 1 Lambda authorizer checked, {} with problems\nauthorizer pets-token ({}): routes GET /pets\n  function {}\n",
                f.api_id,
                usize::from(!ok),
                f.authorizer_id,
                f.function_arn
            )),
            "{kind:?}: {text}"
        );
        assert!(
            text.contains(
                "  ok: REST API TOKEN authorizer: the function gets the caller's token from method.request.header.Authorization; no simple-response or payload-format settings: the function must return an IAM policy"
            ),
            "{kind:?}: {text}"
        );
        let verdict = match kind {
            Kind::OtherApi => format!(
                "  PROBLEM: no statement of {}'s resource policy lets API Gateway invoke it for {} (its statements for API Gateway name arn:aws:execute-api:{REGION}:{ACCOUNT}:zzzz999999/* instead)\n",
                f.function_name,
                f.source_arn()
            ),
            Kind::NoPolicy => format!(
                "  PROBLEM: function {} has no resource policy, so API Gateway may not invoke it for {}\n",
                f.function_name,
                f.source_arn()
            ),
            _ => format!(
                "  ok: statement apigateway-invoke of {} lets API Gateway invoke it for {}\n",
                f.function_name,
                f.source_arn()
            ),
        };
        assert!(text.contains(&verdict), "{kind:?}: {text}");
        let fix = format!("    fix: {}\n", f.add_permission());
        assert_eq!(text.contains(&fix), !ok, "{kind:?}: {text}");
        assert_eq!(text.contains("fix:"), !ok, "{kind:?}: {text}");
    }

    // The machine form says which kind was checked and shows no HTTP-only settings.
    let f = rest_fixture("rest-json", Kind::NoPolicy).await;
    let out = run(&["doctor", "--api-id", &f.api_id, "--json"], &env);
    assert_eq!(out.code, 1, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("doctor --json");
    assert_eq!(doc["api_kind"], "rest", "{doc:#}");
    assert_eq!(doc["authorizers_with_problems"], 1, "{doc:#}");
    let report = &doc["authorizers"][0];
    assert_eq!(
        report["routes"],
        serde_json::json!(["GET /pets"]),
        "{doc:#}"
    );
    assert_eq!(
        report["identity_source"],
        "method.request.header.Authorization"
    );
    assert!(report.get("simple_responses").is_none(), "{doc:#}");
    assert!(report.get("payload_format_version").is_none(), "{doc:#}");
    assert_eq!(report["checks"][0]["command"], f.add_permission().as_str());

    // An alert's diagnosis, read through the SDK in-process, names the kind too.
    let inspector = AwsInspector::new(&sdk_config(&moto_endpoint()).await);
    let evidence = inspect::gather(&inspector, &f.api_id, Duration::from_secs(30))
        .await
        .expect("read the REST API");
    assert_eq!(
        evidence.api.name.as_deref(),
        Some(&*format!("pets-rest-json-no-policy-{}", std::process::id()))
    );
    let d = forwarder::diagnose::diagnose(
        forwarder::model::cause::Cause::MissingInvokePermission,
        &evidence,
        &["GET /pets".to_owned()],
    );
    let text = forwarder::alerts::render::diagnosis_text(&d);
    assert!(
        text.starts_with(&format!(
            "Diagnosis (REST API {}, live configuration):\n  route GET /pets -> authorizer pets-token ({}) -> function {}\n",
            f.api_id, f.authorizer_id, f.function_arn
        )),
        "{text}"
    );
    assert_eq!(d.commands(), [f.add_permission()]);
}

#[tokio::test]
async fn doctor_checks_a_websocket_connect_authorizer() {
    let tag = format!("ws-{}", std::process::id());
    let sdk = sdk_config(&moto_endpoint()).await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let apigw = aws_sdk_apigatewayv2::Client::new(&sdk);
    let role = function_role(&aws_sdk_iam::Client::new(&sdk), &tag).await;
    let function_name = format!("connect-{tag}");
    let function_arn = authorizer_function(&lambda, &function_name, &role).await;
    let api_id = apigw
        .create_api()
        .name(format!("chat-{tag}"))
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .expect("create WebSocket API")
        .api_id
        .expect("API id");
    let authorizer_id = apigw
        .create_authorizer()
        .api_id(&api_id)
        .name("connect-auth")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri(invocation_uri(&function_arn))
        .identity_source("route.request.header.Auth")
        .send()
        .await
        .expect("create authorizer")
        .authorizer_id
        .expect("authorizer id");
    apigw
        .create_route()
        .api_id(&api_id)
        .route_key("$connect")
        .authorization_type(AuthorizationType::Custom)
        .authorizer_id(&authorizer_id)
        .send()
        .await
        .expect("create $connect route");
    apigw
        .create_route()
        .api_id(&api_id)
        .route_key("$default")
        .authorization_type(AuthorizationType::None)
        .send()
        .await
        .expect("create $default route");
    // No permission at all for the function.
    let source =
        format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/authorizers/{authorizer_id}");
    let fix = format!(
        "aws lambda add-permission --region {REGION} --function-name {function_arn} --statement-id apigateway-authorizer-{authorizer_id} --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn {source}"
    );
    let env = aws_env(&moto_endpoint());
    let out = run(&["doctor", "--api-id", &api_id], &env);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "WebSocket API {api_id}: 1 Lambda authorizer checked, 1 with problems\n\
             authorizer connect-auth ({authorizer_id}): routes $connect\n  function {function_arn}\n  \
             PROBLEM: function {function_name} has no resource policy, so API Gateway may not invoke it for {source}\n    \
             fix: {fix}\n  \
             ok: WebSocket API REQUEST authorizer, identity source route.request.header.Auth (on $connect); no simple-response or payload-format settings: the function must return an IAM policy for the event's methodArn, Effect Allow or Deny, context values only strings, numbers or booleans: {}\n",
            forwarder::diagnose::POLICY_RESPONSE
        )
    );
    let json = run(&["doctor", "--api-id", &api_id, "--json"], &env);
    assert_eq!(json.code, 1, "{json:?}");
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("doctor --json");
    assert_eq!(doc["api_kind"], "websocket", "{doc:#}");
    assert_eq!(doc["authorizers"][0]["checks"][0]["command"], fix.as_str());
}

/// A REST API's execution-log group, read by `check` with nothing but its name: the group names the
/// API, the diagnosis reads it through API Gateway v1, and the alert that reaches the queue through
/// SNS carries REST's verdict and exact command. A client's forged header line alerts no one.
#[tokio::test]
async fn check_reads_a_rest_execution_log_and_publishes_the_rest_verdict() {
    let f = rest_fixture("exec", Kind::NoPolicy).await;
    let endpoint = moto_endpoint();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&endpoint).await);
    let group = format!("API-Gateway-Execution-Logs_{}/prod", f.api_id);
    let failing = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let healthy = "3f6c1d2a-8b4e-4c1f-9a7d-1e2f3a4b5c6d";
    let messages = [
        format!("({failing}) Starting execution for request: {failing}"),
        format!("({failing}) HTTP Method: GET, Resource Path: /pets"),
        format!(
            "({failing}) Execution failed due to configuration error: Invalid permissions on Lambda function"
        ),
        format!("({failing}) AuthorizerConfigurationException"),
        format!("({failing}) Method completed with status: 500"),
        format!(
            "({healthy}) Method request headers: {{X-Debug=({healthy}) Execution failed due to configuration error: Could not parse policy}}"
        ),
        format!("({healthy}) Method completed with status: 200"),
    ];
    write_log(&logs, &group, "5f2b8c1e0d9a4f3b7e6c5d4a3b2c1d0e", &messages).await;

    let topic = LocalTopic::create("exec").await;
    let env = aws_env(&endpoint);
    let out = run(
        &[
            "check",
            "--log-group",
            &group,
            "--since",
            "15m",
            "--diagnose",
            "--publish",
            &topic.topic_arn,
        ],
        &env,
    );
    assert_eq!(out.code, 1, "{out:?}");
    // moto's FilterLogEvents takes `?` patterns as match-all, so every event comes back and the
    // scan alone decides.
    assert!(
        out.stdout.starts_with(&format!(
            "{group}: 7 lines, 1 flagged, 1 ignored (token only in client-controlled text)\n"
        )),
        "{}",
        out.stdout
    );
    let received = topic.receive(&topic.all, 1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "one alert: {received:?}");
    let envelope = sns_envelope(&received[0]);
    let machine: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(machine["cause"], "missing_invoke_permission", "{machine:#}");
    assert_eq!(machine["api_ids"], serde_json::json!([f.api_id]));
    assert_eq!(machine["diagnosis"]["status"], "checked", "{machine:#}");
    assert_eq!(machine["diagnosis"]["api_kind"], "rest", "{machine:#}");
    assert_eq!(machine["diagnosis"]["api_id"], f.api_id.as_str());
    let text = machine["text"].as_str().unwrap();
    for want in [
        format!("Sample request ids: {failing}"),
        "Invalid permissions on Lambda function".to_owned(),
        format!("Diagnosis (REST API {}", f.api_id),
        format!("  {}\n", f.add_permission()),
        format!("aws apigateway get-authorizers --rest-api-id {}", f.api_id),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains(healthy), "{text}");
    assert!(!text.contains("apigatewayv2"), "{text}");
}
