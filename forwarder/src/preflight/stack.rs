//! The checks of the stack as a whole: its name, Region and Slack ids, and what the account and
//! Region already hold that it would collide with or need.

use super::finding::{CheckId, Finding, Status, unread};
use super::plan::{Partition, Plan, Read};
use super::survey::{self, AccountPolicy, SlackChannelConfiguration, SurveyError, Trail};
use crate::text::shape::{is_stack_name, shell_word};

/// What infra/org/member.yaml appends to its stack's name to name its account-level subscription
/// filter policy.
pub const MEMBER_POLICY_SUFFIX: &str = "-api-authorizer-errors";

/// The name infra/org/member.yaml gives the policy of a stack named `stack`.
pub fn member_policy_name(stack: &str) -> String {
    format!("{stack}{MEMBER_POLICY_SUFFIX}")
}

/// Chat applications (`AWS::Chatbot::SlackChannelConfiguration`) do not exist in GovCloud, China
/// or the isolated partitions, and CloudFormation rejects an unknown resource type even under a
/// false condition (<https://docs.aws.amazon.com/chatbot/latest/adminguide/chatbot-regions.html>).
pub(super) fn partition(plan: &Plan) -> Finding {
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

pub(super) fn slack_ids(plan: &Plan) -> Option<Finding> {
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

pub(super) fn stack_name(name: &str) -> Finding {
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

/// One account-level subscription filter policy per account and Region; it applies beside the
/// group-level filters and does not count against their two
/// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutAccountPolicy.html>).
pub(super) fn account_policy(plan: &Plan, policies: &Read<Vec<AccountPolicy>>) -> Finding {
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
pub(super) fn cloudwatch_role(plan: &Plan, role: &Read<Option<String>>) -> Finding {
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
pub(super) fn chat_channel(
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
pub(super) fn cloudtrail(plan: &Plan, trails: &Read<Vec<Trail>>) -> Finding {
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
