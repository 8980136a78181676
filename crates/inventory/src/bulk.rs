//! Bulk import and export of phones as CSV, like a CallManager Bulk
//! Administration file: a header row, then one phone per line.
//!
//! # Columns
//!
//! Header names are matched case-insensitively and may come in any order;
//! only `mac` and `model` are required. A column left out of the file is
//! read as empty for every row (an import replaces a phone's administrative
//! fields; it does not merge).
//!
//! | column | meaning |
//! |---|---|
//! | `mac` | the phone's MAC: `002094D245CB`, `00:20:94:d2:45:cb`, `0020.94d2.45cb`, any case |
//! | `model` | `7940` or `7960` (also `CP-7960G`, `IP Phone 7960`) |
//! | `description` | free text |
//! | `site` | free text used to select phones (`phones list --site`) |
//! | `tags` | tags separated by `;` (`floor2;lobby`) |
//! | `label` | `phone_label`, the text on the SIP phone's top bar |
//! | `template` | name of a template (`phoneflip templates add`); its protocol must match the desired one |
//! | `desired_protocol` | `sip` or `sccp` (also `mgcp`); may be left empty when `desired_load` is given |
//! | `desired_load` | the application load the phone must run (`P0S3-8-12-00`, `P0030801SR02`), never the loader |
//! | `current_load` | the load the phone runs today (`P0030801SR02`, `sccp:8.1(2)SR2`), as the call manager's LOAD INFORMATION: fills in what phoneflip has not yet seen; serve plans from it |
//! | `overrides` | per-phone parameters over the template: `key=value;key=value`, `\;` and `\\` escape |
//! | `lineN_name` | SIP user of line N (N = 1..6 on a 7960, 1..2 on a 7940); required if any other lineN_ cell is set |
//! | `lineN_authname`, `lineN_password`, `lineN_displayname`, `lineN_shortname` | the line's credentials and labels |
//!
//! Export writes every column in the order above, so `import(export(db))`
//! changes nothing. `current_load` is exported as the load phoneflip
//! believes the phone runs; on import a cell fills it in only while
//! phoneflip knows none (a load it saw the phone fetch and boot wins over
//! a file; `phones set --current-load` overrides both), and an empty cell
//! keeps it. Auto-registration and times are not in the file.
//!
//! `desired_load` also takes `protocol:version` (`sip:8.12`), read by the
//! planner's parser so it means what it means to `plan` and `jobs`.
//!
//! Errors: every bad cell of every row is reported with its line number
//! (as an editor shows it, header = line 1, LF or CRLF alike) and column,
//! and nothing is imported while any error remains. Reading is strict
//! ([`crate::csvread`]): a quote that is never closed, a stray quote, a row
//! with more or fewer fields than the header, a cell over
//! [`crate::csvread::MAX_CELL_CHARS`] characters and bytes that are not
//! UTF-8 (or UTF-16 with its byte-order mark) are refused, never repaired.
//!
//! Export guards every cell that a spreadsheet would run as a formula (one
//! starting with `=`, `+`, `-` or `@`, or with `'`) by prefixing `'`; import
//! removes that prefix, so round trips stay exact.
//!
//! A file whose header has `DEVICE NAME` is the call manager's own Bulk
//! Administration export and is read by [`crate::bat`] instead.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::{Read, Write};

use phoneflip_config::Line;
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol};
use serde::Serialize;

use phoneflip_plan::Endpoint;

pub use crate::csvread::Encoding;
use crate::csvread::{decode, guard, read_table, Table};
use crate::record::{check_key, check_tag, ImportScope, ImportSummary, Phone};
use crate::store::{Inventory, InventoryError};

/// Highest line number any supported model has (the 7960's six buttons).
pub const MAX_LINES: u8 = 6;

const LINE_FIELDS: [&str; 5] = ["name", "authname", "password", "displayname", "shortname"];

const FIXED_COLUMNS: [&str; 11] = [
    "mac",
    "model",
    "description",
    "site",
    "tags",
    "label",
    "template",
    "desired_protocol",
    "desired_load",
    "current_load",
    "overrides",
];

