//! The SAM templates keep their security properties and point at the binary we build. Templates
//! are read as CloudFormation sees them ([`cfn_template`]).

use std::process::Command;

use forwarder_tests::{cfn_template, root};
use serde_json::{Value, json};

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// Every IAM statement in the template: role policies, topic and queue policies.
fn statements(t: &Value) -> Vec<Value> {
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Array(stmts)) = map.get("Statement") {
                    for s in stmts {
                        // Conditional statements: both branches count.
                        match s.get("Fn::If") {
                            Some(Value::Array(branches)) => out.extend(
                                branches[1..]
                                    .iter()
                                    .filter(|b| b.get("Effect").is_some())
                                    .cloned(),
                            ),
                            _ => out.push(s.clone()),
                        }
                    }
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&t["Resources"], &mut out);
    out
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

#[test]
fn function_builds_the_forwarder_binary_for_arm64() {
    let t = cfn_template("infra/template.yaml");
    let f = &t["Resources"]["ForwarderFunction"];
    assert_eq!(f["Type"], "AWS::Serverless::Function");
    assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "forwarder");
    let p = &f["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(p["Architectures"], json!(["arm64"]));
    assert_eq!(p["MemorySize"], 128);
    assert!(p["Timeout"].as_i64().unwrap() <= 60);
    assert_eq!(
        p["ReservedConcurrentExecutions"],
        json!({"Fn::If": ["HasReservation", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]})
    );
    // CodeUri is the package whose binary is `forwarder`.
    let code = root().join("infra").join(p["CodeUri"].as_str().unwrap());
    let manifest = std::fs::read_to_string(code.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"forwarder\""), "{manifest}");
    assert!(code.join("src/main.rs").exists());
    // `sam build` (a step of tests/run, as infra/README.md runs it) made that bootstrap.
    let bootstrap = root().join("tests/.run/sam/main/ForwarderFunction/bootstrap");
    let elf = std::fs::read(&bootstrap).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run ./tests/run, whose sam build step makes it",
            bootstrap.display()
        )
    });
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 183, "EM_AARCH64");
}

