//! The APIs the flood problems happen on, made in moto so the forwarders' diagnosis reads them
//! through the faults: an HTTP API whose `GET /orders` route uses a Lambda authorizer, and the
//! function without the permission API Gateway needs to call it.

use aws_sdk_apigatewayv2::types::{AuthorizationType, AuthorizerType, ProtocolType};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use forwarder_tests::{EMPTY_ZIP, REGION, TRUST};

/// Creates `count` such APIs; their ids.
pub async fn create(aws: &aws_config::SdkConfig, count: usize) -> Vec<String> {
    let iam = aws_sdk_iam::Client::new(aws);
    let lambda = aws_sdk_lambda::Client::new(aws);
    let apigw = aws_sdk_apigatewayv2::Client::new(aws);
    let role = iam
        .create_role()
        .role_name("soak-authorizer")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("create role")
        .role
        .expect("role")
        .arn;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let function_arn = lambda
            .create_function()
            .function_name(format!("soak-authorizer-{n}"))
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
        let api_id = apigw
            .create_api()
            .name(format!("soak-orders-{n}"))
            .protocol_type(ProtocolType::Http)
            .send()
            .await
            .expect("create API")
            .api_id
            .expect("API id");
        let authorizer_id = apigw
            .create_authorizer()
            .api_id(&api_id)
            .name("orders-auth")
            .authorizer_type(AuthorizerType::Request)
            .authorizer_uri(format!(
                "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
            ))
            .authorizer_payload_format_version("2.0")
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
            .route_key("GET /orders")
            .authorization_type(AuthorizationType::Custom)
            .authorizer_id(&authorizer_id)
            .send()
            .await
            .expect("create route");
        ids.push(api_id);
    }
    ids
}
