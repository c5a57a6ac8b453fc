//! EC2: DescribeInstances, DescribeVolumes.

use super::sdk_error;
use crate::api::Ec2;
use crate::error::CloudResult;
use crate::types::{BlockDevice, InstanceInfo, VolumeInfo};
use async_trait::async_trait;
use std::collections::BTreeMap;

pub(super) struct SdkEc2(pub(super) aws_sdk_ec2::Client);

fn tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

#[async_trait]
impl Ec2 for SdkEc2 {
    async fn describe_instances(&self, instance_ids: &[String]) -> CloudResult<Vec<InstanceInfo>> {
        let pages = self
            .0
            .describe_instances()
            .set_instance_ids(Some(instance_ids.to_vec()))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2", "DescribeInstances", e))?;
        let mut out = Vec::new();
        for reservation in pages.iter().flat_map(|p| p.reservations()) {
            for instance in reservation.instances() {
                let Some(id) = instance.instance_id() else { continue };
                let block_devices = instance
                    .block_device_mappings()
                    .iter()
                    .filter_map(|m| {
                        Some(BlockDevice {
                            device_name: m.device_name()?.to_string(),
                            volume_id: m.ebs()?.volume_id()?.to_string(),
                        })
                    })
                    .collect();
                out.push(InstanceInfo {
                    id: id.to_string(),
                    owner_account: reservation.owner_id().map(str::to_string),
                    state: instance.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()),
                    platform: instance.platform().map(|p| p.as_str().to_string()),
                    availability_zone: instance.placement().and_then(|p| p.availability_zone()).map(str::to_string),
                    tags: tags(instance.tags()),
                    block_devices,
                });
            }
        }
        Ok(out)
    }

    async fn describe_volumes(&self, volume_ids: &[String]) -> CloudResult<Vec<VolumeInfo>> {
        let pages = self
            .0
            .describe_volumes()
            .set_volume_ids(Some(volume_ids.to_vec()))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("ec2", "DescribeVolumes", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.volumes())
            .filter_map(|v| {
                Some(VolumeInfo {
                    id: v.volume_id()?.to_string(),
                    size_gib: v.size().and_then(|s| u64::try_from(s).ok()).unwrap_or_default(),
                    encrypted: v.encrypted().unwrap_or_default(),
                    kms_key_id: v.kms_key_id().map(str::to_string),
                    state: v.state().map(|s| s.as_str().to_string()),
                    availability_zone: v.availability_zone().map(str::to_string),
                    snapshot_id: v.snapshot_id().filter(|s| !s.is_empty()).map(str::to_string),
                })
            })
            .collect())
    }
}