/// Every column in export order.
pub fn columns() -> Vec<String> {
    let mut v: Vec<String> = FIXED_COLUMNS.iter().map(|s| s.to_string()).collect();
    for n in 1..=MAX_LINES {
        for f in LINE_FIELDS {
            v.push(format!("line{n}_{f}"));
        }
    }
    v
}

/// What kind of mistake a row holds, for callers that react per kind (the
/// HTTP API maps them to messages; tests check them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorKind {
    Syntax,
    UnknownColumn,
    DuplicateColumn,
    MissingColumn,
    MissingValue,
    BadMac,
    DuplicateMac,
    UnknownModel,
    BadProtocol,
    BadLoad,
    LoaderAsLoad,
    ProtocolMismatch,
    UnknownTemplate,
    TemplateProtocol,
    LineBeyondModel,
    LineWithoutName,
    BadTag,
    BadOverride,
    /// The bytes are not text in an encoding phoneflip reads.
    Encoding,
    /// A cell longer than [`crate::csvread::MAX_CELL_CHARS`].
    TooLong,
}

/// One bad cell (or header, or unreadable record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line in the file where the record starts; the header is 1.
    pub line: u64,
    pub column: String,
    pub kind: RowErrorKind,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

/// Every error found in a file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvErrors(pub Vec<RowError>);

impl fmt::Display for CsvErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: BTreeSet<u64> = self.0.iter().map(|e| e.line).collect();
        write!(
            f,
            "{} error(s) on {} line(s); nothing was imported, fix them and import again:",
            self.0.len(),
            rows.len()
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CsvErrors {}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Rows(CsvErrors),
    #[error(transparent)]
    Store(#[from] InventoryError),
}

/// The two layouts an import file can have, told apart by the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// phoneflip's own columns (this module's table).
    Phoneflip,
    /// The call manager's Bulk Administration phone export
    /// ([`crate::bat`]): a `DEVICE NAME` column with `SEP<MAC>` names.
    CallManager,
}

/// How to read an import file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    pub encoding: Encoding,
}

/// A file that parsed: its phones in file order, what it was, and what was
/// skipped on the way (unknown call-manager columns).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub phones: Vec<Phone>,
    pub format: Format,
    /// The encoding the file was decoded from (`UTF-8`, `UTF-16LE`, ...).
    pub encoding: &'static str,
    /// Not errors: the import goes ahead. Shown to the user all the same.
    pub warnings: Vec<RowError>,
}

/// Parses and checks a whole file; `templates` maps each known template
/// name to its protocol. Pure: the store is not touched.
pub fn parse_csv<R: Read>(
    mut input: R,
    templates: &BTreeMap<String, Protocol>,
) -> Result<Vec<Phone>, CsvErrors> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(|e| {
        CsvErrors(vec![RowError {
            line: 1,
            column: "-".into(),
            kind: RowErrorKind::Syntax,
            reason: format!("cannot read the file: {e}"),
        }])
    })?;
    parse_bytes(&bytes, templates, &ParseOptions::default()).map(|p| p.phones)
}

/// [`parse_csv`] for either format, with options, keeping the warnings.
pub fn parse_bytes(
    bytes: &[u8],
    templates: &BTreeMap<String, Protocol>,
    opts: &ParseOptions,
) -> Result<Parsed, CsvErrors> {
    let (text, encoding) = decode(bytes, opts.encoding).map_err(|e| CsvErrors(vec![e]))?;
    let (table, mut read_errors) = read_table(&text).map_err(CsvErrors)?;
    let Some(table) = table else {
        return Err(CsvErrors(vec![RowError {
            line: 1,
            column: "mac".into(),
            kind: RowErrorKind::MissingColumn,
            reason: format!(
                "the file is empty; it needs a header row such as {}",
                columns()[..2].join(",")
            ),
        }]));
    };
    let parsed = if crate::bat::is_bat_header(&table.header.cells) {
        crate::bat::parse_table(&table).map(|(p, w)| (p, Format::CallManager, w))
    } else {
        parse_table(&table, templates).map(|p| (p, Format::Phoneflip, Vec::new()))
    };
    let (phones, format, warnings) = match parsed {
        Ok(p) if read_errors.is_empty() => p,
        Ok(_) => return Err(CsvErrors(read_errors)),
        Err(CsvErrors(more)) => {
            // Header errors alone when the header is wrong: every row
            // would repeat them.
            if more.iter().any(|e| e.line == table.header.line) {
                return Err(CsvErrors(more));
            }
            read_errors.extend(more);
            read_errors.sort_by_key(|e| e.line);
            return Err(CsvErrors(read_errors));
        }
    };
    Ok(Parsed {
        phones,
        format,
        encoding,
        warnings,
    })
}

