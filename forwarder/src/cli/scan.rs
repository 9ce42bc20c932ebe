//! `scan`: lines, events and payloads read from files or standard input, on as many threads as
//! there are cores.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::args::{ScanArgs, log_group_flag};
use super::input::{read_input, refuse_terminal};
use super::report::{Scanned, report};
use super::stdout::EXIT_ERROR;
use crate::alerts::render;
use crate::config::Config;
use crate::detect::{self, LogKind};
use crate::diagnose::inspect::{self, AwsInspector};
use crate::forward;
use crate::sources::{self, Content};
use crate::text::escape::visible;

/// Scans one input. An input of several events (JSON Lines, events back to back, a Kinesis
/// event's records, an SQS dump's messages) gives one result per event, named `FILE#N`,
/// `FILE#SEQUENCE` or `FILE#MESSAGE_ID`, so a bad one is reported without hiding the others.
fn scan_input(
    name: String,
    bytes: &[u8],
    config: &Config,
    log_group: Option<&str>,
) -> Vec<Result<Scanned>> {
    let parts = match sources::sniff(bytes) {
        Ok(parts) => parts,
        Err(e) => return vec![Err(anyhow!("{name}: {e}"))],
    };
    let scan_payload = |name: String, payload: Result<sources::Payload, sources::DecodeError>| {
        let payload = payload.map_err(|e| anyhow!("{name}: {e}"))?;
        let batch = payload
            .parse_candidates()
            .map_err(|e| anyhow!("{name}: {e}"))?;
        let kind = config.log_kind(&batch.log_group);
        let scan = detect::scan_batch_as(&batch, &config.format, kind);
        Ok(Scanned::new(name, kind, scan, config, batch.is_control()))
    };
    // Lines and `aws logs` output name no group: the operator's --log-group says which log they
    // are; without it, a given format says access log, and only with neither are they sniffed.
    let kind_unnamed = |looks_like_execution_log: &dyn Fn() -> bool| match log_group {
        Some(g) => config.log_kind(g),
        None if config.format.is_given() => LogKind::Access,
        None if looks_like_execution_log() => LogKind::Execution,
        None => LogKind::Access,
    };
    // Each part is decoded as it is scanned, so one payload is held at a time.
    parts
        .into_iter()
        .map(|part| {
            let name = format!("{name}{}", part.at);
            match part.content {
                Ok(Content::Lines(text)) => {
                    let kind = kind_unnamed(&|| {
                        crate::detect::execution_log::looks_like_execution_log(&text)
                    });
                    let mut scan = detect::scan_text_as(&text, &config.format, kind);
                    if let Some(g) = log_group {
                        scan = scan.in_log_group(g);
                    }
                    Ok(Scanned::new(name, kind, scan, config, false))
                }
                Ok(Content::Events(events)) => {
                    let batch = sources::output_batch(&events, log_group);
                    let kind = kind_unnamed(&|| events.iter().all(|e| e.message.starts_with('(')));
                    let scan = detect::scan_batch_as(&batch, &config.format, kind);
                    Ok(Scanned::new(name, kind, scan, config, false))
                }
                Ok(Content::Encoded(data)) => scan_payload(name, sources::decode_data(&data)),
                Ok(Content::Payload(payload)) => scan_payload(name, Ok(payload)),
                Err(e) => Err(anyhow!("{name}: {e}")),
            }
        })
        .collect()
}

/// Scans the inputs on as many threads as there are cores, keeping their order: each input is
/// decoded and scanned on its own, and inflating dominates the cost.
fn scan_all(
    paths: &[Option<&PathBuf>],
    config: &Config,
    log_group: Option<&str>,
) -> Vec<Result<Scanned>> {
    let scan_one = |path: Option<&PathBuf>| match read_input(path) {
        Ok((name, bytes)) => scan_input(name, &bytes, config, log_group),
        Err(e) => vec![Err(e)],
    };
    // One input stays on this thread: a worker would cost a spawn and a fresh malloc arena.
    if let [path] = paths {
        return scan_one(*path);
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(paths.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Vec<Result<Scanned>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = paths.get(i) else { break mine };
                        mine.push((i, scan_one(*path)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a scan thread does not panic"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter()
        .flat_map(|(_, outcomes)| outcomes)
        .collect()
}

pub(super) async fn scan(args: ScanArgs) -> Result<u8> {
    refuse_terminal("scan", !args.paths.is_empty())?;
    let config = args.settings.config()?;
    let topic = args.output.topic()?;
    let paths: Vec<Option<&PathBuf>> = if args.paths.is_empty() {
        vec![None]
    } else {
        args.paths.iter().map(Some).collect()
    };
    let mut results = Vec::new();
    let mut failed = false;
    let log_group = args.log_group.as_deref().map(log_group_flag).transpose()?;
    for outcome in scan_all(&paths, &config, log_group.as_deref()) {
        match outcome {
            Ok(scanned) => results.push(scanned),
            Err(e) => {
                eprintln!("forwarder: {}", visible(&format!("{e:#}")));
                failed = true;
            }
        }
    }
    diagnose_all(&mut results, &config).await;
    let code = report(&results, &config, &args.output, topic).await?;
    Ok(if failed { EXIT_ERROR } else { code })
}

/// Adds the live API's diagnosis to every alert, when asked to.
pub(super) async fn diagnose_all(results: &mut [Scanned], config: &Config) {
    async fn diagnose_with<I: inspect::Inspector>(
        results: &mut [Scanned],
        config: &Config,
        inspector: &I,
    ) {
        for r in results {
            forward::diagnose_groups(&mut r.groups, config, inspector).await;
            r.alerts = render::render_all(&r.groups, config);
        }
    }
    if !config.diagnose || results.iter().all(|r| r.groups.is_empty()) {
        return;
    }
    match AwsInspector::from_env(config.region.as_deref()).await {
        Ok(inspector) => diagnose_with(results, config, &inspector).await,
        // No call can be made: each alert says why, as it says why a call failed.
        Err(e) => {
            let failing = inspect::MemoryInspector {
                failure: Some(inspect::InspectError::Setup(e)),
                ..Default::default()
            };
            diagnose_with(results, config, &failing).await;
        }
    }
}
