//! `forwarder preflight`: what `sam deploy` of this project's templates would fail on in an
//! account and Region, and the fix, found by reads before the deploy rather than by a rollback.
//!
//! The limits it checks are those real accounts put on the templates: at most two subscription
//! filters per log group, one account-level subscription filter policy per account and Region,
//! the API Gateway CloudWatch role that REST execution logging needs, execution-log groups that
//! exist only once logging is on, one chat applications configuration per Slack channel, and no
//! chat applications outside the `aws` partition. With `ApiChangeChecks` it also says whether a
//! CloudTrail trail delivers the API calls those checks listen for.
//!
//! [`check`] is a plain function from what the user asked for ([`Plan`]) and what AWS answered
//! ([`Facts`]) to [`Finding`]s; [`gather`] asks AWS through the small [`Survey`] trait.

pub mod survey;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::text::shape::{is_stack_name, shell_word};
pub use survey::{
    AccountPolicy, AwsSurvey, Call, MemorySurvey, SlackChannelConfiguration, SubscriptionFilter,
    Survey, SurveyError, Trail,
};

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
    fn new(check: CheckId, subject: impl Into<String>, status: Status, summary: String) -> Self {
        Self {
            check,
            subject: subject.into(),
            status,
            summary,
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

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
    fn slack(&self) -> Option<(&str, &str)> {
        Some((
            self.slack_workspace_id.as_deref()?,
            self.slack_channel_id.as_deref()?,
        ))
    }

    fn wants_cloudwatch_role(&self) -> bool {
        self.rest_logging
            || self
                .log_groups
                .iter()
                .any(|(role, _)| *role == GroupRole::Execution)
    }

    fn wants_account_policies(&self) -> bool {
        self.whole_account || !self.log_groups.is_empty()
    }

    /// Chat applications exist only in the `aws` partition; elsewhere there is nothing to ask.
    fn wants_slack_configurations(&self) -> bool {
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

/// Keeps a refusal or a service error as the answer; stops on no answer at all.
fn keep<T>(r: Read<T>) -> Result<Read<T>, SurveyError> {
    match r {
        Err(e @ SurveyError::Unreachable { .. }) => Err(e),
        r => Ok(r),
    }
}

/// Asks AWS what the plan needs, one call after another (a handful in all). Fails only when AWS
/// could not be reached or refused the credentials.
pub async fn gather<S: Survey>(survey: &S, plan: &Plan) -> Result<Facts, SurveyError> {
    let mut facts = Facts::default();
    for (_, name) in &plan.log_groups {
        if facts.log_groups.contains_key(name) {
            continue;
        }
        let exists = keep(survey.log_group_exists(name).await)?;
        let filters = match exists {
            Ok(true) => Some(keep(survey.subscription_filters(name).await)?),
            _ => None,
        };
        facts
            .log_groups
            .insert(name.clone(), GroupFacts { exists, filters });
    }
    if plan.wants_account_policies() {
        facts.account_policies = Some(keep(survey.account_policies().await)?);
    }
    if plan.wants_cloudwatch_role() {
        facts.cloudwatch_role = Some(keep(survey.cloudwatch_role().await)?);
    }
    if plan.wants_slack_configurations() {
        facts.slack_channel_configurations =
            Some(keep(survey.slack_channel_configurations().await)?);
    }
    if plan.api_change_checks {
        facts.trails = Some(keep(survey.trails().await)?);
    }
    Ok(facts)
}

/// What infra/org/member.yaml appends to its stack's name to name its account-level subscription
/// filter policy.
pub const MEMBER_POLICY_SUFFIX: &str = "-api-authorizer-errors";

/// The name infra/org/member.yaml gives the policy of a stack named `stack`.
pub fn member_policy_name(stack: &str) -> String {
    format!("{stack}{MEMBER_POLICY_SUFFIX}")
}

/// Every verdict on the plan, in a fixed order.
pub fn check(plan: &Plan, facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    out.push(partition(plan));
    out.extend(slack_ids(plan));
    out.push(stack_name(&plan.stack_name));
    for (i, (role, name)) in plan.log_groups.iter().enumerate() {
        out.extend(log_group_name(*role, name));
        // A group given for two parameters gets two of the stack's filters; it is checked once.
        if plan.log_groups[..i].iter().any(|(_, n)| n == name) {
            continue;
        }
        let wanted = plan.log_groups.iter().filter(|(_, n)| n == name).count();
        if let Some(group) = facts.log_groups.get(name) {
            out.extend(log_group(plan, *role, name, group, wanted));
        }
    }
    if let Some(policies) = &facts.account_policies {
        out.push(account_policy(plan, policies));
    }
    if let Some(role) = &facts.cloudwatch_role {
        out.push(cloudwatch_role(plan, role));
    }
    if let (Some((workspace, channel)), Some(configs)) =
        (plan.slack(), &facts.slack_channel_configurations)
    {
        out.push(chat_channel(plan, workspace, channel, configs));
    }
    if let Some(trails) = &facts.trails {
        out.push(cloudtrail(plan, trails));
    }
    out
}

/// A finding for a read that did not answer: the deploy may still be fine, but this run cannot
/// tell.
fn unread(check: CheckId, subject: &str, what: &str, e: &SurveyError) -> Finding {
    let summary = match e {
        SurveyError::Denied { .. } => format!(
            "could not read {what}: needs {} ({e})",
            e.call().permission()
        ),
        _ => format!("could not read {what} ({e})"),
    };
    Finding::new(check, subject, Status::Warn, summary)
}

/// Chat applications (`AWS::Chatbot::SlackChannelConfiguration`) do not exist in GovCloud, China
/// or the isolated partitions, and CloudFormation rejects an unknown resource type even under a
/// false condition (<https://docs.aws.amazon.com/chatbot/latest/adminguide/chatbot-regions.html>).
fn partition(plan: &Plan) -> Finding {
    let p = plan.partition();
    let subject = plan.region.clone();
    if p == Partition::Aws {
        return Finding::new(
            CheckId::Partition,
            subject,
            Status::Ok,
            format!("Region {} is in partition aws", plan.region),
        );
    }
    let slack_given = plan.slack_workspace_id.is_some() || plan.slack_channel_id.is_some();
    let status = if slack_given {
        Status::Fail
    } else {
        Status::Ok
    };
    let summary = if slack_given {
        format!(
            "Region {} is in partition {}, where Amazon Q Developer in chat applications is not available: the Slack channel configuration cannot be created here; leave SlackWorkspaceId and SlackChannelId empty and subscribe email (AlertEmail) or an HTTPS endpoint to the topic instead",
            plan.region,
            p.as_str()
        )
    } else {
        format!(
            "Region {} is in partition {} (no chat applications here: alerts go by email or an HTTPS endpoint)",
            plan.region,
            p.as_str()
        )
    };
    let f = Finding::new(CheckId::Partition, subject, status, summary);
    if slack_given {
        f.fix(format!(
            "aws sns subscribe --region {} --topic-arn TOPIC_ARN --protocol email --notification-endpoint EMAIL",
            shell_word(&plan.region, "REGION")
        ))
    } else {
        f
    }
}

fn slack_ids(plan: &Plan) -> Option<Finding> {
    let missing = match (&plan.slack_workspace_id, &plan.slack_channel_id) {
        (Some(_), None) => "--slack-channel-id (SlackChannelId)",
        (None, Some(_)) => "--slack-workspace-id (SlackWorkspaceId)",
        _ => return None,
    };
    Some(
        Finding::new(
            CheckId::SlackIds,
            "SlackWorkspaceId, SlackChannelId",
            Status::Fail,
            format!(
                "only one of the two Slack ids is given: a channel configuration needs both, so give {missing} too, or neither"
            ),
        )
        .fix("give both SlackWorkspaceId and SlackChannelId, or neither"),
    )
}

fn stack_name(name: &str) -> Finding {
    if is_stack_name(name) {
        return Finding::new(
            CheckId::StackName,
            name,
            Status::Ok,
            "a valid stack name".to_owned(),
        );
    }
    Finding::new(
        CheckId::StackName,
        name,
        Status::Fail,
        format!(
            "not a valid CloudFormation stack name ({} characters): it must start with a letter and hold only letters, digits and hyphens, at most 128 characters",
            name.chars().count()
        ),
    )
    .fix("sam deploy --stack-name NAME with NAME matching ^[A-Za-z][A-Za-z0-9-]*$")
}

/// What the template's `AllowedPattern` and `MaxLength` for the parameter say against `name`;
/// CloudFormation refuses the whole deploy on it.
fn log_group_name(role: GroupRole, name: &str) -> Option<Finding> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() <= 512
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_/#".contains(&b))
    };
    let problem = match role {
        GroupRole::Execution if crate::detect::execution_log::group_place(name).is_none() => {
            "is not API-Gateway-Execution-Logs_{10-character API id}/{stage}; a log delivery's group goes in ExecutionLogDeliveryGroupName (--execution-log-delivery-group)"
        }
        GroupRole::Execution => return None,
        _ if !plain(name) => {
            "is not a log group name the template takes: 1 to 512 of letters, digits and . - _ / #"
        }
        _ if name.starts_with("/aws/lambda/") => {
            "is a Lambda function's log group: subscribing the forwarder to function logs can loop"
        }
        GroupRole::ExecutionDelivery
            if name.starts_with(crate::detect::execution_log::GROUP_PREFIX) =>
        {
            "is API Gateway's own execution-log group, which goes in ExecutionLogGroupName (--execution-log-group)"
        }
        _ => return None,
    };
    Some(Finding::new(
        CheckId::LogGroupName,
        name,
        Status::Fail,
        format!("{}: {problem}", role.parameter()),
    ))
}

fn log_group(
    plan: &Plan,
    role: GroupRole,
    name: &str,
    group: &GroupFacts,
    wanted: usize,
) -> Vec<Finding> {
    let region = shell_word(&plan.region, "REGION");
    let exists = match &group.exists {
        Err(e) => return vec![unread(CheckId::LogGroup, name, "the log group", e)],
        Ok(exists) => *exists,
    };
    if !exists {
        let parameter = role.parameter();
        let group_word = shell_word(name, "LOG_GROUP");
        let f = match role {
            GroupRole::Execution => {
                let (id, stage) = crate::detect::execution_log::group_place(name).unwrap_or(("ID", "STAGE"));
                Finding::new(
                    CheckId::LogGroup,
                    name,
                    Status::Fail,
                    format!(
                        "{parameter}: the log group does not exist, and subscribing a group that does not exist fails the stack. API Gateway creates API-Gateway-Execution-Logs_{{id}}/{{stage}} when execution logging is turned on for the stage (for a WebSocket API: aws apigatewayv2 update-stage --api-id {id} --stage-name {stage} --default-route-settings LoggingLevel=ERROR)"
                    ),
                )
                .fix(format!(
                    "aws apigateway update-stage --region {region} --rest-api-id {} --stage-name {} --patch-operations 'op=replace,path=/*/*/logging/loglevel,value=ERROR'",
                    shell_word(id, "ID"),
                    shell_word(stage, "STAGE"),
                ))
            }
            GroupRole::Access => Finding::new(
                CheckId::LogGroup,
                name,
                Status::Fail,
                format!(
                    "{parameter}: the log group does not exist, and subscribing a group that does not exist fails the stack: create it and turn on the stage's access logging to it first"
                ),
            )
            .fix(format!(
                "aws logs create-log-group --region {region} --log-group-name {group_word}"
            )),
            GroupRole::ExecutionDelivery => Finding::new(
                CheckId::LogGroup,
                name,
                Status::Fail,
                format!(
                    "{parameter}: the log group does not exist, and subscribing a group that does not exist fails the stack: create it and the log delivery to it (aws logs put-delivery-source --log-type EXECUTION_LOGS, put-delivery-destination, create-delivery) first"
                ),
            )
            .fix(format!(
                "aws logs create-log-group --region {region} --log-group-name {group_word}"
            )),
        };
        return vec![f];
    }
    let mut out = vec![Finding::new(
        CheckId::LogGroup,
        name,
        Status::Ok,
        format!("{}: the log group exists", role.parameter()),
    )];
    match &group.filters {
        Some(Ok(filters)) => out.push(subscription_filters(plan, name, filters, wanted)),
        Some(Err(e)) => out.push(unread(
            CheckId::SubscriptionFilters,
            name,
            "the group's subscription filters",
            e,
        )),
        None => {}
    }
    out
}

/// CloudFormation names a stack's subscription filter `<stack>-<LogicalId>-<random>` (a nested
/// stack's `<parent>-<LogicalId>-<random>-...`), so filters under the stack's name are its own,
/// replaced on update rather than added.
fn is_own_filter(stack: &str, filter: &str) -> bool {
    filter
        .strip_prefix(stack)
        .is_some_and(|rest| rest.starts_with('-'))
}

/// A log group takes at most two subscription filters; a third fails with
/// `LimitExceededException`
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html>).
/// `wanted` is how many filters the stack puts on the group: one per parameter naming it.
fn subscription_filters(
    plan: &Plan,
    group: &str,
    filters: &[SubscriptionFilter],
    wanted: usize,
) -> Finding {
    let (own, mut others): (Vec<&SubscriptionFilter>, Vec<&SubscriptionFilter>) = filters
        .iter()
        .partition(|f| is_own_filter(&plan.stack_name, &f.name));
    // By name, whatever order the service lists them in, so the fix is the same every run.
    others.sort_by(|a, b| a.name.cmp(&b.name));
    let listed = others
        .iter()
        .map(|f| format!("{} -> {}", f.name, f.destination_arn))
        .collect::<Vec<_>>()
        .join(", ");
    let own_note = if own.is_empty() {
        String::new()
    } else {
        format!(
            "; {} of this stack's own, replaced on update, not counted",
            own.len()
        )
    };
    let adds = if wanted == 1 {
        "this stack's filter".to_owned()
    } else {
        format!("this stack's {wanted} filters (the group is given for {wanted} parameters)")
    };
    let total = others.len() + wanted;
    if total <= MAX_FILTERS_PER_GROUP {
        let summary = match others.len() {
            0 => format!(
                "no other subscription filter; {adds} makes {total} of the two a group takes"
            ),
            n => format!(
                "{n} other subscription filter{} ({listed}); {adds} makes {total} of the two a group takes",
                if n == 1 { "" } else { "s" }
            ),
        };
        return Finding::new(
            CheckId::SubscriptionFilters,
            group,
            Status::Ok,
            format!("{summary}{own_note}"),
        );
    }
    let mut f = Finding::new(
        CheckId::SubscriptionFilters,
        group,
        Status::Fail,
        format!(
            "{} other subscription filter{} ({listed}) and {adds}: a log group takes at most two, so the stack fails with LimitExceededException; remove {}, or feed this group through the organisation set-up instead (infra/org/member.yaml with an empty AccessLogGroupName uses an account-level policy, which does not count against the two){own_note}",
            others.len(),
            if others.len() == 1 { "" } else { "s" },
            if total - MAX_FILTERS_PER_GROUP == 1 {
                "one".to_owned()
            } else {
                (total - MAX_FILTERS_PER_GROUP).to_string()
            },
        ),
    );
    if let Some(first) = others.first() {
        f = f.fix(format!(
            "aws logs delete-subscription-filter --region {} --log-group-name {} --filter-name {}",
            shell_word(&plan.region, "REGION"),
            shell_word(group, "LOG_GROUP"),
            shell_word(&first.name, "FILTER_NAME"),
        ));
    }
    f
}

