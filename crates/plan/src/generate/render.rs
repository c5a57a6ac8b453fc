//! Writing generated policies as JSON, CloudFormation YAML or Terraform HCL.
//!
//! - JSON: one object with the named documents (the serde form of the outputs).
//! - CloudFormation: role policies as `AWS::IAM::ManagedPolicy` (forensic role, attached to the
//!   existing role) and `AWS::IAM::Role` with its trust policy and an inline policy (source role), one
//!   YAML document per account kind, separated by `---`; the evidence custodian's policy, when asked
//!   for, as a third `AWS::IAM::ManagedPolicy` document attached to the existing role; key-policy statements as a `KeyPolicy`
//!   snippet for `AWS::KMS::Key`, IAM policies as `AWS::IAM::ManagedPolicy`. CloudFormation has no
//!   grant resource: the `create-grant` command is a comment.
//! - Terraform: `data "aws_iam_policy_document"` blocks (statement/principals/condition blocks), with
//!   `aws_iam_policy`, `aws_iam_role`, `aws_iam_role_policy(_attachment)` and `aws_kms_grant`
//!   resources that use them.

mod triage;

use super::hcl::{self, Block};
use super::yaml;
use super::{GenerateError, GeneratedRolePolicies, KeyPolicyAdvice, RolePolicy, StatementInfo};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    /// CloudFormation YAML.
    Cfn,
    /// Terraform HCL.
    Terraform,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "json",
            Format::Cfn => "cfn",
            Format::Terraform => "terraform",
        })
    }
}

impl FromStr for Format {
    type Err = GenerateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Format::Json),
            "cfn" | "cloudformation" | "yaml" => Ok(Format::Cfn),
            "terraform" | "tf" | "hcl" => Ok(Format::Terraform),
            _ => Err(GenerateError::UnknownFormat(s.to_string())),
        }
    }
}

/// Something [`render`] can write.
pub trait Render {
    fn render(&self, format: Format) -> String;
}

/// `doc` in `format`.
pub fn render<T: Render + ?Sized>(doc: &T, format: Format) -> String {
    doc.render(format)
}

fn to_json<T: Serialize>(v: &T) -> String {
    // Serializing strings, vectors and JSON values cannot fail.
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// The path (`/custody/`) of a role ARN, when it has one.
fn role_path(arn: &str) -> Option<String> {
    let path_name = arn.split_once(":role/")?.1;
    let (path, _) = path_name.rsplit_once('/')?;
    Some(format!("/{path}/"))
}

/// The role names (without path) of a role policy.
fn role_names(p: &RolePolicy) -> Vec<String> {
    let mut names: Vec<String> = p.role_arns.iter().filter_map(|a| a.rsplit('/').next().map(str::to_string)).collect();
    names.dedup();
    names
}

fn yaml_statement_comments(out: &mut String, info: &[StatementInfo]) {
    for i in info {
        yaml::comment(out, &format!("  {}: {} ({})", i.sid, i.purpose, i.doc));
    }
}

impl Render for GeneratedRolePolicies {
    fn render(&self, format: Format) -> String {
        match format {
            Format::Json => to_json(self),
            Format::Cfn => role_cfn(self),
            Format::Terraform => role_terraform(self),
        }
    }
}

fn headline(g: &GeneratedRolePolicies) -> String {
    let features: Vec<&str> = g.features.iter().map(|f| f.as_str()).collect();
    let regions = if g.regions.is_empty() { "any".to_string() } else { g.regions.join(", ") };
    format!("custody role policies: features {}; KMS mode {}; regions {regions}", features.join(", "), g.kms)
}

/// One CloudFormation template to deploy as a stack of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfnTemplate {
    /// The file name `policy role --out` writes it to: where it is deployed.
    pub file: &'static str,
    /// The template (comments first: what it is for, each statement's purpose).
    pub text: String,
}

