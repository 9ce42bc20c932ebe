//! The AWS calls `preflight` makes, all of them reads: one small trait, an adapter over the AWS
//! SDK and an in-memory version for tests.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;

/// Each read `preflight` makes, to name it in a finding and say which permission it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Call {
    DescribeLogGroups,
    DescribeSubscriptionFilters,
    DescribeAccountPolicies,
    GetAccount,
    DescribeSlackChannelConfigurations,
    DescribeTrails,
    GetTrailStatus,
    GetEventSelectors,
}

impl Call {
    /// The call as IAM and CloudTrail name it.
    pub fn action(self) -> &'static str {
        match self {
            Call::DescribeLogGroups => "logs:DescribeLogGroups",
            Call::DescribeSubscriptionFilters => "logs:DescribeSubscriptionFilters",
            Call::DescribeAccountPolicies => "logs:DescribeAccountPolicies",
            Call::GetAccount => "apigateway:GetAccount",
            Call::DescribeSlackChannelConfigurations => {
                "chatbot:DescribeSlackChannelConfigurations"
            }
            Call::DescribeTrails => "cloudtrail:DescribeTrails",
            Call::GetTrailStatus => "cloudtrail:GetTrailStatus",
            Call::GetEventSelectors => "cloudtrail:GetEventSelectors",
        }
    }

    /// The permission the call needs. API Gateway's control plane is authorised per HTTP verb
    /// and resource (<https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html>).
    pub fn permission(self) -> &'static str {
        match self {
            Call::GetAccount => "apigateway:GET on arn:aws:apigateway:REGION::/account",
            other => other.action(),
        }
    }
}

/// Why a read did not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SurveyError {
    /// IAM refused the call: the run goes on and says what it could not read.
    #[error("{} was refused: {reason}", call.action())]
    Denied { call: Call, reason: String },
    /// The service answered with another error: the run goes on and says so.
    #[error("{} failed: {reason}", call.action())]
    Failed { call: Call, reason: String },
    /// No service answered, or it did not accept the credentials: nothing else will answer
    /// either, so the run stops.
    #[error("{} could not reach AWS: {reason}", call.action())]
    Unreachable { call: Call, reason: String },
}

impl SurveyError {
    pub fn call(&self) -> Call {
        match self {
            SurveyError::Denied { call, .. }
            | SurveyError::Failed { call, .. }
            | SurveyError::Unreachable { call, .. } => *call,
        }
    }
}

/// A log group's subscription filter, as DescribeSubscriptionFilters lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriptionFilter {
    pub name: String,
    pub destination_arn: String,
}

/// An account-level policy, as DescribeAccountPolicies lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountPolicy {
    pub name: String,
    pub selection_criteria: Option<String>,
}

/// An Amazon Q Developer in chat applications Slack channel configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlackChannelConfiguration {
    pub arn: String,
    pub name: Option<String>,
    pub workspace_id: String,
    pub channel_id: String,
    pub topic_arns: Vec<String>,
}

/// A CloudTrail trail that delivers this Region's events: one of the Region, or a multi-Region or
/// organization trail of another home Region (DescribeTrails lists those as shadow trails).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trail {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    /// GetTrailStatus's `IsLogging`.
    pub logging: Result<bool, SurveyError>,
    /// Whether its event selectors record management events that write (write-only or all).
    pub management_writes: Result<bool, SurveyError>,
}

