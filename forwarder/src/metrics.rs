//! Operator signals: what each invocation counted, written as CloudWatch embedded metric format
//! (EMF) documents.
//!
//! Lambda sends the function's standard output to its log group, and CloudWatch Logs turns each
//! line that is an EMF document into metrics: no API call, no permission, no added latency
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//!
//! The documents are written here rather than through a crate: the maintained EMF crates record
//! through a process-wide `metrics` recorder and flush on their own schedule, while an invocation
//! needs its own counts written once, at its end, with two dimension sets per failure; the format
//! is one small JSON object.
//!
//! Per invocation, one summary document carries the counters that counted something, by
//! `FunctionName` (what the stack's alarm and dashboard read: one stack's forwarder, never
//! another's in the same account), and one document per (cause, API or log group) carries
//! `AuthorizerFailures` by `Cause` and by `ApiId` (or `LogGroup`, when the lines carry no API id)
//! with `Cause`, each with `FunctionName` too. Outside Lambda (no function name) the same sets
//! without it.
//!
//! Nothing is written for a counter that stayed at zero: CloudWatch bills a custom metric for
//! each hour it receives data, so an idle stack keeps none alive.
//!
//! A REST stage may have both its logs subscribed, and a failed request is then a line in each,
//! delivered to different invocations. So that it is counted once without state shared between
//! invocations, access-log lines are counted in `AuthorizerFailures` and execution-log lines in
//! `ExecutionLogAuthorizerFailures`, with the same dimensions; the stack's alarm takes the larger
//! of the two each minute, so it works with either log or both.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::alerts::group::Group;
use crate::config::is_api_id;
use crate::detect::LogKind;
use crate::diagnose::Diagnosis;
use crate::model::cause::Cause;
use crate::model::finding::Scan;
use crate::text::escape::{ascii, truncate};

/// The metric names; dashboards and alarms name them, so they never change.
pub const AUTHORIZER_FAILURES: &str = "AuthorizerFailures";
/// Failed requests seen in REST execution logs: the same requests as the stage's access log
/// (when it is subscribed too), so never added to [`AUTHORIZER_FAILURES`].
pub const EXECUTION_LOG_FAILURES: &str = "ExecutionLogAuthorizerFailures";
pub const FORGED_TOKENS_IGNORED: &str = "ForgedTokensIgnored";
pub const UNMATCHED_LINES: &str = "UnmatchedLines";
pub const ALERTS_PUBLISHED: &str = "AlertsPublished";
pub const ALERTS_SUPPRESSED: &str = "AlertsSuppressed";
pub const DIAGNOSIS_UNAVAILABLE: &str = "DiagnosisUnavailable";

/// The dimension names.
pub const CAUSE: &str = "Cause";
pub const FUNCTION_NAME: &str = "FunctionName";
pub const API_ID: &str = "ApiId";
pub const LOG_GROUP: &str = "LogGroup";

/// CloudWatch takes dimension values of 1 to 1,024 characters
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html>).
const MAX_DIMENSION_VALUE_BYTES: usize = 1024;

/// Each (cause, API or log group) is a metric of its own, which CloudWatch bills; past this many
/// in one invocation the rest are counted by cause alone.
pub const MAX_SCOPES: usize = 50;

/// Where failed requests were seen: the API, when the lines name it, else the log group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Api(String),
    LogGroup(String),
    /// Lines read without a log group (a file on the command line), or past [`MAX_SCOPES`].
    Unknown,
}

impl Scope {
    /// The dimension and its value, when there is one.
    fn dimension(&self) -> Option<(&'static str, String)> {
        match self {
            Scope::Api(id) => Some((API_ID, dimension_value(id)?)),
            Scope::LogGroup(group) => Some((LOG_GROUP, dimension_value(group)?)),
            Scope::Unknown => None,
        }
    }
}

/// A dimension value CloudWatch takes: printable ASCII, not blank, bounded.
fn dimension_value(v: &str) -> Option<String> {
    let v = truncate(&ascii(v), MAX_DIMENSION_VALUE_BYTES).into_owned();
    (!v.trim().is_empty()).then_some(v)
}