fn parse_table(
    table: &Table,
    templates: &BTreeMap<String, Protocol>,
) -> Result<Vec<Phone>, CsvErrors> {
    let mut errors = Vec::new();
    let header_line = table.header.line;
    let known: BTreeSet<String> = columns().into_iter().collect();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, raw) in table.header.cells.iter().enumerate() {
        let name = raw.trim().to_ascii_lowercase();
        if !known.contains(&name) {
            let hint = if name.starts_with("line") {
                format!(
                    "; line columns are line1_ to line{MAX_LINES}_ followed by {}",
                    LINE_FIELDS.join(", ")
                )
            } else {
                format!(
                    "; known columns: {}, line1_name .. line{MAX_LINES}_shortname \
                     (or a call manager Bulk Administration export, with DEVICE NAME)",
                    FIXED_COLUMNS.join(", ")
                )
            };
            // An empty header cell (a stray comma) is named by position.
            let column = if raw.trim().is_empty() {
                format!("#{} (empty header)", i + 1)
            } else {
                raw.to_string()
            };
            errors.push(RowError {
                line: header_line,
                column,
                kind: RowErrorKind::UnknownColumn,
                reason: format!("unknown column {raw:?}{hint}"),
            });
        } else if index.insert(name.clone(), i).is_some() {
            errors.push(RowError {
                line: header_line,
                column: name.clone(),
                kind: RowErrorKind::DuplicateColumn,
                reason: format!("column {name:?} appears twice in the header; keep one"),
            });
        }
    }
    for required in ["mac", "model"] {
        if !index.contains_key(required) {
            errors.push(RowError {
                line: header_line,
                column: required.into(),
                kind: RowErrorKind::MissingColumn,
                reason: format!("the header has no {required:?} column, which every phone needs"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(CsvErrors(errors));
    }

    let mut phones = Vec::new();
    let mut first_seen: HashMap<Mac, u64> = HashMap::new();
    for rec in &table.rows {
        let cell = Cells {
            rec: &rec.cells,
            index: &index,
        };
        let row = Row {
            line: rec.line,
            errors: &mut errors,
        };
        if let Some(p) = parse_row(row, &cell, templates, &mut first_seen) {
            phones.push(p);
        }
    }
    if errors.is_empty() {
        Ok(phones)
    } else {
        Err(CsvErrors(errors))
    }
}

/// Parses a desired load cell: a load name or `protocol:version`, read by
/// the planner's own parser so that `sip:8.12` means here what it means to
/// `plan` and `jobs` (Cisco's name for that release, `P0S3-8-12-00`).
pub fn parse_desired_load(s: &str) -> Result<LoadName, String> {
    match s.parse::<Endpoint>() {
        Ok(Endpoint::Load(l)) => Ok(l),
        Ok(Endpoint::Release(r)) => {
            LoadName::try_canonical(r.protocol, r.version).map_err(|e| e.to_string())
        }
        Err(e) => Err(format!(
            "{e}; write a load name (P0S3-8-12-00) or protocol:version (sip:8.12)"
        )),
    }
}

struct Cells<'a> {
    rec: &'a [String],
    index: &'a HashMap<String, usize>,
}

impl<'a> Cells<'a> {
    /// The cell of `column`, empty when the file has no such column.
    fn get(&self, column: &str) -> &'a str {
        self.index
            .get(column)
            .and_then(|&i| self.rec.get(i))
            .map_or("", String::as_str)
    }
}

struct Row<'a> {
    line: u64,
    errors: &'a mut Vec<RowError>,
}

