//! Checking an API's authorizers against their live configuration: which authorizer a failing
//! route uses, which function it calls, and whether that function's resource policy lets API
//! Gateway invoke it for that authorizer.
//!
//! Plain functions over what [`crate::diagnose::inspect`] fetched, so every verdict is testable without AWS.
//! Policies are read the way IAM evaluates them for this one request
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>):
//! an explicit deny wins, then any allow whose principal, action and conditions all match.

pub mod inspect;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::cause::Cause;
use crate::text::shape;

/// Which of API Gateway's three kinds of API an id names. Each has Lambda authorizers, with the
/// same invoke permission but different settings and response shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// API Gateway v2, protocol `HTTP`.
    #[default]
    Http,
    /// API Gateway v2, protocol `WEBSOCKET`: Lambda authorizers run on `$connect` only.
    #[serde(rename = "websocket")]
    WebSocket,
    /// API Gateway v1.
    Rest,
}

impl ApiKind {
    pub fn label(self) -> &'static str {
        match self {
            ApiKind::Http => "HTTP API",
            ApiKind::WebSocket => "WebSocket API",
            ApiKind::Rest => "REST API",
        }
    }

    /// How texts name an API of this kind: HTTP APIs keep the plain "API" their reports always
    /// had, the other kinds say which they are.
    pub fn title(self) -> &'static str {
        match self {
            ApiKind::Http => "API",
            other => other.label(),
        }
    }
}

/// An API as far as its authorizers go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiConfig {
    pub api_id: String,
    pub kind: ApiKind,
    pub name: Option<String>,
    pub routes: Vec<Route>,
    pub authorizers: Vec<Authorizer>,
}

/// A route and the authorizer it uses, if any. For a REST API, one method of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `METHOD /path` (`$connect` and the like for a WebSocket API), as access logs name it.
    pub route_key: String,
    /// `NONE`, `JWT`, `AWS_IAM` or `CUSTOM` (a Lambda authorizer).
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
}

/// The settings of one authorizer that decide whether API Gateway can use it
/// (<https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers-authorizerid.html>,
/// <https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html>).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authorizer {
    pub id: String,
    pub name: String,
    /// `REQUEST` (Lambda) or `JWT` for v2; `TOKEN`, `REQUEST` (Lambda) or `COGNITO_USER_POOLS`
    /// for REST.
    pub authorizer_type: String,
    pub uri: Option<String>,
    /// When set, API Gateway invokes the function with this role instead of through the
    /// function's resource policy.
    pub credentials_arn: Option<String>,
    /// HTTP APIs only.
    pub simple_responses: bool,
    /// HTTP APIs only.
    pub payload_format_version: Option<String>,
    /// Where the caller's identity comes from (`method.request.header.Authorization` for a REST
    /// `TOKEN` authorizer, `route.request.header.Auth` and the like otherwise).
    pub identity_source: Option<String>,
}

impl Authorizer {
    /// The Lambda function ARN inside the authorizer URI
    /// (`arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations`).
    pub fn function_arn(&self) -> Option<FunctionArn> {
        let uri = self.uri.as_deref()?;
        let start = uri.find("/functions/")? + "/functions/".len();
        let rest = &uri[start..];
        let arn = rest.strip_suffix("/invocations").unwrap_or(rest);
        FunctionArn::parse(arn)
    }

    /// A Lambda authorizer: `REQUEST` for every kind, and `TOKEN` on REST APIs; `JWT`,
    /// `COGNITO_USER_POOLS` and IAM authorization call no function.
    pub fn is_lambda(&self, kind: ApiKind) -> bool {
        let t = self.authorizer_type.as_str();
        t.eq_ignore_ascii_case("REQUEST")
            || (kind == ApiKind::Rest && t.eq_ignore_ascii_case("TOKEN"))
    }

