//! Every template is packaged the way `sam package` does, translated offline by the SAM translator,
//! and created in moto's CloudFormation with each variant's parameters (tests/stacks/create.py);
//! then the created resources are read back with the SDK clients. infra.rs reads the templates;
//! this proves they deploy and that what gets created carries the properties that matter.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::{BillingMode, KeyType, TimeToLiveStatus};
use aws_sdk_lambda::types::FunctionResponseType;
use aws_sdk_sqs::types::QueueAttributeName;
use forwarder_tests::{ACCOUNT, REGION, moto_endpoint, root, sdk_config};
use serde_json::Value;

/// Resource types in the templates that moto's CloudFormation does not create: it skips them and
/// completes the stack. What they do is checked only by the linters (tests/run) and infra.rs.
/// Asserted to be exactly the templates' types that moto lacks, so the list cannot go stale.
const MOTO_CANNOT_CREATE: &[&str] = &[
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::Integration",
    "AWS::Chatbot::SlackChannelConfiguration",
    "AWS::CloudWatch::Alarm",
    "AWS::IAM::RolePolicy",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Logs::AccountPolicy",
    "AWS::Logs::Destination",
    "AWS::Logs::SubscriptionFilter",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
];

/// Properties of types moto does create that its CloudFormation drops. Each is asserted both
/// ways: dropped while listed here, and with its real value once moto applies it.
const MOTO_IGNORES: &[&str] = &["AWS::DynamoDB::Table.TimeToLiveSpecification"];

/// The script's report, produced once per test process; every test here reads it.
fn report() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(|| {
        let python = root().join(".venv-sam/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run ./tests/run, which installs SAM CLI and its translator into .venv-sam",
            python.display()
        );
        let out = Command::new(python)
            .arg(root().join("tests/stacks/create.py"))
            .env("MOTO_ENDPOINT", moto_endpoint())
            .current_dir(root())
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "tests/stacks/create.py failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the script prints JSON")
    })
}

fn stack(variant: &str) -> &'static Value {
    let s = &report()["stacks"][variant];
    assert!(s.is_object(), "no stack for {variant}");
    s
}

/// The physical id of a resource moto created, by logical id.
fn physical(s: &Value, logical: &str) -> String {
    s["resources"][logical]["physical_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no {logical} in {}", s["name"], s["resources"]))
        .to_owned()
}

fn output(s: &Value, key: &str) -> String {
    s["outputs"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no output {key} in {}", s["name"], s["outputs"]))
        .to_owned()
}

/// The main template's variants.
const MAIN_VARIANTS: [&str; 6] = [
    "main-defaults",
    "main-kms",
    "main-existing-topic",
    "main-no-flood-control",
    "main-execution-log",
    "main-no-metrics",
];

/// The forwarder stacks: the main variants, and the forwarders nested in central and demo (the
/// demo's HTTP API's, and its REST API's as `demo-rest`).
fn forwarders() -> Vec<(&'static str, &'static Value)> {
    let mut all: Vec<(&str, &Value)> = MAIN_VARIANTS.into_iter().map(|v| (v, stack(v))).collect();
    for v in ["central-accounts", "central-organization", "demo"] {
        all.push((v, &stack(v)["nested"]["Forwarder"]));
    }
    all.push(("demo-rest", &stack("demo")["nested"]["RestForwarder"]));
    all
}

/// The access-log group a variant's forwarder subscribes to; none for a stream-fed one.
fn access_log_group(variant: &str) -> Option<String> {
    match variant {
        "central-accounts" | "central-organization" => None,
        "demo" => Some(output(stack("demo"), "AccessLogGroupName")),
        "demo-rest" => Some(output(stack("demo"), "RestAccessLogGroupName")),
        v => Some(
            report()["prerequisites"]["log_groups"][v]
                .as_str()
                .expect("log group")
                .to_owned(),
        ),
    }
}

/// The REST execution-log group a variant's forwarder subscribes to as well, if any.
fn execution_log_group(variant: &str) -> Option<String> {
    match variant {
        "demo-rest" => Some(output(stack("demo"), "RestExecutionLogGroupName")),
        v => report()["prerequisites"]["execution_log_groups"][v]
            .as_str()
            .map(str::to_owned),
    }
}

fn statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(s) => s.clone(),
        other => vec![other.clone()],
    }
}

fn as_strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect(),
        Value::String(s) => vec![s.clone()],
        other => panic!("not a string or list: {other}"),
    }
}

