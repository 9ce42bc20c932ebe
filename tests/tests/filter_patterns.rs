//! The stack's subscription filter patterns deliver every sample line the forwarder reads, and
//! leave healthy lines behind.
//!
//! `moto_server`, our local AWS, takes `?` terms as match-all, so asking it what a pattern delivers
//! proves nothing. The delivery is checked here with CloudWatch Logs' documented matching
//! ([`forwarder_tests::filter_pattern`], after
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>): terms
//! are case-sensitive, match anywhere in the event, and `?` makes them alternatives.
//!
//! The patterns: [`LogKind::filter_pattern`] (what `check` searches with) and the ones the
//! templates (`infra/template.yaml`, `infra/org/member.yaml`) give CloudWatch Logs. The lines: every
//! `.log` sample listed in `samplelogs/expected.json`, read the way the forwarder reads it. The
//! `events/` samples hold the same lines and are not read again.

use std::collections::BTreeSet;

use forwarder::detect::access_log::LogFormat;
use forwarder::detect::execution_log::{self, Line};
use forwarder::detect::{LogKind, scan_line};
use forwarder::model::finding::LineVerdict;
use forwarder_tests::filter_pattern::FilterPattern;
use forwarder_tests::{cfn_template as template, sample};
use serde_json::{Value, json};

/// The templates whose subscription filters deliver to the forwarder.
const TEMPLATES: [&str; 2] = ["infra/template.yaml", "infra/org/member.yaml"];

/// Every pattern a template gives CloudWatch Logs, as `(where, kind, pattern)`: the `FilterPattern`
/// parameter's default (the access log's, used by reference) and each subscription filter's literal
/// pattern (an execution-log group's when the filter subscribes `ExecutionLogGroupName`).
fn template_patterns() -> Vec<(String, LogKind, String)> {
    let mut found = Vec::new();
    for rel in TEMPLATES {
        let t = template(rel);
        let default = t["Parameters"]["FilterPattern"]["Default"]
            .as_str()
            .unwrap_or_else(|| panic!("{rel}: no FilterPattern parameter default"));
        found.push((
            format!("{rel} Parameters.FilterPattern.Default"),
            LogKind::Access,
            default.to_owned(),
        ));
        let mut filters = 0;
        for (name, r) in t["Resources"].as_object().unwrap() {
            if r["Type"] != "AWS::Logs::SubscriptionFilter" {
                continue;
            }
            filters += 1;
            let p = &r["Properties"];
            match &p["FilterPattern"] {
                Value::String(pattern) => {
                    let execution = ["ExecutionLogGroupName", "ExecutionLogDeliveryGroupName"]
                        .map(|g| json!({ "Ref": g }));
                    let kind = if execution.contains(&p["LogGroupName"]) {
                        LogKind::Execution
                    } else {
                        LogKind::Access
                    };
                    found.push((format!("{rel} {name}"), kind, pattern.clone()));
                }
                // The parameter, whose default is checked above.
                other => assert_eq!(
                    *other,
                    json!({"Ref": "FilterPattern"}),
                    "{rel} {name}: a pattern neither literal nor the parameter"
                ),
            }
        }
        assert!(
            filters >= 2,
            "{rel}: expected the access and execution filters"
        );
    }
    found
}

/// A pattern parsed with the documented syntax; one it refuses fails the test.
fn parsed(pattern: &str) -> FilterPattern {
    FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

/// One non-blank line of a sample, with what the forwarder makes of it.
struct SampleLine {
    file: String,
    number: usize,
    text: String,
    kind: LogKind,
    /// Not `Clean` (access) or `Other` (execution): the forwarder reads it.
    read: bool,
    /// An access-log line the forwarder calls `Clean`.
    clean: bool,
}

/// Every non-blank line of every `.log` sample `samplelogs/expected.json` lists (outside `events/`
/// and `malformed/`), read as the forwarder reads it: with the given format file, else the guess.
fn sample_lines() -> Vec<SampleLine> {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("expected.json")).unwrap()).unwrap();
    let mut lines = Vec::new();
    let mut files = 0;
    for (rel, entry) in expected.as_object().unwrap() {
        if !rel.ends_with(".log") || rel.starts_with("events/") || rel.starts_with("malformed/") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(sample(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let execution = execution_log::looks_like_execution_log(&text);
        let args: Vec<&str> = entry["args"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
            .unwrap_or_default();
        let format = match args.as_slice() {
            ["--format-file", fmt] => {
                let source = std::fs::read_to_string(sample(fmt))
                    .unwrap_or_else(|e| panic!("{rel}: {fmt}: {e}"));
                LogFormat::parse(&source).unwrap_or_else(|e| panic!("{rel}: {fmt}: {e}"))
            }
            [] => LogFormat::guess(),
            other => panic!("{rel}: arguments this test does not know: {other:?}"),
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (kind, read, clean) = if execution {
                let read = !matches!(execution_log::read(line), Line::Other);
                (LogKind::Execution, read, false)
            } else {
                let clean = matches!(scan_line(line, &format), LineVerdict::Clean);
                (LogKind::Access, !clean, clean)
            };
            lines.push(SampleLine {
                file: rel.clone(),
                number: i + 1,
                text: line.to_owned(),
                kind,
                read,
                clean,
            });
        }
    }
    assert!(files >= 8, "expected.json lists {files} .log samples");
    lines
}

/// The lines of `lines` the forwarder reads that `pattern` does not deliver, one message each.
fn undelivered(lines: &[SampleLine], kind: LogKind, pattern: &FilterPattern) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.kind == kind && l.read && !pattern.matches(&l.text))
        .map(|l| format!("{}:{}: {}", l.file, l.number, l.text))
        .collect()
}

