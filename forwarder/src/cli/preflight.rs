//! `preflight`: what a deploy would fail on in this account and Region, printed with the fixes.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::args::PreflightArgs;
use super::stdout::{Closable, EXIT_CLEAN, EXIT_FLAGGED};
use crate::diagnose::inspect;
use crate::preflight::{self, AwsSurvey, GroupRole, Plan, Status};
use crate::text::escape::visible;

pub(super) async fn preflight(args: PreflightArgs) -> Result<u8> {
    let sdk = inspect::sdk_config(args.region.as_deref())
        .await
        .map_err(|e| anyhow!("preflight: {e}"))?;
    let region = sdk
        .region()
        .expect("sdk::load refuses a configuration without a Region")
        .as_ref()
        .to_owned();
    let log_groups = [
        (GroupRole::Access, &args.access_log_group),
        (GroupRole::Execution, &args.execution_log_group),
        (
            GroupRole::ExecutionDelivery,
            &args.execution_log_delivery_group,
        ),
    ]
    .into_iter()
    .filter_map(|(role, name)| name.clone().map(|n| (role, n)))
    .collect();
    let plan = Plan {
        stack_name: args.stack_name,
        region,
        log_groups,
        slack_workspace_id: args.slack_workspace_id,
        slack_channel_id: args.slack_channel_id,
        rest_logging: args.rest_logging,
        whole_account: args.whole_account,
        api_change_checks: args.api_change_checks,
    };
    // The reason says what to check.
    let facts = preflight::gather(&AwsSurvey::new(&sdk), &plan)
        .await
        .map_err(|e| anyhow!("preflight: {e}"))?;
    let findings = preflight::check(&plan, &facts);
    let fails = findings.iter().filter(|f| f.status == Status::Fail).count();
    let warns = findings.iter().filter(|f| f.status == Status::Warn).count();
    let mut out = std::io::BufWriter::new(Closable::stdout());
    if args.json {
        let doc = serde_json::json!({
            "stack_name": plan.stack_name,
            "region": plan.region,
            "partition": plan.partition(),
            "would_fail": fails,
            "warnings": warns,
            "findings": findings,
        });
        writeln!(out, "{doc}")?;
    } else {
        print_preflight(&mut out, &plan, &findings, fails, warns)?;
    }
    out.flush()?;
    Ok(if fails > 0 { EXIT_FLAGGED } else { EXIT_CLEAN })
}

fn print_preflight(
    out: &mut impl Write,
    plan: &Plan,
    findings: &[preflight::Finding],
    fails: usize,
    warns: usize,
) -> std::io::Result<()> {
    let verdict = if fails == 0 {
        "nothing would fail".to_owned()
    } else {
        format!("{fails} would fail")
    };
    let plural = if warns == 1 { "" } else { "s" };
    writeln!(
        out,
        "stack {} in {} ({}): {verdict}, {warns} warning{plural}",
        visible(&plan.stack_name),
        visible(&plan.region),
        plan.partition().as_str(),
    )?;
    for f in findings {
        writeln!(
            out,
            "  {:<4} {}: {}: {}",
            f.status.label(),
            f.check.name(),
            visible(&f.subject),
            visible(&f.summary)
        )?;
        if let Some(fix) = &f.fix {
            writeln!(out, "       fix: {}", visible(fix))?;
        }
    }
    Ok(())
}