/// An IAM policy document as moto returns it. moto gives back the Python form of the document
/// CloudFormation handed it (single quotes, `None`), and keeps the `None` an `AWS::NoValue` left
/// in a list where CloudFormation removes the entry; both are undone here.
fn iam_document(raw: &str) -> Value {
    let doc: Value = serde_json::from_str(raw).unwrap_or_else(|_| {
        assert!(!raw.contains('"'), "neither JSON nor Python's form: {raw}");
        let json = raw
            .replace('\'', "\"")
            .replace("None", "null")
            .replace("True", "true")
            .replace("False", "false");
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {raw}"))
    });
    let mut doc = doc;
    if let Some(Value::Array(s)) = doc.get_mut("Statement") {
        s.retain(|x| !x.is_null());
    }
    doc
}

#[test]
fn every_stack_and_nested_stack_is_created() {
    let stacks = report()["stacks"].as_object().unwrap();
    let variants: Vec<&str> = stacks.keys().map(String::as_str).collect();
    assert_eq!(
        variants.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "central-accounts",
            "central-organization",
            "chat",
            "demo",
            "main-defaults",
            "main-execution-log",
            "main-existing-topic",
            "main-kms",
            "main-no-flood-control",
            "main-no-metrics",
            "member-account",
            "member-log-group",
        ])
    );
    for (variant, s) in stacks {
        assert_eq!(s["status"], "CREATE_COMPLETE", "{variant}: {}", s["reason"]);
        let nested = s["nested"].as_object().unwrap();
        // The demo nests a forwarder per API (HTTP and REST), central one.
        let expects_nested = match s["template"].as_str().unwrap() {
            "infra/demo/template.yaml" => vec!["Chat", "Forwarder", "RestForwarder"],
            "infra/org/central.yaml" => vec!["Forwarder"],
            _ => vec![],
        };
        assert_eq!(
            nested.keys().map(String::as_str).collect::<Vec<_>>(),
            expects_nested,
            "{variant}"
        );
        for (logical, n) in nested {
            assert_eq!(
                n["status"], "CREATE_COMPLETE",
                "{variant}/{logical}: {}",
                n["reason"]
            );
            // The demo's one chat configuration, carrying both forwarders' topics.
            if logical == "Chat" {
                assert_eq!(
                    n["template_resources"]["SlackChannel"],
                    "AWS::Chatbot::SlackChannelConfiguration"
                );
                continue;
            }
            // The nested stack is the forwarder, with its resources.
            assert!(
                n["resources"]["ForwarderFunction"].is_object(),
                "{variant}: {n}"
            );
            // `sam package` uploaded the nested template and put its URL in Location.
            let location = s["packaged"]["application_locations"][logical]
                .as_str()
                .unwrap();
            let prefix = format!(
                "https://s3.{REGION}.amazonaws.com/{}/",
                report()["bucket"].as_str().unwrap()
            );
            assert!(
                location.starts_with(&prefix) && location.ends_with(".template"),
                "{location}"
            );
        }
    }
    // The forwarder's code went to S3 as a zip, as `sam package` puts it.
    for (variant, s) in forwarders().into_iter().take(MAIN_VARIANTS.len()) {
        let uri = s["packaged"]["code_uris"]["ForwarderFunction"]
            .as_str()
            .unwrap();
        assert!(
            uri.starts_with(&format!("s3://{}/", report()["bucket"].as_str().unwrap())),
            "{variant}: {uri}"
        );
        // Named by CloudFormation (which fits a name to 64 characters; moto does not shorten).
        let name = physical(s, "ForwarderFunction");
        assert!(
            name.starts_with(s["name"].as_str().unwrap()) && name.contains("ForwarderFunction"),
            "{variant}: {name}"
        );
    }
}

