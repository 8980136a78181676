//! The fleet as an operator sees it: each phone's state, derived only from
//! what it was seen to run and what it should run.

use std::collections::BTreeMap;

use phoneflip_inventory::Phone;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneState {
    /// Nothing is asked of the phone.
    Unmanaged,
    /// A load is wanted but the phone has not been seen yet.
    Unseen,
    /// Seen on another load than the one wanted.
    Converting,
    /// Seen running the wanted load.
    Converted,
}

pub fn phone_state(p: &Phone) -> PhoneState {
    let wanted = p.desired_load.is_some() || p.desired_protocol.is_some();
    match (&p.observed_load, wanted) {
        (_, false) => PhoneState::Unmanaged,
        (None, true) => PhoneState::Unseen,
        (Some(seen), true) => {
            let done = match (&p.desired_load, p.desired_protocol) {
                (Some(l), _) => l == seen,
                (None, Some(proto)) => seen.protocol() == proto,
                (None, None) => false,
            };
            if done {
                PhoneState::Converted
            } else {
                PhoneState::Converting
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PhoneView {
    #[serde(flatten)]
    pub phone: Phone,
    pub state: PhoneState,
}

impl From<Phone> for PhoneView {
    fn from(phone: Phone) -> Self {
        PhoneView {
            state: phone_state(&phone),
            phone,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetSummary {
    pub phones: usize,
    pub by_state: BTreeMap<String, usize>,
    /// Observed load name (or "unknown") → phones.
    pub by_load: BTreeMap<String, usize>,
    pub by_protocol: BTreeMap<String, usize>,
}

impl FleetSummary {
    pub fn of(phones: &[Phone]) -> FleetSummary {
        let mut s = FleetSummary {
            phones: phones.len(),
            ..Default::default()
        };
        for p in phones {
            let state = serde_json::to_value(phone_state(p))
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            *s.by_state.entry(state).or_default() += 1;
            let load = p
                .observed_load
                .as_ref()
                .map(|l| l.to_string())
                .unwrap_or_else(|| "unknown".into());
            *s.by_load.entry(load).or_default() += 1;
            let proto = p
                .observed_load
                .as_ref()
                .map(|l| l.protocol().to_string())
                .unwrap_or_else(|| "unknown".into());
            *s.by_protocol.entry(proto).or_default() += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(observed: Option<&str>, desired: Option<&str>) -> Phone {
        let mut p = Phone::new("0019AA000001".parse().unwrap(), "7960".parse().unwrap());
        p.observed_load = observed.map(|l| l.parse().unwrap());
        p.desired_load = desired.map(|l| l.parse().unwrap());
        p
    }

    #[test]
    fn states() {
        assert_eq!(phone_state(&phone(None, None)), PhoneState::Unmanaged);
        assert_eq!(
            phone_state(&phone(None, Some("P0S3-8-12-00"))),
            PhoneState::Unseen
        );
        assert_eq!(
            phone_state(&phone(Some("P0030801SR02"), Some("P0S3-8-12-00"))),
            PhoneState::Converting
        );
        assert_eq!(
            phone_state(&phone(Some("P0S3-8-12-00"), Some("P0S3-8-12-00"))),
            PhoneState::Converted
        );
        let mut p = phone(Some("P0S3-8-12-00"), None);
        p.desired_protocol = Some(phoneflip_firmware::Protocol::Sip);
        assert_eq!(phone_state(&p), PhoneState::Converted);
    }

    #[test]
    fn summary_counts() {
        let s = FleetSummary::of(&[
            phone(Some("P0S3-8-12-00"), Some("P0S3-8-12-00")),
            phone(Some("P0030801SR02"), Some("P0S3-8-12-00")),
            phone(None, None),
        ]);
        assert_eq!(s.phones, 3);
        assert_eq!(s.by_state["converted"], 1);
        assert_eq!(s.by_state["converting"], 1);
        assert_eq!(s.by_load["unknown"], 1);
        assert_eq!(s.by_protocol["sip"], 1);
    }
}