/// What an invocation counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Failed requests by cause and where they were seen; never [`Cause::FormatMismatch`], whose
    /// lines are [`Tally::unmatched_lines`].
    pub failures: BTreeMap<(Cause, Scope), u64>,
    /// The same, for lines of REST execution logs ([`EXECUTION_LOG_FAILURES`]).
    pub execution_failures: BTreeMap<(Cause, Scope), u64>,
    /// Lines with the token only where a client put it.
    pub forged_ignored: u64,
    /// Lines with the token that the configured format could not split.
    pub unmatched_lines: u64,
    pub alerts_published: u64,
    /// Groups flood control counted instead of alerting.
    pub alerts_suppressed: u64,
    /// Alerts SNS accepted without a diagnosis of the live API.
    pub diagnosis_unavailable: u64,
}

impl Tally {
    /// Counts a scanned access log (see [`Tally::count_scan_as`]).
    pub fn count_scan(&mut self, scan: &Scan) {
        self.count_scan_as(scan, LogKind::Access);
    }

    /// Counts a scanned batch of a `kind` of log: each flagged line once, by its cause and its
    /// API (an id of API Gateway's shape) or else its log group, an execution log's lines in
    /// [`Tally::execution_failures`]. Linear in the findings: the pairs with a dimension are
    /// counted once, then kept count of as they are added.
    pub fn count_scan_as(&mut self, scan: &Scan, kind: LogKind) {
        let mut scopes = self.scopes();
        let failures = match kind {
            LogKind::Access => &mut self.failures,
            LogKind::Execution => &mut self.execution_failures,
        };
        for f in &scan.findings {
            let scope = match (f.api_id().filter(|id| is_api_id(id)), &f.log_group) {
                (Some(id), _) => Scope::Api(id.to_owned()),
                (None, Some(group)) => Scope::LogGroup(group.to_string()),
                (None, None) => Scope::Unknown,
            };
            let key = (f.cause, scope);
            if let Some(n) = failures.get_mut(&key) {
                *n += 1;
                continue;
            }
            let key = if key.1 == Scope::Unknown {
                key
            } else if scopes < MAX_SCOPES {
                scopes += 1;
                key
            } else {
                (f.cause, Scope::Unknown)
            };
            *failures.entry(key).or_default() += 1;
        }
        self.forged_ignored += scan.ignored as u64;
        self.unmatched_lines += scan.unmatched as u64;
    }

    /// Counts an alert SNS accepted, and whether it went without a diagnosis.
    pub fn count_published(&mut self, group: &Group) {
        self.alerts_published += 1;
        if matches!(group.diagnosis, Some(Diagnosis::Unavailable { .. })) {
            self.diagnosis_unavailable += 1;
        }
    }

    /// Distinct (cause, scope) pairs with a dimension of their own.
    fn scopes(&self) -> usize {
        self.failures
            .keys()
            .chain(self.execution_failures.keys())
            .filter(|(_, s)| *s != Scope::Unknown)
            .count()
    }

