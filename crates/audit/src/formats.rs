//! CloudTrail's own file formats, read into records: nothing is converted or re-exported first, so an
//! audit can run where the logs were exported.
//!
//! Two formats are accepted, told apart by their top-level key:
//!
//! - a log file as CloudTrail delivers it to S3, `{"Records": [record, …]}`, gzip-compressed as
//!   delivered (`….json.gz`) or not
//!   (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>);
//! - the output of `aws cloudtrail lookup-events`, `{"Events": [{"EventId", "EventName",
//!   "CloudTrailEvent": "<the record as JSON text>", …}], "NextToken"?}`
//!   (<https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/lookup-events.html>; the fields of
//!   an event are those of <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Event.html>).
//!   Each `CloudTrailEvent` is parsed as a record, and its `EventId` must be the record's `eventID`.
//!
//! Gzip is recognised by its magic bytes (`1f 8b`, RFC 1952), not by the file name, and is
//! decompressed to at most [`MAX_DECOMPRESSED`] bytes. Everything else is refused with an
//! [`EventsError`] that names the file, the JSON path and the formats accepted.

use crate::record::{describe, parse_record, EventsError, TrailRecord};
use serde_json::Value;
use std::io::Read;

/// The most a gzip-compressed file may decompress to: 1 GiB. CloudTrail documents no limit on a log
/// file's size; this bounds the memory a damaged or hostile file can take (a gzip stream can
/// decompress to a thousand times its size).
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// What the formats accepted are, for error messages.
pub const ACCEPTED: &str = "a CloudTrail log file as delivered to S3 (`{\"Records\": [...]}`, gzip-compressed or \
     not) or the output of `aws cloudtrail lookup-events` (`{\"Events\": [...]}`)";

/// Which of CloudTrail's formats a file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsFormat {
    /// A log file as delivered to S3, `{"Records": […]}`.
    LogFile,
    /// The output of `aws cloudtrail lookup-events`, `{"Events": […]}`.
    LookupEvents,
}

/// A file of CloudTrail events, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsFile {
    pub format: EventsFormat,
    /// Whether the file was gzip-compressed.
    pub compressed: bool,
    /// The records, in the file's order (CloudTrail's log files are in no particular order;
    /// LookupEvents lists the newest first).
    pub records: Vec<TrailRecord>,
    /// The `NextToken` of a `lookup-events` output: present when the output is one page of more (the
    /// AWS CLI follows every page by default and prints a `NextToken` only when `--max-items` or
    /// `--no-paginate` stopped it early, <https://docs.aws.amazon.com/cli/latest/userguide/pagination.html>),
    /// so events after the page are missing from the file.
    pub next_token: Option<String>,
}

/// Reads the CloudTrail records in `bytes`, the contents of the file `name` (used in errors only).
pub fn read_events(name: &str, bytes: &[u8]) -> Result<Vec<TrailRecord>, EventsError> {
    read_events_file(name, bytes, MAX_DECOMPRESSED).map(|f| f.records)
}

/// Reads a file in one of CloudTrail's formats, decompressing gzip to at most `max_decompressed`
/// bytes, and says which format it was.
pub fn read_events_file(name: &str, bytes: &[u8], max_decompressed: u64) -> Result<EventsFile, EventsError> {
    let err = |expected: &str, found: String| EventsError::new("$", expected, found).in_file(name);
    let compressed = bytes.starts_with(&[0x1f, 0x8b]);
    let inflated;
    let text: &[u8] = if compressed {
        inflated = gunzip(bytes, max_decompressed).map_err(|found| {
            err(&format!("a whole gzip stream that decompresses to at most {}", size(max_decompressed)), found)
        })?;
        &inflated
    } else {
        bytes
    };
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    if text.iter().all(u8::is_ascii_whitespace) {
        let what = if compressed { "a gzip stream of nothing" } else { "an empty file" };
        return Err(err(ACCEPTED, what.into()));
    }
    if text.starts_with(b"\xFF\xFE") || text.starts_with(b"\xFE\xFF") {
        let found = "UTF-16 text (JSON is read as UTF-8: save the file as UTF-8)".to_string();
        return Err(err(ACCEPTED, found));
    }
    let value: Value =
        serde_json::from_slice(text).map_err(|e| err(ACCEPTED, format!("text that is not JSON ({e})")))?;
    read_value(&value, compressed).map_err(|e| e.in_file(name))
}

/// Decompresses a gzip stream (every member of it) to at most `max` bytes.
fn gunzip(bytes: &[u8], max: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(max.saturating_add(1));
    decoder.read_to_end(&mut out).map_err(|e| format!("a damaged gzip stream ({e})"))?;
    if u64::try_from(out.len()).map_or(true, |n| n > max) {
        return Err(format!("a gzip stream that decompresses to more than {}", size(max)));
    }
    Ok(out)
}