#[test]
fn environment_matches_what_the_forwarder_reads() {
    let t = cfn_template("infra/template.yaml");
    let vars = t["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
        .as_object()
        .unwrap();
    let mut names: Vec<&str> = vars.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ACCESS_LOG_FORMAT",
            "ALERT_LABEL",
            "ALERT_LANGUAGE",
            "ALERT_MENTION",
            "ALERT_MENTION_SEVERITY",
            "ALERT_STATE_TABLE",
            "ALERT_TOPIC_ARN",
            "ALERT_WINDOW_SECONDS",
            "API_ID",
            "CAUSE_SEVERITY",
            "DIAGNOSE",
            "EXECUTION_LOG_GROUPS",
            "INVOKE_AUTHORIZERS",
            "MAX_SAMPLES",
            "METRICS_NAMESPACE",
            "RECOVERY_RULE_NAME",
            "RUST_LOG",
            "SWEEP_API_IDS",
            "SWEEP_RULE_NAME",
            "TEST_INVOKE_AUTHORIZERS"
        ]
    );
    // Every variable but the log filter is a setting the forwarder reads.
    let read = forwarder::config::Setting::ALL.map(forwarder::config::Setting::env);
    for name in names.iter().filter(|n| **n != "RUST_LOG") {
        assert!(
            read.contains(name),
            "the stack sets {name}, which forwarder/src/config/settings.rs (Setting::ALL) does not read"
        );
    }
    // The checks' switches are the parameters themselves, and the sweep is told the name of its
    // schedule, derived like the recovery rule's, so it tells the two schedules' events apart.
    for (var, param) in [
        ("TEST_INVOKE_AUTHORIZERS", "TestInvokeRestAuthorizers"),
        ("INVOKE_AUTHORIZERS", "InvokeAuthorizerFunctions"),
        ("SWEEP_API_IDS", "SweepApiIds"),
    ] {
        assert_eq!(vars[var], json!({"Ref": param}), "{var}");
    }
    // The function switches the rule it is told of, and its role may switch exactly that rule.
    let rule_name = &t["Resources"]["RecoveryCheck"]["Properties"]["Name"];
    assert_eq!(
        vars["RECOVERY_RULE_NAME"],
        json!({"Fn::If": ["FloodControlOn", rule_name, ""]})
    );
    let schema = rule_name["Fn::Sub"][0].as_str().unwrap();
    // 19 characters and a stack id's 36-character UUID: within EventBridge's 64.
    assert_eq!(schema, "forwarder-recovery-${StackUuid}");
    assert_eq!(
        rule_name["Fn::Sub"][1]["StackUuid"],
        json!({"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]})
    );
    let sweep_name = &t["Resources"]["SweepSchedule"]["Properties"]["Name"];
    assert_eq!(
        vars["SWEEP_RULE_NAME"],
        json!({"Fn::If": ["SweepOn", sweep_name, ""]})
    );
    assert_eq!(
        sweep_name["Fn::Sub"][0], "forwarder-sweep-${StackUuid}",
        "15 characters and the stack id's UUID: within EventBridge's 64"
    );
    assert_eq!(sweep_name["Fn::Sub"][1], rule_name["Fn::Sub"][1]);
    // The parameters' defaults are settings the forwarder accepts.
    let params = &t["Parameters"];
    let default = |p: &str| params[p]["Default"].as_str().map(str::to_owned);
    let env = |k: &str| match k {
        "ALERT_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".to_owned()),
        "ALERT_LABEL" => params["AlertLabel"]["Default"].as_str().map(str::to_owned),
        "ALERT_LANGUAGE" => params["AlertLanguage"]["Default"]
            .as_str()
            .map(str::to_owned),
        "MAX_SAMPLES" => Some(params["MaxSamples"]["Default"].to_string()),
        "ACCESS_LOG_FORMAT" => params["AccessLogFormat"]["Default"]
            .as_str()
            .map(str::to_owned),
        "DIAGNOSE" => params["Diagnose"]["Default"].as_str().map(str::to_owned),
        "API_ID" => params["ApiId"]["Default"].as_str().map(str::to_owned),
        "ALERT_WINDOW_SECONDS" => Some(params["AlertWindowSeconds"]["Default"].to_string()),
        "ALERT_STATE_TABLE" => Some("stack-AlertWindowsTable-1".to_owned()),
        "METRICS_NAMESPACE" => default("MetricsNamespace"),
        "CAUSE_SEVERITY" => default("CauseSeverity"),
        "ALERT_MENTION" => default("AlertMention"),
        "ALERT_MENTION_SEVERITY" => default("AlertMentionSeverity"),
        "EXECUTION_LOG_GROUPS" => default("ExecutionLogDeliveryGroupName"),
        _ => None,
    };
    let config = forwarder::config::Config::from_lookup(env, true)
        .expect("template defaults are valid settings");
    assert!(config.diagnose, "the stack diagnoses by default");
    assert_eq!(
        config.metrics_namespace.as_deref(),
        Some(forwarder::config::DEFAULT_METRICS_NAMESPACE),
        "the stack writes metrics by default"
    );
    assert_eq!(config.mention, None, "no one is mentioned unless asked");
    // Each severity the stack offers is one the forwarder reads, and nothing else.
    let offered: Vec<&str> = params["AlertMentionSeverity"]["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        offered,
        forwarder::model::cause::Severity::ALL.map(forwarder::model::cause::Severity::code)
    );
    // The examples the parameter descriptions give are settings the forwarder accepts (the
    // patterns are checked against the same examples in parameter_patterns_...).
    for (key, value) in [
        ("METRICS_NAMESPACE", "Team/Auth-Alerts"),
        (
            "CAUSE_SEVERITY",
            "authorizer_timeout=critical,format_mismatch=high",
        ),
        ("ALERT_MENTION", "@here <@U0123ABCD> <!subteam^S0123ABCD>"),
    ] {
        forwarder::config::Config::from_lookup(|k| (k == key).then(|| value.to_owned()), false)
            .unwrap_or_else(|e| panic!("{key} {value:?}: {e}"));
    }
    assert_eq!(
        params["AlertWindowSeconds"]["MaxValue"],
        forwarder::config::MAX_WINDOW_SECONDS
    );
    // Every value the ApiId pattern admits is an id the forwarder accepts, and the pattern
    // refuses what the forwarder would refuse.
    assert_eq!(params["ApiId"]["AllowedPattern"], "^[a-z0-9]{0,20}$");
    assert!(forwarder::config::parse_api_id("a1b2c3d4e5").is_ok());
    assert_eq!(
        params["AlertLanguage"]["AllowedValues"],
        json!(["en", "ja"])
    );
    assert_eq!(
        params["MaxSamples"]["MaxValue"],
        forwarder::config::MAX_MAX_SAMPLES
    );
}

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
fn sends_only_token_lines_never_lambda_logs(t: &Value) {
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
fn flood_control_table_cleans_itself_and_costs_nothing_idle() {
    let t = cfn_template("infra/template.yaml");
    let table = &t["Resources"]["AlertWindowsTable"];
    assert_eq!(table["Condition"], "FloodControlOn");
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}])
    );
    // The attribute the forwarder writes as the item's expiry.
    assert_eq!(
        p["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
    let env = &t["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["ALERT_STATE_TABLE"],
        json!({"Fn::If": ["FloodControlOn", {"Ref": "AlertWindowsTable"}, ""]})
    );
}

#[test]
fn organisation_stream_reports_failed_records_and_admits_only_members() {
    let t = cfn_template("infra/org/central.yaml");
    let res = &t["Resources"];
    let mapping = &res["StreamMapping"]["Properties"];
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["Forwarder", "Outputs.DeadLetterQueueArn"]})
    );
    assert!(mapping["MaximumRetryAttempts"].as_u64().unwrap() <= 10);
    let stream = &res["LogStream"]["Properties"];
    assert_eq!(stream["StreamEncryption"]["EncryptionType"], "KMS");
    assert_eq!(
        stream["StreamModeDetails"]["StreamMode"],
        json!({"Fn::If": ["OnDemand", "ON_DEMAND", "PROVISIONED"]})
    );
    assert_eq!(
        t["Conditions"]["OnDemand"],
        json!({"Fn::Equals": [{"Ref": "StreamShardCount"}, 0]})
    );
    // A kept pointer finds its records: the stream keeps them as long as the queue keeps it.
    let replay = t["Mappings"]["Replay"].as_object().unwrap();
    let days: Vec<String> = t["Parameters"]["ReplayDays"]["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.to_string().trim_matches('"').to_owned())
        .collect();
    assert_eq!(replay.len(), days.len());
    for d in &days {
        let row = &replay[d];
        let number = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
        let hours = number(&row["StreamHours"]);
        let seconds = number(&row["QueueSeconds"]);
        assert_eq!(hours, d.parse::<u64>().unwrap() * 24, "{d}");
        assert_eq!(seconds, hours * 3600, "{d}");
        assert!((24..=8760).contains(&hours) && seconds <= 1_209_600, "{d}");
    }
    assert_eq!(
        stream["RetentionPeriodHours"],
        json!({"Fn::FindInMap": ["Replay", {"Ref": "ReplayDays"}, "StreamHours"]})
    );
    assert_eq!(
        res["Forwarder"]["Properties"]["Parameters"]["DeadLetterRetentionSeconds"],
        json!({"Fn::FindInMap": ["Replay", {"Ref": "ReplayDays"}, "QueueSeconds"]})
    );
    // The forwarder is not subscribed to a log group there, and does not try to read member APIs.
    let forwarder = &res["Forwarder"]["Properties"];
    assert_eq!(forwarder["Location"], "../template.yaml");
    assert_eq!(forwarder["Parameters"]["AccessLogGroupName"], "");
    assert_eq!(forwarder["Parameters"]["ExecutionLogGroupName"], "");
    assert_eq!(forwarder["Parameters"]["Diagnose"], "false");
    // The destination policy names who may subscribe: listed accounts or the organisation.
    let policy = res["Destination"]["Properties"]["DestinationPolicy"].to_string();
    assert!(policy.contains("aws:PrincipalOrgID"), "{policy}");
    assert!(policy.contains(r#"\"AWS\":[\"${Accounts}\"]"#), "{policy}");
    // CloudWatch Logs may only put records, only into this stream.
    let role = &res["LogsToStreamRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({"Service": "logs.amazonaws.com"})
    );
    let put = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(put["Action"], "kinesis:PutRecord");
    assert_eq!(put["Resource"], json!({"Fn::GetAtt": ["LogStream", "Arn"]}));
    // The forwarder may read the stream and nothing else is added to its role.
    let reads = &res["ForwarderReadsStream"]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(reads.as_array().unwrap().len(), 1);
    assert_eq!(
        reads[0]["Resource"],
        json!({"Fn::GetAtt": ["LogStream", "Arn"]})
    );
    // What a standard (polling) event source mapping calls, and nothing else: no
    // kinesis:SubscribeToShard, which only an enhanced fan-out consumer uses.
    let mut actions: Vec<&str> = reads[0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards"
        ]
    );
}

#[test]
fn member_accounts_send_one_log_group_or_the_whole_account() {
    let t = cfn_template("infra/org/member.yaml");
    let res = &t["Resources"];
    assert_eq!(res["AccessLogSubscription"]["Condition"], "OneLogGroup");
    assert_eq!(res["AccountSubscription"]["Condition"], "WholeAccount");
    // A REST stage's execution log goes to the same destination, in either mode.
    let execution = &res["ExecutionLogSubscription"];
    assert_eq!(
        execution["Properties"]["DestinationArn"],
        json!({"Ref": "DestinationArn"})
    );
    assert_eq!(
        res["AccessLogSubscription"]["Properties"]["FilterPattern"],
        json!({"Ref": "FilterPattern"})
    );
    let policy = &res["AccountSubscription"]["Properties"];
    assert_eq!(policy["PolicyType"], "SUBSCRIPTION_FILTER_POLICY");
    // CloudWatch Logs selects log groups for account policies only by exclusion.
    assert!(
        policy["SelectionCriteria"]
            .to_string()
            .contains("LogGroupName NOT IN")
    );
    sends_only_token_lines_never_lambda_logs(&t);
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

#[test]
fn alarms_watch_errors_throttles_and_the_queue() {
    let t = cfn_template("infra/template.yaml");
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    let topic =
        json!([{"Fn::If": ["CreateTopic", {"Ref": "AlertTopic"}, {"Ref": "ExistingTopicArn"}]}]);
    let mut metrics: Vec<String> = alarms
        .iter()
        .filter(|(_, a)| a.get("Condition").is_none())
        .map(|(_, a)| {
            let p = &a["Properties"];
            assert_eq!(p["AlarmActions"], topic);
            assert_eq!(p["Threshold"], 1);
            format!(
                "{}/{}",
                p["Namespace"].as_str().unwrap(),
                p["MetricName"].as_str().unwrap()
            )
        })
        .collect();
    metrics.sort();
    assert_eq!(
        metrics,
        [
            "AWS/Lambda/Errors",
            "AWS/Lambda/Throttles",
            "AWS/SQS/ApproximateNumberOfMessagesVisible"
        ]
    );
    // The optional alarm on the forwarder's own metric: the total over every cause and API (the
    // summary document's empty dimension set), with state changes both ways to the topic.
    let (_, failures) = alarms
        .iter()
        .find(|(_, a)| a.get("Condition").is_some())
        .expect("the authorizer failures alarm");
    assert_eq!(failures["Condition"], "FailureAlarmOn");
    let p = &failures["Properties"];
    // A request seen in both of a REST stage's logs is in each metric once: the larger of the
    // two counts it once, and either log alone still trips the alarm.
    let metrics = p["Metrics"].as_array().expect("metric math");
    assert_eq!(
        metrics[0]["Expression"],
        "MAX([FILL(access, 0), FILL(execution, 0)])"
    );
    assert_eq!(metrics[0]["ReturnData"], true);
    let stats: Vec<(&str, &Value)> = metrics[1..]
        .iter()
        .map(|m| (m["Id"].as_str().unwrap(), &m["MetricStat"]))
        .collect();
    use forwarder::metrics::{AUTHORIZER_FAILURES, EXECUTION_LOG_FAILURES, FUNCTION_NAME};
    for ((id, stat), (want_id, name)) in stats.iter().zip([
        ("access", AUTHORIZER_FAILURES),
        ("execution", EXECUTION_LOG_FAILURES),
    ]) {
        assert_eq!(*id, want_id);
        let m = &stat["Metric"];
        assert_eq!(m["Namespace"], json!({"Ref": "MetricsNamespace"}));
        assert_eq!(m["MetricName"], name);
        // This stack's forwarder's total, never another stack's in the same namespace.
        assert_eq!(
            m["Dimensions"],
            json!([{"Name": FUNCTION_NAME, "Value": {"Ref": "ForwarderFunction"}}])
        );
        assert_eq!(
            (stat["Period"].as_u64(), stat["Stat"].as_str()),
            (Some(60), Some("Sum"))
        );
    }
    assert_eq!(stats.len(), 2);
    assert_eq!(p["Threshold"], json!({"Ref": "FailureAlarmThreshold"}));
    assert_eq!(p["AlarmActions"], topic);
    // A new alarm's first INSUFFICIENT_DATA -> OK would run OKActions on every deploy: the OK
    // notification comes from a rule on ALARM -> OK alone.
    assert!(p.get("OKActions").is_none(), "{p}");
    let cleared = &t["Resources"]["AuthorizerFailuresCleared"];
    assert_eq!(cleared["Type"], "AWS::Events::Rule");
    assert_eq!(cleared["Condition"], "FailureAlarmOn");
    let pattern = &cleared["Properties"]["EventPattern"];
    assert_eq!(pattern["source"], json!(["aws.cloudwatch"]));
    assert_eq!(
        pattern["detail-type"],
        json!(["CloudWatch Alarm State Change"])
    );
    assert_eq!(
        pattern["resources"],
        json!([{"Fn::GetAtt": ["AuthorizerFailuresAlarm", "Arn"]}])
    );
    assert_eq!(
        pattern["detail"]["previousState"]["value"],
        json!(["ALARM"])
    );
    assert_eq!(pattern["detail"]["state"]["value"], json!(["OK"]));
    let target = &cleared["Properties"]["Targets"][0];
    assert_eq!(json!([target["Arn"]]), topic);
    // What it sends reads as a chat custom notification once EventBridge fills it in.
    let filled = target["InputTransformer"]["InputTemplate"]
        .as_str()
        .unwrap()
        .replace("<alarm>", "stack-authorizer-failures")
        .replace("<time>", "2026-12-07T10:00:00Z")
        .replace("<reason>", "Threshold Crossed");
    let note: Value = serde_json::from_str(&filled).expect("the OK note is JSON");
    assert_eq!(
        (note["version"].as_str(), note["source"].as_str()),
        (Some("1.0"), Some("custom"))
    );
    assert!(
        note["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with("OK: ")
    );
    assert_eq!(p["TreatMissingData"], "notBreaching");
    // The topic policy admits alarms by this stack's name prefix.
    assert!(
        p["AlarmName"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .starts_with("${AWS::StackName}-")
    );
    let conditions = &t["Conditions"];
    assert_eq!(
        conditions["FailureAlarmOn"],
        json!({"Fn::And": [{"Condition": "MetricsOn"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "FailureAlarmThreshold"}, "0"]}]}]})
    );
    // A string compared as written: the pattern admits one way to write each number, so "0.0"
    // cannot make an alarm with threshold 0 that every invocation's zero would trip.
    assert_eq!(
        t["Parameters"]["FailureAlarmThreshold"]["Default"], "0",
        "opt-in"
    );
}

