//! Unit tests of `cause`, beside it so its source stays readable.

use super::*;

/// Remembered texts give the rule's answer, also once more than can be remembered went by.
#[test]
fn remembered_classification_matches_the_rule() {
    let texts: Vec<String> = (0..20)
        .map(|i| match i % 3 {
            0 => format!("Authorizer request timed out after {i} ms"),
            1 => format!("no permission to invoke {i}"),
            _ => format!("something else {i}"),
        })
        .collect();
    for _ in 0..3 {
        for t in &texts {
            assert_eq!(classify(t), classify_words(t), "{t}");
        }
    }
    let long = format!("timed out {}", "x".repeat(600));
    assert_eq!(classify(&long), Cause::AuthorizerTimeout);
}

#[test]
fn classifies_known_texts_by_meaning() {
    let cases = [
        (
            "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer. Check the permissions and try again.",
            Cause::MissingInvokePermission,
        ),
        (
            "API Gateway does not have permission to invoke the function",
            Cause::MissingInvokePermission,
        ),
        (
            "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Simple response did not include 'isAuthorized'",
            Cause::InvalidResponseFormat,
        ),
        (
            "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid value for 'isAuthorized'",
            Cause::InvalidResponseFormat,
        ),
        ("Authorizer timed out", Cause::AuthorizerTimeout),
        (
            "The Lambda Authorizer hit a timeout after 10000ms",
            Cause::AuthorizerTimeout,
        ),
        ("Request timeout", Cause::AuthorizerTimeout),
        ("Something new happened", Cause::Unknown),
        ("", Cause::Unknown),
        // A REST API's execution log.
        (
            "Invalid permissions on Lambda function",
            Cause::MissingInvokePermission,
        ),
        ("Could not parse policy", Cause::InvalidResponseFormat),
        // The generic reason says that the authorizer failed, not why.
        ("Authorizer error", Cause::Unknown),
        ("authorizer error: boom", Cause::Unknown),
        // Wordings quoted in public threads: a crashed function's error object parsed as a
        // policy (after a Runtime.ImportModuleError), an invoke role that cannot be assumed,
        // and an HTTP API's invalid JSON.
        (
            "Invalid JSON in response: Unrecognized field \"errorType\" , not marked as ignorable",
            Cause::AuthorizerFailure,
        ),
        (
            "Invalid JSON in response: Unexpected character ('<' (code 60))",
            Cause::InvalidResponseFormat,
        ),
        (
            "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects. Invalid json in authorizer response",
            Cause::InvalidResponseFormat,
        ),
        (
            "API Gateway does not have permission to assume the provided role arn:aws:iam::123456789012:role/authorizer-invoke",
            Cause::MissingInvokePermission,
        ),
        // Every wording of a response API Gateway could not read.
        (
            "Invalid JSON in response: Can not deserialize instance of java.lang.String out of START_ARRAY token",
            Cause::InvalidResponseFormat,
        ),
        (
            "Invalid JSON in response: Unrecognized field \"principalID\" , not marked as ignorable",
            Cause::InvalidResponseFormat,
        ),
        (
            "Invalid JSON in response: null",
            Cause::InvalidResponseFormat,
        ),
        (
            "Unable to parse given policy document",
            Cause::InvalidResponseFormat,
        ),
        (
            "Simple response did not include 'isAuthorized'",
            Cause::InvalidResponseFormat,
        ),
        (
            "Invalid json in authorizer response",
            Cause::InvalidResponseFormat,
        ),
        (
            "Authorizer response did not include a principalId",
            Cause::InvalidResponseFormat,
        ),
    ];
    for (text, cause) in cases {
        assert_eq!(classify(text), cause, "{text}");
    }
}

#[test]
fn permission_remedy_fills_what_the_log_gave() {
    let place = Place {
        region: Some("eu-west-1".into()),
        account_id: Some("123456789012".into()),
        api_id: Some("a1b2c3".into()),
        ..Place::default()
    };
    let r = remedy(Cause::MissingInvokePermission, &place, Language::En);
    let cmd = r.command.unwrap();
    assert!(cmd.contains(
        "--source-arn arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/AUTHORIZER_ID"
    ));
    assert!(cmd.contains("--principal apigateway.amazonaws.com"));
    let unknown = remedy(
        Cause::MissingInvokePermission,
        &Place::default(),
        Language::En,
    );
    assert!(
        unknown
            .command
            .unwrap()
            .contains("REGION:ACCOUNT_ID:API_ID")
    );
}

