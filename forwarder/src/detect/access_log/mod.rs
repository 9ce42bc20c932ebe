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

use crate::model::cause::Cause;

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
    /// ([`crate::model::cause::FAILURE_MESSAGES`]).
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
                    crate::model::finding::LineVerdict::Flagged(f) if f.cause == failure.cause
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
mod tests;