/// A stack with the defaults shows authorizer failures per cause and API on a dashboard of its
/// own, next to the APIs' 5xx and its forwarder's health, as CloudWatch keeps it once created.
/// Without metrics there is nothing to graph and no dashboard.
#[test]
fn each_forwarder_with_metrics_has_a_dashboard_of_them() {
    for (variant, s) in forwarders() {
        let dashboards = s["dashboards"].as_object().unwrap();
        if variant == "main-no-metrics" {
            assert!(dashboards.is_empty(), "{variant}: {dashboards:?}");
            assert!(s["outputs"].get("DashboardUrl").is_none());
            continue;
        }
        let d = &dashboards["Dashboard"];
        let name = d["name"].as_str().unwrap();
        assert_eq!(
            name,
            format!("{}-authorizer-alerts", s["name"].as_str().unwrap())
        );
        assert!(output(s, "DashboardUrl").ends_with(&format!("#dashboards/dashboard/{name}")));
        let body: Value = serde_json::from_str(d["body"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{variant}: the dashboard body is not JSON: {e}"));
        let text = body.to_string();
        // Each search of the forwarder's metrics is narrowed to this stack's own function.
        let function = physical(s, "ForwarderFunction");
        let narrowed = format!(r#"FunctionName=\"{function}\""#);
        for searched in [
            r#"SEARCH('{\"AuthorizerAlerts\",Cause,FunctionName} MetricName=\"AuthorizerFailures\""#,
            r#"{\"AuthorizerAlerts\",ApiId,Cause,FunctionName} MetricName=\"AuthorizerFailures\""#,
            r#"{\"AuthorizerAlerts\",Cause,FunctionName,LogGroup} MetricName=\"AuthorizerFailures\""#,
        ] {
            let at = text
                .find(searched)
                .unwrap_or_else(|| panic!("{variant}: {searched} in {text}"));
            let search = text[at..].split("', ").next().unwrap();
            assert!(search.contains(&narrowed), "{variant}: {search}");
        }
        assert!(
            text.contains(r#"{AWS/ApiGateway,ApiId,Stage} MetricName=\"5xx\""#),
            "{variant}: {text}"
        );
        // The forwarder's totals and its health name this stack's own function and queue.
        assert!(
            text.contains(&format!(
                r#"["AuthorizerAlerts","AuthorizerFailures","FunctionName","{function}""#
            )),
            "{variant}: {text}"
        );
        assert!(
            text.contains(&format!(
                r#"["AWS/Lambda","Invocations","FunctionName","{function}"]"#
            )),
            "{variant}: {text}"
        );
        let queue = physical(s, "DeadLetterQueue");
        let queue = queue.rsplit('/').next().unwrap();
        assert!(
            text.contains(&format!(r#""QueueName","{queue}""#)),
            "{variant}: {text}"
        );
        assert!(
            body["widgets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|w| w["properties"]["region"]
                    .as_str()
                    .is_none_or(|r| r == REGION)),
            "{variant}"
        );
    }
}

#[test]
fn moto_cannot_create_exactly_the_listed_types() {
    let lacking: Vec<&str> = report()["moto_unsupported_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(lacking, MOTO_CANNOT_CREATE);
    // The script rewrites only what moto cannot take: an output reading a type it lacks, and a
    // nested stack's outputs (read by import). Templates without either go to moto as translated.
    for (variant, s) in report()["stacks"].as_object().unwrap() {
        let changes = s["moto_changes"].as_array().unwrap();
        let nests = s["template"] == "infra/org/central.yaml"
            || s["template"] == "infra/demo/template.yaml";
        // The chat stack's output reads the configuration moto does not create.
        let reads_chat = s["template"] == "infra/chat/template.yaml";
        assert_eq!(
            !changes.is_empty(),
            nests || reads_chat,
            "{variant}: {changes:?}"
        );
        let nested: Vec<&String> = s["nested"].as_object().unwrap().keys().collect();
        for change in changes {
            let c = change.as_str().unwrap();
            assert!(
                (c.starts_with("output ") && c.ends_with(" dropped"))
                    || (nested
                        .iter()
                        .any(|n| c.starts_with(&format!("{n}.Outputs.")))
                        && c.ends_with(" read with Fn::ImportValue")),
                "{variant}: {c}"
            );
        }
    }
    // What moto did create is a type it supports, and nothing of a listed type was created.
    let mut all: Vec<&Value> = report()["stacks"].as_object().unwrap().values().collect();
    all.extend(
        all.clone()
            .into_iter()
            .flat_map(|s| s["nested"].as_object().unwrap().values()),
    );
    for s in all {
        let created = s["resources"].as_object().unwrap();
        for (logical, r) in created {
            let kind = r["type"].as_str().unwrap();
            assert!(!MOTO_CANNOT_CREATE.contains(&kind), "{logical}: {kind}");
            assert_eq!(r["status"], "CREATE_COMPLETE", "{}: {logical}", s["name"]);
            assert_eq!(s["template_resources"][logical], kind);
        }
        for (logical, kind) in s["template_resources"].as_object().unwrap() {
            if MOTO_CANNOT_CREATE.contains(&kind.as_str().unwrap()) {
                assert!(!created.contains_key(logical), "{logical}");
            }
        }
    }
}

#[tokio::test]
async fn logs_may_invoke_each_forwarder_only_for_its_log_group_and_account() {
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&moto_endpoint()).await);
    for (variant, s) in forwarders() {
        let function = physical(s, "ForwarderFunction");
        let policy = lambda
            .get_policy()
            .function_name(&function)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{variant}: {e:?}"));
        let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        let mut by_principal: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for st in statements(&doc) {
            let principal = st["Principal"]["Service"].as_str().unwrap().to_owned();
            by_principal.entry(principal).or_default().push(st);
        }
        let flood_control = variant != "main-no-flood-control";
        // The deploy-time checks are on by default, off in central (its stacks hold no API) and
        // in the demo's REST forwarder (the HTTP API's checks each deployment already).
        let deploy_checks = !variant.starts_with("central") && variant != "demo-rest";
        let mut principals: Vec<&str> = by_principal.keys().map(String::as_str).collect();
        principals.sort_unstable();
        let mut expected = Vec::new();
        if flood_control || deploy_checks {
            expected.push("events.amazonaws.com");
        }
        // A stream-fed forwarder is invoked by its event-source mapping; no log group may. The
        // others: one statement per subscribed group (the access log, and a REST execution log
        // where one is named), each for that group and this account only.
        let groups: Vec<String> = access_log_group(variant)
            .into_iter()
            .chain(execution_log_group(variant))
            .collect();
        if !groups.is_empty() {
            expected.push("logs.amazonaws.com");
            let logs = &by_principal["logs.amazonaws.com"];
            let mut sources: Vec<&str> = logs
                .iter()
                .map(|st| {
                    assert_eq!(st["Action"], "lambda:InvokeFunction", "{variant}");
                    assert_eq!(
                        st["Condition"]["StringEquals"]["AWS:SourceAccount"], ACCOUNT,
                        "{variant}"
                    );
                    st["Condition"]["ArnLike"]["AWS:SourceArn"]
                        .as_str()
                        .unwrap()
                })
                .collect();
            sources.sort_unstable();
            let mut wanted: Vec<String> = groups
                .iter()
                .map(|g| format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}:*"))
                .collect();
            wanted.sort_unstable();
            assert_eq!(sources, wanted, "{variant}");
        }
        assert_eq!(
            groups.len(),
            match variant {
                "central-accounts" | "central-organization" => 0,
                "main-execution-log" | "demo-rest" => 2,
                _ => 1,
            },
            "{variant}"
        );
        expected.sort_unstable();
        assert_eq!(principals, expected, "{variant}: {doc}");
        // EventBridge only for this stack's own rules, each by its ARN.
        let rules: Vec<&str> = [
            ("RecoveryCheck", flood_control),
            ("DeployChecksRule", deploy_checks),
        ]
        .into_iter()
        .filter_map(|(rule, on)| on.then_some(rule))
        .collect();
        let mut sources: Vec<String> = by_principal
            .get("events.amazonaws.com")
            .into_iter()
            .flatten()
            .map(|st| {
                st["Condition"]["ArnLike"]["AWS:SourceArn"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        sources.sort_unstable();
        let mut wanted: Vec<String> = rules
            .iter()
            .map(|r| {
                let name = physical(s, r);
                // moto's physical id of a rule is its name or its ARN.
                let name = name.rsplit('/').next().unwrap().to_owned();
                format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}")
            })
            .collect();
        wanted.sort_unstable();
        assert_eq!(sources, wanted, "{variant}");
    }
}

#[tokio::test]
async fn each_role_grants_only_what_its_variant_needs() {
    let iam = aws_sdk_iam::Client::new(&sdk_config(&moto_endpoint()).await);
    let key = report()["prerequisites"]["kms_key_arn"].as_str().unwrap();
    for (variant, s) in forwarders() {
        let role = physical(s, "ForwarderRole");
        let names = iam
            .list_role_policies()
            .role_name(&role)
            .send()
            .await
            .unwrap();
        assert_eq!(
            names.policy_names(),
            ["forwarder"],
            "{variant}: no managed or other policies"
        );
        let got = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name("forwarder")
            .send()
            .await
            .unwrap();
        let doc = iam_document(got.policy_document());
        let mut grants: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for st in statements(&doc) {
            assert_eq!(st["Effect"], "Allow", "{variant}: {st}");
            for action in as_strings(&st["Action"]) {
                assert!(!action.contains('*'), "{variant}: {action}");
                grants.insert(action, as_strings(&st["Resource"]));
            }
        }
        let stream_fed = variant.starts_with("central");
        let mut expected = vec![
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sns:Publish",
            "sqs:SendMessage",
        ];
        if variant != "main-no-flood-control" {
            expected.extend([
                "dynamodb:GetItem",
                "dynamodb:Scan",
                "dynamodb:UpdateItem",
                "events:DisableRule",
                "events:EnableRule",
            ]);
        }
        if variant == "main-kms" {
            expected.extend(["kms:Decrypt", "kms:GenerateDataKey"]);
        }
        // Diagnosis and the deploy-time checks are off in central: the member accounts' APIs
        // are not readable from there. Elsewhere the deploy-time checks are on by default: they
        // read completed stacks and test-invoke REST authorizers; the demo's REST forwarder leaves
        // them to the HTTP API's and only diagnoses.
        let deploy_checks = !stream_fed && variant != "demo-rest";
        if !stream_fed {
            expected.extend(["apigateway:GET", "lambda:GetPolicy"]);
        }
        if deploy_checks {
            expected.extend([
                "apigateway:POST",
                "cloudformation:DescribeStacks",
                "cloudformation:ListStackResources",
            ]);
        }
        expected.sort_unstable();
        assert_eq!(
            grants.keys().map(String::as_str).collect::<Vec<_>>(),
            expected,
            "{variant}"
        );
        // Each on its own resource only.
        assert_eq!(grants["sns:Publish"], [output(s, "TopicArn")], "{variant}");
        assert_eq!(
            grants["sqs:SendMessage"],
            [output(s, "DeadLetterQueueArn")],
            "{variant}"
        );
        let log_group = physical(s, "ForwarderLogGroup");
        assert_eq!(
            grants["logs:PutLogEvents"],
            [format!(
                "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}"
            )]
        );
        if let Some(table) = grants.get("dynamodb:UpdateItem") {
            let name = physical(s, "AlertWindowsTable");
            assert_eq!(
                table,
                &[format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")]
            );
        }
        if let Some(keys) = grants.get("kms:Decrypt") {
            assert_eq!(keys, &[key.to_owned()]);
        }
        // Diagnosis reads exactly what it calls, of any API by its 10-character id: the
        // deploy-time checks (on by default) may meet any API a deploy creates, even where the
        // demo names its API; without them, the API the stack names. GetApi, routes and
        // authorizers of HTTP and WebSocket APIs; GetRestApi, authorizers and resources of REST
        // APIs.
        if let Some(reads) = grants.get("apigateway:GET") {
            let named = (!deploy_checks).then(|| physical(stack("demo"), "RestApi"));
            let id = named.as_deref().unwrap_or("??????????");
            let expected: Vec<String> = [
                format!("/apis/{id}"),
                format!("/apis/{id}/routes"),
                format!("/apis/{id}/authorizers/*"),
                format!("/restapis/{id}"),
                format!("/restapis/{id}/authorizers"),
                format!("/restapis/{id}/resources"),
            ]
            .into_iter()
            .map(|p| format!("arn:aws:apigateway:{REGION}::{p}"))
            .collect();
            assert_eq!(reads, &expected, "{variant}");
        }
        if deploy_checks {
            let id = "??????????";
            assert_eq!(
                grants["apigateway:POST"],
                [format!(
                    "arn:aws:apigateway:{REGION}::/restapis/{id}/authorizers/*"
                )],
                "{variant}"
            );
            assert_eq!(
                grants["cloudformation:ListStackResources"],
                [format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/*")],
                "{variant}"
            );
        }
        if let Some(reads) = grants.get("lambda:GetPolicy") {
            assert_eq!(
                reads,
                &[format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:*")]
            );
        }
    }
    // With an existing topic the stack creates none and publishes to the given one.
    let existing = stack("main-existing-topic");
    assert!(existing["resources"].get("AlertTopic").is_none());
    assert_eq!(
        output(existing, "TopicArn"),
        report()["prerequisites"]["existing_topic_arn"]
            .as_str()
            .unwrap()
    );
}

#[tokio::test]
async fn dead_letter_queues_and_topics_are_encrypted_as_configured() {
    let config = sdk_config(&moto_endpoint()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let key = report()["prerequisites"]["kms_key_arn"].as_str().unwrap();
    for (variant, s) in forwarders() {
        let got = sqs
            .get_queue_attributes()
            .queue_url(output(s, "DeadLetterQueueUrl"))
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = got.attributes().unwrap();
        let attr = |n: QueueAttributeName| attrs.get(&n).map(String::as_str);
        // 14 days, or as long as the central stream keeps what a kept pointer points to (7 days
        // by default, ReplayDays).
        let retention = if variant.starts_with("central") {
            "604800"
        } else {
            "1209600"
        };
        assert_eq!(
            attr(QueueAttributeName::MessageRetentionPeriod),
            Some(retention),
            "{variant}"
        );
        if variant == "main-kms" {
            assert_eq!(
                attr(QueueAttributeName::KmsMasterKeyId),
                Some(key),
                "{variant}"
            );
        } else {
            assert_eq!(
                attr(QueueAttributeName::SqsManagedSseEnabled),
                Some("true"),
                "{variant}"
            );
            assert_eq!(attr(QueueAttributeName::KmsMasterKeyId), None, "{variant}");
        }
        if variant == "main-existing-topic" {
            continue;
        }
        let topic = sns
            .get_topic_attributes()
            .topic_arn(output(s, "TopicArn"))
            .send()
            .await
            .unwrap();
        let kms = topic.attributes().and_then(|a| a.get("KmsMasterKeyId"));
        let expected = (variant == "main-kms").then(|| key.to_owned());
        assert_eq!(kms, expected.as_ref(), "{variant}");
    }
}

#[tokio::test]
async fn flood_control_table_exists_only_when_on() {
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&moto_endpoint()).await);
    for (variant, s) in forwarders() {
        let on = variant != "main-no-flood-control";
        assert_eq!(
            s["resources"].get("AlertWindowsTable").is_some(),
            on,
            "{variant}"
        );
        assert_eq!(
            s["resources"].get("RecoveryCheck").is_some(),
            on,
            "{variant}"
        );
        if !on {
            let tables = dynamodb.list_tables().send().await.unwrap();
            let name = s["name"].as_str().unwrap();
            assert!(
                !tables.table_names().iter().any(|t| t.starts_with(name)),
                "{variant}: {:?}",
                tables.table_names()
            );
            continue;
        }
        let table = physical(s, "AlertWindowsTable");
        let described = dynamodb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        let t = described.table().unwrap();
        assert_eq!(
            t.billing_mode_summary().and_then(|b| b.billing_mode()),
            Some(&BillingMode::PayPerRequest)
        );
        let keys: Vec<(&str, &KeyType)> = t
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type()))
            .collect();
        assert_eq!(keys, [("pk", &KeyType::Hash)]);
        let ttl = dynamodb
            .describe_time_to_live()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        if MOTO_IGNORES.contains(&"AWS::DynamoDB::Table.TimeToLiveSpecification") {
            assert_eq!(
                ttl.time_to_live_status(),
                Some(&TimeToLiveStatus::Disabled),
                "moto applies TimeToLiveSpecification now: take it out of MOTO_IGNORES"
            );
        } else {
            assert_eq!(
                ttl.time_to_live_status(),
                Some(&TimeToLiveStatus::Enabled),
                "{variant}"
            );
            assert_eq!(ttl.attribute_name(), Some("expires_at"), "{variant}");
        }
    }
}

#[tokio::test]
async fn subscription_filters_send_only_the_token_lines() {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&moto_endpoint()).await);
    // (log group, destination, filter pattern): access logs deliver either token, execution
    // logs API Gateway's two texts for a broken authorizer.
    let access = forwarder::detect::LogKind::Access.filter_pattern();
    let execution = forwarder::detect::LogKind::Execution.filter_pattern();
    let mut subscribed = Vec::new();
    for (variant, s) in forwarders() {
        if let Some(group) = access_log_group(variant) {
            subscribed.push((group, output(s, "FunctionArn"), access));
        }
        if let Some(group) = execution_log_group(variant) {
            subscribed.push((group, output(s, "FunctionArn"), execution));
        }
    }
    let member = report()["prerequisites"]["log_groups"]["member-log-group"]
        .as_str()
        .unwrap()
        .to_owned();
    subscribed.push((
        member,
        report()["prerequisites"]["destination_arn"]
            .as_str()
            .unwrap()
            .to_owned(),
        access,
    ));
    subscribed.push((
        execution_log_group("member-log-group").unwrap(),
        report()["prerequisites"]["destination_arn"]
            .as_str()
            .unwrap()
            .to_owned(),
        execution,
    ));
    // Six main variants, the demo's two forwarders and central's none (a stream), one
    // execution log each for main-execution-log and the demo's REST API; the member's two.
    assert_eq!(subscribed.len(), 12);
    for (group, destination, pattern) in subscribed {
        let got = logs
            .describe_subscription_filters()
            .log_group_name(&group)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{group}: {e:?}"));
        let filters = got.subscription_filters();
        if MOTO_CANNOT_CREATE.contains(&"AWS::Logs::SubscriptionFilter") {
            assert!(
                filters.is_empty(),
                "moto creates subscription filters now: {filters:?}"
            );
        } else {
            assert_eq!(filters.len(), 1, "{group}");
            assert_eq!(filters[0].filter_pattern(), Some(pattern), "{group}");
            assert_eq!(filters[0].destination_arn(), Some(destination.as_str()));
        }
    }
}

#[tokio::test]
async fn central_reads_its_stream_and_reports_failed_records() {
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&moto_endpoint()).await);
    for variant in ["central-accounts", "central-organization"] {
        let s = stack(variant);
        let forwarder = &s["nested"]["Forwarder"];
        assert_eq!(output(s, "TopicArn"), output(forwarder, "TopicArn"));
        assert_eq!(forwarder["parameters"]["AccessLogGroupName"], "");
        assert_eq!(forwarder["parameters"]["ExecutionLogGroupName"], "");
        assert_eq!(forwarder["parameters"]["Diagnose"], "false");
        let mapping = lambda
            .get_event_source_mapping()
            .uuid(physical(s, "StreamMapping"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            mapping.event_source_arn(),
            Some(
                format!(
                    "arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{}",
                    output(s, "StreamName")
                )
                .as_str()
            )
        );
        assert_eq!(physical(s, "LogStream"), output(s, "StreamName"));
        assert_eq!(
            mapping.function_arn(),
            Some(output(forwarder, "FunctionArn").as_str())
        );
        assert_eq!(
            mapping.function_response_types(),
            [FunctionResponseType::ReportBatchItemFailures]
        );
        assert_eq!(
            mapping
                .destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|f| f.destination()),
            Some(output(forwarder, "DeadLetterQueueArn").as_str())
        );
        let retries = mapping.maximum_retry_attempts().unwrap();
        assert!((1..=10).contains(&retries), "{retries}");
    }
}

#[test]
fn member_stacks_take_the_central_destination() {
    let destination = report()["prerequisites"]["destination_arn"]
        .as_str()
        .unwrap();
    assert!(
        destination.starts_with(&format!("arn:aws:logs:{REGION}:{ACCOUNT}:destination:")),
        "{destination}"
    );
    for variant in ["member-log-group", "member-account"] {
        let s = stack(variant);
        assert_eq!(s["parameters"]["DestinationArn"], destination, "{variant}");
        // The access-log subscription or the account policy, never both (conditions, checked in
        // infra.rs), and a REST stage's execution-log subscription, in either mode.
        let logical: BTreeMap<&str, &str> = s["template_resources"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, t)| (k.as_str(), t.as_str().unwrap()))
            .collect();
        assert_eq!(
            logical,
            BTreeMap::from([
                ("AccessLogSubscription", "AWS::Logs::SubscriptionFilter"),
                ("AccountSubscription", "AWS::Logs::AccountPolicy"),
                ("ExecutionLogSubscription", "AWS::Logs::SubscriptionFilter"),
            ])
        );
    }
    assert_eq!(
        stack("member-log-group")["parameters"]["ExecutionLogGroupName"],
        execution_log_group("member-log-group").unwrap()
    );
    assert_eq!(
        stack("member-account")["parameters"]["ExecutionLogGroupName"],
        ""
    );
    assert_eq!(
        stack("member-account")["parameters"]["AccessLogGroupName"],
        ""
    );
}

#[tokio::test]
async fn demo_leaves_one_authorizer_per_api_without_permission() {
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&moto_endpoint()).await);
    let demo = stack("demo");
    assert_eq!(
        output(demo, "AlertTopicArn"),
        output(&demo["nested"]["Forwarder"], "TopicArn")
    );
    assert_eq!(
        output(demo, "AccessLogGroupName"),
        format!(
            "/aws/vendedlogs/apigateway/{}-access",
            demo["name"].as_str().unwrap()
        )
    );
    // The REST API's stack outputs and log groups, named after the API moto created.
    let rest_api = physical(demo, "RestApi");
    let name = demo["name"].as_str().unwrap();
    assert_eq!(
        output(demo, "RestApiUrl"),
        format!("https://{rest_api}.execute-api.{REGION}.amazonaws.com/demo")
    );
    assert_eq!(
        output(demo, "RestAccessLogGroupName"),
        format!("/aws/vendedlogs/apigateway/{name}-rest-access")
    );
    assert_eq!(
        output(demo, "RestExecutionLogGroupName"),
        format!("API-Gateway-Execution-Logs_{rest_api}/demo")
    );
    assert_eq!(
        output(demo, "RestAlertTopicArn"),
        output(&demo["nested"]["RestForwarder"], "TopicArn")
    );
    // Its three methods, each created.
    let methods: BTreeSet<&str> = demo["resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["type"] == "AWS::ApiGateway::Method")
        .map(|(logical, _)| logical.as_str())
        .collect();
    assert_eq!(
        methods,
        BTreeSet::from(["RestHealthMethod", "RestOrdersMethod", "RestProfileMethod"])
    );
    // (function, the source ARN ends of its API Gateway permissions); none for the authorizers
    // API Gateway must not be able to invoke.
    let rest = |end: &str| format!("{rest_api}{end}");
    for (function, ends) in [
        ("BackendFunction", vec!["/*".to_owned(), rest("/*")]),
        (
            "HealthyAuthorizerFunction",
            vec!["/authorizers/".to_owned()],
        ),
        ("NoPermissionAuthorizerFunction", vec![]),
        (
            "BadResponseAuthorizerFunction",
            vec!["/authorizers/".to_owned()],
        ),
        ("RestHealthyAuthorizerFunction", vec![rest("/authorizers/")]),
        ("RestNoPermissionAuthorizerFunction", vec![]),
        (
            "RestBadPolicyAuthorizerFunction",
            vec![rest("/authorizers/")],
        ),
    ] {
        let got = lambda
            .get_policy()
            .function_name(physical(demo, function))
            .send()
            .await;
        match got {
            Ok(p) => {
                let doc: Value = serde_json::from_str(p.policy().unwrap()).unwrap();
                let st = statements(&doc);
                assert_eq!(st.len(), ends.len(), "{function}: {doc}");
                let mut sources: Vec<&str> = st
                    .iter()
                    .map(|s| {
                        assert_eq!(s["Principal"]["Service"], "apigateway.amazonaws.com");
                        s["Condition"]["ArnLike"]["AWS:SourceArn"].as_str().unwrap()
                    })
                    .collect();
                // The HTTP API's (not created by moto) first, then the REST API's.
                sources.sort_by_key(|s| s.contains(&rest_api));
                for (source, end) in sources.iter().zip(&ends) {
                    assert!(
                        source.starts_with(&format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:"))
                            && (source.ends_with(end.as_str()) || source.contains(end.as_str())),
                        "{function}: {source} ({end})"
                    );
                }
            }
            Err(e) => {
                assert!(
                    e.into_service_error().is_resource_not_found_exception(),
                    "{function}"
                );
                assert!(ends.is_empty(), "{function} has no permission");
            }
        }
    }
}

/// A deploy with the defaults reserves no concurrency anywhere: Lambda refuses a reservation
/// that leaves an account less than its minimum unreserved concurrency (10 on a new account).
#[tokio::test]
async fn the_defaults_reserve_no_concurrency() {
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&moto_endpoint()).await);
    let demo = stack("demo");
    let mut functions: Vec<(String, String)> = forwarders()
        .into_iter()
        .map(|(variant, s)| (variant.to_owned(), physical(s, "ForwarderFunction")))
        .collect();
    for logical in [
        "BackendFunction",
        "HealthyAuthorizerFunction",
        "NoPermissionAuthorizerFunction",
        "BadResponseAuthorizerFunction",
        "RestHealthyAuthorizerFunction",
        "RestNoPermissionAuthorizerFunction",
        "RestBadPolicyAuthorizerFunction",
    ] {
        functions.push((format!("demo {logical}"), physical(demo, logical)));
    }
    for (what, function) in functions {
        let got = lambda
            .get_function_concurrency()
            .function_name(&function)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(
            got.reserved_concurrent_executions(),
            None,
            "{what} reserves"
        );
    }
}
