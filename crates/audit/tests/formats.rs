//! CloudTrail's formats, read from fixtures built from the log-entry examples AWS publishes (each
//! fixture's page is in `tests/fixtures/SOURCES.md`): every fixture reads, the fields come out as
//! AWS printed them, and every bad input is refused with the exact file, JSON path and expectation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_audit::formats::{read_events_file, records_from_lookup, EventsFormat, MAX_DECOMPRESSED};
use custody_audit::record::{describe, EventsError};
use custody_audit::{parse_record, read_events, TrailRecord};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(name: &str) -> Vec<TrailRecord> {
    read_events(name, &fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn error(name: &str, bytes: &[u8]) -> String {
    match read_events(name, bytes) {
        Ok(records) => panic!("{name}: read {} record(s), expected a refusal", records.len()),
        Err(e) => e.to_string(),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const EBS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/e29ddfd4-1bf6-4e1b-8ecb-08216bd70d07";

#[test]
fn the_kms_log_entry_examples_read_with_their_fields() {
    let r = read("kms-log-file.json");
    let names: Vec<_> = r.iter().map(|r| r.event_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "CreateGrant",
            "Decrypt",
            "Decrypt",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncrypt",
            "RetireGrant",
            "CreateAlias",
            "ScheduleKeyDeletion",
            "DeleteKey"
        ]
    );
    let grant = &r[0];
    assert_eq!(grant.event_id, "5d529779-2d27-42b5-92da-91aaea1fc4b5");
    assert_eq!(grant.event_version, "1.02");
    assert_eq!(grant.event_time.to_rfc3339(), "2014-11-04T00:53:12+00:00");
    assert_eq!(grant.event_time(), grant.event_time);
    assert_eq!(grant.aws_region, "us-east-1");
    assert_eq!(grant.request_id.as_deref(), Some("f3c08808-63bc-11e4-bc2b-4198b6150d5c"));
    assert_eq!(grant.action().as_deref(), Some("kms:CreateGrant"));
    assert_eq!(grant.resource_arns(), [KEY]);
    assert_eq!(grant.read_only, Some(false));
    assert_eq!(grant.recipient_account_id.as_deref(), Some("111122223333"));
    assert_eq!(grant.user_identity.identity_type.as_deref(), Some("IAMUser"));
    assert_eq!(grant.user_identity.user_name.as_deref(), Some("Alice"));
    assert_eq!(grant.request_param("granteePrincipal").and_then(|v| v.as_str()), Some("EX_PRINCIPAL_ID"));
    assert_eq!(
        grant.response_element("grantId").and_then(|v| v.as_str()),
        Some("f020fe75197b93991dc8491d6f19dd3cebb24ee62277a05914386724f3d48758")
    );
    assert_eq!(grant.session_name(), None, "an IAM user has no role session");
    assert_eq!(grant.encryption_context_ebs_id(), None);
    // Alice's own calls: an address in sourceIPAddress, although AWS's examples print
    // `"userAgent": "AWS Internal"` (ct-creategrant, ct-decrypt).
    assert!(r[..8].iter().all(|r| !r.is_service_call()), "{:?}", r.iter().map(TrailRecord::acting_service));

    // The refused Decrypt keeps its error; AWS gives both Decrypt examples the same eventID.
    assert_eq!(r[1].error_code, None);
    assert_eq!(r[2].error_code.as_deref(), Some("IncorrectKeyException"));
    assert!(r[2].error_message.as_deref().unwrap().starts_with("The key ID in the request"));
    assert_eq!(r[1].event_id, r[2].event_id);
    assert_eq!(r[1].resources[0].resource_type.as_deref(), Some("AWS::KMS::Key"));
    assert_eq!(r[3].error_code.as_deref(), Some("InvalidKeyUsageException"));
    assert_eq!(r[3].error_message, None);

    // ReEncrypt: the source key, then the destination key (ct-reencrypt).
    let key2 = "arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321";
    assert_eq!(r[4].resource_arns(), [KEY, key2]);
    assert_eq!(r[4].action().as_deref(), Some("kms:ReEncrypt"));

    // RetireGrant: requestParameters null, the grant in additionalEventData (kept in raw).
    assert_eq!(r[5].request_param("grantId"), None);
    assert_eq!(r[5].raw["additionalEventData"]["grantId"].as_str().map(str::len), Some(64));
    assert_eq!(r[5].management_event, Some(true));
    assert_eq!(r[5].event_category.as_deref(), Some("Management"));

    // CreateAlias: the session attributes of an IAM user, and two resources.
    let ctx = r[6].user_identity.session_context.as_ref().unwrap();
    assert_eq!(ctx.mfa_authenticated.as_deref(), Some("false"));
    assert_eq!(ctx.creation_date.as_deref(), Some("2014-11-04T00:52:27Z"));
    assert_eq!(ctx.session_issuer, None);
    assert_eq!(r[6].resource_arns().len(), 2);

    // DeleteKey: a service event, with no identity type and no request id.
    let delete = &r[8];
    assert_eq!(delete.event_type.as_deref(), Some("AwsServiceEvent"));
    assert_eq!(delete.user_identity.identity_type, None);
    assert_eq!(delete.request_id, None);
    assert_eq!(delete.invoked_by(), Some("AWS Internal"));
    assert!(delete.is_service_call());
}

#[test]
fn the_same_log_file_gzipped_reads_the_same() {
    let plain = fixture("kms-log-file.json");
    let gz = gzip(&plain);
    assert_eq!(&gz[..2], [0x1f, 0x8b]);
    let name = "111122223333_CloudTrail_us-east-1_20141104T0100Z_Mu0KsOhtH1ar15ZZ.json.gz";
    let file = read_events_file(name, &gz, MAX_DECOMPRESSED).unwrap();
    assert!(file.compressed);
    assert_eq!(file.format, EventsFormat::LogFile);
    assert_eq!(file.records, read("kms-log-file.json"));
    // Detected by content, not by name: the same bytes under a `.json` name read the same.
    assert_eq!(read_events("kms-log-file.json", &gz).unwrap(), file.records);
    // Several gzip members, as concatenated files are, read as one stream.
    let text = String::from_utf8(plain).unwrap();
    let (head, tail) = text.split_at(text.len() / 2);
    let two = [gzip(head.as_bytes()), gzip(tail.as_bytes())].concat();
    assert_eq!(read_events("two-members.json.gz", &two).unwrap(), file.records);
}

#[test]
fn the_ec2_example_separates_the_console_call_from_the_kms_calls_ec2_made() {
    let r = read("ec2-kms-log-file.json");
    let names: Vec<_> = r.iter().map(|r| r.event_name.as_str()).collect();
    assert_eq!(names, ["RunInstances", "CreateGrant", "GenerateDataKeyWithoutPlaintext", "Decrypt"]);
    // RunInstances was made in the console: invokedBy `signin.amazonaws.com` is a person's call.
    assert_eq!(r[0].invoked_by(), Some("signin.amazonaws.com"));
    assert!(!r[0].is_service_call());
    assert_eq!(r[0].action().as_deref(), Some("ec2:RunInstances"));
    assert_eq!(r[0].read_only, None);
    assert!(r[0].resources.is_empty());
    // The KMS calls EC2 made for Alice: her identity, invoked by `AWS Internal`, for the volume.
    for kms in &r[1..3] {
        assert_eq!(kms.user_identity.arn.as_deref(), Some("arn:aws:iam::123456789012:user/Alice"));
        assert_eq!(kms.acting_service(), Some("AWS Internal"));
        assert_eq!(kms.encryption_context_ebs_id(), Some("vol-f67bafb2"));
        assert_eq!(kms.resource_arns(), [EBS_KEY]);
    }
    // EC2's CreateGrant carries the request id of the RunInstances call that caused it.
    assert_eq!(r[1].request_id, r[0].request_id);
    assert_eq!(r[1].encryption_context_ebs_ids(), ["vol-f67bafb2"]);
    assert_eq!(r[2].request_param("keyId").and_then(|v| v.as_str()), Some("alias/aws/ebs"));
    // The Decrypt by EC2's infrastructure role: an assumed role whose name holds `:`.
    let decrypt = &r[3];
    assert_eq!(decrypt.session_name(), Some("i-81e2f56c"));
    assert_eq!(decrypt.issuer_role_arn(), Some("arn:aws:iam::123456789012:role/aws:ec2-infrastructure"));
    assert_eq!(decrypt.user_identity.access_key_id.as_deref(), Some(""));
    assert_eq!(decrypt.user_agent, None);
    assert!(!decrypt.is_service_call(), "an address in sourceIPAddress and no invokedBy");
}

#[test]
fn the_ebs_direct_and_error_examples_read() {
    let r = read("ebs-direct-log-file.json");
    assert_eq!(
        r.iter().map(|r| r.action().unwrap()).collect::<Vec<_>>(),
        ["ebs:StartSnapshot", "ebs:CompleteSnapshot"]
    );
    assert_eq!(r[0].response_element("snapshotId").and_then(|v| v.as_str()), Some("snap-123456789012"));
    assert_eq!(r[0].event_id, "6e12345-2a4e-417c-aa78-7594fEXAMPLE", "eventID is not checked for GUID shape");
    assert_eq!(r[1].request_param("changedBlocksCount").and_then(|v| v.as_u64()), Some(5));
    let e = read("cloudtrail-error-log-file.json");
    assert_eq!(e[0].action().as_deref(), Some("cloudtrail:UpdateTrail"));
    assert_eq!(e[0].error_code.as_deref(), Some("TrailNotFoundException"));
    assert_eq!(e[0].error_message.as_deref(), Some("Unknown trail: myTrail2 for the user: 123456789012"));
}

#[test]
fn the_cli_lookup_events_example_reads() {
    let name = "lookup-events.json";
    let file = read_events_file(name, &fixture(name), MAX_DECOMPRESSED).unwrap();
    assert_eq!(file.format, EventsFormat::LookupEvents);
    assert!(!file.compressed);
    assert_eq!(file.next_token, None);
    let r = &file.records[0];
    assert_eq!(r.event_id, "654ccbc0-ba0d-486a-9076-dbf7274677a7");
    assert_eq!(r.event_name, "ConsoleLogin");
    assert_eq!(r.event_type.as_deref(), Some("AwsConsoleSignIn"));
    assert_eq!(r.session_name(), Some("my-session-name"), "LookupEvents' Username for an assumed role");
    assert_eq!(r.issuer_role_arn(), Some("arn:aws:iam::123456789012:role/my-role"));
    assert_eq!(r.action().as_deref(), Some("signin:ConsoleLogin"));
    assert_eq!(r.request_id, None);
    // The record's own time, not the CLI's EventTime (which AWS's example prints as another moment).
    assert_eq!(r.event_time.to_rfc3339(), "2016-01-26T21:42:12+00:00");
}

#[test]
fn a_lookup_events_page_reads_and_says_it_is_one_page() {
    let name = "lookup-events-kms.json";
    let file = read_events_file(name, &fixture(name), MAX_DECOMPRESSED).unwrap();
    assert!(file.next_token.is_some(), "the CLI's NextToken: events after this page are missing");
    let log = read("ec2-kms-log-file.json");
    assert_eq!(file.records, [log[3].clone(), log[1].clone()], "the same records as in the log file");
}

#[test]
fn a_live_lookup_answer_reads_like_the_cli_output() {
    let log = read("ec2-kms-log-file.json");
    let events: Vec<(String, String)> = log.iter().map(|r| (r.event_id.clone(), r.raw.to_string())).collect();
    assert_eq!(records_from_lookup(&events, "LookupEvents 123456789012 us-east-1").unwrap(), log);
    assert_eq!(records_from_lookup(&[], "LookupEvents").unwrap(), []);

    let mut wrong = events.clone();
    wrong[2].0 = "c1ad79e3-0d3f-402a-b119-d5c31d7c6a6c".into();
    assert_eq!(
        records_from_lookup(&wrong, "LookupEvents 123456789012 us-east-1").unwrap_err().to_string(),
        "LookupEvents 123456789012 us-east-1: $.Events[2].EventId: expected the `eventID` of its \
         CloudTrailEvent, the string `ac3cab10-ce93-4953-9d62-0b6e5cba651d`, found the string \
         `c1ad79e3-0d3f-402a-b119-d5c31d7c6a6c`"
    );
    let mut cut = events;
    cut[0].1 = "{\"eventVersion\":\"1.02\",\"eventID\":\"x\"".into();
    assert_eq!(
        records_from_lookup(&cut, "LookupEvents").unwrap_err().to_string(),
        "LookupEvents: $.Events[0].CloudTrailEvent: expected the record as JSON text, found text that is \
         not JSON (EOF while parsing an object at line 1 column 36)"
    );
}

/// Every bad fixture, and the exact message it gets.
#[test]
fn bad_inputs_are_refused_with_the_file_the_path_and_what_was_expected() {
    const ACCEPTED: &str = "a CloudTrail log file as delivered to S3 (`{\"Records\": [...]}`, gzip-compressed \
         or not) or the output of `aws cloudtrail lookup-events` (`{\"Events\": [...]}`)";
    let cases: &[(&str, String)] = &[
        ("bad-empty.json", format!("bad-empty.json: $: expected {ACCEPTED}, found an empty file")),
        (
            "bad-not-json.json",
            format!("bad-not-json.json: $: expected {ACCEPTED}, found text that is not JSON (expected value at line 1 column 1)"),
        ),
        ("bad-array.json", format!("bad-array.json: $: expected {ACCEPTED}, found an array of 1 element(s)")),
        (
            "bad-neither.json",
            format!("bad-neither.json: $: expected {ACCEPTED}, found an object with the fields `Items` (neither `Records` nor `Events`)"),
        ),
        (
            "bad-single-record.json",
            format!(
                "bad-single-record.json: $: expected {ACCEPTED}, found a single CloudTrail record (a log file \
                 holds records in `{{\"Records\": [...]}}`)"
            ),
        ),
        (
            "bad-digest.json",
            format!(
                "bad-digest.json: $: expected {ACCEPTED}, found a CloudTrail digest file (it lists log files \
                 and their hashes; the events are in the log files)"
            ),
        ),
        (
            "bad-event-time.json",
            "bad-event-time.json: $.Records[3].eventTime: expected the time of the call in UTC, as CloudTrail \
             writes it (`2014-11-04T00:53:12Z`), found the string `Apr 12, 2021 18:58:30 PM`"
                .into(),
        ),
        (
            "bad-event-version.json",
            "bad-event-version.json: $.Records[0].eventVersion: expected major version 1 of CloudTrail's record \
             format, `1.`minor (a new major version changes fields incompatibly; custody reads version 1), \
             found the string `2.0`"
                .into(),
        ),
        (
            "bad-no-event-id.json",
            "bad-no-event-id.json: $.Records[0].eventID: expected the record's event id, a string (every record \
             has one since eventVersion 1.01), found nothing"
                .into(),
        ),
        (
            "bad-lookup-event-id.json",
            "bad-lookup-event-id.json: $.Events[1].EventId: expected the `eventID` of its CloudTrailEvent, the \
             string `c1ad79e3-0d3f-402a-b119-d5c31d7c6a6c`, found the string `edb65380-0a3e-4123-bbc8-3d1b7cff49b0`"
                .into(),
        ),
        (
            "bad-lookup-truncated.json",
            "bad-lookup-truncated.json: $.Events[0].CloudTrailEvent: expected the record as JSON text, found text \
             that is not JSON (EOF while parsing a string at line 1 column 200)"
                .into(),
        ),
    ];
    for (name, want) in cases {
        assert_eq!(&error(name, &fixture(name)), want, "{name}");
    }
}

#[test]
fn damaged_or_oversized_gzip_is_refused() {
    let gz = gzip(&fixture("kms-log-file.json"));
    let cut = &gz[..gz.len() / 2];
    assert_eq!(
        error("cut.json.gz", cut),
        "cut.json.gz: $: expected a whole gzip stream that decompresses to at most 1 GiB, found a damaged gzip \
         stream (incomplete deflate stream)"
    );

    let big = gzip(&vec![b' '; 4096]);
    let e = read_events_file("big.json.gz", &big, 4095).unwrap_err();
    assert_eq!(e.path, "$");
    assert_eq!(e.expected, "a whole gzip stream that decompresses to at most 4095 bytes");
    assert_eq!(e.found, "a gzip stream that decompresses to more than 4095 bytes");
    // At the limit exactly it is read (and found to be nothing but spaces).
    let e = read_events_file("big.json.gz", &big, 4096).unwrap_err();
    assert_eq!(e.found, "a gzip stream of nothing");
}

#[test]
fn encodings_other_than_utf8_are_named() {
    let plain = fixture("kms-log-file.json");
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), &plain].concat();
    assert_eq!(read_events("bom.json", &with_bom).unwrap(), read("kms-log-file.json"));
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("{\"Records\":[]}".bytes().flat_map(|b| [b, 0])).collect();
    let e = read_events("out.json", &utf16).unwrap_err();
    assert_eq!(e.found, "UTF-16 text (JSON is read as UTF-8: save the file as UTF-8)");
}

#[test]
fn structural_refusals_name_the_path() {
    let cases: &[(&str, &str)] = &[
        (r#"{"Records": {}}"#, "$.Records: expected an array of CloudTrail records, found an empty object"),
        (r#"{"Records": [7]}"#, "$.Records[0]: expected a CloudTrail record (a JSON object), found the number `7`"),
        (r#"{"Events": "x"}"#, "$.Events: expected an array of LookupEvents events, found the string `x`"),
        (
            r#"{"Events": [{"EventId": "a"}]}"#,
            "$.Events[0].CloudTrailEvent: expected the record as JSON text, found nothing",
        ),
        (r#"{"Events": [], "NextToken": 3}"#, "$.NextToken: expected a string or nothing, found the number `3`"),
        (
            r#"{"Events": [{"EventId": 1, "CloudTrailEvent": "{}"}]}"#,
            "$.Events[0].EventId: expected a string, found the number `1`",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error("f.json", text.as_bytes()), format!("f.json: {want}"), "{text}");
    }
    let both = error("f.json", br#"{"Records": [], "Events": []}"#);
    assert!(both.ends_with(", one of the two, found an object with both `Records` and `Events`"), "{both}");
    // Empty lists are files with no events, not errors.
    assert_eq!(read_events("f.json", br#"{"Records": []}"#).unwrap(), []);
    assert_eq!(read_events("f.json", br#"{"Events": [], "NextToken": null}"#).unwrap(), []);
}

/// A record with the required fields, a `userIdentity` and the given extra fields.
fn record(identity: Value, extra: Value) -> TrailRecord {
    let mut v = json!({
        "eventVersion": "1.08", "eventID": "e", "eventTime": "2024-01-02T03:04:05Z",
        "eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "awsRegion": "eu-west-1",
        "userIdentity": identity,
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    parse_record(&v, "$").unwrap()
}

#[test]
fn record_service_calls_are_told_by_invoked_by_then_source_address() {
    let cases = [
        (
            json!({"invokedBy": "ec2.amazonaws.com"}),
            json!({"sourceIPAddress": "ec2.amazonaws.com"}),
            Some("ec2.amazonaws.com"),
        ),
        (json!({"invokedBy": "AWS Internal"}), json!({"sourceIPAddress": "AWS Internal"}), Some("AWS Internal")),
        (json!({}), json!({"sourceIPAddress": "ebs.amazonaws.com"}), Some("ebs.amazonaws.com")),
        (json!({}), json!({"userAgent": "ec2.amazonaws.com"}), Some("ec2.amazonaws.com")),
        (json!({"type": "AWSService"}), json!({}), Some("AWSService")),
        (json!({"invokedBy": "signin.amazonaws.com"}), json!({"sourceIPAddress": "AWS Internal"}), None),
        (json!({}), json!({"sourceIPAddress": "192.0.2.0", "userAgent": "AWS Internal"}), None),
        (json!({}), json!({"sourceIPAddress": "console.amazonaws.com"}), None),
        (json!({}), json!({"sourceIPAddress": "evil.amazonaws.com.example"}), None),
        (json!({}), json!({"sourceIPAddress": ".amazonaws.com"}), None),
        (json!({"invokedBy": ""}), json!({"userAgent": "aws-cli/2.15"}), None),
    ];
    for (identity, extra, want) in cases {
        let r = record(identity.clone(), extra.clone());
        assert_eq!(r.acting_service(), want, "{identity} {extra}");
        assert_eq!(r.is_service_call(), want.is_some());
    }
}

#[test]
fn record_refusals_name_the_field() {
    let base = json!({
        "eventVersion": "1.08", "eventID": "e", "eventTime": "2024-01-02T03:04:05Z",
        "eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "awsRegion": "eu-west-1",
        "userIdentity": {},
    });
    let cases = [
        ("eventVersion", json!("1."), "$.r.eventVersion: expected major version 1"),
        (
            "eventVersion",
            json!(1.08),
            "$.r.eventVersion: expected the record format's version, `1.`minor, found the number `1.08`",
        ),
        ("eventID", json!(""), "$.r.eventID: expected the record's event id"),
        ("eventTime", json!("2024-01-02"), "$.r.eventTime: expected the time of the call in UTC"),
        (
            "awsRegion",
            Value::Null,
            "$.r.awsRegion: expected the Region the request was made to, such as `us-east-1`, found nothing",
        ),
        (
            "userIdentity",
            json!("Alice"),
            "$.r.userIdentity: expected the caller's identity, an object, found the string `Alice`",
        ),
        (
            "userIdentity",
            json!({"sessionContext": {"sessionIssuer": {"arn": 1}}}),
            "$.r.userIdentity.sessionContext.sessionIssuer.arn: expected a string or nothing, found the number `1`",
        ),
        ("readOnly", json!("true"), "$.r.readOnly: expected `true`, `false` or nothing, found the string `true`"),
        (
            "resources",
            json!([{"ARN": []}]),
            "$.r.resources[0].ARN: expected a string or nothing, found an array of 0 element(s)",
        ),
        ("resources", json!({}), "$.r.resources: expected an array of resources, found an empty object"),
        ("errorCode", json!("x\u{1b}[2J\u{202e}"), ""),
    ];
    for (key, value, want) in cases {
        let mut v = base.clone();
        v[key] = value;
        match parse_record(&v, "$.r") {
            Err(e) => assert!(e.to_string().starts_with(want) && !want.is_empty(), "{key}: {e}"),
            Ok(r) => assert!(want.is_empty(), "{key}: read {r:?}"),
        }
    }
    assert_eq!(
        parse_record(&json!([]), "$.x").unwrap_err().to_string(),
        "$.x: expected a CloudTrail record (a JSON object), found an array of 0 element(s)"
    );
    // Time zones other than UTC are converted; fractions of a second are kept.
    let mut v = base;
    v["eventTime"] = json!("2024-01-02T05:04:05.250+02:00");
    assert_eq!(parse_record(&v, "$").unwrap().event_time.to_rfc3339(), "2024-01-02T03:04:05.250+00:00");
}

#[test]
fn record_descriptions_are_short_and_printable() {
    assert_eq!(describe(&json!("a\u{1b}b\u{202e}c")), "the string `a\\u{1b}b\\u{202e}c`");
    assert_eq!(describe(&json!("x".repeat(100))), format!("the string `{}…`", "x".repeat(60)));
    assert_eq!(describe(&json!({"b": 1, "a": 2})), "an object with the fields `a`, `b`");
    let many: Map<String, Value> = (0..7).map(|i| (format!("k{i}"), Value::Null)).collect();
    assert_eq!(describe(&Value::Object(many)), "an object with the fields `k0`, `k1`, `k2`, `k3`, `k4`, …");
    assert_eq!(EventsError::new("$", "x", "y").to_string(), "$: expected x, found y");
    assert_eq!(EventsError::new("$", "x", "y").in_file("f").to_string(), "f: $: expected x, found y");
}
