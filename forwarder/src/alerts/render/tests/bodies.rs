//! What each body says of a group: its statuses, counts, severity and mention, in every language.

use super::*;
use crate::alerts::render::view::{suppressed_text, unmatched_text};

/// A group none of whose lines was read by the stage's format is never alerted above a
/// warning, and says so in every rendering; one verified line keeps its cause's severity.
#[test]
fn unverified_findings_are_at_most_a_warning_and_say_so() {
    let mut unverified = finding(Cause::MissingInvokePermission, "/aws/api/prod", "r1", 1);
    unverified.verified = false;
    let verified = finding(Cause::MissingInvokePermission, "/aws/api/prod", "r2", 2);
    for (findings, severity, said) in [
        (vec![unverified.clone()], "warning", Some("1 / 1")),
        (
            vec![unverified.clone(), unverified.clone()],
            "warning",
            Some("2 / 2"),
        ),
        (
            vec![unverified.clone(), verified.clone()],
            "critical",
            Some("1 / 2"),
        ),
        (vec![verified.clone()], "critical", None),
    ] {
        let groups = group(&findings, 5);
        let alert = render(&groups[0], &config());
        assert_eq!(alert.attributes.severity, severity, "{said:?}");
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        let count = findings.iter().filter(|f| !f.verified).count();
        assert_eq!(machine["unverified_requests"], count, "{said:?}");
        match said {
            Some(said) => {
                assert!(
                    alert.email.contains(&format!("Unverified: {said}")),
                    "{}",
                    alert.email
                );
                assert!(
                    alert.chat.contains(&format!("Unverified:* {said}")),
                    "{}",
                    alert.chat
                );
            }
            None => assert!(!alert.email.contains("Unverified"), "{}", alert.email),
        }
    }
}

#[test]
fn groups_by_log_group_and_cause() {
    let findings = vec![
        finding(Cause::MissingInvokePermission, "/a", "r1", 3),
        finding(Cause::MissingInvokePermission, "/a", "r2", 1),
        finding(Cause::MissingInvokePermission, "/a", "r3", 5),
        finding(Cause::InvalidResponseFormat, "/a", "r4", 2),
        finding(Cause::MissingInvokePermission, "/b", "r5", 2),
    ];
    let groups = group(&findings, 2);
    assert_eq!(groups.len(), 3);
    let a = &groups[0];
    assert_eq!(
        (a.cause, a.log_group.as_deref(), a.count),
        (Cause::MissingInvokePermission, Some("/a"), 3)
    );
    assert_eq!(a.sample_request_ids, ["r1", "r2"]);
    assert_eq!(a.first_seen.as_deref(), Some("t1"));
    assert_eq!(a.last_seen.as_deref(), Some("t5"));
    assert_eq!(a.routes, ["GET /orders"]);
    assert_eq!(groups[1].log_group.as_deref(), Some("/b"));
    assert_eq!(groups[2].cause, Cause::InvalidResponseFormat);
}

#[test]
fn renders_three_bodies() {
    let groups = group(
        &[finding(
            Cause::MissingInvokePermission,
            "/aws/api/prod",
            "r1",
            1,
        )],
        5,
    );
    let alert = render(&groups[0], &config());
    assert_eq!(
        alert.subject,
        "[prod] API authorizer misconfigured: missing invoke permission (1x)"
    );
    assert_eq!(alert.attributes.cause, "missing_invoke_permission");
    assert_eq!(alert.attributes.severity, "critical");
    assert!(alert.email.contains("aws lambda add-permission"));
    assert!(
        alert.email.contains(
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/authorizers/AUTHORIZER_ID"
        )
    );
    assert!(alert.email.contains("log-group/$252Faws$252Fapi$252Fprod"));
    let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(chat["content"]["nextSteps"].as_array().unwrap().len() >= 2);
    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
    assert_eq!(machine["cause"], "missing_invoke_permission");
    assert_eq!(machine["count"], 1);
    let message: serde_json::Value = serde_json::from_str(&alert.message()).unwrap();
    for key in ["default", "email", "https", "sqs", "lambda"] {
        assert!(message[key].is_string(), "{key}");
    }
}

