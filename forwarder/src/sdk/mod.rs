//! How the forwarder reaches AWS: one HTTPS client for every service, rustls with the `ring`
//! crypto provider, and one way to name what went wrong ([`classify`]), in one line that says
//! what to do.
//!
//! The SDK's default client uses aws-lc, which adds about 0.4 MB to the zipped Lambda bootstrap;
//! the forwarder only needs TLS to AWS endpoints, which `ring` serves as well
//! (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>).

use aws_config::meta::ProviderChainError;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sns::config::ConfigBag;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::endpoint::error::ResolveEndpointError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use std::error::Error as _;

/// Which certificate authorities the HTTPS client trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Roots {
    /// The operating system's store: the CLI runs where a proxy or a private CA may sit in
    /// between. Reading it costs a few milliseconds (on Debian about 150 files and a bundle).
    Native,
    /// Amazon Trust Services' roots, compiled in: the Lambda function only talks to AWS
    /// endpoints, and parsing five certificates keeps the cold start short. The Lambda
    /// function's default (`TLS_ROOTS`, see [`crate::config::Config::tls_roots`]).
    Amazon,
}

/// Amazon Root CA 1 to 4 and the Starfield root that cross-signs them.
const AMAZON_ROOTS_PEM: &[u8] = include_bytes!("amazon_roots.pem");

impl Roots {
    fn trust_store(self) -> TrustStore {
        match self {
            Roots::Native => TrustStore::default(),
            Roots::Amazon => TrustStore::empty().with_pem_certificate(AMAZON_ROOTS_PEM),
        }
    }
}

/// The HTTPS client every SDK client of the forwarder uses, trusting `roots`. The SDK builds its
/// TLS settings (and so reads the roots) when a client is created. Its connection failures name
/// the endpoint, and a name that does not resolve is told apart from other failures, so
/// [`classify`] can say which host, and which Region, to check.
pub fn https_client(roots: Roots) -> SharedHttpClient {
    let context = TlsContext::builder()
        .with_trust_store(roots.trust_store())
        .build()
        .expect("a trust store is a valid TLS context");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_with_resolver(Resolver);
    SharedHttpClient::new(Named(client))
}

/// SDK settings for the command line: credentials and `AWS_ENDPOINT_URL` from the environment,
/// the native roots, `region` when given, and `timeouts`. A profile that `AWS_PROFILE` names but
/// no file defines, or no Region at all, is refused here, before any call can fail on it.
pub async fn load(
    region: Option<&str>,
    timeouts: TimeoutConfig,
) -> Result<aws_config::SdkConfig, AwsError> {
    check_profile().await?;
    let sdk = load_with(Roots::Native, region, timeouts).await;
    if sdk.region().is_none_or(|r| r.as_ref().is_empty()) {
        return Err(AwsError::NoRegion);
    }
    Ok(sdk)
}

/// [`load`] trusting `roots`, without its checks: the Lambda function's settings are checked by
/// [`crate::config::Config::from_env`].
pub async fn load_with(
    roots: Roots,
    region: Option<&str>,
    timeouts: TimeoutConfig,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client(roots))
        .timeout_config(timeouts);
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader.load().await
}

/// The SDK takes a profile that does not exist for one without credentials, and says only that
/// no provider had any. The AWS CLI refuses such a profile by name; so does this.
async fn check_profile() -> Result<(), AwsError> {
    use aws_types::os_shim_internal::{Env, Fs};
    let Ok(profiles) =
        aws_config::profile::load(&Fs::real(), &Env::real(), &Default::default(), None).await
    else {
        // A file the SDK cannot read or parse is reported by the SDK, when it needs the profile.
        return Ok(());
    };
    let name = profiles.selected_profile();
    if name != "default" && profiles.get_profile(name).is_none() {
        return Err(AwsError::NoSuchProfile {
            profile: clip(name, 64),
        });
    }
    Ok(())
}

