//! The CLI as a user runs it, on every file of `samplelogs/`, checked against
//! `samplelogs/expected.json`.

use forwarder_tests::{forwarder, read_sample, sample};
use serde_json::Value;

fn expected() -> serde_json::Map<String, Value> {
    let v: Value = serde_json::from_slice(&read_sample("expected.json")).unwrap();
    v.as_object().unwrap().clone()
}

/// The arguments a file is scanned with: its own, else those of the file it is the same as.
fn args_of(all: &serde_json::Map<String, Value>, file: &str) -> Vec<String> {
    match all[file].get("args") {
        Some(_) => args_for(&all[file]),
        None => args_for(expectation(all, file)),
    }
}

/// The expectation for a file, following `same_as`.
fn expectation<'a>(all: &'a serde_json::Map<String, Value>, file: &str) -> &'a Value {
    let e = &all[file];
    match e.get("same_as").and_then(Value::as_str) {
        Some(other) => &all[other],
        None => e,
    }
}

fn args_for(e: &Value) -> Vec<String> {
    e.get("args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap())
                .map(|s| {
                    if s.ends_with(".fmt") {
                        sample(s).display().to_string()
                    } else {
                        s.to_owned()
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_sample_file_is_described() {
    let all = expected();
    let mut files = Vec::new();
    for dir in [
        "",
        "events",
        "http",
        "malformed",
        "presets",
        "rest",
        "websocket",
    ] {
        for entry in std::fs::read_dir(sample(dir)).unwrap() {
            let path = entry.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str());
            if matches!(ext, Some("log") | Some("json"))
                && path.file_name().unwrap() != "expected.json"
            {
                let name = path.file_name().unwrap().to_str().unwrap();
                files.push(if dir.is_empty() {
                    name.to_owned()
                } else {
                    format!("{dir}/{name}")
                });
            }
        }
    }
    files.sort();
    let mut described: Vec<String> = all.keys().cloned().collect();
    described.sort();
    assert_eq!(files, described);
}

#[test]
fn json_output_matches_expected_findings_for_every_sample() {
    let all = expected();
    for file in all.keys() {
        let e = expectation(&all, file);
        let mut args = vec!["scan".to_owned(), "--json".to_owned()];
        args.extend(args_of(&all, file));
        args.push(sample(file).display().to_string());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = forwarder(&argv, None, &[]);
        assert_eq!(
            run.code as i64,
            e["exit"].as_i64().unwrap(),
            "{file}: {run:?}"
        );
        if let Some(error) = e.get("error").and_then(Value::as_str) {
            let line = run.stderr.trim_end();
            assert!(!line.contains('\n'), "{file}: one line: {line}");
            assert!(
                line.contains(error) && line.contains(file.as_str()),
                "{file}: {line}"
            );
            assert!(run.stdout.is_empty());
            continue;
        }
        // Each input ends with its stats line; the findings come before it.
        let mut stats = Vec::new();
        let got: Vec<(String, String)> = run
            .stdout
            .lines()
            .filter_map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                if let Some(s) = v.get("stats") {
                    stats.push(s.clone());
                    return None;
                }
                for key in [
                    "cause",
                    "request_id",
                    "status",
                    "time",
                    "error",
                    "log_group",
                    "log_stream",
                ] {
                    assert!(v.get(key).is_some(), "{file}: {key} missing in {l}");
                }
                Some((
                    v["request_id"].as_str().unwrap().to_owned(),
                    v["cause"].as_str().unwrap().to_owned(),
                ))
            })
            .collect();
        let total = |k: &str| stats.iter().map(|s| s[k].as_u64().unwrap()).sum::<u64>();
        assert!(!stats.is_empty(), "{file}: no stats line");
        assert_eq!(total("flagged"), got.len() as u64, "{file}");
        let unmatched = e.get("unmatched").and_then(Value::as_u64).unwrap_or(0);
        assert_eq!(
            total("unmatched"),
            unmatched,
            "{file}: lines the format does not describe"
        );
        // Of those, the ones without the format's layout: no client makes them.
        let drifted = e.get("drifted").and_then(Value::as_u64).unwrap_or(0);
        assert_eq!(total("drifted"), drifted, "{file}: lines of another format");
        if let Some(ignored) = e.get("ignored").and_then(Value::as_u64) {
            assert_eq!(total("ignored"), ignored, "{file}");
        }
        let want: Vec<(String, String)> = e["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn summary_counts_lines_findings_and_ignored_forgeries() {
    let all = expected();
    for file in [
        "default-format.log",
        "json-format.log",
        "custom-format.log",
        "events/default-format.json",
    ] {
        let e = expectation(&all, file);
        let mut args = vec!["scan".to_owned()];
        args.extend(args_for(e));
        args.push(sample(file).display().to_string());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = forwarder(&argv, None, &[]);
        let first = run.stdout.lines().next().unwrap();
        let mut want = format!(
            "{}: {} lines, {} flagged",
            sample(file).display(),
            e["lines"],
            e["findings"].as_array().unwrap().len()
        );
        if e["ignored"].as_u64().unwrap() > 0 {
            want.push_str(&format!(
                ", {} ignored (token only in client-controlled text)",
                e["ignored"]
            ));
        }
        assert_eq!(first, want);
    }
    // The summary lists as many findings per cause as an alert samples, then counts the rest.
    let run = forwarder(
        &[
            "scan",
            "--max-samples",
            "1",
            "samplelogs/default-format.log",
        ],
        None,
        &[],
    );
    let listed = run
        .stdout
        .lines()
        .filter(|l| l.contains(" request "))
        .count();
    let causes = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .count();
    assert_eq!(listed, causes, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("    ... and 1 more (--json lists every finding)"),
        "{}",
        run.stdout
    );
    let control = forwarder(
        &["scan", "samplelogs/events/control-message.json"],
        None,
        &[],
    );
    assert_eq!(control.code, 0);
    assert!(
        control.stdout.contains("control message"),
        "{}",
        control.stdout
    );
}

#[test]
fn reads_standard_input_in_every_form() {
    let log = read_sample("default-format.log");
    let event = read_sample("events/default-format.json");
    for (what, input) in [("lines", &log), ("event", &event)] {
        for args in [vec!["scan", "--json"], vec!["scan", "--json", "-"]] {
            let run = forwarder(&args, Some(input), &[]);
            assert_eq!(run.code, 1, "{what}: {run:?}");
            // Five findings and the input's stats line.
            assert_eq!(run.stdout.lines().count(), 6, "{what}");
            assert!(run.stdout.lines().last().unwrap().contains(r#""stats""#));
            assert!(run.stdout.contains(r#""source":"<stdin>""#));
        }
    }
    let clean = forwarder(
        &["scan"],
        Some(b"1.2.3.4 - - [t] \"GET / HTTP/1.1\" 200 1 r -\n"),
        &[],
    );
    assert_eq!(clean.code, 0, "{clean:?}");
}

#[test]
fn alert_preview_shows_subject_email_and_chat() {
    let run = forwarder(
        &[
            "scan",
            "--alert",
            "--label",
            "prod",
            "samplelogs/events/default-format.json",
        ],
        None,
        &[("AWS_REGION", "eu-west-1")],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout.matches("===== ").count(),
        4,
        "one alert per cause"
    );
    assert!(
        run.stdout.contains(
            "Subject: [prod] API authorizer misconfigured: missing invoke permission (2x)"
        )
    );
    assert!(run.stdout.contains("Attributes: cause=missing_invoke_permission log_group=/aws/vendedlogs/apigateway/orders-api/prod severity=critical"));
    assert!(run.stdout.contains("----- email -----"));
    assert!(run.stdout.contains(
        "--source-arn arn:aws:execute-api:eu-west-1:123456789012:API_ID/authorizers/AUTHORIZER_ID"
    ));
    assert!(run.stdout.contains("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Fvendedlogs"));
    assert!(run.stdout.contains(r#""textType": "client-markdown""#));
    assert!(
        run.stdout
            .contains("Simple response did not include 'isAuthorized'")
    );
}

/// A REST API's execution log names its API in the group: the alert's commands are REST's, for
/// that API, and say what each cause needs.
#[test]
fn execution_log_alerts_speak_rest() {
    let run = forwarder(
        &["scan", "--alert", "samplelogs/events/rest-execution.json"],
        None,
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.stdout;
    for want in [
        "Subject: API authorizer misconfigured: missing invoke permission (1x)",
        "Subject: API authorizer misconfigured: invalid response format (1x)",
        // "Authorizer error" alone says that the authorizer failed, not why.
        "Subject: API authorizer misconfigured: unrecognised error (1x)",
        "aws apigateway get-authorizers --rest-api-id r7t2k9w4qa",
        "--source-arn arn:aws:execute-api:REGION:123456789012:r7t2k9w4qa/authorizers/AUTHORIZER_ID",
        "aws apigateway test-invoke-authorizer --rest-api-id r7t2k9w4qa",
        "Error written by API Gateway:\n  Could not parse policy",
        "API: r7t2k9w4qa (prod)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("apigatewayv2"), "{out}");
    assert!(!out.contains("isAuthorized"), "{out}");
    assert!(
        !out.contains("X-Debug"),
        "the forged header is no alert: {out}"
    );
}

#[test]
fn japanese_alerts() {
    let run = forwarder(
        &["scan", "--alert", "samplelogs/default-format.log"],
        None,
        &[("ALERT_LANGUAGE", "ja")],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("API Gateway にオーソライザー関数を呼び出す権限がありません")
    );
    assert!(
        run.stdout.contains("Subject: API authorizer misconfigured"),
        "subjects stay ASCII"
    );
}

#[test]
fn usage_and_settings_errors_exit_2_with_one_line() {
    /// Arguments, environment, and what the error line must say.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (
            &["scan", "samplelogs/no-such-file.log"],
            &[],
            "samplelogs/no-such-file.log: cannot read",
        ),
        (
            &["scan", "--language", "fr", "samplelogs/default-format.log"],
            &[],
            "--language",
        ),
        (
            &[
                "scan",
                "--format",
                "$context.requestId",
                "samplelogs/default-format.log",
            ],
            &[],
            "no error variable",
        ),
        (
            &["scan", "samplelogs/default-format.log"],
            &[("ACCESS_LOG_FORMAT", "$context.requestId")],
            "ACCESS_LOG_FORMAT is not a usable access-log format: it has no error variable",
        ),
        (
            &["scan", "samplelogs/default-format.log"],
            &[("MAX_SAMPLES", "lots")],
            "MAX_SAMPLES \"lots\"",
        ),
        (
            &[
                "scan",
                "--publish",
                "not-an-arn",
                "samplelogs/default-format.log",
            ],
            &[],
            "--publish",
        ),
    ];
    for (args, env, expected) in cases {
        let run = forwarder(args, None, env);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        let err = run.stderr.trim_end();
        // Once: the line says each reason a single time.
        assert!(
            !err.contains('\n') && err.matches(expected).count() == 1,
            "{args:?}: {err}"
        );
    }
    let usage = forwarder(&["scan", "--nope"], None, &[]);
    assert_eq!(usage.code, 2);
}

#[test]
fn terminal_escapes_from_the_log_are_neutralised() {
    let line = "1.2.3.4 - - [t] \"GET GET / HTTP/1.1\" 500 1 r AUTHORIZER_CONFIGURATION_ERROR,\x1b[2J\x1b]0;pwned\x07 boom\n";
    let run = forwarder(&["scan"], Some(line.as_bytes()), &[]);
    assert_eq!(run.code, 1);
    assert!(
        !run.stdout.contains('\x1b') && !run.stdout.contains('\x07'),
        "{:?}",
        run.stdout
    );
    assert!(run.stdout.contains("\\u{1b}[2J"));
}

#[test]
fn encode_round_trips_and_is_readable_by_aws_lambda_events() {
    let log = read_sample("default-format.log");
    let run = forwarder(
        &["encode", "--log-group", "/my/group", "--timestamp", "1000"],
        Some(&log),
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // The AWS Lambda events crate's own reader accepts what we produce.
    let event: aws_lambda_events::cloudwatch_logs::LogsEvent =
        serde_json::from_str(&run.stdout).unwrap();
    let data = event.aws_logs.data;
    assert_eq!(data.log_group, "/my/group");
    assert_eq!(data.message_type, "DATA_MESSAGE");
    let lines: Vec<&str> = std::str::from_utf8(&log).unwrap().lines().collect();
    let messages: Vec<&str> = data.log_events.iter().map(|e| e.message.as_ref()).collect();
    assert_eq!(messages, lines);
    assert_eq!(data.log_events[0].timestamp, 1000);
}

#[test]
fn checked_in_events_hold_exactly_the_checked_in_lines() {
    for (event, log) in [
        ("default-format", "default-format"),
        ("json-format", "json-format"),
        ("custom-format", "custom-format"),
        ("rest-execution", "rest/execution"),
        ("rest-access-json", "rest/access-json"),
        ("websocket-access-json", "websocket/access-json"),
    ] {
        let batch = forwarder::sources::decode_event(&read_sample(&format!("events/{event}.json")))
            .unwrap();
        let batch = batch.parse().unwrap();
        let log = String::from_utf8(read_sample(&format!("{log}.log"))).unwrap();
        let messages: Vec<_> = batch.log_events.iter().map(|e| e.message.text()).collect();
        assert_eq!(
            messages,
            log.lines().collect::<Vec<_>>(),
            "{event}: run samplelogs/regenerate"
        );
    }
}

#[test]
fn several_inputs_keep_their_order_and_a_bad_one_fails_the_run() {
    let files = [
        "samplelogs/json-format.log",
        "samplelogs/malformed/not-gzip.json",
        "samplelogs/default-format.log",
        "samplelogs/events/control-message.json",
    ];
    let mut args = vec!["scan"];
    args.extend(files);
    let run = forwarder(&args, None, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let firsts: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(firsts, [files[0], files[2], files[3]]);
    assert_eq!(
        run.stderr.trim_end(),
        "forwarder: samplelogs/malformed/not-gzip.json: payload is not gzip (bad magic bytes)"
    );
}
