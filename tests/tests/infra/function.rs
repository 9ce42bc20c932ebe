//! The forwarder function's build and settings, and what every template's functions respect:
//! no concurrency reserved by default, logs in a group with retention, names within AWS's limits.

use forwarder_tests::{cfn_template, root};
use serde_json::{Value, json};

use super::{ALL_TEMPLATES, TEMPLATES, eval, resources_of_type};

#[test]
fn function_builds_the_forwarder_binary_for_arm64() {
    let t = cfn_template("infra/template.yaml");
    let f = &t["Resources"]["ForwarderFunction"];
    assert_eq!(f["Type"], "AWS::Serverless::Function");
    assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "forwarder");
    let p = &f["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(p["Architectures"], json!(["arm64"]));
    assert_eq!(p["MemorySize"], 128);
    assert!(p["Timeout"].as_i64().unwrap() <= 60);
    assert_eq!(
        p["ReservedConcurrentExecutions"],
        json!({"Fn::If": ["HasReservation", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]})
    );
    // CodeUri is the package whose binary is `forwarder`.
    let code = root().join("infra").join(p["CodeUri"].as_str().unwrap());
    let manifest = std::fs::read_to_string(code.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"forwarder\""), "{manifest}");
    assert!(code.join("src/main.rs").exists());
    // `sam build` (a step of tests/run, as infra/README.md runs it) made that bootstrap.
    let bootstrap = root().join("tests/.run/sam/main/ForwarderFunction/bootstrap");
    let elf = std::fs::read(&bootstrap).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run ./tests/run, whose sam build step makes it",
            bootstrap.display()
        )
    });
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 183, "EM_AARCH64");
}

