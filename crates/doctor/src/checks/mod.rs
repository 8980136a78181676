//! The checks, one module per section of the reference's "Common Issues
//! and Troubleshooting Tips" (and the boot-process and revert sections they
//! point back to), over one small shared context: the root, the options,
//! and the findings so far. [`run`] calls them in a fixed order; the entry
//! point is [`crate::scan::scan`].

mod control_files;
mod downgrade;
pub(crate) mod files;
mod hunt;
mod image_authentication;
mod no_load;
mod not_accepting_sccp;
pub(crate) mod os79xx;
mod protocol_application_invalid;
mod registration;
mod revert;
mod ringlist;
mod sip_config;
mod state_error;
mod tftp_accessibility;
mod w210;

use std::collections::{BTreeSet, HashSet};

use phoneflip_config::filename::{OS79XX_TXT, SIP_DEFAULT};
use phoneflip_config::{ImageRef, SipCnf};
use phoneflip_device::Mac;
use phoneflip_firmware::{Protocol, Release, Version};
use phoneflip_plan::reads;

use crate::finding::{Finding, Fix, Severity};
use crate::root::Root;

use crate::scan::Options;

/// Where a load is named.
#[derive(Debug, Clone)]
struct Named {
    image: ImageRef,
    file: String,
    line: Option<usize>,
    phone: Option<Mac>,
}

/// What every check shares: the root, what is known beyond it, and the
/// findings so far.
struct Ctx<'a> {
    root: &'a Root,
    opts: &'a Options,
    out: Vec<Finding>,
}

/// Runs every check on a root.
pub(crate) fn run(root: &Root, opts: &Options) -> Vec<Finding> {
    let mut cx = Ctx {
        root,
        opts,
        out: Vec::new(),
    };
    cx.unreadable();
    cx.well_known_case();
    let os79 = cx.os79xx();
    let (default_image, default_cnf) = cx.sip_default();
    let xml_loads = cx.xml_default();
    let phones = cx.phone_files(default_image.as_ref());
    let sip_named: Vec<Named> = phones.sip.iter().filter_map(|p| p.image.clone()).collect();

    let mut all_named: Vec<Named> = Vec::new();
    all_named.extend(default_image.iter().cloned());
    all_named.extend(xml_loads.iter().cloned());
    all_named.extend(sip_named.iter().cloned());
    all_named.extend(phones.sep.iter().cloned());
    for n in default_image.iter().chain(&sip_named) {
        cx.load_form(n);
    }
    cx.config_loads_present(&all_named);
    cx.loader_named(&all_named);
    // OS79XX.TXT only names an image for phones on pre-loader loads.
    let os79_read = cx.os79xx_read() != Some(false);
    cx.no_load(
        os79_read && (os79.is_some() || cx.os79xx_file().is_some()),
        &default_image,
        &xml_loads,
        &phones,
    );
    cx.sip_parameters(default_image.as_ref(), default_cnf.as_ref(), &phones);
    cx.leftover_sep(default_image.as_ref(), &phones);
    cx.registration(default_cnf.as_ref(), &phones);
    cx.bundles();
    cx.damaged_images();
    cx.ringlist();
    cx.control_files();

    if let Some(n) = &os79 {
        all_named.push(n.clone());
    }
    cx.w210(default_image.as_ref(), os79.as_ref());
    cx.sccp_8_3(
        os79.as_ref(),
        !phones.sip.is_empty() || root.has(SIP_DEFAULT),
    );
    cx.downgrade(&all_named);
    cx.gkdefault(os79.as_ref(), &xml_loads, &all_named);
    cx.state_error(os79.as_ref());
    cx.revert_path(os79.as_ref());
    let root_wide = os79.is_some() || default_image.is_some() || !xml_loads.is_empty();
    let per_phone = phones.sip.len() + phones.sep.len();
    let sip_target = all_named.iter().any(|n| {
        n.image
            .load()
            .is_some_and(|l| l.protocol() == Protocol::Sip && !l.is_universal_loader())
    }) || !phones.sip.is_empty()
        || root.has(SIP_DEFAULT);
    cx.network(sip_target, root_wide, per_phone);
    cx.call_manager_tftp(sip_target);

    let mut out = cx.out;
    out.sort_by(|a, b| {
        (
            a.phone.is_none(),
            a.phone,
            a.severity,
            &a.file,
            a.line,
            a.check,
        )
            .cmp(&(
                b.phone.is_none(),
                b.phone,
                b.severity,
                &b.file,
                b.line,
                b.check,
            ))
    });
    out
}

