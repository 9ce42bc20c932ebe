//! How logs reach a forwarder: subscription filters, central's stream and its failed records,
//! and member stacks sending to central's destination.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::FunctionResponseType;
use forwarder_tests::{ACCOUNT, REGION, moto_endpoint, sdk_config};

use crate::{
    MOTO_CANNOT_CREATE, access_log_group, execution_log_group, forwarders, output, physical,
    report, stack,
};

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
        // tests/tests/infra/), and a REST stage's execution-log subscription, in either mode.
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