    /// Failed requests of every cause in access logs ([`AUTHORIZER_FAILURES`]).
    pub fn failed_requests(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Failed requests of every cause in execution logs ([`EXECUTION_LOG_FAILURES`]).
    pub fn execution_log_failed_requests(&self) -> u64 {
        self.execution_failures.values().sum()
    }

    pub fn merge(&mut self, other: Tally) {
        for (key, n) in other.failures {
            *self.failures.entry(key).or_default() += n;
        }
        for (key, n) in other.execution_failures {
            *self.execution_failures.entry(key).or_default() += n;
        }
        self.forged_ignored += other.forged_ignored;
        self.unmatched_lines += other.unmatched_lines;
        self.alerts_published += other.alerts_published;
        self.alerts_suppressed += other.alerts_suppressed;
        self.diagnosis_unavailable += other.diagnosis_unavailable;
    }
}

/// Collects an invocation's counts as its work goes, for the handler to write once at its end,
/// whether the work succeeded or not.
#[derive(Debug, Default)]
pub struct Recorder(Mutex<Tally>);

impl Recorder {
    pub fn record(&self, count: impl FnOnce(&mut Tally)) {
        // A poisoned lock only means another count panicked; the counts are still numbers.
        count(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The EMF documents for one invocation's counts, one JSON object per line: a summary of the
/// counters above zero (by `function` when there is one, else without dimensions), then one per
/// (cause, scope) that failed. Nothing at all when nothing was counted.
/// `timestamp_ms` is when the invocation ended, in milliseconds since the epoch.
pub fn emf_lines(
    tally: &Tally,
    namespace: &str,
    function: Option<&str>,
    timestamp_ms: u64,
) -> Vec<String> {
    let summary = [
        (AUTHORIZER_FAILURES, tally.failed_requests()),
        (
            EXECUTION_LOG_FAILURES,
            tally.execution_log_failed_requests(),
        ),
        (FORGED_TOKENS_IGNORED, tally.forged_ignored),
        (UNMATCHED_LINES, tally.unmatched_lines),
        (ALERTS_PUBLISHED, tally.alerts_published),
        (ALERTS_SUPPRESSED, tally.alerts_suppressed),
        (DIAGNOSIS_UNAVAILABLE, tally.diagnosis_unavailable),
    ];
    let mut lines = Vec::with_capacity(1 + tally.failures.len() + tally.execution_failures.len());
    let function = function.and_then(dimension_value);
    let counted: Vec<(&str, u64)> = summary.into_iter().filter(|(_, n)| *n > 0).collect();
    if !counted.is_empty() {
        let mut root = Map::new();
        for (name, value) in &counted {
            root.insert((*name).to_owned(), json!(value));
        }
        let sets: &[&[&str]] = match &function {
            Some(name) => {
                root.insert(FUNCTION_NAME.to_owned(), json!(name));
                &[&[FUNCTION_NAME]]
            }
            None => &[&[]],
        };
        let names: Vec<&str> = counted.iter().map(|(name, _)| *name).collect();
        lines.push(document(namespace, timestamp_ms, sets, &names, root));
    }
    let counted = [
        (AUTHORIZER_FAILURES, &tally.failures),
        (EXECUTION_LOG_FAILURES, &tally.execution_failures),
    ];
    for (metric, failures) in counted {
        for ((cause, scope), n) in failures.iter().filter(|(_, n)| **n > 0) {
            let mut root = Map::new();
            root.insert(CAUSE.to_owned(), json!(cause.code()));
            root.insert(metric.to_owned(), json!(n));
            if let Some(name) = &function {
                root.insert(FUNCTION_NAME.to_owned(), json!(name));
            }
            let scoped = scope.dimension().map(|(dimension, value)| {
                root.insert(dimension.to_owned(), json!(value));
                dimension
            });
            let line = match (&function, scoped) {
                (Some(_), Some(d)) => document(
                    namespace,
                    timestamp_ms,
                    &[&[FUNCTION_NAME, CAUSE], &[FUNCTION_NAME, d, CAUSE]],
                    &[metric],
                    root,
                ),
                (Some(_), None) => document(
                    namespace,
                    timestamp_ms,
                    &[&[FUNCTION_NAME, CAUSE]],
                    &[metric],
                    root,
                ),
                (None, Some(d)) => document(
                    namespace,
                    timestamp_ms,
                    &[&[CAUSE], &[d, CAUSE]],
                    &[metric],
                    root,
                ),
                (None, None) => document(namespace, timestamp_ms, &[&[CAUSE]], &[metric], root),
            };
            lines.push(line);
        }
    }
    lines
}

/// Writes the documents of [`emf_lines`], stamped now, one per line: whole lines, so they never
/// interleave with the log lines written to the same output.
pub fn write(
    out: &mut impl Write,
    tally: &Tally,
    namespace: &str,
    function: Option<&str>,
) -> std::io::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    for line in emf_lines(tally, namespace, function, now) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// One EMF document: the `_aws` metadata with one directive, and the root's members.
fn document(
    namespace: &str,
    timestamp_ms: u64,
    dimensions: &[&[&str]],
    metrics: &[&str],
    mut root: Map<String, Value>,
) -> String {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|name| json!({"Name": name, "Unit": "Count"}))
        .collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimensions,
                "Metrics": metrics,
            }],
        }),
    );
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::access_log::LogFormat;
    use crate::sources::{LogBatch, LogEvent, MessageType};

    fn scan(log_group: &str, lines: &[&str]) -> Scan {
        let batch = LogBatch {
            message_type: MessageType::DataMessage,
            owner: "123456789012".into(),
            log_group: log_group.into(),
            log_stream: "s".into(),
            subscription_filters: Vec::new(),
            log_events: lines
                .iter()
                .enumerate()
                .map(|(i, l)| LogEvent {
                    id: i.to_string().into(),
                    timestamp: 1_700_000_000_000,
                    message: (*l).into(),
                })
                .collect(),
            omitted_events: 0,
        };
        crate::detect::scan_batch(&batch, &LogFormat::default())
    }

    const DENIED: &str = r#"203.0.113.9 - - [10/Oct/2023:01:01:01 +0000] "GET GET /orders HTTP/1.1" 500 35 req-1 AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."#;

    #[test]
    fn failures_are_counted_by_cause_and_log_group_without_an_api_id() {
        let mut t = Tally::default();
        t.count_scan(&scan("/aws/apigw/prod", &[DENIED, DENIED]));
        assert_eq!(
            t.failures,
            BTreeMap::from([(
                (
                    Cause::MissingInvokePermission,
                    Scope::LogGroup("/aws/apigw/prod".into())
                ),
                2
            )])
        );
        assert_eq!(t.failed_requests(), 2);
    }

    /// A REST stage with both logs subscribed: one failed request is a line in each, delivered to
    /// different invocations. `AuthorizerFailures` counts it once, from the access log.
    #[test]
    fn a_request_in_both_logs_is_counted_once_in_authorizer_failures() {
        const REST: &str = r#"203.0.113.9 - - [10/Oct/2023:01:01:01 +0000] "GET GET /orders HTTP/1.1" 500 35 req-1 AUTHORIZER_CONFIGURATION_ERROR"#;
        const EXECUTION: &str = "(0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0) Execution failed due to configuration error: Invalid permissions on Lambda function";
        const CLOSING: &str =
            "(0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0) AuthorizerConfigurationException";
        let access = scan("/aws/apigw/prod", &[REST]);
        let execution = {
            let mut batch = LogBatch {
                message_type: MessageType::DataMessage,
                owner: "123456789012".into(),
                log_group: "API-Gateway-Execution-Logs_a1b2c3d4e5/prod".into(),
                log_stream: "s".into(),
                subscription_filters: Vec::new(),
                log_events: Vec::new(),
                omitted_events: 0,
            };
            for (i, message) in [EXECUTION, CLOSING].into_iter().enumerate() {
                batch.log_events.push(LogEvent {
                    id: i.to_string().into(),
                    timestamp: 1_700_000_000_000,
                    message: message.into(),
                });
            }
            crate::detect::scan_batch_as(&batch, &LogFormat::default(), LogKind::Execution)
        };
        assert_eq!((access.findings.len(), execution.findings.len()), (1, 1));
        // (logs subscribed, AuthorizerFailures, ExecutionLogAuthorizerFailures)
        let cases = [
            (vec![(&access, LogKind::Access)], 1, 0),
            (vec![(&execution, LogKind::Execution)], 0, 1),
            (
                vec![(&access, LogKind::Access), (&execution, LogKind::Execution)],
                1,
                1,
            ),
        ];
        for (logs, failures, execution_failures) in cases {
            let mut total = Tally::default();
            for (scan, kind) in logs {
                // Each log in an invocation of its own.
                let mut t = Tally::default();
                t.count_scan_as(scan, kind);
                total.merge(t);
            }
            assert_eq!(
                (
                    total.failed_requests(),
                    total.execution_log_failed_requests()
                ),
                (failures, execution_failures)
            );
            // Each is written when it counted something, and only then.
            let emf = emf_lines(&total, "AuthorizerAlerts", None, 0).join("\n");
            assert_eq!(
                emf.contains(EXECUTION_LOG_FAILURES),
                execution_failures > 0,
                "{emf}"
            );
            assert_eq!(
                emf.contains(&format!("\"{AUTHORIZER_FAILURES}\"")),
                failures > 0,
                "{emf}"
            );
        }
    }

    #[test]
    fn past_the_cap_scopes_are_counted_by_cause_alone() {
        let mut t = Tally::default();
        for i in 0..MAX_SCOPES + 3 {
            t.count_scan(&scan(&format!("/g/{i}"), &[DENIED]));
        }
        assert_eq!(t.scopes(), MAX_SCOPES);
        assert_eq!(
            t.failures[&(Cause::MissingInvokePermission, Scope::Unknown)],
            3
        );
        assert_eq!(t.failed_requests(), MAX_SCOPES as u64 + 3);
        // A scope already counted keeps counting under its own name.
        t.count_scan(&scan("/g/0", &[DENIED]));
        assert_eq!(
            t.failures[&(
                Cause::MissingInvokePermission,
                Scope::LogGroup("/g/0".into())
            )],
            2
        );
    }

    #[test]
    fn a_summary_then_one_document_per_failure() {
        let mut t = Tally {
            forged_ignored: 4,
            alerts_published: 1,
            ..Tally::default()
        };
        t.failures.insert(
            (Cause::InvalidResponseFormat, Scope::Api("a1b2c3".into())),
            7,
        );
        t.failures.insert((Cause::Unknown, Scope::Unknown), 1);
        let lines = emf_lines(
            &t,
            "AuthorizerAlerts",
            Some("stack-forwarder"),
            1_700_000_000_123,
        );
        let docs: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(docs.len(), 3);
        assert!(lines.iter().all(|l| !l.contains('\n')));
        assert_eq!(docs[0][AUTHORIZER_FAILURES], 8);
        assert_eq!(docs[0][FORGED_TOKENS_IGNORED], 4);
        assert_eq!(docs[0][ALERTS_PUBLISHED], 1);
        assert_eq!(docs[0]["_aws"]["Timestamp"], 1_700_000_000_123u64);
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName"]])
        );
        assert_eq!(docs[0][FUNCTION_NAME], "stack-forwarder");
        // Only the counters that counted: zero is no data point, so an idle stack keeps no metric.
        let named: Vec<&str> = docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            named,
            [AUTHORIZER_FAILURES, FORGED_TOKENS_IGNORED, ALERTS_PUBLISHED]
        );
        assert!(docs[0].get(UNMATCHED_LINES).is_none());
        // Without a function (the command line), the summary has no dimension.
        let cli: Vec<Value> = emf_lines(&t, "N", None, 1)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            cli[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert!(cli[0].get(FUNCTION_NAME).is_none());
        assert_eq!(
            cli[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Cause"], ["ApiId", "Cause"]])
        );
        // Each failure carries the function's name, so a stack's dashboard shows only its own.
        assert_eq!(docs[1]["ApiId"], "a1b2c3");
        assert_eq!(docs[1][CAUSE], "invalid_response_format");
        assert_eq!(docs[1][AUTHORIZER_FAILURES], 7);
        assert_eq!(docs[1][FUNCTION_NAME], "stack-forwarder");
        assert_eq!(
            docs[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([
                ["FunctionName", "Cause"],
                ["FunctionName", "ApiId", "Cause"]
            ])
        );
        assert_eq!(
            docs[2]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName", "Cause"]])
        );
    }

    #[test]
    fn an_invocation_that_counted_nothing_writes_nothing() {
        assert!(emf_lines(&Tally::default(), "N", Some("f"), 1).is_empty());
        let mut t = Tally::default();
        t.failures.insert((Cause::Unknown, Scope::Unknown), 0);
        assert!(emf_lines(&t, "N", Some("f"), 1).is_empty());
    }

    #[test]
    fn dimension_values_are_printable_ascii_and_bounded() {
        let long = format!("/g/{}\u{202e}", "x".repeat(3000));
        let (name, value) = Scope::LogGroup(long).dimension().unwrap();
        assert_eq!(name, LOG_GROUP);
        assert!(value.len() <= MAX_DIMENSION_VALUE_BYTES);
        assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)));
        assert_eq!(Scope::LogGroup("   ".into()).dimension(), None);
    }

    #[test]
    fn the_recorder_hands_over_its_counts_once() {
        let r = Recorder::default();
        r.record(|t| t.alerts_published += 2);
        r.record(|t| t.alerts_suppressed += 1);
        let t = r.take();
        assert_eq!((t.alerts_published, t.alerts_suppressed), (2, 1));
        assert_eq!(r.take(), Tally::default());
    }
}
