//! What `scan` and `check` found, printed in the form asked for and published when asked to;
//! the exit status says whether anything was flagged.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::args::Output;
use super::stdout::{Closable, EXIT_CLEAN, EXIT_FLAGGED};
use crate::alerts::group::Group;
use crate::alerts::publish::SnsPublisher;
use crate::alerts::render::{self, Alert};
use crate::config::{Config, DEFAULT_METRICS_NAMESPACE, TopicArn};
use crate::detect::LogKind;
use crate::forward;
use crate::metrics::{self, Tally};
use crate::model::finding::Finding;
use crate::model::finding::Scan;
use crate::model::language::Language;
use crate::text::escape::{json_safe, visible};

/// One input's name and what came of scanning it.
pub(super) struct Scanned {
    pub(super) name: String,
    /// Which log the input was read as, for the metric its failures count in.
    pub(super) kind: LogKind,
    pub(super) scan: Scan,
    pub(super) groups: Vec<Group>,
    pub(super) alerts: Vec<Alert>,
    pub(super) control: bool,
}

impl Scanned {
    pub(super) fn new(
        name: String,
        kind: LogKind,
        scan: Scan,
        config: &Config,
        control: bool,
    ) -> Self {
        let groups = forward::groups_for(&scan, config);
        let alerts = render::render_all(&groups, config);
        Self {
            name,
            kind,
            scan,
            groups,
            alerts,
            control,
        }
    }
}

/// Prints the results in the chosen form, publishes when asked, and returns the exit status.
pub(super) async fn report(
    results: &[Scanned],
    config: &Config,
    output: &Output,
    topic: Option<TopicArn>,
) -> Result<u8> {
    // Stdout is line-buffered; a batch of findings would cost a write call per line.
    let mut out = std::io::BufWriter::new(Closable::stdout());
    for r in results {
        warn_unmatched(r);
        if output.json {
            for f in &r.scan.findings {
                writeln!(out, "{}", finding_json(&r.name, f))?;
            }
            writeln!(out, "{}", stats_json(&r.name, &r.scan))?;
        } else if output.alert {
            print_alerts(&mut out, r)?;
        } else if output.metrics {
            print_metrics(&mut out, r, config)?;
        } else {
            print_summary(&mut out, r, config.max_samples)?;
        }
    }
    out.flush()?;
    drop(out);
    if let Some(topic) = topic {
        let publisher = SnsPublisher::from_env(topic).await?;
        for r in results {
            let ids = forward::publish_all(&r.alerts, &publisher)
                .await
                .map_err(|e| anyhow!("{}: {e}", r.name))?;
            for id in ids {
                eprintln!(
                    "{}: published message {id} to {}",
                    r.name,
                    publisher.topic()
                );
            }
        }
    }
    // A blind scan is not a clean one: format drift is alerted on like a finding.
    Ok(
        if results
            .iter()
            .any(|r| !r.scan.findings.is_empty() || r.scan.format_drift())
        {
            EXIT_FLAGGED
        } else {
            EXIT_CLEAN
        },
    )
}

/// The EMF documents of one input, as one invocation of the Lambda would write them with flood
/// control off and every alert published; with metrics turned off (`METRICS_NAMESPACE=""`), under
/// the default namespace, since they were asked for.
fn print_metrics(out: &mut impl Write, r: &Scanned, config: &Config) -> Result<()> {
    let mut tally = Tally::default();
    tally.count_scan_as(&r.scan, r.kind);
    // As the function publishes them: the first groups one alert each, the rest one summary.
    for g in r.groups.iter().take(render::MAX_ALERTS) {
        tally.count_published(g);
    }
    if r.groups.len() > render::MAX_ALERTS {
        tally.alerts_published += 1;
    }
    let namespace = config
        .metrics_namespace
        .as_deref()
        .unwrap_or(DEFAULT_METRICS_NAMESPACE);
    Ok(metrics::write(out, &tally, namespace, None)?)
}

/// One line per input after its findings, told apart from them by its `stats` key.
fn stats_json(source: &str, scan: &Scan) -> serde_json::Value {
    serde_json::json!({
        "source": source,
        "stats": {
            "lines": scan.lines,
            "flagged": scan.findings.len(),
            "ignored": scan.ignored,
            "unmatched": scan.unmatched,
            "drifted": scan.drifted,
            "format_drift": scan.format_drift(),
        }
    })
}

