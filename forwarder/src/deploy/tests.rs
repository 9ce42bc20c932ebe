//! The check's decisions with every AWS call in memory: what alerts, what stays quiet, and how a
//! check's window meets traffic.

use super::*;
use crate::alerts::flood::MemoryWindows;
use crate::alerts::publish::MemoryPublisher;
use crate::diagnose::inspect::MemoryInspector;
use crate::diagnose::{ApiConfig, Authorizer, Route};
use catalog::MemoryCatalog;
use probe::NoProbes;

const ACCOUNT: &str = "123456789012";
const API: &str = "a1b2c3d4e5";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:auth";

fn api(role: Option<&str>) -> ApiConfig {
    ApiConfig {
        api_id: API.into(),
        kind: ApiKind::Http,
        name: Some("orders".into()),
        routes: vec![Route {
            route_key: "GET /orders".into(),
            authorization_type: Some("CUSTOM".into()),
            authorizer_id: Some("au1".into()),
        }],
        authorizers: vec![Authorizer {
            id: "au1".into(),
            name: "orders-auth".into(),
            authorizer_type: "REQUEST".into(),
            uri: Some(format!(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"
            )),
            credentials_arn: role.map(Into::into),
            simple_responses: true,
            payload_format_version: Some("2.0".into()),
            identity_source: Some("$request.header.Authorization".into()),
        }],
    }
}

fn inspector(role: Option<&str>, policy: Option<&str>) -> MemoryInspector {
    MemoryInspector {
        apis: [(API.to_owned(), api(role))].into(),
        policies: [(FUNCTION.to_owned(), policy.map(Into::into))].into(),
        failure: None,
    }
}

/// The statement `aws lambda add-permission` writes for the authorizer.
fn allowing() -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "apigw", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": FUNCTION,
        "Condition": {"ArnLike": {"AWS:SourceArn": format!("arn:aws:execute-api:us-east-1:{ACCOUNT}:{API}/authorizers/au1")}}
    }]})
    .to_string()
}

fn config() -> Config {
    Config {
        region: Some("us-east-1".into()),
        state_table: Some("windows".into()),
        window_seconds: 900,
        ..Config::default()
    }
}

async fn run(
    inspector: &MemoryInspector,
    windows: &MemoryWindows,
    publisher: &MemoryPublisher,
    config: &Config,
    batch: &str,
) -> Result<CheckOutcome, ForwardError> {
    let services = Services::new(publisher).windows(windows);
    let checkers = Checkers {
        catalog: &MemoryCatalog::default(),
        prober: &NoProbes,
        inspector,
    };
    checkers
        .check_and_alert(
            &[API.to_owned()],
            Trigger::Sweep,
            ACCOUNT,
            batch,
            config,
            &services,
        )
        .await
}

fn traffic(cause: Cause) -> Group {
    Group {
        count: 3,
        log_group: Some("/aws/api/orders".into()),
        sample_request_ids: vec!["r1".into()],
        ..group_of(
            &Checked {
                api_id: API.into(),
                api_kind: ApiKind::Http,
                name: None,
                authorizers: Vec::new(),
            },
            cause,
            ACCOUNT,
        )
    }
}

#[tokio::test]
async fn a_problem_found_before_traffic_is_the_window_traffic_joins() {
    let (windows, publisher) = (MemoryWindows::default(), MemoryPublisher::new());
    let outcome = run(
        &inspector(None, None),
        &windows,
        &publisher,
        &config(),
        "check:e1",
    )
    .await
    .unwrap();
    assert_eq!(outcome.message_ids.len(), 1, "{outcome:?}");
    let alert = &publisher.sent()[0];
    assert_eq!(alert.attributes.cause, "missing_invoke_permission");
    assert!(
        alert.subject.ends_with("(before traffic)"),
        "{}",
        alert.subject
    );
    assert!(
        alert.email.contains("aws lambda add-permission"),
        "{}",
        alert.email
    );
    // The first failing request lands in the same window (and so the same thread).
    let mut groups = vec![traffic(Cause::MissingInvokePermission)];
    let gate = flood::gate(&mut groups, &windows, "logs|s|1", now_seconds(), 900).await;
    assert_eq!((gate.suppressed, groups.len()), (1, 0));
    // Silence never reports it over: an API nobody calls is quiet and still broken.
    let later = now_seconds() + 10 * 86_400;
    assert!(windows.quiet(later, 0).await.unwrap().is_empty());
    assert!(!windows.pending().await.unwrap());
    // A check that finds it fixed does, once.
    let fixed = inspector(None, Some(&allowing()));
    let publisher = MemoryPublisher::new();
    let outcome = run(&fixed, &windows, &publisher, &config(), "check:e2")
        .await
        .unwrap();
    assert_eq!(outcome.fixed, 1, "{outcome:?}");
    let note = &publisher.sent()[0];
    assert!(note.machine.contains("\"fixed\":"), "{}", note.machine);
    let again = run(
        &fixed,
        &windows,
        &MemoryPublisher::new(),
        &config(),
        "check:e3",
    )
    .await
    .unwrap();
    assert_eq!((again.fixed, again.message_ids.len()), (0, 0));
}

