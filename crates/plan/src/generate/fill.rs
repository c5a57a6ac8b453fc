//! Filling the templates of [`super::templates`] with the accounts, regions and names given: ARNs,
//! condition blocks, and each role's policy.

use super::templates::{rows, Cond, Effect, Res, Role, Scope, Template, RESOURCE_ALIASES, RETIRE};
use super::{Feature, KmsMode, RoleOptions, StatementInfo, POLICY_VERSION};
use crate::plan::{COPY_GRANT_OPERATIONS, EVIDENCE_TAG_VALUE, TAG_EVIDENCE, TAG_RUN};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const ANY: &str = "*";

/// What the templates are filled with.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    pub options: &'a RoleOptions,
    pub regions: &'a [String],
    /// The accounts the source role is deployed in: the source accounts other than the forensic
    /// account; `["*"]` when none were given.
    source_accounts: Vec<&'a str>,
    /// The forensic account is itself a source account.
    same_account: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(options: &'a RoleOptions, regions: &'a [String]) -> Ctx<'a> {
        let forensic = options.forensic_account.as_deref();
        let source_accounts: Vec<&str> = if options.source_accounts.is_empty() {
            vec![ANY]
        } else {
            let mut v: Vec<&str> = Vec::new();
            for a in options.source_accounts.iter().map(String::as_str).filter(|a| Some(*a) != forensic) {
                if !v.contains(&a) {
                    v.push(a);
                }
            }
            v
        };
        let same_account = forensic.is_some_and(|f| options.source_accounts.iter().any(|a| a == f));
        Ctx { options, regions, source_accounts, same_account }
    }

    /// Some source account is not the forensic account.
    pub fn cross_account(&self) -> bool {
        !self.source_accounts.is_empty()
    }

    fn regions(&self) -> Vec<&str> {
        if self.regions.is_empty() {
            vec![ANY]
        } else {
            self.regions.iter().map(String::as_str).collect()
        }
    }

    fn forensic_account(&self) -> &str {
        self.options.forensic_account.as_deref().unwrap_or(ANY)
    }

    pub fn forensic_role_arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.forensic_account(), self.options.forensic_role_name)
    }

    pub fn source_role_arns(&self) -> Vec<String> {
        self.source_accounts
            .iter()
            .map(|a| format!("arn:aws:iam::{a}:role/{}", self.options.source_role_name))
            .collect()
    }

    /// The evidence custodian's role in each account that holds evidence: the forensic account (the
    /// copies) and the source accounts (a source snapshot can be the evidence); `*` when the source
    /// accounts are not given (any account may then hold evidence).
    pub fn custodian_role_arns(&self) -> Vec<String> {
        let mut accounts: Vec<&str> = Vec::new();
        for a in self.options.forensic_account.iter().chain(&self.options.source_accounts) {
            if !accounts.contains(&a.as_str()) {
                accounts.push(a);
            }
        }
        if self.options.source_accounts.is_empty() {
            accounts = vec![ANY];
        }
        accounts.iter().map(|a| format!("arn:aws:iam::{a}:role/{}", self.options.custodian_role_name)).collect()
    }

    /// `f(region, account)` for every region and account.
    fn each(&self, accounts: &[&str], f: impl Fn(&str, &str) -> String) -> Vec<String> {
        self.regions().into_iter().flat_map(|r| accounts.iter().map(move |a| (r, *a))).map(|(r, a)| f(r, a)).collect()
    }

    /// The ARNs of `res`, with `sources` standing for the source accounts.
    fn resources(&self, res: Res, sources: &[&str]) -> Vec<String> {
        let prefix = &self.options.alias_prefix;
        match res {
            Res::Any => vec![ANY.to_string()],
            Res::SourceRole => self.source_role_arns(),
            Res::Snapshots => self.each(&[""], |r, _| format!("arn:aws:ec2:{r}::snapshot/*")),
            Res::AllSnapshots => vec![format!("arn:aws:ec2:{ANY}::snapshot/*")],
            Res::SourceInstances => self.each(sources, |r, a| format!("arn:aws:ec2:{r}:{a}:instance/*")),
            Res::SourceVolumes => self.each(sources, |r, a| format!("arn:aws:ec2:{r}:{a}:volume/*")),
            Res::SourceKeys => self.each(sources, |r, a| format!("arn:aws:kms:{r}:{a}:key/*")),
            Res::ForensicVolumes => {
                self.each(&[self.forensic_account()], |r, a| format!("arn:aws:ec2:{r}:{a}:volume/*"))
            }
            Res::ForensicKeys => self.each(&[self.forensic_account()], |r, a| format!("arn:aws:kms:{r}:{a}:key/*")),
            Res::TempKeyAliases => self.each(sources, |r, a| format!("arn:aws:kms:{r}:{a}:alias/{prefix}-*")),
            Res::OutputBucket => self.options.output_bucket.iter().map(|o| o.bucket_arn()).collect(),
            Res::OutputObjects => self.options.output_bucket.iter().map(|o| o.objects_arn()).collect(),
            Res::RunCommandDocuments => ["AWS-RunShellScript", "AWS-RunPowerShellScript"]
                .iter()
                .flat_map(|d| self.each(&[""], move |r, _| format!("arn:aws:ssm:{r}::document/{d}")))
                .collect(),
        }
    }

    /// `(operator, key, values)`; `None` when the condition is dropped for lack of a value.
    fn condition(&self, cond: Cond) -> Option<(&'static str, String, Value)> {
        let role = self.forensic_role_arn();
        // A wildcard account in the ARN needs StringLike (ArnLike does not apply to these keys).
        let role_op = if self.options.forensic_account.is_some() { "StringEquals" } else { "StringLike" };
        let case_tag = &self.options.case_tag_key;
        Some(match cond {
            Cond::CreateAction(action) => ("StringEquals", "ec2:CreateAction".into(), json!(action)),
            Cond::ViaEc2 if self.regions.is_empty() => {
                ("StringLike", "kms:ViaService".into(), json!("ec2.*.amazonaws.com"))
            }
            Cond::ViaEc2 => {
                let services: Vec<String> = self.regions.iter().map(|r| format!("ec2.{r}.amazonaws.com")).collect();
                ("StringEquals", "kms:ViaService".into(), one_or_many(services))
            }
            Cond::ForAwsResource => ("Bool", "kms:GrantIsForAWSResource".into(), json!(true)),
            Cond::GrantOperations => {
                let mut ops = COPY_GRANT_OPERATIONS.to_vec();
                ops.sort_unstable();
                ("ForAllValues:StringEquals", "kms:GrantOperations".into(), json!(ops))
            }
            Cond::GranteeIsForensicRole => (role_op, "kms:GranteePrincipal".into(), json!(role)),
            Cond::RetiringIsForensicRole => (role_op, "kms:RetiringPrincipal".into(), json!(role)),
            Cond::TempKeyAlias => (
                "ForAnyValue:StringLike",
                "kms:ResourceAliases".into(),
                json!(format!("alias/{}-*", self.options.alias_prefix)),
            ),
            Cond::CaseTagRequested => ("StringLike", format!("aws:RequestTag/{case_tag}"), json!("*")),
            Cond::SharedWithForensicAccount => {
                ("StringEquals", "ec2:Add/userId".into(), json!(self.options.forensic_account.as_ref()?))
            }
            Cond::UnsharedFromForensicAccount => {
                ("StringEquals", "ec2:Remove/userId".into(), json!(self.options.forensic_account.as_ref()?))
            }
            Cond::CaseTagged => ("StringLike", format!("aws:ResourceTag/{case_tag}"), json!("*")),
            // `Null` with "false": the key is present (IAM User Guide, condition operators, Null).
            Cond::RunTagged => ("Null", format!("aws:ResourceTag/{TAG_RUN}"), json!("false")),
            Cond::EvidenceTagged => ("Null", format!("aws:ResourceTag/{TAG_EVIDENCE}"), json!("false")),
            Cond::NotEvidence => ("Null", format!("aws:ResourceTag/{TAG_EVIDENCE}"), json!("true")),
            Cond::EvidenceTagRequested => {
                ("StringEquals", format!("aws:RequestTag/{TAG_EVIDENCE}"), json!(EVIDENCE_TAG_VALUE))
            }
            Cond::OnlyEvidenceTagKey => ("ForAllValues:StringEquals", "aws:TagKeys".into(), json!([TAG_EVIDENCE])),
            Cond::SsmTag => {
                let tag = self.options.ssm_tag.as_ref()?;
                ("StringEquals", format!("ssm:resourceTag/{}", tag.key), json!(tag.value))
            }
            // An empty prefix is the whole bucket: no condition.
            Cond::OutputPrefix => {
                let out = self.options.output_bucket.as_ref().filter(|o| !o.prefix.is_empty())?;
                ("StringLike", "s3:prefix".into(), json!(format!("{}/*", out.prefix)))
            }
        })
    }

    fn enabled(&self, t: &Template) -> bool {
        let needs_bucket = t.resources.iter().any(|r| matches!(r, Res::OutputBucket | Res::OutputObjects));
        t.features.iter().any(|f| self.options.features.contains(f))
            && (t.kms.is_empty() || t.kms.contains(&self.options.kms))
            && (!needs_bucket || self.options.output_bucket.is_some())
    }

    fn in_scope(&self, t: &Template) -> bool {
        match t.scope {
            Scope::Always => true,
            Scope::CrossAccount => self.cross_account(),
            Scope::SameAccount => self.same_account,
        }
    }
}

