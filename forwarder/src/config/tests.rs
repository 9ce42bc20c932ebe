//! Unit tests of `config`, beside it so its source stays readable.

use super::*;
use std::collections::HashMap;

const ARN: &str = "arn:aws:sns:eu-west-1:123456789012:authorizer-alerts";

fn load(pairs: &[(&str, &str)], require: bool) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| env.get(k).cloned(), require)
}

#[test]
fn defaults() {
    let c = load(&[("ALERT_TOPIC_ARN", ARN)], true).unwrap();
    assert_eq!(c.topic.as_ref().unwrap().region(), "eu-west-1");
    assert_eq!(c.max_samples, 5);
    assert_eq!(c.language, Language::En);
    assert_eq!(c.label, None);
    assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    assert_eq!(c.format.source(), DEFAULT_FORMAT);
    assert!(!c.diagnose);
    assert_eq!(c.api_id, None);
    assert_eq!(c.flood_control(), None, "no table, no flood control");
    assert_eq!(c.tls_roots, Roots::Amazon);
    let c = load(&[("ALERT_TOPIC_ARN", ARN), ("TLS_ROOTS", " Native ")], true).unwrap();
    assert_eq!(c.tls_roots, Roots::Native);
    let c = load(
        &[
            ("DIAGNOSE", " True "),
            ("API_ID", "a1b2c3d4e5"),
            ("ALERT_STATE_TABLE", "alert-windows"),
        ],
        false,
    )
    .unwrap();
    assert!(c.diagnose);
    assert_eq!(c.api_id.as_deref(), Some("a1b2c3d4e5"));
    assert_eq!(c.flood_control(), Some(("alert-windows", 900)));
    let off = load(
        &[
            ("ALERT_STATE_TABLE", "alert-windows"),
            ("ALERT_WINDOW_SECONDS", "0"),
        ],
        false,
    )
    .unwrap();
    assert_eq!(off.flood_control(), None, "a zero window turns it off");
}