/// The dashboard's graphs read the metrics the forwarder writes: every metric name and
/// dimension a graph names is one `forwarder::metrics` emits, and the body is JSON once
/// CloudFormation has substituted it.
#[test]
fn dashboard_graphs_what_the_forwarder_writes() {
    let t = cfn_template("infra/template.yaml");
    let dashboards = resources_of_type(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let (_, d) = &dashboards[0];
    assert_eq!(d["Condition"], "DashboardOn");
    assert_eq!(t["Parameters"]["CreateDashboard"]["Default"], "true");
    let sub = d["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_array()
        .unwrap();
    let body = sub[0]
        .as_str()
        .unwrap()
        .replace("${MetricsNamespace}", "AuthorizerAlerts")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${ForwarderFunction}", "stack-forwarder")
        .replace("${DeadLetterQueue.QueueName}", "stack-dlq")
        .replace("${ApiFilter}", "ApiId=\\\"a1b2c3d4e5\\\"")
        .replace("${ServerErrorsTitle}", "Server errors");
    assert!(!body.contains("${"), "every variable is known: {body}");
    let body: Value = serde_json::from_str(&body).expect("the body is JSON");
    let text = body.to_string();
    use forwarder::metrics as m;
    for name in [
        m::AUTHORIZER_FAILURES,
        m::EXECUTION_LOG_FAILURES,
        m::ALERTS_PUBLISHED,
        m::ALERTS_SUPPRESSED,
        m::FORGED_TOKENS_IGNORED,
        m::UNMATCHED_LINES,
        m::DIAGNOSIS_UNAVAILABLE,
    ] {
        assert!(text.contains(&format!("\"{name}\"")), "{name} is graphed");
    }
    // The namespace is quoted in each search, as a namespace with a space or `#` must be.
    // Each search names the dimension set the forwarder writes, FunctionName among them, and
    // this stack's function: never another stack's failures in the same namespace.
    for schema in [
        format!(
            "{{\\\"AuthorizerAlerts\\\",{},{}}}",
            m::CAUSE,
            m::FUNCTION_NAME
        ),
        format!(
            "{{\\\"AuthorizerAlerts\\\",{},{},{}}}",
            m::API_ID,
            m::CAUSE,
            m::FUNCTION_NAME
        ),
        format!(
            "{{\\\"AuthorizerAlerts\\\",{},{},{}}}",
            m::CAUSE,
            m::FUNCTION_NAME,
            m::LOG_GROUP
        ),
    ] {
        assert!(text.contains(&schema), "{schema} is searched");
    }
    // Each search's first argument, up to the statistic that follows it.
    let searches: Vec<&str> = text
        .split("SEARCH(")
        .skip(1)
        .map(|s| s.split("', ").next().unwrap())
        .filter(|s| s.contains("AuthorizerAlerts"))
        .collect();
    assert_eq!(searches.len(), 4);
    for s in searches {
        assert!(
            s.contains("FunctionName=\\\"stack-forwarder\\\""),
            "narrowed to this stack: {s}"
        );
    }
    for api_metric in ["MetricName=\\\"5xx\\\"", "MetricName=\\\"5XXError\\\""] {
        assert!(text.contains(api_metric), "{api_metric}: {text}");
    }
    for health in ["Errors", "Throttles", "ApproximateNumberOfMessagesVisible"] {
        assert!(text.contains(&format!("\"{health}\"")), "{health}");
    }
    let widgets = body["widgets"].as_array().unwrap();
    assert!(widgets.iter().all(|w| {
        let (x, width) = (w["x"].as_u64().unwrap(), w["width"].as_u64().unwrap());
        x + width <= 24
    }));
    assert_eq!(
        sub[1]["ApiFilter"],
        json!({"Fn::If": ["HasApiId", {"Fn::Sub": "ApiId=\\\"${ApiId}\\\""}, ""]})
    );
}

#[test]
fn outputs_tell_how_to_operate_the_stack() {
    let t = cfn_template("infra/template.yaml");
    let outputs = t["Outputs"].as_object().unwrap();
    for name in [
        "TopicArn",
        "FunctionName",
        "DeadLetterQueueUrl",
        "ReplayCommand",
    ] {
        assert!(outputs.contains_key(name), "{name}");
    }
    let replay = outputs["ReplayCommand"]["Value"]["Fn::Sub"]
        .as_str()
        .unwrap();
    for part in [
        "aws sqs receive-message",
        ".requestPayload",
        "aws lambda invoke",
        "--invocation-type Event",
        "aws sqs delete-message",
        "${DeadLetterQueue}",
        "${ForwarderFunction}",
    ] {
        assert!(replay.contains(part), "{part} missing from {replay}");
    }
}

#[test]
fn demo_reproduces_both_failures_next_to_a_healthy_route() {
    let t = cfn_template("infra/demo/template.yaml");
    let res = &t["Resources"];
    let route_authorizer = |key: &str| {
        let (_, route) = resources_of_type(&t, "AWS::ApiGatewayV2::Route")
            .into_iter()
            .find(|(_, r)| r["Properties"]["RouteKey"] == key)
            .unwrap_or_else(|| panic!("route {key}"));
        route["Properties"]["AuthorizerId"]["Ref"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let permitted: Vec<String> = resources_of_type(&t, "AWS::Lambda::Permission")
        .iter()
        .filter_map(|(_, p)| {
            p["Properties"]["FunctionName"]["Ref"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let function_of = |authorizer: &str| {
        let uri = res[authorizer]["Properties"]["AuthorizerUri"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let start = uri.find("functions/${").unwrap() + "functions/${".len();
        uri[start..].split('.').next().unwrap().to_owned()
    };
    for (route, has_permission) in [
        ("GET /health", true),
        ("GET /orders", false),
        ("GET /profile", true),
    ] {
        let authorizer = route_authorizer(route);
        let function = function_of(&authorizer);
        assert_eq!(
            permitted.contains(&function),
            has_permission,
            "{route}: {function}"
        );
        let a = &res[authorizer.as_str()]["Properties"];
        assert_eq!(
            (
                a["EnableSimpleResponses"].clone(),
                a["AuthorizerPayloadFormatVersion"].clone()
            ),
            (json!(true), json!("2.0"))
        );
        let code = res[function.as_str()]["Properties"]["InlineCode"]
            .as_str()
            .unwrap();
        assert_eq!(
            code.contains("isAuthorized"),
            route != "GET /profile",
            "{route}: {code}"
        );
    }
    // The stage logs in the recommended format, which its forwarder is given, to the group it
    // watches.
    let stage = &res["Stage"]["Properties"]["AccessLogSettings"];
    assert_eq!(
        stage["Format"],
        forwarder::detect::access_log::RECOMMENDED_FORMAT
    );
    assert_eq!(
        res["Forwarder"]["Properties"]["Parameters"]["AccessLogFormat"],
        forwarder::detect::access_log::RECOMMENDED_FORMAT
    );
    assert_eq!(
        stage["DestinationArn"],
        json!({"Fn::GetAtt": ["AccessLogGroup", "Arn"]})
    );
    let nested = &res["Forwarder"]["Properties"];
    assert_eq!(nested["Location"], "../template.yaml");
    assert_eq!(
        nested["Parameters"]["AccessLogGroupName"],
        json!({"Ref": "AccessLogGroup"})
    );
}

/// The REST API of the demo: the same three routes with REST's failures. GET /orders has a TOKEN
/// authorizer whose function API Gateway may not invoke ("Invalid permissions on Lambda
/// function"), GET /profile a REQUEST authorizer that returns a policy document that is not one
/// ("Could not parse policy"), GET /health a working one; access and execution logs both watched.
#[test]
fn demo_rest_api_reproduces_both_rest_failures_next_to_a_healthy_route() {
    let t = cfn_template("infra/demo/template.yaml");
    let res = &t["Resources"];
    let permitted: Vec<String> = resources_of_type(&t, "AWS::Lambda::Permission")
        .iter()
        .filter(|(_, p)| p["Properties"]["Principal"] == "apigateway.amazonaws.com")
        .filter_map(|(_, p)| {
            p["Properties"]["FunctionName"]["Ref"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let methods = resources_of_type(&t, "AWS::ApiGateway::Method");
    assert_eq!(methods.len(), 3);
    let mut method_names = Vec::new();
    for (path, kind, has_permission) in [
        ("health", "REQUEST", true),
        ("orders", "TOKEN", false),
        ("profile", "REQUEST", true),
    ] {
        let (name, method) = methods
            .iter()
            .find(|(_, m)| {
                let resource = m["Properties"]["ResourceId"]["Ref"].as_str().unwrap();
                res[resource]["Properties"]["PathPart"] == path
            })
            .unwrap_or_else(|| panic!("GET /{path}"));
        method_names.push(json!(name));
        let m = &method["Properties"];
        let resource = &res[m["ResourceId"]["Ref"].as_str().unwrap()]["Properties"];
        assert_eq!(
            resource["ParentId"],
            json!({"Fn::GetAtt": ["RestApi", "RootResourceId"]})
        );
        assert_eq!(m["HttpMethod"], "GET");
        assert_eq!(m["RestApiId"], json!({"Ref": "RestApi"}));
        assert_eq!(m["AuthorizationType"], "CUSTOM");
        assert_eq!(m["Integration"]["Type"], "AWS_PROXY");
        let authorizer = m["AuthorizerId"]["Ref"].as_str().unwrap();
        let a = &res[authorizer];
        assert_eq!(a["Type"], "AWS::ApiGateway::Authorizer", "/{path}");
        let a = &a["Properties"];
        assert_eq!(a["Type"], kind, "/{path}");
        assert_eq!(a["RestApiId"], json!({"Ref": "RestApi"}));
        // No cached policy hides a failure between two requests.
        assert_eq!(a["AuthorizerResultTtlInSeconds"], 0, "/{path}");
        let uri = a["AuthorizerUri"]["Fn::Sub"].as_str().unwrap();
        let start = uri.find("functions/${").unwrap() + "functions/${".len();
        let function = uri[start..].split('.').next().unwrap();
        assert_eq!(
            permitted.iter().any(|f| f == function),
            has_permission,
            "/{path}: {function}"
        );
        // The permission names this authorizer, as API Gateway's console would add it.
        if has_permission {
            let (_, p) = resources_of_type(&t, "AWS::Lambda::Permission")
                .into_iter()
                .find(|(_, p)| p["Properties"]["FunctionName"]["Ref"] == function)
                .unwrap();
            assert_eq!(
                p["Properties"]["SourceArn"],
                json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{RestApi}}/authorizers/${{{authorizer}}}")})
            );
        }
        let code = res[function]["Properties"]["InlineCode"].as_str().unwrap();
        assert!(code.contains("\"principalId\""), "/{path}: {code}");
        assert_eq!(
            code.contains("\"policyDocument\": \"not a policy\""),
            path == "profile",
            "/{path}: {code}"
        );
        assert_eq!(
            code.contains("\"Effect\": \"Allow\""),
            path != "profile",
            "/{path}: {code}"
        );
    }
    // One deployment of all three methods, one stage that logs both ways.
    assert_eq!(res["RestDeployment"]["DependsOn"], json!(method_names));
    let stage = &res["RestStage"]["Properties"];
    assert_eq!(stage["DeploymentId"], json!({"Ref": "RestDeployment"}));
    let settings = &stage["MethodSettings"][0];
    assert_eq!(
        (&settings["ResourcePath"], &settings["HttpMethod"]),
        (&json!("/*"), &json!("*"))
    );
    assert_eq!(settings["LoggingLevel"], "ERROR");
    let access = &stage["AccessLogSetting"];
    assert_eq!(
        access["DestinationArn"],
        json!({"Fn::GetAtt": ["RestAccessLogGroup", "Arn"]})
    );
    let format = access["Format"].as_str().unwrap();
    let fields: Value = serde_json::from_str(format).expect("a JSON format");
    for (key, variable) in [
        ("requestId", "$context.requestId"),
        ("apiId", "$context.apiId"),
        ("stage", "$context.stage"),
        ("status", "$context.status"),
        ("httpMethod", "$context.httpMethod"),
        ("resourcePath", "$context.resourcePath"),
        ("responseType", "$context.error.responseType"),
        ("authorizerError", "$context.authorizer.error"),
        ("authorizeError", "$context.authorize.error"),
        ("errorMessage", "$context.error.message"),
    ] {
        assert_eq!(fields[key], variable, "{key} in {format}");
    }
    // API Gateway writes the execution log to API-Gateway-Execution-Logs_{restApiId}/{stage}; the
    // stack makes that group (with retention) before the stage.
    assert_eq!(
        res["RestExecutionLogGroup"]["Properties"]["LogGroupName"],
        json!({"Fn::Sub": format!("API-Gateway-Execution-Logs_${{RestApi}}/{}", stage["StageName"].as_str().unwrap())})
    );
    assert_eq!(res["RestStage"]["DependsOn"], "RestExecutionLogGroup");
    for group in ["RestAccessLogGroup", "RestExecutionLogGroup"] {
        assert_eq!(res[group]["Properties"]["RetentionInDays"], 7, "{group}");
    }
    // Its own forwarder reads that format, watches both groups and diagnoses that API.
    let nested = &res["RestForwarder"]["Properties"];
    assert_eq!(nested["Location"], "../template.yaml");
    let p = &nested["Parameters"];
    assert_eq!(
        p["AccessLogGroupName"],
        json!({"Ref": "RestAccessLogGroup"})
    );
    assert_eq!(
        p["ExecutionLogGroupName"],
        json!({"Ref": "RestExecutionLogGroup"})
    );
    assert_eq!(p["AccessLogFormat"], format);
    assert_eq!(p["ApiId"], json!({"Ref": "RestApi"}));
    assert_eq!(p["Diagnose"], "true");
    // The account's API Gateway CloudWatch role is one setting per account and region: the demo
    // sets it only when asked, and keeps the role when it goes.
    for name in ["ApiGatewayAccount", "ApiGatewayCloudWatchRole"] {
        assert_eq!(res[name]["Condition"], "SetCloudWatchRole", "{name}");
    }
    assert_eq!(
        res["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"],
        json!({"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]})
    );
    assert_eq!(res["ApiGatewayCloudWatchRole"]["DeletionPolicy"], "Retain");
    let set = json!({"Condition": "SetCloudWatchRole"});
    assert_eq!(eval(&t, &set, &[]), json!(false), "off by default");
    assert_eq!(
        eval(&t, &set, &[("SetApiGatewayCloudWatchRole", "true")]),
        json!(true)
    );
    // When the stack sets the role, the stage (whose logging needs it) waits for it.
    assert_eq!(
        stage["Description"]["Fn::If"][0], "SetCloudWatchRole",
        "{}",
        stage["Description"]
    );
    assert!(
        stage["Description"]["Fn::If"][1]["Fn::Sub"]
            .as_str()
            .unwrap()
            .contains("${ApiGatewayAccount}")
    );
}

const TEMPLATES: [&str; 4] = [
    "infra/template.yaml",
    "infra/demo/template.yaml",
    "infra/org/central.yaml",
    "infra/org/member.yaml",
];

/// The forwarder's templates and the chat configuration's.
const ALL_TEMPLATES: [&str; 5] = [
    "infra/template.yaml",
    "infra/demo/template.yaml",
    "infra/org/central.yaml",
    "infra/org/member.yaml",
    "infra/chat/template.yaml",
];

/// A parameter's value as CloudFormation hands it to intrinsic functions: the given value or the
/// default, as a string (a number's too), and a comma-delimited list as a list.
fn parameter(t: &Value, name: &str, given: &[(&str, &str)]) -> Value {
    if name.starts_with("AWS::") {
        let (_, v) = given
            .iter()
            .find(|(k, _)| *k == name)
            .unwrap_or_else(|| panic!("give the pseudo parameter {name}"));
        return json!(v);
    }
    let declared = &t["Parameters"][name];
    assert!(declared.is_object(), "no parameter {name}");
    let raw = match given.iter().find(|(k, _)| *k == name) {
        Some((_, v)) => v.to_string(),
        None => match &declared["Default"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("{name} has no usable default: {other}"),
        },
    };
    if declared["Type"] == "CommaDelimitedList" {
        json!(raw.split(',').map(str::trim).collect::<Vec<_>>())
    } else {
        json!(raw)
    }
}

/// Evaluates the condition and rule functions the templates use (`Ref`, `Condition`,
/// `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Fn::EachMemberEquals`) for parameter values, so
/// a test can ask what a deploy with those values would do.
fn eval(t: &Value, v: &Value, given: &[(&str, &str)]) -> Value {
    let truth = |v: &Value| match eval(t, v, given) {
        Value::Bool(b) => b,
        other => panic!("not a condition: {other}"),
    };
    let args = |v: &Value| v.as_array().cloned().unwrap_or_default();
    match v {
        Value::Object(map) if map.len() == 1 => {
            let (f, arg) = map.iter().next().unwrap();
            match f.as_str() {
                "Ref" => parameter(t, arg.as_str().unwrap(), given),
                "Condition" => eval(t, &t["Conditions"][arg.as_str().unwrap()], given),
                "Fn::Equals" => {
                    let a = args(arg);
                    json!(eval(t, &a[0], given) == eval(t, &a[1], given))
                }
                "Fn::Not" => json!(!truth(&args(arg)[0])),
                "Fn::And" => json!(args(arg).iter().all(truth)),
                "Fn::Or" => json!(args(arg).iter().any(truth)),
                "Fn::EachMemberEquals" => {
                    let a = args(arg);
                    let want = eval(t, &a[1], given);
                    json!(args(&eval(t, &a[0], given)).iter().all(|m| *m == want))
                }
                other => panic!("{other} is not evaluated here"),
            }
        }
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

/// Whether every `Rules` assertion of a template holds for these parameter values, with the
/// failing assertion's description.
fn rules_hold(t: &Value, given: &[(&str, &str)]) -> Result<(), String> {
    let Some(rules) = t["Rules"].as_object() else {
        return Ok(());
    };
    for rule in rules.values() {
        if let Some(when) = rule.get("RuleCondition")
            && eval(t, when, given) == json!(false)
        {
            continue;
        }
        for a in rule["Assertions"].as_array().unwrap() {
            if eval(t, &a["Assert"], given) != json!(true) {
                return Err(a["AssertDescription"].as_str().unwrap_or("?").to_owned());
            }
        }
    }
    Ok(())
}

/// Lambda refuses a reservation that leaves the account less than its minimum unreserved
/// concurrency (10 on a new account), so a deploy with the defaults reserves nothing anywhere:
/// not on a function, not in `Globals`, not through a nested stack's parameters.
#[test]
fn no_concurrency_is_reserved_unless_asked() {
    for rel in ALL_TEMPLATES {
        let t = cfn_template(rel);
        assert!(
            t["Globals"]["Function"]
                .get("ReservedConcurrentExecutions")
                .is_none(),
            "{rel}: Globals reserve concurrency"
        );
        for kind in ["AWS::Serverless::Function", "AWS::Lambda::Function"] {
            for (name, f) in resources_of_type(&t, kind) {
                let Some(reserved) = f["Properties"].get("ReservedConcurrentExecutions") else {
                    continue;
                };
                // Only a condition that is false with the defaults may set it.
                let branches = reserved["Fn::If"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{rel} {name}: reserves {reserved} unconditionally"));
                let on = eval(&t, &json!({"Condition": branches[0]}), &[]);
                assert_eq!(on, json!(false), "{rel} {name}: reserves by default");
                assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}), "{rel} {name}");
                // ...and asking for a reservation gets exactly it.
                let param = branches[1]["Ref"].as_str().unwrap();
                let asked = eval(&t, &json!({"Condition": branches[0]}), &[(param, "7")]);
                assert_eq!(
                    asked,
                    json!(true),
                    "{rel} {name}: {param}=7 reserves nothing"
                );
            }
        }
        for (name, app) in resources_of_type(&t, "AWS::Serverless::Application") {
            let passed = &app["Properties"]["Parameters"]["ReservedConcurrency"];
            assert!(
                passed.is_null() || eval(&t, passed, &[]) == json!("0"),
                "{rel} {name}: the nested forwarder reserves {passed}"
            );
        }
    }
    let t = cfn_template("infra/template.yaml");
    assert_eq!(t["Parameters"]["ReservedConcurrency"]["Default"], 0);
    assert_eq!(t["Parameters"]["ReservedConcurrency"]["MinValue"], 0);
}

/// A destination policy built from no accounts names `""` as its principal and admits no one;
/// the central stack refuses such a deploy, and admits either way of naming the members.
#[test]
fn central_stack_refuses_to_deploy_with_no_one_admitted() {
    let t = cfn_template("infra/org/central.yaml");
    let refused = rules_hold(&t, &[]).expect_err("the defaults admit no one, yet deploy");
    assert!(
        refused.contains("SourceAccountIds") && refused.contains("OrganizationId"),
        "{refused}"
    );
    assert!(rules_hold(&t, &[("SourceAccountIds", "")]).is_err());
    for admitted in [
        vec![("SourceAccountIds", "111111111111")],
        vec![("SourceAccountIds", "111111111111,222222222222")],
        vec![("OrganizationId", "o-abc123def4")],
    ] {
        assert_eq!(rules_hold(&t, &admitted), Ok(()), "{admitted:?}");
    }
}

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

/// The capabilities CloudFormation asks of a deploy of this template: IAM for roles and policies
/// (SAM functions without a `Role` make one), NAMED_IAM for named ones, AUTO_EXPAND for nested
/// applications (their stacks run the SAM transform), and whatever the nested templates ask.
fn required_capabilities(path: &std::path::Path) -> std::collections::BTreeSet<&'static str> {
    let rel = path.strip_prefix(root()).unwrap().to_str().unwrap();
    let t = cfn_template(rel);
    let mut needs = std::collections::BTreeSet::new();
    for (_, r) in t["Resources"].as_object().unwrap() {
        let kind = r["Type"].as_str().unwrap();
        let props = &r["Properties"];
        if kind.starts_with("AWS::IAM::")
            || (kind == "AWS::Serverless::Function" && props.get("Role").is_none())
        {
            needs.insert("CAPABILITY_IAM");
        }
        let named = [
            ("AWS::IAM::Role", "RoleName"),
            ("AWS::IAM::User", "UserName"),
            ("AWS::IAM::Group", "GroupName"),
            ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
            ("AWS::IAM::InstanceProfile", "InstanceProfileName"),
        ];
        if named
            .iter()
            .any(|(k, name)| *k == kind && props.get(*name).is_some())
        {
            needs.insert("CAPABILITY_NAMED_IAM");
        }
        if kind == "AWS::Serverless::Application" {
            needs.insert("CAPABILITY_AUTO_EXPAND");
            let nested = path
                .parent()
                .unwrap()
                .join(props["Location"].as_str().unwrap());
            needs.extend(required_capabilities(&nested.canonicalize().unwrap()));
        }
    }
    needs
}

/// A setting from a `samconfig.toml` next to the template, which `sam deploy` reads.
fn samconfig(dir: &std::path::Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("samconfig.toml")).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Every deploy command the READMEs and docs/ show, run as written from the repository root, names
/// a stack and passes the capabilities its template needs: `sam deploy --guided` offers only
/// CAPABILITY_IAM, so a nested application without CAPABILITY_AUTO_EXPAND fails to deploy.
#[test]
fn documented_deploy_commands_carry_their_capabilities_and_stack_names() {
    let mut deployed = std::collections::BTreeSet::new();
    let mut docs = vec!["README.md".to_owned(), "infra/README.md".to_owned()];
    let mut more: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| format!("docs/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".md"))
        .collect();
    more.sort();
    docs.extend(more);
    for doc in &docs {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let mut blocks = Vec::new();
        let mut block: Option<Vec<String>> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start().starts_with("```")) {
                (None, true) => block = Some(Vec::new()),
                (Some(_), true) => blocks.push(block.take().unwrap()),
                (Some(b), false) => match b.last_mut() {
                    Some(last) if last.ends_with('\\') => {
                        last.pop();
                        last.push_str(line);
                    }
                    _ => b.push(line.to_owned()),
                },
                (None, false) => {}
            }
        }
        for block in blocks {
            let mut dir = root();
            let mut built: Option<std::path::PathBuf> = None;
            for command in &block {
                let words: Vec<&str> = command.split_whitespace().collect();
                let arg = |flag: &str| {
                    words
                        .iter()
                        .position(|w| *w == flag)
                        .map(|i| words[i + 1].to_owned())
                };
                match words.as_slice() {
                    ["cd", to, ..] => dir = dir.join(to),
                    ["sam", "build", ..] => {
                        built = Some(dir.join(arg("--template").unwrap_or("template.yaml".into())))
                    }
                    ["sam", "deploy", ..] | ["aws", "cloudformation", "deploy", ..] => {
                        let source = match arg("--template-file") {
                            Some(f) if !f.contains(".aws-sam") => dir.join(f),
                            _ => built.clone().unwrap_or_else(|| dir.join("template.yaml")),
                        };
                        let source = source.canonicalize().unwrap_or_else(|e| {
                            panic!("{doc}: `{command}` deploys {}: {e}", source.display())
                        });
                        let sam = words[0] == "sam";
                        let from_config = |key| sam.then(|| samconfig(&dir, key)).flatten();
                        let mut given: Vec<String> = words
                            .iter()
                            .skip_while(|w| **w != "--capabilities")
                            .skip(1)
                            .take_while(|w| w.starts_with("CAPABILITY_"))
                            .map(|w| w.to_string())
                            .collect();
                        if given.is_empty() {
                            given = from_config("capabilities")
                                .map(|c| c.split_whitespace().map(str::to_owned).collect())
                                .unwrap_or_default();
                        }
                        for needed in required_capabilities(&source) {
                            assert!(
                                given.iter().any(|g| g == needed),
                                "{doc}: `{command}` lacks {needed} (has {given:?})"
                            );
                        }
                        assert!(
                            arg("--stack-name").is_some() || from_config("stack_name").is_some(),
                            "{doc}: `{command}` names no stack"
                        );
                        // A new account has no API Gateway CloudWatch role, and the demo's REST
                        // stage fails without one: its command always says whether to set it.
                        if source.ends_with("demo/template.yaml") {
                            assert!(
                                command.contains("SetApiGatewayCloudWatchRole="),
                                "{doc}: `{command}` leaves the CloudWatch role to the default"
                            );
                        }
                        deployed.insert(source);
                    }
                    _ => {}
                }
            }
        }
    }
    let every: std::collections::BTreeSet<_> = ALL_TEMPLATES
        .iter()
        .map(|t| root().join(t).canonicalize().unwrap())
        .collect();
    assert_eq!(
        deployed, every,
        "a template without a documented deploy command"
    );
}

/// Lambda creates `/aws/lambda/NAME` without retention for a function that names no log group, and
/// `sam delete` leaves it behind; every function of every template logs to a group its stack
/// creates, with retention, so the logs are bounded and go with the stack.
#[test]
fn every_function_logs_to_a_group_its_stack_owns_with_retention() {
    for rel in TEMPLATES {
        let t = cfn_template(rel);
        let global = &t["Globals"]["Function"]["LoggingConfig"];
        for kind in ["AWS::Serverless::Function", "AWS::Lambda::Function"] {
            for (name, f) in resources_of_type(&t, kind) {
                let own = &f["Properties"]["LoggingConfig"];
                let config = if own.is_object() { own } else { global };
                let group = config["LogGroup"]["Ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{rel} {name}: logs to a group Lambda creates"));
                let g = &t["Resources"][group];
                assert_eq!(g["Type"], "AWS::Logs::LogGroup", "{rel} {name}");
                assert!(
                    g["Properties"]["RetentionInDays"].is_number()
                        || g["Properties"]["RetentionInDays"]["Ref"].is_string(),
                    "{rel} {name}: {group} keeps logs forever"
                );
            }
        }
    }
}

/// The READMEs state the Rust version the workspace declares.
#[test]
fn docs_state_the_rust_version_the_workspace_needs() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version in the workspace")
        .trim_matches('"');
    for doc in ["README.md", "infra/README.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        assert!(
            text.contains(&format!("Rust {version} or later")),
            "{doc} does not say Rust {version} or later"
        );
    }
}

/// The name properties CloudFormation passes to a service as written, with the service's limit.
const NAME_LIMITS: &[(&str, &str, usize)] = &[
    ("AWS::Serverless::Function", "FunctionName", 64),
    ("AWS::Lambda::Function", "FunctionName", 64),
    ("AWS::Events::Rule", "Name", 64),
    ("AWS::CloudWatch::Alarm", "AlarmName", 255),
    ("AWS::CloudWatch::Dashboard", "DashboardName", 255),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::Logs::AccountPolicy", "PolicyName", 256),
    (
        "AWS::Chatbot::SlackChannelConfiguration",
        "ConfigurationName",
        128,
    ),
    ("AWS::SQS::Queue", "QueueName", 80),
    ("AWS::SNS::Topic", "TopicName", 256),
    ("AWS::DynamoDB::Table", "TableName", 255),
];

/// Every name a template derives from its stack fits its service's limit for the longest stack
/// name CloudFormation allows (128 characters; a nested stack's name is its parent's with more
/// added, so a fixed `${AWS::StackName}-forwarder` function name broke under a parent of 31).
#[test]
fn names_fit_their_limits_for_any_stack_name() {
    let stack = format!("a{}", "b".repeat(127));
    let uuid = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    let mut checked = 0;
    for rel in ALL_TEMPLATES {
        let t = cfn_template(rel);
        for (logical, r) in t["Resources"].as_object().unwrap() {
            let kind = r["Type"].as_str().unwrap();
            for (_, prop, limit) in NAME_LIMITS.iter().filter(|(k, _, _)| *k == kind) {
                let Some(v) = r["Properties"].get(*prop) else {
                    continue;
                };
                // The longest form the value can take: each branch of a condition, each Sub.
                let mut forms = vec![v.clone()];
                if let Some(branches) = v.get("Fn::If") {
                    forms = vec![branches[1].clone(), branches[2].clone()];
                }
                for form in forms {
                    let text = match &form {
                        Value::String(s) => s.clone(),
                        Value::Object(o) if o.contains_key("Fn::Sub") => match &o["Fn::Sub"] {
                            Value::String(s) => s.clone(),
                            Value::Array(a) => a[0].as_str().unwrap().to_owned(),
                            other => panic!("{other}"),
                        },
                        // A parameter: its own MaxLength or pattern bounds it.
                        Value::Object(o) if o.contains_key("Ref") => continue,
                        other => panic!("{rel} {logical}.{prop}: {other}"),
                    };
                    let mut name = text
                        .replace("${AWS::StackName}", &stack)
                        .replace("${StackUuid}", uuid);
                    // Another resource's id (an API's is 10 characters): 20 to be safe.
                    while let Some(start) = name.find("${") {
                        let end = start + name[start..].find('}').unwrap();
                        name.replace_range(start..=end, &"x".repeat(20));
                    }
                    assert!(
                        name.len() <= *limit,
                        "{rel} {logical}.{prop} is {} characters, over {limit}: {name}",
                        name.len()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 8, "{checked}");
    // The function is named by CloudFormation, which fits it to 64 characters itself.
    let t = cfn_template("infra/template.yaml");
    assert!(
        t["Resources"]["ForwarderFunction"]["Properties"]
            .get("FunctionName")
            .is_none()
    );
}

/// AWS allows one Slack channel configuration per channel per account, and the type exists only
/// in the commercial partition, where CloudFormation rejects it even under a false condition. So
/// it lives in infra/chat alone, one configuration for any number of topics.
#[test]
fn one_chat_configuration_carries_every_topic_and_no_forwarder_template_has_one() {
    for rel in TEMPLATES {
        let t = cfn_template(rel);
        let chat: Vec<&String> = t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"].as_str().unwrap().starts_with("AWS::Chatbot::"))
            .map(|(k, _)| k)
            .collect();
        assert!(
            chat.is_empty(),
            "{rel} deploys only where Chatbot exists: {chat:?}"
        );
        for p in ["SlackWorkspaceId", "SlackChannelId"] {
            if rel != "infra/demo/template.yaml" {
                assert!(t["Parameters"].get(p).is_none(), "{rel} {p}");
            }
        }
    }
    let t = cfn_template("infra/chat/template.yaml");
    let configs = resources_of_type(&t, "AWS::Chatbot::SlackChannelConfiguration");
    assert_eq!(configs.len(), 1);
    let p = &configs[0].1["Properties"];
    assert_eq!(p["SnsTopicArns"], json!({"Ref": "TopicArns"}));
    assert_eq!(t["Parameters"]["TopicArns"]["Type"], "CommaDelimitedList");
    assert_eq!(
        p["GuardrailPolicies"],
        json!([{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSDenyAll"}])
    );
    // The channel's role grants nothing: no policies, no managed policies.
    let role = &t["Resources"]["ChatbotRole"]["Properties"];
    assert!(role.get("Policies").is_none() && role.get("ManagedPolicyArns").is_none());
    // Both ids are required, and the partition is checked before anything is created.
    for id in ["SlackWorkspaceId", "SlackChannelId"] {
        assert!(t["Parameters"][id].get("Default").is_none(), "{id}");
    }
    let base = [
        ("AWS::Partition", "aws"),
        ("SlackWorkspaceId", "T0123ABCD"),
        ("SlackChannelId", "C0123ABCDEF"),
        (
            "TopicArns",
            "arn:aws:sns:eu-west-1:111122223333:a,arn:aws:sns:eu-west-1:111122223333:b",
        ),
    ];
    assert_eq!(rules_hold(&t, &base), Ok(()));
    let mut gov = base;
    gov[0] = ("AWS::Partition", "aws-us-gov");
    assert!(rules_hold(&t, &gov).unwrap_err().contains("not available"));
    let mut none = base;
    none[3] = ("TopicArns", "");
    assert!(rules_hold(&t, &none).unwrap_err().contains("TopicArns"));

    // The demo's two forwarders share one configuration, and one id alone is refused.
    let demo = cfn_template("infra/demo/template.yaml");
    let chat = &demo["Resources"]["Chat"];
    assert_eq!(chat["Condition"], "HasSlack");
    assert_eq!(chat["Properties"]["Location"], "../chat/template.yaml");
    assert_eq!(
        chat["Properties"]["Parameters"]["TopicArns"],
        json!({"Fn::Join": [",", [
            {"Fn::GetAtt": ["Forwarder", "Outputs.TopicArn"]},
            {"Fn::GetAtt": ["RestForwarder", "Outputs.TopicArn"]}
        ]]})
    );
    for (given, ok) in [
        (vec![], true),
        (
            vec![
                ("SlackWorkspaceId", "T0123ABCD"),
                ("SlackChannelId", "C0123ABCDEF"),
            ],
            true,
        ),
        (vec![("SlackWorkspaceId", "T0123ABCD")], false),
        (vec![("SlackChannelId", "C0123ABCDEF")], false),
    ] {
        assert_eq!(rules_hold(&demo, &given).is_ok(), ok, "{given:?}");
    }
}

/// A trailing comma, a space or a mistyped id in SourceAccountIds, or accounts given beside an
/// organisation, stop the deploy before anything is created.
#[test]
fn central_refuses_account_lists_it_cannot_use() {
    let t = cfn_template("infra/org/central.yaml");
    let pattern = t["Parameters"]["SourceAccountIds"]["AllowedPattern"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(String, String, String, bool)> = [
        ("", true),
        ("111111111111", true),
        ("111111111111,022222222222", true),
        ("111111111111,", false),
        ("111111111111, 222222222222", false),
        ("11111111111", false),
        ("1111111111111", false),
        ("11111111111a", false),
        (",111111111111", false),
    ]
    .into_iter()
    .map(|(v, ok)| ("SourceAccountIds".into(), pattern.clone(), v.to_owned(), ok))
    .collect();
    assert_patterns(&cases);
    assert!(
        rules_hold(
            &t,
            &[
                ("SourceAccountIds", "111111111111"),
                ("OrganizationId", "o-abc123def4")
            ]
        )
        .unwrap_err()
        .contains("not both")
    );
    // The policy names each listed account as its own principal.
    let policy =
        t["Resources"]["Destination"]["Properties"]["DestinationPolicy"]["Fn::If"][2]["Fn::Sub"][1]
            ["Accounts"]
            .clone();
    assert_eq!(
        policy,
        json!({"Fn::Join": ["\",\"", {"Fn::Split": [",", {"Ref": "SourceAccountIds"}]}]})
    );
}

/// One account-level subscription policy per account and Region: its name comes from the stack,
/// and in the central account it can leave the forwarder's own log group out.
#[test]
fn member_account_policy_is_named_by_its_stack_and_can_leave_the_forwarder_out() {
    let t = cfn_template("infra/org/member.yaml");
    let p = &t["Resources"]["AccountSubscription"]["Properties"];
    assert_eq!(
        p["PolicyName"],
        json!({"Fn::Sub": "${AWS::StackName}-api-authorizer-errors"})
    );
    let excluded = &p["SelectionCriteria"]["Fn::Sub"][1]["Excluded"]["Fn::If"];
    assert_eq!(excluded[0], "ExcludesForwarder");
    assert!(
        excluded[1].to_string().contains("ForwarderLogGroupName"),
        "{excluded}"
    );
    let central = cfn_template("infra/org/central.yaml");
    assert_eq!(
        central["Outputs"]["ForwarderLogGroupName"]["Value"],
        json!({"Fn::GetAtt": ["Forwarder", "Outputs.LogGroupName"]})
    );
    let main = cfn_template("infra/template.yaml");
    assert_eq!(
        main["Outputs"]["LogGroupName"]["Value"],
        json!({"Ref": "ForwarderLogGroup"})
    );
}

/// An idle stack is never invoked: the recovery schedule starts off and the function switches it.
#[test]
fn recovery_schedule_starts_off() {
    let t = cfn_template("infra/template.yaml");
    let rule = &t["Resources"]["RecoveryCheck"]["Properties"];
    assert_eq!(rule["State"], "DISABLED");
    assert_eq!(rule["ScheduleExpression"], "rate(5 minutes)");
    // The failure alarm's OK note may be published by its rule, and by nothing else new.
    let statements =
        t["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .clone();
    let events = statements
        .iter()
        .find_map(|s| s.get("Fn::If"))
        .expect("a conditional statement");
    assert_eq!(events[0], "FailureAlarmOn");
    assert_eq!(
        events[1]["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(
        events[1]["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!({"Fn::GetAtt": ["AuthorizerFailuresCleared", "Arn"]})
    );
}

/// A value as CloudFormation resolves it for these parameter values, as far as the role's
/// policy needs: `Fn::If` takes its branch and `AWS::NoValue` drops out; other functions stay as
/// written.
fn resolve(t: &Value, v: &Value, given: &[(&str, &str)]) -> Option<Value> {
    match v {
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::If") => {
            let f = map["Fn::If"].as_array().unwrap();
            let on = eval(t, &json!({"Condition": f[0]}), given) == json!(true);
            resolve(t, &f[if on { 1 } else { 2 }], given)
        }
        Value::Object(map) if map.get("Ref") == Some(&json!("AWS::NoValue")) => None,
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter_map(|(k, v)| resolve(t, v, given).map(|v| (k.clone(), v)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(
            items.iter().filter_map(|v| resolve(t, v, given)).collect(),
        )),
        other => Some(other.clone()),
    }
}

/// The forwarder role's statements a deploy with these parameter values creates, by Sid: the
/// actions and resources, each a plain string (a `Fn::Sub` as written, `Ref:X`, `X.Arn`).
fn role_grants(
    t: &Value,
    given: &[(&str, &str)],
) -> std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        // The text, also of the `[text, variables]` form.
        Value::Object(o) if o.contains_key("Fn::Sub") => {
            let sub = &o["Fn::Sub"];
            sub.as_str().or_else(|| sub[0].as_str()).unwrap().to_owned()
        }
        Value::Object(o) if o.contains_key("Ref") => format!("Ref:{}", o["Ref"].as_str().unwrap()),
        Value::Object(o) if o.contains_key("Fn::GetAtt") => {
            format!("{}.Arn", o["Fn::GetAtt"][0].as_str().unwrap())
        }
        other => panic!("{other}"),
    };
    let doc = &t["Resources"]["ForwarderRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    resolve(t, &doc["Statement"], given)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow", "{s}");
            let sid = s["Sid"].as_str().unwrap_or_else(|| panic!("no Sid: {s}"));
            let actions = as_list(&s["Action"]).iter().map(text).collect();
            let resources = as_list(&s["Resource"]).iter().map(text).collect();
            (sid.to_owned(), (actions, resources))
        })
        .collect()
}

/// For each combination of the diagnosis and the checks before traffic, the role holds exactly
/// the grants the features that are on need, and none of a feature that is off: defaults,
/// everything off, each check alone, ApiId with and without a check before traffic, a switch
/// that asks for more with no check on.
#[test]
fn role_grants_follow_the_checks() {
    let t = cfn_template("infra/template.yaml");
    let api = "arn:${AWS::Partition}:apigateway:${AWS::Region}::";
    let reads = |id: &str| -> Vec<String> {
        [
            "/apis/{id}",
            "/apis/{id}/routes",
            "/apis/{id}/authorizers/*",
            "/restapis/{id}",
            "/restapis/{id}/authorizers",
            "/restapis/{id}/resources",
        ]
        .iter()
        .map(|p| format!("{api}{}", p.replace("{id}", id)))
        .collect()
    };
    let functions = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*";
    let grant = |actions: &[&str], resources: Vec<String>| {
        (
            actions.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
            resources,
        )
    };
    let expected = |sids: &[&str], one_api: bool| {
        let mut m = std::collections::BTreeMap::new();
        // What every forwarder does, flood control on (the default).
        m.insert(
            "PublishAlerts".to_owned(),
            grant(&["sns:Publish"], vec!["Ref:AlertTopic".to_owned()]),
        );
        m.insert(
            "KeepFailedEvents".to_owned(),
            grant(&["sqs:SendMessage"], vec!["DeadLetterQueue.Arn".to_owned()]),
        );
        m.insert(
            "WriteOwnLog".to_owned(),
            grant(
                &["logs:CreateLogStream", "logs:PutLogEvents"],
                vec!["ForwarderLogGroup.Arn".to_owned()],
            ),
        );
        m.insert(
            "CountAlertWindows".to_owned(),
            grant(
                &["dynamodb:UpdateItem", "dynamodb:Scan", "dynamodb:GetItem"],
                vec!["AlertWindowsTable.Arn".to_owned()],
            ),
        );
        m.insert(
            "SwitchRecoverySchedule".to_owned(),
            grant(
                &["events:EnableRule", "events:DisableRule"],
                vec![
                    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/forwarder-recovery-${StackUuid}"
                        .to_owned(),
                ],
            ),
        );
        for sid in sids {
            let g = match *sid {
                "ReadApiAuthorizers" => grant(
                    &["apigateway:GET"],
                    reads(if one_api { "${ApiId}" } else { "??????????" }),
                ),
                "ReadAuthorizerFunctionPolicies" => {
                    grant(&["lambda:GetPolicy"], vec![functions.to_owned()])
                }
                "ReadCompletedStacks" => grant(
                    &[
                        "cloudformation:ListStackResources",
                        "cloudformation:DescribeStacks",
                    ],
                    vec![
                        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*"
                            .to_owned(),
                    ],
                ),
                // TestInvokeAuthorizer: POST on a REST API's authorizer, nothing else.
                "TestInvokeRestAuthorizers" => grant(
                    &["apigateway:POST"],
                    vec![format!("{api}/restapis/??????????/authorizers/*")],
                ),
                "InvokeAuthorizerFunctions" => {
                    grant(&["lambda:InvokeFunction"], vec![functions.to_owned()])
                }
                "ListApis" => grant(
                    &["apigateway:GET"],
                    vec![format!("{api}/apis"), format!("{api}/restapis")],
                ),
                "ReadApiChanges" => grant(
                    &[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                    ],
                    vec!["ApiChangeQueue.Arn".to_owned()],
                ),
                other => panic!("{other}"),
            };
            m.insert((*sid).to_owned(), g);
        }
        m
    };
    let read = ["ReadApiAuthorizers", "ReadAuthorizerFunctionPolicies"];
    let deploy = [
        "ReadApiAuthorizers",
        "ReadAuthorizerFunctionPolicies",
        "ReadCompletedStacks",
    ];
    let off = [
        ("Diagnose", "false"),
        ("DeployChecks", "false"),
        ("ApiChangeChecks", "false"),
        ("SweepApiIds", ""),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut g: Vec<(&str, &str)> = off.to_vec();
        g.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        g.extend_from_slice(extra);
        g
    };
    let test_invoke = [deploy.as_slice(), &["TestInvokeRestAuthorizers"]].concat();
    // What a case is: its name, the parameters given, the statements expected, reads of one API.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>, bool);
    let cases: Vec<Case> = vec![
        (
            "defaults: diagnosis, deploy checks, TestInvokeAuthorizer",
            vec![],
            test_invoke.clone(),
            false,
        ),
        ("everything off", with(&[]), vec![], false),
        (
            "everything off, invoking asked for: no check, no grant",
            with(&[
                ("TestInvokeRestAuthorizers", "true"),
                ("InvokeAuthorizerFunctions", "true"),
            ]),
            vec![],
            false,
        ),
        (
            "diagnosis of one API, TestInvokeAuthorizer asked for but no check before traffic",
            with(&[
                ("Diagnose", "true"),
                ("ApiId", "a1b2c3d4e5"),
                ("TestInvokeRestAuthorizers", "true"),
            ]),
            read.to_vec(),
            true,
        ),
        (
            "diagnosis of any API",
            with(&[("Diagnose", "true")]),
            read.to_vec(),
            false,
        ),
        (
            "ApiId with deploy checks: a deploy may create any API",
            vec![("ApiId", "a1b2c3d4e5")],
            test_invoke.clone(),
            false,
        ),
        (
            "deploy checks without diagnosis or TestInvokeAuthorizer",
            with(&[
                ("DeployChecks", "true"),
                ("TestInvokeRestAuthorizers", "false"),
            ]),
            deploy.to_vec(),
            false,
        ),
        (
            "invoking the authorizer functions",
            vec![("InvokeAuthorizerFunctions", "true")],
            [test_invoke.as_slice(), &["InvokeAuthorizerFunctions"]].concat(),
            false,
        ),
        (
            "API changes alone",
            with(&[
                ("ApiChangeChecks", "true"),
                ("TestInvokeRestAuthorizers", "false"),
                ("ApiId", "a1b2c3d4e5"),
            ]),
            [read.as_slice(), &["ReadApiChanges"]].concat(),
            false,
        ),
        (
            "a sweep of every API, testing REST authorizers",
            with(&[("SweepApiIds", "*")]),
            [read.as_slice(), &["TestInvokeRestAuthorizers", "ListApis"]].concat(),
            false,
        ),
        (
            "a sweep of named APIs lists none",
            with(&[
                ("SweepApiIds", "a1b2c3d4e5,f6g7h8i9j0"),
                ("TestInvokeRestAuthorizers", "false"),
                ("ApiId", "a1b2c3d4e5"),
            ]),
            read.to_vec(),
            false,
        ),
        (
            "everything on",
            vec![
                ("ApiChangeChecks", "true"),
                ("SweepApiIds", "*"),
                ("InvokeAuthorizerFunctions", "true"),
                ("ApiId", "a1b2c3d4e5"),
            ],
            [
                test_invoke.as_slice(),
                &["InvokeAuthorizerFunctions", "ListApis", "ReadApiChanges"],
            ]
            .concat(),
            false,
        ),
    ];
    for (what, given, sids, one_api) in cases {
        assert_eq!(
            role_grants(&t, &given),
            expected(&sids, one_api),
            "{what}: {given:?}"
        );
    }
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

/// Runs `script` on `.venv`'s Python with `input` as JSON on its standard input; what it printed.
/// A failed run fails the test with what it wrote to standard error.
fn python_on(script: &str, input: &Value) -> Vec<u8> {
    let out = Command::new(root().join(".venv/bin/python"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.to_string().as_bytes())?;
            child.wait_with_output()
        })
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
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

/// Matches each value against its pattern as CloudFormation would (whole value).
fn assert_patterns(cases: &[(String, String, String, bool)]) {
    let out = python_on(
        "import json, re, sys\nfor name, pattern, value, ok in json.load(sys.stdin):\n    if (re.fullmatch(pattern, value) is not None) != ok:\n        print(f'{name}: {value!r} should {\"\" if ok else \"not \"}match {pattern}')",
        &json!(cases),
    );
    let wrong = String::from_utf8_lossy(&out);
    assert!(wrong.is_empty(), "{wrong}");
}
