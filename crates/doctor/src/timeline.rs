//! A TFTP log as one timeline per phone, and the patterns in it that the
//! reference (and the domain facts) explain.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use phoneflip_config::filename::{image_extension, mac_in, OS79XX_TXT};
use phoneflip_config::FileKind;
use phoneflip_device::Mac;
use phoneflip_firmware::{ImageKind, Release};
use phoneflip_inventory::Outcome;
use phoneflip_provision::{image_role, ImageRole, LoadEvidence};
use serde::Serialize;

use crate::finding::{section, Check, Finding, Severity, Symptom};
use crate::log::{format_time, format_time_no_year, ParsedLog, Transfer, TransferOutcome};
use crate::root::Root;

/// The requests of one client, in log order, and what they add up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// The address of its first request.
    pub client: IpAddr,
    /// Addresses it used later (a new DHCP lease).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_addresses: Vec<IpAddr>,
    /// From a per-phone file name the client asked for.
    pub mac: Option<Mac>,
    /// The last load the phone is seen to boot into, by the request
    /// pipeline's evidence rule (an application fetched, then its
    /// protocol's files asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<String>,
    /// The patterns the requests form, normal ones included.
    pub patterns: Vec<Pattern>,
    /// One entry per attempt: a request resent from the same port is
    /// merged into it ([`Transfer::resent`]).
    pub transfers: Vec<Transfer>,
}

/// A shape a phone's requests take, named as the reference and the domain
/// facts name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "pattern", rename_all = "snake_case")]
pub enum Pattern {
    /// The universal application loader's upgrade: `.loads`, the loader,
    /// reboot, `.loads`, the application, reboot. Normal: the `.loads`
    /// index is fetched at every stage.
    TwoStageUpgrade {
        loader: String,
        application: String,
        /// The application was then seen asking for its own files.
        booted: bool,
    },
    /// `SIP<MAC>.cnf` asked for about every 30 s without getting it: the
    /// SIP application cannot get its file and never registers.
    ConfigMissing { file: String, times: usize },
    /// The same image fetched again and again and never booted: the phone
    /// refuses it, or the transfer fails (State Error).
    ImageRefused {
        file: String,
        times: usize,
        state_error: bool,
    },
    /// OS79XX.TXT and the image it names, over and over.
    BootLoop { image: String, times: usize },
    /// A request resent from the same source port: no answer the phone
    /// accepted came back.
    Unanswered { file: String, resent: usize },
}

impl Pattern {
    /// The pattern's name, as `doctor --log` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Pattern::TwoStageUpgrade { .. } => "two-stage upgrade",
            Pattern::ConfigMissing { .. } => "missing file",
            Pattern::ImageRefused {
                state_error: true, ..
            } => "State Error",
            Pattern::ImageRefused { .. } => "image refused",
            Pattern::BootLoop { .. } => "boot loop",
            Pattern::Unanswered { .. } => "unanswered requests",
        }
    }

    /// Whether nothing is wrong.
    pub fn is_normal(&self) -> bool {
        matches!(self, Pattern::TwoStageUpgrade { .. })
    }

    /// The name with its details, for one line of a summary.
    pub fn describe(&self) -> String {
        match self {
            Pattern::TwoStageUpgrade {
                loader,
                application,
                booted,
            } => format!(
                "{}: {loader}, reboot, {application}{} (normal)",
                self.name(),
                if *booted {
                    ", reboot, running"
                } else {
                    ", not yet seen running"
                }
            ),
            Pattern::ConfigMissing { file, times } => {
                format!(
                    "{}: {file} asked for {times} times, about every 30 s",
                    self.name()
                )
            }
            Pattern::ImageRefused { file, times, .. } => {
                format!(
                    "{}: {file} fetched {times} times, never booted",
                    self.name()
                )
            }
            Pattern::BootLoop { image, times } => {
                format!("{}: OS79XX.TXT and {image} {times} times", self.name())
            }
            Pattern::Unanswered { file, resent } => {
                format!(
                    "{}: {file} resent {resent} times from the same port",
                    self.name()
                )
            }
        }
    }
}

/// The requested name without the `./` the SIP 8.x application prepends.
pub fn normalized(file: &str) -> &str {
    file.trim_start_matches("./").trim_start_matches('/')
}

/// A phone resends an unanswered request every 4 s from the same port
/// (domain facts); a gap this long or longer is a new attempt.
const RESEND_GAP: i64 = 6;

