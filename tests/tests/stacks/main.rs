//! Every template is packaged the way `sam package` does, translated offline by the SAM translator,
//! and created in moto's CloudFormation with each variant's parameters (tests/stacks/create.py);
//! then the created resources are read back with the SDK clients. tests/tests/infra/ reads the
//! templates; this proves they deploy and that what gets created carries the properties that
//! matter.

mod created;
mod delivery;
mod permissions;
mod resources;

use std::process::Command;
use std::sync::OnceLock;

use forwarder_tests::{moto_endpoint, root};
use serde_json::Value;

/// Resource types in the templates that moto's CloudFormation does not create: it skips them and
/// completes the stack. What they do is checked only by the linters (tests/run) and tests/tests/infra/.
/// Asserted to be exactly the templates' types that moto lacks, so the list cannot go stale.
const MOTO_CANNOT_CREATE: &[&str] = &[
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::Integration",
    "AWS::Chatbot::SlackChannelConfiguration",
    "AWS::CloudWatch::Alarm",
    "AWS::IAM::RolePolicy",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Logs::AccountPolicy",
    "AWS::Logs::Destination",
    "AWS::Logs::SubscriptionFilter",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
];

/// Properties of types moto does create that its CloudFormation drops. Each is asserted both
/// ways: dropped while listed here, and with its real value once moto applies it.
const MOTO_IGNORES: &[&str] = &["AWS::DynamoDB::Table.TimeToLiveSpecification"];

/// The script's report, produced once per test process; every test here reads it.
fn report() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(|| {
        let python = root().join(".venv-sam/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run ./tests/run, which installs SAM CLI and its translator into .venv-sam",
            python.display()
        );
        let out = Command::new(python)
            .arg(root().join("tests/stacks/create.py"))
            .env("MOTO_ENDPOINT", moto_endpoint())
            .current_dir(root())
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "tests/stacks/create.py failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the script prints JSON")
    })
}

fn stack(variant: &str) -> &'static Value {
    let s = &report()["stacks"][variant];
    assert!(s.is_object(), "no stack for {variant}");
    s
}

/// The physical id of a resource moto created, by logical id.
fn physical(s: &Value, logical: &str) -> String {
    s["resources"][logical]["physical_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no {logical} in {}", s["name"], s["resources"]))
        .to_owned()
}

fn output(s: &Value, key: &str) -> String {
    s["outputs"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no output {key} in {}", s["name"], s["outputs"]))
        .to_owned()
}

/// The main template's variants.
const MAIN_VARIANTS: [&str; 6] = [
    "main-defaults",
    "main-kms",
    "main-existing-topic",
    "main-no-flood-control",
    "main-execution-log",
    "main-no-metrics",
];

/// The forwarder stacks: the main variants, and the forwarders nested in central and demo (the
/// demo's HTTP API's, and its REST API's as `demo-rest`).
fn forwarders() -> Vec<(&'static str, &'static Value)> {
    let mut all: Vec<(&str, &Value)> = MAIN_VARIANTS.into_iter().map(|v| (v, stack(v))).collect();
    for v in ["central-accounts", "central-organization", "demo"] {
        all.push((v, &stack(v)["nested"]["Forwarder"]));
    }
    all.push(("demo-rest", &stack("demo")["nested"]["RestForwarder"]));
    all
}

/// The access-log group a variant's forwarder subscribes to; none for a stream-fed one.
fn access_log_group(variant: &str) -> Option<String> {
    match variant {
        "central-accounts" | "central-organization" => None,
        "demo" => Some(output(stack("demo"), "AccessLogGroupName")),
        "demo-rest" => Some(output(stack("demo"), "RestAccessLogGroupName")),
        v => Some(
            report()["prerequisites"]["log_groups"][v]
                .as_str()
                .expect("log group")
                .to_owned(),
        ),
    }
}

/// The REST execution-log group a variant's forwarder subscribes to as well, if any.
fn execution_log_group(variant: &str) -> Option<String> {
    match variant {
        "demo-rest" => Some(output(stack("demo"), "RestExecutionLogGroupName")),
        v => report()["prerequisites"]["execution_log_groups"][v]
            .as_str()
            .map(str::to_owned),
    }
}

fn statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(s) => s.clone(),
        other => vec![other.clone()],
    }
}

fn as_strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect(),
        Value::String(s) => vec![s.clone()],
        other => panic!("not a string or list: {other}"),
    }
}

/// An IAM policy document as moto returns it. moto gives back the Python form of the document
/// CloudFormation handed it (single quotes, `None`), and keeps the `None` an `AWS::NoValue` left
/// in a list where CloudFormation removes the entry; both are undone here.
fn iam_document(raw: &str) -> Value {
    let doc: Value = serde_json::from_str(raw).unwrap_or_else(|_| {
        assert!(!raw.contains('"'), "neither JSON nor Python's form: {raw}");
        let json = raw
            .replace('\'', "\"")
            .replace("None", "null")
            .replace("True", "true")
            .replace("False", "false");
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {raw}"))
    });
    let mut doc = doc;
    if let Some(Value::Array(s)) = doc.get_mut("Statement") {
        s.retain(|x| !x.is_null());
    }
    doc
}
