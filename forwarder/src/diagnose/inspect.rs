//! Reading an API's live configuration and its authorizers' function policies, and recent access
//! log events. Each AWS call sits behind a small trait with an in-memory version, so the handler
//! and the CLI are tested without AWS and the end-to-end tests go through the real SDK.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_apigatewayv2::config::http::HttpResponse;
use aws_sdk_apigatewayv2::error::{ProvideErrorMetadata, SdkError};

use crate::diagnose::{ApiConfig, ApiKind, Authorizer, Evidence, Route};
use crate::sdk::AwsError;

/// Why the live configuration could not be read. Rendered into the alert as "diagnosis
/// unavailable: ...", so it says what a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    #[error("API {0} was not found in this account and region")]
    ApiNotFound(String),
    #[error("{call} was refused: {reason}")]
    Denied { call: &'static str, reason: String },
    #[error("{call} failed: {reason}")]
    Failed { call: &'static str, reason: String },
    #[error("no answer within {} ms", .0.as_millis())]
    TimedOut(Duration),
    /// The SDK could not be set up (no Region, a profile that does not exist): no call was made.
    #[error(transparent)]
    Setup(AwsError),
}

/// An API's routes and authorizers (API Gateway v2 for HTTP and WebSocket APIs, v1 for REST APIs)
/// and `GetPolicy` (Lambda).
pub trait Inspector: Sync {
    fn api(&self, api_id: &str) -> impl Future<Output = Result<ApiConfig, InspectError>> + Send;
    /// The function's resource policy JSON; `None` when it has none.
    fn policy(
        &self,
        function_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, InspectError>> + Send;
}

/// Reads an API and the policy of every function its Lambda authorizers call, within `budget`.
/// A policy that cannot be read is kept as that function's error; the API itself must be read.
pub async fn gather<I: Inspector>(
    inspector: &I,
    api_id: &str,
    budget: Duration,
) -> Result<Evidence, InspectError> {
    let work = async {
        let api = inspector.api(api_id).await?;
        let mut functions: Vec<String> = api
            .authorizers
            .iter()
            .filter_map(|a| a.function_arn().map(|f| f.arn))
            .collect();
        functions.sort();
        functions.dedup();
        // An API has a handful of authorizer functions; one at a time keeps this simple.
        let mut policies = std::collections::BTreeMap::new();
        for f in functions {
            let policy = inspector.policy(&f).await.map_err(|e| e.to_string());
            policies.insert(f, policy);
        }
        Ok(Evidence { api, policies })
    };
    tokio::time::timeout(budget, work)
        .await
        .unwrap_or(Err(InspectError::TimedOut(budget)))
}

/// How long a warm Lambda trusts what it read about an API.
pub const INSPECT_CACHE_TTL: Duration = Duration::from_secs(300);

/// Keeps what was read for `ttl`, so a warm Lambda does not ask again for every batch of a flood.
/// Failures are not kept: the next batch tries again (each try is bounded by [`gather`]).
pub struct Cached<I> {
    inner: I,
    ttl: Duration,
    apis: Mutex<HashMap<String, (Instant, ApiConfig)>>,
    policies: Mutex<HashMap<String, (Instant, Option<String>)>>,
}

impl<I> Cached<I> {
    pub fn new(inner: I, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            apis: Mutex::default(),
            policies: Mutex::default(),
        }
    }

    pub fn inner(&self) -> &I {
        &self.inner
    }
}

fn fresh<V: Clone>(
    map: &Mutex<HashMap<String, (Instant, V)>>,
    key: &str,
    ttl: Duration,
) -> Option<V> {
    let map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|(at, _)| at.elapsed() < ttl)
        .map(|(_, v)| v.clone())
}

fn keep<V>(map: &Mutex<HashMap<String, (Instant, V)>>, key: &str, value: V) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.insert(key.to_owned(), (Instant::now(), value));
}

impl<I: Inspector + Send> Inspector for Cached<I> {
    async fn api(&self, api_id: &str) -> Result<ApiConfig, InspectError> {
        if let Some(api) = fresh(&self.apis, api_id, self.ttl) {
            return Ok(api);
        }
        let api = self.inner.api(api_id).await?;
        keep(&self.apis, api_id, api.clone());
        Ok(api)
    }

