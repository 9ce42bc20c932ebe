//! How the forwarder reaches AWS: one HTTPS client for every service, rustls with the `ring`
//! crypto provider.
//!
//! The SDK's default client uses aws-lc, which adds about 0.4 MB to the zipped Lambda bootstrap;
//! the forwarder only needs TLS to AWS endpoints, which `ring` serves as well
//! (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>).

use aws_config::timeout::TimeoutConfig;
use aws_sdk_sns::config::SharedHttpClient;
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
