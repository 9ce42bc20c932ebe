//! The stack's `ReplayCommand` output, run as an operator runs it (bash, the AWS CLI, jq) against a
//! dead-letter queue in moto's SQS and a Lambda endpoint that records what it is asked to invoke.
//! The queue holds both kinds of failure record Lambda writes there: an asynchronous invocation's
//! (with `requestPayload`) and a Kinesis mapping's (`KinesisBatchInfo`, no payload).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use forwarder_tests::http::{Request, lambda_stub};
use forwarder_tests::{cfn_template, moto_endpoint, read_sample, root, sdk_config};
use serde_json::{Value, json};

/// The `ReplayCommand` output's shell text for this queue and function.
fn replay_command(queue_url: &str, function: &str) -> String {
    let value = &cfn_template("infra/template.yaml")["Outputs"]["ReplayCommand"]["Value"];
    let text = value["Fn::Sub"].as_str().expect("a Fn::Sub string");
    let command = text
        .replace("${DeadLetterQueue}", queue_url)
        .replace("${ForwarderFunction}", function);
    assert!(!command.contains("${"), "a substitution left: {command}");
    command
}

/// What Lambda writes to the on-failure destination after an asynchronous invocation's retries
/// (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>).
fn invocation_record(payload: &Value) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-20T09:15:02.114Z",
        "requestContext": {
            "requestId": "7d1e3c4a-0b5f-4d8e-9f61-2a3b4c5d6e7f",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:alerts-forwarder:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "PublishFailed", "errorMessage": "0 of 2 alerts published"}
    })
    .to_string()
}

/// What a Kinesis event-source mapping writes there: where the batch is, not what it holds
/// (<https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html>).
fn kinesis_record(shard: &str) -> String {
    json!({
        "requestContext": {
            "requestId": "c9b8fa9f-5a7f-4b2e-af9c-0c604cde93a5",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:alerts-forwarder",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-20T09:15:02.114Z",
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": "49601189658422359378836298521827638475320189012309704722",
            "endSequenceNumber": "49601189658422359378836298522902373528957594348623495186",
            "approximateArrivalOfFirstRecord": "2026-11-20T09:14:04.835Z",
            "approximateArrivalOfLastRecord": "2026-11-20T09:14:05.580Z",
            "batchSize": 3,
            "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/api-authorizer-errors"
        }
    })
    .to_string()
}

/// AWS CLI v1 sends SQS calls for most regions to their legacy host names whatever
/// `AWS_ENDPOINT_URL` says; in this region (not among them) it honours the variable, as v2 does.
const QUEUE_REGION: &str = "eu-south-2";

/// `bash -c script` as an operator's shell runs it: the AWS CLI and jq from `.venv` and the system
/// (and `forwarder` from `extra_path`), dummy credentials, SQS and Kinesis at moto, Lambda at
/// `lambda_url`, and nothing else of the test's environment.
fn operator_shell(
    script: &str,
    dir: &Path,
    lambda_url: &str,
    extra_path: Option<&Path>,
) -> Command {
    let mut path = root().join(".venv/bin").display().to_string();
    if let Some(extra) = extra_path {
        path = format!("{path}:{}", extra.display());
    }
    let mut cmd = Command::new("bash");
    cmd.args(["-c", script])
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!("{path}:{}", std::env::var("PATH").unwrap_or_default()),
        )
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", QUEUE_REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda_url);
    cmd
}

struct Replay {
    code: i32,
    stdout: String,
    stderr: String,
    invoked: Vec<Request>,
    left: BTreeSet<String>,
}

