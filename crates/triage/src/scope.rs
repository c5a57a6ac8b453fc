//! Tag scoping (seed 004): the instances a tag-scoped SendCommand policy allows, checked before
//! anything is sent, and AWS's AccessDeniedException explained in the same terms.
//!
//! Tag keys and values are compared exactly: EC2 tags are case-sensitive, and so are the `String*`
//! condition operators a policy tests `ssm:resourceTag/<key>` with, so `True` and `true` differ for
//! AWS and must differ here.

use crate::error::TriageError;
use custody_cloud::triage::InstanceInfo;
use custody_plan::inventory::Tag;

/// The command that adds the tag to the instances.
fn create_tags(tag: &Tag, ids: &[&str]) -> String {
    format!("aws ec2 create-tags --resources {} --tags 'Key={},Value={}'", ids.join(" "), tag.key, tag.value)
}

/// Why `instance` does not carry `tag`, or `None` when it does.
pub fn missing(instance: &InstanceInfo, tag: &Tag) -> Option<String> {
    match instance.tags.get(&tag.key) {
        Some(v) if *v == tag.value => None,
        Some(v) => Some(format!(
            "{} has {}={v}, not {}={} (tag values are case-sensitive)",
            instance.id, tag.key, tag.key, tag.value
        )),
        None => match instance.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(&tag.key)) {
            Some((k, v)) => Some(format!(
                "{} has {k}={v}, not {}={} (tag keys are case-sensitive)",
                instance.id, tag.key, tag.value
            )),
            None => Some(format!("{} has no tag {}", instance.id, tag.key)),
        },
    }
}

/// Refuses, before anything is sent, when an instance lacks the scoping tag.
pub fn check(instances: &[InstanceInfo], tag: &Tag) -> Result<(), TriageError> {
    let refused: Vec<(&InstanceInfo, String)> =
        instances.iter().filter_map(|i| missing(i, tag).map(|why| (i, why))).collect();
    if refused.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = refused.iter().map(|(i, _)| i.id.as_str()).collect();
    let reasons: Vec<String> = refused.into_iter().map(|(_, why)| why).collect();
    Err(TriageError::Refused {
        message: format!(
            "triage is scoped to instances tagged {}={} (ssm:resourceTag/{}), and {}: nothing was sent",
            tag.key,
            tag.value,
            tag.key,
            reasons.join("; ")
        ),
        help: format!(
            "if these instances are meant to be triaged, tag them (as someone allowed to): `{}`",
            create_tags(tag, &ids)
        ),
    })
}

/// AWS refused ssm:SendCommand of `document` on `instance`: say which of the two resources the
/// policy must allow, in terms of the tag.
pub fn explain_access_denied(instance: &InstanceInfo, document: &str, tag: Option<&Tag>, aws: &str) -> TriageError {
    let tag_part = match tag {
        Some(t) => match missing(instance, t) {
            Some(why) => format!(
                "; {why}, so a policy scoped by ssm:resourceTag/{} refuses it (tag it: `{}`)",
                t.key,
                create_tags(t, &[instance.id.as_str()])
            ),
            None => format!(
                "; it carries {}={}, so the policy must also allow {document} (SendCommand is authorized on the \
                 instance and on the document)",
                t.key, t.value
            ),
        },
        None => {
            let tags: Vec<String> = instance.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "; its tags are {}: a policy scoped by ssm:resourceTag/<key> allows only instances carrying its tag \
                 (pass --ssm-tag KEY=VALUE to check before sending)",
                if tags.is_empty() { "none".to_string() } else { tags.join(", ") }
            )
        }
    };
    TriageError::AccessDenied {
        message: format!("AWS refused ssm:SendCommand of {document} to {}{tag_part}. AWS said: {aws}", instance.id),
        help: format!(
            "SendCommand needs the instance (ssm:resourceTag/<key> condition) and the document \
             arn:aws:ssm:<region>::document/{document}: `custody policy role --features triage --ssm-tag KEY=VALUE` \
             writes that policy, and `custody check --triage` evaluates it offline"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Platform;
    use std::collections::BTreeMap;

    fn instance(tags: &[(&str, &str)]) -> InstanceInfo {
        InstanceInfo {
            id: "i-0123456789abcdef0".into(),
            platform: Platform::Linux,
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            state: "running".into(),
            account: None,
        }
    }

    fn tag() -> Tag {
        Tag { key: "CustodySSMEnabled".into(), value: "True".into() }
    }

    #[test]
    fn a_tagged_instance_passes() {
        assert!(check(&[instance(&[("CustodySSMEnabled", "True")])], &tag()).is_ok());
    }

    #[test]
    fn an_untagged_instance_is_refused_with_the_command_that_tags_it() {
        let err = check(&[instance(&[("Name", "web")])], &tag()).unwrap_err();
        let TriageError::Refused { message, help } = err else { panic!("not a refusal") };
        assert!(message.contains("no tag CustodySSMEnabled") && message.contains("nothing was sent"), "{message}");
        assert!(
            help.contains(
                "aws ec2 create-tags --resources i-0123456789abcdef0 --tags 'Key=CustodySSMEnabled,Value=True'"
            ),
            "{help}"
        );
    }

    #[test]
    fn a_value_or_key_in_another_case_is_refused_and_said_so() {
        let err = check(&[instance(&[("CustodySSMEnabled", "true")])], &tag()).unwrap_err().to_string();
        assert!(err.contains("values are case-sensitive"), "{err}");
        let err = check(&[instance(&[("custodyssmenabled", "True")])], &tag()).unwrap_err().to_string();
        assert!(err.contains("keys are case-sensitive"), "{err}");
    }

    #[test]
    fn access_denied_points_at_the_policy_generator() {
        let err =
            explain_access_denied(&instance(&[]), "AWS-RunShellScript", Some(&tag()), "AccessDeniedException: no");
        assert!(err.to_string().contains("no tag CustodySSMEnabled"), "{err}");
        assert!(err.help().unwrap().contains("custody policy role --features triage"));
    }
}