    async fn policy(&self, function_arn: &str) -> Result<Option<String>, InspectError> {
        if let Some(p) = fresh(&self.policies, function_arn, self.ttl) {
            return Ok(p);
        }
        let p = self.inner.policy(function_arn).await?;
        keep(&self.policies, function_arn, p.clone());
        Ok(p)
    }
}

/// Reads through the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsInspector {
    apigw: aws_sdk_apigatewayv2::Client,
    /// API Gateway v1, for REST APIs: built on the first REST API read, so a cold start that
    /// diagnoses nothing, or only HTTP APIs, does not pay for it.
    rest: std::sync::Arc<std::sync::OnceLock<aws_sdk_apigateway::Client>>,
    sdk: aws_config::SdkConfig,
    lambda: aws_sdk_lambda::Client,
}

/// Short timeouts: a diagnosis is a bonus, the alert must not wait for it.
pub fn diagnosis_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// The SDK configuration for diagnosis and log reads: credentials and `AWS_ENDPOINT_URL` from the
/// environment, `region` when given, and [`diagnosis_timeouts`].
pub async fn sdk_config(region: Option<&str>) -> Result<aws_config::SdkConfig, AwsError> {
    crate::sdk::load(region, diagnosis_timeouts()).await
}

impl AwsInspector {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            apigw: aws_sdk_apigatewayv2::Client::new(sdk),
            rest: Default::default(),
            sdk: sdk.clone(),
            lambda: aws_sdk_lambda::Client::new(sdk),
        }
    }

    fn rest(&self) -> &aws_sdk_apigateway::Client {
        self.rest
            .get_or_init(|| aws_sdk_apigateway::Client::new(&self.sdk))
    }

    pub async fn from_env(region: Option<&str>) -> Result<Self, AwsError> {
        Ok(Self::new(&sdk_config(region).await?))
    }
}

/// A refusal by IAM or bad credentials, or any other failure of `call`.
pub(crate) fn failure<E>(call: &'static str, e: &SdkError<E, HttpResponse>) -> InspectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let reason = crate::sdk::describe(e);
    if is_denied(e.code()) {
        InspectError::Denied { call, reason }
    } else {
        InspectError::Failed { call, reason }
    }
}

fn api_failure<E>(api_id: &str, call: &'static str, e: &SdkError<E, HttpResponse>) -> InspectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if e.code() == Some("NotFoundException") {
        InspectError::ApiNotFound(api_id.to_owned())
    } else {
        failure(call, e)
    }
}

fn is_denied(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "AccessDeniedException"
                | "AccessDenied"
                | "UnauthorizedOperation"
                | "UnrecognizedClientException"
                | "ExpiredTokenException"
        )
    )
}

/// Where a paginated list goes on: the next page's token, unless there is none or the service
/// hands back the one just used (which would otherwise loop until the budget runs out).
pub(crate) fn next_page(current: Option<&str>, next: Option<&str>) -> Option<String> {
    next.filter(|t| !t.is_empty() && Some(*t) != current)
        .map(str::to_owned)
}

/// A REST API's methods as routes, `METHOD /path` like its access log's method and resource path
/// (<https://docs.aws.amazon.com/apigateway/latest/api/API_Resource.html>). Only a `CUSTOM` method
/// calls a Lambda authorizer, so only its `authorizerId` is kept. Sorted, as the service's maps are
/// not.
pub fn rest_routes(resources: &[aws_sdk_apigateway::types::Resource]) -> Vec<Route> {
    let mut routes: Vec<Route> = resources
        .iter()
        .flat_map(|r| {
            let path = r.path().unwrap_or_default();
            r.resource_methods()
                .into_iter()
                .flatten()
                .map(move |(key, m)| {
                    let method = m.http_method().unwrap_or(key);
                    let custom = m
                        .authorization_type()
                        .is_some_and(|t| t.eq_ignore_ascii_case("CUSTOM"));
                    Route {
                        route_key: format!("{method} {path}"),
                        authorization_type: m.authorization_type().map(str::to_owned),
                        authorizer_id: m
                            .authorizer_id()
                            .filter(|id| custom && !id.is_empty())
                            .map(str::to_owned),
                    }
                })
        })
        .collect();
    routes.sort_by(|a, b| a.route_key.cmp(&b.route_key));
    routes
}

