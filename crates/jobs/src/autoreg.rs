//! Auto-registration and revert, as the reference's call manager does them:
//! an unknown phone that asks for its files gets the default protocol's
//! configuration ("Auto Registration Phone Protocol") and a record marked
//! auto-registered; a converted phone is reverted by deleting it and letting
//! it come back with the default protocol. Pure decisions; the caller does
//! the store writes.

use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol};
use phoneflip_inventory::Phone;

use crate::job::Millis;
use crate::scheduler::ResetMethod;

/// The site's auto-registration settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRegistration {
    /// SCCP is Cisco's default; set SIP once the fleet has moved.
    pub protocol: Protocol,
    /// The load new phones are given; `None` leaves the phone's own.
    pub load: Option<LoadName>,
    /// The template for the default protocol.
    pub template: Option<String>,
    /// A TFTP request does not say the model; this one is recorded until
    /// an administrator corrects it (a 7960 has all six lines, so
    /// rendering for it never drops a line a 7940 would have).
    pub assumed_model: Model,
}

/// What to do with a request for a per-phone file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The file names no MAC (`SIPDefault.cnf`, a load): nothing to decide.
    NotPerPhone,
    /// A phone we know: serve its own configuration.
    Known(Mac),
    /// A phone we do not know: store this record (auto-registered, default
    /// protocol) and serve what it renders to.
    Register(Box<Phone>),
}

/// Decides for `file` requested by a phone, given what the inventory
/// returned for the MAC in the file name (`known`) and, when the caller
/// knows it (DHCP vendor class), the model.
pub fn decide(
    file: &str,
    known: Option<&Phone>,
    model: Option<Model>,
    defaults: &AutoRegistration,
    now: Millis,
) -> Decision {
    let Some(mac) = phoneflip_config::filename::mac_in(file) else {
        return Decision::NotPerPhone;
    };
    if let Some(p) = known {
        if p.mac == mac {
            return Decision::Known(mac);
        }
    }
    let mut phone = Phone::new(mac, model.unwrap_or(defaults.assumed_model));
    phone.auto_registered = true;
    phone.desired_protocol = Some(defaults.protocol);
    phone.desired_load = defaults
        .load
        .clone()
        .filter(|l| l.protocol() == defaults.protocol);
    phone.template = defaults.template.clone();
    phone.description = format!("auto-registered from a request for {file}");
    phone.created_ms = now;
    phone.updated_ms = now;
    Decision::Register(Box::new(phone))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevertError {
    #[error("{mac} would come back as {protocol}, which it already runs: set the auto-registration protocol to the one to revert to (the reference: set Auto Registration Phone Protocol to SCCP) before deleting the phone")]
    SameProtocol { mac: Mac, protocol: Protocol },
}

/// What reverting a converted phone takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertPlan {
    /// Delete this record; the phone's next request re-registers it.
    pub delete: Mac,
    /// The protocol it will come back with.
    pub comes_back_as: Protocol,
    /// How to make it ask again now rather than at its next reboot.
    pub reset: ResetMethod,
}

/// Plans the reference's revert: "delete the SIP phone, set Auto
/// Registration Phone Protocol to SCCP and then let the phone re-register".
pub fn plan_revert(phone: &Phone, defaults: &AutoRegistration) -> Result<RevertPlan, RevertError> {
    let running = phone
        .observed_load
        .as_ref()
        .map(LoadName::protocol)
        .or(phone.target_protocol());
    if running == Some(defaults.protocol) {
        return Err(RevertError::SameProtocol {
            mac: phone.mac,
            protocol: defaults.protocol,
        });
    }
    Ok(RevertPlan {
        delete: phone.mac,
        comes_back_as: defaults.protocol,
        reset: ResetMethod::for_load(phone.observed_load.as_ref()),
    })
}
