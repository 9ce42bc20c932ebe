//! The handler's work for one invocation: decode, scan, group, render, publish.

use serde::Serialize;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use crate::alert::{self, Alert, Group};
use crate::cause::Cause;
use crate::config::Config;
use crate::decode::{self, DecodeError, LogBatch};
use crate::detect::{self, Scan};
use crate::diagnose::{self, Diagnosis, Evidence};
use crate::flood::{self, AlertWindows};
use crate::inspect::{self, FoundEvent, Inspector, Offline};
use crate::metrics::{Recorder, Tally};
use crate::publish::{PublishError, Publisher};

/// How long all diagnoses of one invocation may take together; an alert never waits longer.
pub const DIAGNOSIS_BUDGET: Duration = Duration::from_secs(3);

/// Why an invocation failed. Both kinds are returned to Lambda as errors, so its retries and the
/// on-failure destination keep the event: a bad event is kept for a person to look at, a failed
/// publish is tried again.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("event rejected: {0}")]
    Decode(#[from] DecodeError),
    /// Delivery is at least once: the alerts sent before the failure are sent again on retry.
    #[error("{published} of {total} alerts published, then {source}")]
    Publish {
        published: usize,
        total: usize,
        #[source]
        source: PublishError,
    },
    /// Only the scheduled recovery check reads the windows without a batch to alert on; it
    /// fails, and the next run tries again.
    #[error("flood-control windows unreadable: {0}")]
    Windows(String),
    /// A check before traffic could not be finished (see [`crate::deploy`]).
    #[error(transparent)]
    Check(#[from] crate::deploy::CheckError),
    /// The invocation's time ran out (see [`Services::until`]); Lambda retries the event.
    #[error("stopped before the function's timeout with the batch not done; the event is retried")]
    Deadline,
}

/// What an invocation did; the handler's response and its log line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub control_message: bool,
    pub lines: usize,
    pub findings: usize,
    pub ignored: usize,
    /// Lines with the token that do not follow the access-log format.
    pub unmatched: usize,
    /// Of those, lines without the format's layout: evidence the stage's format changed.
    pub drifted: usize,
    /// Groups flood control counted instead of alerting.
    pub suppressed: usize,
    /// Groups past [`alert::MAX_ALERTS`], told in one summary alert instead of one each.
    pub summarised: usize,
    pub message_ids: Vec<String>,
}

/// Scans a batch and renders its alerts; no I/O, so previews and tests share it with Lambda.
pub fn prepare(batch: &LogBatch, config: &Config) -> (Scan, Vec<Alert>) {
    let scan = scan_as_configured(batch, config);
    let alerts = alerts_for(&scan, config);
    (scan, alerts)
}

/// Scans events found by a log search as the subscription would have delivered them: one batch
/// per log stream.
pub fn scan_found(log_group: &str, events: &[FoundEvent], config: &Config) -> Scan {
    let mut streams: BTreeMap<&str, Vec<&FoundEvent>> = BTreeMap::new();
    for e in events {
        streams.entry(&e.log_stream).or_default().push(e);
    }
    let mut scan = Scan::default();
    for (stream, events) in streams {
        let batch = LogBatch {
            message_type: decode::MessageType::DataMessage,
            owner: "".into(),
            log_group: log_group.into(),
            log_stream: stream.into(),
            subscription_filters: Vec::new(),
            log_events: events
                .into_iter()
                .map(|e| decode::LogEvent {
                    id: e.event_id.as_str().into(),
                    timestamp: e.timestamp,
                    message: e.message.as_str().into(),
                })
                .collect(),
            omitted_events: 0,
        };
        scan.merge(scan_as_configured(&batch, config));
    }
    scan
}

/// Scans a batch as the log its group holds, by its name or the operator's
/// `EXECUTION_LOG_GROUPS`.
pub fn scan_as_configured(batch: &LogBatch, config: &Config) -> Scan {
    if config.own_log_group.as_deref() == Some(&*batch.log_group) {
        tracing::warn!(
            "a batch from the forwarder's own log group was not read: leave that group out of any account-level subscription policy"
        );
        return detect::ignore_batch(batch);
    }
    detect::scan_batch_as(batch, &config.format, config.log_kind(&batch.log_group))
}

/// The groups of a scan's findings: one per (log group, API, cause), and one for lines that did
/// not follow the format when most did not. [`alert::render_all`] alerts on the first
/// [`alert::MAX_ALERTS`] and summarises the rest.
pub fn groups_for(scan: &Scan, config: &Config) -> Vec<Group> {
    let mut groups = alert::group(&scan.findings, config.max_samples);
    for g in &mut groups {
        g.owner.clone_from(&scan.account_id);
    }
    groups.extend(alert::format_drift_group(scan, config.format.source()));
    groups
}

/// The alerts for a scan's findings: one per group up to [`alert::MAX_ALERTS`], and a summary of
/// the rest.
pub fn alerts_for(scan: &Scan, config: &Config) -> Vec<Alert> {
    alert::render_all(&groups_for(scan, config), config)
}

