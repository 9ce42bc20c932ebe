//! What the forwarder says when AWS cannot be used: for each kind of failure, one line that names
//! what failed and what to do, the same from every command that calls AWS and from the Lambda
//! function's log. Each command runs with none of the machine's own AWS settings.

use std::process::{Command, Stdio};
use std::time::Duration;

use forwarder_tests::runtime_api::{Outcome, RuntimeApi};
use forwarder_tests::{
    ACCOUNT, REGION, Run, black_hole, closed_port, forwarder_bin, forwarder_isolated,
    moto_endpoint, read_sample,
};

const KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
];

/// Prefix and reason: an input's name and a topic ARN, then at most 400 bytes of reason.
const MAX_LINE: usize = 600;

const EVENTS: &str = "samplelogs/events/default-format.json";

const NO_CREDENTIALS: &str = "no AWS credentials found (tried environment variables, profile default, web identity token, ECS container credentials, EC2 instance metadata); run `aws configure` or `aws sso login`, set AWS_PROFILE to a profile that has credentials, or run with an IAM role";

const NO_REGION: &str = "no Region: pass --region or set AWS_REGION (or a region in the profile)";

/// The line a failed run prints, after checking the shape every such line has: exit 2, nothing
/// on standard output, one line on standard error with no escaped newline, no `Debug` output,
/// and a bounded length.
fn one_line(run: &Run) -> &str {
    assert_eq!(run.code, 2, "{run:?}");
    let line = run.stderr.strip_suffix('\n').unwrap_or(&run.stderr);
    assert!(line.starts_with("forwarder: "), "{line}");
    assert!(!line.contains('\n'), "{line}");
    assert!(!line.contains("\\u{"), "{line}");
    for debug in ["Sdk", "{ ", "Some(", "DispatchFailure", "ConnectorError"] {
        assert!(!line.contains(debug), "Debug output ({debug}): {line}");
    }
    assert!(line.len() <= MAX_LINE, "{} bytes: {line}", line.len());
    line
}

fn env<'a>(pairs: &[&[(&'a str, &'a str)]]) -> Vec<(&'a str, &'a str)> {
    pairs.iter().flat_map(|p| p.iter().copied()).collect()
}

fn topic(name: &str) -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}")
}

/// The commands that call AWS, each with the prefix its error line starts with.
fn commands(topic: &str) -> Vec<(Vec<String>, &'static str)> {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        (
            args(&["doctor", "--api-id", "a1b2c3d4e5"]),
            "forwarder: API a1b2c3d4e5: apigateway:GetApi failed: ",
        ),
        (
            args(&["check", "--log-group", "/aws/apigw/orders"]),
            "forwarder: /aws/apigw/orders: logs:FilterLogEvents failed: ",
        ),
        (
            args(&[
                "preflight",
                "--stack-name",
                "alerts",
                "--access-log-group",
                "/aws/apigw/orders",
            ]),
            "forwarder: preflight: logs:DescribeLogGroups could not reach AWS: ",
        ),
        (
            args(&["scan", EVENTS, "--publish", topic]),
            "forwarder: samplelogs/events/default-format.json: 0 of 4 alerts published, then publishing to ",
        ),
    ]
}

