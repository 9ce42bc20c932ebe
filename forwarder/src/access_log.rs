//! Access-log formats and lines.
//!
//! Users configure the stage's access log with a format string of `$context` variables
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html>).
//! Given the same string, [`LogFormat`] splits a line back into its variables, so the detector knows
//! which part API Gateway wrote and which part a client sent.
//!
//! A client-controlled value (a path, a user agent) can hold anything, the format's own separators
//! included, so one line can have several splits. The splitter does not pick one and hope: it runs
//! the format as an automaton over the line once forwards and once backwards, which gives, at every
//! byte, the variables that byte can belong to in *some* split. A token counts as API Gateway's only
//! when every split puts it in an error variable; when some split does and some does not, the line
//! is ambiguous and is reported as not following the format. Time and memory are linear in the
//! line's length, whatever it holds.

use std::borrow::Cow;

use serde_json::Value;

use crate::cause::Cause;

/// The format in our reference material. The Lambda uses it when `ACCESS_LOG_FORMAT` is not set;
/// the command line, given no format, tries it first among its guesses.
pub const DEFAULT_FORMAT: &str = r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId $context.authorizer.error"#;

/// The text format we recommend for an HTTP API stage: every error variable API Gateway fills for a
/// broken authorizer (`$context.error.responseType` for the gateway response's type,
/// `$context.authorizer.error` for its message, which an HTTP API writes without a token), and the
/// API and stage so an alert names them. Client values stay inside the one quoted field.
pub const RECOMMENDED_FORMAT: &str = r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId $context.apiId $context.stage $context.error.responseType $context.authorizer.error"#;

/// [`RECOMMENDED_FORMAT`] as JSON, for stages that log JSON.
pub const RECOMMENDED_JSON_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","apiId":"$context.apiId","stage":"$context.stage","responseType":"$context.error.responseType","authorizerError":"$context.authorizer.error"}"#;

/// The access-log formats the API Gateway console offers (CLF, JSON, XML, CSV), for REST,
/// WebSocket and HTTP APIs, as AWS's pages print them
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html>,
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html>,
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html>), with the
/// REST set before `$context.extendedRequestId` was added (still in the CDK's `clf()` and in
/// stages set up then). None holds an error variable: a line in one of them never shows an
/// authorizer failure, so the command line, given no format, reads such a line by its preset and
/// finds any token in it in a client's value.
pub const CONSOLE_PRESETS: [(&str, &str); 16] = [
    (
        "REST CLF",
        r#"$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime]"$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId $context.extendedRequestId"#,
    ),
    (
        "REST JSON",
        r#"{ "requestId":"$context.requestId", "extendedRequestId":"$context.extendedRequestId","ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod", "resourcePath":"$context.resourcePath", "status":"$context.status", "protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#,
    ),
    (
        "REST XML",
        r#"<request id="$context.requestId"> <extendedRequestId>$context.extendedRequestId</extendedRequestId> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>"#,
    ),
    (
        "REST CSV",
        "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId,$context.extendedRequestId",
    ),
    (
        "REST CLF (before extendedRequestId)",
        r#"$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId"#,
    ),
    (
        "REST JSON (before extendedRequestId)",
        r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod", "resourcePath":"$context.resourcePath", "status":"$context.status", "protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#,
    ),
    (
        "REST XML (before extendedRequestId)",
        r#"<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>"#,
    ),
    (
        "REST CSV (before extendedRequestId)",
        "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId",
    ),
    (
        "WebSocket CLF",
        r#"$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.eventType $context.routeKey $context.connectionId" $context.status $context.requestId"#,
    ),
    (
        "WebSocket JSON",
        r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user", "requestTime":"$context.requestTime", "eventType":"$context.eventType", "routeKey":"$context.routeKey", "status":"$context.status", "connectionId":"$context.connectionId" }"#,
    ),
    (
        "WebSocket XML",
        r#"<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <eventType>$context.eventType</eventType> <routeKey>$context.routeKey</routeKey> <status>$context.status</status> <connectionId>$context.connectionId</connectionId> </request>"#,
    ),
    (
        "WebSocket CSV",
        "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.eventType,$context.routeKey,$context.connectionId,$context.status,$context.requestId",
    ),
    (
        "HTTP CLF",
        r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId"#,
    ),
    (
        "HTTP JSON",
        r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","routeKey":"$context.routeKey", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#,
    ),
    (
        "HTTP XML",
        r#"<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <routeKey>$context.routeKey</routeKey> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>"#,
    ),
    (
        "HTTP CSV",
        "$context.identity.sourceIp,$context.requestTime,$context.httpMethod,$context.routeKey,$context.protocol,$context.status,$context.responseLength,$context.requestId",
    ),
];

/// One of [`CONSOLE_PRESETS`], parsed.
pub struct Preset {
    pub name: &'static str,
    pub format: LogFormat,
    /// The text between its variables, in order, which API Gateway writes whatever the values.
    literals: Vec<&'static str>,
}

impl Preset {
    /// Whether a line holds the preset's own text in order, from its first character to its
    /// last, whatever its values hold: a client's `"` can break a value's quoting, never remove
    /// API Gateway's text around it. Only presets whose text tells them apart are read so (a CSV
    /// preset's text is commas alone, which any line may have).
    pub fn frames(&self, line: &str) -> bool {
        if self.literals.iter().all(|l| l.trim().len() <= 1) {
            return false;
        }
        let (first, last) = (self.literals[0], self.literals[self.literals.len() - 1]);
        let Some(mut rest) = line.strip_prefix(first) else {
            return false;
        };
        let Some(inner) = rest.strip_suffix(last) else {
            return false;
        };
        rest = inner;
        for literal in &self.literals[1..self.literals.len() - 1] {
            match rest.find(literal) {
                Some(at) => rest = &rest[at + literal.len()..],
                None => return false,
            }
        }
        true
    }
}

/// The text between a format's variables: before the first, between each two, after the last.
fn literals_of(source: &'static str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut rest = source.trim();
    while let Some(at) = rest.find("$context.") {
        out.push(&rest[..at]);
        let name = var_name(&rest[at + 9..]);
        rest = &rest[at + 9 + name.len()..];
    }
    out.push(rest);
    out
}

/// [`CONSOLE_PRESETS`], parsed once.
pub static PRESET_FORMATS: std::sync::LazyLock<Vec<Preset>> = std::sync::LazyLock::new(|| {
    CONSOLE_PRESETS
        .iter()
        .map(|&(name, source)| Preset {
            name,
            format: LogFormat::parse_layout(source).expect("every console preset parses"),
            literals: literals_of(source),
        })
        .collect()
});

/// Why a format cannot be used. The texts follow the setting's name ("--format is not a usable
/// access-log format: ..."), so they do not repeat it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("it has no $context variables")]
    NoVariables,
    #[error(
        "it has no error variable ($context.authorizer.error, $context.authorize.error or $context.error.message/messageString/responseType), so authorizer errors never reach the log"
    )]
    NoErrorVariable,
    #[error(
        "it puts ${0} and ${1} next to each other with nothing between, so lines cannot be split"
    )]
    AdjacentVariables(String, String),
    #[error("it is a JSON object that maps the key {0:?} twice")]
    DuplicateJsonKey(String),
    /// A format that starts like a JSON object must be one once API Gateway fills it in, or
    /// every line it writes is read as text and none matches.
    #[error("it starts like JSON but is not: {reason} at line {line} column {column}")]
    NotJson {
        reason: String,
        line: usize,
        column: usize,
    },
    #[error("it would never report an authorizer failure: {0}")]
    NeverSeesFailure(String),
}

/// A variable of the format, by its name after `$context.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var(pub String);

impl Var {
    /// Variables whose value API Gateway writes about an error; the token only counts in these.
    /// Integration variables carry the backend's text and validation errors can quote the request
    /// body, so neither counts, whatever its name.
    pub fn is_error(&self) -> bool {
        matches!(
            self.0.as_str(),
            "authorizer.error"
                | "authorize.error"
                | "error.message"
                | "error.messageString"
                | "error.responseType"
        )
    }

    /// Variables API Gateway writes its authorizer messages in, with or without a token
    /// ([`crate::cause::FAILURE_MESSAGES`]).
    pub fn holds_authorizer_message(&self) -> bool {
        matches!(self.0.as_str(), "authorizer.error" | "authorize.error")
    }

    /// What API Gateway can write for this variable. Anything unknown, and every value a client or
    /// the authorizer function chooses, may hold any byte.
    fn class(&self) -> Class {
        match self.0.as_str() {
            "status"
            | "authorizer.status"
            | "authorizer.integrationStatus"
            | "integrationStatus"
            | "integration.status"
            | "integration.integrationStatus"
            | "responseLength"
            | "requestTimeEpoch"
            | "responseLatency"
            | "integrationLatency"
            | "authorizer.latency"
            | "authorizer.integrationLatency"
            | "authorizer.requestTimeEpoch"
            | "integration.latency"
            | "dataProcessed" => Class::Number,
            "requestTime" | "authorizer.requestTime" => Class::Time,
            "httpMethod" => Class::Method,
            "apiId"
            | "accountId"
            | "requestId"
            | "extendedRequestId"
            | "awsEndpointRequestId"
            | "protocol"
            | "stage"
            | "identity.sourceIp"
            | "connectionId"
            | "eventType"
            // A gateway response type: one upper-case word such as AUTHORIZER_FAILURE.
            | "error.responseType" => Class::Token,
            "error.messageString" => Class::Quoted,
            _ if self.is_error() => Class::ErrorText,
            _ => Class::Any,
        }
    }

