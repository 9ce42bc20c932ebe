//! Unit tests of `diagnose`, beside it so its source stays readable.

use super::*;

const FN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:auth-fn";
const SOURCE: &str = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/abc123";

fn policy(condition: serde_json::Value) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "s1",
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": FN,
            "Condition": condition,
        }]
    })
    .to_string()
}

fn verdict(p: Option<&str>) -> PolicyVerdict {
    permission_verdict(p, SOURCE, "123456789012").unwrap()
}

#[test]
fn policy_verdicts() {
    let allowed = |s: &str| PolicyVerdict::Allowed {
        statement: s.into(),
    };
    let cases: Vec<(&str, serde_json::Value, PolicyVerdict)> = vec![
        (
            "exact source ARN",
            serde_json::json!({"ArnLike": {"AWS:SourceArn": SOURCE}}),
            allowed("s1"),
        ),
        (
            "wildcard over the API",
            serde_json::json!({"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/*"}}),
            allowed("s1"),
        ),
        (
            "wildcard region and lower-case key",
            serde_json::json!({"ArnLike": {"aws:sourcearn": "arn:aws:execute-api:*:123456789012:a1b2c3/authorizers/*"}}),
            allowed("s1"),
        ),
        ("no condition", serde_json::json!(null), allowed("s1")),
        (
            "another API",
            serde_json::json!({"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:zzz999/*"}}),
            PolicyVerdict::NotAllowed {
                other_source_arns: vec![
                    "arn:aws:execute-api:eu-west-1:123456789012:zzz999/*".into(),
                ],
            },
        ),
        (
            "another authorizer",
            serde_json::json!({"ArnEquals": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/other1"}}),
            PolicyVerdict::NotAllowed {
                other_source_arns: vec![
                    "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/other1".into(),
                ],
            },
        ),
        (
            "a wildcard does not cross ARN parts",
            serde_json::json!({"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1*"}}),
            PolicyVerdict::NotAllowed {
                other_source_arns: vec!["arn:aws:execute-api:eu-west-1*".into()],
            },
        ),
        (
            "source account must match too",
            serde_json::json!({"ArnLike": {"AWS:SourceArn": SOURCE}, "StringEquals": {"AWS:SourceAccount": "999999999999"}}),
            PolicyVerdict::NotAllowed {
                other_source_arns: vec![],
            },
        ),
        (
            "a key this check cannot see",
            serde_json::json!({"StringEquals": {"aws:PrincipalOrgID": "o-1"}}),
            PolicyVerdict::Undetermined {
                statement: "s1".into(),
                reason: "condition key aws:PrincipalOrgID is not checked here".into(),
            },
        ),
    ];
    for (what, condition, want) in cases {
        let p = policy(condition);
        assert_eq!(verdict(Some(&p)), want, "{what}");
    }
    assert_eq!(verdict(None), PolicyVerdict::NoPolicy);
}

#[test]
fn deny_wins_and_other_principals_do_not_count() {
    let p = serde_json::json!({"Statement": [
            {"Sid": "allow", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "lambda:*"},
            {"Sid": "deny", "Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunction"},
        ]})
        .to_string();
    assert_eq!(
        verdict(Some(&p)),
        PolicyVerdict::Denied {
            statement: "deny".into()
        }
    );
    let p = serde_json::json!({"Statement": {"Sid": "s3", "Effect": "Allow", "Principal": {"Service": ["s3.amazonaws.com"]}, "Action": ["lambda:InvokeFunction"]}})
            .to_string();
    assert_eq!(
        verdict(Some(&p)),
        PolicyVerdict::NotAllowed {
            other_source_arns: vec![]
        }
    );
    assert!(permission_verdict(Some("not json"), SOURCE, "1").is_err());
}

#[test]
fn glob_matches_like_iam() {
    for (p, t, want) in [
        ("*", "", true),
        ("a*c", "abbbc", true),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("a*", "b", false),
        ("*x*", "abxcd", true),
        ("abc", "abcd", false),
    ] {
        assert_eq!(glob(p, t), want, "{p} {t}");
    }
}