    /// The payload version in effect: API Gateway's default for HTTP APIs is 2.0.
    fn payload_version(&self) -> &str {
        self.payload_format_version.as_deref().unwrap_or("2.0")
    }
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionArn {
    pub arn: String,
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

impl FunctionArn {
    pub fn parse(arn: &str) -> Option<Self> {
        let (partition, region, account, name, _) = crate::text::shape::function_arn_parts(arn)?;
        (!region.is_empty() && account.len() == 12 && !name.is_empty()).then(|| Self {
            arn: arn.to_owned(),
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// What a resource policy says about API Gateway invoking a function for one authorizer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum PolicyVerdict {
    /// A statement allows it (named by its `Sid`).
    Allowed { statement: String },
    /// A statement denies it explicitly.
    Denied { statement: String },
    /// No statement allows it; statements for other APIs or authorizers are listed.
    NotAllowed { other_source_arns: Vec<String> },
    /// The function has no resource policy at all.
    NoPolicy,
    /// A statement might allow it under conditions this check does not evaluate.
    Undetermined { statement: String, reason: String },
}

const INVOKE_PRINCIPAL: &str = "apigateway.amazonaws.com";

/// Evaluates a resource policy (the JSON `GetPolicy` returns, `None` when there is none) for API
/// Gateway invoking the function with `source_arn` from `source_account`.
pub fn permission_verdict(
    policy: Option<&str>,
    source_arn: &str,
    source_account: &str,
) -> Result<PolicyVerdict, String> {
    let Some(policy) = policy else {
        return Ok(PolicyVerdict::NoPolicy);
    };
    let doc: serde_json::Value =
        serde_json::from_str(policy).map_err(|e| format!("resource policy is not JSON: {e}"))?;
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one @ serde_json::Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let request = Request {
        source_arn,
        source_account,
    };
    let mut allowed = None;
    let mut undetermined = None;
    let mut others = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        let sid = st["Sid"]
            .as_str()
            .map_or_else(|| format!("#{}", i + 1), str::to_owned);
        if !principal_matches(&st["Principal"]) || !action_matches(&st["Action"]) {
            continue;
        }
        let effect = st["Effect"].as_str().unwrap_or("");
        match conditions_match(&st["Condition"], &request) {
            Match::Yes if effect == "Deny" => return Ok(PolicyVerdict::Denied { statement: sid }),
            Match::Yes if effect == "Allow" => {
                allowed.get_or_insert(sid);
            }
            Match::No if effect == "Allow" => {
                // Only the ARNs that name something else explain the miss.
                others.extend(
                    source_arns_of(&st["Condition"])
                        .into_iter()
                        .filter(|arn| !arn_like(arn, source_arn)),
                );
            }
            Match::Unknown(reason) if effect == "Allow" => {
                undetermined.get_or_insert((sid, reason));
            }
            _ => {}
        }
    }
    Ok(match (allowed, undetermined) {
        (Some(statement), _) => PolicyVerdict::Allowed { statement },
        (None, Some((statement, reason))) => PolicyVerdict::Undetermined { statement, reason },
        (None, None) => PolicyVerdict::NotAllowed {
            other_source_arns: others,
        },
    })
}

struct Request<'a> {
    source_arn: &'a str,
    source_account: &'a str,
}

enum Match {
    Yes,
    No,
    Unknown(String),
}

/// One string or a list of strings, as IAM allows for most elements.
fn strings(v: &serde_json::Value) -> Vec<&str> {
    match v {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(list) => list.iter().filter_map(|x| x.as_str()).collect(),
        _ => Vec::new(),
    }
}

fn principal_matches(p: &serde_json::Value) -> bool {
    match p {
        serde_json::Value::String(s) => s == "*",
        serde_json::Value::Object(map) => map.iter().any(|(kind, v)| {
            let values = strings(v);
            (kind == "Service" && values.contains(&INVOKE_PRINCIPAL))
                || (kind == "AWS" && values.contains(&"*"))
        }),
        _ => false,
    }
}

fn action_matches(a: &serde_json::Value) -> bool {
    strings(a).iter().any(|action| {
        let action = action.to_ascii_lowercase();
        action == "*" || action == "lambda:*" || action == "lambda:invokefunction"
    })
}

/// Every condition block must hold (IAM ANDs operators and keys, ORs the values of one key).
fn conditions_match(c: &serde_json::Value, req: &Request) -> Match {
    let Some(ops) = c.as_object() else {
        return Match::Yes;
    };
    for (op, keys) in ops {
        let Some(keys) = keys.as_object() else {
            return Match::Unknown(format!("condition {op} is not an object"));
        };
        for (key, values) in keys {
            let actual = match key.to_ascii_lowercase().as_str() {
                "aws:sourcearn" => req.source_arn,
                "aws:sourceaccount" => req.source_account,
                _ => return Match::Unknown(format!("condition key {key} is not checked here")),
            };
            let values = strings(values);
            let hit = match op.as_str() {
                "ArnLike" | "ArnEquals" => values.iter().any(|v| arn_like(v, actual)),
                "StringLike" => values.iter().any(|v| glob(v, actual)),
                "StringEquals" => values.contains(&actual),
                "StringEqualsIgnoreCase" => values.iter().any(|v| v.eq_ignore_ascii_case(actual)),
                _ => return Match::Unknown(format!("condition operator {op} is not checked here")),
            };
            if !hit {
                return Match::No;
            }
        }
    }
    Match::Yes
}

/// The source ARNs a statement names, to show which API or authorizer it was meant for.
fn source_arns_of(c: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ops) = c.as_object() {
        for keys in ops.values() {
            if let Some(keys) = keys.as_object() {
                for (key, values) in keys {
                    if key.eq_ignore_ascii_case("aws:SourceArn") {
                        out.extend(strings(values).into_iter().map(str::to_owned));
                    }
                }
            }
        }
    }
    out
}

/// IAM `ArnLike`: the six colon-separated parts are matched one by one, each with `*` and `?`.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}

/// `*` matches any run of characters, `?` any one character; everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The ARN API Gateway presents as `aws:SourceArn` when it calls an authorizer's function.
pub fn authorizer_source_arn(
    partition: &str,
    region: &str,
    account: &str,
    api_id: &str,
    authorizer_id: &str,
) -> String {
    format!("arn:{partition}:execute-api:{region}:{account}:{api_id}/authorizers/{authorizer_id}")
}

/// The command that adds the missing statement. The API's configuration is not trusted any more
/// than a log line: each value goes in only with its AWS shape, else as a placeholder.
pub fn add_permission_command(
    function: &FunctionArn,
    source_arn: &str,
    authorizer_id: &str,
) -> String {
    let region = shape::or(Some(&function.region), shape::is_region, "REGION");
    let function_arn = shape::shell_word(
        shape::or(Some(&function.arn), shape::is_function_arn, "FUNCTION_ARN"),
        "FUNCTION_ARN",
    );
    let statement = format!("apigateway-authorizer-{authorizer_id}");
    let statement = shape::or(
        Some(statement.as_str()).filter(|_| shape::is_authorizer_id(authorizer_id)),
        shape::is_statement_id,
        "apigateway-authorizer",
    );
    let [partition, arn_region, account, api_id, arn_authorizer] =
        shape::authorizer_arn_parts(source_arn);
    let source_arn = shape::authorizer_arn(partition, arn_region, account, api_id, arn_authorizer);
    format!(
        "aws lambda add-permission --region {region} --function-name {function_arn} --statement-id {statement} --action lambda:InvokeFunction --principal {INVOKE_PRINCIPAL} --source-arn {source_arn}"
    )
}

/// What a REST or WebSocket API's Lambda authorizer must return: always an IAM policy for the
/// method ARN API Gateway passed in (`methodArn`)
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html>).
pub const POLICY_RESPONSE: &str = r#"{"principalId": "user", "policyDocument": {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "METHOD_ARN"}]}, "context": {"key": "value"}}"#;

/// What the function must return, for the API's kind and the authorizer's settings
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>).
pub fn expected_response(kind: ApiKind, auth: &Authorizer) -> &'static str {
    if kind != ApiKind::Http {
        POLICY_RESPONSE
    } else if auth.simple_responses && auth.payload_version() == "2.0" {
        r#"{"isAuthorized": true, "context": {"key": "value"}}"#
    } else {
        r#"{"principalId": "user", "policyDocument": {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH"}]}, "context": {"key": "value"}}"#
    }
}