#[test]
fn environment_matches_what_the_forwarder_reads() {
    let t = cfn_template("infra/template.yaml");
    let vars = t["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"]
        .as_object()
        .unwrap();
    let mut names: Vec<&str> = vars.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ACCESS_LOG_FORMAT",
            "ALERT_LABEL",
            "ALERT_LANGUAGE",
            "ALERT_MENTION",
            "ALERT_MENTION_SEVERITY",
            "ALERT_STATE_TABLE",
            "ALERT_TOPIC_ARN",
            "ALERT_WINDOW_SECONDS",
            "API_ID",
            "CAUSE_SEVERITY",
            "DIAGNOSE",
            "EXECUTION_LOG_GROUPS",
            "INVOKE_AUTHORIZERS",
            "MAX_SAMPLES",
            "METRICS_NAMESPACE",
            "RECOVERY_RULE_NAME",
            "RUST_LOG",
            "SWEEP_API_IDS",
            "SWEEP_RULE_NAME",
            "TEST_INVOKE_AUTHORIZERS"
        ]
    );
    // Every variable but the log filter is a setting the forwarder reads.
    let read = forwarder::config::Setting::ALL.map(forwarder::config::Setting::env);
    for name in names.iter().filter(|n| **n != "RUST_LOG") {
        assert!(
            read.contains(name),
            "the stack sets {name}, which forwarder/src/config/settings.rs (Setting::ALL) does not read"
        );
    }
    // The checks' switches are the parameters themselves, and the sweep is told the name of its
    // schedule, derived like the recovery rule's, so it tells the two schedules' events apart.
    for (var, param) in [
        ("TEST_INVOKE_AUTHORIZERS", "TestInvokeRestAuthorizers"),
        ("INVOKE_AUTHORIZERS", "InvokeAuthorizerFunctions"),
        ("SWEEP_API_IDS", "SweepApiIds"),
    ] {
        assert_eq!(vars[var], json!({"Ref": param}), "{var}");
    }
    // The function switches the rule it is told of, and its role may switch exactly that rule.
    let rule_name = &t["Resources"]["RecoveryCheck"]["Properties"]["Name"];
    assert_eq!(
        vars["RECOVERY_RULE_NAME"],
        json!({"Fn::If": ["FloodControlOn", rule_name, ""]})
    );
    let schema = rule_name["Fn::Sub"][0].as_str().unwrap();
    // 19 characters and a stack id's 36-character UUID: within EventBridge's 64.
    assert_eq!(schema, "forwarder-recovery-${StackUuid}");
    assert_eq!(
        rule_name["Fn::Sub"][1]["StackUuid"],
        json!({"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]})
    );
    let sweep_name = &t["Resources"]["SweepSchedule"]["Properties"]["Name"];
    assert_eq!(
        vars["SWEEP_RULE_NAME"],
        json!({"Fn::If": ["SweepOn", sweep_name, ""]})
    );
    assert_eq!(
        sweep_name["Fn::Sub"][0], "forwarder-sweep-${StackUuid}",
        "15 characters and the stack id's UUID: within EventBridge's 64"
    );
    assert_eq!(sweep_name["Fn::Sub"][1], rule_name["Fn::Sub"][1]);
    // The parameters' defaults are settings the forwarder accepts.
    let params = &t["Parameters"];
    let default = |p: &str| params[p]["Default"].as_str().map(str::to_owned);
    let env = |k: &str| match k {
        "ALERT_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".to_owned()),
        "ALERT_LABEL" => params["AlertLabel"]["Default"].as_str().map(str::to_owned),
        "ALERT_LANGUAGE" => params["AlertLanguage"]["Default"]
            .as_str()
            .map(str::to_owned),
        "MAX_SAMPLES" => Some(params["MaxSamples"]["Default"].to_string()),
        "ACCESS_LOG_FORMAT" => params["AccessLogFormat"]["Default"]
            .as_str()
            .map(str::to_owned),
        "DIAGNOSE" => params["Diagnose"]["Default"].as_str().map(str::to_owned),
        "API_ID" => params["ApiId"]["Default"].as_str().map(str::to_owned),
        "ALERT_WINDOW_SECONDS" => Some(params["AlertWindowSeconds"]["Default"].to_string()),
        "ALERT_STATE_TABLE" => Some("stack-AlertWindowsTable-1".to_owned()),
        "METRICS_NAMESPACE" => default("MetricsNamespace"),
        "CAUSE_SEVERITY" => default("CauseSeverity"),
        "ALERT_MENTION" => default("AlertMention"),
        "ALERT_MENTION_SEVERITY" => default("AlertMentionSeverity"),
        "EXECUTION_LOG_GROUPS" => default("ExecutionLogDeliveryGroupName"),
        _ => None,
    };
    let config = forwarder::config::Config::from_lookup(env, true)
        .expect("template defaults are valid settings");
    assert!(config.diagnose, "the stack diagnoses by default");
    assert_eq!(
        config.metrics_namespace.as_deref(),
        Some(forwarder::config::DEFAULT_METRICS_NAMESPACE),
        "the stack writes metrics by default"
    );
    assert_eq!(config.mention, None, "no one is mentioned unless asked");
    // Each severity the stack offers is one the forwarder reads, and nothing else.
    let offered: Vec<&str> = params["AlertMentionSeverity"]["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        offered,
        forwarder::model::cause::Severity::ALL.map(forwarder::model::cause::Severity::code)
    );
    // The examples the parameter descriptions give are settings the forwarder accepts (the
    // patterns are checked against the same examples in parameter_patterns_...).
    for (key, value) in [
        ("METRICS_NAMESPACE", "Team/Auth-Alerts"),
        (
            "CAUSE_SEVERITY",
            "authorizer_timeout=critical,format_mismatch=high",
        ),
        ("ALERT_MENTION", "@here <@U0123ABCD> <!subteam^S0123ABCD>"),
    ] {
        forwarder::config::Config::from_lookup(|k| (k == key).then(|| value.to_owned()), false)
            .unwrap_or_else(|e| panic!("{key} {value:?}: {e}"));
    }
    assert_eq!(
        params["AlertWindowSeconds"]["MaxValue"],
        forwarder::config::MAX_WINDOW_SECONDS
    );
    // Every value the ApiId pattern admits is an id the forwarder accepts, and the pattern
    // refuses what the forwarder would refuse.
    assert_eq!(params["ApiId"]["AllowedPattern"], "^[a-z0-9]{0,20}$");
    assert!(forwarder::config::parse_api_id("a1b2c3d4e5").is_ok());
    assert_eq!(
        params["AlertLanguage"]["AllowedValues"],
        json!(["en", "ja"])
    );
    assert_eq!(
        params["MaxSamples"]["MaxValue"],
        forwarder::config::MAX_MAX_SAMPLES
    );
}