/// Subscription filters a log group takes.
const MAX_FILTERS_PER_GROUP: usize = 2;

/// One account-level subscription filter policy per account and Region; it applies beside the
/// group-level filters and does not count against their two
/// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutAccountPolicy.html>).
fn account_policy(plan: &Plan, policies: &Read<Vec<AccountPolicy>>) -> Finding {
    let subject = format!("account-level subscription filter policy ({})", plan.region);
    let policies = match policies {
        Err(e) => {
            return unread(
                CheckId::AccountPolicy,
                &subject,
                "the account-level policies",
                e,
            );
        }
        Ok(p) => p,
    };
    let names = policies
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if policies.is_empty() {
        let summary = if plan.whole_account {
            "none yet in this Region: member.yaml's whole-account mode can create its own"
        } else {
            "none in this Region"
        };
        return Finding::new(
            CheckId::AccountPolicy,
            subject,
            Status::Ok,
            summary.to_owned(),
        );
    }
    if !plan.whole_account {
        return Finding::new(
            CheckId::AccountPolicy,
            subject,
            Status::Ok,
            format!(
                "{names} exists; it applies beside the log groups' own filters and does not count against their two"
            ),
        );
    }
    let foreign: Vec<&AccountPolicy> = policies
        .iter()
        .filter(|p| p.name != member_policy_name(&plan.stack_name))
        .collect();
    match foreign.first() {
        None => Finding::new(
            CheckId::AccountPolicy,
            subject,
            Status::Ok,
            format!(
                "{names} exists with the name member.yaml gives this stack's policy: an update of the stack that created it keeps it"
            ),
        ),
        Some(first) => Finding::new(
            CheckId::AccountPolicy,
            subject,
            Status::Fail,
            format!(
                "{names} already exists, and an account and Region take one subscription filter policy: member.yaml's whole-account mode (empty AccessLogGroupName) would fail to create its own; delete it, or subscribe one log group instead (AccessLogGroupName)"
            ),
        )
        .fix(format!(
            "aws logs delete-account-policy --region {} --policy-type SUBSCRIPTION_FILTER_POLICY --policy-name {}",
            shell_word(&plan.region, "REGION"),
            shell_word(&first.name, "POLICY_NAME"),
        )),
    }
}

