//! GetSnapshotBlock without the SDK's per-call machinery.
//!
//! Imaging makes one GetSnapshotBlock call per 512 KiB block: 2,048 calls per GiB. Through the SDK
//! every call runs the whole orchestrator (interceptors, configuration layers, endpoint resolution,
//! the identity cache, signing, response deserialization, body wrappers). Measured here against moto
//! that is about 0.4 CPU seconds per GiB, a quarter of what imaging costs in all. This module sends
//! the same request itself: an HTTP GET signed with SigV4, its body read as it arrives.
//!
//! It takes from the SDK everything that decides what the request is, so that it cannot drift from
//! it:
//! - the endpoint (scheme, host, any path prefix), the signing region and the signing name are read
//!   from the SDK's own signed ListSnapshotBlocks request ([`RecordTarget`], an interceptor on the
//!   EBS client). FIPS and dual-stack endpoints, `--endpoint-url`, `AWS_ENDPOINT_URL_EBS` and profile
//!   endpoints are therefore whatever the SDK resolved. Until a listing was made through the SDK,
//!   and for any signature other than SigV4, blocks are read through the SDK;
//! - the credentials provider of the EBS client's configuration, cached until five minutes before
//!   the credentials expire;
//! - SigV4 from `aws-sigv4`, the crate the SDK signs with, with the settings the SDK uses for
//!   services other than S3 (`SigningSettings::default()`), at this machine's time corrected by its
//!   measured offset from AWS's (`super::skew`), as the SDK corrects its own.
//!
//! A test checks the signature against botocore's, an independent SigV4 implementation (moto's
//! Python environment has it). moto itself cannot check EBS signatures: with authentication on it
//! refuses even boto3's own ListSnapshotBlocks.

use crate::ebs::skew::ClockSkew;
use crate::ebs::{BlockData, FailureKind, FetchedBlock, SourceError};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::connect::HttpConnector;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

const OPERATION: &str = "ebs:GetSnapshotBlock";

/// One block read may take this long before it is abandoned and retried: 512 KiB at 2 KiB/s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(256);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The connection's read buffer: a whole block and its headers, so that a block arriving at once is
/// taken in one read instead of the 8 KiB-and-growing reads hyper starts every connection with.
const READ_BUFFER: usize = 512 * 1024 + 16 * 1024;
/// Credentials are refreshed this long before they expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);
/// The most of an error answer's body that is read, for its code and message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Where and how the SDK sent a signed EBS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `scheme://authority` and any path prefix of the endpoint, without a trailing `/`.
    base: String,
    host: String,
    region: String,
    service: String,
}

impl Target {
    /// From a ListSnapshotBlocks request the SDK signed: its URI (the path ends with
    /// `/snapshots/<id>/blocks`) and its `Authorization` header. `None` for anything else, a
    /// signature other than SigV4 included.
    pub(crate) fn from_signed_request(uri: &str, authorization: Option<&str>) -> Option<Target> {
        let uri: http::Uri = uri.parse().ok()?;
        let scheme = uri.scheme_str()?;
        let host = uri.authority()?.as_str().to_string();
        let prefix = uri.path().split("/snapshots/").next()?.trim_end_matches('/');
        // `AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request, ...`
        let credential = authorization?.strip_prefix("AWS4-HMAC-SHA256 Credential=")?.split(',').next()?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [_, _, region, service, "aws4_request"] = scope[..] else {
            return None;
        };
        Some(Target {
            base: format!("{scheme}://{host}{prefix}"),
            host,
            region: region.to_string(),
            service: service.to_string(),
        })
    }
}

/// Records the [`Target`] of the first signed SigV4 request the EBS client sends, and the clock
/// offset every answer shows.
#[derive(Debug)]
pub(crate) struct RecordTarget {
    pub(crate) target: Arc<OnceLock<Target>>,
    pub(crate) skew: Arc<ClockSkew>,
}