/// Checks each group that gets an alert of its own (the first [`alert::MAX_ALERTS`]) against its
/// API's live configuration when `config.diagnose` is set. Each of them gets a diagnosis or the
/// reason there is none; all of it together takes at most [`DIAGNOSIS_BUDGET`], and nothing here
/// can fail the alert. A summary names no authorizer, so the groups past the cap are not read.
pub async fn diagnose_groups<I: Inspector>(groups: &mut [Group], config: &Config, inspector: &I) {
    if !config.diagnose {
        return;
    }
    let deadline = Instant::now() + DIAGNOSIS_BUDGET;
    let mut read: HashMap<String, Result<Evidence, String>> = HashMap::new();
    // The live API says nothing about lines the forwarder could not read.
    for g in groups
        .iter_mut()
        .take(alert::MAX_ALERTS)
        .filter(|g| g.cause != Cause::FormatMismatch)
    {
        let Some(api_id) = g.api_ids.first().or(config.api_id.as_ref()).cloned() else {
            g.diagnosis = Some(Diagnosis::unavailable(
                "the log lines carry no $context.apiId and no API id is set (API_ID; --api-id on the command line)",
            ));
            continue;
        };
        if !read.contains_key(&api_id) {
            let left = deadline.saturating_duration_since(Instant::now());
            let evidence = inspect::gather(inspector, &api_id, left)
                .await
                .map_err(|e| e.to_string());
            if let Err(e) = &evidence {
                tracing::warn!(api_id, error = %e, "diagnosis unavailable");
            }
            read.insert(api_id.clone(), evidence);
        }
        g.diagnosis = Some(match &read[&api_id] {
            Ok(evidence) => diagnose::diagnose(g.cause, evidence, &g.routes),
            Err(reason) => Diagnosis::unavailable(reason.clone()),
        });
    }
}

/// Publishes alerts in order, stopping at the first failure.
pub async fn publish_all<P: Publisher>(
    alerts: &[Alert],
    publisher: &P,
) -> Result<Vec<String>, ForwardError> {
    publish_each(alerts, publisher, |_| {}).await
}

/// [`publish_all`], telling `published` the index of each alert SNS accepted as soon as it did, so
/// an invocation its deadline stops still counts what went out.
async fn publish_each<P: Publisher>(
    alerts: &[Alert],
    publisher: &P,
    mut published: impl FnMut(usize),
) -> Result<Vec<String>, ForwardError> {
    let mut ids = Vec::with_capacity(alerts.len());
    for (i, alert) in alerts.iter().enumerate() {
        match publisher.publish(alert).await {
            Ok(id) => {
                tracing::info!(message_id = %id, cause = %alert.attributes.cause, log_group = alert.attributes.log_group.as_deref().unwrap_or("-"), subject = %alert.subject, "alert published");
                published(i);
                ids.push(id);
            }
            Err(source) => {
                tracing::error!(cause = %alert.attributes.cause, log_group = alert.attributes.log_group.as_deref().unwrap_or("-"), error = %source, "alert not published");
                return Err(ForwardError::Publish {
                    published: ids.len(),
                    total: alerts.len(),
                    source,
                });
            }
        }
    }
    Ok(ids)
}

/// What an invocation talks to besides its settings: where alerts go, where the API's live
/// configuration is read, where flood-control windows are kept.
pub struct Services<'a, P, I, W> {
    pub publisher: &'a P,
    pub inspector: &'a I,
    pub windows: &'a W,
    /// When the invocation must be done: Lambda's deadline less a margin. None for the CLI.
    pub until: Option<Instant>,
    /// Where the invocation's counts go (see [`crate::metrics`]); none counts nothing.
    pub metrics: Option<&'a Recorder>,
}

impl<'a, P> Services<'a, P, Offline, flood::Off> {
    /// Publishing only: no diagnosis, no flood control (the settings decide whether either runs).
    pub fn new(publisher: &'a P) -> Self {
        Self {
            publisher,
            inspector: &Offline,
            windows: &flood::Off,
            until: None,
            metrics: None,
        }
    }
}

