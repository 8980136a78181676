//! `gkdefault.txt`, the text source of `gkdefault.cfg`, with its
//! `upgradecode:` line (the reference's SIP 5.x/6.x → SCCP procedure).
//!
//! The binary `gkdefault.cfg` is produced by Cisco's `cfgfmt` from this
//! text and the `sip_ptag.dat` tag table shipped in the SIP bundle. No
//! public description of that binary format or copy of the tag table
//! exists (searched: public code, issue trackers, web pages), so phoneflip
//! renders the text and tells the user to run [`CFGFMT_COMMAND`].

use std::net::Ipv4Addr;

use phoneflip_firmware::GkImage;

/// The conversion step the user runs with Cisco's tool, verbatim from the
/// reference.
pub const CFGFMT_COMMAND: &str = "cfgfmt -tsip_ptag.dat gkdefault.txt gkdefault.cfg";

/// What to tell a user who needs `gkdefault.cfg`.
pub const CFGFMT_NOTE: &str =
    "phoneflip cannot produce gkdefault.cfg itself: its binary format and \
the sip_ptag.dat tag table are not publicly documented. Run Cisco's converter, shipped in the SIP \
bundle with sip_ptag.dat, in the TFTP root: cfgfmt -tsip_ptag.dat gkdefault.txt gkdefault.cfg";

/// The fields of `upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060412a,CP7940080001SIP060412A.sbin`.
///
/// The version code (7th field) is not stored: it is always the image's
/// own code, so the two cannot disagree (the reference's step 5 changes
/// both by hand, which is exactly where mistakes happen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeCode {
    /// The first four fields (`3,0x601,0x0400,0x0100`). Their meaning is
    /// not documented publicly; they are kept exactly as written.
    pub head: [String; 4],
    /// The TFTP server to fetch the image from; `0.0.0.0` means the one
    /// the phone already uses.
    pub server: Ipv4Addr,
    /// The TFTP port, 69.
    pub port: u16,
    pub image: GkImage,
}

/// Why a gkdefault.txt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {problem}; {fix}")]
pub struct GkDefaultError {
    pub file: String,
    pub line: usize,
    pub problem: String,
    pub fix: String,
}

impl UpgradeCode {
    /// The reference's line with another image: head `3,0x601,0x0400,0x0100`,
    /// server `0.0.0.0`, port 69.
    pub fn new(image: GkImage) -> UpgradeCode {
        UpgradeCode {
            head: ["3", "0x601", "0x0400", "0x0100"].map(String::from),
            server: Ipv4Addr::UNSPECIFIED,
            port: 69,
            image,
        }
    }

    pub fn to_line(&self) -> String {
        format!(
            "upgradecode:{},{},{},{},{},{},{},{}",
            self.head[0],
            self.head[1],
            self.head[2],
            self.head[3],
            self.server,
            self.port,
            self.image.code,
            self.image
        )
    }

    fn parse(rest: &str) -> Result<UpgradeCode, (String, String)> {
        let fields: Vec<&str> = rest.split(',').map(str::trim).collect();
        let example =
            "upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060412a,CP7940080001SIP060412A.sbin";
        if fields.len() != 8 {
            return Err((
                format!("the upgradecode line has {} fields, not 8", fields.len()),
                format!("write it like {example}"),
            ));
        }
        let server: Ipv4Addr = fields[4].parse().map_err(|_| {
            (
                format!("the server field {:?} is not an IPv4 address", fields[4]),
                "write 0.0.0.0 for the phone's own TFTP server".to_string(),
            )
        })?;
        let port: u16 = fields[5].parse().map_err(|_| {
            (
                format!("the port field {:?} is not a port number", fields[5]),
                "write 69, the TFTP port".to_string(),
            )
        })?;
        let code = fields[6]
            .parse::<phoneflip_firmware::GkVersionCode>()
            .map_err(|e| (e.to_string(), format!("write it like {example}")))?;
        let image: GkImage = fields[7]
            .parse()
            .map_err(|e: phoneflip_firmware::GkImageError| {
                (e.to_string(), format!("write it like {example}"))
            })?;
        if image.code != code {
            return Err((
                format!(
                    "the version code {code} does not match the image {image}, whose code is {}",
                    image.code
                ),
                format!("write {} before the image name", image.code),
            ));
        }
        Ok(UpgradeCode {
            head: [0, 1, 2, 3].map(|i| fields[i].to_string()),
            server,
            port,
            image,
        })
    }
}

/// A gkdefault.txt: its lines as written, and the parsed upgradecode line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GkDefault {
    /// (text, terminator) per line.
    lines: Vec<(String, String)>,
    upgrade: Option<(usize, UpgradeCode)>,
}

impl GkDefault {
    /// A fresh file: the `#txt` marker cfgfmt expects and the line.
    pub fn new(upgrade: UpgradeCode) -> GkDefault {
        GkDefault {
            lines: vec![
                ("#txt".into(), "\n".into()),
                (upgrade.to_line(), "\n".into()),
            ],
            upgrade: Some((1, upgrade)),
        }
    }

