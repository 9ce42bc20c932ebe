//! A WebSocket API's `$connect` authorizer, found and checked by `doctor` from its id alone.

use aws_sdk_apigatewayv2::types::{AuthorizationType, AuthorizerType, ProtocolType};
use forwarder_tests::{ACCOUNT, REGION, moto_endpoint, sdk_config};

use crate::{authorizer_function, aws_env, function_role, invocation_uri, run};

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
