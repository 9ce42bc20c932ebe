//! `forwarder preflight` against moto_server: log groups and subscription filters made with the
//! SDK, the built binary run as a user runs it, its exit status and its `--json` findings.
//!
//! moto 5.2.5 implements DescribeLogGroups, DescribeSubscriptionFilters and API Gateway's
//! GetAccount/UpdateAccount, so those checks run here for real. It implements neither CloudWatch
//! Logs account policies (DescribeAccountPolicies answers 500, which preflight reports as a
//! warning) nor the chat applications API: the whole-account and Slack channel checks are tested
//! through the in-memory survey (`forwarder/src/preflight/`), and the chat adapter once here
//! against a loopback stub that answers as the service does.

use forwarder_tests::http::chatbot_stub;
use forwarder_tests::{ACCOUNT, REGION, closed_port, forwarder, moto_endpoint, sdk_config};
use serde_json::Value;

const STACK: &str = "authorizer-alerts";

fn env(endpoint: &str, region: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", region.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ]
}

/// Runs `forwarder preflight ARGS --json`, and returns the exit status with the document.
fn preflight(args: &[&str], env: &[(&'static str, String)]) -> (i32, Value) {
    let mut all = vec!["preflight", "--json"];
    all.extend_from_slice(args);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = forwarder(&all, None, &env);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("preflight --json: {e}: {run:?}"));
    (run.code, doc)
}

/// The one finding of `check` on `subject`.
fn finding<'a>(doc: &'a Value, check: &str, subject: &str) -> &'a Value {
    let found: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == check && f["subject"] == subject)
        .collect();
    assert_eq!(found.len(), 1, "{check} on {subject} in {doc:#}");
    found[0]
}

fn failed_checks(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["check"].as_str().unwrap().to_owned())
        .collect()
}

/// Names unique to this test and process, so reruns against a long-lived moto_server start clean.
fn unique(test: &str) -> String {
    format!("/preflight/{test}-{}", std::process::id())
}

fn logs_arn(group: &str) -> String {
    format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*")
}

/// Creates `group` with a subscription filter per name in `filters`, each to a log group of its
/// own (the destination moto accepts without other services).
async fn group_with_filters(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, filters: &[&str]) {
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("create log group");
    for f in filters {
        let destination = format!("{group}-to-{f}");
        logs.create_log_group()
            .log_group_name(&destination)
            .send()
            .await
            .expect("create destination group");
        logs.put_subscription_filter()
            .log_group_name(group)
            .filter_name(*f)
            .filter_pattern("AUTHORIZER")
            .destination_arn(logs_arn(&destination))
            .send()
            .await
            .expect("put subscription filter");
    }
}

#[tokio::test]
async fn a_missing_execution_log_group_fails_with_the_command_that_creates_it() {
    let endpoint = moto_endpoint();
    // A REST API id is 10 lower-case letters and digits.
    let id = format!("{:0>10}", std::process::id());
    let group = format!("API-Gateway-Execution-Logs_{id}/prod");
    let (code, doc) = preflight(
        &["--stack-name", STACK, "--execution-log-group", &group],
        &env(&endpoint, REGION),
    );
    assert_eq!(code, 1, "{doc:#}");
    let f = finding(&doc, "log_group", &group);
    assert_eq!(f["status"], "fail", "{f:#}");
    assert_eq!(
        f["fix"],
        format!(
            "aws apigateway update-stage --region {REGION} --rest-api-id {id} --stage-name prod --patch-operations 'op=replace,path=/*/*/logging/loglevel,value=ERROR'"
        )
    );
    assert_eq!(doc["partition"], "aws");
    assert_eq!(doc["region"], REGION);
}

#[tokio::test]
async fn a_group_with_two_other_filters_fails_and_this_stacks_own_do_not_count() {
    let endpoint = moto_endpoint();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&endpoint).await);
    let full = unique("full");
    group_with_filters(&logs, &full, &["splunk", "datadog"]).await;
    let (code, doc) = preflight(
        &["--stack-name", STACK, "--access-log-group", &full],
        &env(&endpoint, REGION),
    );
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(failed_checks(&doc), ["subscription_filters"], "{doc:#}");
    let f = finding(&doc, "subscription_filters", &full);
    let summary = f["summary"].as_str().unwrap();
    // Listed by name, whatever order the service answers in.
    for name in ["datadog", "splunk"] {
        assert!(
            summary.contains(&format!(
                "{name} -> {}",
                logs_arn(&format!("{full}-to-{name}"))
            )),
            "{summary}"
        );
    }
    assert_eq!(
        f["fix"],
        format!(
            "aws logs delete-subscription-filter --region {REGION} --log-group-name {full} --filter-name datadog"
        )
    );

    // The same two places, one taken by this stack on its last deploy: an update replaces it.
    let updated = unique("updated");
    let own = format!("{STACK}-AccessLogSubscription-1AB2CD3EF4");
    group_with_filters(&logs, &updated, &[&own, "splunk"]).await;
    let (code, doc) = preflight(
        &["--stack-name", STACK, "--access-log-group", &updated],
        &env(&endpoint, REGION),
    );
    assert_eq!(code, 0, "{doc:#}");
    let f = finding(&doc, "subscription_filters", &updated);
    assert_eq!(f["status"], "ok", "{f:#}");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("1 of this stack's own"),
        "{f:#}"
    );
    // Under another stack name the same filter is someone else's.
    let (code, _) = preflight(
        &[
            "--stack-name",
            "other-alerts",
            "--access-log-group",
            &updated,
        ],
        &env(&endpoint, REGION),
    );
    assert_eq!(code, 1);
}

