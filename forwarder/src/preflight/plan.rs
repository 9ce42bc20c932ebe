//! What the user is about to deploy and what AWS answered about it: the two inputs every
//! check reads.

use std::collections::BTreeMap;

use serde::Serialize;

use super::survey::{
    AccountPolicy, SlackChannelConfiguration, SubscriptionFilter, SurveyError, Trail,
};

/// An AWS partition, from the Region's name
/// (<https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html>).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Partition {
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-cn")]
    China,
    #[serde(rename = "aws-us-gov")]
    GovCloud,
    #[serde(rename = "aws-iso")]
    Iso,
    #[serde(rename = "aws-iso-b")]
    IsoB,
    #[serde(rename = "aws-iso-e")]
    IsoE,
    #[serde(rename = "aws-iso-f")]
    IsoF,
}

impl Partition {
    pub fn of_region(region: &str) -> Self {
        // Longest prefixes first: `us-isob-` also starts with `us-iso`.
        for (prefix, partition) in [
            ("cn-", Partition::China),
            ("us-gov-", Partition::GovCloud),
            ("us-isob-", Partition::IsoB),
            ("us-isof-", Partition::IsoF),
            ("eu-isoe-", Partition::IsoE),
            ("us-iso-", Partition::Iso),
        ] {
            if region.starts_with(prefix) {
                return partition;
            }
        }
        Partition::Aws
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::China => "aws-cn",
            Partition::GovCloud => "aws-us-gov",
            Partition::Iso => "aws-iso",
            Partition::IsoB => "aws-iso-b",
            Partition::IsoE => "aws-iso-e",
            Partition::IsoF => "aws-iso-f",
        }
    }
}

/// Which template parameter a log group is given as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum GroupRole {
    /// `AccessLogGroupName`: the stage's access-log group.
    Access,
    /// `ExecutionLogGroupName`: API Gateway's own `API-Gateway-Execution-Logs_{id}/{stage}`.
    Execution,
    /// `ExecutionLogDeliveryGroupName`: where a log delivery writes execution logs.
    ExecutionDelivery,
}

impl GroupRole {
    pub fn parameter(self) -> &'static str {
        match self {
            GroupRole::Access => "AccessLogGroupName",
            GroupRole::Execution => "ExecutionLogGroupName",
            GroupRole::ExecutionDelivery => "ExecutionLogDeliveryGroupName",
        }
    }
}

/// What the user is about to deploy: the stack name and parameters `sam deploy` will be given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub stack_name: String,
    pub region: String,
    pub log_groups: Vec<(GroupRole, String)>,
    pub slack_workspace_id: Option<String>,
    pub slack_channel_id: Option<String>,
    /// The stack turns REST execution logging on (the demo does).
    pub rest_logging: bool,
    /// member.yaml's account-level subscription filter policy mode.
    pub whole_account: bool,
    /// The stack is deployed with `ApiChangeChecks=true`, which hears API calls only through a
    /// CloudTrail trail.
    pub api_change_checks: bool,
}

impl Plan {
    pub fn partition(&self) -> Partition {
        Partition::of_region(&self.region)
    }

    /// Both Slack ids given.
    pub(super) fn slack(&self) -> Option<(&str, &str)> {
        Some((
            self.slack_workspace_id.as_deref()?,
            self.slack_channel_id.as_deref()?,
        ))
    }

    pub(super) fn wants_cloudwatch_role(&self) -> bool {
        self.rest_logging
            || self
                .log_groups
                .iter()
                .any(|(role, _)| *role == GroupRole::Execution)
    }

    pub(super) fn wants_account_policies(&self) -> bool {
        self.whole_account || !self.log_groups.is_empty()
    }

    /// Chat applications exist only in the `aws` partition; elsewhere there is nothing to ask.
    pub(super) fn wants_slack_configurations(&self) -> bool {
        self.slack().is_some() && self.partition() == Partition::Aws
    }
}

/// What one read answered, or why it could not.
pub type Read<T> = Result<T, SurveyError>;

/// One log group as AWS answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFacts {
    pub exists: Read<bool>,
    /// Read only for a group that exists.
    pub filters: Option<Read<Vec<SubscriptionFilter>>>,
}

/// What AWS answered; `None` where the plan did not need to ask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub log_groups: BTreeMap<String, GroupFacts>,
    pub account_policies: Option<Read<Vec<AccountPolicy>>>,
    pub cloudwatch_role: Option<Read<Option<String>>>,
    pub slack_channel_configurations: Option<Read<Vec<SlackChannelConfiguration>>>,
    pub trails: Option<Read<Vec<Trail>>>,
}
