//! The serde forms of the state's fields that JSON cannot hold as they are (maps keyed by tuples) or
//! whose types live outside this crate.

use custody_cloud::types::{KeyManager, NewVolume};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// [`KeyManager`] as `"Aws"` or `"Customer"`.
pub(crate) mod key_manager {
    use super::*;

    pub fn serialize<S: Serializer>(m: &KeyManager, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match m {
            KeyManager::Aws => "Aws",
            KeyManager::Customer => "Customer",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KeyManager, D::Error> {
        match String::deserialize(d)?.as_str() {
            "Aws" => Ok(KeyManager::Aws),
            "Customer" => Ok(KeyManager::Customer),
            other => Err(serde::de::Error::custom(format!("key manager `{other}`: expected `Aws` or `Customer`"))),
        }
    }
}

/// A map keyed by something JSON cannot key by, as a list of `[key, value]` pairs.
pub(crate) mod pairs {
    use super::*;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(m: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// CreateVolume's client tokens: `(account, Region, token)` → (the request, the volume it made).
pub(crate) mod volume_tokens {
    use super::*;

    type Tokens = BTreeMap<(String, String, String), (NewVolume, String)>;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        account: String,
        region: String,
        token: String,
        snapshot_id: String,
        availability_zone: String,
        tags: BTreeMap<String, String>,
        client_token: String,
        volume_id: String,
    }

    pub fn serialize<S: Serializer>(m: &Tokens, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter().map(|((account, region, token), (v, volume_id))| Entry {
            account: account.clone(),
            region: region.clone(),
            token: token.clone(),
            snapshot_id: v.snapshot_id.clone(),
            availability_zone: v.availability_zone.clone(),
            tags: v.tags.clone(),
            client_token: v.client_token.clone(),
            volume_id: volume_id.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tokens, D::Error> {
        Ok(Vec::<Entry>::deserialize(d)?
            .into_iter()
            .map(|e| {
                let request = NewVolume {
                    snapshot_id: e.snapshot_id,
                    availability_zone: e.availability_zone,
                    tags: e.tags,
                    client_token: e.client_token,
                };
                ((e.account, e.region, e.token), (request, e.volume_id))
            })
            .collect())
    }
}
