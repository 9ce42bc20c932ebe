//! The handler and the CLI publishing through the real AWS SDK to moto's SNS, with SQS and HTTPS
//! subscribers receiving what was published; and the faults that must not lose an alert.

use std::sync::atomic::Ordering;
use std::time::Duration;

use forwarder::alerts::publish::SnsPublisher;
use forwarder::config::{Config, TopicArn};
use forwarder::forward::{ForwardError, Services, handle_event};
use forwarder_tests::http::{capture, sns_stub};
use forwarder_tests::{
    ACCOUNT, LocalTopic, REGION, assert_chatbot_notification, closed_port, forwarder,
    moto_endpoint, read_sample, sdk_config, sns_envelope,
};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn config(topic: &str) -> Config {
    Config {
        topic: Some(topic.parse().unwrap()),
        label: Some("prod".into()),
        region: Some(REGION.into()),
        ..Config::default()
    }
}

async fn publisher(endpoint: &str, topic: &str) -> SnsPublisher {
    let client = aws_sdk_sns::Client::new(&sdk_config(endpoint).await);
    SnsPublisher::new(client, topic.parse::<TopicArn>().unwrap())
}

fn attribute(envelope: &Value, name: &str) -> String {
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} missing in {envelope}"))
        .to_owned()
}

#[tokio::test]
async fn handler_alerts_reach_every_subscriber() {
    let local = LocalTopic::create("handler").await;
    let (chat_url, mut chat) = capture().await;
    local.subscribe_https(&format!("{chat_url}/chatbot")).await;
    let publisher = publisher(&moto_endpoint(), &local.topic_arn).await;
    let event = read_sample("events/default-format.json");

    let out = handle_event(
        &event,
        &config(&local.topic_arn),
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    assert_eq!((out.lines, out.findings, out.message_ids.len()), (10, 5, 4));

    // Every message, in the SNS envelope, one per cause.
    let all = local.receive(&local.all, 4, WAIT).await;
    assert_eq!(all.len(), 4);
    let mut causes = Vec::new();
    for m in &all {
        let env = sns_envelope(m);
        let cause = attribute(&env, "cause");
        assert_eq!(
            attribute(&env, "log_group"),
            "/aws/vendedlogs/apigateway/orders-api/prod"
        );
        assert_eq!(
            attribute(&env, "severity"),
            if cause == "authorizer_timeout" {
                "high"
            } else {
                "critical"
            }
        );
        let subject = env["Subject"].as_str().unwrap();
        assert!(
            subject.starts_with("[prod] API authorizer misconfigured: ") && subject.len() <= 100,
            "{subject}"
        );
        let machine: Value = serde_json::from_str(env["Message"].as_str().unwrap()).unwrap();
        assert_eq!(machine["cause"], cause.as_str());
        assert_eq!(
            machine["log_group"],
            "/aws/vendedlogs/apigateway/orders-api/prod"
        );
        let text = machine["text"].as_str().unwrap();
        assert!(text.contains("How to fix:"), "{text}");
        if cause == "missing_invoke_permission" {
            assert_eq!(
                subject,
                "[prod] API authorizer misconfigured: missing invoke permission (2x)"
            );
            assert_eq!(machine["count"], 2);
            assert_eq!(
                machine["sample_request_ids"],
                serde_json::json!(["Vx3kTfWGIAMEbyw=", "Vx3kUiJ1oAMEbUg="])
            );
            assert!(
                text.contains("aws lambda add-permission") && text.contains(":123456789012:"),
                "{text}"
            );
        }
        if cause == "invalid_response_format" {
            assert!(
                text.contains("Simple response did not include 'isAuthorized'"),
                "{text}"
            );
            assert!(text.contains("\"isAuthorized\": true|false"), "{text}");
        }
        causes.push(cause);
    }
    causes.sort();
    assert_eq!(causes, forwarder_tests::DEFAULT_FORMAT_CAUSES);

    // The filter policy on `cause` lets exactly one through.
    let filtered = local.receive(&local.permission_only, 1, WAIT).await;
    assert_eq!(filtered.len(), 1);
    assert_eq!(
        attribute(&sns_envelope(&filtered[0]), "cause"),
        "missing_invoke_permission"
    );
    assert_eq!(
        local
            .count_after(&local.permission_only, Duration::from_secs(1))
            .await,
        0
    );

    // Raw delivery: the body is the machine JSON itself, attributes travel as SQS attributes.
    let raw = local.receive(&local.raw, 4, WAIT).await;
    assert_eq!(raw.len(), 4);
    for m in &raw {
        let machine: Value = serde_json::from_str(m.body().unwrap()).unwrap();
        assert_eq!(machine["type"], "authorizer_configuration_error");
        let attrs = m
            .message_attributes()
            .expect("raw delivery keeps attributes");
        assert_eq!(attrs["cause"].string_value(), machine["cause"].as_str());
    }

    // The HTTPS subscriber (where AWS Chatbot sits) gets the custom notification.
    let mut titles = Vec::new();
    for _ in 0..4 {
        let req = tokio::time::timeout(WAIT, chat.recv())
            .await
            .expect("delivery in time")
            .unwrap();
        assert_eq!(req.path, "/chatbot");
        let env: Value = serde_json::from_str(&req.body).unwrap();
        let notification = assert_chatbot_notification(env["Message"].as_str().unwrap());
        titles.push(
            notification["content"]["title"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    titles.sort();
    assert_eq!(
        titles[1],
        ":rotating_light: [prod] API authorizer misconfigured: invalid response format (1x)"
    );
}

#[tokio::test]
async fn cli_publish_reaches_the_topic() {
    let local = LocalTopic::create("cli").await;
    let endpoint = moto_endpoint();
    let run = tokio::task::spawn_blocking({
        let topic = local.topic_arn.clone();
        move || {
            forwarder(
                &[
                    "scan",
                    "--publish",
                    &topic,
                    "--label",
                    "ci",
                    "samplelogs/events/json-format.json",
                ],
                None,
                &[
                    ("AWS_ENDPOINT_URL", &endpoint),
                    ("AWS_ACCESS_KEY_ID", "test"),
                    ("AWS_SECRET_ACCESS_KEY", "test"),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(run.code, 1, "flagged: {run:?}");
    assert_eq!(
        run.stderr.matches("published message").count(),
        3,
        "{}",
        run.stderr
    );
    let got = local.receive(&local.all, 3, WAIT).await;
    assert_eq!(got.len(), 3);
    let env = sns_envelope(&got[0]);
    assert!(env["Subject"].as_str().unwrap().starts_with("[ci] "));
    let machine: Value = serde_json::from_str(env["Message"].as_str().unwrap()).unwrap();
    assert_eq!(machine["api_ids"], serde_json::json!(["k7x2p9q4md"]));
    assert_eq!(machine["stages"], serde_json::json!(["prod"]));
}

#[tokio::test]
async fn unreachable_sns_fails_the_invocation_and_names_the_topic() {
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:unreachable");
    let publisher = publisher(&format!("http://127.0.0.1:{}", closed_port()), &topic).await;
    let err = handle_event(
        &read_sample("events/default-format.json"),
        &config(&topic),
        &Services::new(&publisher),
    )
    .await
    .unwrap_err();
    let ForwardError::Publish {
        published, total, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*published, *total), (0, 4));
    let msg = err.to_string();
    assert!(msg.contains(&topic), "{msg}");
    assert!(
        msg.to_ascii_lowercase().contains("connect") || msg.contains("dispatch failure"),
        "{msg}"
    );
}

#[tokio::test]
async fn missing_topic_is_an_error() {
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic");
    let publisher = publisher(&moto_endpoint(), &topic).await;
    let err = handle_event(
        &read_sample("events/json-format.json"),
        &config(&topic),
        &Services::new(&publisher),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains(&topic) && err.contains("NotFound"), "{err}");
}

#[tokio::test]
async fn access_denied_is_an_error_and_not_retried() {
    let (url, calls, _rx) = sns_stub(vec![Some((403, "AuthorizationError")); 10]).await;
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:denied");
    let err = handle_event(
        &read_sample("events/json-format.json"),
        &config(&topic),
        &Services::new(&publisher(&url, &topic).await),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("AuthorizationError") && err.contains(&topic),
        "{err}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_until_delivered() {
    for (status, code) in [
        (400, "Throttling"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
    ] {
        let (url, calls, mut rx) = sns_stub(vec![Some((status, code)), Some((status, code))]).await;
        let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:flaky");
        let events = forwarder::sources::encode_event(
            String::from_utf8(read_sample("default-format.log"))
                .unwrap()
                .lines()
                .nth(3)
                .unwrap(),
            "/g",
            "s",
            ACCOUNT,
            0,
        );
        let out = handle_event(
            &serde_json::to_vec(&events).unwrap(),
            &config(&topic),
            &Services::new(&publisher(&url, &topic).await),
        )
        .await
        .unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(out.message_ids, ["stub-2"], "{code}");
        assert_eq!(calls.load(Ordering::SeqCst), 3, "{code}");
        let last = std::iter::from_fn(|| rx.try_recv().ok()).last().unwrap();
        assert!(
            last.body.contains("MessageStructure=json") && last.body.contains("Subject="),
            "{code}"
        );
    }
}

#[tokio::test]
async fn failure_after_some_alerts_returns_an_error() {
    let (url, calls, _rx) = sns_stub(vec![None, Some((400, "InvalidParameter"))]).await;
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:half");
    let err = handle_event(
        &read_sample("events/default-format.json"),
        &config(&topic),
        &Services::new(&publisher(&url, &topic).await),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("1 of 4 alerts published, then publishing to"),
        "{err}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "stops at the first failure"
    );
}