    /// What this variable's value may hold when the line's layout is checked (see
    /// [`LogFormat::keeps_layout`]): the class of a value only API Gateway writes, and any text
    /// for a value a client can shape. A client chooses its method and its request line's
    /// protocol, a REST API lets it set `$context.requestId`, and an address may come from a
    /// forwarded header, so those are any text here, whatever API Gateway usually writes. In a
    /// JSON line API Gateway's own error text may quote with an escaped `"`, so it is any text.
    fn layout_class(&self, json: bool) -> Class {
        match self.0.as_str() {
            "httpMethod" | "protocol" | "requestId" | "identity.sourceIp" => Class::Any,
            _ => match self.class() {
                Class::ErrorText | Class::Quoted if json => Class::Any,
                class => class,
            },
        }
    }
}

/// The bytes a variable's value may hold. API Gateway writes `-` for an empty value of its own,
/// so those have at least one byte; client text may be empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Digits or `-`: statuses, lengths, latencies.
    Number,
    /// `$context.requestTime`: no `]` (it usually sits in brackets) and no `"`.
    Time,
    /// Upper-case letters or `-`.
    Method,
    /// No white space and no `"`: ids, the protocol, the stage, an address.
    Token,
    /// The text API Gateway writes in an error variable: no `"`. Its messages quote with `'`, so
    /// a `"` can only come from a client value.
    ErrorText,
    /// `$context.error.messageString`: the message in double quotes.
    Quoted,
    /// Client text, the authorizer's context, or a variable of unknown shape.
    Any,
}

impl Class {
    fn allows(self, b: u8) -> bool {
        match self {
            Class::Number => b.is_ascii_digit() || b == b'-',
            Class::Time => b != b']' && b != b'"' && b >= 0x20,
            Class::Method => b.is_ascii_uppercase() || b == b'-',
            Class::Token => b > b' ' && b != b'"' && b != 0x7f,
            Class::ErrorText | Class::Quoted => b != b'"',
            Class::Any => true,
        }
    }

    /// Client text: may be empty, and is taken as long as possible when one split has to be
    /// chosen for the fields.
    fn is_any(self) -> bool {
        self == Class::Any
    }
}

/// Field names that carry error text in JSON lines logged with a format we were not given.
/// Integration and validation errors carry the backend's or the request's text, never the token.
pub fn is_error_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.contains("error") || lower.contains("responsetype"))
        && !lower.contains("integration")
        && !lower.contains("validation")
}

/// A parsed access-log format string.
#[derive(Clone, Debug)]
pub struct LogFormat {
    source: String,
    vars: Vec<Var>,
    slots: Vec<Slot>,
    /// [`Var::is_error`] of each variable, asked once per flagged line and variable.
    errors: Vec<bool>,
    /// Whether the user configured this format. Only then do its rules bind: a line that does not
    /// follow it is unmatched. Otherwise it is the first guess of several.
    given: bool,
    automaton: Automaton,
    /// The format's layout: its literal text, values only API Gateway writes in their classes,
    /// and any text where a client can write (see [`LogFormat::keeps_layout`]).
    layout: Automaton,
    /// For JSON formats: key path (dotted) to the variable it holds.
    json_keys: Vec<(String, Var)>,
}

impl LogFormat {
    /// Parses the format string exactly as pasted into API Gateway, and refuses a format with
    /// which no failure API Gateway reports would ever be flagged: a stack with it would never
    /// alert, and a scan with it would pass every real failure as harmless.
    pub fn parse(source: &str) -> Result<Self, FormatError> {
        let format = Self::parse_layout(source)?;
        if !format.vars.iter().any(Var::is_error) {
            return Err(FormatError::NoErrorVariable);
        }
        format.sees_failures()?;
        Ok(format)
    }

    /// Parses the format string without asking whether it can ever see a failure: one of the
    /// console's presets is read so, to know where a line's client values stand.
    fn parse_layout(source: &str) -> Result<Self, FormatError> {
        let source = source.trim();
        let mut vars = Vec::new();
        let mut literals = vec![String::new()];
        let mut rest = source;
        while let Some(at) = rest.find("$context.") {
            let literal = literals.last_mut().expect("never empty");
            literal.push_str(&rest[..at]);
            let name = var_name(&rest[at + 9..]);
            if name.is_empty() {
                literal.push_str("$context.");
                rest = &rest[at + 9..];
                continue;
            }
            if !vars.is_empty() && literal.is_empty() {
                let prev: &Var = vars.last().expect("checked");
                return Err(FormatError::AdjacentVariables(
                    format!("context.{}", prev.0),
                    format!("context.{name}"),
                ));
            }
            vars.push(Var(name.to_owned()));
            literals.push(String::new());
            rest = &rest[at + 9 + name.len()..];
        }
        literals.last_mut().expect("never empty").push_str(rest);
        if vars.is_empty() {
            return Err(FormatError::NoVariables);
        }
        check_json(source)?;
        let json_keys = match serde_json::from_str::<Value>(source) {
            Ok(Value::Object(map)) => {
                let mut keys = Vec::new();
                collect_json_keys(&Value::Object(map), "", &mut keys);
                if let Some(dup) = (1..keys.len()).find_map(|i| {
                    keys[..i]
                        .iter()
                        .any(|(k, _)| *k == keys[i].0)
                        .then(|| keys[i].0.clone())
                }) {
                    return Err(FormatError::DuplicateJsonKey(dup));
                }
                keys
            }
            _ => Vec::new(),
        };
        let json = !json_keys.is_empty();
        Ok(Self {
            source: source.to_owned(),
            slots: vars.iter().map(|v| Slot::of(&v.0)).collect(),
            errors: vars.iter().map(Var::is_error).collect(),
            given: true,
            automaton: Automaton::new(&vars, &literals, Var::class),
            layout: Automaton::new(&vars, &literals, |v| v.layout_class(json)),
            vars,
            json_keys,
        })
    }

