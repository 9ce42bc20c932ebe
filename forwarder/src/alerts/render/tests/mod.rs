//! Unit tests of `render`, beside it so its source stays readable.

mod bodies;
mod commands;
mod hostile;
mod links;
mod overflow;
mod subject;

use super::*;
use crate::alerts::flood::Quiet;
use crate::alerts::group::*;
use crate::model::cause::Cause;
use crate::model::finding::Finding;
use crate::model::finding::FindingText;
use crate::model::language::Language;
use crate::text::escape::truncate;

fn finding(cause: Cause, group: &str, id: &str, ts: i64) -> Finding {
    let mut f = Finding::new(
        cause,
        FindingText {
            request_id: Some(id),
            time: Some(&format!("t{ts}")),
            error: "AUTHORIZER text",
            route: Some("GET /orders"),
            api_id: Some("a1b2c3"),
            stage: Some("prod"),
            account_id: Some("123456789012"),
            ..FindingText::default()
        },
    );
    f.status = Some(500);
    f.log_group = Some(group.into());
    f.timestamp = Some(ts);
    f
}

/// The same finding with some text fields changed.
fn with<'a>(f: &'a Finding, change: impl FnOnce(&mut FindingText<'a>)) -> Finding {
    let mut text = f.text();
    change(&mut text);
    let mut changed = Finding::new(f.cause, text);
    changed.status = f.status;
    changed.log_group = f.log_group.clone();
    changed.timestamp = f.timestamp;
    changed
}

fn config() -> Config {
    Config {
        label: Some("prod".into()),
        region: Some("eu-west-1".into()),
        max_samples: 2,
        ..Config::default()
    }
}

/// SNS's subject rules, and the count at the end.
fn assert_subject(s: &str, count: Option<usize>) {
    assert!(s.len() < 100, "{} chars: {s}", s.len());
    assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{s:?}");
    assert!(s.starts_with(['[', 'A']), "{s}");
    if let Some(n) = count {
        assert!(s.ends_with(&format!(" ({n}x)")), "{s}");
    }
}

fn quiet(cause: Cause, scope: &str, ids: &[String]) -> Quiet {
    Quiet {
        key: scope.to_owned(),
        scope: scope.to_owned(),
        cause,
        last_seen: 1_700_000_000,
        suppressed: Suppressed {
            failed_requests: 5,
            batches: 2,
            window_start: 1_700_000_000,
            last_suppressed: 1_700_000_100,
            sample_request_ids: ids.to_vec(),
        },
        by_check: false,
    }
}

fn chat(alert: &Alert) -> serde_json::Value {
    serde_json::from_str(&alert.chat).unwrap()
}

/// What no person-facing body may carry raw: every [`crate::text::escape::is_unsafe`] character
/// but the line breaks the body is laid out with.
fn assert_shown_safely(alert: &Alert) {
    use crate::text::escape::is_unsafe;
    let raw = |s: &str| s.chars().find(|&c| is_unsafe(c) && c != '\n');
    assert_eq!(raw(&alert.email), None, "email");
    let chat: serde_json::Value = serde_json::from_str(&alert.chat).unwrap();
    let mut texts = vec![
        chat["content"]["title"].as_str().unwrap().to_owned(),
        chat["content"]["description"].as_str().unwrap().to_owned(),
    ];
    for step in chat["content"]["nextSteps"]
        .as_array()
        .into_iter()
        .flatten()
    {
        texts.push(step.as_str().unwrap().to_owned());
    }
    for t in &texts {
        assert_eq!(raw(t), None, "chat: {}", truncate(t, 2000));
        // The console link is the one piece of markup with `<`.
        let ours = t.replace("<https://eu-west-1.console.aws.amazon.com/", "");
        assert!(!ours.contains('<'), "chat: {}", truncate(t, 2000));
    }
    // The bodies as sent: no raw character at all, and the machine JSON's too.
    for (what, body) in [
        ("message", alert.message()),
        ("machine", alert.machine.clone()),
    ] {
        assert_eq!(body.chars().find(|&c| is_unsafe(c)), None, "{what}");
    }
    assert!(alert.subject.bytes().all(|b| (0x20..0x7f).contains(&b)));
    for (_, v) in alert.attributes.pairs() {
        assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b)), "{v:?}");
    }
}

/// SNS's limits, and bodies that are JSON whole.
fn assert_publishable(alert: &Alert) {
    let message = alert.message();
    assert!(
        alert.publish_bytes() < MAX_MESSAGE_BYTES,
        "{} bytes",
        alert.publish_bytes()
    );
    let parsed: serde_json::Value = serde_json::from_str(&message).unwrap();
    for key in ["default", "email", "https", "sqs", "lambda"] {
        assert!(parsed[key].is_string(), "{key}");
    }
    for body in [&alert.machine, &alert.chat] {
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
    for (_, v) in alert.attributes.pairs() {
        assert!(v.len() <= MAX_ATTRIBUTE_BYTES, "{}", v.len());
    }
}
