//! The one cache of role sessions: the identity custody runs as, and the roles it assumed from it,
//! by role ARN. The executor, cleanup and triage all hold their sessions here.
//!
//! A session's credentials never leave its [`Cloud`]; the SDK adapter's sessions renew themselves
//! before they expire (aws-config's `AssumeRoleProvider` calls AssumeRole again), so a session
//! cached at the start of a four-hour wait still signs at its end.

use crate::api::{Cloud, SessionName};
use crate::error::CloudResult;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Role ARN → the [`Cloud`] of custody's session of it.
pub struct Sessions {
    base_role: String,
    base: Arc<dyn Cloud>,
    assumed: Mutex<BTreeMap<String, Arc<dyn Cloud>>>,
    /// Held while a role is assumed, so that tasks asking for the same role at once assume it once.
    assuming: tokio::sync::Mutex<()>,
}

impl Sessions {
    /// `base` is the identity custody runs as, a session of `base_role`.
    pub fn new(base_role: &str, base: Arc<dyn Cloud>) -> Self {
        Sessions {
            base_role: base_role.to_string(),
            base,
            assumed: Mutex::new(BTreeMap::new()),
            assuming: tokio::sync::Mutex::new(()),
        }
    }

    /// The identity custody runs as.
    pub fn base(&self) -> Arc<dyn Cloud> {
        self.base.clone()
    }

    /// The role custody runs as.
    pub fn base_role(&self) -> &str {
        &self.base_role
    }

    /// Records a session of `role_arn` assumed elsewhere (a journaled AssumeRole step).
    pub fn insert(&self, role_arn: &str, cloud: Arc<dyn Cloud>) {
        if let Ok(mut m) = self.assumed.lock() {
            m.insert(role_arn.to_string(), cloud);
        }
    }

    /// Whether custody runs as `role_arn` or holds a session of it.
    pub fn has(&self, role_arn: &str) -> bool {
        self.get(role_arn).is_some()
    }

    /// The session of `role_arn`, when custody runs as it or holds one.
    pub fn get(&self, role_arn: &str) -> Option<Arc<dyn Cloud>> {
        if role_arn == self.base_role {
            return Some(self.base.clone());
        }
        self.assumed.lock().ok().and_then(|m| m.get(role_arn).cloned())
    }

    /// The session of `role_arn`: the one held, else a new one (AssumeRole as the base identity,
    /// named `session`), kept for the next caller.
    pub async fn assume(&self, role_arn: &str, session: &SessionName) -> CloudResult<Arc<dyn Cloud>> {
        if let Some(cloud) = self.get(role_arn) {
            return Ok(cloud);
        }
        let _one_at_a_time = self.assuming.lock().await;
        if let Some(cloud) = self.get(role_arn) {
            return Ok(cloud);
        }
        let cloud = self.base.assume_role(role_arn, session).await?;
        self.insert(role_arn, cloud.clone());
        Ok(cloud)
    }
}
