//! The command line: try the forwarder on sample logs, check logs in a pipeline, publish for real.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::alerts::group::Group;
use crate::alerts::publish::SnsPublisher;
use crate::alerts::render::{self, Alert};
use crate::config::{
    Config, ConfigError, DEFAULT_METRICS_NAMESPACE, Given, Setting, TopicArn, parse_api_id,
    parse_log_group,
};
use crate::deploy::{
    self,
    aws::{AwsCatalog, AwsProber},
};
use crate::detect::access_log::LogFormat;
use crate::detect::{self, LogKind};
use crate::diagnose::inspect::{self, AwsInspector, AwsLogSearch, LogSearch};
use crate::diagnose::{ApiKind, AuthorizerReport};
use crate::forward;
use crate::metrics::{self, Tally};
use crate::model::finding::Finding;
use crate::model::finding::Scan;
use crate::model::language::Language;
use crate::preflight::{self, AwsSurvey, GroupRole, Plan, Status};
use crate::sources::{self, Content};
use crate::text::escape::{json_safe, visible};

/// Exit status when nothing was flagged.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status when at least one line was flagged.
pub const EXIT_FLAGGED: u8 = 1;
/// Exit status for bad input, bad usage or a failed publish.
pub const EXIT_ERROR: u8 = 2;

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
    fn topic(&self) -> Result<Option<TopicArn>> {
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
fn log_group_flag(v: &str) -> Result<String, ConfigError> {
    parse_log_group(v).map_err(|p| ConfigError::new("--log-group", p))
}

/// A Region name, checked before it becomes part of an endpoint.
fn region_arg(v: &str) -> Result<String, crate::config::Invalid> {
    crate::config::parse_region(v)
}

/// Parses arguments and runs; errors print as one line.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Boxed: the SDK futures are deep, and one inline state machine for all of them would be
        // too large for the compiler's layout limit and for the stack.
        Command::Scan(args) => Box::pin(scan(args)).await,
        Command::Doctor(args) => Box::pin(doctor(args)).await,
        Command::Check(args) => Box::pin(check(args)).await,
        Command::Preflight(args) => Box::pin(preflight(args)).await,
        Command::Encode(args) => encode(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("forwarder: {}", visible(&format!("{e:#}")));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Standard output that its reader may close early (`forwarder scan | head -1`): what is left to
/// print is dropped, and the exit status still says what was found, so a closed pipe never turns
/// a flagged input into a clean one.
struct Closable<W> {
    inner: W,
    closed: bool,
}

impl Closable<std::io::StdoutLock<'static>> {
    fn stdout() -> Self {
        Closable {
            inner: std::io::stdout().lock(),
            closed: false,
        }
    }
}

impl<W: Write> Closable<W> {
    fn outcome<T>(&mut self, r: std::io::Result<T>, done: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(done)
            }
            r => r,
        }
    }
}

impl<W: Write> Write for Closable<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.outcome(r, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.outcome(r, ())
    }
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
    fn config(&self) -> Result<Config> {
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

/// One input's name and what came of scanning it.
struct Scanned {
    name: String,
    /// Which log the input was read as, for the metric its failures count in.
    kind: LogKind,
    scan: Scan,
    groups: Vec<Group>,
    alerts: Vec<Alert>,
    control: bool,
}

impl Scanned {
    fn new(name: String, kind: LogKind, scan: Scan, config: &Config, control: bool) -> Self {
        let groups = forward::groups_for(&scan, config);
        let alerts = render::render_all(&groups, config);
        Self {
            name,
            kind,
            scan,
            groups,
            alerts,
            control,
        }
    }
}

fn read_input(path: Option<&PathBuf>) -> Result<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let name = p.display().to_string();
            bytes = std::fs::read(p).with_context(|| format!("{name}: cannot read"))?;
            Ok((name, bytes))
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("<stdin>: cannot read")?;
            Ok(("<stdin>".to_owned(), bytes))
        }
    }
}

