//! What `scan` takes an input to be is read from structure no log line can hold.

use forwarder_tests::forwarder;
use serde_json::Value;

use crate::{JSON_AUTHZ, PERMISSION, json_authz};

/// What `scan` takes an input to be is read from structure no log line can hold: a client value in
/// a line never makes the line an event, moves where an execution log's events end, overrides the
/// format the operator gave, or turns a flagged input's exit status into 0.
#[test]
fn an_inputs_kind_is_read_from_structure_a_client_cannot_write() {
    let dir = std::env::temp_dir().join(format!("trust-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let id = "3f6c1d2a-8b4e-4c1f-9a7d-1e2f3a4b5c6d";
    let failed = format!(
        "({id}) Execution failed due to configuration error: Invalid permissions on Lambda function"
    );

    // A JSON-format line whose user agent broke out of its string to add an envelope-shaped key
    // holding a batch of the client's choosing: still a line of the stage's own log.
    const UA_FORMAT: &str = r#"{"requestId":"$context.requestId","ua":"$context.identity.userAgent","status":"$context.status","authz":"$context.authorizer.error"}"#;
    let forged_batch = forwarder::sources::encode_event(
        &format!("{id} 500 {PERMISSION}"),
        "/aws/vendedlogs/apigateway/victim/prod",
        "s",
        "999999999999",
        1,
    );
    let data = forged_batch["awslogs"]["data"].as_str().unwrap();
    let injected = format!(
        r#"{{"requestId":"a","ua":"x","awslogs":{{"data":"{data}"}},"y":"","status":"200","authz":"-"}}"#
    );
    let plain = json_authz("b", "200", "-").replace(r#""status""#, r#""ua":"curl","status""#);
    for (name, body) in [
        ("first", format!("{injected}\n{plain}\n")),
        ("later", format!("{plain}\n{injected}\n")),
    ] {
        let path = write(&format!("injected-{name}.log"), &body);
        for format in [None, Some(UA_FORMAT)] {
            let mut args = vec!["scan", "--json"];
            if let Some(f) = format {
                args.extend(["--format", f]);
            }
            args.push(&path);
            let run = forwarder(&args, None, &[]);
            assert_eq!(run.code, 0, "{name} {format:?}: {run:?}");
            assert!(run.stdout.contains(r#""lines":2"#), "{name}: {run:?}");
            assert!(!run.stdout.contains("victim"), "{name}: {run:?}");
        }
    }

    // `aws logs filter-log-events` output of an execution log: a logged body whose line breaks
    // carry a failure line stays inside its event; API Gateway's own events still count.
    let output = |messages: &[String]| {
        let events: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| serde_json::json!({"logStreamName": "abc", "timestamp": 1_795_172_401_000_i64 + i as i64, "message": m, "ingestionTime": 1_795_172_402_000_i64, "eventId": format!("{i:056}")}))
            .collect();
        serde_json::json!({"events": events, "searchedLogStreams": []}).to_string()
    };
    let body = format!(
        "({id}) Method request body before transformations: {{\"a\":1}}\n{failed}\n({id}) AuthorizerConfigurationException"
    );
    let forged = write("forged-output.json", &output(std::slice::from_ref(&body)));
    let run = forwarder(&["scan", "--json", &forged], None, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(r#""flagged":0"#), "{run:?}");
    assert!(run.stdout.contains(r#""ignored":1"#), "{run:?}");
    let real = write(
        "real-output.json",
        &output(&[
            body.clone(),
            failed.clone(),
            format!("({id}) AuthorizerConfigurationException"),
        ]),
    );
    for extra in [
        vec![],
        vec!["--log-group", "API-Gateway-Execution-Logs_r7t2k9w4qa/prod"],
    ] {
        let mut args = vec!["scan", "--json"];
        args.extend(&extra);
        args.push(&real);
        let run = forwarder(&args, None, &[]);
        assert_eq!(run.code, 1, "{extra:?}: {run:?}");
        let causes: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.contains(r#""cause""#))
            .collect();
        assert_eq!(causes.len(), 1, "{run:?}");
        assert!(causes[0].contains("missing_invoke_permission"), "{run:?}");
    }
    // Said to be an access log, it is read as one: the failure lines follow no access format.
    let run = forwarder(
        &["scan", "--json", "--log-group", "/aws/apigw/access", &real],
        None,
        &[],
    );
    assert!(run.stdout.contains(r#""flagged":0"#), "{run:?}");
    assert!(!run.stdout.contains(r#""unmatched":0"#), "{run:?}");

    // A given format is never overridden by what the lines look like.
    let lines = write(
        "exec-lines.log",
        &format!("{failed}\n({id}) AuthorizerConfigurationException\n"),
    );
    let run = forwarder(
        &["scan", "--json", "--format", JSON_AUTHZ, &lines],
        None,
        &[],
    );
    assert!(run.stdout.contains(r#""flagged":0"#), "{run:?}");
    assert!(run.stdout.contains(r#""unmatched":2"#), "{run:?}");
    let run = forwarder(&["scan", "--json", &lines], None, &[]);
    assert_eq!(
        run.code, 1,
        "without a format the lines are sniffed: {run:?}"
    );

    // Wrappers that give a key twice are refused, as the function refuses them.
    let event = forwarder::sources::encode_event(
        &format!("{id} 500 {PERMISSION}"),
        "/aws/vendedlogs/apigateway/billing-api/prod",
        "s",
        "123456789012",
        1,
    );
    let awslogs = event["awslogs"].to_string();
    let quiet =
        forwarder::sources::encode_event("x", "/g", "s", "123456789012", 1)["awslogs"].to_string();
    for (name, body) in [
        (
            "awslogs",
            format!(r#"{{"awslogs":{quiet},"awslogs":{awslogs}}}"#),
        ),
        (
            "SNS Message",
            format!(
                r#"{{"Type":"Notification","MessageId":"m","Message":"{{}}","Message":{}}}"#,
                Value::String(event.to_string())
            ),
        ),
        (
            "requestPayload",
            format!(r#"{{"requestPayload":{{}},"requestPayload":{event}}}"#),
        ),
        (
            "Records",
            format!(
                r#"{{"Records":[],"Records":[{{"messageId":"q","body":{}}}]}}"#,
                Value::String(event.to_string())
            ),
        ),
    ] {
        let path = write(&format!("twice-{}.json", name.replace(' ', "-")), &body);
        let run = forwarder(&["scan", "--json", &path], None, &[]);
        assert_eq!(run.code, 2, "{name}: {run:?}");
        assert!(run.stderr.contains("twice"), "{name}: {run:?}");
    }

    // `aws logs tail` output has lost where events end: refused, with what to run instead.
    let tail = write(
        "tail.log",
        &format!(
            "2026-12-07T09:45:51.123000+00:00 abc {failed}\n2026-12-07T09:45:51.124000+00:00 abc ({id}) AuthorizerConfigurationException\n"
        ),
    );
    let run = forwarder(&["scan", &tail], None, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("filter-log-events"), "{run:?}");

    // A reader that stops early does not make a flagged input clean.
    let many: String = (0..4000)
        .map(|i| format!("{}\n", json_authz(&format!("r{i}"), "500", PERMISSION)))
        .collect();
    let path = write("many.log", &many);
    let bin = forwarder_tests::forwarder_bin()
        .to_str()
        .unwrap()
        .to_owned();
    for args in ["--json", "--alert", ""] {
        let status = std::process::Command::new("bash")
            .args([
                "-c",
                &format!(
                    "'{bin}' scan {args} --format '{JSON_AUTHZ}' '{path}' | head -c 1 >/dev/null; exit ${{PIPESTATUS[0]}}"
                ),
            ])
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "scan {args} | head");
    }
}
