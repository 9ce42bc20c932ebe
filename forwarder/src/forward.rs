//! The handler's work for one invocation: decode, scan, group, render, publish.

use serde::Serialize;

use crate::alert::{self, Alert};
use crate::config::Config;
use crate::decode::{self, DecodeError, LogBatch};
use crate::detect::{self, Scan};
use crate::publish::{PublishError, Publisher};

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
}

/// What an invocation did; the handler's response and its log line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub control_message: bool,
    pub lines: usize,
    pub findings: usize,
    pub ignored: usize,
    pub message_ids: Vec<String>,
}

/// Scans a batch and renders its alerts; no I/O, so previews and tests share it with Lambda.
pub fn prepare(batch: &LogBatch, config: &Config) -> (Scan, Vec<Alert>) {
    let scan = detect::scan_batch(batch, &config.format);
    let alerts = alerts_for(&scan, config);
    (scan, alerts)
}

/// The alerts for a scan's findings: one per (log group, cause).
pub fn alerts_for(scan: &Scan, config: &Config) -> Vec<Alert> {
    let groups = alert::group(&scan.findings, config.max_samples);
    alert::render_all(&groups, config)
}

/// Publishes alerts in order, stopping at the first failure.
pub async fn publish_all<P: Publisher>(
    alerts: &[Alert],
    publisher: &P,
) -> Result<Vec<String>, ForwardError> {
    let mut ids = Vec::with_capacity(alerts.len());
    for alert in alerts {
        match publisher.publish(alert).await {
            Ok(id) => {
                tracing::info!(message_id = %id, cause = %alert.attributes.cause, log_group = %alert.attributes.log_group, subject = %alert.subject, "alert published");
                ids.push(id);
            }
            Err(source) => {
                tracing::error!(cause = %alert.attributes.cause, log_group = %alert.attributes.log_group, error = %source, "alert not published");
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

/// Handles one subscription event as delivered to Lambda.
pub async fn handle_event<P: Publisher>(
    event: &[u8],
    config: &Config,
    publisher: &P,
) -> Result<Outcome, ForwardError> {
    let rejected = |e: &DecodeError| tracing::error!(error = %e, "event rejected");
    let payload = decode::decode_event(event).inspect_err(rejected)?;
    let batch = payload.parse().inspect_err(rejected)?;
    if batch.is_control() {
        tracing::info!("control message acknowledged");
        return Ok(Outcome {
            control_message: true,
            ..Outcome::default()
        });
    }
    let (scan, alerts) = prepare(&batch, config);
    tracing::info!(
        log_group = %batch.log_group,
        lines = scan.lines,
        findings = scan.findings.len(),
        ignored = scan.ignored,
        alerts = alerts.len(),
        "batch scanned"
    );
    let message_ids = publish_all(&alerts, publisher).await?;
    Ok(Outcome {
        control_message: false,
        lines: scan.lines,
        findings: scan.findings.len(),
        ignored: scan.ignored,
        message_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[tokio::test]
    async fn publishes_one_alert_per_cause() {
        let publisher = MemoryPublisher::new();
        let out = handle_event(
            &event(&[PERMISSION, FORMAT, HEALTHY, PERMISSION]),
            &config(),
            &publisher,
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
        assert_eq!(sent[0].attributes.log_group, "/aws/api/prod");
        assert_eq!(sent[1].attributes.cause, "invalid_response_format");
        assert!(
            sent[1]
                .email
                .contains("Simple response did not include 'isAuthorized'")
        );
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
        };
        let bytes = serde_json::to_vec(&decode::encode_batch(&batch)).unwrap();
        let publisher = MemoryPublisher::new();
        let out = handle_event(&bytes, &config(), &publisher).await.unwrap();
        assert!(out.control_message);
        assert!(publisher.sent().is_empty());
    }

    #[tokio::test]
    async fn bad_event_is_an_error() {
        let err = handle_event(b"{}", &config(), &MemoryPublisher::new())
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
        let err = handle_event(&event(&[PERMISSION, FORMAT]), &config(), &publisher)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "1 of 2 alerts published, then publishing to memory failed: refused by test publisher"
        );
        assert_eq!(publisher.sent().len(), 1);
    }
}
