//! The soak's accounts: where every flagged line ended up, which alerts should not exist, and
//! which were sent more often than at-least-once delivery explains.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;

use forwarder_tests::fault_proxy::Record as ProxyRecord;

use crate::driver::Deliveries;
use crate::generate::{ACCOUNT, Input, JobKind, Plan, canonical};

/// The flood-control window of an API (`forwarder::alerts::flood::key`): one per API, whatever the cause,
/// in the account that delivered its lines (every batch here is `ACCOUNT`'s).
pub fn window_key(api: &str) -> String {
    format!("api:{ACCOUNT}:{api}")
}

/// An alert as the SQS subscriber received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub message_id: String,
    pub cause: String,
    pub api_ids: Vec<String>,
    pub samples: Vec<String>,
    /// Failed requests the alert counts.
    pub count: u64,
    pub omitted: u64,
    /// What the alert reports its previous window held back.
    pub suppressed_before: u64,
}

impl Seen {
    /// Reads the SNS envelope an SQS subscriber gets; `None` for anything else.
    pub fn from_envelope(body: &str) -> Option<Seen> {
        let envelope: serde_json::Value = serde_json::from_str(body).ok()?;
        let machine: serde_json::Value =
            serde_json::from_str(envelope["Message"].as_str()?).ok()?;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(Seen {
            message_id: envelope["MessageId"].as_str()?.to_owned(),
            cause: machine["cause"].as_str()?.to_owned(),
            api_ids: strings(&machine["api_ids"]),
            samples: strings(&machine["sample_request_ids"]),
            count: machine["count"].as_u64()?,
            omitted: machine["omitted_request_ids"].as_u64().unwrap_or(0),
            suppressed_before: machine["suppressed_before"]["failed_requests"]
                .as_u64()
                .unwrap_or(0),
        })
    }
}

/// Where the flagged lines ended up, and what went wrong.
#[derive(Debug, Default)]
pub struct Ledger {
    pub flagged: usize,
    /// Named in an alert the subscriber received.
    pub alerted: usize,
    /// In a batch (or Kinesis range) the dead-letter queue holds.
    pub dead_lettered: usize,
    /// Counted by flood control into the window of a problem whose alert was received.
    pub counted: usize,
    /// None of the above: the promise broken.
    pub lost: Vec<String>,
    /// Alerts naming a line or an API no alert may name.
    pub forged: Vec<String>,
    /// Lines named by more than one alert.
    pub duplicated_lines: usize,
    /// Alerts beyond the first that named a line.
    pub duplicate_alerts: usize,
    /// Duplicates that neither a retried delivery nor a lost answer explains.
    pub unexplained_duplicates: Vec<String>,
    /// Per flood problem: alerts received, and how many a fault explains beyond the first.
    pub flood: BTreeMap<String, (usize, usize)>,
    pub flood_violations: Vec<String>,
    /// Alerts that left request ids out (they would hide lines from this ledger).
    pub cut_alerts: usize,
    pub alerts: usize,
    pub dead_letter_records: usize,
    pub unknown_dead_letters: usize,
}

/// What the run left behind, read back at its end.
pub struct Evidence<'a> {
    pub alerts: &'a [Seen],
    pub dead_letters: &'a [serde_json::Value],
    pub proxy: &'a [ProxyRecord],
    /// Per flood-control key, what its window counted (`suppressed`).
    pub window_counts: &'a HashMap<String, u64>,
    /// Per flood-control key, how often a forwarder could not reach the table and alerted
    /// anyway (its log's "flood control unavailable; alerting").
    pub failed_open: &'a HashMap<String, usize>,
}

