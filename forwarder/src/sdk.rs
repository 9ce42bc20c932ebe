//! How the forwarder reaches AWS: one HTTPS client for every service, rustls with the `ring`
//! crypto provider, and one way to name what went wrong.
//!
//! The SDK's default client uses aws-lc, which adds about 0.4 MB to the zipped Lambda bootstrap;
//! the forwarder only needs TLS to AWS endpoints, which `ring` serves as well
//! (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>).

use aws_config::timeout::TimeoutConfig;
use aws_sdk_sns::config::SharedHttpClient;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The HTTPS client every SDK client of the forwarder uses.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// SDK settings from the environment (credentials, `AWS_ENDPOINT_URL`), in `region` when given,
/// with `timeouts`.
pub async fn load(region: Option<&str>, timeouts: TimeoutConfig) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts);
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader.load().await
}

/// Names the error the way the service did (`AccessDeniedException: User ... is not authorized`),
/// or the chain of causes when no service answered (`dispatch failure: ... Connection refused`).
pub fn describe<E: ProvideErrorMetadata + std::error::Error>(e: &E) -> String {
    let mut text = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, _) => {
            let mut chain = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            chain
        }
    };
    if text.len() > MAX_REASON_BYTES {
        text = crate::escape::truncate(&text, MAX_REASON_BYTES).into_owned();
    }
    text
}

/// An error reason goes into an alert; a few lines of it say everything useful.
const MAX_REASON_BYTES: usize = 400;