fn evidence(policy: Result<Option<String>, String>, simple: bool, version: &str) -> Evidence {
    Evidence {
        api: ApiConfig {
            api_id: "a1b2c3".into(),
            kind: ApiKind::Http,
            name: Some("orders".into()),
            routes: vec![
                Route {
                    route_key: "GET /orders".into(),
                    authorization_type: Some("CUSTOM".into()),
                    authorizer_id: Some("abc123".into()),
                },
                Route {
                    route_key: "GET /health".into(),
                    authorization_type: Some("NONE".into()),
                    authorizer_id: None,
                },
            ],
            authorizers: vec![Authorizer {
                id: "abc123".into(),
                name: "jwt-check".into(),
                authorizer_type: "REQUEST".into(),
                uri: Some(format!(
                    "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{FN}/invocations"
                )),
                credentials_arn: None,
                simple_responses: simple,
                payload_format_version: Some(version.into()),
                identity_source: Some("$request.header.Authorization".into()),
            }],
        },
        policies: [(FN.to_owned(), policy)].into_iter().collect(),
    }
}

#[test]
fn missing_permission_names_route_authorizer_function_and_command() {
    let d = diagnose(
        Cause::MissingInvokePermission,
        &evidence(Ok(None), true, "2.0"),
        &["GET /orders".into()],
    );
    let Diagnosis::Checked {
        api_id,
        authorizers,
        ..
    } = &d
    else {
        panic!("{d:?}")
    };
    assert_eq!(api_id, "a1b2c3");
    assert_eq!(authorizers.len(), 1);
    let a = &authorizers[0];
    assert_eq!(
        (a.name.as_str(), a.routes.as_slice()),
        ("jwt-check", &["GET /orders".to_owned()][..])
    );
    assert_eq!(a.function_arn.as_deref(), Some(FN));
    assert!(a.has_problems());
    assert_eq!(
        d.commands(),
        [format!(
            "aws lambda add-permission --region eu-west-1 --function-name {FN} --statement-id apigateway-authorizer-abc123 --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn {SOURCE}"
        )]
    );
}

#[test]
fn hostile_configuration_never_reaches_the_command() {
    type Case<'a> = (&'a str, fn(&str) -> bool, String, &'a str, &'a str, &'a str);
    let good_fn = "arn:aws:lambda:eu-west-1:123456789012:function:f";
    for bad in crate::text::shape::HOSTILE {
        // (what, the shape `bad` must not have, function ARN, API id, authorizer id, expected)
        let cases: [Case; 5] = [
            (
                "api id",
                shape::is_api_id,
                good_fn.into(),
                bad,
                "abc123",
                "--statement-id apigateway-authorizer-abc123 --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn arn:aws:execute-api:eu-west-1:123456789012:API_ID/authorizers/abc123",
            ),
            (
                "authorizer id",
                shape::is_authorizer_id,
                good_fn.into(),
                "a1b2c3d4e5",
                bad,
                "--statement-id apigateway-authorizer --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/authorizers/AUTHORIZER_ID",
            ),
            (
                "function name",
                shape::is_function_name,
                format!("arn:aws:lambda:eu-west-1:123456789012:function:{bad}"),
                "a1b2c3d4e5",
                "abc123",
                "--function-name FUNCTION_ARN --statement-id apigateway-authorizer-abc123",
            ),
            (
                "region",
                shape::is_region,
                format!("arn:aws:lambda:{bad}:123456789012:function:f"),
                "a1b2c3d4e5",
                "abc123",
                "add-permission --region REGION --function-name FUNCTION_ARN",
            ),
            (
                "account",
                shape::is_account_id,
                format!("arn:aws:lambda:eu-west-1:{bad}:function:f"),
                "a1b2c3d4e5",
                "abc123",
                ":ACCOUNT_ID:a1b2c3d4e5/authorizers/abc123",
            ),
        ];
        for (what, shape_of, function_arn, api_id, authorizer_id, want) in cases {
            if shape_of(bad) {
                continue;
            }
            let mut e = evidence(Ok(None), true, "2.0");
            e.api.api_id = api_id.into();
            e.api.authorizers[0].id = authorizer_id.into();
            e.api.authorizers[0].uri = Some(format!(
                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
            ));
            e.api.routes[0].authorizer_id = Some(authorizer_id.into());
            e.policies = [(function_arn.clone(), Ok(None))].into_iter().collect();
            let d = diagnose(Cause::MissingInvokePermission, &e, &[]);
            let commands = d.commands();
            if commands.is_empty() {
                // A URI that names no function has no command to give.
                assert!(
                    FunctionArn::parse(&function_arn).is_none(),
                    "{what} {bad:?}"
                );
                continue;
            }
            for cmd in commands {
                assert!(cmd.contains(want), "{what} {bad:?}: {cmd}");
                assert!(!cmd.contains(bad), "{what} {bad:?}: {cmd}");
            }
        }
    }
}