impl<'a, P, I, W> Services<'a, P, I, W> {
    pub fn inspector<J>(self, inspector: &'a J) -> Services<'a, P, J, W> {
        Services {
            publisher: self.publisher,
            inspector,
            windows: self.windows,
            until: self.until,
            metrics: self.metrics,
        }
    }

    pub fn windows<V>(self, windows: &'a V) -> Services<'a, P, I, V> {
        Services {
            publisher: self.publisher,
            inspector: self.inspector,
            windows,
            until: self.until,
            metrics: self.metrics,
        }
    }

    /// The same services for one invocation that must be done by `until` (none: no limit).
    pub fn until(&self, until: Option<Instant>) -> Self {
        Services {
            publisher: self.publisher,
            inspector: self.inspector,
            windows: self.windows,
            until,
            metrics: self.metrics,
        }
    }

    /// The same services, counting into `metrics`: one recorder per invocation.
    pub fn metrics<'b>(&'b self, metrics: &'b Recorder) -> Services<'b, P, I, W>
    where
        'a: 'b,
    {
        Services {
            publisher: self.publisher,
            inspector: self.inspector,
            windows: self.windows,
            until: self.until,
            metrics: Some(metrics),
        }
    }

    pub(crate) fn record(&self, count: impl FnOnce(&mut Tally)) {
        if let Some(recorder) = self.metrics {
            recorder.record(count);
        }
    }

    /// Runs `work` until the invocation's time runs out, failing it with
    /// [`ForwardError::Deadline`] after.
    pub(crate) async fn in_time<T>(
        &self,
        work: impl Future<Output = Result<T, ForwardError>>,
    ) -> Result<T, ForwardError> {
        let Some(until) = self.until else {
            return work.await;
        };
        match tokio::time::timeout_at(until.into(), work).await {
            Ok(done) => done,
            Err(_) => {
                tracing::error!("stopped before the function's timeout; Lambda retries the event");
                Err(ForwardError::Deadline)
            }
        }
    }
}

/// Seconds since the epoch, as flood control keeps time.
pub(crate) fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Handles one subscription event as delivered to Lambda.
pub async fn handle_event<P: Publisher, I: Inspector, W: AlertWindows>(
    event: &[u8],
    config: &Config,
    services: &Services<'_, P, I, W>,
) -> Result<Outcome, ForwardError> {
    services
        .in_time(async {
            let rejected = |e: &DecodeError| tracing::error!(error = %e, "event rejected");
            let payload = decode::decode_event(event).inspect_err(rejected)?;
            let batch = payload.parse_candidates().inspect_err(rejected)?;
            forward_batch(&batch, config, services).await
        })
        .await
}

/// Scans one batch, keeps the groups flood control lets through, diagnoses and publishes them:
/// up to [`alert::MAX_ALERTS`] one by one, and a summary of the rest.
pub async fn forward_batch<P: Publisher, I: Inspector, W: AlertWindows>(
    batch: &LogBatch<'_>,
    config: &Config,
    services: &Services<'_, P, I, W>,
) -> Result<Outcome, ForwardError> {
    forward_batch_within(batch, config, services, alert::MAX_ALERTS).await
}

/// [`forward_batch`] with at most `max_alerts` groups alerted on one by one (at most
/// [`alert::MAX_ALERTS`]): the invocation's records share that many.
async fn forward_batch_within<P: Publisher, I: Inspector, W: AlertWindows>(
    batch: &LogBatch<'_>,
    config: &Config,
    services: &Services<'_, P, I, W>,
    max_alerts: usize,
) -> Result<Outcome, ForwardError> {
    let max_alerts = max_alerts.min(alert::MAX_ALERTS);
    if batch.is_control() {
        tracing::info!("control message acknowledged");
        return Ok(Outcome {
            control_message: true,
            ..Outcome::default()
        });
    }
    let scan = scan_as_configured(batch, config);
    services.record(|t| t.count_scan_as(&scan, config.log_kind(&batch.log_group)));
    let mut groups = groups_for(&scan, config);
    let now = now_seconds();
    // Flood control asks about the groups in order until MAX_ALERTS may alert; those it did not
    // reach, and any past the cap, go into one summary, which flood control does not hold back.
    let mut gate = match config.flood_control() {
        Some((_, seconds)) => {
            let first = batch.log_events.first().map_or("", |e| e.id.as_ref());
            let id = flood::batch_id(&batch.log_group, &batch.log_stream, first);
            flood::gate_within(&mut groups, services.windows, &id, now, seconds, max_alerts).await
        }
        None => flood::Gate::default(),
    };
    let mut left = groups.split_off(groups.len().min(max_alerts));
    left.append(&mut gate.left);
    diagnose_groups(&mut groups, config, services.inspector).await;
    services.record(|t| t.alerts_suppressed += gate.suppressed as u64);
    let mut alerts = alert::render_all(&groups, config);
    let summary = alert::overflow(&left);
    alerts.extend(summary.as_ref().map(|o| alert::render_overflow(o, config)));
    tracing::info!(
        log_group = %batch.log_group,
        lines = scan.lines,
        findings = scan.findings.len(),
        ignored = scan.ignored,
        unmatched = scan.unmatched,
        drifted = scan.drifted,
        format_drift = scan.format_drift(),
        alerts = alerts.len(),
        suppressed = gate.suppressed,
        summarised = left.len(),
        "batch scanned"
    );
    let published = publish_each(&alerts, services.publisher, |i| {
        services.record(|t| match groups.get(i) {
            Some(g) => t.count_published(g),
            // The summary.
            None => t.alerts_published += 1,
        });
    })
    .await;
    // The alerts that went out are marked, so a redelivery of this batch (the retry of this
    // failure, a Kinesis record read again) stays quiet for them; the claims of those that did
    // not are withdrawn, so the retry alerts instead of counting itself as a repeat.
    let went_out = match &published {
        Ok(_) => groups.len(),
        Err(ForwardError::Publish { published, .. }) => *published,
        Err(_) => 0,
    };
    for g in groups.iter().take(went_out) {
        gate.sent(services.windows, g).await;
    }
    let message_ids = match published {
        Ok(ids) => ids,
        Err(e) => {
            for g in groups.get(went_out..).unwrap_or_default() {
                gate.release(services.windows, g).await;
            }
            return Err(e);
        }
    };
    Ok(Outcome {
        control_message: false,
        lines: scan.lines,
        findings: scan.findings.len(),
        ignored: scan.ignored,
        unmatched: scan.unmatched,
        drifted: scan.drifted,
        suppressed: gate.suppressed,
        summarised: left.len(),
        message_ids,
    })
}

/// What a scheduled recovery check did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryOutcome {
    /// Problems reported as over.
    pub recovered: usize,
    pub message_ids: Vec<String>,
}

/// Reports the problems that are over: windows that closed with no new failure for a whole
/// window length (an EventBridge schedule invokes this). Each is reported once: a new failure
/// opens a new window, and the next quiet window is reported again.
pub async fn handle_recovery<P: Publisher, I: Inspector, W: AlertWindows>(
    config: &Config,
    services: &Services<'_, P, I, W>,
) -> Result<RecoveryOutcome, ForwardError> {
    services.in_time(recover(config, services)).await
}

async fn recover<P: Publisher, I: Inspector, W: AlertWindows>(
    config: &Config,
    services: &Services<'_, P, I, W>,
) -> Result<RecoveryOutcome, ForwardError> {
    let Some((_, seconds)) = config.flood_control() else {
        tracing::info!("flood control is off; nothing to report as recovered");
        return Ok(RecoveryOutcome::default());
    };
    let now = now_seconds();
    let quiet = i64::try_from(seconds).unwrap_or(i64::MAX);
    let over = services
        .windows
        .quiet(now, quiet)
        .await
        .map_err(|e| ForwardError::Windows(e.to_string()))?;
    let mut outcome = RecoveryOutcome::default();
    for (i, q) in over.iter().enumerate() {
        let alert = alert::render_recovered(q, config);
        let id =
            services
                .publisher
                .publish(&alert)
                .await
                .map_err(|source| ForwardError::Publish {
                    published: i,
                    total: over.len(),
                    source,
                })?;
        tracing::info!(key = %q.key, message_id = %id, "recovery published");
        services.record(|t| t.alerts_published += 1);
        // Marked after publishing: a crash in between repeats the note rather than losing it.
        match services
            .windows
            .mark_recovered(&q.key, q.suppressed.window_start, now)
            .await
        {
            Ok(_) => {}
            Err(e) => tracing::warn!(key = %q.key, error = %e, "recovery not recorded"),
        }
        outcome.recovered += 1;
        outcome.message_ids.push(id);
    }
    Ok(outcome)
}

/// The answer to a Kinesis invocation
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html>):
/// the records that failed, so Lambda retries from the first of them instead of the whole batch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The record's sequence number.
    pub item_identifier: String,
}