/// Groups transfers per phone, in order of first appearance, merges
/// resent requests into their attempt and names the patterns.
///
/// A phone is known by the MAC in the per-phone names it asks for; an
/// address is only a lease. So each address's requests are cut where the
/// MAC changes (an address handed to another phone), requests naming no
/// MAC stay with the phone around them, and the pieces of one MAC from
/// several addresses make one timeline.
pub fn timelines(log: &ParsedLog) -> Vec<Timeline> {
    // Per address, the pieces: (MAC, transfers).
    type Piece<'a> = (Option<Mac>, Vec<&'a Transfer>);
    let mut per_ip: BTreeMap<IpAddr, Vec<Piece>> = BTreeMap::new();
    for t in &log.transfers {
        let pieces = per_ip.entry(t.client).or_default();
        let mac = mac_in(normalized(&t.file));
        match (pieces.last_mut(), mac) {
            (Some((cur @ None, list)), Some(m)) => {
                *cur = Some(m);
                list.push(t);
            }
            (Some((Some(cur), list)), Some(m)) if *cur == m => list.push(t),
            (Some((_, list)), None) => list.push(t),
            _ => pieces.push((mac, vec![t])),
        }
    }
    // Merge by MAC (or keep per address when no MAC is known).
    #[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
    enum Key {
        Mac(Mac),
        Ip(IpAddr),
    }
    let mut groups: BTreeMap<Key, Vec<&Transfer>> = BTreeMap::new();
    for (ip, pieces) in per_ip {
        for (mac, list) in pieces {
            let key = mac.map_or(Key::Ip(ip), Key::Mac);
            groups.entry(key).or_default().extend(list);
        }
    }
    let mut out: Vec<Timeline> = groups
        .into_iter()
        .map(|(key, mut list)| {
            list.sort_by_key(|t| t.line);
            let transfers = merge_resent(&list);
            let mac = match key {
                Key::Mac(m) => Some(m),
                Key::Ip(_) => None,
            };
            let client = transfers[0].client;
            let mut other_addresses: Vec<IpAddr> = Vec::new();
            for t in &transfers {
                if t.client != client && !other_addresses.contains(&t.client) {
                    other_addresses.push(t.client);
                }
            }
            let (runs, patterns) = patterns(&transfers);
            Timeline {
                client,
                other_addresses,
                mac,
                runs,
                patterns,
                transfers,
            }
        })
        .collect();
    out.sort_by_key(|t| t.transfers[0].line);
    out
}

/// One entry per attempt: a request resent from the same port seconds
/// later is counted on the first.
fn merge_resent(list: &[&Transfer]) -> Vec<Transfer> {
    let mut out: Vec<Transfer> = Vec::with_capacity(list.len());
    for &t in list {
        if let Some(prev) = out
            .iter_mut()
            .rev()
            .find(|p| p.file == t.file && p.client == t.client)
            .filter(|p| is_resend(p, t))
        {
            prev.resent += 1;
            prev.at = t.at.or(prev.at);
            if t.outcome.is_some() && !matches!(prev.outcome, Some(TransferOutcome::Failed(_))) {
                prev.outcome = t.outcome.clone();
            }
            continue;
        }
        out.push(t.clone());
    }
    out
}

/// `t` repeats `prev`: same port, seconds later, `prev` not answered.
fn is_resend(prev: &Transfer, t: &Transfer) -> bool {
    let (Some(a), Some(b)) = (prev.port, t.port) else {
        return false;
    };
    let close = match (prev.at, t.at) {
        (Some(x), Some(y)) => (0..RESEND_GAP).contains(&(y - x)),
        _ => false,
    };
    a == b && close && prev.outcome != Some(TransferOutcome::Success)
}

/// The provision crate's view of how a request ended.
fn evidence_outcome(o: &Option<TransferOutcome>) -> Outcome {
    match o {
        Some(TransferOutcome::NotFound) => Outcome::NotFound,
        Some(TransferOutcome::Failed(_)) => Outcome::Aborted,
        // A log that does not say (tftpd-hpa without NAKs, the corpus
        // log's "finished"): the phone moving on is the evidence.
        Some(TransferOutcome::Success) | Some(TransferOutcome::Ended) | None => Outcome::Sent,
    }
}

fn got(o: &Option<TransferOutcome>) -> bool {
    o.as_ref() != Some(&TransferOutcome::NotFound)
}