    /// The default format as a guess: lines that do not follow it are read by the fallback rules.
    pub fn guess() -> Self {
        Self {
            given: false,
            ..Self::default()
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Whether the user configured this format (see [`LogFormat::guess`]).
    pub fn is_given(&self) -> bool {
        self.given
    }

    /// Whether this is a JSON format; its lines are read by key, not split.
    pub fn is_json(&self) -> bool {
        !self.json_keys.is_empty()
    }

    /// The key paths of a JSON format, in order.
    pub fn json_keys(&self) -> &[(String, Var)] {
        &self.json_keys
    }

    /// The field variable `i` feeds.
    pub fn slot(&self, i: usize) -> Slot {
        self.slots[i]
    }

    /// Whether variable `i` carries error text (see [`Var::is_error`]).
    pub fn is_error_var(&self, i: usize) -> bool {
        self.errors[i]
    }

    /// Splits a line against the format and tells, for each of `spans` (byte ranges of the line,
    /// such as the token's occurrences), where every split of the line puts it.
    pub fn split(&self, line: &str, spans: &[(usize, usize)], scratch: &mut Scratch) -> Split {
        self.automaton.split(line.as_bytes(), spans, scratch)
    }

    /// Why a client could make some lines of this format ambiguous, if it could; such lines are
    /// unmatched rather than flagged, so the format should be changed. A text format is safe when,
    /// for every error variable, one side up to the end of the line holds no client value and the
    /// text between it and the nearest client value on the other side has a `"`: no value of API
    /// Gateway's own holds one, so the last (or first) `"` of the line stands where the format
    /// puts it, and no client value can reach past it.
    pub fn ambiguity(&self) -> Option<String> {
        if self.is_json() {
            return None;
        }
        let literals = &self.automaton.literals;
        let client = |i: usize| self.vars[i].class() == Class::Any;
        let quoted = |from: usize, to: usize| literals[from..to].iter().any(|l| l.contains('"'));
        self.vars.iter().enumerate().find_map(|(e, var)| {
            if !var.is_error() {
                return None;
            }
            let left = (0..e).rev().find(|&i| client(i));
            let right = (e + 1..self.vars.len()).find(|&i| client(i));
            let safe = match (left, right) {
                (None, None) => true,
                // Literal i + 1 follows variable i; literal e precedes the error variable.
                (Some(l), None) => quoted(l + 1, e + 1),
                (None, Some(r)) => quoted(e + 1, r + 1),
                (Some(_), Some(_)) => false,
            };
            (!safe).then(|| {
                let around = [left, right]
                    .into_iter()
                    .flatten()
                    .map(|i| format!("$context.{}", self.vars[i].0))
                    .collect::<Vec<_>>()
                    .join(" and ");
                format!(
                    "$context.{} sits next to client-controlled {around} with no double quote to fence them apart, so a client can make its line ambiguous (counted as unmatched, never flagged); put client values in double quotes and the error variable on a side with none",
                    var.0
                )
            })
        })
    }

    /// Whether a line keeps the format's layout: its literal text in order, around values of the
    /// shapes API Gateway writes, with any text where a client can write (see
    /// [`Var::layout_class`]). A client writes only in its own values: it can make its line one
    /// the format cannot split or parse (a `"` that breaks a JSON line, a request id of its own
    /// with a space), but never one without the layout. Only API Gateway writing another format
    /// does that, so such a line is evidence that the stage's format changed.
    ///
    /// `line` is read as written, without its line break, and trimmed: a client value at either
    /// end may be empty or white space, which trimming alone would take off the layout.
    pub fn keeps_layout(&self, line: &str, scratch: &mut Scratch) -> bool {
        let written = line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        self.layout.split(written.as_bytes(), &[], scratch) != Split::NoMatch
            || (trimmed != written
                && self.layout.split(trimmed.as_bytes(), &[], scratch) != Split::NoMatch)
    }

    /// Refuses a format that can never report an authorizer failure: the lines API Gateway
    /// writes with it for each failure it reports ([`FAILURES`], the other variables plain or
    /// realistic) are scanned with it, and none is flagged with the cause its values name.
    fn sees_failures(&self) -> Result<(), FormatError> {
        let seen = FAILURES.iter().any(|failure| {
            [false, true].into_iter().any(|realistic| {
                let line = self.render(failure, realistic);
                matches!(
                    crate::detect::scan_line(&line, self),
                    crate::detect::LineVerdict::Flagged(f) if f.cause == failure.cause
                )
            })
        });
        if seen {
            return Ok(());
        }
        let only_messages = self
            .vars
            .iter()
            .filter(|v| v.is_error())
            .all(|v| matches!(v.0.as_str(), "error.message" | "error.messageString"));
        let why = if only_messages {
            "$context.error.message and $context.error.messageString hold only the body the client got, never the authorizer's error; log $context.error.responseType and $context.authorizer.error".to_owned()
        } else if let Some(why) = self.ambiguity() {
            format!("a failure line API Gateway writes with it is not read as one: {why}")
        } else {
            "a failure line API Gateway writes with it is not read as one; keep $context.error.responseType and $context.authorizer.error apart from client values, as the recommended format does".to_owned()
        };
        Err(FormatError::NeverSeesFailure(why))
    }

    /// The line API Gateway would write with this format for `failure`.
    fn render(&self, failure: &Failure, realistic: bool) -> String {
        let literals = &self.automaton.literals;
        let mut line = literals[0].clone();
        for (var, literal) in self.vars.iter().zip(&literals[1..]) {
            match var.0.as_str() {
                "authorizer.error" | "authorize.error" => line.push_str(failure.authorizer_error),
                "error.responseType" => line.push_str(failure.response_type),
                "error.message" => line.push_str(failure.message),
                "error.messageString" => {
                    line.push('"');
                    line.push_str(failure.message);
                    line.push('"');
                }
                _ => line.push_str(sample_value(var, realistic)),
            }
            line.push_str(literal);
        }
        line
    }

    /// The variable a JSON key path holds, when this is a JSON format.
    pub fn var_for_json_key(&self, path: &str) -> Option<&Var> {
        self.json_keys
            .iter()
            .find(|(k, _)| k == path)
            .map(|(_, var)| var)
    }
}

/// What API Gateway writes in the error variables for an authorizer it could not use, and the
/// cause those values name.
struct Failure {
    /// `$context.authorizer.error`, and `$context.authorize.error` (which the detector reads alike).
    authorizer_error: &'static str,
    /// `$context.error.responseType`.
    response_type: &'static str,
    /// `$context.error.message`, the body the client got; `$context.error.messageString` quotes it.
    message: &'static str,
    cause: Cause,
}

/// One row per API kind and failure: an HTTP API's sentences alone (mantil-io/mantil#52, the
/// Classmethod note) and after the token (the line in our reference material); a REST API's
/// response type with and without a reason, and its `AUTHORIZER_FAILURE` (a WebSocket API's
/// `$connect` logs the same variables).
const FAILURES: [Failure; 6] = [
    Failure {
        authorizer_error: "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.",
        response_type: "-",
        message: "Internal Server Error",
        cause: Cause::MissingInvokePermission,
    },
    Failure {
        authorizer_error: "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
        response_type: "-",
        message: "Internal Server Error",
        cause: Cause::InvalidResponseFormat,
    },
    Failure {
        authorizer_error: "AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
        response_type: "-",
        message: "Internal Server Error",
        cause: Cause::InvalidResponseFormat,
    },
    Failure {
        authorizer_error: "Invalid permissions on Lambda function",
        response_type: "AUTHORIZER_CONFIGURATION_ERROR",
        message: "null",
        cause: Cause::MissingInvokePermission,
    },
    Failure {
        authorizer_error: "-",
        response_type: "AUTHORIZER_CONFIGURATION_ERROR",
        message: "null",
        cause: Cause::Unknown,
    },
    Failure {
        authorizer_error: "-",
        response_type: "AUTHORIZER_FAILURE",
        message: "null",
        cause: Cause::AuthorizerFailure,
    },
];

/// A value API Gateway could write for a variable other than an error variable: `-` (an empty
/// value) unless `realistic`, except where a failure line always has a value.
fn sample_value(var: &Var, realistic: bool) -> &'static str {
    match (var.0.as_str(), realistic) {
        ("status", _) => "500",
        ("requestTime", _) => "10/Oct/2023:01:01:01 +0000",
        ("requestId", _) => "Vx3kTfWGIAMEbyw=",
        ("apiId", _) => "a1b2c3d4e5",
        ("stage", _) => "prod",
        ("httpMethod", true) => "GET",
        ("protocol", true) => "HTTP/1.1",
        ("identity.sourceIp", true) => "203.0.113.7",
        ("routeKey", true) => "GET /pets",
        ("path" | "resourcePath", true) => "/pets",
        ("identity.userAgent", true) => "Mozilla/5.0 (X11; Linux x86_64)",
        _ => "-",
    }
}

impl Default for LogFormat {
    fn default() -> Self {
        Self::parse(DEFAULT_FORMAT).expect("the default format parses")
    }
}

/// Where the splits of a line put a span of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Inside error variable `var` in every split.
    Error { var: usize },
    /// In no error variable in any split.
    Elsewhere,
    /// In an error variable in some splits and not in others: a client value may have moved it.
    Ambiguous,
}

/// The outcome of [`LogFormat::split`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// The line does not follow the format.
    NoMatch,
    /// The line follows the format. One split's value ends are in the scratch space (read them
    /// with [`Scratch::value`]); `places` has one entry per span asked about.
    Parsed { places: Vec<Place> },
}

/// Buffers for splitting, reused across the lines of a batch.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// State sets after each byte: reachable from the start, then narrowed to those that also
    /// reach the end.
    sets: Vec<u64>,
    /// Per variable: where its value starts and ends in the chosen split.
    bounds: Vec<(usize, usize)>,
    /// The runs of bytes outside every literal that the forward pass read in one step.
    runs: Vec<Run>,
}

/// Bytes `start..end` of a line, none of them in a literal of the format, after a byte that began
/// the run: the same states are reachable after each of them.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: usize,
    end: usize,
    /// The classes (bits of [`CLASS_BITS`]) that refuse some byte of the run.
    refused: usize,
    /// Whether the backward pass read the run in one step too, so the live states are the same
    /// after each of its bytes.
    narrow: bool,
}

impl Scratch {
    /// Variable `i`'s value in the split last made.
    pub fn value<'l>(&self, line: &'l str, i: usize) -> &'l str {
        let (start, end) = self.bounds[i];
        line.get(start..end).unwrap_or_default()
    }

    /// Where variable `i`'s value starts and ends in the split last made.
    pub fn bounds(&self, i: usize) -> (usize, usize) {
        self.bounds[i]
    }
}

/// The format as a position automaton: one state per literal byte and per variable, in order,
/// after a start state. Entering a state consumes one byte the state allows; a variable's state
/// also loops on the bytes of its class. State sets are bit sets of `words` 64-bit words, so a
/// step over one byte is a few word operations (the shift-and method).
#[derive(Clone, Debug)]
struct Automaton {
    words: usize,
    /// Per byte value: the states that may consume it (`256 * words`).
    masks: Vec<u64>,
    /// Variable states.
    loops: Vec<u64>,
    /// States of client text: values that may be empty, and that are taken as long as possible
    /// when one split is chosen for the fields.
    empties: Vec<u64>,
    /// Error-variable states.
    errors: Vec<u64>,
    /// Per state: the variable it reads, if any.
    state_var: Vec<Option<usize>>,
    /// The last state, where a whole line must end.
    last: usize,
    vars: usize,
    /// The format's text around its variables, one more than there are variables.
    literals: Vec<String>,
    /// Per byte value: [`IN_LITERAL`] when some literal of the format holds it, and one bit per
    /// class of [`CLASS_BITS`] that refuses it.
    kinds: [u8; 256],
    /// Per set of refusing classes (the kinds above shifted right once): the variable states
    /// whose class allows every byte of a run with those kinds.
    survive: [u64; 1 << CLASS_BITS.len()],
    /// Whether runs of bytes outside every literal can be read in one step: true for formats of
    /// one word whose variables are all separated by literal text (see [`Automaton::split`]).
    runs: bool,
}

/// In [`Automaton::kinds`]: the byte occurs in the format's literal text.
const IN_LITERAL: u8 = 1;

/// The classes that refuse some byte, each a bit of [`Automaton::kinds`] from bit 1 on.
const CLASS_BITS: [Class; 5] = [
    Class::Number,
    Class::Time,
    Class::Method,
    Class::Token,
    Class::ErrorText,
];