impl AwsInspector {
    /// An HTTP or WebSocket API: its routes, then each authorizer a route names
    /// (<https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-routes.html>).
    async fn v2_api(
        &self,
        api_id: &str,
        kind: ApiKind,
        name: Option<String>,
    ) -> Result<ApiConfig, InspectError> {
        let mut routes = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .apigw
                .get_routes()
                .api_id(api_id)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| api_failure(api_id, "apigateway:GetRoutes", &e))?;
            routes.extend(page.items().iter().map(|r| Route {
                route_key: r.route_key().unwrap_or_default().to_owned(),
                authorization_type: r.authorization_type().map(|t| t.as_str().to_owned()),
                authorizer_id: r.authorizer_id().map(str::to_owned),
            }));
            match next_page(next.as_deref(), page.next_token()) {
                Some(t) => next = Some(t),
                None => break,
            }
        }
        let mut ids: Vec<&str> = routes
            .iter()
            .filter_map(|r| r.authorizer_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut authorizers = Vec::new();
        for id in ids {
            let a = match self
                .apigw
                .get_authorizer()
                .api_id(api_id)
                .authorizer_id(id)
                .send()
                .await
            {
                Ok(a) => a,
                // A route naming a deleted authorizer is itself a finding; check_api reports it.
                Err(e) if e.code() == Some("NotFoundException") => continue,
                Err(e) => return Err(api_failure(api_id, "apigateway:GetAuthorizer", &e)),
            };
            let identity = a.identity_source().join(", ");
            authorizers.push(Authorizer {
                id: id.to_owned(),
                name: a.name().unwrap_or_default().to_owned(),
                authorizer_type: a
                    .authorizer_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                uri: a.authorizer_uri().map(str::to_owned),
                credentials_arn: a
                    .authorizer_credentials_arn()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                simple_responses: a.enable_simple_responses().unwrap_or(false),
                payload_format_version: a.authorizer_payload_format_version().map(str::to_owned),
                identity_source: (!identity.is_empty()).then_some(identity),
            });
        }
        Ok(ApiConfig {
            api_id: api_id.to_owned(),
            kind,
            name,
            routes,
            authorizers,
        })
    }

    /// A REST API: every authorizer it has, and every resource with its methods embedded
    /// (<https://docs.aws.amazon.com/apigateway/latest/api/API_GetAuthorizers.html>,
    /// <https://docs.aws.amazon.com/apigateway/latest/api/API_GetResources.html>).
    async fn rest_api(&self, api_id: &str) -> Result<ApiConfig, InspectError> {
        let api = self
            .rest()
            .get_rest_api()
            .rest_api_id(api_id)
            .send()
            .await
            .map_err(|e| api_failure(api_id, "apigateway:GetRestApi", &e))?;
        let mut authorizers = Vec::new();
        let mut position: Option<String> = None;
        loop {
            let page = self
                .rest()
                .get_authorizers()
                .rest_api_id(api_id)
                .limit(500)
                .set_position(position.clone())
                .send()
                .await
                .map_err(|e| api_failure(api_id, "apigateway:GetAuthorizers", &e))?;
            authorizers.extend(page.items().iter().map(|a| {
                Authorizer {
                    id: a.id().unwrap_or_default().to_owned(),
                    name: a.name().unwrap_or_default().to_owned(),
                    authorizer_type: a
                        .r#type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    uri: a.authorizer_uri().map(str::to_owned),
                    credentials_arn: a
                        .authorizer_credentials()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    simple_responses: false,
                    payload_format_version: None,
                    identity_source: a
                        .identity_source()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                }
            }));
            match next_page(position.as_deref(), page.position()) {
                Some(p) => position = Some(p),
                None => break,
            }
        }
        let mut resources = Vec::new();
        let mut position: Option<String> = None;
        loop {
            let page = self
                .rest()
                .get_resources()
                .rest_api_id(api_id)
                .embed("methods")
                .limit(500)
                .set_position(position.clone())
                .send()
                .await
                .map_err(|e| api_failure(api_id, "apigateway:GetResources", &e))?;
            resources.extend_from_slice(page.items());
            match next_page(position.as_deref(), page.position()) {
                Some(p) => position = Some(p),
                None => break,
            }
        }
        Ok(ApiConfig {
            api_id: api_id.to_owned(),
            kind: ApiKind::Rest,
            name: api.name().map(str::to_owned),
            routes: rest_routes(&resources),
            authorizers,
        })
    }
}

