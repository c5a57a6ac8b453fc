//! CloudTrail: LookupEvents, every page, paced.
//!
//! "The default number of results returned is 50, with a maximum of 50 possible. The response
//! includes a token that you can use to get the next page of results." and "The rate of lookup
//! requests is limited to two per second, per account, per Region. If this limit is exceeded, a
//! throttling error occurs." (CloudTrail API Reference, LookupEvents,
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>). So pages
//! are asked for 50 at a time, and a client sends one request per half second at most. The pacing is
//! per client: two clients of one account and Region together can exceed the rate, and AWS then
//! throttles, which the SDK's retries absorb.

use super::{missing, not_sent, sdk_error};
use crate::api::CloudTrail;
use crate::error::{CloudError, CloudResult};
use crate::types::{EventLookup, LookedUpEvent, LookupKey};
use async_trait::async_trait;
use aws_sdk_cloudtrail::config::http::HttpResponse;
use aws_sdk_cloudtrail::error::SdkError;
use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsError;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_smithy_types::DateTime;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

const OP: &str = "LookupEvents";

/// The most events a page may hold (LookupEvents `MaxResults`).
const MAX_RESULTS: i32 = 50;

/// The least time between two LookupEvents requests of one client: two per second.
const PACE: Duration = Duration::from_millis(500);

pub(super) struct SdkCloudTrail {
    client: aws_sdk_cloudtrail::Client,
    /// When the last request was sent.
    last: Mutex<Option<Instant>>,
}

impl SdkCloudTrail {
    pub(super) fn new(client: aws_sdk_cloudtrail::Client) -> Self {
        Self { client, last: Mutex::new(None) }
    }

    /// Waits until a request may be sent, and notes that one is.
    async fn pace(&self) {
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + PACE).await;
        }
        *last = Some(Instant::now());
    }
}

fn key(k: LookupKey) -> LookupAttributeKey {
    match k {
        LookupKey::EventId => LookupAttributeKey::EventId,
        LookupKey::EventName => LookupAttributeKey::EventName,
        LookupKey::ReadOnly => LookupAttributeKey::ReadOnly,
        LookupKey::Username => LookupAttributeKey::Username,
        LookupKey::ResourceType => LookupAttributeKey::ResourceType,
        LookupKey::ResourceName => LookupAttributeKey::ResourceName,
        LookupKey::EventSource => LookupAttributeKey::EventSource,
        LookupKey::AccessKeyId => LookupAttributeKey::AccessKeyId,
    }
}

/// A time LookupEvents takes (seconds since the epoch, to the millisecond).
fn time(t: &chrono::DateTime<chrono::Utc>) -> DateTime {
    DateTime::from_millis(t.timestamp_millis())
}

/// A LookupEvents failure, through the one error mapping ([`sdk_error`]); an answer that carries no
/// AWS error at all (no code, no message, no request id: what moto 5.2.1, which does not implement
/// LookupEvents, answers, an HTML page with HTTP status 500) keeps its HTTP status in the message, so
/// that it can be told apart and explained.
fn lookup_error(err: SdkError<LookupEventsError, HttpResponse>) -> CloudError {
    let status = err.raw_response().map(|r| r.status().as_u16());
    match sdk_error("cloudtrail", OP, err) {
        CloudError::Api(mut e) if e.code.is_none() && e.message.is_none() && e.request_id.is_none() => {
            e.message =
                status.map(|s| format!("HTTP status {s}, and no AWS error code, message or request id in the answer"));
            CloudError::Api(e)
        }
        other => other,
    }
}

#[async_trait]
impl CloudTrail for SdkCloudTrail {
    async fn lookup_events(&self, query: &EventLookup) -> CloudResult<Vec<LookedUpEvent>> {
        let attribute = match &query.attribute {
            Some(a) => Some(
                LookupAttribute::builder()
                    .attribute_key(key(a.key))
                    .attribute_value(&a.value)
                    .build()
                    .map_err(|e| not_sent("cloudtrail", OP, e.to_string()))?,
            ),
            None => None,
        };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut tokens = BTreeSet::new();
        loop {
            self.pace().await;
            let page = self
                .client
                .lookup_events()
                .start_time(time(&query.start))
                .end_time(time(&query.end))
                .set_lookup_attributes(attribute.clone().map(|a| vec![a]))
                .max_results(MAX_RESULTS)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(lookup_error)?;
            for event in page.events() {
                let event_id = event.event_id().ok_or_else(|| missing("cloudtrail", OP, "Events.EventId"))?;
                let record =
                    event.cloud_trail_event().ok_or_else(|| missing("cloudtrail", OP, "Events.CloudTrailEvent"))?;
                out.push(LookedUpEvent { event_id: event_id.to_string(), record: record.to_string() });
            }
            match page.next_token().filter(|t| !t.is_empty()) {
                None => return Ok(out),
                // A token that comes back would page forever.
                Some(next) if !tokens.insert(next.to_string()) => {
                    return Err(CloudError::Malformed {
                        service: "cloudtrail",
                        operation: OP,
                        what: "the response's `NextToken` is one it gave before".to_string(),
                    })
                }
                Some(next) => token = Some(next.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_half_a_second_apart() {
        let config = aws_sdk_cloudtrail::Config::builder()
            .behavior_version(aws_sdk_cloudtrail::config::BehaviorVersion::latest())
            .build();
        let ct = SdkCloudTrail::new(aws_sdk_cloudtrail::Client::from_conf(config));
        let start = Instant::now();
        for _ in 0..3 {
            ct.pace().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= PACE * 2 && elapsed < PACE * 3, "{elapsed:?}");
    }

    #[test]
    fn every_attribute_key_is_aws_spelling() {
        for k in [
            LookupKey::EventId,
            LookupKey::EventName,
            LookupKey::ReadOnly,
            LookupKey::Username,
            LookupKey::ResourceType,
            LookupKey::ResourceName,
            LookupKey::EventSource,
            LookupKey::AccessKeyId,
        ] {
            assert_eq!(key(k).as_str(), k.as_str());
        }
    }
}
