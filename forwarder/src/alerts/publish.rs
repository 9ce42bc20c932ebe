//! Sending alerts. The one AWS call the forwarder makes sits behind [`Publisher`] so the handler
//! can be tested with [`MemoryPublisher`] and the CLI can preview alerts without AWS.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_sns::types::MessageAttributeValue;

use crate::alerts::render::Alert;
use crate::config::TopicArn;

/// A publish that failed after the SDK's own retries.
#[derive(Debug, thiserror::Error)]
#[error("publishing to {topic} failed: {reason}")]
pub struct PublishError {
    pub topic: String,
    pub reason: String,
}

/// Publishes one alert and returns the message id.
pub trait Publisher {
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<String, PublishError>> + Send;
}

/// Publishes to an SNS topic through the AWS SDK.
///
/// The SDK's standard retry policy (3 attempts with backoff) already covers throttling, 5xx and
/// connection errors (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/retries.html>); what still
/// fails is returned so Lambda's own retries and the on-failure destination keep the batch.
#[derive(Clone, Debug)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic: TopicArn,
}

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic: TopicArn) -> Self {
        Self { client, topic }
    }

    /// Builds a client from the environment (credentials, `AWS_ENDPOINT_URL`), in the topic's
    /// region, with timeouts short enough to leave room for Lambda's own.
    pub async fn from_env(topic: TopicArn) -> Result<Self, crate::sdk::AwsError> {
        let shared = crate::sdk::load(Some(topic.region()), Self::timeouts()).await?;
        Ok(Self::new(aws_sdk_sns::Client::new(&shared), topic))
    }

    /// Builds a client from settings already loaded (credentials, endpoint, HTTPS client), in the
    /// topic's region and with the publishing timeouts whatever `sdk` says.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, topic: TopicArn) -> Self {
        let config = aws_sdk_sns::config::Builder::from(sdk)
            .region(aws_config::Region::new(topic.region().to_owned()))
            .timeout_config(Self::timeouts())
            .build();
        Self::new(aws_sdk_sns::Client::from_conf(config), topic)
    }

    fn timeouts() -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_secs(20))
            .build()
    }

    pub fn topic(&self) -> &TopicArn {
        &self.topic
    }
}

impl Publisher for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(self.topic.as_str())
            .subject(&alert.subject)
            .message_structure("json")
            .message(alert.message());
        for (name, value) in alert.attributes.pairs() {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| self.error(e.to_string()))?;
            request = request.message_attributes(name, attribute);
        }
        let out = request
            .send()
            .await
            .map_err(|e| self.error(crate::sdk::describe(&e)))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

impl SnsPublisher {
    fn error(&self, reason: String) -> PublishError {
        PublishError {
            topic: self.topic.to_string(),
            reason,
        }
    }
}

/// Keeps alerts in memory: for tests, and for `scan --alert` previews. It can be told to fail
/// after a number of publishes, to test partial delivery.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    sent: Mutex<Vec<Alert>>,
    fail_after: Option<usize>,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `n` alerts, then fails every publish.
    pub fn failing_after(n: usize) -> Self {
        Self {
            sent: Mutex::default(),
            fail_after: Some(n),
        }
    }

    pub fn sent(&self) -> Vec<Alert> {
        self.sent.lock().expect("not poisoned").clone()
    }
}

impl Publisher for MemoryPublisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let mut sent = self.sent.lock().expect("not poisoned");
        if self.fail_after.is_some_and(|n| sent.len() >= n) {
            return Err(PublishError {
                topic: "memory".to_owned(),
                reason: "refused by test publisher".to_owned(),
            });
        }
        sent.push(alert.clone());
        Ok(format!("memory-{}", sent.len()))
    }
}
