//! Unit tests of `sdk`, beside it so its source stays readable.

use super::*;
use aws_sdk_sns::operation::publish::PublishError;
use std::io;

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

type Failed = SdkError<PublishError, HttpResponse>;

fn line(e: &Failed) -> String {
    let text = describe(e);
    assert!(!text.contains('\n') && !text.contains("\\u{"), "{text}");
    assert!(
        text.len() <= MAX_REASON_BYTES,
        "{} bytes: {text}",
        text.len()
    );
    text
}

#[test]
fn service_errors_keep_the_code_and_say_when_a_retry_helps() {
    let cases = [
        (
            Some("NotFound"),
            Some("Topic does not exist"),
            404,
            "NotFound: Topic does not exist",
        ),
        (
            Some("ThrottlingException"),
            Some("Rate exceeded"),
            400,
            "ThrottlingException: Rate exceeded; AWS is throttling these calls, a retry later may help",
        ),
        (
            None,
            None,
            429,
            "HTTP 429; AWS is throttling these calls, a retry later may help",
        ),
        (
            Some("InternalError"),
            None,
            500,
            "InternalError; an error on AWS's side (HTTP 500), a retry may help",
        ),
        (
            None,
            None,
            502,
            "HTTP 502; an error on AWS's side, a retry may help",
        ),
        (
            Some("ExpiredTokenException"),
            Some("The security token included in the request is expired"),
            400,
            "ExpiredTokenException: The security token included in the request is expired; AWS refused the credentials: renew them, then check with `aws sts get-caller-identity`",
        ),
        (None, Some("  "), 404, "HTTP 404"),
    ];
    for (code, message, status, want) in cases {
        assert_eq!(service(code, message, status).to_string(), want);
    }
}

#[test]
fn a_refused_connection_names_the_endpoint_and_keeps_its_kind() {
    let refused = ConnectorError::io(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)));
    let named = at_endpoint(refused, "127.0.0.1:9".to_owned());
    // The SDK's retries go by the kind.
    assert!(named.is_io());
    assert_eq!(
        line(&Failed::dispatch_failure(named)),
        "cannot connect to 127.0.0.1:9: connection refused; a retry may help, else check the network, a proxy or AWS_ENDPOINT_URL"
    );
    let slow = at_endpoint(
        ConnectorError::timeout("HTTP connect timeout occurred after 1s".into()),
        "sns.us-east-1.amazonaws.com".to_owned(),
    );
    assert!(slow.is_timeout());
    assert_eq!(
        line(&Failed::dispatch_failure(slow)),
        "no answer from sns.us-east-1.amazonaws.com in time: HTTP connect timeout occurred after 1s; a retry may help, else check the network"
    );
    assert_eq!(
        line(&Failed::timeout_error(
            "operation timeout (all attempts including retries) occurred after 4s"
        )),
        "no answer from AWS in time: operation timeout (all attempts including retries) occurred after 4s; a retry may help, else check the network"
    );
}

#[test]
fn a_name_that_does_not_resolve_names_the_host_and_its_region() {
    let dns = |endpoint: &str| {
        let lookup = ResolveDnsError::new(io::Error::other(
            "failed to lookup address information: Name or service not known",
        ));
        Failed::dispatch_failure(at_endpoint(
            ConnectorError::io(Box::new(lookup)),
            endpoint.to_owned(),
        ))
    };
    assert_eq!(
        line(&dns("apigateway.mars-north-9.amazonaws.com")),
        "cannot find host apigateway.mars-north-9.amazonaws.com (DNS): is mars-north-9 a Region? Check --region or AWS_REGION, else the network"
    );
    assert_eq!(
        line(&dns("localstack.invalid:4566")),
        "cannot find host localstack.invalid (DNS): check AWS_ENDPOINT_URL and the network"
    );
}

#[test]
fn missing_credentials_say_what_to_do() {
    let failed =
        |e: CredentialsError| Failed::dispatch_failure(ConnectorError::other(Box::new(e), None));
    assert_eq!(
        line(&failed(CredentialsError::not_loaded_no_source())),
        "no AWS credentials found; run `aws configure` or `aws sso login`, set AWS_PROFILE to a profile that has credentials, or run with an IAM role"
    );
    assert_eq!(
        line(&failed(CredentialsError::provider_timed_out(
            std::time::Duration::from_secs(5)
        ))),
        "no AWS credentials within 5 s (the credentials provider timed out); a retry may help"
    );
    assert_eq!(
        line(&failed(CredentialsError::provider_error(
            "the SSO session has expired:\n run aws sso login"
        ))),
        "AWS credentials could not be loaded: the SSO session has expired: run aws sso login"
    );
}

#[test]
fn text_is_one_line_cut_after_a_word() {
    assert_eq!(clip("a\n  b\u{1b}\tc ", 10), "a b c");
    let long = "word ".repeat(100);
    let cut = clip(&long, 50);
    assert!(cut.len() <= 50 && cut.ends_with("word ..."), "{cut}");
    // One long word is cut inside, and still marked.
    let arn = "x".repeat(80);
    assert_eq!(clip(&arn, 20), format!("{} ...", "x".repeat(16)));
    assert_eq!(
        authority("https://user@sns.us-east-1.amazonaws.com/?Action=Publish"),
        "sns.us-east-1.amazonaws.com"
    );
    assert_eq!(host_of("[::1]:4566"), "[::1]");
    assert_eq!(
        region_in("logs.cn-north-1.amazonaws.com.cn"),
        Some("cn-north-1")
    );
    assert_eq!(region_in("sts.amazonaws.com"), None);
}
