//! The JSON form of a share, as the CLI, the Perl API and the UI read it. It stays what it was
//! before the placement became one value (`Placement`): `mode` as a word, the guest under
//! `container` or `vm`, in the same key order. The model can change shape; this cannot without
//! the front ends.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::guest;
use crate::quota_backend::QuotaBackend;
use crate::share::Share;

/// The keys Perl, the UI and the tests read, in this order.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ShareJson<'a> {
    name: &'a str,
    mode: &'static str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    read_only: bool,
    browseable: bool,
    guest: bool,
    users: &'a [String],
    groups: &'a [String],
    hosts_allow: &'a [String],
    hosts_deny: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    quota: Option<u64>,
    quota_backend: QuotaBackend,
    #[serde(skip_serializing_if = "Option::is_none")]
    zfs_dataset: Option<&'a str>,
    quota_alerts: &'a [u8],
    user_quotas: &'a BTreeMap<String, u64>,
    shadow_copies: bool,
    recycle_bin: bool,
    macos: bool,
    streams: bool,
    audit: bool,
    encrypt: bool,
    case_sensitive: &'a str,
    fallback_local: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a guest::Container>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vm: Option<&'a guest::Vm>,
    options: &'a BTreeMap<String, String>,
    time_machine: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_machine_max_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_keep: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_storage: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_keep: Option<String>,
    acl_mode: &'static str,
    access_based_enum: bool,
    hide_unreadable: bool,
    homes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_quota: Option<u64>,
}

impl Serialize for Share {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ShareJson {
            name: &self.name,
            mode: self.mode.as_str(),
            path: &self.path,
            storage: self.storage.as_deref(),
            comment: self.comment.as_deref(),
            read_only: self.read_only,
            browseable: self.browseable,
            guest: self.guest,
            users: &self.users,
            groups: &self.groups,
            hosts_allow: &self.hosts_allow,
            hosts_deny: &self.hosts_deny,
            quota: self.quota,
            quota_backend: self.quota_backend,
            zfs_dataset: self.zfs_dataset.as_deref(),
            quota_alerts: &self.quota_alerts,
            user_quotas: &self.user_quotas,
            shadow_copies: self.shadow_copies,
            recycle_bin: self.recycle_bin,
            macos: self.macos,
            streams: self.streams,
            audit: self.audit,
            encrypt: self.encrypt,
            case_sensitive: &self.case_sensitive,
            fallback_local: self.fallback_local,
            container: self.mode.container(),
            vm: self.mode.vm(),
            options: &self.options,
            time_machine: self.time_machine,
            time_machine_max_size: self.time_machine_max_size,
            snapshot_schedule: self.snapshot_schedule.as_ref().map(ToString::to_string),
            snapshot_keep: self.snapshot_keep.as_ref().map(ToString::to_string),
            backup_storage: self.backup_storage.as_deref(),
            backup_schedule: self.backup_schedule.as_ref().map(ToString::to_string),
            backup_keep: self.backup_keep.as_ref().map(ToString::to_string),
            acl_mode: self.acl_mode.as_str(),
            access_based_enum: self.access_based_enum,
            hide_unreadable: self.hide_unreadable,
            homes: self.homes,
            home_quota: self.home_quota,
        }
        .serialize(s)
    }
}
