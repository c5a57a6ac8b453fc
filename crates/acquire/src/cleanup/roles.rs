//! The sessions cleanup acts with: the role custody runs as, and the roles the case's plans assume.

use custody_cloud::sessions::Sessions;
use custody_cloud::{Cloud, CloudError, SessionName};
use custody_plan::plan::{session_name, Action, Plan};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The sessions cleanup acts with: the role custody runs as, and the roles the case's plans assume.
pub(crate) struct Roles {
    sessions: Sessions,
    session: SessionName,
    /// Role ARN by account (the role the plans act with there).
    by_account: BTreeMap<String, String>,
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
            sessions: Sessions::new(base_role, base),
            session: SessionName::new_exact(&session_name(case_id)),
            by_account,
        }
    }

    pub(crate) async fn role(&self, role_arn: &str) -> Result<Arc<dyn Cloud>, CloudError> {
        self.sessions.assume(role_arn, &self.session).await
    }

    /// The role cleanup acts as in `account` (for the journal's record of who signed).
    pub(crate) fn role_of_account(&self, account: &str) -> String {
        self.by_account.get(account).cloned().unwrap_or_else(|| self.sessions.base_role().to_string())
    }

    pub(crate) async fn account(&self, account: &str) -> Result<Arc<dyn Cloud>, CloudError> {
        match self.by_account.get(account) {
            Some(role) => self.role(&role.clone()).await,
            None => Ok(self.sessions.base()),
        }
    }
}