#[test]
fn a_latest_qualifier_is_quoted() {
    let f = FunctionArn::parse(&format!("{FN}:$LATEST")).unwrap();
    let cmd = add_permission_command(&f, SOURCE, "abc123");
    assert!(
        cmd.contains(&format!("--function-name '{FN}:$LATEST' ")),
        "{cmd}"
    );
}

#[test]
fn allowed_function_and_consistent_settings_pass() {
    let p = policy(serde_json::json!({"ArnLike": {"AWS:SourceArn": SOURCE}}));
    let reports = check_api(&evidence(Ok(Some(p)), true, "2.0"), None);
    assert_eq!(reports.len(), 1);
    assert!(!reports[0].has_problems(), "{reports:?}");
    assert!(
        reports[0].checks[1]
            .summary
            .contains(r#"{"isAuthorized": true"#)
    );
}

#[test]
fn response_shape_follows_the_settings() {
    let d = diagnose(
        Cause::InvalidResponseFormat,
        &evidence(Ok(None), false, "1.0"),
        &[],
    );
    let Diagnosis::Checked { authorizers, .. } = d else {
        panic!()
    };
    let first = &authorizers[0].checks[0];
    assert!(first.ok);
    assert!(
        first
            .summary
            .contains("payload format 1.0, simple responses off")
    );
    assert!(first.summary.contains(r#""policyDocument""#));
    let bad = check_api(&evidence(Ok(None), true, "1.0"), None);
    assert!(
        bad[0]
            .checks
            .iter()
            .any(|c| !c.ok && c.summary.contains("need payload format 2.0"))
    );
}

#[test]
fn unreadable_policy_is_a_problem_without_a_guess() {
    let reports = check_api(
        &evidence(Err("AccessDeniedException".into()), true, "2.0"),
        None,
    );
    let c = &reports[0].checks[0];
    assert!(!c.ok && c.command.is_none() && c.summary.contains("AccessDeniedException"));
}

#[test]
fn role_authorizers_and_dangling_ids() {
    let mut e = evidence(Ok(None), true, "2.0");
    e.api.authorizers[0].credentials_arn = Some("arn:aws:iam::123456789012:role/invoker".into());
    e.api.routes.push(Route {
        route_key: "GET /gone".into(),
        authorization_type: Some("CUSTOM".into()),
        authorizer_id: Some("nope99".into()),
    });
    let reports = check_api(&e, None);
    assert_eq!(reports.len(), 2);
    assert!(reports[0].checks[0].ok && reports[0].checks[0].summary.contains("role/invoker"));
    assert!(reports[1].has_problems() && reports[1].authorizer_id == "nope99");
}

#[test]
fn function_arns_from_uris() {
    let a = Authorizer {
        uri: Some(format!(
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{FN}:live/invocations"
        )),
        ..Authorizer::default()
    };
    let f = a.function_arn().unwrap();
    assert_eq!(
        (f.name.as_str(), f.account.as_str()),
        ("auth-fn", "123456789012")
    );
    assert!(f.arn.ends_with(":live"));
    let bad = Authorizer {
        uri: Some("https://example.com".into()),
        ..Authorizer::default()
    };
    assert!(bad.function_arn().is_none());
}

#[test]
fn lambda_authorizers_by_kind() {
    use ApiKind::{Http, Rest, WebSocket};
    for (kind, authorizer_type, want) in [
        (Http, "REQUEST", true),
        (Http, "JWT", false),
        (Http, "TOKEN", false),
        (WebSocket, "REQUEST", true),
        (WebSocket, "TOKEN", false),
        (Rest, "TOKEN", true),
        (Rest, "REQUEST", true),
        (Rest, "request", true),
        (Rest, "COGNITO_USER_POOLS", false),
        (Rest, "AWS_IAM", false),
        (Rest, "", false),
    ] {
        let a = Authorizer {
            authorizer_type: authorizer_type.into(),
            ..Authorizer::default()
        };
        assert_eq!(a.is_lambda(kind), want, "{kind:?} {authorizer_type}");
    }
}

const REST_SOURCE: &str =
    "arn:aws:execute-api:eu-west-1:123456789012:r3st4p1id0/authorizers/tok123";

/// A REST API: `GET /pets` behind a TOKEN authorizer, `POST /pets` behind Cognito.
fn rest_evidence(policy: Option<String>) -> Evidence {
    let route = |key: &str, t: &str, id: &str| Route {
        route_key: key.into(),
        authorization_type: Some(t.into()),
        authorizer_id: Some(id.into()),
    };
    Evidence {
        api: ApiConfig {
            api_id: "r3st4p1id0".into(),
            kind: ApiKind::Rest,
            name: Some("pets".into()),
            routes: vec![
                route("GET /pets", "CUSTOM", "tok123"),
                route("POST /pets", "COGNITO_USER_POOLS", "cog456"),
            ],
            authorizers: vec![
                Authorizer {
                    id: "tok123".into(),
                    name: "token-check".into(),
                    authorizer_type: "TOKEN".into(),
                    uri: Some(format!(
                        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{FN}/invocations"
                    )),
                    identity_source: Some("method.request.header.Authorization".into()),
                    ..Authorizer::default()
                },
                Authorizer {
                    id: "cog456".into(),
                    name: "users".into(),
                    authorizer_type: "COGNITO_USER_POOLS".into(),
                    identity_source: Some("method.request.header.Authorization".into()),
                    ..Authorizer::default()
                },
            ],
        },
        policies: [(FN.to_owned(), Ok(policy))].into_iter().collect(),
    }
}

/// Which authorizers an alert's routes lead to: the route's own, an `ANY` method's on the same
/// path, none when the failing route's authorizer is not a Lambda one (a Cognito authorizer's
/// AUTHORIZER_FAILURE), and every one only when the log named no route the API has.
#[test]
fn the_logged_routes_choose_the_authorizers() {
    let mut evidence = rest_evidence(None);
    evidence.api.routes.push(Route {
        route_key: "ANY /orders".into(),
        authorization_type: Some("CUSTOM".into()),
        authorizer_id: Some("tok123".into()),
    });
    let checked = |routes: &[&str]| {
        let routes: Vec<String> = routes.iter().map(|r| r.to_string()).collect();
        match diagnose(Cause::AuthorizerFailure, &evidence, &routes) {
            Diagnosis::Checked { authorizers, .. } => authorizers
                .iter()
                .map(|a| (a.authorizer_id.clone(), a.routes.join(",")))
                .collect::<Vec<_>>(),
            d => panic!("{d:?}"),
        }
    };
    let tok = |routes: &str| vec![("tok123".to_owned(), routes.to_owned())];
    assert_eq!(checked(&["GET /pets"]), tok("GET /pets"));
    assert_eq!(checked(&["DELETE /orders"]), tok("ANY /orders"));
    assert_eq!(
        checked(&["POST /pets"]),
        vec![],
        "Cognito's route: no Lambda authorizer"
    );
    assert_eq!(checked(&["GET /nowhere"]), tok("GET /pets,ANY /orders"));
    assert_eq!(checked(&[]), tok("GET /pets,ANY /orders"));
    assert!(!route_matches("ANY /orders", "GET /orders/1"));
    assert!(!route_matches("GET /orders", "POST /orders"));
}

#[test]
fn rest_token_authorizer_is_checked_and_cognito_skipped() {
    let cases: [(&str, Option<String>, bool); 4] = [
        (
            "exact source ARN",
            Some(policy(
                serde_json::json!({"ArnLike": {"AWS:SourceArn": REST_SOURCE}}),
            )),
            true,
        ),
        (
            "the whole API",
            Some(policy(
                serde_json::json!({"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:r3st4p1id0/*"}}),
            )),
            true,
        ),
        (
            "another API",
            Some(policy(
                serde_json::json!({"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:zzzz999999/*"}}),
            )),
            false,
        ),
        ("no policy", None, false),
    ];
    for (what, p, ok) in cases {
        let d = diagnose(
            Cause::MissingInvokePermission,
            &rest_evidence(p),
            &["GET /pets".into()],
        );
        let Diagnosis::Checked {
            api_kind,
            authorizers,
            ..
        } = &d
        else {
            panic!("{what}: {d:?}")
        };
        assert_eq!(*api_kind, ApiKind::Rest, "{what}");
        assert_eq!(
            authorizers.len(),
            1,
            "{what}: Cognito is not a Lambda authorizer"
        );
        let a = &authorizers[0];
        assert_eq!(a.routes, ["GET /pets"], "{what}");
        assert_eq!(a.has_problems(), !ok, "{what}: {a:?}");
        let want: Vec<String> = if ok {
            vec![]
        } else {
            vec![format!(
                "aws lambda add-permission --region eu-west-1 --function-name {FN} --statement-id apigateway-authorizer-tok123 --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn {REST_SOURCE}"
            )]
        };
        assert_eq!(d.commands(), want, "{what}");
    }
    // A route filter that names no route of the API falls back to every route.
    let d = diagnose(
        Cause::MissingInvokePermission,
        &rest_evidence(None),
        &["GET /elsewhere".into()],
    );
    assert_eq!(d.commands().len(), 1, "{d:?}");
}

#[test]
fn rest_and_websocket_authorizers_must_return_a_policy() {
    let token = Authorizer {
        authorizer_type: "TOKEN".into(),
        identity_source: Some("method.request.header.Authorization".into()),
        // Settings REST APIs do not have must not change the answer.
        simple_responses: true,
        payload_format_version: Some("1.0".into()),
        ..Authorizer::default()
    };
    let request = Authorizer {
        authorizer_type: "REQUEST".into(),
        identity_source: Some("route.request.header.Auth".into()),
        ..Authorizer::default()
    };
    let cases = [
        (
            ApiKind::Rest,
            &token,
            "REST API TOKEN authorizer: the function gets the caller's token from method.request.header.Authorization;",
        ),
        (
            ApiKind::Rest,
            &request,
            "REST API REQUEST authorizer, identity source route.request.header.Auth;",
        ),
        (
            ApiKind::WebSocket,
            &request,
            "WebSocket API REQUEST authorizer, identity source route.request.header.Auth (on $connect);",
        ),
    ];
    for (kind, auth, start) in cases {
        let c = response_check(kind, auth);
        assert!(c.ok && c.command.is_none(), "{c:?}");
        assert!(c.summary.starts_with(start), "{}", c.summary);
        assert!(c.summary.ends_with(POLICY_RESPONSE), "{}", c.summary);
        assert!(
            c.summary
                .contains("context values only strings, numbers or booleans"),
            "{}",
            c.summary
        );
        assert!(!c.summary.contains("isAuthorized"), "{}", c.summary);
        assert_eq!(expected_response(kind, auth), POLICY_RESPONSE);
    }
    let none = Authorizer {
        authorizer_type: "TOKEN".into(),
        ..Authorizer::default()
    };
    assert!(
        response_check(ApiKind::Rest, &none)
            .summary
            .contains("token from (none set);")
    );
}

#[test]
fn the_kind_is_serialised_and_http_settings_only_for_http() {
    for (kind, want) in [
        (ApiKind::Http, "http"),
        (ApiKind::WebSocket, "websocket"),
        (ApiKind::Rest, "rest"),
    ] {
        assert_eq!(serde_json::to_value(kind).unwrap(), want);
    }
    let rest = diagnose(Cause::MissingInvokePermission, &rest_evidence(None), &[]);
    let json = serde_json::to_value(&rest).unwrap();
    assert_eq!(json["api_kind"], "rest");
    let report = &json["authorizers"][0];
    assert_eq!(
        report["identity_source"],
        "method.request.header.Authorization"
    );
    for key in ["simple_responses", "payload_format_version"] {
        assert!(report.get(key).is_none(), "{key} in {report}");
    }
    let http = diagnose(
        Cause::MissingInvokePermission,
        &evidence(Ok(None), true, "2.0"),
        &[],
    );
    let json = serde_json::to_value(&http).unwrap();
    assert_eq!(json["api_kind"], "http");
    let report = &json["authorizers"][0];
    assert_eq!(report["simple_responses"], true);
    assert_eq!(report["payload_format_version"], "2.0");
    assert!(report.get("identity_source").is_none(), "{report}");
    assert_eq!(ApiKind::Http.title(), "API");
    assert_eq!(ApiKind::Rest.title(), "REST API");
    assert_eq!(ApiKind::WebSocket.label(), "WebSocket API");
}