/// The role policies as CloudFormation templates, one per kind of account they are deployed in
/// (CloudFormation deploys one template per stack, and a stack lives in one account).
pub fn role_cfn_templates(g: &GeneratedRolePolicies) -> Vec<CfnTemplate> {
    let mut out = Vec::new();
    if let Some(policy) = &g.forensic_role.policy {
        let mut text = String::new();
        yaml::comment(&mut text, "Deploy in the forensic account (attaches to the existing forensic role).");
        yaml_statement_comments(&mut text, &g.forensic_role.statements);
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "custody: the forensic role's least-privilege policy",
            "Resources": {"CustodyForensicPolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": "custody forensic role",
                    "Roles": role_names(&g.forensic_role),
                    "PolicyDocument": policy
                }
            }}
        });
        text.push_str(&yaml::to_yaml(&template));
        out.push(CfnTemplate { file: "forensic-account.yaml", text });
    }
    if let Some(policy) = &g.source_role.policy {
        let mut text = String::new();
        yaml::comment(&mut text, "Deploy in each source account (a stack per account, or a StackSet).");
        yaml_statement_comments(&mut text, &g.source_role.statements);
        let name = role_names(&g.source_role).into_iter().next().unwrap_or_default();
        let resource = match &g.source_trust_policy {
            Some(trust) => {
                let mut role = json!({"CustodySourceRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "RoleName": name,
                        "Description": "custody source role: assumed by the forensic role only",
                        "AssumeRolePolicyDocument": trust,
                        "Policies": [{"PolicyName": "custody-source", "PolicyDocument": policy}]
                    }
                }});
                if let Some(path) = g.source_role.role_arns.first().and_then(|a| role_path(a)) {
                    role["CustodySourceRole"]["Properties"]["Path"] = json!(path);
                }
                role
            }
            None => json!({"CustodySourcePolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"Description": "custody source role", "Roles": [name], "PolicyDocument": policy}
            }}),
        };
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "custody: the source role and its least-privilege policy",
            "Resources": resource
        });
        text.push_str(&yaml::to_yaml(&template));
        out.push(CfnTemplate { file: "source-account.yaml", text });
    }
    if let Some(custodian) = g.custodian_role.as_ref().filter(|c| c.policy.is_some()) {
        let mut text = String::new();
        yaml::comment(&mut text, CUSTODIAN_HEADING);
        yaml_statement_comments(&mut text, &custodian.statements);
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "custody: the evidence custodian's policy, for the person with authority to destroy evidence",
            "Resources": {"CustodyEvidenceCustodianPolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": "custody evidence custodian: may delete evidence snapshots",
                    "Roles": role_names(custodian),
                    "PolicyDocument": custodian.policy
                }
            }}
        });
        text.push_str(&yaml::to_yaml(&template));
        out.push(CfnTemplate { file: "evidence-custodian.yaml", text });
    }
    out.extend(triage::cfn(g));
    out
}

/// [`role_cfn_templates`], each headed by what was generated and the notes: the files `policy role
/// --out` writes, each a template CloudFormation deploys as it is.
pub fn role_cfn_files(g: &GeneratedRolePolicies) -> Vec<CfnTemplate> {
    let header = cfn_header(g);
    role_cfn_templates(g)
        .into_iter()
        .map(|t| CfnTemplate { file: t.file, text: format!("{header}{}", t.text) })
        .collect()
}

/// What was generated and the notes, as YAML comments.
fn cfn_header(g: &GeneratedRolePolicies) -> String {
    let mut out = String::new();
    yaml::comment(&mut out, &headline(g));
    for n in &g.notes {
        yaml::comment(&mut out, &format!("note: {n}"));
    }
    out
}

/// All templates in one stream, each after a `---` (for reading; CloudFormation takes one template
/// per stack: `policy role --out` writes each to a file of its own).
fn role_cfn(g: &GeneratedRolePolicies) -> String {
    let mut out = cfn_header(g);
    for (i, t) in role_cfn_templates(g).iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        yaml::comment(&mut out, &format!("{}:", t.file));
        out.push_str(&t.text);
    }
    out
}

/// Where the evidence custodian's policy goes, and who may hold it.
const CUSTODIAN_HEADING: &str = "The evidence custodian: deploy in each account that holds evidence (attaches to the \
     existing role); only the person with authority to destroy evidence may assume that role.";

fn reference(kind: &str, name: &str, attr: &str) -> String {
    format!("{kind}.{name}.{attr}")
}

/// The AWS provider major version the configuration is written for (the `aws_iam_policy_document`
/// data source and the resources it uses are stable across it).
pub const TERRAFORM_AWS_PROVIDER: &str = "~> 5.0";

/// The account of a role ARN, when it names one (not `*`).
fn account_of(arn: &str) -> Option<String> {
    custody_ids::Arn::parse(arn).ok()?.account().map(str::to_string)
}

