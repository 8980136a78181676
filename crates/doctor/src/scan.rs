//! The checks' entry point: a pure function from a [`Root`] and
//! [`Options`] to findings, each explained in the reference's terms. The
//! checks themselves live in `crate::checks`, one module per section of the
//! reference.

use std::net::Ipv4Addr;

use phoneflip_device::Mac;
use phoneflip_firmware::Release;

use crate::dhcp_conf::DhcpView;
use crate::finding::Finding;
use crate::root::Root;

pub use crate::checks::files::{phone_file, PhoneFileKind};
pub use crate::checks::os79xx::clean_os79xx;
/// SIP 2.x and earlier cannot download a `SIPDefault.cnf` larger than
/// this: the planner's rule, which the emulator uses too.
pub use phoneflip_plan::W210_LIMIT;

/// What the doctor knows beyond the root.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The loads the phones run now (`--from`); empty when not said, and
    /// the checks that depend on it then warn instead of failing.
    pub from: Vec<Release>,
    /// The phones this conversion is meant for (`--only`).
    pub only: Option<Vec<Mac>>,
    /// How DHCP hands out the TFTP server.
    pub dhcp: Option<DhcpView>,
    /// The address of the TFTP server that serves this root.
    pub tftp_address: Option<Ipv4Addr>,
}

/// The DHCP checks alone, for a conversion to SIP, when there is no root
/// to look at.
pub fn check_dhcp(opts: &Options) -> Vec<Finding> {
    crate::checks::dhcp_only(opts)
}

/// Runs every check on a root.
pub fn scan(root: &Root, opts: &Options) -> Vec<Finding> {
    crate::checks::run(root, opts)
}
