//! The sessions cleanup acts with: the role custody runs as, and the roles the case's plans assume.

use custody_cloud::{Cloud, CloudError, SessionName};
use custody_plan::plan::{session_name, Action, Plan};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The sessions cleanup acts with: the role custody runs as, and the roles the case's plans assume.
pub(crate) struct Roles {
    base: Arc<dyn Cloud>,
    base_role: String,
    session: SessionName,
    /// Role ARN by account (the role the plans act with there).
    by_account: BTreeMap<String, String>,
    assumed: tokio::sync::Mutex<BTreeMap<String, Arc<dyn Cloud>>>,
}

impl Roles {
    pub(crate) fn new(base: Arc<dyn Cloud>, base_role: &str, case_id: &str, plans: &[Plan]) -> Roles {
        let mut by_account = BTreeMap::new();
        for step in plans.iter().flat_map(|p| &p.steps) {
            if let Action::AssumeRole { role_arn, .. } = &step.action {
                if let Some(account) = role_arn.split(':').nth(4) {
                    by_account.insert(account.to_string(), role_arn.clone());
                }
            }
        }
        if let Some(account) = base_role.split(':').nth(4) {
            by_account.entry(account.to_string()).or_insert_with(|| base_role.to_string());
        }
        Roles {
            base,
            base_role: base_role.to_string(),
            session: SessionName::new_exact(&session_name(case_id)),
            by_account,
            assumed: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) async fn role(&self, role_arn: &str) -> Result<Arc<dyn Cloud>, CloudError> {
        if role_arn == self.base_role {
            return Ok(self.base.clone());
        }
        let mut assumed = self.assumed.lock().await;
        if let Some(c) = assumed.get(role_arn) {
            return Ok(c.clone());
        }
        let cloud = self.base.assume_role(role_arn, &self.session).await?;
        assumed.insert(role_arn.to_string(), cloud.clone());
        Ok(cloud)
    }

    /// The role cleanup acts as in `account` (for the journal's record of who signed).
    pub(crate) fn role_of_account(&self, account: &str) -> String {
        self.by_account.get(account).cloned().unwrap_or_else(|| self.base_role.clone())
    }

    pub(crate) async fn account(&self, account: &str) -> Result<Arc<dyn Cloud>, CloudError> {
        match self.by_account.get(account) {
            Some(role) => self.role(&role.clone()).await,
            None => Ok(self.base.clone()),
        }
    }
}
