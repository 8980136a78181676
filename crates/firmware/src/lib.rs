//! The firmware catalogue's vocabulary: protocols, versions and every name
//! form a 7940/7960 load can take in the reference document.
//!
//! Owns parsing and printing of load names (`POS30203`, `POS3-07-4-00`,
//! `P0S3-8-12-00`, `P00307020300`, `P0030801SR02`), image file names with
//! their extensions, gkdefault `upgradecode` image names and version codes,
//! and vendor bundle names. Pure: no I/O, no knowledge of phones, files on
//! disk or the conversion rules (those live in `phoneflip-plan`).

mod bundle;
mod gk;
mod load;
mod version;

pub use bundle::{BundleName, BundleNameError};
pub use gk::{GkImage, GkImageError, GkVersionCode};
pub use load::{
    other_model_family, ImageFile, ImageKind, LoadForm, LoadName, LoadNameError, Processor,
    Unnameable,
};
pub use version::{Protocol, ProtocolError, Release, ReleaseError, Version, VersionError};