/// Fills a fresh queue with `bodies`, runs the replay command against it with a Lambda endpoint
/// that accepts `accept` invocations, and returns what happened and the bodies left in the queue.
async fn replay(test: &str, bodies: &[String], accept: usize) -> Replay {
    let config = sdk_config(&moto_endpoint()).await;
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&config)
            .region(aws_sdk_sqs::config::Region::new(QUEUE_REGION))
            .build(),
    );
    let queue = sqs
        .create_queue()
        .queue_name(format!("replay-{test}-{}", std::process::id()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for body in bodies {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let (lambda_url, mut requests) = lambda_stub(accept).await;
    let command = replay_command(&queue, "alerts-forwarder");
    let out = tokio::task::spawn_blocking(move || {
        operator_shell(&command, &std::env::temp_dir(), &lambda_url, None)
            .output()
            .expect("bash runs")
    })
    .await
    .unwrap();
    let mut invoked = Vec::new();
    while let Ok(r) = requests.try_recv() {
        invoked.push(r);
    }
    // Whatever the command left must be back in the queue at once, not hidden for an hour.
    let mut left = BTreeSet::new();
    for _ in 0..bodies.len() + 1 {
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        left.extend(messages.into_iter().map(|m| m.body.unwrap()));
    }
    Replay {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        invoked,
        left,
    }
}

fn subscription_event(sample: &str) -> Value {
    serde_json::from_slice(&read_sample(sample)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn replays_failed_invocations_and_keeps_what_it_cannot_replay() {
    let first = subscription_event("events/default-format.json");
    let second = subscription_event("events/json-format.json");
    let recovery = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let kept = [
        kinesis_record("shardId-000000000003"),
        invocation_record(&Value::Null),
        "not json at all".to_owned(),
    ];
    let mut bodies = vec![
        invocation_record(&first),
        invocation_record(&second),
        invocation_record(&recovery),
    ];
    bodies.extend(kept.iter().cloned());
    let run = replay("mixed", &bodies, usize::MAX).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // Each failed invocation went back to the function, asynchronously, with its own payload.
    let payloads: BTreeSet<String> = [first, second, recovery]
        .iter()
        .map(|p| p.to_string())
        .collect();
    let sent: BTreeSet<String> = run
        .invoked
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap().to_string())
        .collect();
    assert_eq!(sent, payloads);
    assert_eq!(run.invoked.len(), 3, "each replayed once");
    for r in &run.invoked {
        assert_eq!(
            r.path, "/2015-03-31/functions/alerts-forwarder/invocations",
            "{r:?}"
        );
        assert_eq!(r.header("x-amz-invocation-type"), Some("Event"), "{r:?}");
    }
    assert_eq!(run.stdout.matches("replayed").count(), 3, "{}", run.stdout);

    // Nothing it could not replay was deleted, and the Kinesis batch is named for a replay from
    // the stream.
    let kept: BTreeSet<String> = kept.into_iter().collect();
    assert_eq!(run.left, kept, "{}{}", run.stdout, run.stderr);
    let listed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("kept: "))
        .collect();
    assert_eq!(listed.len(), 3, "{}", run.stdout);
    let batch = listed
        .iter()
        .find(|l| l.contains("shardId-000000000003"))
        .unwrap_or_else(|| panic!("the Kinesis batch is not named: {}", run.stdout));
    assert!(
        batch.contains("49601189658422359378836298521827638475320189012309704722")
            && batch.contains("49601189658422359378836298522902373528957594348623495186"),
        "{batch}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_replay_deletes_nothing_and_stops() {
    let bodies = vec![
        invocation_record(&subscription_event("events/default-format.json")),
        invocation_record(&subscription_event("events/custom-format.json")),
    ];
    let run = replay("refused", &bodies, 0).await;
    assert_eq!(
        run.invoked.len(),
        1,
        "stops at the first refusal: {}",
        run.stderr
    );
    assert!(run.stderr.contains("replay failed"), "{}", run.stderr);
    assert!(!run.stdout.contains("replayed"), "{}", run.stdout);
    let all: BTreeSet<String> = bodies.into_iter().collect();
    assert_eq!(run.left, all, "a message was deleted without a replay");
}

/// The first `sh` block after `heading` in infra/README.md.
fn documented_block(heading: &str) -> String {
    let text = std::fs::read_to_string(root().join("infra/README.md")).unwrap();
    let after = &text[text.find(heading).unwrap_or_else(|| panic!("no {heading}"))..];
    let start = after.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = start + after[start..].find("```").unwrap();
    after[start..end].to_owned()
}

/// The replay of a failed Kinesis batch that infra/README.md documents, run as written with the
/// operator's values, against a stream in moto: the function gets exactly the batch's records,
/// from its start to its end sequence number, as a Kinesis event the forwarder reads.
#[tokio::test(flavor = "multi_thread")]
async fn the_documented_stream_replay_sends_exactly_the_failed_batch() {
    let block = documented_block("### Replaying a failed Kinesis batch");
    // The operator fills in the first lines; the test passes the same values in the environment.
    let (values, steps): (Vec<&str>, Vec<&str>) = block.lines().partition(|l| {
        ["STREAM=", "FUNCTION=", "SHARD="]
            .iter()
            .any(|v| l.starts_with(v))
    });
    assert_eq!(values.len(), 3, "{block}");
    // Run line by line as an operator would: `forwarder scan` exits 1 on what it finds, and
    // the rest must still run; what reached the function is checked below.
    let steps = steps.join("\n");

    let sample: Value = serde_json::from_slice(&read_sample("events/kinesis-stream.json")).unwrap();
    let data: Vec<&str> = sample["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kinesis"]["data"].as_str().unwrap())
        .collect();
    let dir = std::env::temp_dir().join(format!("stream-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Four records: the failed batch is the middle two.
    let stream = format!("replay-{}", std::process::id());
    let setup = format!(
        "set -e\naws kinesis create-stream --stream-name {stream} --shard-count 1\n\
         for d in {a} {b} {a} {b}; do printf '%s' \"$d\" | base64 -d > record.gz\n\
         aws kinesis put-record --stream-name {stream} --partition-key p --data fileb://record.gz --query SequenceNumber --output text\n\
         done",
        a = data[1],
        b = data[0],
    );
    let (lambda_url, mut requests) = lambda_stub(usize::MAX).await;
    let bin = forwarder_tests::forwarder_bin()
        .parent()
        .unwrap()
        .to_owned();
    let run = |script: String, env: Vec<(&'static str, String)>| {
        let mut cmd = operator_shell(&script, &dir, &lambda_url, Some(&bin));
        cmd.envs(env);
        let out = cmd.output().expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{script}\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let sequences: Vec<String> = run(setup, vec![]).lines().map(str::to_owned).collect();
    assert_eq!(sequences.len(), 4, "{sequences:?}");
    let shard = run(
        format!(
            "aws kinesis list-shards --stream-name {stream} --query 'Shards[0].ShardId' --output text"
        ),
        vec![],
    );
    let (start, end) = (&sequences[1], &sequences[2]);
    let out = run(
        steps,
        vec![
            ("STREAM", stream.clone()),
            ("FUNCTION", "alerts-forwarder".into()),
            ("SHARD", shard.trim().to_owned()),
            ("START", start.clone()),
            ("END", end.clone()),
        ],
    );

    let invoked: Vec<Request> = std::iter::from_fn(|| requests.try_recv().ok()).collect();
    assert_eq!(invoked.len(), 1, "{out}");
    assert_eq!(
        invoked[0].path,
        "/2015-03-31/functions/alerts-forwarder/invocations"
    );
    let event: Value = serde_json::from_str(&invoked[0].body)
        .unwrap_or_else(|e| panic!("{e}: {:?}\n{out}", invoked[0]));
    let records = event["Records"].as_array().unwrap();
    let got: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["kinesis"]["sequenceNumber"].as_str().unwrap(),
                r["kinesis"]["data"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(start.as_str(), data[0]), (end.as_str(), data[1])],
        "exactly the failed batch"
    );
    // The forwarder reads the file the block wrote as a Kinesis event, one result per record.
    for sequence in [start, end] {
        assert!(
            out.contains(&format!("kinesis-replay.json#{sequence}:")),
            "{out}"
        );
    }
    assert!(out.contains("batchItemFailures"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
