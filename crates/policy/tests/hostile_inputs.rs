//! Robustness, part 3: hostile inputs (malformed JSON, wrong types at every level, 10 MB policies,
//! deep nesting, NUL bytes, huge numbers, out-of-range dates and prefixes, pathological patterns)
//! are refused with an error naming the right JSON path, or evaluated quickly.
//!
//! ```console
//! $ cargo test -p custody-policy --test hostile_inputs
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod robustness_support;

use robustness_support::*;

// ---------------------------------------------------------------------------------------------
// 4. Hostile inputs
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_json_is_an_error() {
    for text in [
        "",
        " ",
        "{",
        "}",
        "[",
        "{\"request\":",
        "{\"request\": {}",
        "nul",
        "tru",
        "{\"a\" 1}",
        "{'a': 1}",
        "{\"a\": 1,}",
        "[1,]",
        "\"\\x\"",
        "{\"request\": {\"principal\": \"a\"}}}",
        "\u{feff}{}",
        "\0",
    ] {
        let err = run(text).expect_err(text);
        assert!(!err.is_empty());
    }
    expect_err("{\"request\": ", "line 1 column");
}

/// Each entry: a JSON pointer into the template, a value of the wrong type (or shape) for it, and
/// the JSON path the error must name.
#[test]
fn wrong_types_at_every_level_name_the_path() {
    let cases: &[(&str, Value, &str)] = &[
        ("/request", json!("x"), "request"),
        ("/request/principal", json!(1), "request.principal"),
        ("/request/principal", json!("arn:aws:iam::1:user/a"), "request.principal"),
        ("/request/action", json!(["kms:Decrypt"]), "request.action"),
        ("/request/action", json!("Decrypt"), "request.action"),
        ("/request/resource", json!({}), "request.resource"),
        ("/request/resource", json!(""), "request.resource"),
        ("/request/resource_account", json!(222222222222u64), "request.resource_account"),
        ("/request/resource_account", json!("2222"), "request.resource_account"),
        ("/request/context", json!([]), "request.context"),
        ("/request/context/n", json!({"x": 1}), "request.context.n"),
        ("/request/context/tags", json!(["a", null]), "request.context.tags[1]"),
        ("/request/grant_id", json!(7), "request.grant_id"),
        ("/identity_policies", json!({}), "identity_policies"),
        ("/identity_policies/0", json!(true), "identity_policies[0]"),
        ("/identity_policies/0/Version", json!("2012-10-18"), "identity_policies[0].Version"),
        ("/identity_policies/0/Id", json!(1), "identity_policies[0].Id"),
        ("/identity_policies/0/Bogus", json!(1), "identity_policies[0].Bogus"),
        ("/identity_policies/0/Statement", json!("s"), "identity_policies[0].Statement"),
        ("/identity_policies/0/Statement/1", json!([]), "identity_policies[0].Statement[1]"),
        ("/identity_policies/0/Statement/1/Effect", json!(1), "identity_policies[0].Statement[1].Effect"),
        ("/identity_policies/0/Statement/1/Effect", json!("allow"), "identity_policies[0].Statement[1].Effect"),
        ("/identity_policies/0/Statement/0/Sid", json!(null), "identity_policies[0].Statement[0].Sid"),
        ("/identity_policies/0/Statement/0/Action", json!([]), "identity_policies[0].Statement[0].Action"),
        ("/identity_policies/0/Statement/0/Action/1", json!(3), "identity_policies[0].Statement[0].Action[1]"),
        ("/identity_policies/0/Statement/0/Resource", json!(null), "identity_policies[0].Statement[0].Resource"),
        ("/identity_policies/0/Statement/0/NotAction", json!("x:y"), "identity_policies[0].Statement[0].NotAction"),
        ("/identity_policies/0/Statement/0/Principal", json!("*"), "identity_policies[0].Statement[0].Principal"),
        ("/identity_policies/0/Statement/0/Extra", json!(1), "identity_policies[0].Statement[0].Extra"),
        ("/identity_policies/0/Statement/0/Condition", json!([]), "identity_policies[0].Statement[0].Condition"),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals",
            json!("x"),
            "identity_policies[0].Statement[0].Condition.StringEquals",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals",
            json!({}),
            "identity_policies[0].Statement[0].Condition.StringEquals",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals/aws:username",
            json!({"a": 1}),
            "identity_policies[0].Statement[0].Condition.StringEquals.aws:username",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals/aws:username",
            json!(["a", []]),
            "identity_policies[0].Statement[0].Condition.StringEquals.aws:username[1]",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/StringEquals/aws:username",
            json!([]),
            "identity_policies[0].Statement[0].Condition.StringEquals.aws:username",
        ),
        (
            "/identity_policies/0/Statement/0/Condition/IpAddress/aws:SourceIp",
            json!(["10.0.0.0/8", "10.0.0.0/33"]),
            "identity_policies[0].Statement[0].Condition.IpAddress.aws:SourceIp[1]",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/NumericLessThan/n",
            json!("three"),
            "identity_policies[0].Statement[1].Condition.NumericLessThan.n",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/Bool/flag",
            json!("yes"),
            "identity_policies[0].Statement[1].Condition.Bool.flag",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/BinaryEquals/bin",
            json!("not base64!"),
            "identity_policies[0].Statement[1].Condition.BinaryEquals.bin",
        ),
        (
            "/identity_policies/0/Statement/1/Condition/Null/missing",
            json!("maybe"),
            "identity_policies[0].Statement[1].Condition.Null.missing",
        ),
        ("/permissions_boundary", json!([]), "permissions_boundary"),
        ("/permissions_boundary/Statement/Effect", json!(["Allow"]), "permissions_boundary.Statement.Effect"),
        ("/session_policy/Statement/0/NotAction", json!(1), "session_policy.Statement[0].NotAction"),
        ("/scps", json!({}), "scps"),
        ("/scps/1", json!({}), "scps[1]"),
        ("/scps/1/0/Statement/0/Effect", json!(1), "scps[1][0].Statement[0].Effect"),
        ("/scps/1/0/Statement/0/Principal", json!("*"), "scps[1][0].Statement[0].Principal"),
        ("/rcps/0/0/Statement/0/Principal", json!(42), "rcps[0][0].Statement[0].Principal"),
        ("/resource_policy/Statement/0/Principal", json!({}), "resource_policy.Statement[0].Principal"),
        ("/resource_policy/Statement/0/Principal/AWS", json!(42), "resource_policy.Statement[0].Principal.AWS"),
        (
            "/resource_policy/Statement/0/Principal/AWS/1",
            json!("alice"),
            "resource_policy.Statement[0].Principal.AWS[1]",
        ),
        (
            "/resource_policy/Statement/0/Principal/AWS/0",
            json!("arn:aws:iam::111111111111:role/*"),
            "resource_policy.Statement[0].Principal.AWS[0]",
        ),
        (
            "/resource_policy/Statement/1/Principal/Service",
            json!("not a service"),
            "resource_policy.Statement[1].Principal.Service",
        ),
        ("/resource_policy/Statement/1/Principal/Nobody", json!("x"), "resource_policy.Statement[1].Principal.Nobody"),
        ("/vpc_endpoint_policy/Statement/0/Resource", json!(false), "vpc_endpoint_policy.Statement[0].Resource"),
        ("/grants", json!({}), "grants"),
        ("/grants/0", json!("g"), "grants[0]"),
        ("/grants/0/grant_id", json!(1), "grants[0].grant_id"),
        ("/grants/0/grantee_principal", json!(1), "grants[0].grantee_principal"),
        ("/grants/0/grantee_principal", json!("nobody"), "grants[0].grantee_principal"),
        ("/grants/0/operations", json!([]), "grants[0].operations"),
        ("/grants/0/operations/1", json!("kms:Decrypt"), "grants[0].operations[1]"),
        ("/grants/0/constraints", json!([]), "grants[0].constraints"),
        (
            "/grants/0/constraints/encryption_context_subset",
            json!("x"),
            "grants[0].constraints.encryption_context_subset",
        ),
        (
            "/grants/0/constraints/encryption_context_subset/aws:ebs:id",
            json!(1),
            "grants[0].constraints.encryption_context_subset.aws:ebs:id",
        ),
        (
            "/grants/0/constraints/encryption_context_equals",
            json!({}),
            "grants[0].constraints.encryption_context_equals",
        ),
        ("/grants/0/retiring_principal", json!([]), "grants[0].retiring_principal"),
        ("/grants/0/issuing_account", json!("22"), "grants[0].issuing_account"),
    ];
    for (pointer, wrong, path) in cases {
        let mut case = template();
        set(&mut case, pointer, wrong.clone());
        expect_err_value(&case, path);
    }
    // The top level.
    for wrong in [json!(1), json!([]), json!(null), json!("x"), json!({})] {
        expect_err_value(&wrong, if wrong.is_object() { "request" } else { "(top level)" });
    }
    // A policy given as a string: errors inside it still name the path from the top of the case.
    let mut case = template();
    let mut policy = case["identity_policies"][0].clone();
    policy["Statement"][1]["Effect"] = json!("Maybe");
    case["identity_policies"][0] = Value::String(policy.to_string());
    expect_err_value(&case, "identity_policies[0].Statement[1].Effect");
}

