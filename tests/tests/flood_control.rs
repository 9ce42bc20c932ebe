//! Flood control against moto's DynamoDB: a hundred batches with the same cause make one alert
//! and the right counts, concurrent batches race on the conditional write and still make one, the
//! first alert after the window reports what was suppressed, a failed publish leaves the window
//! open for the retry, a retried batch repeats only the alert that failed, causes new to a window
//! are claimed once, and an unreachable table lets every alert through.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use forwarder::alerts::flood::DynamoWindows;
use forwarder::alerts::publish::MemoryPublisher;
use forwarder::config::Config;
use forwarder::forward::{Outcome, RecoveryOutcome, Services, handle_event, handle_recovery};
use forwarder::model::cause::Cause;
use forwarder::sources;
use forwarder_tests::{
    ACCOUNT, SerialMoto, closed_port, create_windows_table, moto_endpoint, sdk_config,
};

const PERMISSION: &str = r#"198.51.100.7 - - [25/Nov/2026:10:00:00 +0000] "GET GET /orders HTTP/1.1" 500 35 req-1= AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."#;
const FORMAT: &str = r#"198.51.100.7 - - [25/Nov/2026:10:00:00 +0000] "GET GET /orders HTTP/1.1" 500 35 req-f= AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;

/// A delivery with `findings` failed requests on the same route, in a log group unique to `test`.
/// Each call is a new delivery, as CloudWatch Logs makes one: its events are not any other's
/// (here: a log stream of its own), so flood control does not take it for a retry.
fn event(test: &str, findings: usize) -> Vec<u8> {
    static DELIVERIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let delivery = DELIVERIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let lines: Vec<String> = (0..findings)
        .map(|i| PERMISSION.replace("req-1=", &format!("req-{i}=")))
        .collect();
    let group = format!("/aws/vendedlogs/apigateway/{test}-{}", std::process::id());
    let stream = format!("$default-{delivery}");
    let e = sources::encode_event(&lines.join("\n"), &group, &stream, ACCOUNT, 0);
    serde_json::to_vec(&e).unwrap()
}

async fn table(test: &str) -> (String, aws_sdk_dynamodb::Client) {
    table_at(&moto_endpoint(), test).await
}

async fn table_at(endpoint: &str, test: &str) -> (String, aws_sdk_dynamodb::Client) {
    let name = format!("alert-windows-{test}-{}", std::process::id());
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(endpoint).await);
    create_windows_table(&client, &name).await;
    (name, client)
}

fn config(table: &str, window: u64) -> Config {
    Config {
        topic: Some("arn:aws:sns:us-east-1:123456789012:alerts".parse().unwrap()),
        window_seconds: window,
        state_table: Some(table.to_owned()),
        ..Config::default()
    }
}

/// The window item of a log group's missing-permission alerts.
async fn item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    test: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    // The lines carry no API id: the key is the log group in the batch's account.
    let key = format!(
        "log:{ACCOUNT}:/aws/vendedlogs/apigateway/{test}-{}",
        std::process::id()
    );
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(key))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("window item")
}

