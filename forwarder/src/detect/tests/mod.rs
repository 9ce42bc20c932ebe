//! Unit tests of `detect`, beside it so its source stays readable, by theme; what several
//! themes share is here.

mod drift;
mod findings;
mod lines;
mod rest;

use super::*;

const PERMISSION: &str = "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.";

fn default_line(path: &str, status: u16, error: &str) -> String {
    format!(
        r#"203.0.113.9 - - [10/Oct/2023:01:01:01 +0000] "GET {path} HTTP/1.1" {status} 35 req-1= {error}"#
    )
}

const CUSTOM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../samplelogs/custom-format.fmt"
));

/// Text a client can put in a log line: mostly the format's own separators and the token.
fn client_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let piece = prop_oneof![
        Just("\"".to_owned()),
        Just(" ".to_owned()),
        Just("\" ".to_owned()),
        Just(" \"".to_owned()),
        Just("AUTHORIZER_CONFIGURATION_ERROR".to_owned()),
        Just(",".to_owned()),
        Just("500".to_owned()),
        Just(" a1b2c3d4e5 prod ".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        "[ -~]{0,8}",
        "\\PC{0,4}",
        (1usize..65_536).prop_map(|n| " ".repeat(n)),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}
