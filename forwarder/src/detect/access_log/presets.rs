//! Formats known by name: ours, to default to and to recommend, and the console's presets, so a
//! line in one of those is known to hold no error variable and its tokens to be a client's.

use crate::detect::access_log::format::LogFormat;
use crate::detect::access_log::vars::var_name;

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
pub(super) fn literals_of(source: &'static str) -> Vec<&'static str> {
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