fn n(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> i64 {
    item[name].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_hundred_batches_make_one_alert_and_count_the_rest() {
    let (name, client) = table("hundred").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher).windows(&windows);
    let config = config(&name, 900);
    let mut suppressed = 0;
    for _ in 0..100 {
        let out: Outcome = handle_event(&event("hundred", 3), &config, &services)
            .await
            .unwrap();
        assert_eq!(out.findings, 3);
        suppressed += out.suppressed;
    }
    assert_eq!(publisher.sent().len(), 1, "one alert per window");
    assert_eq!(suppressed, 99);
    let item = item(&client, &name, "hundred").await;
    assert_eq!(n(&item, "suppressed"), 99 * 3, "failed requests counted");
    assert_eq!(n(&item, "batches"), 99);
    assert!(
        n(&item, "expires_at") > n(&item, "window_end"),
        "TTL after the window"
    );
    let samples = item["sample_ids"].as_ss().unwrap();
    assert!(!samples.is_empty() && samples.len() <= forwarder::alerts::flood::MAX_WINDOW_SAMPLES);
}

// Real parallelism: twenty invocations on four threads, all racing for the same window.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_race_and_one_alerts() {
    let moto = SerialMoto::start();
    let (name, client) = table_at(&moto.endpoint, "race").await;
    let windows = Arc::new(DynamoWindows::new(&sdk_config(&moto.endpoint).await, &name));
    let publisher = Arc::new(MemoryPublisher::new());
    let config = Arc::new(config(&name, 900));
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (windows, publisher, config, event, start) = (
                windows.clone(),
                publisher.clone(),
                config.clone(),
                event("race", 1),
                start.clone(),
            );
            tokio::spawn(async move {
                start.wait().await;
                let services = Services::new(&*publisher).windows(&*windows);
                handle_event(&event, &config, &services).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("handled");
    }
    assert_eq!(
        publisher.sent().len(),
        1,
        "exactly one invocation won the window"
    );
    let item = item(&client, &name, "race").await;
    assert_eq!((n(&item, "suppressed"), n(&item, "batches")), (19, 19));
}

#[tokio::test]
async fn the_first_alert_after_the_window_reports_what_was_suppressed() {
    let (name, _client) = table("expiry").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher).windows(&windows);
    let config = config(&name, 1);
    for _ in 0..6 {
        handle_event(&event("expiry", 2), &config, &services)
            .await
            .unwrap();
    }
    // Windows are counted in whole seconds: the next alert needs the window's last second over.
    let first = publisher.sent().len();
    assert!(first >= 1);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    handle_event(&event("expiry", 2), &config, &services)
        .await
        .unwrap();
    let sent = publisher.sent();
    assert_eq!(
        sent.len(),
        first + 1,
        "the window closed, so the next batch alerts"
    );
    let machine: serde_json::Value = serde_json::from_str(&sent.last().unwrap().machine).unwrap();
    let suppressed = &machine["suppressed_before"];
    let requests = suppressed["failed_requests"].as_u64().unwrap();
    let batches = suppressed["batches"].as_u64().unwrap();
    // Six batches went in before the pause; the ones that did not alert are accounted for.
    assert_eq!(batches as usize, 6 - first, "{machine:#}");
    assert_eq!(requests, batches * 2);
    let email = &sent.last().unwrap().email;
    assert!(
        email.contains(&format!(
            "Since the last alert: {requests} more failed requests were not alerted on (flood control), in batches: {batches}"
        )),
        "{email}"
    );
}

#[tokio::test]
async fn a_failed_publish_leaves_the_window_to_the_retry() {
    let (name, _client) = table("retry").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let config = config(&name, 900);
    let event = event("retry", 1);
    let failing = MemoryPublisher::failing_after(0);
    let err = handle_event(&event, &config, &Services::new(&failing).windows(&windows))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("0 of 1 alerts published"),
        "{err}"
    );
    // Lambda retries the event: it must alert, not count itself as a repeat.
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &event,
        &config,
        &Services::new(&publisher).windows(&windows),
    )
    .await
    .unwrap();
    assert_eq!((out.suppressed, publisher.sent().len()), (0, 1));
}