#[test]
fn unknown_condition_operators_are_errors() {
    for op in [
        "StringEqualz",
        "stringequals",
        "ForSomeValues:StringEquals",
        "ForAnyValue:Null",
        "NullIfExists",
        "IfExists",
        "",
    ] {
        let case = identity_case("s3:GetObject", "*", json!({}), allow_all_if(json!({op: {"k": "v"}})));
        let path = if op.is_empty() { "Condition[\"\"]".to_string() } else { format!("Condition.{op}") };
        expect_err_value(&case, &format!("identity_policies[0].Statement[0].{path}"));
    }
}

#[test]
fn a_10_mb_policy_parses_and_evaluates() {
    // 100,000 statements (built as text: building a `Value` that size is slow in debug), the last
    // one the only one that matches.
    let big_case = |last: &str| {
        let mut text = format!(
            "{{\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"arn:aws:s3:::bucket-with-a-long-name/k\"}}, \"identity_policies\": [{{\"Version\": \"2012-10-17\", \"Statement\": ["
        );
        for i in 0..100_000 {
            text.push_str(&format!(
                "{{\"Sid\": \"S{i}\", \"Effect\": \"Allow\", \"Action\": \"s3:GetObjectVersion{i:06}\", \"Resource\": \"arn:aws:s3:::bucket-with-a-long-name/*\"}},"
            ));
        }
        text.push_str(last);
        text.push_str("]}]}");
        text
    };
    let text = big_case(
        r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-with-a-long-name/*"}"#,
    );
    assert!(text.len() >= 10_000_000, "{} bytes", text.len());
    let e = run(&text).expect("a big policy is still a policy");
    assert_eq!(e.decision, "allowed");
    assert_eq!(refs(&e.allowed_by), BTreeSet::from(["identity_policies[0]#100000".to_string()]));

    // A Deny at the end wins.
    let text = big_case(r#"{"Effect": "Deny", "Action": "s3:Get*", "Resource": "*"}"#);
    let e = run(&text).expect("a big policy is still a policy");
    assert_eq!(e.decision, "explicitDeny");
    assert_eq!(refs(&e.denied_by), BTreeSet::from(["identity_policies[0]#100000".to_string()]));

    // One huge Action array (5 MB), without and then with the action at its end.
    let mut actions = vec!["s3:PutObjectVersion"; 250_000];
    let policy = |actions: &[&str]| json!({"Statement": {"Effect": "Allow", "Action": actions, "Resource": "*"}});
    let e = decision(&identity_case("s3:GetObject", "*", json!({}), policy(&actions)));
    assert_eq!(e.decision, "implicitDeny");
    assert_eq!(e.gate.map(|g| g.kind), Some("identity_policy"));
    actions.push("S3:GETOBJECT");
    let e = decision(&identity_case("s3:GetObject", "*", json!({}), policy(&actions)));
    assert_eq!(e.decision, "allowed");
}

#[test]
fn deep_nesting_is_refused() {
    const DEPTH: usize = 10_000;
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}1{}", "{\"a\":".repeat(DEPTH), "}".repeat(DEPTH));
    let request =
        format!("\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"*\"}}");
    for deep in [&arrays, &objects] {
        // As the case.
        expect_err(deep, "recursion limit");
        // As a policy.
        expect_err(&format!("{{{request}, \"identity_policies\": [{deep}]}}"), "recursion limit");
        // Inside a condition value.
        let policy = format!(
            "{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Condition\": {{\"StringEquals\": {{\"k\": {deep}}}}}}}}}"
        );
        expect_err(&format!("{{{request}, \"identity_policies\": [{policy}]}}"), "recursion limit");
        // In the context.
        expect_err(&format!("{{\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"*\", \"context\": {{\"k\": {deep}}}}}}}"), "recursion limit");
        // As a policy held in a string: the string parses, the JSON inside it does not.
        let as_string = Value::String(deep.clone());
        let case = format!("{{{request}, \"identity_policies\": [{as_string}]}}");
        let err = expect_err(&case, "identity_policies[0]");
        assert!(err.contains("recursion limit"), "{err}");
        for kind in ALL_KINDS {
            let err = parse_policy(&as_string, kind, &JsonPath::root("p")).expect_err("too deep");
            assert!(err.to_string().contains("recursion limit"), "{err}");
        }
    }
    // Just under serde_json's limit, the nesting is a type error, not a crash.
    let shallow = format!("{}{}", "[".repeat(100), "]".repeat(100));
    expect_err(&format!("{{{request}, \"identity_policies\": [{shallow}]}}"), "identity_policies[0]");
}

#[test]
fn only_one_level_of_string_is_accepted_for_a_policy() {
    let policy = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
    let once = Value::String(policy.to_string());
    let twice = Value::String(once.to_string());
    assert_eq!(decision(&identity_case("s3:GetObject", "*", json!({}), once)).decision, "allowed");
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), twice.clone()), "identity_policies[0]");
    let thrice = Value::String(twice.to_string());
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), thrice), "identity_policies[0]");
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), json!("not json")), "identity_policies[0]");
    expect_err_value(&identity_case("s3:GetObject", "*", json!({}), json!("")), "identity_policies[0]");
}

#[test]
fn nul_bytes_and_invalid_surrogates() {
    let req = |principal: &str, action: &str| {
        format!("{{\"request\": {{\"principal\": \"{principal}\", \"action\": \"{action}\", \"resource\": \"*\"}}}}")
    };
    // A raw NUL (a control character) inside a JSON string is invalid JSON.
    expect_err(&req(ALICE, "s3:Get\0Object"), "line 1 column");
    // Escaped NULs are valid JSON: where the text is checked it is refused ...
    expect_err(
        &req("arn:aws:iam::111111111111:user/\\u0000", "s3:GetObject").replace("user/\\u0000", "\\u0000"),
        "request.principal",
    );
    expect_err(&req("ec2.amazonaws\\u0000.com", "s3:GetObject"), "request.principal");
    expect_err(&req("arn:aws:iam::1111111111\\u000011:user/a", "s3:GetObject"), "request.principal");
    // ... elsewhere it is just a character, compared like any other.
    let case = identity_case(
        "s3:Get\u{0}Object",
        "arn:aws:s3:::b/\u{0}",
        json!({"k\u{0}": "v\u{0}"}),
        allow_all_if(json!({"StringLike": {"k\u{0}": "v?"}})),
    );
    assert_eq!(decision(&case).decision, "allowed");
    let mut case = template();
    case["identity_policies"][0]["Statement"][0]["Sid"] = json!("\u{0}");
    decision(&case);
    // Lone or reversed surrogates are invalid JSON escapes.
    for bad in ["\\ud800", "\\udc00", "\\ud800\\u0041", "\\udc00\\ud800", "\\ud800\\ud800", "\\uZZZZ", "\\u12"] {
        expect_err(&req(&format!("arn:aws:iam::111111111111:user/{bad}"), "s3:GetObject"), "line 1 column");
        let policy =
            format!("{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"s3:{bad}\", \"Resource\": \"*\"}}}}");
        let text = req(ALICE, "s3:GetObject").replacen('}', &format!("}}, \"identity_policies\": [{policy}]"), 1);
        expect_err(&text, "line 1 column");
    }
    // A valid pair is one character.
    let case = req("arn:aws:iam::111111111111:user/\\ud83d\\ude00", "s3:GetObject");
    run(&case).expect("a surrogate pair is fine");
}

#[test]
fn huge_numbers() {
    let req = |context: &str, policy: &str| {
        format!(
            "{{\"request\": {{\"principal\": \"{ALICE}\", \"action\": \"s3:GetObject\", \"resource\": \"*\", \"context\": {context}}}, \"identity_policies\": [{policy}]}}"
        )
    };
    let policy = |op: &str, v: &str| {
        format!("{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Condition\": {{\"{op}\": {{\"n\": {v}}}}}}}}}")
    };
    // As JSON numbers, serde_json refuses them.
    expect_err(&req("{}", &policy("NumericEquals", "1e400")), "line 1 column");
    expect_err(&req("{}", &policy("NumericEquals", "-1e400")), "line 1 column");
    expect_err(&req("{\"n\": 1e400}", &policy("NumericEquals", "1")), "line 1 column");
    // As text in a policy: not a (finite) number.
    for v in ["\"1e400\"", "\"-1e400\"", "\"NaN\"", "\"inf\"", "\"infinity\"", "\"0x10\"", "\"\"", "\"1e\"", "\"--1\""]
    {
        let err = expect_err(
            &req("{}", &policy("NumericEquals", v)),
            "identity_policies[0].Statement.Condition.NumericEquals.n",
        );
        assert!(err.contains("number"), "{err}");
    }
    // As text in the context: a value that is not a number matches no policy value (no error).
    for v in ["\"1e400\"", "\"-1e400\"", "\"NaN\"", "[\"1e400\", \"nan\"]"] {
        let e = run(&req(&format!("{{\"n\": {v}}}"), &policy("NumericLessThan", "5"))).expect("parses");
        assert_eq!(e.decision, "implicitDeny", "context n = {v}");
        let e = run(&req(&format!("{{\"n\": {v}}}"), &policy("NumericNotEquals", "5"))).expect("parses");
        assert!(matches!(e.decision, "allowed" | "implicitDeny"), "context n = {v}");
    }
    // Big but finite numbers are numbers.
    let e = run(&req("{\"n\": 1e308}", &policy("NumericLessThan", "1.7e308"))).expect("parses");
    assert_eq!(e.decision, "allowed");
    let e =
        run(&req("{\"n\": 18446744073709551616}", &policy("NumericEquals", "18446744073709551616"))).expect("parses");
    assert_eq!(e.decision, "allowed");
    let e = run(&req("{\"n\": -9223372036854775808}", &policy("NumericLessThan", "0"))).expect("parses");
    assert_eq!(e.decision, "allowed");
}

#[test]
fn dates_out_of_range() {
    let case = |context_time: Value, op: &str, v: &str| {
        identity_case("s3:GetObject", "*", json!({"t": context_time}), allow_all_if(json!({op: {"t": v}})))
    };
    for v in [
        "99999-01-01T00:00:00Z",
        "+262144-01-01T00:00:00Z",
        "-262144-01-01",
        "2026-02-30",
        "2026-13-01T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "99999999999999999999",
        "9223372036854775807",
        "9223372036854776",
        "-1",
        "",
        "yesterday",
    ] {
        expect_err_value(
            &case(json!("2026-01-01"), "DateLessThan", v),
            "identity_policies[0].Statement[0].Condition.DateLessThan.t",
        );
    }
    // Extreme but representable: parses, evaluates, explains.
    for v in ["9223372036854775", "0", "1970-01-01", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"] {
        for op in ["DateLessThan", "DateEquals", "DateGreaterThanEquals"] {
            decision(&case(json!("2026-01-01"), op, v));
        }
    }
    // An unreadable date in the context matches nothing.
    for t in [json!("99999-01-01T00:00:00Z"), json!("9223372036854775807"), json!("never"), json!(1e300)] {
        let e = decision(&case(t.clone(), "DateLessThan", "2030-01-01"));
        assert_eq!(e.decision, "implicitDeny", "context t = {t}");
    }
    assert_eq!(decision(&case(json!("2026-01-01"), "DateLessThan", "2030-01-01")).decision, "allowed");
}

#[test]
fn cidr_prefixes_out_of_range() {
    let case = |ip: &str, cidr: &str| {
        identity_case(
            "s3:GetObject",
            "*",
            json!({"aws:SourceIp": ip}),
            allow_all_if(json!({"IpAddress": {"aws:SourceIp": cidr}})),
        )
    };
    for cidr in [
        "10.0.0.0/33",
        "10.0.0.0/255",
        "10.0.0.0/256",
        "10.0.0.0/99999999999999999999",
        "10.0.0.0/-1",
        "10.0.0.0/",
        "::/129",
        "::/255",
        "2001:db8::/200",
        "10.0.0.0/8/8",
        "10.0.0.256/8",
        "/8",
        "10.0.0.0/ 8",
    ] {
        expect_err_value(&case("10.1.2.3", cidr), "identity_policies[0].Statement[0].Condition.IpAddress.aws:SourceIp");
    }
    // The extremes that are valid.
    assert_eq!(decision(&case("10.1.2.3", "0.0.0.0/0")).decision, "allowed");
    assert_eq!(decision(&case("10.1.2.3", "10.1.2.3/32")).decision, "allowed");
    assert_eq!(decision(&case("10.1.2.4", "10.1.2.3/32")).decision, "implicitDeny");
    assert_eq!(decision(&case("2001:db8::1", "::/0")).decision, "allowed");
    assert_eq!(decision(&case("2001:db8::1", "2001:db8::1/128")).decision, "allowed");
    assert_eq!(decision(&case("10.1.2.3", "::/0")).decision, "implicitDeny");
    assert_eq!(decision(&case("not an ip", "0.0.0.0/0")).decision, "implicitDeny");
}

#[test]
fn unterminated_variables_are_literal_text() {
    let allows = |resource_pattern: &str, resource: &str| {
        let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": resource_pattern}});
        decision(&identity_case("s3:GetObject", resource, json!({}), policy)).decision == "allowed"
    };
    assert!(allows("arn:aws:s3:::b/${aws:username", "arn:aws:s3:::b/${aws:username"));
    assert!(!allows("arn:aws:s3:::b/${aws:username", "arn:aws:s3:::b/alice"));
    assert!(allows("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/alice"));
    assert!(allows("arn:aws:s3:::b/${", "arn:aws:s3:::b/${"));
    assert!(allows("arn:aws:s3:::b/${}", "arn:aws:s3:::b/${}"));
    assert!(allows("arn:aws:s3:::b/${k, 'unterminated}", "arn:aws:s3:::b/${k, 'unterminated}"));
    assert!(allows("arn:aws:s3:::b/${k, 'd'}", "arn:aws:s3:::b/d"));
    assert!(allows("arn:aws:s3:::b/${k, 'a}b'}", "arn:aws:s3:::b/a}b"));
    assert!(allows("arn:aws:s3:::b/${ aws:username }/${*}", "arn:aws:s3:::b/alice/*"));
    assert!(!allows("arn:aws:s3:::b/${ aws:username }/${*}", "arn:aws:s3:::b/alice/x"));
    assert!(allows("${${aws:username}", "${alice"));
    assert!(allows("$${aws:username}}", "$alice}"));
    assert!(allows("x/${aws:username}${", "x/alice${"));
    // In a condition too.
    let case = identity_case(
        "s3:GetObject",
        "*",
        json!({"k": "${aws:username"}),
        allow_all_if(json!({"StringEquals": {"k": "${aws:username"}})),
    );
    assert_eq!(decision(&case).decision, "allowed");
}

/// 100 KB strings full of `${` that never form a token: compiling them used to take quadratic time
/// (seconds at 32 KB; a 10 MB policy would hang). The test only checks that they finish.
#[test]
fn many_unterminated_variables_compile_quickly() {
    for unit in ["${", "${a,", "${a,'", "${'", "${a ", "${a,'x'", "${ ", "${a$", "${a}}", "${$}${"] {
        let s = unit.repeat(100_000 / unit.len());
        let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": s,
                             "Condition": {"StringLike": {"k": s}, "ArnLike": {"aws:SourceArn": s}}}});
        let e = decision(&identity_case("s3:GetObject", "*", json!({"k": s, "aws:SourceArn": s}), policy));
        assert_eq!(e.decision, "implicitDeny", "unit {unit:?}");
    }
    // A long token that closes at the very end still is one token.
    let s = format!("${{k, '{}'}}", "${".repeat(50_000));
    let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": s}});
    let e = decision(&identity_case("s3:GetObject", &"${".repeat(50_000), json!({}), policy));
    assert_eq!(e.decision, "allowed");
}

#[test]
fn many_context_keys_parse_quickly() {
    // Context keys used to be looked up by a linear scan, so parsing n keys took O(n²) (8 s for
    // 40,000 keys in debug). 200,000 keys, two of them differing only in case.
    let mut context = serde_json::Map::new();
    for i in 0..200_000 {
        context.insert(format!("key{i}"), json!(i));
    }
    context.insert("Team".into(), json!("red"));
    context.insert("team".into(), json!("blue"));
    let case = identity_case(
        "s3:GetObject",
        "*",
        Value::Object(context),
        allow_all_if(json!({"StringEquals": {"KEY199999": "199999", "team": "blue"}})),
    );
    assert_eq!(decision(&case).decision, "allowed");
}

/// A grant constraint with 30,000 encryption-context pairs against a context of 30,000 keys: each pair
/// used to scan the whole context (O(n·m): 1.6 s for 8,000 of each in debug, over 20 s for 30,000).
#[test]
fn big_grant_constraints_evaluate_quickly() {
    let (mut context, mut pairs) = (serde_json::Map::new(), serde_json::Map::new());
    for i in 0..30_000 {
        context.insert(format!("kms:EncryptionContext:k{i}"), json!("v"));
        pairs.insert(format!("k{i}"), json!("v"));
    }
    let case = |context: &serde_json::Map<String, Value>, constraint: &str, pairs: &serde_json::Map<String, Value>| {
        json!({
            "request": {"principal": ALICE, "action": "kms:Decrypt", "resource": "arn:aws:kms:eu-west-3:222222222222:key/k",
                        "context": context},
            "resource_policy": {"Statement": {"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "kms:*", "Resource": "*"}},
            "grants": [{"grantee_principal": ALICE, "operations": ["Decrypt"], "constraints": {constraint: pairs}}]
        })
    };
    for constraint in ["encryption_context_subset", "encryption_context_equals"] {
        let e = decision(&case(&context, constraint, &pairs));
        assert_eq!(e.decision, "allowed", "{constraint}");
        assert_eq!(refs(&e.allowed_by), BTreeSet::from(["grants[0]#-".to_string()]));
    }
    // Encryption context keys stay case-sensitive (unlike context key names).
    let mut upper = pairs.clone();
    upper.insert("K29999".into(), json!("v"));
    upper.remove("k29999");
    assert_eq!(decision(&case(&context, "encryption_context_subset", &upper)).decision, "implicitDeny");
    // An empty pair key names no encryption context key.
    let mut ctx_empty = serde_json::Map::new();
    ctx_empty.insert("kms:EncryptionContext:".into(), json!("v"));
    let empty_pair: serde_json::Map<String, Value> = [(String::new(), json!("v"))].into_iter().collect();
    assert_eq!(decision(&case(&ctx_empty, "encryption_context_subset", &empty_pair)).decision, "implicitDeny");
    // Equals: one key more in the request is one too many.
    context.insert("kms:EncryptionContext:extra".into(), json!("v"));
    assert_eq!(decision(&case(&context, "encryption_context_equals", &pairs)).decision, "implicitDeny");
    assert_eq!(decision(&case(&context, "encryption_context_subset", &pairs)).decision, "allowed");
}

#[test]
fn star_heavy_patterns_against_long_texts_finish() {
    let text_a = "a".repeat(100_000);
    let text_ab = format!("{text_a}b");
    let star_a = "**********a";
    assert!(engine_matches(star_a, &text_a, false));
    assert!(!engine_matches(star_a, &text_ab, false));
    assert!(engine_matches("*a*a*a*a*a*a*a*a*a*a*b", &text_ab, false));
    assert!(!engine_matches("*a*a*a*a*a*a*a*a*a*a*c", &text_ab, false));
    assert!(!engine_matches("*b*a", &text_ab, false));
    assert!(engine_matches(&format!("*{}*", "a".repeat(1_000)), &text_ab, true));
    assert!(!engine_matches(&format!("*{}c*", "a".repeat(1_000)), &text_ab, true));
    assert!(engine_matches(&format!("{}*", "?".repeat(1_000)), &text_ab, false));
    assert!(!engine_matches(&format!("*{}?", "?".repeat(1_000)), "short", false));
    assert!(!engine_matches(&"*?".repeat(5_000), &"é".repeat(4_999), false));
    assert!(engine_matches(&"*?".repeat(5_000), &"é".repeat(5_000), false));
    // Through a whole case: as an action, a resource and a StringLike condition.
    let policy = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": format!("s3:{star_a}"),
                         "Resource": star_a, "Condition": {"StringLike": {"k": star_a}}}});
    let action = format!("s3:{text_a}");
    assert_eq!(decision(&identity_case(&action, &text_a, json!({"k": text_a}), policy.clone())).decision, "allowed");
    assert_eq!(decision(&identity_case(&action, &text_a, json!({"k": text_ab}), policy)).decision, "implicitDeny");
}
