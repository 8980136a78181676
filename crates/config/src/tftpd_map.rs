//! tftpd-hpa's filename remapping (`--map-file` / `-m`), for roots kept
//! in sub-folders: which file of the tree a phone gets when it asks for a
//! name. Adopting or doctoring such a root must read what the phones are
//! served, not the top level of the folder.
//!
//! The rules are tftpd-hpa's (tftpd(8), "FILENAME REMAPPING"): each line
//! is `OPERATION REGEX [REPLACEMENT]`, `#` starts a comment, a backslash
//! keeps the next character in the token (so `\#` and `\ ` are literal).
//! Operations: `r` replace the matched substring, `g` repeat the rule
//! until it no longer matches, `i` case-insensitive, `e` end processing
//! when the rule matches, `s` start again from the first rule, `a` refuse
//! the request, `G`/`P` only for reads/writes, `~` when the regex does
//! not match. Every rule is tried in order, a match or not, unless `e`.
//! Replacements know `\0`-`\9`, `\i` and `\x` (the client's address, dotted
//! and hexadecimal) and `\\`. Regexes are POSIX extended ones, read with
//! the `regex` crate, whose syntax agrees for what map files use (groups,
//! classes, anchors, escaped punctuation); where POSIX takes the longest
//! of several leftmost matches, the crate takes the first alternative.

use std::net::Ipv4Addr;

use regex::{Regex, RegexBuilder};

use crate::filename::{
    GKDEFAULT_CFG, OS79XX_TXT, RINGLIST_DAT, SIP_DEFAULT, SYNCINFO_XML, XML_DEFAULT,
};

/// After this many rule applications the name is taken to loop, as
/// tftpd-hpa gives up on a rewrite that never ends.
const MAX_STEPS: usize = 4096;

/// A map file that tftpd-hpa would refuse, by line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {problem}; tftpd-hpa refuses to start with this map file")]
pub struct MapFileError {
    pub file: String,
    pub line: usize,
    pub problem: String,
}

#[derive(Debug, Clone, Default)]
struct Flags {
    replace: bool,
    global: bool,
    end: bool,
    restart: bool,
    deny: bool,
    get_only: bool,
    put_only: bool,
    invert: bool,
}

#[derive(Debug, Clone)]
struct Rule {
    line: usize,
    flags: Flags,
    regex: Regex,
    replacement: String,
}

/// The rules of one map file, in order.
#[derive(Debug, Clone)]
pub struct MapFile {
    rules: Vec<Rule>,
}

/// What the server does with a requested name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// Serves this path, relative to the TFTP root (a leading `/` is the
    /// root itself, as under tftpd-hpa's `--secure`).
    Path(String),
    /// Refuses the request: an `a` rule matched (`line`), or the rules
    /// never stop rewriting.
    Denied { line: usize, why: String },
}

/// One token, tftpd-hpa's way: leading blanks skipped, ended by an
/// unescaped blank or `#`, backslashes kept.
fn token(rest: &mut &str) -> Option<String> {
    let s = rest.trim_start();
    let mut out = String::new();
    let mut escaped = false;
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        if !escaped && (c.is_whitespace() || c == '#') {
            end = i;
            break;
        }
        escaped = !escaped && c == '\\';
        out.push(c);
    }
    *rest = &s[end..];
    (!out.is_empty()).then_some(out)
}

impl MapFile {
    pub fn parse(file: &str, text: &str) -> Result<MapFile, MapFileError> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |problem: String| MapFileError {
                file: file.to_string(),
                line,
                problem,
            };
            let mut rest = raw;
            let Some(op) = token(&mut rest) else { continue };
            let Some(pattern) = token(&mut rest) else {
                return Err(err(format!("the operation {op:?} has no regex")));
            };
            let replacement = token(&mut rest);
            let mut flags = Flags::default();
            let mut icase = false;
            for c in op.chars() {
                match c {
                    'r' => flags.replace = true,
                    'g' => flags.global = true,
                    'i' => icase = true,
                    'e' => flags.end = true,
                    's' => flags.restart = true,
                    'a' => flags.deny = true,
                    'G' => flags.get_only = true,
                    'P' => flags.put_only = true,
                    '~' => flags.invert = true,
                    other => {
                        return Err(err(format!(
                            "{other:?} is not a remapping operation (r g i e s a G P ~)"
                        )))
                    }
                }
            }
            // An r rule without a replacement deletes what it matches
            // (tftpd(8)'s own `ri ^[a-z]:` removes drive letters).
            if flags.replace && flags.invert {
                return Err(err("the ~ operation cannot be used with r".into()));
            }
            let regex = RegexBuilder::new(&pattern)
                .case_insensitive(icase)
                .build()
                .map_err(|e| err(format!("the regex {pattern:?} does not compile: {e}")))?;
            rules.push(Rule {
                line,
                flags,
                regex,
                replacement: replacement.unwrap_or_default(),
            });
        }
        Ok(MapFile { rules })
    }

    /// The path a read request for `requested` is served from, for a
    /// client at `client` (for `\i` and `\x`).
    pub fn map(&self, requested: &str, client: Option<Ipv4Addr>) -> Mapped {
        let mut current = requested.to_string();
        let mut steps = 0;
        let mut i = 0;
        while i < self.rules.len() {
            let rule = &self.rules[i];
            i += 1;
            if rule.flags.put_only && !rule.flags.get_only {
                continue;
            }
            let matched = rule.regex.is_match(&current);
            if matched == rule.flags.invert {
                continue;
            }
            loop {
                steps += 1;
                if steps > MAX_STEPS {
                    return Mapped::Denied {
                        line: rule.line,
                        why: format!("the rules rewrite {requested:?} without end"),
                    };
                }
                if rule.flags.deny {
                    return Mapped::Denied {
                        line: rule.line,
                        why: format!("line {} refuses {requested:?}", rule.line),
                    };
                }
                if rule.flags.replace {
                    current = replace_first(&rule.regex, &current, &rule.replacement, client);
                }
                if !(rule.flags.global && !rule.flags.invert && rule.regex.is_match(&current)) {
                    break;
                }
            }
            if rule.flags.end {
                break;
            }
            if rule.flags.restart {
                i = 0;
            }
        }
        Mapped::Path(current.trim_start_matches('/').to_string())
    }
}

