//! Getting an acquisition ready, before anything is changed: who custody acts as, what it knows of
//! the account (the inventory), and the plans with their preflight.
//!
//! The live run and the dry run (`custody acquire --simulate`) prepare the same way, so a dry run
//! stops where a real one would; `custody cleanup` becomes the forensic role the same way too. These
//! steps only read (STS, and the read-only calls of [`collect`](crate::collect)); nothing here writes
//! to AWS or to the journal. What is printed about them (a role being assumed, the preflight's
//! verdicts) is the caller's: this module answers values and errors.
//!
//! An error says whose it is ([`PrepareError::is_bad_input`]): an inventory that cannot be read or
//! planned, or a collection asked for with unusable values, is the user's to fix; AWS refusing or not
//! answering, or a journal that cannot be read, is a failure.

use crate::collect::{collect, CollectError, CollectRequest, Collected};
use custody_cloud::{Cloud, CloudError, SessionName};
use custody_journal::{Journal, JournalError};
use custody_plan::check::{check, CheckReport};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{plan, session_name, Mode, Plan, PlanError, PlanRequest};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why an acquisition could not be prepared. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The configured identity cannot be asked who it is.
    #[error("who am I (sts:GetCallerIdentity)")]
    WhoAmI(#[source] Box<CloudError>),
    /// The forensic role cannot be assumed.
    #[error("cannot assume the forensic role {role_arn}")]
    Assume {
        role_arn: String,
        #[source]
        source: Box<CloudError>,
    },
    /// The inventory document is not one.
    #[error("{origin}: {message}")]
    Inventory { origin: String, message: String },
    /// The inventory cannot be collected.
    #[error("collect")]
    Collect(#[source] CollectError),
    /// An instance cannot be planned with the inventory (the planner's words say why).
    #[error("{instance}: {error}")]
    Plan { instance: String, error: PlanError },
    /// The case is not in the journal.
    #[error("case `{0}` is not in the journal")]
    UnknownCase(String),
    /// The journaled plans of a case do not say who signed them.
    #[error("the journaled plan of case `{0}` names no signer; pass --forensic-role-arn")]
    NoSigner(String),
    /// The journal cannot be read.
    #[error("cannot read the journal")]
    Journal(#[source] JournalError),
}

impl PrepareError {
    /// Whether the user's input is at fault (an inventory, an instance, an argument): nothing was
    /// changed, and running again unchanged would fail the same way.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Inventory { .. } | Self::Plan { .. } | Self::UnknownCase(_) | Self::NoSigner(_) => true,
            Self::Collect(e) => matches!(e, CollectError::Invalid(_)),
            Self::WhoAmI(_) | Self::Assume { .. } | Self::Journal(_) => false,
        }
    }
}

/// The `Cloud` of a session of `role_arn`: the configured identity when it already is one, else a
/// session custody assumes, named for the case so that CloudTrail ties every call to it. `assuming`
/// is told the role and the session name just before the role is assumed (a slow STS then shows).
pub async fn become_role(
    configured: Arc<dyn Cloud>,
    role_arn: &str,
    case_id: &str,
    assuming: &(dyn Fn(&str, &str) + Send + Sync),
) -> Result<Arc<dyn Cloud>, PrepareError> {
    let me = configured.sts().get_caller_identity().await.map_err(|e| PrepareError::WhoAmI(Box::new(e)))?;
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    let account = role_arn.split(':').nth(4).unwrap_or_default();
    if me.account == account && me.arn.contains(&format!(":assumed-role/{role_name}/")) {
        return Ok(configured);
    }
    let session = session_name(case_id);
    assuming(role_arn, &session);
    configured
        .assume_role(role_arn, &SessionName::new_exact(&session))
        .await
        .map_err(|e| PrepareError::Assume { role_arn: role_arn.to_string(), source: Box::new(e) })
}

/// The inventory in `text`, a document the user gave (named `origin` in errors).
pub fn read_inventory(origin: &str, text: &str) -> Result<Inventory, PrepareError> {
    parse_inventory(text).map_err(|e| PrepareError::Inventory { origin: origin.to_string(), message: e.to_string() })
}

/// The inventory collected live with read-only calls, and what could not be read (marked unknown).
pub async fn collect_inventory(cloud: Arc<dyn Cloud>, request: &CollectRequest) -> Result<Collected, PrepareError> {
    collect(cloud, request).await.map_err(PrepareError::Collect)
}

/// The forensic role of a case, from its journaled plans: the signer of the first call of the first.
pub fn journaled_case_role(journal: &Journal, case: &str) -> Result<String, PrepareError> {
    let acquisitions = journal.acquisitions(case).map_err(PrepareError::Journal)?;
    let first = acquisitions.first().ok_or_else(|| PrepareError::UnknownCase(case.to_string()))?;
    journaled_forensic_role(&first.plan).ok_or_else(|| PrepareError::NoSigner(case.to_string()))
}

/// The role a journaled plan runs as: the signer of its first call (the forensic role assumes the
/// others, or signs everything itself).
pub fn journaled_forensic_role(plan: &serde_json::Value) -> Option<String> {
    plan.pointer("/steps/0/calls/0/signer").and_then(|v| v.as_str()).map(str::to_string)
}

