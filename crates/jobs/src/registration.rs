//! The job's last stage: a converted SIP phone is done when its lines
//! registered. Owns the per-phone and per-line verdicts stored with the
//! job and the rule for when a phone is registered; asking the registrar
//! is the driver's effect (`Effects::check_registration`), never done here.

use serde::{Deserialize, Serialize};

use crate::job::Millis;

/// How often a converted phone's registration is asked again while it is
/// not yet registered: a phone registers within a second or two of its
/// boot, and the registrar is asked once per phone per round.
pub const RECHECK_MS: Millis = 3_000;

/// One line's verdict from one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineCheck {
    /// `lineN` in the phone's files (1-based).
    pub line: u8,
    /// `lineN_name`, the user the registrar knows.
    pub name: String,
    pub registered: bool,
    /// The binding's contact, or why the line is not registered.
    pub detail: String,
}

/// What one registration check found for a phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistrationReport {
    /// Who answered (`kamailio jsonrpc http://…`, `options probe`).
    pub checked_by: String,
    pub lines: Vec<LineCheck>,
    /// Why the phone cannot register whatever its lines say (no line,
    /// `proxy_register` not 1, the registrar could not be asked).
    pub problem: Option<String>,
}

impl RegistrationReport {
    /// A check that could not look at the lines.
    pub fn problem(checked_by: impl Into<String>, why: impl Into<String>) -> Self {
        RegistrationReport {
            checked_by: checked_by.into(),
            lines: Vec::new(),
            problem: Some(why.into()),
        }
    }

    /// Registered: at least one line, every line registered, no problem.
    pub fn all_registered(&self) -> bool {
        self.problem.is_none() && !self.lines.is_empty() && self.lines.iter().all(|l| l.registered)
    }

    /// Why the phone is not registered, for the job's report.
    pub fn why_not(&self) -> String {
        let mut parts: Vec<String> = self.problem.iter().cloned().collect();
        parts.extend(
            self.lines
                .iter()
                .filter(|l| !l.registered)
                .map(|l| format!("line {} ({}): {}", l.line, l.name, l.detail)),
        );
        if parts.is_empty() {
            parts.push("no line to register".into());
        }
        format!("{} (checked by {})", parts.join("; "), self.checked_by)
    }
}

/// A converted phone's registration stage, stored with its job entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    /// When the job saw the phone converted; the grace time runs from here.
    pub since_ms: Millis,
    /// When the driver was last asked to check.
    pub asked_ms: Option<Millis>,
    /// Checks that came back.
    pub checks: u32,
    /// The latest check's verdicts.
    pub last: Option<RegistrationReport>,
    /// Set once a check found every line registered: the stage is over.
    pub registered_ms: Option<Millis>,
}

impl Registration {
    pub fn new(since_ms: Millis) -> Registration {
        Registration {
            since_ms,
            asked_ms: None,
            checks: 0,
            last: None,
            registered_ms: None,
        }
    }

    pub fn is_registered(&self) -> bool {
        self.registered_ms.is_some()
    }

    /// Records a check's answer that came back at `now`.
    pub fn record(&mut self, now: Millis, report: RegistrationReport) {
        self.checks += 1;
        if report.all_registered() && self.registered_ms.is_none() {
            self.registered_ms = Some(now);
        }
        self.last = Some(report);
    }

    /// Why it is not registered yet, from the latest check.
    pub fn why_not(&self) -> String {
        match &self.last {
            Some(r) => r.why_not(),
            None => "no registration check answered yet".into(),
        }
    }
}

/// Why a SIP phone with this record and template cannot register, one
/// reason per fault (empty: it can). The phone's own overrides win over
/// the template, a missing value takes the parameter table's default, as
/// rendering writes them; lines past the model's buttons are not served,
/// so they do not count. The one rule job creation refuses on and the
/// registration check reports.
pub fn registration_problems(
    template: &std::collections::BTreeMap<String, String>,
    phone: &phoneflip_inventory::Phone,
) -> Vec<String> {
    let value = |key: &str| {
        phone
            .overrides
            .get(key)
            .or_else(|| template.get(key))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .or_else(|| {
                phoneflip_config::sip_params::lookup(key)
                    .and_then(|(spec, _)| spec.default)
                    .map(str::to_string)
            })
    };
    let mut out = Vec::new();
    if value("proxy1_address").is_none() {
        out.push("no proxy1_address: the phone has no registrar to register with; set proxy1_address in the template".to_string());
    }
    let register = value("proxy_register");
    if register.as_deref() != Some("1") {
        out.push(format!(
            "proxy_register is {}, so the phone never sends REGISTER; set proxy_register: 1 in the template",
            register.as_deref().unwrap_or("unset")
        ));
    }
    let served: Vec<_> = phone
        .lines
        .iter()
        .filter(|l| l.number <= phone.model.lines() && !l.name.trim().is_empty())
        .collect();
    if served.is_empty() {
        out.push(
            "no line with a name: there is nothing to register; add a line (phoneflip phones edit)"
                .to_string(),
        );
    }
    for l in served {
        if l.password.as_deref().is_none_or(|p| p.is_empty()) {
            out.push(format!(
                "line {} ({}) has no password, so it cannot answer the registrar's challenge; give it one",
                l.number, l.name
            ));
        }
    }
    out
}
