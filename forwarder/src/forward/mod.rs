//! The handler's work for one invocation: decode, scan, group, render, publish.

mod error;

pub use error::{CheckError, ForwardError};

use serde::Serialize;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use crate::alerts::flood::{self, AlertWindows};
use crate::alerts::group::{self, Group};
use crate::alerts::publish::Publisher;
use crate::alerts::render::{self, Alert};
use crate::config::Config;
use crate::detect;
use crate::diagnose::inspect::{self, FoundEvent, Inspector, Offline};
use crate::diagnose::{self, Diagnosis, Evidence};
use crate::metrics::{Recorder, Tally};
use crate::model::cause::Cause;
use crate::model::finding::Scan;
use crate::sources::{self, DecodeError, LogBatch};

/// How long all diagnoses of one invocation may take together; an alert never waits longer.
pub const DIAGNOSIS_BUDGET: Duration = Duration::from_secs(3);

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
    /// Groups past [`render::MAX_ALERTS`], told in one summary alert instead of one each.
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
        let events = events
            .into_iter()
            .map(|e| sources::LogEvent {
                id: e.event_id.as_str().into(),
                timestamp: e.timestamp,
                message: e.message.as_str().into(),
            })
            .collect();
        let batch = LogBatch::of_events(log_group, stream, events);
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
/// not follow the format when most did not. [`render::render_all`] alerts on the first
/// [`render::MAX_ALERTS`] and summarises the rest.
pub fn groups_for(scan: &Scan, config: &Config) -> Vec<Group> {
    let mut groups = group::group(&scan.findings, config.max_samples);
    for g in &mut groups {
        g.owner.clone_from(&scan.account_id);
    }
    groups.extend(group::format_drift_group(scan, config.format.source()));
    groups
}

/// The alerts for a scan's findings: one per group up to [`render::MAX_ALERTS`], and a summary of
/// the rest.
pub fn alerts_for(scan: &Scan, config: &Config) -> Vec<Alert> {
    render::render_all(&groups_for(scan, config), config)
}

/// Checks each group that gets an alert of its own (the first [`render::MAX_ALERTS`]) against its
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
        .take(render::MAX_ALERTS)
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
            let payload = sources::decode_event(event).inspect_err(rejected)?;
            let batch = payload.parse_candidates().inspect_err(rejected)?;
            forward_batch(&batch, config, services).await
        })
        .await
}

/// Scans one batch, keeps the groups flood control lets through, diagnoses and publishes them:
/// up to [`render::MAX_ALERTS`] one by one, and a summary of the rest.
pub async fn forward_batch<P: Publisher, I: Inspector, W: AlertWindows>(
    batch: &LogBatch<'_>,
    config: &Config,
    services: &Services<'_, P, I, W>,
) -> Result<Outcome, ForwardError> {
    forward_batch_within(batch, config, services, render::MAX_ALERTS).await
}

/// [`forward_batch`] with at most `max_alerts` groups alerted on one by one (at most
/// [`render::MAX_ALERTS`]): the invocation's records share that many.
async fn forward_batch_within<P: Publisher, I: Inspector, W: AlertWindows>(
    batch: &LogBatch<'_>,
    config: &Config,
    services: &Services<'_, P, I, W>,
    max_alerts: usize,
) -> Result<Outcome, ForwardError> {
    let max_alerts = max_alerts.min(render::MAX_ALERTS);
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
    let mut alerts = render::render_all(&groups, config);
    let summary = render::overflow(&left);
    alerts.extend(summary.as_ref().map(|o| render::render_overflow(o, config)));
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
        let alert = render::render_recovered(q, config);
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
    let event = sources::parse_kinesis(event).inspect_err(|e| {
        tracing::error!(error = %e, "event rejected");
    })?;
    let mut response = KinesisResponse::default();
    // The records share the invocation's alerts: past MAX_ALERTS, each record's problems go into
    // its summary.
    let mut alerts_left = render::MAX_ALERTS;
    for (i, record) in event.records.iter().enumerate() {
        let sequence = record.kinesis.sequence_number.as_ref();
        let work = async {
            match sources::decode_data(&record.kinesis.data) {
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
mod tests;