impl Automaton {
    /// The automaton of a format whose variables' values hold the bytes `class_of` says.
    fn new(vars: &[Var], literals: &[String], class_of: impl Fn(&Var) -> Class) -> Self {
        // State 0 is the start; states 1.. are the elements in order.
        let mut elements: Vec<(Option<usize>, Class, u8)> = Vec::new();
        let literal = |elements: &mut Vec<(Option<usize>, Class, u8)>, text: &str| {
            for &b in text.as_bytes() {
                elements.push((None, Class::Any, b));
            }
        };
        literal(&mut elements, &literals[0]);
        for (i, var) in vars.iter().enumerate() {
            let class = class_of(var);
            if class == Class::Quoted {
                // `"message"`: the quotes are literal bytes around a value of error text.
                literal(&mut elements, "\"");
                elements.push((Some(i), Class::ErrorText, 0));
                literal(&mut elements, "\"");
            } else {
                elements.push((Some(i), class, 0));
            }
            literal(&mut elements, &literals[i + 1]);
        }
        let states = elements.len() + 1;
        let words = states.div_ceil(64);
        let mut kinds = [0u8; 256];
        for (c, kind) in kinds.iter_mut().enumerate() {
            let c = c as u8;
            if elements
                .iter()
                .any(|&(var, _, byte)| var.is_none() && byte == c)
            {
                *kind |= IN_LITERAL;
            }
            for (k, class) in CLASS_BITS.iter().enumerate() {
                if !class.allows(c) {
                    *kind |= 2 << k;
                }
            }
        }
        let mut survive = [0u64; 1 << CLASS_BITS.len()];
        let adjacent = elements
            .windows(2)
            .any(|w| w[0].0.is_some() && w[1].0.is_some());
        if words == 1 {
            for (refused, mask) in survive.iter_mut().enumerate() {
                for (e, &(var, class, _)) in elements.iter().enumerate() {
                    let allowed = CLASS_BITS
                        .iter()
                        .enumerate()
                        .all(|(k, c)| refused & (1 << k) == 0 || *c != class);
                    if var.is_some() && allowed {
                        *mask |= 1 << (e + 1);
                    }
                }
            }
        }
        let mut masks = vec![0u64; 256 * words];
        let mut loops = vec![0u64; words];
        let mut empties = vec![0u64; words];
        let mut errors = vec![0u64; words];
        let mut state_var = vec![None; states];
        for (e, &(var, class, byte)) in elements.iter().enumerate() {
            let s = e + 1;
            let (w, bit) = (s / 64, 1u64 << (s % 64));
            match var {
                Some(v) => {
                    loops[w] |= bit;
                    if vars[v].is_error() {
                        errors[w] |= bit;
                    }
                    state_var[s] = Some(v);
                    if class.is_any() {
                        empties[w] |= bit;
                    }
                    for c in 0..=255u8 {
                        if class.allows(c) {
                            masks[c as usize * words + w] |= bit;
                        }
                    }
                }
                None => masks[byte as usize * words + w] |= bit,
            }
        }
        Automaton {
            words,
            masks,
            loops,
            empties,
            errors,
            state_var,
            last: states - 1,
            vars: vars.len(),
            literals: literals.to_vec(),
            kinds,
            survive,
            runs: words == 1 && !adjacent,
        }
    }

    fn has(set: &[u64], s: usize) -> bool {
        set[s / 64] & (1 << (s % 64)) != 0
    }

    /// Adds the states reached by an empty value: a client value may be empty, so the state
    /// before it also stands for having read it. Values are separated by literals, so one step
    /// closes the set.
    fn close_forwards(&self, set: &mut [u64]) {
        let mut carry = 0;
        for (d, e) in set.iter_mut().zip(&self.empties) {
            let was = *d;
            *d |= ((was << 1) | carry) & e;
            carry = was >> 63;
        }
    }

    /// The same closure read backwards: a state can finish if the empty value after it can.
    fn close_backwards(&self, set: &mut [u64]) {
        let mut carry = 0;
        for i in (0..self.words).rev() {
            let e = set[i] & self.empties[i];
            set[i] |= (e >> 1) | carry;
            carry = e << 63;
        }
    }

    /// The same as [`Automaton::split_words`] for formats of at most 64 states (every format in
    /// use): each state set is one word, so a step is a handful of instructions with no loop.
    fn split(&self, line: &[u8], spans: &[(usize, usize)], scratch: &mut Scratch) -> Split {
        if self.words > 1 {
            return self.split_words(line, spans, scratch);
        }
        self.split_word(line, spans, scratch, self.runs)
    }

    /// Splits with one-word state sets, reading runs of bytes that no literal holds in one step
    /// when `runs` is set.
    ///
    /// Such a byte can only be read by a variable, and when variables are separated by literals a
    /// variable reading it stays where it is. So after a run's first byte the set can only lose
    /// the variables whose class refuses a later byte of the run: one table lookup per byte finds
    /// the run's end and the classes its bytes need, and a run that no live state leaves is filled
    /// in at once. Most of a flagged line is such runs (the words of the error text, the route,
    /// the time), so each pass does its per-byte work only at the format's literal bytes.
    fn split_word(
        &self,
        line: &[u8],
        spans: &[(usize, usize)],
        scratch: &mut Scratch,
        runs: bool,
    ) -> Split {
        let n = line.len();
        let m: &[u64; 256] = self.masks[..256]
            .try_into()
            .expect("one word per byte value");
        let (loops, empties, errors) = (self.loops[0], self.empties[0], self.errors[0]);
        let last = 1u64 << self.last;
        let kinds = &self.kinds;
        // Forwards: the states reachable after each byte.
        // Every set up to the line's end is written before it is read, so the buffer only grows.
        let sets = &mut scratch.sets;
        if sets.len() < n + 1 {
            sets.resize(n + 1, 0);
        }
        let spans_of_runs = &mut scratch.runs;
        spans_of_runs.clear();
        let mut d = 1 | ((1 << 1) & empties);
        sets[0] = d;
        let mut p = 0;
        while p < n {
            let b = line[p];
            d = ((d << 1) | (d & loops)) & m[b as usize];
            d |= (d << 1) & empties;
            sets[p + 1] = d;
            p += 1;
            if d == 0 {
                return Split::NoMatch;
            }
            if !runs || kinds[b as usize] & IN_LITERAL != 0 {
                continue;
            }
            // `b` began a run: every state of `d` reads a variable. Find the run's end and the
            // classes its other bytes refuse.
            let start = p;
            let mut refused = 0u8;
            while p < n {
                let k = kinds[line[p] as usize];
                if k & IN_LITERAL != 0 {
                    break;
                }
                refused |= k;
                p += 1;
            }
            if p == start {
                continue;
            }
            let refused = usize::from(refused >> 1);
            if d & self.survive[refused] == d {
                sets[start + 1..=p].fill(d);
                spans_of_runs.push(Run {
                    start,
                    end: p,
                    refused,
                    narrow: false,
                });
            } else {
                for q in start..p {
                    d &= m[line[q] as usize];
                    sets[q + 1] = d;
                }
                if d == 0 {
                    return Split::NoMatch;
                }
            }
        }
        if d & last == 0 {
            return Split::NoMatch;
        }
        // Backwards, narrowing each set to the states that can still finish the line. Over a run
        // the states that can finish only lose those whose class refuses an earlier byte.
        let mut back = last | ((last & empties) >> 1);
        let mut p = n;
        let mut r = spans_of_runs.len();
        loop {
            sets[p] &= back;
            if p == 0 {
                break;
            }
            if r > 0 && spans_of_runs[r - 1].end == p {
                r -= 1;
                let run = &mut spans_of_runs[r];
                let x = back & m[line[p - 1] as usize];
                let x_all = back & self.survive[run.refused];
                if x == x_all {
                    back = x | (x >> 1);
                    for set in &mut sets[run.start..p] {
                        *set &= back;
                    }
                    run.narrow = true;
                    p = run.start;
                    continue;
                }
            }
            let x = back & m[line[p - 1] as usize];
            back = (x >> 1) | (x & loops);
            back |= (back & empties) >> 1;
            p -= 1;
        }
        let sets = &scratch.sets;
        // One split, for the fields: client text as long as possible, the rest as short.
        let bounds = &mut scratch.bounds;
        bounds.clear();
        bounds.resize(self.vars, (0, 0));
        let mut state = 0;
        let mut p = 0;
        let mut runs_left = scratch.runs.iter().filter(|r| r.narrow).peekable();
        while p < n {
            // Inside a run both passes read in one step, the live states are one set of
            // variables, so the split stays in its variable to the run's end.
            if let Some(run) = runs_left.next_if(|r| r.start == p) {
                debug_assert!(sets[p] & (1u64 << state) & loops != 0);
                p = run.end;
                continue;
            }
            let b = line[p];
            let live = sets[p + 1];
            // The states that can read this byte and still finish the line.
            let ok = m[b as usize] & live;
            let bit = 1u64 << state;
            let stay = ok & loops & bit != 0;
            let advance = ok & (bit << 1) != 0;
            let skip = ok & (bit << 2) != 0 && empties & (bit << 1) != 0;
            // Staying in a value is most bytes: client text stays while it can, other values
            // only while nothing after them can take the byte.
            if stay && (empties & bit != 0 || (!advance && !skip)) {
                p += 1;
                continue;
            }
            let next = if advance {
                state + 1
            } else {
                debug_assert!(
                    ok & (bit << 2) != 0,
                    "a live state always has a live successor"
                );
                if let Some(v) = self.state_var[state + 1] {
                    bounds[v] = (p, p);
                }
                state + 2
            };
            if let Some(v) = self.state_var[state] {
                bounds[v].1 = p;
            }
            if let Some(v) = self.state_var[next] {
                bounds[v] = (p, p);
            }
            state = next;
            p += 1;
        }
        if let Some(v) = self.state_var[state] {
            bounds[v].1 = n;
        }
        if state < self.last
            && let Some(v) = self.state_var[self.last]
        {
            bounds[v] = (n, n);
        }
        let places = spans
            .iter()
            .map(|&(a, b)| {
                if sets[a + 1..=b].iter().all(|l| l & !errors == 0) {
                    let s = sets[a + 1].trailing_zeros() as usize;
                    return Place::Error {
                        var: self.state_var[s].expect("error states read variables"),
                    };
                }
                if sets[a + 1] & sets[b] & errors != 0 {
                    Place::Ambiguous
                } else {
                    Place::Elsewhere
                }
            })
            .collect();
        Split::Parsed { places }
    }

