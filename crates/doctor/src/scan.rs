//! The checks: a pure function from a [`Root`] and [`Options`] to
//! findings, each explained in the reference's terms.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv4Addr;

use phoneflip_config::sip_params::{self, SipProblem};
use phoneflip_config::{
    GkDefault, ImageRef, Os79xx, Os79xxDefect, RingList, SepDevice, SipCnf, XmlDefault,
    CFGFMT_COMMAND,
};
use phoneflip_device::Mac;
use phoneflip_firmware::{
    ImageFile, ImageKind, LoadForm, LoadName, LoadNameError, Protocol, Release, Version,
};
use phoneflip_plan::rules::{generation, Generation, SIGNED_FLOOR, STATE_ERROR_SCCP_BELOW};
use phoneflip_plan::{alias_8_3, first_image, release_files};

use crate::dhcp_conf::DhcpView;
use crate::finding::{section, Check, Finding, Fix, Severity, Symptom};
use crate::root::{Content, Root};

/// SIP 2.x and earlier cannot download a `SIPDefault.cnf` larger than this.
/// The reference gives no number; this is the emulator's
/// `phone::BUFFER_FULL_LIMIT`, kept equal by a test rather than by a
/// dependency on the emulator (its tokio driver has no place here).
pub const W210_LIMIT: u64 = 2048;

pub const OS79XX: &str = "OS79XX.TXT";
pub const SIPDEFAULT: &str = "SIPDefault.cnf";
pub const XMLDEFAULT: &str = "XMLDefault.cnf.xml";
pub const GKDEFAULT: &str = "gkdefault.cfg";
pub const GKDEFAULT_TXT: &str = "gkdefault.txt";

/// Root-wide files whose exact spelling the phones ask for.
const WELL_KNOWN: &[&str] = &[
    SIPDEFAULT,
    XMLDEFAULT,
    GKDEFAULT,
    "RINGLIST.DAT",
    "dialplan.xml",
    "syncinfo.xml",
];

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
    let root = Root::default();
    let mut cx = Ctx {
        root: &root,
        opts,
        out: Vec::new(),
    };
    cx.network(true, false, 0);
    cx.out
}

/// A per-phone control file, by the name it has on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneFileKind {
    /// `SIP<MAC>.cnf`
    Sip,
    /// `SEP<MAC>.cnf.xml`
    Sep,
}

/// Recognises a per-phone file in any case, with the name the phone asks
/// for (MAC in capitals, prefix upper case, extension lower case).
pub fn phone_file(name: &str) -> Option<(PhoneFileKind, Mac, String)> {
    let l = name.to_ascii_lowercase();
    let (kind, prefix, ext) = if l.starts_with("sip") && l.ends_with(".cnf") {
        (PhoneFileKind::Sip, "SIP", ".cnf")
    } else if l.starts_with("sep") && l.ends_with(".cnf.xml") {
        (PhoneFileKind::Sep, "SEP", ".cnf.xml")
    } else {
        return None;
    };
    let mid = &l[3..l.len() - ext.len()];
    if mid.len() != 12 || !mid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mac: Mac = mid.parse().ok()?;
    Some((kind, mac, format!("{prefix}{mac}{ext}")))
}

/// Where a load is named.
#[derive(Debug, Clone)]
struct Named {
    image: ImageRef,
    file: String,
    line: Option<usize>,
    phone: Option<Mac>,
}

struct Ctx<'a> {
    root: &'a Root,
    opts: &'a Options,
    out: Vec<Finding>,
}

