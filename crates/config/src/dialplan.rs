//! The dial plan XML named by `dial_template` (`dialplan.xml`):
//! `<DIALTEMPLATE><TEMPLATE MATCH="…" Timeout="…" User="…"/>…</DIALTEMPLATE>`.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use crate::xmldoc::{Attr, XmlDoc};

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
///
/// A plan read from a file keeps that file: written back with its rules
/// unchanged it is the same bytes (comments, attribute case, order,
/// spacing). Equality is about the rules only.
#[derive(Debug, Clone, Default)]
pub struct DialPlan {
    pub rules: Vec<DialRule>,
    source: Option<(Vec<DialRule>, XmlDoc)>,
}

impl PartialEq for DialPlan {
    fn eq(&self, other: &DialPlan) -> bool {
        self.rules == other.rules
    }
}

impl Eq for DialPlan {}

/// Why a dial plan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}; {fix}")]
pub struct DialPlanError {
    pub file: String,
    pub problem: String,
    pub fix: String,
}

const KNOWN: [&str; 5] = ["MATCH", "Timeout", "User", "Rewrite", "Tone"];

fn rule_from(file: &str, attrs: &[Attr]) -> Result<DialRule, DialPlanError> {
    let fail = |problem: String, fix: &str| DialPlanError {
        file: file.into(),
        problem,
        fix: fix.into(),
    };
    let mut r = DialRule::default();
    let mut has_match = false;
    for a in attrs {
        let (key, value) = (a.name.clone(), a.value.clone());
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
        let doc = XmlDoc::parse(file, bytes).map_err(|e| DialPlanError {
            file: file.into(),
            problem: format!("line {}, column {}: {}", e.line, e.column, e.problem),
            fix: "fix the XML: a phone ignores a dial plan it cannot read and dials with none"
                .into(),
        })?;
        if !doc.root().eq_ignore_ascii_case("DIALTEMPLATE") {
            return Err(DialPlanError {
                file: file.into(),
                problem: format!("unexpected top-level element <{}>", doc.root()),
                fix: "a dial plan is one <DIALTEMPLATE> element holding TEMPLATE elements".into(),
            });
        }
        let mut rules = Vec::new();
        for e in doc.elements() {
            if e.parent == Some(0) && e.name.eq_ignore_ascii_case("TEMPLATE") {
                rules.push(rule_from(file, &e.attrs)?);
            }
        }
        Ok(DialPlan {
            source: Some((rules.clone(), doc)),
            rules,
        })
    }

    /// A plan made of `rules`, as phoneflip writes it.
    pub fn new(rules: Vec<DialRule>) -> DialPlan {
        DialPlan {
            rules,
            source: None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        if let Some((rules, doc)) = &self.source {
            if *rules == self.rules {
                return doc.to_bytes();
            }
        }
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
        assert_eq!(p.to_bytes(), text.as_bytes(), "unchanged, it is the file");
        let mut edited = p.clone();
        edited.rules.pop();
        assert_eq!(DialPlan::parse("x", &edited.to_bytes()).unwrap(), edited);
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
            let p = DialPlan::new(rules.into_iter().map(|(pattern, timeout, user, rewrite, tone, other)| {
                let mut seen = Vec::new();
                let other = other.into_iter().filter(|(k, _): &(String, String)| { let f = !seen.contains(k); seen.push(k.clone()); f }).collect();
                DialRule { pattern, timeout, user, rewrite, tone, other }
            }).collect());
            prop_assert_eq!(DialPlan::parse("f", &p.to_bytes()).unwrap(), p);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = DialPlan::parse("f", &b);
        }
    }
}