#[test]
fn flood_control_table_cleans_itself_and_costs_nothing_idle() {
    let t = cfn_template("infra/template.yaml");
    let table = &t["Resources"]["AlertWindowsTable"];
    assert_eq!(table["Condition"], "FloodControlOn");
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}])
    );
    // The attribute the forwarder writes as the item's expiry.
    assert_eq!(
        p["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
    let env = &t["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["ALERT_STATE_TABLE"],
        json!({"Fn::If": ["FloodControlOn", {"Ref": "AlertWindowsTable"}, ""]})
    );
}

/// Lambda refuses a reservation that leaves the account less than its minimum unreserved
/// concurrency (10 on a new account), so a deploy with the defaults reserves nothing anywhere:
/// not on a function, not in `Globals`, not through a nested stack's parameters.
#[test]
fn no_concurrency_is_reserved_unless_asked() {
    for rel in ALL_TEMPLATES {
        let t = cfn_template(rel);
        assert!(
            t["Globals"]["Function"]
                .get("ReservedConcurrentExecutions")
                .is_none(),
            "{rel}: Globals reserve concurrency"
        );
        for kind in ["AWS::Serverless::Function", "AWS::Lambda::Function"] {
            for (name, f) in resources_of_type(&t, kind) {
                let Some(reserved) = f["Properties"].get("ReservedConcurrentExecutions") else {
                    continue;
                };
                // Only a condition that is false with the defaults may set it.
                let branches = reserved["Fn::If"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{rel} {name}: reserves {reserved} unconditionally"));
                let on = eval(&t, &json!({"Condition": branches[0]}), &[]);
                assert_eq!(on, json!(false), "{rel} {name}: reserves by default");
                assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}), "{rel} {name}");
                // ...and asking for a reservation gets exactly it.
                let param = branches[1]["Ref"].as_str().unwrap();
                let asked = eval(&t, &json!({"Condition": branches[0]}), &[(param, "7")]);
                assert_eq!(
                    asked,
                    json!(true),
                    "{rel} {name}: {param}=7 reserves nothing"
                );
            }
        }
        for (name, app) in resources_of_type(&t, "AWS::Serverless::Application") {
            let passed = &app["Properties"]["Parameters"]["ReservedConcurrency"];
            assert!(
                passed.is_null() || eval(&t, passed, &[]) == json!("0"),
                "{rel} {name}: the nested forwarder reserves {passed}"
            );
        }
    }
    let t = cfn_template("infra/template.yaml");
    assert_eq!(t["Parameters"]["ReservedConcurrency"]["Default"], 0);
    assert_eq!(t["Parameters"]["ReservedConcurrency"]["MinValue"], 0);
}