/// Runs every check on a root.
pub fn scan(root: &Root, opts: &Options) -> Vec<Finding> {
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
    // OS79XX.TXT only names an image for phones on pre-loader loads.
    let os79_read = opts.from.is_empty()
        || opts
            .from
            .iter()
            .any(|r| generation(r.protocol, r.version) == Generation::OriginalBoot);
    cx.no_load(
        os79_read && (os79.is_some() || cx.os79xx_file().is_some()),
        &default_image,
        &xml_loads,
        &phones,
    );
    cx.sip_parameters(default_image.as_ref(), default_cnf.as_ref(), &phones);
    cx.bundles();
    cx.ringlist();

    if let Some(n) = &os79 {
        all_named.push(n.clone());
    }
    cx.w210(default_cnf.as_ref(), default_image.as_ref(), os79.as_ref());
    cx.sccp_8_3(
        os79.as_ref(),
        !phones.sip.is_empty() || root.has(SIPDEFAULT),
    );
    cx.downgrade(&all_named);
    cx.gkdefault(os79.as_ref(), &xml_loads, &all_named);
    cx.state_error(os79.as_ref());
    let root_wide = os79.is_some() || default_image.is_some() || !xml_loads.is_empty();
    let per_phone = phones.sip.len() + phones.sep.len();
    let sip_target = all_named.iter().any(|n| {
        n.image
            .load()
            .is_some_and(|l| l.protocol() == Protocol::Sip && !l.is_universal_loader())
    }) || !phones.sip.is_empty()
        || root.has(SIPDEFAULT);
    cx.network(sip_target, root_wide, per_phone);

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

struct PhoneSip {
    mac: Mac,
    file: String,
    cnf: Option<SipCnf>,
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
    fn push(&mut self, f: Finding) {
        self.out.push(f);
    }

    fn phones_run_any(&self, pred: impl Fn(&Release) -> bool) -> bool {
        self.opts.from.iter().any(pred)
    }

    fn unreadable(&mut self) {
        for f in self.root.files() {
            if let Content::Unreadable(why) = &f.content {
                let image = f.name.parse::<ImageFile>().is_ok();
                let mut finding = Finding::new(Check::Unreadable, Severity::Error, section::ENABLE_SIP)
                    .file(&f.name)
                    .problem(format!("the TFTP server cannot read {}: {why}", f.name))
                    .fix(format!(
                        "allow read access for the TFTP server, e.g. chmod a+r {:?} (the reference: allow read and write permissions on the TFTP server for these files)",
                        f.name
                    ));
                if image {
                    finding = finding.symptom(Symptom::ProtocolApplicationInvalid);
                }
                if let Some((_, mac, _)) = phone_file(&f.name) {
                    finding = finding.phone(mac);
                }
                self.push(finding);
            }
        }
    }

    /// A rename to the exact name the phone asks for, when it is safe: one
    /// candidate, and the right name is not taken.
    fn rename_fix(&self, wanted: &str) -> (Option<&str>, Option<Fix>) {
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

    fn well_known_case(&mut self) {
        for &name in WELL_KNOWN {
            if self.root.has(name) {
                continue;
            }
            if let (Some(found), fix) = self.rename_fix(name) {
                let found = found.to_string();
                let safe = fix.is_some();
                self.push(
                    Finding::new(Check::ConfigFileCase, Severity::Error, section::BOOTUP_SIP)
                        .file(&found)
                        .problem(format!(
                            "{found} is spelled differently from {name}, the name the phones ask for; file names on the TFTP server are case sensitive"
                        ))
                        .fix(if safe {
                            format!("rename {found} to {name}")
                        } else {
                            format!("keep one file named exactly {name} and delete the other spellings")
                        })
                        .auto(fix),
                );
            }
        }
    }

    /// The OS79XX.TXT the phones would read, or the misspelled one.
    fn os79xx_file(&self) -> Option<&'a crate::root::RootFile> {
        self.root
            .get(OS79XX)
            .or_else(|| self.root.other_case(OS79XX).into_iter().next())
    }

    fn os79xx(&mut self) -> Option<Named> {
        let file = match self.root.get(OS79XX) {
            Some(f) => f,
            None => {
                let (found, fix) = self.rename_fix(OS79XX);
                match found {
                    Some(found) => {
                        let found = found.to_string();
                        let safe = fix.is_some();
                        self.push(
                            Finding::new(Check::Os79xxFileCase, Severity::Error, section::SCCP_OLD_TO_SIP_OLD)
                                .file(&found)
                                .symptom(Symptom::KeepsCurrentLoad)
                                .problem(format!("the file is named {found}; the phones ask for OS79XX.TXT and the names are case sensitive"))
                                .fix(if safe { format!("rename {found} to OS79XX.TXT") } else { "keep one file named exactly OS79XX.TXT and delete the other spellings".into() })
                                .auto(fix),
                        );
                        self.os79xx_file()?
                    }
                    None => {
                        self.os79xx_missing();
                        return None;
                    }
                }
            }
        };
        let name = file.name.clone();
        let bytes = file.bytes()?.to_vec();
        let (image, line) = match Os79xx::parse(&bytes) {
            Ok(f) => (Some(f.image), 1),
            Err(_) if self.renamed_8_3(&bytes).is_some() => {
                let alias = self.renamed_8_3(&bytes).unwrap_or_default();
                self.push(
                    Finding::new(Check::Os79xxNotALoad, Severity::Info, section::NOT_ACCEPTING_SCCP)
                        .file(&name)
                        .line(1)
                        .problem(format!(
                            "OS79XX.TXT names {alias}, which is not a load name; {alias}.bin is in the root, so it is taken as a load renamed to DOS 8.3 (the reference's workaround for SIP 2.1 and earlier)"
                        ))
                        .fix("nothing, if this is such a rename; otherwise write the load name (POS3xxyy, POS3-xx-y-zz or P003aabbccdd)"),
                );
                (Some(ImageRef::Alias(alias)), 1)
            }
            Err(e) => {
                let cleaned = clean_os79xx(&bytes);
                let fix = cleaned.as_ref().map(|c| Fix::Rewrite {
                    file: OS79XX.into(),
                    contents: format!("{c}\n"),
                });
                for d in &e.defects {
                    self.os79xx_defect(&name, d, fix.clone());
                }
                (cleaned.and_then(|c| c.parse::<ImageRef>().ok()), 1)
            }
        };
        let image = image?;
        let named = Named {
            image,
            file: name.clone(),
            line: Some(line),
            phone: None,
        };
        self.load_form(&named);
        self.os79xx_load_present(&named);
        Some(named)
    }

    /// A name that is no load, but has its `.bin` in the root and fits
    /// 8.3: a load renamed as the reference suggests for SIP 2.1.
    fn renamed_8_3(&self, bytes: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(bytes).ok()?;
        let name = text.strip_suffix('\n').unwrap_or(text);
        let ok = !name.is_empty()
            && name.len() <= 8
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        (ok && self.root.has(&format!("{name}.bin"))).then(|| name.to_string())
    }

    fn os79xx_missing(&mut self) {
        let gk = self.root.has(GKDEFAULT);
        let needed = self.opts.from.iter().any(|r| {
            generation(r.protocol, r.version) == Generation::OriginalBoot
                // SIP 5.x/6.x reach SCCP through gkdefault.cfg instead.
                && !(gk && r.protocol == Protocol::Sip && matches!(r.version.major, 5 | 6))
        });
        if !self.opts.from.is_empty() && !needed {
            return;
        }
        let target = self
            .root
            .get(SIPDEFAULT)
            .and_then(|f| f.bytes())
            .and_then(|b| SipCnf::parse(SIPDEFAULT, b).ok())
            .and_then(|c| {
                c.get("image_version")
                    .and_then(|v| v.parse::<LoadName>().ok())
            })
            .map(|l| first_image(&l));
        let example = target.map(|t| format!(", here {t}")).unwrap_or_default();
        self.push(
            Finding::new(
                Check::Os79xxMissing,
                if needed { Severity::Error } else { Severity::Warning },
                section::ENABLE_SIP,
            )
            .file(OS79XX)
            .symptom(Symptom::KeepsCurrentLoad)
            .problem("there is no OS79XX.TXT: phones on SCCP 5.x and older or SIP 6.x and older ask for it first and, without it, do not know which image to fetch".to_string())
            .fix(format!("create OS79XX.TXT holding only the name of the image to load, without .bin{example}")),
        );
    }

    fn os79xx_defect(&mut self, file: &str, d: &Os79xxDefect, fix: Option<Fix>) {
        use Os79xxDefect as D;
        let (check, safe, text) = match d {
            D::Empty => (Check::Os79xxEmpty, false, d.to_string()),
            D::NotAscii => (Check::Os79xxNotText, false, d.to_string()),
            D::MultipleLines { .. } => (Check::Os79xxLines, true, d.to_string()),
            D::CarriageReturn | D::Whitespace => (Check::Os79xxWhitespace, true, d.to_string()),
            D::Extension { .. } => (Check::Os79xxExtension, true, d.to_string()),
            D::WrongCase { .. } => (Check::Os79xxNameCase, true, d.to_string()),
            D::NotALoad(_) => (Check::Os79xxNotALoad, false, d.to_string()),
        };
        let auto = if safe { fix } else { None };
        let how = match &auto {
            Some(Fix::Rewrite { contents, .. }) => {
                format!("write only {:?} in OS79XX.TXT", contents.trim_end())
            }
            _ => "write only the load name, without .bin, on one line (POS3xxyy up to SIP 2.3, POS3-xx-y-zz from SIP 3.0, P003aabbccdd for SCCP)".into(),
        };
        self.push(
            Finding::new(check, Severity::Error, section::UNPROVISIONED)
                .file(file)
                .line(1)
                .symptom(Symptom::Unprovisioned)
                .problem(format!("OS79XX.TXT: {text}"))
                .fix(how)
                .auto(auto),
        );
    }

    fn load_form(&mut self, n: &Named) {
        let ImageRef::Load(l) = &n.image else { return };
        if l.protocol() != Protocol::Sip {
            return;
        }
        let v = l.version();
        let want = if v < Version::new(3, 0) {
            LoadForm::Compact
        } else {
            LoadForm::Dashed
        };
        if l.form() == want {
            return;
        }
        let right = LoadName::canonical(Protocol::Sip, v);
        let os79 = n.file.eq_ignore_ascii_case(OS79XX);
        let (check, sec, symptom, param) = if os79 {
            (
                Check::Os79xxWrongForm,
                section::UNPROVISIONED,
                Symptom::Unprovisioned,
                "OS79XX.TXT",
            )
        } else {
            (
                Check::LoadWrongForm,
                section::PROTOCOL_APPLICATION_INVALID,
                Symptom::ProtocolApplicationInvalid,
                "image_version",
            )
        };
        let exists = self.root.has(&format!("{right}.bin"));
        let mut f = Finding::new(check, Severity::Error, sec)
            .file(&n.file)
            .line(n.line.unwrap_or(1))
            .symptom(symptom)
            .problem(format!(
                "{} names {l}, SIP {v}, in the wrong form: SIP 2.3 and earlier are written POS3xxyy, SIP 3.0 and later POS3-xx-y-zz",
                n.file
            ))
            .fix(format!(
                "write {right} in {param}{}",
                if exists || !os79 { String::new() } else { format!(" and put {right}.bin in the root") }
            ));
        if let Some(m) = n.phone {
            f = f.phone(m);
        }
        self.push(f);
    }

    /// The file a name makes a phone fetch, and whether it exists (in the
    /// right case, in another case, or not at all).
    fn load_file_check(
        &mut self,
        wanted: &[String],
        named_in: &str,
        line: Option<usize>,
        phone: Option<Mac>,
        how_many: usize,
        alternative: String,
    ) {
        if wanted.iter().any(|w| self.root.has(w)) {
            return;
        }
        let first = &wanted[0];
        for w in wanted {
            if let (Some(found), fix) = self.rename_fix(w) {
                let found = found.to_string();
                let safe = fix.is_some();
                let mut f = Finding::new(Check::LoadFileCase, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                    .file(named_in)
                    .symptom(Symptom::ProtocolApplicationInvalid)
                    .problem(format!(
                        "{named_in} makes the phone fetch {w}, but the root has it only as {found}; the phones compare file names case-sensitively"
                    ))
                    .fix(if safe { format!("rename {found} to {w}") } else { format!("keep one file named exactly {w}") })
                    .auto(fix);
                if let Some(l) = line {
                    f = f.line(l);
                }
                if let Some(m) = phone {
                    f = f.phone(m);
                }
                self.push(f);
                return;
            }
        }
        let also = if how_many > 1 {
            format!(" (and {} other files name it)", how_many - 1)
        } else {
            String::new()
        };
        let mut f = Finding::new(Check::LoadMissing, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
            .file(named_in)
            .symptom(Symptom::ProtocolApplicationInvalid)
            .problem(format!(
                "{named_in}{also} makes the phone fetch {}, which is not in the TFTP root",
                wanted.join(" or ")
            ))
            .fix(if alternative.is_empty() {
                format!("unzip the release that contains {first} into the root (the binary referenced must be present in the TFTP root directory)")
            } else {
                alternative
            });
        if let Some(l) = line {
            f = f.line(l);
        }
        if let Some(m) = phone {
            f = f.phone(m);
        }
        self.push(f);
    }

    fn os79xx_load_present(&mut self, n: &Named) {
        let name = n.image.as_str().to_string();
        let mut wanted = vec![format!("{name}.bin")];
        if n.image.load().is_some_and(|l| l.is_universal_loader()) {
            let signed = self.phones_run_any(|r| r.version >= SIGNED_FLOOR);
            let unsigned = self.phones_run_any(|r| r.version < SIGNED_FLOOR);
            if signed && !unsigned {
                wanted = vec![format!("{name}.sbn")];
            } else if !unsigned {
                wanted.push(format!("{name}.sbn"));
            }
        }
        let mut alt = String::new();
        let Some(load) = n.image.load() else {
            self.load_file_check(&wanted, &n.file.clone(), Some(1), None, 1, alt);
            return;
        };
        // The reference's letter O and the real files' digit zero.
        if load.protocol() == Protocol::Sip && load.form() == LoadForm::Dashed {
            let s = load.as_str();
            let other = if load.letter_o() {
                s.replacen("PO", "P0", 1)
            } else {
                s.replacen("P0", "PO", 1)
            };
            if self.root.has(&format!("{other}.bin")) {
                alt = format!("the root holds {other}.bin: write {other} in OS79XX.TXT (the phones compare names byte for byte, letter O and digit zero differ)");
            } else if generation(Protocol::Sip, load.version()) == Generation::UniversalLoader {
                let loader = load.loader();
                if self.root.has(&format!("{loader}.bin"))
                    || self.root.has(&format!("{loader}.sbn"))
                {
                    alt = format!("{load} is a universal application: OS79XX.TXT must name its universal application loader, as the SIP zip's own OS79XX.TXT does: write {loader}");
                }
            }
        }
        self.load_file_check(&wanted, &n.file.clone(), Some(1), None, 1, alt);
    }

    fn parse_sip(&mut self, file: &str, bytes: &[u8], phone: Option<Mac>) -> Option<SipCnf> {
        match SipCnf::parse(file, bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                let mut f = Finding::new(
                    Check::ConfigUnreadable,
                    Severity::Error,
                    section::PROTOCOL_APPLICATION_INVALID,
                )
                .file(file)
                .line(e.line)
                .problem(format!("{file} cannot be read: {}", e.problem))
                .fix(e.fix.clone());
                if let Some(m) = phone {
                    f = f.phone(m);
                }
                self.push(f);
                None
            }
        }
    }

    /// The `image_version` of a SIP file, reporting a value the phone
    /// cannot use.
    fn image_version(&mut self, file: &str, cnf: &SipCnf, phone: Option<Mac>) -> Option<Named> {
        let e = cnf.entries().filter(|e| e.key == "image_version").last()?;
        if e.value.trim().is_empty() {
            return None;
        }
        match e.value.parse::<ImageRef>() {
            Ok(image) => Some(Named {
                image,
                file: file.to_string(),
                line: Some(e.line),
                phone,
            }),
            Err(err) => {
                let suggestion = match &err {
                    LoadNameError::HasExtension { suggestion, .. }
                    | LoadNameError::WrongCase { suggestion, .. } => Some(suggestion.clone()),
                    LoadNameError::Malformed { .. } => None,
                };
                let fix = suggestion.as_ref().and_then(|s| {
                    let mut c = cnf.clone();
                    c.set("image_version", s).ok()?;
                    Some(Fix::Rewrite {
                        file: file.to_string(),
                        contents: String::from_utf8(c.to_bytes()).ok()?,
                    })
                });
                let line = e.line;
                let mut f = Finding::new(
                    Check::ImageVersionInvalid,
                    Severity::Error,
                    section::PROTOCOL_APPLICATION_INVALID,
                )
                .file(file)
                .line(line)
                .symptom(Symptom::ProtocolApplicationInvalid)
                .problem(format!("image_version: {err}"))
                .fix(match &suggestion {
                    Some(s) => format!("write image_version: {s}"),
                    None => {
                        "write the load name without extension, e.g. image_version: P0S3-8-12-00"
                            .into()
                    }
                })
                .auto(fix);
                if let Some(m) = phone {
                    f = f.phone(m);
                }
                self.push(f);
                let image = suggestion.and_then(|s| s.parse::<ImageRef>().ok())?;
                Some(Named {
                    image,
                    file: file.to_string(),
                    line: Some(line),
                    phone,
                })
            }
        }
    }

    fn sip_default(&mut self) -> (Option<Named>, Option<SipCnf>) {
        let Some(bytes) = self.root.get(SIPDEFAULT).and_then(|f| f.bytes()) else {
            return (None, None);
        };
        let bytes = bytes.to_vec();
        let Some(cnf) = self.parse_sip(SIPDEFAULT, &bytes, None) else {
            return (None, None);
        };
        (self.image_version(SIPDEFAULT, &cnf, None), Some(cnf))
    }

    fn xml_default(&mut self) -> Vec<Named> {
        let Some(bytes) = self.root.get(XMLDEFAULT).and_then(|f| f.bytes()) else {
            return Vec::new();
        };
        match XmlDefault::parse(XMLDEFAULT, bytes) {
            Ok(x) => {
                let mut seen = BTreeSet::new();
                x.loads
                    .values()
                    .filter(|l| seen.insert(l.as_str().to_string()))
                    .map(|l| Named {
                        image: ImageRef::Load(l.clone()),
                        file: XMLDEFAULT.into(),
                        line: None,
                        phone: None,
                    })
                    .collect()
            }
            Err(e) => {
                self.push(
                    Finding::new(
                        Check::ConfigUnreadable,
                        Severity::Error,
                        section::PROTOCOL_APPLICATION_INVALID,
                    )
                    .file(XMLDEFAULT)
                    .symptom(Symptom::ProtocolApplicationInvalid)
                    .problem(format!("{XMLDEFAULT} cannot be read: {}", e.problem))
                    .fix(e.fix.clone()),
                );
                Vec::new()
            }
        }
    }

    fn phone_files(&mut self, default_image: Option<&Named>) -> Phones {
        let mut phones = Phones::default();
        let root = self.root;
        for f in root.files() {
            let Some((kind, mac, wanted)) = phone_file(&f.name) else {
                continue;
            };
            if f.name != wanted {
                let taken = root.has(&wanted);
                let fix = (!taken).then(|| Fix::Rename {
                    from: f.name.clone(),
                    to: wanted.clone(),
                });
                let (what, sec) = match kind {
                    PhoneFileKind::Sip => ("the MAC address must be in capital letters and the extension .cnf in lower case", section::ENABLE_SIP),
                    PhoneFileKind::Sep => ("the phones ask for SEP, the MAC in capitals and .cnf.xml in lower case", section::UNIVERSAL),
                };
                self.push(
                    Finding::new(Check::ConfigFileCase, Severity::Error, sec)
                        .phone(mac)
                        .file(&f.name)
                        .symptom(match kind {
                            PhoneFileKind::Sip => Symptom::ConfigNotFound,
                            PhoneFileKind::Sep => Symptom::KeepsCurrentLoad,
                        })
                        .problem(format!(
                            "{} is not the name the phone asks for ({wanted}): {what}",
                            f.name
                        ))
                        .fix(if taken {
                            format!(
                                "{wanted} exists too: merge what you need into it and delete {}",
                                f.name
                            )
                        } else {
                            format!("rename {} to {wanted}", f.name)
                        })
                        .auto(fix),
                );
                if taken {
                    continue;
                }
            }
            let Some(bytes) = f.bytes() else { continue };
            match kind {
                PhoneFileKind::Sip => {
                    let cnf = self.parse_sip(&f.name, bytes, Some(mac));
                    let image = cnf
                        .as_ref()
                        .and_then(|c| self.image_version(&f.name, c, Some(mac)));
                    if let (Some(mine), Some(def)) = (&image, default_image) {
                        if mine.image.as_str() != def.image.as_str() {
                            let mut finding = Finding::new(Check::ImageVersionMismatch, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                                .phone(mac)
                                .file(&f.name)
                                .symptom(Symptom::ProtocolApplicationInvalid)
                                .problem(format!(
                                    "image_version is {} here and {} in SIPDefault.cnf; the phone reads both and they must name the same image",
                                    mine.image, def.image
                                ))
                                .fix(format!("write the same image_version in SIPDefault.cnf and {}", f.name));
                            if let Some(l) = mine.line {
                                finding = finding.line(l);
                            }
                            self.push(finding);
                        }
                    }
                    phones.sip.push(PhoneSip {
                        mac,
                        file: f.name.clone(),
                        cnf,
                        image,
                    });
                }
                PhoneFileKind::Sep => {
                    phones.sep_macs.insert(mac);
                    match SepDevice::parse(&f.name, bytes) {
                        Ok(dev) => {
                            if let Some(li) = dev.load_information {
                                phones.sep.push(Named {
                                    image: ImageRef::Load(li.load),
                                    file: f.name.clone(),
                                    line: None,
                                    phone: Some(mac),
                                });
                            }
                        }
                        Err(e) => self.push(
                            Finding::new(Check::ConfigUnreadable, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                                .phone(mac)
                                .file(&f.name)
                                .symptom(Symptom::ProtocolApplicationInvalid)
                                .problem(format!("{} cannot be read: {}; an empty or malformed SEP<MAC>.cnf.xml makes the phone loop", f.name, e.problem))
                                .fix(e.fix.clone()),
                        ),
                    }
                }
            }
        }
        phones
    }

    /// Every load named in a configuration file must be in the root, under
    /// the name the phone will ask for. One finding per missing file.
    fn config_loads_present(&mut self, named: &[Named]) {
        let mut by_file: BTreeMap<String, Vec<&Named>> = BTreeMap::new();
        for n in named {
            let Some(load) = n.image.load() else {
                by_file
                    .entry(format!("{}.bin", n.image.as_str()))
                    .or_default()
                    .push(n);
                continue;
            };
            let want = match generation(load.protocol(), load.version()) {
                Generation::UniversalLoader if !load.is_universal_loader() => {
                    format!("{load}.loads")
                }
                _ => format!("{}.bin", n.image.as_str()),
            };
            by_file.entry(want).or_default().push(n);
        }
        for (want, ns) in by_file {
            let first = ns[0];
            let mut wanted = vec![want.clone()];
            if let Some(stem) = want.strip_suffix(".bin") {
                if ns[0].image.load().is_some_and(|l| l.is_universal_loader()) {
                    wanted.push(format!("{stem}.sbn"));
                }
            }
            let phone = if ns.len() == 1 { first.phone } else { None };
            self.load_file_check(
                &wanted,
                &first.file.clone(),
                first.line,
                phone,
                ns.len(),
                String::new(),
            );
        }
    }

    fn no_load(
        &mut self,
        os79: bool,
        default_image: &Option<Named>,
        xml: &[Named],
        phones: &Phones,
    ) {
        if os79 || default_image.is_some() || !xml.is_empty() {
            return;
        }
        let named: HashSet<Mac> = phones
            .sip
            .iter()
            .filter(|p| p.image.is_some())
            .map(|p| p.mac)
            .chain(phones.sep.iter().filter_map(|n| n.phone))
            .collect();
        // A phone with an image in flash keeps it; one without shows
        // No Load Specified.
        let symptom = if self.opts.from.is_empty() {
            Symptom::NoLoadSpecified
        } else {
            Symptom::KeepsCurrentLoad
        };
        let fix = "name the image in the configuration files: image_version in SIPDefault.cnf (SIP), loadInformation in XMLDefault.cnf.xml (SCCP), or OS79XX.TXT for phones on older loads";
        if named.is_empty() {
            self.push(
                Finding::new(Check::NoLoadSpecified, Severity::Error, section::NO_LOAD_SPECIFIED)
                    .symptom(symptom)
                    .problem("no configuration file the phones read names an image (OS79XX.TXT for pre-loader loads, image_version, loadInformation): a phone keeps the image it has, and one without an image in flash shows No Load Specified")
                    .fix(fix),
            );
            return;
        }
        for p in &phones.sip {
            if !named.contains(&p.mac) && !phones.sep_macs.contains(&p.mac) {
                self.push(
                    Finding::new(
                        Check::NoLoadSpecified,
                        Severity::Error,
                        section::NO_LOAD_SPECIFIED,
                    )
                    .phone(p.mac)
                    .file(&p.file)
                    .symptom(symptom)
                    .problem(format!(
                        "neither {} nor any root-wide file names an image for this phone",
                        p.file
                    ))
                    .fix(format!("add image_version to {} or SIPDefault.cnf", p.file)),
                );
            }
        }
    }

    /// The SIP release that will read a SIP file, for the parameter check.
    fn reading_release(&self, image: Option<&Named>) -> Option<Version> {
        image.and_then(|n| sip_of(&n.image)).or_else(|| {
            self.opts
                .from
                .iter()
                .filter(|r| r.protocol == Protocol::Sip)
                .map(|r| r.version)
                .max()
        })
    }

    fn sip_parameters(
        &mut self,
        default_image: Option<&Named>,
        default_cnf: Option<&SipCnf>,
        phones: &Phones,
    ) {
        if let Some(cnf) = default_cnf {
            let release = self.reading_release(default_image);
            self.validate(SIPDEFAULT, cnf, release, None);
        }
        for p in &phones.sip {
            let Some(cnf) = &p.cnf else { continue };
            let release = self.reading_release(p.image.as_ref().or(default_image));
            self.validate(&p.file, cnf, release, Some(p.mac));
        }
    }

    fn validate(&mut self, file: &str, cnf: &SipCnf, release: Option<Version>, phone: Option<Mac>) {
        let known = release.is_some();
        let release = release.unwrap_or(Version::new(8, 12));
        for issue in sip_params::validate(file, cnf, release, None) {
            if !known && matches!(issue.problem, SipProblem::NewerThanLoad { .. }) {
                continue;
            }
            if issue.param == "image_version" {
                // Reported by the image checks, in the reference's terms.
                continue;
            }
            let target = if known {
                format!("SIP {release}")
            } else {
                "any SIP release".to_string()
            };
            let mut f = Finding::new(Check::SipParameter, Severity::Warning, section::ENABLE_SIP)
                .file(file)
                .line(issue.line)
                .symptom(Symptom::ParameterIgnored)
                .problem(format!(
                    "parameter {} (read by {target}): {}",
                    issue.param, issue.problem
                ))
                .fix(match &issue.problem {
                    SipProblem::Unknown {
                        suggestion: Some(s),
                    } => format!("rename it to {s}"),
                    SipProblem::Duplicate { .. } => "delete one of the two lines".into(),
                    SipProblem::OutOfRange { expected, .. } => format!("write {expected}"),
                    _ => "remove it, or target a load that knows it".into(),
                });
            if let Some(m) = phone {
                f = f.phone(m);
            }
            self.push(f);
        }
    }

    fn bundles(&mut self) {
        let mut groups: BTreeMap<String, (LoadName, BTreeSet<ImageKind>)> = BTreeMap::new();
        let root = self.root;
        for f in root.files() {
            let Ok(img) = f.name.parse::<ImageFile>() else {
                continue;
            };
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
            groups
                .entry(img.load.as_str().to_string())
                .or_insert_with(|| (img.load.clone(), BTreeSet::new()))
                .1
                .insert(img.kind);
        }
        for (name, (load, kinds)) in &groups {
            if load.is_universal_loader()
                || generation(load.protocol(), load.version()) != Generation::UniversalLoader
                || !(kinds.contains(&ImageKind::Loads) || kinds.contains(&ImageKind::Sb2))
            {
                continue;
            }
            let mut missing = BTreeSet::new();
            for want in release_files(load).into_iter().filter(|f| !root.has(f)) {
                match self.rename_fix(&want) {
                    (Some(found), fix) => {
                        let found = found.to_string();
                        let safe = fix.is_some();
                        self.push(
                            Finding::new(Check::LoadFileCase, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                                .file(&found)
                                .symptom(Symptom::ProtocolApplicationInvalid)
                                .problem(format!(
                                    "release {name} needs {want}, but the root has it only as {found}; the phones compare file names case-sensitively"
                                ))
                                .fix(if safe { format!("rename {found} to {want}") } else { format!("keep one file named exactly {want}") })
                                .auto(fix),
                        );
                    }
                    (None, _) => {
                        missing.insert(want);
                    }
                }
            }
            if missing.is_empty() {
                continue;
            }
            let present: Vec<String> = kinds
                .iter()
                .map(|k| format!("{name}.{}", k.ext()))
                .collect();
            self.push(
                Finding::new(Check::BundleIncomplete, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                    .file(&present[0])
                    .symptom(Symptom::ProtocolApplicationInvalid)
                    .problem(format!(
                        "release {name} is incomplete: the root has {} but not {}; the files look copied by hand rather than unzipped",
                        present.join(", "),
                        load_list(&missing)
                    ))
                    .fix("unzip the release's ZIP package into the root of the TFTP server (do not copy files by hand)"),
            );
        }
    }

    /// RINGLIST.DAT's audio files must be in the root too.
    fn ringlist(&mut self) {
        let Some(bytes) = self.root.get("RINGLIST.DAT").and_then(|f| f.bytes()) else {
            return;
        };
        let list = match RingList::parse("RINGLIST.DAT", bytes) {
            Ok(l) => l,
            Err(e) => {
                self.push(
                    Finding::new(Check::RingList, Severity::Warning, section::ENABLE_SIP)
                        .file("RINGLIST.DAT")
                        .line(e.line)
                        .problem(format!("RINGLIST.DAT cannot be read: {}", e.problem))
                        .fix(e.fix.clone()),
                );
                return;
            }
        };
        for ring in &list.rings {
            if self.root.has(&ring.file) {
                continue;
            }
            let (found, fix) = self.rename_fix(&ring.file);
            let found = found.map(str::to_string);
            self.push(
                Finding::new(Check::RingList, Severity::Warning, section::ENABLE_SIP)
                    .file("RINGLIST.DAT")
                    .problem(match &found {
                        Some(f) => format!("RINGLIST.DAT lists {} ({}), which the root has only as {f}", ring.file, ring.name),
                        None => format!("RINGLIST.DAT lists {} ({}), which is not in the root", ring.file, ring.name),
                    })
                    .fix(match &found {
                        Some(f) => format!("rename {f} to {}", ring.file),
                        None => format!("copy {} into the root (the audio files listed in RINGLIST.DAT must be in the root directory of the TFTP server), or remove the line", ring.file),
                    })
                    .auto(fix),
            );
        }
    }

    fn sip2_in_play(&self, default_image: Option<&Named>, os79: Option<&Named>) -> Option<String> {
        if let Some(r) = self
            .opts
            .from
            .iter()
            .find(|r| r.protocol == Protocol::Sip && r.version.major <= 2)
        {
            return Some(format!("phones run SIP {}", r.version));
        }
        for n in [default_image, os79].into_iter().flatten() {
            if let Some(v) = sip_of(&n.image) {
                if v.major <= 2 {
                    return Some(format!("{} names SIP {v}", n.file));
                }
            }
        }
        None
    }

    fn w210(&mut self, cnf: Option<&SipCnf>, default_image: Option<&Named>, os79: Option<&Named>) {
        let Some(file) = self.root.get(SIPDEFAULT) else {
            return;
        };
        if file.size <= W210_LIMIT {
            return;
        }
        let Some(why) = self.sip2_in_play(default_image, os79) else {
            return;
        };
        let name = default_image.map(|n| n.image.clone()).or_else(|| {
            os79.map(|n| n.image.clone())
                .filter(|i| sip_of(i).is_some())
        });
        let minimal = name.as_ref().and_then(|n| {
            let c = SipCnf::from_pairs([("image_version", n.as_str())]).ok()?;
            String::from_utf8(c.to_bytes()).ok()
        });
        let _ = cnf;
        self.push(
            Finding::new(Check::W210, Severity::Error, section::W210)
                .file(SIPDEFAULT)
                .symptom(Symptom::W210BufferFull)
                .problem(format!(
                    "SIPDefault.cnf is {} bytes and {why}: SIP 2.x phones cannot download a SIPDefault.cnf over {W210_LIMIT} bytes",
                    file.size
                ))
                .fix(match &name {
                    Some(n) => format!("make SIPDefault.cnf hold only `image_version: {n}` until the phones have converted, then put your configuration back (--fix keeps the original in the backup)"),
                    None => "make SIPDefault.cnf hold only `image_version: NAME` (the image without .bin) until the phones have converted".into(),
                })
                .auto(minimal.map(|contents| Fix::Rewrite {
                    file: SIPDEFAULT.into(),
                    contents,
                })),
        );
    }

    fn sccp_8_3(&mut self, os79: Option<&Named>, sip_files: bool) {
        let Some(n) = os79 else { return };
        let ImageRef::Load(load) = &n.image else {
            return;
        };
        if load.protocol() == Protocol::Sip || load.fits_8_3() {
            return;
        }
        let max21 = Version::new(2, 1)
            .with_maint(255)
            .with_build(255)
            .with_sr(255);
        let old = self
            .opts
            .from
            .iter()
            .find(|r| r.protocol == Protocol::Sip && r.version <= max21);
        let severity = match (old, self.opts.from.is_empty()) {
            (Some(_), _) => Severity::Error,
            (None, true) if sip_files => Severity::Warning,
            _ => return,
        };
        let who = match old {
            Some(r) => format!("phones run SIP {}", r.version),
            None => "if any phone still runs SIP 2.1 or earlier".into(),
        };
        let a = alias_8_3(load);
        let alias = format!(": copy {load}.bin to {a}.bin and write {a} in OS79XX.TXT");
        self.push(
            Finding::new(Check::SccpName83, if old.is_some() { severity } else { Severity::Warning }, section::NOT_ACCEPTING_SCCP)
                .file(&n.file)
                .line(1)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(format!(
                    "OS79XX.TXT names {load}.bin, longer than DOS 8.3, and {who}: SIP 2.1 and earlier do not accept an SCCP load whose name is longer than eight characters"
                ))
                .fix(format!("upgrade SIP first, then revert to SCCP; or give the load an 8.3 name{alias}")),
        );
    }

    fn downgrade(&mut self, named: &[Named]) {
        let signed: Vec<&Release> = self
            .opts
            .from
            .iter()
            .filter(|r| r.version >= SIGNED_FLOOR)
            .collect();
        let mut seen = BTreeSet::new();
        for n in named {
            let Some(load) = n.image.load() else { continue };
            if load.version() >= SIGNED_FLOOR || !seen.insert(load.as_str().to_string()) {
                continue;
            }
            let (severity, who) = match signed.first() {
                Some(r) => (
                    Severity::Error,
                    format!("phones run {} {}", proto(r.protocol), r.version),
                ),
                None if self.opts.from.is_empty() => {
                    (Severity::Info, "phones already on 5.0 or later".to_string())
                }
                None => continue,
            };
            let mut f = Finding::new(Check::DowngradeBelow5, severity, section::ENABLE_SIP)
                .file(&n.file)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(format!(
                    "{} names {load} ({} {}), below 5.0, and {who}: once on 5.0 or later a phone cannot go back to a release earlier than 5.0",
                    n.file,
                    proto(load.protocol()),
                    load.version()
                ))
                .fix("target a 5.0 or later load for phones already on 5.0 or later");
            if let Some(l) = n.line {
                f = f.line(l);
            }
            if let Some(m) = n.phone {
                f = f.phone(m);
            }
            self.push(f);
        }
    }

    fn gkdefault(&mut self, os79: Option<&Named>, xml: &[Named], named: &[Named]) {
        let sccp_target = os79
            .and_then(|n| n.image.load())
            .filter(|l| l.protocol() == Protocol::Sccp && !l.is_universal_loader())
            .cloned()
            .or_else(|| xml.first().and_then(|n| n.image.load().cloned()))
            .or_else(|| {
                named
                    .iter()
                    .filter_map(|n| n.image.load())
                    .find(|l| l.protocol() == Protocol::Sccp && !l.is_universal_loader())
                    .cloned()
            });
        let Some(target) = sccp_target else { return };
        let sip56 = |v: Version| v.major == 5 || v.major == 6;
        let from = self
            .opts
            .from
            .iter()
            .find(|r| r.protocol == Protocol::Sip && sip56(r.version))
            .map(|r| format!("phones run SIP {}", r.version));
        let hint = if self.opts.from.is_empty() {
            named
                .iter()
                .find(|n| sip_of(&n.image).is_some_and(sip56))
                .and_then(|n| Some(format!("{} names SIP {}", n.file, sip_of(&n.image)?)))
                .or_else(|| {
                    self.root.files().iter().find_map(|f| {
                        let img = f.name.parse::<ImageFile>().ok()?;
                        (img.load.protocol() == Protocol::Sip && sip56(img.load.version())).then(
                            || {
                                format!(
                                    "the root holds the SIP {} image {}",
                                    img.load.version(),
                                    f.name
                                )
                            },
                        )
                    })
                })
        } else {
            None
        };
        let (severity, why) = match (from, hint) {
            (Some(w), _) => (Severity::Error, w),
            (None, Some(w)) => (Severity::Warning, w),
            _ => return,
        };
        if let Some(bytes) = self.root.get(GKDEFAULT).and_then(|f| f.bytes()) {
            self.gkdefault_upgradecode(bytes, &target, severity);
            return;
        }
        if !self.root.other_case(GKDEFAULT).is_empty() {
            return;
        }
        let txt = self.root.has(GKDEFAULT_TXT);
        self.push(
            Finding::new(Check::GkdefaultMissing, severity, section::SIP_5_6_TO_SCCP)
                .file(GKDEFAULT)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(format!(
                    "the root targets SCCP {target} and {why}, but there is no gkdefault.cfg: SIP 5.x/6.x phones reach SCCP only through gkdefault.cfg's upgradecode"
                ))
                .fix(if txt {
                    format!("edit gkdefault.txt's upgradecode to the SCCP image, then run `{CFGFMT_COMMAND}`")
                } else {
                    format!("take gkdefault.txt from the SIP load, point its upgradecode at the SCCP image, then run `{CFGFMT_COMMAND}`")
                }),
        );
    }

    /// A gkdefault.cfg in the `#txt` form must point its upgradecode at
    /// the SCCP image, and that image must be in the root. The binary form
    /// `cfgfmt` writes is not public, so it is taken on trust.
    fn gkdefault_upgradecode(&mut self, bytes: &[u8], target: &LoadName, severity: Severity) {
        if !bytes.starts_with(b"#txt") {
            return;
        }
        let up = match GkDefault::parse(GKDEFAULT, bytes) {
            Ok(g) => g.upgrade().cloned(),
            Err(e) => {
                self.push(
                    Finding::new(
                        Check::GkdefaultWrongImage,
                        severity,
                        section::SIP_5_6_TO_SCCP,
                    )
                    .file(GKDEFAULT)
                    .line(e.line)
                    .symptom(Symptom::KeepsCurrentLoad)
                    .problem(format!("gkdefault.cfg cannot be read: {}", e.problem))
                    .fix(e.fix.clone()),
                );
                return;
            }
        };
        let Some(up) = up else {
            self.push(
                Finding::new(Check::GkdefaultWrongImage, severity, section::SIP_5_6_TO_SCCP)
                    .file(GKDEFAULT)
                    .symptom(Symptom::KeepsCurrentLoad)
                    .problem("gkdefault.cfg has no upgradecode line: the SIP 5.x/6.x phone is not told which SCCP image to load")
                    .fix(format!("add the upgradecode line naming the SCCP image, then run `{CFGFMT_COMMAND}`")),
            );
            return;
        };
        let image = up.image.as_str().to_string();
        let problem = if up.image.protocol != Protocol::Sccp {
            format!(
                "gkdefault.cfg's upgradecode still names the {} image {image}: it must name the SCCP file to load ({target})",
                proto(up.image.protocol)
            )
        } else if !self.root.has(&image) {
            format!("gkdefault.cfg's upgradecode names {image}, which is not in the TFTP root")
        } else {
            return;
        };
        let line = bytes
            .split(|&b| b == b'\n')
            .position(|l| l.trim_ascii_start().starts_with(b"upgradecode:"))
            .map_or(1, |i| i + 1);
        self.push(
            Finding::new(Check::GkdefaultWrongImage, severity, section::SIP_5_6_TO_SCCP)
                .file(GKDEFAULT)
                .line(line)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(problem)
                .fix(format!(
                    "in gkdefault.txt, replace the version code and image name with those of the SCCP image you downloaded, then run `{CFGFMT_COMMAND}`"
                )),
        );
    }

    fn state_error(&mut self, os79: Option<&Named>) {
        let Some(n) = os79 else { return };
        let Some(v) = sip_of(&n.image) else { return };
        if !(v.major == 3 || v.major == 4) {
            return;
        }
        let Some(r) = self
            .opts
            .from
            .iter()
            .find(|r| r.protocol == Protocol::Sccp && r.version < STATE_ERROR_SCCP_BELOW)
        else {
            return;
        };
        self.push(
            Finding::new(Check::StateErrorRisk, Severity::Error, section::ENABLE_SIP)
                .file(&n.file)
                .line(1)
                .symptom(Symptom::StateError)
                .problem(format!(
                    "OS79XX.TXT names SIP {v} and phones run SCCP {}: installing SIP 3.x or 4.x from particularly old SCCP software often fails",
                    r.version
                ))
                .fix("convert to SIP 2.3 first (OS79XX.TXT: POS30203), then to 3.x or later"),
        );
    }

    fn network(&mut self, sip_target: bool, root_wide: bool, per_phone: usize) {
        let opts = self.opts;
        let Some(dhcp) = &opts.dhcp else {
            if let (Some(only), true) = (&opts.only, root_wide) {
                self.push(
                    Finding::new(Check::SharedTftpServer, Severity::Info, section::TFTP_ACCESSIBILITY)
                        .symptom(Symptom::WholeFleetConverts)
                        .problem(format!(
                            "the conversion targets {} phones but OS79XX.TXT/SIPDefault.cnf/XMLDefault.cnf.xml convert every phone that boots from this root",
                            only.len()
                        ))
                        .fix("make sure this root is not on the TFTP server DHCP hands to every phone (give --dhcp-config to check)"),
                );
            }
            return;
        };
        let first_line = |v: &[crate::dhcp_conf::DhcpOption]| v.first().and_then(|o| o.line);
        if sip_target && dhcp.option_66.is_empty() {
            let mut f = Finding::new(Check::DhcpNo66, if dhcp.option_150.is_empty() { Severity::Warning } else { Severity::Error }, section::DHCP)
                .file(&dhcp.source)
                .symptom(Symptom::NoTftpServer)
                .problem(if dhcp.option_150.is_empty() {
                    "the DHCP server hands out neither option 66 nor option 150: phones find a TFTP server only if it is set by hand".to_string()
                } else {
                    "the DHCP server hands out option 150 but not option 66: Cisco CallManager uses option 150, SIP phones expect option 66 for the TFTP server".to_string()
                })
                .fix("add option 66 with the TFTP server's address (`phoneflip dhcp config --for isc|kea|dnsmasq|ios --tftp ADDR`), or set each phone's Alternate TFTP Server");
            if let Some(l) = first_line(&dhcp.option_150) {
                f = f.line(l);
            }
            self.push(f);
        }
        let addrs = dhcp.tftp_addresses();
        let same_server = match opts.tftp_address {
            Some(a) => addrs.contains(&a),
            None => !addrs.is_empty(),
        };
        let partial = opts
            .only
            .as_ref()
            .map(|o| o.len())
            .or((per_phone > 0).then_some(per_phone));
        if root_wide && same_server && dhcp.hands_to_every_phone() {
            if let Some(n) = partial {
                let server = match opts.tftp_address {
                    Some(a) => a.to_string(),
                    None => addrs
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                self.push(
                    Finding::new(Check::SharedTftpServer, Severity::Warning, section::TFTP_ACCESSIBILITY)
                        .file(&dhcp.source)
                        .symptom(Symptom::WholeFleetConverts)
                        .problem(format!(
                            "DHCP hands {server} to every phone, and this root's OS79XX.TXT/SIPDefault.cnf/XMLDefault.cnf.xml name a load: every phone that boots converts, not only the {n} phones this conversion is for"
                        ))
                        .fix("use a different TFTP server than the one listed on the DHCP server and set it as Alternate TFTP Server on the phones to convert, or scope the DHCP options to those phones (`phoneflip dhcp config --mac …`)"),
                );
            }
        }
    }
}

/// The name an `OS79XX.TXT` should hold, when its defects are only
/// mechanical (extension, case, whitespace, CR, blank lines): `None` when
/// fixing it needs a decision.
pub fn clean_os79xx(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.is_ascii() {
        return None;
    }
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|l| !l.is_empty())
        .collect();
    let [name] = lines.as_slice() else {
        return None;
    };
    let mut name = name.to_string();
    if let Some((stem, ext)) = name.rsplit_once('.') {
        if ImageKind::from_ext(&ext.to_ascii_lowercase()).is_some() {
            name = stem.to_string();
        }
    }
    if name.parse::<ImageRef>().is_err() {
        let upper = name.to_ascii_uppercase();
        upper.parse::<ImageRef>().ok()?;
        name = upper;
    }
    Some(name)
}
