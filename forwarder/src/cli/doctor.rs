//! `doctor`: every Lambda authorizer of an API, or of a stack's APIs, checked before traffic.

use std::io::Write;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::args::DoctorArgs;
use super::stdout::{Closable, EXIT_CLEAN, EXIT_FLAGGED};
use crate::config::{ConfigError, parse_api_id};
use crate::deploy::{
    self,
    aws::{AwsCatalog, AwsProber},
};
use crate::diagnose::inspect::{self, AwsInspector};
use crate::diagnose::{ApiKind, AuthorizerReport};
use crate::text::escape::visible;

/// How long `doctor` waits for API Gateway and Lambda in all.
const DOCTOR_BUDGET: Duration = Duration::from_secs(60);

pub(super) async fn doctor(args: DoctorArgs) -> Result<u8> {
    let api_id = args
        .api_id
        .as_deref()
        .map(|id| parse_api_id(id).map_err(|p| ConfigError::new("--api-id", p)))
        .transpose()?;
    if let Some(stack) = &args.stack
        && !crate::text::shape::is_stack_name(stack)
        && crate::sources::changes::stack_arn_parts(stack).is_none()
    {
        bail!(
            "--stack {stack:?} is not a stack name (a letter, then letters, digits and -, at most 128) or a stack ARN"
        );
    }
    let sdk = inspect::sdk_config(args.region.as_deref()).await?;
    let inspector = AwsInspector::new(&sdk);
    let probes = deploy::Probes {
        test_invoke: args.test_invoke,
        invoke: args.invoke_authorizers,
    };
    let prober = AwsProber::new(&sdk);
    let (ids, stack) = match (&api_id, &args.stack) {
        (Some(id), _) => (vec![id.clone()], None),
        (None, Some(stack)) => {
            let apis = deploy::catalog::stack_apis(&AwsCatalog::new(&sdk), stack)
                .await
                .map_err(|e| anyhow!("stack {stack}: {e}"))?;
            (apis.into_iter().map(|a| a.api_id).collect(), Some(stack))
        }
        (None, None) => unreachable!("clap requires --api-id or --stack"),
    };
    let mut checked = Vec::with_capacity(ids.len());
    for id in &ids {
        let c = deploy::check(&inspector, &prober, id, probes, DOCTOR_BUDGET)
            .await
            .map_err(|e| match e {
                // It names the API already.
                inspect::InspectError::ApiNotFound(_) => anyhow!("{e}"),
                e => anyhow!("API {id}: {e}"),
            })?;
        checked.push(c);
    }
    let problems: usize = checked.iter().map(deploy::Checked::with_problems).sum();
    let mut out = std::io::BufWriter::new(Closable::stdout());
    let doc = |c: &deploy::Checked| {
        serde_json::json!({
            "api_id": c.api_id,
            "api_kind": c.api_kind,
            "authorizers": c.authorizers,
            "authorizers_with_problems": c.with_problems(),
        })
    };
    match (stack, args.json) {
        (None, true) => writeln!(out, "{}", doc(&checked[0]))?,
        (None, false) => {
            let c = &checked[0];
            print_doctor(&mut out, c.api_kind, &c.api_id, &c.authorizers, problems)?;
        }
        (Some(stack), true) => {
            let doc = serde_json::json!({
                "stack": stack,
                "apis": checked.iter().map(doc).collect::<Vec<_>>(),
                "authorizers_with_problems": problems,
            });
            writeln!(out, "{doc}")?;
        }
        (Some(stack), false) => {
            let plural = if checked.len() == 1 { "" } else { "s" };
            writeln!(
                out,
                "stack {}: {} API{plural} (nested stacks included), {problems} authorizer{} with problems",
                visible(stack),
                checked.len(),
                if problems == 1 { "" } else { "s" }
            )?;
            for c in &checked {
                writeln!(out)?;
                print_doctor(
                    &mut out,
                    c.api_kind,
                    &c.api_id,
                    &c.authorizers,
                    c.with_problems(),
                )?;
            }
        }
    }
    out.flush()?;
    Ok(if problems > 0 {
        EXIT_FLAGGED
    } else {
        EXIT_CLEAN
    })
}

fn print_doctor(
    out: &mut impl Write,
    kind: ApiKind,
    api_id: &str,
    reports: &[AuthorizerReport],
    problems: usize,
) -> std::io::Result<()> {
    let api = kind.title();
    if reports.is_empty() {
        return writeln!(out, "{api} {api_id}: no route uses a Lambda authorizer");
    }
    let plural = if reports.len() == 1 { "" } else { "s" };
    writeln!(
        out,
        "{api} {api_id}: {} Lambda authorizer{plural} checked, {problems} with problems",
        reports.len()
    )?;
    for r in reports {
        writeln!(
            out,
            "authorizer {} ({}): routes {}",
            visible(&r.name),
            visible(&r.authorizer_id),
            visible(&r.routes.join(", "))
        )?;
        if let Some(f) = &r.function_arn {
            writeln!(out, "  function {}", visible(f))?;
        }
        for c in &r.checks {
            let mark = if c.ok { "ok" } else { "PROBLEM" };
            writeln!(out, "  {mark}: {}", visible(&c.summary))?;
            if let Some(cmd) = &c.command {
                writeln!(out, "    fix: {}", visible(cmd))?;
            }
        }
    }
    Ok(())
}