fn one_or_many(mut v: Vec<String>) -> Value {
    if v.len() == 1 {
        json!(v.remove(0))
    } else {
        json!(v)
    }
}

/// The statement of one template, for the source accounts `sources`.
fn statement(ctx: &Ctx, effect: Effect, t: &Template, sources: &[&str]) -> Value {
    let mut resources: Vec<String> = Vec::new();
    for r in t.resources {
        for arn in ctx.resources(*r, sources) {
            if !resources.contains(&arn) {
                resources.push(arn);
            }
        }
    }
    let mut conditions: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for c in t.conditions {
        if let Some((op, key, values)) = ctx.condition(*c) {
            conditions.entry(op).or_default().insert(key, values);
        }
    }
    let mut s = Map::new();
    s.insert("Sid".into(), json!(t.sid));
    s.insert("Effect".into(), json!(effect.as_str()));
    s.insert("Action".into(), json!(t.actions));
    s.insert("Resource".into(), one_or_many(resources));
    if !conditions.is_empty() {
        s.insert("Condition".into(), json!(conditions));
    }
    Value::Object(s)
}

/// The values of a string-or-array element.
fn set(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `a` allows (or denies) nothing `b` does not: the same effect, its actions and resources are among
/// `b`'s (as written), and `b` has no condition or the same.
fn covered_by(a: &Value, b: &Value) -> bool {
    let within = |key| set(a.get(key)).iter().all(|x| set(b.get(key)).contains(x));
    a.get("Effect") == b.get("Effect")
        && within("Action")
        && within("Resource")
        && (b.get("Condition").is_none() || b.get("Condition") == a.get("Condition"))
}

/// One role's policy and the reasons for its statements.
pub struct Built {
    pub policy: Option<Value>,
    pub info: Vec<StatementInfo>,
}

/// The policy of `role`. The forensic role also gets the `forensic_too` source rows, for its own
/// account, when it is a source account; a statement that another one already covers is left out.
pub fn build(ctx: &Ctx, role: Role) -> Built {
    let mut chosen: Vec<(Effect, &Template, Vec<&str>)> = Vec::new();
    for (effect, t) in rows().filter(|(_, t)| ctx.enabled(t)) {
        match (role, t.role) {
            (Role::Forensic, Role::Forensic) if ctx.in_scope(t) => {
                chosen.push((effect, t, ctx.source_accounts.clone()))
            }
            (Role::Forensic, Role::Source) if t.forensic_too && ctx.same_account => {
                chosen.push((effect, t, vec![ctx.forensic_account()]))
            }
            (Role::Source, Role::Source) if ctx.in_scope(t) && ctx.cross_account() => {
                chosen.push((effect, t, ctx.source_accounts.clone()))
            }
            (Role::Custodian, Role::Custodian) => chosen.push((effect, t, ctx.source_accounts.clone())),
            (Role::InstanceProfile, Role::InstanceProfile) if ctx.in_scope(t) => {
                chosen.push((effect, t, ctx.source_accounts.clone()))
            }
            _ => {}
        }
    }
    let mut statements: Vec<Value> = Vec::new();
    let mut info = Vec::new();
    for (effect, t, sources) in chosen {
        let s = statement(ctx, effect, t, &sources);
        if statements.iter().any(|kept| covered_by(&s, kept)) {
            continue;
        }
        // And one kept earlier that this one covers goes (with `Resource: *`, when no account is
        // known, the forensic account's keys are all keys).
        let mut i = 0;
        while i < statements.len() {
            if covered_by(&statements[i], &s) {
                statements.remove(i);
                info.remove(i);
            } else {
                i += 1;
            }
        }
        statements.push(s);
        info.push(StatementInfo { sid: t.sid.into(), purpose: t.purpose.into(), doc: t.doc.into() });
    }
    let policy = (!statements.is_empty()).then(|| json!({"Version": POLICY_VERSION, "Statement": statements}));
    Built { policy, info }
}

/// The output bucket's policy, taken to live in the forensic account: it admits the writers of each
/// source account (any principal there, since the instance profiles' roles are not known here: each
/// account's own policies decide which may write) and custody's reader there, under the prefix
/// only. `None` without an output bucket, or when no source account is another account.
pub fn output_bucket_policy(ctx: &Ctx, notes: &mut Vec<String>) -> Option<Value> {
    let out = ctx.options.output_bucket.as_ref()?;
    if !ctx.options.features.contains(&crate::generate::Feature::Triage) {
        return None;
    }
    notes.push(format!(
        "attach the instance profile policy to the role of the instance profile of every instance you triage with \
         --output {out}: the SSM agent writes the output with it, not with custody's roles"
    ));
    let Some(forensic) = ctx.options.forensic_account.as_deref() else {
        notes.push(
            "pass --forensic-account to get the output bucket's policy: it names the source accounts' principals by ARN"
                .to_string(),
        );
        return None;
    };
    let others: Vec<&str> = ctx.source_accounts.iter().copied().filter(|a| *a != ANY && *a != forensic).collect();
    if others.is_empty() {
        notes.push(format!(
            "no bucket policy is needed for {out} when it is in the account of the instances (pass --source-accounts \
             for the bucket policy of a bucket in the forensic account)"
        ));
        return None;
    }
    notes.push(format!(
        "the output bucket policy is for a bucket {} in the forensic account {forensic}; if the bucket encrypts with \
         a KMS key (SSE-KMS), the instance profiles also need kms:GenerateDataKey and the reader kms:Decrypt on it",
        out.bucket
    ));
    let writers: Vec<String> = others.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
    let readers: Vec<String> =
        others.iter().map(|a| format!("arn:aws:iam::{a}:role/{}", ctx.options.source_role_name)).collect();
    let mut list = json!({
        "Sid": "TriageReaderListsOutput",
        "Effect": "Allow",
        "Principal": {"AWS": one_or_many(readers.clone())},
        "Action": "s3:ListBucket",
        "Resource": out.bucket_arn()
    });
    if let Some((op, key, value)) = ctx.condition(Cond::OutputPrefix) {
        list["Condition"] = json!({op: {key: value}});
    }
    Some(json!({
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "TriageAgentsWriteOutput",
                "Effect": "Allow",
                "Principal": {"AWS": one_or_many(writers)},
                "Action": ["s3:PutObject", "s3:PutObjectAcl"],
                "Resource": out.objects_arn()
            },
            list,
            {
                "Sid": "TriageReaderReadsOutput",
                "Effect": "Allow",
                "Principal": {"AWS": one_or_many(readers)},
                "Action": "s3:GetObject",
                "Resource": out.objects_arn()
            }
        ]
    }))
}

