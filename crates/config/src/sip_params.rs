//! What each SIP release from 1.x to 8.12 understands: the parameter table
//! and the validation of a file against the load that will read it.
//!
//! Sources: Cisco's sample SIPDefaultGeneric.cnf and SIPConfigGeneric.cnf
//! (their "New Parameters added in Release X" sections give the release,
//! their comments the ranges and defaults; real copies are in the corpus,
//! `dbaldree/SIPDefault.cnf` and `dbaldree/SIP0014638ADF5E.cnf`), the
//! release notes as summarised in domain-facts.md, and the parameter
//! appendix of Cisco's SIP administration guides (6.x/7.x, 8.x). Where a
//! range is not established the type is kept loose (any text, any
//! non-negative number) rather than invented, so that phoneflip never
//! refuses a value a phone would take.
//!
//! Differences from domain-facts.md, noted: it lists `phone_label` and
//! `lineN_displayname` without a release; Cisco's SIPConfigGeneric.cnf
//! puts both under "New Parameters added in Release 2.0", which is what the
//! table says. Rows whose first release the sources do not pin down
//! (`since_known: false`) carry the release of the oldest administration
//! guide known to document them; a phone on an older load is then warned
//! about them, not refused.

use std::fmt;

use phoneflip_device::Model;
use phoneflip_firmware::{LoadName, Protocol, Version};

use crate::image_ref::ImageRef;
use crate::sipcnf::SipCnf;

/// The shape of a parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Any text, including empty.
    Text,
    /// A load name (or its 8.3 alias), as in `image_version`.
    Load,
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// A non-negative integer whose upper bound is not established.
    Uint,
    /// `0` or `1`.
    Bool,
    /// One of the listed words (case-insensitive).
    Choice(&'static [&'static str]),
    /// A month: 1–12 or its English name or three-letter abbreviation.
    Month,
    /// A weekday: 1–7 or its English name or three-letter abbreviation.
    DayOfWeek,
    /// A UDP port, 1–65535.
    Port,
    /// Text of at most `max` characters (phone_prompt, phone_password).
    Chars { max: usize },
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The name; per-line parameters are written `lineN_name`.
    pub name: &'static str,
    pub ty: ParamType,
    pub default: Option<&'static str>,
    /// The first SIP release that reads it.
    pub since: Version,
    /// `lineN_…` (or `proxyN_…`): one per line button, N from 1 to the
    /// model's line count.
    pub per_line: bool,
    /// Whether `since` is the release that introduced it (from a "New
    /// Parameters added in Release" section or release notes), rather than
    /// the oldest guide known to document it.
    pub since_known: bool,
}

const fn v(major: u8, minor: u8) -> Version {
    Version::new(major, minor)
}

const fn p(
    name: &'static str,
    ty: ParamType,
    default: Option<&'static str>,
    since: Version,
) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        default,
        since,
        per_line: false,
        since_known: true,
    }
}

/// A row whose first release is not pinned down (see the module docs).
const fn doc(
    name: &'static str,
    ty: ParamType,
    default: Option<&'static str>,
    since: Version,
) -> ParamSpec {
    ParamSpec {
        since_known: false,
        ..p(name, ty, default, since)
    }
}

const fn line(name: &'static str, since: Version) -> ParamSpec {
    ParamSpec {
        name,
        ty: ParamType::Text,
        default: None,
        since,
        per_line: true,
        since_known: true,
    }
}

use ParamType::*;

const B1: Version = v(1, 0);
const R20: Version = v(2, 0);
const R21: Version = v(2, 1);
const R22: Version = v(2, 2);
const R30: Version = v(3, 0);
const R31: Version = v(3, 1);
const R40: Version = v(4, 0);
const R44: Version = v(4, 4);
const R60: Version = v(6, 0);
const R70: Version = v(7, 0);

