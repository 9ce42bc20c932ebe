//! Settings from the environment, validated once at cold start so a bad deployment fails loudly
//! on its first invocation instead of dropping alerts later.

use std::fmt;
use std::str::FromStr;

use crate::detect::LogKind;
use crate::detect::access_log::{DEFAULT_FORMAT, FormatError, LogFormat};
use crate::model::cause::{Cause, Severity};
use crate::model::language::Language;
use crate::sdk::Roots;

pub const DEFAULT_MAX_SAMPLES: usize = 5;
/// Keeps one alert readable; more ids belong in the log, not in an email.
pub const MAX_MAX_SAMPLES: usize = 100;
const MAX_LABEL_LEN: usize = 40;

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

impl FromStr for Language {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "en" => Ok(Language::En),
            "ja" => Ok(Language::Ja),
            _ => Err(Invalid::Language(s.to_owned())),
        }
    }
}

/// An SNS topic ARN, checked so a typo fails at deploy time rather than at the first alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicArn {
    arn: String,
    region: String,
    account_id: String,
}

impl TopicArn {
    pub fn as_str(&self) -> &str {
        &self.arn
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    pub fn account_id(&self) -> &str {
        &self.account_id
    }
}

impl FromStr for TopicArn {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Invalid::Topic(s.to_owned());
        let parts: Vec<&str> = s.split(':').collect();
        let [arn, partition, service, region, account, name] = parts[..] else {
            return Err(bad());
        };
        let name_ok = !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if arn != "arn"
            || !partition.starts_with("aws")
            || service != "sns"
            || region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || !name_ok
        {
            return Err(bad());
        }
        Ok(TopicArn {
            arn: s.to_owned(),
            region: region.to_owned(),
            account_id: account.to_owned(),
        })
    }
}

impl fmt::Display for TopicArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// Everything the forwarder needs besides AWS credentials.
#[derive(Clone, Debug)]
pub struct Config {
    pub topic: Option<TopicArn>,
    pub label: Option<String>,
    pub max_samples: usize,
    pub language: Language,
    pub format: LogFormat,
    /// Region for console links and remedy commands (`AWS_REGION` in Lambda).
    pub region: Option<String>,
    /// Check each alert against the API's live configuration (`DIAGNOSE`).
    pub diagnose: bool,
    /// The API to check when the log lines do not carry `$context.apiId` (`API_ID`).
    pub api_id: Option<String>,
    /// Flood-control window (`ALERT_WINDOW_SECONDS`); 0 turns it off.
    pub window_seconds: u64,
    /// The DynamoDB table that holds the windows (`ALERT_STATE_TABLE`); none turns it off.
    pub state_table: Option<String>,
    /// The certificate authorities the Lambda function trusts (`TLS_ROOTS`): Amazon's, compiled
    /// in, or the system's (`native`, which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`). The CLI
    /// always uses the system's.
    pub tls_roots: Roots,
    /// Where the per-invocation metrics go (`METRICS_NAMESPACE`); none writes none.
    pub metrics_namespace: Option<String>,
    /// Severities `CAUSE_SEVERITY` changed; the others are [`Cause::severity`].
    pub severities: Vec<(Cause, Severity)>,
    /// Who chat notifications mention (`ALERT_MENTION`), from [`Config::mention_severity`] up.
    pub mention: Option<Mention>,
    /// The lowest severity whose chat notifications mention (`ALERT_MENTION_SEVERITY`).
    pub mention_severity: Severity,
    /// Log groups that receive a REST API's execution logs through a log delivery
    /// (`EXECUTION_LOG_GROUPS`), besides the groups API Gateway names itself.
    pub execution_log_groups: Vec<String>,
    /// The EventBridge rule that runs the recovery check (`RECOVERY_RULE_NAME`), turned on and off
    /// by the function ([`crate::alerts::flood::schedule`]); none leaves whatever schedule there is alone.
    pub recovery_rule: Option<String>,
    /// The function's own log group (`AWS_LAMBDA_LOG_GROUP_NAME`, set by Lambda). A batch from it
    /// is never read: an account-level subscription policy that reaches it would otherwise feed
    /// the forwarder its own lines in a loop.
    pub own_log_group: Option<String>,
    /// Test REST authorizers through API Gateway's `TestInvokeAuthorizer` when checking before
    /// traffic (`TEST_INVOKE_AUTHORIZERS`); it runs the authorizer's code.
    pub test_invoke: bool,
    /// Invoke HTTP and WebSocket authorizer functions with a synthetic request when checking
    /// before traffic (`INVOKE_AUTHORIZERS`); it runs the function's code.
    pub invoke_authorizers: bool,
    /// The APIs the scheduled sweep checks (`SWEEP_API_IDS`); none: no sweep.
    pub sweep: Option<Sweep>,
    /// The EventBridge rule of the sweep (`SWEEP_RULE_NAME`), so its events are told from the
    /// recovery schedule's.
    pub sweep_rule: Option<String>,
}

