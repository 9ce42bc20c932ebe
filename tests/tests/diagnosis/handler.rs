//! The Lambda handler's diagnosis: an alert enriched from the API id in the line, and a refused or
//! unreachable API Gateway leaving the alert standing, in the CLI too.

use std::time::{Duration, Instant};

use forwarder::alerts::publish::MemoryPublisher;
use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder::diagnose::inspect::AwsInspector;
use forwarder::forward::{Services, handle_event};
use forwarder::sources;
use forwarder_tests::http::denying_stub;
use forwarder_tests::{ACCOUNT, REGION, closed_port, moto_endpoint, sdk_config};

use crate::{Kind, PERMISSION_TEXT, add_permission, aws_env, fixture, now_ms, run};

fn permission_event(api_id: &str) -> Vec<u8> {
    let line = format!(
        r#"{{"requestId":"perm-9=","routeKey":"GET /no-policy","status":"500","apiId":"{api_id}","authorizerError":"AUTHORIZER_CONFIGURATION_ERROR,{PERMISSION_TEXT}"}}"#
    );
    let event = sources::encode_event(&line, "/aws/api/orders", "$default", ACCOUNT, now_ms());
    serde_json::to_vec(&event).unwrap()
}

fn diagnosing(format: &str) -> Config {
    Config {
        diagnose: true,
        region: Some(REGION.into()),
        format: LogFormat::parse(format).unwrap(),
        ..Config::default()
    }
}

const JSON_FORMAT: &str = r#"{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status","apiId":"$context.apiId","authorizerError":"$context.authorizer.error"}"#;

#[tokio::test]
async fn the_handler_enriches_from_the_api_id_in_the_line() {
    let f = fixture("handler", &[Kind::NoPolicy, Kind::Allowed]).await;
    let inspector = AwsInspector::new(&sdk_config(&moto_endpoint()).await);
    let publisher = MemoryPublisher::new();
    handle_event(
        &permission_event(&f.api_id),
        &diagnosing(JSON_FORMAT),
        &Services::new(&publisher).inspector(&inspector),
    )
    .await
    .unwrap();
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    let email = &sent[0].email;
    assert!(
        email.contains(&format!(
            "Diagnosis (API {}, live configuration):",
            f.api_id
        )),
        "{email}"
    );
    assert!(
        email.contains(&format!(
            "PROBLEM: function no-policy-handler-{}",
            std::process::id()
        )),
        "{email}"
    );
    assert!(
        email.contains(&add_permission(&f, Kind::NoPolicy)),
        "{email}"
    );
    let chat: serde_json::Value = serde_json::from_str(&sent[0].chat).unwrap();
    assert!(
        chat["content"]["nextSteps"]
            .to_string()
            .contains(&f.source_arn(Kind::NoPolicy)),
        "{chat:#}"
    );
}

// Several threads: the stub answers on this runtime while the CLI test waits for its process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_or_unreachable_lookups_leave_the_alert_standing() {
    let (denying, _requests) = denying_stub().await;
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    // GetApi is the first call: it tells which kind of API the id names.
    let cases = [
        (
            denying,
            "Diagnosis unavailable: apigateway:GetApi was refused: AccessDeniedException",
        ),
        (
            unreachable,
            "Diagnosis unavailable: apigateway:GetApi failed: cannot connect to 127.0.0.1:",
        ),
    ];
    for (endpoint, expected) in cases {
        let inspector = AwsInspector::new(&sdk_config(&endpoint).await);
        let publisher = MemoryPublisher::new();
        let started = Instant::now();
        handle_event(
            &permission_event("a1b2c3d4e5"),
            &diagnosing(JSON_FORMAT),
            &Services::new(&publisher).inspector(&inspector),
        )
        .await
        .expect("the alert goes out");
        assert!(
            started.elapsed() < forwarder::forward::DIAGNOSIS_BUDGET + Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let sent = publisher.sent();
        assert_eq!(sent.len(), 1, "{endpoint}");
        assert!(
            sent[0].email.contains(expected),
            "{expected}\n{}",
            sent[0].email
        );
        // The remedy's template command still tells a person what to run.
        assert!(sent[0].email.contains("aws lambda add-permission"));
        let machine: serde_json::Value = serde_json::from_str(&sent[0].machine).unwrap();
        assert_eq!(machine["diagnosis"]["status"], "unavailable");
    }

    // The CLI degrades the same way.
    let (denying, _requests) = denying_stub().await;
    let out = run(
        &[
            "scan",
            "--diagnose",
            "--api-id",
            "a1b2c3d4e5",
            "samplelogs/default-format.log",
        ],
        &aws_env(&denying),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "    Diagnosis unavailable: apigateway:GetApi was refused: AccessDeniedException"
        ),
        "{}",
        out.stdout
    );
}