/// One check of one authorizer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub ok: bool,
    /// What was found, in one sentence.
    pub summary: String,
    /// The exact command that fixes it, when there is one.
    pub command: Option<String>,
    /// What the check proves about a cause, when it proves something: a failure is what a check
    /// at deploy time alerts on, a cleared cause what lets it report a problem over
    /// ([`crate::deploy`]). None for a check that could not tell (a policy it could not read or
    /// judge, a role whose policies are not read), which is reported but never alerted on.
    #[serde(skip)]
    pub proves: Option<Proof>,
}

/// What one check proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// Every request the authorizer handles fails with this cause.
    Fails(Cause),
    /// No request fails with this cause on this authorizer's account.
    Clears(Cause),
}

impl Check {
    pub fn ok(summary: String) -> Self {
        Self {
            ok: true,
            summary,
            command: None,
            proves: None,
        }
    }

    /// A passing check that rules `cause` out.
    pub fn clears(cause: Cause, summary: String) -> Self {
        Self {
            proves: Some(Proof::Clears(cause)),
            ..Self::ok(summary)
        }
    }

    /// A problem found that does not by itself prove a failure.
    pub fn problem(summary: String, command: Option<String>) -> Self {
        Self {
            ok: false,
            summary,
            command,
            proves: None,
        }
    }

