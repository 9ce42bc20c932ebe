//! The events that start a check, read only from what AWS wrote in them: EventBridge's envelope,
//! CloudFormation's stack status, CloudTrail's record of a call, and SQS's record around it.
//! Nothing here is client input, but every field is still checked for the shape AWS gives it, so
//! an event handed to the function by anything else cannot name what it checks.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::text::shape;

/// Why an event cannot start a check. The invocation fails with it, so Lambda's retries and the
/// dead-letter queue keep the event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not an EventBridge event: {0}")]
    Json(String),
    #[error("{field} is {value:?}, which {expected}")]
    Field {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

fn field(field: &'static str, value: &str, expected: &'static str) -> EventError {
    EventError::Field {
        field,
        value: crate::text::escape::truncate(value, 200).into_owned(),
        expected,
    }
}

/// The envelope EventBridge puts around every event
/// (<https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html>).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Cow<'a, str>,
    #[serde(borrow)]
    account: Cow<'a, str>,
    #[serde(borrow)]
    region: Cow<'a, str>,
    #[serde(default, borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(default)]
    detail: Value,
}

impl Envelope<'_> {
    fn read(bytes: &[u8]) -> Result<Envelope<'_>, EventError> {
        let e: Envelope =
            serde_json::from_slice(bytes).map_err(|e| EventError::Json(e.to_string()))?;
        if !shape::is_account_id(&e.account) {
            return Err(field("account", &e.account, "is not an account id"));
        }
        if !shape::is_region(&e.region) {
            return Err(field("region", &e.region, "is not a Region"));
        }
        Ok(e)
    }
}

/// `source` and `detail-type` of a stack's status change
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html>).
pub const STACK_SOURCE: &str = "aws.cloudformation";
pub const STACK_STATUS_CHANGE: &str = "CloudFormation Stack Status Change";
/// `detail-type` of a management call CloudTrail recorded.
pub const API_CALL: &str = "AWS API Call via CloudTrail";

/// The statuses after which a stack's resources are what it deployed: a check runs after these
/// only (the stack's rule selects them; any other is acknowledged and left).
pub const FINISHED: [&str; 3] = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
];

/// A stack's status change, as CloudFormation sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackChange {
    /// EventBridge's id of the event: the same on every retry of it.
    pub event_id: String,
    pub account: String,
    pub region: String,
    pub time: Option<String>,
    /// The stack's ARN, which names it uniquely (a name is reused after a delete).
    pub stack_id: String,
    pub stack_name: String,
    pub status: String,
}

impl StackChange {
    /// Whether the stack finished a deployment (one of [`FINISHED`]).
    pub fn finished(&self) -> bool {
        FINISHED.contains(&self.status.as_str())
    }
}

/// The parts of `arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID`: region, account,
/// name.
pub fn stack_arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let (name, id) = resource.strip_prefix("stack/")?.split_once('/')?;
    let ok = arn_ == "arn"
        && shape::is_partition(partition)
        && service == "cloudformation"
        && shape::is_region(region)
        && shape::is_account_id(account)
        && crate::text::shape::is_stack_name(name)
        && !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some((region, account, name))
}

/// Reads a `CloudFormation Stack Status Change` event. The stack must be in the event's own
/// account and Region, as CloudFormation sends them.
pub fn stack_change(bytes: &[u8]) -> Result<StackChange, EventError> {
    let e = Envelope::read(bytes)?;
    if e.source != STACK_SOURCE || e.detail_type != STACK_STATUS_CHANGE {
        return Err(field(
            "detail-type",
            &e.detail_type,
            "is not a CloudFormation stack status change",
        ));
    }
    let text = |v: &Value, name: &'static str| -> Result<String, EventError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| field(name, &v.to_string(), "is not a string"))
    };
    let stack_id = text(&e.detail["stack-id"], "detail.stack-id")?;
    let Some((region, account, name)) = stack_arn_parts(&stack_id) else {
        return Err(field(
            "detail.stack-id",
            &stack_id,
            "is not a CloudFormation stack ARN",
        ));
    };
    if account != e.account || region != e.region {
        return Err(field(
            "detail.stack-id",
            &stack_id,
            "is not in the event's account and Region",
        ));
    }
    let status = text(
        &e.detail["status-details"]["status"],
        "detail.status-details.status",
    )?;
    if status.is_empty()
        || status.len() > 64
        || !status.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
    {
        return Err(field(
            "detail.status-details.status",
            &status,
            "is not a stack status",
        ));
    }
    Ok(StackChange {
        stack_name: name.to_owned(),
        event_id: e.id.into_owned(),
        account: e.account.into_owned(),
        region: e.region.into_owned(),
        // EventBridge's ISO 8601 time; anything else is left out of what an alert says.
        time: e
            .time
            .filter(|t| t.len() <= 40 && t.bytes().all(|b| b.is_ascii_graphic()))
            .map(Cow::into_owned),
        stack_id,
        status,
    })
}