/// The reads `preflight` makes in the account and Region it checks.
pub trait Survey: Sync {
    /// Whether a log group of exactly this name exists.
    fn log_group_exists(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<bool, SurveyError>> + Send;
    /// The group's subscription filters; none for a group that does not exist.
    fn subscription_filters(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<Vec<SubscriptionFilter>, SurveyError>> + Send;
    /// The account's subscription filter policies in this Region.
    fn account_policies(
        &self,
    ) -> impl Future<Output = Result<Vec<AccountPolicy>, SurveyError>> + Send;
    /// The API Gateway account setting `cloudwatchRoleArn`, `None` when unset.
    fn cloudwatch_role(&self) -> impl Future<Output = Result<Option<String>, SurveyError>> + Send;
    /// Every Slack channel configuration of the account.
    fn slack_channel_configurations(
        &self,
    ) -> impl Future<Output = Result<Vec<SlackChannelConfiguration>, SurveyError>> + Send;
    /// The trails that deliver this Region's events, each with whether it logs and records
    /// management events.
    fn trails(&self) -> impl Future<Output = Result<Vec<Trail>, SurveyError>> + Send;
}

/// Sorts an SDK error: IAM's refusal, another answer of the service, or no usable answer at all
/// (no connection, a timeout, no Region or credentials, or credentials the service refused).
fn classify<E>(call: Call, e: &SdkError<E, HttpResponse>) -> SurveyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let reason = crate::sdk::describe(e);
    let answered = matches!(e, SdkError::ServiceError(_) | SdkError::ResponseError(_));
    match e.code() {
        _ if !answered => SurveyError::Unreachable { call, reason },
        Some(
            "AccessDeniedException"
            | "AccessDenied"
            | "UnauthorizedOperation"
            | "UnauthorizedException",
        ) => SurveyError::Denied { call, reason },
        // The credentials themselves were refused: every other call would be too.
        Some(
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "ExpiredTokenException"
            | "ExpiredToken"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "MissingAuthenticationTokenException",
        ) => SurveyError::Unreachable { call, reason },
        _ => SurveyError::Failed { call, reason },
    }
}

/// The Regions with an Amazon Q Developer in chat applications (AWS Chatbot) API endpoint,
/// `chatbot.REGION.amazonaws.com`. The service is global: "your configuration data is stored in
/// each of the relevant available Regions", so any of them lists every configuration of the
/// account (<https://docs.aws.amazon.com/chatbot/latest/APIReference/Welcome.html>,
/// <https://docs.aws.amazon.com/general/latest/gr/chatbot.html>). The Rust SDK
/// (`aws-sdk-chatbot`) builds `https://chatbot.{region}.{dnsSuffix}` for whatever Region it is
/// given, a host that does not exist outside these four.
pub const CHATBOT_REGIONS: [&str; 4] = ["us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1"];

/// The Region whose chatbot endpoint answers for `region`: itself when it has one, else US East
/// (Ohio), where the service's console lives.
pub fn chatbot_region(region: &str) -> &str {
    if CHATBOT_REGIONS.contains(&region) {
        region
    } else {
        CHATBOT_REGIONS[0]
    }
}

/// Reads through the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsSurvey {
    logs: aws_sdk_cloudwatchlogs::Client,
    apigateway: aws_sdk_apigateway::Client,
    chatbot: aws_sdk_chatbot::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
}

impl AwsSurvey {
    /// Clients in `sdk`'s Region; the chatbot client in [`chatbot_region`] of it.
    /// `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_CHATBOT`) still win, for local endpoints.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let region = sdk.region().map_or("", |r| r.as_ref());
        let chatbot = aws_sdk_chatbot::config::Builder::from(sdk)
            .region(aws_config::Region::new(chatbot_region(region).to_owned()))
            .build();
        Self {
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            apigateway: aws_sdk_apigateway::Client::new(sdk),
            chatbot: aws_sdk_chatbot::Client::from_conf(chatbot),
            cloudtrail: aws_sdk_cloudtrail::Client::new(sdk),
        }
    }
}

