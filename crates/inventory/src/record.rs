//! What the inventory stores: phones, the events the TFTP server observed,
//! and the plain values that filter and summarise them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use phoneflip_config::{FileKind, Line, PhoneSettings, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (UTC). Plain integers keep the schema
/// portable between SQLite and PostgreSQL and make ordering trivial.
pub type Millis = i64;

/// The wall clock in [`Millis`]; stores take a clock so tests can fix time.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// One phone as the inventory knows it.
///
/// Two kinds of fields live here: what the administrator decides (model,
/// lines, template, desired protocol and load, …; written by CSV import and
/// compared by [`Phone::same_admin_fields`]) and what phoneflip observes or
/// decides itself (`observed_load`, `auto_registered`, times), which an
/// import never overwrites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Phone {
    pub mac: Mac,
    pub model: Model,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// `phone_label` on SIP loads: the text in the phone's top bar.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub lines: Vec<Line>,
    /// The load the phone last proved it runs, from what it fetched over
    /// TFTP; `None` until the phone has been seen.
    #[serde(default)]
    pub observed_load: Option<LoadName>,
    #[serde(default)]
    pub desired_protocol: Option<Protocol>,
    #[serde(default)]
    pub desired_load: Option<LoadName>,
    #[serde(default)]
    pub template: Option<String>,
    /// Per-phone parameters that win over the template's, key by key.
    #[serde(default)]
    pub overrides: BTreeMap<String, String>,
    /// Created because an unknown MAC asked for its files (issue 5's
    /// auto-registration), not by an administrator.
    #[serde(default)]
    pub auto_registered: bool,
    #[serde(default)]
    pub created_ms: Millis,
    #[serde(default)]
    pub updated_ms: Millis,
}

/// Why a phone record was refused by a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone {mac}: line {number} does not exist on a {model}, which has lines 1 to {max}; remove it or change the model")]
    LineBeyondModel {
        mac: Mac,
        model: Model,
        number: u8,
        max: u8,
    },
    #[error(
        "phone {mac}: line {number} has no name; every line needs the SIP user name (lineN_name)"
    )]
    LineWithoutName { mac: Mac, number: u8 },
    #[error("phone {mac}: line {number} is listed twice; keep one")]
    DuplicateLine { mac: Mac, number: u8 },
    #[error("phone {mac}: tag {tag:?} is not allowed: {reason}")]
    BadTag {
        mac: Mac,
        tag: String,
        reason: &'static str,
    },
    #[error("phone {mac}: override key {key:?} is not a parameter name; use letters, digits, '_', '.' or '-'")]
    BadOverrideKey { mac: Mac, key: String },
    #[error("phone {mac}: desired load {load} is a {load_protocol} load but the desired protocol is {protocol}; make them agree or leave one empty")]
    LoadProtocolMismatch {
        mac: Mac,
        load: LoadName,
        load_protocol: Protocol,
        protocol: Protocol,
    },
    #[error("phone {mac}: desired load {load} is the universal application loader, not an application load; write the application load (e.g. {app})")]
    LoaderAsLoad {
        mac: Mac,
        load: LoadName,
        app: String,
    },
}

/// Checks a tag; tags are joined with `;` in CSV files, so they cannot
/// contain it.
pub fn check_tag(tag: &str) -> Result<(), &'static str> {
    if tag.is_empty() {
        Err("it is empty")
    } else if tag.contains(';') {
        Err("it contains ';', which separates tags")
    } else if tag.trim() != tag {
        Err("it starts or ends with white space")
    } else if tag.chars().any(char::is_control) {
        Err("it contains a control character")
    } else {
        Ok(())
    }
}

