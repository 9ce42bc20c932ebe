//! The command line's flags and subcommands, and the configuration its flags and the
//! environment make together.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError, Given, Setting, TopicArn, parse_log_group};
use crate::detect::access_log::LogFormat;
use crate::text::escape::visible;

#[derive(Parser, Debug)]
#[command(
    name = "forwarder",
    version,
    about = "Finds API Gateway Lambda authorizer configuration errors in access and execution logs and explains them",
    long_about = "Finds API Gateway Lambda authorizer configuration errors in access logs (HTTP, REST and WebSocket APIs) and REST execution logs, and explains them.\n\nRun by AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it is the subscription-filter handler; anywhere else it is this command line."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan access-log lines, REST execution-log lines, subscription events, decoded payloads or
    /// gzip payloads.
    ///
    /// Exit status: 0 nothing flagged, 1 something flagged or most lines carrying the error token
    /// do not follow the format (format drift: detection is blind), 2 bad input, usage or publish
    /// failure.
    Scan(ScanArgs),
    /// Check every Lambda authorizer of an API now, before traffic finds the problem.
    ///
    /// For each authorizer a route uses: its function may be invoked by API Gateway for that
    /// authorizer, and what it must return (for an HTTP API, its simple-response and payload
    /// settings agree). The id may name an HTTP, WebSocket or REST API. Needs read access to API
    /// Gateway (GET on the API, its routes or resources and its authorizers) and lambda:GetPolicy.
    ///
    /// Exit status: 0 all good, 1 problems found, 2 the API could not be read.
    Doctor(DoctorArgs),
    /// Search a stage's access log, or a REST API's execution log, in CloudWatch Logs and report
    /// like the Lambda would.
    ///
    /// Exit status: 0 nothing flagged, 1 something flagged or format drift, 2 the log could not
    /// be read, bad usage or a failed publish.
    Check(CheckArgs),
    /// Check, before `sam deploy`, what the deployment would fail on in this account and
    /// Region, and print the fix.
    ///
    /// Reads only: log groups and their subscription filters, the account-level subscription
    /// filter policy, API Gateway's CloudWatch role and the chat applications Slack channel
    /// configurations. A read IAM refuses is a warning naming the permission it needs.
    ///
    /// Exit status: 0 nothing would fail, 1 something would fail, 2 AWS could not be read.
    Preflight(PreflightArgs),
    /// Wrap log lines into a CloudWatch Logs subscription event, as a subscription filter hands
    /// them to the Lambda function.
    Encode(EncodeArgs),
}