/// Runs each command of [`commands`] with `extra` arguments and `env`; its line and prefix.
fn each_command(topic: &str, extra: &[&str], env: &[(&str, &str)]) -> Vec<(String, &'static str)> {
    commands(topic)
        .into_iter()
        .map(|(mut args, prefix)| {
            // `scan` takes no --region: the topic's ARN names it.
            if args[0] != "scan" {
                args.extend(extra.iter().map(|s| (*s).to_owned()));
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = forwarder_isolated(&args, env);
            (one_line(&run).to_owned(), prefix)
        })
        .collect()
}

/// The prefix `scan --publish` adds: the topic, then "failed".
fn with_topic(prefix: &str, topic: &str) -> String {
    if prefix.ends_with("publishing to ") {
        format!("{prefix}{topic} failed: ")
    } else {
        prefix.to_owned()
    }
}

#[test]
fn no_credentials_names_the_sources_tried_and_what_to_do() {
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let topic = topic("no-credentials");
    let vars = env(&[&[("AWS_REGION", REGION), ("AWS_ENDPOINT_URL", &unreachable)]]);
    for (line, prefix) in each_command(&topic, &[], &vars) {
        assert_eq!(
            line,
            format!("{}{NO_CREDENTIALS}", with_topic(prefix, &topic))
        );
    }

    // A profile that exists but holds no keys is named among the sources (its Region is found).
    let config = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("aws-errors-ops-config");
    std::fs::write(&config, "[profile ops]\nregion = eu-west-1\n").unwrap();
    let run = forwarder_isolated(
        &["doctor", "--api-id", "a1b2c3d4e5"],
        &[
            ("AWS_PROFILE", "ops"),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_ENDPOINT_URL", &unreachable),
        ],
    );
    assert_eq!(
        one_line(&run),
        "forwarder: API a1b2c3d4e5: apigateway:GetApi failed: no AWS credentials found (tried environment variables, profile ops, web identity token, ECS container credentials, EC2 instance metadata); run `aws configure` or `aws sso login`, set AWS_PROFILE to a profile that has credentials, or run with an IAM role"
    );
}

/// The AWS CLI refuses a profile that does not exist, even with keys in the environment; so does
/// the forwarder, by name, before any call.
#[test]
fn a_profile_that_does_not_exist_is_named() {
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let topic = topic("no-profile");
    let vars = env(&[
        &KEYS,
        &[
            ("AWS_PROFILE", "nope"),
            ("AWS_REGION", REGION),
            ("AWS_ENDPOINT_URL", &unreachable),
        ],
    ]);
    let named = "AWS_PROFILE names profile nope, which neither the AWS config file nor the credentials file defines; correct or unset AWS_PROFILE, or run `aws configure --profile nope`";
    for (line, prefix) in each_command(&topic, &[], &vars) {
        let expected = if prefix.starts_with("forwarder: preflight") {
            format!("forwarder: preflight: {named}")
        } else {
            format!("forwarder: {named}")
        };
        assert_eq!(line, expected);
    }
}

/// No Region anywhere: the line says where to give one, before any call (the endpoint is a closed
/// port, which a call would report).
#[test]
fn no_region_says_where_to_give_one_before_any_call() {
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let vars = env(&[&KEYS, &[("AWS_ENDPOINT_URL", &unreachable)]]);
    for (line, prefix) in each_command(&topic("no-region"), &[], &vars)
        .into_iter()
        // `scan --publish` takes its Region from the topic.
        .filter(|(_, prefix)| !prefix.ends_with("publishing to "))
    {
        let expected = if prefix.starts_with("forwarder: preflight") {
            format!("forwarder: preflight: {NO_REGION}")
        } else {
            format!("forwarder: {NO_REGION}")
        };
        assert_eq!(line, expected);
    }
    // A diagnosis is a bonus: the alert stands and says why there is none.
    let run = forwarder_isolated(
        &[
            "scan",
            "--diagnose",
            "--api-id",
            "a1b2c3d4e5",
            "samplelogs/default-format.log",
        ],
        &vars,
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("    Diagnosis unavailable: {NO_REGION}\n")),
        "{}",
        run.stdout
    );
}

/// A Region that does not exist has no endpoint in DNS: the line names the host and the Region.
#[test]
fn an_unknown_region_names_the_host_and_the_region() {
    let vars = env(&[&KEYS]);
    let topic = format!("arn:aws:sns:mars-north-9:{ACCOUNT}:alerts");
    let hosts = ["apigateway", "logs", "logs", "sns"];
    for ((line, prefix), service) in each_command(&topic, &["--region", "mars-north-9"], &vars)
        .into_iter()
        .zip(hosts)
    {
        assert_eq!(
            line,
            format!(
                "{}cannot find host {service}.mars-north-9.amazonaws.com (DNS): is mars-north-9 a Region? Check --region or AWS_REGION, else the network",
                with_topic(prefix, &topic)
            )
        );
    }
}

/// The service's own words: its error code and message, nothing of the SDK's.
#[test]
fn a_service_error_is_its_code_and_message() {
    let moto = moto_endpoint();
    let vars = env(&[
        &KEYS,
        &[("AWS_REGION", REGION), ("AWS_ENDPOINT_URL", &moto)],
    ]);
    let missing = topic(&format!("no-such-topic-{}", std::process::id()));
    let run = forwarder_isolated(&["scan", EVENTS, "--publish", &missing], &vars);
    assert_eq!(
        one_line(&run),
        format!(
            "forwarder: {EVENTS}: 0 of 4 alerts published, then publishing to {missing} failed: NotFound: Endpoint does not exist"
        )
    );
    let run = forwarder_isolated(&["check", "--log-group", "/no/such/group"], &vars);
    assert_eq!(
        one_line(&run),
        "forwarder: /no/such/group: logs:FilterLogEvents failed: ResourceNotFoundException: The specified log group does not exist."
    );
    // API Gateway's NotFoundException is told in the forwarder's words, once.
    let run = forwarder_isolated(&["doctor", "--api-id", "nosuchapi1"], &vars);
    assert_eq!(
        one_line(&run),
        "forwarder: API nosuchapi1 was not found in this account and region"
    );
}