const WEEK: ParamType = Int { min: 1, max: 8 };
const DAY: ParamType = Int { min: 0, max: 31 };
const LEVEL03: ParamType = Int { min: 0, max: 3 };

/// Every parameter phoneflip knows, oldest release first.
pub const PARAMS: &[ParamSpec] = &[
    // base (1.x)
    p("image_version", Load, None, B1),
    p("proxy1_address", Text, None, B1),
    p("proxy1_port", Port, Some("5060"), B1),
    p("proxy_register", Bool, Some("0"), B1),
    p(
        "timer_register_expires",
        Int {
            min: 1,
            max: 3_932_100,
        },
        Some("3600"),
        B1,
    ),
    // `none` lets the far end choose: not in the 1.x sample's comment,
    // but documented by the later guides and used in real files
    // (klobes5/SIPDefault.cnf).
    p(
        "preferred_codec",
        Choice(&["g711ulaw", "g711alaw", "g729a", "none"]),
        Some("g711ulaw"),
        B1,
    ),
    p("tos_media", Int { min: 0, max: 5 }, Some("5"), B1),
    p("dtmf_inband", Bool, Some("1"), B1),
    p(
        "dtmf_outofband",
        Choice(&["none", "avt", "avt_always"]),
        Some("avt"),
        B1,
    ),
    p("dtmf_db_level", Int { min: 1, max: 5 }, Some("3"), B1),
    p("timer_t1", Uint, Some("500"), B1),
    p("timer_t2", Uint, Some("4000"), B1),
    p("sip_retx", Uint, Some("10"), B1),
    p("sip_invite_retx", Uint, Some("6"), B1),
    p("timer_invite_expires", Uint, Some("180"), B1),
    line("lineN_name", B1),
    line("lineN_authname", B1),
    line("lineN_password", B1),
    line("lineN_shortname", B1),
    // 2.0 (SIPConfigGeneric.cnf: phone_label and lineN_displayname)
    p("phone_label", Text, None, R20),
    line("lineN_displayname", R20),
    p("language", Text, None, R20),
    p("messages_uri", Text, None, R20),
    p("dial_template", Text, None, R20),
    p("tftp_cfg_dir", Text, None, R20),
    p("sntp_server", Text, None, R20),
    p(
        "sntp_mode",
        Choice(&["unicast", "multicast", "anycast", "directedbroadcast"]),
        Some("directedbroadcast"),
        R20,
    ),
    p("time_zone", Text, None, R20),
    p("dst_offset", Text, None, R20),
    p("dst_start_month", Month, None, R20),
    p("dst_start_day", DAY, None, R20),
    p("dst_start_day_of_week", DayOfWeek, None, R20),
    p("dst_start_week_of_month", WEEK, None, R20),
    p("dst_start_time", Text, None, R20),
    p("dst_stop_month", Month, None, R20),
    p("dst_stop_day", DAY, None, R20),
    p("dst_stop_day_of_week", DayOfWeek, None, R20),
    p("dst_stop_week_of_month", WEEK, None, R20),
    p("dst_stop_time", Text, None, R20),
    p("dst_auto_adjust", Bool, Some("1"), R20),
    p("time_format_24hr", Bool, Some("1"), R20),
    p("date_format", Text, None, R20),
    p("dnd_control", LEVEL03, None, R20),
    p("callerid_blocking", LEVEL03, None, R20),
    p("anonymous_call_block", LEVEL03, None, R20),
    p(
        "dtmf_avt_payload",
        Int { min: 96, max: 127 },
        Some("101"),
        R20,
    ),
    p("sync", Text, Some("1"), R20),
    // 2.1
    p("proxy_backup", Text, None, R21),
    p("proxy_backup_port", Port, None, R21),
    p("proxy_emergency", Text, None, R21),
    p("proxy_emergency_port", Port, None, R21),
    p("enable_vad", Bool, None, R21),
    // 2.2
    p("nat_enable", Bool, None, R22),
    p("nat_address", Text, None, R22),
    p("voip_control_port", Port, Some("5060"), R22),
    p(
        "start_media_port",
        Int {
            min: 16384,
            max: 32766,
        },
        Some("16384"),
        R22,
    ),
    p(
        "end_media_port",
        Int {
            min: 16384,
            max: 32766,
        },
        Some("32766"),
        R22,
    ),
    p("nat_received_processing", Bool, None, R22),
    p("outbound_proxy", Text, None, R22),
    p("outbound_proxy_port", Port, None, R22),
    // 3.0, 3.1 (phone_prompt, phone_password, user_info: SIPConfigGeneric.cnf)
    p("cnf_join_enable", Bool, None, R30),
    p("phone_prompt", Chars { max: 15 }, Some("SIP Phone"), R30),
    p("phone_password", Chars { max: 31 }, Some("cisco"), R30),
    p(
        "user_info",
        Choice(&["none", "phone", "ip"]),
        Some("none"),
        R30,
    ),
    p("semi_attended_transfer", Bool, None, R31),
    p("telnet_level", Int { min: 0, max: 2 }, None, R31),
    // 4.0
    p("services_url", Text, None, R40),
    p("directory_url", Text, None, R40),
    p("logo_url", Text, None, R40),
    p("http_proxy_addr", Text, None, R40),
    p("http_proxy_port", Port, None, R40),
    p("dyn_dns_addr_1", Text, None, R40),
    p("dyn_dns_addr_2", Text, None, R40),
    p("dyn_tftp_addr", Text, None, R40),
    p("remote_party_id", Bool, None, R40),
    // Per-line proxies: proxy1_… is the base row above; lines 2 to 6 may
    // register elsewhere.
    ParamSpec {
        per_line: true,
        since_known: false,
        ..p("proxyN_address", Text, None, R40)
    },
    ParamSpec {
        per_line: true,
        since_known: false,
        ..p("proxyN_port", Port, Some("5060"), R40)
    },
    // 4.4, 6.0
    p("call_hold_ringback", Uint, None, R44),
    p("stutter_msg_waiting", Uint, None, R60),
    p("call_stats", Bool, None, R60),
    // In the 6.x/7.x administration guide's parameter appendix; first
    // release not pinned down.
    doc("autocomplete", Bool, Some("1"), R60),
    doc("call_waiting", Bool, Some("1"), R60),
    doc(
        "network_media_type",
        Choice(&["auto", "full100", "half100", "full10", "half10"]),
        Some("auto"),
        R60,
    ),
    doc(
        "network_port2_type",
        Choice(&["hub/switch", "hub", "switch"]),
        None,
        R60,
    ),
    doc(
        "timer_register_delta",
        Int { min: 0, max: 32767 },
        Some("5"),
        R60,
    ),
    doc("transfer_onhook_enabled", Bool, Some("0"), R70),
];

