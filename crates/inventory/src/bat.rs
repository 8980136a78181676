//! The call manager's own Bulk Administration (BAT) phone export, read and
//! written as it is, so that an administrator can move a fleet from the
//! call manager to phoneflip (and back) without editing a spreadsheet.
//!
//! # Mapping
//!
//! | BAT column | phoneflip |
//! |---|---|
//! | `DEVICE NAME` | the MAC: `SEP0017953A1000` → `0017953A1000` (the `SEP` prefix is required) |
//! | `DESCRIPTION` | `description` |
//! | `DEVICE TYPE` | the model: `Cisco 7960` → 7960, `Cisco 7940` → 7940 |
//! | `DEVICE POOL` | `site` |
//! | `LOAD INFORMATION` | the load the phone is known to run (`observed_load`), until phoneflip sees it run another |
//! | `DIRECTORY NUMBER n` | line n's SIP user (`lineN_name`) |
//! | `DISPLAY n` | line n's caller-ID name (`lineN_displayname`) |
//! | `LINE TEXT LABEL n` | line n's button label (`lineN_shortname`) |
//!
//! Column names are matched case-insensitively. Every other column (CSS,
//! LOCATION, OWNER USER ID, ...) is skipped with one warning naming them:
//! a BAT export has dozens phoneflip has no use for. The file is detected
//! by its `DEVICE NAME` header.
//!
//! Importing a BAT file changes only the fields above on phones already in
//! the inventory: template, desired protocol and load, tags, overrides and
//! line credentials (which a BAT export does not carry) are kept. Export
//! writes the same columns back, lines up to the highest one any phone has.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use phoneflip_config::Line;
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::LoadName;

use crate::bulk::{CsvErrors, RowError, RowErrorKind, MAX_LINES};
use crate::csvread::{guard, Table};
use crate::record::Phone;

const DEVICE_NAME: &str = "DEVICE NAME";
const DESCRIPTION: &str = "DESCRIPTION";
const DEVICE_TYPE: &str = "DEVICE TYPE";
const DEVICE_POOL: &str = "DEVICE POOL";
const LOAD_INFORMATION: &str = "LOAD INFORMATION";
const LINE_COLUMNS: [(&str, LineField); 3] = [
    ("DIRECTORY NUMBER", LineField::Number),
    ("DISPLAY", LineField::Display),
    ("LINE TEXT LABEL", LineField::Label),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum LineField {
    Number,
    Display,
    Label,
}

/// What a header cell means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Fixed(&'static str),
    Line(u8, LineField),
}

fn norm(cell: &str) -> String {
    cell.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

/// Whether a header row is a BAT export's.
pub fn is_bat_header(cells: &[String]) -> bool {
    cells.iter().any(|c| norm(c) == DEVICE_NAME)
}

fn column(name: &str) -> Option<Column> {
    for fixed in [
        DEVICE_NAME,
        DESCRIPTION,
        DEVICE_TYPE,
        DEVICE_POOL,
        LOAD_INFORMATION,
    ] {
        if name == fixed {
            return Some(Column::Fixed(fixed));
        }
    }
    for (prefix, field) in LINE_COLUMNS {
        if let Some(n) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix(' ')) {
            if let Ok(n) = n.parse::<u8>() {
                if (1..=MAX_LINES).contains(&n) {
                    return Some(Column::Line(n, field));
                }
            }
        }
    }
    None
}