/// What a recorded call changed that a check looks at.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Changed {
    /// An API's deployment, stages, routes, methods or authorizers.
    Api(String),
    /// A function's resource policy: the APIs whose authorizers call it are checked.
    Function(String),
}

/// A management call CloudTrail recorded and EventBridge delivered
/// (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    pub account: String,
    pub region: String,
    pub changed: Changed,
    /// `eventName`, as CloudTrail wrote it.
    pub event_name: String,
    /// `userIdentity.arn`: who made the call, when CloudTrail names one.
    pub by: Option<String>,
}

/// Why a recorded call starts no check; acknowledged, not retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotChecked(pub String);

/// API Gateway's calls that change what an authorizer check reads (v1 and v2 share the names).
const API_GATEWAY_CALLS: [&str; 16] = [
    "CreateDeployment",
    "CreateStage",
    "UpdateStage",
    "CreateRoute",
    "UpdateRoute",
    "DeleteRoute",
    "CreateAuthorizer",
    "UpdateAuthorizer",
    "DeleteAuthorizer",
    "PutMethod",
    "UpdateMethod",
    "DeleteMethod",
    "ImportRestApi",
    "PutRestApi",
    "ImportApi",
    "ReimportApi",
];

/// Reads one `AWS API Call via CloudTrail` event. `Ok(Err(_))` is a call that changes nothing a
/// check reads (it failed, or another call), said why; `Err` an event that is not one.
pub fn api_call(bytes: &[u8]) -> Result<Result<ApiCall, NotChecked>, EventError> {
    let e = Envelope::read(bytes)?;
    if e.detail_type != API_CALL {
        return Err(field(
            "detail-type",
            &e.detail_type,
            "is not a call CloudTrail recorded",
        ));
    }
    let d = &e.detail;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let event_name = text(&d["eventName"]).unwrap_or_default();
    let event_source = text(&d["eventSource"]).unwrap_or_default();
    if let Some(code) = text(&d["errorCode"]) {
        return Ok(Err(NotChecked(format!(
            "{event_name} failed ({code}), so nothing changed"
        ))));
    }
    let request = &d["requestParameters"];
    let response = &d["responseElements"];
    let changed = match (e.source.as_ref(), event_source.as_str()) {
        ("aws.apigateway", "apigateway.amazonaws.com")
            if API_GATEWAY_CALLS.contains(&event_name.as_str()) =>
        {
            // v1 names the API `restApiId`, v2 `apiId`; an import names it only in its answer.
            let id = [
                &request["restApiId"],
                &request["apiId"],
                &response["apiId"],
                &response["id"],
                &response["self"]["restApiId"],
            ]
            .into_iter()
            .find_map(|v| v.as_str());
            match id {
                Some(id) if shape::is_api_id(id) => Changed::Api(id.to_owned()),
                Some(id) => return Err(field("the API id", id, "is not an API id")),
                None => {
                    return Ok(Err(NotChecked(format!("{event_name} names no API id"))));
                }
            }
        }
        ("aws.lambda", "lambda.amazonaws.com")
            if event_name.starts_with("AddPermission")
                || event_name.starts_with("RemovePermission") =>
        {
            let Some(name) = text(&request["functionName"]) else {
                return Ok(Err(NotChecked(format!("{event_name} names no function"))));
            };
            Changed::Function(function_name(&name).ok_or_else(|| {
                field(
                    "requestParameters.functionName",
                    &name,
                    "is not a function name or ARN",
                )
            })?)
        }
        _ => {
            return Ok(Err(NotChecked(format!(
                "{event_name} of {event_source} changes nothing an authorizer check reads"
            ))));
        }
    };
    Ok(Ok(ApiCall {
        account: e.account.into_owned(),
        region: e.region.into_owned(),
        changed,
        by: text(&d["userIdentity"]["arn"]).map(|by| bounded(&by)),
        event_name: bounded(&event_name),
    }))
}