/// The opening write reached DynamoDB but its answer was lost, so the SDK (or Lambda, retrying
/// the batch) sends it again: the batch finds its own claim, not marked published, and alerts,
/// leaving what others counted for the next window, while a different batch still counts. Once
/// marked, the same batch stays quiet. Checked against moto's condition evaluation and
/// `ReturnValuesOnConditionCheckFailure`.
#[tokio::test]
async fn the_batch_that_opened_a_window_opens_it_again_until_its_alert_is_marked() {
    use forwarder::alerts::flood::{AlertWindows, Claim, OpenWindow, Opening};
    use forwarder::model::cause::Cause::MissingInvokePermission as Perm;
    let (name, client) = table("reopen").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let key = "api:123456789012:a1b2c3d4e5";
    let open = |claim| {
        Opening::Open(OpenWindow {
            alerted: vec![Perm],
            claim,
        })
    };
    assert_eq!(
        windows
            .open(key, "g|s|1", Perm, 1_000, 1_900)
            .await
            .unwrap(),
        Opening::Opened { previous: None }
    );
    assert_eq!(
        windows
            .open(key, "g|s|2", Perm, 1_001, 1_901)
            .await
            .unwrap(),
        open(None),
        "another batch counts"
    );
    windows
        .add(key, 1_001, 4, &["r9".to_owned()])
        .await
        .unwrap();
    // Twice, as a lost answer and then a Lambda retry would send it: the window stays as it is.
    for now in [1_002, 1_003] {
        let again = windows
            .open(key, "g|s|1", Perm, now, now + 900)
            .await
            .unwrap();
        assert_eq!(
            again,
            open(Some(Claim::Pending)),
            "its own claim, not marked"
        );
    }
    // Only the batch that opened the window may release it.
    windows.release(key, "g|s|2", Perm, 1_004).await.unwrap();
    assert_eq!(
        windows
            .open(key, "g|s|3", Perm, 1_005, 1_905)
            .await
            .unwrap(),
        open(None)
    );
    windows.release(key, "g|s|1", Perm, 1_006).await.unwrap();
    // The next window's alert reports what the first one counted, however often it was reopened.
    let next = windows
        .open(key, "g|s|4", Perm, 1_007, 1_907)
        .await
        .unwrap();
    let Opening::Opened {
        previous: Some(previous),
    } = next
    else {
        panic!("the next batch opens a window and reports the counts: {next:?}");
    };
    assert_eq!((previous.failed_requests, previous.batches), (4, 1));
    // Its alert went out: a redelivery finds the mark.
    windows.mark_sent(key, "g|s|4", Perm).await.unwrap();
    assert_eq!(
        windows
            .open(key, "g|s|4", Perm, 1_008, 1_908)
            .await
            .unwrap(),
        open(Some(Claim::Sent))
    );
    let item = client
        .get_item()
        .table_name(&name)
        .key("pk", AttributeValue::S(key.to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["opened_by"].as_s().unwrap(), "g|s|4");
    assert_eq!(item["scope"].as_s().unwrap(), key);
}

/// The access log's `unknown` and the execution log's reason for one API: one window. The reason
/// claims its place once, by a conditional write two batches cannot both win; `unknown` after it
/// claims nothing; a claim whose alert failed is withdrawn so the retry can claim it again.
#[tokio::test]
async fn causes_new_to_a_window_are_claimed_once() {
    use forwarder::alerts::flood::{AlertWindows, OpenWindow, Opening};
    use forwarder::model::cause::Cause::{
        InvalidResponseFormat as Format, MissingInvokePermission as Perm, Unknown,
    };
    let (name, _client) = table("causes").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let key = "api:123456789012:a1b2c3d4e5";
    assert_eq!(
        windows
            .open(key, "access|s|1", Unknown, 1_000, 1_900)
            .await
            .unwrap(),
        Opening::Opened { previous: None }
    );
    // Unknown alerted: another unknown adds nothing.
    assert!(
        !windows
            .claim(key, "access|s|2", Unknown, 1_001)
            .await
            .unwrap()
    );
    assert!(windows.claim(key, "exec|s|1", Perm, 1_001).await.unwrap());
    assert!(
        !windows.claim(key, "exec|s|2", Perm, 1_002).await.unwrap(),
        "claimed once"
    );
    assert!(windows.claim(key, "exec|s|3", Format, 1_002).await.unwrap());
    assert_eq!(
        windows
            .open(key, "exec|s|4", Perm, 1_003, 1_903)
            .await
            .unwrap(),
        Opening::Open(OpenWindow {
            alerted: vec![Perm, Format, Unknown],
            claim: None
        })
    );
    // The reason's alert failed: withdrawn, the window stays open (other alerts went out), and
    // the retry claims it again.
    windows.release(key, "exec|s|1", Perm, 1_004).await.unwrap();
    assert!(windows.claim(key, "exec|s|1", Perm, 1_005).await.unwrap());
    // A closed window takes no claim.
    assert!(
        !windows
            .claim(key, "late|s|1", Cause::AuthorizerTimeout, 2_000)
            .await
            .unwrap()
    );
}

/// A batch with two alerts whose second publish fails: Lambda retries the whole event. The
/// retry sends only the alert that failed; the one that went out is marked.
#[tokio::test]
async fn a_retried_batch_repeats_only_the_alert_that_failed() {
    let (name, client) = table("redelivery").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let config = config(&name, 900);
    // Two causes in one log group: one window, two alerts (the second cause tells more).
    let lines = [PERMISSION.to_owned(), FORMAT.replace("req-f=", "req-2=")].join("\n");
    let group = format!(
        "/aws/vendedlogs/apigateway/redelivery-{}",
        std::process::id()
    );
    let event =
        serde_json::to_vec(&sources::encode_event(&lines, &group, "s", ACCOUNT, 0)).unwrap();
    let failing = MemoryPublisher::failing_after(1);
    handle_event(&event, &config, &Services::new(&failing).windows(&windows))
        .await
        .unwrap_err();
    assert_eq!(failing.sent().len(), 1);
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &event,
        &config,
        &Services::new(&publisher).windows(&windows),
    )
    .await
    .unwrap();
    let sent: Vec<String> = publisher
        .sent()
        .iter()
        .map(|a| a.attributes.cause.clone())
        .collect();
    assert_ne!(sent, [failing.sent()[0].attributes.cause.clone()]);
    assert_eq!((sent.len(), out.suppressed), (1, 1));
    // Delivered once more (a redelivery after success): nothing is sent, nothing counted.
    let quiet = MemoryPublisher::new();
    let out = handle_event(&event, &config, &Services::new(&quiet).windows(&windows))
        .await
        .unwrap();
    assert_eq!((quiet.sent().len(), out.suppressed), (0, 2));
    let item = item(&client, &name, "redelivery").await;
    assert_eq!(n(&item, "suppressed"), 0, "a repeat is not counted");
    assert_eq!(item["sent"].as_ss().unwrap().len(), 2);
}

