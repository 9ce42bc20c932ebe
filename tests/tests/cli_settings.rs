//! The command line's settings as an operator meets them: an error names what the operator typed,
//! a flag wins over its variable whatever the variable holds, a subcommand reads only what it
//! uses, and nothing waits in silence.

use forwarder_tests::{forwarder, root};

const SAMPLE: &str = "samplelogs/default-format.log";

/// Each error names the flag typed, says its reason once, on one line, and exits 2.
#[test]
fn errors_name_the_flag_typed() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["scan", "--max-samples", "abc", SAMPLE],
            "forwarder: --max-samples \"abc\" is not a whole number from 0 to 100 (default 5)",
        ),
        (
            &["scan", "--publish", "notanarn", SAMPLE],
            "forwarder: --publish \"notanarn\" is not an SNS topic ARN",
        ),
        (
            &["scan", "--format", "hello", SAMPLE],
            "forwarder: --format is not a usable access-log format: it has no $context variables",
        ),
        (
            &["scan", "--region", "eu west 1", SAMPLE],
            "forwarder: --region \"eu west 1\" is not an AWS Region name",
        ),
        (
            &[
                "scan",
                "--cause-severity",
                "authorizer_timeout=urgent",
                SAMPLE,
            ],
            "forwarder: --cause-severity \"authorizer_timeout=urgent\" is not a list of CAUSE=SEVERITY",
        ),
        (
            &["scan", "--mention", "@everyone", SAMPLE],
            "forwarder: --mention \"@everyone\" is not a chat mention",
        ),
        (
            &["scan", "--mention-severity", "page", SAMPLE],
            "forwarder: --mention-severity \"page\" is not info, warning, high or critical",
        ),
        (
            &[
                "scan",
                "--metrics",
                "--metrics-namespace",
                "AWS/Lambda",
                SAMPLE,
            ],
            "forwarder: --metrics-namespace \"AWS/Lambda\" is not a CloudWatch namespace",
        ),
        (
            &["scan", "--execution-log-group", "a,b", SAMPLE],
            "forwarder: --execution-log-group \"a,b\" is not a log group name",
        ),
        (
            &["check", "--log-group", ""],
            "forwarder: --log-group \"\" is not a log group name",
        ),
        (
            &["encode", "--log-group", "a b", SAMPLE],
            "forwarder: --log-group \"a b\" is not a log group name",
        ),
        (
            &["doctor", "--api-id", "abc; rm -rf /"],
            "forwarder: --api-id \"abc; rm -rf /\" is not an API Gateway API id",
        ),
    ];
    for (args, expected) in cases {
        let run = forwarder(args, None, &[]);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        let err = run.stderr.trim_end();
        assert!(err.starts_with(expected), "{args:?}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
        for env_name in [
            "MAX_SAMPLES",
            "ALERT_TOPIC_ARN",
            "ACCESS_LOG_FORMAT",
            "API_ID",
        ] {
            assert!(!err.contains(env_name), "names a variable not typed: {err}");
        }
        let reason = expected.rsplit_once(": ").map_or(*expected, |(_, r)| r);
        assert_eq!(err.matches(reason).count(), 1, "said once: {err}");
    }
}

