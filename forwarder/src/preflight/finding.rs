//! What a check says: its verdict on one thing and the fix to paste, in the shape both the
//! printed report and the JSON take.

use serde::Serialize;

use super::survey::SurveyError;

/// How a finding bears on the deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Worth knowing, or could not be read; the deploy is not known to fail on it.
    Warn,
    /// The deploy would fail on it.
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// Which check a finding comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    Partition,
    SlackIds,
    StackName,
    LogGroupName,
    LogGroup,
    SubscriptionFilters,
    AccountPolicy,
    CloudwatchRole,
    ChatChannel,
    #[serde(rename = "cloudtrail")]
    CloudTrail,
}

impl CheckId {
    pub fn name(self) -> &'static str {
        match self {
            CheckId::Partition => "partition",
            CheckId::SlackIds => "slack_ids",
            CheckId::StackName => "stack_name",
            CheckId::LogGroupName => "log_group_name",
            CheckId::LogGroup => "log_group",
            CheckId::SubscriptionFilters => "subscription_filters",
            CheckId::AccountPolicy => "account_policy",
            CheckId::CloudwatchRole => "cloudwatch_role",
            CheckId::ChatChannel => "chat_channel",
            CheckId::CloudTrail => "cloudtrail",
        }
    }
}

/// One verdict: what was checked, on what, and the fix when there is one to paste.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: CheckId,
    pub subject: String,
    pub status: Status,
    pub summary: String,
    /// A command to run or a parameter to set.
    pub fix: Option<String>,
}

impl Finding {
    pub(super) fn new(
        check: CheckId,
        subject: impl Into<String>,
        status: Status,
        summary: String,
    ) -> Self {
        Self {
            check,
            subject: subject.into(),
            status,
            summary,
            fix: None,
        }
    }

    pub(super) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// A finding for a read that did not answer: the deploy may still be fine, but this run cannot
/// tell.
pub(super) fn unread(check: CheckId, subject: &str, what: &str, e: &SurveyError) -> Finding {
    let summary = match e {
        SurveyError::Denied { .. } => format!(
            "could not read {what}: needs {} ({e})",
            e.call().permission()
        ),
        _ => format!("could not read {what} ({e})"),
    };
    Finding::new(check, subject, Status::Warn, summary)
}
