//! The parameters' `AllowedPattern`s, and the EventBridge rules of the deploy-time checks, the
//! API-change queue and the sweep, their event patterns matched as EventBridge would.

use forwarder_tests::cfn_template;
use serde_json::{Value, json};

use super::grants::role_grants;
use super::{ALL_TEMPLATES, assert_patterns, eval, python_on, resolve};

/// Every `AllowedPattern` accepts its own default, and the KMS key parameter takes what a user may
/// copy from the KMS console: single- and multi-region keys in every partition, never an alias.
#[test]
fn parameter_patterns_accept_their_defaults_and_real_key_arns() {
    // (what, pattern, value, whether the value must match)
    let mut cases: Vec<(String, String, String, bool)> = Vec::new();
    for rel in ALL_TEMPLATES {
        let t = cfn_template(rel);
        for (name, p) in t["Parameters"].as_object().unwrap() {
            if let (Some(pattern), Some(default)) = (p["AllowedPattern"].as_str(), p.get("Default"))
            {
                let default = match default {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                cases.push((format!("{rel} {name}"), pattern.to_owned(), default, true));
            }
        }
    }
    let t = cfn_template("infra/template.yaml");
    let kms = t["Parameters"]["KmsKeyArn"]["AllowedPattern"]
        .as_str()
        .unwrap();
    for (arn, ok) in [
        (
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            true,
        ),
        (
            "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            true,
        ),
        (
            "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            true,
        ),
        (
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            true,
        ),
        ("arn:aws:kms:eu-west-1:111122223333:alias/alerts", false),
        ("arn:aws:kms:eu-west-1:111122223333:key/mrk-short", false),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", false),
    ] {
        cases.push(("KmsKeyArn".into(), kms.to_owned(), arn.to_owned(), ok));
    }
    // A REST stage's execution-log group, and nothing else (never a Lambda function's group).
    for rel in ["infra/template.yaml", "infra/org/member.yaml"] {
        let t = cfn_template(rel);
        let pattern = t["Parameters"]["ExecutionLogGroupName"]["AllowedPattern"]
            .as_str()
            .unwrap();
        for (group, ok) in [
            ("", true),
            ("API-Gateway-Execution-Logs_a1b2c3d4e5/prod", true),
            ("API-Gateway-Execution-Logs_0123456789/my_stage-2", true),
            ("API-Gateway-Execution-Logs_a1b2c3d4e5", false),
            ("API-Gateway-Execution-Logs_a1b2c3d4e5/", false),
            ("API-Gateway-Execution-Logs_A1B2C3D4E5/prod", false),
            ("API-Gateway-Execution-Logs_a1b2c3d4/prod", false),
            ("API-Gateway-Execution-Logs_a1b2c3d4e5/prod/x", false),
            ("/aws/lambda/authorizer-alerts-forwarder", false),
            ("/aws/vendedlogs/apigateway/my-api-access", false),
        ] {
            cases.push((
                format!("{rel} ExecutionLogGroupName"),
                pattern.to_owned(),
                group.to_owned(),
                ok,
            ));
        }
    }
    // A group a log delivery writes execution logs to: any log group name but a Lambda function's
    // and API Gateway's own execution-log group (ExecutionLogGroupName subscribes that one).
    let t = cfn_template("infra/template.yaml");
    let pattern = t["Parameters"]["ExecutionLogDeliveryGroupName"]["AllowedPattern"]
        .as_str()
        .unwrap();
    for (group, ok) in [
        ("", true),
        ("/aws/vendedlogs/apigateway/pets-execution", true),
        ("pets#exec.logs_1", true),
        ("API-Gateway-Execution-Logs_a1b2c3d4e5/prod", false),
        ("/aws/lambda/authorizer-alerts-forwarder", false),
        ("has space", false),
    ] {
        cases.push((
            "ExecutionLogDeliveryGroupName".to_owned(),
            pattern.to_owned(),
            group.to_owned(),
            ok,
        ));
    }
    // Settings the forwarder reads at cold start: what it accepts passes, and what it refuses
    // fails at deploy time where a pattern can tell.
    for (name, value, ok) in [
        ("MetricsNamespace", "Team/Auth-Alerts", true),
        ("MetricsNamespace", "", true),
        ("MetricsNamespace", "AWS/Lambda", false),
        ("MetricsNamespace", " leading", false),
        ("MetricsNamespace", "trailing ", false),
        ("MetricsNamespace", "Team Auth #1", true),
        ("FailureAlarmThreshold", "0", true),
        ("FailureAlarmThreshold", "25", true),
        ("FailureAlarmThreshold", "0.0", false),
        ("FailureAlarmThreshold", "05", false),
        ("CauseSeverity", "authorizer_timeout=urgent", false),
        ("CauseSeverity", "authorizer_timeout=info", false),
        ("CauseSeverity", "timeout=high", false),
        ("AlertMention", "@everyone", false),
        ("AlertMention", "here", false),
        ("AlertMention", "<@u123>", false),
        (
            "AlertMention",
            "<@U11> <@U12> <@U13> <@U14> <@U15> <@U16>",
            false,
        ),
        (
            "CauseSeverity",
            "authorizer_timeout=critical,format_mismatch=high",
            true,
        ),
        (
            "AlertMention",
            "@here <@U0123ABCD> <!subteam^S0123ABCD>",
            true,
        ),
        ("AlertMention", "<https://evil.example|x>", false),
        ("SweepApiIds", "", true),
        ("SweepApiIds", "*", true),
        ("SweepApiIds", "a1b2c3d4e5", true),
        ("SweepApiIds", "a1b2c3d4e5,0123456789,zzzzzzzzzz", true),
        ("SweepApiIds", "**", false),
        ("SweepApiIds", "*,a1b2c3d4e5", false),
        ("SweepApiIds", "a1b2c3d4e5,", false),
        ("SweepApiIds", "a1b2c3d4e5, 0123456789", false),
        ("SweepApiIds", "A1B2C3D4E5", false),
        ("SweepApiIds", "a1b2c3d4", false),
    ] {
        let pattern = t["Parameters"][name]["AllowedPattern"].as_str().unwrap();
        cases.push((name.into(), pattern.to_owned(), value.to_owned(), ok));
    }
    // CloudFormation matches the whole value against the pattern (Java regular expressions; the
    // templates' patterns use nothing Python's `re` reads differently).
    assert_patterns(&cases);
}

/// Whether each event matches an EventBridge pattern, by moto's implementation of EventBridge's
/// pattern matching (prefix, exists, nested detail), as the rule would deliver it.
fn pattern_matches(pattern: &Value, events: &[Value]) -> Vec<bool> {
    let out = python_on(
        "import json, sys\nfrom moto.events.models import EventPattern\np, events = json.load(sys.stdin)\npattern = EventPattern.load(json.dumps(p))\nprint(json.dumps([pattern.matches_event(e) for e in events]))",
        &json!([pattern, events]),
    );
    serde_json::from_slice(&out).unwrap()
}

/// The deploy-time checks run on a stack that completed (created, updated, or rolled back to its
/// previous state, whose APIs are live again), never on one in progress, failed or deleted. The
/// event is what CloudFormation sends to the default bus (source aws.cloudformation).
#[test]
fn deploy_checks_run_on_each_completed_stack_only() {
    let t = cfn_template("infra/template.yaml");
    let rule = &t["Resources"]["DeployChecksRule"];
    assert_eq!(rule["Condition"], "DeployChecksOn");
    assert_eq!(rule["Properties"]["State"], "ENABLED");
    let pattern = &rule["Properties"]["EventPattern"];
    assert_eq!(
        *pattern,
        json!({
            "source": ["aws.cloudformation"],
            "detail-type": ["CloudFormation Stack Status Change"],
            "detail": {"status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"]}}
        })
    );
    let event = |status: &str| {
        json!({
            "source": "aws.cloudformation",
            "detail-type": "CloudFormation Stack Status Change",
            "account": "123456789012",
            "region": "us-east-1",
            "resources": ["arn:aws:cloudformation:us-east-1:123456789012:stack/api/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"],
            "detail": {
                "stack-id": "arn:aws:cloudformation:us-east-1:123456789012:stack/api/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
                "status-details": {"status": status, "status-reason": ""}
            }
        })
    };
    let statuses = [
        ("CREATE_COMPLETE", true),
        ("UPDATE_COMPLETE", true),
        ("UPDATE_ROLLBACK_COMPLETE", true),
        ("CREATE_IN_PROGRESS", false),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", false),
        ("ROLLBACK_COMPLETE", false),
        ("DELETE_COMPLETE", false),
        ("UPDATE_FAILED", false),
        ("IMPORT_COMPLETE", false),
    ];
    let events: Vec<Value> = statuses.iter().map(|(s, _)| event(s)).collect();
    let want: Vec<bool> = statuses.iter().map(|(_, ok)| *ok).collect();
    assert_eq!(pattern_matches(pattern, &events), want, "{statuses:?}");
    // A resource's status change in the same source is not a stack's.
    let mut resource = event("CREATE_COMPLETE");
    resource["detail-type"] = json!("CloudFormation Resource Status Change");
    assert_eq!(pattern_matches(pattern, &[resource]), [false]);
    // On with the defaults, off when asked.
    let on = json!({"Condition": "DeployChecksOn"});
    assert_eq!(eval(&t, &on, &[]), json!(true));
    assert_eq!(eval(&t, &on, &[("DeployChecks", "false")]), json!(false));
    let central = cfn_template("infra/org/central.yaml");
    assert_eq!(
        central["Resources"]["Forwarder"]["Properties"]["Parameters"]["DeployChecks"], "false",
        "the central account holds none of the members' stacks"
    );
}

