//! Policy documents as IAM returns them: URL-encoded JSON (RFC 3986), e.g. `%7B%22Version%22…`.
//!
//! IAM documents this for GetRolePolicy, GetPolicyVersion and the role's AssumeRolePolicyDocument
//! ("The policy document returned in this structure is URL-encoded compliant with RFC 3986"). KMS
//! GetKeyPolicy and Organizations DescribePolicy return plain JSON text. An RFC 3986 encoding never
//! starts with `{`, so a document that already is JSON is taken as it is.

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// Decodes an IAM policy document into JSON: URL-decoded unless it already is a JSON object.
/// `+` is kept as `+`: RFC 3986 encodes a space as `%20` and a plus as `%2B`.
pub fn decode_iam_document(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return parse_document(trimmed);
    }
    let decoded = percent_decode_str(text)
        .decode_utf8()
        .map_err(|e| format!("the URL-encoded policy document is not UTF-8: {e}"))?;
    parse_document(&decoded)
}

/// Parses a plain JSON policy document (KMS key policies, organization policies).
pub fn parse_document(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err("the policy document is not a JSON object".into()),
        Err(e) => Err(format!("the policy document is not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_documents_are_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22kms%3ADecrypt%22%2C%22Resource%22%3A%22%2A%22%2C%22Sid%22%3A%22a%20b%2Bc%22%7D%5D%7D";
        let doc = decode_iam_document(encoded).unwrap();
        assert_eq!(
            doc,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Sid": "a b+c"}]})
        );
    }

    #[test]
    fn plain_json_is_taken_as_is() {
        let doc = decode_iam_document("{\"Version\":\"2012-10-17\",\"Statement\":[],\"Sid\":\"100%\"}").unwrap();
        assert_eq!(doc["Sid"], "100%");
    }

    #[test]
    fn non_objects_and_garbage_are_refused() {
        assert!(decode_iam_document("%5B%5D").is_err());
        assert!(decode_iam_document("not json").is_err());
        assert!(decode_iam_document("%FF%FE").is_err());
    }
}
