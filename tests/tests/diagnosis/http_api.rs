//! An HTTP API's authorizers through the CLI: `doctor`'s verdicts and commands, and `check`
//! reading an access log and publishing diagnosed alerts.

use std::collections::BTreeMap;
use std::time::Duration;

use forwarder_tests::{LocalTopic, moto_endpoint, sdk_config, sns_envelope};

use crate::{
    KINDS, Kind, PERMISSION_TEXT, SHAPE_TEXT, add_permission, aws_env, fixture, run, write_log,
};

#[tokio::test]
async fn doctor_gives_each_authorizer_its_verdict() {
    let f = fixture("doctor", &KINDS).await;
    let env = aws_env(&moto_endpoint());
    let out = run(&["doctor", "--api-id", &f.api_id, "--json"], &env);
    assert_eq!(out.code, 1, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("doctor --json");
    assert_eq!(doc["api_id"], f.api_id.as_str());
    assert_eq!(doc["authorizers_with_problems"], 3, "{doc:#}");
    let reports = doc["authorizers"].as_array().unwrap();
    assert_eq!(reports.len(), KINDS.len(), "/health has no authorizer");
    let by_id = |kind: Kind| {
        reports
            .iter()
            .find(|r| r["authorizer_id"] == f.authorizers[&kind].as_str())
            .unwrap_or_else(|| panic!("{kind:?} in {doc:#}"))
    };
    let problems = |kind: Kind| -> Vec<String> {
        by_id(kind)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["summary"].as_str().unwrap().to_owned())
            .collect()
    };
    for kind in [Kind::Allowed, Kind::Wildcard] {
        assert!(problems(kind).is_empty(), "{kind:?}: {:?}", problems(kind));
        assert_eq!(by_id(kind)["function_arn"], f.functions[&kind].as_str());
        assert_eq!(by_id(kind)["routes"][0], format!("GET /{}", kind.slug()));
    }
    let other = problems(Kind::OtherApi);
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(
        other[0].contains("zzzz999999/*") && other[0].contains(&f.source_arn(Kind::OtherApi)),
        "{other:?}"
    );
    assert!(problems(Kind::NoPolicy)[0].contains("has no resource policy"));
    assert!(problems(Kind::BadShape)[0].contains("need payload format 2.0"));
    let command = |kind: Kind| by_id(kind)["checks"][0]["command"].clone();
    assert_eq!(
        command(Kind::OtherApi),
        add_permission(&f, Kind::OtherApi).as_str()
    );
    assert_eq!(
        command(Kind::NoPolicy),
        add_permission(&f, Kind::NoPolicy).as_str()
    );

    // The text form names each authorizer and the fix to paste.
    let text = run(&["doctor", "--api-id", &f.api_id], &env);
    assert_eq!(text.code, 1, "{text:?}");
    assert!(
        text.stdout.starts_with(&format!(
            "API {}: 5 Lambda authorizers checked, 3 with problems\n",
            f.api_id
        )),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains(&format!("    fix: {}", add_permission(&f, Kind::NoPolicy))),
        "{}",
        text.stdout
    );

    // An API whose every authorizer is fine passes, for a pipeline to go on.
    let healthy = fixture("doctor-ok", &[Kind::Allowed, Kind::Wildcard]).await;
    let ok = run(&["doctor", "--api-id", &healthy.api_id], &env);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(
        ok.stdout
            .contains("2 Lambda authorizers checked, 0 with problems")
    );

    // An API that does not exist is an error of its own, with one line.
    let missing = run(&["doctor", "--api-id", "nosuchapi1"], &env);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert_eq!(
        missing.stderr.trim(),
        "forwarder: API nosuchapi1 was not found in this account and region"
    );
}

/// A default-format access-log line for `route`, written at `time`.
fn line(route: &str, request_id: &str, error: Option<&str>) -> String {
    let tail = error.map_or("-".to_owned(), |e| {
        format!("AUTHORIZER_CONFIGURATION_ERROR,{e}")
    });
    let status = if error.is_some() { 500 } else { 200 };
    format!(
        r#"198.51.100.7 - - [25/Nov/2026:10:00:00 +0000] "GET {route} HTTP/1.1" {status} 35 {request_id} {tail}"#
    )
}