pub fn reconcile(plan: &Plan, deliveries: &Deliveries, evidence: &Evidence<'_>) -> Ledger {
    let Evidence {
        alerts,
        dead_letters,
        proxy,
        window_counts,
        failed_open,
    } = *evidence;
    let mut ledger = Ledger {
        alerts: alerts.len(),
        dead_letter_records: dead_letters.len(),
        ..Ledger::default()
    };
    // Which tags each alert named, and which problems were alerted.
    let mut named: HashMap<&str, usize> = HashMap::new();
    // Alerts per problem (API and cause), and the windows that alerted at all.
    let mut alerted_keys: HashMap<String, usize> = HashMap::new();
    let mut alerted_windows: HashSet<String> = HashSet::new();
    // The windows that alerted a specific cause: an `unknown` after it adds nothing, so any
    // batch's `unknown` lines of that API may be counted instead of alerted.
    let mut specific_windows: HashSet<String> = HashSet::new();
    let mut reported_before: HashMap<String, u64> = HashMap::new();
    let silent: HashSet<&str> = plan
        .jobs
        .iter()
        .flat_map(|j| j.silent_apis.iter().map(String::as_str))
        .collect();
    for a in alerts {
        if a.omitted > 0 {
            ledger.cut_alerts += 1;
        }
        // Every line of a batch is named (MAX_SAMPLES=100, batches hold fewer): a count beyond
        // the names would be lines the soak did not flag.
        if a.count != a.samples.len() as u64 {
            ledger.forged.push(format!(
                "{} counts {} requests but names {}",
                a.message_id,
                a.count,
                a.samples.len()
            ));
        }
        for s in &a.samples {
            *named.entry(s.as_str()).or_default() += 1;
            if !s.starts_with('T') {
                ledger.forged.push(format!("{} names {s}", a.message_id));
            }
        }
        for api in &a.api_ids {
            if silent.contains(api.as_str()) {
                ledger
                    .forged
                    .push(format!("{} names API {api}", a.message_id));
            }
            *alerted_keys
                .entry(format!("{api}#{}", a.cause))
                .or_default() += 1;
            alerted_windows.insert(window_key(api));
            if a.cause != "unknown" {
                specific_windows.insert(window_key(api));
            }
            *reported_before.entry(window_key(api)).or_default() += a.suppressed_before;
        }
    }
    // Which jobs and Kinesis records the dead-letter queue holds.
    let mut dead_jobs: HashSet<usize> = HashSet::new();
    let mut dead_records: HashSet<(usize, usize)> = HashSet::new();
    for d in dead_letters {
        if let Some(info) = d.get("KinesisBatchInfo") {
            let start = info["startSequenceNumber"]
                .as_str()
                .and_then(|s| plan.by_sequence.get(s));
            let end = info["endSequenceNumber"]
                .as_str()
                .and_then(|s| plan.by_sequence.get(s));
            match (start, end) {
                (Some(&(job, from)), Some(&(same, to))) if job == same => {
                    dead_records.extend((from..=to).map(|r| (job, r)));
                }
                _ => ledger.unknown_dead_letters += 1,
            }
        } else {
            let payload = serde_json::to_vec(&d["requestPayload"]).unwrap_or_default();
            match canonical(&payload).and_then(|c| plan.by_event.get(&c)) {
                Some(&job) => {
                    dead_jobs.insert(job);
                }
                None => ledger.unknown_dead_letters += 1,
            }
        }
    }
    // Answers that reached moto but may not have reached the forwarder: each explains one
    // repeat of what it carried.
    let ambiguous: Vec<&ProxyRecord> = proxy.iter().filter(|r| r.ambiguous()).collect();
    // Lines flood control counted but no alert named, per problem.
    let mut counted_per_key: HashMap<String, u64> = HashMap::new();
    for job in &plan.jobs {
        for f in &job.flagged {
            ledger.flagged += 1;
            let times = named.get(f.tag.as_str()).copied().unwrap_or(0);
            let key = window_key(&f.api);
            if times > 0 {
                ledger.alerted += 1;
                if times > 1 {
                    ledger.duplicated_lines += 1;
                    ledger.duplicate_alerts += times - 1;
                    let handed = match (&job.input, f.record) {
                        (Input::Kinesis(_), Some(r)) => {
                            deliveries.records[job.id][r].load(Ordering::Relaxed)
                        }
                        _ => deliveries.jobs[job.id].load(Ordering::Relaxed),
                    } as usize;
                    let lost_answers = ambiguous
                        .iter()
                        .filter(|r| r.service == "sns" && r.body.contains(&f.tag))
                        .count();
                    if times > handed + lost_answers {
                        ledger.unexplained_duplicates.push(format!(
                            "{} in {times} alerts, handed to the function {handed} times, {lost_answers} answers lost",
                            f.tag
                        ));
                    }
                }
                continue;
            }
            let dead = match f.record {
                Some(r) => dead_records.contains(&(job.id, r)),
                None => dead_jobs.contains(&job.id),
            };
            // Only a flood batch may be held back: every other batch's problem is its own, and
            // its own window lets it alert whenever it comes. It must say so in its answer. The
            // exception: `unknown` lines of an API whose window alerted a specific cause.
            let held_back = job.kind == JobKind::Flood
                && deliveries.answers[job.id]
                    .lock()
                    .unwrap()
                    .as_ref()
                    .is_some_and(|a| a["suppressed"].as_u64().unwrap_or(0) > 0);
            if dead {
                ledger.dead_lettered += 1;
            } else if (held_back && alerted_windows.contains(&key))
                || (f.cause == "unknown" && specific_windows.contains(&key))
            {
                *counted_per_key.entry(key).or_default() += 1;
                ledger.counted += 1;
            } else {
                ledger.lost.push(format!(
                    "{} ({} job {}, {key})",
                    f.tag,
                    job.kind.name(),
                    job.id
                ));
            }
        }
    }
    // A counted line is accounted for only if its problem's windows counted at least that many.
    for (key, lines) in &counted_per_key {
        let counted = window_counts.get(key).copied().unwrap_or(0)
            + reported_before.get(key).copied().unwrap_or(0);
        if counted < *lines {
            ledger.lost.push(format!(
                "{key}: {lines} lines neither alerted nor dead-lettered, but its windows counted {counted}"
            ));
        }
    }
    // Flood control: one alert per problem and window. Beyond it only these explain another: a
    // forwarder that could not reach the table and alerted anyway, a publish whose answer was
    // lost (the window was given back, another batch alerted), and a batch of the problem
    // delivered again (whose alert was not marked published, or whose claim's answer was lost).
    for (api, cause) in &plan.flood_keys {
        let key = format!("{api}#{cause}");
        let got = alerted_keys.get(&key).copied().unwrap_or(0);
        let redelivered: usize = plan
            .jobs
            .iter()
            .filter(|j| {
                j.kind == JobKind::Flood && j.flagged.first().is_some_and(|f| f.api == *api)
            })
            .map(|j| {
                deliveries.jobs[j.id]
                    .load(Ordering::Relaxed)
                    .saturating_sub(1) as usize
            })
            .sum();
        let explained = failed_open.get(&window_key(api)).copied().unwrap_or(0)
            + ambiguous
                .iter()
                .filter(|r| r.service == "sns" && r.body.contains(api.as_str()))
                .count()
            + redelivered;
        ledger.flood.insert(key.clone(), (got, explained));
        if got > 1 + explained {
            ledger.flood_violations.push(format!(
                "{key}: {got} alerts in one window, {explained} explained by faults and retries"
            ));
        }
    }
    ledger
}