/// `terraform { required_providers … }` and one aliased provider per account: every block names its
/// provider, and a provider whose account is known refuses credentials of another
/// (`allowed_account_ids`), so one `apply` cannot create every part in one account.
fn terraform_providers(out: &mut String, providers: &[(String, Option<String>, &str)]) {
    let mut tf = Block::new("terraform", &[]);
    tf.attr("required_version", hcl::string(">= 1.3.0"));
    let mut required = Block::new("required_providers", &[]);
    required.attr(
        "aws",
        format!("{{ source = {}, version = {} }}", hcl::string("hashicorp/aws"), hcl::string(TERRAFORM_AWS_PROVIDER)),
    );
    tf.block(required);
    tf.write(out, 0);
    for (alias, account, what) in providers {
        let mut p = Block::new("provider", &["aws"]);
        p.comment(&format!(
            "{what}: set the credentials of that account here (profile or assume_role) and its region."
        ))
        .attr_str("alias", alias);
        if let Some(a) = account {
            p.attr("allowed_account_ids", hcl::list(&[a]));
        }
        out.push('\n');
        p.write(out, 0);
    }
}

fn role_terraform(g: &GeneratedRolePolicies) -> String {
    let mut out = String::new();
    hcl::comment(&mut out, "", &headline(g));
    for n in &g.notes {
        hcl::comment(&mut out, "", &format!("note: {n}"));
    }
    let forensic_account = g.forensic_role.role_arns.first().and_then(|a| account_of(a));
    let mut source_accounts: Vec<Option<String>> = g.source_role.role_arns.iter().map(|a| account_of(a)).collect();
    source_accounts.dedup();
    if source_accounts.iter().any(Option::is_none) || source_accounts.is_empty() {
        source_accounts = vec![None];
    }
    // (alias, account, what it deploys)
    let mut providers: Vec<(String, Option<String>, &str)> = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();
    // The output bucket is in the forensic account (`--output-bucket`'s help says so).
    let forensic_parts = g.forensic_role.policy.is_some()
        || g.custodian_role.as_ref().is_some_and(|c| c.policy.is_some())
        || g.output_bucket_policy.is_some();
    if forensic_parts {
        providers.push(("forensic".into(), forensic_account, "The forensic account"));
    }
    if let Some(policy) = &g.forensic_role.policy {
        let mut d = hcl::policy_document("custody_forensic", policy, &g.forensic_role.statements);
        d.provider("forensic");
        blocks.push(d);
        let mut p = Block::new("resource", &["aws_iam_policy", "custody_forensic"]);
        p.attr_str("name", "custody-forensic")
            .attr_str("description", "custody forensic role")
            .attr("policy", reference("data.aws_iam_policy_document", "custody_forensic", "json"))
            .provider("forensic");
        blocks.push(p);
        for (i, role) in role_names(&g.forensic_role).iter().enumerate() {
            let label = if i == 0 { "custody_forensic".to_string() } else { format!("custody_forensic_{i}") };
            let mut a = Block::new("resource", &["aws_iam_role_policy_attachment", &label]);
            a.attr_str("role", role)
                .attr("policy_arn", reference("aws_iam_policy", "custody_forensic", "arn"))
                .provider("forensic");
            blocks.push(a);
        }
    }
    let source_parts =
        g.source_role.policy.is_some() || g.instance_profile.as_ref().is_some_and(|p| p.policy.is_some());
    for account in source_accounts.iter().filter(|_| source_parts) {
        let (alias, suffix) = match account {
            Some(a) => (format!("source_{a}"), format!("_{a}")),
            None => ("source".to_string(), String::new()),
        };
        providers.push((alias.clone(), account.clone(), "A source account"));
        let mut part = Vec::new();
        source_terraform(g, &suffix, &mut part);
        triage::terraform_instance_profile(g, &suffix, &mut part);
        for mut b in part {
            b.provider(&alias);
            blocks.push(b);
        }
    }
    if let Some(custodian) = &g.custodian_role {
        if let Some(policy) = &custodian.policy {
            let name = "custody_evidence_custodian";
            let mut d = hcl::policy_document(name, policy, &custodian.statements);
            d.provider("forensic");
            blocks.push(d);
            let mut p = Block::new("resource", &["aws_iam_policy", name]);
            p.comment(CUSTODIAN_HEADING)
                .attr_str("name", "custody-evidence-custodian")
                .attr_str("description", "custody evidence custodian: may delete evidence snapshots")
                .attr("policy", reference("data.aws_iam_policy_document", name, "json"))
                .provider("forensic");
            blocks.push(p);
            for (i, role) in role_names(custodian).iter().enumerate() {
                let label = if i == 0 { name.to_string() } else { format!("{name}_{i}") };
                let mut a = Block::new("resource", &["aws_iam_role_policy_attachment", &label]);
                a.attr_str("role", role)
                    .attr("policy_arn", reference("aws_iam_policy", name, "arn"))
                    .provider("forensic");
                blocks.push(a);
            }
        }
    }
    let mut part = Vec::new();
    triage::terraform_bucket(g, &mut part);
    for mut b in part {
        b.provider("forensic");
        blocks.push(b);
    }

    out.push('\n');
    terraform_providers(&mut out, &providers);
    for b in blocks {
        out.push('\n');
        b.write(&mut out, 0);
    }
    out
}

