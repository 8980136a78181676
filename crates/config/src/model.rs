//! The inputs of rendering: a phone's own settings and the template it
//! follows. Shared with the inventory, which stores them, so they are plain
//! serde data with no behaviour beyond validation.

use std::collections::BTreeMap;

use phoneflip_device::{Mac, Model};
use phoneflip_firmware::Protocol;
use serde::{Deserialize, Serialize};

/// One line (directory number) of a phone. `number` is 1..=6 on a 7960 and
/// 1..=2 on a 7940; the SIP files write it as `lineN_name` and so on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    pub number: u8,
    pub name: String,
    #[serde(default)]
    pub authname: Option<String>,
    /// Never sent back by the API, which shows `has_password` instead.
    #[serde(default)]
    #[schema(write_only)]
    pub password: Option<String>,
    #[serde(default)]
    pub displayname: Option<String>,
    #[serde(default)]
    pub shortname: Option<String>,
}

/// A named set of per-protocol defaults (proxy or registrar, CallManager
/// addresses, time zone, …) that many phones share, like a Bulk
/// Administration phone template. Keys are the protocol's own parameter
/// names (`proxy1_address`, `time_zone`, …) so that nothing is lost in a
/// translation layer; SCCP templates use `callmanager1`..`callmanager3`
/// for CallManager addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub name: String,
    pub protocol: Protocol,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// What is particular to one phone. `overrides` win over the template's
/// settings, key by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneSettings {
    pub mac: Mac,
    pub model: Model,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub lines: Vec<Line>,
    #[serde(default)]
    pub overrides: BTreeMap<String, String>,
}