#[derive(Args, Debug)]
pub struct PreflightArgs {
    /// The stack name `sam deploy` will be given: checks CloudFormation's stack-name rules, and
    /// tells this stack's own subscription filters (named after it) from others.
    #[arg(long, value_name = "NAME")]
    pub stack_name: String,
    /// AccessLogGroupName: checks the group exists and has room for one more subscription
    /// filter (at most two per group).
    #[arg(long, value_name = "NAME")]
    pub access_log_group: Option<String>,
    /// ExecutionLogGroupName (API-Gateway-Execution-Logs_{restApiId}/{stage}): checks its
    /// shape, that it exists (execution logging on), its room for a subscription filter, and the
    /// account's API Gateway CloudWatch role.
    #[arg(long, value_name = "NAME")]
    pub execution_log_group: Option<String>,
    /// ExecutionLogDeliveryGroupName: checks the group exists and has room for one more
    /// subscription filter.
    #[arg(long, value_name = "NAME")]
    pub execution_log_delivery_group: Option<String>,
    /// SlackWorkspaceId: checks that chat applications exist in the Region's partition and that
    /// the channel id is given too.
    #[arg(long, value_name = "ID")]
    pub slack_workspace_id: Option<String>,
    /// SlackChannelId: checks that no chat applications configuration serves the channel already
    /// (one per channel per account), and that the workspace id is given too.
    #[arg(long, value_name = "ID")]
    pub slack_channel_id: Option<String>,
    /// The stack turns on REST execution logging (as the demo does): checks the account's API
    /// Gateway CloudWatch role is set.
    #[arg(long)]
    pub rest_logging: bool,
    /// member.yaml's whole-account mode (AccessLogGroupName empty): checks no other
    /// account-level subscription filter policy exists (one per account and Region).
    #[arg(long, conflicts_with = "access_log_group")]
    pub whole_account: bool,
    /// The stack is deployed with ApiChangeChecks=true: checks a CloudTrail trail logs this
    /// Region's management events (cloudtrail:DescribeTrails, GetTrailStatus,
    /// GetEventSelectors), without which no API change reaches EventBridge.
    #[arg(long)]
    pub api_change_checks: bool,
    /// The Region to deploy to [env: AWS_REGION, else the profile's]; its partition decides
    /// whether chat applications exist there.
    #[arg(long, value_parser = region_arg)]
    pub region: Option<String>,
    /// Print the findings as one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["api_id", "stack"])))]
pub struct DoctorArgs {
    /// The API to check: HTTP, WebSocket or REST, found out from the id.
    #[arg(long, value_name = "ID")]
    pub api_id: Option<String>,
    /// A CloudFormation stack, by name or ARN: every API it and its nested stacks created is
    /// checked, as a deploy pipeline's last step.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// Have API Gateway test each REST authorizer (TestInvokeAuthorizer), which shows a missing
    /// permission and an answer it cannot read. Runs the authorizer's code.
    #[arg(long)]
    pub test_invoke: bool,
    /// Invoke each HTTP and WebSocket authorizer function with a made-up request of its payload
    /// format and check its answer's shape. Runs the function's code.
    #[arg(long)]
    pub invoke_authorizers: bool,
    /// The API's Region [env: AWS_REGION, else the profile's].
    #[arg(long, value_parser = region_arg)]
    pub region: Option<String>,
    /// Print the findings as one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The stage's access-log group, or its execution-log group
    /// (API-Gateway-Execution-Logs_{restApiId}/{stage}).
    #[arg(long, value_name = "NAME")]
    pub log_group: String,
    /// How far back to look: 15m, 2h, 1d, ...
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub since: Duration,
    #[command(flatten)]
    pub output: Output,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files to read; `-` reads standard input, as does none when input is piped in.
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,
    /// The log group the lines were read from, which says whether they are an access log or an
    /// execution log (API-Gateway-Execution-Logs_{apiId}/{stage}, or a group named by
    /// --execution-log-group). Without it, lines are an access log when a format is given, and
    /// otherwise whichever they look like. Events and payloads name their own group.
    #[arg(long, value_name = "NAME")]
    pub log_group: Option<String>,
    #[command(flatten)]
    pub output: Output,
    #[command(flatten)]
    pub settings: Settings,
}

/// What `scan` and `check` do with what they found.
#[derive(Args, Debug)]
pub struct Output {
    /// Print one JSON object per flagged line (JSON Lines), then one line of counts per input
    /// (`{"source":..., "stats":{"lines":..., "flagged":..., "ignored":..., "unmatched":...,
    /// "drifted":..., "format_drift":...}}`).
    #[arg(long, conflicts_with = "alert")]
    pub json: bool,
    /// Print the alerts exactly as they would be published.
    #[arg(long)]
    pub alert: bool,
    /// Print the CloudWatch metrics the Lambda would write for the same input (embedded metric
    /// format, one document per line), as if every alert were published.
    #[arg(long, conflicts_with_all = ["json", "alert"])]
    pub metrics: bool,
    /// Publish the alerts to this SNS topic.
    #[arg(long, value_name = "TOPIC_ARN")]
    pub publish: Option<String>,
}

impl Output {
    pub(super) fn topic(&self) -> Result<Option<TopicArn>> {
        self.publish
            .as_deref()
            .map(|arn| {
                arn.parse::<TopicArn>()
                    .map_err(|p| ConfigError::new("--publish", p).into())
            })
            .transpose()
    }
}

/// The settings the Lambda takes from its environment. A flag wins over its variable, whatever
/// the variable holds; a variable is read only when its flag is not given.
#[derive(Args, Debug)]
pub struct Settings {
    /// The stage's access-log format string, as pasted into API Gateway; without one, each line's
    /// shape is guessed [env: ACCESS_LOG_FORMAT].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Read the access-log format string from a file.
    #[arg(long, value_name = "PATH", conflicts_with = "format")]
    pub format_file: Option<PathBuf>,
    /// Label in the alert subject, such as the environment [env: ALERT_LABEL].
    #[arg(long)]
    pub label: Option<String>,
    /// Language of the email and chat text: en or ja [default: en] [env: ALERT_LANGUAGE].
    #[arg(long)]
    pub language: Option<String>,
    /// Sample request ids per alert, and findings listed per cause in the summary: 0 to 100
    /// [default: 5] [env: MAX_SAMPLES].
    #[arg(long, value_name = "N")]
    pub max_samples: Option<String>,
    /// Check each alert against the API's live configuration [env: DIAGNOSE=true].
    #[arg(long)]
    pub diagnose: bool,
    /// The API to check when the lines carry no $context.apiId [env: API_ID].
    #[arg(long, value_name = "ID")]
    pub api_id: Option<String>,
    /// AWS Region for the API, the log group and links; else the profile's
    /// [env: AWS_REGION, AWS_DEFAULT_REGION].
    #[arg(long)]
    pub region: Option<String>,
    /// A log group that receives a REST API's execution logs through a log delivery (log type
    /// EXECUTION_LOGS) rather than API Gateway's own group; repeat for several
    /// [env: EXECUTION_LOG_GROUPS, comma-separated].
    #[arg(long, value_name = "NAME")]
    pub execution_log_group: Vec<String>,
    /// Severity of a cause's alerts, overriding its own: CAUSE=SEVERITY, comma-separated, such
    /// as authorizer_timeout=critical [env: CAUSE_SEVERITY].
    #[arg(long, value_name = "LIST")]
    pub cause_severity: Option<String>,
    /// Who chat notifications mention: @here, @channel, <@USER_ID> or <!subteam^GROUP_ID>
    /// [env: ALERT_MENTION].
    #[arg(long, value_name = "WHO")]
    pub mention: Option<String>,
    /// The lowest severity whose chat notifications mention: info, warning, high or critical
    /// [default: critical] [env: ALERT_MENTION_SEVERITY].
    #[arg(long, value_name = "SEVERITY")]
    pub mention_severity: Option<String>,
    /// CloudWatch namespace of `--metrics` [default: AuthorizerAlerts] [env: METRICS_NAMESPACE].
    #[arg(long, value_name = "NAMESPACE")]
    pub metrics_namespace: Option<String>,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// File of log lines, one event each; `-` reads standard input.
    pub path: Option<PathBuf>,
    /// The log group the event names, which says what `scan` reads the lines as: an
    /// execution-log group (API-Gateway-Execution-Logs_{restApiId}/{stage}) for execution-log
    /// lines.
    #[arg(long, default_value = "/aws/vendedlogs/apigateway/http-api-access")]
    pub log_group: String,
    /// The log stream the event names.
    #[arg(long, default_value = "$default")]
    pub log_stream: String,
    /// The account id CloudWatch Logs puts in `owner`.
    #[arg(long, default_value = "123456789012")]
    pub owner: String,
    /// Timestamp of the first event in milliseconds since the epoch (default: now).
    #[arg(long, value_name = "MILLIS")]
    pub timestamp: Option<i64>,
}

/// `--log-group`, checked as CloudWatch Logs checks a name, and blamed on the flag.
pub(super) fn log_group_flag(v: &str) -> Result<String, ConfigError> {
    parse_log_group(v).map_err(|p| ConfigError::new("--log-group", p))
}

/// A Region name, checked before it becomes part of an endpoint.
fn region_arg(v: &str) -> Result<String, crate::config::Invalid> {
    crate::config::parse_region(v)
}

impl Settings {
    /// The value a flag was given, under the flag's name.
    fn flag(&self, setting: Setting) -> Result<Option<Given>> {
        let name = setting.flag().unwrap_or_default();
        let given = |v: &Option<String>| v.as_ref().map(|v| Given::new(name, v.clone()));
        Ok(match setting {
            Setting::Format => match (&self.format, &self.format_file) {
                (Some(f), _) => Some(Given::new(name, f.clone())),
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(path).with_context(|| {
                        format!(
                            "--format-file {}: cannot read",
                            visible(&path.display().to_string())
                        )
                    })?;
                    Some(Given::new(
                        format!("--format-file {}", path.display()),
                        text,
                    ))
                }
                (None, None) => None,
            },
            Setting::Label => given(&self.label),
            Setting::Language => given(&self.language),
            Setting::MaxSamples => given(&self.max_samples),
            Setting::Diagnose => self.diagnose.then(|| Given::new(name, "true")),
            Setting::ApiId => given(&self.api_id),
            Setting::Region => given(&self.region),
            // Repeated flags, one group each: each is checked whole before they are joined into
            // the variable's comma-separated form, so a comma in one cannot split it.
            Setting::ExecutionLogGroups => {
                // Blank ones are skipped, as the variable's empty entries are.
                for g in self
                    .execution_log_group
                    .iter()
                    .filter(|g| !g.trim().is_empty())
                {
                    parse_log_group(g).map_err(|p| ConfigError::new(name, p))?;
                }
                (!self.execution_log_group.is_empty())
                    .then(|| Given::new(name, self.execution_log_group.join(",")))
            }
            Setting::CauseSeverity => given(&self.cause_severity),
            Setting::Mention => given(&self.mention),
            Setting::MentionSeverity => given(&self.mention_severity),
            Setting::MetricsNamespace => given(&self.metrics_namespace),
            _ => None,
        })
    }