/// When the request being answered was sent.
#[derive(Debug, Clone, Copy)]
struct SentAt(SystemTime);

impl Storable for SentAt {
    type Storer = StoreReplace<Self>;
}

impl Intercept for RecordTarget {
    fn name(&self) -> &'static str {
        "custody-record-ebs-target"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        if let Some(target) = Target::from_signed_request(request.uri(), request.headers().get("authorization")) {
            let _ = self.target.set(target);
        }
        cfg.interceptor_state().store_put(SentAt(SystemTime::now()));
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(SentAt(sent)) = cfg.load::<SentAt>().copied() {
            let headers = context.response().headers();
            self.skew.observe(sent, SystemTime::now(), |name| headers.get(name));
        }
        Ok(())
    }
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<HttpConnector>,
    http_body_util::Empty<bytes::Bytes>,
>;

/// GetSnapshotBlock as a signed GET.
#[derive(Debug)]
pub(crate) struct DirectReads {
    target: Arc<OnceLock<Target>>,
    http: HttpsClient,
    credentials: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
    refreshing: tokio::sync::Mutex<()>,
    skew: Arc<ClockSkew>,
}

impl DirectReads {
    /// `None` when there are no credentials to sign with, or no TLS roots to check AWS's
    /// certificate against: blocks are then read through the SDK, which reports either clearly.
    pub(crate) fn new(
        target: Arc<OnceLock<Target>>,
        credentials: Option<SharedCredentialsProvider>,
        skew: Arc<ClockSkew>,
    ) -> Option<Self> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .ok()?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http1_read_buf_exact_size(READ_BUFFER)
            .build(https);
        Some(DirectReads {
            target,
            http,
            credentials: credentials?,
            cached: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            skew,
        })
    }

    /// The target, once the SDK has sent a signed listing request.
    pub(crate) fn target(&self) -> Option<&Target> {
        self.target.get()
    }

    async fn credentials(&self) -> Result<Credentials, SourceError> {
        let fresh = |c: &Credentials| c.expiry().is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN);
        let cached = || self.cached.lock().ok().and_then(|c| c.clone()).filter(fresh);
        if let Some(credentials) = cached() {
            return Ok(credentials);
        }
        // One refresh at a time; the others wait for it and take its result.
        let _refreshing = self.refreshing.lock().await;
        if let Some(credentials) = cached() {
            return Ok(credentials);
        }
        let credentials = self.credentials.provide_credentials().await.map_err(|e| {
            SourceError::new(
                FailureKind::Fatal,
                OPERATION,
                format!("loading credentials: {}", crate::error::error_chain(&e)),
            )
        })?;
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some(credentials.clone());
        }
        Ok(credentials)
    }

    /// GetSnapshotBlock of `index` at `target`.
    pub(crate) async fn get_block(
        &self,
        target: &Target,
        snapshot_id: &str,
        index: i32,
        token: &str,
    ) -> Result<FetchedBlock, SourceError> {
        let credentials = self.credentials().await?;
        let uri = format!(
            "{}/snapshots/{}/blocks/{index}?blockToken={}",
            target.base,
            uri_encode(snapshot_id),
            uri_encode(token)
        );
        let sent_at = SystemTime::now();
        let request = signed_get(&uri, target, credentials, self.skew.now())?;
        let sent = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| transient(format!("sending: {}", crate::error::error_chain(&e))))?;
            let (parts, mut body) = response.into_parts();
            let offset = self
                .skew
                .observe(sent_at, SystemTime::now(), |name| parts.headers.get(name).and_then(|v| v.to_str().ok()));
            let mut pieces = Vec::new();
            let mut received = 0;
            while let Some(frame) = body.frame().await {
                let frame = frame
                    .map_err(|e| transient(format!("reading the block data: {}", crate::error::error_chain(&e))))?;
                if let Ok(data) = frame.into_data() {
                    received += data.len();
                    pieces.push(data);
                    if !parts.status.is_success() && received > ERROR_BODY_LIMIT {
                        break;
                    }
                }
            }
            Ok::<_, SourceError>((parts, pieces, offset))
        })
        .await;
        let (parts, pieces, offset) = match sent {
            Ok(result) => result?,
            Err(_) => return Err(transient(format!("no complete answer in {} s", REQUEST_TIMEOUT.as_secs()))),
        };
        block_answer(parts.status.as_u16(), &parts.headers, pieces, offset)
    }
}