#[test]
fn each_bad_setting_is_named() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "ALERT_TOPIC_ARN is not set"),
        (
            vec![("ALERT_TOPIC_ARN", "not-an-arn")],
            "ALERT_TOPIC_ARN \"not-an-arn\"",
        ),
        (
            vec![("ALERT_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:q")],
            "not an SNS topic ARN",
        ),
        (
            vec![("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:1234:t")],
            "not an SNS topic ARN",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("MAX_SAMPLES", "many")],
            "MAX_SAMPLES \"many\"",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("MAX_SAMPLES", "-1")],
            "MAX_SAMPLES",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("MAX_SAMPLES", "101")],
            "MAX_SAMPLES",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("ALERT_WINDOW_SECONDS", "15m")],
            "ALERT_WINDOW_SECONDS \"15m\" is not a whole number of seconds",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("ALERT_WINDOW_SECONDS", "86401")],
            "ALERT_WINDOW_SECONDS \"86401\"",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("ALERT_STATE_TABLE", "a b")],
            "ALERT_STATE_TABLE \"a b\" is not a DynamoDB table name",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("TLS_ROOTS", "system")],
            "TLS_ROOTS",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("AWS_REGION", "eu west 1")],
            "AWS_REGION \"eu west 1\" is not an AWS Region name",
        ),
        (
            vec![
                ("ALERT_TOPIC_ARN", ARN),
                ("AWS_DEFAULT_REGION", "https://evil"),
            ],
            "AWS_DEFAULT_REGION \"https://evil\"",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("DIAGNOSE", "maybe")],
            "DIAGNOSE \"maybe\" is not true or false",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("API_ID", "abc; rm -rf /")],
            "API_ID \"abc; rm -rf /\" is not an API Gateway API id",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("ALERT_LANGUAGE", "fr")],
            "ALERT_LANGUAGE \"fr\"",
        ),
        (
            vec![("ALERT_TOPIC_ARN", ARN), ("ALERT_LABEL", "pr\nod")],
            "ALERT_LABEL",
        ),
        (
            vec![
                ("ALERT_TOPIC_ARN", ARN),
                ("ACCESS_LOG_FORMAT", "$context.requestId"),
            ],
            "ACCESS_LOG_FORMAT is not a usable access-log format: it has no error variable",
        ),
        // A format with which no failure is ever flagged: a stack that never alerts.
        (
            vec![
                ("ALERT_TOPIC_ARN", ARN),
                (
                    "ACCESS_LOG_FORMAT",
                    "$context.requestId $context.authorizer.error $context.path",
                ),
            ],
            "ACCESS_LOG_FORMAT is not a usable access-log format: it would never report an authorizer failure",
        ),
    ];
    for (env, expected) in cases {
        let err = load(&env, true).unwrap_err().to_string();
        assert!(err.contains(expected), "{env:?}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn metrics_default_on_and_an_empty_namespace_turns_them_off() {
    let on = load(&[], false).unwrap();
    assert_eq!(
        on.metrics_namespace.as_deref(),
        Some(DEFAULT_METRICS_NAMESPACE)
    );
    let named = load(&[("METRICS_NAMESPACE", " Team/Auth-Alerts ")], false).unwrap();
    assert_eq!(named.metrics_namespace.as_deref(), Some("Team/Auth-Alerts"));
    let off = load(&[("METRICS_NAMESPACE", "  ")], false).unwrap();
    assert_eq!(off.metrics_namespace, None);
    for bad in ["AWS/Lambda", "a\nb", "caf\u{e9}", &"n".repeat(256)] {
        let err = load(&[("METRICS_NAMESPACE", bad)], false).unwrap_err();
        assert!(
            matches!(err.problem, Invalid::Namespace(_)),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn severities_follow_the_cause_unless_configured() {
    let c = load(
        &[(
            "CAUSE_SEVERITY",
            " authorizer_timeout = critical , format_mismatch=HIGH,",
        )],
        false,
    )
    .unwrap();
    assert_eq!(c.severity(Cause::AuthorizerTimeout), Severity::Critical);
    assert_eq!(c.severity(Cause::FormatMismatch), Severity::High);
    assert_eq!(c.severity(Cause::AuthorizerFailure), Severity::High);
    assert_eq!(
        c.severity(Cause::MissingInvokePermission),
        Severity::Critical
    );
    for bad in [
        "authorizer_timeout",
        "timeout=critical",
        "authorizer_timeout=urgent",
        "unknown=high,unknown=critical",
        "authorizer_timeout=info",
    ] {
        let err = load(&[("CAUSE_SEVERITY", bad)], false).unwrap_err();
        assert!(matches!(err.problem, Invalid::CauseSeverity(_)), "{bad:?}");
        assert!(
            err.to_string().contains("missing_invoke_permission"),
            "{err}"
        );
    }
}

#[test]
fn mentions_take_only_slack_mention_syntax() {
    let cases = [
        ("@here", "<!here>"),
        (" @channel  <!here> ", "<!channel> <!here>"),
        (
            "<@U024BE7LH> <!subteam^SAZ94GDB8>",
            "<@U024BE7LH> <!subteam^SAZ94GDB8>",
        ),
        ("@here <!here>", "<!here>"),
    ];
    for (given, shown) in cases {
        let m: Mention = given.parse().unwrap();
        assert_eq!(m.as_str(), shown, "{given:?}");
    }
    for bad in [
        "here",
        "@everyone",
        "<!here|x>",
        "<@u024be7lh>",
        "<@U024BE7LH",
        "<!subteam^SAZ94GDB8|@oncall>",
        "<https://evil.example|click>",
        "*bold*",
        "<@U11> <@U12> <@U13> <@U14> <@U15> <@U16>",
    ] {
        let err = load(&[("ALERT_MENTION", bad)], false).unwrap_err();
        assert!(matches!(err.problem, Invalid::Mention(_)), "{bad:?}: {err}");
    }
}

#[test]
fn mentions_start_at_their_severity() {
    let c = load(&[("ALERT_MENTION", "@here")], false).unwrap();
    assert_eq!(c.mention_severity, Severity::Critical);
    assert!(c.mention_for(Severity::Critical).is_some());
    assert!(c.mention_for(Severity::High).is_none());
    let c = load(
        &[
            ("ALERT_MENTION", "@here"),
            ("ALERT_MENTION_SEVERITY", "warning"),
        ],
        false,
    )
    .unwrap();
    assert!(c.mention_for(Severity::Warning).is_some());
    assert!(c.mention_for(Severity::Info).is_none());
    let none = load(&[("ALERT_MENTION_SEVERITY", "info")], false).unwrap();
    assert!(
        none.mention_for(Severity::Critical).is_none(),
        "no mention set"
    );
    let err = load(&[("ALERT_MENTION_SEVERITY", "page")], false).unwrap_err();
    assert!(err.to_string().contains("ALERT_MENTION_SEVERITY \"page\""));
}

/// The name in an error is the one the value came from, so the command line names the flag
/// the user typed; the reason is said once.
#[test]
fn errors_name_where_the_value_came_from() {
    let from = |name: &'static str, value: &'static str, setting: Setting| {
        Config::from_settings(
            move |s| (s == setting).then(|| Given::new(name, value)),
            false,
        )
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        from("--max-samples", "abc", Setting::MaxSamples),
        "--max-samples \"abc\" is not a whole number from 0 to 100 (default 5)"
    );
    assert_eq!(
        from("--format", "hello", Setting::Format),
        "--format is not a usable access-log format: it has no $context variables"
    );
    assert_eq!(
        from("--diagnose", "nope", Setting::Diagnose),
        "--diagnose \"nope\" is not true or false"
    );
    for (yes, want) in [("TRUE", true), ("1", true), ("yes", true), ("off", false)] {
        assert_eq!(parse_bool(yes), Ok(want), "{yes}");
    }
    for region in ["eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5"] {
        assert_eq!(parse_region(region).as_deref(), Ok(region));
    }
    for bad in [
        "eu-west",
        "EU-WEST-1",
        "eu--1",
        "eu-west-1.evil.example",
        "-eu-west-1",
    ] {
        assert!(parse_region(bad).is_err(), "{bad}");
    }
}

/// Each setting either has a flag or says why the command line never reads it.
#[test]
fn every_setting_has_a_flag_or_a_reason() {
    for s in Setting::ALL {
        assert!(
            s.flag().is_some() != s.lambda_only_because().is_some(),
            "{s:?}: a flag, or a reason there is none, not both"
        );
    }
}

#[test]
fn cli_needs_no_topic() {
    let c = load(
        &[("ALERT_LANGUAGE", "JA"), ("ALERT_LABEL", " prod ")],
        false,
    )
    .unwrap();
    assert!(c.topic.is_none());
    assert_eq!(c.language, Language::Ja);
    assert_eq!(c.label.as_deref(), Some("prod"));
}
