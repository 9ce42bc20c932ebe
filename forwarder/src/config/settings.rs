//! The settings' names, bounds and errors, one place for the environment, the command line and
//! the stack to agree on.

use crate::detect::access_log::FormatError;
use crate::model::cause::Cause;

pub const DEFAULT_MAX_SAMPLES: usize = 5;
/// Keeps one alert readable; more ids belong in the log, not in an email.
pub const MAX_MAX_SAMPLES: usize = 100;
pub(super) const MAX_LABEL_LEN: usize = 40;

/// A setting that cannot be used, named as the operator gave it: the environment variable in
/// Lambda, the flag on the command line (or the variable when no flag was typed).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name} {problem}")]
pub struct ConfigError {
    pub name: String,
    pub problem: Invalid,
}

impl ConfigError {
    pub fn new(name: impl Into<String>, problem: Invalid) -> Self {
        Self {
            name: name.into(),
            problem,
        }
    }
}

/// What is wrong with a setting's value; [`ConfigError`] puts the setting's name in front.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    #[error("is not set: the forwarder needs the SNS topic to publish alerts to")]
    MissingTopic,
    #[error("{0:?} is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT_ID:NAME)")]
    Topic(String),
    #[error(
        "{0:?} is not a whole number from 0 to {MAX_MAX_SAMPLES} (default {DEFAULT_MAX_SAMPLES})"
    )]
    MaxSamples(String),
    #[error("{0:?} is not a supported language (use en or ja)")]
    Language(String),
    #[error("{0:?} is not a label: printable ASCII of at most {MAX_LABEL_LEN} characters")]
    Label(String),
    /// The reason is in the message, not a source, so a chain printed whole says it once.
    #[error("is not a usable access-log format: {0}")]
    Format(FormatError),
    #[error("{0:?} is not true or false")]
    Bool(String),
    #[error("{0:?} is not an API Gateway API id (lower-case letters and digits)")]
    ApiId(String),
    #[error("{0:?} is not a whole number of seconds from 0 to {MAX_WINDOW_SECONDS}")]
    Window(String),
    #[error("{0:?} is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)")]
    Table(String),
    #[error("{0:?} is not an EventBridge rule name (1 to 64 of A-Z a-z 0-9 _ . -)")]
    Rule(String),
    #[error("{0:?} is not a log group name (1 to 512 of A-Z a-z 0-9 _ - / . #)")]
    LogGroup(String),
    #[error("{0:?} is not * or a comma-separated list of API ids")]
    Sweep(String),
    #[error("{0:?} is not an AWS Region name (such as eu-west-1)")]
    Region(String),
    #[error("{0:?} is not amazon or native")]
    Roots(String),
    #[error(
        "{0:?} is not a CloudWatch namespace (1 to 255 of A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/); empty turns metrics off"
    )]
    Namespace(String),
    #[error(
        "{0:?} is not a list of CAUSE=SEVERITY (causes: {causes}; severities: warning, high, critical; info is a recovery's)",
        causes = Cause::ALL.map(Cause::code).join(", ")
    )]
    CauseSeverity(String),
    #[error(
        "{0:?} is not a chat mention: use @here, @channel, <@USER_ID> or <!subteam^GROUP_ID>, at most {MAX_MENTIONS} separated by spaces"
    )]
    Mention(String),
    #[error("{0:?} is not info, warning, high or critical")]
    Severity(String),
}

/// Every setting: the environment variable the Lambda function reads it from, and the flag the
/// command line takes it by. Settings without a flag steer only what the function does between
/// invocations (flood control, its schedule, its own log group) or how it reaches AWS from inside
/// Lambda; the command line never does those.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    TopicArn,
    Label,
    MaxSamples,
    Language,
    Format,
    Region,
    DefaultRegion,
    Diagnose,
    ApiId,
    WindowSeconds,
    StateTable,
    TlsRoots,
    MetricsNamespace,
    CauseSeverity,
    Mention,
    MentionSeverity,
    ExecutionLogGroups,
    RecoveryRule,
    OwnLogGroup,
    TestInvoke,
    InvokeAuthorizers,
    SweepApis,
    SweepRule,
}

impl Setting {
    pub const ALL: [Setting; 23] = [
        Setting::TopicArn,
        Setting::Label,
        Setting::MaxSamples,
        Setting::Language,
        Setting::Format,
        Setting::Region,
        Setting::DefaultRegion,
        Setting::Diagnose,
        Setting::ApiId,
        Setting::WindowSeconds,
        Setting::StateTable,
        Setting::TlsRoots,
        Setting::MetricsNamespace,
        Setting::CauseSeverity,
        Setting::Mention,
        Setting::MentionSeverity,
        Setting::ExecutionLogGroups,
        Setting::RecoveryRule,
        Setting::OwnLogGroup,
        Setting::TestInvoke,
        Setting::InvokeAuthorizers,
        Setting::SweepApis,
        Setting::SweepRule,
    ];

