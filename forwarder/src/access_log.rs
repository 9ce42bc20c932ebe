//! Access-log formats and lines.
//!
//! Users configure the stage's access log with a format string of `$context` variables
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html>).
//! Given the same string, [`LogFormat`] splits a line back into its variables, so the detector knows
//! which part API Gateway wrote and which part a client sent.

use regex::Regex;
use serde_json::Value;

/// The format in our reference material, used when none is configured.
pub const DEFAULT_FORMAT: &str = r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId $context.authorizer.error"#;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("access-log format has no $context variables")]
    NoVariables,
    #[error(
        "access-log format has no error variable such as $context.authorizer.error, so authorizer errors never reach the log"
    )]
    NoErrorVariable,
    #[error(
        "access-log format puts ${0} and ${1} next to each other with nothing between, so lines cannot be split"
    )]
    AdjacentVariables(String, String),
    #[error("access-log format is too complex: {0}")]
    Regex(String),
}

/// A variable of the format, by its name after `$context.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var(pub String);

impl Var {
    /// Variables whose value API Gateway writes about an error; the token only counts in these.
    pub fn is_error(&self) -> bool {
        is_error_name(&self.0)
    }

    /// Variables whose value comes from the request, where a client can write anything. The route
    /// key is API-defined, but it shares the quoted request segment with such text, so it is matched
    /// the same way: as much as possible, leaving only API Gateway's own fields after it.
    fn is_client_controlled(&self) -> bool {
        let n = self.0.as_str();
        matches!(
            n,
            "path"
                | "routeKey"
                | "identity.userAgent"
                | "customDomain.basePathMatched"
                | "domainName"
        ) || n.starts_with("requestOverride")
            || n.starts_with("responseOverride")
            || (n.starts_with("authorizer.")
                && !self.is_error()
                && !n.ends_with("atency")
                && !n.ends_with("tatus"))
    }

    /// A pattern that only matches what API Gateway can write for this variable, so a forged
    /// segment in a client-controlled field cannot line up with the real fields after it.
    fn pattern(&self) -> &'static str {
        match self.0.as_str() {
            "status"
            | "authorizer.status"
            | "authorizer.integrationStatus"
            | "integrationStatus"
            | "integration.status" => r"(\d{3}|-)",
            "responseLength"
            | "requestTimeEpoch"
            | "responseLatency"
            | "integrationLatency"
            | "authorizer.latency"
            | "authorizer.integrationLatency"
            | "integration.latency"
            | "dataProcessed" => r"(\d+|-)",
            "requestTime" => r"([^\]]*)",
            "httpMethod" => r"([A-Z]+|-)",
            "apiId" | "accountId" | "authorizer.principalId" => r"(\S*)",
            "requestId" | "extendedRequestId" | "protocol" | "stage" | "identity.sourceIp" => {
                r"(\S*)"
            }
            _ if self.is_client_controlled() => r"(.*)",
            _ => r"(.*?)",
        }
    }
}

/// Field names that carry error text, in formats or in JSON keys.
pub fn is_error_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("error") || lower.contains("responsetype")
}

/// A parsed access-log format string.
#[derive(Clone, Debug)]
pub struct LogFormat {
    source: String,
    vars: Vec<Var>,
    regex: Regex,
    /// For JSON formats: key path (dotted) to the variable it holds.
    json_keys: Vec<(String, Var)>,
}