/// Why a call to AWS failed, sorted by what a person does about it. Its text is one line of
/// bounded length that names what failed and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The service answered with an error.
    #[error("{}", coded(code, message))]
    Service {
        code: String,
        message: Option<String>,
    },
    /// The service throttled the call, after the SDK's own retries.
    #[error(
        "{}; AWS is throttling these calls, a retry later may help",
        coded(code, message)
    )]
    Throttled {
        code: String,
        message: Option<String>,
    },
    /// The service failed on its side (HTTP 5xx).
    #[error(
        "{}; an error on AWS's side{}, a retry may help",
        coded(code, message),
        if code.starts_with("HTTP ") { String::new() } else { format!(" (HTTP {status})") }
    )]
    ServerSide {
        code: String,
        message: Option<String>,
        status: u16,
    },
    /// The service did not accept the credentials themselves: every other call fails too.
    #[error(
        "{}; AWS refused the credentials: renew them, then check with `aws sts get-caller-identity`",
        coded(code, message)
    )]
    CredentialsRefused {
        code: String,
        message: Option<String>,
    },
    /// No answer within the SDK's timeouts.
    #[error("no answer from {} in time: {detail}; a retry may help, else check the network", endpoint.as_deref().unwrap_or("AWS"))]
    TimedOut {
        endpoint: Option<String>,
        detail: String,
    },
    /// No connection to the endpoint.
    #[error("cannot connect to {}: {reason}; a retry may help, else check the network, a proxy or AWS_ENDPOINT_URL", endpoint.as_deref().unwrap_or("AWS"))]
    Unreachable {
        endpoint: Option<String>,
        reason: String,
    },
    /// The endpoint's name does not resolve: for an AWS endpoint, most likely a Region that does
    /// not exist.
    #[error("{}", unknown_host(host, region.as_deref()))]
    UnknownHost {
        host: String,
        region: Option<String>,
    },
    /// No source in the SDK's chain had credentials.
    #[error(
        "no AWS credentials found{}; run `aws configure` or `aws sso login`, set AWS_PROFILE to a profile that has credentials, or run with an IAM role",
        tried_text(tried)
    )]
    NoCredentials { tried: Vec<String> },
    /// A credentials source (instance metadata, SSO, ...) did not answer in time.
    #[error(
        "no AWS credentials within {seconds} s (the credentials provider timed out); a retry may help"
    )]
    CredentialsTimedOut { seconds: u64 },
    /// A credentials source is set up but failed.
    #[error("AWS credentials could not be loaded: {reason}")]
    CredentialsFailed { reason: String },
    /// `AWS_PROFILE` names a profile no file defines.
    #[error(
        "AWS_PROFILE names profile {profile}, which neither the AWS config file nor the credentials file defines; correct or unset AWS_PROFILE, or run `aws configure --profile {profile}`"
    )]
    NoSuchProfile { profile: String },
    /// No Region from the flag, the environment or the profile.
    #[error("no Region: pass --region or set AWS_REGION (or a region in the profile)")]
    NoRegion,
    /// The SDK found no endpoint for the call (a Region it cannot use, for one).
    #[error("no AWS endpoint for this call: {reason}")]
    NoEndpoint { reason: String },
    /// An answer came but could not be read.
    #[error("an unreadable answer from AWS (HTTP {status}): {reason}; a retry may help")]
    Unreadable { status: u16, reason: String },
    /// Anything else, such as a request the SDK could not build.
    #[error("{reason}")]
    Other { reason: String },
}

fn coded(code: &str, message: &Option<String>) -> String {
    match message {
        Some(m) => format!("{code}: {m}"),
        None => code.to_owned(),
    }
}

fn unknown_host(host: &str, region: Option<&str>) -> String {
    match region {
        Some(region) => format!(
            "cannot find host {host} (DNS): is {region} a Region? Check --region or AWS_REGION, else the network"
        ),
        None => format!("cannot find host {host} (DNS): check AWS_ENDPOINT_URL and the network"),
    }
}

fn tried_text(tried: &[String]) -> String {
    if tried.is_empty() {
        String::new()
    } else {
        format!(" (tried {})", tried.join(", "))
    }
}

/// The error codes the SDK retries as throttling, from `aws_runtime::retries::classifiers`.
const THROTTLING_CODES: [&str; 14] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes with which a service refuses the credentials rather than the call
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot.html>).
const CREDENTIALS_REFUSED_CODES: [&str; 10] = [
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AuthFailure",
];

/// Sorts what the SDK returned; see [`AwsError`].
pub fn classify<E>(e: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(s) => {
            service(s.err().code(), s.err().message(), s.raw().status().as_u16())
        }
        SdkError::DispatchFailure(d) => match d.as_connector_error() {
            Some(c) => dispatch(c),
            None => AwsError::Other {
                reason: chain_text(e),
            },
        },
        SdkError::TimeoutError(_) => AwsError::TimedOut {
            endpoint: None,
            detail: e.source().map_or_else(|| "timeout".to_owned(), chain_text),
        },
        SdkError::ResponseError(r) => AwsError::Unreadable {
            status: r.raw().status().as_u16(),
            reason: e.source().map_or_else(String::new, chain_text),
        },
        _ => AwsError::Other {
            reason: chain_text(e),
        },
    }
}