#[test]
fn hostile_place_values_never_reach_the_command() {
    for bad in crate::text::shape::HOSTILE {
        let cases = [
            (
                Place {
                    region: Some("eu-west-1".into()),
                    account_id: Some(bad.into()),
                    api_id: Some("a1b2c3d4e5".into()),
                    ..Place::default()
                },
                "arn:aws:execute-api:eu-west-1:ACCOUNT_ID:a1b2c3d4e5/authorizers/AUTHORIZER_ID --region eu-west-1",
            ),
            (
                Place {
                    region: Some(bad.into()),
                    account_id: Some("123456789012".into()),
                    api_id: Some("a1b2c3d4e5".into()),
                    ..Place::default()
                },
                "arn:aws:execute-api:REGION:123456789012:a1b2c3d4e5/authorizers/AUTHORIZER_ID --region REGION",
            ),
            (
                Place {
                    region: Some("us-gov-west-1".into()),
                    account_id: Some("123456789012".into()),
                    api_id: Some(bad.into()),
                    ..Place::default()
                },
                "arn:aws:execute-api:us-gov-west-1:123456789012:API_ID/authorizers/AUTHORIZER_ID --region us-gov-west-1",
            ),
        ];
        for (place, want) in cases {
            for lang in [Language::En, Language::Ja] {
                let r = remedy(Cause::MissingInvokePermission, &place, lang);
                let cmd = r.command.unwrap();
                assert!(cmd.ends_with(want), "{bad:?}: {cmd}");
                assert!(!cmd.contains(bad), "{bad:?}: {cmd}");
                assert!(
                    !r.steps.iter().any(|s| s.contains(bad)),
                    "{bad:?} in the steps"
                );
            }
        }
    }
}

#[test]
fn every_cause_has_text_in_every_language() {
    for cause in Cause::ALL {
        for lang in [Language::En, Language::Ja] {
            assert!(!cause.title(lang).is_empty());
            assert!(!cause.explanation(lang).is_empty());
            assert!(!remedy(cause, &Place::default(), lang).steps.is_empty());
        }
        assert!(cause.subject_words().is_ascii());
        assert_eq!(
            serde_json::to_value(cause).unwrap(),
            serde_json::Value::String(cause.code().into())
        );
    }
}

/// The commands follow the family the log names and fill in only a well-shaped API id.
#[test]
fn remedies_follow_the_api_family() {
    let place = |family, api_id: &str| Place {
        api_id: Some(api_id.into()),
        family,
        ..Place::default()
    };
    let text = |cause, place: &Place| remedy(cause, place, Language::En).steps.join("\n");
    let rest = place(ApiFamily::Rest, "r7t2k9w4qa");
    for cause in [
        Cause::MissingInvokePermission,
        Cause::InvalidResponseFormat,
        Cause::AuthorizerFailure,
    ] {
        let steps = text(cause, &rest);
        assert!(
            steps.contains("--rest-api-id r7t2k9w4qa"),
            "{cause}: {steps}"
        );
        assert!(!steps.contains("apigatewayv2"), "{cause}: {steps}");
    }
    assert!(!text(Cause::InvalidResponseFormat, &rest).contains("isAuthorized"));
    let v2 = text(
        Cause::InvalidResponseFormat,
        &place(ApiFamily::V2, "k7x2p9q4md"),
    );
    assert!(
        v2.contains("--api-id k7x2p9q4md") && !v2.contains("rest-api-id"),
        "{v2}"
    );
    let unknown = text(
        Cause::MissingInvokePermission,
        &place(ApiFamily::Unknown, "x;rm -rf"),
    );
    assert!(
        unknown.contains("apigatewayv2 get-authorizers --api-id API_ID"),
        "{unknown}"
    );
    assert!(
        unknown.contains("apigateway get-authorizers --rest-api-id API_ID"),
        "{unknown}"
    );
    assert!(!unknown.contains("rm -rf"));
    assert_eq!(
        classify_failure("Internal server error"),
        Cause::AuthorizerFailure
    );
    assert_eq!(
        classify_failure("Authorizer timed out"),
        Cause::AuthorizerTimeout
    );
}

proptest::proptest! {
    /// One search for `"error` finds Lambda's error object exactly where a search for each key does.
    #[test]
    fn lambda_error_found_as_each_key_would_be(
        parts in proptest::collection::vec(
            proptest::sample::select(vec!["\"error", "Type\"", "Message\"", "\"errorType\"", "\"errorMessage\"", "\"", "x", "\"errorT", "é"]),
            0..12,
        )
    ) {
        let text = parts.concat();
        let by_key = text.contains("\"errorType\"") || text.contains("\"errorMessage\"");
        proptest::prop_assert_eq!(shows_lambda_error(&text), by_key, "{:?}", text);
    }
}
