//! Who may invoke the forwarder and on which logs, what its role may do (no wildcards), who may
//! publish to its topic, and the encrypted queue that keeps failed events.

use forwarder_tests::cfn_template;
use serde_json::{Value, json};

use super::{as_list, eval, resources_of_type, statements};

/// A CloudWatch Logs filter pattern of terms, as `(optional, text)`: `?` makes a term one of
/// several alternatives, double quotes make a phrase with spaces one term.
fn filter_terms(pattern: &str) -> Vec<(bool, String)> {
    let mut terms = Vec::new();
    let mut rest = pattern.trim();
    while !rest.is_empty() {
        let optional = rest.starts_with('?');
        rest = rest.trim_start_matches('?');
        let (term, after) = match rest.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').expect("closing quote");
                (&quoted[..end], &quoted[end + 1..])
            }
            None => rest.split_at(rest.find(' ').unwrap_or(rest.len())),
        };
        terms.push((optional, term.to_owned()));
        rest = after.trim_start();
    }
    terms
}

/// The execution-log lines API Gateway writes for a REST API's broken Lambda authorizer
/// (DOMAIN.md, "REST and WebSocket APIs"): one pattern delivers either. The same pattern `check`
/// searches with, so the stack delivers what the command line finds.
const EXECUTION_LOG_PATTERN: &str = forwarder::detect::LogKind::Execution.filter_pattern();

#[test]
fn only_cloudwatch_logs_for_this_log_group_and_account_may_invoke() {
    let t = cfn_template("infra/template.yaml");
    let all = resources_of_type(&t, "AWS::Lambda::Permission");
    // Besides CloudWatch Logs, only this stack's own rules may invoke the forwarder, each by its
    // own ARN and only while the rule exists: the recovery schedule, the stack-completion rule of
    // the deploy-time checks and the sweep's schedule.
    let (rules, others): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|(_, p)| p["Properties"]["Principal"] == "events.amazonaws.com");
    let mut by_rule: Vec<(String, String, &str)> = rules
        .iter()
        .map(|(name, p)| {
            let rule = p["Properties"]["SourceArn"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {p}"));
            assert_eq!(
                p["Properties"]["SourceArn"],
                json!({"Fn::GetAtt": [rule, "Arn"]}),
                "{name}"
            );
            assert_eq!(p["Properties"]["Action"], "lambda:InvokeFunction", "{name}");
            assert_eq!(
                p["Properties"]["FunctionName"],
                json!({"Fn::GetAtt": ["ForwarderFunction", "Arn"]})
            );
            let r = &t["Resources"][rule];
            assert_eq!(r["Type"], "AWS::Events::Rule", "{name}");
            assert_eq!(p["Condition"], r["Condition"], "{name}");
            assert_eq!(
                r["Properties"]["Targets"],
                json!([{"Id": "forwarder", "Arn": {"Fn::GetAtt": ["ForwarderFunction", "Arn"]}}]),
                "{rule}"
            );
            (
                (*name).clone(),
                rule.to_owned(),
                p["Condition"].as_str().unwrap(),
            )
        })
        .collect();
    by_rule.sort();
    assert_eq!(
        by_rule,
        [
            (
                "DeployChecksPermission".to_owned(),
                "DeployChecksRule".to_owned(),
                "DeployChecksOn"
            ),
            (
                "RecoveryCheckPermission".to_owned(),
                "RecoveryCheck".to_owned(),
                "FloodControlOn"
            ),
            (
                "SweepPermission".to_owned(),
                "SweepSchedule".to_owned(),
                "SweepOn"
            ),
        ]
    );
    let mut names: Vec<&str> = others.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "ExecutionLogDeliveryInvokePermission",
            "ExecutionLogsInvokePermission",
            "LogsInvokePermission"
        ],
        "no other principal may invoke the forwarder"
    );
    // The access log and a REST stage's execution log, each with its own permission (that log
    // group, this account) and its own filter, both only when their group is named: a
    // stream-fed forwarder (infra/org) has none.
    for (permission, filter, group, condition, pattern) in [
        (
            "LogsInvokePermission",
            "AccessLogSubscription",
            "AccessLogGroupName",
            "HasLogGroup",
            json!({"Ref": "FilterPattern"}),
        ),
        (
            "ExecutionLogsInvokePermission",
            "ExecutionLogSubscription",
            "ExecutionLogGroupName",
            "HasExecutionLogGroup",
            json!(EXECUTION_LOG_PATTERN),
        ),
        (
            "ExecutionLogDeliveryInvokePermission",
            "ExecutionLogDeliverySubscription",
            "ExecutionLogDeliveryGroupName",
            "HasExecutionLogDelivery",
            json!(EXECUTION_LOG_PATTERN),
        ),
    ] {
        let p = &t["Resources"][permission];
        assert_eq!(p["Condition"], condition, "{permission}");
        let p = &p["Properties"];
        assert_eq!(p["Principal"], "logs.amazonaws.com", "{permission}");
        assert_eq!(p["Action"], "lambda:InvokeFunction", "{permission}");
        assert_eq!(
            p["FunctionName"],
            json!({"Fn::GetAtt": ["ForwarderFunction", "Arn"]})
        );
        assert_eq!(p["SourceAccount"], json!({"Ref": "AWS::AccountId"}));
        assert_eq!(
            p["SourceArn"],
            json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group}}}:*")})
        );
        let f = &t["Resources"][filter];
        assert_eq!(f["Type"], "AWS::Logs::SubscriptionFilter");
        assert_eq!(f["DependsOn"], permission);
        assert_eq!(f["Condition"], condition, "{filter}");
        assert_eq!(f["Properties"]["LogGroupName"], json!({"Ref": group}));
        assert_eq!(f["Properties"]["FilterPattern"], pattern, "{filter}");
        assert_eq!(
            f["Properties"]["DestinationArn"],
            json!({"Fn::GetAtt": ["ForwarderFunction", "Arn"]})
        );
        // Off with the defaults but for the access log, on once the group is named.
        let cond = json!({"Condition": condition});
        assert_eq!(eval(&t, &cond, &[(group, "")]), json!(false), "{condition}");
        assert_eq!(
            eval(
                &t,
                &cond,
                &[(group, "API-Gateway-Execution-Logs_a1b2c3d4e5/prod")]
            ),
            json!(true),
            "{condition}"
        );
    }
    assert_eq!(
        eval(&t, &json!({"Condition": "HasExecutionLogGroup"}), &[]),
        json!(false),
        "the defaults subscribe no execution log"
    );
    sends_only_token_lines_never_lambda_logs(&t);
}

