//! The operator signals end to end. The binary, run as Lambda runs it (a Runtime API of our own,
//! moto's SNS), writes each invocation's counts to standard output as embedded metric format
//! documents; each is checked against the format's rules (`forwarder_tests::emf`) and read as
//! CloudWatch would extract it. `scan --metrics` prints the same documents for the sample logs,
//! whose counts `samplelogs/expected.json` describes.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use forwarder_tests::emf::{self, Datum, sum};
use forwarder_tests::runtime_api::{FUNCTION_NAME, Outcome, RuntimeApi};
use forwarder_tests::{LocalTopic, forwarder, forwarder_bin, moto_endpoint, read_sample, sample};
use serde_json::Value;

const FAILURES: &str = "AuthorizerFailures";

/// The dimension every metric of the function carries.
const FUNCTION: (&str, &str) = ("FunctionName", FUNCTION_NAME);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// What the function wrote on standard output while it handled `events`, and each outcome.
fn run_function(
    topic: &str,
    env: &[(&str, &str)],
    events: &[Vec<u8>],
) -> (String, Vec<Option<Outcome>>) {
    let api = RuntimeApi::start();
    let format = std::fs::read_to_string(sample("json-format.fmt")).unwrap();
    let mut child = Command::new(forwarder_bin())
        .env_clear()
        .envs(api.environment(128))
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("ALERT_TOPIC_ARN", topic)
        .env("ACCESS_LOG_FORMAT", format.trim())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the forwarder starts");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).expect("stdout is UTF-8");
        out
    });
    let outcomes = events
        .iter()
        .map(|e| api.invoke(e, Duration::from_secs(60)))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    (reader.join().expect("stdout reader"), outcomes)
}

/// Failed requests per cause in one entry of `samplelogs/expected.json`.
fn expected_causes(entry: &Value) -> BTreeMap<String, f64> {
    let mut causes = BTreeMap::new();
    for f in entry["findings"].as_array().unwrap() {
        *causes.entry(f[1].as_str().unwrap().to_owned()).or_default() += 1.0;
    }
    causes
}