impl Ledger {
    /// Everything the soak promises.
    pub fn holds(&self) -> bool {
        self.lost.is_empty()
            && self.forged.is_empty()
            && self.unexplained_duplicates.is_empty()
            && self.flood_violations.is_empty()
            && self.cut_alerts == 0
            && self.unknown_dead_letters == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Flagged, Job, JobKind};
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU32;

    const EVENT: &[u8] = br#"{"awslogs": {"data": "H4sI"}}"#;

    /// One asynchronous batch of `kind` with two flagged lines on API `a1`.
    fn plan(kind: JobKind) -> Plan {
        let flagged = ["T1=", "T2="]
            .iter()
            .map(|t| Flagged {
                tag: (*t).to_owned(),
                api: "a1".to_owned(),
                cause: "unknown",
                record: None,
            })
            .collect();
        Plan {
            jobs: vec![Job {
                id: 0,
                kind,
                input: Input::Async(EVENT.to_vec()),
                flagged,
                silent_apis: vec!["x1".to_owned()],
            }],
            flood_keys: match kind {
                JobKind::Flood => vec![("a1".to_owned(), "unknown")],
                _ => Vec::new(),
            },
            by_event: [(canonical(EVENT).unwrap(), 0)].into_iter().collect(),
            by_sequence: HashMap::new(),
        }
    }