/// Lambda creates `/aws/lambda/NAME` without retention for a function that names no log group, and
/// `sam delete` leaves it behind; every function of every template logs to a group its stack
/// creates, with retention, so the logs are bounded and go with the stack.
#[test]
fn every_function_logs_to_a_group_its_stack_owns_with_retention() {
    for rel in TEMPLATES {
        let t = cfn_template(rel);
        let global = &t["Globals"]["Function"]["LoggingConfig"];
        for kind in ["AWS::Serverless::Function", "AWS::Lambda::Function"] {
            for (name, f) in resources_of_type(&t, kind) {
                let own = &f["Properties"]["LoggingConfig"];
                let config = if own.is_object() { own } else { global };
                let group = config["LogGroup"]["Ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{rel} {name}: logs to a group Lambda creates"));
                let g = &t["Resources"][group];
                assert_eq!(g["Type"], "AWS::Logs::LogGroup", "{rel} {name}");
                assert!(
                    g["Properties"]["RetentionInDays"].is_number()
                        || g["Properties"]["RetentionInDays"]["Ref"].is_string(),
                    "{rel} {name}: {group} keeps logs forever"
                );
            }
        }
    }
}

/// The name properties CloudFormation passes to a service as written, with the service's limit.
const NAME_LIMITS: &[(&str, &str, usize)] = &[
    ("AWS::Serverless::Function", "FunctionName", 64),
    ("AWS::Lambda::Function", "FunctionName", 64),
    ("AWS::Events::Rule", "Name", 64),
    ("AWS::CloudWatch::Alarm", "AlarmName", 255),
    ("AWS::CloudWatch::Dashboard", "DashboardName", 255),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::Logs::AccountPolicy", "PolicyName", 256),
    (
        "AWS::Chatbot::SlackChannelConfiguration",
        "ConfigurationName",
        128,
    ),
    ("AWS::SQS::Queue", "QueueName", 80),
    ("AWS::SNS::Topic", "TopicName", 256),
    ("AWS::DynamoDB::Table", "TableName", 255),
];

/// Every name a template derives from its stack fits its service's limit for the longest stack
/// name CloudFormation allows (128 characters; a nested stack's name is its parent's with more
/// added, so a fixed `${AWS::StackName}-forwarder` function name broke under a parent of 31).
#[test]
fn names_fit_their_limits_for_any_stack_name() {
    let stack = format!("a{}", "b".repeat(127));
    let uuid = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    let mut checked = 0;
    for rel in ALL_TEMPLATES {
        let t = cfn_template(rel);
        for (logical, r) in t["Resources"].as_object().unwrap() {
            let kind = r["Type"].as_str().unwrap();
            for (_, prop, limit) in NAME_LIMITS.iter().filter(|(k, _, _)| *k == kind) {
                let Some(v) = r["Properties"].get(*prop) else {
                    continue;
                };
                // The longest form the value can take: each branch of a condition, each Sub.
                let mut forms = vec![v.clone()];
                if let Some(branches) = v.get("Fn::If") {
                    forms = vec![branches[1].clone(), branches[2].clone()];
                }
                for form in forms {
                    let text = match &form {
                        Value::String(s) => s.clone(),
                        Value::Object(o) if o.contains_key("Fn::Sub") => match &o["Fn::Sub"] {
                            Value::String(s) => s.clone(),
                            Value::Array(a) => a[0].as_str().unwrap().to_owned(),
                            other => panic!("{other}"),
                        },
                        // A parameter: its own MaxLength or pattern bounds it.
                        Value::Object(o) if o.contains_key("Ref") => continue,
                        other => panic!("{rel} {logical}.{prop}: {other}"),
                    };
                    let mut name = text
                        .replace("${AWS::StackName}", &stack)
                        .replace("${StackUuid}", uuid);
                    // Another resource's id (an API's is 10 characters): 20 to be safe.
                    while let Some(start) = name.find("${") {
                        let end = start + name[start..].find('}').unwrap();
                        name.replace_range(start..=end, &"x".repeat(20));
                    }
                    assert!(
                        name.len() <= *limit,
                        "{rel} {logical}.{prop} is {} characters, over {limit}: {name}",
                        name.len()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 8, "{checked}");
    // The function is named by CloudFormation, which fits it to 64 characters itself.
    let t = cfn_template("infra/template.yaml");
    assert!(
        t["Resources"]["ForwarderFunction"]["Properties"]
            .get("FunctionName")
            .is_none()
    );
}