/// A template that subscribes a log group filters on the tokens and refuses a Lambda function's
/// log group (the forwarder's own included: subscribing it would loop). Access logs: either
/// token of `$context.authorizer.error` (HTTP) or `$context.error.responseType` (REST,
/// WebSocket); execution logs: API Gateway's two texts for a broken authorizer.
pub(crate) fn sends_only_token_lines_never_lambda_logs(t: &Value) {
    let default = t["Parameters"]["FilterPattern"]["Default"]
        .as_str()
        .unwrap();
    let mut access_terms = vec![
        (true, "AUTHORIZER_CONFIGURATION_ERROR".to_owned()),
        (true, "AUTHORIZER_FAILURE".to_owned()),
    ];
    access_terms.extend(
        forwarder::model::cause::FAILURE_MESSAGES
            .iter()
            .map(|m| (true, m.phrase.to_owned())),
    );
    assert_eq!(filter_terms(default), access_terms, "{default}");
    assert_eq!(
        default,
        forwarder::detect::LogKind::Access.filter_pattern(),
        "the stack's filter and `check`'s search agree"
    );
    let pattern = t["Parameters"]["AccessLogGroupName"]["AllowedPattern"]
        .as_str()
        .unwrap();
    assert!(pattern.starts_with("^((?!/aws/lambda/)"), "{pattern}");
    assert_eq!(
        filter_terms(EXECUTION_LOG_PATTERN),
        [
            (
                true,
                "Execution failed due to configuration error".to_owned()
            ),
            (true, "AuthorizerConfigurationException".to_owned()),
            (true, "Gateway response type: AUTHORIZER_".to_owned())
        ]
    );
    let execution: Vec<&Value> = resources_of_type(t, "AWS::Logs::SubscriptionFilter")
        .into_iter()
        .filter(|(_, f)| f["Properties"]["LogGroupName"] == json!({"Ref": "ExecutionLogGroupName"}))
        .map(|(_, f)| f)
        .collect();
    assert_eq!(execution.len(), 1);
    assert_eq!(
        execution[0]["Properties"]["FilterPattern"],
        EXECUTION_LOG_PATTERN
    );
    assert_eq!(execution[0]["Condition"], "HasExecutionLogGroup");
    // Only an execution-log group's name: never a Lambda function's group.
    assert_eq!(
        t["Parameters"]["ExecutionLogGroupName"]["AllowedPattern"],
        EXECUTION_LOG_GROUP_PATTERN
    );
    assert_eq!(t["Parameters"]["ExecutionLogGroupName"]["Default"], "");
}