/// The source role's blocks, their labels ending in `suffix` (one set per source account).
fn source_terraform(g: &GeneratedRolePolicies, suffix: &str, blocks: &mut Vec<Block>) {
    let Some(policy) = &g.source_role.policy else { return };
    let (doc, trust_doc, role_label) =
        (format!("custody_source{suffix}"), format!("custody_source_trust{suffix}"), format!("custody_source{suffix}"));
    blocks.push(hcl::policy_document(&doc, policy, &g.source_role.statements));
    let name = role_names(&g.source_role).into_iter().next().unwrap_or_default();
    match &g.source_trust_policy {
        Some(trust) => {
            blocks.push(hcl::policy_document(&trust_doc, trust, &[]));
            let mut r = Block::new("resource", &["aws_iam_role", &role_label]);
            r.attr_str("name", &name);
            if let Some(path) = g.source_role.role_arns.first().and_then(|a| role_path(a)) {
                r.attr_str("path", &path);
            }
            r.attr_str("description", "custody source role: assumed by the forensic role only")
                .attr("assume_role_policy", reference("data.aws_iam_policy_document", &trust_doc, "json"));
            blocks.push(r);
            let mut p = Block::new("resource", &["aws_iam_role_policy", &role_label]);
            p.attr_str("name", "custody-source")
                .attr("role", reference("aws_iam_role", &role_label, "id"))
                .attr("policy", reference("data.aws_iam_policy_document", &doc, "json"));
            blocks.push(p);
        }
        None => {
            let mut p = Block::new("resource", &["aws_iam_policy", &role_label]);
            p.attr_str("name", "custody-source")
                .attr_str("description", "custody source role")
                .attr("policy", reference("data.aws_iam_policy_document", &doc, "json"));
            blocks.push(p);
            let mut a = Block::new("resource", &["aws_iam_role_policy_attachment", &role_label]);
            a.attr_str("role", &name).attr("policy_arn", reference("aws_iam_policy", &role_label, "arn"));
            blocks.push(a);
        }
    }
}

impl Render for KeyPolicyAdvice {
    fn render(&self, format: Format) -> String {
        match format {
            Format::Json => to_json(self),
            Format::Cfn => key_cfn(self),
            Format::Terraform => key_terraform(self),
        }
    }
}

fn key_headline(a: &KeyPolicyAdvice) -> String {
    format!("custody key policy advice: {} for {} on {}", a.access, a.principal, a.key_arn)
}

/// The IAM policies of the advice, with their resource names and descriptions.
fn key_iam_policies(a: &KeyPolicyAdvice) -> Vec<(&'static str, &'static str, &'static str, &Value)> {
    let mut v = Vec::new();
    if let Some(p) = &a.grant_creator_policy {
        v.push(("CustodyGrantCreatorPolicy", "custody_grant_creator", "for whoever runs the create-grant command", p));
    }
    if let Some(p) = &a.principal_policy {
        v.push(("CustodyPrincipalPolicy", "custody_principal", "for the principal that uses the key", p));
    }
    v
}