/// Scans one input. An input of several events (JSON Lines, events back to back, a Kinesis
/// event's records, an SQS dump's messages) gives one result per event, named `FILE#N`,
/// `FILE#SEQUENCE` or `FILE#MESSAGE_ID`, so a bad one is reported without hiding the others.
fn scan_input(
    name: String,
    bytes: &[u8],
    config: &Config,
    log_group: Option<&str>,
) -> Vec<Result<Scanned>> {
    let parts = match sources::sniff(bytes) {
        Ok(parts) => parts,
        Err(e) => return vec![Err(anyhow!("{name}: {e}"))],
    };
    let scan_payload = |name: String, payload: Result<sources::Payload, sources::DecodeError>| {
        let payload = payload.map_err(|e| anyhow!("{name}: {e}"))?;
        let batch = payload
            .parse_candidates()
            .map_err(|e| anyhow!("{name}: {e}"))?;
        let kind = config.log_kind(&batch.log_group);
        let scan = detect::scan_batch_as(&batch, &config.format, kind);
        Ok(Scanned::new(name, kind, scan, config, batch.is_control()))
    };
    // Lines and `aws logs` output name no group: the operator's --log-group says which log they
    // are; without it, a given format says access log, and only with neither are they sniffed.
    let kind_of_lines = |text: &str| match log_group {
        Some(g) => config.log_kind(g),
        None if config.format.is_given() => LogKind::Access,
        None if crate::detect::execution_log::looks_like_execution_log(text) => LogKind::Execution,
        None => LogKind::Access,
    };
    // Each part is decoded as it is scanned, so one payload is held at a time.
    parts
        .into_iter()
        .map(|part| {
            let name = format!("{name}{}", part.at);
            match part.content {
                Ok(Content::Lines(text)) => {
                    let kind = kind_of_lines(&text);
                    let mut scan = detect::scan_text_as(&text, &config.format, kind);
                    if let Some(g) = log_group {
                        scan = scan.in_log_group(g);
                    }
                    Ok(Scanned::new(name, kind, scan, config, false))
                }
                Ok(Content::Events(events)) => {
                    let batch = sources::output_batch(&events, log_group);
                    let kind = match log_group {
                        Some(g) => config.log_kind(g),
                        None if config.format.is_given() => LogKind::Access,
                        None if events.iter().all(|e| e.message.starts_with('(')) => {
                            LogKind::Execution
                        }
                        None => LogKind::Access,
                    };
                    let scan = detect::scan_batch_as(&batch, &config.format, kind);
                    Ok(Scanned::new(name, kind, scan, config, false))
                }
                Ok(Content::Encoded(data)) => scan_payload(name, sources::decode_data(&data)),
                Ok(Content::Payload(payload)) => scan_payload(name, Ok(payload)),
                Err(e) => Err(anyhow!("{name}: {e}")),
            }
        })
        .collect()
}

