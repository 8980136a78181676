//! Which configuration parameters are secrets, and how they are shown.
//!
//! The one rule for every output (CLI, API, dashboard, logs): a parameter
//! whose name says password, passwd, secret or pin (`phone_password`,
//! `line2_password`, an SCCP `adminPassword`, ...) is written to the
//! phones' files but shown as [`REDACTED`]. What shows [`REDACTED`] may be
//! sent back unchanged ([`restore_redacted`] keeps the stored value), so a
//! read-modify-write never overwrites a secret with the mask.

use std::collections::BTreeMap;

/// What a secret's value is shown as.
pub const REDACTED: &str = "********";

/// Whether the parameter `key` holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "passwd", "secret"]
        .iter()
        .any(|w| k.contains(w))
        || k.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "pin")
}

/// `settings` with every secret's value replaced by [`REDACTED`].
pub fn redact_settings(settings: &mut BTreeMap<String, String>) {
    for (k, v) in settings.iter_mut() {
        if is_secret_key(k) && !v.is_empty() {
            *v = REDACTED.to_string();
        }
    }
}

/// In `incoming`, a secret sent back as [`REDACTED`] keeps its value in
/// `stored` (dropped when there is none: the mask is never stored).
pub fn restore_redacted(
    incoming: &mut BTreeMap<String, String>,
    stored: &BTreeMap<String, String>,
) {
    incoming.retain(|k, v| {
        if is_secret_key(k) && v == REDACTED {
            match stored.get(k) {
                Some(old) => {
                    v.clone_from(old);
                    true
                }
                None => false,
            }
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_by_name() {
        for k in [
            "phone_password",
            "line6_password",
            "adminPassword",
            "http_passwd",
            "api_secret",
            "voicemail_pin",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "proxy1_address",
            "line1_authname",
            "spinner",
            "pinned_line",
            "image_version",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn redacted_values_round_trip_to_the_stored_ones() {
        let stored: BTreeMap<String, String> =
            [("phone_password", "1234"), ("proxy1_address", "10.0.0.1")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let mut shown = stored.clone();
        redact_settings(&mut shown);
        assert_eq!(shown["phone_password"], REDACTED);
        assert_eq!(shown["proxy1_address"], "10.0.0.1");
        let mut back = shown.clone();
        back.insert("line1_password".into(), REDACTED.into());
        restore_redacted(&mut back, &stored);
        assert_eq!(back, stored);
    }
}