/// What the scheduled sweep checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Every API in the account and Region (`*`).
    All,
    Apis(Vec<String>),
}

/// `*`, or API ids separated by commas.
pub fn parse_sweep(v: &str) -> Result<Sweep, Invalid> {
    let v = v.trim();
    if v == "*" {
        return Ok(Sweep::All);
    }
    let ids: Vec<String> = v.split(',').map(|id| id.trim().to_owned()).collect();
    if ids.iter().all(|id| is_api_id(id)) {
        Ok(Sweep::Apis(ids))
    } else {
        Err(Invalid::Sweep(v.to_owned()))
    }
}

/// An EventBridge rule name: 1 to 64 of `A-Za-z0-9_.-`.
fn parse_rule(v: &str) -> Result<String, Invalid> {
    let rule = v.trim();
    let ok = (1..=64).contains(&rule.len())
        && rule
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    ok.then(|| rule.to_owned())
        .ok_or_else(|| Invalid::Rule(v.to_owned()))
}

impl Config {
    /// Flood control needs both a table and a window.
    pub fn flood_control(&self) -> Option<(&str, u64)> {
        self.state_table
            .as_deref()
            .filter(|_| self.window_seconds > 0)
            .map(|t| (t, self.window_seconds))
    }

    /// Which log a group holds: an execution log when API Gateway named the group so, or when the
    /// operator said it receives execution logs; an access log otherwise.
    pub fn log_kind(&self, log_group: &str) -> LogKind {
        if self.execution_log_groups.iter().any(|g| g == log_group) {
            LogKind::Execution
        } else {
            LogKind::of_group(log_group)
        }
    }

    /// The severity of a cause's alerts, as configured.
    pub fn severity(&self, cause: Cause) -> Severity {
        self.severities
            .iter()
            .find(|(c, _)| *c == cause)
            .map_or_else(|| cause.severity(), |(_, s)| *s)
    }

    /// The mention for a chat notification of this severity, if any.
    pub fn mention_for(&self, severity: Severity) -> Option<&Mention> {
        self.mention
            .as_ref()
            .filter(|_| severity >= self.mention_severity)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            topic: None,
            label: None,
            max_samples: DEFAULT_MAX_SAMPLES,
            language: Language::En,
            format: LogFormat::default(),
            region: None,
            diagnose: false,
            api_id: None,
            window_seconds: DEFAULT_WINDOW_SECONDS,
            state_table: None,
            tls_roots: Roots::Amazon,
            metrics_namespace: None,
            severities: Vec::new(),
            mention: None,
            mention_severity: Severity::Critical,
            execution_log_groups: Vec::new(),
            recovery_rule: None,
            own_log_group: None,
            test_invoke: false,
            invoke_authorizers: false,
            sweep: None,
            sweep_rule: None,
        }
    }
}

/// A setting's value and the name to blame when it is unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Given {
    pub name: String,
    pub value: String,
}

impl Given {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }

    fn blame(&self, problem: Invalid) -> ConfigError {
        ConfigError::new(self.name.clone(), problem)
    }

    fn parse<T>(&self, parse: impl FnOnce(&str) -> Result<T, Invalid>) -> Result<T, ConfigError> {
        parse(&self.value).map_err(|p| self.blame(p))
    }
}