/// The parameters a SIP release reads (per-line ones once, as `lineN_…`).
pub fn known_by(release: Version) -> impl Iterator<Item = &'static ParamSpec> {
    PARAMS.iter().filter(move |p| p.since <= release)
}

/// The highest line number any model has (`lineN_` runs 1..=6).
pub const MAX_LINES: u8 = 6;

/// The row for a parameter name, with the line number of a `lineN_…`.
pub fn lookup(name: &str) -> Option<(&'static ParamSpec, Option<u8>)> {
    // proxy1_… are base parameters; proxy2_… to proxy6_… per line.
    if let Some(rest) = name.strip_prefix("proxy") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && !rest.starts_with('0') && !rest.starts_with("1_") {
            let n: u8 = rest[..digits].parse().ok()?;
            let suffix = &rest[digits..];
            return PARAMS
                .iter()
                .find(|s| s.per_line && s.name.strip_prefix("proxyN") == Some(suffix))
                .map(|s| (s, Some(n)));
        }
    }
    if let Some(rest) = name.strip_prefix("line") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            if rest.starts_with('0') {
                return None;
            }
            let n: u8 = rest[..digits].parse().ok()?;
            let suffix = &rest[digits..];
            return PARAMS
                .iter()
                .find(|s| s.per_line && s.name.strip_prefix("lineN") == Some(suffix))
                .map(|s| (s, Some(n)));
        }
    }
    PARAMS
        .iter()
        .find(|s| !s.per_line && s.name == name)
        .map(|s| (s, None))
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

