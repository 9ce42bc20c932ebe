//! What the created resources are configured with: dashboards, encryption of queues and topics,
//! the flood-control table and reserved concurrency.

use aws_sdk_dynamodb::types::{BillingMode, KeyType, TimeToLiveStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use forwarder_tests::{REGION, moto_endpoint, sdk_config};
use serde_json::Value;

use crate::{MOTO_IGNORES, forwarders, output, physical, report, stack};

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