impl Config {
    /// Reads the process environment. The Lambda requires a topic; the CLI does not.
    pub fn from_env(require_topic: bool) -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok(), require_topic)
    }

    /// Reads settings through `get` by their environment names, so tests need not touch the
    /// process environment.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        require_topic: bool,
    ) -> Result<Self, ConfigError> {
        Self::from_settings(
            |s| get(s.env()).map(|v| Given::new(s.env(), v)),
            require_topic,
        )
    }

    /// Reads each setting through `get`, which says where the value came from: the command line
    /// answers with the flag the user typed, or the variable when none was, and answers nothing
    /// for a setting the subcommand does not use.
    pub fn from_settings(
        get: impl Fn(Setting) -> Option<Given>,
        require_topic: bool,
    ) -> Result<Self, ConfigError> {
        let set = |s: Setting| get(s).filter(|g| !g.value.trim().is_empty());
        let topic = match set(Setting::TopicArn) {
            Some(g) => Some(g.parse(|v| v.trim().parse::<TopicArn>())?),
            None if require_topic => {
                return Err(ConfigError::new(
                    Setting::TopicArn.env(),
                    Invalid::MissingTopic,
                ));
            }
            None => None,
        };
        let label = set(Setting::Label)
            .map(|g| g.parse(parse_label))
            .transpose()?;
        let max_samples = set(Setting::MaxSamples)
            .map(|g| g.parse(parse_max_samples))
            .transpose()?
            .unwrap_or(DEFAULT_MAX_SAMPLES);
        let language = set(Setting::Language)
            .map(|g| g.parse(str::parse))
            .transpose()?
            .unwrap_or_default();
        let format = match set(Setting::Format) {
            Some(g) => g.parse(|v| LogFormat::parse(v).map_err(Invalid::Format))?,
            None => LogFormat::parse(DEFAULT_FORMAT).expect("the default format is usable"),
        };
        let region = set(Setting::Region)
            .or_else(|| set(Setting::DefaultRegion))
            .map(|g| g.parse(parse_region))
            .transpose()?
            .or_else(|| topic.as_ref().map(|t| t.region().to_owned()));
        let diagnose = set(Setting::Diagnose)
            .map(|g| g.parse(parse_bool))
            .transpose()?
            .unwrap_or(false);
        let api_id = set(Setting::ApiId)
            .map(|g| g.parse(parse_api_id))
            .transpose()?;
        let window_seconds = set(Setting::WindowSeconds)
            .map(|g| {
                g.parse(|v| {
                    v.trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|s| *s <= MAX_WINDOW_SECONDS)
                        .ok_or_else(|| Invalid::Window(v.to_owned()))
                })
            })
            .transpose()?
            .unwrap_or(DEFAULT_WINDOW_SECONDS);
        let state_table = set(Setting::StateTable)
            .map(|g| {
                g.parse(|t| {
                    let t = t.trim();
                    let ok = (3..=255).contains(&t.len())
                        && t.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
                    ok.then(|| t.to_owned())
                        .ok_or_else(|| Invalid::Table(t.to_owned()))
                })
            })
            .transpose()?;
        let tls_roots = set(Setting::TlsRoots)
            .map(|g| {
                g.parse(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "amazon" => Ok(Roots::Amazon),
                    "native" => Ok(Roots::Native),
                    _ => Err(Invalid::Roots(v.to_owned())),
                })
            })
            .transpose()?
            .unwrap_or(Roots::Amazon);
        // Unset: the default namespace; set but empty: no metrics.
        let metrics_namespace = match get(Setting::MetricsNamespace) {
            None => Some(DEFAULT_METRICS_NAMESPACE.to_owned()),
            Some(g) if g.value.trim().is_empty() => None,
            Some(g) => Some(g.parse(parse_namespace)?),
        };
        let severities = set(Setting::CauseSeverity)
            .map(|g| g.parse(parse_severities))
            .transpose()?
            .unwrap_or_default();
        let mention = set(Setting::Mention)
            .map(|g| g.parse(str::parse))
            .transpose()?;
        let mention_severity = set(Setting::MentionSeverity)
            .map(|g| {
                g.parse(|v| Severity::from_code(v).ok_or_else(|| Invalid::Severity(v.to_owned())))
            })
            .transpose()?
            .unwrap_or(Severity::Critical);
        let execution_log_groups = set(Setting::ExecutionLogGroups)
            .map(|g| g.parse(parse_log_groups))
            .transpose()?
            .unwrap_or_default();
        let recovery_rule = set(Setting::RecoveryRule)
            .map(|g| g.parse(parse_rule))
            .transpose()?;
        let flag = |s: Setting| -> Result<bool, ConfigError> {
            Ok(set(s)
                .map(|g| g.parse(parse_bool))
                .transpose()?
                .unwrap_or(false))
        };
        let test_invoke = flag(Setting::TestInvoke)?;
        let invoke_authorizers = flag(Setting::InvokeAuthorizers)?;
        let sweep = set(Setting::SweepApis)
            .map(|g| g.parse(parse_sweep))
            .transpose()?;
        let sweep_rule = set(Setting::SweepRule)
            .map(|g| g.parse(parse_rule))
            .transpose()?;
        let own_log_group = set(Setting::OwnLogGroup).map(|g| g.value.trim().to_owned());
        Ok(Config {
            topic,
            label,
            max_samples,
            language,
            format,
            region,
            diagnose,
            api_id,
            window_seconds,
            state_table,
            tls_roots,
            metrics_namespace,
            severities,
            mention,
            mention_severity,
            execution_log_groups,
            recovery_rule,
            own_log_group,
            test_invoke,
            invoke_authorizers,
            sweep,
            sweep_rule,
        })
    }
}

/// `true` or `false`, and the spellings shells and CI systems use for them.
pub fn parse_bool(v: &str) -> Result<bool, Invalid> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Invalid::Bool(v.to_owned())),
    }
}

