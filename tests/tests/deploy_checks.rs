//! Checks before traffic, end to end. moto's CloudFormation (with the API Gateway models of
//! tests/moto_server.py) creates a stack whose HTTP API's authorizer lacks the invoke permission,
//! next to a REST API whose authorizer lacks it too. The forwarder, run as Lambda runs it (the
//! Runtime API of tests/src/runtime_api.rs, publishing to moto's SNS), gets the stack's status
//! event and its alert reaches the SQS subscriber with no request made; the stack updated with the
//! permissions gives the recovery notes. A burst of CloudTrail-recorded calls is one check per API,
//! the sweep checks the APIs it names, and `doctor --stack` checks what a stack created.
//!
//! moto does not serve `TestInvokeAuthorizer`, so API Gateway v1 is reached through a loopback
//! server that answers that one call with the JSON API Gateway answers (its log lines as
//! serverless/serverless#1784 quotes them) and passes every other call to moto
//! (`forwarder_tests::http::answering_proxy`). moto would run a function's code in Docker, so
//! Lambda's `Invoke` of an authorizer is answered the same way, with what the function returns.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forwarder_tests::http::answering_proxy;
use forwarder_tests::runtime_api::{Outcome, RuntimeApi};
use forwarder_tests::{
    ACCOUNT, LocalTopic, REGION, create_windows_table, forwarder, forwarder_bin, moto_endpoint,
    sdk_config, sns_envelope,
};
use serde_json::{Value, json};

/// What API Gateway's test of a REST authorizer answers when the function's policy does not let
/// it invoke the function.
fn test_invoke_denied() -> Value {
    json!({
        "clientStatus": 500,
        "latency": 12,
        "log": "Mon Dec 07 10:00:00 UTC 2026 : Execution failed due to configuration error: Invalid permissions on Lambda function\nMon Dec 07 10:00:00 UTC 2026 : Execution failed due to configuration error: Authorizer error\nMon Dec 07 10:00:00 UTC 2026 : AuthorizerConfigurationException",
    })
}

/// ... and when it invoked the function, which denied the made-up caller.
fn test_invoke_ran() -> Value {
    json!({
        "clientStatus": 403,
        "latency": 40,
        "log": "Mon Dec 07 10:00:00 UTC 2026 : Authorizer result body before parsing: {\"principalId\":\"x\",\"policyDocument\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"execute-api:Invoke\",\"Effect\":\"Deny\",\"Resource\":\"*\"}]}}",
        "principalId": "x",
        "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"execute-api:Invoke\",\"Effect\":\"Deny\",\"Resource\":\"*\"}]}",
    })
}

