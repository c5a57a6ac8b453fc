//! Fuzzing what the EBS direct APIs answer, as custody reads it: ListSnapshotBlocks pages (checked by
//! `fetch::list_all`), GetSnapshotBlock answers (the checks and the base64 checksum decoding of
//! `fetch`), and answers as they come over HTTP (`answers`: the status, the headers, the restJson error
//! body, the `Date` a clock offset is measured from). Structured-but-hostile values and arbitrary
//! bytes: never a panic or an overflow, errors are errors, and whatever is accepted honours the API's
//! contract (ListSnapshotBlocks, <https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html>;
//! GetSnapshotBlock, <https://docs.aws.amazon.com/ebs/latest/APIReference/API_GetSnapshotBlock.html>;
//! at most 64 TiB, <https://docs.aws.amazon.com/ebs/latest/userguide/volume_constraints.html>).
//!
//! ```console
//! $ cargo test --workspace --test image -- fuzz_ebs_answers::                               # 256 cases each
//! $ CUSTODY_FUZZ_SECONDS=450 target/debug/deps/image-<hash> fuzz_ebs_answers:: --test-threads 1  # 4 tests, 30 min
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::fuzz_support;
use crate::memory;

use base64::Engine as _;
use custody_image::answers::{block_answer, clock_offset, error_answer};
use custody_image::fetch::{list_all, read_block, MAX_VOLUME_SIZE_GIB};
use custody_image::{BlockData, BlockPage, FetchedBlock, ListedBlock, BLOCK_SIZE, GIB};
use fuzz_support::*;
use memory::{quick_retries, Memory, SNAPSHOT};
use sha2::{Digest as _, Sha256};
use std::time::{Duration, SystemTime};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

fn volume_size() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        4 => (1i64..4).prop_map(Some),
        2 => select(&[0i64, -1, 65_536, 65_537, 1 << 34, 1 << 40, i64::MAX, i64::MIN][..]).prop_map(Some),
        1 => any::<i64>().prop_map(Some),
        1 => Just(None),
    ]
}

fn block_index() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => 0i32..2048,
        2 => select(&[-1i32, 2048, 4095, 4096, 134_217_727, 134_217_728, i32::MAX, i32::MIN][..]),
        1 => any::<i32>(),
    ]
}

fn page() -> impl Strategy<Value = BlockPage> {
    let block_size = prop_oneof![
        6 => Just(Some(BLOCK_SIZE as i32)),
        1 => select(&[0i32, -1, 4096, 524_287, 524_289, i32::MAX, i32::MIN][..]).prop_map(Some),
        1 => Just(None),
    ];
    let token = prop_oneof![3 => Just(None), 2 => select(&["a", "b", ""][..]).prop_map(|t| Some(t.to_string()))];
    let block = (block_index(), select(HOSTILE_STRINGS)).prop_map(|(index, t)| ListedBlock { index, token: t.into() });
    (prop::collection::vec(block, 0..8), volume_size(), block_size, token).prop_map(
        |(blocks, volume_size_gib, block_size, next_token)| BlockPage {
            blocks,
            volume_size_gib,
            block_size,
            next_token,
            request_id: Some("r".into()),
        },
    )
}

