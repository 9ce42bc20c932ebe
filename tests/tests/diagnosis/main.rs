//! Diagnosis against moto_server: an HTTP API with Lambda authorizers whose functions have the
//! right permission, a wildcard one, one for another API and none; `doctor`, `check` and the
//! handler's enriched alerts must give each its verdict and exact command, and a refused or
//! unreachable API Gateway must leave the alert standing with "diagnosis unavailable". The same
//! verdicts for a REST API (API Gateway v1) behind a `TOKEN` authorizer and for a WebSocket API's
//! `$connect` authorizer, each found by its id alone.

mod handler;
mod http_api;
mod rest_api;
mod websocket;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_apigatewayv2::types::{AuthorizationType, AuthorizerType, ProtocolType};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use forwarder_tests::{ACCOUNT, EMPTY_ZIP, REGION, TRUST, forwarder, moto_endpoint, sdk_config};

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