/// The load the phone boots into last, and the patterns of its requests.
fn patterns(trs: &[Transfer]) -> (Option<String>, Vec<Pattern>) {
    let mut out = Vec::new();
    let mut evidence = LoadEvidence::default();
    let mut runs: Option<String> = None;
    let mut booted: BTreeSet<String> = BTreeSet::new();
    // (line, load): where the phone was seen booted into a load.
    let mut booted_after: Vec<(usize, String)> = Vec::new();
    let mut loader: Option<String> = None;
    let mut upgrades: Vec<(String, String)> = Vec::new();
    for tr in trs {
        let kind = FileKind::of(normalized(&tr.file));
        if let FileKind::Image(img) = &kind {
            if got(&tr.outcome) {
                match image_role(img) {
                    ImageRole::Loader => loader = Some(img.load.to_string()),
                    ImageRole::Application if img.kind == ImageKind::Sb2 => {
                        if let Some(l) = loader.take() {
                            let pair = (l, img.load.to_string());
                            if !upgrades.contains(&pair) {
                                upgrades.push(pair);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(load) = evidence.see(&kind, evidence_outcome(&tr.outcome)) {
            booted.insert(load.to_string());
            booted_after.push((tr.line, load.to_string()));
            runs = Some(load.to_string());
        }
    }
    for (loader, application) in upgrades {
        let booted = booted.contains(&application);
        out.push(Pattern::TwoStageUpgrade {
            loader,
            application,
            booted,
        });
    }

    let mut by_file: BTreeMap<&str, Vec<&Transfer>> = BTreeMap::new();
    for tr in trs {
        by_file.entry(normalized(&tr.file)).or_default().push(tr);
    }
    for (&file, list) in &by_file {
        let kind = FileKind::of(file);
        if let FileKind::SipMac(_) = kind {
            if let Some(times) = config_missing(trs, list) {
                out.push(Pattern::ConfigMissing {
                    file: file.to_string(),
                    times,
                });
            }
        }
        if let FileKind::Image(img) = &kind {
            let fetched: Vec<&&Transfer> = list.iter().filter(|t| got(&t.outcome)).collect();
            let wasted = wasted_fetches(trs, file, image_role(img), &booted_after);
            // Two State Errors already name the reference's pattern.
            let state_error = fetched
                .iter()
                .filter(|t| matches!(&t.outcome, Some(TransferOutcome::Failed(r)) if r.contains("State Error")))
                .count()
                >= 2;
            if img.kind != ImageKind::Loads && (wasted >= 3 || state_error) {
                let cycles = os79xx_cycles(trs, file);
                if cycles >= 3 && !state_error {
                    out.push(Pattern::BootLoop {
                        image: file.to_string(),
                        times: cycles,
                    });
                } else {
                    out.push(Pattern::ImageRefused {
                        file: file.to_string(),
                        times: wasted.max(fetched.len()),
                        state_error,
                    });
                }
            }
        }
        let resent: usize = list.iter().map(|t| t.resent).sum();
        if list.iter().any(|t| t.resent >= 2) {
            out.push(Pattern::Unanswered {
                file: file.to_string(),
                resent,
            });
        }
    }
    (runs, out)
}

/// How many fetches of `image` led nowhere before the next fetch of it (or
/// the end of the log): a loader not followed by an application image, an
/// application (or original-boot image) not followed by the phone booting
/// its load.
fn wasted_fetches(
    trs: &[Transfer],
    image: &str,
    role: ImageRole,
    booted_after: &[(usize, String)],
) -> usize {
    let fetches: Vec<&Transfer> = trs
        .iter()
        .filter(|t| normalized(&t.file) == image && got(&t.outcome))
        .collect();
    let load = FileKind::of(image).image().map(|i| i.load.to_string());
    let mut wasted = 0;
    for (i, f) in fetches.iter().enumerate() {
        let until = fetches.get(i + 1).map_or(usize::MAX, |n| n.line);
        let progressed = match role {
            ImageRole::Loader => trs.iter().any(|t| {
                t.line > f.line
                    && t.line < until
                    && got(&t.outcome)
                    && matches!(FileKind::of(normalized(&t.file)), FileKind::Image(ref i) if image_role(i) == ImageRole::Application)
            }),
            _ => booted_after
                .iter()
                .any(|(l, b)| *l > f.line && *l < until && Some(b) == load.as_ref()),
        };
        if !progressed {
            wasted += 1;
        }
    }
    wasted
}

/// How many times OS79XX.TXT was followed by `image`.
fn os79xx_cycles(trs: &[Transfer], image: &str) -> usize {
    let mut cycles = 0;
    let mut seen_os79 = false;
    for tr in trs {
        let f = normalized(&tr.file);
        if f == OS79XX_TXT {
            seen_os79 = true;
        } else if seen_os79 && f == image && got(&tr.outcome) {
            cycles += 1;
            seen_os79 = false;
        }
    }
    cycles
}

/// `SIP<MAC>.cnf` asked for at least three times without success: answered
/// "not found", or about every 30 s (20–45 s apart) with the phone never
/// going on to RINGLIST.DAT or the dial plan. Returns how many times.
fn config_missing(all: &[Transfer], list: &[&Transfer]) -> Option<usize> {
    if list.len() < 3
        || list
            .iter()
            .any(|t| t.outcome == Some(TransferOutcome::Success))
    {
        return None;
    }
    if list
        .iter()
        .any(|t| t.outcome == Some(TransferOutcome::NotFound))
    {
        return Some(list.len());
    }
    // The longest run of requests about 30 s apart.
    let mut best = 1;
    let mut run = 1;
    let mut run_start = list[0].line;
    let mut best_start = run_start;
    for w in list.windows(2) {
        let spaced = match (w[0].at, w[1].at) {
            (Some(a), Some(b)) => (20..=45).contains(&(b - a)),
            _ => false,
        };
        if spaced {
            run += 1;
        } else {
            run = 1;
            run_start = w[1].line;
        }
        if run > best {
            best = run;
            best_start = run_start;
        }
    }
    if best < 3 {
        return None;
    }
    let went_on = all.iter().any(|t| {
        t.line > best_start
            && matches!(
                FileKind::of(normalized(&t.file)),
                FileKind::RingList | FileKind::DialPlan
            )
            && t.outcome == Some(TransferOutcome::Success)
    });
    (!went_on).then_some(best)
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
        Some(TransferOutcome::Ended) => "finished (the log does not say how)".into(),
    }
}

fn who_line(t: &Timeline) -> String {
    match t.mac {
        Some(m) => format!("{} ({m})", t.client),
        None => t.client.to_string(),
    }
}

/// One line per phone: who, what it runs, and its patterns by name.
pub fn render_summary(timelines: &[Timeline]) -> String {
    let mut o = String::new();
    for t in timelines {
        let mut parts: Vec<String> = Vec::new();
        if let Some(r) = &t.runs {
            parts.push(format!("runs {r}"));
        }
        parts.extend(t.patterns.iter().map(Pattern::describe));
        if t.patterns.is_empty() {
            parts.push("no pattern".into());
        }
        let _ = writeln!(
            o,
            "{}: {} requests; {}",
            who_line(t),
            t.transfers.len(),
            parts.join("; ")
        );
    }
    o
}

/// One line per request: time, file, result.
pub fn render_timeline(t: &Timeline) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}: {} requests", who_line(t), t.transfers.len());
    for p in &t.patterns {
        let _ = writeln!(o, "  pattern: {}", p.describe());
    }
    for tr in &t.transfers {
        let time = match tr.at {
            Some(t) if tr.has_year => format_time(t),
            Some(t) => format_time_no_year(t),
            None => "?".into(),
        };
        let resent = if tr.resent > 0 {
            format!(" (resent {} times)", tr.resent)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  {time}  {:<28} {}{resent}",
            tr.file,
            outcome_text(&tr.outcome)
        );
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

    /// The first line of the log that asked for `file`.
    fn first_line(&self, file: &str) -> usize {
        self.t
            .transfers
            .iter()
            .find(|t| normalized(&t.file) == file)
            .map_or(0, |t| t.line)
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

/// Names the patterns in each phone's timeline that need a fix; the normal
/// ones (a two-stage upgrade) give no finding.
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
        // Files a pattern already explains get no second finding.
        let mut explained: BTreeSet<&str> = BTreeSet::new();
        let mut unanswered: Option<(&str, usize)> = None;
        for p in &t.patterns {
            match p {
                Pattern::TwoStageUpgrade { .. } => {}
                Pattern::ConfigMissing { file, times } => {
                    explained.insert(file);
                    let f = self
                        .finding(Check::LogConfigMissing, Severity::Error, section::ENABLE_SIP, self.first_line(file))
                        .symptom(Symptom::ConfigNotFound)
                        .problem(format!(
                            "{who} asked for {file} {times} times, about every 30 s, without getting it: its configuration file is missing, so the SIP application never goes on to RINGLIST.DAT or the dial plan and never registers{}",
                            self.in_root(file)
                        ))
                        .fix(format!("create {file} (SIP, the MAC in capital letters, .cnf in lower case) in the TFTP root"));
                    self.out.push(f);
                }
                Pattern::ImageRefused {
                    file,
                    times,
                    state_error,
                } => {
                    explained.insert(file);
                    let img = FileKind::of(file).image().cloned();
                    let sip_3_4 = img.as_ref().is_some_and(|i| {
                        phoneflip_plan::state_error_image(&Release::new(
                            i.load.protocol(),
                            i.load.version(),
                        ))
                    });
                    let line = self.first_line(file);
                    let f = if *state_error && sip_3_4 {
                        let v = img
                            .map(|i| i.load.version().to_string())
                            .unwrap_or_default();
                        self.finding(Check::LogStateError, Severity::Error, section::ENABLE_SIP, line)
                            .symptom(Symptom::StateError)
                            .problem(format!(
                                "{who} failed to load {file} (SIP {v}) {times} times with Failed ( State Error ): the installation of SIP 3.x or 4.x fails from particularly old SCCP software"
                            ))
                            .fix("convert to SIP image 2.3 first (OS79XX.TXT: POS30203, with POS30203.bin in the root), then move to 3.x")
                    } else {
                        let signed = image_extension(file).is_some_and(|k| k != ImageKind::Bin);
                        self.finding(Check::LogImageRefused, Severity::Error, if signed { section::IMAGE_AUTHENTICATION } else { section::PROTOCOL_APPLICATION_INVALID }, line)
                            .symptom(if *state_error {
                                Symptom::StateError
                            } else if signed {
                                Symptom::ImageAuthenticationFailed
                            } else {
                                Symptom::ProtocolApplicationInvalid
                            })
                            .problem(format!(
                                "{who} fetched {file} {times} times and never booted it: {}{}",
                                if *state_error {
                                    "the transfer fails with State Error every time"
                                } else {
                                    "the phone refuses the image (a damaged or truncated copy fails its check) or the transfer breaks off"
                                },
                                self.in_root(file)
                            ))
                            .fix(format!("extract {file} from the vendor ZIP file again, in binary mode, and compare its size with the zip's; run `phoneflip doctor ROOT`"))
                    };
                    self.out.push(f);
                }
                Pattern::BootLoop { image, times } => {
                    explained.insert(image);
                    let f = self
                        .finding(Check::LogBootLoop, Severity::Error, section::PROTOCOL_APPLICATION_INVALID, self.first_line(image))
                        .symptom(Symptom::ProtocolApplicationInvalid)
                        .problem(format!(
                            "{who} fetched OS79XX.TXT and {image} {times} times: it loops without installing the image, which ends in Protocol Application Invalid (or the Unprovisioned state when OS79XX.TXT's syntax is wrong)"
                        ))
                        .fix("check OS79XX.TXT (only the name, right form for the version, no .bin, no whitespace) and that the release was unzipped rather than copied: run `phoneflip doctor ROOT`");
                    self.out.push(f);
                }
                Pattern::Unanswered { file, resent } => {
                    if unanswered.is_none_or(|(_, n)| *resent > n) {
                        unanswered = Some((file, *resent));
                    }
                }
            }
        }
        if let Some((file, resent)) = unanswered {
            let f = self
                .finding(Check::LogUnanswered, Severity::Warning, section::TROUBLESHOOTING_TIPS, self.first_line(file))
                .problem(format!(
                    "{who} resent its request for {file} {resent} times from the same port, 4 s apart: no answer it accepted came back, and each file it hunts for costs it about 20 s"
                ))
                .fix("answer a missing file with TFTP error 1 (File not found) at once, from the server's own port; check that no firewall drops the replies (run a sniffer capture)");
            self.out.push(f);
        }

        let mut by_file: BTreeMap<&str, Vec<&Transfer>> = BTreeMap::new();
        for tr in &t.transfers {
            by_file.entry(normalized(&tr.file)).or_default().push(tr);
        }
        for (&file, trs) in &by_file {
            if explained.contains(file) {
                continue;
            }
            let first = trs[0].line;
            let kind = FileKind::of(file);
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
    }
}
