//! Windows in DynamoDB, shared by every invocation: conditional writes decide who alerts.

use std::collections::HashMap;
use std::ops::ControlFlow;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::alerts::group::Suppressed;
use crate::model::cause::Cause;

use super::key::parse_key;
use super::windows::{
    AlertWindows, FloodError, MAX_WINDOW_SAMPLES, Opening, Quiet, by_check, claim_tag, open_window,
    principal,
};

/// How long an item outlives its window, so a follow-up can still report it.
pub const TTL_AFTER_WINDOW_SECONDS: i64 = 7 * 24 * 3600;

/// Windows in a DynamoDB table with a string partition key `pk` and TTL on `expires_at`.
///
/// An item holds its window (`window_start`, `window_end`, `opened_by`), its counts, the causes
/// alerted in it (`causes`, a string set) with the claims behind them (`claims`, `CAUSE BATCH`)
/// and the claims whose alerts were published (`sent`), and its key again in `scope`. Items
/// written under the earlier key shape (`api:ID#cause`) lack `scope`: they still work as windows
/// for no key now in use, the recovery check skips them, and their TTL removes them within a week
/// of their window.
#[derive(Clone, Debug)]
pub struct DynamoWindows {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoWindows {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
        }
    }
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn suppressed_of(item: &HashMap<String, AttributeValue>) -> Suppressed {
    Suppressed {
        failed_requests: u64::try_from(number(item, "suppressed")).unwrap_or(0),
        batches: u64::try_from(number(item, "batches")).unwrap_or(0),
        window_start: number(item, "window_start"),
        last_suppressed: number(item, "last_suppressed"),
        sample_request_ids: item
            .get("sample_ids")
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default(),
    }
}

fn store_error<E>(e: &SdkError<E, HttpResponse>) -> FloodError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    FloodError::Store(crate::sdk::describe(e))
}

fn strings<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a [String] {
    item.get(name)
        .and_then(|v| v.as_ss().ok())
        .map_or(&[], Vec::as_slice)
}

fn ss(value: String) -> AttributeValue {
    AttributeValue::Ss(vec![value])
}