/// A GetSnapshotBlock answer as it came (status, headers, the body in the pieces it arrived in):
/// the block as AWS describes it, or the failure an error answer says. Nothing is checked against
/// the API contract here; `fetch` does that. Public for the fuzz targets.
pub fn block_answer(
    status: u16,
    headers: &http::HeaderMap,
    pieces: Vec<bytes::Bytes>,
    offset: Option<i64>,
) -> Result<FetchedBlock, SourceError> {
    if !(200..300).contains(&status) {
        return Err(failure(status, headers, &pieces.concat(), offset));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    Ok(FetchedBlock {
        data: BlockData::from_parts(pieces),
        checksum: header("x-amz-checksum"),
        checksum_algorithm: header("x-amz-checksum-algorithm"),
        // An unparsable length is `None`, which the caller refuses like a missing one.
        data_length: header("x-amz-data-length").and_then(|v| v.parse().ok()),
    })
}

fn transient(message: String) -> SourceError {
    SourceError::new(FailureKind::Transient, OPERATION, message)
}

/// A GET of `uri` signed with SigV4 for `target` at `time`.
pub(crate) fn signed_get(
    uri: &str,
    target: &Target,
    credentials: Credentials,
    time: SystemTime,
) -> Result<http::Request<http_body_util::Empty<bytes::Bytes>>, SourceError> {
    let refuse = |what: &str, e: &dyn std::error::Error| {
        SourceError::new(FailureKind::Fatal, OPERATION, format!("{what}: {}", crate::error::error_chain(e)))
    };
    let identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&target.region)
        .name(&target.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| refuse("signing", &e))?
        .into();
    let headers = [("host", target.host.as_str())];
    let signable = SignableRequest::new("GET", uri, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| refuse("signing", &e))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| refuse("signing", &e))?.into_parts();
    let mut request = http::Request::get(uri)
        .header("host", &target.host)
        .body(http_body_util::Empty::new())
        .map_err(|e| refuse("building the request", &e))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

/// RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 wants path segments
/// and query values (snapshot ids and block tokens are unreserved already; this is for safety).
fn uri_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An error answer as restJson1 gives it: the code in `x-amzn-ErrorType` (or `__type` / `code` in
/// the body), the message in the body, the request id in `x-amzn-RequestId`. `offset` is the clock
/// offset this answer showed: a signature refused because of it is retried (`super::skew`).
pub fn failure(status: u16, headers: &http::HeaderMap, body: &[u8], offset: Option<i64>) -> SourceError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |names: &[&str]| names.iter().find_map(|name| json.as_ref()?.get(name)?.as_str().map(str::to_string));
    let code = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| field(&["__type", "code", "Code"]))
        .map(|code| {
            // `Code:http://...` in the header, `namespace#Code` in the body.
            let code = code.split(':').next().unwrap_or_default();
            code.rsplit('#').next().unwrap_or_default().to_string()
        })
        .filter(|code| !code.is_empty());
    let message = match (&code, field(&["message", "Message"])) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.clone(),
        (None, Some(message)) => format!("HTTP {status}: {message}"),
        (None, None) => format!("HTTP {status}"),
    };
    let (kind, message) =
        crate::ebs::classify::classify_answer(code.as_deref().unwrap_or_default(), Some(status), message, offset);
    SourceError {
        kind,
        operation: OPERATION,
        message,
        request_id: headers.get("x-amzn-requestid").and_then(|v| v.to_str().ok()).map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_read_from_the_sdk_signed_listing_request() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-3/ebs/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab";
        let target = Target::from_signed_request(
            "https://ebs-fips.eu-west-3.amazonaws.com/snapshots/snap-1/blocks?maxResults=10000",
            Some(auth),
        )
        .unwrap();
        assert_eq!(target.base, "https://ebs-fips.eu-west-3.amazonaws.com");
        assert_eq!(
            (target.host.as_str(), target.region.as_str(), target.service.as_str()),
            ("ebs-fips.eu-west-3.amazonaws.com", "eu-west-3", "ebs")
        );
        let prefixed =
            Target::from_signed_request("http://127.0.0.1:5000/proxy/snapshots/snap-1/blocks", Some(auth)).unwrap();
        assert_eq!(prefixed.base, "http://127.0.0.1:5000/proxy");
        // SigV4a, or no signature: no target, so the SDK keeps reading.
        assert_eq!(
            Target::from_signed_request(
                "https://h/snapshots/s/blocks",
                Some("AWS4-ECDSA-P256-SHA256 Credential=a/b/ebs/aws4_request")
            ),
            None
        );
        assert_eq!(Target::from_signed_request("https://h/snapshots/s/blocks", None), None);
    }

    #[test]
    fn the_request_is_signed_for_the_target() {
        let target = Target::from_signed_request(
            "https://ebs.us-east-1.amazonaws.com/snapshots/snap-1/blocks",
            Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/ebs/aws4_request, SignedHeaders=host, Signature=ab"),
        )
        .unwrap();
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let request = signed_get(
            "https://ebs.us-east-1.amazonaws.com/snapshots/snap-1/blocks/7?blockToken=t",
            &target,
            credentials,
            time,
        )
        .unwrap();
        let header = |name: &str| request.headers().get(name).unwrap().to_str().unwrap().to_string();
        let authorization = header("authorization");
        assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261118/us-east-1/ebs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="), "{authorization}");
        assert_eq!(header("x-amz-date"), "20261118T110640Z");
        assert_eq!(header("x-amz-security-token"), "token");
        assert_eq!(header("host"), "ebs.us-east-1.amazonaws.com");
    }

    /// botocore's SigV4 (`botocore.auth.SigV4Auth`, the AWS SDK for Python's signer) over the same
    /// request: what AWS computes to check a signature ("Create a signed AWS API request", IAM User
    /// Guide). Python and botocore come from `scripts/moto python`, which installs moto.
    #[test]
    fn the_signature_is_the_one_botocore_computes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = std::process::Command::new(root.join("scripts/moto")).arg("python").output().unwrap();
        assert!(out.status.success(), "`scripts/moto python` failed: moto's Python is needed for this test");
        let python = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let target = Target::from_signed_request(
            "https://ebs.eu-west-3.amazonaws.com/snapshots/snap-0f1e2d/blocks",
            Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-3/ebs/aws4_request, SignedHeaders=host, Signature=ab"),
        )
        .unwrap();
        let uri = "https://ebs.eu-west-3.amazonaws.com/snapshots/snap-0f1e2d/blocks/4095?blockToken=AAUBAX%2Bz%3D";
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session".into()),
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let request = signed_get(uri, &target, credentials, time).unwrap();
        let header = |name: &str| request.headers().get(name).unwrap().to_str().unwrap().to_string();
        let script = r#"
import sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
uri, amz_date = sys.argv[1], sys.argv[2]
request = AWSRequest(method="GET", url=uri, headers={
    "host": "ebs.eu-west-3.amazonaws.com", "x-amz-date": amz_date, "x-amz-security-token": "session"})