    /// The job handed to the function `times` times; its last answer held back `suppressed`.
    fn delivered(times: u32, suppressed: u64) -> Deliveries {
        Deliveries {
            jobs: vec![AtomicU32::new(times)],
            records: vec![Vec::new()],
            answers: vec![Mutex::new(Some(
                serde_json::json!({ "suppressed": suppressed }),
            ))],
        }
    }

    fn alert(id: &str, samples: &[&str], apis: &[&str]) -> Seen {
        Seen {
            message_id: id.to_owned(),
            cause: "unknown".to_owned(),
            api_ids: apis.iter().map(|s| (*s).to_owned()).collect(),
            samples: samples.iter().map(|s| (*s).to_owned()).collect(),
            count: samples.len() as u64,
            omitted: 0,
            suppressed_before: 0,
        }
    }

    #[derive(Default)]
    struct Left {
        alerts: Vec<Seen>,
        dead: Vec<serde_json::Value>,
        proxy: Vec<ProxyRecord>,
        counts: HashMap<String, u64>,
        failed_open: HashMap<String, usize>,
    }

    impl Left {
        fn alerts(alerts: Vec<Seen>) -> Self {
            Left {
                alerts,
                ..Left::default()
            }
        }

        fn reconcile(&self, plan: &Plan, deliveries: &Deliveries) -> Ledger {
            let evidence = Evidence {
                alerts: &self.alerts,
                dead_letters: &self.dead,
                proxy: &self.proxy,
                window_counts: &self.counts,
                failed_open: &self.failed_open,
            };
            reconcile(plan, deliveries, &evidence)
        }
    }

    #[test]
    fn a_line_in_no_alert_and_no_dead_letter_is_lost() {
        let none = Left::default().reconcile(&plan(JobKind::Mixed), &delivered(1, 0));
        assert_eq!((none.flagged, none.lost.len()), (2, 2), "{:?}", none.lost);
        assert!(!none.holds());
        let both = Left::alerts(vec![alert("m1", &["T1=", "T2="], &["a1"])])
            .reconcile(&plan(JobKind::Mixed), &delivered(1, 0));
        assert_eq!(both.alerted, 2);
        assert!(both.holds(), "{both:?}");
    }

    #[test]
    fn only_a_flood_batch_that_said_so_may_be_held_back() {
        let mut left = Left::alerts(vec![alert("m1", &["T1="], &["a1"])]);
        left.counts.insert(window_key("a1"), 1);
        let flood = left.reconcile(&plan(JobKind::Flood), &delivered(1, 1));
        assert!(flood.holds(), "{:?}", flood.lost);
        assert_eq!(flood.counted, 1);
        // A mixed batch's problem is its own: nothing holds it back.
        let mixed = left.reconcile(&plan(JobKind::Mixed), &delivered(1, 1));
        assert_eq!(mixed.lost.len(), 1, "{:?}", mixed.lost);
        // A flood batch whose answer held nothing back.
        let silent = left.reconcile(&plan(JobKind::Flood), &delivered(1, 0));
        assert_eq!(silent.lost.len(), 1, "{:?}", silent.lost);
        // The windows must have counted it.
        left.counts.clear();
        let uncounted = left.reconcile(&plan(JobKind::Flood), &delivered(1, 1));
        assert_eq!(uncounted.lost.len(), 1, "the window counted 0 of 1 line");
    }