    /// The environment variable, as the stack sets it.
    pub const fn env(self) -> &'static str {
        match self {
            Setting::TopicArn => "ALERT_TOPIC_ARN",
            Setting::Label => "ALERT_LABEL",
            Setting::MaxSamples => "MAX_SAMPLES",
            Setting::Language => "ALERT_LANGUAGE",
            Setting::Format => "ACCESS_LOG_FORMAT",
            Setting::Region => "AWS_REGION",
            Setting::DefaultRegion => "AWS_DEFAULT_REGION",
            Setting::Diagnose => "DIAGNOSE",
            Setting::ApiId => "API_ID",
            Setting::WindowSeconds => "ALERT_WINDOW_SECONDS",
            Setting::StateTable => "ALERT_STATE_TABLE",
            Setting::TlsRoots => "TLS_ROOTS",
            Setting::MetricsNamespace => "METRICS_NAMESPACE",
            Setting::CauseSeverity => "CAUSE_SEVERITY",
            Setting::Mention => "ALERT_MENTION",
            Setting::MentionSeverity => "ALERT_MENTION_SEVERITY",
            Setting::ExecutionLogGroups => "EXECUTION_LOG_GROUPS",
            Setting::RecoveryRule => "RECOVERY_RULE_NAME",
            Setting::OwnLogGroup => "AWS_LAMBDA_LOG_GROUP_NAME",
            Setting::TestInvoke => "TEST_INVOKE_AUTHORIZERS",
            Setting::InvokeAuthorizers => "INVOKE_AUTHORIZERS",
            Setting::SweepApis => "SWEEP_API_IDS",
            Setting::SweepRule => "SWEEP_RULE_NAME",
        }
    }

    /// The `scan` and `check` flag, when the command line takes the setting; those without one
    /// are the Lambda function's alone ([`Setting::lambda_only_because`]).
    pub const fn flag(self) -> Option<&'static str> {
        match self {
            Setting::Label => Some("--label"),
            Setting::MaxSamples => Some("--max-samples"),
            Setting::Language => Some("--language"),
            Setting::Format => Some("--format"),
            Setting::Region => Some("--region"),
            Setting::Diagnose => Some("--diagnose"),
            Setting::ApiId => Some("--api-id"),
            Setting::MetricsNamespace => Some("--metrics-namespace"),
            Setting::CauseSeverity => Some("--cause-severity"),
            Setting::Mention => Some("--mention"),
            Setting::MentionSeverity => Some("--mention-severity"),
            Setting::ExecutionLogGroups => Some("--execution-log-group"),
            Setting::TopicArn
            | Setting::DefaultRegion
            | Setting::WindowSeconds
            | Setting::StateTable
            | Setting::TlsRoots
            | Setting::RecoveryRule
            | Setting::OwnLogGroup
            | Setting::TestInvoke
            | Setting::InvokeAuthorizers
            | Setting::SweepApis
            | Setting::SweepRule => None,
        }
    }

    /// Whether `scan` and `check` read the variable when no flag says otherwise: those with a
    /// flag, and `AWS_DEFAULT_REGION` after `AWS_REGION` for `--region`.
    pub fn cli_reads(self) -> bool {
        self.flag().is_some() || self == Setting::DefaultRegion
    }

    /// Why a setting has no flag: the command line reads it nowhere, so an unusable value in
    /// the environment never stops a command that does not use it.
    pub const fn lambda_only_because(self) -> Option<&'static str> {
        match self {
            Setting::TopicArn => {
                Some("the command line publishes only to the topic --publish names")
            }
            Setting::DefaultRegion => Some("read after AWS_REGION, as the SDK reads it"),
            Setting::WindowSeconds | Setting::StateTable => Some(
                "flood control holds state between invocations; the command line reports every problem each run",
            ),
            Setting::TlsRoots => {
                Some("the command line always trusts the system's certificate store")
            }
            Setting::RecoveryRule => Some("the function switches its own recovery schedule"),
            Setting::OwnLogGroup => Some("set by Lambda to the function's own log group"),
            Setting::TestInvoke | Setting::InvokeAuthorizers => Some(
                "checks before traffic run in the function; doctor takes --test-invoke and --invoke-authorizers",
            ),
            Setting::SweepApis => {
                Some("the sweep runs on the stack's schedule; doctor checks the API or stack named")
            }
            Setting::SweepRule => {
                Some("names the stack's sweep schedule, told from the recovery schedule")
            }
            _ => None,
        }
    }
}

/// The metrics namespace unless `METRICS_NAMESPACE` says otherwise.
pub const DEFAULT_METRICS_NAMESPACE: &str = "AuthorizerAlerts";
/// More people than this belong in a user group.
pub const MAX_MENTIONS: usize = 5;

/// One alert per problem and window by default: 15 minutes.
pub const DEFAULT_WINDOW_SECONDS: u64 = 900;
/// A day; longer would hide a problem that came back.
pub const MAX_WINDOW_SECONDS: u64 = 86_400;