/// A Region's name as AWS spells them (`eu-west-1`, `us-gov-west-1`, `cn-north-1`): it goes into
/// endpoints, console links and remedy commands, so nothing else passes.
pub fn parse_region(v: &str) -> Result<String, Invalid> {
    let r = v.trim();
    let parts: Vec<&str> = r.split('-').collect();
    let ok = (2..=32).contains(&r.len())
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(r.to_owned())
    } else {
        Err(Invalid::Region(v.to_owned()))
    }
}

/// A CloudWatch namespace as `PutMetricData` accepts one
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace>).
pub fn parse_namespace(v: &str) -> Result<String, Invalid> {
    let ns = v.trim();
    let ok = (1..=255).contains(&ns.len())
        && !ns.starts_with("AWS/")
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b));
    if ok {
        Ok(ns.to_owned())
    } else {
        Err(Invalid::Namespace(v.to_owned()))
    }
}

/// `authorizer_timeout=critical,format_mismatch=high`: each cause at most once.
pub fn parse_severities(v: &str) -> Result<Vec<(Cause, Severity)>, Invalid> {
    let bad = || Invalid::CauseSeverity(v.to_owned());
    let mut out: Vec<(Cause, Severity)> = Vec::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (cause, severity) = pair.split_once('=').ok_or_else(bad)?;
        let cause = Cause::from_code(cause.trim()).ok_or_else(bad)?;
        // A failure never reads like a recovery note to a subscriber filtering on severity.
        let severity = Severity::from_code(severity)
            .filter(|s| *s > Severity::Info)
            .ok_or_else(bad)?;
        if out.iter().any(|(c, _)| *c == cause) {
            return Err(bad());
        }
        out.push((cause, severity));
    }
    Ok(out)
}

/// Who a chat notification mentions, in Slack's syntax
/// (<https://api.slack.com/reference/surfaces/formatting#mentioning-users>): `@here` and
/// `@channel` become `<!here>` and `<!channel>`; a user is `<@U0123ABCD>` and a user group
/// `<!subteam^S0123ABCD>`. Nothing else passes, so a setting can only ever mention, never
/// format, link or inject text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mention(String);

impl Mention {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Mention {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Invalid::Mention(s.to_owned());
        let id = |v: &str, first: &[u8]| {
            (3..=32).contains(&v.len())
                && first.contains(&v.as_bytes()[0])
                && v.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        let mut out: Vec<String> = Vec::new();
        for token in s.split_whitespace() {
            let mention = match token {
                "@here" | "<!here>" => "<!here>".to_owned(),
                "@channel" | "<!channel>" => "<!channel>".to_owned(),
                t => match t.strip_suffix('>') {
                    Some(inner) if inner.strip_prefix("<@").is_some_and(|u| id(u, b"UW")) => {
                        t.to_owned()
                    }
                    Some(inner)
                        if inner
                            .strip_prefix("<!subteam^")
                            .is_some_and(|g| id(g, b"S")) =>
                    {
                        t.to_owned()
                    }
                    _ => return Err(bad()),
                },
            };
            if !out.contains(&mention) {
                out.push(mention);
            }
        }
        if out.is_empty() || out.len() > MAX_MENTIONS {
            return Err(bad());
        }
        Ok(Mention(out.join(" ")))
    }
}

/// A comma-separated list of log group names, as CloudWatch Logs allows them
/// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html>:
/// 1 to 512 of `a-zA-Z0-9_-/.#`).
pub fn parse_log_groups(v: &str) -> Result<Vec<String>, Invalid> {
    v.split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(parse_log_group)
        .collect()
}

/// One log group name, checked as CloudWatch Logs checks it.
pub fn parse_log_group(v: &str) -> Result<String, Invalid> {
    let g = v.trim();
    let ok = (1..=512).contains(&g.len())
        && g.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/' | b'.' | b'#'));
    if ok {
        Ok(g.to_owned())
    } else {
        Err(Invalid::LogGroup(v.to_owned()))
    }
}

/// API ids are ten lower-case alphanumerics; anything else is not trusted into a command line.
pub fn is_api_id(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

pub fn parse_api_id(v: &str) -> Result<String, Invalid> {
    let v = v.trim();
    if is_api_id(v) {
        Ok(v.to_owned())
    } else {
        Err(Invalid::ApiId(v.to_owned()))
    }
}

pub fn parse_max_samples(v: &str) -> Result<usize, Invalid> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= MAX_MAX_SAMPLES)
        .ok_or_else(|| Invalid::MaxSamples(v.to_owned()))
}

pub fn parse_label(v: &str) -> Result<String, Invalid> {
    let trimmed = v.trim();
    if trimmed.len() > MAX_LABEL_LEN || !trimmed.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Invalid::Label(v.to_owned()));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests;