/// Parses a BAT table; returns the phones and the skipped-column warning.
pub(crate) fn parse_table(table: &Table) -> Result<(Vec<Phone>, Vec<RowError>), CsvErrors> {
    let header_line = table.header.line;
    let mut errors = Vec::new();
    let mut index: HashMap<Column, usize> = HashMap::new();
    let mut skipped = Vec::new();
    for (i, raw) in table.header.cells.iter().enumerate() {
        let name = norm(raw);
        match column(&name) {
            Some(c) => {
                if index.insert(c, i).is_some() {
                    errors.push(RowError {
                        line: header_line,
                        column: raw.clone(),
                        kind: RowErrorKind::DuplicateColumn,
                        reason: format!("column {raw:?} appears twice in the header; keep one"),
                    });
                }
            }
            None if name.is_empty() => {}
            None => skipped.push(raw.trim().to_string()),
        }
    }
    for required in [DEVICE_NAME, DEVICE_TYPE] {
        if !index.contains_key(&Column::Fixed(required)) {
            errors.push(RowError {
                line: header_line,
                column: required.into(),
                kind: RowErrorKind::MissingColumn,
                reason: format!(
                    "this call manager export has no {required:?} column, which every phone needs; \
                     export the phones again with it"
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(CsvErrors(errors));
    }
    let mut warnings = Vec::new();
    if !skipped.is_empty() {
        warnings.push(RowError {
            line: header_line,
            column: skipped.join(", "),
            kind: RowErrorKind::UnknownColumn,
            reason: format!(
                "{} call manager column(s) phoneflip does not use were skipped: {}",
                skipped.len(),
                skipped.join(", ")
            ),
        });
    }

    let mut phones = Vec::new();
    let mut first_seen: HashMap<Mac, u64> = HashMap::new();
    for rec in &table.rows {
        let get = |c: Column| -> &str {
            index
                .get(&c)
                .and_then(|&i| rec.cells.get(i))
                .map_or("", |s| s.trim())
        };
        let before = errors.len();
        let mut err = |column: &str, kind: RowErrorKind, reason: String| {
            errors.push(RowError {
                line: rec.line,
                column: column.to_string(),
                kind,
                reason,
            })
        };
        let name = get(Column::Fixed(DEVICE_NAME));
        let mac = match name
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case("SEP"))
            .map(|_| &name[3..])
        {
            _ if name.is_empty() => {
                err(
                    DEVICE_NAME,
                    RowErrorKind::MissingValue,
                    "the device name is empty; every phone needs one (SEP followed by its MAC)"
                        .into(),
                );
                None
            }
            None => {
                err(
                    DEVICE_NAME,
                    RowErrorKind::BadMac,
                    format!(
                        "device name {name:?} does not start with SEP; a 7940/7960 is named SEP \
                         followed by its 12-digit MAC (SEP0017953A1000)"
                    ),
                );
                None
            }
            Some(hex) => match hex.parse::<Mac>() {
                Ok(m) if hex.len() == 12 => {
                    if let Some(first) = first_seen.get(&m) {
                        err(
                            DEVICE_NAME,
                            RowErrorKind::DuplicateMac,
                            format!(
                                "device {name} is already on line {first}; each phone may appear once"
                            ),
                        );
                    } else {
                        first_seen.insert(m, rec.line);
                    }
                    Some(m)
                }
                Ok(_) => {
                    err(
                        DEVICE_NAME,
                        RowErrorKind::BadMac,
                        format!("device name {name:?}: after SEP come the MAC's 12 hex digits, with no separators"),
                    );
                    None
                }
                Err(e) => {
                    err(
                        DEVICE_NAME,
                        RowErrorKind::BadMac,
                        format!("device name {name:?}: {e}"),
                    );
                    None
                }
            },
        };
        let ty = get(Column::Fixed(DEVICE_TYPE));
        let model = match ty.parse::<Model>() {
            Ok(m) if !ty.is_empty() => Some(m),
            _ => {
                err(
                    DEVICE_TYPE,
                    RowErrorKind::UnknownModel,
                    format!(
                        "device type {ty:?} is not a phone phoneflip converts (Cisco 7940 or Cisco \
                         7960); export only those device types, or delete the row"
                    ),
                );
                None
            }
        };
        let load_cell = get(Column::Fixed(LOAD_INFORMATION));
        let load = if load_cell.is_empty() {
            None
        } else {
            match load_cell.parse::<LoadName>() {
                Ok(l) => Some(l),
                Err(e) => {
                    err(LOAD_INFORMATION, RowErrorKind::BadLoad, e.to_string());
                    None
                }
            }
        };
        let mut lines: BTreeMap<u8, [String; 3]> = BTreeMap::new();
        for (&c, &i) in &index {
            if let Column::Line(n, f) = c {
                let v = rec.cells.get(i).map_or("", |s| s.trim());
                if !v.is_empty() {
                    lines.entry(n).or_default()[f as usize] = v.to_string();
                }
            }
        }
        let mut out_lines = Vec::new();
        for (n, [number, display, label]) in lines {
            let col = |f: &str| format!("{f} {n}");
            if let Some(m) = model {
                if n > m.lines() {
                    err(
                        &col("DIRECTORY NUMBER"),
                        RowErrorKind::LineBeyondModel,
                        format!(
                            "a {m} has lines 1 to {}, so line {n} cannot be set; clear the row's \
                             line {n} cells or change its device type",
                            m.lines()
                        ),
                    );
                    continue;
                }
            }
            if number.is_empty() {
                err(
                    &col("DIRECTORY NUMBER"),
                    RowErrorKind::LineWithoutName,
                    format!(
                        "line {n} has a display or label but no directory number, which \
                         phoneflip uses as the line's SIP user; fill in DIRECTORY NUMBER {n}"
                    ),
                );
                continue;
            }
            let opt = |s: String| Some(s).filter(|s| !s.is_empty());
            out_lines.push(Line {
                number: n,
                name: number,
                authname: None,
                password: None,
                displayname: opt(display),
                shortname: opt(label),
            });
        }
        if errors.len() > before {
            continue;
        }
        let (Some(mac), Some(model)) = (mac, model) else {
            continue;
        };
        let pool = get(Column::Fixed(DEVICE_POOL));
        phones.push(Phone {
            description: get(Column::Fixed(DESCRIPTION)).to_string(),
            site: Some(pool.to_string()).filter(|s| !s.is_empty()),
            lines: out_lines,
            observed_load: load,
            ..Phone::new(mac, model)
        });
    }
    if errors.is_empty() {
        Ok((phones, warnings))
    } else {
        Err(CsvErrors(errors))
    }
}

/// Writes phones as a BAT phone export (CRLF, like the call manager).
/// Line credentials are not part of the format and never written.
pub fn write_bat<W: Write>(phones: &[Phone], out: W) -> Result<(), csv::Error> {
    let max_line = phones
        .iter()
        .flat_map(|p| p.lines.iter().map(|l| l.number))
        .max()
        .unwrap_or(1);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let mut header: Vec<String> = [
        DEVICE_NAME,
        DESCRIPTION,
        DEVICE_TYPE,
        DEVICE_POOL,
        LOAD_INFORMATION,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in 1..=max_line {
        for (prefix, _) in LINE_COLUMNS {
            header.push(format!("{prefix} {n}"));
        }
    }
    w.write_record(&header)?;
    for p in phones {
        let mut rec = vec![
            format!("SEP{}", p.mac),
            p.description.clone(),
            format!("Cisco {}", p.model.number()),
            p.site.clone().unwrap_or_default(),
            p.observed_load
                .as_ref()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
        ];
        for n in 1..=max_line {
            match p.lines.iter().find(|l| l.number == n) {
                Some(l) => {
                    rec.push(l.name.clone());
                    rec.push(l.displayname.clone().unwrap_or_default());
                    rec.push(l.shortname.clone().unwrap_or_default());
                }
                None => rec.extend(std::iter::repeat(String::new()).take(LINE_COLUMNS.len())),
            }
        }
        w.write_record(rec.iter().map(|c| guard(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}