#[test]
fn a_closed_port_is_a_refused_connection_to_the_endpoint() {
    let endpoint = format!("127.0.0.1:{}", closed_port());
    let url = format!("http://{endpoint}");
    let topic = topic("refused");
    let vars = env(&[&KEYS, &[("AWS_REGION", REGION), ("AWS_ENDPOINT_URL", &url)]]);
    for (line, prefix) in each_command(&topic, &[], &vars) {
        assert_eq!(
            line,
            format!(
                "{}cannot connect to {endpoint}: connection refused; a retry may help, else check the network, a proxy or AWS_ENDPOINT_URL",
                with_topic(prefix, &topic)
            )
        );
    }
}

#[test]
fn no_answer_is_a_timeout_that_a_retry_may_help() {
    let stuck = black_hole();
    let vars = env(&[
        &KEYS,
        &[("AWS_REGION", REGION), ("AWS_ENDPOINT_URL", &stuck)],
    ]);
    let run = forwarder_isolated(&["doctor", "--api-id", "a1b2c3d4e5"], &vars);
    let line = one_line(&run);
    assert!(
        line.starts_with(
            "forwarder: API a1b2c3d4e5: apigateway:GetApi failed: no answer from AWS in time: "
        ) && line.ends_with("; a retry may help, else check the network"),
        "{line}"
    );
}

// Several threads: the stub answers on this runtime while the test waits for the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_says_a_retry_later_may_help() {
    let (url, calls, _requests) =
        forwarder_tests::http::sns_stub(vec![Some((400, "Throttling")); 10]).await;
    let topic = topic("throttled");
    let line = {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || {
            let vars = env(&[&KEYS, &[("AWS_REGION", REGION), ("AWS_ENDPOINT_URL", &url)]]);
            one_line(&forwarder_isolated(
                &["scan", EVENTS, "--publish", &topic],
                &vars,
            ))
            .to_owned()
        })
        .await
        .unwrap()
    };
    assert_eq!(
        line,
        format!(
            "forwarder: {EVENTS}: 0 of 4 alerts published, then publishing to {topic} failed: Throttling: Throttling from the test endpoint; AWS is throttling these calls, a retry later may help"
        )
    );
    // The SDK retried before giving up.
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// Run as Lambda runs it, a failed publish is reported, and logged, as the same kind of line.
#[test]
fn the_lambda_function_reports_and_logs_one_line() {
    let api = RuntimeApi::start();
    let missing = topic(&format!("no-such-topic-lambda-{}", std::process::id()));
    let mut child = Command::new(forwarder_bin())
        .env_clear()
        .envs(api.environment(128))
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("ALERT_TOPIC_ARN", &missing)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the forwarder starts");
    let outcome = api.invoke(
        &read_sample("events/default-format.json"),
        Duration::from_secs(60),
    );
    let _ = child.kill();
    let out = child.wait_with_output().expect("the forwarder stops");
    let Some(Outcome::Error { body, .. }) = outcome else {
        panic!("expected an invocation error, got {outcome:?}");
    };
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["errorType"], "PublishFailed", "{error}");
    let expected = format!(
        "0 of 4 alerts published, then publishing to {missing} failed: NotFound: Endpoint does not exist"
    );
    assert_eq!(error["errorMessage"], expected.as_str());
    // The function's log names the error in the same words, and dumps nothing of the SDK.
    let log = String::from_utf8_lossy(&out.stdout);
    let logged = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "alert not published")
        .unwrap_or_else(|| panic!("no \"alert not published\" in the log: {log}"));
    assert_eq!(
        logged["fields"]["error"],
        format!("publishing to {missing} failed: NotFound: Endpoint does not exist").as_str(),
        "{logged}"
    );
    for line in log.lines() {
        assert!(
            !line.contains("SdkBody") && !line.contains("ServiceError") && line.len() < 2000,
            "{line}"
        );
    }
}
