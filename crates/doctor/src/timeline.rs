//! A TFTP log as one timeline per phone, and the patterns in it that the
//! reference (and the domain facts) explain.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use phoneflip_config::filename::{image_extension, mac_in, OS79XX_TXT};
use phoneflip_config::FileKind;
use phoneflip_device::Mac;
use phoneflip_firmware::{ImageKind, Release};
use serde::Serialize;

use crate::finding::{section, Check, Finding, Severity, Symptom};
use crate::log::{format_time, format_time_no_year, ParsedLog, Transfer, TransferOutcome};
use crate::root::Root;

/// The requests of one client, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub client: IpAddr,
    /// From a per-phone file name the client asked for.
    pub mac: Option<Mac>,
    pub transfers: Vec<Transfer>,
}

/// The requested name without the `./` the SIP 8.x application prepends.
pub fn normalized(file: &str) -> &str {
    file.trim_start_matches("./").trim_start_matches('/')
}

/// Groups transfers by client address, in order of first appearance.
pub fn timelines(log: &ParsedLog) -> Vec<Timeline> {
    let mut order: Vec<IpAddr> = Vec::new();
    let mut by: BTreeMap<IpAddr, Vec<Transfer>> = BTreeMap::new();
    for t in &log.transfers {
        if !by.contains_key(&t.client) {
            order.push(t.client);
        }
        by.entry(t.client).or_default().push(t.clone());
    }
    order
        .into_iter()
        .map(|client| {
            let transfers = by.remove(&client).unwrap_or_default();
            let mac = transfers.iter().find_map(|t| mac_in(normalized(&t.file)));
            Timeline {
                client,
                mac,
                transfers,
            }
        })
        .collect()
}

fn is_image(file: &str) -> bool {
    image_extension(file).is_some()
}

fn outcome_text(o: &Option<TransferOutcome>) -> String {
    match o {
        None => "requested".into(),
        Some(TransferOutcome::Success) => "Successful".into(),
        Some(TransferOutcome::NotFound) => "Failed ( File not found )".into(),
        Some(TransferOutcome::Failed(r)) => format!("Failed ( {r} )"),
    }
}

/// One line per request: time, file, result.
pub fn render_timeline(t: &Timeline) -> String {
    let mut o = String::new();
    let who = match t.mac {
        Some(m) => format!("{} ({m})", t.client),
        None => t.client.to_string(),
    };
    let _ = writeln!(o, "{who}: {} requests", t.transfers.len());
    for tr in &t.transfers {
        let time = match tr.at {
            Some(t) if tr.has_year => format_time(t),
            Some(t) => format_time_no_year(t),
            None => "?".into(),
        };
        let _ = writeln!(o, "  {time}  {:<28} {}", tr.file, outcome_text(&tr.outcome));
    }
    o
}

struct Diag<'a> {
    log: &'a str,
    t: &'a Timeline,
    root: Option<&'a Root>,
    out: Vec<Finding>,
}

impl Diag<'_> {
    fn finding(&self, check: Check, severity: Severity, sec: &'static str, line: usize) -> Finding {
        let mut f = Finding::new(check, severity, sec)
            .file(self.log)
            .line(line)
            .client(self.t.client);
        if let Some(m) = self.t.mac {
            f = f.phone(m);
        }
        f
    }

    /// What the root says about a file the phone could not get.
    fn in_root(&self, file: &str) -> String {
        let Some(root) = self.root else {
            // The server may have said it (phoneflip's does).
            return self
                .t
                .transfers
                .iter()
                .filter(|t| normalized(&t.file) == file)
                .find_map(|t| t.note.as_ref())
                .map(|n| format!(" (the server noted: {n})"))
                .unwrap_or_default();
        };
        if root.has(file) {
            return format!(" ({file} is in the root now)");
        }
        match root.other_case(file).first() {
            Some(f) => format!(
                " (the root has it as {}: the names are case sensitive, rename it to {file})",
                f.name
            ),
            None => format!(" ({file} is not in the root)"),
        }
    }
}