impl Survey for AwsSurvey {
    /// DescribeLogGroups takes a prefix, so the exact name is looked for among its pages
    /// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html>).
    async fn log_group_exists(&self, name: &str) -> Result<bool, SurveyError> {
        let mut next: Option<String> = None;
        loop {
            let page = self
                .logs
                .describe_log_groups()
                .log_group_name_prefix(name)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| classify(Call::DescribeLogGroups, &e))?;
            if page
                .log_groups()
                .iter()
                .any(|g| g.log_group_name() == Some(name))
            {
                return Ok(true);
            }
            match crate::diagnose::inspect::next_page(next.as_deref(), page.next_token()) {
                Some(t) => next = Some(t),
                None => return Ok(false),
            }
        }
    }

    /// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeSubscriptionFilters.html>)
    async fn subscription_filters(
        &self,
        group: &str,
    ) -> Result<Vec<SubscriptionFilter>, SurveyError> {
        let mut filters = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = match self
                .logs
                .describe_subscription_filters()
                .log_group_name(group)
                .set_next_token(next.clone())
                .send()
                .await
            {
                Ok(page) => page,
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(filters),
                Err(e) => return Err(classify(Call::DescribeSubscriptionFilters, &e)),
            };
            filters.extend(
                page.subscription_filters()
                    .iter()
                    .map(|f| SubscriptionFilter {
                        name: f.filter_name().unwrap_or_default().to_owned(),
                        destination_arn: f.destination_arn().unwrap_or_default().to_owned(),
                    }),
            );
            match crate::diagnose::inspect::next_page(next.as_deref(), page.next_token()) {
                Some(t) => next = Some(t),
                None => return Ok(filters),
            }
        }
    }

    /// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeAccountPolicies.html>)
    async fn account_policies(&self) -> Result<Vec<AccountPolicy>, SurveyError> {
        use aws_sdk_cloudwatchlogs::types::PolicyType;
        let mut policies = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .logs
                .describe_account_policies()
                .policy_type(PolicyType::SubscriptionFilterPolicy)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| classify(Call::DescribeAccountPolicies, &e))?;
            policies.extend(page.account_policies().iter().map(|p| AccountPolicy {
                name: p.policy_name().unwrap_or_default().to_owned(),
                selection_criteria: p.selection_criteria().map(str::to_owned),
            }));
            match crate::diagnose::inspect::next_page(next.as_deref(), page.next_token()) {
                Some(t) => next = Some(t),
                None => return Ok(policies),
            }
        }
    }

    /// (<https://docs.aws.amazon.com/apigateway/latest/api/API_GetAccount.html>)
    async fn cloudwatch_role(&self) -> Result<Option<String>, SurveyError> {
        let account = self
            .apigateway
            .get_account()
            .send()
            .await
            .map_err(|e| classify(Call::GetAccount, &e))?;
        Ok(account
            .cloudwatch_role_arn()
            .filter(|arn| !arn.is_empty())
            .map(str::to_owned))
    }

    /// (<https://docs.aws.amazon.com/chatbot/latest/APIReference/API_DescribeSlackChannelConfigurations.html>)
    async fn slack_channel_configurations(
        &self,
    ) -> Result<Vec<SlackChannelConfiguration>, SurveyError> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .chatbot
                .describe_slack_channel_configurations()
                .max_results(100)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| classify(Call::DescribeSlackChannelConfigurations, &e))?;
            found.extend(page.slack_channel_configurations().iter().map(|c| {
                SlackChannelConfiguration {
                    arn: c.chat_configuration_arn().to_owned(),
                    name: c.configuration_name().map(str::to_owned),
                    workspace_id: c.slack_team_id().to_owned(),
                    channel_id: c.slack_channel_id().to_owned(),
                    topic_arns: c.sns_topic_arns().to_vec(),
                }
            }));
            match crate::diagnose::inspect::next_page(next.as_deref(), page.next_token()) {
                Some(t) => next = Some(t),
                None => return Ok(found),
            }
        }
    }

    /// DescribeTrails with shadow trails (a multi-Region or organization trail homed elsewhere
    /// delivers this Region's events too), then each trail's GetTrailStatus and
    /// GetEventSelectors by ARN, asked in the trail's home Region
    /// (<https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DescribeTrails.html>).
    /// A refusal of one trail's status or selectors is kept with that trail.
    async fn trails(&self) -> Result<Vec<Trail>, SurveyError> {
        let listed = self
            .cloudtrail
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(|e| classify(Call::DescribeTrails, &e))?;
        let mut trails = Vec::new();
        for t in listed.trail_list() {
            let Some(arn) = t.trail_arn() else { continue };
            let home = match t.home_region() {
                Some(r) if !r.is_empty() => self
                    .cloudtrail
                    .config()
                    .to_builder()
                    .region(aws_config::Region::new(r.to_owned()))
                    .build(),
                _ => self.cloudtrail.config().clone(),
            };
            let home = aws_sdk_cloudtrail::Client::from_conf(home);
            let logging = match home.get_trail_status().name(arn).send().await {
                Ok(status) => Ok(status.is_logging().unwrap_or(false)),
                Err(e) => Err(classify(Call::GetTrailStatus, &e)),
            };
            let management_writes = match home.get_event_selectors().trail_name(arn).send().await {
                Ok(s) => Ok(records_management_writes(&s)),
                Err(e) => Err(classify(Call::GetEventSelectors, &e)),
            };
            for r in [&logging.as_ref().err(), &management_writes.as_ref().err()] {
                if let Some(e @ SurveyError::Unreachable { .. }) = r {
                    return Err((*e).clone());
                }
            }
            trails.push(Trail {
                name: t.name().unwrap_or(arn).to_owned(),
                arn: arn.to_owned(),
                home_region: t.home_region().unwrap_or_default().to_owned(),
                logging,
                management_writes,
            });
        }
        Ok(trails)
    }
}

