//! A lossless view of an XML file a phone reads (`SEP<MAC>.cnf.xml`,
//! `XMLDefault.cnf.xml`, dial plans): the original text plus, for every
//! element, where its start tag and its content are in that text.
//!
//! Real files carry elements and attributes no model of phoneflip's knows
//! (URLs, locales, `vendorConfig`, comments, odd indentation); rewriting
//! one from a model would drop them. Here the text is the file: the typed
//! models (`SepDevice`, `XmlDefault`, `DialPlan`) read from this tree, and
//! an edit replaces the bytes of one value and nothing else.
//!
//! Owns XML well-formedness errors with file, line and column. Must not
//! know what any element means: that is `sccp` and `dialplan`.

use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// An XML file that is not well-formed, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}, column {column}: {problem}; {fix}")]
pub struct XmlError {
    pub file: String,
    /// 1-based, as an editor numbers lines.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub problem: String,
    pub fix: String,
}

/// One attribute: its name as written and its unescaped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    pub value: String,
}

/// One element of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    /// Index of the enclosing element, `None` for the root.
    pub parent: Option<usize>,
    pub attrs: Vec<Attr>,
    /// The unescaped text directly inside the element (CDATA included),
    /// whitespace kept.
    pub text: String,
    /// Whether other elements are nested in it.
    pub has_children: bool,
    /// Byte span of the content between the start and the end tag; `None`
    /// for an empty element (`<a/>`).
    content: Option<(usize, usize)>,
    /// Byte span of the whole element, start tag to end tag.
    outer: (usize, usize),
}

/// A parsed XML file. `to_bytes()` is the input, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlDoc {
    file: String,
    src: String,
    elements: Vec<Element>,
}