/// Pages answered one after the other, whatever token is asked for (a hostile service need not
/// follow its own tokens).
#[test]
fn listings_never_panic_and_what_is_accepted_fits_the_volume() {
    let runtime = runtime();
    fuzz(prop::collection::vec(page(), 1..5), |pages| {
        let source = Memory::new(1, vec![]);
        let mut pages = pages.into_iter();
        let mut last = None;
        *source.rewrite_page.lock().unwrap() = Some(Box::new(move |_, page: &mut BlockPage| {
            // The last page given keeps being answered once the list runs out.
            if let Some(next) = pages.next() {
                last = Some(next);
            }
            *page = last.clone().unwrap();
        }));
        match runtime.block_on(list_all(&source, SNAPSHOT, &quick_retries())) {
            Ok(listing) => {
                prop_assert!((1..=MAX_VOLUME_SIZE_GIB).contains(&listing.volume_size_gib));
                prop_assert_eq!(listing.volume_bytes(), listing.volume_size_gib * GIB);
                let indexes: Vec<i32> = listing.blocks.iter().map(|b| b.index).collect();
                prop_assert!(indexes.windows(2).all(|w| w[0] < w[1]), "ascending, none twice: {:?}", indexes);
                prop_assert!(indexes.iter().all(|&i| i >= 0 && (i as u64) < listing.volume_blocks()));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        Ok(())
    });
}

/// A GetSnapshotBlock answer: data near 512 KiB in any pieces, any checksum (right, of the wrong
/// length, other alphabets, garbage), any algorithm and `DataLength`.
fn answer() -> impl Strategy<Value = (FetchedBlock, bool)> {
    let length = prop_oneof![
        4 => Just(BLOCK_SIZE as usize),
        1 => select(&[0usize, 1, BLOCK_SIZE as usize - 1, BLOCK_SIZE as usize + 1][..]),
    ];
    let cuts = prop::collection::vec(any::<prop::sample::Index>(), 0..4);
    let checksum = prop_oneof![
        4 => Just(0u8),                   // right
        1 => Just(1u8),                   // a SHA-256 of other data
        1 => Just(2u8),                   // 31 bytes
        1 => Just(3u8),                   // URL-safe alphabet, no padding
        2 => Just(4u8),                   // a hostile string
        1 => Just(5u8),                   // none
    ];
    let algorithm = prop_oneof![
        4 => Just(Some("SHA256".to_string())),
        1 => select(HOSTILE_STRINGS).prop_map(|s| Some(s.to_string())),
        1 => Just(None),
    ];
    let data_length = prop_oneof![
        4 => Just(Some(BLOCK_SIZE as i32)),
        1 => select(&[0i32, -1, 524_287, 524_289, i32::MAX, i32::MIN][..]).prop_map(Some),
        1 => Just(None),
    ];
    (length, any::<u8>(), cuts, checksum, select(HOSTILE_STRINGS), algorithm, data_length).prop_map(
        |(length, byte, cuts, checksum, hostile, checksum_algorithm, data_length)| {
            let data = vec![byte; length];
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(length + 1)).collect();
            at.sort_unstable();
            let mut parts = Vec::new();
            let mut from = 0;
            for to in at.into_iter().chain(std::iter::once(length)) {
                parts.push(bytes::Bytes::copy_from_slice(&data[from..to]));
                from = to;
            }
            let b64 = base64::engine::general_purpose::STANDARD;
            let sha = Sha256::digest(&data);
            let checksum = match checksum {
                0 => Some(b64.encode(sha)),
                1 => Some(b64.encode(Sha256::digest(b"other"))),
                2 => Some(b64.encode(&sha[..31])),
                3 => Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha)),
                4 => Some(hostile.to_string()),
                _ => None,
            };
            let honest = checksum.as_deref() == Some(b64.encode(sha).as_str());
            (FetchedBlock { data: BlockData::from_parts(parts), checksum, checksum_algorithm, data_length }, honest)
        },
    )
}