/// Whether a trail's selectors record management events that write: basic selectors with
/// `IncludeManagementEvents` and `ReadWriteType` `All` or `WriteOnly`, or an advanced selector
/// on `eventCategory` `Management` that does not keep only reads
/// (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html>).
fn records_management_writes(
    s: &aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput,
) -> bool {
    use aws_sdk_cloudtrail::types::ReadWriteType;
    let basic = s.event_selectors().iter().any(|e| {
        e.include_management_events() == Some(true)
            && !matches!(e.read_write_type(), Some(ReadWriteType::ReadOnly))
    });
    let advanced = s.advanced_event_selectors().iter().any(|a| {
        let field = |name: &str| a.field_selectors().iter().find(|f| f.field() == name);
        let management =
            field("eventCategory").is_some_and(|f| f.equals().iter().any(|v| v == "Management"));
        let reads_only = field("readOnly").is_some_and(|f| {
            f.equals().iter().any(|v| v == "true") || f.not_equals().iter().any(|v| v == "false")
        });
        management && !reads_only
    });
    basic || advanced
}

/// Fixed answers, for tests and for what no local AWS stand-in implements (moto has no chatbot
/// and no account-level policies).
#[derive(Clone, Debug, Default)]
pub struct MemorySurvey {
    /// Each existing log group with its subscription filters.
    pub log_groups: BTreeMap<String, Vec<SubscriptionFilter>>,
    pub account_policies: Vec<AccountPolicy>,
    pub cloudwatch_role: Option<String>,
    pub slack_channel_configurations: Vec<SlackChannelConfiguration>,
    pub trails: Vec<Trail>,
    /// Calls IAM refuses.
    pub denied: Vec<Call>,
    /// When set, every call fails as if no endpoint answered.
    pub unreachable: bool,
}

impl MemorySurvey {
    fn answer<T>(&self, call: Call, value: impl FnOnce() -> T) -> Result<T, SurveyError> {
        if self.unreachable {
            return Err(SurveyError::Unreachable {
                call,
                reason: "dispatch failure: io error: Connection refused".to_owned(),
            });
        }
        if self.denied.contains(&call) {
            return Err(SurveyError::Denied {
                call,
                reason: format!(
                    "AccessDeniedException: not authorized to perform: {}",
                    call.action()
                ),
            });
        }
        Ok(value())
    }
}

impl Survey for MemorySurvey {
    async fn log_group_exists(&self, name: &str) -> Result<bool, SurveyError> {
        self.answer(Call::DescribeLogGroups, || {
            self.log_groups.contains_key(name)
        })
    }