impl Row<'_> {
    fn err(&mut self, column: &str, kind: RowErrorKind, reason: impl Into<String>) {
        self.errors.push(RowError {
            line: self.line,
            column: column.to_string(),
            kind,
            reason: reason.into(),
        });
    }
}

fn parse_row(
    mut row: Row<'_>,
    cell: &Cells<'_>,
    templates: &BTreeMap<String, Protocol>,
    first_seen: &mut HashMap<Mac, u64>,
) -> Option<Phone> {
    let before = row.errors.len();
    let mac_cell = cell.get("mac").trim();
    let mac = if mac_cell.is_empty() {
        row.err(
            "mac",
            RowErrorKind::MissingValue,
            "the MAC is empty; every phone needs one",
        );
        None
    } else {
        match mac_cell.parse::<Mac>() {
            Ok(m) => {
                if let Some(first) = first_seen.get(&m) {
                    row.err(
                        "mac",
                        RowErrorKind::DuplicateMac,
                        format!("MAC {m} is already on line {first}; each phone may appear once"),
                    );
                } else {
                    first_seen.insert(m, row.line);
                }
                Some(m)
            }
            Err(e) => {
                row.err("mac", RowErrorKind::BadMac, e.to_string());
                None
            }
        }
    };
    let model_cell = cell.get("model").trim();
    let model = if model_cell.is_empty() {
        row.err(
            "model",
            RowErrorKind::MissingValue,
            "the model is empty; write 7940 or 7960",
        );
        None
    } else {
        match model_cell.parse::<Model>() {
            Ok(m) => Some(m),
            Err(e) => {
                row.err("model", RowErrorKind::UnknownModel, e.to_string());
                None
            }
        }
    };

    let protocol_cell = cell.get("desired_protocol").trim();
    let desired_protocol = if protocol_cell.is_empty() {
        None
    } else {
        match protocol_cell.parse::<Protocol>() {
            Ok(p) => Some(p),
            Err(e) => {
                row.err("desired_protocol", RowErrorKind::BadProtocol, e.to_string());
                None
            }
        }
    };
    let load_cell = cell.get("desired_load").trim();
    let desired_load = if load_cell.is_empty() {
        None
    } else {
        match parse_desired_load(load_cell) {
            Ok(l) if l.is_universal_loader() => {
                row.err(
                    "desired_load",
                    RowErrorKind::LoaderAsLoad,
                    format!(
                        "{l} is the universal application loader, not an application load; \
                         write the application load, e.g. {}",
                        LoadName::canonical(Protocol::Sip, l.version())
                    ),
                );
                None
            }
            Ok(l) => Some(l),
            Err(e) => {
                row.err("desired_load", RowErrorKind::BadLoad, e);
                None
            }
        }
    };
    if let (Some(p), Some(l)) = (desired_protocol, &desired_load) {
        if l.protocol() != p {
            row.err(
                "desired_load",
                RowErrorKind::ProtocolMismatch,
                format!(
                    "{l} is a {} load but desired_protocol is {p}; make them agree or leave one empty",
                    l.protocol()
                ),
            );
        }
    }
    let target = desired_protocol.or_else(|| desired_load.as_ref().map(LoadName::protocol));
    let current_cell = cell.get("current_load").trim();
    let current_load = if current_cell.is_empty() {
        None
    } else {
        match parse_desired_load(current_cell) {
            Ok(l) if l.is_universal_loader() => {
                row.err(
                    "current_load",
                    RowErrorKind::LoaderAsLoad,
                    format!(
                        "{l} is the universal application loader, which no phone runs; \
                         write the application load it runs, e.g. {}",
                        LoadName::canonical(Protocol::Sip, l.version())
                    ),
                );
                None
            }
            Ok(l) => Some(l),
            Err(e) => {
                row.err("current_load", RowErrorKind::BadLoad, e);
                None
            }
        }
    };

    let template_cell = cell.get("template").trim();
    let template = if template_cell.is_empty() {
        None
    } else {
        match templates.get(template_cell) {
            None => {
                let known = if templates.is_empty() {
                    "there are no templates yet".to_string()
                } else {
                    format!(
                        "known templates: {}",
                        templates.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                };
                row.err(
                    "template",
                    RowErrorKind::UnknownTemplate,
                    format!(
                        "unknown template {template_cell:?} ({known}); create it with \
                         phoneflip templates add {template_cell} --protocol sip|sccp KEY=VALUE..."
                    ),
                );
                None
            }
            Some(tp) => {
                if let Some(t) = target {
                    if *tp != t {
                        row.err(
                            "template",
                            RowErrorKind::TemplateProtocol,
                            format!(
                                "template {template_cell:?} is for {tp} but the phone's desired protocol is {t}; \
                                 pick a {t} template"
                            ),
                        );
                    }
                }
                Some(template_cell.to_string())
            }
        }
    };

    let mut tags = BTreeSet::new();
    for t in cell
        .get("tags")
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        match check_tag(t) {
            Ok(()) => {
                tags.insert(t.to_string());
            }
            Err(reason) => row.err("tags", RowErrorKind::BadTag, format!("tag {t:?}: {reason}")),
        }
    }
    let overrides = match parse_overrides(cell.get("overrides")) {
        Ok(o) => o,
        Err(reason) => {
            row.err("overrides", RowErrorKind::BadOverride, reason);
            BTreeMap::new()
        }
    };

    let mut lines = Vec::new();
    for n in 1..=MAX_LINES {
        let get = |f: &str| cell.get(&format!("line{n}_{f}")).to_string();
        let values: Vec<String> = LINE_FIELDS.iter().map(|f| get(f)).collect();
        let Some(first_set) = LINE_FIELDS
            .iter()
            .zip(&values)
            .find(|(_, v)| !v.is_empty())
            .map(|(f, _)| *f)
        else {
            continue;
        };
        if let Some(m) = model {
            if n > m.lines() {
                row.err(
                    &format!("line{n}_{first_set}"),
                    RowErrorKind::LineBeyondModel,
                    format!(
                        "a {m} has lines 1 to {}, so line {n} cannot be set; remove the line{n}_ cells or change the model",
                        m.lines()
                    ),
                );
                continue;
            }
        }
        if values[0].is_empty() {
            row.err(
                &format!("line{n}_name"),
                RowErrorKind::LineWithoutName,
                format!("line {n} has {first_set} but no name; line{n}_name is the SIP user and is required"),
            );
            continue;
        }
        let opt = |i: usize| Some(values[i].clone()).filter(|v| !v.is_empty());
        lines.push(Line {
            number: n,
            name: values[0].clone(),
            authname: opt(1),
            password: opt(2),
            displayname: opt(3),
            shortname: opt(4),
        });
    }

    if row.errors.len() > before {
        return None;
    }
    let (mac, model) = (mac?, model?);
    let opt_text = |c: &str| Some(cell.get(c).to_string()).filter(|v| !v.is_empty());
    Some(Phone {
        description: cell.get("description").to_string(),
        site: opt_text("site"),
        tags,
        label: opt_text("label"),
        lines,
        desired_protocol,
        desired_load,
        observed_load: current_load,
        template,
        overrides,
        ..Phone::new(mac, model)
    })
}

