//! How the emulated phone reads the few things it needs from the files it
//! downloads: the OS79XX.TXT line, `image_version`, `tftp_cfg_dir` and
//! `sync` from SIP files, `loadInformation` from SCCP XML, the
//! `upgradecode` of gkdefault and syncinfo.xml.
//!
//! Deliberately as lenient or as strict as the phone is, not as strict as
//! phoneflip's own parsers in `phoneflip-config`: this is the phone's
//! reading of a file, whose quirks (a CR breaks OS79XX.TXT, names are taken
//! byte for byte) are what the emulator has to reproduce. Kept in one
//! module so it can be swapped for `phoneflip-config` calls where the two
//! agree.

/// Why the phone could not use OS79XX.TXT: each leaves it unprovisioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Os79Defect {
    #[error("OS79XX.TXT is empty")]
    Empty,
    #[error("OS79XX.TXT holds {0:?} with the .bin extension; it must hold the name alone")]
    Extension(String),
    #[error("OS79XX.TXT contains a carriage return (CSCdv19260); save it with Unix line endings")]
    CarriageReturn,
    #[error("OS79XX.TXT has a space or tab around {0:?} (CSCdv19260)")]
    Whitespace(String),
    #[error("OS79XX.TXT holds more than one line")]
    SeveralLines,
    #[error("OS79XX.TXT holds {0:?}, which is not a bare image name (letters, digits and -)")]
    WrongForm(String),
}

/// The phone's reading of OS79XX.TXT: one line naming an image, nothing
/// else. A single final LF is tolerated.
pub fn os79xx(bytes: &[u8]) -> Result<String, Os79Defect> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains('\r') {
        return Err(Os79Defect::CarriageReturn);
    }
    let body = text.strip_suffix('\n').unwrap_or(&text);
    if body.is_empty() {
        return Err(Os79Defect::Empty);
    }
    if body.contains('\n') {
        return Err(Os79Defect::SeveralLines);
    }
    if body.trim() != body {
        return Err(Os79Defect::Whitespace(body.trim().to_string()));
    }
    let lower = body.to_ascii_lowercase();
    if lower.ends_with(".bin") || lower.ends_with(".sbn") || lower.ends_with(".loads") {
        return Err(Os79Defect::Extension(body.to_string()));
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Os79Defect::WrongForm(body.to_string()));
    }
    Ok(body.to_string())
}

/// The value of `key` in a SIP `key: value` file (last one wins, as the
/// phone applies lines in order). Comments start with `#`, or `;` on a
/// line; quotes around the value are removed.
pub fn sip_value(text: &[u8], key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(text);
    let mut found = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let line = line.split(';').next().unwrap_or("");
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.trim() != key {
            continue;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        found = Some(v.to_string());
    }
    found
}

/// The phone's own, lenient reading of `loadInformation`: shared with the
/// doctor, which must judge a malformed SEP file as the phone does.
pub use phoneflip_config::sccp::{phone_xml_load as xml_load, PhoneXmlLoad as XmlLoad};

/// The image name and version code of gkdefault's `upgradecode` line:
/// `upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060412a,CP7940080001SIP060412A.sbin`.
///
/// The binary form `cfgfmt` (or phoneflip's serve) compiles is read too,
/// through its fixed-layout upgradecode TLV.
pub fn gk_upgradecode(text: &[u8]) -> Option<(String, String)> {
    if text.starts_with(b"#ata") {
        let u = phoneflip_config::cfgfmt::upgrade_of(text)?;
        return Some((format!("0x{:07x}", u.code), u.image));
    }
    let text = String::from_utf8_lossy(text);
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("upgradecode") else {
            continue;
        };
        let rest = rest.trim_start().strip_prefix(':')?;
        let fields: Vec<&str> = rest.split(',').map(str::trim).collect();
        if fields.len() >= 8 {
            return Some((fields[6].to_string(), fields[7].to_string()));
        }
        return None;
    }
    None
}

/// `<IMAGE VERSION="P0S3-8-12-00" SYNC="2"/>` entries of syncinfo.xml.
pub fn syncinfo(text: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(i) = rest.find("<IMAGE") {
        let after = &rest[i + 6..];
        let end = after.find('>').unwrap_or(after.len());
        let tag = &after[..end];
        if let (Some(v), Some(s)) = (attr(tag, "VERSION"), attr(tag, "SYNC")) {
            out.push((v, s));
        }
        rest = &after[end..];
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let i = tag.find(&format!("{name}=\""))?;
    let v = &tag[i + name.len() + 2..];
    Some(v[..v.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os79xx_as_the_phone_reads_it() {
        assert_eq!(os79xx(b"POS30203").unwrap(), "POS30203");
        assert_eq!(os79xx(b"P003-8-12-00\n").unwrap(), "P003-8-12-00");
        assert_eq!(
            os79xx(b"POS30203.bin"),
            Err(Os79Defect::Extension("POS30203.bin".into()))
        );
        assert_eq!(os79xx(b"POS30203\r\n"), Err(Os79Defect::CarriageReturn));
        assert!(matches!(
            os79xx(b"POS30203 "),
            Err(Os79Defect::Whitespace(_))
        ));
        assert!(matches!(
            os79xx(b"image_version: POS30203"),
            Err(Os79Defect::WrongForm(_))
        ));
        assert_eq!(os79xx(b"A\nB"), Err(Os79Defect::SeveralLines));
        assert_eq!(os79xx(b""), Err(Os79Defect::Empty));
    }

    #[test]
    fn sip_values() {
        let f =
            b"# comment\nimage_version: P0S3-8-12-00 ; the load\nproxy1_address : \"10.0.0.1\"\n";
        assert_eq!(sip_value(f, "image_version").unwrap(), "P0S3-8-12-00");
        assert_eq!(sip_value(f, "proxy1_address").unwrap(), "10.0.0.1");
        assert_eq!(sip_value(f, "sync"), None);
    }

    #[test]
    fn xml_loads() {
        let d =
            br#"<Default><loadInformation8 model="IP Phone 7940">P0030801SR02</loadInformation8>
<loadInformation7 model="IP Phone 7960">P0S3-8-12-00</loadInformation7></Default>"#;
        assert_eq!(xml_load(d, 7), XmlLoad::Named("P0S3-8-12-00".into()));
        assert_eq!(xml_load(d, 8), XmlLoad::Named("P0030801SR02".into()));
        let s = br#"<device><deviceProtocol>SIP</deviceProtocol><loadInformation model="IP Phone 7960">P0S3-8-12-00</loadInformation></device>"#;
        assert_eq!(xml_load(s, 7), XmlLoad::Named("P0S3-8-12-00".into()));
        assert_eq!(xml_load(b"<device></device>", 7), XmlLoad::None);
        assert_eq!(xml_load(b"", 7), XmlLoad::Malformed);
        assert_eq!(xml_load(b"garbage", 7), XmlLoad::Malformed);
    }

    #[test]
    fn gk_and_sync() {
        let g = b"#txt\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x051117a,CP7940080001SCCP051117A.sbin\n";
        assert_eq!(
            gk_upgradecode(g).unwrap(),
            (
                "0x051117a".to_string(),
                "CP7940080001SCCP051117A.sbin".to_string()
            )
        );
        let s = br#"<SYNCINFO><IMAGE VERSION="P0S3-8-12-00" SYNC="2"/><IMAGE VERSION="*" SYNC="1"/></SYNCINFO>"#;
        assert_eq!(syncinfo(s).len(), 2);
    }
}
