//! A REST API's execution log: only API Gateway's own one-line events count, whatever a client
//! writes after its labels.

use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder_tests::forwarder;
use serde_json::Value;

use crate::{JSON_AUTHZ, PERMISSION, handle, json_authz, lambda_event, verdict};

/// A REST API's execution log with full request logging holds the client's headers, path, query
/// string and body after labels of API Gateway's own. Whatever a client sends there, and however
/// it breaks lines, only API Gateway's own one-line events count.
#[tokio::test]
async fn execution_logs_count_only_api_gateways_own_events() {
    use std::io::Write;
    let id = "3f6c1d2a-8b4e-4c1f-9a7d-1e2f3a4b5c6d";
    let failed = format!(
        "({id}) Execution failed due to configuration error: Invalid permissions on Lambda function"
    );
    let forged = [
        format!("({id}) Method request headers: {{X-Debug={failed}, User-Agent=curl/8.5.0}}"),
        format!("({id}) Method request path: {{proxy={failed}}}"),
        format!("({id}) Method request query string: {{q=AuthorizerConfigurationException}}"),
        format!("({id}) Method request body before transformations: {{\"a\":1}}\n{failed}"),
        format!(
            "({id}) Method request body before transformations: x\r\n({id}) AuthorizerConfigurationException"
        ),
    ];
    // API Gateway prefixes every event of an execution log with the request id: a whole event
    // without it was not written by API Gateway's execution logging, and is counted unmatched.
    let unprefixed =
        "Execution failed due to configuration error: Invalid permissions on Lambda function"
            .to_owned();
    let with_unprefixed = |lines: &[String]| {
        let mut all = lines.to_vec();
        all.push(unprefixed.clone());
        all
    };
    // Events as CloudWatch Logs delivers them: one message each, line breaks kept.
    let event = |group: &str, messages: &[String]| {
        let events: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| serde_json::json!({"id": format!("{i:056}"), "timestamp": 1_795_172_401_000_i64 + i as i64, "message": m}))
            .collect();
        let payload = serde_json::json!({"messageType": "DATA_MESSAGE", "owner": "123456789012",
            "logGroup": group, "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events});
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(payload.to_string().as_bytes()).unwrap();
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        serde_json::json!({"awslogs": {"data": data}})
    };
    let group = "API-Gateway-Execution-Logs_r7t2k9w4qa/prod";
    let (got, sent) = lambda_event(JSON_AUTHZ, &event(group, &with_unprefixed(&forged))).await;
    assert_eq!(got, verdict(&[], forged.len(), 1, 0), "Lambda: forgeries");
    assert!(sent.is_empty());
    // The CLI reads the same event file the same way.
    let dir = std::env::temp_dir().join(format!("trust-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("forged.json");
    std::fs::write(&file, event(group, &with_unprefixed(&forged)).to_string()).unwrap();
    let run = forwarder(&["scan", "--json", file.to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "\"ignored\":{},\"lines\":{},\"unmatched\":1",
            forged.len(),
            forged.len() + 1
        )),
        "{run:?}"
    );

    // API Gateway's own lines beside them alert, one per request, with the API from the group.
    let mut real = forged.to_vec();
    real.push(failed.clone());
    real.push(format!("({id}) AuthorizerConfigurationException"));
    // A Lambda integration API Gateway cannot invoke reads the same, without the exception line.
    let integration = "0f6a7b8c-9d0e-4f1a-9b2c-4d5e6f7a8b9c";
    real.push(format!("({integration}) Execution failed due to configuration error: Invalid permissions on Lambda function"));
    real.push(format!("({integration}) Execution failed due to configuration error: Malformed Lambda proxy response"));
    let (got, sent) = lambda_event(JSON_AUTHZ, &event(group, &real)).await;
    assert_eq!(
        got,
        verdict(&["missing_invoke_permission"], forged.len(), 0, 0)
    );
    let machine: Value = serde_json::from_str(&sent[0].machine).unwrap();
    assert_eq!(
        machine["api_ids"],
        serde_json::json!(["r7t2k9w4qa"]),
        "{machine}"
    );

    // The same lines in a group not known to hold execution logs (a lookalike of API Gateway's
    // name, or any other) are not read as an execution log's, and not passed over either: API
    // Gateway's own failure lines there are unmatched, so the format alert says the group holds
    // lines it was not told of.
    for other in [
        "/aws/vendedlogs/apigateway/pets/prod",
        "API-Gateway-Execution-Logs_r7t2k9w4qa/prod/extra",
        "API-Gateway-Execution-Logs_r7t2k9w4q/prod",
        "API-Gateway-Execution-Logs_r7t2k9w4qa/",
        "x/API-Gateway-Execution-Logs_r7t2k9w4qa/prod",
    ] {
        let (got, sent) = lambda_event(JSON_AUTHZ, &event(other, &real)).await;
        assert_eq!(got.causes, Vec::<String>::new(), "{other}");
        assert_eq!(got.unmatched, 4, "{other}: {got:?}");
        assert!(
            sent.iter().all(|a| a.attributes.cause == "format_mismatch"),
            "{other}"
        );
    }
    // A group a log delivery writes execution logs to, once named as such, is read as one.
    let delivered = "/aws/vendedlogs/apigateway/pets-execution";
    let config = Config {
        topic: Some("arn:aws:sns:eu-west-1:123456789012:alerts".parse().unwrap()),
        format: LogFormat::parse(JSON_AUTHZ).unwrap(),
        execution_log_groups: vec![delivered.to_owned()],
        ..Config::default()
    };
    let (out, sent) = handle(&event(delivered, &real), &config).await;
    assert_eq!((out.findings, out.unmatched), (1, 0), "{out:?}");
    assert_eq!(sent[0].attributes.cause, "missing_invoke_permission");
    let file = dir.join("delivered.json");
    std::fs::write(&file, event(delivered, &real).to_string()).unwrap();
    for args in [
        vec!["--execution-log-group", delivered],
        vec!["--execution-log-group", "/other,"],
    ] {
        let mut argv = vec!["scan", "--json"];
        argv.extend(&args);
        argv.push(file.to_str().unwrap());
        let run = forwarder(&argv, None, &[]);
        if args[1] == delivered {
            assert_eq!(run.code, 1, "{run:?}");
            assert!(run.stdout.contains("missing_invoke_permission"), "{run:?}");
        } else {
            assert_eq!(run.code, 2, "{run:?}");
            assert!(run.stderr.contains("--execution-log-group"), "{run:?}");
        }
    }
    let run = forwarder(
        &["scan", "--json", file.to_str().unwrap()],
        None,
        &[("EXECUTION_LOG_GROUPS", &format!("/other,{delivered}"))],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("missing_invoke_permission"), "{run:?}");

    // Access-log lines in a group of API Gateway's exact execution-log name are counted.
    let access = vec![
        json_authz(id, "500", PERMISSION),
        json_authz(id, "500", "-"),
    ];
    let (got, _) = lambda_event(JSON_AUTHZ, &event(group, &access)).await;
    assert_eq!((got.causes.len(), got.unmatched), (0, 1), "{got:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    /// Any client text after any label of API Gateway's own is never a finding.
    #[test]
    fn no_client_text_in_an_execution_log_is_a_finding(
        label in proptest::sample::select(&[
            "Method request headers: {X-A=",
            "Method request path: {proxy=",
            "Method request query string: {q=",
            "Method request body before transformations: ",
            "Endpoint request body after transformations: ",
        ][..]),
        client in "(\\PC|\n|\r|\\(|\\)|Execution failed due to configuration error: |AuthorizerConfigurationException|Invalid permissions on Lambda function){0,12}",
    ) {
        let message = format!("(3f6c1d2a-8b4e-4c1f-9a7d-1e2f3a4b5c6d) {label}{client}");
        let verdict = forwarder::detect::execution_log::read(&message);
        proptest::prop_assert!(
            !matches!(verdict, forwarder::detect::execution_log::Line::Failed { .. } | forwarder::detect::execution_log::Line::Exception { .. }),
            "{message:?}: {verdict:?}"
        );
    }
}