/// What to plan: the instances, where their evidence goes, how keys are opened.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub instances: Vec<String>,
    pub to_account: Option<String>,
    pub to_region: Option<String>,
    pub mode: Mode,
    pub case_id: String,
    pub volume_az: Option<String>,
}

impl PlanOptions {
    /// The planner's request for `instance`, tagging what the run creates with `run_id`.
    pub fn request(&self, instance: &str, run_id: &str) -> PlanRequest {
        PlanRequest {
            instance_id: instance.to_string(),
            to_account: self.to_account.clone(),
            to_region: self.to_region.clone(),
            mode: self.mode,
            triage: false,
            triage_output: None,
            case_id: self.case_id.clone(),
            run_id: run_id.to_string(),
            volume_az: self.volume_az.clone(),
            // `custody audit`'s look-ups are for `check --audit` and `plan --audit`: the executor
            // refuses a plan that has them.
            audit: false,
        }
    }
}

/// Plans every instance with `run_id`; the first that cannot be planned stops it.
pub fn plan_all(inventory: &Inventory, options: &PlanOptions, run_id: &str) -> Result<Vec<Plan>, PrepareError> {
    options
        .instances
        .iter()
        .map(|instance| {
            plan(inventory, &options.request(instance, run_id))
                .map_err(|error| PrepareError::Plan { instance: instance.clone(), error })
        })
        .collect()
}

/// The plans of a run, each with its preflight.
#[derive(Debug, Clone)]
pub struct Preflight {
    pub plans: Vec<(Plan, CheckReport)>,
}

impl Preflight {
    /// Whether some step would fail or cannot be decided.
    pub fn refused(&self) -> bool {
        self.plans.iter().any(|(_, report)| !report.all_pass())
    }

    /// The plans as the executor takes them, each with the preflight that explains its refusals.
    pub fn into_plans(self) -> Vec<(Plan, Option<CheckReport>)> {
        self.plans.into_iter().map(|(plan, report)| (plan, Some(report))).collect()
    }
}

/// Plans every instance under one new run id (tagged on everything the run creates) and preflights
/// each plan. Whether a refusal stops the run is the caller's (`--no-preflight`); a dry run should
/// stop where a real run would.
pub fn plan_and_check(inventory: &Inventory, options: &PlanOptions) -> Result<Preflight, PrepareError> {
    let run_id = crate::new_run_id();
    let plans = plan_all(inventory, options, &run_id.to_string())?;
    Ok(Preflight {
        plans: plans
            .into_iter()
            .map(|planned| {
                let report = check(inventory, &planned);
                (planned, report)
            })
            .collect(),
    })
}

/// The preflight of each journaled plan of `case` against `inventory`, by instance (to explain
/// refusals on resume). A journaled plan this version cannot read is left out.
pub fn preflight_journaled(
    journal: &Journal,
    inventory: &Inventory,
    case: &str,
) -> Result<BTreeMap<String, CheckReport>, PrepareError> {
    let mut out = BTreeMap::new();
    for a in journal.acquisitions(case).map_err(PrepareError::Journal)? {
        if let Ok(p) = serde_json::from_value::<Plan>(a.plan) {
            out.insert(a.instance_id, check(inventory, &p));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVENTORY: &str = include_str!("../../../examples/inventories/1-unencrypted.json");

    fn options(instances: &[&str]) -> PlanOptions {
        PlanOptions {
            instances: instances.iter().map(|i| i.to_string()).collect(),
            to_account: None,
            to_region: None,
            mode: Mode::Auto,
            case_id: "IR-1".into(),
            volume_az: None,
        }
    }

    #[test]
    fn an_inventory_that_is_not_one_is_bad_input_named_by_its_origin() {
        let e = read_inventory("inv.json", "{").unwrap_err();
        assert!(e.is_bad_input());
        assert!(e.to_string().starts_with("inv.json: "), "{e}");
    }

    #[test]
    fn every_instance_is_planned_under_one_run_id_and_preflighted() {
        let inventory = read_inventory("inv.json", INVENTORY).unwrap();
        let instance = inventory.instances[0].id.clone();
        let preflight = plan_and_check(&inventory, &options(&[&instance])).unwrap();
        assert_eq!(preflight.plans.len(), 1);
        assert_eq!(preflight.plans[0].0.instance_id, instance);
        assert!(!preflight.refused(), "{:?}", preflight.plans[0].1.summary);
        assert!(preflight.into_plans()[0].1.is_some());
    }

    #[test]
    fn an_instance_the_inventory_lacks_is_bad_input_naming_it() {
        let inventory = read_inventory("inv.json", INVENTORY).unwrap();
        let e = plan_and_check(&inventory, &options(&["i-0123456789abcdef0"])).unwrap_err();
        assert!(e.is_bad_input());
        assert!(e.to_string().starts_with("i-0123456789abcdef0: instance `i-0123456789abcdef0` is not in"), "{e}");
    }
}
