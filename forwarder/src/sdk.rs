//! How the forwarder reaches AWS: one HTTPS client for every service, rustls with the `ring`
//! crypto provider, and one way to name what went wrong.
//!
//! The SDK's default client uses aws-lc, which adds about 0.4 MB to the zipped Lambda bootstrap;
//! the forwarder only needs TLS to AWS endpoints, which `ring` serves as well
//! (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>).

use aws_config::timeout::TimeoutConfig;
use aws_sdk_sns::config::SharedHttpClient;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

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
/// TLS settings (and so reads the roots) when a client is created.
pub fn https_client(roots: Roots) -> SharedHttpClient {
    let context = TlsContext::builder()
        .with_trust_store(roots.trust_store())
        .build()
        .expect("a trust store is a valid TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// SDK settings from the environment (credentials, `AWS_ENDPOINT_URL`) with the native roots, in
/// `region` when given, with `timeouts`.
pub async fn load(region: Option<&str>, timeouts: TimeoutConfig) -> aws_config::SdkConfig {
    load_with(Roots::Native, region, timeouts).await
}

/// [`load`] trusting `roots`.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK parses the roots when a client is created, and panics on one it cannot read.
    #[test]
    fn compiled_in_roots_build_a_client() {
        let pem = std::str::from_utf8(AMAZON_ROOTS_PEM).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        let config = aws_sdk_sns::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .http_client(https_client(Roots::Amazon))
            .build();
        let _client = aws_sdk_sns::Client::from_conf(config);
    }
}
