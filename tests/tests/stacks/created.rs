//! Which stacks and nested stacks get created, packaged as `sam package` does, and which resource
//! types moto skips.

use std::collections::BTreeSet;

use forwarder_tests::REGION;
use serde_json::Value;

use crate::{MAIN_VARIANTS, MOTO_CANNOT_CREATE, forwarders, physical, report};

#[test]
fn every_stack_and_nested_stack_is_created() {
    let stacks = report()["stacks"].as_object().unwrap();
    let variants: Vec<&str> = stacks.keys().map(String::as_str).collect();
    assert_eq!(
        variants.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "central-accounts",
            "central-organization",
            "chat",
            "demo",
            "main-defaults",
            "main-execution-log",
            "main-existing-topic",
            "main-kms",
            "main-no-flood-control",
            "main-no-metrics",
            "member-account",
            "member-log-group",
        ])
    );
    for (variant, s) in stacks {
        assert_eq!(s["status"], "CREATE_COMPLETE", "{variant}: {}", s["reason"]);
        let nested = s["nested"].as_object().unwrap();
        // The demo nests a forwarder per API (HTTP and REST), central one.
        let expects_nested = match s["template"].as_str().unwrap() {
            "infra/demo/template.yaml" => vec!["Chat", "Forwarder", "RestForwarder"],
            "infra/org/central.yaml" => vec!["Forwarder"],
            _ => vec![],
        };
        assert_eq!(
            nested.keys().map(String::as_str).collect::<Vec<_>>(),
            expects_nested,
            "{variant}"
        );
        for (logical, n) in nested {
            assert_eq!(
                n["status"], "CREATE_COMPLETE",
                "{variant}/{logical}: {}",
                n["reason"]
            );
            // The demo's one chat configuration, carrying both forwarders' topics.
            if logical == "Chat" {
                assert_eq!(
                    n["template_resources"]["SlackChannel"],
                    "AWS::Chatbot::SlackChannelConfiguration"
                );
                continue;
            }
            // The nested stack is the forwarder, with its resources.
            assert!(
                n["resources"]["ForwarderFunction"].is_object(),
                "{variant}: {n}"
            );
            // `sam package` uploaded the nested template and put its URL in Location.
            let location = s["packaged"]["application_locations"][logical]
                .as_str()
                .unwrap();
            let prefix = format!(
                "https://s3.{REGION}.amazonaws.com/{}/",
                report()["bucket"].as_str().unwrap()
            );
            assert!(
                location.starts_with(&prefix) && location.ends_with(".template"),
                "{location}"
            );
        }
    }
    // The forwarder's code went to S3 as a zip, as `sam package` puts it.
    for (variant, s) in forwarders().into_iter().take(MAIN_VARIANTS.len()) {
        let uri = s["packaged"]["code_uris"]["ForwarderFunction"]
            .as_str()
            .unwrap();
        assert!(
            uri.starts_with(&format!("s3://{}/", report()["bucket"].as_str().unwrap())),
            "{variant}: {uri}"
        );
        // Named by CloudFormation (which fits a name to 64 characters; moto does not shorten).
        let name = physical(s, "ForwarderFunction");
        assert!(
            name.starts_with(s["name"].as_str().unwrap()) && name.contains("ForwarderFunction"),
            "{variant}: {name}"
        );
    }
}

#[test]
fn moto_cannot_create_exactly_the_listed_types() {
    let lacking: Vec<&str> = report()["moto_unsupported_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(lacking, MOTO_CANNOT_CREATE);
    // The script rewrites only what moto cannot take: an output reading a type it lacks, and a
    // nested stack's outputs (read by import). Templates without either go to moto as translated.
    for (variant, s) in report()["stacks"].as_object().unwrap() {
        let changes = s["moto_changes"].as_array().unwrap();
        let nests = s["template"] == "infra/org/central.yaml"
            || s["template"] == "infra/demo/template.yaml";
        // The chat stack's output reads the configuration moto does not create.
        let reads_chat = s["template"] == "infra/chat/template.yaml";
        assert_eq!(
            !changes.is_empty(),
            nests || reads_chat,
            "{variant}: {changes:?}"
        );
        let nested: Vec<&String> = s["nested"].as_object().unwrap().keys().collect();
        for change in changes {
            let c = change.as_str().unwrap();
            assert!(
                (c.starts_with("output ") && c.ends_with(" dropped"))
                    || (nested
                        .iter()
                        .any(|n| c.starts_with(&format!("{n}.Outputs.")))
                        && c.ends_with(" read with Fn::ImportValue")),
                "{variant}: {c}"
            );
        }
    }
    // What moto did create is a type it supports, and nothing of a listed type was created.
    let mut all: Vec<&Value> = report()["stacks"].as_object().unwrap().values().collect();
    all.extend(
        all.clone()
            .into_iter()
            .flat_map(|s| s["nested"].as_object().unwrap().values()),
    );
    for s in all {
        let created = s["resources"].as_object().unwrap();
        for (logical, r) in created {
            let kind = r["type"].as_str().unwrap();
            assert!(!MOTO_CANNOT_CREATE.contains(&kind), "{logical}: {kind}");
            assert_eq!(r["status"], "CREATE_COMPLETE", "{}: {logical}", s["name"]);
            assert_eq!(s["template_resources"][logical], kind);
        }
        for (logical, kind) in s["template_resources"].as_object().unwrap() {
            if MOTO_CANNOT_CREATE.contains(&kind.as_str().unwrap()) {
                assert!(!created.contains_key(logical), "{logical}");
            }
        }
    }
}