impl LogFormat {
    /// Parses the format string exactly as pasted into API Gateway.
    pub fn parse(source: &str) -> Result<Self, FormatError> {
        let source = source.trim();
        let mut vars = Vec::new();
        let mut pattern = String::from("^");
        let mut rest = source;
        let mut last_was_var = false;
        while let Some(at) = rest.find("$context.") {
            let literal = &rest[..at];
            if last_was_var && literal.is_empty() {
                let prev: &Var = vars.last().expect("a var was pushed");
                let next = var_name(&rest[at + 9..]);
                return Err(FormatError::AdjacentVariables(
                    format!("context.{}", prev.0),
                    format!("context.{next}"),
                ));
            }
            pattern.push_str(&regex::escape(literal));
            let name = var_name(&rest[at + 9..]);
            if name.is_empty() {
                pattern.push_str(&regex::escape("$context."));
                rest = &rest[at + 9..];
                last_was_var = false;
                continue;
            }
            let var = Var(name.to_owned());
            pattern.push_str(var.pattern());
            rest = &rest[at + 9 + name.len()..];
            vars.push(var);
            last_was_var = true;
        }
        pattern.push_str(&regex::escape(rest));
        pattern.push('$');
        if vars.is_empty() {
            return Err(FormatError::NoVariables);
        }
        if !vars.iter().any(Var::is_error) {
            return Err(FormatError::NoErrorVariable);
        }
        let regex = regex::RegexBuilder::new(&pattern)
            .dot_matches_new_line(true)
            .build()
            .map_err(|e| FormatError::Regex(e.to_string()))?;
        let json_keys = match serde_json::from_str::<Value>(source) {
            Ok(Value::Object(map)) => {
                let mut keys = Vec::new();
                collect_json_keys(&Value::Object(map), "", &mut keys);
                keys
            }
            _ => Vec::new(),
        };
        Ok(Self {
            source: source.to_owned(),
            vars,
            regex,
            json_keys,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Splits a line into the format's variables, or `None` when the line does not follow it.
    pub fn split<'l>(&self, line: &'l str) -> Option<Vec<(&Var, &'l str)>> {
        let caps = self.regex.captures(line)?;
        Some(
            self.vars
                .iter()
                .zip(caps.iter().skip(1))
                .map(|(var, m)| (var, m.map_or("", |m| m.as_str())))
                .collect(),
        )
    }

    /// The variable a JSON key path holds, when this is a JSON format.
    pub fn var_for_json_key(&self, path: &str) -> Option<&Var> {
        self.json_keys
            .iter()
            .find(|(k, _)| k == path)
            .map(|(_, var)| var)
    }
}

impl Default for LogFormat {
    fn default() -> Self {
        Self::parse(DEFAULT_FORMAT).expect("the default format parses")
    }
}

fn var_name(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .unwrap_or(s.len());
    s[..end].trim_end_matches(['.', '-'])
}

fn collect_json_keys(value: &Value, prefix: &str, out: &mut Vec<(String, Var)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                collect_json_keys(v, &path, out);
            }
        }
        Value::String(s) => {
            if let Some(rest) = s.trim().strip_prefix("$context.") {
                out.push((prefix.to_owned(), Var(var_name(rest).to_owned())));
            }
        }
        _ => {}
    }
}

/// The fields of a line an alert can use. `None` where the format lacks them or the log wrote `-`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    pub request_id: Option<String>,
    pub status: Option<u16>,
    pub time: Option<String>,
    pub method: Option<String>,
    pub route_key: Option<String>,
    pub path: Option<String>,
    pub source_ip: Option<String>,
    pub api_id: Option<String>,
    pub stage: Option<String>,
    pub account_id: Option<String>,
}

