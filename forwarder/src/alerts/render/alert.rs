//! One SNS message, and the bounds SNS sets on what it carries.

use serde::Serialize;
use serde_json::json;

use crate::text::escape::{ascii, truncate};

/// SNS refuses larger messages (256 KiB, counted in bytes, message attributes included).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Message attribute values are for filter policies, not for reading: a log group name (at most
/// 512 characters in CloudWatch Logs) fits whole, anything longer is cut.
pub const MAX_ATTRIBUTE_BYTES: usize = 512;

/// The SNS message attributes subscribers filter on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attributes {
    pub cause: String,
    /// None when the lines named no log group (a file scanned without `--log-group`): SNS
    /// takes no empty attribute, and a made-up name would match a subscriber's filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    pub severity: String,
}

impl Attributes {
    /// Bytes SNS counts for the attributes: names, types and values.
    pub fn bytes(&self) -> usize {
        self.pairs()
            .iter()
            .map(|(k, v)| k.len() + "String".len() + v.len())
            .sum()
    }

    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![("cause", self.cause.as_str())];
        if let Some(g) = &self.log_group {
            pairs.push(("log_group", g));
        }
        pairs.push(("severity", &self.severity));
        pairs
    }
}

/// One message, ready to publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub subject: String,
    pub attributes: Attributes,
    /// The machine-readable group (`default`, `sqs`, `lambda`).
    pub machine: String,
    /// Plain text for people (`email`).
    pub email: String,
    /// A custom notification of Amazon Q Developer in chat applications (`https`).
    pub chat: String,
}

impl Alert {
    /// The body for `Publish` with `MessageStructure=json`.
    pub fn message(&self) -> String {
        json!({
            "default": self.machine,
            "email": self.email,
            "https": self.chat,
            "sqs": self.machine,
            "lambda": self.machine,
        })
        .to_string()
    }

    /// Everything SNS counts against its message size limit: the message, its subject and its
    /// message attributes.
    pub fn publish_bytes(&self) -> usize {
        self.message().len() + self.subject.len() + self.attributes.bytes()
    }

    pub(super) fn fits(&self) -> bool {
        self.publish_bytes() < MAX_MESSAGE_BYTES
    }
}

/// A message attribute value: printable ASCII, bounded.
pub(crate) fn attribute(s: &str) -> String {
    truncate(&ascii(s), MAX_ATTRIBUTE_BYTES).into_owned()
}