/// REST execution logging needs the account's API Gateway CloudWatch role; without it the stage
/// fails with "CloudWatch Logs role ARN must be set in account settings to enable logging"
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html>).
fn cloudwatch_role(plan: &Plan, role: &Read<Option<String>>) -> Finding {
    let subject = format!("API Gateway account settings ({})", plan.region);
    match role {
        Err(e) => unread(
            CheckId::CloudwatchRole,
            &subject,
            "the API Gateway CloudWatch role",
            e,
        ),
        Ok(Some(arn)) => Finding::new(
            CheckId::CloudwatchRole,
            subject,
            Status::Ok,
            format!("cloudwatchRoleArn is {arn}"),
        ),
        Ok(None) => Finding::new(
            CheckId::CloudwatchRole,
            subject,
            Status::Fail,
            "cloudwatchRoleArn is not set, and a REST stage with execution logging fails without it (\"CloudWatch Logs role ARN must be set in account settings to enable logging\"): deploy the demo with SetApiGatewayCloudWatchRole=true, or set a role with the managed policy AmazonAPIGatewayPushToCloudWatchLogs that apigateway.amazonaws.com may assume (a new role can take a while to be accepted)".to_owned(),
        )
        .fix(format!(
            "aws apigateway update-account --region {} --patch-operations op=replace,path=/cloudwatchRoleArn,value=ROLE_ARN",
            shell_word(&plan.region, "REGION")
        )),
    }
}

