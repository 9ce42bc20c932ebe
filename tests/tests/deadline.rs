//! The function keeps to its timeout: when AWS answers too slowly for a batch's alerts to go out
//! in time, the binary, run as Lambda runs it, answers the invocation with an error before its
//! deadline (so Lambda retries the event) instead of being stopped mid-write, and the same
//! process takes the next event.

use std::process::{Command, Stdio};
use std::time::Duration;

use forwarder::sources;
use forwarder_tests::runtime_api::{Outcome, RuntimeApi};
use forwarder_tests::{ACCOUNT, black_hole, forwarder_bin};

const PERMISSION: &str = r#"198.51.100.7 - - [01/Dec/2026:10:00:00 +0000] "GET GET /orders HTTP/1.1" 500 35 req-1= AUTHORIZER_CONFIGURATION_ERROR,The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again."#;

#[test]
fn a_stuck_aws_fails_the_invocation_before_its_timeout() {
    let timeout = Duration::from_secs(4);
    let api = RuntimeApi::with_timeout(timeout);
    let mut child = Command::new(forwarder_bin())
        .env_clear()
        .envs(api.environment(128))
        .env("AWS_ENDPOINT_URL", black_hole())
        .env(
            "ALERT_TOPIC_ARN",
            format!("arn:aws:sns:us-east-1:{ACCOUNT}:alerts"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the forwarder starts");
    let event = serde_json::to_vec(&sources::encode_event(
        PERMISSION,
        "/aws/vendedlogs/apigateway/orders",
        "$default",
        ACCOUNT,
        0,
    ))
    .unwrap();
    for round in 0..2 {
        // The publisher alone would wait up to 20 s for its attempts; the deadline is 4 s away.
        // Only the function's own deadline timer answers `DeadlineNear`, before it, so the
        // test needs no clock of its own.
        let outcome = api.invoke(&event, Duration::from_secs(60));
        let Some(Outcome::Error { body, .. }) = outcome else {
            let _ = child.kill();
            panic!("round {round}: expected an error before the deadline, got {outcome:?}");
        };
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["errorType"], "DeadlineNear", "round {round}: {error}");
        assert!(
            child.try_wait().unwrap().is_none(),
            "round {round}: the process keeps serving"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