    /// Splits a line with state sets of several words each.
    fn split_words(&self, line: &[u8], spans: &[(usize, usize)], scratch: &mut Scratch) -> Split {
        let w = self.words;
        let n = line.len();
        let sets = &mut scratch.sets;
        sets.clear();
        sets.resize((n + 1) * w, 0);
        sets[0] = 1;
        self.close_forwards(&mut sets[..w]);
        // Forwards: the states reachable after each byte.
        for (p, &b) in line.iter().enumerate() {
            let mask = &self.masks[b as usize * w..][..w];
            let (done, next) = sets.split_at_mut((p + 1) * w);
            let cur = &done[p * w..];
            let next = &mut next[..w];
            let mut carry = 0;
            let mut any = 0;
            for i in 0..w {
                let d = cur[i];
                let v = ((d << 1) | carry | (d & self.loops[i])) & mask[i];
                carry = d >> 63;
                next[i] = v;
                any |= v;
            }
            if any == 0 {
                return Split::NoMatch;
            }
            self.close_forwards(next);
        }
        if !Self::has(&sets[n * w..], self.last) {
            return Split::NoMatch;
        }
        // Backwards: keep the states from which the rest of the line can still be read to the
        // end. `back` holds the states that can finish from position p.
        let mut back = vec![0u64; w];
        back[self.last / 64] = 1 << (self.last % 64);
        self.close_backwards(&mut back);
        let mut prev = vec![0u64; w];
        for p in (0..=n).rev() {
            let set = &mut sets[p * w..][..w];
            for i in 0..w {
                set[i] &= back[i];
            }
            if p == 0 {
                break;
            }
            // A state at p - 1 can finish if it steps, on byte p - 1, into a state that can.
            let mask = &self.masks[line[p - 1] as usize * w..][..w];
            let mut carry = 0;
            for i in (0..w).rev() {
                let x = back[i] & mask[i];
                prev[i] = (x >> 1) | carry | (x & self.loops[i]);
                carry = x << 63;
            }
            self.close_backwards(&mut prev);
            std::mem::swap(&mut back, &mut prev);
        }
        let live = |p: usize| &sets[p * w..][..w];
        // One split, for the fields: client text as long as possible, the rest as short.
        scratch.bounds.clear();
        scratch.bounds.resize(self.vars, (0, 0));
        let mut state = 0;
        for (p, &b) in line.iter().enumerate() {
            let mask = &self.masks[b as usize * w..][..w];
            let can = |s: usize| s <= self.last && Self::has(mask, s) && Self::has(live(p + 1), s);
            let stay = self.state_var[state].is_some() && can(state);
            let next = if stay && Self::has(&self.empties, state) {
                state
            } else if can(state + 1) {
                state + 1
            } else if can(state + 2) && Self::has(&self.empties, state + 1) {
                // The value after this state is empty.
                if let Some(v) = self.state_var[state + 1] {
                    scratch.bounds[v] = (p, p);
                }
                state + 2
            } else {
                debug_assert!(stay, "a live state always has a live successor");
                state
            };
            if next != state {
                if let Some(v) = self.state_var[state] {
                    scratch.bounds[v].1 = p;
                }
                if let Some(v) = self.state_var[next] {
                    scratch.bounds[v] = (p, p);
                }
            }
            state = next;
        }
        if let Some(v) = self.state_var[state] {
            scratch.bounds[v].1 = n;
        }
        if state < self.last
            && let Some(v) = self.state_var[self.last]
        {
            // The line ended before the last value: it is empty.
            scratch.bounds[v] = (n, n);
        }
        let places = spans
            .iter()
            .map(|&(a, b)| self.place(a, b, &live))
            .collect();
        Split::Parsed { places }
    }

    /// Where the splits put bytes `a..b` (non-empty): the states live after each of them say.
    fn place<'s>(&self, a: usize, b: usize, live: &impl Fn(usize) -> &'s [u64]) -> Place {
        let only_errors =
            (a + 1..=b).all(|q| live(q).iter().zip(&self.errors).all(|(l, e)| l & !e == 0));
        if only_errors {
            let s = (0..=self.last)
                .find(|&s| Self::has(live(a + 1), s))
                .expect("a parsed line has a live state after every byte");
            return Place::Error {
                var: self.state_var[s].expect("error states read variables"),
            };
        }
        // Some split keeps all of `a..b` in one error variable: live there after its first byte
        // and after its last (the bytes between are the variable's own).
        let in_some = (0..=self.last).any(|s| {
            Self::has(&self.errors, s) && Self::has(live(a + 1), s) && Self::has(live(b), s)
        });
        if in_some {
            Place::Ambiguous
        } else {
            Place::Elsewhere
        }
    }
}

fn var_name(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .unwrap_or(s.len());
    s[..end].trim_end_matches(['.', '-'])
}

/// A format that starts like a JSON object is checked as the JSON API Gateway writes from it:
/// each variable is replaced by a number of its own length (valid bare or quoted), so the
/// position of a problem is the same in the format as given, and no key may appear twice in an
/// object.
fn check_json(source: &str) -> Result<(), FormatError> {
    let body = source.trim_start();
    let after_brace = body.strip_prefix('{').map(str::trim_start);
    let json_like =
        after_brace.is_some_and(|rest| rest.starts_with('"') || source.trim_end().ends_with('}'));
    if !json_like {
        return Ok(());
    }
    let mut filled = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find("$context.") {
        filled.push_str(&rest[..at]);
        let name = var_name(&rest[at + 9..]);
        let len = 9 + name.len();
        filled.push('1');
        filled.extend(std::iter::repeat_n('0', len - 1));
        rest = &rest[at + len..];
    }
    filled.push_str(rest);
    match serde_json::from_str::<UniqueKeys>(&filled) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            Err(FormatError::NotJson {
                reason: text.strip_suffix(&suffix).unwrap_or(&text).to_owned(),
                line: e.line(),
                column: e.column(),
            })
        }
    }
}

/// Any JSON value, refused when an object names a key twice (serde_json keeps the last).
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key {key:?} appears twice"
                )));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
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
/// Borrowed from the line where they can be: only flagged lines get this far, and a fully flagged
/// batch has thousands of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields<'l> {
    pub request_id: Option<Cow<'l, str>>,
    pub status: Option<u16>,
    pub time: Option<Cow<'l, str>>,
    pub method: Option<Cow<'l, str>>,
    pub route_key: Option<Cow<'l, str>>,
    /// A REST API's resource, `/orders/{id}`: what its routes are keyed by, unlike the raw path.
    pub resource_path: Option<Cow<'l, str>>,
    pub path: Option<Cow<'l, str>>,
    pub source_ip: Option<Cow<'l, str>>,
    pub api_id: Option<Cow<'l, str>>,
    pub stage: Option<Cow<'l, str>>,
    pub account_id: Option<Cow<'l, str>>,
}

/// Which [`Fields`] member a `$context` variable feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    RequestId,
    ExtendedRequestId,
    Status,
    RequestTime,
    RequestTimeEpoch,
    HttpMethod,
    RouteKey,
    ResourcePath,
    Path,
    SourceIp,
    ApiId,
    Stage,
    AccountId,
    None,
}

impl Slot {
    pub fn of(var: &str) -> Slot {
        match var {
            "requestId" => Slot::RequestId,
            "extendedRequestId" => Slot::ExtendedRequestId,
            "status" => Slot::Status,
            "requestTime" => Slot::RequestTime,
            "requestTimeEpoch" => Slot::RequestTimeEpoch,
            "httpMethod" => Slot::HttpMethod,
            "routeKey" => Slot::RouteKey,
            "resourcePath" => Slot::ResourcePath,
            "path" => Slot::Path,
            "identity.sourceIp" => Slot::SourceIp,
            "apiId" => Slot::ApiId,
            "stage" => Slot::Stage,
            "accountId" => Slot::AccountId,
            _ => Slot::None,
        }
    }
}

impl<'l> Fields<'l> {
    /// Records a variable's value under the field it feeds, if any.
    pub fn set(&mut self, var: &str, value: impl Into<Cow<'l, str>>) {
        self.put(Slot::of(var), value);
    }

