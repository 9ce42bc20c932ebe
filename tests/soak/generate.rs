//! The soak's inputs: seeded batches of every kind a subscription or a Kinesis stream delivers,
//! each flagged line tagged by its request id so the ledger can find it again.
//!
//! Tags: `T…=` a line API Gateway flagged (must reach an alert or the dead-letter store), `F…=` a
//! line whose token a client wrote (must never alert), `C…=` a flagged line inside a control
//! message (must never alert), `H…=` a healthy request.

use std::collections::HashMap;

use forwarder::sources::{self, LogBatch, LogEvent, MessageType};
use rand::RngExt;
use rand_xorshift::XorShiftRng;

/// The access-log format the soak's forwarders are configured with: JSON, with `$context.apiId`
/// so flood control keys each problem by API.
pub const FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey","path":"$context.path","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","userAgent":"$context.identity.userAgent","apiId":"$context.apiId","stage":"$context.stage","authorizerError":"$context.authorizer.error"}"#;

pub const ACCOUNT: &str = "123456789012";

/// What API Gateway writes for each cause, as `$context.authorizer.error`.
pub const CAUSES: [(&str, &str); 4] = [
    (
        "missing_invoke_permission",
        "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.",
    ),
    (
        "invalid_response_format",
        "AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
    ),
    (
        "authorizer_timeout",
        "AUTHORIZER_CONFIGURATION_ERROR,Authorizer request timed out after 10000 ms",
    ),
    (
        "unknown",
        "AUTHORIZER_CONFIGURATION_ERROR,Unexpected authorizer failure: identity source mapping is invalid",
    ),
];

/// One flagged line API Gateway wrote.
#[derive(Clone, Debug)]
pub struct Flagged {
    pub tag: String,
    pub api: String,
    pub cause: &'static str,
    /// The Kinesis record (index in the job's records) the line is in.
    pub record: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// Healthy, flagged (mixed causes) and forged lines; an API of its own.
    Mixed,
    /// One of many batches with the same problem, for flood control.
    Flood,
    /// Forged tokens only.
    Forged,
    /// A subscription's control message carrying a token.
    Control,
    /// An event that cannot be decoded.
    Malformed,
    /// Records from a stream a CloudWatch Logs destination feeds.
    Kinesis,
}

impl JobKind {
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Mixed => "mixed",
            JobKind::Flood => "flood",
            JobKind::Forged => "forged",
            JobKind::Control => "control",
            JobKind::Malformed => "malformed",
            JobKind::Kinesis => "kinesis",
        }
    }
}

/// A Kinesis record: its sequence number and gzip payload.
#[derive(Clone, Debug)]
pub struct Record {
    pub sequence: String,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug)]
pub enum Input {
    /// An asynchronous invocation's event.
    Async(Vec<u8>),
    /// A Kinesis shard's records, in order.
    Kinesis(Vec<Record>),
}

#[derive(Clone, Debug)]
pub struct Job {
    pub id: usize,
    pub kind: JobKind,
    pub input: Input,
    pub flagged: Vec<Flagged>,
    /// API ids that must never be named by an alert (forged-only and control batches).
    pub silent_apis: Vec<String>,
}

