//! Update: learning which load a phone runs from what it fetched — the
//! one rule set, used by the recorder (the inventory's `observed_load`)
//! and by the jobs' progress fold.
//!
//! - An application image (`.sb2`, or the `.bin` of a load that predates
//!   the universal application loader) fetched whole, then a request for a
//!   configuration file of that image's protocol: the phone rebooted into
//!   it. The universal loader (`.sbn`, `P003-…bin`) is only the first stage
//!   of a two-stage upgrade and proves nothing.
//! - `SIP<MAC>.cnf` right after `SEP<MAC>.cnf.xml` was answered "not
//!   found" is the loader's hunt, not the SIP application.
//! - A SIP load's `.loads` index fetched, then `SIPDefault.cnf` (which
//!   only the SIP application asks for) without an image in between: the
//!   loader found the load already in flash and started it.
//!
//! An image fetched and never followed by the new protocol's files (a
//! failed flash, "Image Authentication Failed") changes nothing.

use phoneflip_config::FileKind;
use phoneflip_firmware::{ImageFile, ImageKind, LoadName, Protocol};
use phoneflip_inventory::Outcome;
use phoneflip_plan::rules::{generation, Generation};
use serde::{Deserialize, Serialize};

/// What a firmware file is in an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageRole {
    /// `LOAD.loads`: the small index naming loader and application.
    Index,
    /// The universal application loader (`.sbn`, or the `.bin` of a load
    /// booting through the loader).
    Loader,
    /// The application itself: `.sb2`, or `.bin` on loads that predate
    /// the universal application loader.
    Application,
}

/// The role of an image file (the planner's loader-generation rule).
pub fn image_role(img: &ImageFile) -> ImageRole {
    match img.kind {
        ImageKind::Loads => ImageRole::Index,
        ImageKind::Sb2 => ImageRole::Application,
        ImageKind::Sbn => ImageRole::Loader,
        ImageKind::Bin => {
            let l = &img.load;
            if !l.is_universal_loader()
                && generation(l.protocol(), l.version()) == Generation::OriginalBoot
            {
                ImageRole::Application
            } else {
                ImageRole::Loader
            }
        }
    }
}

/// Per-phone memory of the evidence so far; serialisable so a job's fold
/// can persist it and resume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoadEvidence {
    /// The application image fetched last and not yet seen booted.
    #[serde(default)]
    pub pending: Option<LoadName>,
    /// The last image-related transfer was this load's `.loads`, sent.
    #[serde(default)]
    pub index: Option<LoadName>,
    /// The previous request was a `SEP<MAC>.cnf.xml` not found.
    #[serde(default)]
    pub after_missing_sep: bool,
}

/// The protocol whose application asks for `kind` (see
/// [`FileKind::config_of`]), unless the request is the loader's hunt:
/// `SIP<MAC>.cnf` right after a missing `SEP<MAC>.cnf.xml`.
pub fn config_request(kind: &FileKind, after_missing_sep: bool) -> Option<Protocol> {
    match kind {
        FileKind::SipMac(_) if after_missing_sep => None,
        k => k.config_of(),
    }
}

impl LoadEvidence {
    /// Feeds one request by this phone and how it ended; returns the load
    /// the phone is now known to run.
    pub fn see(&mut self, kind: &FileKind, outcome: Outcome) -> Option<LoadName> {
        let runs = self.runs_after(kind, outcome);
        self.after_missing_sep =
            matches!(kind, FileKind::SepMac(_)) && outcome == Outcome::NotFound;
        runs
    }