/// The statuses as the lines logged them, counted, with a noun that agrees with its number,
/// in every body; never a status no line logged.
#[test]
fn alerts_state_the_statuses_as_logged() {
    let five_hundreds: Vec<Option<u16>> = (500..520).map(Some).collect();
    let cases: [(&[Option<u16>], &str, &str); 8] = [
        (
            &[Some(500)],
            "1 request failed with HTTP 500",
            "1 件のリクエストが HTTP 500 で失敗",
        ),
        (
            &[Some(503)],
            "1 request failed with HTTP 503",
            "1 件のリクエストが HTTP 503 で失敗",
        ),
        (
            &[Some(503), Some(503)],
            "2 requests failed with HTTP 503",
            "2 件のリクエストが HTTP 503 で失敗",
        ),
        (
            &[Some(503), Some(500), Some(500)],
            "3 requests failed: 2 with HTTP 500, 1 with HTTP 503",
            "3 件のリクエストが失敗: HTTP 500 が 2 件、HTTP 503 が 1 件",
        ),
        (
            &[None],
            "1 request failed, status not logged",
            "1 件のリクエストが失敗 (ステータス記録なし)",
        ),
        (
            &[None, None],
            "2 requests failed, status not logged",
            "2 件のリクエストが失敗 (ステータス記録なし)",
        ),
        (
            &[None, Some(401), Some(500)],
            "3 requests failed: 1 with HTTP 401, 1 with HTTP 500, 1 with status not logged",
            "3 件のリクエストが失敗: HTTP 401 が 1 件、HTTP 500 が 1 件、ステータス記録なしが 1 件",
        ),
        (
            &five_hundreds,
            "20 requests failed: 1 with HTTP 500, 1 with HTTP 501, 1 with HTTP 502, 1 with HTTP 503, 1 with HTTP 504, 1 with HTTP 505, 1 with HTTP 506, 1 with HTTP 507, 1 with HTTP 508, 1 with HTTP 509, 10 with 10 other statuses\n",
            "その他 10 種類のステータスが 10 件",
        ),
    ];
    for (statuses, en, ja) in cases {
        let findings: Vec<Finding> = statuses
            .iter()
            .enumerate()
            .map(|(i, status)| {
                let mut f = finding(Cause::Unknown, "/g", &format!("r{i}"), 1);
                f.status = *status;
                f
            })
            .collect();
        let g = group(&findings, 5).remove(0);
        let alert = render(&g, &config());
        assert!(alert.email.contains(en), "{en}\n{}", alert.email);
        let description = chat(&alert)["content"]["description"].to_string();
        assert!(description.contains(en.trim_end()), "{description}");
        let logged: Vec<u16> = statuses.iter().flatten().copied().collect();
        if !logged.contains(&500) {
            assert!(!alert.email.contains("HTTP 500"), "{}", alert.email);
            assert!(!description.contains("HTTP 500"), "{description}");
        }
        // Programs get every status, counted, adding up to the count.
        let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
        let shown = machine["statuses"].as_array().unwrap();
        let other = machine["other_statuses"]["requests"].as_u64().unwrap_or(0);
        let sum: u64 = shown.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
        assert_eq!(sum + other, statuses.len() as u64, "{en}");
        assert_eq!(machine["count"], statuses.len());
        let japanese = Config {
            language: Language::Ja,
            ..config()
        };
        let alert = render(&g, &japanese);
        assert!(alert.email.contains(ja), "{ja}\n{}", alert.email);
    }
    // What SNS refuses makes the message smaller, never the counts wrong.
    let mut g = group(&[finding(Cause::Unknown, "/g", "r", 1)], 5).remove(0);
    g.statuses = (0..=u16::MAX)
        .map(|s| StatusCount {
            status: Some(s),
            requests: 1,
        })
        .collect();
    g.count = g.statuses.len();
    let alert = render(&g, &config());
    assert!(alert.publish_bytes() < MAX_MESSAGE_BYTES);
    assert!(
        alert
            .email
            .contains("65536 requests failed: 1 with HTTP 0, "),
        "{}",
        alert.email
    );
    assert!(
        alert.email.contains("65526 with 65526 other statuses"),
        "{}",
        alert.email
    );
}

