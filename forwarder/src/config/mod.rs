//! Settings from the environment, validated once at cold start so a bad deployment fails loudly
//! on its first invocation instead of dropping alerts later.

mod settings;
mod values;

use crate::detect::LogKind;
use crate::detect::access_log::{DEFAULT_FORMAT, LogFormat};
use crate::model::cause::{Cause, Severity};
use crate::model::language::Language;
use crate::sdk::Roots;

pub use settings::{
    ConfigError, DEFAULT_MAX_SAMPLES, DEFAULT_METRICS_NAMESPACE, DEFAULT_WINDOW_SECONDS, Invalid,
    MAX_MAX_SAMPLES, MAX_MENTIONS, MAX_WINDOW_SECONDS, Setting,
};
use values::parse_rule;
pub use values::{
    Mention, Sweep, TopicArn, is_api_id, parse_api_id, parse_bool, parse_label, parse_log_group,
    parse_log_groups, parse_max_samples, parse_namespace, parse_region, parse_severities,
    parse_sweep,
};

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

#[cfg(test)]
mod tests;