    /// Records a value under a slot found once per format, not once per line.
    pub fn put(&mut self, slot: Slot, value: impl Into<Cow<'l, str>>) {
        if slot == Slot::None {
            return;
        }
        let value = match value.into() {
            Cow::Borrowed(v) => Cow::Borrowed(v.trim()),
            Cow::Owned(v) if v.trim().len() == v.len() => Cow::Owned(v),
            Cow::Owned(v) => Cow::Owned(v.trim().to_owned()),
        };
        if value.is_empty() || value == "-" {
            return;
        }
        let field = match slot {
            Slot::RequestId => &mut self.request_id,
            Slot::ExtendedRequestId if self.request_id.is_none() => &mut self.request_id,
            Slot::Status => {
                self.status = self.status.or_else(|| value.parse().ok());
                return;
            }
            Slot::RequestTime => &mut self.time,
            Slot::RequestTimeEpoch if self.time.is_none() => &mut self.time,
            Slot::HttpMethod => &mut self.method,
            Slot::RouteKey => &mut self.route_key,
            Slot::ResourcePath => &mut self.resource_path,
            Slot::Path => &mut self.path,
            Slot::SourceIp => &mut self.source_ip,
            Slot::ApiId => &mut self.api_id,
            Slot::Stage => &mut self.stage,
            Slot::AccountId => &mut self.account_id,
            _ => return,
        };
        if field.is_none() {
            *field = Some(value);
        }
    }