    /// A problem that makes API Gateway fail every request it authorizes with `cause`.
    pub fn failure(cause: Cause, summary: String, command: Option<String>) -> Self {
        Self {
            proves: Some(Proof::Fails(cause)),
            ..Self::problem(summary, command)
        }
    }
}

/// Everything checked about one authorizer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthorizerReport {
    pub authorizer_id: String,
    pub name: String,
    pub routes: Vec<String>,
    pub function_arn: Option<String>,
    pub credentials_arn: Option<String>,
    /// HTTP APIs only; absent for the kinds that have no such setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simple_responses: Option<bool>,
    /// HTTP APIs only; absent for the kinds that have no such setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_format_version: Option<String>,
    /// REST and WebSocket APIs: where the caller's identity comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<String>,
    pub checks: Vec<Check>,
}

impl AuthorizerReport {
    pub fn has_problems(&self) -> bool {
        self.checks.iter().any(|c| !c.ok)
    }
}

/// What the live API says about an alert, or why it could not be asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Diagnosis {
    Checked {
        api_id: String,
        api_kind: ApiKind,
        authorizers: Vec<AuthorizerReport>,
    },
    Unavailable {
        reason: String,
    },
}

impl Diagnosis {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
        }
    }

    /// The commands that fix what was found, in order, without repeats.
    pub fn commands(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Diagnosis::Checked { authorizers, .. } = self {
            for cmd in authorizers
                .iter()
                .flat_map(|a| &a.checks)
                .filter_map(|c| c.command.as_deref())
            {
                if !out.contains(&cmd) {
                    out.push(cmd);
                }
            }
        }
        out
    }
}

/// What [`crate::diagnose::inspect`] fetched for one API: its configuration and, per function ARN, the
/// resource policy (`Ok(None)`: no policy) or why it could not be read.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub api: ApiConfig,
    pub policies: BTreeMap<String, Result<Option<String>, String>>,
}