impl Inspector for AwsInspector {
    /// Asks API Gateway v2 first: its `ProtocolType` tells HTTP from WebSocket. An id v2 does not
    /// know may be a REST API, which only v1 knows
    /// (<https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid.html>,
    /// <https://docs.aws.amazon.com/apigateway/latest/api/API_GetRestApi.html>).
    async fn api(&self, api_id: &str) -> Result<ApiConfig, InspectError> {
        use aws_sdk_apigatewayv2::types::ProtocolType;
        match self.apigw.get_api().api_id(api_id).send().await {
            Ok(api) => {
                let kind = match api.protocol_type() {
                    Some(ProtocolType::Http) => ApiKind::Http,
                    Some(ProtocolType::Websocket) => ApiKind::WebSocket,
                    other => {
                        return Err(InspectError::Failed {
                            call: "apigateway:GetApi",
                            reason: format!(
                                "unknown protocol type {}",
                                other.map_or("(none)", |t| t.as_str())
                            ),
                        });
                    }
                };
                self.v2_api(api_id, kind, api.name().map(str::to_owned))
                    .await
            }
            Err(e) if e.code() == Some("NotFoundException") => self.rest_api(api_id).await,
            Err(e) => Err(failure("apigateway:GetApi", &e)),
        }
    }

    async fn policy(&self, function_arn: &str) -> Result<Option<String>, InspectError> {
        match self
            .lambda
            .get_policy()
            .function_name(function_arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.policy().map(str::to_owned)),
            // Lambda answers this both for "no policy" and "no such function".
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(failure("lambda:GetPolicy", &e)),
        }
    }
}

/// No lookups at all: every call says diagnosis is off. For callers that do not diagnose.
#[derive(Clone, Copy, Debug, Default)]
pub struct Offline;

impl Inspector for Offline {
    async fn api(&self, _: &str) -> Result<ApiConfig, InspectError> {
        Err(InspectError::Failed {
            call: "diagnosis",
            reason: "diagnosis is off".to_owned(),
        })
    }

    async fn policy(&self, _: &str) -> Result<Option<String>, InspectError> {
        Ok(None)
    }
}

/// Fixed answers, for tests and for previews without AWS.
#[derive(Clone, Debug, Default)]
pub struct MemoryInspector {
    pub apis: HashMap<String, ApiConfig>,
    pub policies: HashMap<String, Option<String>>,
    /// When set, every call fails with this.
    pub failure: Option<InspectError>,
}

impl Inspector for MemoryInspector {
    async fn api(&self, api_id: &str) -> Result<ApiConfig, InspectError> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        self.apis
            .get(api_id)
            .cloned()
            .ok_or_else(|| InspectError::ApiNotFound(api_id.to_owned()))
    }

    async fn policy(&self, function_arn: &str) -> Result<Option<String>, InspectError> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        Ok(self.policies.get(function_arn).cloned().flatten())
    }
}

/// One log event found by a search, with the stream it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundEvent {
    pub log_stream: String,
    pub event_id: String,
    pub timestamp: i64,
    pub message: String,
}

/// `FilterLogEvents` over a log group and time range.
pub trait LogSearch {
    fn search(
        &self,
        log_group: &str,
        pattern: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> impl Future<Output = Result<Vec<FoundEvent>, InspectError>> + Send;
}

/// At most this many events are read by one `check`; a log with more is reported as truncated.
pub const MAX_SEARCH_EVENTS: usize = 100_000;

/// Searches CloudWatch Logs through the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsLogSearch {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl AwsLogSearch {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_cloudwatchlogs::Client::new(sdk),
        }
    }
}

