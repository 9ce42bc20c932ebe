//! A REST API (API Gateway v1) behind a `TOKEN` authorizer: `doctor`'s verdicts, the in-process
//! diagnosis, and `check` reading its execution log.

use std::time::Duration;

use forwarder::diagnose::inspect::{self, AwsInspector};
use forwarder_tests::{ACCOUNT, LocalTopic, REGION, moto_endpoint, sdk_config, sns_envelope};

use crate::{
    Kind, authorizer_function, aws_env, function_role, invocation_uri, permit, run, write_log,
};

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