/// Checks a parameter name used as an override key.
pub fn check_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Phone {
    /// A phone with nothing but its identity, as auto-registration creates it.
    pub fn new(mac: Mac, model: Model) -> Phone {
        Phone {
            mac,
            model,
            description: String::new(),
            site: None,
            tags: BTreeSet::new(),
            label: None,
            lines: Vec::new(),
            observed_load: None,
            desired_protocol: None,
            desired_load: None,
            template: None,
            overrides: BTreeMap::new(),
            auto_registered: false,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    /// Puts the record in the one form the store keeps: empty optional
    /// strings become `None` (a CSV cell cannot tell them apart) and lines
    /// are sorted by number, so that comparisons and round trips are exact.
    pub fn normalize(&mut self) {
        fn none_if_empty(s: &mut Option<String>) {
            if s.as_deref() == Some("") {
                *s = None;
            }
        }
        none_if_empty(&mut self.site);
        none_if_empty(&mut self.label);
        none_if_empty(&mut self.template);
        for l in &mut self.lines {
            none_if_empty(&mut l.authname);
            none_if_empty(&mut l.password);
            none_if_empty(&mut l.displayname);
            none_if_empty(&mut l.shortname);
        }
        self.lines.sort_by_key(|l| l.number);
    }

    /// Everything a store must refuse whatever its backend.
    pub fn validate(&self) -> Result<(), PhoneError> {
        let mac = self.mac;
        let mut seen = BTreeSet::new();
        for l in &self.lines {
            if l.number == 0 || l.number > self.model.lines() {
                return Err(PhoneError::LineBeyondModel {
                    mac,
                    model: self.model,
                    number: l.number,
                    max: self.model.lines(),
                });
            }
            if l.name.is_empty() {
                return Err(PhoneError::LineWithoutName {
                    mac,
                    number: l.number,
                });
            }
            if !seen.insert(l.number) {
                return Err(PhoneError::DuplicateLine {
                    mac,
                    number: l.number,
                });
            }
        }
        for t in &self.tags {
            check_tag(t).map_err(|reason| PhoneError::BadTag {
                mac,
                tag: t.clone(),
                reason,
            })?;
        }
        for k in self.overrides.keys() {
            if !check_key(k) {
                return Err(PhoneError::BadOverrideKey {
                    mac,
                    key: k.clone(),
                });
            }
        }
        if let Some(load) = &self.desired_load {
            if load.is_universal_loader() {
                return Err(PhoneError::LoaderAsLoad {
                    mac,
                    load: load.clone(),
                    app: LoadName::canonical(Protocol::Sip, load.version()).to_string(),
                });
            }
            if let Some(p) = self.desired_protocol {
                if p != load.protocol() {
                    return Err(PhoneError::LoadProtocolMismatch {
                        mac,
                        load: load.clone(),
                        load_protocol: load.protocol(),
                        protocol: p,
                    });
                }
            }
        }
        Ok(())
    }

    /// The protocol this phone should run: stated, or implied by its load.
    pub fn target_protocol(&self) -> Option<Protocol> {
        self.desired_protocol
            .or_else(|| self.desired_load.as_ref().map(LoadName::protocol))
    }

    /// Whether the fields an administrator controls (the CSV columns) are
    /// equal; observed state and times are not compared.
    /// Sets the times of a record about to be written over `old` (the
    /// stored one, if any): created when first stored, updated only when
    /// an administrative field changed. Both backends' one rule.
    pub(crate) fn stamp(&mut self, old: Option<&Phone>, now: Millis) {
        match old {
            Some(old) => {
                self.created_ms = old.created_ms;
                self.updated_ms = if old.same_admin_fields(self) {
                    old.updated_ms
                } else {
                    now
                };
            }
            None => {
                self.created_ms = now;
                self.updated_ms = now;
            }
        }
    }

    pub fn same_admin_fields(&self, other: &Phone) -> bool {
        self.mac == other.mac
            && self.model == other.model
            && self.description == other.description
            && self.site == other.site
            && self.tags == other.tags
            && self.label == other.label
            && self.lines == other.lines
            && self.desired_protocol == other.desired_protocol
            && self.desired_load.as_ref().map(LoadName::as_str)
                == other.desired_load.as_ref().map(LoadName::as_str)
            && self.template == other.template
            && self.overrides == other.overrides
    }

    /// Copies the administrator's fields from `from`, keeping what was
    /// observed (`observed_load`, `auto_registered`, `created_ms`).
    pub fn take_admin_fields(&mut self, from: &Phone) {
        self.model = from.model;
        self.description = from.description.clone();
        self.site = from.site.clone();
        self.tags = from.tags.clone();
        self.label = from.label.clone();
        self.lines = from.lines.clone();
        self.desired_protocol = from.desired_protocol;
        self.desired_load = from.desired_load.clone();
        self.template = from.template.clone();
        self.overrides = from.overrides.clone();
    }

    /// The administrative state an import of `from` leaves this (stored)
    /// phone in. A call manager file knows only model, description, site,
    /// the lines' numbers and labels and the load it gave the phone, so
    /// everything else (template, desired load, tags, overrides, line
    /// credentials) is kept rather than wiped; a line keeps its authname and
    /// password when the file names the same line number.
    pub fn imported(&self, from: &Phone, scope: ImportScope) -> Phone {
        let mut p = self.clone();
        match scope {
            ImportScope::AllAdminFields => p.take_admin_fields(from),
            ImportScope::CallManager => {
                p.model = from.model;
                p.description = from.description.clone();
                p.site = from.site.clone();
                p.lines = from
                    .lines
                    .iter()
                    .map(|l| {
                        let old = self.lines.iter().find(|o| o.number == l.number);
                        Line {
                            authname: old.and_then(|o| o.authname.clone()),
                            password: old.and_then(|o| o.password.clone()),
                            ..l.clone()
                        }
                    })
                    .collect();
            }
        }
        // Both files state the load the phone runs (phoneflip's
        // `current_load`, the call manager's LOAD INFORMATION): it fills in
        // what phoneflip has not seen; what it saw the phone boot wins.
        if p.observed_load.is_none() {
            p.observed_load = from.observed_load.clone();
        }
        p
    }

    /// The phone's own half of rendering's input.
    pub fn settings(&self) -> PhoneSettings {
        PhoneSettings {
            mac: self.mac,
            model: self.model,
            description: self.description.clone(),
            label: self.label.clone(),
            lines: self.lines.clone(),
            overrides: self.overrides.clone(),
        }
    }
}

/// Which fields of a stored phone an import replaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportScope {
    /// Every administrative field (phoneflip's own CSV: an empty cell
    /// empties the field).
    #[default]
    AllAdminFields,
    /// What a call manager's Bulk Administration export carries; see
    /// [`Phone::imported`].
    CallManager,
}

/// Everything rendering needs about one phone, gathered from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderInputs {
    pub settings: PhoneSettings,
    /// `None` when the phone names no template: rendering then uses the
    /// phone's overrides alone.
    pub template: Option<Template>,
    pub desired_protocol: Option<Protocol>,
    pub desired_load: Option<LoadName>,
    pub observed_load: Option<LoadName>,
}