#[tokio::test]
async fn check_reads_the_log_and_publishes_diagnosed_alerts() {
    let f = fixture("check", &KINDS).await;
    let endpoint = moto_endpoint();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&endpoint).await);
    let group = format!("/aws/vendedlogs/apigateway/check-{}", std::process::id());
    let lines = [
        line("GET /health", "ok-1=", None),
        line("GET /other-api", "perm-1=", Some(PERMISSION_TEXT)),
        line("GET /no-policy", "perm-2=", Some(PERMISSION_TEXT)),
        line("GET /bad-shape", "shape-1=", Some(SHAPE_TEXT)),
        // A client's path carries the token; API Gateway wrote nothing.
        line("GET /x/AUTHORIZER_CONFIGURATION_ERROR", "forged=", None),
    ];
    write_log(&logs, &group, "$default", &lines).await;

    let topic = LocalTopic::create("check").await;
    let env = aws_env(&endpoint);
    let out = run(
        &[
            "check",
            "--log-group",
            &group,
            "--since",
            "15m",
            "--diagnose",
            "--api-id",
            &f.api_id,
            "--publish",
            &topic.topic_arn,
        ],
        &env,
    );
    assert_eq!(out.code, 1, "{out:?}");
    // The search asks for either token (`?A ?B`); moto's FilterLogEvents takes `?` patterns as
    // match-all, so the healthy line comes back too and the scan alone decides.
    assert!(
        out.stdout.starts_with(&format!(
            "{group}: 5 lines, 3 flagged, 1 ignored (token only in client-controlled text)\n"
        )),
        "{}",
        out.stdout
    );
    let arrow = |kind: Kind| {
        format!(
            "route GET /{} -> authorizer {}-auth ({}) -> function {}",
            kind.slug(),
            kind.slug(),
            f.authorizers[&kind],
            f.functions[&kind]
        )
    };
    for kind in [Kind::OtherApi, Kind::NoPolicy, Kind::BadShape] {
        assert!(
            out.stdout.contains(&arrow(kind)),
            "{kind:?}: {}",
            out.stdout
        );
    }
    // The alerts went out through SNS with the diagnosis in every body.
    let received = topic.receive(&topic.all, 2, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 2, "one alert per cause");
    let mut emails = BTreeMap::new();
    for m in &received {
        let envelope = sns_envelope(m);
        let machine: serde_json::Value =
            serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        assert_eq!(machine["diagnosis"]["status"], "checked", "{machine:#}");
        assert_eq!(machine["diagnosis"]["api_id"], f.api_id.as_str());
        emails.insert(
            machine["cause"].as_str().unwrap().to_owned(),
            machine["text"].as_str().unwrap().to_owned(),
        );
    }
    let permission = &emails["missing_invoke_permission"];
    assert!(
        permission.contains(&arrow(Kind::OtherApi)) && permission.contains(&arrow(Kind::NoPolicy)),
        "{permission}"
    );
    // Only the failing routes' authorizers are in the alert, each with its exact command.
    assert!(!permission.contains(&arrow(Kind::Allowed)), "{permission}");
    for kind in [Kind::OtherApi, Kind::NoPolicy] {
        assert!(
            permission.contains(&format!("  {}\n", add_permission(&f, kind))),
            "{permission}"
        );
    }
    let shape = &emails["invalid_response_format"];
    assert!(
        shape.contains("PROBLEM: simple responses are on but the payload format is 1.0"),
        "{shape}"
    );

    // A log group with nothing flagged in the window: exit 0.
    let empty = format!("{group}-empty");
    logs.create_log_group()
        .log_group_name(&empty)
        .send()
        .await
        .unwrap();
    let quiet = run(&["check", "--log-group", &empty, "--since", "15m"], &env);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert_eq!(quiet.stdout, format!("{empty}: 0 lines, 0 flagged\n"));
    let missing = run(
        &["check", "--log-group", "/no/such/group", "--since", "5m"],
        &env,
    );
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing
            .stderr
            .starts_with("forwarder: /no/such/group: logs:FilterLogEvents failed"),
        "{missing:?}"
    );
}