/// `n` bytes, in GiB when it is a whole number of them.
fn size(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else {
        format!("{n} bytes")
    }
}

/// The records of one parsed file, by its top-level key.
fn read_value(value: &Value, compressed: bool) -> Result<EventsFile, EventsError> {
    let Value::Object(top) = value else {
        return Err(EventsError::new("$", ACCEPTED, describe(value)));
    };
    let records = top.get("Records");
    let events = top.get("Events");
    match (records, events) {
        (Some(_), Some(_)) => Err(EventsError::new(
            "$",
            format!("{ACCEPTED}, one of the two"),
            "an object with both `Records` and `Events`",
        )),
        (Some(records), None) => {
            let records = log_file_records(records)?;
            Ok(EventsFile { format: EventsFormat::LogFile, compressed, records, next_token: None })
        }
        (None, Some(events)) => {
            let next_token = match top.get("NextToken") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(t.clone()),
                Some(v) => return Err(EventsError::new("$.NextToken", "a string or nothing", describe(v))),
            };
            let records = lookup_records(events)?;
            Ok(EventsFile { format: EventsFormat::LookupEvents, compressed, records, next_token })
        }
        (None, None) => Err(EventsError::new("$", ACCEPTED, what_else(value))),
    }
}

/// What an object with neither `Records` nor `Events` is, when it is something recognisable.
fn what_else(value: &Value) -> String {
    let has = |k: &str| value.get(k).is_some();
    if has("digestPublicKeyFingerprint") && has("logFiles") {
        // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
        "a CloudTrail digest file (it lists log files and their hashes; the events are in the log files)".into()
    } else if has("eventID") && has("eventSource") && has("eventName") {
        "a single CloudTrail record (a log file holds records in `{\"Records\": [...]}`)".into()
    } else {
        format!("{} (neither `Records` nor `Events`)", describe(value))
    }
}

fn log_file_records(records: &Value) -> Result<Vec<TrailRecord>, EventsError> {
    let Value::Array(items) = records else {
        return Err(EventsError::new("$.Records", "an array of CloudTrail records", describe(records)));
    };
    items.iter().enumerate().map(|(i, item)| parse_record(item, &format!("$.Records[{i}]"))).collect()
}

fn lookup_records(events: &Value) -> Result<Vec<TrailRecord>, EventsError> {
    let Value::Array(items) = events else {
        return Err(EventsError::new("$.Events", "an array of LookupEvents events", describe(events)));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("$.Events[{i}]");
        let Value::Object(event) = item else {
            let expected = "a LookupEvents event (an object with `EventId` and `CloudTrailEvent`)";
            return Err(EventsError::new(at, expected, describe(item)));
        };
        let text = match event.get("CloudTrailEvent") {
            Some(Value::String(text)) => text,
            other => {
                let found = other.map_or_else(|| "nothing".to_string(), describe);
                return Err(EventsError::new(format!("{at}.CloudTrailEvent"), "the record as JSON text", found));
            }
        };
        let event_id = match event.get("EventId") {
            // API_Event marks `EventId` as not required: without one there is nothing to compare.
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.as_str()),
            Some(v) => return Err(EventsError::new(format!("{at}.EventId"), "a string", describe(v))),
        };
        out.push(lookup_record(event_id, text, &at)?);
    }
    Ok(out)
}

/// One LookupEvents event: its `CloudTrailEvent` text parsed as a record whose `eventID` is `event_id`.
fn lookup_record(event_id: Option<&str>, text: &str, at: &str) -> Result<TrailRecord, EventsError> {
    let path = format!("{at}.CloudTrailEvent");
    let value: Value = serde_json::from_str(text)
        .map_err(|e| EventsError::new(&path, "the record as JSON text", format!("text that is not JSON ({e})")))?;
    let record = parse_record(&value, &path)?;
    match event_id {
        Some(id) if id != record.event_id => Err(EventsError::new(
            format!("{at}.EventId"),
            format!("the `eventID` of its CloudTrailEvent, {}", describe(&Value::String(record.event_id))),
            describe(&Value::String(id.to_string())),
        )),
        _ => Ok(record),
    }
}

/// The records of a live LookupEvents answer: each `(EventId, CloudTrailEvent)` pair parsed as in a
/// `lookup-events` output, errors naming `source` and `$.Events[i]`.
pub fn records_from_lookup(events: &[(String, String)], source: &str) -> Result<Vec<TrailRecord>, EventsError> {
    events
        .iter()
        .enumerate()
        .map(|(i, (id, text))| lookup_record(Some(id), text, &format!("$.Events[{i}]")).map_err(|e| e.in_file(source)))
        .collect()
}