/// `API-Gateway-Execution-Logs_{restApiId}/{stage}`: a REST API id is 10 lowercase letters and
/// digits, a stage name letters, digits, `-` and `_` (at most 128).
const EXECUTION_LOG_GROUP_PATTERN: &str =
    "^(API-Gateway-Execution-Logs_[a-z0-9]{10}/[A-Za-z0-9_-]{1,128})?$";

#[test]
fn no_wildcard_actions_or_resources_in_any_allow() {
    for rel in [
        "infra/template.yaml",
        "infra/demo/template.yaml",
        "infra/org/central.yaml",
        "infra/org/member.yaml",
    ] {
        let t = cfn_template(rel);
        let stmts = statements(&t);
        // The forwarder stack writes its own role; the others add little or use SAM's roles.
        assert!(
            rel != "infra/template.yaml" || stmts.len() >= 8,
            "{rel}: {}",
            stmts.len()
        );
        for s in stmts.iter().filter(|s| s["Effect"] == "Allow") {
            for action in as_list(&s["Action"]) {
                assert!(
                    !action.as_str().unwrap_or("").contains('*'),
                    "{rel}: wildcard action in {s}"
                );
            }
            for resource in as_list(&s["Resource"]) {
                assert_ne!(resource, json!("*"), "{rel}: wildcard resource in {s}");
            }
            assert!(
                s.get("NotAction").is_none() && s.get("NotResource").is_none(),
                "{rel}: {s}"
            );
        }
    }
}