/// Handles a Kinesis event from a stream a CloudWatch Logs destination feeds: each record holds
/// the same gzip payload a subscription delivers. A record that cannot be decoded or whose alerts
/// cannot be published is reported by its sequence number; the others go through. Lambda resumes
/// from the lowest failed sequence number, so records after it may be delivered again; flood
/// control turns those repeats into counts. When the invocation's time ([`Services::until`]) runs
/// out, the record in hand and every later one are reported, and the ones done stay done.
pub async fn handle_kinesis<P: Publisher, I: Inspector, W: AlertWindows>(
    event: &[u8],
    config: &Config,
    services: &Services<'_, P, I, W>,
) -> Result<KinesisResponse, ForwardError> {
    let event = decode::parse_kinesis(event).inspect_err(|e| {
        tracing::error!(error = %e, "event rejected");
    })?;
    let mut response = KinesisResponse::default();
    // The records share the invocation's alerts: past MAX_ALERTS, each record's problems go into
    // its summary.
    let mut alerts_left = alert::MAX_ALERTS;
    for (i, record) in event.records.iter().enumerate() {
        let sequence = record.kinesis.sequence_number.as_ref();
        let work = async {
            match decode::decode_data(&record.kinesis.data) {
                Ok(payload) => match payload.parse_candidates() {
                    Ok(batch) => forward_batch_within(&batch, config, services, alerts_left).await,
                    Err(e) => Err(e.into()),
                },
                Err(e) => Err(e.into()),
            }
        };
        let outcome = services.in_time(work).await;
        if let Ok(o) = &outcome {
            let one_by_one = o.message_ids.len() - usize::from(o.summarised > 0);
            alerts_left = alerts_left.saturating_sub(one_by_one);
        }
        if let Err(ForwardError::Deadline) = outcome {
            let left = &event.records[i..];
            tracing::error!(
                sequence_number = sequence,
                records_left = left.len(),
                "the records left are reported as failed"
            );
            response
                .batch_item_failures
                .extend(left.iter().map(|r| BatchItemFailure {
                    item_identifier: r.kinesis.sequence_number.as_ref().to_owned(),
                }));
            break;
        }
        if let Err(e) = outcome {
            tracing::error!(sequence_number = sequence, error = %e, "record failed");
            response.batch_item_failures.push(BatchItemFailure {
                item_identifier: sequence.to_owned(),
            });
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{ApiConfig, ApiKind, Authorizer, Route};
    use crate::inspect::{InspectError, MemoryInspector};
    use crate::publish::MemoryPublisher;

    const PERMISSION: &str = r#"198.51.100.7 - - [10/Oct/2023:01:01:01 +0000] "GET GET /orders HTTP/1.1" 500 35 req-1= AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."#;
    const FORMAT: &str = r#"198.51.100.7 - - [10/Oct/2023:01:01:02 +0000] "GET GET /pets HTTP/1.1" 500 35 req-2= AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;
    const HEALTHY: &str = r#"198.51.100.7 - - [10/Oct/2023:01:01:03 +0000] "GET GET /health HTTP/1.1" 200 2 req-3= -"#;

    fn event(lines: &[&str]) -> Vec<u8> {
        let e = decode::encode_event(&lines.join("\n"), "/aws/api/prod", "s", "123456789012", 0);
        serde_json::to_vec(&e).unwrap()
    }

    fn config() -> Config {
        Config {
            topic: Some("arn:aws:sns:us-east-1:123456789012:t".parse().unwrap()),
            label: Some("prod".into()),
            region: Some("us-east-1".into()),
            ..Config::default()
        }
    }

    /// A publisher whose calls never return, as an SNS that accepts and never answers.
    struct Stuck;

    impl Publisher for Stuck {
        async fn publish(&self, _: &Alert) -> Result<String, PublishError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn kinesis_reports_the_records_left_when_time_runs_out() {
        let gz = |line: &str| {
            let e = decode::encode_event(line, "/aws/api/prod", "s", "123456789012", 0);
            let data = e["awslogs"]["data"].as_str().unwrap().to_owned();
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).unwrap()
        };
        let records = [("1", gz(HEALTHY)), ("2", gz(PERMISSION)), ("3", gz(FORMAT))];
        let event = serde_json::to_vec(&decode::encode_kinesis(&records)).unwrap();
        let stuck = Stuck;
        let services =
            Services::new(&stuck).until(Some(Instant::now() + Duration::from_millis(50)));
        let response = handle_kinesis(&event, &config(), &services).await.unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            failed,
            ["2", "3"],
            "the healthy record is done, the rest retried"
        );
        // Without a deadline, as the CLI runs it, every record goes through.
        let memory = MemoryPublisher::new();
        let unhurried = Services::new(&memory);
        let out = handle_kinesis(&event, &config(), &unhurried).await.unwrap();
        assert!(out.batch_item_failures.is_empty());
        assert_eq!(memory.sent().len(), 2);
    }

    #[tokio::test]
    async fn publishes_one_alert_per_cause() {
        let publisher = MemoryPublisher::new();
        let out = handle_event(
            &event(&[PERMISSION, FORMAT, HEALTHY, PERMISSION]),
            &config(),
            &Services::new(&publisher),
        )
        .await
        .unwrap();
        assert_eq!((out.lines, out.findings, out.ignored), (4, 3, 0));
        assert_eq!(out.message_ids, ["memory-1", "memory-2"]);
        let sent = publisher.sent();
        assert_eq!(
            sent[0].subject,
            "[prod] API authorizer misconfigured: missing invoke permission (2x)"
        );
        assert_eq!(sent[0].attributes.cause, "missing_invoke_permission");
        assert_eq!(
            sent[0].attributes.log_group.as_deref(),
            Some("/aws/api/prod")
        );
        assert_eq!(sent[1].attributes.cause, "invalid_response_format");
        assert!(
            sent[1]
                .email
                .contains("Simple response did not include 'isAuthorized'")
        );
    }

    /// An HTTP API's message without a token, in the recommended format the stage was given: one
    /// alert naming the API, with the status as logged; the message in a client's place alerts no one.
    #[tokio::test]
    async fn messages_without_a_token_are_alerted() {
        let line = |rid: &str, route: &str, status: u16, error: &str| {
            format!(
                r#"93.142.91.220 - - [12/Oct/2021:13:57:46 +0000] "POST {route} HTTP/1.1" {status} 35 {rid} k7m2p9x4qa prod - {error}"#
            )
        };
        let message = "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response";
        let recommended = Config {
            format: crate::access_log::LogFormat::parse(crate::access_log::RECOMMENDED_FORMAT)
                .unwrap(),
            ..config()
        };
        let publisher = MemoryPublisher::new();
        let out = handle_event(
            &event(&[
                &line("HGQeGiXZliAEPSw=", "/deploy", 500, message),
                &line("HGQeHbXZliAEPTw=", "/deploy", 500, message),
                &line("HGQeIcXZliAEPUw=", "/health", 200, "-"),
            ]),
            &recommended,
            &Services::new(&publisher),
        )
        .await
        .unwrap();
        assert_eq!((out.lines, out.findings, out.ignored), (3, 2, 0));
        let sent = publisher.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].subject,
            "[prod] API authorizer misconfigured: invalid response format (2x)"
        );
        assert_eq!(sent[0].attributes.cause, "invalid_response_format");
        assert!(sent[0].email.contains("k7m2p9x4qa"), "{}", sent[0].email);
        assert!(sent[0].email.contains("HTTP 500"), "{}", sent[0].email);
        assert!(
            sent[0]
                .email
                .contains("Invalid json in authorizer response")
        );

        // Only a client wrote the words (the route, in a format that logs the path): ignored.
        let path_format = crate::access_log::LogFormat::parse(
            r#"$context.requestId "$context.path" $context.status $context.authorizer.error"#,
        )
        .unwrap();
        let quiet = MemoryPublisher::new();
        let out = handle_event(
            &event(&[&format!(r#"HGQeJdXZliAEPVw= "/{message}" 404 -"#)]),
            &Config {
                format: path_format,
                ..config()
            },
            &Services::new(&quiet),
        )
        .await
        .unwrap();
        assert_eq!((out.findings, out.ignored), (0, 1));
        assert!(quiet.sent().is_empty());
    }

    /// The stage's format changed (a user agent appended) while the forwarder kept the old one:
    /// the token lines no longer follow it, and that is alerted on instead of going quiet.
    #[tokio::test]
    async fn format_drift_is_alerted_not_silent() {
        let appended = format!("{PERMISSION} \"Mozilla/5.0 AUTHORIZER_CONFIGURATION_ERROR\"");
        let publisher = MemoryPublisher::new();
        let out = handle_event(
            &event(&[&appended, &appended, PERMISSION, HEALTHY]),
            &config(),
            &Services::new(&publisher),
        )
        .await
        .unwrap();
        assert_eq!((out.findings, out.unmatched), (1, 2));
        let sent = publisher.sent();
        assert_eq!(sent.len(), 2);
        let drift = &sent[1];
        assert_eq!(drift.attributes.cause, "format_mismatch");
        assert_eq!(drift.attributes.severity, "warning");
        assert_eq!(
            drift.subject,
            "[prod] API authorizer alerts blind: access-log format mismatch (2x)"
        );
        assert!(
            drift
                .email
                .contains("Lines not read: 2 / 3 lines carrying the token")
        );
        assert!(drift.email.contains(crate::access_log::DEFAULT_FORMAT));
        assert!(
            drift
                .email
                .contains("Mozilla/5.0 AUTHORIZER_CONFIGURATION_ERROR")
        );
        assert!(drift.email.contains("get-stage"));
        let machine: serde_json::Value = serde_json::from_str(&drift.machine).unwrap();
        assert_eq!(machine["drift"]["with_token"], 3);
        assert_eq!(machine["count"], 2);
        // A minority of such lines is counted, not alerted on.
        let publisher = MemoryPublisher::new();
        let out = handle_event(
            &event(&[&appended, PERMISSION, PERMISSION]),
            &config(),
            &Services::new(&publisher),
        )
        .await
        .unwrap();
        assert_eq!((out.findings, out.unmatched), (2, 1));
        assert_eq!(publisher.sent().len(), 1);
    }

    /// An account-level subscription policy that reaches the forwarder's own log group delivers
    /// its lines back to it: they are counted ignored, never flagged, so nothing loops.
    #[tokio::test]
    async fn the_forwarder_never_reads_its_own_log_group() {
        let own = "/aws/lambda/alerts-forwarder";
        let batch = LogBatch {
            message_type: decode::MessageType::DataMessage,
            owner: "123456789012".into(),
            log_group: own.into(),
            log_stream: "2026/12/07/[$LATEST]abc".into(),
            subscription_filters: vec![],
            log_events: vec![
                decode::LogEvent {
                    id: "1".into(),
                    timestamp: 0,
                    message: PERMISSION.into(),
                },
                decode::LogEvent {
                    id: "2".into(),
                    timestamp: 0,
                    message: "START RequestId: 1".into(),
                },
            ],
            omitted_events: 0,
        };
        let bytes = serde_json::to_vec(&decode::encode_batch(&batch)).unwrap();
        let publisher = MemoryPublisher::new();
        let own_config = Config {
            own_log_group: Some(own.into()),
            ..config()
        };
        let out = handle_event(&bytes, &own_config, &Services::new(&publisher))
            .await
            .unwrap();
        assert_eq!((out.lines, out.findings, out.ignored), (2, 0, 1));
        assert!(publisher.sent().is_empty());
        // The same lines in any other group are read as usual.
        let out = handle_event(&bytes, &config(), &Services::new(&publisher))
            .await
            .unwrap();
        assert_eq!(out.findings, 1);
    }

    #[tokio::test]
    async fn control_message_publishes_nothing() {
        let batch = LogBatch {
            message_type: decode::MessageType::ControlMessage,
            owner: "CloudwatchLogs".into(),
            log_group: "".into(),
            log_stream: "".into(),
            subscription_filters: vec![],
            log_events: vec![decode::LogEvent {
                id: "".into(),
                timestamp: 0,
                message: PERMISSION.into(),
            }],
            omitted_events: 0,
        };
        let bytes = serde_json::to_vec(&decode::encode_batch(&batch)).unwrap();
        let publisher = MemoryPublisher::new();
        let out = handle_event(&bytes, &config(), &Services::new(&publisher))
            .await
            .unwrap();
        assert!(out.control_message);
        assert!(publisher.sent().is_empty());
    }

    #[tokio::test]
    async fn bad_event_is_an_error() {
        let err = handle_event(b"{}", &config(), &Services::new(&MemoryPublisher::new()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ForwardError::Decode(DecodeError::MissingAwslogs)),
            "{err}"
        );
    }

    #[tokio::test]
    async fn partial_publish_is_an_error_that_counts() {
        let publisher = MemoryPublisher::failing_after(1);
        let err = handle_event(
            &event(&[PERMISSION, FORMAT]),
            &config(),
            &Services::new(&publisher),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "1 of 2 alerts published, then publishing to memory failed: refused by test publisher"
        );
        assert_eq!(publisher.sent().len(), 1);
    }

    #[tokio::test]
    async fn an_invocation_counts_what_it_saw_held_back_and_sent() {
        const FORGED: &str = r#"198.51.100.7 - - [10/Oct/2023:01:01:04 +0000] "GET GET /AUTHORIZER_CONFIGURATION_ERROR HTTP/1.1" 200 2 req-4= -"#;
        let publisher = MemoryPublisher::failing_after(1);
        let windows = crate::flood::MemoryWindows::default();
        let flood = Config {
            state_table: Some("windows".into()),
            ..config()
        };
        let services = Services::new(&publisher).windows(&windows);
        let recorder = Recorder::default();
        // Two causes, a forged line and a healthy one; the second alert fails to publish.
        let batch = event(&[PERMISSION, FORMAT, PERMISSION, FORGED, HEALTHY]);
        handle_event(&batch, &flood, &services.metrics(&recorder))
            .await
            .unwrap_err();
        let t = recorder.take();
        assert_eq!(t.failed_requests(), 3);
        assert_eq!(
            t.failures
                .iter()
                .map(|((c, _), n)| (*c, *n))
                .collect::<Vec<_>>(),
            [
                (Cause::MissingInvokePermission, 2),
                (Cause::InvalidResponseFormat, 1)
            ]
        );
        assert_eq!((t.forged_ignored, t.alerts_published), (1, 1));
        // The retry repeats only the alert that failed: the one that went out is marked. Its
        // lines are counted again.
        let publisher = MemoryPublisher::default();
        let services = Services::new(&publisher).windows(&windows);
        handle_event(&batch, &flood, &services.metrics(&recorder))
            .await
            .unwrap();
        let t = recorder.take();
        assert_eq!(
            (t.failed_requests(), t.alerts_published, t.alerts_suppressed),
            (3, 1, 1)
        );
        assert_eq!(
            publisher.sent()[0].attributes.cause,
            "invalid_response_format"
        );
        // Another batch of the same problems, from another stream: both held back.
        let other = decode::encode_event(
            &[PERMISSION, FORMAT].join("\n"),
            "/aws/api/prod",
            "s2",
            "123456789012",
            0,
        );
        handle_event(
            &serde_json::to_vec(&other).unwrap(),
            &flood,
            &services.metrics(&recorder),
        )
        .await
        .unwrap();
        let t = recorder.take();
        assert_eq!(
            (t.failed_requests(), t.alerts_published, t.alerts_suppressed),
            (2, 0, 2)
        );
        assert_eq!(t.diagnosis_unavailable, 0, "diagnosis is off");
        // Without a recorder nothing is counted, and nothing fails for it.
        handle_event(&event(&[PERMISSION]), &config(), &Services::new(&publisher))
            .await
            .unwrap();
        assert_eq!(recorder.take(), Tally::default());
    }

    /// One failed request on each of `apis` distinct APIs, in a JSON format that logs the API.
    fn many_apis(apis: usize, stream: &str) -> (Vec<u8>, Config) {
        let lines: Vec<String> = (0..apis)
            .map(|i| {
                format!(
                    r#"{{"requestId":"r{i}","status":"500","apiId":"{i:010}","authorizerError":"AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."}}"#
                )
            })
            .collect();
        let e = decode::encode_event(
            &lines.join("\n"),
            "/aws/api/prod",
            stream,
            "123456789012",
            0,
        );
        let format = crate::access_log::LogFormat::parse(
            r#"{"requestId":"$context.requestId","status":"$context.status","apiId":"$context.apiId","authorizerError":"$context.authorizer.error"}"#,
        )
        .unwrap();
        (
            serde_json::to_vec(&e).unwrap(),
            Config { format, ..config() },
        )
    }

    /// The summary's problems and lines, from its machine JSON.
    fn summary_totals(alert: &Alert) -> (u64, u64) {
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        assert_eq!(machine["type"], "authorizer_configuration_error_overflow");
        (
            machine["problems"].as_u64().unwrap(),
            machine["lines"].as_u64().unwrap(),
        )
    }

    /// A batch naming 50,000 APIs: grouping stays linear, and one invocation sends MAX_ALERTS
    /// alerts and one summary of the rest, both through the handler and as the command line
    /// renders a scan.
    #[tokio::test]
    async fn a_batch_of_many_apis_sends_capped_alerts_and_one_summary() {
        const APIS: usize = 50_000;
        let (event, config) = many_apis(APIS, "s");
        let publisher = MemoryPublisher::new();
        let out = handle_event(&event, &config, &Services::new(&publisher))
            .await
            .unwrap();
        assert_eq!(
            (out.findings, out.summarised),
            (APIS, APIS - alert::MAX_ALERTS)
        );
        let sent = publisher.sent();
        assert_eq!(sent.len(), alert::MAX_ALERTS + 1);
        assert_eq!(out.message_ids.len(), sent.len());
        let summary = sent.last().unwrap();
        let left = (APIS - alert::MAX_ALERTS) as u64;
        assert_eq!(summary_totals(summary), (left, left));
        assert_eq!(summary.attributes.cause, alert::OVERFLOW_CAUSE_CODE);
        assert!(summary.publish_bytes() < alert::MAX_MESSAGE_BYTES);
        assert!(
            summary
                .email
                .contains(&format!("Left out: {left} problems, {left} lines")),
            "{}",
            summary.email
        );
        // The APIs left out start after those alerted on.
        assert!(
            summary.email.contains("APIs: 0000000025, 0000000026"),
            "{}",
            summary.email
        );
        // The command line's rendering of the same scan.
        let payload = decode::decode_event(&event).unwrap();
        let (scan, alerts) = prepare(&payload.parse_candidates().unwrap(), &config);
        assert_eq!(scan.findings.len(), APIS);
        assert_eq!(alerts.len(), alert::MAX_ALERTS + 1);
        assert_eq!(summary_totals(alerts.last().unwrap()), (left, left));
    }

    /// A Kinesis invocation's records share its alerts: once MAX_ALERTS went out one by one,
    /// each later record's problems are in its summary.
    #[tokio::test]
    async fn kinesis_records_share_the_invocations_alerts() {
        // Each record holds 20 APIs' failures; without flood control each record alerts on its
        // own, so the three would be 60 alerts one by one.
        let (event, config) = many_apis(20, "s");
        let event: serde_json::Value = serde_json::from_slice(&event).unwrap();
        let data = event["awslogs"]["data"].as_str().unwrap();
        let gz = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).unwrap();
        let (first, second, third) = (gz.clone(), gz.clone(), gz);
        let records = [("1", first), ("2", second), ("3", third)];
        let event = serde_json::to_vec(&decode::encode_kinesis(&records)).unwrap();
        let publisher = MemoryPublisher::new();
        let out = handle_kinesis(&event, &config, &Services::new(&publisher))
            .await
            .unwrap();
        assert!(out.batch_item_failures.is_empty());
        let sent = publisher.sent();
        let summaries: Vec<(u64, u64)> = sent
            .iter()
            .filter(|a| a.attributes.cause == alert::OVERFLOW_CAUSE_CODE)
            .map(summary_totals)
            .collect();
        // 20 from the first record, 5 from the second and its summary of 15, the third's summary.
        assert_eq!(sent.len(), alert::MAX_ALERTS + 2);
        assert_eq!(summaries, [(15, 15), (20, 20)]);
    }

    /// With flood control, a batch asks about a bounded number of windows: it stops once
    /// MAX_ALERTS groups may alert, and the next batch of the same problems reaches further.
    #[tokio::test]
    async fn flood_control_asks_about_a_bounded_number_of_groups() {
        const APIS: usize = 1_000;
        let windows = crate::flood::MemoryWindows::default();
        let publisher = MemoryPublisher::new();
        let services = Services::new(&publisher).windows(&windows);
        let (first, config) = many_apis(APIS, "s1");
        let config = Config {
            state_table: Some("windows".into()),
            ..config
        };
        let out = handle_event(&first, &config, &services).await.unwrap();
        let cap = alert::MAX_ALERTS;
        assert_eq!((out.suppressed, out.summarised), (0, APIS - cap));
        assert_eq!(out.message_ids.len(), cap + 1);
        // The same problems again: the first windows are open, the next ones open now.
        let (again, _) = many_apis(APIS, "s2");
        let out = handle_event(&again, &config, &services).await.unwrap();
        assert_eq!((out.suppressed, out.summarised), (cap, APIS - 2 * cap));
        assert_eq!(out.message_ids.len(), cap + 1);
        let sent = publisher.sent();
        let second: Vec<&Alert> = sent[cap + 1..].iter().collect();
        assert!(
            second[0].email.contains("0000000025"),
            "{}",
            second[0].email
        );
        let left = (APIS - 2 * cap) as u64;
        assert_eq!(summary_totals(second[cap]), (left, left));
        // Each batch reaches 25 further, until every window it may ask about is open: then none
        // alerts one by one, and the summary still tells what was left out.
        assert_eq!(crate::flood::DECISIONS_PER_ALERT, 4, "the table assumes it");
        for (stream, suppressed, alerts) in [
            ("s3", 2 * cap, cap),
            ("s4", 3 * cap, cap),
            ("s5", 4 * cap, 0),
            ("s6", 4 * cap, 0),
        ] {
            let (batch, _) = many_apis(APIS, stream);
            let out = handle_event(&batch, &config, &services).await.unwrap();
            assert_eq!(out.suppressed, suppressed, "{stream}");
            assert_eq!(out.message_ids.len(), alerts + 1, "{stream}");
            assert_eq!(out.summarised, APIS - suppressed - alerts, "{stream}");
        }
    }

    const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:auth-fn";

    fn live_api() -> MemoryInspector {
        let mut m = MemoryInspector::default();
        m.apis.insert(
            "a1b2c3".into(),
            ApiConfig {
                api_id: "a1b2c3".into(),
                kind: ApiKind::Http,
                name: None,
                routes: vec![Route {
                    route_key: "GET /orders".into(),
                    authorization_type: Some("CUSTOM".into()),
                    authorizer_id: Some("au1".into()),
                }],
                authorizers: vec![Authorizer {
                    id: "au1".into(),
                    name: "orders-auth".into(),
                    authorizer_type: "REQUEST".into(),
                    uri: Some(format!(
                        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"
                    )),
                    credentials_arn: None,
                    simple_responses: true,
                    payload_format_version: Some("2.0".into()),
                    identity_source: None,
                }],
            },
        );
        m
    }

    fn diagnosing() -> Config {
        Config {
            diagnose: true,
            api_id: Some("a1b2c3".into()),
            ..config()
        }
    }

    #[tokio::test]
    async fn alerts_carry_the_diagnosis_and_the_exact_command() {
        let publisher = MemoryPublisher::new();
        handle_event(
            &event(&[PERMISSION]),
            &diagnosing(),
            &Services::new(&publisher).inspector(&live_api()),
        )
        .await
        .unwrap();
        let sent = publisher.sent();
        let email = &sent[0].email;
        assert!(
            email.contains("route GET /orders -> authorizer orders-auth (au1) -> function arn:aws:lambda:us-east-1:123456789012:function:auth-fn"),
            "{email}"
        );
        assert!(
            email.contains("PROBLEM: function auth-fn has no resource policy"),
            "{email}"
        );
        assert!(
            email.contains(
                "--source-arn arn:aws:execute-api:us-east-1:123456789012:a1b2c3/authorizers/au1"
            ),
            "{email}"
        );
        let machine: serde_json::Value = serde_json::from_str(&sent[0].machine).unwrap();
        assert_eq!(machine["diagnosis"]["status"], "checked");
        assert_eq!(
            machine["diagnosis"]["authorizers"][0]["authorizer_id"],
            "au1"
        );
        let chat: serde_json::Value = serde_json::from_str(&sent[0].chat).unwrap();
        assert!(
            chat["content"]["nextSteps"]
                .to_string()
                .contains("authorizers/au1")
        );
    }

    #[tokio::test]
    async fn a_failed_lookup_still_alerts() {
        let cases = [
            (
                MemoryInspector {
                    failure: Some(InspectError::Denied {
                        call: "apigateway:GetRoutes",
                        reason: "AccessDeniedException".into(),
                    }),
                    ..MemoryInspector::default()
                },
                "Diagnosis unavailable: apigateway:GetRoutes was refused: AccessDeniedException",
            ),
            (
                MemoryInspector::default(),
                "Diagnosis unavailable: API a1b2c3 was not found in this account and region",
            ),
        ];
        for (inspector, expected) in cases {
            let publisher = MemoryPublisher::new();
            handle_event(
                &event(&[PERMISSION]),
                &diagnosing(),
                &Services::new(&publisher).inspector(&inspector),
            )
            .await
            .unwrap();
            let email = &publisher.sent()[0].email;
            assert!(email.contains(expected), "{email}");
            // The remedy's own command stands in for the exact one.
            assert!(email.contains("aws lambda add-permission"), "{email}");
        }
        // Without an API id there is nothing to look up.
        let publisher = MemoryPublisher::new();
        let config = Config {
            api_id: None,
            ..diagnosing()
        };
        handle_event(
            &event(&[PERMISSION]),
            &config,
            &Services::new(&publisher).inspector(&live_api()),
        )
        .await
        .unwrap();
        assert!(
            publisher.sent()[0]
                .email
                .contains("Diagnosis unavailable: the log lines carry no $context.apiId")
        );
    }
}
