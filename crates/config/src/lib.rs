//! Every file a 7940/7960 reads from its TFTP server, as data: parsers and
//! writers for OS79XX.TXT, SIP `key: value` files, SCCP XML, gkdefault,
//! RINGLIST.DAT and dial plans, and the pure function that renders a
//! phone's files from its settings, its template and the load it must run.
//!
//! Must not do I/O or know about storage: the inventory hands it plain
//! values, the TFTP server and `render --all` write what it returns.
//! Must not make conversion decisions of its own: which files a hop needs,
//! which image a phone is sent to first, the 8.3 alias and the W210 rule
//! come from `phoneflip-plan`, so a rendered root always satisfies the plan.
//! Load-name syntax belongs to `phoneflip-firmware`.
//!
//! Every parser is lossless on real files (see `tests/real_world.rs`):
//! `xmldoc` is the span tree under the XML formats, `check` the per-file
//! verdict of `phoneflip check`.

pub mod cfgfmt;
pub mod check;
pub mod dialplan;
pub mod filename;
pub mod gkdefault;
pub mod image_ref;
pub mod model;
pub mod os79xx;
pub mod render;
pub mod ringlist;
pub mod root;
#[doc(hidden)]
pub mod roundtrip;
pub mod sccp;
pub mod secret;
pub mod sip_params;
pub mod sipcnf;
pub mod syncinfo;
pub mod tftpd_map;
pub mod xmldoc;

pub use dialplan::{DialPlan, DialPlanError, DialRule};
pub use filename::{FileKind, FileName};
pub use gkdefault::{GkDefault, GkDefaultError, UpgradeCode, CFGFMT_COMMAND, CFGFMT_NOTE};
pub use image_ref::ImageRef;
pub use model::{Line, PhoneSettings, Template};
pub use os79xx::{Os79xx, Os79xxDefect, Os79xxError};
pub use render::{render, render_one, RenderError, RenderLoad, RenderedFile};
pub use ringlist::{Ring, RingList, RingListError};
pub use root::{render_root, RootError};
pub use sccp::{
    CallManager, LoadInformation, SccpXmlError, SepDevice, XmlDefault, SEP_ORIGINAL,
    XML_DEFAULT_ORIGINAL,
};
pub use secret::{is_secret_key, redact_settings, restore_redacted, REDACTED};
pub use sip_params::{ParamSpec, ParamType, SipIssue, SipProblem};
pub use sipcnf::{EntryRef, SipCnf, SipCnfError, SipValueError};
pub use syncinfo::{SyncImage, SyncInfo, SyncInfoError};
pub use tftpd_map::{phone_view, MapFile, MapFileError, Mapped};
pub use xmldoc::{XmlDoc, XmlError};