impl Fields {
    /// Records a variable's value under the field it feeds, if any.
    pub fn set(&mut self, var: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() || value == "-" {
            return;
        }
        let slot = match var {
            "requestId" => &mut self.request_id,
            "extendedRequestId" if self.request_id.is_none() => &mut self.request_id,
            "status" => {
                self.status = self.status.or_else(|| value.parse().ok());
                return;
            }
            "requestTime" => &mut self.time,
            "requestTimeEpoch" if self.time.is_none() => &mut self.time,
            "httpMethod" => &mut self.method,
            "routeKey" => &mut self.route_key,
            "path" => &mut self.path,
            "identity.sourceIp" => &mut self.source_ip,
            "apiId" => &mut self.api_id,
            "stage" => &mut self.stage,
            "accountId" => &mut self.account_id,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    }

    /// A `METHOD route` label for the alert: the route key, else method and path.
    pub fn route(&self) -> Option<String> {
        match (&self.route_key, &self.method, &self.path) {
            (Some(route), _, _) => Some(route.clone()),
            (None, Some(method), Some(path)) => Some(format!("{method} {path}")),
            (None, None, Some(path)) => Some(path.clone()),
            _ => None,
        }
    }
}

/// The `$context` variable a JSON key most likely holds, for JSON lines logged with a format we
/// were not given. Keys are compared without case or punctuation, so `request_id`, `requestId` and
/// `context.requestId` all count.
pub fn guess_var_for_key(key: &str) -> Option<&'static str> {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let norm = norm.strip_prefix("context").unwrap_or(&norm);
    Some(match norm {
        "requestid" => "requestId",
        "extendedrequestid" => "extendedRequestId",
        "status" | "statuscode" => "status",
        "requesttime" | "time" => "requestTime",
        "requesttimeepoch" => "requestTimeEpoch",
        "httpmethod" | "method" => "httpMethod",
        "routekey" | "route" => "routeKey",
        "path" => "path",
        "ip" | "sourceip" | "identitysourceip" => "identity.sourceIp",
        "apiid" => "apiId",
        "stage" => "stage",
        "accountid" => "accountId",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL_LINE: &str = r#"203.0.113.0 - - [10/Oct/2023:01:01:01 +0000] "GET ANY / HTTP/1.1" 500 35 abcdefghijklmno= - Internal Server Error AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;

    fn split_map(format: &LogFormat, line: &str) -> Vec<(String, String)> {
        format
            .split(line)
            .expect("line follows the format")
            .into_iter()
            .map(|(v, s)| (v.0.clone(), s.to_owned()))
            .collect()
    }

    #[test]
    fn default_format_splits_the_real_line() {
        let f = LogFormat::default();
        let got = split_map(&f, REAL_LINE);
        let get = |name: &str| got.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(get("identity.sourceIp"), "203.0.113.0");
        assert_eq!(get("requestTime"), "10/Oct/2023:01:01:01 +0000");
        assert_eq!(get("httpMethod"), "GET");
        assert_eq!(get("routeKey"), "ANY /");
        assert_eq!(get("protocol"), "HTTP/1.1");
        assert_eq!(get("status"), "500");
        assert_eq!(get("requestId"), "abcdefghijklmno=");
        assert!(get("authorizer.error").contains("AUTHORIZER_CONFIGURATION_ERROR,The response"));
    }

    #[test]
    fn a_forged_path_stays_inside_the_path() {
        let f = LogFormat::parse(
            r#"$context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status $context.requestId $context.authorizer.error"#,
        )
        .unwrap();
        let line = r#"1.2.3.4 [t] "GET /x HTTP/1.1" 500 r AUTHORIZER_CONFIGURATION_ERROR,fake " HTTP/1.1" 200 realid -"#;
        let got = split_map(&f, line);
        assert_eq!(
            got.last().unwrap(),
            &("authorizer.error".into(), "-".into())
        );
        assert_eq!(got[6], ("requestId".into(), "realid".into()));
    }

    #[test]
    fn bad_formats_are_refused_with_a_reason() {
        let cases = [
            ("", FormatError::NoVariables),
            ("plain text", FormatError::NoVariables),
            (
                "$context.requestId $context.status",
                FormatError::NoErrorVariable,
            ),
            (
                "$context.requestId$context.authorizer.error",
                FormatError::AdjacentVariables(
                    "context.requestId".into(),
                    "context.authorizer.error".into(),
                ),
            ),
        ];
        for (format, expected) in cases {
            assert_eq!(LogFormat::parse(format).unwrap_err(), expected, "{format}");
        }
    }

    #[test]
    fn json_format_maps_keys_to_variables() {
        let f = LogFormat::parse(
            r#"{"requestId":"$context.requestId","authorizer":{"error":"$context.authorizer.error"}}"#,
        )
        .unwrap();
        assert_eq!(
            f.var_for_json_key("requestId"),
            Some(&Var("requestId".into()))
        );
        assert_eq!(
            f.var_for_json_key("authorizer.error"),
            Some(&Var("authorizer.error".into()))
        );
        assert_eq!(f.var_for_json_key("status"), None);
    }

    #[test]
    fn fields_keep_first_value_and_skip_dashes() {
        let mut fields = Fields::default();
        fields.set("requestId", "-");
        fields.set("extendedRequestId", "ext");
        fields.set("requestId", "req");
        fields.set("status", "500");
        fields.set("status", "nope");
        fields.set("httpMethod", "GET");
        fields.set("path", "/a");
        assert_eq!(fields.request_id.as_deref(), Some("ext"));
        assert_eq!(fields.status, Some(500));
        assert_eq!(fields.route().as_deref(), Some("GET /a"));
    }

    #[test]
    fn guesses_json_keys() {
        assert_eq!(guess_var_for_key("request_id"), Some("requestId"));
        assert_eq!(guess_var_for_key("context.requestId"), Some("requestId"));
        assert_eq!(guess_var_for_key("sourceIp"), Some("identity.sourceIp"));
        assert_eq!(guess_var_for_key("userAgent"), None);
    }
}
