//! The dial plan XML named by `dial_template` (`dialplan.xml`):
//! `<DIALTEMPLATE><TEMPLATE MATCH="…" Timeout="…" User="…"/>…</DIALTEMPLATE>`.

use std::fmt::Write as _;

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// One `<TEMPLATE>`: a digit pattern and what to do when it matches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DialRule {
    /// `MATCH`: digits, `X`/`.` wildcards, `[...]` ranges, `!`, `*`.
    pub pattern: String,
    /// `Timeout`: seconds to wait for more digits before dialling.
    pub timeout: Option<u32>,
    /// `User`: `Phone` or `IP` (the SIP URI's user=).
    pub user: Option<String>,
    /// `Rewrite`: the number actually dialled.
    pub rewrite: Option<String>,
    /// `Tone`: a secondary dial tone after the match.
    pub tone: Option<String>,
    /// Any other attribute, kept as written, in order.
    pub other: Vec<(String, String)>,
}

/// The whole dial plan, rules in the order the phone tries them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DialPlan {
    pub rules: Vec<DialRule>,
}

/// Why a dial plan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}; {fix}")]
pub struct DialPlanError {
    pub file: String,
    pub problem: String,
    pub fix: String,
}

const KNOWN: [&str; 5] = ["MATCH", "Timeout", "User", "Rewrite", "Tone"];

fn rule_from(file: &str, e: &BytesStart) -> Result<DialRule, DialPlanError> {
    let fail = |problem: String, fix: &str| DialPlanError {
        file: file.into(),
        problem,
        fix: fix.into(),
    };
    let mut r = DialRule::default();
    let mut has_match = false;
    for a in e.attributes() {
        let a = a.map_err(|x| {
            fail(
                format!("bad TEMPLATE attribute: {x}"),
                "quote every attribute value",
            )
        })?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|x| fail(format!("bad attribute value: {x}"), "escape & as &amp;"))?
            .into_owned();
        match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(&key)).copied() {
            Some("MATCH") => {
                has_match = true;
                r.pattern = value;
            }
            Some("Timeout") => {
                r.timeout = Some(value.trim().parse().map_err(|_| {
                    fail(
                        format!(
                            "TEMPLATE MATCH={:?}: Timeout {value:?} is not a number of seconds",
                            r.pattern
                        ),
                        "write Timeout=\"4\", or 0 to dial at once",
                    )
                })?)
            }
            Some("User") => r.user = Some(value),
            Some("Rewrite") => r.rewrite = Some(value),
            Some("Tone") => r.tone = Some(value),
            _ => r.other.push((key, value)),
        }
    }
    if !has_match {
        return Err(fail(
            "a TEMPLATE has no MATCH attribute".into(),
            "give every TEMPLATE a MATCH pattern, e.g. MATCH=\"[2-9]XXX\"",
        ));
    }
    Ok(r)
}