/// The DHCP checks alone, for a conversion to SIP, when there is no root
/// to look at.
pub(crate) fn dhcp_only(opts: &Options) -> Vec<Finding> {
    let root = Root::default();
    let mut cx = Ctx {
        root: &root,
        opts,
        out: Vec::new(),
    };
    cx.network(true, false, 0);
    cx.out
}

struct PhoneSip {
    mac: Mac,
    file: String,
    cnf: SipCnf,
    image: Option<Named>,
}

#[derive(Default)]
struct Phones {
    sip: Vec<PhoneSip>,
    sep: Vec<Named>,
    /// Phones with a SEP file, named or not.
    sep_macs: HashSet<Mac>,
}

fn sip_of(image: &ImageRef) -> Option<Version> {
    image
        .load()
        .filter(|l| l.protocol() == Protocol::Sip)
        .map(|l| l.version())
}

fn proto(p: Protocol) -> &'static str {
    match p {
        Protocol::Sccp => "SCCP",
        Protocol::Sip => "SIP",
        Protocol::Mgcp => "MGCP",
    }
}

fn load_list(loads: &BTreeSet<String>) -> String {
    loads.iter().cloned().collect::<Vec<_>>().join(", ")
}

impl<'a> Ctx<'a> {
    pub(super) fn push(&mut self, f: Finding) {
        self.out.push(f);
    }

    pub(super) fn phones_run_any(&self, pred: impl Fn(&Release) -> bool) -> bool {
        self.opts.from.iter().any(pred)
    }

    /// A rename to the exact name the phone asks for, when it is safe: one
    /// candidate, and the right name is not taken.
    /// Whether any phone reads OS79XX.TXT: unknown (`None`) without
    /// `--from`; with it, whether one of those loads does (the planner's
    /// boot table: the loads before the universal application loader).
    pub(super) fn os79xx_read(&self) -> Option<bool> {
        (!self.opts.from.is_empty()).then(|| self.opts.from.iter().any(|r| reads(r, OS79XX_TXT)))
    }

    /// How bad a fault of `file` that would stop a phone reading it is: an
    /// error, except in OS79XX.TXT when no phone of the fleet reads it (a
    /// warning: it stops no one now, but would stop a phone on an older
    /// load).
    pub(super) fn severity_for(&self, file: &str) -> Severity {
        if file.eq_ignore_ascii_case(OS79XX_TXT) && self.os79xx_read() == Some(false) {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    pub(super) fn rename_fix(&self, wanted: &str) -> (Option<&'a str>, Option<Fix>) {
        let others = self.root.other_case(wanted);
        match others.as_slice() {
            [one] if !self.root.has(wanted) => (
                Some(one.name.as_str()),
                Some(Fix::Rename {
                    from: one.name.clone(),
                    to: wanted.to_string(),
                }),
            ),
            [one, ..] => (Some(one.name.as_str()), None),
            [] => (None, None),
        }
    }
}

/// What to do about `found`, the root's spelling of `wanted`: rename it
/// when [`Ctx::rename_fix`] found that safe (`fix` is set), else
/// `otherwise`.
fn rename_or(found: &str, wanted: &str, fix: &Option<Fix>, otherwise: String) -> String {
    if fix.is_some() {
        format!("rename {found} to {wanted}")
    } else {
        otherwise
    }
}