    pub fn parse(file: &str, bytes: &[u8]) -> Result<GkDefault, GkDefaultError> {
        let text = std::str::from_utf8(bytes).map_err(|e| GkDefaultError {
            file: file.into(),
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            problem: "the line is not valid UTF-8 text".into(),
            fix: "save the file as plain ASCII".into(),
        })?;
        let mut lines = Vec::new();
        let mut upgrade = None;
        for (i, seg) in text.split_inclusive('\n').enumerate() {
            let (body, end) = match seg.strip_suffix("\r\n") {
                Some(b) => (b, "\r\n"),
                None => match seg.strip_suffix('\n') {
                    Some(b) => (b, "\n"),
                    None => (seg, ""),
                },
            };
            let t = body.trim_start();
            if let Some(rest) = t.strip_prefix("upgradecode:") {
                let fail = |(problem, fix): (String, String)| GkDefaultError {
                    file: file.into(),
                    line: i + 1,
                    problem,
                    fix,
                };
                if upgrade.is_some() {
                    return Err(fail((
                        "a second upgradecode line".into(),
                        "keep only one upgradecode line".into(),
                    )));
                }
                upgrade = Some((i, UpgradeCode::parse(rest).map_err(fail)?));
            }
            lines.push((body.to_string(), end.to_string()));
        }
        Ok(GkDefault { lines, upgrade })
    }

    pub fn upgrade(&self) -> Option<&UpgradeCode> {
        self.upgrade.as_ref().map(|(_, u)| u)
    }

    /// Replaces (or appends) the upgradecode line; every other line stays
    /// as it was.
    pub fn set_upgrade(&mut self, upgrade: UpgradeCode) {
        let line = upgrade.to_line();
        match &self.upgrade {
            Some((i, _)) => self.lines[*i].0 = line,
            None => {
                if let Some(last) = self.lines.last_mut() {
                    if last.1.is_empty() {
                        last.1 = "\n".into();
                    }
                }
                self.lines.push((line, "\n".into()));
            }
        }
        let i = self
            .lines
            .iter()
            .position(|(t, _)| t.trim_start().starts_with("upgradecode:"))
            .expect("just written");
        self.upgrade = Some((i, upgrade));
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for (t, e) in &self.lines {
            out.push_str(t);
            out.push_str(e);
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoneflip_firmware::{GkVersionCode, Protocol};
    use proptest::prelude::*;

    const REF: &str =
        "upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060412a,CP7940080001SIP060412A.sbin";

    #[test]
    fn the_reference_line_and_its_sccp_swap() {
        let text = format!("#txt\r\n# site settings\r\n{REF}\r\nUseTftp:1\r\n");
        let mut g = GkDefault::parse("gkdefault.txt", text.as_bytes()).unwrap();
        assert_eq!(g.to_bytes(), text.as_bytes());
        let u = g.upgrade().unwrap().clone();
        assert_eq!(u.to_line(), REF);
        assert_eq!(u.image.protocol, Protocol::Sip);
        let sccp = u
            .image
            .retarget(Protocol::Sccp, "0x051117a".parse().unwrap());
        g.set_upgrade(UpgradeCode { image: sccp, ..u });
        assert_eq!(
            String::from_utf8(g.to_bytes()).unwrap(),
            "#txt\r\n# site settings\r\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x051117a,CP7940080001SCCP051117A.sbin\r\nUseTftp:1\r\n"
        );
    }

    #[test]
    fn errors() {
        let bad = REF.replace("0x060412a", "0x051117a");
        let e = GkDefault::parse("gkdefault.txt", format!("#txt\n{bad}\n").as_bytes()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("write 0x060412a"), "{e}");
        let e = GkDefault::parse("gkdefault.txt", b"upgradecode:3,0x601\n").unwrap_err();
        assert!(e.to_string().contains("8"), "{e}");
        let e =
            GkDefault::parse("gkdefault.txt", format!("{REF}\n{REF}\n").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("second"), "{e}");
        assert!(CFGFMT_NOTE.contains(CFGFMT_COMMAND));
    }

    proptest! {
        #[test]
        fn round_trips(d in 0u32..1_000_000, l in proptest::char::range('a', 'z'),
                       sip in any::<bool>(), port in 1u16.., ip in any::<[u8; 4]>(),
                       extra in proptest::collection::vec("[ -~]{0,20}", 0..4)) {
            let code = GkVersionCode::new(&format!("{d:06}{l}")).unwrap();
            let p = if sip { Protocol::Sip } else { Protocol::Sccp };
            let mut u = UpgradeCode::new(GkImage::new("7940", "080001", p, code));
            u.server = Ipv4Addr::from(ip);
            u.port = port;
            let mut g = GkDefault::new(u.clone());
            let bytes = g.to_bytes();
            let back = GkDefault::parse("f", &bytes).unwrap();
            prop_assert_eq!(back.upgrade(), Some(&u));
            prop_assert_eq!(back.to_bytes(), bytes.clone());
            // Other lines survive an edit untouched.
            let mut text = String::new();
            for x in &extra { if !x.trim_start().starts_with("upgradecode:") { text.push_str(x); text.push('\n'); } }
            let mut h = GkDefault::parse("f", text.as_bytes()).unwrap();
            h.set_upgrade(u.clone());
            let out = String::from_utf8(h.to_bytes()).unwrap();
            prop_assert!(out.starts_with(&text));
            g.set_upgrade(u);
            prop_assert_eq!(g.to_bytes(), bytes);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(g) = GkDefault::parse("f", &b) {
                prop_assert_eq!(g.to_bytes(), b);
            }
        }
    }
}