fn expected() -> Value {
    serde_json::from_slice(&read_sample("expected.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_invocation_writes_its_counts_as_embedded_metrics() {
    let topic = LocalTopic::create("metrics").await;
    let events = [
        read_sample("events/json-format.json"),
        read_sample("events/control-message.json"),
    ];
    let start = now_ms();
    let (stdout, outcomes) = run_function(&topic.topic_arn, &[], &events);
    let end = now_ms();
    for (i, o) in outcomes.iter().enumerate() {
        assert!(matches!(o, Some(Outcome::Response(_))), "event {i}: {o:?}");
    }
    let data: Vec<Datum> = emf::extract_all(&stdout).unwrap_or_else(|e| panic!("{e}"));
    let entry = &expected()["json-format.log"];
    let causes = expected_causes(entry);
    let findings: f64 = causes.values().sum();
    assert!(findings > 0.0 && entry["ignored"].as_f64().unwrap() > 0.0);
    assert!(data.iter().all(|d| d.namespace == "AuthorizerAlerts"));
    assert!(
        data.iter()
            .all(|d| (start..=end).contains(&d.timestamp_ms) && d.unit.as_deref() == Some("Count")),
        "stamped when the invocation ended, counted in Count"
    );
    // One summary, for the invocation that counted something: the control message counted
    // nothing and wrote nothing, so an idle forwarder keeps no metric alive.
    let summaries = data.iter().filter(|d| d.name == "AlertsPublished").count();
    assert_eq!(summaries, 1);
    // Every total by the function's name (what the stack's alarm and dashboard read), and none
    // without it, which would mix every stack writing to the namespace.
    assert_eq!(sum(&data, FAILURES, &[FUNCTION]), findings);
    assert!(
        data.iter()
            .all(|d| d.dimensions.get("FunctionName") == Some(&FUNCTION_NAME.to_owned()))
    );
    assert_eq!(
        sum(&data, "AlertsPublished", &[FUNCTION]),
        causes.len() as f64
    );
    for (cause, n) in &causes {
        assert_eq!(
            sum(&data, FAILURES, &[FUNCTION, ("Cause", cause)]),
            *n,
            "{cause}"
        );
        // The sample's lines carry $context.apiId, so each cause is counted by API.
        assert_eq!(
            sum(
                &data,
                FAILURES,
                &[FUNCTION, ("ApiId", "k7x2p9q4md"), ("Cause", cause)]
            ),
            *n,
            "{cause}"
        );
    }
    assert_eq!(
        sum(&data, "ForgedTokensIgnored", &[FUNCTION]),
        entry["ignored"].as_f64().unwrap()
    );
    // Counters at zero are not written at all.
    for zero in ["UnmatchedLines", "AlertsSuppressed", "DiagnosisUnavailable"] {
        assert!(!data.iter().any(|d| d.name == zero), "{zero} was written");
    }
    // Every alert counted arrived.
    let received = topic
        .receive(&topic.all, causes.len(), Duration::from_secs(20))
        .await;
    assert_eq!(received.len(), causes.len());
    assert_eq!(
        sum(&data, "AlertsPublished", &[FUNCTION]),
        causes.len() as f64
    );
    // The log lines around them are not metrics, and the documents are whole lines.
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("batch scanned") && !emf::is_emf(l))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_publish_still_counts_what_was_seen_and_what_went_out() {
    // A topic that does not exist: SNS refuses the publish, the invocation fails and is retried.
    let missing = format!(
        "arn:aws:sns:us-east-1:123456789012:no-such-topic-{}",
        std::process::id()
    );
    let (stdout, outcomes) = run_function(
        &missing,
        &[("DIAGNOSE", "true")],
        &[read_sample("events/json-format.json")],
    );
    assert!(
        matches!(&outcomes[0], Some(Outcome::Error { .. })),
        "{outcomes:?}"
    );
    let data = emf::extract_all(&stdout).unwrap_or_else(|e| panic!("{e}"));
    let causes = expected_causes(&expected()["json-format.log"]);
    assert_eq!(
        sum(&data, FAILURES, &[FUNCTION]),
        causes.values().sum::<f64>()
    );
    assert_eq!(sum(&data, "AlertsPublished", &[FUNCTION]), 0.0);
    // moto has no such API, so no alert had a diagnosis; but none went out either, and only
    // alerts sent are counted as sent without one.
    assert_eq!(sum(&data, "DiagnosisUnavailable", &[FUNCTION]), 0.0);
    assert!(stdout.contains("diagnosis unavailable"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_sent_without_a_diagnosis_are_counted() {
    let topic = LocalTopic::create("metrics-undiagnosed").await;
    let (stdout, outcomes) = run_function(
        &topic.topic_arn,
        &[("DIAGNOSE", "true")],
        &[read_sample("events/json-format.json")],
    );
    assert!(
        matches!(&outcomes[0], Some(Outcome::Response(_))),
        "{outcomes:?}"
    );
    let data = emf::extract_all(&stdout).unwrap_or_else(|e| panic!("{e}"));
    let causes = expected_causes(&expected()["json-format.log"]);
    // moto holds no such API: each alert went out saying why there is no diagnosis.
    assert_eq!(
        sum(&data, "AlertsPublished", &[FUNCTION]),
        causes.len() as f64
    );
    assert_eq!(
        sum(&data, "DiagnosisUnavailable", &[FUNCTION]),
        causes.len() as f64
    );
}

/// A REST stage with both logs subscribed: one failed request is a line in its access log and
/// one in its execution log, handled by two invocations. `AuthorizerFailures` counts it once (the
/// access log's), the execution log's line goes to `ExecutionLogAuthorizerFailures`.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_both_logs_counts_once_in_authorizer_failures() {
    let topic = LocalTopic::create("metrics-both-logs").await;
    let access = r#"{"requestId":"Wk1aBjQ2IAMEb2A=","ip":"203.0.113.10","requestTime":"20/Nov/2026:10:02:12 +0000","httpMethod":"GET","routeKey":"GET /invoices","path":"/invoices","status":"500","protocol":"HTTP/1.1","responseLength":"35","userAgent":"Mozilla/5.0","apiId":"k7x2p9q4md","stage":"prod","authorizerError":"AUTHORIZER_CONFIGURATION_ERROR"}"#;
    let execution = "(0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0) Execution failed due to configuration error: Invalid permissions on Lambda function\n(0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0) AuthorizerConfigurationException";
    let event = |lines: &str, group: &str| {
        let e =
            forwarder::sources::encode_event(lines, group, "s", "123456789012", now_ms() as i64);
        serde_json::to_vec(&e).unwrap()
    };
    let (stdout, outcomes) = run_function(
        &topic.topic_arn,
        &[],
        &[
            event(access, "/aws/vendedlogs/apigateway/k7x2p9q4md/prod"),
            event(execution, "API-Gateway-Execution-Logs_k7x2p9q4md/prod"),
        ],
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Some(Outcome::Response(_)))),
        "{outcomes:?}"
    );
    let data = emf::extract_all(&stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sum(&data, FAILURES, &[FUNCTION]), 1.0);
    assert_eq!(
        sum(
            &data,
            forwarder::metrics::EXECUTION_LOG_FAILURES,
            &[FUNCTION]
        ),
        1.0
    );
    assert_eq!(
        sum(
            &data,
            forwarder::metrics::EXECUTION_LOG_FAILURES,
            &[
                FUNCTION,
                ("ApiId", "k7x2p9q4md"),
                ("Cause", "missing_invoke_permission")
            ]
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_namespace_writes_no_metrics() {
    let topic = LocalTopic::create("metrics-off").await;
    let (stdout, outcomes) = run_function(
        &topic.topic_arn,
        &[("METRICS_NAMESPACE", "")],
        &[read_sample("events/json-format.json")],
    );
    assert!(matches!(&outcomes[0], Some(Outcome::Response(_))));
    assert!(stdout.lines().any(|l| l.contains("batch scanned")));
    assert!(!stdout.lines().any(emf::is_emf), "{stdout}");
    let (stdout, _) = run_function(
        &topic.topic_arn,
        &[("METRICS_NAMESPACE", "Team/Auth")],
        &[read_sample("events/json-format.json")],
    );
    let data = emf::extract_all(&stdout).unwrap();
    assert!(!data.is_empty() && data.iter().all(|d| d.namespace == "Team/Auth"));
}

/// `scan --metrics` on every sample log: the documents pass the format's rules and count what
/// `samplelogs/expected.json` says each log holds.
#[test]
fn scan_prints_the_metrics_each_sample_would_give() {
    let expected = expected();
    let mut checked = 0;
    for (file, entry) in expected.as_object().unwrap() {
        if entry.get("findings").is_none() {
            continue;
        }
        let path = sample(file);
        let mut args: Vec<String> = vec!["scan".into(), "--metrics".into()];
        args.extend(entry["args"].as_array().unwrap().iter().map(|a| {
            let a = a.as_str().unwrap();
            if a.starts_with("--") {
                a.to_owned()
            } else {
                sample(a).display().to_string()
            }
        }));
        args.push(path.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = forwarder(&args, None, &[]);
        assert_eq!(
            run.code,
            entry["exit"].as_i64().unwrap() as i32,
            "{file}: {}",
            run.stderr
        );
        assert!(
            run.stdout.lines().all(emf::is_emf),
            "{file}: only EMF documents on stdout"
        );
        let data = emf::extract_all(&run.stdout).unwrap_or_else(|e| panic!("{file}: {e}"));
        let causes = expected_causes(entry);
        // Each log's failures in its own metric, the other's left at zero.
        let text = std::fs::read_to_string(&path).unwrap();
        let (metric, other) = if forwarder::detect::execution_log::looks_like_execution_log(&text) {
            (forwarder::metrics::EXECUTION_LOG_FAILURES, FAILURES)
        } else {
            (FAILURES, forwarder::metrics::EXECUTION_LOG_FAILURES)
        };
        assert_eq!(
            sum(&data, metric, &[]),
            causes.values().sum::<f64>(),
            "{file}"
        );
        assert_eq!(sum(&data, other, &[]), 0.0, "{file}");
        for (cause, n) in &causes {
            assert_eq!(
                sum(&data, metric, &[("Cause", cause)]),
                *n,
                "{file} {cause}"
            );
        }
        assert_eq!(
            sum(&data, "ForgedTokensIgnored", &[]),
            entry["ignored"].as_f64().unwrap_or(0.0),
            "{file}"
        );
        assert_eq!(
            sum(&data, "UnmatchedLines", &[]),
            entry["unmatched"].as_f64().unwrap_or(0.0),
            "{file}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked} samples checked");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100))]

    /// Whatever a batch's envelope and lines hold (a log group or function name of any text and
    /// length, any number of APIs and causes), every document passes the format's rules and the
    /// totals add up: the dimensionless one, the one by function, and the per-cause ones.
    #[test]
    fn any_counts_give_documents_cloudwatch_accepts(
        scopes in proptest::collection::vec(
            (0usize..6, proptest::option::of("[a-z0-9]{10}"), "\\PC{0,1500}", 1u64..1000),
            0..80,
        ),
        function in proptest::option::of("\\PC{0,300}"),
        forged in 0u64..100,
    ) {
        use forwarder::model::cause::Cause;
        use forwarder::metrics::{Scope, Tally, emf_lines};
        let mut tally = Tally { forged_ignored: forged, ..Tally::default() };
        for (cause, api, group, n) in &scopes {
            let scope = match api {
                Some(api) => Scope::Api(api.clone()),
                None => Scope::LogGroup(group.clone()),
            };
            *tally.failures.entry((Cause::ALL[*cause], scope)).or_default() += n;
        }
        let lines = emf_lines(&tally, "AuthorizerAlerts", function.as_deref(), 1_796_000_000_000);
        let output = lines.join("\n");
        let data = emf::extract_all(&output).map_err(proptest::test_runner::TestCaseError::fail)?;
        let total = tally.failed_requests() as f64;
        // A usable function name is on every datum, or on none.
        let named = data.iter().find_map(|d| d.dimensions.get("FunctionName").cloned());
        proptest::prop_assert!(data.iter().all(|d| d.dimensions.get("FunctionName") == named.as_ref()));
        if named.is_none() {
            proptest::prop_assert!(data.is_empty() || function.as_deref().is_none_or(|f| f.trim().is_empty()));
        }
        let function_dim: Vec<(&str, &str)> = named.as_deref().map(|n| ("FunctionName", n)).into_iter().collect();
        proptest::prop_assert_eq!(sum(&data, FAILURES, &function_dim), total);
        proptest::prop_assert_eq!(sum(&data, "ForgedTokensIgnored", &function_dim), forged as f64);
        let by_cause: f64 = Cause::ALL.iter().map(|c| {
            let mut dims = function_dim.clone();
            dims.push(("Cause", c.code()));
            sum(&data, FAILURES, &dims)
        }).sum();
        proptest::prop_assert_eq!(by_cause, total);
        // Nothing counted, nothing written.
        proptest::prop_assert_eq!(data.is_empty(), total == 0.0 && forged == 0);
    }
}