/// Which phones to list. Empty fields match everything; set fields must
/// all match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneFilter {
    pub site: Option<String>,
    pub model: Option<Model>,
    pub tag: Option<String>,
    pub template: Option<String>,
    pub auto_registered: Option<bool>,
}

impl PhoneFilter {
    pub fn matches(&self, p: &Phone) -> bool {
        self.site
            .as_ref()
            .map_or(true, |s| p.site.as_ref() == Some(s))
            && self.model.map_or(true, |m| p.model == m)
            && self.tag.as_ref().map_or(true, |t| p.tags.contains(t))
            && self
                .template
                .as_ref()
                .map_or(true, |t| p.template.as_ref() == Some(t))
            && self
                .auto_registered
                .map_or(true, |a| p.auto_registered == a)
    }

    /// The filter as SQL conditions, each with `{}` where its argument's
    /// placeholder goes (`?N` in SQLite, `$N` in PostgreSQL) and that
    /// argument: the one description both backends' queries are made from.
    pub(crate) fn conditions(&self) -> Vec<(&'static str, FilterArg)> {
        let mut out = Vec::new();
        if let Some(s) = &self.site {
            out.push(("site = {}", FilterArg::Text(s.clone())));
        }
        if let Some(m) = self.model {
            out.push(("model = {}", FilterArg::Text(m.number().to_string())));
        }
        if let Some(t) = &self.tag {
            out.push((
                "EXISTS (SELECT 1 FROM phone_tags t WHERE t.mac = phones.mac AND t.tag = {})",
                FilterArg::Text(t.clone()),
            ));
        }
        if let Some(t) = &self.template {
            out.push(("template = {}", FilterArg::Text(t.clone())));
        }
        if let Some(a) = self.auto_registered {
            out.push(("auto_registered = {}", FilterArg::Bool(a)));
        }
        out
    }
}