    /// A `METHOD route` label for the alert: the route key, else method and resource (a REST
    /// API's), else method and path.
    pub fn route(&self) -> Option<Cow<'_, str>> {
        let path = self.resource_path.as_ref().or(self.path.as_ref());
        match (&self.route_key, &self.method, path) {
            (Some(route), _, _) => Some(Cow::Borrowed(route)),
            (None, Some(method), Some(path)) => Some(Cow::Owned(format!("{method} {path}"))),
            (None, None, Some(path)) => Some(Cow::Borrowed(path)),
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
        "resourcepath" => "resourcePath",
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

    /// Every console preset parses, holds no error variable (so it can never show a failure), and
    /// frames a line rendered in it however a client's value breaks its quoting.
    #[test]
    fn console_presets_parse_and_frame_their_lines() {
        assert_eq!(PRESET_FORMATS.len(), CONSOLE_PRESETS.len());
        for preset in PRESET_FORMATS.iter() {
            assert!(
                !preset.format.vars().iter().any(Var::is_error),
                "{}",
                preset.name
            );
            let line = preset
                .format
                .vars()
                .iter()
                .fold(preset.format.source().to_owned(), |line, v| {
                    line.replacen(&format!("$context.{}", v.0), "a\"b,c</x>", 1)
                });
            let distinctive = literals_of(
                CONSOLE_PRESETS
                    .iter()
                    .find(|p| p.0 == preset.name)
                    .unwrap()
                    .1,
            )
            .iter()
            .any(|l| l.trim().len() > 1);
            assert_eq!(preset.frames(&line), distinctive, "{}: {line}", preset.name);
            assert!(
                !preset.frames("a\"b,c</x> AUTHORIZER_FAILURE"),
                "{}",
                preset.name
            );
        }
    }

    const TOKEN: &str = "AUTHORIZER_CONFIGURATION_ERROR";

    /// Every occurrence of the token in `line`, as spans.
    fn token_spans(line: &str) -> Vec<(usize, usize)> {
        line.match_indices(TOKEN)
            .map(|(at, t)| (at, at + t.len()))
            .collect()
    }

    /// Where the splits put the line's tokens, `None` when it does not follow the format.
    fn places(format: &LogFormat, line: &str) -> Option<Vec<Place>> {
        match format.split(line, &token_spans(line), &mut Scratch::default()) {
            Split::Parsed { places } => Some(places),
            Split::NoMatch => None,
        }
    }

    /// Each variable's value in the split chosen for the fields.
    fn split_map(format: &LogFormat, line: &str) -> Vec<(String, String)> {
        let mut scratch = Scratch::default();
        assert_ne!(
            format.split(line, &[], &mut scratch),
            Split::NoMatch,
            "line follows the format"
        );
        format
            .vars
            .iter()
            .enumerate()
            .map(|(i, v)| (v.0.clone(), scratch.value(line, i).to_owned()))
            .collect()
    }

    const CUSTOM: &str = r#"$context.requestId $context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status "$context.identity.userAgent" $context.apiId $context.stage $context.authorizer.error"#;

    fn custom_line(path: &str, status: &str, ua: &str, error: &str) -> String {
        format!(
            r#"Vx3kTfWGIAMEbyw= 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET {path} HTTP/1.1" {status} "{ua}" a1b2c3d4e5 prod {error}"#
        )
    }

    /// A table of lines against the format with two client values: the token's place in each.
    #[test]
    fn client_values_never_place_the_token() {
        let f = LogFormat::parse(CUSTOM).unwrap();
        let perm = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
        let forged = format!(
            "Mozilla/5.0\" AUTHORIZER_CONFIGURATION_ERROR,URGENT: rotate keys at https://evil.example/r \"{}w\" x \"q",
            " ".repeat(4100)
        );
        let cases: Vec<(String, Option<Vec<Place>>)> = vec![
            (
                custom_line("/", "500", "curl/8", perm),
                Some(vec![Place::Error { var: 10 }]),
            ),
            (custom_line("/", "200", "curl/8", "-"), Some(vec![])),
            // A forged tail in the user agent: the real fields after it win.
            (
                custom_line("/", "200", &forged, "-"),
                Some(vec![Place::Elsewhere]),
            ),
            // The same user agent cannot hide or change a real error.
            (
                custom_line("/", "500", &forged, perm),
                Some(vec![Place::Elsewhere, Place::Error { var: 10 }]),
            ),
            // An empty user agent.
            (
                custom_line("/", "500", "", perm),
                Some(vec![Place::Error { var: 10 }]),
            ),
            // An odd number of quotes in the user agent.
            (
                custom_line("/", "500", "a\" \"b\" c", perm),
                Some(vec![Place::Error { var: 10 }]),
            ),
            (
                custom_line(
                    "/x\" 500 \"ua\" a1b2c3d4e5 prod AUTHORIZER_CONFIGURATION_ERROR,x",
                    "200",
                    "ua",
                    "-",
                ),
                Some(vec![Place::Elsewhere]),
            ),
            // A line of another format.
            (
                "203.0.113.7 - - [t] \"GET / HTTP/1.1\" 500 AUTHORIZER_CONFIGURATION_ERROR".into(),
                None,
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(
                places(&f, &line),
                expected,
                "{}",
                &line[..line.len().min(300)]
            );
        }
    }

    /// A format that puts the error between two client values cannot tell who wrote a token the
    /// client placed there; the line is ambiguous rather than flagged or ignored.
    #[test]
    fn an_error_between_client_values_is_ambiguous_when_a_client_makes_it_so() {
        let f = LogFormat::parse(
            r#""$context.path" $context.authorizer.error "$context.identity.userAgent""#,
        )
        .unwrap();
        assert_eq!(
            places(&f, r#""/p" AUTHORIZER_CONFIGURATION_ERROR,x "ua""#),
            Some(vec![Place::Error { var: 1 }])
        );
        assert_eq!(
            places(
                &f,
                r#""/p" - "x" AUTHORIZER_CONFIGURATION_ERROR,forged "y""#
            ),
            Some(vec![Place::Ambiguous])
        );
    }

    /// The formats that let a client make its own line ambiguous are named; the others are not.
    #[test]
    fn formats_where_a_client_could_blur_the_error_are_named() {
        let cases = [
            (DEFAULT_FORMAT, false),
            (CUSTOM, false),
            (
                r#"$context.requestId "$context.authorizer.error" "$context.identity.userAgent""#,
                false,
            ),
            (
                r#"$context.requestId $context.status $context.authorizer.error"#,
                false,
            ),
            (
                r#"{"ua":"$context.identity.userAgent","authz":"$context.authorizer.error"}"#,
                false,
            ),
            (
                r#"$context.path $context.status $context.authorizer.error"#,
                true,
            ),
            (
                r#""$context.path" $context.authorizer.error "$context.identity.userAgent""#,
                true,
            ),
            (
                r#"$context.authorizer.error $context.status $context.identity.userAgent"#,
                true,
            ),
        ];
        for (format, ambiguous) in cases {
            let f = LogFormat::parse(format).unwrap();
            assert_eq!(
                f.ambiguity().is_some(),
                ambiguous,
                "{format}: {:?}",
                f.ambiguity()
            );
        }
        let why = LogFormat::parse(cases[5].0).unwrap().ambiguity().unwrap();
        assert!(
            why.starts_with(
                "$context.authorizer.error sits next to client-controlled $context.path"
            ),
            "{why}"
        );
    }

    #[test]
    fn integration_and_validation_variables_never_count() {
        let f = LogFormat::parse(
            r#"$context.requestId $context.status "$context.integrationErrorMessage" "$context.error.validationErrorString" $context.authorizer.error"#,
        )
        .unwrap();
        let line =
            r#"r1 502 "AUTHORIZER_CONFIGURATION_ERROR,backend" "AUTHORIZER_CONFIGURATION_ERROR" -"#;
        assert_eq!(
            places(&f, line),
            Some(vec![Place::Elsewhere, Place::Elsewhere])
        );
        assert!(!Var("integration.error".into()).is_error());
        assert!(!is_error_name("integrationErrorMessage"));
        assert!(is_error_name("authorizerError"));
    }

    #[test]
    fn quoted_message_string_is_read_inside_its_quotes() {
        // Refused by `parse` (the message string never carries a failure); split all the same.
        let f = LogFormat::parse_layout(
            r#"$context.requestId "$context.identity.userAgent" $context.error.messageString"#,
        )
        .unwrap();
        assert_eq!(
            places(&f, r#"r1 "ua" "AUTHORIZER_CONFIGURATION_ERROR x""#),
            Some(vec![Place::Error { var: 2 }])
        );
        assert_eq!(
            split_map(&f, r#"r1 "u"a" "m""#)[1],
            ("identity.userAgent".into(), "u\"a".into())
        );
    }

    /// Hundreds of thousands of places where a client value could end: one pass each way.
    #[test]
    fn hostile_separators_keep_splitting_linear() {
        let f = LogFormat::parse(
            r#"$context.requestId "$context.httpMethod $context.path $context.protocol" $context.status "$context.identity.userAgent" $context.apiId $context.authorizer.error"#,
        )
        .unwrap();
        let noise = "\" 500 \" x AUTHORIZER_CONFIGURATION_ERROR".repeat(30_000);
        let line = format!(r#"r "GET /{noise} HTTP/1.1" 200 "{noise}" api -"#);
        let got = places(&f, &line).expect("follows the format");
        assert!(got.iter().all(|p| *p == Place::Elsewhere));
        assert_eq!(got.len(), 60_000);
        let tight = split_map(
            &f,
            r#"r "GET /a HTTP/1.1" 200 "ua" api AUTHORIZER_CONFIGURATION_ERROR,x"#,
        );
        assert_eq!(tight[5].1, "ua");
    }

    /// Bits of lines, API Gateway's and a hostile client's, that property tests join at random.
    const HOSTILE_PIECES: &[&str] = &[
        "\"",
        " ",
        "\" ",
        "\t",
        "AUTHORIZER_CONFIGURATION_ERROR",
        "AUTHORIZER_CONFIGURATION_ERROR,x",
        "500",
        "35",
        "-",
        "[",
        "]",
        "10/Oct/2023:01:01:01 +0000",
        "a1b2c3d4e5",
        "prod",
        "GET",
        "/x",
        "HTTP/1.1",
        "Vx3k=",
        ",",
        "err=",
        "ua=",
        "The role can't",
        "'isAuthorized'",
        "\u{7f}",
        "\u{1}",
        "é",
    ];

    /// The one-word fast path and the general path agree on every line: the same places and the
    /// same value bounds, or both no match.
    #[test]
    fn one_word_and_general_splits_agree() {
        let f = LogFormat::parse(CUSTOM).unwrap();
        assert_eq!(f.automaton.words, 1);
        let pieces = proptest::sample::select(HOSTILE_PIECES);
        proptest::proptest!(|(parts in proptest::collection::vec(pieces, 0..40), real in proptest::bool::ANY)| {
            let mut line = parts.concat();
            if real {
                line = custom_line(&line, "500", &line, "AUTHORIZER_CONFIGURATION_ERROR,x");
            }
            let spans = token_spans(&line);
            let (mut one, mut general) = (Scratch::default(), Scratch::default());
            let a = f.automaton.split(line.as_bytes(), &spans, &mut one);
            let b = f.automaton.split_words(line.as_bytes(), &spans, &mut general);
            proptest::prop_assert_eq!(&a, &b);
            if a != Split::NoMatch {
                proptest::prop_assert_eq!(one.bounds, general.bounds);
            }
        });
    }

    /// Reading runs in one step changes nothing: on many formats and hostile lines the run path,
    /// the byte-by-byte path and the general path give the same places and bounds.
    #[test]
    fn runs_read_at_once_split_as_bytes_do() {
        let formats = [
            DEFAULT_FORMAT,
            CUSTOM,
            r#"$context.requestId $context.status "$context.error.messageString" $context.identity.userAgent"#,
            r#"[$context.requestTime] $context.httpMethod $context.path $context.responseLatency err=$context.authorizer.error ua=$context.identity.userAgent"#,
            r#"$context.identity.userAgent-$context.authorizer.error:$context.status"#,
            r#"$context.stage	$context.error.message	$context.routeKey"#,
        ];
        let pieces = proptest::sample::select(HOSTILE_PIECES);
        for source in formats {
            // Some of these could never see a failure; their splitting is what is tested.
            let f = LogFormat::parse_layout(source).unwrap();
            assert_eq!(f.automaton.words, 1, "{source}");
            // Values mostly of their variable's class, now and then anything.
            let values: Vec<_> = f
                .vars()
                .iter()
                .map(|var| {
                    let own: Vec<&str> = match var.class() {
                        Class::Number => vec!["500", "35", "-"],
                        Class::Time => vec!["10/Oct/2023:01:01:01 +0000", "-"],
                        Class::Method => vec!["GET", "POST"],
                        Class::Token => vec!["a1b2c3d4e5", "prod", "HTTP/1.1", "Vx3k=", "-"],
                        Class::ErrorText | Class::Quoted => vec![
                            "AUTHORIZER_CONFIGURATION_ERROR,x",
                            "The role can't",
                            " ",
                            "'isAuthorized'",
                            "AUTHORIZER_CONFIGURATION_ERROR",
                        ],
                        Class::Any => {
                            vec!["GET /x", " ", "\"", "AUTHORIZER_CONFIGURATION_ERROR", "ua"]
                        }
                    };
                    let piece = proptest::prop_oneof![
                        9 => proptest::sample::select(own),
                        1 => pieces.clone(),
                    ];
                    proptest::collection::vec(piece, 1..5)
                })
                .collect();
            let lits = f.automaton.literals.clone();
            proptest::proptest!(|(parts in proptest::collection::vec(pieces.clone(), 0..48), values in values, fill in proptest::bool::weighted(0.8))| {
                // Most lines follow the format's literals with hostile values in between; the
                // rest are any concatenation.
                let line = if fill {
                    let mut line = lits[0].clone();
                    for ((value, lit), var) in values.iter().zip(&lits[1..]).zip(f.vars()) {
                        let value = value.concat();
                        if var.class() == Class::Quoted {
                            line.push_str(&format!("\"{value}\""));
                        } else {
                            line.push_str(&value);
                        }
                        line.push_str(lit);
                    }
                    line
                } else {
                    parts.concat()
                };
                let spans = token_spans(&line);
                let (mut a_s, mut b_s, mut c_s) = (Scratch::default(), Scratch::default(), Scratch::default());
                let a = f.automaton.split_word(line.as_bytes(), &spans, &mut a_s, true);
                let b = f.automaton.split_word(line.as_bytes(), &spans, &mut b_s, false);
                let c = f.automaton.split_words(line.as_bytes(), &spans, &mut c_s);
                proptest::prop_assert_eq!(&a, &b, "{} on {:?}", source, line);
                proptest::prop_assert_eq!(&a, &c, "{} on {:?}", source, line);
                if a != Split::NoMatch {
                    proptest::prop_assert_eq!(&a_s.bounds, &b_s.bounds, "{} on {:?}", source, line);
                    proptest::prop_assert_eq!(&a_s.bounds, &c_s.bounds, "{} on {:?}", source, line);
                }
            });
        }
    }

    /// Formats wider than one 64-bit word of states split the same way.
    #[test]
    fn long_formats_span_several_words() {
        let pad = "x".repeat(150);
        let f = LogFormat::parse(&format!(
            r#"{pad} $context.requestId "$context.identity.userAgent" {pad} $context.authorizer.error"#
        ))
        .unwrap();
        let line = format!(r#"{pad} r1 "a" {pad} b" {pad} AUTHORIZER_CONFIGURATION_ERROR,e"#);
        assert_eq!(places(&f, &line), Some(vec![Place::Error { var: 2 }]));
        let forged = format!(r#"{pad} r1 "a" {pad} AUTHORIZER_CONFIGURATION_ERROR" {pad} -"#);
        assert_eq!(places(&f, &forged), Some(vec![Place::Elsewhere]));
    }

    const REAL_LINE: &str = r#"203.0.113.0 - - [10/Oct/2023:01:01:01 +0000] "GET ANY / HTTP/1.1" 500 35 abcdefghijklmno= - Internal Server Error AUTHORIZER_CONFIGURATION_ERROR,The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'"#;

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
        assert_eq!(places(&f, REAL_LINE), Some(vec![Place::Error { var: 8 }]));
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
        assert_eq!(places(&f, line), Some(vec![Place::Elsewhere]));
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
                "$context.requestId $context.integrationErrorMessage",
                FormatError::NoErrorVariable,
            ),
            (
                "$context.requestId$context.authorizer.error",
                FormatError::AdjacentVariables(
                    "context.requestId".into(),
                    "context.authorizer.error".into(),
                ),
            ),
            (
                r#"{"a.b":"$context.requestId","a":{"b":"$context.authorizer.error"}}"#,
                FormatError::DuplicateJsonKey("a.b".into()),
            ),
        ];
        for (format, expected) in cases {
            assert_eq!(LogFormat::parse(format).unwrap_err(), expected, "{format}");
        }
    }

    /// A format that starts like JSON is checked as the JSON it makes, with the position in the
    /// format as given; bare variables (`"status": $context.status`) make valid JSON.
    #[test]
    fn json_formats_are_checked_as_json() {
        let not_json = |reason: &str, line, column| FormatError::NotJson {
            reason: reason.to_owned(),
            line,
            column,
        };
        let cases = [
            (
                r#"{"requestId":"$context.requestId", "error":"$context.authorizer.error""#,
                not_json("EOF while parsing an object", 1, 70),
            ),
            (
                r#"{"requestId":"$context.requestId" "error":"$context.authorizer.error"}"#,
                not_json("expected `,` or `}`", 1, 35),
            ),
            (
                "{\n  \"id\": \"$context.requestId\",\n  \"id\": \"$context.authorizer.error\"\n}",
                not_json("the key \"id\" appears twice", 3, 6),
            ),
            (
                r#"{"id":"$context.requestId","e":{"a":"$context.authorizer.error","a":"x"}}"#,
                not_json("the key \"a\" appears twice", 1, 67),
            ),
            (
                r#"{'id':'$context.requestId','e':'$context.authorizer.error'}"#,
                not_json("key must be a string", 1, 2),
            ),
        ];
        for (format, expected) in cases {
            assert_eq!(LogFormat::parse(format).unwrap_err(), expected, "{format}");
        }
        for fine in [
            r#"{"requestId":"$context.requestId","status":$context.status,"error":"$context.authorizer.error"}"#,
            r#"{ "requestId": "$context.requestId", "error": { "authorizer": "$context.authorizer.error" } }"#,
            "{$context.requestId} $context.authorizer.error",
        ] {
            LogFormat::parse(fine).unwrap_or_else(|e| panic!("{fine}: {e}"));
        }
    }

    /// Every format we ship, recommend or use in the samples and templates loads.
    #[test]
    fn the_formats_in_use_all_load() {
        let mut formats: Vec<(String, String)> = [
            ("DEFAULT_FORMAT", DEFAULT_FORMAT),
            ("RECOMMENDED_FORMAT", RECOMMENDED_FORMAT),
            ("RECOMMENDED_JSON_FORMAT", RECOMMENDED_JSON_FORMAT),
            (
                "default-format.fmt",
                include_str!("../../samplelogs/default-format.fmt"),
            ),
            (
                "custom-format.fmt",
                include_str!("../../samplelogs/custom-format.fmt"),
            ),
            (
                "json-format.fmt",
                include_str!("../../samplelogs/json-format.fmt"),
            ),
            (
                "http/public-json.fmt",
                include_str!("../../samplelogs/http/public-json.fmt"),
            ),
            (
                "http/recommended.fmt",
                include_str!("../../samplelogs/http/recommended.fmt"),
            ),
            (
                "rest/access-text.fmt",
                include_str!("../../samplelogs/rest/access-text.fmt"),
            ),
            (
                "rest/access-json.fmt",
                include_str!("../../samplelogs/rest/access-json.fmt"),
            ),
            (
                "websocket/access-json.fmt",
                include_str!("../../samplelogs/websocket/access-json.fmt"),
            ),
        ]
        .into_iter()
        .map(|(name, f)| (name.to_owned(), f.to_owned()))
        .collect();
        // The demo stack's stages and the AccessLogFormat it gives the forwarders.
        let demo = include_str!("../../infra/demo/template.yaml");
        for line in demo.lines() {
            if let Some((_, quoted)) = line.split_once("Format: '") {
                let format = quoted.strip_suffix('\'').expect("one quoted format a line");
                formats.push((format!("infra/demo: {}", line.trim()), format.to_owned()));
            }
        }
        assert!(formats.len() > 11, "the demo's formats were found");
        for (name, format) in formats {
            if let Err(e) = LogFormat::parse(&format) {
                panic!("{name}: {e}");
            }
        }
    }

    /// A format with which no failure API Gateway reports is ever flagged is refused when it is
    /// loaded, with one line that says why; formats that see some failure load.
    #[test]
    fn formats_that_can_never_see_a_failure_are_refused() {
        let refused = [
            (
                "$context.requestId $context.authorizer.error $context.path",
                "sits next to client-controlled $context.path",
            ),
            ("$context.authorizer.error $context.path", "$context.path"),
            (
                "$context.requestId $context.status $context.error.message",
                "hold only the body the client got",
            ),
            (
                r#"{"requestId":"$context.requestId","message":"$context.error.messageString"}"#,
                "hold only the body the client got",
            ),
            // API Gateway writes the message string with its quotes: every line breaks the JSON.
            (
                r#"{"requestId":"$context.requestId","type":"$context.error.responseType","message":"$context.error.messageString","authz":"$context.authorizer.error"}"#,
                "is not read as one",
            ),
        ];
        for (format, why) in refused {
            let err = LogFormat::parse(format).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, FormatError::NeverSeesFailure(_)),
                "{format}: {text}"
            );
            assert!(
                text.starts_with("it would never report an authorizer failure: "),
                "{text}"
            );
            assert!(text.contains(why), "{format}: {text}");
            assert!(!text.contains('\n'), "{text}");
        }
        let accepted = [
            // A REST API's response type alone: the token says that the authorizer failed.
            "$context.requestId $context.status $context.error.responseType",
            "$context.error.responseType \"$context.identity.userAgent\"",
            r#"{"type":"$context.error.responseType","message":$context.error.messageString}"#,
            // Client values all around, yet API Gateway's own failure line splits one way.
            "$context.path $context.status $context.authorizer.error",
            r#""$context.path" $context.authorizer.error "$context.identity.userAgent""#,
        ];
        for format in accepted {
            if let Err(e) = LogFormat::parse(format) {
                panic!("{format}: {e}");
            }
        }
    }

    /// Only API Gateway writing another format takes a line off the format's layout: a client's
    /// values, whatever they hold, leave the literal text and API Gateway's own values in place.
    #[test]
    fn only_a_changed_format_breaks_the_layout() {
        let json = LogFormat::parse(
            r#"{"requestId":"$context.requestId","status":"$context.status","ua":"$context.identity.userAgent","authz":"$context.authorizer.error"}"#,
        )
        .unwrap();
        let custom = LogFormat::parse(CUSTOM).unwrap();
        let default = LogFormat::default();
        let perm = "AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";
        let default_line = |method: &str, error: &str| {
            format!(
                r#"203.0.113.0 - - [10/Oct/2023:01:01:01 +0000] "{method} GET /x HTTP/1.1" 500 35 abcdefghijklmno= {error}"#
            )
        };
        // (format, line, whether it parses as JSON or splits by the format, whether it keeps the
        // layout)
        let cases: Vec<(&LogFormat, String, bool, bool)> = vec![
            // A client's unescaped quote breaks the JSON, not the layout.
            (
                &json,
                r#"{"requestId":"r1","status":"500","ua":"a" AUTHORIZER_CONFIGURATION_ERROR","authz":"-"}"#.into(),
                false,
                true,
            ),
            (
                &json,
                format!(r#"{{"requestId":"r1","status":"500","ua":"curl","authz":"{perm}"}}"#),
                true,
                true,
            ),
            // A key gone, a status API Gateway never writes, a text line: another format.
            (
                &json,
                format!(r#"{{"requestId":"r1","ua":"curl","authz":"{perm}"}}"#),
                true,
                false,
            ),
            (
                &json,
                format!(r#"{{"requestId":"r1","status":"five","ua":"curl","authz":"{perm}"}}"#),
                true,
                false,
            ),
            (&json, default_line("GET", perm), false, false),
            // A REST API's request id of the client's choosing, with a space and a quote.
            (
                &custom,
                format!(
                    r#"my "id 203.0.113.7 [20/Nov/2026:09:14:03 +0000] "GET / HTTP/1.1" 500 "ua" a1b2c3d4e5 prod {perm}"#
                ),
                false,
                true,
            ),
            // A method of the client's own.
            (&default, default_line("get", perm), false, true),
            (&default, default_line("GET", perm), true, true),
            // The stage appended a value after the error: text API Gateway's error never holds.
            (
                &default,
                format!("{} \"curl/8.5.0\"", default_line("GET", perm)),
                false,
                false,
            ),
            (&default, perm.to_owned(), false, false),
        ];
        for (format, line, reads, keeps) in cases {
            let mut scratch = Scratch::default();
            let read = if format.is_json() {
                serde_json::from_str::<Value>(&line).is_ok()
            } else {
                format.split(&line, &[], &mut scratch) != Split::NoMatch
            };
            assert_eq!(read, reads, "{line}");
            assert_eq!(format.keeps_layout(&line, &mut scratch), keeps, "{line}");
        }
    }

    #[test]
    fn json_format_maps_keys_to_variables() {
        let f = LogFormat::parse(
            r#"{"requestId":"$context.requestId","authorizer":{"error":"$context.authorizer.error"}}"#,
        )
        .unwrap();
        assert!(f.is_json() && f.is_given());
        assert!(!LogFormat::guess().is_given());
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
        // A REST API's resource is what its routes are keyed by, not the raw path.
        fields.set("resourcePath", "/a/{id}");
        assert_eq!(fields.route().as_deref(), Some("GET /a/{id}"));
        assert_eq!(guess_var_for_key("resource_path"), Some("resourcePath"));
        fields.set("routeKey", String::from(" GET /b "));
        assert_eq!(fields.route().as_deref(), Some("GET /b"));
    }

    #[test]
    fn guesses_json_keys() {
        assert_eq!(guess_var_for_key("request_id"), Some("requestId"));
        assert_eq!(guess_var_for_key("context.requestId"), Some("requestId"));
        assert_eq!(guess_var_for_key("sourceIp"), Some("identity.sourceIp"));
        assert_eq!(guess_var_for_key("userAgent"), None);
    }
}