/// Checks every Lambda authorizer a route uses (an authorizer no route uses cannot fail a
/// request). `region` and `account` complete the source ARN when the function ARN cannot.
pub fn check_api(evidence: &Evidence, only_routes: Option<&[String]>) -> Vec<AuthorizerReport> {
    let api = &evidence.api;
    let mut used: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for route in &api.routes {
        if let Some(filter) = only_routes
            && !filter.iter().any(|r| route_matches(&route.route_key, r))
        {
            continue;
        }
        if let Some(id) = route.authorizer_id.as_deref() {
            used.entry(id).or_default().push(route.route_key.clone());
        }
    }
    let mut reports = Vec::new();
    for (id, routes) in used {
        let Some(auth) = api.authorizers.iter().find(|a| a.id == id) else {
            let http = api.kind == ApiKind::Http;
            reports.push(AuthorizerReport {
                authorizer_id: id.to_owned(),
                name: String::new(),
                routes,
                function_arn: None,
                credentials_arn: None,
                simple_responses: http.then_some(false),
                payload_format_version: http.then(String::new),
                identity_source: None,
                checks: vec![Check::problem(
                    format!("the routes use authorizer {id}, which the API does not have"),
                    None,
                )],
            });
            continue;
        };
        if !auth.is_lambda(api.kind) {
            continue;
        }
        reports.push(check_authorizer(evidence, auth, routes));
    }
    reports
}

fn check_authorizer(
    evidence: &Evidence,
    auth: &Authorizer,
    routes: Vec<String>,
) -> AuthorizerReport {
    let function = auth.function_arn();
    let mut checks = Vec::new();
    match (&function, &auth.credentials_arn) {
        (None, _) => checks.push(Check::problem(
            format!(
                "authorizer URI {} does not name a Lambda function",
                auth.uri.as_deref().unwrap_or("(none)")
            ),
            None,
        )),
        (Some(_), Some(role)) => checks.push(Check::ok(format!(
            "API Gateway invokes the function with role {role}; that role must allow lambda:InvokeFunction on the function and trust apigateway.amazonaws.com (IAM role policies are not read here)"
        ))),
        (Some(f), None) => checks.push(permission_check(evidence, auth, f)),
    }
    let kind = evidence.api.kind;
    checks.push(response_check(kind, auth));
    let http = kind == ApiKind::Http;
    AuthorizerReport {
        authorizer_id: auth.id.clone(),
        name: auth.name.clone(),
        routes,
        function_arn: function.map(|f| f.arn),
        credentials_arn: auth.credentials_arn.clone(),
        simple_responses: http.then_some(auth.simple_responses),
        payload_format_version: http.then(|| auth.payload_version().to_owned()),
        identity_source: (!http).then(|| auth.identity_source.clone()).flatten(),
        checks,
    }
}

fn permission_check(evidence: &Evidence, auth: &Authorizer, f: &FunctionArn) -> Check {
    let source_arn = authorizer_source_arn(
        &f.partition,
        &f.region,
        &f.account,
        &evidence.api.api_id,
        &auth.id,
    );
    let command = || Some(add_permission_command(f, &source_arn, &auth.id));
    let policy = match evidence.policies.get(&f.arn) {
        Some(Ok(policy)) => policy.as_deref(),
        Some(Err(reason)) => {
            return Check::problem(
                format!("could not read the resource policy of {}: {reason}", f.arn),
                None,
            );
        }
        None => {
            return Check::problem(
                format!("the resource policy of {} was not read", f.arn),
                None,
            );
        }
    };
    match permission_verdict(policy, &source_arn, &f.account) {
        Ok(PolicyVerdict::Allowed { statement }) => Check::clears(
            Cause::MissingInvokePermission,
            format!(
                "statement {statement} of {} lets API Gateway invoke it for {source_arn}",
                f.name
            ),
        ),
        Ok(PolicyVerdict::Denied { statement }) => Check::failure(
            Cause::MissingInvokePermission,
            format!(
                "statement {statement} of {} denies API Gateway invoking it for {source_arn}; remove that statement",
                f.name
            ),
            None,
        ),
        Ok(PolicyVerdict::NoPolicy) => Check::failure(
            Cause::MissingInvokePermission,
            format!(
                "function {} has no resource policy, so API Gateway may not invoke it for {source_arn}",
                f.name
            ),
            command(),
        ),
        Ok(PolicyVerdict::NotAllowed { other_source_arns }) => {
            let others = if other_source_arns.is_empty() {
                String::new()
            } else {
                format!(
                    " (its statements for API Gateway name {} instead)",
                    other_source_arns.join(", ")
                )
            };
            Check::failure(
                Cause::MissingInvokePermission,
                format!(
                    "no statement of {}'s resource policy lets API Gateway invoke it for {source_arn}{others}",
                    f.name
                ),
                command(),
            )
        }
        Ok(PolicyVerdict::Undetermined { statement, reason }) => Check::problem(
            format!(
                "statement {statement} of {} may allow API Gateway, but {reason}; check it by hand",
                f.name
            ),
            None,
        ),
        Err(reason) => Check::problem(format!("{}: {reason}", f.name), None),
    }
}

