//! The stage's format: one that does not match is said, one that could never see a failure is
//! refused, and without one a finding is unverified and at most a warning.

use forwarder_tests::{forwarder, read_sample};

use crate::{PERMISSION, PERMISSION_MESSAGE, custom, custom_format, lambda, verdict};

/// A format that does not match the lines is said, on every path: the CLI warns and exits 1, its
/// `--alert` preview shows the `format_mismatch` alert, and the Lambda publishes it.
#[tokio::test]
async fn a_format_that_does_not_match_is_said() {
    // The JSON format on text logs.
    let run = forwarder(
        &[
            "scan",
            "--format-file",
            "samplelogs/json-format.fmt",
            "samplelogs/default-format.log",
        ],
        None,
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("0 flagged, 5 unmatched (token in a line that does not follow the format)"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains(
            "5 of 5 lines carrying the token do not follow the log they were read as, so detection is blind"
        ),
        "{run:?}"
    );
    let preview = forwarder(
        &[
            "scan",
            "--alert",
            "--format-file",
            "samplelogs/json-format.fmt",
            "samplelogs/default-format.log",
        ],
        None,
        &[],
    );
    assert!(
        preview
            .stdout
            .contains("API authorizer alerts blind: access-log format mismatch (5x)"),
        "{preview:?}"
    );
    // The Lambda left on the default format while the stage appends the user agent.
    let appended: Vec<String> = String::from_utf8(read_sample("default-format.log"))
        .unwrap()
        .lines()
        .map(|l| format!("{l} \"Mozilla/5.0 (X11; Linux x86_64)\""))
        .collect();
    let (got, sent) = lambda(forwarder::detect::access_log::DEFAULT_FORMAT, &appended).await;
    assert_eq!(got, verdict(&[], 0, 5, 5));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].attributes.cause, "format_mismatch");
    assert_eq!(sent[0].attributes.severity, "warning");
    assert!(
        sent[0].email.contains("Lines not read: 5 / 5"),
        "{}",
        sent[0].email
    );
    // A client that appends its own quote to a user agent cannot bring this about.
    let forged = custom("/", 200, "AUTHORIZER_CONFIGURATION_ERROR\" x", "-");
    let (got, sent) = lambda(&custom_format(), &[forged.clone(), forged]).await;
    assert_eq!(got, verdict(&[], 2, 0, 0));
    assert!(sent.is_empty());
}

/// A format with which no failure API Gateway reports would ever be flagged is refused where it is
/// loaded, with one line that says why: the command line's `--format` and `ACCESS_LOG_FORMAT`
/// (the Lambda reads it the same way at cold start), rather than a scan that passes every failure.
#[test]
fn a_format_that_can_never_see_a_failure_is_refused() {
    let blind = "$context.requestId $context.authorizer.error $context.path";
    let dir = std::env::temp_dir().join(format!("trust-blind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("blind.log");
    std::fs::write(
        &log,
        format!("r1 {PERMISSION} /pets\nr2 {PERMISSION_MESSAGE} /pets\n"),
    )
    .unwrap();
    let log = log.to_str().unwrap();
    for (args, env, setting) in [
        (vec!["scan", "--format", blind, log], vec![], "--format"),
        (
            vec!["scan", log],
            vec![("ACCESS_LOG_FORMAT", blind)],
            "ACCESS_LOG_FORMAT is not a usable access-log format",
        ),
    ] {
        let run = forwarder(&args, None, &env);
        assert_eq!(run.code, 2, "{run:?}");
        let line = run.stderr.trim_end();
        assert!(!line.contains('\n'), "one line: {line}");
        assert_eq!(
            line.matches("would never report").count(),
            1,
            "once: {line}"
        );
        assert!(
            line.contains(setting)
                && line.contains("would never report an authorizer failure")
                && line.contains("$context.path"),
            "{line}"
        );
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    let refused = forwarder::config::Config::from_lookup(
        |k| (k == "ACCESS_LOG_FORMAT").then(|| blind.to_owned()),
        false,
    );
    assert!(refused.is_err());
}

/// Without a format, a finding of the command line's heuristics is one a client could have made:
/// `--json` says it is unverified and its alert is a warning, whatever its cause; a line that
/// follows the default format is read as the function reads it and keeps its severity.
#[test]
fn a_finding_no_format_proves_is_unverified_and_at_most_a_warning() {
    let dir = std::env::temp_dir().join(format!("trust-unverified-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        // No known shape: the quote rule.
        (
            format!("weird|203.0.113.7|\"GET /\"|500|{PERMISSION}"),
            false,
            "warning",
        ),
        // A JSON line read by its key names.
        (
            format!(r#"{{"id":"r1","why":"x","error":"{PERMISSION}"}}"#),
            false,
            "warning",
        ),
        // The default format, as the function reads it with no format set.
        (
            format!(
                r#"203.0.113.7 - - [20/Nov/2026:09:14:03 +0000] "GET GET /orders HTTP/1.1" 500 35 Vx3kTfWGIAMEbyw= {PERMISSION}"#
            ),
            true,
            "critical",
        ),
    ];
    for (i, (line, verified, severity)) in cases.iter().enumerate() {
        let path = dir.join(format!("{i}.log"));
        std::fs::write(&path, line).unwrap();
        let run = forwarder(&["scan", "--json", path.to_str().unwrap()], None, &[]);
        assert_eq!(run.code, 1, "{line}: {run:?}");
        assert!(
            run.stdout.contains(&format!(r#""verified":{verified}"#)),
            "{line}: {run:?}"
        );
        let run = forwarder(&["scan", "--alert", path.to_str().unwrap()], None, &[]);
        assert!(
            run.stdout.contains(&format!("severity={severity}")),
            "{line}: {}",
            run.stdout
        );
        assert_eq!(
            run.stdout.contains("Unverified: 1 / 1"),
            !verified,
            "{line}"
        );
    }
}