/// Counts in sentences take the noun and verb their number needs.
#[test]
fn counts_agree_with_their_words() {
    let suppressed = |failed_requests| Suppressed {
        failed_requests,
        batches: 1,
        ..Suppressed::default()
    };
    let cases = [
        (
            suppressed_text(&suppressed(1), Language::En),
            "1 more failed request was not alerted on (flood control), in batches: 1",
        ),
        (
            suppressed_text(&suppressed(297), Language::En),
            "297 more failed requests were not alerted on (flood control), in batches: 1",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    let drift = |with_token| Drift {
        with_token,
        format: String::new(),
    };
    let cases = [
        (
            1,
            1,
            "1 / 1 line carrying the token does not follow the format",
        ),
        (
            1,
            3,
            "1 / 3 lines carrying the token does not follow the format",
        ),
        (
            2,
            3,
            "2 / 3 lines carrying the token do not follow the format",
        ),
    ];
    for (count, with_token, want) in cases {
        assert_eq!(
            unmatched_text(count, &drift(with_token), Language::En),
            want
        );
    }
}

#[test]
fn mentions_only_where_configured_and_never_from_log_text() {
    let hostile = with(
        &finding(Cause::MissingInvokePermission, "/g", "r", 1),
        |t| {
            t.error = "@here <!here> <!channel> <@U024BE7LH> <!subteam^SAZ94GDB8> @channel";
            t.route = Some("GET /<!everyone>");
        },
    );
    let groups = group(&[hostile], 5);
    let critical = &groups[0];
    let high = Group {
        cause: Cause::AuthorizerTimeout,
        ..critical.clone()
    };
    let mention: crate::config::Mention = "<!subteam^S0ONCALL1>".parse().unwrap();
    let with_mention = Config {
        mention: Some(mention.clone()),
        ..config()
    };
    // The only raw mention a chat notification can hold is the configured one.
    let raw_mentions = |alert: &Alert| -> Vec<String> {
        let c = chat(alert);
        let text = format!(
            "{} {} {}",
            c["content"]["title"], c["content"]["description"], c["content"]["nextSteps"]
        );
        text.match_indices("<!")
            .chain(text.match_indices("<@"))
            .map(|(i, _)| text[i..].chars().take_while(|c| *c != '>').collect())
            .collect()
    };
    assert_eq!(
        raw_mentions(&render(critical, &config())),
        Vec::<String>::new()
    );
    // Plain `@here` and `@channel` from the log stay inside code spans, which Slack shows as
    // text: every one is after an odd number of backticks on its line.
    let d = chat(&render(critical, &config()))["content"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    for word in ["@here", "@channel"] {
        for (at, _) in d.match_indices(word) {
            let line_start = d[..at].rfind('\n').map_or(0, |i| i + 1);
            let ticks = d[line_start..at].matches('`').count();
            assert!(ticks % 2 == 1, "{word} outside a code span: {d}");
        }
    }
    assert_eq!(
        raw_mentions(&render(critical, &with_mention)),
        vec!["<!subteam^S0ONCALL1".to_owned()]
    );
    assert!(
        chat(&render(critical, &with_mention))["content"]["description"]
            .as_str()
            .unwrap()
            .starts_with("<!subteam^S0ONCALL1>\n"),
        "the mention leads the notification"
    );
    assert_eq!(
        raw_mentions(&render(&high, &with_mention)),
        Vec::<String>::new(),
        "high is below the default critical"
    );
    let from_high = Config {
        mention_severity: Severity::High,
        ..with_mention.clone()
    };
    assert_eq!(raw_mentions(&render(&high, &from_high)).len(), 1);
    // Email and machine JSON never carry it.
    let alert = render(critical, &with_mention);
    assert!(!alert.email.contains("S0ONCALL1") && !alert.machine.contains("S0ONCALL1"));
    // A recovery is info: mentioned only when the threshold is info.
    let q = quiet(Cause::MissingInvokePermission, "log:/g", &[]);
    assert!(raw_mentions(&render_recovered(&q, &with_mention)).is_empty());
    let from_info = Config {
        mention_severity: Severity::Info,
        ..with_mention
    };
    assert_eq!(raw_mentions(&render_recovered(&q, &from_info)).len(), 1);
}

#[test]
fn configured_severities_reach_attributes_and_machine_json() {
    let g = &group(&[finding(Cause::AuthorizerTimeout, "/g", "r", 1)], 5)[0];
    assert_eq!(render(g, &config()).attributes.severity, "high");
    let cfg = Config {
        severities: vec![(Cause::AuthorizerTimeout, Severity::Critical)],
        ..config()
    };
    let alert = render(g, &cfg);
    assert_eq!(alert.attributes.severity, "critical");
    let machine: serde_json::Value = serde_json::from_str(&alert.machine).unwrap();
    assert_eq!(machine["severity"], "critical");
}