impl DialPlan {
    pub fn parse(file: &str, bytes: &[u8]) -> Result<DialPlan, DialPlanError> {
        let fail = |problem: String, fix: &str| DialPlanError {
            file: file.into(),
            problem,
            fix: fix.into(),
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| fail("it is not UTF-8 text".into(), "save it as UTF-8 or ASCII"))?;
        let mut reader = Reader::from_str(text);
        reader.config_mut().trim_text(true);
        let mut depth = 0usize;
        let mut saw_root = false;
        let mut rules = Vec::new();
        loop {
            let (e, empty) = match reader.read_event() {
                Err(e) => return Err(fail(format!("malformed XML: {e}"), "fix the XML")),
                Ok(Event::Eof) => break,
                Ok(Event::Start(e)) => (e, false),
                Ok(Event::Empty(e)) => (e, true),
                Ok(Event::End(_)) => {
                    depth = depth.saturating_sub(1);
                    continue;
                }
                Ok(_) => continue,
            };
            let name = e.name();
            if depth == 0 {
                if saw_root || !name.as_ref().eq_ignore_ascii_case(b"DIALTEMPLATE") {
                    return Err(fail(
                        format!(
                            "unexpected top-level element <{}>",
                            String::from_utf8_lossy(name.as_ref())
                        ),
                        "a dial plan is one <DIALTEMPLATE> element holding TEMPLATE elements",
                    ));
                }
                saw_root = true;
            } else if depth == 1 && name.as_ref().eq_ignore_ascii_case(b"TEMPLATE") {
                rules.push(rule_from(file, &e)?);
            }
            if !empty {
                depth += 1;
            }
        }
        if !saw_root {
            return Err(fail(
                "it holds no <DIALTEMPLATE>".into(),
                "a dial plan starts with <DIALTEMPLATE>",
            ));
        }
        Ok(DialPlan { rules })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::from("<DIALTEMPLATE>\n");
        for r in &self.rules {
            let _ = write!(out, "  <TEMPLATE MATCH=\"{}\"", escape(r.pattern.as_str()));
            if let Some(t) = r.timeout {
                let _ = write!(out, " Timeout=\"{t}\"");
            }
            for (k, v) in [
                ("User", &r.user),
                ("Rewrite", &r.rewrite),
                ("Tone", &r.tone),
            ] {
                if let Some(v) = v {
                    let _ = write!(out, " {k}=\"{}\"", escape(v.as_str()));
                }
            }
            for (k, v) in &r.other {
                let _ = write!(out, " {k}=\"{}\"", escape(v.as_str()));
            }
            out.push_str("/>\n");
        }
        out.push_str("</DIALTEMPLATE>\n");
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_real_dial_plan() {
        let text = r#"<DIALTEMPLATE>
    <!-- Local Calls -->
    <TEMPLATE MATCH="[2-9]XXXXXX" Timeout="4" User="Phone"/>
    <TEMPLATE MATCH="\*.." Timeout="0" User="Phone"/>
    <TEMPLATE MATCH="9,1XXXXXXXXXX" Timeout="0" Rewrite="1XXXXXXXXXX" Tone="Bellcore-Outside"/>
    <TEMPLATE MATCH="*" Timeout="10"/>
</DIALTEMPLATE>
"#;
        let p = DialPlan::parse("dialplan.xml", text.as_bytes()).unwrap();
        assert_eq!(p.rules.len(), 4);
        assert_eq!(p.rules[0].pattern, "[2-9]XXXXXX");
        assert_eq!(p.rules[0].timeout, Some(4));
        assert_eq!(p.rules[0].user.as_deref(), Some("Phone"));
        assert_eq!(p.rules[2].rewrite.as_deref(), Some("1XXXXXXXXXX"));
        assert_eq!(p.rules[3].user, None);
        assert_eq!(DialPlan::parse("x", &p.to_bytes()).unwrap(), p);
    }

    #[test]
    fn errors() {
        let e = DialPlan::parse(
            "dialplan.xml",
            b"<DIALTEMPLATE><TEMPLATE Timeout=\"4\"/></DIALTEMPLATE>",
        )
        .unwrap_err();
        assert!(e.to_string().contains("no MATCH"), "{e}");
        let e = DialPlan::parse(
            "dialplan.xml",
            b"<DIALTEMPLATE><TEMPLATE MATCH=\"1\" Timeout=\"soon\"/></DIALTEMPLATE>",
        )
        .unwrap_err();
        assert!(e.to_string().contains("Timeout"), "{e}");
        let e = DialPlan::parse("dialplan.xml", b"<PLAN/>").unwrap_err();
        assert!(e.to_string().contains("DIALTEMPLATE"), "{e}");
        assert!(DialPlan::parse("dialplan.xml", b"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(rules in proptest::collection::vec((
            "[0-9X.*!#\\[\\]\\\\,<>&\"-]{1,12}", proptest::option::of(0u32..100),
            proptest::option::of(prop_oneof![Just("Phone".to_string()), Just("IP".to_string())]),
            proptest::option::of("[0-9X]{1,8}"), proptest::option::of("[A-Za-z-]{1,12}"),
            proptest::collection::vec(("Route|Priority|Comment", "[ -~]{0,8}"), 0..2),
        ), 0..6)) {
            let p = DialPlan { rules: rules.into_iter().map(|(pattern, timeout, user, rewrite, tone, other)| {
                let mut seen = Vec::new();
                let other = other.into_iter().filter(|(k, _): &(String, String)| { let f = !seen.contains(k); seen.push(k.clone()); f }).collect();
                DialRule { pattern, timeout, user, rewrite, tone, other }
            }).collect() };
            prop_assert_eq!(DialPlan::parse("f", &p.to_bytes()).unwrap(), p);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = DialPlan::parse("f", &b);
        }
    }
}