/// [`classify`]'s line.
pub fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    clip(&classify(e).to_string(), MAX_REASON_BYTES)
}

/// An error reason goes into an alert and a terminal line; a few hundred bytes say everything
/// useful.
const MAX_REASON_BYTES: usize = 400;

fn service(code: Option<&str>, message: Option<&str>, status: u16) -> AwsError {
    let message = message
        .filter(|m| !m.trim().is_empty())
        .map(|m| clip(m, 200));
    let code = match code {
        Some(c) if !c.is_empty() => clip(c, 64),
        // An answer the SDK could not tie to a modeled error, such as a bare 404 from a proxy.
        _ => format!("HTTP {status}"),
    };
    if THROTTLING_CODES.contains(&code.as_str()) || status == 429 {
        AwsError::Throttled { code, message }
    } else if CREDENTIALS_REFUSED_CODES.contains(&code.as_str()) {
        AwsError::CredentialsRefused { code, message }
    } else if (500..600).contains(&status) {
        AwsError::ServerSide {
            code,
            message,
            status,
        }
    } else {
        AwsError::Service { code, message }
    }
}

/// A call that got no answer: the credentials, the endpoint or the connection failed.
fn dispatch(c: &ConnectorError) -> AwsError {
    let c_dyn: &(dyn std::error::Error + 'static) = c;
    if let Some(e) = find::<CredentialsError>(c_dyn) {
        return credentials(e);
    }
    let endpoint = find::<AtEndpoint>(c_dyn).map(|a| a.endpoint.clone());
    if find::<ResolveDnsError>(c_dyn).is_some() {
        let host = endpoint.as_deref().map_or("the AWS endpoint", host_of);
        return AwsError::UnknownHost {
            region: region_in(host).map(str::to_owned),
            host: clip(host, 120),
        };
    }
    if let Some(e) = find::<ResolveEndpointError>(c_dyn) {
        return AwsError::NoEndpoint {
            reason: chain_text(e),
        };
    }
    let endpoint = endpoint.map(|e| clip(&e, 120));
    let reason = connection_reason(c_dyn);
    if c.is_timeout() {
        AwsError::TimedOut {
            endpoint,
            detail: reason,
        }
    } else if c.is_io() {
        AwsError::Unreachable { endpoint, reason }
    } else {
        AwsError::Other {
            reason: match endpoint {
                Some(e) => format!("calling {e}: {reason}"),
                None => reason,
            },
        }
    }
}

/// What the socket said, in a few words when the operating system gave a kind.
fn connection_reason(e: &(dyn std::error::Error + 'static)) -> String {
    use std::io::ErrorKind;
    let Some(io) = find::<std::io::Error>(e) else {
        return chain(e)
            .last()
            .map_or_else(String::new, |e| clip(&e.to_string(), 200));
    };
    match io.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::ConnectionReset => "connection reset".to_owned(),
        ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
        ErrorKind::TimedOut => "timed out".to_owned(),
        ErrorKind::HostUnreachable => "host unreachable".to_owned(),
        ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        // TLS failures (an unknown certificate authority, for one) come as the payload.
        _ => clip(&io.to_string(), 200),
    }
}

fn credentials(e: &CredentialsError) -> AwsError {
    match e {
        CredentialsError::CredentialsNotLoaded(_) => AwsError::NoCredentials {
            tried: find::<ProviderChainError<CredentialsError>>(e)
                .map(|chain| {
                    chain
                        .attempts()
                        .iter()
                        .map(|a| source_name(a.name()))
                        .collect()
                })
                .unwrap_or_default(),
        },
        CredentialsError::ProviderTimedOut(t) => AwsError::CredentialsTimedOut {
            seconds: t.timeout_duration().as_secs().max(1),
        },
        _ => AwsError::CredentialsFailed {
            reason: e
                .source()
                .map_or_else(|| clip(&e.to_string(), 200), chain_text),
        },
    }
}

/// A source of the default credentials chain (`aws_config::default_provider::credentials`) as
/// a person knows it.
fn source_name(name: &str) -> String {
    match name {
        "Environment" => "environment variables".to_owned(),
        "Profile" => {
            // The profile the SDK read: `AWS_PROFILE`, or `default`.
            let profile = std::env::var("AWS_PROFILE")
                .ok()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "default".to_owned());
            format!("profile {}", clip(&profile, 64))
        }
        "WebIdentityToken" => "web identity token".to_owned(),
        "EcsContainer" => "ECS container credentials".to_owned(),
        "Ec2InstanceMetadata" => "EC2 instance metadata".to_owned(),
        other => clip(other, 40),
    }
}