impl LogSearch for AwsLogSearch {
    async fn search(
        &self,
        log_group: &str,
        pattern: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<FoundEvent>, InspectError> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .filter_log_events()
                .log_group_name(log_group)
                .filter_pattern(pattern)
                .start_time(start_ms)
                .end_time(end_ms)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| failure("logs:FilterLogEvents", &e))?;
            found.extend(page.events().iter().map(|e| FoundEvent {
                log_stream: e.log_stream_name().unwrap_or_default().to_owned(),
                event_id: e.event_id().unwrap_or_default().to_owned(),
                timestamp: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_owned(),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() && found.len() < MAX_SEARCH_EVENTS => {
                    next = Some(t.to_owned())
                }
                _ => break,
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting {
        inner: MemoryInspector,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Inspector for Counting {
        async fn api(&self, api_id: &str) -> Result<ApiConfig, InspectError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.api(api_id).await
        }
        async fn policy(&self, f: &str) -> Result<Option<String>, InspectError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.policy(f).await
        }
    }

    fn one_api() -> MemoryInspector {
        let mut m = MemoryInspector::default();
        m.apis.insert(
            "a1".into(),
            ApiConfig {
                api_id: "a1".into(),
                ..ApiConfig::default()
            },
        );
        m
    }

    #[tokio::test]
    async fn cache_answers_warm_lookups_and_forgets_failures() {
        let cached = Cached::new(
            Counting {
                inner: one_api(),
                calls: 0.into(),
            },
            Duration::from_secs(300),
        );
        for _ in 0..3 {
            assert!(cached.api("a1").await.is_ok());
            assert!(cached.api("zz").await.is_err());
        }
        // One call for the API that exists, three for the one that does not.
        assert_eq!(
            cached
                .inner()
                .calls
                .load(std::sync::atomic::Ordering::SeqCst),
            4
        );
    }

    struct Slow;

    impl Inspector for Slow {
        async fn api(&self, _: &str) -> Result<ApiConfig, InspectError> {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(ApiConfig::default())
        }
        async fn policy(&self, _: &str) -> Result<Option<String>, InspectError> {
            Ok(None)
        }
    }

    #[tokio::test]
    async fn gather_is_bounded() {
        let started = Instant::now();
        let err = gather(&Slow, "a1", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(err, InspectError::TimedOut(Duration::from_millis(50)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn rest_methods_become_routes() {
        use aws_sdk_apigateway::types::{Method, Resource};
        let method = |verb: &str, auth: &str, id: Option<&str>| {
            Method::builder()
                .http_method(verb)
                .authorization_type(auth)
                .set_authorizer_id(id.map(str::to_owned))
                .build()
        };
        let resources = [
            Resource::builder().id("root").path("/").build(),
            Resource::builder()
                .id("r1")
                .path("/pets")
                .resource_methods("GET", method("GET", "CUSTOM", Some("tok123")))
                .resource_methods("POST", method("POST", "COGNITO_USER_POOLS", Some("cog4")))
                .resource_methods("OPTIONS", method("OPTIONS", "NONE", None))
                .build(),
            Resource::builder()
                .id("r2")
                .path("/pets/{id}")
                .resource_methods("ANY", method("ANY", "custom", Some("req456")))
                .resource_methods("DELETE", method("DELETE", "AWS_IAM", None))
                .build(),
        ];
        let got: Vec<(String, Option<String>)> = rest_routes(&resources)
            .into_iter()
            .map(|r| (r.route_key, r.authorizer_id))
            .collect();
        let want: Vec<(String, Option<String>)> = [
            ("ANY /pets/{id}", Some("req456")),
            ("DELETE /pets/{id}", None),
            ("GET /pets", Some("tok123")),
            ("OPTIONS /pets", None),
            // Cognito authorizers call no function.
            ("POST /pets", None),
        ]
        .into_iter()
        .map(|(k, id)| (k.to_owned(), id.map(str::to_owned)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn pages_end_on_no_token_or_a_repeated_one() {
        for (current, next, want) in [
            (None, None, None),
            (None, Some(""), None),
            (None, Some("p2"), Some("p2")),
            (Some("p2"), Some("p3"), Some("p3")),
            (Some("p2"), Some("p2"), None),
        ] {
            assert_eq!(
                next_page(current, next).as_deref(),
                want,
                "{current:?} {next:?}"
            );
        }
    }
}
