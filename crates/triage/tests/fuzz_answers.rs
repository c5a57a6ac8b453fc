//! Robustness of what custody reads of AWS's answers in triage: the SDK adapter ([`SdkTriage`]) is
//! pointed at a server on 127.0.0.1 that answers every request with fuzzed bytes (arbitrary, or
//! SSM JSON and S3 XML with hostile values: endless next tokens, negative and huge sizes, ids that
//! climb out of a directory, control characters), and the functions that judge those answers
//! (which object is the stdout, which listed command is custody's, file names from keys) get
//! arbitrary input. Nothing may panic or hang, and a download never passes its cap.
//!
//! The case count comes from `CUSTODY_FUZZ_CASES` (default 256). A long run:
//!
//! ```console
//! $ CUSTODY_FUZZ_CASES=200000 cargo test --release --workspace --test triage -- fuzz_answers::
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_triage::download::{file_name, is_safe_id, Download};
use custody_triage::run::fetch::choose_stdout;
use custody_triage::run::resume::{comment, matching};
use custody_triage::SdkTriage;
use custody_triage::{ListedCommand, S3Location, S3Object, SendRequest, TriageAws};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn cases() -> u32 {
    std::env::var("CUSTODY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

/// What the server answers: status, content type, body.
type Answer = Arc<Mutex<(u16, &'static str, Vec<u8>)>>;

/// A server on 127.0.0.1 answering every request with the current [`Answer`].
async fn serve(answer: Answer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let answer = answer.clone();
            tokio::spawn(async move {
                // Read the request's head and body (Content-Length), then answer and close.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
                let (status, content_type, body) = answer.lock().unwrap().clone();
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

struct Harness {
    rt: tokio::runtime::Runtime,
    answer: Answer,
    sdk: SdkTriage,
    dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let answer: Answer = Arc::new(Mutex::new((200, "application/json", Vec::new())));
    let sdk = rt.block_on(async {
        let endpoint = serve(answer.clone()).await;
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("testing", "testing", None, None, "fuzz"),
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(std::time::Duration::from_secs(10))
                    .build(),
            )
            .build();
        SdkTriage::from_config(config)
    });
    Harness { rt, answer, sdk, dir: tempfile::tempdir().unwrap() }
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9-]{1,20}",
        Just("../../etc/passwd".to_string()),
        Just("stdout".to_string()),
        Just("a/stdout".to_string()),
        Just("x\u{1b}[2J\u{202e}".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("<![CDATA[x]]>".to_string()),
        Just("&amp;&lt;&#0;&#x110000;".to_string()),
        "\\PC{0,40}",
    ]
}

/// An SSM (awsJson1_1) answer of the shapes custody reads, with hostile values.
fn ssm_json() -> impl Strategy<Value = Vec<u8>> {
    (hostile_text(), hostile_text(), hostile_text(), any::<bool>(), any::<i64>(), hostile_text()).prop_map(
        |(id, c, doc, token, n, status)| {
            let token = if token { serde_json::json!("again") } else { serde_json::Value::Null };
            serde_json::json!({
                "Commands": [{"CommandId": id, "Comment": c, "DocumentName": doc, "InstanceIds": [id, c]}],
                "NextToken": token,
                "Command": {"CommandId": id},
                "Status": status, "StatusDetails": c, "ResponseCode": n,
                "StandardOutputContent": c, "StandardErrorContent": doc,
                "__type": status, "message": c,
            })
            .to_string()
            .into_bytes()
        },
    )
}

/// An S3 or EC2 XML answer with hostile values.
fn xml() -> impl Strategy<Value = Vec<u8>> {
    (hostile_text(), hostile_text(), hostile_text(), any::<bool>(), hostile_text()).prop_map(|(key, size, etag, more, id)| {
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;");
        format!(
            "<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>{}</Key><Size>{}</Size><ETag>{}</ETag></Contents>\
             <IsTruncated>{more}</IsTruncated><NextContinuationToken>{}</NextContinuationToken></ListBucketResult>\
             <DescribeInstancesResponse><reservationSet><item><ownerId>{}</ownerId><instancesSet><item><instanceId>{}\
             </instanceId></item></instancesSet></item></reservationSet><nextToken>t</nextToken></DescribeInstancesResponse>",
            esc(&key), esc(&size), esc(&etag), if more { "t" } else { "" }, esc(&id), esc(&key)
        )
        .into_bytes()
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..400), ssm_json(), xml()]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![4 => Just(200u16), 1 => Just(400u16), 1 => Just(403u16), 1 => Just(500u16)]
}

/// Every call of the adapter against the current answer; a download never passes its cap.
fn call_all(h: &Harness) {
    h.rt.block_on(async {
        let _ = h.sdk.describe_instances(&["i-0123456789abcdef0".into()], None).await;
        let _ = h.sdk.list_commands("AWS-RunShellScript", chrono::DateTime::<chrono::Utc>::UNIX_EPOCH).await;
        let _ = h.sdk.get_invocation("c", "i-0123456789abcdef0").await;
        let _ = h
            .sdk
            .send_command(&SendRequest {
                instance_id: "i-0123456789abcdef0".into(),
                document: "AWS-RunShellScript".into(),
                commands: vec!["true".into()],
                execution_timeout: 60,
                output: None,
                comment: "c".into(),
            })
            .await;
        if let Ok((listed, _)) = h.sdk.list_objects("bucket", "p/", 1000).await {
            assert!(listed.len() <= 1000);
        }
        let mut to = Download::create(h.dir.path(), "obj", 64, "s3://bucket/k").unwrap();
        if h.sdk.get_object("bucket", "k", &mut to).await.is_ok() {
            let done = to.finish().unwrap();
            assert!(done.bytes <= 64);
            assert!(std::fs::metadata(&done.path).unwrap().len() <= 64);
        }
    });
}

proptest! {
    // No regressions file: a failure is printed, shrunk, for the note or the issue; none is written beside the sources.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_sdk_adapter_never_panics_or_hangs_on_any_answer(status in status(), json in any::<bool>(), body in body()) {
        thread_local!(static H: Harness = harness());
        H.with(|h| {
            *h.answer.lock().unwrap() = (status, if json { "application/x-amz-json-1.1" } else { "application/xml" }, body);
            call_all(h);
        });
    }

    #[test]
    fn choosing_the_stdout_never_panics_and_never_picks_one_of_several(
        prefix in hostile_text(),
        keys in prop::collection::vec((hostile_text(), any::<Option<i64>>()), 0..8),
    ) {
        let listed: Vec<S3Object> = keys.iter().map(|(k, size)| S3Object { key: format!("{prefix}{k}"), size: *size, etag: None }).collect();
        let stdouts = listed.iter().filter(|o| o.key.strip_prefix(prefix.as_str()).unwrap_or(&o.key).rsplit('/').next() == Some("stdout")).count();
        match choose_stdout(&prefix, &listed) {
            Ok(Some(n)) => prop_assert!(stdouts == 1 && n < listed.len()),
            Ok(None) => prop_assert_eq!(stdouts, 0),
            Err(_) => prop_assert!(stdouts > 1),
        }
    }

    #[test]
    fn matching_listed_commands_never_panics_and_needs_the_exact_comment(
        listed in prop::collection::vec((hostile_text(), hostile_text(), hostile_text(), prop::collection::vec(hostile_text(), 0..3)), 0..6),
        reference in hostile_text(),
        case_id in hostile_text(),
        kind in hostile_text(),
    ) {
        let wanted = comment(&reference, &case_id, &kind);
        prop_assert!(wanted.chars().count() <= 100);
        let listed: Vec<ListedCommand> = listed
            .into_iter()
            .map(|(command_id, comment, document, instance_ids)| ListedCommand { command_id, document, comment, instance_ids })
            .collect();
        for id in matching(&listed, &wanted, "i-1", "AWS-RunShellScript") {
            let c = listed.iter().find(|c| c.command_id == id).unwrap();
            prop_assert!(c.comment == wanted && c.instance_ids.iter().any(|i| i == "i-1"));
        }
    }

    #[test]
    fn names_from_keys_and_ids_never_leave_their_directory(index in 0usize..100_000, key in hostile_text(), id in hostile_text()) {
        let name = file_name(index, &key);
        prop_assert!(!name.contains('/') && !name.starts_with('.') && name.is_ascii());
        if is_safe_id(&id) {
            prop_assert!(!id.contains('/') && !id.contains("..") && id != "." && !id.is_empty());
        }
        let _ = S3Location::parse(&key);
        let _ = S3Location::parse(&format!("s3://{id}/{key}"));
    }
}
