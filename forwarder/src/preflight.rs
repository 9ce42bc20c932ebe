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

use crate::shape::shell_word;
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

/// CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128 characters
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-using-console-create-stack-parameters.html>).
pub fn is_stack_name(s: &str) -> bool {
    s.len() <= 128
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
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
        GroupRole::Execution if crate::execution_log::group_place(name).is_none() => {
            "is not API-Gateway-Execution-Logs_{10-character API id}/{stage}; a log delivery's group goes in ExecutionLogDeliveryGroupName (--execution-log-delivery-group)"
        }
        GroupRole::Execution => return None,
        _ if !plain(name) => {
            "is not a log group name the template takes: 1 to 512 of letters, digits and . - _ / #"
        }
        _ if name.starts_with("/aws/lambda/") => {
            "is a Lambda function's log group: subscribing the forwarder to function logs can loop"
        }
        GroupRole::ExecutionDelivery if name.starts_with(crate::execution_log::GROUP_PREFIX) => {
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
                let (id, stage) = crate::execution_log::group_place(name).unwrap_or(("ID", "STAGE"));
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
mod tests {
    use super::*;

    const STACK: &str = "alerts";
    const EXEC: &str = "API-Gateway-Execution-Logs_a1b2c3d4e5/prod";
    const ACCESS: &str = "/apigw/prod-access";

    fn plan() -> Plan {
        Plan {
            stack_name: STACK.to_owned(),
            region: "us-east-1".to_owned(),
            ..Plan::default()
        }
    }

    fn filter(name: &str) -> SubscriptionFilter {
        SubscriptionFilter {
            name: name.to_owned(),
            destination_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        }
    }

    fn group(filters: &[&str]) -> GroupFacts {
        GroupFacts {
            exists: Ok(true),
            filters: Some(Ok(filters.iter().map(|f| filter(f)).collect())),
        }
    }

    fn missing() -> GroupFacts {
        GroupFacts {
            exists: Ok(false),
            filters: None,
        }
    }

    fn denied(call: Call) -> SurveyError {
        SurveyError::Denied {
            call,
            reason: "AccessDeniedException: no".to_owned(),
        }
    }

    fn only(findings: &[Finding], check: CheckId) -> &Finding {
        let mut of = findings.iter().filter(|f| f.check == check);
        let f = of
            .next()
            .unwrap_or_else(|| panic!("{check:?} in {findings:#?}"));
        assert!(of.next().is_none(), "one {check:?} in {findings:#?}");
        f
    }

    fn slack(configs: Vec<SlackChannelConfiguration>) -> Facts {
        Facts {
            slack_channel_configurations: Some(Ok(configs)),
            ..Facts::default()
        }
    }

    fn config(channel: &str, topics: &[&str]) -> SlackChannelConfiguration {
        SlackChannelConfiguration {
            arn: "arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ops".to_owned(),
            name: Some("ops".to_owned()),
            workspace_id: "T0123".to_owned(),
            channel_id: channel.to_owned(),
            topic_arns: topics.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn partitions_come_from_the_region() {
        for (region, want) in [
            ("us-east-1", Partition::Aws),
            ("eu-west-1", Partition::Aws),
            ("cn-north-1", Partition::China),
            ("cn-northwest-1", Partition::China),
            ("us-gov-west-1", Partition::GovCloud),
            ("us-iso-east-1", Partition::Iso),
            ("us-isob-east-1", Partition::IsoB),
            ("eu-isoe-west-1", Partition::IsoE),
            ("us-isof-south-1", Partition::IsoF),
        ] {
            assert_eq!(Partition::of_region(region), want, "{region}");
        }
    }

    /// Each check, passing and failing: (what, plan, facts, check, status, text in the summary
    /// or fix).
    #[test]
    fn each_check_passes_and_fails() {
        let with = |f: &dyn Fn(&mut Plan)| {
            let mut p = plan();
            f(&mut p);
            p
        };
        let groups = |entries: &[(&str, GroupFacts)]| Facts {
            log_groups: entries
                .iter()
                .map(|(n, g)| ((*n).to_owned(), g.clone()))
                .collect(),
            ..Facts::default()
        };
        let policies = |names: &[&str]| Facts {
            account_policies: Some(Ok(names
                .iter()
                .map(|n| AccountPolicy {
                    name: (*n).to_owned(),
                    selection_criteria: None,
                })
                .collect())),
            ..Facts::default()
        };
        let role = |arn: Option<&str>| Facts {
            cloudwatch_role: Some(Ok(arn.map(str::to_owned))),
            ..Facts::default()
        };
        let slack_plan = |region: &str, w: Option<&str>, c: Option<&str>| {
            let mut p = plan();
            p.region = region.to_owned();
            p.slack_workspace_id = w.map(str::to_owned);
            p.slack_channel_id = c.map(str::to_owned);
            p
        };
        let trails = |t: Vec<Trail>| Facts {
            trails: Some(Ok(t)),
            ..Facts::default()
        };
        let trail = |name: &str, home: &str, logging: Read<bool>, writes: Read<bool>| Trail {
            name: name.to_owned(),
            arn: format!("arn:aws:cloudtrail:{home}:123456789012:trail/{name}"),
            home_region: home.to_owned(),
            logging,
            management_writes: writes,
        };
        let access = |p: &mut Plan| p.log_groups = vec![(GroupRole::Access, ACCESS.to_owned())];
        let exec = |p: &mut Plan| p.log_groups = vec![(GroupRole::Execution, EXEC.to_owned())];
        type Case = (&'static str, Plan, Facts, CheckId, Status, &'static str);
        let cases: Vec<Case> = vec![
            (
                "aws partition with Slack ids",
                slack_plan("us-east-1", Some("T0123"), Some("C0123")),
                Facts::default(),
                CheckId::Partition,
                Status::Ok,
                "partition aws",
            ),
            (
                "China with Slack ids",
                slack_plan("cn-north-1", Some("T0123"), Some("C0123")),
                Facts::default(),
                CheckId::Partition,
                Status::Fail,
                "subscribe email",
            ),
            (
                "GovCloud with one Slack id",
                slack_plan("us-gov-west-1", None, Some("C0123")),
                Facts::default(),
                CheckId::Partition,
                Status::Fail,
                "aws-us-gov",
            ),
            (
                "GovCloud without Slack",
                slack_plan("us-gov-west-1", None, None),
                Facts::default(),
                CheckId::Partition,
                Status::Ok,
                "aws-us-gov",
            ),
            (
                "only the channel id",
                slack_plan("us-east-1", None, Some("C0123")),
                Facts::default(),
                CheckId::SlackIds,
                Status::Fail,
                "--slack-workspace-id",
            ),
            (
                "only the workspace id",
                slack_plan("us-east-1", Some("T0123"), None),
                Facts::default(),
                CheckId::SlackIds,
                Status::Fail,
                "--slack-channel-id",
            ),
            (
                "a valid stack name",
                plan(),
                Facts::default(),
                CheckId::StackName,
                Status::Ok,
                "valid",
            ),
            (
                "a stack name with an underscore",
                with(&|p| p.stack_name = "my_alerts".to_owned()),
                Facts::default(),
                CheckId::StackName,
                Status::Fail,
                "start with a letter",
            ),
            (
                "a stack name starting with a digit",
                with(&|p| p.stack_name = "1alerts".to_owned()),
                Facts::default(),
                CheckId::StackName,
                Status::Fail,
                "^[A-Za-z][A-Za-z0-9-]*$",
            ),
            (
                "a stack name of 129 characters",
                with(&|p| p.stack_name = "a".repeat(129)),
                Facts::default(),
                CheckId::StackName,
                Status::Fail,
                "129 characters",
            ),
            (
                "an execution-log group of another shape",
                with(&|p| p.log_groups = vec![(GroupRole::Execution, "/custom/exec".to_owned())]),
                Facts::default(),
                CheckId::LogGroupName,
                Status::Fail,
                "ExecutionLogDeliveryGroupName",
            ),
            (
                "a Lambda function's group as the access log",
                with(&|p| p.log_groups = vec![(GroupRole::Access, "/aws/lambda/fn".to_owned())]),
                Facts::default(),
                CheckId::LogGroupName,
                Status::Fail,
                "loop",
            ),
            (
                "API Gateway's own group as a delivery group",
                with(&|p| p.log_groups = vec![(GroupRole::ExecutionDelivery, EXEC.to_owned())]),
                Facts::default(),
                CheckId::LogGroupName,
                Status::Fail,
                "--execution-log-group",
            ),
            (
                "an existing access-log group",
                with(&access),
                groups(&[(ACCESS, group(&[]))]),
                CheckId::LogGroup,
                Status::Ok,
                "exists",
            ),
            (
                "a missing access-log group",
                with(&access),
                groups(&[(ACCESS, missing())]),
                CheckId::LogGroup,
                Status::Fail,
                "aws logs create-log-group --region us-east-1 --log-group-name /apigw/prod-access",
            ),
            (
                "a missing execution-log group",
                with(&exec),
                groups(&[(EXEC, missing())]),
                CheckId::LogGroup,
                Status::Fail,
                "aws apigateway update-stage --region us-east-1 --rest-api-id a1b2c3d4e5 --stage-name prod --patch-operations 'op=replace,path=/*/*/logging/loglevel,value=ERROR'",
            ),
            (
                "a missing delivery group",
                with(&|p| {
                    p.log_groups = vec![(GroupRole::ExecutionDelivery, "/exec/prod".to_owned())]
                }),
                groups(&[("/exec/prod", missing())]),
                CheckId::LogGroup,
                Status::Fail,
                "put-delivery-source",
            ),
            (
                "a group that could not be listed",
                with(&access),
                groups(&[(
                    ACCESS,
                    GroupFacts {
                        exists: Err(denied(Call::DescribeLogGroups)),
                        filters: None,
                    },
                )]),
                CheckId::LogGroup,
                Status::Warn,
                "needs logs:DescribeLogGroups",
            ),
            (
                "no filters",
                with(&access),
                groups(&[(ACCESS, group(&[]))]),
                CheckId::SubscriptionFilters,
                Status::Ok,
                "no other subscription filter; this stack's filter makes 1 of the two",
            ),
            (
                "one foreign filter",
                with(&access),
                groups(&[(ACCESS, group(&["splunk"]))]),
                CheckId::SubscriptionFilters,
                Status::Ok,
                "1 other subscription filter (splunk -> arn:aws:lambda:us-east-1:123456789012:function:splunk); this stack's filter makes 2 of the two",
            ),
            (
                "two foreign filters",
                with(&access),
                groups(&[(ACCESS, group(&["splunk", "datadog"]))]),
                CheckId::SubscriptionFilters,
                Status::Fail,
                "aws logs delete-subscription-filter --region us-east-1 --log-group-name /apigw/prod-access --filter-name datadog",
            ),
            (
                "two filters, one of them this stack's",
                with(&access),
                groups(&[(
                    ACCESS,
                    group(&["alerts-AccessLogSubscription-1X2Y", "splunk"]),
                )]),
                CheckId::SubscriptionFilters,
                Status::Ok,
                "1 of this stack's own",
            ),
            (
                "a filter of a stack whose name only starts like this one's",
                with(&access),
                groups(&[(
                    ACCESS,
                    group(&["alertsold-AccessLogSubscription-1X2Y", "splunk"]),
                )]),
                CheckId::SubscriptionFilters,
                Status::Fail,
                "2 other subscription filters",
            ),
            (
                "one foreign filter on a group given for two parameters",
                with(&|p| {
                    p.log_groups = vec![
                        (GroupRole::Access, ACCESS.to_owned()),
                        (GroupRole::ExecutionDelivery, ACCESS.to_owned()),
                    ]
                }),
                groups(&[(ACCESS, group(&["splunk"]))]),
                CheckId::SubscriptionFilters,
                Status::Fail,
                "this stack's 2 filters (the group is given for 2 parameters)",
            ),
            (
                "a group given for two parameters, and no other filter",
                with(&|p| {
                    p.log_groups = vec![
                        (GroupRole::Access, ACCESS.to_owned()),
                        (GroupRole::ExecutionDelivery, ACCESS.to_owned()),
                    ]
                }),
                groups(&[(ACCESS, group(&[]))]),
                CheckId::SubscriptionFilters,
                Status::Ok,
                "makes 2 of the two",
            ),
            (
                "filters that could not be read",
                with(&access),
                groups(&[(
                    ACCESS,
                    GroupFacts {
                        exists: Ok(true),
                        filters: Some(Err(denied(Call::DescribeSubscriptionFilters))),
                    },
                )]),
                CheckId::SubscriptionFilters,
                Status::Warn,
                "could not read the group's subscription filters: needs logs:DescribeSubscriptionFilters",
            ),
            (
                "whole account, no policy",
                with(&|p| p.whole_account = true),
                policies(&[]),
                CheckId::AccountPolicy,
                Status::Ok,
                "none yet",
            ),
            (
                "whole account, another policy",
                with(&|p| p.whole_account = true),
                policies(&["to-splunk"]),
                CheckId::AccountPolicy,
                Status::Fail,
                "aws logs delete-account-policy --region us-east-1 --policy-type SUBSCRIPTION_FILTER_POLICY --policy-name to-splunk",
            ),
            (
                "whole account, member.yaml's own policy",
                with(&|p| p.whole_account = true),
                policies(&[&member_policy_name(STACK)]),
                CheckId::AccountPolicy,
                Status::Ok,
                "the name member.yaml gives this stack's policy",
            ),
            (
                "group mode beside a policy",
                with(&access),
                policies(&["to-splunk"]),
                CheckId::AccountPolicy,
                Status::Ok,
                "does not count against their two",
            ),
            (
                "policies that could not be read",
                with(&|p| p.whole_account = true),
                Facts {
                    account_policies: Some(Err(denied(Call::DescribeAccountPolicies))),
                    ..Facts::default()
                },
                CheckId::AccountPolicy,
                Status::Warn,
                "needs logs:DescribeAccountPolicies",
            ),
            (
                "a CloudWatch role",
                with(&|p| p.rest_logging = true),
                role(Some("arn:aws:iam::123456789012:role/apigw-logs")),
                CheckId::CloudwatchRole,
                Status::Ok,
                "arn:aws:iam::123456789012:role/apigw-logs",
            ),
            (
                "no CloudWatch role",
                with(&|p| p.rest_logging = true),
                role(None),
                CheckId::CloudwatchRole,
                Status::Fail,
                "aws apigateway update-account --region us-east-1 --patch-operations op=replace,path=/cloudwatchRoleArn,value=ROLE_ARN",
            ),
            (
                "no CloudWatch role, the demo's parameter",
                with(&|p| p.rest_logging = true),
                role(None),
                CheckId::CloudwatchRole,
                Status::Fail,
                "SetApiGatewayCloudWatchRole=true",
            ),
            (
                "a role that could not be read",
                with(&|p| p.rest_logging = true),
                Facts {
                    cloudwatch_role: Some(Err(denied(Call::GetAccount))),
                    ..Facts::default()
                },
                CheckId::CloudwatchRole,
                Status::Warn,
                "needs apigateway:GET on arn:aws:apigateway:REGION::/account",
            ),
            (
                "a free channel",
                slack_plan("us-east-1", Some("T0123"), Some("C0123")),
                slack(vec![config("C9999", &[])]),
                CheckId::ChatChannel,
                Status::Ok,
                "infra/chat/template.yaml can create one",
            ),
            (
                "a channel already configured",
                slack_plan("us-east-1", Some("T0123"), Some("C0123")),
                slack(vec![config(
                    "C0123",
                    &[
                        "arn:aws:sns:us-east-1:123456789012:deploys",
                        "arn:aws:sns:eu-west-1:123456789012:billing",
                    ],
                )]),
                CheckId::ChatChannel,
                Status::Warn,
                "aws chatbot update-slack-channel-configuration --region us-east-2 --chat-configuration-arn arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ops --slack-channel-id C0123 --sns-topic-arns arn:aws:sns:us-east-1:123456789012:deploys arn:aws:sns:eu-west-1:123456789012:billing TOPIC_ARN",
            ),
            (
                "a trail logging management events",
                with(&|p| p.api_change_checks = true),
                trails(vec![trail("org", "us-west-2", Ok(true), Ok(true))]),
                CheckId::CloudTrail,
                Status::Ok,
                "trail org (home Region us-west-2) is logging management events here",
            ),
            (
                "no trail",
                with(&|p| p.api_change_checks = true),
                trails(vec![]),
                CheckId::CloudTrail,
                Status::Warn,
                "aws cloudtrail create-trail --region us-east-1 --name api-change-checks --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --region us-east-1 --name api-change-checks",
            ),
            (
                "no trail: what still works",
                with(&|p| p.api_change_checks = true),
                trails(vec![]),
                CheckId::CloudTrail,
                Status::Warn,
                "API changes made outside CloudFormation will not be seen",
            ),
            (
                "a trail of data events only",
                with(&|p| p.api_change_checks = true),
                trails(vec![trail("s3-data", "us-east-1", Ok(true), Ok(false))]),
                CheckId::CloudTrail,
                Status::Warn,
                "(s3-data do not)",
            ),
            (
                "a stopped trail",
                with(&|p| p.api_change_checks = true),
                trails(vec![trail("main", "us-west-2", Ok(false), Ok(true))]),
                CheckId::CloudTrail,
                Status::Warn,
                "aws cloudtrail start-logging --region us-west-2 --name arn:aws:cloudtrail:us-west-2:123456789012:trail/main",
            ),
            (
                "a stopped trail whose selectors could not be read",
                with(&|p| p.api_change_checks = true),
                trails(vec![trail(
                    "main",
                    "us-east-1",
                    Ok(false),
                    Err(denied(Call::GetEventSelectors)),
                )]),
                CheckId::CloudTrail,
                Status::Warn,
                "trail main is not logging",
            ),
            (
                "a trail whose status could not be read",
                with(&|p| p.api_change_checks = true),
                trails(vec![trail(
                    "org",
                    "us-west-2",
                    Err(denied(Call::GetTrailStatus)),
                    Ok(true),
                )]),
                CheckId::CloudTrail,
                Status::Warn,
                "needs cloudtrail:GetTrailStatus",
            ),
            (
                "trails that could not be listed",
                with(&|p| p.api_change_checks = true),
                Facts {
                    trails: Some(Err(denied(Call::DescribeTrails))),
                    ..Facts::default()
                },
                CheckId::CloudTrail,
                Status::Warn,
                "needs cloudtrail:DescribeTrails",
            ),
            (
                "configurations that could not be read",
                slack_plan("eu-west-1", Some("T0123"), Some("C0123")),
                Facts {
                    slack_channel_configurations: Some(Err(denied(
                        Call::DescribeSlackChannelConfigurations,
                    ))),
                    ..Facts::default()
                },
                CheckId::ChatChannel,
                Status::Warn,
                "needs chatbot:DescribeSlackChannelConfigurations",
            ),
        ];
        for (what, plan, facts, id, status, text) in cases {
            let findings = check(&plan, &facts);
            let f = only(&findings, id);
            assert_eq!(f.status, status, "{what}: {f:#?}");
            let shown = format!("{} {}", f.summary, f.fix.as_deref().unwrap_or_default());
            assert!(shown.contains(text), "{what}: {text:?} not in {f:#?}");
            assert_eq!(
                findings.iter().any(|f| f.status == Status::Fail),
                status == Status::Fail,
                "{what}"
            );
            // Commands joined by `&&` run one after the other; each is plain.
            if let Some(fix) = f.fix.as_ref().filter(|fix| fix.starts_with("aws ")) {
                assert!(
                    fix.split(" && ").all(crate::shape::is_plain_command),
                    "{what}: {fix}"
                );
            }
        }
    }

    #[test]
    fn hostile_names_never_reach_a_command_line() {
        for bad in crate::shape::HOSTILE {
            let mut p = plan();
            p.log_groups = vec![(GroupRole::Access, ACCESS.to_owned())];
            p.whole_account = true;
            let facts = Facts {
                log_groups: [(ACCESS.to_owned(), group(&[bad, "also;bad"]))].into(),
                account_policies: Some(Ok(vec![AccountPolicy {
                    name: bad.to_owned(),
                    selection_criteria: None,
                }])),
                ..Facts::default()
            };
            let mut findings = check(&p, &facts);
            p.slack_workspace_id = Some("T0123".to_owned());
            p.slack_channel_id = Some("C0123".to_owned());
            let mut c = config("C0123", &[bad]);
            c.arn = bad.to_owned();
            findings.extend(check(&p, &slack(vec![c])));
            p.api_change_checks = true;
            let stopped = Trail {
                name: bad.to_owned(),
                arn: bad.to_owned(),
                home_region: bad.to_owned(),
                logging: Ok(false),
                management_writes: Ok(true),
            };
            findings.extend(check(
                &p,
                &Facts {
                    trails: Some(Ok(vec![stopped])),
                    ..Facts::default()
                },
            ));
            let fixes: Vec<&String> = findings.iter().filter_map(|f| f.fix.as_ref()).collect();
            assert!(fixes.len() >= 3, "{bad:?}: {fixes:?}");
            for fix in fixes.into_iter().filter(|f| f.starts_with("aws ")) {
                assert!(crate::shape::is_plain_command(fix), "{bad:?}: {fix}");
            }
        }
    }

    #[test]
    fn stack_names() {
        for (name, ok) in [
            ("a", true),
            ("api-authorizer-alerts", true),
            ("A1-b2", true),
            ("", false),
            ("-alerts", false),
            ("alerts_1", false),
            ("alerts.prod", false),
            ("alérts", false),
        ] {
            assert_eq!(is_stack_name(name), ok, "{name:?}");
        }
        assert!(is_stack_name(&"a".repeat(128)));
        assert!(!is_stack_name(&"a".repeat(129)));
    }

    /// The policy name treated as member.yaml's own is the one the template gives.
    #[test]
    fn member_policy_name_follows_the_template() {
        let member = include_str!("../../infra/org/member.yaml");
        assert!(
            member.contains(&format!(
                "PolicyName: !Sub ${{AWS::StackName}}{MEMBER_POLICY_SUFFIX}\n"
            )),
            "infra/org/member.yaml names its account policy otherwise"
        );
    }

    #[tokio::test]
    async fn gather_asks_only_what_the_plan_needs() {
        let mut survey = MemorySurvey::default();
        survey
            .log_groups
            .insert(ACCESS.to_owned(), vec![filter("splunk")]);
        let mut p = plan();
        let facts = gather(&survey, &p).await.unwrap();
        assert_eq!(facts, Facts::default());

        p.log_groups = vec![
            (GroupRole::Access, ACCESS.to_owned()),
            (GroupRole::Execution, EXEC.to_owned()),
        ];
        let facts = gather(&survey, &p).await.unwrap();
        assert_eq!(facts.log_groups[ACCESS], group(&["splunk"]));
        assert_eq!(facts.log_groups[EXEC], missing());
        assert_eq!(facts.account_policies, Some(Ok(vec![])));
        assert_eq!(facts.cloudwatch_role, Some(Ok(None)));
        assert_eq!(facts.slack_channel_configurations, None);
        assert_eq!(facts.trails, None, "trails only for --api-change-checks");
        p.api_change_checks = true;
        assert_eq!(gather(&survey, &p).await.unwrap().trails, Some(Ok(vec![])));
        p.api_change_checks = false;

        // Chat applications are asked about only in the aws partition, with both ids.
        p.slack_workspace_id = Some("T0123".to_owned());
        p.slack_channel_id = Some("C0123".to_owned());
        assert!(
            gather(&survey, &p)
                .await
                .unwrap()
                .slack_channel_configurations
                .is_some()
        );
        p.region = "cn-north-1".to_owned();
        assert!(
            gather(&survey, &p)
                .await
                .unwrap()
                .slack_channel_configurations
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_refusal_is_a_warning_and_no_answer_stops_the_run() {
        let mut p = plan();
        p.log_groups = vec![(GroupRole::Access, ACCESS.to_owned())];
        p.slack_workspace_id = Some("T0123".to_owned());
        p.slack_channel_id = Some("C0123".to_owned());
        let mut survey = MemorySurvey::default();
        survey.log_groups.insert(ACCESS.to_owned(), vec![]);
        p.api_change_checks = true;
        survey.denied = vec![
            Call::DescribeSubscriptionFilters,
            Call::DescribeSlackChannelConfigurations,
            Call::DescribeTrails,
        ];
        let findings = check(&p, &gather(&survey, &p).await.unwrap());
        let warned: Vec<CheckId> = findings
            .iter()
            .filter(|f| f.status == Status::Warn)
            .map(|f| f.check)
            .collect();
        assert_eq!(
            warned,
            [
                CheckId::SubscriptionFilters,
                CheckId::ChatChannel,
                CheckId::CloudTrail
            ],
            "{findings:#?}"
        );
        assert!(findings.iter().all(|f| f.status != Status::Fail));

        survey.unreachable = true;
        let e = gather(&survey, &p).await.unwrap_err();
        assert_eq!(e.call(), Call::DescribeLogGroups);
        assert!(e.to_string().contains("could not reach AWS"), "{e}");
    }
}