/// The stack of `tests/fixtures/deploy/broken-stack.json` (an authorizer function, an HTTP API
/// with a Lambda authorizer on a route, a REST API with a TOKEN authorizer on a method, neither
/// with the invoke permission); with `permissions`, the invoke permission for each authorizer.
fn template(permissions: bool) -> String {
    let path = forwarder_tests::root().join("tests/fixtures/deploy/broken-stack.json");
    let mut t: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    if permissions {
        for (name, api, auth) in [
            ("HttpPermission", "HttpApi", "HttpAuth"),
            ("RestPermission", "RestApi", "RestAuth"),
        ] {
            t["Resources"][name] = json!({"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": {"Ref": "AuthFn"}, "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {"Fn::Sub": format!("arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/authorizers/${{{auth}}}")}}});
        }
    }
    t.to_string()
}

fn function_parameter(function: &str) -> aws_sdk_cloudformation::types::Parameter {
    aws_sdk_cloudformation::types::Parameter::builder()
        .parameter_key("FunctionName")
        .parameter_value(function)
        .build()
}

/// A stack in moto, and the ids of what it created.
struct Stack {
    cfn: aws_sdk_cloudformation::Client,
    name: String,
    id: String,
    function: String,
    http_api: String,
    rest_api: String,
}

impl Stack {
    async fn create(test: &str) -> Self {
        let config = sdk_config(&moto_endpoint()).await;
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let name = format!("deploy-{test}-{}", std::process::id());
        let function = format!("auth-{test}-{}", std::process::id());
        let id = cfn
            .create_stack()
            .stack_name(&name)
            .template_body(template(false))
            .parameters(function_parameter(&function))
            .send()
            .await
            .expect("create stack")
            .stack_id
            .expect("stack id");
        let resources = cfn
            .list_stack_resources()
            .stack_name(&id)
            .send()
            .await
            .expect("list resources");
        let physical = |logical: &str| {
            resources
                .stack_resource_summaries()
                .iter()
                .find(|r| r.logical_resource_id() == Some(logical))
                .and_then(|r| r.physical_resource_id())
                .unwrap_or_else(|| panic!("moto created no {logical}"))
                .to_owned()
        };
        let (http_api, rest_api) = (physical("HttpApi"), physical("RestApi"));
        Stack {
            cfn,
            name,
            id,
            function,
            http_api,
            rest_api,
        }
    }

    async fn fix(&self) {
        self.cfn
            .update_stack()
            .stack_name(&self.id)
            .template_body(template(true))
            .parameters(function_parameter(&self.function))
            .send()
            .await
            .expect("update stack");
    }

    /// CloudFormation's status change event for the stack
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html>).
    fn status_event(&self, status: &str, n: u32) -> Vec<u8> {
        json!({
            "version": "0",
            "id": format!("7bf73129-1428-4cd3-a780-95db273d1602-{n}"),
            "detail-type": "CloudFormation Stack Status Change",
            "source": "aws.cloudformation",
            "account": ACCOUNT,
            "time": "2026-12-07T10:00:00Z",
            "region": REGION,
            "resources": [self.id],
            "detail": {"stack-id": self.id, "status-details": {"status": status, "status-reason": ""}},
        })
        .to_string()
        .into_bytes()
    }
}

/// The forwarder under a Runtime API, publishing to `topic`, reaching API Gateway v1 through
/// `rest_endpoint`; stopped on drop.
struct Function {
    api: RuntimeApi,
    child: std::process::Child,
}

impl Function {
    fn start(topic: &str, rest_endpoint: &str, extra: &[(&str, &str)]) -> Self {
        Self::start_with(topic, rest_endpoint, &moto_endpoint(), extra)
    }

    /// [`Function::start`], reaching Lambda through `lambda_endpoint`.
    fn start_with(
        topic: &str,
        rest_endpoint: &str,
        lambda_endpoint: &str,
        extra: &[(&str, &str)],
    ) -> Self {
        let api = RuntimeApi::start();
        let child = std::process::Command::new(forwarder_bin())
            .env_clear()
            .envs(api.environment(128))
            .env("AWS_ENDPOINT_URL", moto_endpoint())
            .env("AWS_ENDPOINT_URL_API_GATEWAY", rest_endpoint)
            .env("AWS_ENDPOINT_URL_LAMBDA", lambda_endpoint)
            .env("ALERT_TOPIC_ARN", topic)
            .env("TEST_INVOKE_AUTHORIZERS", "true")
            .env("METRICS_NAMESPACE", "")
            .envs(extra.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the forwarder starts");
        Function { api, child }
    }

    /// Invokes the function; its response, or a failure naming the error.
    fn invoke(&self, event: &[u8]) -> Value {
        match self.api.invoke(event, Duration::from_secs(60)) {
            Some(Outcome::Response(body)) => serde_json::from_str(&body).expect("JSON response"),
            other => panic!("the invocation did not succeed: {other:?}"),
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The machine JSON of each message a queue received, in order.
async fn machine(topic: &LocalTopic, want: usize) -> Vec<Value> {
    let got = topic
        .receive(&topic.all, want, Duration::from_secs(20))
        .await;
    got.iter()
        .map(|m| {
            let envelope = sns_envelope(m);
            serde_json::from_str(envelope["Message"].as_str().expect("message"))
                .expect("machine JSON")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_that_breaks_an_authorizer_is_alerted_from_its_status_event_alone() {
    let stack = Stack::create("status").await;
    let topic = LocalTopic::create("deploy-status").await;
    let table = format!("deploy-windows-{}", std::process::id());
    create_windows_table(
        &aws_sdk_dynamodb::Client::new(&sdk_config(&moto_endpoint()).await),
        &table,
    )
    .await;
    let answer = Arc::new(Mutex::new(test_invoke_denied()));
    let (rest, mut tests) = answering_proxy(moto_endpoint(), answer.clone()).await;
    let function = Function::start(
        &topic.topic_arn,
        &rest,
        &[
            ("ALERT_STATE_TABLE", &table),
            ("ALERT_WINDOW_SECONDS", "900"),
        ],
    );

    // No request is made: the status event is all the forwarder gets.
    let started = Instant::now();
    let response = function.invoke(&stack.status_event("CREATE_COMPLETE", 1));
    let answered = started.elapsed();
    let alerts = machine(&topic, 2).await;
    let delivered = started.elapsed();
    eprintln!(
        "status event to both alerts published: {} ms; to both in the subscriber's queue: {} ms",
        answered.as_millis(),
        delivered.as_millis()
    );
    assert_eq!(
        response["message_ids"].as_array().unwrap().len(),
        2,
        "{response}"
    );
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    for a in &alerts {
        assert_eq!(a["type"], "authorizer_configuration_found", "{a}");
        assert_eq!(a["cause"], "missing_invoke_permission", "{a}");
        assert_eq!(a["found_by"]["kind"], "deployment");
        assert_eq!(a["found_by"]["stack_name"], stack.name);
        assert_eq!(a["found_by"]["status"], "CREATE_COMPLETE");
        assert!(
            a["subject"].as_str().unwrap().ends_with("(before traffic)"),
            "{a}"
        );
        assert!(
            a["text"]
                .as_str()
                .unwrap()
                .contains("No request has failed yet"),
            "{a}"
        );
        let fix = a["commands"][0].as_str().unwrap();
        assert!(fix.starts_with("aws lambda add-permission"), "{fix}");
        assert!(
            fix.contains(&format!("{}/authorizers/", a["api_id"].as_str().unwrap())),
            "{fix}"
        );
    }
    let by_api = |id: &str| {
        alerts
            .iter()
            .find(|a| a["api_id"] == id)
            .unwrap_or_else(|| panic!("no alert for {id}: {alerts:?}"))
    };
    assert_eq!(by_api(&stack.http_api)["api_kind"], "http");
    let rest_alert = by_api(&stack.rest_api);
    assert_eq!(rest_alert["api_kind"], "rest");
    // API Gateway's own test said so, beside the policy read.
    assert!(
        rest_alert["text"].as_str().unwrap().contains(
            "API Gateway's test of the authorizer: Invalid permissions on Lambda function"
        ),
        "{rest_alert}"
    );
    let test = tests.try_recv().expect("the REST authorizer was tested");
    assert!(
        test.path
            .starts_with(&format!("/restapis/{}/authorizers/", stack.rest_api)),
        "{test:?}"
    );
    let body: Value = serde_json::from_str(&test.body).expect("JSON");
    assert_eq!(
        body["headers"]["Authorization"], "forwarder-deploy-check",
        "{body}"
    );

    // The same deployment reported again (EventBridge retried it): the window holds it.
    let again = function.invoke(&stack.status_event("CREATE_COMPLETE", 1));
    assert_eq!(again["message_ids"], json!([]), "{again}");
    assert_eq!(
        topic.count_after(&topic.all, Duration::from_secs(2)).await,
        0
    );

    // A stack status that is not a finished deployment checks nothing.
    let failed = function.invoke(&stack.status_event("UPDATE_ROLLBACK_IN_PROGRESS", 2));
    assert!(
        failed["ignored"]
            .as_str()
            .unwrap()
            .contains("not a finished deployment"),
        "{failed}"
    );

    // The fix deployed: each problem is reported over, in its thread.
    stack.fix().await;
    *answer.lock().unwrap() = test_invoke_ran();
    let fixed = function.invoke(&stack.status_event("UPDATE_COMPLETE", 3));
    assert_eq!(fixed["fixed"], 2, "{fixed}");
    let notes = machine(&topic, 2).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    for n in &notes {
        assert_eq!(n["type"], "authorizer_configuration_recovered", "{n}");
        assert!(n["fixed"].as_str().unwrap().contains(&stack.name), "{n}");
    }
    // Nothing is left to report: the next deployment is quiet.
    let quiet = function.invoke(&stack.status_event("UPDATE_COMPLETE", 4));
    assert_eq!(quiet["message_ids"], json!([]), "{quiet}");
}

/// An EventBridge event of a call CloudTrail recorded, as the queue's record body.
fn call(source: &str, name: &str, request: Value, error: Option<&str>) -> Value {
    let mut detail = json!({
        "eventVersion": "1.09", "eventSource": format!("{}.amazonaws.com", source.trim_start_matches("aws.")),
        "eventName": name, "awsRegion": REGION, "userIdentity": {"arn": format!("arn:aws:iam::{ACCOUNT}:user/dev")},
        "requestParameters": request, "responseElements": null,
    });
    if let Some(code) = error {
        detail["errorCode"] = code.into();
    }
    json!({
        "version": "0", "id": "e6a4b8a0", "detail-type": "AWS API Call via CloudTrail",
        "source": source, "account": ACCOUNT, "time": "2026-12-07T10:00:00Z", "region": REGION,
        "resources": [], "detail": detail,
    })
}

fn queue_batch(bodies: &[Value]) -> Vec<u8> {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            json!({
                "messageId": format!("m{i}"), "receiptHandle": "h", "body": b.to_string(),
                "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:api-changes"), "awsRegion": REGION,
            })
        })
        .collect();
    json!({"Records": records}).to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_recorded_calls_is_one_check_per_api() {
    let stack = Stack::create("calls").await;
    let topic = LocalTopic::create("deploy-calls").await;
    let (rest, _tests) =
        answering_proxy(moto_endpoint(), Arc::new(Mutex::new(test_invoke_denied()))).await;
    let function = Function::start(&topic.topic_arn, &rest, &[]);
    let gw = |name: &str, key: &str, id: &str| call("aws.apigateway", name, json!({key: id}), None);
    let mut burst: Vec<Value> = Vec::new();
    for name in [
        "UpdateAuthorizer",
        "CreateDeployment",
        "UpdateStage",
        "UpdateRoute",
    ] {
        burst.push(gw(name, "apiId", &stack.http_api));
    }
    burst.push(gw("UpdateStage", "apiId", &stack.http_api));
    burst.push(gw("UpdateStage", "restApiId", "zzzzzzzzzz"));
    // A permission removed from the function: both APIs use it.
    burst.push(call(
        "aws.lambda",
        "RemovePermission20150331v2",
        json!({"functionName": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}", stack.function), "statementId": "s"}),
        None,
    ));
    burst.push(gw("CreateDeployment", "restApiId", &stack.rest_api));
    // A call that failed changed nothing.
    burst.push(call(
        "aws.apigateway",
        "UpdateAuthorizer",
        json!({"apiId": stack.http_api}),
        Some("AccessDenied"),
    ));
    let response = function.invoke(&queue_batch(&burst));
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    let mut checked: Vec<(&str, &str)> = response["checked"]["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["api_id"].as_str().unwrap(),
                a["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    checked.sort();
    let mut want = vec![
        (stack.http_api.as_str(), "checked"),
        (stack.rest_api.as_str(), "checked"),
        ("zzzzzzzzzz", "not_found"),
    ];
    want.sort();
    assert_eq!(checked, want, "{response}");
    assert_eq!(
        response["notChecked"].as_array().unwrap().len(),
        1,
        "{response}"
    );
    let found_by = &response["checked"]["trigger"];
    assert_eq!(found_by["kind"], "api_change");
    assert!(
        found_by["calls"]
            .as_array()
            .unwrap()
            .contains(&json!("RemovePermission20150331v2"))
    );
    let alerts = machine(&topic, 2).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(
        alerts
            .iter()
            .all(|a| a["found_by"]["by"][0] == format!("arn:aws:iam::{ACCOUNT}:user/dev"))
    );

    // A record that is not what the rule sends fails alone, so the queue keeps it.
    let bad = queue_batch(&[
        gw("UpdateStage", "apiId", &stack.http_api),
        json!({"not": "an event"}),
    ]);
    let response = function.invoke(&bad);
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "m1"}]),
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_checks_the_apis_it_names_on_its_own_schedule() {
    let stack = Stack::create("sweep").await;
    let topic = LocalTopic::create("deploy-sweep").await;
    let (rest, _tests) =
        answering_proxy(moto_endpoint(), Arc::new(Mutex::new(test_invoke_denied()))).await;
    let apis = format!("{},{}", stack.http_api, stack.rest_api);
    let function = Function::start(
        &topic.topic_arn,
        &rest,
        &[
            ("SWEEP_API_IDS", &apis),
            ("SWEEP_RULE_NAME", "forwarder-sweep-1"),
        ],
    );
    let scheduled = |rule: &str| {
        json!({"version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event", "source": "aws.events",
               "account": ACCOUNT, "time": "2026-12-07T10:00:00Z", "region": REGION,
               "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")], "detail": {}})
        .to_string()
        .into_bytes()
    };
    let swept = function.invoke(&scheduled("forwarder-sweep-1"));
    assert_eq!(swept["trigger"]["kind"], "sweep", "{swept}");
    assert_eq!(swept["apis"].as_array().unwrap().len(), 2, "{swept}");
    let alerts = machine(&topic, 2).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    // Another rule's schedule is the recovery check's, which sweeps nothing.
    let other = function.invoke(&scheduled("forwarder-recovery-1"));
    assert!(other.get("trigger").is_none(), "{other}");
    assert_eq!(
        topic.count_after(&topic.all, Duration::from_secs(2)).await,
        0
    );
}

/// With `INVOKE_AUTHORIZERS` the HTTP API's authorizer function is invoked with a made-up request
/// of its payload format: one that answers without `isAuthorized`, which simple responses need,
/// is found before traffic though its permission is in place.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_api_gateway_cannot_read_is_found_when_invoking_is_allowed() {
    let stack = Stack::create("invoke").await;
    stack.fix().await;
    let topic = LocalTopic::create("deploy-invoke").await;
    let (rest, _tests) =
        answering_proxy(moto_endpoint(), Arc::new(Mutex::new(test_invoke_ran()))).await;
    let (lambda, mut invocations) = answering_proxy(
        moto_endpoint(),
        Arc::new(Mutex::new(json!({"authorized": true}))),
    )
    .await;
    let function = Function::start_with(
        &topic.topic_arn,
        &rest,
        &lambda,
        &[("INVOKE_AUTHORIZERS", "true")],
    );
    let response = function.invoke(&stack.status_event("UPDATE_COMPLETE", 1));
    assert_eq!(
        response["message_ids"].as_array().unwrap().len(),
        1,
        "{response}"
    );
    let alerts = machine(&topic, 1).await;
    assert_eq!(alerts[0]["api_id"], stack.http_api.as_str());
    assert_eq!(
        alerts[0]["cause"], "invalid_response_format",
        "{}",
        alerts[0]
    );
    assert!(
        alerts[0]["text"]
            .as_str()
            .unwrap()
            .contains("has no boolean isAuthorized"),
        "{}",
        alerts[0]
    );
    // The request API Gateway would have sent for GET /orders, payload format 2.0.
    let call = invocations
        .try_recv()
        .expect("the authorizer function was invoked");
    assert!(call.path.contains(&stack.function), "{}", call.path);
    let event: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(event["version"], "2.0", "{event}");
    assert_eq!(event["routeKey"], "GET /orders");
    assert_eq!(event["headers"]["authorization"], "forwarder-deploy-check");
    assert_eq!(
        event["routeArn"],
        format!(
            "arn:aws:execute-api:{REGION}:{ACCOUNT}:{}/$default/GET/orders",
            stack.http_api
        )
    );
    // The REST API is tried by API Gateway's own test, never by invoking its function.
    assert!(invocations.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_every_api_a_stack_created() {
    let stack = Stack::create("doctor").await;
    let (rest, _tests) =
        answering_proxy(moto_endpoint(), Arc::new(Mutex::new(test_invoke_denied()))).await;
    let env = [
        ("AWS_ENDPOINT_URL", moto_endpoint()),
        ("AWS_ENDPOINT_URL_API_GATEWAY", rest),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = forwarder(
        &["doctor", "--stack", &stack.name, "--test-invoke"],
        None,
        &env,
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "stack {}: 2 APIs (nested stacks included), 2 authorizers with problems\n",
            stack.name
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("API {}:", stack.http_api)),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("REST API {}:", stack.rest_api)),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("API Gateway's test of the authorizer: Invalid permissions"),
        "{}",
        run.stdout
    );
    let json_run = forwarder(&["doctor", "--stack", &stack.id, "--json"], None, &env);
    let doc: Value = serde_json::from_str(&json_run.stdout).expect("JSON");
    assert_eq!(doc["apis"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(doc["authorizers_with_problems"], 2);
    stack.fix().await;
    let fixed = forwarder(&["doctor", "--stack", &stack.name], None, &env);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    let gone = forwarder(&["doctor", "--stack", "no-such-stack"], None, &env);
    assert_eq!(gone.code, 2, "{}", gone.stderr);
    assert!(
        gone.stderr.contains("stack no-such-stack: "),
        "{}",
        gone.stderr
    );
    assert_eq!(gone.stderr.lines().count(), 1, "{}", gone.stderr);
}