    async fn subscription_filters(
        &self,
        group: &str,
    ) -> Result<Vec<SubscriptionFilter>, SurveyError> {
        self.answer(Call::DescribeSubscriptionFilters, || {
            self.log_groups.get(group).cloned().unwrap_or_default()
        })
    }

    async fn account_policies(&self) -> Result<Vec<AccountPolicy>, SurveyError> {
        self.answer(Call::DescribeAccountPolicies, || {
            self.account_policies.clone()
        })
    }

    async fn cloudwatch_role(&self) -> Result<Option<String>, SurveyError> {
        self.answer(Call::GetAccount, || self.cloudwatch_role.clone())
    }

    async fn slack_channel_configurations(
        &self,
    ) -> Result<Vec<SlackChannelConfiguration>, SurveyError> {
        self.answer(Call::DescribeSlackChannelConfigurations, || {
            self.slack_channel_configurations.clone()
        })
    }

    async fn trails(&self) -> Result<Vec<Trail>, SurveyError> {
        self.answer(Call::DescribeTrails, || self.trails.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Basic selectors record management events unless they keep only reads; advanced ones on
    /// eventCategory Management unless they keep only reads; data events alone never.
    #[test]
    fn management_writes_come_from_basic_or_advanced_selectors() {
        use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
        use aws_sdk_cloudtrail::types::{
            AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType,
        };
        let basic = |management: bool, rw: ReadWriteType| {
            GetEventSelectorsOutput::builder()
                .event_selectors(
                    EventSelector::builder()
                        .include_management_events(management)
                        .read_write_type(rw)
                        .build(),
                )
                .build()
        };
        assert!(records_management_writes(&basic(true, ReadWriteType::All)));
        assert!(records_management_writes(&basic(
            true,
            ReadWriteType::WriteOnly
        )));
        assert!(!records_management_writes(&basic(
            true,
            ReadWriteType::ReadOnly
        )));
        assert!(!records_management_writes(&basic(
            false,
            ReadWriteType::All
        )));
        let field = |name: &str, equals: &[&str]| {
            AdvancedFieldSelector::builder()
                .field(name)
                .set_equals(Some(equals.iter().map(|v| (*v).to_owned()).collect()))
                .build()
                .unwrap()
        };
        let advanced = |fields: Vec<AdvancedFieldSelector>| {
            GetEventSelectorsOutput::builder()
                .advanced_event_selectors(
                    AdvancedEventSelector::builder()
                        .set_field_selectors(Some(fields))
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let management = || field("eventCategory", &["Management"]);
        assert!(records_management_writes(&advanced(vec![management()])));
        assert!(records_management_writes(&advanced(vec![
            management(),
            field("readOnly", &["false"])
        ])));
        assert!(!records_management_writes(&advanced(vec![
            management(),
            field("readOnly", &["true"])
        ])));
        assert!(!records_management_writes(&advanced(vec![
            field("eventCategory", &["Data"]),
            field("resources.type", &["AWS::S3::Object"])
        ])));
        assert!(!records_management_writes(
            &GetEventSelectorsOutput::builder().build()
        ));
    }

    #[test]
    fn chatbot_is_asked_where_it_has_an_endpoint() {
        for (region, want) in [
            ("us-east-2", "us-east-2"),
            ("eu-west-1", "eu-west-1"),
            ("ap-southeast-1", "ap-southeast-1"),
            ("us-east-1", "us-east-2"),
            ("ap-northeast-1", "us-east-2"),
            ("", "us-east-2"),
        ] {
            assert_eq!(chatbot_region(region), want, "{region}");
        }
    }

    #[test]
    fn the_chatbot_client_goes_to_an_endpoint_that_exists() {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("ap-northeast-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let survey = AwsSurvey::new(&sdk);
        assert_eq!(
            survey.chatbot.config().region().map(|r| r.as_ref()),
            Some("us-east-2")
        );
        assert_eq!(
            survey.logs.config().region().map(|r| r.as_ref()),
            Some("ap-northeast-1")
        );
    }
}