    /// The configuration `scan` and `check` run with: each setting from its flag, else from its
    /// variable; settings without a flag are the Lambda function's and are not read at all.
    pub(super) fn config(&self) -> Result<Config> {
        let mut flags = Vec::new();
        for setting in Setting::ALL {
            if let Some(g) = self.flag(setting)? {
                flags.push((setting, g));
            }
        }
        let lookup = |s: Setting| {
            if let Some((_, g)) = flags.iter().find(|(f, _)| *f == s) {
                return Some(g.clone());
            }
            s.cli_reads()
                .then(|| std::env::var(s.env()).ok())
                .flatten()
                .map(|v| Given::new(s.env(), v))
        };
        let mut config = Config::from_settings(lookup, false)?;
        // Without a format anywhere, the command line guesses each line's shape; given one, its
        // rules bind as they do in the Lambda.
        let format_given = flags.iter().any(|(s, _)| *s == Setting::Format)
            || std::env::var(Setting::Format.env()).is_ok_and(|f| !f.trim().is_empty());
        if !format_given {
            config.format = LogFormat::guess();
        }
        if let Some(why) = config
            .format
            .is_given()
            .then(|| config.format.ambiguity())
            .flatten()
        {
            eprintln!("forwarder: warning: the access-log format: {why}");
        }
        Ok(config)
    }
}