#[tokio::test]
async fn a_clean_setup_passes() {
    let endpoint = moto_endpoint();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config(&endpoint).await);
    let access = unique("clean-access");
    let delivery = unique("clean-delivery");
    group_with_filters(&logs, &access, &["splunk"]).await;
    group_with_filters(&logs, &delivery, &[]).await;
    let (code, doc) = preflight(
        &[
            "--stack-name",
            STACK,
            "--access-log-group",
            &access,
            "--execution-log-delivery-group",
            &delivery,
        ],
        &env(&endpoint, REGION),
    );
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["would_fail"], 0);
    for group in [&access, &delivery] {
        assert_eq!(finding(&doc, "log_group", group)["status"], "ok");
        assert_eq!(finding(&doc, "subscription_filters", group)["status"], "ok");
    }
    assert_eq!(finding(&doc, "stack_name", STACK)["status"], "ok");
}

/// API Gateway's account settings are one per account and Region: this test has a Region of its
/// own on the shared moto_server, and sets the state it starts from.
#[tokio::test]
async fn rest_logging_needs_the_cloudwatch_role() {
    const OWN_REGION: &str = "eu-north-1";
    let endpoint = moto_endpoint();
    let sdk = sdk_config(&endpoint).await;
    let apigateway = aws_sdk_apigateway::Client::from_conf(
        aws_sdk_apigateway::config::Builder::from(&sdk)
            .region(aws_sdk_apigateway::config::Region::new(OWN_REGION))
            .build(),
    );
    let set_role = |arn: &'static str| {
        let apigateway = apigateway.clone();
        async move {
            apigateway
                .update_account()
                .patch_operations(
                    aws_sdk_apigateway::types::PatchOperation::builder()
                        .op(aws_sdk_apigateway::types::Op::Replace)
                        .path("/cloudwatchRoleArn")
                        .value(arn)
                        .build(),
                )
                .send()
                .await
                .expect("update account");
        }
    };
    let subject = format!("API Gateway account settings ({OWN_REGION})");
    let args = ["--stack-name", "demo", "--rest-logging"];

    set_role("").await;
    let (code, doc) = preflight(&args, &env(&endpoint, OWN_REGION));
    assert_eq!(code, 1, "{doc:#}");
    let f = finding(&doc, "cloudwatch_role", &subject);
    assert_eq!(f["status"], "fail");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("SetApiGatewayCloudWatchRole=true"),
        "{f:#}"
    );
    assert_eq!(
        f["fix"],
        format!(
            "aws apigateway update-account --region {OWN_REGION} --patch-operations op=replace,path=/cloudwatchRoleArn,value=ROLE_ARN"
        )
    );

    let role = "arn:aws:iam::123456789012:role/apigateway-cloudwatch";
    set_role(role).await;
    let (code, doc) = preflight(&args, &env(&endpoint, OWN_REGION));
    assert_eq!(code, 0, "{doc:#}");
    let f = finding(&doc, "cloudwatch_role", &subject);
    assert_eq!(f["status"], "ok");
    assert!(f["summary"].as_str().unwrap().contains(role), "{f:#}");
}

/// Checks that need no AWS at all still exit 1 on what they find: Slack ids in China, one Slack
/// id alone, a stack name CloudFormation refuses.
#[tokio::test]
async fn rules_of_names_and_partitions_fail_without_asking_aws() {
    let endpoint = moto_endpoint();
    let (code, doc) = preflight(
        &[
            "--stack-name",
            "alerts_prod",
            "--slack-workspace-id",
            "T0123ABCD",
            "--slack-channel-id",
            "C0123ABCD",
        ],
        &env(&endpoint, "cn-north-1"),
    );
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["partition"], "aws-cn");
    assert_eq!(failed_checks(&doc), ["partition", "stack_name"], "{doc:#}");
    let (code, doc) = preflight(
        &["--stack-name", STACK, "--slack-channel-id", "C0123ABCD"],
        &env(&endpoint, REGION),
    );
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(failed_checks(&doc), ["slack_ids"], "{doc:#}");
}