request.context["timestamp"] = amz_date
auth = SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session"), "ebs", "eu-west-3")
canonical = auth.canonical_request(request)
print(auth.signature(auth.string_to_sign(request, canonical), request))
"#;
        let out = std::process::Command::new(python).args(["-c", script, uri, &header("x-amz-date")]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let botocore = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_eq!(botocore.len(), 64, "{botocore}");
        assert_eq!(
            header("authorization"),
            format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261118/eu-west-3/ebs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={botocore}")
        );
    }

    #[test]
    fn error_answers_are_classified_like_the_sdk_does() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/".parse().unwrap());
        headers.insert("x-amzn-requestid", "r-1".parse().unwrap());
        let throttled = failure(400, &headers, br#"{"message":"slow down"}"#, None);
        assert_eq!(throttled.kind, FailureKind::Throttled);
        assert_eq!(throttled.message, "ThrottlingException: slow down");
        assert_eq!(throttled.request_id.as_deref(), Some("r-1"));
        let denied = failure(
            403,
            &http::HeaderMap::new(),
            br#"{"__type":"com.amazon#AccessDeniedException","Message":"no"}"#,
            None,
        );
        assert_eq!((denied.kind, denied.message.as_str()), (FailureKind::Fatal, "AccessDeniedException: no"));
        assert_eq!(failure(503, &http::HeaderMap::new(), b"<html>", None).kind, FailureKind::Transient);
        // A refused signature is retried only when the answer showed the clock far off (super::skew).
        let mut refused = http::HeaderMap::new();
        refused.insert("x-amzn-errortype", "InvalidSignatureException".parse().unwrap());
        let body = br#"{"message":"Signature expired"}"#;
        assert_eq!(failure(403, &refused, body, Some(60_000)).kind, FailureKind::Fatal);
        let skewed = failure(403, &refused, body, Some(-20 * 60_000));
        assert_eq!(skewed.kind, FailureKind::Transient);
        assert!(skewed.message.contains("clock is 20 min ahead of AWS's"), "{}", skewed.message);
        assert_eq!(failure(429, &http::HeaderMap::new(), b"", None).message, "HTTP 429");
        assert_eq!(failure(429, &http::HeaderMap::new(), b"", None).kind, FailureKind::Throttled);
    }

    /// Credentials that expire `lifetime` from when they are given, counting how often they are asked for.
    #[derive(Debug)]
    struct Counted {
        lifetime: Duration,
        asked: Arc<std::sync::atomic::AtomicU32>,
    }

    impl ProvideCredentials for Counted {
        fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let expiry = SystemTime::now() + self.lifetime;
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                Some(expiry),
                "test",
            )))
        }
    }

    fn reads_with(lifetime: Duration) -> (DirectReads, Arc<std::sync::atomic::AtomicU32>) {
        let asked = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let provider = SharedCredentialsProvider::new(Counted { lifetime, asked: asked.clone() });
        (DirectReads::new(Arc::new(OnceLock::new()), Some(provider), Arc::default()).unwrap(), asked)
    }

    #[tokio::test]
    async fn credentials_are_asked_for_once_while_they_have_a_while_to_live() {
        let (reads, asked) = reads_with(Duration::from_secs(3600));
        let (a, b, c) = tokio::join!(reads.credentials(), reads.credentials(), reads.credentials());
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        reads.credentials().await.unwrap();
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1, "asked once, then reused");

        // Within five minutes of expiring, credentials are not used again: every call asks anew.
        let (reads, asked) = reads_with(CREDENTIALS_MARGIN - Duration::from_secs(60));
        reads.credentials().await.unwrap();
        reads.credentials().await.unwrap();
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn without_credentials_blocks_are_left_to_the_sdk() {
        assert!(DirectReads::new(Arc::new(OnceLock::new()), None, Arc::default()).is_none());
    }

    #[test]
    fn only_unreserved_characters_go_unencoded() {
        assert_eq!(uri_encode("snap-0123abc"), "snap-0123abc");
        assert_eq!(uri_encode("a b/c+d=~_."), "a%20b%2Fc%2Bd%3D~_.");
    }
}