fn named(value: &str, names: &[&str]) -> bool {
    let l = value.to_ascii_lowercase();
    names
        .iter()
        .any(|n| *n == l || (l.len() == 3 && n.starts_with(&l)))
}

impl ParamType {
    /// Whether `value` fits; an empty value means "use the default" and
    /// fits everything but a load name.
    pub fn accepts(&self, value: &str) -> bool {
        if value.is_empty() {
            return !matches!(self, Load);
        }
        let int = value.parse::<i64>().ok();
        match *self {
            Text => true,
            Load => value.parse::<ImageRef>().is_ok(),
            Int { min, max } => int.is_some_and(|n| (min..=max).contains(&n)),
            Uint => int.is_some_and(|n| n >= 0),
            Bool => matches!(value, "0" | "1"),
            Choice(c) => c.iter().any(|w| w.eq_ignore_ascii_case(value)),
            Month => int.is_some_and(|n| (1..=12).contains(&n)) || named(value, &MONTHS),
            DayOfWeek => int.is_some_and(|n| (1..=7).contains(&n)) || named(value, &DAYS),
            Port => int.is_some_and(|n| (1..=65535).contains(&n)),
            Chars { max } => value.chars().count() <= max,
        }
    }

    /// What an accepted value looks like, for error messages.
    pub fn expected(&self) -> String {
        match *self {
            Text => "any text".into(),
            Load => "a load name without extension, such as P0S3-8-12-00".into(),
            Int { min, max } => format!("a whole number from {min} to {max}"),
            Uint => "a whole number, 0 or more".into(),
            Bool => "0 or 1".into(),
            Choice(c) => format!("one of {}", c.join(", ")),
            Month => "a month, 1 to 12 or a name such as Mar or March".into(),
            DayOfWeek => "a weekday, 1 to 7 or a name such as Sun or Sunday".into(),
            Port => "a port number from 1 to 65535".into(),
            Chars { max } => format!("text of at most {max} characters"),
        }
    }
}

/// What is wrong with one parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipProblem {
    /// No SIP release knows the name.
    Unknown { suggestion: Option<&'static str> },
    /// The value does not fit the parameter's type or range.
    OutOfRange { value: String, expected: String },
    /// The load reading the file predates the parameter.
    NewerThanLoad { since: Version, release: Version },
    /// `lineN_…` for a line the model does not have.
    NoSuchLine { line: u8, model: Model },
    /// The parameter is set more than once; the phone keeps the last.
    Duplicate { first_line: usize },
}

impl fmt::Display for SipProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SipProblem::Unknown { suggestion: Some(s) } => write!(
                f,
                "phoneflip's SIP 1.x-8.12 parameter table does not know this parameter; did you mean {s}?"
            ),
            SipProblem::Unknown { suggestion: None } => write!(
                f,
                "phoneflip's SIP 1.x-8.12 parameter table does not know this parameter; check its spelling or remove it"
            ),
            SipProblem::OutOfRange { value, expected } => {
                write!(f, "the value {value:?} is out of range; write {expected}")
            }
            SipProblem::NewerThanLoad { since, release } => write!(
                f,
                "it needs SIP {since} or later and the load reading this file is SIP {release}; remove it or target a newer load"
            ),
            SipProblem::NoSuchLine { line, model } => write!(
                f,
                "a {model} has {} lines, not {line}; remove it or move the phone to a model with more lines",
                model.lines()
            ),
            SipProblem::Duplicate { first_line } => write!(
                f,
                "it is already set on line {first_line} and the phone keeps only the last value; delete one of them"
            ),
        }
    }
}