    fn runs_after(&mut self, kind: &FileKind, outcome: Outcome) -> Option<LoadName> {
        if kind.is_image() {
            self.index = None;
            if let (FileKind::Image(img), Outcome::Sent) = (kind, outcome) {
                match image_role(img) {
                    ImageRole::Application => self.pending = Some(img.load.clone()),
                    ImageRole::Index => self.index = Some(img.load.clone()),
                    ImageRole::Loader => {}
                }
            }
            return None;
        }
        let protocol = config_request(kind, self.after_missing_sep)?;
        if self
            .pending
            .as_ref()
            .is_some_and(|l| l.protocol() == protocol)
        {
            self.index = None;
            return self.pending.take();
        }
        if *kind == FileKind::SipDefault
            && self
                .index
                .as_ref()
                .is_some_and(|l| l.protocol() == Protocol::Sip)
        {
            self.pending = None;
            return self.index.take();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(e: &mut LoadEvidence, file: &str, outcome: Outcome) -> Option<String> {
        e.see(&FileKind::of(file), outcome).map(|l| l.to_string())
    }

    /// The SCCP 8.1(2) → SIP 8.12 conversion of the domain facts, with
    /// SEP<MAC>.cnf.xml missing so the loader hunts: seen only when the
    /// SIP application asks for its files after the application image.
    #[test]
    fn two_stage_upgrade_from_the_domain_facts() {
        use Outcome::{NotFound, Sent};
        let hunt = [
            ("CTLSEP000DBDBEEF01.tlv", NotFound),
            ("SEP000DBDBEEF01.cnf.xml", NotFound),
            ("SIP000DBDBEEF01.cnf", NotFound),
            ("MGC000DBDBEEF01.cnf", NotFound),
            ("XMLDefault.cnf.xml", Sent),
        ];
        let mut seq = Vec::new();
        seq.extend(hunt);
        seq.push(("P0S3-8-12-00.loads", Sent));
        seq.push(("P003-8-12-00.sbn", Sent));
        seq.extend(hunt);
        seq.push(("P0S3-8-12-00.loads", Sent));
        seq.push(("P0S3-8-12-00.sb2", Sent));
        let mut e = LoadEvidence::default();
        for (f, o) in seq {
            assert_eq!(feed(&mut e, f, o), None, "{f}");
        }
        // A failed boot of the application: the loader hunts again, and
        // its SIP<MAC>.cnf after the missing SEP file proves nothing.
        let mut failed = e.clone();
        for (f, o) in hunt {
            assert_eq!(feed(&mut failed, f, o), None, "{f}");
        }
        assert_eq!(
            feed(&mut e, "SIPDefault.cnf", Sent).as_deref(),
            Some("P0S3-8-12-00")
        );
        assert_eq!(feed(&mut e, "./SIP000DBDBEEF01.cnf", Sent), None);
    }

    #[test]
    fn the_sip_application_asking_for_its_own_file_is_enough() {
        let mut e = LoadEvidence::default();
        feed(&mut e, "P0S3-8-12-00.sb2", Outcome::Sent);
        // Missing: the SIP application re-requests it every 30 s, but it
        // is the SIP application that asks.
        assert_eq!(
            feed(&mut e, "./SIP000DBDBEEF01.cnf", Outcome::NotFound).as_deref(),
            Some("P0S3-8-12-00")
        );
    }

    #[test]
    fn original_boot_images_are_applications() {
        let mut e = LoadEvidence::default();
        assert_eq!(feed(&mut e, "POS30203.bin", Outcome::Sent), None);
        assert_eq!(
            feed(&mut e, "SIPDefault.cnf", Outcome::Sent).as_deref(),
            Some("POS30203")
        );
        // The loader's .bin of a loader-era load is not an application.
        assert_eq!(feed(&mut e, "P003-8-12-00.bin", Outcome::Sent), None);
        assert_eq!(feed(&mut e, "P0030801SR02.bin", Outcome::Sent), None);
        assert_eq!(feed(&mut e, "SEP000DBDBEEF01.cnf.xml", Outcome::Sent), None);
        assert_eq!(
            image_role(&"P0030801SR02.bin".parse().unwrap()),
            ImageRole::Loader
        );
        assert_eq!(
            image_role(&"P00305000101.bin".parse().unwrap()),
            ImageRole::Application
        );
    }

    #[test]
    fn sccp_revert_is_seen_on_the_sep_file() {
        let mut e = LoadEvidence::default();
        assert_eq!(feed(&mut e, "P00305000101.bin", Outcome::Sent), None);
        assert_eq!(feed(&mut e, "SIPDefault.cnf", Outcome::Sent), None);
        assert_eq!(
            feed(&mut e, "SEP000DBDBEEF01.cnf.xml", Outcome::Sent).as_deref(),
            Some("P00305000101")
        );
    }

    #[test]
    fn an_index_then_sip_default_means_the_load_was_already_in_flash() {
        let mut e = LoadEvidence::default();
        feed(&mut e, "SEP000DBDBEEF01.cnf.xml", Outcome::Sent);
        feed(&mut e, "P0S3-8-12-00.loads", Outcome::Sent);
        assert_eq!(
            feed(&mut e, "SIPDefault.cnf", Outcome::Sent).as_deref(),
            Some("P0S3-8-12-00")
        );
        // An image fetch in between (here a failed one) breaks the chain.
        let mut e = LoadEvidence::default();
        feed(&mut e, "P0S3-8-12-00.loads", Outcome::Sent);
        feed(&mut e, "P0S3-8-12-00.sb2", Outcome::Aborted);
        assert_eq!(feed(&mut e, "SIPDefault.cnf", Outcome::Sent), None);
    }
}
