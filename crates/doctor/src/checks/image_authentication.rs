//! "Image Authentication Failed" Error: images that cannot pass the
//! signature check (or, unsigned, cannot be loaded at all) because the copy
//! is broken.

use phoneflip_bundle::Problem;
use phoneflip_firmware::{ImageFile, ImageKind};

use crate::finding::{section, Check, Finding, Severity, Symptom};
use crate::root::{Content, RootFile};

use super::Ctx;

impl Ctx<'_> {
    /// An empty image: a signed one fails the signature check, an unsigned
    /// one cannot be loaded.
    pub(super) fn empty_image(&mut self, f: &RootFile, img: &ImageFile) {
        if f.size == 0 && matches!(f.content, Content::NotRead) {
            let signed = img.kind != ImageKind::Bin;
            self.push(
                Finding::new(
                    Check::EmptyImage,
                    Severity::Error,
                    if signed { section::IMAGE_AUTHENTICATION } else { section::PROTOCOL_APPLICATION_INVALID },
                )
                .file(&f.name)
                .symptom(if signed { Symptom::ImageAuthenticationFailed } else { Symptom::ProtocolApplicationInvalid })
                .problem(format!("{} is empty: a copy that failed or was cut short", f.name))
                .fix("extract the image from the vendor ZIP file again, in binary mode (do not copy it by hand)"),
            );
        }
    }

    /// Non-empty images (`.sbin` included) that cannot be what their name says: the emulator
    /// (and a phone) reject it on the signature check.
    pub(super) fn damaged_images(&mut self) {
        let root = self.root;
        for f in root.files() {
            self.damaged_image(f);
        }
    }

    fn damaged_image(&mut self, f: &RootFile) {
        let Content::Damaged(problem) = &f.content else {
            return;
        };
        let why = match problem {
            Problem::Corrupt { error, .. } => error.to_string(),
            other => other.to_string(),
        };
        self.push(
            Finding::new(Check::DamagedImage, Severity::Error, section::IMAGE_AUTHENTICATION)
                .file(&f.name)
                .symptom(Symptom::ImageAuthenticationFailed)
                .problem(format!(
                    "{} is {} bytes but not an intact image: {why}; the phone refuses it",
                    f.name, f.size
                ))
                .fix("extract the image from the vendor ZIP file again, in binary mode (a text-mode FTP or a cut-short copy changes it), and copy it whole"),
        );
    }
}