fn response_check(kind: ApiKind, auth: &Authorizer) -> Check {
    if kind != ApiKind::Http {
        return policy_response_check(kind, auth);
    }
    let version = auth.payload_version();
    if auth.simple_responses && version != "2.0" {
        return Check::failure(
            Cause::InvalidResponseFormat,
            format!(
                "simple responses are on but the payload format is {version}; simple responses need payload format 2.0"
            ),
            None,
        );
    }
    let mode = if auth.simple_responses {
        "simple responses on"
    } else {
        "simple responses off"
    };
    Check::ok(format!(
        "payload format {version}, {mode}: the function must return {}",
        expected_response(kind, auth)
    ))
}

/// REST and WebSocket authorizers have no simple responses and no payload versions: the answer is
/// always a policy. A REST `TOKEN` authorizer gets only the token, from its identity source.
fn policy_response_check(kind: ApiKind, auth: &Authorizer) -> Check {
    let source = auth
        .identity_source
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("(none set)");
    let input = if kind == ApiKind::Rest && auth.authorizer_type.eq_ignore_ascii_case("TOKEN") {
        format!("TOKEN authorizer: the function gets the caller's token from {source}")
    } else {
        format!("REQUEST authorizer, identity source {source}")
    };
    let on = if kind == ApiKind::WebSocket {
        " (on $connect)"
    } else {
        ""
    };
    Check::ok(format!(
        "{} {input}{on}; no simple-response or payload-format settings: the function must return an IAM policy for the event's methodArn, Effect Allow or Deny, context values only strings, numbers or booleans: {}",
        kind.label(),
        expected_response(kind, auth)
    ))
}

/// Whether an API's route key covers a route the log named: the same key, or an `ANY` method on
/// the same path (a REST API's `ANY /orders` serves the logged `GET /orders`).
fn route_matches(route_key: &str, logged: &str) -> bool {
    route_key == logged
        || route_key
            .strip_prefix("ANY ")
            .is_some_and(|path| logged.split_once(' ').is_some_and(|(_, p)| p == path))
}

/// Diagnoses an alert: the authorizers of the routes that failed (every route's when the log
/// did not name one). For an invalid response the shape check is the answer; for a missing
/// permission, the policy check.
pub fn diagnose(cause: Cause, evidence: &Evidence, routes: &[String]) -> Diagnosis {
    // Every authorizer only when the log named no route the API has (a raw path, say): when the
    // failing routes are known and use no Lambda authorizer (a Cognito authorizer's
    // AUTHORIZER_FAILURE), other routes' functions are not the answer.
    let known = evidence
        .api
        .routes
        .iter()
        .any(|route| routes.iter().any(|r| route_matches(&route.route_key, r)));
    let authorizers = if known {
        check_api(evidence, Some(routes))
    } else {
        check_api(evidence, None)
    };
    let mut authorizers = authorizers;
    if cause == Cause::InvalidResponseFormat {
        // The shape is the point; say it first.
        for a in &mut authorizers {
            a.checks.reverse();
        }
    }
    Diagnosis::Checked {
        api_id: evidence.api.api_id.clone(),
        api_kind: evidence.api.kind,
        authorizers,
    }
}

#[cfg(test)]
mod tests;