/// moto has no chat applications API: a loopback stub answers DescribeSlackChannelConfigurations
/// as the service does (two pages), reached through `AWS_ENDPOINT_URL_CHATBOT` while everything
/// else goes to moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_channel_is_reported_with_the_command_that_keeps_its_topics() {
    let endpoint = moto_endpoint();
    let (chatbot, requests) = chatbot_stub().await;
    let mut env = env(&endpoint, REGION);
    env.push(("AWS_ENDPOINT_URL_CHATBOT", chatbot));
    let (code, doc) = tokio::task::spawn_blocking(move || {
        preflight(
            &[
                "--stack-name",
                STACK,
                "--slack-workspace-id",
                "T0123ABCD",
                "--slack-channel-id",
                "C0123ABCD",
            ],
            &env,
        )
    })
    .await
    .unwrap();
    // A warning, not a failure: the forwarder stack itself deploys; only the chat stack must not.
    assert_eq!(code, 0, "{doc:#}");
    let f = finding(&doc, "chat_channel", "Slack channel C0123ABCD");
    assert_eq!(f["status"], "warn", "{f:#}");
    assert_eq!(
        f["fix"],
        "aws chatbot update-slack-channel-configuration --region us-east-2 --chat-configuration-arn arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ops --slack-channel-id C0123ABCD --sns-topic-arns arn:aws:sns:us-east-1:123456789012:deploys arn:aws:sns:us-east-1:123456789012:billing TOPIC_ARN"
    );
    let mut requests = requests;
    let mut paths = Vec::new();
    while let Ok(r) = requests.try_recv() {
        paths.push(r.path);
    }
    assert_eq!(
        paths,
        [
            "/describe-slack-channel-configurations",
            "/describe-slack-channel-configurations"
        ]
    );
}

/// No endpoint answers: one line on standard error that says what to check, and exit 2.
#[test]
fn aws_out_of_reach_is_exit_2_with_one_line() {
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let env: Vec<(&str, String)> = env(&unreachable, REGION);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = forwarder(
        &[
            "preflight",
            "--stack-name",
            STACK,
            "--access-log-group",
            "/apigw/access",
        ],
        None,
        &env,
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    let line = run.stderr.trim_end();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.starts_with(
            "forwarder: preflight: logs:DescribeLogGroups could not reach AWS: cannot connect to 127.0.0.1:"
        ) && line.ends_with(
            ": connection refused; a retry may help, else check the network, a proxy or AWS_ENDPOINT_URL"
        ),
        "{line}"
    );
}

/// IAM refuses every read: each becomes a warning that names the permission, and the run still
/// ends with its verdict (exit 0: nothing is known to fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_reads_are_warnings_naming_the_permission() {
    let (denying, _requests) = forwarder_tests::http::denying_stub().await;
    let env = env(&denying, REGION);
    let (code, doc) = tokio::task::spawn_blocking(move || {
        preflight(
            &[
                "--stack-name",
                STACK,
                "--access-log-group",
                "/apigw/access",
                "--rest-logging",
            ],
            &env,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{doc:#}");
    let warned: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "warn")
        .map(|f| (f["check"].as_str().unwrap(), f["summary"].as_str().unwrap()))
        .collect();
    let needs = |check: &str, permission: &str| {
        warned
            .iter()
            .any(|(c, s)| *c == check && s.contains(&format!("needs {permission} (")))
    };
    assert_eq!(warned.len(), 3, "{warned:#?}");
    assert!(needs("log_group", "logs:DescribeLogGroups"), "{warned:#?}");
    assert!(
        needs("account_policy", "logs:DescribeAccountPolicies"),
        "{warned:#?}"
    );
    assert!(
        needs(
            "cloudwatch_role",
            "apigateway:GET on arn:aws:apigateway:REGION::/account"
        ),
        "{warned:#?}"
    );
}

/// Every `forwarder preflight` command infra/README.md shows is one the binary takes: run against
/// moto, each ends with a verdict (0 or 1), never a usage error or an unreachable AWS (2).
#[test]
fn documented_commands_run() {
    let text = std::fs::read_to_string(forwarder_tests::root().join("infra/README.md")).unwrap();
    let heading = "## Before you deploy: forwarder preflight";
    let after = &text[text.find(heading).expect(heading)..];
    let start = after.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let block = &after[start..start + after[start..].find("```").unwrap()];
    let commands: Vec<String> = block
        .replace("\\\n", " ")
        .lines()
        .filter(|l| l.starts_with("forwarder preflight "))
        .map(str::to_owned)
        .collect();
    assert_eq!(commands.len(), 4, "{block}");
    let env = env(&moto_endpoint(), REGION);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for command in commands {
        let words: Vec<&str> = command.split_whitespace().skip(1).collect();
        let run = forwarder(&words, None, &env);
        assert!(matches!(run.code, 0 | 1), "{command}: {run:?}");
    }
}

/// No Region anywhere (no flag, no AWS_REGION, no profile): exit 2 with the line that says where
/// to give one, before any call.
#[test]
fn no_region_is_exit_2_with_one_line() {
    let run = forwarder(
        &["preflight", "--stack-name", STACK],
        None,
        &[
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "forwarder: preflight: no Region: pass --region or set AWS_REGION (or a region in the profile)\n"
    );
}