/// Line and column (both 1-based) of byte `pos` in `src`.
pub fn line_col(src: &[u8], pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = &src[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = 1 + String::from_utf8_lossy(&before[start..]).chars().count();
    (line, column)
}

/// What a phone does with a file that is not well-formed, for the fix.
const PHONE_FIX: &str = "fix the XML: a phone that gets a malformed configuration file ignores it, loops and shows \"Protocol Application Invalid\"";

impl XmlDoc {
    /// Parses `bytes`; `file` names it in errors.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<XmlDoc, XmlError> {
        let fail = |pos: usize, problem: String, fix: &str| {
            let (line, column) = line_col(bytes, pos);
            XmlError {
                file: file.into(),
                line,
                column,
                problem,
                fix: fix.into(),
            }
        };
        let src = std::str::from_utf8(bytes).map_err(|e| {
            fail(
                e.valid_up_to(),
                "the file is not UTF-8 text".into(),
                "save it as UTF-8 or ASCII",
            )
        })?;
        let mut reader = Reader::from_str(src);
        let mut elements: Vec<Element> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let attrs_of = |e: &BytesStart, at: usize| -> Result<Vec<Attr>, XmlError> {
            let mut out = Vec::new();
            for a in e.attributes() {
                let a = a.map_err(|x| {
                    fail(
                        at,
                        format!(
                            "<{}> has a bad attribute: {x}",
                            String::from_utf8_lossy(e.name().as_ref())
                        ),
                        "write every attribute as name=\"value\", with both quotes",
                    )
                })?;
                let value = a.unescape_value().map_err(|x| {
                    fail(
                        at,
                        format!("bad attribute value: {x}"),
                        "escape & as &amp; and < as &lt;",
                    )
                })?;
                out.push(Attr {
                    name: String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    value: value.into_owned(),
                });
            }
            Ok(out)
        };
        let mut roots = 0usize;
        loop {
            let before = reader.buffer_position() as usize;
            let ev = reader.read_event();
            let after = reader.buffer_position() as usize;
            match ev {
                Err(e) => {
                    let pos = reader.error_position() as usize;
                    return Err(fail(pos, format!("malformed XML: {e}"), PHONE_FIX));
                }
                Ok(Event::Eof) => break,
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) if open.is_empty() && roots > 0 => {
                    return Err(fail(
                        before,
                        format!(
                            "a second root element <{}> follows the first",
                            String::from_utf8_lossy(e.name().as_ref())
                        ),
                        PHONE_FIX,
                    ));
                }
                Ok(Event::Start(e)) => {
                    roots += usize::from(open.is_empty());
                    let parent = open.last().copied();
                    if let Some(p) = parent {
                        elements[p].has_children = true;
                    }
                    elements.push(Element {
                        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                        parent,
                        attrs: attrs_of(&e, before)?,
                        text: String::new(),
                        has_children: false,
                        content: Some((after, after)),
                        outer: (before, after),
                    });
                    open.push(elements.len() - 1);
                }
                Ok(Event::Empty(e)) => {
                    roots += usize::from(open.is_empty());
                    let parent = open.last().copied();
                    if let Some(p) = parent {
                        elements[p].has_children = true;
                    }
                    elements.push(Element {
                        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                        parent,
                        attrs: attrs_of(&e, before)?,
                        text: String::new(),
                        has_children: false,
                        content: None,
                        outer: (before, after),
                    });
                }
                Ok(Event::End(_)) => {
                    let i = open.pop().expect("quick-xml checks end tags");
                    if let Some(c) = elements[i].content.as_mut() {
                        c.1 = before;
                    }
                    elements[i].outer.1 = after;
                }
                Ok(Event::Text(t)) => {
                    let s = t.unescape().map_err(|x| {
                        fail(
                            before,
                            format!("bad text: {x}"),
                            "escape & as &amp; and < as &lt;",
                        )
                    })?;
                    if let Some(&i) = open.last() {
                        elements[i].text.push_str(&s);
                    } else if !s.trim().is_empty() {
                        return Err(fail(
                            before,
                            format!("text {:?} outside the root element", s.trim()),
                            PHONE_FIX,
                        ));
                    }
                }
                Ok(Event::CData(t)) => {
                    if let Some(&i) = open.last() {
                        elements[i].text.push_str(&String::from_utf8_lossy(&t));
                    }
                }
                Ok(_) => {}
            }
        }
        if let Some(&i) = open.last() {
            return Err(fail(
                src.len(),
                format!("<{}> is never closed", elements[i].name),
                PHONE_FIX,
            ));
        }
        if elements.is_empty() {
            return Err(fail(
                0,
                "it holds no XML element".into(),
                "an empty file makes the phone loop and show \"Protocol Application Invalid\"; render it again",
            ));
        }
        Ok(XmlDoc {
            file: file.into(),
            src: src.to_string(),
            elements,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.src.clone().into_bytes()
    }

    pub fn as_str(&self) -> &str {
        &self.src
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// The root element's name.
    pub fn root(&self) -> &str {
        &self.elements[0].name
    }

    /// Element names from the root down to element `i`.
    pub fn path(&self, i: usize) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = Some(i);
        while let Some(c) = cur {
            out.push(self.elements[c].name.as_str());
            cur = self.elements[c].parent;
        }
        out.reverse();
        out
    }

    /// The first element whose path from the root is `path`.
    pub fn find(&self, path: &[&str]) -> Option<usize> {
        (0..self.elements.len()).find(|&i| self.path(i) == path)
    }

    /// Sets the text of element `i`, which must hold text only: replaces
    /// the text between its leading and trailing whitespace (or inserts
    /// it into an empty `<a></a>`), leaving every other byte alone.
    pub fn set_text(&mut self, i: usize, value: &str) -> Result<(), XmlError> {
        let el = &self.elements[i];
        let fail = |problem: String| {
            let (line, column) = line_col(self.src.as_bytes(), 0);
            XmlError {
                file: self.file.clone(),
                line,
                column,
                problem,
                fix: "edit the file by hand".into(),
            }
        };
        if el.has_children {
            return Err(fail(format!(
                "<{}> holds other elements, not a value",
                el.name
            )));
        }
        let new = match el.content {
            Some((a, b)) => {
                let inner = &self.src[a..b];
                let lead = inner.len() - inner.trim_start().len();
                let trail = inner.len() - inner.trim_end().len();
                let (a2, b2) = if inner.trim().is_empty() {
                    (a, b)
                } else {
                    (a + lead, b - trail)
                };
                let mut s = self.src.clone();
                s.replace_range(a2..b2, &escape(value));
                s
            }
            None => return Err(fail(format!("<{}/> is an empty element", el.name))),
        };
        *self = XmlDoc::parse(&self.file, new.as_bytes())?;
        Ok(())
    }

    /// The line ending the file uses (`\r\n` when any line has one).
    pub fn line_ending(&self) -> &'static str {
        if self.src.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// Replaces everything between the start and end tag of element `i`
    /// with `raw` (XML text), every byte outside it kept.
    pub fn replace_content(&mut self, i: usize, raw: &str) -> Result<(), XmlError> {
        let Some((a, b)) = self.elements[i].content else {
            let (o1, o2) = self.elements[i].outer;
            let name = self.elements[i].name.clone();
            return self.splice(o1, o2, &format!("<{name}>{raw}</{name}>"));
        };
        self.splice(a, b, raw)
    }

    /// Adds `raw` (one element as XML text) as the last child of element
    /// `i`: on a line of its own, indented like the previous child, when
    /// the file has one element per line; right before the end tag when
    /// it is written on one line.
    pub fn append_child(&mut self, i: usize, raw: &str) -> Result<(), XmlError> {
        let nl = self.line_ending();
        let Some((a, b)) = self.elements[i].content else {
            return self.replace_content(i, raw);
        };
        let inner = &self.src[a..b];
        let trailing = inner.len() - inner.trim_end().len();
        let ws = &inner[inner.len() - trailing..];
        match ws.rfind('\n') {
            Some(k) => {
                // After the last newline before the end tag: the new line
                // takes the indentation of the last child's line.
                let at = b - trailing + k + 1;
                let body = inner.trim_end();
                let last_line = body.rsplit('\n').next().unwrap_or("");
                let indent: String = last_line
                    .chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect();
                let text = format!("{indent}{raw}{nl}");
                self.splice(at, at, &text)
            }
            None => self.splice(b, b, raw),
        }
    }

    /// Removes element `i`, and its line when nothing else is on it.
    pub fn remove(&mut self, i: usize) -> Result<(), XmlError> {
        let (mut o1, mut o2) = self.elements[i].outer;
        let bytes = self.src.as_bytes();
        let mut s = o1;
        while s > 0 && matches!(bytes[s - 1], b' ' | b'\t') {
            s -= 1;
        }
        let mut e = o2;
        while e < bytes.len() && matches!(bytes[e], b' ' | b'\t' | b'\r') {
            e += 1;
        }
        if (s == 0 || bytes[s - 1] == b'\n') && e < bytes.len() && bytes[e] == b'\n' {
            o1 = s;
            o2 = e + 1;
        }
        self.splice(o1, o2, "")
    }

    /// Sets attribute `name` of element `i` to `value` (adding it when
    /// the element has none), every other byte of the start tag kept.
    pub fn set_attr(&mut self, i: usize, name: &str, value: &str) -> Result<(), XmlError> {
        let el = &self.elements[i];
        let start = el.outer.0;
        let end = el.content.map_or(el.outer.1, |c| c.0);
        let tag = &self.src[start..end];
        let value = escape(value).replace('"', "&quot;");
        let bytes = tag.as_bytes();
        let mut found = None;
        for (k, _) in tag.match_indices(name) {
            let before_ok = k > 0 && bytes[k - 1].is_ascii_whitespace();
            let rest = tag[k + name.len()..].trim_start();
            if before_ok && rest.starts_with('=') {
                let after_eq = tag.len() - rest.len() + 1;
                let q_at = after_eq + (tag[after_eq..].len() - tag[after_eq..].trim_start().len());
                let q = bytes[q_at];
                if q == b'"' || q == b'\'' {
                    if let Some(close) = tag[q_at + 1..].find(q as char) {
                        found = Some((q_at + 1, q_at + 1 + close));
                        break;
                    }
                }
            }
        }
        match found {
            Some((a, b)) => {
                let value = if bytes[a - 1] == b'\'' {
                    value.replace('\'', "&apos;")
                } else {
                    value
                };
                self.splice(start + a, start + b, &value)
            }
            None => {
                let close = tag.rfind("/>").unwrap_or(tag.len() - 1);
                let at = start + tag[..close].trim_end().len();
                self.splice(at, at, &format!(" {name}=\"{value}\""))
            }
        }
    }

    /// The children of element `i`, in file order.
    pub fn children(&self, i: usize) -> Vec<usize> {
        (0..self.elements.len())
            .filter(|&c| self.elements[c].parent == Some(i))
            .collect()
    }

    fn splice(&mut self, a: usize, b: usize, raw: &str) -> Result<(), XmlError> {
        let mut s = self.src.clone();
        s.replace_range(a..b, raw);
        *self = XmlDoc::parse(&self.file, s.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_everything_and_edits_one_value() {
        let src = "<?xml version=\"1.0\"?>\r\n<Default>\r\n  <!-- c -->\r\n  <x a='1' B=\"2\">  P1 </x>\r\n<e/><y></y>\r\n</Default>\r\n";
        let mut d = XmlDoc::parse("f", src.as_bytes()).unwrap();
        assert_eq!(d.to_bytes(), src.as_bytes());
        assert_eq!(d.root(), "Default");
        let x = d.find(&["Default", "x"]).unwrap();
        assert_eq!(d.elements()[x].attrs[1].name, "B");
        d.set_text(x, "P2&").unwrap();
        assert_eq!(d.as_str(), src.replace("  P1 <", "  P2&amp; <"));
        let y = d.find(&["Default", "y"]).unwrap();
        d.set_text(y, "v").unwrap();
        assert!(d.as_str().contains("<y>v</y>"));
        assert!(d.set_text(0, "no").is_err());
    }

    #[test]
    fn broken_files_say_where() {
        let e = XmlDoc::parse("X.xml", b"<a>\n <b>1</c>\n</a>").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.to_string().contains("X.xml line 2"), "{e}");
        let e = XmlDoc::parse("X.xml", b"<a>\n</b>\n</a>").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = XmlDoc::parse("X.xml", b"<a>\n<b>").unwrap_err();
        assert!(e.problem.contains("never closed"), "{e}");
        let e = XmlDoc::parse("X.xml", b"").unwrap_err();
        assert!(
            e.to_string().contains("Protocol Application Invalid"),
            "{e}"
        );
        let e = XmlDoc::parse("X.xml", b"<a/><b/>").unwrap_err();
        assert!(e.problem.contains("second root"), "{e}");
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(d) = XmlDoc::parse("f", &b) {
                prop_assert_eq!(d.to_bytes(), b);
            }
        }

        #[test]
        fn edits_change_only_the_value(ws in "[ \t\r\n]{0,3}", v in "[A-Za-z0-9.-]{1,12}", w in "[A-Za-z0-9.-]{1,12}") {
            let src = format!("<d>{ws}<!-- k -->{ws}<l m=\"x\">{ws}{v}{ws}</l>{ws}</d>{ws}");
            let mut d = XmlDoc::parse("f", src.as_bytes()).unwrap();
            let l = d.find(&["d", "l"]).unwrap();
            d.set_text(l, &w).unwrap();
            let want = src.replacen(&format!(">{ws}{v}{ws}<"), &format!(">{ws}{w}{ws}<"), 1);
            prop_assert_eq!(d.as_str(), want.as_str());
        }
    }
}
