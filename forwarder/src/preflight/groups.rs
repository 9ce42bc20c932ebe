//! The checks of each log group the stack subscribes to: its name against the template, that it
//! exists, and room for the stack's subscription filters.

use super::finding::{CheckId, Finding, Status, unread};
use super::plan::{GroupFacts, GroupRole, Plan};
use super::survey::SubscriptionFilter;
use crate::text::shape::shell_word;

/// What the template's `AllowedPattern` and `MaxLength` for the parameter say against `name`;
/// CloudFormation refuses the whole deploy on it.
pub(super) fn log_group_name(role: GroupRole, name: &str) -> Option<Finding> {
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

pub(super) fn log_group(
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