    #[test]
    fn a_dead_lettered_batch_accounts_for_its_lines() {
        let record = serde_json::json!({
            "requestContext": {"condition": "RetriesExhausted"},
            "requestPayload": serde_json::from_slice::<serde_json::Value>(EVENT).unwrap(),
        });
        let mut left = Left {
            dead: vec![record],
            ..Left::default()
        };
        let ledger = left.reconcile(&plan(JobKind::Mixed), &delivered(3, 0));
        assert_eq!(ledger.dead_lettered, 2);
        assert!(ledger.holds(), "{ledger:?}");
        left.dead = vec![serde_json::json!({"requestPayload": {"awslogs": {"data": "other"}}})];
        let stranger = left.reconcile(&plan(JobKind::Mixed), &delivered(3, 0));
        assert_eq!(stranger.unknown_dead_letters, 1);
    }

    #[test]
    fn alerts_naming_or_counting_what_no_alert_may_are_forged() {
        let mut overcount = alert("m3", &["T1=", "T2="], &["a1"]);
        overcount.count = 3;
        let forged = Left::alerts(vec![
            alert("m1", &["T1=", "T2=", "F9="], &["a1"]),
            alert("m2", &["T1="], &["x1"]),
            overcount,
        ])
        .reconcile(&plan(JobKind::Mixed), &delivered(3, 0));
        assert_eq!(forged.forged.len(), 3, "{:?}", forged.forged);
        assert!(!forged.holds());
    }

    #[test]
    fn only_a_redelivery_or_a_lost_answer_explains_a_repeat() {
        let twice = || {
            vec![
                alert("m1", &["T1=", "T2="], &["a1"]),
                alert("m2", &["T1=", "T2="], &["a1"]),
            ]
        };
        let mut left = Left::alerts(twice());
        let once = left.reconcile(&plan(JobKind::Mixed), &delivered(1, 0));
        assert_eq!(once.unexplained_duplicates.len(), 2);
        let retried = left.reconcile(&plan(JobKind::Mixed), &delivered(2, 0));
        assert!(retried.holds(), "{:?}", retried.unexplained_duplicates);
        assert_eq!((retried.duplicated_lines, retried.duplicate_alerts), (2, 2));
        left.proxy = vec![ProxyRecord {
            service: "sns".to_owned(),
            action: "Publish".to_owned(),
            forwarded: true,
            answered: false,
            body: "Message=... T1= T2= ... a1".to_owned(),
            ..ProxyRecord::default()
        }];
        let explained = left.reconcile(&plan(JobKind::Mixed), &delivered(1, 0));
        assert!(explained.holds(), "{:?}", explained.unexplained_duplicates);
    }

    #[test]
    fn a_flood_alerts_once_unless_a_fault_or_a_retry_explains_more() {
        let two = Left::alerts(vec![
            alert("m1", &["T1="], &["a1"]),
            alert("m2", &["T2="], &["a1"]),
        ]);
        let violation = two.reconcile(&plan(JobKind::Flood), &delivered(1, 0));
        assert_eq!(violation.flood_violations.len(), 1, "{violation:?}");
        let retried = two.reconcile(&plan(JobKind::Flood), &delivered(2, 0));
        assert!(retried.flood_violations.is_empty(), "{retried:?}");
        let mut unreachable = two;
        unreachable.failed_open.insert(window_key("a1"), 1);
        let failed_open = unreachable.reconcile(&plan(JobKind::Flood), &delivered(1, 0));
        assert!(failed_open.flood_violations.is_empty(), "{failed_open:?}");
    }
}