/// API changes made outside CloudFormation reach the function through CloudTrail: only calls that
/// succeeded, only the ones that change what an authorizer check sees, gathered in a queue that
/// only this rule may send to, read in settled batches that report their failures one by one.
#[test]
fn api_changes_are_queued_from_cloudtrail_and_checked_in_settled_batches() {
    let t = cfn_template("infra/template.yaml");
    let res = &t["Resources"];
    for name in [
        "ApiChangeRule",
        "ApiChangeQueue",
        "ApiChangeQueuePolicy",
        "ApiChangeMapping",
    ] {
        assert_eq!(res[name]["Condition"], "ApiChangeChecksOn", "{name}");
    }
    let on = json!({"Condition": "ApiChangeChecksOn"});
    assert_eq!(
        eval(&t, &on, &[]),
        json!(false),
        "needs a trail: off unless asked"
    );
    assert_eq!(eval(&t, &on, &[("ApiChangeChecks", "true")]), json!(true));
    let rule = &res["ApiChangeRule"]["Properties"];
    let pattern = &rule["EventPattern"];
    assert_eq!(
        *pattern,
        json!({
            "source": ["aws.apigateway", "aws.lambda"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": ["apigateway.amazonaws.com", "lambda.amazonaws.com"],
                "errorCode": [{"exists": false}],
                "eventName": ["CreateDeployment", "CreateStage", "UpdateStage", "CreateRoute", "UpdateRoute", "DeleteRoute", "CreateAuthorizer", "UpdateAuthorizer", "DeleteAuthorizer", "PutMethod", "UpdateMethod", "DeleteMethod", "ImportRestApi", "PutRestApi", "ImportApi", "ReimportApi", {"prefix": "AddPermission"}, {"prefix": "RemovePermission"}]
            }
        })
    );
    assert_eq!(
        rule["Targets"],
        json!([{"Id": "queue", "Arn": {"Fn::GetAtt": ["ApiChangeQueue", "Arn"]}}])
    );
    let call = |source: &str, name: &str, error: Option<&str>| {
        let mut e = json!({
            "source": format!("aws.{source}"),
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {
                "eventSource": format!("{source}.amazonaws.com"),
                "eventName": name,
                "requestParameters": {"apiId": "a1b2c3d4e5"}
            }
        });
        if let Some(code) = error {
            e["detail"]["errorCode"] = json!(code);
            e["detail"]["errorMessage"] = json!("denied");
        }
        e
    };
    let calls = [
        (call("apigateway", "CreateDeployment", None), true),
        (call("apigateway", "UpdateAuthorizer", None), true),
        (call("apigateway", "ReimportApi", None), true),
        // Lambda's CloudTrail names carry the API version.
        (call("lambda", "AddPermission20150331v2", None), true),
        (call("lambda", "RemovePermission20150331v2", None), true),
        // A failed call changed nothing.
        (
            call("apigateway", "CreateDeployment", Some("AccessDenied")),
            false,
        ),
        (
            call(
                "lambda",
                "AddPermission20150331v2",
                Some("ResourceConflictException"),
            ),
            false,
        ),
        // Reads, and changes that do not bear on an authorizer.
        (call("apigateway", "GetAuthorizers", None), false),
        (call("lambda", "UpdateFunctionCode20150331v2", None), false),
        (call("apigateway", "TagResource", None), false),
    ];
    let events: Vec<Value> = calls.iter().map(|(e, _)| e.clone()).collect();
    let want: Vec<bool> = calls.iter().map(|(_, ok)| *ok).collect();
    assert_eq!(pattern_matches(pattern, &events), want);

    // Encrypted; held long enough for the function's retries and the batching window; after three
    // receives a message goes to the dead-letter queue, which alarms.
    let q = &res["ApiChangeQueue"]["Properties"];
    assert_eq!(q["SqsManagedSseEnabled"], true);
    let timeout = res["ForwarderFunction"]["Properties"]["Timeout"]
        .as_i64()
        .unwrap();
    let settle = &t["Parameters"]["ApiChangeSettleSeconds"];
    assert_eq!(
        (
            &settle["Type"],
            &settle["Default"],
            &settle["MinValue"],
            &settle["MaxValue"]
        ),
        (&json!("Number"), &json!(60), &json!(0), &json!(300))
    );
    let visibility = q["VisibilityTimeout"].as_i64().unwrap();
    assert!(
        visibility >= 6 * timeout + settle["MaxValue"].as_i64().unwrap(),
        "{visibility}"
    );
    assert_eq!(
        q["RedrivePolicy"],
        json!({"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, "maxReceiveCount": 3})
    );
    let alarm = &res["DeadLetterAlarm"];
    assert!(alarm.get("Condition").is_none());
    assert_eq!(
        alarm["Properties"]["Dimensions"][0]["Value"],
        json!({"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]})
    );

    // Only this rule may send, and only over TLS.
    let policy = &res["ApiChangeQueuePolicy"]["Properties"];
    assert_eq!(policy["Queues"], json!([{"Ref": "ApiChangeQueue"}]));
    let stmts = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    let allows: Vec<&Value> = stmts.iter().filter(|s| s["Effect"] == "Allow").collect();
    assert_eq!(allows.len(), 1);
    assert_eq!(
        allows[0]["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(allows[0]["Action"], "sqs:SendMessage");
    assert_eq!(
        allows[0]["Resource"],
        json!({"Fn::GetAtt": ["ApiChangeQueue", "Arn"]})
    );
    assert_eq!(
        allows[0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ApiChangeRule", "Arn"]}}})
    );
    assert!(stmts.iter().any(|s| s["Effect"] == "Deny"
        && s["Condition"] == json!({"Bool": {"aws:SecureTransport": "false"}})));

    // Settled batches, failures reported per message. Lambda takes more than 10 messages a batch
    // only with a batching window of at least one second, so a window of 0 takes 10.
    let m = &res["ApiChangeMapping"];
    assert_eq!(m["Type"], "AWS::Lambda::EventSourceMapping");
    let m = &m["Properties"];
    assert_eq!(
        m["EventSourceArn"],
        json!({"Fn::GetAtt": ["ApiChangeQueue", "Arn"]})
    );
    assert_eq!(
        m["FunctionName"],
        json!({"Fn::GetAtt": ["ForwarderFunction", "Arn"]})
    );
    assert_eq!(
        m["MaximumBatchingWindowInSeconds"],
        json!({"Ref": "ApiChangeSettleSeconds"})
    );
    assert_eq!(
        m["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    for (settle, batch) in [("60", 100), ("1", 100), ("300", 100), ("0", 10)] {
        let given = [("ApiChangeSettleSeconds", settle)];
        assert_eq!(
            resolve(&t, &m["BatchSize"], &given),
            Some(json!(batch)),
            "ApiChangeSettleSeconds={settle}"
        );
    }
    // Nothing on the queue when off: no mapping, no grant to read it.
    assert!(!role_grants(&t, &[]).contains_key("ReadApiChanges"));
}

/// The sweep runs on its own schedule, named as the function is told, only when APIs are named.
#[test]
fn sweep_runs_on_its_schedule_only_when_asked() {
    let t = cfn_template("infra/template.yaml");
    let rule = &t["Resources"]["SweepSchedule"];
    assert_eq!(rule["Condition"], "SweepOn");
    let p = &rule["Properties"];
    assert_eq!(p["State"], "ENABLED");
    // SweepMinutes is at least 5, so `minutes` is always the right unit (EventBridge refuses
    // `rate(1 minutes)`).
    assert_eq!(
        p["ScheduleExpression"],
        json!({"Fn::Sub": "rate(${SweepMinutes} minutes)"})
    );
    let minutes = &t["Parameters"]["SweepMinutes"];
    assert_eq!(
        (
            &minutes["Type"],
            &minutes["Default"],
            &minutes["MinValue"],
            &minutes["MaxValue"]
        ),
        (&json!("Number"), &json!(60), &json!(5), &json!(1440))
    );
    assert!(p.get("EventPattern").is_none());
    let on = json!({"Condition": "SweepOn"});
    let every = json!({"Condition": "SweepEveryApi"});
    for (ids, sweeps, lists) in [
        ("", false, false),
        ("*", true, true),
        ("a1b2c3d4e5", true, false),
        ("a1b2c3d4e5,f6g7h8i9j0", true, false),
    ] {
        let given = [("SweepApiIds", ids)];
        assert_eq!(eval(&t, &on, &given), json!(sweeps), "{ids:?}");
        assert_eq!(eval(&t, &every, &given), json!(lists), "{ids:?}");
    }
    assert_eq!(t["Parameters"]["SweepApiIds"]["Default"], "");
}