/// Items written under the earlier key shape (`api:ID#cause`) are no scope of today's: the
/// recovery check leaves them to their TTL instead of reporting a problem over that may not be.
#[tokio::test]
async fn items_of_the_earlier_key_shape_are_left_to_expire() {
    let (name, client) = table("oldshape").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let num = |v: i64| AttributeValue::N(v.to_string());
    for pk in [
        "api:a1b2c3d4e5#missing_invoke_permission",
        "log:/aws/x#unknown",
    ] {
        client
            .put_item()
            .table_name(&name)
            .item("pk", s(pk))
            .item("window_start", num(100))
            .item("window_end", num(200))
            .item("expires_at", num(10_000))
            .item("opened_by", s("g|s|1"))
            .send()
            .await
            .unwrap();
    }
    use forwarder::alerts::flood::AlertWindows;
    assert_eq!(windows.quiet(5_000, 900).await.unwrap(), []);
}

#[tokio::test]
async fn an_unreachable_table_lets_every_alert_through() {
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let windows = DynamoWindows::new(&sdk_config(&unreachable).await, "alert-windows");
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher).windows(&windows);
    let config = config("alert-windows", 900);
    let started = Instant::now();
    for _ in 0..3 {
        let out = handle_event(&event("down", 1), &config, &services)
            .await
            .unwrap();
        assert_eq!(out.suppressed, 0);
    }
    assert_eq!(publisher.sent().len(), 3, "fail open: every batch alerts");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_problem_that_stays_quiet_is_reported_over_once() {
    let (name, _client) = table("recovery").await;
    let windows = DynamoWindows::new(&sdk_config(&moto_endpoint()).await, &name);
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher).windows(&windows);
    let config = config(&name, 1);
    for _ in 0..3 {
        handle_event(&event("recovery", 2), &config, &services)
            .await
            .unwrap();
    }
    let alerts = publisher.sent().len();
    // Nothing is over while failures keep coming.
    assert_eq!(
        handle_recovery(&config, &services).await.unwrap().recovered,
        0
    );
    // A closed window and a whole window without failures: over.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let out = handle_recovery(&config, &services).await.unwrap();
    assert_eq!(out.recovered, 1, "{out:?}");
    let sent = publisher.sent();
    assert_eq!(sent.len(), alerts + 1);
    let note = sent.last().unwrap();
    assert_eq!(
        note.subject,
        "API authorizer recovered: missing invoke permission"
    );
    assert_eq!(note.attributes.severity, "info");
    let group = format!("/aws/vendedlogs/apigateway/recovery-{}", std::process::id());
    assert_eq!(note.attributes.log_group.as_deref(), Some(group.as_str()));
    assert!(
        note.email
            .starts_with("Recovered: API Gateway is not allowed to invoke the authorizer function\n\nNo request has failed with this cause on Log group "),
        "{}",
        note.email
    );
    let machine: serde_json::Value = serde_json::from_str(&note.machine).unwrap();
    assert_eq!(machine["type"], "authorizer_configuration_recovered");
    assert_eq!(machine["scope"], format!("log:{ACCOUNT}:{group}"));
    // Reported once.
    assert_eq!(
        handle_recovery(&config, &services).await.unwrap().recovered,
        0
    );
    // Flood control off: nothing to read, nothing to report.
    let off = Config {
        window_seconds: 0,
        ..config.clone()
    };
    assert_eq!(
        handle_recovery(&off, &services).await.unwrap(),
        RecoveryOutcome::default()
    );
}