/// The soak's whole input, and how to find a job from what the dead-letter store holds.
pub struct Plan {
    pub jobs: Vec<Job>,
    /// Flood problems: (api, cause).
    pub flood_keys: Vec<(String, &'static str)>,
    /// The canonical JSON of each asynchronous event → its job.
    pub by_event: HashMap<String, usize>,
    /// A Kinesis sequence number → (job, record index).
    pub by_sequence: HashMap<String, (usize, usize)>,
}

/// A 10-character API id in API Gateway's alphabet, unique to `prefix` and `n`.
fn api_id(prefix: char, n: usize) -> String {
    format!("{prefix}{n:09}")
}

fn line(
    request_id: &str,
    api: &str,
    path: &str,
    user_agent: &str,
    status: &str,
    error: &str,
) -> String {
    serde_json::json!({
        "requestId": request_id,
        "ip": "203.0.113.10",
        "requestTime": "01/Dec/2026:19:00:00 +0000",
        "httpMethod": "GET",
        "routeKey": format!("GET {path}"),
        "path": path,
        "status": status,
        "protocol": "HTTP/1.1",
        "responseLength": "35",
        "userAgent": user_agent,
        "apiId": api,
        "stage": "prod",
        "authorizerError": error,
    })
    .to_string()
}

/// A line whose token a client wrote: in the path, in the user agent, or as a whole forged
/// `authorizerError` pair inside the user agent. API Gateway itself wrote `-`.
fn forged_line(rng: &mut XorShiftRng, tag: &str, api: &str) -> String {
    let (_, reason) = CAUSES[rng.random_range(0..CAUSES.len())];
    match rng.random_range(0..3) {
        0 => line(tag, api, &format!("/{reason}"), "curl/8.5.0", "403", "-"),
        1 => line(tag, api, "/orders", reason, "200", "-"),
        _ => line(
            tag,
            api,
            "/orders",
            &format!(r#"x","authorizerError":"{reason}","#),
            "200",
            "-",
        ),
    }
}

fn log_group(api: &str) -> String {
    format!("/aws/vendedlogs/apigateway/{api}")
}

fn event_bytes(lines: &[String], group: &str, stream: &str) -> Vec<u8> {
    let e = sources::encode_event(&lines.join("\n"), group, stream, ACCOUNT, 1_796_150_000_000);
    serde_json::to_vec(&e).expect("an event serialises")
}

/// A canonical text of a JSON event: the same value reads back the same whatever its spacing.
pub fn canonical(bytes: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .map(|v| v.to_string())
}

/// Lines for an API of the job's own: healthy, flagged with mixed causes, forged.
fn mixed_lines(
    rng: &mut XorShiftRng,
    job: usize,
    api: &str,
    flagged: &mut Vec<Flagged>,
    record: Option<usize>,
) -> Vec<String> {
    let n = rng.random_range(1..=20);
    let mut lines = Vec::with_capacity(n);
    for i in 0..n {
        let tag_n = format!("{job:06}n{:02}{i:03}", record.unwrap_or(0));
        match rng.random_range(0..10) {
            0..=4 => {
                let (cause, reason) = CAUSES[rng.random_range(0..CAUSES.len())];
                let tag = format!("T{tag_n}=");
                lines.push(line(&tag, api, "/orders", "Mozilla/5.0", "500", reason));
                flagged.push(Flagged {
                    tag,
                    api: api.to_owned(),
                    cause,
                    record,
                });
            }
            5..=6 => lines.push(forged_line(rng, &format!("F{tag_n}="), api)),
            _ => lines.push(line(
                &format!("H{tag_n}="),
                api,
                "/health",
                "curl/8.5.0",
                "200",
                "-",
            )),
        }
    }
    lines
}

/// Kinds by share of the jobs, in tenths of a percent.
const MIX: [(JobKind, u32); 6] = [
    (JobKind::Mixed, 450),
    (JobKind::Flood, 300),
    (JobKind::Forged, 60),
    (JobKind::Control, 40),
    (JobKind::Malformed, 50),
    (JobKind::Kinesis, 100),
];

/// `count` jobs from `rng`, with a flood problem on each of `flood_apis` (one made-up API when
/// none is given).
pub fn plan(rng: &mut XorShiftRng, count: usize, flood_apis: &[String]) -> Plan {
    let made_up = [api_id('f', 0)];
    let apis = if flood_apis.is_empty() {
        &made_up[..]
    } else {
        flood_apis
    };
    let flood_keys: Vec<(String, &'static str)> = apis
        .iter()
        .enumerate()
        .map(|(k, api)| (api.clone(), CAUSES[k % CAUSES.len()].0))
        .collect();
    let mut jobs = Vec::with_capacity(count);
    let mut by_event = HashMap::new();
    let mut by_sequence = HashMap::new();
    let mut sequence = 49_650_000_000_000_000_000_000_000_000_000_000_000u128;
    for id in 0..count {
        let mut pick = rng.random_range(0..1000u32);
        let kind = MIX
            .iter()
            .find(|(_, share)| {
                if pick < *share {
                    true
                } else {
                    pick -= share;
                    false
                }
            })
            .map_or(JobKind::Mixed, |(k, _)| *k);
        let mut flagged = Vec::new();
        let mut silent_apis = Vec::new();
        let stream = format!("stream-{id:06}");
        let input = match kind {
            JobKind::Mixed => {
                let api = api_id('m', id);
                let lines = mixed_lines(rng, id, &api, &mut flagged, None);
                Input::Async(event_bytes(&lines, &log_group(&api), &stream))
            }
            JobKind::Flood => {
                let (api, cause) = flood_keys[rng.random_range(0..flood_keys.len())].clone();
                let reason = CAUSES.iter().find(|(c, _)| *c == cause).expect("a cause").1;
                let n = rng.random_range(1..=30);
                let lines: Vec<String> = (0..n)
                    .map(|i| {
                        let tag = format!("T{id:06}n00{i:03}=");
                        let l = line(&tag, &api, "/orders", "Mozilla/5.0", "500", reason);
                        flagged.push(Flagged {
                            tag,
                            api: api.clone(),
                            cause,
                            record: None,
                        });
                        l
                    })
                    .collect();
                Input::Async(event_bytes(&lines, &log_group(&api), &stream))
            }
            JobKind::Forged => {
                let api = api_id('x', id);
                let n = rng.random_range(1..=15);
                let lines: Vec<String> = (0..n)
                    .map(|i| forged_line(rng, &format!("F{id:06}n00{i:03}="), &api))
                    .collect();
                silent_apis.push(api.clone());
                Input::Async(event_bytes(&lines, &log_group(&api), &stream))
            }
            JobKind::Control => {
                let api = api_id('c', id);
                let (_, reason) = CAUSES[rng.random_range(0..CAUSES.len())];
                let message = line(
                    &format!("C{id:06}n00000="),
                    &api,
                    "/orders",
                    "-",
                    "500",
                    reason,
                );
                let batch = LogBatch {
                    message_type: MessageType::ControlMessage,
                    owner: "CloudwatchLogs".into(),
                    log_group: "".into(),
                    log_stream: "".into(),
                    subscription_filters: Vec::new(),
                    log_events: vec![LogEvent {
                        id: "".into(),
                        timestamp: 1_796_150_000_000,
                        message: message.into(),
                    }],
                    omitted_events: 0,
                };
                silent_apis.push(api);
                Input::Async(
                    serde_json::to_vec(&sources::encode_batch(&batch)).expect("serialises"),
                )
            }
            JobKind::Malformed => {
                let api = api_id('b', id);
                let lines = mixed_lines(rng, id, &api, &mut flagged, None);
                let whole = event_bytes(&lines, &log_group(&api), &stream);
                let event: serde_json::Value = serde_json::from_slice(&whole).expect("json");
                let data = event["awslogs"]["data"].as_str().expect("data").to_owned();
                let broken = match rng.random_range(0..4) {
                    // Truncated: the gzip stream ends early.
                    0 => data[..data.len() / 2].trim_end_matches('=').to_owned() + "==",
                    1 => format!("{data}!not-base64"),
                    2 => base64_of(format!("batch {id} is not gzip").as_bytes()),
                    _ => base64_of(&sources::gzip(
                        format!(r#"{{"messageType": "DATA_MESSAGE", "logStream": "{stream}", "logEvents": ["#)
                            .as_bytes(),
                    )),
                };
                serde_json::to_vec(&serde_json::json!({"awslogs": {"data": broken}}))
                    .map(Input::Async)
                    .expect("serialises")
            }
            JobKind::Kinesis => {
                let n = rng.random_range(1..=5);
                let mut records = Vec::with_capacity(n);
                for r in 0..n {
                    let api = api_id('k', id * 10 + r);
                    let lines = mixed_lines(rng, id, &api, &mut flagged, Some(r));
                    let data = if rng.random_range(0..20) == 0 {
                        // A record that cannot be read: its flagged lines must reach the store.
                        b"\x1f\x8bnot really gzip".to_vec()
                    } else {
                        let e = sources::encode_event(
                            &lines.join("\n"),
                            &log_group(&api),
                            &stream,
                            ACCOUNT,
                            1_796_150_000_000,
                        );
                        let text = e["awslogs"]["data"].as_str().expect("data");
                        base64_decode(text)
                    };
                    sequence += 1;
                    let seq = sequence.to_string();
                    by_sequence.insert(seq.clone(), (id, r));
                    records.push(Record {
                        sequence: seq,
                        data,
                    });
                }
                Input::Kinesis(records)
            }
        };
        if let Input::Async(bytes) = &input {
            let c = canonical(bytes).expect("every generated event is JSON");
            // Each event differs (its stream names the batch), so a dead letter names one batch.
            assert!(
                by_event.insert(c, id).is_none(),
                "batch {id} repeats an event"
            );
        }
        jobs.push(Job {
            id,
            kind,
            input,
            flagged,
            silent_apis,
        });
    }
    Plan {
        jobs,
        flood_keys,
        by_event,
        by_sequence,
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("our own base64")
}

/// The Kinesis event for `records`.
pub fn kinesis_event(records: &[Record]) -> Vec<u8> {
    let pairs: Vec<(&str, Vec<u8>)> = records
        .iter()
        .map(|r| (r.sequence.as_str(), r.data.clone()))
        .collect();
    serde_json::to_vec(&sources::encode_kinesis(&pairs)).expect("serialises")
}
