//! The SDK adapter's CloudTrail LookupEvents. Against a moto server of the test's own (127.0.0.1
//! only): moto 5.2.1 does not implement LookupEvents (`moto/cloudtrail/responses.py` has no
//! `lookup_events`), so `custody audit` cannot read events from it; the first test pins down what the
//! adapter gets instead, so that `custody audit` can say so plainly. The paging and pacing the adapter
//! owes LookupEvents are checked against a stand-in on 127.0.0.1 that answers canned pages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::api::Cloud;
use custody_cloud::error::CloudError;
use custody_cloud::sdk::SdkCloud;
use custody_cloud::testing::Moto;
use custody_cloud::types::{EventLookup, LookupAttribute, LookupKey};

#[tokio::test]
async fn moto_does_not_serve_lookup_events() {
    let moto = Moto::start().await.unwrap();
    let cloud = SdkCloud::from_config(moto.sdk_config("us-east-1").await.unwrap());
    let end = chrono::Utc::now();
    for attribute in [None, Some(LookupAttribute { key: LookupKey::Username, value: "custody-IR-7".into() })] {
        let query = EventLookup { start: end - chrono::Duration::hours(1), end, attribute };
        let err = cloud.cloudtrail("us-east-1").lookup_events(&query).await.unwrap_err();
        // moto answers `HTTP/1.1 500 INTERNAL SERVER ERROR`, `Content-Type: text/html`, with Werkzeug's
        // "500 Internal Server Error" page ("The server encountered an internal error and was unable to
        // complete your request. …"), and logs `NotImplementedError: The lookup_events action has not
        // been implemented`. The SDK retries the 500 and gives up with a service error that has no
        // code, no message and no request id.
        let CloudError::Api(api) = &err else { panic!("not an AWS error: {err:?}") };
        assert_eq!((api.service, api.operation), ("cloudtrail", "LookupEvents"));
        assert_eq!((api.code.as_deref(), api.request_id.as_deref()), (None, None));
        assert_eq!(
            api.message.as_deref(),
            Some("HTTP status 500, and no AWS error code, message or request id in the answer")
        );
        assert!(!err.is_access_denied() && !err.is_fatal() && !err.is_not_found());
        assert_eq!(
            err.to_string(),
            "AWS error: `cloudtrail:LookupEvents`: HTTP status 500, and no AWS error code, message or request id \
             in the answer"
        );
    }
}

/// A stand-in for CloudTrail on 127.0.0.1 (moto has no LookupEvents to page through): answers each
/// LookupEvents with `pages(request body, n)` and keeps the bodies it was sent.
struct Stub {
    endpoint: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, serde_json::Value)>>>,
}

fn stub(pages: fn(&serde_json::Value) -> serde_json::Value) -> Stub {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let answer = pages(&request).to_string();
                    seen.lock().unwrap().push((std::time::Instant::now(), request));
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: stub\r\n\
                         Content-Length: {}\r\n\r\n",
                        answer.len()
                    );
                    out.write_all(head.as_bytes()).unwrap();
                    out.write_all(answer.as_bytes()).unwrap();
                }
            });
        }
    });
    Stub { endpoint, bodies }
}

impl Stub {
    async fn cloud(&self) -> SdkCloud {
        custody_cloud::testing::check_local(&self.endpoint).unwrap();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "stub"))
            .load()
            .await;
        SdkCloud::from_config(config)
    }
}

fn event(id: &str) -> serde_json::Value {
    serde_json::json!({"EventId": id, "EventName": "CopySnapshot",
                       "CloudTrailEvent": serde_json::json!({"eventID": id, "eventName": "CopySnapshot"}).to_string()})
}

#[tokio::test]
async fn every_page_is_read_fifty_events_at_a_time_and_no_faster_than_twice_a_second() {
    let stub = stub(|request| match request.get("NextToken").and_then(|t| t.as_str()) {
        None => serde_json::json!({"Events": [event("e1"), event("e2")], "NextToken": "t1"}),
        Some("t1") => serde_json::json!({"Events": [event("e3")], "NextToken": "t2"}),
        Some(_) => serde_json::json!({"Events": [event("e4")]}),
    });
    let cloud = stub.cloud().await;
    let end = chrono::Utc::now();
    let query = EventLookup {
        start: end - chrono::Duration::hours(1),
        end,
        attribute: Some(LookupAttribute { key: LookupKey::ResourceName, value: "snap-0123456789abcdef0".into() }),
    };
    let events = cloud.cloudtrail("eu-west-1").lookup_events(&query).await.unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["e1", "e2", "e3", "e4"]);
    let record: serde_json::Value = serde_json::from_str(&events[2].record).unwrap();
    assert_eq!(record["eventID"], "e3");
    let sent = stub.bodies.lock().unwrap().clone();
    assert_eq!(sent.len(), 3);
    for (n, (_, body)) in sent.iter().enumerate() {
        assert_eq!(body["MaxResults"], 50);
        assert_eq!(body["StartTime"].as_f64().unwrap() as i64, query.start.timestamp());
        assert_eq!(body["EndTime"].as_f64().unwrap() as i64, query.end.timestamp());
        assert_eq!(
            body["LookupAttributes"],
            serde_json::json!([{"AttributeKey": "ResourceName", "AttributeValue": "snap-0123456789abcdef0"}])
        );
        assert_eq!(body.get("NextToken").and_then(|t| t.as_str()), [None, Some("t1"), Some("t2")][n]);
    }
    // "The rate of lookup requests is limited to two per second, per account, per Region" (CloudTrail
    // API Reference, https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html).
    for pair in sent.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= std::time::Duration::from_millis(450), "pages too close together");
    }
}

#[tokio::test]
async fn a_next_token_that_comes_back_is_refused() {
    let stub = stub(|_| serde_json::json!({"Events": [event("e1")], "NextToken": "again"}));
    let cloud = stub.cloud().await;
    let end = chrono::Utc::now();
    let query = EventLookup { start: end - chrono::Duration::hours(1), end, attribute: None };
    let err = cloud.cloudtrail("eu-west-1").lookup_events(&query).await.unwrap_err();
    let CloudError::Malformed { what, .. } = &err else { panic!("{err:?}") };
    assert_eq!(what, "the response's `NextToken` is one it gave before");
    assert_eq!(stub.bodies.lock().unwrap().len(), 2);
}
