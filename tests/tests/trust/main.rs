//! The promise, tried as an attacker and a careless operator would: with the stage's format given,
//! no client value makes, changes or hides a finding, and lines the format does not describe are
//! counted and said, never read another way. Every case runs through both paths a user has: the
//! CLI (`scan --json --format`) and the Lambda handler (`handle_event`, publishing to an in-memory
//! topic).

mod client_values;
mod execution_logs;
mod formats;
mod inputs;

use forwarder::alerts::publish::MemoryPublisher;
use forwarder::config::Config;
use forwarder::detect::access_log::LogFormat;
use forwarder::forward::{Services, handle_event};
use forwarder_tests::{forwarder, read_sample};
use serde_json::Value;

const PERMISSION: &str = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
const RESPONSE: &str = "AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'";
/// The messages as an HTTP API writes them in `$context.authorizer.error`: no token.
const PERMISSION_MESSAGE: &str = "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
const RESPONSE_MESSAGE: &str = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response";

fn custom_format() -> String {
    String::from_utf8(read_sample("custom-format.fmt")).unwrap()
}

fn custom(path: &str, status: u16, ua: &str, error: &str) -> String {
    format!(
        r#"Xa9QDh8GIAMEbWQ= 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET {path} HTTP/1.1" {status} "{ua}" b1l2i3n4g5 prod {error}"#
    )
}

const JSON_AUTHZ: &str = r#"{"requestId":"$context.requestId","status":"$context.status","authz":"$context.authorizer.error"}"#;

fn json_authz(id: &str, status: &str, authz: &str) -> String {
    serde_json::json!({"requestId": id, "status": status, "authz": authz}).to_string()
}

/// What both paths must report for a batch: the causes of the findings (sorted: alerts come one
/// per cause), and the counts.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    causes: Vec<String>,
    ignored: usize,
    unmatched: usize,
    /// Most lines carrying the token did not follow the format: said as a `format_mismatch`.
    drift: bool,
}

/// `drifted` of the `unmatched` lines lack the format's layout, which no client can bring about:
/// only they, against the findings, say that the format changed.
fn verdict(causes: &[&str], ignored: usize, unmatched: usize, drifted: usize) -> Verdict {
    let mut causes: Vec<String> = causes.iter().map(|c| c.to_string()).collect();
    causes.sort();
    let drift = drifted > 0 && drifted * 2 > drifted + causes.len();
    Verdict {
        causes,
        ignored,
        unmatched,
        drift,
    }
}

/// The CLI's verdict: findings and the stats line of `--json`.
fn cli(format: &str, lines: &[String]) -> (Verdict, i32, String) {
    let dir = std::env::temp_dir().join(format!("trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:x}.log", fnv(lines)));
    std::fs::write(&path, lines.join("\n")).unwrap();
    let run = forwarder(
        &["scan", "--json", "--format", format, path.to_str().unwrap()],
        None,
        &[],
    );
    let mut causes = Vec::new();
    let mut stats = None;
    for line in run.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        match v.get("stats") {
            Some(s) => stats = Some(s.clone()),
            None => causes.push(v["cause"].as_str().unwrap().to_owned()),
        }
    }
    let stats = stats.unwrap_or_else(|| panic!("no stats line: {run:?}"));
    causes.sort();
    assert_eq!(stats["flagged"], causes.len());
    let n = |k: &str| stats[k].as_u64().unwrap() as usize;
    (
        Verdict {
            causes,
            ignored: n("ignored"),
            unmatched: n("unmatched"),
            drift: stats["format_drift"].as_bool().unwrap(),
        },
        run.code,
        run.stderr,
    )
}

fn fnv(lines: &[String]) -> u64 {
    lines
        .iter()
        .flat_map(|l| l.bytes())
        .fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
}

/// What the Lambda handler did with an event, and what it published.
async fn handle(
    event: &Value,
    config: &Config,
) -> (
    forwarder::forward::Outcome,
    Vec<forwarder::alerts::render::Alert>,
) {
    let publisher = MemoryPublisher::new();
    let out = handle_event(
        &serde_json::to_vec(event).unwrap(),
        config,
        &Services::new(&publisher),
    )
    .await
    .unwrap();
    (out, publisher.sent())
}

/// The Lambda's verdict for the same lines in one subscription event, and what it published.
async fn lambda(
    format: &str,
    lines: &[String],
) -> (Verdict, Vec<forwarder::alerts::render::Alert>) {
    let event = forwarder::sources::encode_event(
        &lines.join("\n"),
        "/aws/vendedlogs/apigateway/billing-api/prod",
        "$default",
        "123456789012",
        1_795_174_201_000,
    );
    lambda_event(format, &event).await
}

/// The Lambda's verdict for a subscription event, and what it published.
async fn lambda_event(
    format: &str,
    event: &Value,
) -> (Verdict, Vec<forwarder::alerts::render::Alert>) {
    let config = Config {
        topic: Some("arn:aws:sns:eu-west-1:123456789012:alerts".parse().unwrap()),
        format: LogFormat::parse(format).unwrap(),
        ..Config::default()
    };
    let (out, sent) = handle(event, &config).await;
    let mut causes: Vec<String> = Vec::new();
    let mut drift = false;
    for alert in &sent {
        let machine: Value = serde_json::from_str(&alert.machine).unwrap();
        let count = machine["count"].as_u64().unwrap() as usize;
        if alert.attributes.cause == "format_mismatch" {
            assert_eq!(count, out.unmatched, "{out:?}");
            drift = true;
        } else {
            causes.extend(std::iter::repeat_n(alert.attributes.cause.clone(), count));
        }
    }
    assert_eq!(out.findings, causes.len(), "{out:?}");
    causes.sort();
    (
        Verdict {
            causes,
            ignored: out.ignored,
            unmatched: out.unmatched,
            drift,
        },
        sent,
    )
}