/// Commands that take only a Region check it as the others do, before any request.
#[test]
fn a_region_is_checked_before_it_becomes_an_endpoint() {
    for args in [
        &["doctor", "--api-id", "a1b2c3d4e5", "--region", "eu west 1"][..],
        &[
            "preflight",
            "--stack-name",
            "s",
            "--region",
            "evil.example/x",
        ],
    ] {
        let run = forwarder(args, None, &[]);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("for '--region <REGION>'")
                && run.stderr.contains("is not an AWS Region name"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

/// A value from the environment is blamed on its variable.
#[test]
fn errors_from_the_environment_name_the_variable() {
    for (env, expected) in [
        (
            ("MAX_SAMPLES", "abc"),
            "forwarder: MAX_SAMPLES \"abc\" is not a whole number",
        ),
        (
            ("DIAGNOSE", "maybe"),
            "forwarder: DIAGNOSE \"maybe\" is not true or false",
        ),
        (
            ("ACCESS_LOG_FORMAT", "{\"id\":\"$context.requestId\""),
            "forwarder: ACCESS_LOG_FORMAT is not a usable access-log format: it starts like JSON but is not",
        ),
    ] {
        let run = forwarder(&["scan", SAMPLE], None, &[env]);
        assert_eq!(run.code, 2, "{env:?}: {run:?}");
        assert!(run.stderr.starts_with(expected), "{env:?}: {}", run.stderr);
    }
}

/// A flag wins over its variable even when the variable's value is unusable, and a variable the
/// subcommand never reads stops nothing. The clean run is compared with the same scan in a clean
/// environment, so a setting that leaked would show.
#[test]
fn flags_win_and_unused_settings_are_not_read() {
    let clean = forwarder(&["scan", "--max-samples", "3", SAMPLE], None, &[]);
    assert_eq!(clean.code, 1, "{clean:?}");
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (&["--max-samples", "3"], &[("MAX_SAMPLES", "abc")]),
        (
            &[
                "--max-samples",
                "3",
                "--format-file",
                "samplelogs/default-format.fmt",
            ],
            &[("ACCESS_LOG_FORMAT", "hello")],
        ),
        (
            &["--max-samples", "3", "--language", "en"],
            &[("ALERT_LANGUAGE", "fr")],
        ),
        (
            &["--max-samples", "3", "--region", "eu-west-1"],
            &[("AWS_REGION", "not a region")],
        ),
        // Settings of the Lambda function alone: the command line never reads them.
        (
            &["--max-samples", "3"],
            &[
                ("ALERT_TOPIC_ARN", "bad"),
                ("TLS_ROOTS", "system"),
                ("ALERT_WINDOW_SECONDS", "15m"),
                ("ALERT_STATE_TABLE", "a b"),
                ("RECOVERY_RULE_NAME", "no spaces allowed"),
            ],
        ),
    ];
    for (flags, env) in cases {
        let mut args = vec!["scan"];
        args.extend_from_slice(flags);
        args.push(SAMPLE);
        let run = forwarder(&args, None, env);
        assert_eq!(run.code, 1, "{args:?} {env:?}: {run:?}");
        assert_eq!(run.stdout, clean.stdout, "{args:?} {env:?}");
        assert_eq!(run.stderr, "", "{args:?} {env:?}");
    }
    // Subcommands that read no settings start whatever the environment holds.
    let env = [("MAX_SAMPLES", "abc"), ("ACCESS_LOG_FORMAT", "hello")];
    let run = forwarder(&["encode", "--timestamp", "0", SAMPLE], None, &env);
    assert_eq!(run.code, 0, "{run:?}");
}

/// The settings without a flag are exactly the ones the command line has no use for, and every
/// other one has a flag `scan --help` lists.
#[test]
fn every_setting_has_a_flag_or_is_the_functions_alone() {
    use forwarder::config::Setting;
    let help = forwarder(&["scan", "--help"], None, &[]);
    assert_eq!(help.code, 0);
    for s in Setting::ALL {
        match s.flag() {
            Some(flag) => {
                assert!(help.stdout.contains(flag), "{flag} in scan --help");
                assert!(
                    help.stdout.contains(s.env()) || s == Setting::Format,
                    "scan --help names {} beside {flag}",
                    s.env()
                );
            }
            None => assert!(s.lambda_only_because().is_some(), "{s:?}"),
        }
    }
}

/// With no file named and a terminal for standard input, a usage line instead of a silent wait.
#[test]
fn a_terminal_gets_a_usage_line_not_a_wait() {
    let bin = forwarder_tests::forwarder_bin();
    for command in ["scan", "encode"] {
        // A pseudo-terminal on standard input, from Python's standard library.
        let script = r#"
import os, pty, subprocess, sys
leader, follower = pty.openpty()
env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
p = subprocess.run([sys.argv[1], sys.argv[2]], stdin=follower, capture_output=True, timeout=20, env=env)
sys.stdout.write(f"{p.returncode}\n{p.stderr.decode()}")
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script, bin.to_str().unwrap(), command])
            .current_dir(root())
            .output()
            .expect("python3 runs");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{text} {:?}", out.stderr);
        let (code, stderr) = text.split_once('\n').unwrap();
        assert_eq!(code, "2", "{command}: {text}");
        assert!(
            stderr.starts_with(&format!(
                "forwarder: nothing to read: usage: forwarder {command} [FILE]..."
            )),
            "{command}: {stderr}"
        );
    }
    // Empty input is bad input for both.
    for command in ["scan", "encode"] {
        let run = forwarder(&[command], Some(b""), &[]);
        assert_eq!(run.code, 2, "{command}: {run:?}");
    }
}

/// `--max-samples 0` lists no finding and promises none.
#[test]
fn max_samples_zero_lists_counts_only() {
    let run = forwarder(&["scan", "--max-samples", "0", SAMPLE], None, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("... and"), "{}", run.stdout);
    assert!(
        run.stdout.contains("missing_invoke_permission x2"),
        "{}",
        run.stdout
    );
}

/// Lines from a file name no log group: the alert says none, rather than a made-up one.
#[test]
fn a_file_without_a_log_group_names_none() {
    let run = forwarder(&["scan", "--alert", SAMPLE], None, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("log_group="), "{}", run.stdout);
    assert!(
        !run.stdout.contains("\"log_group\": \"unknown\""),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Log group: -"), "{}", run.stdout);
    let named = forwarder(
        &["scan", "--alert", "--log-group", "/aws/apigw/prod", SAMPLE],
        None,
        &[],
    );
    assert!(
        named.stdout.contains("log_group=/aws/apigw/prod"),
        "{}",
        named.stdout
    );
}

/// The configuration table of docs/operations.md says, for every setting, the flag that takes it
/// or that it is the Lambda function's alone, as the binary has it.
#[test]
fn the_configuration_table_matches_the_binary() {
    use forwarder::config::Setting;
    let doc = std::fs::read_to_string(root().join("docs/operations.md")).unwrap();
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split(" | ").collect())
        .collect();
    for s in Setting::ALL {
        let name = format!("`{}`", s.env());
        let row = rows
            .iter()
            .find(|r| r[0].trim_start_matches("| ").contains(&name))
            .unwrap_or_else(|| panic!("{name} has a row in docs/operations.md"));
        match s.flag() {
            Some(flag) => assert!(row[1].contains(&format!("`{flag}")), "{name}: {row:?}"),
            None if s == Setting::DefaultRegion => {}
            None => assert!(row[1].starts_with("Lambda only"), "{name}: {row:?}"),
        }
    }
}
