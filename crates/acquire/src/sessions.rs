//! The identities a plan signs with: the role custody runs as, and the roles it assumes.

use custody_cloud::Cloud;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Role ARN → the `Cloud` of custody's session of it.
pub(crate) struct Sessions {
    base_role: String,
    base: Arc<dyn Cloud>,
    assumed: Mutex<BTreeMap<String, Arc<dyn Cloud>>>,
}

impl Sessions {
    /// `base` is the identity custody runs as, a session of `base_role` (the forensic role).
    pub fn new(base_role: &str, base: Arc<dyn Cloud>) -> Self {
        Sessions { base_role: base_role.to_string(), base, assumed: Mutex::new(BTreeMap::new()) }
    }

    pub fn base(&self) -> Arc<dyn Cloud> {
        self.base.clone()
    }

    pub fn insert(&self, role_arn: &str, cloud: Arc<dyn Cloud>) {
        if let Ok(mut m) = self.assumed.lock() {
            m.insert(role_arn.to_string(), cloud);
        }
    }

    pub fn has(&self, role_arn: &str) -> bool {
        role_arn == self.base_role || self.assumed.lock().map(|m| m.contains_key(role_arn)).unwrap_or(false)
    }

    /// The session of `role_arn`, when custody runs as it or has assumed it.
    pub fn get(&self, role_arn: &str) -> Option<Arc<dyn Cloud>> {
        if role_arn == self.base_role {
            return Some(self.base.clone());
        }
        self.assumed.lock().ok().and_then(|m| m.get(role_arn).cloned())
    }
}
