//! `check`: a log group searched in CloudWatch Logs and reported as the Lambda function would.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};

use super::args::{CheckArgs, log_group_flag};
use super::report::{Scanned, report};
use super::scan::diagnose_all;
use crate::diagnose::inspect::{self, AwsLogSearch, LogSearch};
use crate::forward;
use crate::text::escape::visible;

pub(super) async fn check(args: CheckArgs) -> Result<u8> {
    log_group_flag(&args.log_group)?;
    let config = args.settings.config()?;
    let topic = args.output.topic()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?;
    let start = now.saturating_sub(args.since);
    let search = AwsLogSearch::new(&inspect::sdk_config(config.region.as_deref()).await?);
    let events = search
        .search(
            &args.log_group,
            // What a subscription filter on this group uses: the term match narrows the search,
            // the scan then decides where the token stands.
            config.log_kind(&args.log_group).filter_pattern(),
            i64::try_from(start.as_millis()).unwrap_or(i64::MAX),
            i64::try_from(now.as_millis()).unwrap_or(i64::MAX),
        )
        .await
        .map_err(|e| anyhow!("{}: {e}", args.log_group))?;
    if events.len() >= inspect::MAX_SEARCH_EVENTS {
        eprintln!(
            "forwarder: {}: stopped after {} events; use a shorter --since for the rest",
            visible(&args.log_group),
            events.len()
        );
    }
    let scan = forward::scan_found(&args.log_group, &events, &config);
    let kind = config.log_kind(&args.log_group);
    let mut results = vec![Scanned::new(
        args.log_group.clone(),
        kind,
        scan,
        &config,
        false,
    )];
    diagnose_all(&mut results, &config).await;
    report(&results, &config, &args.output, topic).await
}