/// The first match of `re` in `s` replaced by `pattern`, expanded.
fn replace_first(re: &Regex, s: &str, pattern: &str, client: Option<Ipv4Addr>) -> String {
    let Some(caps) = re.captures(s) else {
        return s.to_string();
    };
    let whole = caps.get(0).expect("group 0 is the match");
    let mut out = String::with_capacity(s.len() + pattern.len());
    out.push_str(&s[..whole.start()]);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(d @ '0'..='9') => {
                let n = d as usize - '0' as usize;
                out.push_str(caps.get(n).map_or("", |m| m.as_str()));
            }
            Some('i') => {
                if let Some(a) = client {
                    out.push_str(&a.to_string());
                }
            }
            Some('x') => {
                if let Some(a) = client {
                    out.push_str(&format!("{:08X}", u32::from(a)));
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out.push_str(&s[whole.end()..]);
    out
}

/// The names a 7940/7960 asks for by themselves, whatever the tree holds.
const ASKED: &[&str] = &[
    OS79XX_TXT,
    SIP_DEFAULT,
    XML_DEFAULT,
    RINGLIST_DAT,
    SYNCINFO_XML,
    GKDEFAULT_CFG,
    "dialplan.xml",
];

/// The root as the phones see it through `map`: for each name a phone may
/// ask for (the well-known names and the base name of every file in
/// `tree`), the file of `tree` (paths relative to the root, `/`-separated)
/// the server answers with; names that map to no file of the tree, or
/// that the map refuses, are left out. Without a map, the server serves
/// the top level of the root as it is. Sorted by requested name.
pub fn phone_view<'a>(map: Option<&MapFile>, tree: &'a [String]) -> Vec<(String, &'a str)> {
    let Some(map) = map else {
        let mut top: Vec<(String, &str)> = tree
            .iter()
            .filter(|p| !p.contains('/'))
            .map(|p| (p.clone(), p.as_str()))
            .collect();
        top.sort();
        return top;
    };
    let mut asked: Vec<String> = ASKED.iter().map(|s| s.to_string()).collect();
    for p in tree {
        let base = p.rsplit('/').next().unwrap_or(p);
        asked.push(base.to_string());
    }
    asked.sort();
    asked.dedup();
    asked
        .into_iter()
        .filter_map(|name| match map.map(&name, None) {
            Mapped::Path(p) => {
                let p = p.trim_start_matches("./");
                tree.iter()
                    .find(|t| t.as_str() == p)
                    .map(|t| (name, t.as_str()))
            }
            Mapped::Denied { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_escapes_and_stop_at_comments() {
        let m = MapFile::parse("m", "rg\t\\\\\t\t/\t\t# Convert backslashes\nrg \\# @\n").unwrap();
        assert_eq!(m.map(r"a\b\c", None), Mapped::Path("a/b/c".into()));
        assert_eq!(m.map("a#b", None), Mapped::Path("a@b".into()));
    }

    #[test]
    fn operations() {
        let m = MapFile::parse(
            "m",
            "a \\.pvt$\nre ^ok/ keep/\\0\nr ^(SEP.*) settings/\\1\nr ^ ip-\\i-\\x/\n",
        )
        .unwrap();
        assert!(matches!(
            m.map("x.pvt", None),
            Mapped::Denied { line: 1, .. }
        ));
        assert_eq!(m.map("ok/x", None), Mapped::Path("keep/ok/x".into()));
        let ip = Some(Ipv4Addr::new(192, 0, 2, 169));
        assert_eq!(
            m.map("SEP1.cnf.xml", ip),
            Mapped::Path("ip-192.0.2.169-C00002A9/settings/SEP1.cnf.xml".into())
        );
        let looped = MapFile::parse("m", "rs a aa\n").unwrap();
        assert!(matches!(looped.map("a", None), Mapped::Denied { .. }));
        let inverse = MapFile::parse("m", "~e ^SEP\nr ^ other/\n").unwrap();
        assert_eq!(
            inverse.map("RINGLIST.DAT", None),
            Mapped::Path("RINGLIST.DAT".into())
        );
        assert_eq!(inverse.map("SEP1", None), Mapped::Path("other/SEP1".into()));
    }

    #[test]
    fn bad_lines_are_refused_with_their_line() {
        for (text, line) in [
            ("r\n", 1),
            ("\n\nq ^x y\n", 3),
            ("r ^(x y\n", 1),
            ("r (x y\n", 1),
        ] {
            let e = MapFile::parse("rules", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }
}