impl DynamoWindows {
    /// Reads the items that match `filter` page by page (`#scope` names the scope attribute,
    /// `:now` is `now` when given), until `visit` breaks or the table is read.
    async fn scan_each(
        &self,
        filter: &str,
        now: Option<i64>,
        projection: Option<&str>,
        mut visit: impl FnMut(&HashMap<String, AttributeValue>) -> ControlFlow<()>,
    ) -> Result<(), FloodError> {
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(filter)
                .expression_attribute_names("#scope", "scope")
                .set_projection_expression(projection.map(str::to_owned))
                .set_exclusive_start_key(start.take());
            if let Some(now) = now {
                request = request.expression_attribute_values(":now", n(now));
            }
            let page = request.send().await.map_err(|e| store_error(&e))?;
            for item in page.items() {
                if visit(item).is_break() {
                    return Ok(());
                }
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }
}

impl DynamoWindows {
    /// A write to one window's item; each caller adds its expression and its condition.
    fn update(&self, key: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
    }
}

/// Whether a conditional write was refused: the window was not as the write expected, which is
/// an answer (another invocation got there first), not a failure.
fn refused(e: &impl ProvideErrorMetadata) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

impl AlertWindows for DynamoWindows {
    async fn open(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
        until: i64,
    ) -> Result<Opening, FloodError> {
        let result = self.update(key)
            .update_expression(
                "SET #scope = :key, window_start = :now, window_end = :until, expires_at = :ttl, suppressed = :zero, batches = :zero, opened_by = :batch, causes = :cause, claims = :claim REMOVE sample_ids, last_suppressed, recovered_at, sent",
            )
            .condition_expression("attribute_not_exists(pk) OR window_end < :now")
            .expression_attribute_names("#scope", "scope")
            .expression_attribute_values(":key", AttributeValue::S(key.to_owned()))
            .expression_attribute_values(":cause", ss(cause.code().to_owned()))
            .expression_attribute_values(":claim", ss(claim_tag(cause, batch)))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":batch", AttributeValue::S(batch.to_owned()))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":ttl", n(until.saturating_add(TTL_AFTER_WINDOW_SECONDS)))
            .expression_attribute_values(":zero", n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            // The open window comes back with the refusal, so whose it is costs no second read.
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(out) => {
                // A window whose recovery was reported has told its counts already.
                let previous = out
                    .attributes()
                    .filter(|old| !old.contains_key("recovered_at"))
                    .map(suppressed_of);
                Ok(Opening::Opened { previous })
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    let empty = HashMap::new();
                    let item = refused.item().unwrap_or(&empty);
                    Ok(Opening::Open(open_window(
                        strings(item, "causes"),
                        strings(item, "claims"),
                        strings(item, "sent"),
                        batch,
                        cause,
                    )))
                }
                _ => Err(store_error(&e)),
            },
        }
    }

    async fn claim(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> Result<bool, FloodError> {
        // The rule of `adds_information`, checked by the write itself. An empty set is no
        // attribute in DynamoDB.
        let condition = if cause == Cause::Unknown {
            "window_end >= :now AND attribute_not_exists(causes)"
        } else {
            "window_end >= :now AND NOT contains(causes, :code)"
        };
        let mut request = self
            .update(key)
            .update_expression("ADD causes :cause, claims :claim")
            .condition_expression(condition)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":cause", ss(cause.code().to_owned()))
            .expression_attribute_values(":claim", ss(claim_tag(cause, batch)));
        if cause != Cause::Unknown {
            request = request
                .expression_attribute_values(":code", AttributeValue::S(cause.code().to_owned()));
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if refused(&e) => Ok(false),
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn mark_sent(&self, key: &str, batch: &str, cause: Cause) -> Result<(), FloodError> {
        let tag = claim_tag(cause, batch);
        let result = self
            .update(key)
            .update_expression("ADD sent :tags")
            // Only in the window the claim was made in; a later window is not this batch's.
            .condition_expression("contains(claims, :tag)")
            .expression_attribute_values(":tags", ss(tag.clone()))
            .expression_attribute_values(":tag", AttributeValue::S(tag))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if refused(&e) => Ok(()),
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn add(
        &self,
        key: &str,
        now: i64,
        failed_requests: u64,
        sample_request_ids: &[String],
    ) -> Result<(), FloodError> {
        let result = self
            .update(key)
            .update_expression("ADD suppressed :count, batches :one SET last_suppressed = :now")
            .condition_expression("window_end >= :now")
            .expression_attribute_values(":count", AttributeValue::N(failed_requests.to_string()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if refused(&e) => {
                return Err(FloodError::WindowClosed);
            }
            Err(e) => return Err(store_error(&e)),
        };
        // Samples only while the window has few: a string set caps nothing by itself.
        let before = out
            .attributes()
            .map_or(0, |a| number(a, "suppressed"))
            .saturating_sub(i64::try_from(failed_requests).unwrap_or(i64::MAX));
        let ids: Vec<String> = sample_request_ids
            .iter()
            .filter(|id| !id.is_empty())
            .take(MAX_WINDOW_SAMPLES)
            .cloned()
            .collect();
        if before < MAX_WINDOW_SAMPLES as i64 && !ids.is_empty() {
            let samples = self
                .update(key)
                .update_expression("ADD sample_ids :ids")
                .expression_attribute_values(":ids", AttributeValue::Ss(ids))
                .send()
                .await;
            if let Err(e) = samples {
                tracing::warn!(key, error = %store_error(&e), "sample ids not kept");
            }
        }
        Ok(())
    }

    async fn release(
        &self,
        key: &str,
        batch: &str,
        cause: Cause,
        now: i64,
    ) -> Result<(), FloodError> {
        let tag = claim_tag(cause, batch);
        let withdrawn = self
            .update(key)
            .update_expression("DELETE causes :cause, claims :tags")
            .condition_expression("contains(claims, :tag)")
            .expression_attribute_values(":cause", ss(cause.code().to_owned()))
            .expression_attribute_values(":tags", ss(tag.clone()))
            .expression_attribute_values(":tag", AttributeValue::S(tag))
            .send()
            .await;
        match withdrawn {
            Ok(_) => {}
            // Someone else's window by now: leave it.
            Err(e) if refused(&e) => return Ok(()),
            Err(e) => return Err(store_error(&e)),
        }
        // A window whose every alert failed ends, so the retry opens the next one and reports
        // what this one counted.
        let result = self
            .update(key)
            .update_expression("SET window_end = :ended")
            .condition_expression("opened_by = :batch AND attribute_not_exists(causes)")
            .expression_attribute_values(":ended", n(now.saturating_sub(1)))
            .expression_attribute_values(":batch", AttributeValue::S(batch.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if refused(&e) => Ok(()),
            Err(e) => Err(store_error(&e)),
        }
    }

    async fn quiet(&self, now: i64, quiet: i64) -> Result<Vec<Quiet>, FloodError> {
        // The table holds one small item per problem seen in the last week: a filtered scan.
        let mut found = Vec::new();
        self.scan_each(
            "window_end < :now AND attribute_not_exists(recovered_at) AND attribute_exists(#scope)",
            Some(now),
            None,
            |item| {
                let Some(key) = item.get("pk").and_then(|v| v.as_s().ok()) else {
                    return ControlFlow::Continue(());
                };
                if parse_key(key).is_none() {
                    return ControlFlow::Continue(());
                }
                let causes: Vec<Cause> = strings(item, "causes")
                    .iter()
                    .filter_map(|c| Cause::from_code(c))
                    .collect();
                let suppressed = suppressed_of(item);
                let last_seen = suppressed.window_start.max(suppressed.last_suppressed);
                if now.saturating_sub(last_seen) >= quiet && !by_check(strings(item, "claims")) {
                    found.push(Quiet {
                        key: key.clone(),
                        scope: key.clone(),
                        cause: principal(&causes),
                        last_seen,
                        suppressed,
                        by_check: false,
                    });
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    async fn pending(&self) -> Result<bool, FloodError> {
        let mut pending = false;
        self.scan_each(
            "attribute_not_exists(recovered_at) AND attribute_exists(#scope)",
            None,
            Some("pk, claims"),
            |item| {
                // The same keys the recovery check reports; any other item it never will.
                let key = item.get("pk").and_then(|v| v.as_s().ok());
                pending = key.is_some_and(|k| parse_key(k).is_some())
                    && !by_check(strings(item, "claims"));
                if pending {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await?;
        Ok(pending)
    }

    async fn unreported(&self, key: &str) -> Result<Option<Quiet>, FloodError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&e))?;
        let Some(item) = item.item() else {
            return Ok(None);
        };
        if item.contains_key("recovered_at") || !item.contains_key("scope") {
            return Ok(None);
        }
        let causes: Vec<Cause> = strings(item, "causes")
            .iter()
            .filter_map(|c| Cause::from_code(c))
            .collect();
        let suppressed = suppressed_of(item);
        Ok(Some(Quiet {
            key: key.to_owned(),
            scope: key.to_owned(),
            cause: principal(&causes),
            last_seen: suppressed.window_start.max(suppressed.last_suppressed),
            by_check: by_check(strings(item, "claims")),
            suppressed,
        }))
    }

    async fn mark_recovered(
        &self,
        key: &str,
        opened_at: i64,
        now: i64,
    ) -> Result<bool, FloodError> {
        let result = self
            .update(key)
            .update_expression("SET recovered_at = :now")
            .condition_expression("window_start = :opened AND attribute_not_exists(recovered_at)")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":opened", n(opened_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if refused(&e) => Ok(false),
            Err(e) => Err(store_error(&e)),
        }
    }
}