/// A name from a record, as alerts may show it: at most 256 bytes.
fn bounded(s: &str) -> String {
    crate::text::escape::truncate(s, 256).into_owned()
}

/// The function's name from what `AddPermission` accepts: a name, `name:qualifier`, a partial
/// ARN (`ACCOUNT:function:NAME`) or a whole ARN. Compared with the name in an authorizer's ARN.
pub fn function_name(given: &str) -> Option<String> {
    let name = if let Some((_, _, _, name, _)) = shape::function_arn_parts(given) {
        name
    } else if let Some((account, rest)) = given.split_once(":function:") {
        shape::is_account_id(account).then_some(rest.split(':').next()?)?
    } else {
        given.split(':').next()?
    };
    shape::is_function_name(name).then(|| name.to_owned())
}

/// One record of an SQS batch
/// (<https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>): its id, for a partial batch
/// response, and its body, the EventBridge event.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct QueueRecord {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
    #[serde(rename = "eventSource")]
    pub event_source: String,
}

#[derive(Deserialize)]
struct QueueBatch {
    #[serde(rename = "Records")]
    records: Vec<QueueRecord>,
}

/// The records of an SQS batch, each from SQS.
pub fn queue_records(bytes: &[u8]) -> Result<Vec<QueueRecord>, EventError> {
    let batch: QueueBatch =
        serde_json::from_slice(bytes).map_err(|e| EventError::Json(e.to_string()))?;
    if let Some(r) = batch.records.iter().find(|r| r.event_source != "aws:sqs") {
        return Err(field("eventSource", &r.event_source, "is not aws:sqs"));
    }
    Ok(batch.records)
}

/// A scheduled event: its id, account and rule (`resources[0]`, the rule's ARN), so the sweep's
/// schedule is told from the recovery schedule's by the name the stack gave each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled {
    pub event_id: String,
    pub account: String,
    pub rule: String,
}