/// The recovery schedule runs only while a problem is open: the first alert turns the rule on,
/// a check that finds the window still open leaves it on, and the check that reports the last
/// recovery turns it off (EventBridge and DynamoDB in moto, through the SDK).
#[tokio::test]
async fn the_recovery_schedule_runs_only_while_a_problem_is_open() {
    use aws_sdk_eventbridge::types::RuleState;
    use forwarder::alerts::flood::schedule::{self, EventBridgeSchedule};
    let (name, _client) = table("schedule").await;
    let sdk = sdk_config(&moto_endpoint()).await;
    let rule = recovery_rule(&sdk, "schedule").await;
    let state = || rule_state(&sdk, &rule);
    let windows = DynamoWindows::new(&sdk, &name);
    let switch = EventBridgeSchedule::new(&sdk, &rule);
    let publisher = MemoryPublisher::new();
    let services = Services::new(&publisher).windows(&windows);
    let config = config(&name, 1);
    // Idle: nothing is pending, the check leaves the rule off.
    assert!(!schedule::after_recovery(&windows, &switch).await.unwrap());
    assert_eq!(state().await, RuleState::Disabled);
    // The first alert of a window turns it on.
    handle_event(&event("schedule", 2), &config, &services)
        .await
        .unwrap();
    assert_eq!(publisher.sent().len(), 1);
    schedule::after_alert(&switch).await;
    assert_eq!(state().await, RuleState::Enabled);
    // The window waits for its recovery: a check leaves the rule on.
    assert!(schedule::after_recovery(&windows, &switch).await.unwrap());
    assert_eq!(state().await, RuleState::Enabled);
    // Over and reported: nothing is left, the rule goes off.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        handle_recovery(&config, &services).await.unwrap().recovered,
        1
    );
    assert!(!schedule::after_recovery(&windows, &switch).await.unwrap());
    assert_eq!(state().await, RuleState::Disabled);
}

/// The same through the binary as Lambda runs it (a Runtime API of our own, moto for SNS,
/// DynamoDB and EventBridge): the function turns its recovery rule on with the first alert and off
/// once the recovery is reported, by the name the stack gives it in `RECOVERY_RULE_NAME`.
#[tokio::test(flavor = "multi_thread")]
async fn the_function_switches_its_recovery_schedule() {
    use aws_sdk_eventbridge::types::RuleState;
    use forwarder_tests::runtime_api::{Outcome, RuntimeApi};
    use forwarder_tests::{LocalTopic, forwarder_bin};
    let (name, _client) = table("wired").await;
    let topic = LocalTopic::create("wired").await;
    let sdk = sdk_config(&moto_endpoint()).await;
    let rule = recovery_rule(&sdk, "wired").await;
    let state = || rule_state(&sdk, &rule);
    let api = RuntimeApi::start();
    let mut child = std::process::Command::new(forwarder_bin())
        .env_clear()
        .envs(api.environment(128))
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("ALERT_TOPIC_ARN", &topic.topic_arn)
        .env("ALERT_STATE_TABLE", &name)
        .env("ALERT_WINDOW_SECONDS", "1")
        .env("RECOVERY_RULE_NAME", &rule)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the forwarder starts");
    let answered = |o: Option<Outcome>| matches!(o, Some(Outcome::Response(_)));
    assert!(answered(
        api.invoke(&event("wired", 2), Duration::from_secs(60))
    ));
    assert_eq!(
        state().await,
        RuleState::Enabled,
        "the first alert turns it on"
    );
    let schedule = br#"{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-12-07T18:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/recovery"],"detail":{}}"#;
    // Still open: the check leaves it on.
    assert!(answered(api.invoke(schedule, Duration::from_secs(60))));
    assert_eq!(state().await, RuleState::Enabled);
    // Over and reported: off, until the next problem.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert!(answered(api.invoke(schedule, Duration::from_secs(60))));
    assert_eq!(state().await, RuleState::Disabled);
    let _ = child.kill();
    let _ = child.wait();
}

/// A recovery rule as the stack creates it: every five minutes, disabled.
async fn recovery_rule(sdk: &aws_config::SdkConfig, test: &str) -> String {
    let rule = format!("forwarder-recovery-{test}-{}", std::process::id());
    aws_sdk_eventbridge::Client::new(sdk)
        .put_rule()
        .name(&rule)
        .schedule_expression("rate(5 minutes)")
        .state(aws_sdk_eventbridge::types::RuleState::Disabled)
        .send()
        .await
        .unwrap();
    rule
}

/// Whether the rule is on, as EventBridge says.
async fn rule_state(
    sdk: &aws_config::SdkConfig,
    rule: &str,
) -> aws_sdk_eventbridge::types::RuleState {
    aws_sdk_eventbridge::Client::new(sdk)
        .describe_rule()
        .name(rule)
        .send()
        .await
        .unwrap()
        .state()
        .cloned()
        .unwrap()
}