/// What the reader must arrange elsewhere, for these options.
pub fn notes(ctx: &Ctx) -> Vec<String> {
    let o = ctx.options;
    let mut notes = Vec::new();
    let has = |f| o.features.contains(&f);
    if has(Feature::Acquire) && ctx.cross_account() {
        let mut ops = COPY_GRANT_OPERATIONS.to_vec();
        ops.sort_unstable();
        notes.push(match o.kms {
            KmsMode::GrantOnly => format!(
                "grant-only: the forensic role uses source keys only through the grants the source role creates \
                 (operations {}) and retires them as their retiring principal: a grant needs no IAM permission, and \
                 an allow of kms:RetireGrant does not let anyone retire a grant ({RETIRE}). Each source key's policy \
                 must let the source role create grants for the forensic role: `custody policy key --access grant-only --for \
                 <source role ARN> --grantee <forensic role ARN>`",
                ops.join(", ")
            ),
            KmsMode::Direct => "direct-use: each source key's policy must also allow the forensic role (cross-account use \
                                needs the key policy and this IAM policy): `custody policy key --access direct-use \
                                --for <forensic role ARN>`"
                .to_string(),
            KmsMode::OwnerGrants => {
                "owner-grant: each source key's owner must grant the forensic role: `custody policy \
                                     key --access owner-grant --for <forensic role ARN>`"
                    .to_string()
            }
        });
        notes.push(format!(
            "path 8 (aws/ebs, cross-account): the temporary key's policy, which custody writes, names the source and \
             forensic roles and no account root, so IAM decides only CreateKey, TagResource and the alias ARNs on the \
             source side; the forensic role's use of the key is scoped by kms:ResourceAliases ({RESOURCE_ALIASES})"
        ));
    }
    if (has(Feature::Acquire) || has(Feature::Image) || has(Feature::DirectRead)) && !o.regions.is_empty() {
        notes.push(
            "kms:ViaService lists exactly the regions given: EC2 calls each key through its own region, so list \
             every region whose keys custody uses, the instances' and the forensic region"
                .to_string(),
        );
    }
    if o.source_accounts.is_empty() {
        notes.push(
            "no --source-accounts: the source role's statements name any account (`*`); to acquire instances \
                    of the forensic account itself, list it in --source-accounts and the forensic role gets the \
                    source-side statements for its own account"
                .to_string(),
        );
    }
    if has(Feature::Triage) && o.ssm_tag.is_none() {
        notes.push(
            "no --ssm-tag: ssm:SendCommand is allowed on every instance of the source accounts; AWS \
                    recommends limiting it to instances carrying a tag (https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html#tag-based-access)"
                .to_string(),
        );
    }
    if has(Feature::Cleanup) {
        notes.push(format!(
            "cleanup deletes only snapshots a custody run created (tags `{}` and `{TAG_RUN}`) and not marked as \
             evidence (`{TAG_EVIDENCE}`), in the source accounts (and the forensic account when it is one)",
            o.case_tag_key
        ));
    }
    if has(Feature::Acquire) || has(Feature::Cleanup) {
        notes.push(format!(
            "the roles custody runs as can never delete a snapshot marked as evidence (tag `{TAG_EVIDENCE}`) nor \
             remove its tags: an explicit Deny, which no other policy of theirs can lift; discarding evidence is \
             for a separate role, written with --features discard-evidence"
        ));
    }
    if has(Feature::DiscardEvidence) {
        notes.push(format!(
            "discard-evidence: `{}` may delete custody's evidence snapshots; create it in each account that holds \
             evidence (the forensic account, and a source account when a snapshot there is the evidence) and let \
             only the person with authority to destroy evidence assume it: its trust policy is yours to write",
            o.custodian_role_name
        ));
    }
    notes
}