pub fn scheduled(bytes: &[u8]) -> Option<Scheduled> {
    #[derive(Deserialize)]
    struct Event {
        id: String,
        account: String,
        resources: Vec<String>,
    }
    let e: Event = serde_json::from_slice(bytes).ok()?;
    let (_, rule) = e.resources.first()?.split_once(":rule/")?;
    shape::is_account_id(&e.account).then(|| Scheduled {
        event_id: e.id,
        account: e.account,
        rule: rule.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "arn:aws:cloudformation:eu-west-3:123456789012:stack/cf-event-testing/dca9d690-12fc-11ed-acb4-0e99ce9abea2";

    /// A real event's shape (see the module docs' page), with our account.
    fn stack_event(stack: &str, status: &str) -> String {
        serde_json::json!({
            "version": "0", "id": "1e789968-f1d2-426f-db05-e8bca2e199d8",
            "detail-type": "CloudFormation Stack Status Change", "source": "aws.cloudformation",
            "account": "123456789012", "time": "2022-08-03T07:22:45Z", "region": "eu-west-3",
            "resources": [stack],
            "detail": {"stack-id": stack, "status-details": {"status": status, "status-reason": ""}}
        })
        .to_string()
    }

    #[test]
    fn a_stack_status_change_is_read_from_cloudformation_s_fields() {
        let c = stack_change(stack_event(STACK, "UPDATE_COMPLETE").as_bytes()).unwrap();
        assert_eq!(c.stack_name, "cf-event-testing");
        assert_eq!(c.stack_id, STACK);
        assert_eq!(c.account, "123456789012");
        assert!(c.finished());
        let c = stack_change(stack_event(STACK, "UPDATE_ROLLBACK_FAILED").as_bytes()).unwrap();
        assert!(!c.finished());
    }

    #[test]
    fn a_stack_event_that_cloudformation_would_not_send_is_refused() {
        let other_account = STACK.replace("123456789012", "210987654321");
        let other_region = STACK.replace("eu-west-3", "us-east-1");
        for (event, says) in [
            (
                stack_event(&other_account, "CREATE_COMPLETE"),
                "account and Region",
            ),
            (
                stack_event(&other_region, "CREATE_COMPLETE"),
                "account and Region",
            ),
            (stack_event("my-stack", "CREATE_COMPLETE"), "stack ARN"),
            (
                stack_event(STACK, "create complete; rm -rf"),
                "stack status",
            ),
            (
                stack_event(STACK, "CREATE_COMPLETE").replace("aws.cloudformation", "my.app"),
                "stack status change",
            ),
            ("{}".to_owned(), "not an EventBridge event"),
        ] {
            let e = stack_change(event.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    fn call(source: &str, event_source: &str, name: &str, request: Value) -> String {
        serde_json::json!({
            "version": "0", "id": "6f1e0c4e", "detail-type": "AWS API Call via CloudTrail",
            "source": source, "account": "123456789012", "time": "2026-12-07T10:00:00Z",
            "region": "us-east-1", "resources": [],
            "detail": {
                "eventSource": event_source, "eventName": name, "awsRegion": "us-east-1",
                "userIdentity": {"arn": "arn:aws:iam::123456789012:user/dev"},
                "requestParameters": request, "responseElements": null
            }
        })
        .to_string()
    }

    #[test]
    fn calls_name_the_api_or_function_they_changed() {
        use serde_json::json;
        let gw = |name: &str, req: Value| {
            api_call(call("aws.apigateway", "apigateway.amazonaws.com", name, req).as_bytes())
                .unwrap()
                .map(|c| c.changed)
        };
        let fun = |name: &str, req: Value| {
            api_call(call("aws.lambda", "lambda.amazonaws.com", name, req).as_bytes())
                .unwrap()
                .map(|c| c.changed)
        };
        // Real request parameters of each API version (CloudTrail records them as sent).
        assert_eq!(
            gw(
                "CreateDeployment",
                json!({"restApiId": "67ge356u6d", "createDeploymentInput": {"stageName": "test"}})
            ),
            Ok(Changed::Api("67ge356u6d".into()))
        );
        assert_eq!(
            gw(
                "CreateStage",
                json!({"stageName": "prod", "autoDeploy": true, "apiId": "pxzfkfmjo7"})
            ),
            Ok(Changed::Api("pxzfkfmjo7".into()))
        );
        assert!(gw("GetApis", json!({})).is_err());
        for given in [
            "processor",
            "processor:live",
            "123456789012:function:processor",
            "arn:aws:lambda:us-east-1:123456789012:function:processor",
        ] {
            assert_eq!(
                fun(
                    "AddPermission20150331v2",
                    json!({"functionName": given, "statementId": "s"})
                ),
                Ok(Changed::Function("processor".into())),
                "{given}"
            );
        }
        assert_eq!(
            fun("RemovePermission20150331v2", json!({"functionName": "f"})),
            Ok(Changed::Function("f".into()))
        );
        assert!(fun("Invoke", json!({"functionName": "f"})).is_err());
        // A lambda source cannot speak for API Gateway.
        let crossed = call(
            "aws.lambda",
            "apigateway.amazonaws.com",
            "CreateDeployment",
            json!({"restApiId": "67ge356u6d"}),
        );
        assert!(api_call(crossed.as_bytes()).unwrap().is_err());
    }

    #[test]
    fn failed_calls_and_bad_ids_start_no_check() {
        let mut failed: Value = serde_json::from_str(&call(
            "aws.apigateway",
            "apigateway.amazonaws.com",
            "UpdateStage",
            serde_json::json!({"restApiId": "67ge356u6d"}),
        ))
        .unwrap();
        failed["detail"]["errorCode"] = "AccessDenied".into();
        let why = api_call(failed.to_string().as_bytes())
            .unwrap()
            .unwrap_err();
        assert!(why.0.contains("AccessDenied"), "{why:?}");
        let bad = call(
            "aws.apigateway",
            "apigateway.amazonaws.com",
            "UpdateStage",
            serde_json::json!({"restApiId": "../../x"}),
        );
        assert!(api_call(bad.as_bytes()).is_err());
    }

    #[test]
    fn queue_batches_come_from_sqs() {
        let batch = serde_json::json!({"Records": [
            {"messageId": "m1", "body": "{}", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"}
        ]});
        assert_eq!(
            queue_records(batch.to_string().as_bytes()).unwrap()[0].message_id,
            "m1"
        );
        let kinesis = batch.to_string().replace("aws:sqs", "aws:kinesis");
        assert!(queue_records(kinesis.as_bytes()).is_err());
    }

    #[test]
    fn a_schedule_names_its_rule() {
        let event = r#"{"id":"e1","account":"123456789012","source":"aws.events","detail-type":"Scheduled Event","resources":["arn:aws:events:us-east-1:123456789012:rule/forwarder-sweep-abc"]}"#;
        assert_eq!(
            scheduled(event.as_bytes()).map(|s| s.rule).as_deref(),
            Some("forwarder-sweep-abc")
        );
        assert_eq!(scheduled(b"{}"), None);
    }
}