/// One chat applications configuration per Slack channel per account: a second
/// `AWS::Chatbot::SlackChannelConfiguration` on the channel fails ("Slack channel with ID ... has
/// already been configured"), while one configuration carries several topics
/// (<https://docs.aws.amazon.com/chatbot/latest/APIReference/API_UpdateSlackChannelConfiguration.html>).
fn chat_channel(
    plan: &Plan,
    workspace: &str,
    channel: &str,
    configs: &Read<Vec<SlackChannelConfiguration>>,
) -> Finding {
    let subject = format!("Slack channel {channel}");
    let configs = match configs {
        Err(e) => {
            return unread(
                CheckId::ChatChannel,
                &subject,
                "the chat applications Slack channel configurations",
                e,
            );
        }
        Ok(c) => c,
    };
    let Some(existing) = configs.iter().find(|c| c.channel_id == channel) else {
        return Finding::new(
            CheckId::ChatChannel,
            subject,
            Status::Ok,
            "no chat applications configuration on this channel yet: infra/chat/template.yaml can create one".to_owned(),
        );
    };
    let other_workspace = if existing.workspace_id == workspace {
        String::new()
    } else {
        format!(" (in workspace {}, not {workspace})", existing.workspace_id)
    };
    // The update replaces the topic list: keep every existing topic, add the stack's.
    let mut topics: Vec<String> = existing
        .topic_arns
        .iter()
        .map(|t| shell_word(t, "EXISTING_TOPIC_ARN").into_owned())
        .collect();
    topics.push("TOPIC_ARN".to_owned());
    Finding::new(
        CheckId::ChatChannel,
        subject,
        Status::Warn,
        format!(
            "configuration {}{other_workspace} already serves this channel with {} topic(s), and a channel takes one configuration per account: do not deploy infra/chat/template.yaml for this channel; add the alert topic (TOPIC_ARN, the stack's topic) to the existing configuration, keeping its topics",
            existing.name.as_deref().unwrap_or(&existing.arn),
            existing.topic_arns.len()
        ),
    )
    .fix(format!(
        "aws chatbot update-slack-channel-configuration --region {} --chat-configuration-arn {} --slack-channel-id {} --sns-topic-arns {}",
        survey::chatbot_region(&plan.region),
        shell_word(&existing.arn, "CHAT_CONFIGURATION_ARN"),
        shell_word(channel, "CHANNEL_ID"),
        topics.join(" ")
    ))
}

