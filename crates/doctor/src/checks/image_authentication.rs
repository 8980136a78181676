//! "Image Authentication Failed" Error: images that cannot pass the
//! signature check (or, unsigned, cannot be loaded at all) because the copy
//! is broken.

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
}