#[test]
fn block_answers_never_panic_and_only_a_block_that_checks_is_accepted() {
    let runtime = runtime();
    fuzz((answer(), block_index()), |((fetched, _honest), index)| {
        let source = Memory::small();
        let given = fetched.clone();
        *source.answer.lock().unwrap() = Some(Box::new(move |_| Ok(given.clone())));
        let block = ListedBlock { index, token: "t".into() };
        match runtime.block_on(read_block(&source, SNAPSHOT, &block, &quick_retries())) {
            Ok(verified) => {
                prop_assert!(index >= 0);
                prop_assert_eq!(verified.data.len() as u64, BLOCK_SIZE);
                prop_assert_eq!(fetched.checksum_algorithm.as_deref(), Some("SHA256"));
                prop_assert_eq!(fetched.data_length, Some(BLOCK_SIZE as i32));
                let actual: [u8; 32] = Sha256::digest(verified.data.to_vec()).into();
                prop_assert_eq!(actual, verified.sha256, "the block hashes to what AWS said");
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        Ok(())
    });
}

const HEADERS: &[&str] = &[
    "x-amzn-errortype",
    "x-amzn-requestid",
    "x-amz-checksum",
    "x-amz-checksum-algorithm",
    "x-amz-data-length",
    "date",
    "age",
    "content-type",
];

const ERROR_KEYS: &[&str] = &["__type", "code", "Code", "message", "Message", "Reason", "Field"];

fn headers() -> impl Strategy<Value = http::HeaderMap> {
    let value = prop_oneof![
        3 => select(HOSTILE_STRINGS).prop_map(|s| s.as_bytes().to_vec()),
        1 => Just(b"Sun, 22 Nov 2026 10:00:00 GMT".to_vec()),
        1 => Just(b"Thu, 01 Jan 1970 00:00:00 GMT".to_vec()),
        1 => Just(b"Fri, 31 Dec 9999 23:59:59 GMT".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ];
    prop::collection::vec((select(HEADERS), value), 0..6).prop_map(|pairs| {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            // Bytes HTTP cannot carry in a header never reach custody: the HTTP layer refuses them.
            if let Ok(value) = http::HeaderValue::from_bytes(&value) {
                map.append(name, value);
            }
        }
        map
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => json_value(ERROR_KEYS).prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => Just(Vec::new()),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => select(&[200u16, 204, 400, 403, 404, 429, 500, 503][..]),
        1 => any::<u16>(),
    ]
}

#[test]
fn http_answers_and_restjson_errors_never_panic_and_errors_say_what_failed() {
    let offset = prop_oneof![Just(None), any::<i64>().prop_map(Some), Just(Some(i64::MIN)), Just(Some(20 * 60_000))];
    fuzz((status(), headers(), body(), offset), |(status, headers, body, offset)| {
        let error = error_answer(status, &headers, &body, offset);
        prop_assert_eq!(error.operation, "ebs:GetSnapshotBlock");
        prop_assert!(!error.message.is_empty());
        let pieces = vec![bytes::Bytes::from(body.clone())];
        match block_answer(status, &headers, pieces, offset) {
            Ok(block) => {
                prop_assert!((200..300).contains(&status));
                prop_assert_eq!(block.data.to_vec(), body);
            }
            Err(e) => {
                prop_assert!(!(200..300).contains(&status), "a 2xx answer is a block: {}", e);
                prop_assert_eq!(e, error, "the same answer, the same failure");
            }
        }
        Ok(())
    });
}

#[test]
fn dates_of_answers_never_panic_and_an_offset_is_within_reason() {
    let instant = prop_oneof![
        Just(SystemTime::UNIX_EPOCH),
        Just(SystemTime::now()),
        (0u64..1 << 40).prop_map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
    ];
    let trip = prop_oneof![Just(0u64), 0u64..2_000_000_000];
    fuzz((headers(), instant, trip), |(headers, sent, trip_ms)| {
        let received = sent + Duration::from_millis(trip_ms);
        if let Some(offset) = clock_offset(sent, received, &headers) {
            // An `Age` (an answer from a cache) is not measured; one that is not text is not read.
            let age = headers.get("age").and_then(|v| v.to_str().ok());
            prop_assert!(headers.get("date").is_some() && age.is_none());
            prop_assert!(trip_ms <= 15 * 60 * 1000, "a round trip too long to tell is not measured");
            let _ = offset;
        }
        // The received time before the sent one (a clock stepped back) too.
        let _ = clock_offset(received, sent, &headers);
        Ok(())
    });
}