#[tokio::test]
async fn a_check_that_proves_nothing_alerts_on_nothing_and_closes_nothing() {
    let windows = MemoryWindows::default();
    // Traffic reported the problem first.
    let mut groups = vec![traffic(Cause::MissingInvokePermission)];
    flood::gate(&mut groups, &windows, "logs|s|1", now_seconds(), 900).await;
    // An invoke role: its policies are not read, so neither a failure nor a fix is proven.
    let role = inspector(Some("arn:aws:iam::123456789012:role/invoke"), None);
    let publisher = MemoryPublisher::new();
    let outcome = run(&role, &windows, &publisher, &config(), "check:e1")
        .await
        .unwrap();
    assert!(publisher.sent().is_empty(), "{:?}", publisher.sent());
    assert_eq!((outcome.fixed, outcome.suppressed), (0, 0));
    assert!(
        windows
            .unreported(&flood::key(&traffic(Cause::Unknown)))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn an_api_that_cannot_be_read_fails_the_invocation_by_name() {
    let mut unreadable = inspector(None, None);
    unreadable.failure = Some(InspectError::Denied {
        call: "apigateway:GetApi",
        reason: "AccessDeniedException: no".into(),
    });
    let err = run(
        &unreadable,
        &MemoryWindows::default(),
        &MemoryPublisher::new(),
        &config(),
        "check:e1",
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{API}: apigateway:GetApi was refused")),
        "{err}"
    );
    // An API that is gone is not an error: a rollback may have removed it.
    let gone = MemoryInspector::default();
    let outcome = run(
        &gone,
        &MemoryWindows::default(),
        &MemoryPublisher::new(),
        &config(),
        "check:e1",
    )
    .await
    .unwrap();
    assert_eq!(outcome.apis[0].verdict, Verdict::NotFound);
}

#[tokio::test]
async fn the_sweep_of_every_api_checks_what_the_account_lists() {
    let catalog = MemoryCatalog {
        apis: vec![catalog::FoundApi {
            api_id: API.into(),
            kind: Some(ApiKind::Http),
            logical_id: None,
        }],
        ..MemoryCatalog::default()
    };
    let config = Config {
        sweep: Some(Sweep::All),
        ..config()
    };
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher);
    let inspector = inspector(None, None);
    let checkers = Checkers {
        catalog: &catalog,
        prober: &NoProbes,
        inspector: &inspector,
    };
    let outcome = checkers
        .sweep("e1", ACCOUNT, &config, &services)
        .await
        .unwrap();
    assert_eq!(outcome.apis.len(), 1);
    assert_eq!(publisher.sent().len(), 1);
    let off = checkers
        .sweep("e1", ACCOUNT, &Config::default(), &services)
        .await
        .unwrap();
    assert!(off.ignored.is_some());
}

/// Reads like `inner`, but `api` cannot be read.
struct Unreadable<'a>(&'a MemoryInspector, &'static str);

impl Inspector for Unreadable<'_> {
    async fn api(&self, api_id: &str) -> Result<ApiConfig, InspectError> {
        if api_id == self.1 {
            return Err(InspectError::Failed {
                call: "apigateway:GetApi",
                reason: "ThrottlingException: slow down".into(),
            });
        }
        self.0.api(api_id).await
    }

    async fn policy(&self, function_arn: &str) -> Result<Option<String>, InspectError> {
        self.0.policy(function_arn).await
    }
}

#[tokio::test]
async fn an_api_not_checked_fails_only_the_records_that_named_it() {
    let call = |id: &str| {
        serde_json::json!({
            "id": "e", "source": "aws.apigateway", "detail-type": "AWS API Call via CloudTrail",
            "account": ACCOUNT, "region": "us-east-1",
            "detail": {"eventSource": "apigateway.amazonaws.com", "eventName": "UpdateStage",
                       "requestParameters": {"apiId": id}}
        })
        .to_string()
    };
    let batch = serde_json::json!({"Records": [
        {"messageId": "m1", "body": call(API), "eventSource": "aws:sqs"},
        {"messageId": "m2", "body": call("zzzzzzzzzz"), "eventSource": "aws:sqs"},
    ]});
    let memory = inspector(None, None);
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher);
    let checkers = Checkers {
        catalog: &MemoryCatalog::default(),
        prober: &NoProbes,
        inspector: &Unreadable(&memory, "zzzzzzzzzz"),
    };
    let response = checkers
        .api_changes(batch.to_string().as_bytes(), &config(), &services)
        .await
        .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m2"]);
    // The API that was read alerted, and the response says so.
    assert_eq!(response.outcome.message_ids.len(), 1);
    assert_eq!(publisher.sent().len(), 1);
}