/// Parses `key=value;key=value` with `\;` and `\\` escapes in values.
pub fn parse_overrides(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => {
                    // Keep the escape so that '=' splitting below sees the
                    // raw text; unescape after splitting.
                    cur.push('\\');
                    cur.push(n);
                }
                None => {
                    return Err(
                        "the overrides end with a lone '\\'; write \\\\ for a backslash".into(),
                    )
                }
            },
            ';' => items.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    items.push(cur);
    let mut out = BTreeMap::new();
    for item in items {
        if item.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!(
                "{:?} has no '='; write key=value pairs separated by ';'",
                item.trim()
            ));
        };
        let key = k.trim();
        if !check_key(key) {
            return Err(format!(
                "{key:?} is not a parameter name; use letters, digits, '_', '.' or '-'"
            ));
        }
        let mut value = String::with_capacity(v.len());
        let mut vc = v.chars();
        while let Some(c) = vc.next() {
            if c == '\\' {
                value.extend(vc.next());
            } else {
                value.push(c);
            }
        }
        if out.insert(key.to_string(), value).is_some() {
            return Err(format!("{key:?} is set twice; keep one"));
        }
    }
    Ok(out)
}

/// The inverse of [`parse_overrides`].
pub fn write_overrides(o: &BTreeMap<String, String>) -> String {
    o.iter()
        .map(|(k, v)| {
            let mut s = String::with_capacity(k.len() + v.len() + 1);
            s.push_str(k);
            s.push('=');
            for c in v.chars() {
                if matches!(c, '\\' | ';') {
                    s.push('\\');
                }
                s.push(c);
            }
            s
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Writes phones in the import format, every column, header first.
pub fn write_csv<W: Write>(phones: &[Phone], out: W) -> Result<(), csv::Error> {
    let mut w = csv::WriterBuilder::new().from_writer(out);
    w.write_record(columns())?;
    for p in phones {
        let mut rec: Vec<String> = vec![
            p.mac.to_string(),
            p.model.to_string(),
            p.description.clone(),
            p.site.clone().unwrap_or_default(),
            p.tags.iter().cloned().collect::<Vec<_>>().join(";"),
            p.label.clone().unwrap_or_default(),
            p.template.clone().unwrap_or_default(),
            p.desired_protocol
                .map(|x| x.to_string())
                .unwrap_or_default(),
            p.desired_load
                .as_ref()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
            p.observed_load
                .as_ref()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
            write_overrides(&p.overrides),
        ];
        for n in 1..=MAX_LINES {
            match p.lines.iter().find(|l| l.number == n) {
                Some(l) => {
                    rec.push(l.name.clone());
                    for v in [&l.authname, &l.password, &l.displayname, &l.shortname] {
                        rec.push(v.clone().unwrap_or_default());
                    }
                }
                None => rec.extend(std::iter::repeat(String::new()).take(LINE_FIELDS.len())),
            }
        }
        w.write_record(rec.iter().map(|c| guard(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}

/// What an import did, with what the file turned out to be.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    #[serde(flatten)]
    pub summary: ImportSummary,
    pub format: Format,
    pub encoding: &'static str,
    pub warnings: Vec<RowError>,
}

/// Parses `input` against the store's templates and applies it in one
/// transaction (or rolls it back with `dry_run`).
pub fn import_csv<R: Read>(
    store: &dyn Inventory,
    mut input: R,
    dry_run: bool,
) -> Result<ImportSummary, ImportError> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| InventoryError::Backend(format!("reading the CSV: {e}")))?;
    Ok(import_bytes(store, &bytes, dry_run, &ParseOptions::default())?.summary)
}

/// [`import_csv`] for either format, with options. A call manager file
/// changes only the fields it carries ([`ImportScope::CallManager`]); a
/// phoneflip file replaces every administrative field.
pub fn import_bytes(
    store: &dyn Inventory,
    bytes: &[u8],
    dry_run: bool,
    opts: &ParseOptions,
) -> Result<Imported, ImportError> {
    let templates: BTreeMap<String, Protocol> = store
        .list_templates()?
        .into_iter()
        .map(|t| (t.name, t.protocol))
        .collect();
    let parsed = parse_bytes(bytes, &templates, opts).map_err(ImportError::Rows)?;
    let scope = match parsed.format {
        Format::Phoneflip => ImportScope::AllAdminFields,
        Format::CallManager => ImportScope::CallManager,
    };
    let summary = store.import_phones_scoped(&parsed.phones, scope, dry_run)?;
    Ok(Imported {
        summary,
        format: parsed.format,
        encoding: parsed.encoding,
        warnings: parsed.warnings,
    })
}

/// Writes every phone in the store as an import file.
pub fn export_csv<W: Write>(store: &dyn Inventory, out: W) -> Result<(), ImportError> {
    export_as(store, out, Format::Phoneflip)
}

/// Writes every phone in the store in `format`.
pub fn export_as<W: Write>(
    store: &dyn Inventory,
    out: W,
    format: Format,
) -> Result<(), ImportError> {
    let phones = store.list_phones(&Default::default())?;
    match format {
        Format::Phoneflip => write_csv(&phones, out),
        Format::CallManager => crate::bat::write_bat(&phones, out),
    }
    .map_err(|e| InventoryError::Backend(format!("writing CSV: {e}")))?;
    Ok(())
}
