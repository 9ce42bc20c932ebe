//! The alert that summarises the groups past the cap.

use super::*;
use crate::alerts::render::overflow::{OVERFLOW_NAMED, problems_and_lines};

/// Groups of `n` distinct APIs in `log_groups` log groups, two lines each.
fn many_groups(n: usize, log_groups: usize) -> Vec<Group> {
    let findings: Vec<Finding> = (0..n)
        .flat_map(|i| {
            let api = format!("{i:010}");
            let group = format!("/aws/api/{}", i % log_groups);
            let cause = if i % 2 == 0 {
                Cause::MissingInvokePermission
            } else {
                Cause::AuthorizerTimeout
            };
            let f = with(&finding(cause, &group, "r", 1), |t| t.api_id = Some(&api));
            [f.clone(), f]
        })
        .collect();
    group(&findings, 5)
}

/// Past MAX_ALERTS groups, one more alert tells how many problems and lines were left out,
/// of which causes, for which APIs and log groups; at or below it, there is none.
#[test]
fn the_groups_past_the_cap_are_summarised_in_one_alert() {
    let cap = MAX_ALERTS;
    // Groups come in the order of causes: the missing permissions first, then the timeouts;
    // a summary's severity is its most severe problem's.
    for (n, log_groups, summary) in [
        (0, 1, None),
        (1, 1, None),
        (cap, 3, None),
        (
            cap + 1,
            1,
            Some((
                "[prod] API authorizer alerts capped: 1 more problem summarised",
                "high",
            )),
        ),
        (
            cap + 30,
            12,
            Some((
                "[prod] API authorizer alerts capped: 30 more problems summarised",
                "critical",
            )),
        ),
    ] {
        let groups = many_groups(n, log_groups);
        assert_eq!(groups.len(), n);
        let alerts = render_all(&groups, &config());
        assert_eq!(
            alerts.len(),
            n.min(cap) + usize::from(summary.is_some()),
            "{n}"
        );
        let Some((subject, severity)) = summary else {
            continue;
        };
        let last = alerts.last().unwrap();
        assert_eq!(last.subject, subject);
        assert_eq!(last.attributes.severity, severity);
        assert_subject(&last.subject, None);
        assert_publishable(last);
        assert_shown_safely(last);
        assert_eq!(last.attributes.cause, OVERFLOW_CAUSE_CODE);
        let o = overflow(&groups[cap..]).unwrap();
        let left = n - cap;
        assert_eq!((o.problems, o.lines), (left, 2 * left));
        let by_cause: usize = o.causes.iter().map(|c| c.lines).sum();
        assert_eq!(by_cause, o.lines);
        assert_eq!(o.api_ids.len() + o.more_apis, left);
        assert_eq!(o.api_ids.len(), left.min(OVERFLOW_NAMED));
        let machine: serde_json::Value = serde_json::from_str(&last.machine).unwrap();
        assert_eq!(machine["problems"], left);
        assert_eq!(machine["lines"], 2 * left);
        assert_eq!(machine["max_alerts"], cap);
        assert_eq!(machine["api_ids"][0], o.api_ids[0].as_str());
        let chat = chat(last);
        assert!(
            chat["content"]["description"]
                .as_str()
                .unwrap()
                .contains(&problems_and_lines(left, 2 * left, Language::En)),
            "{chat}"
        );
    }
    // Plain grammar at one, and the names from the log escaped like any alert's.
    let one = many_groups(cap + 1, 1);
    let mut hostile = one.clone();
    hostile[cap].log_group = Some("/g\u{202e}<!channel>\n".to_owned());
    let alert = render_all(&hostile, &config()).pop().unwrap();
    assert!(
        alert.email.contains("Left out: 1 problem, 2 lines"),
        "{}",
        alert.email
    );
    assert_shown_safely(&alert);
    assert_publishable(&alert);
    let ja = Config {
        language: Language::Ja,
        ..config()
    };
    let alert = render_all(&one, &ja).pop().unwrap();
    assert!(
        alert.email.contains("省略: 問題 1 件、行 2 件"),
        "{}",
        alert.email
    );
}
