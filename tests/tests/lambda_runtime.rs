//! The built function under the real Lambda runtime API (`cargo lambda watch`), invoked with
//! `cargo lambda invoke --data-file` on the sample events, publishing through the SDK to moto.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use forwarder_tests::http::capture;
use forwarder_tests::{
    ACCOUNT, LocalTopic, REGION, assert_chatbot_notification, closed_port, forwarder,
    moto_endpoint, root, sample, sns_envelope,
};
use serde_json::Value;

/// `cargo lambda watch` in its own process group, stopped with everything it started on drop.
struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Emulator {
    fn start(name: &str, env: &[(&str, &str)]) -> Self {
        use std::os::unix::process::CommandExt;
        let port = closed_port();
        let dir = root().join("tests/.run");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join(format!("cargo-lambda-{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new("cargo");
        cmd.args([
            "lambda",
            "watch",
            "--ignore-changes",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
            // The stack's `Timeout: 30`: the function keeps its work inside the deadline it is
            // given, so the emulator's must be the stack's.
            "--timeout",
            "30",
        ])
        .current_dir(root().join("forwarder"))
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0);
        for (k, v) in env {
            cmd.args(["--env-var", &format!("{k}={v}")]);
        }
        let child = cmd
            .spawn()
            .expect("cargo lambda runs (installed into .venv by tests/run)");
        let emulator = Emulator { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(300);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not start: {}",
                emulator.output()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        emulator
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Invokes the function with a sample event; returns (exit code, stdout, stderr).
    fn invoke(&self, event: &str) -> (i32, String, String) {
        self.invoke_file(&sample(event))
    }

    /// Invokes the function with the event in `path`.
    fn invoke_file(&self, path: &std::path::Path) -> (i32, String, String) {
        let out = Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                "forwarder",
                "-A",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "--data-file",
            ])
            .arg(path)
            .current_dir(root())
            .output()
            .expect("cargo lambda invoke runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // cargo-lambda does not stop on SIGTERM while a function instance runs; the group goes at once.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

fn common_env(topic: &str, endpoint: &str) -> Vec<(String, String)> {
    [
        ("ALERT_TOPIC_ARN", topic),
        ("ALERT_LABEL", "staging"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", REGION),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sample_events_through_the_lambda_runtime_reach_subscribers() {
    // The binary must exist before the emulator runs `cargo run`, so both do not build at once.
    forwarder_tests::forwarder_bin();
    let local = LocalTopic::create("runtime").await;
    let (chat_url, mut chat) = capture().await;
    local.subscribe_https(&chat_url).await;
    let env = common_env(&local.topic_arn, &moto_endpoint());
    let emulator = tokio::task::spawn_blocking(move || Emulator::start("ok", &as_refs(&env)))
        .await
        .unwrap();

    let mut published = 0;
    // The function keeps the default format, so the JSON-format event's lines do not follow it:
    // no finding, and one alert saying detection is blind for them. A REST API's execution log
    // needs no format: its group says what it is.
    for (event, alerts, findings) in [
        ("events/default-format.json", 4, 5),
        ("events/json-format.json", 1, 0),
        ("events/rest-execution.json", 3, 3),
        ("events/control-message.json", 0, 0),
    ] {
        let (code, stdout, stderr) = emulator.invoke(event);
        assert_eq!(code, 0, "{event}: {stdout} {stderr}\n{}", emulator.output());
        let outcome: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{event}: {e}: {stdout}"));
        assert_eq!(
            outcome["message_ids"].as_array().unwrap().len(),
            alerts,
            "{event}"
        );
        assert_eq!(outcome["findings"], findings, "{event}");
        assert_eq!(
            outcome["control_message"],
            event.contains("control"),
            "{event}"
        );
        published += alerts;
    }

    let got = local
        .receive(&local.all, published, Duration::from_secs(15))
        .await;
    assert_eq!(got.len(), published);
    let mut per_cause = std::collections::BTreeMap::<String, usize>::new();
    for m in &got {
        let env = sns_envelope(m);
        let subject = env["Subject"].as_str().unwrap();
        assert!(
            subject.starts_with("[staging] API authorizer misconfigured: ")
                || subject
                    == "[staging] API authorizer alerts blind: access-log format mismatch (4x)",
            "{subject}"
        );
        let machine: Value = serde_json::from_str(env["Message"].as_str().unwrap()).unwrap();
        let cause = env["MessageAttributes"]["cause"]["Value"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(machine["cause"], cause.as_str());
        assert!(machine["text"].as_str().unwrap().contains("How to fix:"));
        *per_cause.entry(cause).or_default() += machine["count"].as_u64().unwrap() as usize;
    }
    let per_cause: Vec<(&str, usize)> = per_cause.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        per_cause,
        [
            ("authorizer_timeout", 1),
            ("format_mismatch", 4),
            ("invalid_response_format", 2),
            ("missing_invoke_permission", 3),
            // The REST execution log's "Authorizer error" alone says that it failed, not why.
            ("unknown", 2)
        ]
    );
    assert_eq!(
        local
            .receive(&local.permission_only, 2, Duration::from_secs(10))
            .await
            .len(),
        2
    );
    for _ in 0..published {
        let req = tokio::time::timeout(Duration::from_secs(10), chat.recv())
            .await
            .expect("chat delivery")
            .unwrap();
        let env: Value = serde_json::from_str(&req.body).unwrap();
        assert_chatbot_notification(env["Message"].as_str().unwrap());
    }

    // A Kinesis event from a stream: every record handled, the answer in Lambda's batch shape.
    let (code, stdout, stderr) = emulator.invoke("events/kinesis-stream.json");
    assert_eq!(code, 0, "{stdout} {stderr}");
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(
        local
            .receive(&local.all, 4, Duration::from_secs(15))
            .await
            .len(),
        4,
        "the stream's batch alerts like the subscription's"
    );
    // A corrupt record is the one failure reported.
    let mut stream: Value =
        serde_json::from_slice(&forwarder_tests::read_sample("events/kinesis-stream.json"))
            .unwrap();
    stream["Records"][1]["kinesis"]["data"] = Value::from("bm90IGd6aXA=");
    let corrupt = root().join("tests/.run/kinesis-corrupt.json");
    std::fs::write(&corrupt, stream.to_string()).unwrap();
    let (code, stdout, stderr) = emulator.invoke_file(&corrupt);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"batchItemFailures": [
            {"itemIdentifier": "49650000000000000000000000000000000000000000000000000002"}
        ]})
    );

    // The recovery schedule's event reaches the recovery check (flood control is off here).
    let schedule = root().join("tests/.run/schedule.json");
    std::fs::write(
        &schedule,
        r#"{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-25T18:00:00Z","region":"us-east-1","resources":[],"detail":{}}"#,
    )
    .unwrap();
    let (code, stdout, stderr) = emulator.invoke_file(&schedule);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"recovered": 0, "message_ids": []})
    );

    // A malformed event fails the invocation, naming the layer, so Lambda keeps it.
    let (code, stdout, stderr) = emulator.invoke("malformed/truncated-gzip.json");
    assert_ne!(code, 0, "{stdout}");
    assert!(
        format!("{stdout}{stderr}").contains("EventRejected"),
        "{stdout}{stderr}"
    );
    let log = emulator.output();
    assert!(
        log.lines()
            .any(|l| l.contains("EventRejected") && l.contains("gzip stream is truncated")),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_sns_fails_the_invocation_under_the_runtime() {
    forwarder_tests::forwarder_bin();
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:unreachable");
    let env = common_env(&topic, &format!("http://127.0.0.1:{}", closed_port()));
    let emulator =
        tokio::task::spawn_blocking(move || Emulator::start("unreachable", &as_refs(&env)))
            .await
            .unwrap();
    let (code, stdout, stderr) = emulator.invoke("events/default-format.json");
    assert_ne!(code, 0, "{stdout}");
    assert!(
        format!("{stdout}{stderr}").contains("PublishFailed"),
        "{stdout}{stderr}"
    );
    // The invoker wraps long messages; the function's own log has the error as reported to Lambda.
    let log = emulator.output();
    let reported = log
        .lines()
        .find(|l| l.contains("PublishFailed"))
        .unwrap_or_else(|| panic!("no PublishFailed in the function log: {log}"));
    assert!(
        reported.contains("0 of 4 alerts published") && reported.contains(&topic),
        "{reported}"
    );
}

#[test]
fn bad_configuration_fails_the_cold_start_with_one_line() {
    let closed = format!("127.0.0.1:{}", closed_port());
    let topic = "arn:aws:sns:us-east-1:123456789012:t";
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "ALERT_TOPIC_ARN is not set"),
        (
            vec![("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:12:t")],
            "is not an SNS topic ARN",
        ),
        (
            vec![("ALERT_TOPIC_ARN", topic), ("MAX_SAMPLES", "ten")],
            "MAX_SAMPLES \"ten\"",
        ),
        (
            vec![("ALERT_TOPIC_ARN", topic), ("ALERT_LANGUAGE", "de")],
            "ALERT_LANGUAGE \"de\"",
        ),
        (
            vec![
                ("ALERT_TOPIC_ARN", topic),
                ("ACCESS_LOG_FORMAT", "$context.requestId"),
            ],
            "ACCESS_LOG_FORMAT is not a usable access-log format",
        ),
    ];
    for (vars, expected) in cases {
        let mut env = vec![("AWS_LAMBDA_RUNTIME_API", closed.as_str())];
        env.extend(vars.iter().copied());
        let run = forwarder(&[], None, &env);
        assert_eq!(run.code, 1, "{vars:?}: {run:?}");
        let line = run.stderr.trim_end();
        assert!(
            !line.contains('\n') && line.contains(expected),
            "{vars:?}: {line}"
        );
        // The structured log says the same, for CloudWatch.
        let log: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
        assert_eq!(log["level"], "ERROR");
        assert!(log["fields"]["error"].as_str().unwrap().contains(expected));
    }
}
