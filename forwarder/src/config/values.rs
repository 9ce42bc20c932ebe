//! The parsers of single values, each as strict as the AWS name or id it checks, so a typo fails
//! when the setting is read rather than at the first alert.

use std::fmt;
use std::str::FromStr;

use super::settings::{Invalid, MAX_LABEL_LEN, MAX_MAX_SAMPLES, MAX_MENTIONS};
use crate::model::cause::{Cause, Severity};
use crate::model::language::Language;

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
pub(super) fn parse_rule(v: &str) -> Result<String, Invalid> {
    let rule = v.trim();
    let ok = (1..=64).contains(&rule.len())
        && rule
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    ok.then(|| rule.to_owned())
        .ok_or_else(|| Invalid::Rule(v.to_owned()))
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