/// `e` and its causes. An `io::Error`'s payload is its own cause: `io::Error::source` skips it.
fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |&e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    })
}

fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    chain(e).find_map(|e| e.downcast_ref::<T>())
}

/// The causes' texts on one line, without the SDK's words for where it failed ("dispatch
/// failure", "other", "io error"), which say nothing a person acts on.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    for cause in chain(e) {
        if cause.is::<ConnectorError>() || cause.is::<AtEndpoint>() {
            continue;
        }
        let part = cause.to_string();
        if text.ends_with(&part) || ["dispatch failure", "service error"].contains(&part.as_str()) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    clip(&text, 200)
}

/// `s` on one line (every control character and run of white space one space) and at most `max`
/// bytes, cut after a whole word and marked `...` when longer.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let mut line = String::with_capacity(s.len().min(max + 4));
    for word in s.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if line.len() <= max {
        return line;
    }
    let mut end = max.saturating_sub(4);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    // After a whole word, unless the one word is most of the limit (a long ARN, say).
    if let Some(space) = line[..end].rfind(' ').filter(|&i| i >= end / 2) {
        end = space;
    }
    line.truncate(end);
    line.push_str(" ...");
    line
}

/// The host and port of a request's URI.
fn authority(uri: &str) -> &str {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit('@').next().unwrap_or(authority)
}

/// An authority without its port.
fn host_of(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// The Region in an AWS endpoint's name: `SERVICE.REGION.amazonaws.com`,
/// `SERVICE.REGION.amazonaws.com.cn`, `SERVICE.REGION.api.aws`
/// (<https://docs.aws.amazon.com/general/latest/gr/rande.html>).
fn region_in(host: &str) -> Option<&str> {
    let labels: Vec<&str> = host.split('.').collect();
    let aws = host.contains(".amazonaws.") || host.ends_with(".api.aws");
    (aws && labels.len() >= 4)
        .then(|| labels[1])
        .filter(|r| !r.is_empty())
}

/// A connection's failure with the endpoint it was for: the HTTP client's errors do not say.
#[derive(Debug, thiserror::Error)]
#[error("calling {endpoint}")]
struct AtEndpoint {
    endpoint: String,
    #[source]
    source: ConnectorError,
}

/// The HTTP client, naming the endpoint in each connection failure. The failure keeps its kind,
/// which the SDK's retries go by.
#[derive(Debug)]
struct Named(SharedHttpClient);

impl HttpClient for Named {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NamedConnector(self.0.http_connector(settings, components)))
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct NamedConnector(SharedHttpConnector);

impl HttpConnector for NamedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let endpoint = authority(request.uri()).to_owned();
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move { call.await.map_err(|e| at_endpoint(e, endpoint)) })
    }
}

fn at_endpoint(e: ConnectorError, endpoint: String) -> ConnectorError {
    let (timeout, io, user, other) = (e.is_timeout(), e.is_io(), e.is_user(), e.as_other());
    let connection = e.connection_metadata().cloned();
    let source: BoxError = Box::new(AtEndpoint {
        endpoint,
        source: e,
    });
    let named = if timeout {
        ConnectorError::timeout(source)
    } else if io {
        ConnectorError::io(source)
    } else if user {
        ConnectorError::user(source)
    } else {
        ConnectorError::other(source, other)
    };
    match connection {
        Some(c) => named.with_connection(c),
        None => named,
    }
}

/// Resolves names as hyper's default resolver does (`getaddrinfo` on a blocking thread), so that
/// a failure reaches the SDK as a [`ResolveDnsError`], a DNS failure by type.
#[derive(Clone, Debug)]
struct Resolver;

impl ResolveDns for Resolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        DnsFuture::new(async move {
            tokio::net::lookup_host((name, 0))
                .await
                .map(|addresses| addresses.map(|a| a.ip()).collect())
                .map_err(ResolveDnsError::new)
        })
    }
}

#[cfg(test)]
mod tests;