/// Scans the inputs on as many threads as there are cores, keeping their order: each input is
/// decoded and scanned on its own, and inflating dominates the cost.
fn scan_all(
    paths: &[Option<&PathBuf>],
    config: &Config,
    log_group: Option<&str>,
) -> Vec<Result<Scanned>> {
    let scan_one = |path: Option<&PathBuf>| match read_input(path) {
        Ok((name, bytes)) => scan_input(name, &bytes, config, log_group),
        Err(e) => vec![Err(e)],
    };
    // One input stays on this thread: a worker would cost a spawn and a fresh malloc arena.
    if let [path] = paths {
        return scan_one(*path);
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(paths.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Vec<Result<Scanned>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = paths.get(i) else { break mine };
                        mine.push((i, scan_one(*path)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a scan thread does not panic"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter()
        .flat_map(|(_, outcomes)| outcomes)
        .collect()
}

/// With nothing named and a terminal for standard input, a read would wait without a word.
fn refuse_terminal(command: &str, paths_given: bool) -> Result<()> {
    use std::io::IsTerminal;
    if !paths_given && std::io::stdin().is_terminal() {
        return Err(anyhow!(
            "nothing to read: usage: forwarder {command} [FILE]... (or pipe lines in; `-` reads standard input; --help says more)"
        ));
    }
    Ok(())
}

async fn scan(args: ScanArgs) -> Result<u8> {
    refuse_terminal("scan", !args.paths.is_empty())?;
    let config = args.settings.config()?;
    let topic = args.output.topic()?;
    let paths: Vec<Option<&PathBuf>> = if args.paths.is_empty() {
        vec![None]
    } else {
        args.paths.iter().map(Some).collect()
    };
    let mut results = Vec::new();
    let mut failed = false;
    let log_group = args.log_group.as_deref().map(log_group_flag).transpose()?;
    for outcome in scan_all(&paths, &config, log_group.as_deref()) {
        match outcome {
            Ok(scanned) => results.push(scanned),
            Err(e) => {
                eprintln!("forwarder: {}", visible(&format!("{e:#}")));
                failed = true;
            }
        }
    }
    diagnose_all(&mut results, &config).await;
    let code = report(&results, &config, &args.output, topic).await?;
    Ok(if failed { EXIT_ERROR } else { code })
}

/// Adds the live API's diagnosis to every alert, when asked to.
async fn diagnose_all(results: &mut [Scanned], config: &Config) {
    async fn diagnose_with<I: inspect::Inspector>(
        results: &mut [Scanned],
        config: &Config,
        inspector: &I,
    ) {
        for r in results {
            forward::diagnose_groups(&mut r.groups, config, inspector).await;
            r.alerts = render::render_all(&r.groups, config);
        }
    }
    if !config.diagnose || results.iter().all(|r| r.groups.is_empty()) {
        return;
    }
    match AwsInspector::from_env(config.region.as_deref()).await {
        Ok(inspector) => diagnose_with(results, config, &inspector).await,
        // No call can be made: each alert says why, as it says why a call failed.
        Err(e) => {
            let failing = inspect::MemoryInspector {
                failure: Some(inspect::InspectError::Setup(e)),
                ..Default::default()
            };
            diagnose_with(results, config, &failing).await;
        }
    }
}

/// Prints the results in the chosen form, publishes when asked, and returns the exit status.
async fn report(
    results: &[Scanned],
    config: &Config,
    output: &Output,
    topic: Option<TopicArn>,
) -> Result<u8> {
    // Stdout is line-buffered; a batch of findings would cost a write call per line.
    let mut out = std::io::BufWriter::new(Closable::stdout());
    for r in results {
        warn_unmatched(r);
        if output.json {
            for f in &r.scan.findings {
                writeln!(out, "{}", finding_json(&r.name, f))?;
            }
            writeln!(out, "{}", stats_json(&r.name, &r.scan))?;
        } else if output.alert {
            print_alerts(&mut out, r)?;
        } else if output.metrics {
            print_metrics(&mut out, r, config)?;
        } else {
            print_summary(&mut out, r, config.max_samples)?;
        }
    }
    out.flush()?;
    drop(out);
    if let Some(topic) = topic {
        let publisher = SnsPublisher::from_env(topic).await?;
        for r in results {
            let ids = forward::publish_all(&r.alerts, &publisher)
                .await
                .map_err(|e| anyhow!("{}: {e}", r.name))?;
            for id in ids {
                eprintln!(
                    "{}: published message {id} to {}",
                    r.name,
                    publisher.topic()
                );
            }
        }
    }
    // A blind scan is not a clean one: format drift is alerted on like a finding.
    Ok(
        if results
            .iter()
            .any(|r| !r.scan.findings.is_empty() || r.scan.format_drift())
        {
            EXIT_FLAGGED
        } else {
            EXIT_CLEAN
        },
    )
}

/// The EMF documents of one input, as one invocation of the Lambda would write them with flood
/// control off and every alert published; with metrics turned off (`METRICS_NAMESPACE=""`), under
/// the default namespace, since they were asked for.
fn print_metrics(out: &mut impl Write, r: &Scanned, config: &Config) -> Result<()> {
    let mut tally = Tally::default();
    tally.count_scan_as(&r.scan, r.kind);
    // As the function publishes them: the first groups one alert each, the rest one summary.
    for g in r.groups.iter().take(render::MAX_ALERTS) {
        tally.count_published(g);
    }
    if r.groups.len() > render::MAX_ALERTS {
        tally.alerts_published += 1;
    }
    let namespace = config
        .metrics_namespace
        .as_deref()
        .unwrap_or(DEFAULT_METRICS_NAMESPACE);
    Ok(metrics::write(out, &tally, namespace, None)?)
}

async fn check(args: CheckArgs) -> Result<u8> {
    log_group_flag(&args.log_group)?;
    let config = args.settings.config()?;
    let topic = args.output.topic()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let start = now.saturating_sub(args.since);
    let search = AwsLogSearch::new(&inspect::sdk_config(config.region.as_deref()).await?);
    let events = search
        .search(
            &args.log_group,
            // What a subscription filter on this group uses: the term match narrows the search,
            // the scan then decides where the token stands.
            config.log_kind(&args.log_group).filter_pattern(),
            i64::try_from(start.as_millis()).unwrap_or(i64::MAX),
            i64::try_from(now.as_millis()).unwrap_or(i64::MAX),
        )
        .await
        .map_err(|e| anyhow!("{}: {e}", args.log_group))?;
    if events.len() >= inspect::MAX_SEARCH_EVENTS {
        eprintln!(
            "forwarder: {}: stopped after {} events; use a shorter --since for the rest",
            visible(&args.log_group),
            events.len()
        );
    }
    let scan = forward::scan_found(&args.log_group, &events, &config);
    let kind = config.log_kind(&args.log_group);
    let mut results = vec![Scanned::new(
        args.log_group.clone(),
        kind,
        scan,
        &config,
        false,
    )];
    diagnose_all(&mut results, &config).await;
    report(&results, &config, &args.output, topic).await
}

/// How long `doctor` waits for API Gateway and Lambda in all.
const DOCTOR_BUDGET: Duration = Duration::from_secs(60);

async fn doctor(args: DoctorArgs) -> Result<u8> {
    let api_id = args
        .api_id
        .as_deref()
        .map(|id| parse_api_id(id).map_err(|p| ConfigError::new("--api-id", p)))
        .transpose()?;
    if let Some(stack) = &args.stack
        && !crate::text::shape::is_stack_name(stack)
        && crate::sources::changes::stack_arn_parts(stack).is_none()
    {
        bail!(
            "--stack {stack:?} is not a stack name (a letter, then letters, digits and -, at most 128) or a stack ARN"
        );
    }
    let sdk = inspect::sdk_config(args.region.as_deref()).await?;
    let inspector = AwsInspector::new(&sdk);
    let probes = deploy::Probes {
        test_invoke: args.test_invoke,
        invoke: args.invoke_authorizers,
    };
    let prober = AwsProber::new(&sdk);
    let (ids, stack) = match (&api_id, &args.stack) {
        (Some(id), _) => (vec![id.clone()], None),
        (None, Some(stack)) => {
            let apis = deploy::catalog::stack_apis(&AwsCatalog::new(&sdk), stack)
                .await
                .map_err(|e| anyhow!("stack {stack}: {e}"))?;
            (apis.into_iter().map(|a| a.api_id).collect(), Some(stack))
        }
        (None, None) => unreachable!("clap requires --api-id or --stack"),
    };
    let mut checked = Vec::with_capacity(ids.len());
    for id in &ids {
        let c = deploy::check(&inspector, &prober, id, probes, DOCTOR_BUDGET)
            .await
            .map_err(|e| match e {
                // It names the API already.
                inspect::InspectError::ApiNotFound(_) => anyhow!("{e}"),
                e => anyhow!("API {id}: {e}"),
            })?;
        checked.push(c);
    }
    let problems: usize = checked.iter().map(deploy::Checked::with_problems).sum();
    let mut out = std::io::BufWriter::new(Closable::stdout());
    let doc = |c: &deploy::Checked| {
        serde_json::json!({
            "api_id": c.api_id,
            "api_kind": c.api_kind,
            "authorizers": c.authorizers,
            "authorizers_with_problems": c.with_problems(),
        })
    };
    match (stack, args.json) {
        (None, true) => writeln!(out, "{}", doc(&checked[0]))?,
        (None, false) => {
            let c = &checked[0];
            print_doctor(&mut out, c.api_kind, &c.api_id, &c.authorizers, problems)?;
        }
        (Some(stack), true) => {
            let doc = serde_json::json!({
                "stack": stack,
                "apis": checked.iter().map(doc).collect::<Vec<_>>(),
                "authorizers_with_problems": problems,
            });
            writeln!(out, "{doc}")?;
        }
        (Some(stack), false) => {
            let plural = if checked.len() == 1 { "" } else { "s" };
            writeln!(
                out,
                "stack {}: {} API{plural} (nested stacks included), {problems} authorizer{} with problems",
                visible(stack),
                checked.len(),
                if problems == 1 { "" } else { "s" }
            )?;
            for c in &checked {
                writeln!(out)?;
                print_doctor(
                    &mut out,
                    c.api_kind,
                    &c.api_id,
                    &c.authorizers,
                    c.with_problems(),
                )?;
            }
        }
    }
    out.flush()?;
    Ok(if problems > 0 {
        EXIT_FLAGGED
    } else {
        EXIT_CLEAN
    })
}

fn print_doctor(
    out: &mut impl Write,
    kind: ApiKind,
    api_id: &str,
    reports: &[AuthorizerReport],
    problems: usize,
) -> std::io::Result<()> {
    let api = kind.title();
    if reports.is_empty() {
        return writeln!(out, "{api} {api_id}: no route uses a Lambda authorizer");
    }
    let plural = if reports.len() == 1 { "" } else { "s" };
    writeln!(
        out,
        "{api} {api_id}: {} Lambda authorizer{plural} checked, {problems} with problems",
        reports.len()
    )?;
    for r in reports {
        writeln!(
            out,
            "authorizer {} ({}): routes {}",
            visible(&r.name),
            visible(&r.authorizer_id),
            visible(&r.routes.join(", "))
        )?;
        if let Some(f) = &r.function_arn {
            writeln!(out, "  function {}", visible(f))?;
        }
        for c in &r.checks {
            let mark = if c.ok { "ok" } else { "PROBLEM" };
            writeln!(out, "  {mark}: {}", visible(&c.summary))?;
            if let Some(cmd) = &c.command {
                writeln!(out, "    fix: {}", visible(cmd))?;
            }
        }
    }
    Ok(())
}

async fn preflight(args: PreflightArgs) -> Result<u8> {
    let sdk = inspect::sdk_config(args.region.as_deref())
        .await
        .map_err(|e| anyhow!("preflight: {e}"))?;
    let region = sdk
        .region()
        .expect("sdk::load refuses a configuration without a Region")
        .as_ref()
        .to_owned();
    let log_groups = [
        (GroupRole::Access, &args.access_log_group),
        (GroupRole::Execution, &args.execution_log_group),
        (
            GroupRole::ExecutionDelivery,
            &args.execution_log_delivery_group,
        ),
    ]
    .into_iter()
    .filter_map(|(role, name)| name.clone().map(|n| (role, n)))
    .collect();
    let plan = Plan {
        stack_name: args.stack_name,
        region,
        log_groups,
        slack_workspace_id: args.slack_workspace_id,
        slack_channel_id: args.slack_channel_id,
        rest_logging: args.rest_logging,
        whole_account: args.whole_account,
        api_change_checks: args.api_change_checks,
    };
    // The reason says what to check.
    let facts = preflight::gather(&AwsSurvey::new(&sdk), &plan)
        .await
        .map_err(|e| anyhow!("preflight: {e}"))?;
    let findings = preflight::check(&plan, &facts);
    let fails = findings.iter().filter(|f| f.status == Status::Fail).count();
    let warns = findings.iter().filter(|f| f.status == Status::Warn).count();
    let mut out = std::io::BufWriter::new(Closable::stdout());
    if args.json {
        let doc = serde_json::json!({
            "stack_name": plan.stack_name,
            "region": plan.region,
            "partition": plan.partition(),
            "would_fail": fails,
            "warnings": warns,
            "findings": findings,
        });
        writeln!(out, "{doc}")?;
    } else {
        print_preflight(&mut out, &plan, &findings, fails, warns)?;
    }
    out.flush()?;
    Ok(if fails > 0 { EXIT_FLAGGED } else { EXIT_CLEAN })
}

fn print_preflight(
    out: &mut impl Write,
    plan: &Plan,
    findings: &[preflight::Finding],
    fails: usize,
    warns: usize,
) -> std::io::Result<()> {
    let verdict = if fails == 0 {
        "nothing would fail".to_owned()
    } else {
        format!("{fails} would fail")
    };
    let plural = if warns == 1 { "" } else { "s" };
    writeln!(
        out,
        "stack {} in {} ({}): {verdict}, {warns} warning{plural}",
        visible(&plan.stack_name),
        visible(&plan.region),
        plan.partition().as_str(),
    )?;
    for f in findings {
        writeln!(
            out,
            "  {:<4} {}: {}: {}",
            f.status.label(),
            f.check.name(),
            visible(&f.subject),
            visible(&f.summary)
        )?;
        if let Some(fix) = &f.fix {
            writeln!(out, "       fix: {}", visible(fix))?;
        }
    }
    Ok(())
}

/// One line per input after its findings, told apart from them by its `stats` key.
fn stats_json(source: &str, scan: &Scan) -> serde_json::Value {
    serde_json::json!({
        "source": source,
        "stats": {
            "lines": scan.lines,
            "flagged": scan.findings.len(),
            "ignored": scan.ignored,
            "unmatched": scan.unmatched,
            "drifted": scan.drifted,
            "format_drift": scan.format_drift(),
        }
    })
}

/// Says on standard error that an input's lines do not follow the format, whatever the output
/// form: a blind scan must not read as a clean one.
fn warn_unmatched(r: &Scanned) {
    if r.scan.unmatched == 0 {
        return;
    }
    let what = if r.scan.format_drift() {
        "so detection is blind for them; give the stage's format with --format or ACCESS_LOG_FORMAT (or, for execution-log lines, the group with --log-group or --execution-log-group)"
    } else {
        "or a client value broke them so the token's place cannot be told; they were not read"
    };
    eprintln!(
        "forwarder: warning: {}: {} of {} lines carrying the token do not follow the log they were read as, {what}. First such line: {}",
        visible(&r.name),
        r.scan.unmatched,
        r.scan.with_token(),
        visible(&crate::text::escape::truncate(
            r.scan.unmatched_sample.as_deref().unwrap_or_default(),
            300
        )),
    );
}

fn finding_json(source: &str, f: &Finding) -> serde_json::Value {
    let mut v = serde_json::to_value(f).expect("a Finding always serialises");
    v["source"] = serde_json::Value::String(source.to_owned());
    v
}

/// A few findings per cause, as many as an alert samples (`--max-samples`), so a large log
/// reads as a report rather than a copy of itself.
fn print_summary(out: &mut impl Write, r: &Scanned, max_listed: usize) -> std::io::Result<()> {
    let name = visible(&r.name);
    if r.control {
        return writeln!(
            out,
            "{name}: control message (subscription health check), nothing to scan"
        );
    }
    let plural = if r.scan.lines == 1 { "" } else { "s" };
    write!(
        out,
        "{name}: {} line{plural}, {} flagged",
        r.scan.lines,
        r.scan.findings.len()
    )?;
    if r.scan.ignored > 0 {
        write!(
            out,
            ", {} ignored (token only in client-controlled text)",
            r.scan.ignored
        )?;
    }
    if r.scan.unmatched > 0 {
        write!(
            out,
            ", {} unmatched (token in a line that does not follow the format)",
            r.scan.unmatched
        )?;
    }
    writeln!(out)?;
    if r.scan.format_drift() {
        writeln!(
            out,
            "  {}: most lines carrying the token do not follow the format; detection is blind for them",
            crate::model::cause::Cause::FormatMismatch.code()
        )?;
    }
    // Each cause with its first findings; `--json` lists every one.
    let mut by_cause: std::collections::BTreeMap<_, Vec<&crate::model::finding::Finding>> =
        std::collections::BTreeMap::new();
    for f in &r.scan.findings {
        by_cause.entry(f.cause).or_default().push(f);
    }
    for (cause, findings) in &by_cause {
        writeln!(
            out,
            "  {} x{}: {}",
            cause.code(),
            findings.len(),
            cause.title(Language::En)
        )?;
        for f in findings.iter().take(max_listed) {
            writeln!(
                out,
                "    {} {} {} request {}: {}",
                visible(f.time().unwrap_or("-")),
                f.status.map_or("-".to_owned(), |s| s.to_string()),
                visible(f.route().unwrap_or("-")),
                visible(f.request_id().unwrap_or("-")),
                visible(&crate::text::escape::truncate(f.error(), 200)),
            )?;
        }
        if findings.len() > max_listed && max_listed > 0 {
            writeln!(
                out,
                "    ... and {} more (--json lists every finding)",
                findings.len() - max_listed
            )?;
        }
        for g in r.groups.iter().filter(|g| g.cause == *cause) {
            if let Some(d) = &g.diagnosis {
                for line in render::diagnosis_text(d).lines() {
                    writeln!(out, "    {line}")?;
                }
            }
        }
    }
    Ok(())
}

fn print_alerts(out: &mut impl Write, r: &Scanned) -> std::io::Result<()> {
    let total = r.alerts.len();
    if total == 0 {
        return writeln!(out, "{}: no alert", visible(&r.name));
    }
    for (i, a) in r.alerts.iter().enumerate() {
        let chat: serde_json::Value = serde_json::from_str(&a.chat).expect("we rendered JSON");
        let machine: serde_json::Value =
            serde_json::from_str(&a.machine).expect("we rendered JSON");
        writeln!(
            out,
            "===== {}: alert {} of {total} =====",
            visible(&r.name),
            i + 1
        )?;
        writeln!(out, "Subject: {}", a.subject)?;
        let attrs: Vec<String> = a
            .attributes
            .pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(out, "Attributes: {}", attrs.join(" "))?;
        writeln!(out, "----- email -----")?;
        write!(out, "{}", a.email)?;
        // Pretty printing writes the log's text raw again; `json_safe` keeps it escaped.
        writeln!(
            out,
            "----- chat (https: Amazon Q Developer in chat applications) -----"
        )?;
        writeln!(
            out,
            "{}",
            json_safe(&serde_json::to_string_pretty(&chat).expect("JSON"))
        )?;
        writeln!(out, "----- machine (default, sqs, lambda) -----")?;
        writeln!(
            out,
            "{}",
            json_safe(&serde_json::to_string_pretty(&machine).expect("JSON"))
        )?;
    }
    Ok(())
}

fn encode(args: EncodeArgs) -> Result<u8> {
    refuse_terminal("encode", args.path.is_some())?;
    log_group_flag(&args.log_group)?;
    let (name, bytes) = read_input(args.path.as_ref())?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(anyhow!("{name}: no lines to encode (the input is empty)"));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{name}: input is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let start = args.timestamp.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    });
    let event = sources::encode_event(&text, &args.log_group, &args.log_stream, &args.owner, start);
    let mut out = Closable::stdout();
    writeln!(out, "{event}")?;
    Ok(EXIT_CLEAN)
}