/// `ApiChangeChecks` listens for `AWS API Call via CloudTrail` events, which EventBridge receives
/// only for management events a trail logs in the Region; without one nothing arrives, while the
/// stack-completion checks and the sweep need no trail
/// (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html>).
fn cloudtrail(plan: &Plan, trails: &Read<Vec<Trail>>) -> Finding {
    let subject = format!("CloudTrail ({})", plan.region);
    let trails = match trails {
        Err(e) => return unread(CheckId::CloudTrail, &subject, "the trails", e),
        Ok(t) => t,
    };
    let home = |t: &Trail| {
        if t.home_region == plan.region || t.home_region.is_empty() {
            String::new()
        } else {
            format!(" (home Region {})", t.home_region)
        }
    };
    if let Some(t) = trails
        .iter()
        .find(|t| t.logging == Ok(true) && t.management_writes == Ok(true))
    {
        return Finding::new(
            CheckId::CloudTrail,
            subject,
            Status::Ok,
            format!(
                "trail {}{} is logging management events here: API changes made outside CloudFormation reach EventBridge",
                t.name,
                home(t)
            ),
        );
    }
    // A trail that may well deliver, but whose status or selectors could not be read.
    let unknown: Vec<String> = trails
        .iter()
        .filter(|t| t.logging != Ok(false) && t.management_writes != Ok(false))
        .filter_map(|t| {
            let e = t
                .logging
                .as_ref()
                .err()
                .or(t.management_writes.as_ref().err())?;
            Some(match e {
                SurveyError::Denied { .. } => format!(
                    "{}{}: needs {} ({e})",
                    t.name,
                    home(t),
                    e.call().permission()
                ),
                _ => format!("{}{}: {e}", t.name, home(t)),
            })
        })
        .collect();
    if !unknown.is_empty() {
        return Finding::new(
            CheckId::CloudTrail,
            subject,
            Status::Warn,
            format!(
                "could not tell whether a trail logs management events here: {}",
                unknown.join("; ")
            ),
        );
    }
    let region = shell_word(&plan.region, "REGION");
    let missed = "API changes made outside CloudFormation will not be seen (EventBridge receives CloudTrail management events only when a trail logs them); the stack-completion checks and the sweep work without a trail";
    // A stopped trail that records management events (or may: its selectors were not read):
    // start it.
    if let Some(t) = trails
        .iter()
        .find(|t| t.logging == Ok(false) && t.management_writes != Ok(false))
    {
        return Finding::new(
            CheckId::CloudTrail,
            subject,
            Status::Warn,
            format!(
                "trail {}{} is not logging: {missed}; start it",
                t.name,
                home(t)
            ),
        )
        // StartLogging is called in the trail's home Region.
        .fix(format!(
            "aws cloudtrail start-logging --region {} --name {}",
            if t.home_region.is_empty() {
                region.clone()
            } else {
                shell_word(&t.home_region, "HOME_REGION")
            },
            shell_word(&t.arn, "TRAIL_ARN")
        ));
    }
    let others = if trails.is_empty() {
        "no trail delivers this Region's events".to_owned()
    } else {
        let names: Vec<String> = trails
            .iter()
            .map(|t| format!("{}{}", t.name, home(t)))
            .collect();
        format!(
            "no trail here logs management events that write ({} do not)",
            names.join(", ")
        )
    };
    Finding::new(
        CheckId::CloudTrail,
        subject,
        Status::Warn,
        format!(
            "{others}: {missed}; create a trail (multi-Region, management events are on by default) into an S3 bucket whose policy lets cloudtrail.amazonaws.com write, then start it (the first copy of management events is free of CloudTrail charges; S3 bills the storage)"
        ),
    )
    .fix(format!(
        "aws cloudtrail create-trail --region {region} --name api-change-checks --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --region {region} --name api-change-checks"
    ))
}

#[cfg(test)]
mod tests;