#[test]
fn function_role_may_only_publish_send_failures_log_and_read_authorizers() {
    let t = cfn_template("infra/template.yaml");
    let role = &t["Resources"]["ForwarderRole"]["Properties"];
    assert!(
        role.get("ManagedPolicyArns").is_none(),
        "no managed policies"
    );
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"],
        json!({"Service": "lambda.amazonaws.com"})
    );
    let policy = json!({"Resources": {"R": role["Policies"]}});
    let mut actions: Vec<String> = statements(&policy)
        .iter()
        .flat_map(|s| as_list(&s["Action"]))
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    actions.sort();
    // apigateway:GET twice: the API's authorizers, and the API lists a sweep of every API pages.
    assert_eq!(
        actions,
        [
            "apigateway:GET",
            "apigateway:GET",
            "apigateway:POST",
            "cloudformation:DescribeStacks",
            "cloudformation:ListStackResources",
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
            "events:DisableRule",
            "events:EnableRule",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "lambda:GetPolicy",
            "lambda:InvokeFunction",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sns:Publish",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
            "sqs:SendMessage"
        ]
    );
    let by_action = |a: &str| {
        statements(&policy)
            .into_iter()
            .find(|s| as_list(&s["Action"]).contains(&json!(a)))
            .unwrap()["Resource"]
            .clone()
    };
    assert_eq!(
        by_action("sns:Publish"),
        json!({"Fn::If": ["CreateTopic", {"Ref": "AlertTopic"}, {"Ref": "ExistingTopicArn"}]})
    );
    assert_eq!(
        by_action("sqs:SendMessage"),
        json!({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
    );
    // Only this stack's recovery rule, by the name the function is given.
    let rule = by_action("events:EnableRule");
    assert_eq!(rule, by_action("events:DisableRule"));
    assert_eq!(
        rule["Fn::Sub"][0],
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/forwarder-recovery-${StackUuid}"
    );
    assert_eq!(
        by_action("logs:PutLogEvents"),
        json!({"Fn::GetAtt": ["ForwarderLogGroup", "Arn"]})
    );
    assert_eq!(by_action("kms:Decrypt"), json!({"Ref": "KmsKeyArn"}));
    // Diagnosis reads exactly what it calls (of the one API when ApiId is given and no check
    // before traffic is on, of any API by its 10-character id otherwise) and function policies in
    // this account and region; nothing is granted when it is off (role_grants_follow_the_checks
    // evaluates each combination). HTTP and WebSocket (v2): GetApi, GetRoutes, GetAuthorizer; REST
    // (v1): GetRestApi, GetAuthorizers, GetResources with its methods embedded.
    let reads = by_action("apigateway:GET");
    let paths = |id: &str, branch: &Value| -> Vec<String> {
        let expected = [
            "/apis/{id}",
            "/apis/{id}/routes",
            "/apis/{id}/authorizers/*",
            "/restapis/{id}",
            "/restapis/{id}/authorizers",
            "/restapis/{id}/resources",
        ];
        let prefix = "arn:${AWS::Partition}:apigateway:${AWS::Region}::";
        let got: Vec<String> = branch
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["Fn::Sub"]
                    .as_str()
                    .unwrap()
                    .strip_prefix(prefix)
                    .unwrap_or_else(|| panic!("{r}"))
                    .to_owned()
            })
            .collect();
        let want: Vec<String> = expected.iter().map(|p| p.replace("{id}", id)).collect();
        assert_eq!(got, want);
        got
    };
    let branches = reads["Fn::If"].as_array().unwrap();
    assert_eq!(branches[0], "ReadOneApi");
    paths("${ApiId}", &branches[1]);
    // IAM's `*` also matches `/`: `/apis/*` would be every GET under /apis. An API id is 10
    // characters, so ten `?` match one API and nothing below it; only an authorizer's id is `*`.
    for p in paths("??????????", &branches[2]) {
        assert!(p.ends_with("/authorizers/*") || !p.contains('*'), "{p}");
    }
    assert_eq!(
        by_action("lambda:GetPolicy"),
        json!({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"})
    );
    let conditions: Vec<Value> = role["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.get("Fn::If").map(|f| f[0].clone()))
        .collect();
    assert_eq!(
        conditions,
        [
            json!("HasKmsKey"),
            json!("ReadApis"),
            json!("FloodControlOn"),
            json!("FloodControlOn"),
            json!("ReadApis"),
            json!("DeployChecksOn"),
            json!("TestInvokeOn"),
            json!("InvokeAuthorizersOn"),
            json!("SweepEveryApi"),
            json!("ApiChangeChecksOn")
        ]
    );
    assert_eq!(
        by_action("dynamodb:UpdateItem"),
        json!({"Fn::GetAtt": ["AlertWindowsTable", "Arn"]})
    );
}

#[test]
fn topic_policy_lets_only_the_function_and_the_alarms_publish() {
    let t = cfn_template("infra/template.yaml");
    let stmts = t["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let allows: Vec<&Value> = stmts.iter().filter(|s| s["Effect"] == "Allow").collect();
    assert_eq!(allows.len(), 2);
    assert_eq!(
        allows[0]["Principal"],
        json!({"AWS": {"Fn::GetAtt": ["ForwarderRole", "Arn"]}})
    );
    assert_eq!(
        allows[1]["Principal"],
        json!({"Service": "cloudwatch.amazonaws.com"})
    );
    assert!(
        allows[1]["Condition"]["ArnLike"]["aws:SourceArn"]
            .to_string()
            .contains(":alarm:${AWS::StackName}-*")
    );
    for s in &allows {
        assert_eq!(s["Action"], "sns:Publish");
    }
    let deny_others = stmts
        .iter()
        .find(|s| s["Sid"] == "NoOtherPublishers")
        .expect("deny statement");
    assert_eq!(deny_others["Effect"], "Deny");
    assert_eq!(
        deny_others["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
        json!({"Fn::GetAtt": ["ForwarderRole", "Arn"]})
    );
    let tls = stmts
        .iter()
        .find(|s| s["Sid"] == "DenyInsecureTransport")
        .expect("TLS statement");
    assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
    assert_eq!(
        t["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"],
        json!({"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]})
    );
}

#[test]
fn failed_events_are_kept_in_an_encrypted_queue() {
    let t = cfn_template("infra/template.yaml");
    let cfg = &t["Resources"]["ForwarderInvokeConfig"]["Properties"];
    assert_eq!(
        cfg["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
    );
    assert_eq!(
        cfg["MaximumRetryAttempts"],
        json!({"Ref": "MaximumRetryAttempts"})
    );
    assert!(
        t["Parameters"]["MaximumRetryAttempts"]["MaxValue"]
            .as_i64()
            .unwrap()
            <= 2
    );
    assert!(cfg["MaximumEventAgeInSeconds"].is_object());
    let q = &t["Resources"]["DeadLetterQueue"]["Properties"];
    assert_eq!(
        q["SqsManagedSseEnabled"],
        json!({"Fn::If": ["HasKmsKey", {"Ref": "AWS::NoValue"}, true]})
    );
    assert_eq!(
        q["KmsMasterKeyId"],
        json!({"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]})
    );
    assert_eq!(
        q["MessageRetentionPeriod"],
        json!({"Ref": "DeadLetterRetentionSeconds"})
    );
    let retention = &t["Parameters"]["DeadLetterRetentionSeconds"];
    assert_eq!(
        (
            retention["Default"].as_u64(),
            retention["MaxValue"].as_u64()
        ),
        (Some(1_209_600), Some(1_209_600)),
        "14 days, SQS's longest, unless a stream's retention is shorter"
    );
}