/// Names the patterns in each phone's timeline.
pub fn diagnose(log_name: &str, timelines: &[Timeline], root: Option<&Root>) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in timelines {
        let mut d = Diag {
            log: log_name,
            t,
            root,
            out: Vec::new(),
        };
        d.patterns();
        out.append(&mut d.out);
    }
    out
}

impl Diag<'_> {
    fn patterns(&mut self) {
        let t = self.t;
        let who = match t.mac {
            Some(m) => format!("the phone at {} ({m})", t.client),
            None => format!("the phone at {}", t.client),
        };
        let mut by_file: BTreeMap<&str, Vec<&Transfer>> = BTreeMap::new();
        for tr in &t.transfers {
            by_file.entry(normalized(&tr.file)).or_default().push(tr);
        }
        for (&file, trs) in &by_file {
            let first = trs[0].line;
            let state: Vec<&&Transfer> = trs
                .iter()
                .filter(|tr| matches!(&tr.outcome, Some(TransferOutcome::Failed(r)) if r.contains("State Error")))
                .collect();
            let kind = FileKind::of(file);
            let sip_3_4 = kind.image().filter(|i| {
                phoneflip_plan::state_error_image(&Release::new(
                    i.load.protocol(),
                    i.load.version(),
                ))
            });
            if state.len() >= 2 {
                if let Some(img) = sip_3_4 {
                    let f = self
                        .finding(Check::LogStateError, Severity::Error, section::ENABLE_SIP, state[0].line)
                        .symptom(Symptom::StateError)
                        .problem(format!(
                            "{who} failed to load {file} (SIP {}) {} times with Failed ( State Error ): the installation of SIP 3.x or 4.x fails from particularly old SCCP software",
                            img.load.version(),
                            state.len()
                        ))
                        .fix("convert to SIP image 2.3 first (OS79XX.TXT: POS30203, with POS30203.bin in the root), then move to 3.x");
                    self.out.push(f);
                    continue;
                }
            }
            let failed = trs
                .iter()
                .filter(|tr| matches!(tr.outcome, Some(TransferOutcome::Failed(_))))
                .count();
            if failed >= 2 {
                let f = self
                    .finding(Check::LogTransferErrors, Severity::Warning, section::TROUBLESHOOTING_TIPS, first)
                    .problem(format!("{who} failed to fetch {file} {failed} times"))
                    .fix("check the file and the network path to the TFTP server; run a sniffer capture or use the phone's console port");
                self.out.push(f);
            }
            let not_found = trs
                .iter()
                .filter(|tr| tr.outcome == Some(TransferOutcome::NotFound))
                .count();
            let success = trs
                .iter()
                .any(|tr| tr.outcome == Some(TransferOutcome::Success));
            let sip_cnf = matches!(kind, FileKind::SipMac(_));
            if sip_cnf && trs.len() >= 3 && !success && (not_found > 0 || every_30s(trs)) {
                let f = self
                    .finding(Check::LogConfigMissing, Severity::Error, section::ENABLE_SIP, first)
                    .symptom(Symptom::ConfigNotFound)
                    .problem(format!(
                        "{who} asked for {file} {} times{} without getting it: its configuration file is missing{}",
                        trs.len(),
                        if every_30s(trs) { ", about every 30 s," } else { "" },
                        self.in_root(file)
                    ))
                    .fix(format!("create {file} (SIP, the MAC in capital letters, .cnf in lower case) in the TFTP root"));
                self.out.push(f);
                continue;
            }
            if not_found > 0 && (is_image(file) || file.chars().any(|c| c.is_whitespace())) {
                let whitespace = file.contains([' ', '\r', '\t']);
                let f = if whitespace {
                    self.finding(Check::LogNameWhitespace, Severity::Error, section::UNPROVISIONED, first)
                        .symptom(Symptom::Unprovisioned)
                        .problem(format!("{who} asked for {file:?}: the name holds whitespace or a CR, which comes from OS79XX.TXT (Cisco bug CSCdv19260)"))
                        .fix("remove the trailing space or CR from OS79XX.TXT (`phoneflip doctor ROOT --fix`)")
                } else {
                    self.finding(Check::LogImageMissing, Severity::Error, section::PROTOCOL_APPLICATION_INVALID, first)
                        .symptom(Symptom::ProtocolApplicationInvalid)
                        .problem(format!("{who} asked for the image {file}, which the server did not have{}", self.in_root(file)))
                        .fix(format!("unzip the release holding {file} into the TFTP root, or correct the name in OS79XX.TXT / the configuration files"))
                };
                self.out.push(f);
                continue;
            }
            if kind == FileKind::Os79xx && not_found > 0 {
                let f = self
                    .finding(Check::LogFileMissing, Severity::Warning, section::ENABLE_SIP, first)
                    .symptom(Symptom::KeepsCurrentLoad)
                    .problem(format!("{who} asked for OS79XX.TXT and the server did not have it: a phone on an older load then keeps it{}", self.in_root(file)))
                    .fix("create OS79XX.TXT holding only the name of the image to load, without .bin");
                self.out.push(f);
            }
        }
        self.boot_loop(&who);
    }

    /// OS79XX.TXT and an image fetched over and over: the phone cannot
    /// install what it is given.
    fn boot_loop(&mut self, who: &str) {
        let trs = &self.t.transfers;
        let mut cycles = 0;
        let mut first_line = None;
        let mut image = None;
        let mut seen_os79 = false;
        for tr in trs {
            let f = normalized(&tr.file);
            if f == OS79XX_TXT {
                seen_os79 = true;
            } else if seen_os79 && is_image(f) && tr.outcome != Some(TransferOutcome::NotFound) {
                cycles += 1;
                seen_os79 = false;
                first_line.get_or_insert(tr.line);
                image = Some(f.to_string());
            }
        }
        let looping_loads = {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for tr in trs {
                let f = normalized(&tr.file);
                if image_extension(f) == Some(ImageKind::Loads)
                    && tr.outcome != Some(TransferOutcome::NotFound)
                {
                    *counts.entry(f).or_default() += 1;
                }
            }
            counts.into_iter().find(|(_, n)| *n >= 3)
        };
        let (what, n, line) = if cycles >= 3 {
            (
                format!("OS79XX.TXT and {}", image.unwrap_or_default()),
                cycles,
                first_line.unwrap_or(0),
            )
        } else if let Some((f, n)) = looping_loads {
            let line = trs
                .iter()
                .find(|t| normalized(&t.file) == f)
                .map_or(0, |t| t.line);
            (f.to_string(), n, line)
        } else {
            return;
        };
        let f = self
            .finding(Check::LogBootLoop, Severity::Error, section::PROTOCOL_APPLICATION_INVALID, line)
            .symptom(Symptom::ProtocolApplicationInvalid)
            .problem(format!(
                "{who} fetched {what} {n} times: it loops without installing the image, which ends in Protocol Application Invalid (or the Unprovisioned state when OS79XX.TXT's syntax is wrong)"
            ))
            .fix("check OS79XX.TXT (only the name, right form for the version, no .bin, no whitespace) and that the release was unzipped rather than copied: run `phoneflip doctor ROOT`");
        self.out.push(f);
    }
}

/// Requests about 30 s apart (20–45 s), as a SIP application re-requests
/// a `SIP<MAC>.cnf` it cannot get.
fn every_30s(trs: &[&Transfer]) -> bool {
    let times: Vec<i64> = trs.iter().filter_map(|t| t.at).collect();
    if times.len() < 3 {
        return false;
    }
    times.windows(2).all(|w| (20..=45).contains(&(w[1] - w[0])))
}