/// The key's advice as one CloudFormation document: what CloudFormation cannot hold (statements to
/// merge into an existing key policy, the create-grant command) as comments, and, when the principals
/// need IAM policies, a template that deploys them.
fn key_cfn(a: &KeyPolicyAdvice) -> String {
    let mut out = String::new();
    yaml::comment(&mut out, &key_headline(a));
    for n in &a.notes {
        yaml::comment(&mut out, &format!("note: {n}"));
    }
    if let Some(g) = &a.create_grant {
        yaml::comment(
            &mut out,
            &format!("Run in account {} (CloudFormation has no resource for a grant):", g.run_in_account),
        );
        for line in g.command.lines() {
            yaml::comment(&mut out, &format!("  {line}"));
        }
    }
    if !a.key_policy_statements.is_empty() {
        yaml::comment(
            &mut out,
            &format!("{KEY_SNIPPET_HEADING} (the KeyPolicy of its AWS::KMS::Key, or the key policy in KMS):"),
        );
        for line in yaml::to_yaml(&json!(a.key_policy_statements)).lines() {
            yaml::comment(&mut out, &format!("  {line}"));
        }
    }
    let policies = key_iam_policies(a);
    if !policies.is_empty() {
        let mut resources = serde_json::Map::new();
        for (logical, _, description, doc) in policies {
            resources.insert(
                logical.to_string(),
                json!({"Type": "AWS::IAM::ManagedPolicy", "Properties": {
                    "Description": format!("custody: {description}"),
                    "PolicyDocument": doc
                }}),
            );
        }
        out.push_str(&yaml::to_yaml(&json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "custody: IAM policies for the use of the key",
            "Resources": resources
        })));
    }
    out
}

/// The comment line before the key-policy statements of [`key_cfn`].
pub const KEY_SNIPPET_HEADING: &str = "Add these statements to the key's policy, keeping its existing statements";

fn key_terraform(a: &KeyPolicyAdvice) -> String {
    let mut out = String::new();
    hcl::comment(&mut out, "", &key_headline(a));
    for n in &a.notes {
        hcl::comment(&mut out, "", &format!("note: {n}"));
    }
    // One aliased provider per account a block is applied in: the key's owner, and the principal's
    // account when it is another.
    let account =
        |arn: &str| custody_ids::Arn::parse(arn).ok().and_then(|a| a.account()).unwrap_or_default().to_string();
    let (key_account, principal_account) = (account(&a.key_arn), account(&a.principal));
    let alias_of = |account: &str| if account == key_account { "key_owner" } else { "principal_account" };
    let mut providers: Vec<(String, Option<String>, &str)> =
        vec![("key_owner".into(), Some(key_account.clone()), "The key's account")];
    if principal_account != key_account {
        providers.push(("principal_account".into(), Some(principal_account.clone()), "The principal's account"));
    }
    let mut blocks = Vec::new();
    if !a.key_policy_statements.is_empty() {
        let doc = json!({"Version": super::POLICY_VERSION, "Statement": a.key_policy_statements});
        let mut b = hcl::policy_document("custody_key_policy_statements", &doc, &[]);
        b.comment("Merge into the key's policy (source_policy_documents of its aws_iam_policy_document); keep its existing statements.")
            .provider("key_owner");
        blocks.push(b);
    }
    if let Some(g) = &a.create_grant {
        let mut b = Block::new("resource", &["aws_kms_grant", "custody"]);
        b.attr_str("name", "custody")
            .attr_str("key_id", &g.key_id)
            .attr_str("grantee_principal", &g.grantee_principal)
            .attr("operations", hcl::list(&g.operations));
        if let Some(r) = &g.retiring_principal {
            b.attr_str("retiring_principal", r);
        }
        b.provider(alias_of(&g.run_in_account));
        blocks.push(b);
    }
    for (_, name, description, doc) in key_iam_policies(a) {
        let account = match name {
            "custody_grant_creator" => {
                a.create_grant.as_ref().map_or(key_account.as_str(), |g| g.run_in_account.as_str())
            }
            _ => principal_account.as_str(),
        };
        let mut d = hcl::policy_document(name, doc, &[]);
        d.provider(alias_of(account));
        blocks.push(d);
        let mut p = Block::new("resource", &["aws_iam_policy", name]);
        p.attr_str("name", &name.replace('_', "-"))
            .attr_str("description", &format!("custody: {description}"))
            .attr("policy", reference("data.aws_iam_policy_document", name, "json"))
            .provider(alias_of(account));
        blocks.push(p);
    }
    out.push('\n');
    terraform_providers(&mut out, &providers);
    for b in blocks {
        out.push('\n');
        b.write(&mut out, 0);
    }
    out
}