/// One finding of [`validate`], naming file, line and parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}, parameter {param}: {problem}")]
pub struct SipIssue {
    pub file: String,
    pub line: usize,
    pub param: String,
    pub problem: SipProblem,
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest(name: &str) -> Option<&'static str> {
    PARAMS
        .iter()
        .filter(|s| !s.per_line)
        .map(|s| (distance(name, s.name), s.name))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Checks one parameter against the SIP release that will read it.
pub fn check_param(
    name: &str,
    value: &str,
    release: Version,
    model: Option<Model>,
) -> Result<(), SipProblem> {
    let Some((spec, line)) = lookup(name) else {
        return Err(SipProblem::Unknown {
            suggestion: suggest(name),
        });
    };
    if let Some(n) = line {
        let max = model.map_or(MAX_LINES, Model::lines);
        if n == 0 || n > max {
            return match model {
                Some(model) => Err(SipProblem::NoSuchLine { line: n, model }),
                None => Err(SipProblem::Unknown { suggestion: None }),
            };
        }
    }
    if spec.since > release {
        return Err(SipProblem::NewerThanLoad {
            since: spec.since,
            release,
        });
    }
    if !spec.ty.accepts(value) {
        return Err(SipProblem::OutOfRange {
            value: value.to_string(),
            expected: spec.ty.expected(),
        });
    }
    Ok(())
}

/// The SIP release a load runs, for validating the files it reads.
/// `None` for a non-SIP load: SCCP and MGCP loads do not read these files.
pub fn sip_release(load: &LoadName) -> Option<Version> {
    (load.protocol() == Protocol::Sip).then(|| load.version())
}

/// Every problem of a SIP file for a phone running SIP `release`.
pub fn validate(file: &str, cnf: &SipCnf, release: Version, model: Option<Model>) -> Vec<SipIssue> {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let mut out = Vec::new();
    for e in cnf.entries() {
        let issue = |problem| SipIssue {
            file: file.to_string(),
            line: e.line,
            param: e.key.to_string(),
            problem,
        };
        if let Some(&(_, first_line)) = seen.iter().find(|(k, _)| *k == e.key) {
            out.push(issue(SipProblem::Duplicate { first_line }));
        } else {
            seen.push((e.key, e.line));
        }
        if let Err(p) = check_param(e.key, e.value, release, model) {
            out.push(issue(p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ver(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn problems(text: &str, release: &str, model: Option<Model>) -> Vec<SipIssue> {
        let cnf = SipCnf::parse("SIPDefault.cnf", text.as_bytes()).unwrap();
        validate("SIPDefault.cnf", &cnf, ver(release), model)
    }

    #[test]
    fn the_table_is_well_formed() {
        for (i, s) in PARAMS.iter().enumerate() {
            assert!(
                PARAMS[..i].iter().all(|o| o.name != s.name),
                "{} twice",
                s.name
            );
            if let Some(d) = s.default {
                assert!(s.ty.accepts(d), "{}: default {d} rejected", s.name);
            }
            if s.per_line {
                for n in 1..=MAX_LINES {
                    let name = s.name.replacen('N', &n.to_string(), 1);
                    let (row, line) = lookup(&name).unwrap();
                    if name.starts_with("proxy1_") {
                        assert_eq!((row.name, line), (name.as_str(), None));
                    } else {
                        assert_eq!((row, line), (s, Some(n)));
                    }
                }
            } else {
                assert_eq!(lookup(s.name).unwrap().0, s);
            }
        }
    }

    #[test]
    fn each_release_knows_more() {
        let counts: Vec<usize> = [
            "1.0", "2.0", "2.1", "2.2", "3.0", "3.1", "4.0", "4.4", "6.0", "8.12",
        ]
        .iter()
        .map(|r| known_by(ver(r)).count())
        .collect();
        assert!(
            counts.windows(2).all(|w| w[0] < w[1] || w[1] == counts[9]),
            "{counts:?}"
        );
        assert_eq!(counts[9], PARAMS.len());
        assert!(known_by(ver("2.3")).all(|p| p.name != "services_url"));
        assert!(lookup("line01_name").is_none());
        assert!(lookup("line0_name").is_none());
        assert!(lookup("line1_nickname").is_none());
    }

    #[test]
    fn a_clean_file_has_no_issues() {
        let text = "image_version: P0S3-8-12-00\nproxy1_address: \"10.0.0.1\"\nproxy1_port: 5060\n\
                    dst_start_month: April\ndst_start_day: \"\"\ndst_stop_day_of_week: Sun\n\
                    preferred_codec: G729a\nline6_name: 2001\ntelnet_level: 2\n";
        assert_eq!(problems(text, "8.12", Some(Model::Cp7960)), vec![]);
    }

    #[test]
    fn flags_unknown_range_new_line_and_duplicate() {
        let text = "proxy1_adress: x\ntos_media: 6\nnat_enable: 1\nline3_name: 3\n\
                    proxy1_port: 5060\nproxy1_port: 5061\nimage_version: POS3.bin\n";
        let got = problems(text, "2.1", Some(Model::Cp7940));
        let kinds: Vec<(usize, &str, &SipProblem)> = got
            .iter()
            .map(|i| (i.line, i.param.as_str(), &i.problem))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (
                    1,
                    "proxy1_adress",
                    &SipProblem::Unknown {
                        suggestion: Some("proxy1_address")
                    }
                ),
                (
                    2,
                    "tos_media",
                    &SipProblem::OutOfRange {
                        value: "6".into(),
                        expected: "a whole number from 0 to 5".into()
                    }
                ),
                (
                    3,
                    "nat_enable",
                    &SipProblem::NewerThanLoad {
                        since: ver("2.2"),
                        release: ver("2.1")
                    }
                ),
                (
                    4,
                    "line3_name",
                    &SipProblem::NoSuchLine {
                        line: 3,
                        model: Model::Cp7940
                    }
                ),
                (6, "proxy1_port", &SipProblem::Duplicate { first_line: 5 }),
                (
                    7,
                    "image_version",
                    &SipProblem::OutOfRange {
                        value: "POS3.bin".into(),
                        expected: ParamType::Load.expected()
                    }
                ),
            ]
        );
        let msg = got[2].to_string();
        assert!(
            msg.contains("SIPDefault.cnf line 3, parameter nat_enable")
                && msg.contains("needs SIP 2.2"),
            "{msg}"
        );
        assert!(got[0].to_string().contains("did you mean proxy1_address"));
    }

    #[test]
    fn releases_are_respected_at_each_boundary() {
        for (name, value, since) in [
            ("dial_template", "dialplan", "2.0"),
            ("proxy_backup", "10.0.0.2", "2.1"),
            ("outbound_proxy", "x", "2.2"),
            ("cnf_join_enable", "1", "3.0"),
            ("telnet_level", "1", "3.1"),
            ("services_url", "http://x/", "4.0"),
            ("call_hold_ringback", "1", "4.4"),
            ("call_stats", "1", "6.0"),
        ] {
            let since = ver(since);
            assert_eq!(check_param(name, value, since, None), Ok(()), "{name}");
            let before = Version::new(since.major, since.minor.saturating_sub(1));
            let before = if before == since {
                Version::new(since.major - 1, 9)
            } else {
                before
            };
            assert!(
                matches!(
                    check_param(name, value, before, None),
                    Err(SipProblem::NewerThanLoad { .. })
                ),
                "{name} at {before}"
            );
        }
    }
}