/// The argument of one [`PhoneFilter::conditions`] entry.
pub(crate) enum FilterArg {
    Text(String),
    Bool(bool),
}

/// How one TFTP transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every block was acknowledged.
    Sent,
    /// Answered with ERROR 1, as the phones' hunt for config files expects.
    NotFound,
    /// Refused for another reason (access, bad request, write attempt).
    Refused,
    /// The client stopped acknowledging.
    TimedOut,
    /// The client sent an ERROR or the transfer broke off otherwise.
    Aborted,
    /// Not answered: the server was busy (its image cap). Back-pressure,
    /// not a failure of the phone or the file; the phone asks again.
    Busy,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Sent,
        Outcome::NotFound,
        Outcome::Refused,
        Outcome::TimedOut,
        Outcome::Aborted,
        Outcome::Busy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::NotFound => "not_found",
            Outcome::Refused => "refused",
            Outcome::TimedOut => "timed_out",
            Outcome::Aborted => "aborted",
            Outcome::Busy => "busy",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown transfer outcome {0:?}: expected sent, not_found, refused, timed_out, aborted or busy"
)]
pub struct OutcomeError(pub String);

impl FromStr for Outcome {
    type Err = OutcomeError;
    fn from_str(s: &str) -> Result<Self, OutcomeError> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| OutcomeError(s.to_string()))
    }
}

/// One TFTP transfer as the request pipeline recorded it: the phone (from
/// the file name, or the MAC its address last asked for; None while the
/// address has not yet asked for a MAC-named file), the address, what the
/// file is (the one classifier's [`FileKind`], which holds the load of an
/// image), the outcome, the bytes and the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub time_ms: Millis,
    pub mac: Option<Mac>,
    #[schema(value_type = String)]
    pub client_ip: IpAddr,
    pub client_port: u16,
    /// As requested (after the server stripped `./`).
    pub file: String,
    /// What `file` is; [`Event::new`] classifies it.
    pub kind: FileKind,
    pub bytes: u64,
    pub outcome: Outcome,
    #[serde(default)]
    pub detail: Option<String>,
}

impl Event {
    /// An event for `file`, its kind (and load) from the one classifier.
    pub fn new(
        time_ms: Millis,
        mac: Option<Mac>,
        client: std::net::SocketAddr,
        file: &str,
        bytes: u64,
        outcome: Outcome,
        detail: Option<String>,
    ) -> Event {
        let kind = FileKind::of(file);
        Event {
            time_ms,
            mac,
            client_ip: client.ip(),
            client_port: client.port(),
            file: file.to_string(),
            kind,
            bytes,
            outcome,
            detail,
        }
    }

    /// The load, when the file is a firmware image named by its load.
    pub fn load(&self) -> Option<&LoadName> {
        self.kind.load()
    }
}

/// An event with the id the store gave it; ids only grow, so a dashboard
/// can ask for "everything after id N".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(flatten)]
    pub event: Event,
}

/// What an import did (or, in a dry run, would do) to one phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Change::Added => "added",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
        })
    }
}

/// The per-phone result of an import, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub dry_run: bool,
    pub changes: Vec<(Mac, Change)>,
}

impl ImportSummary {
    pub fn count(&self, c: Change) -> usize {
        self.changes.iter().filter(|(_, x)| *x == c).count()
    }
}
