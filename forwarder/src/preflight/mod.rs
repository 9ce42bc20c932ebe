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

mod finding;
mod groups;
mod plan;
mod stack;
pub mod survey;

pub use finding::{CheckId, Finding, Status};
use groups::{log_group, log_group_name};
pub use plan::{Facts, GroupFacts, GroupRole, Partition, Plan, Read};
pub use stack::{MEMBER_POLICY_SUFFIX, member_policy_name};
use stack::{
    account_policy, chat_channel, cloudtrail, cloudwatch_role, partition, slack_ids, stack_name,
};
pub use survey::{
    AccountPolicy, AwsSurvey, Call, MemorySurvey, SlackChannelConfiguration, SubscriptionFilter,
    Survey, SurveyError, Trail,
};

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

#[cfg(test)]
mod tests;