/// Says on standard error that an input's lines do not follow the format, whatever the output
/// form: a blind scan must not read as a clean one.
fn warn_unmatched(r: &Scanned) {
    if r.scan.unmatched == 0 {
        return;
    }
    let what = if r.scan.format_drift() {
        "so detection is blind for them; give the stage's format with --format or ACCESS_LOG_FORMAT (or, for execution-log lines, the group with --log-group or --execution-log-group)"
    } else {
        "or a client value broke them so the token's place cannot be told; they were not read"
    };
    eprintln!(
        "forwarder: warning: {}: {} of {} lines carrying the token do not follow the log they were read as, {what}. First such line: {}",
        visible(&r.name),
        r.scan.unmatched,
        r.scan.with_token(),
        visible(&crate::text::escape::truncate(
            r.scan.unmatched_sample.as_deref().unwrap_or_default(),
            300
        )),
    );
}

fn finding_json(source: &str, f: &Finding) -> serde_json::Value {
    let mut v = serde_json::to_value(f).expect("a Finding always serialises");
    v["source"] = serde_json::Value::String(source.to_owned());
    v
}

/// A few findings per cause, as many as an alert samples (`--max-samples`), so a large log
/// reads as a report rather than a copy of itself.
fn print_summary(out: &mut impl Write, r: &Scanned, max_listed: usize) -> std::io::Result<()> {
    let name = visible(&r.name);
    if r.control {
        return writeln!(
            out,
            "{name}: control message (subscription health check), nothing to scan"
        );
    }
    let plural = if r.scan.lines == 1 { "" } else { "s" };
    write!(
        out,
        "{name}: {} line{plural}, {} flagged",
        r.scan.lines,
        r.scan.findings.len()
    )?;
    if r.scan.ignored > 0 {
        write!(
            out,
            ", {} ignored (token only in client-controlled text)",
            r.scan.ignored
        )?;
    }
    if r.scan.unmatched > 0 {
        write!(
            out,
            ", {} unmatched (token in a line that does not follow the format)",
            r.scan.unmatched
        )?;
    }
    writeln!(out)?;
    if r.scan.format_drift() {
        writeln!(
            out,
            "  {}: most lines carrying the token do not follow the format; detection is blind for them",
            crate::model::cause::Cause::FormatMismatch.code()
        )?;
    }
    // Each cause with its first findings; `--json` lists every one.
    let mut by_cause: std::collections::BTreeMap<_, Vec<&crate::model::finding::Finding>> =
        std::collections::BTreeMap::new();
    for f in &r.scan.findings {
        by_cause.entry(f.cause).or_default().push(f);
    }
    for (cause, findings) in &by_cause {
        writeln!(
            out,
            "  {} x{}: {}",
            cause.code(),
            findings.len(),
            cause.title(Language::En)
        )?;
        for f in findings.iter().take(max_listed) {
            writeln!(
                out,
                "    {} {} {} request {}: {}",
                visible(f.time().unwrap_or("-")),
                f.status.map_or("-".to_owned(), |s| s.to_string()),
                visible(f.route().unwrap_or("-")),
                visible(f.request_id().unwrap_or("-")),
                visible(&crate::text::escape::truncate(f.error(), 200)),
            )?;
        }
        if findings.len() > max_listed && max_listed > 0 {
            writeln!(
                out,
                "    ... and {} more (--json lists every finding)",
                findings.len() - max_listed
            )?;
        }
        for g in r.groups.iter().filter(|g| g.cause == *cause) {
            if let Some(d) = &g.diagnosis {
                for line in render::diagnosis_text(d).lines() {
                    writeln!(out, "    {line}")?;
                }
            }
        }
    }
    Ok(())
}

fn print_alerts(out: &mut impl Write, r: &Scanned) -> std::io::Result<()> {
    let total = r.alerts.len();
    if total == 0 {
        return writeln!(out, "{}: no alert", visible(&r.name));
    }
    for (i, a) in r.alerts.iter().enumerate() {
        let chat: serde_json::Value = serde_json::from_str(&a.chat).expect("we rendered JSON");
        let machine: serde_json::Value =
            serde_json::from_str(&a.machine).expect("we rendered JSON");
        writeln!(
            out,
            "===== {}: alert {} of {total} =====",
            visible(&r.name),
            i + 1
        )?;
        writeln!(out, "Subject: {}", a.subject)?;
        let attrs: Vec<String> = a
            .attributes
            .pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(out, "Attributes: {}", attrs.join(" "))?;
        writeln!(out, "----- email -----")?;
        write!(out, "{}", a.email)?;
        // Pretty printing writes the log's text raw again; `json_safe` keeps it escaped.
        writeln!(
            out,
            "----- chat (https: Amazon Q Developer in chat applications) -----"
        )?;
        writeln!(
            out,
            "{}",
            json_safe(&serde_json::to_string_pretty(&chat).expect("JSON"))
        )?;
        writeln!(out, "----- machine (default, sqs, lambda) -----")?;
        writeln!(
            out,
            "{}",
            json_safe(&serde_json::to_string_pretty(&machine).expect("JSON"))
        )?;
    }
    Ok(())
}
