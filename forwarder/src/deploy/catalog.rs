//! Finding the APIs to check: the ones a stack (and its nested stacks) created, or every API in
//! the account and Region. Each AWS call sits behind [`Catalog`], with an in-memory version.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use crate::diagnose::ApiKind;
use crate::diagnose::inspect::InspectError;

/// One resource of a stack, as `ListStackResources` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackResource {
    pub resource_type: String,
    pub logical_id: String,
    /// The API id for an API, the nested stack's ARN for a nested stack; empty while a resource
    /// is not created.
    pub physical_id: String,
}

/// An API to check, and where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundApi {
    pub api_id: String,
    /// Known from the resource type; `None` when listed without one.
    pub kind: Option<ApiKind>,
    /// The logical id in its stack, when a stack created it.
    pub logical_id: Option<String>,
}

/// The calls that find APIs.
pub trait Catalog: Sync {
    /// Every resource of the stack, all pages
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html>).
    fn stack_resources(
        &self,
        stack: &str,
    ) -> impl Future<Output = Result<Vec<StackResource>, InspectError>> + Send;

    /// Every API in the account and Region, all pages (`GetApis` and `GetRestApis`).
    fn apis(&self) -> impl Future<Output = Result<Vec<FoundApi>, InspectError>> + Send;
}

/// How deep nested stacks are followed. CloudFormation allows no cycle; the bound keeps a
/// catalog that answered one from looping.
const MAX_NESTING: usize = 10;

/// The APIs of a stack and of the stacks nested in it, in the order found, each once.
pub async fn stack_apis<C: Catalog>(
    catalog: &C,
    stack: &str,
) -> Result<Vec<FoundApi>, InspectError> {
    let mut found = Vec::new();
    let mut seen_apis = BTreeSet::new();
    let mut seen_stacks = BTreeSet::from([stack.to_owned()]);
    let mut level = vec![stack.to_owned()];
    for _ in 0..MAX_NESTING {
        let mut next = Vec::new();
        for s in &level {
            for r in catalog.stack_resources(s).await? {
                if r.physical_id.is_empty() {
                    continue;
                }
                let kind = match r.resource_type.as_str() {
                    // SAM's `AWS::Serverless::HttpApi` and `Api`, CDK's and the Serverless
                    // Framework's APIs are listed as the resources they become.
                    "AWS::ApiGatewayV2::Api" => None,
                    "AWS::ApiGateway::RestApi" => Some(ApiKind::Rest),
                    "AWS::CloudFormation::Stack" => {
                        if seen_stacks.insert(r.physical_id.clone()) {
                            next.push(r.physical_id);
                        }
                        continue;
                    }
                    _ => continue,
                };
                if crate::text::shape::is_api_id(&r.physical_id)
                    && seen_apis.insert(r.physical_id.clone())
                {
                    found.push(FoundApi {
                        api_id: r.physical_id,
                        kind,
                        logical_id: Some(r.logical_id),
                    });
                }
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    Ok(found)
}

/// A catalog in memory, for tests and previews.
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    pub stacks: HashMap<String, Vec<StackResource>>,
    pub apis: Vec<FoundApi>,
}

impl Catalog for MemoryCatalog {
    async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, InspectError> {
        self.stacks
            .get(stack)
            .cloned()
            .ok_or_else(|| InspectError::Failed {
                call: "ListStackResources",
                reason: format!("ValidationError: Stack with id {stack} does not exist"),
            })
    }

    async fn apis(&self) -> Result<Vec<FoundApi>, InspectError> {
        Ok(self.apis.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(t: &str, logical: &str, physical: &str) -> StackResource {
        StackResource {
            resource_type: t.into(),
            logical_id: logical.into(),
            physical_id: physical.into(),
        }
    }

    #[tokio::test]
    async fn a_stack_s_apis_include_its_nested_stacks_once_each() {
        let nested = "arn:aws:cloudformation:us-east-1:123456789012:stack/root-Api-1/abc";
        let mut catalog = MemoryCatalog::default();
        catalog.stacks.insert(
            "root".into(),
            vec![
                resource("AWS::ApiGatewayV2::Api", "ServerlessHttpApi", "a1b2c3d4e5"),
                resource("AWS::Lambda::Function", "Auth", "auth-fn"),
                resource("AWS::CloudFormation::Stack", "Api", nested),
                // Not created yet, and not an id: neither is checked.
                resource("AWS::ApiGateway::RestApi", "Pending", ""),
                resource("AWS::ApiGateway::RestApi", "Odd", "not an id"),
            ],
        );
        catalog.stacks.insert(
            nested.into(),
            vec![
                resource(
                    "AWS::ApiGateway::RestApi",
                    "ServerlessRestApi",
                    "r1s2t3u4v5",
                ),
                resource("AWS::ApiGatewayV2::Api", "Again", "a1b2c3d4e5"),
                // A loop back to the root is not followed.
                resource("AWS::CloudFormation::Stack", "Root", "root"),
            ],
        );
        let apis = stack_apis(&catalog, "root").await.unwrap();
        let ids: Vec<_> = apis.iter().map(|a| (a.api_id.as_str(), a.kind)).collect();
        assert_eq!(
            ids,
            [("a1b2c3d4e5", None), ("r1s2t3u4v5", Some(ApiKind::Rest))]
        );
        assert!(stack_apis(&catalog, "gone").await.is_err());
    }
}
