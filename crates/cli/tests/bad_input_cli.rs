//! Bad input: exit 2, a message that names the file (and line, for a batch) and the JSON path, and
//! nothing on standard output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod cli_support;

use cli_support::run;

const GOOD: &str = r#"{"request":{"principal":"arn:aws:iam::111111111111:user/alice","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},"identity_policies":[{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]}"#;

#[test]
fn bad_inputs_exit_2_with_the_place_and_nothing_on_stdout() {
    let bad_effect = GOOD.replace(r#""Effect":"Allow""#, r#""Effect":"Permit""#);
    let table: &[(&str, &[&str], &str, &[&str])] = &[
        ("malformed JSON", &["authz", "-"], "{\"request\": ", &["<stdin>", "valid JSON"]),
        ("not an object", &["authz", "-"], "[1,2]", &["<stdin>", "a case"]),
        ("missing request", &["authz", "-"], "{}", &["`request`", "principal"]),
        (
            "bad Effect",
            &["authz", "--json", "-"],
            &bad_effect,
            &["identity_policies[0].Statement.Effect", "`Allow` or `Deny`", "Permit"],
        ),
        ("a NUL byte", &["authz", "-"], "\u{0}", &["<stdin>"]),
    ];
    for (what, args, input, needles) in table {
        let (code, stdout, stderr) = run(args, input);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(stdout.is_empty(), "{what}: stdout {stdout}");
        for n in *needles {
            assert!(stderr.contains(n), "{what}: `{n}` not in {stderr}");
        }
    }
}

#[test]
fn a_bad_batch_line_stops_the_run_before_any_answer() {
    let batch = format!("{GOOD}\n\n{}\n{GOOD}\n", GOOD.replace("s3:GetObject", "GetObject"));
    let (code, stdout, stderr) = run(&["authz", "--json", "--batch", "-"], &batch);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("<stdin>:3") && stderr.contains("request.action"), "{stderr}");
}

#[test]
fn a_missing_file_is_named() {
    let (code, stdout, stderr) = run(&["authz", "/nonexistent/case.json"], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("/nonexistent/case.json"), "{stderr}");
}

#[test]
fn invalid_utf8_is_refused_with_its_offset() {
    let dir = std::env::temp_dir().join(format!("custody-bad-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("case.json");
    std::fs::write(&file, b"{\"request\": \"\xff\"}").unwrap();
    let (code, _, stderr) = run(&["authz", file.to_str().unwrap()], "");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(2));
    assert!(stderr.contains("not UTF-8") && stderr.contains("offset 13"), "{stderr}");
}

#[test]
fn a_good_case_from_stdin_is_evaluated() {
    let (code, stdout, _) = run(&["authz", "--json", "-"], GOOD);
    assert_eq!(code, Some(0));
    assert!(stdout.contains(r#""decision":"allowed""#), "{stdout}");
}
