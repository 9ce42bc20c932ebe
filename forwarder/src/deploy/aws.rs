//! The AWS calls of a check: CloudFormation and the API listings for [`Catalog`], API Gateway's
//! `TestInvokeAuthorizer` and Lambda's `Invoke` for [`Prober`].

use super::catalog::{Catalog, FoundApi, StackResource};
use super::probe::{Invocation, Prober, TestInvoke, TestRequest};
use crate::diagnose::ApiKind;
use crate::diagnose::inspect::{InspectError, failure, next_page};

/// Reads stacks and API listings through the SDK.
#[derive(Clone, Debug)]
pub struct AwsCatalog {
    cloudformation: aws_sdk_cloudformation::Client,
    apigw: aws_sdk_apigatewayv2::Client,
    rest: aws_sdk_apigateway::Client,
}

impl AwsCatalog {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            cloudformation: aws_sdk_cloudformation::Client::new(sdk),
            apigw: aws_sdk_apigatewayv2::Client::new(sdk),
            rest: aws_sdk_apigateway::Client::new(sdk),
        }
    }
}

impl Catalog for AwsCatalog {
    async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, InspectError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .cloudformation
                .list_stack_resources()
                .stack_name(stack)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| failure("cloudformation:ListStackResources", &e))?;
            out.extend(
                page.stack_resource_summaries()
                    .iter()
                    .map(|r| StackResource {
                        resource_type: r.resource_type().unwrap_or_default().to_owned(),
                        logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                        physical_id: r.physical_resource_id().unwrap_or_default().to_owned(),
                    }),
            );
            match next_page(next.as_deref(), page.next_token()) {
                Some(t) => next = Some(t),
                None => return Ok(out),
            }
        }
    }

    async fn apis(&self) -> Result<Vec<FoundApi>, InspectError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .apigw
                .get_apis()
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| failure("apigateway:GetApis", &e))?;
            out.extend(page.items().iter().filter_map(|a| {
                Some(FoundApi {
                    api_id: a.api_id()?.to_owned(),
                    kind: Some(match a.protocol_type().map(|p| p.as_str()) {
                        Some("WEBSOCKET") => ApiKind::WebSocket,
                        _ => ApiKind::Http,
                    }),
                    logical_id: None,
                })
            }));
            match next_page(next.as_deref(), page.next_token()) {
                Some(t) => next = Some(t),
                None => break,
            }
        }
        let mut position: Option<String> = None;
        loop {
            let page = self
                .rest
                .get_rest_apis()
                .limit(500)
                .set_position(position.clone())
                .send()
                .await
                .map_err(|e| failure("apigateway:GetRestApis", &e))?;
            out.extend(page.items().iter().filter_map(|a| {
                Some(FoundApi {
                    api_id: a.id()?.to_owned(),
                    kind: Some(ApiKind::Rest),
                    logical_id: None,
                })
            }));
            match next_page(position.as_deref(), page.position()) {
                Some(p) => position = Some(p),
                None => break,
            }
        }
        out.retain(|a| crate::text::shape::is_api_id(&a.api_id));
        Ok(out)
    }
}

/// Tries authorizers through the SDK.
#[derive(Clone, Debug)]
pub struct AwsProber {
    rest: aws_sdk_apigateway::Client,
    lambda: aws_sdk_lambda::Client,
}

/// A try runs the authorizer, whose cold start may take seconds: longer than a diagnosis read
/// may wait, within [`super::CHECK_BUDGET`].
fn probe_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(8))
        .operation_timeout(std::time::Duration::from_secs(9))
        .build()
}

impl AwsProber {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let sdk = sdk.to_builder().timeout_config(probe_timeouts()).build();
        Self {
            rest: aws_sdk_apigateway::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
        }
    }
}

impl Prober for AwsProber {
    async fn test_invoke(
        &self,
        rest_api_id: &str,
        authorizer_id: &str,
        request: &TestRequest,
    ) -> Result<TestInvoke, InspectError> {
        let mut call = self
            .rest
            .test_invoke_authorizer()
            .rest_api_id(rest_api_id)
            .authorizer_id(authorizer_id)
            .path_with_query_string(&request.path_with_query);
        for (name, value) in &request.headers {
            call = call.headers(name, value);
        }
        let answer = call
            .send()
            .await
            .map_err(|e| failure("apigateway:TestInvokeAuthorizer", &e))?;
        Ok(TestInvoke {
            client_status: answer.client_status(),
            log: answer.log().unwrap_or_default().to_owned(),
        })
    }

    async fn invoke(&self, function_arn: &str, payload: &str) -> Result<Invocation, InspectError> {
        let answer = self
            .lambda
            .invoke()
            .function_name(function_arn)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload.as_bytes()))
            .send()
            .await
            .map_err(|e| failure("lambda:InvokeFunction", &e))?;
        Ok(Invocation {
            function_error: answer.function_error().map(str::to_owned),
            payload: answer
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default(),
        })
    }
}
