//! Who may invoke what, and what each role may do: the forwarders' resource policies and roles,
//! and the demo's authorizers, one per API left without permission.

use std::collections::{BTreeMap, BTreeSet};

use forwarder_tests::{ACCOUNT, REGION, moto_endpoint, sdk_config};
use serde_json::Value;

use crate::{
    access_log_group, as_strings, execution_log_group, forwarders, iam_document, output, physical,
    report, stack, statements,
};

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