#[test]
fn templates_subscribe_with_the_patterns_the_forwarder_searches_with() {
    let patterns = template_patterns();
    for kind in [LogKind::Access, LogKind::Execution] {
        assert!(
            patterns.iter().any(|(_, k, _)| *k == kind),
            "no {kind:?} pattern in the templates"
        );
    }
    let differ: Vec<String> = patterns
        .iter()
        .filter(|(_, kind, pattern)| pattern != kind.filter_pattern())
        .map(|(at, kind, pattern)| {
            format!(
                "{at}: {pattern:?}, but LogKind::{kind:?}.filter_pattern() is {:?}",
                kind.filter_pattern()
            )
        })
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Every line of `kind` the forwarder reads (at least `at_least` of them) is delivered by that
/// kind's pattern.
fn delivers_every_line(kind: LogKind, at_least: usize) {
    let lines = sample_lines();
    let read = lines.iter().filter(|l| l.kind == kind && l.read).count();
    assert!(read >= at_least, "only {read} {kind:?} lines are read");
    let missed = undelivered(&lines, kind, &parsed(kind.filter_pattern()));
    assert!(
        missed.is_empty(),
        "{:?} does not deliver:\n{}",
        kind.filter_pattern(),
        missed.join("\n")
    );
}

#[test]
fn access_pattern_delivers_every_access_log_line_the_forwarder_reads() {
    delivers_every_line(LogKind::Access, 20);
}

#[test]
fn execution_pattern_delivers_every_execution_log_line_the_forwarder_reads() {
    delivers_every_line(LogKind::Execution, 8);
}

/// The templates' patterns as they stand, whether or not they equal the forwarder's: what a stack
/// deployed from them would deliver.
#[test]
fn template_patterns_deliver_every_line_the_forwarder_reads() {
    let lines = sample_lines();
    let mut missed = Vec::new();
    for (at, kind, pattern) in template_patterns() {
        for line in undelivered(&lines, kind, &parsed(&pattern)) {
            missed.push(format!("{at} ({pattern:?}) misses {line}"));
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

/// A 200 response, by the status field of a JSON line or the `" 200 ` after a text line's request.
fn has_status_200(line: &str) -> bool {
    match serde_json::from_str::<Value>(line) {
        Ok(v) => v["status"] == "200" || v["status"] == 200,
        Err(_) => line.contains("\" 200 "),
    }
}

#[test]
fn access_pattern_leaves_healthy_lines_behind() {
    let pattern = parsed(LogKind::Access.filter_pattern());
    let lines = sample_lines();
    let files: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l.kind == LogKind::Access)
        .map(|l| l.file.as_str())
        .collect();
    let mut checked = 0;
    for file in files {
        let of_file = || lines.iter().filter(move |l| l.file == file);
        if !of_file().any(|l| has_status_200(&l.text)) {
            continue;
        }
        checked += 1;
        let left_behind = of_file().filter(|l| l.clean && !pattern.matches(&l.text));
        assert!(
            left_behind.count() > 0,
            "{file}: every clean line is delivered, so the filter does not narrow"
        );
        // A clean 200 line is never delivered.
        for l in of_file().filter(|l| l.clean && has_status_200(&l.text)) {
            assert!(
                !pattern.matches(&l.text),
                "{file}:{}: a healthy line is delivered: {}",
                l.number,
                l.text
            );
        }
    }
    assert!(checked >= 5, "only {checked} access logs have a 200 line");
}
