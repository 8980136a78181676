//! Reading a CSV file strictly, whatever its dialect says: the bytes are
//! decoded (UTF-8, UTF-16 with a byte-order mark, or Latin-1 when asked),
//! every record is checked against RFC 4180's quoting rules and the
//! header's field count, and cells are size-checked and have the export's
//! formula guard removed.
//!
//! Why so strict: the `csv` crate is lenient on purpose, and its leniency
//! turns one unbalanced quote into a phone whose description is the rest of
//! the file, with the rows after it silently gone. An import that changes a
//! fleet must refuse that rather than guess.

use crate::bulk::{RowError, RowErrorKind};

/// How the importer decodes the file's bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (with or without a byte-order mark), or UTF-16 when the file
    /// starts with its byte-order mark. Anything else is refused with the
    /// line of the first byte that does not decode.
    #[default]
    Auto,
    /// ISO-8859-1, what older spreadsheets and call managers write as
    /// "CSV": every byte is one character. Only on request, because a UTF-8
    /// file read as Latin-1 decodes without error into the wrong text.
    Latin1,
}

/// The longest cell accepted, in characters. Nothing a phone displays or
/// sends comes near it; a longer cell is a sign of a quote that swallowed
/// the rows after it.
pub const MAX_CELL_CHARS: usize = 1024;

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 4] = ['=', '+', '-', '@'];

fn file_error(line: u64, reason: String) -> RowError {
    RowError {
        line,
        column: "-".into(),
        kind: RowErrorKind::Encoding,
        reason,
    }
}

/// The 1-based line of byte `offset`, for bytes the CSV reader never saw
/// (they did not decode).
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64
}

/// Decodes the whole file; returns the text and what it was decoded from.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<(String, &'static str), RowError> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes).map(|s| (s, "UTF-16LE"));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes).map(|s| (s, "UTF-16BE"));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(file_error(
            line_of(bytes, at),
            "the file contains NUL bytes: it looks like UTF-16 without a byte-order mark; \
             save it as \"CSV UTF-8\" (or as UTF-16 with its byte-order mark)"
                .into(),
        ));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match encoding {
        Encoding::Latin1 => {
            if let Some(at) = bytes.iter().position(|b| (0x80..0xA0).contains(b)) {
                return Err(file_error(
                    line_of(bytes, at),
                    format!(
                        "byte 0x{:02X} is a control character in Latin-1: the file is probably \
                         Windows-1252 or UTF-8, not Latin-1; save it as \"CSV UTF-8\" and import \
                         it without --encoding",
                        bytes[at]
                    ),
                ));
            }
            Ok((bytes.iter().map(|&b| char::from(b)).collect(), "Latin-1"))
        }
        Encoding::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => Ok((s.to_string(), "UTF-8")),
            Err(e) => {
                let at = e.valid_up_to();
                let shown = char::from(bytes[at]);
                Err(file_error(
                    line_of(bytes, at),
                    format!(
                        "byte 0x{:02X} is not UTF-8 (in Latin-1 it would be {shown:?}); save the \
                         file as \"CSV UTF-8\", or import it with --encoding latin1 if it is \
                         Latin-1",
                        bytes[at]
                    ),
                ))
            }
        },
    }
}

fn utf16(rest: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, RowError> {
    if rest.len() % 2 != 0 {
        return Err(file_error(
            1,
            "the file starts with a UTF-16 byte-order mark but has an odd number of bytes; \
             it is truncated or not UTF-16: save it again"
                .into(),
        ));
    }
    let units: Vec<u16> = rest.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| {
        file_error(
            1,
            "the file starts with a UTF-16 byte-order mark but holds an unpaired surrogate; \
             save it again as \"CSV UTF-8\""
                .into(),
        )
    })
}

/// Guards a cell against spreadsheet formula injection: a leading `'`
/// makes a spreadsheet show the text as it is. A cell that already starts
/// with `'` gets one too, so that [`unguard`] restores every value exactly.
pub fn guard(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_START) || cell.starts_with('\'') {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The inverse of [`guard`]: one leading `'` before a formula character or
/// another `'` is removed.
pub fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// One record as read: the line it starts on (as an editor counts, CRLF
/// or LF) and its cells, formula guards removed.
#[derive(Debug, Clone)]
pub struct Record {
    pub line: u64,
    pub cells: Vec<String>,
}

/// A strictly read file: the header record, then the data records (blank
/// ones left out).
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Record,
    pub rows: Vec<Record>,
}

/// Checks one raw record against RFC 4180 quoting: a field is either
/// unquoted and free of `"`, or quoted from its first to its last
/// character with inner quotes doubled. Returns the field index and reason.
fn check_quoting(raw: &[u8]) -> Result<(), (usize, &'static str)> {
    let mut i = 0;
    let mut field = 0;
    loop {
        if raw.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match raw.get(i) {
                    None => {
                        return Err((
                            field,
                            "the quote that opens this field is never closed, so the rest of the \
                             file would become its text; add the closing quote, or write a quote \
                             meant as text as two (\"\")",
                        ))
                    }
                    Some(b'"') if raw.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            if !matches!(raw.get(i), None | Some(b',' | b'\r' | b'\n')) {
                return Err((
                    field,
                    "text follows the closing quote of this field; put the whole field in \
                     quotes and write each quote inside it as two (\"\")",
                ));
            }
        } else {
            while let Some(&b) = raw.get(i) {
                match b {
                    b',' | b'\r' | b'\n' => break,
                    b'"' => {
                        return Err((
                            field,
                            "a quote inside a field that does not start with one; put the whole \
                             field in quotes and write each quote inside it as two \
                             (\"12\"\" screen\" for 12\" screen)",
                        ))
                    }
                    _ => i += 1,
                }
            }
        }
        match raw.get(i) {
            Some(b',') => {
                i += 1;
                field += 1;
            }
            _ => return Ok(()),
        }
    }
}

/// Reads `text` strictly; every error of every record is collected. Rows
/// that could not be split into cells are left out of the table; rows with
/// an oversized cell stay in it, so that their other cells are checked too.
/// `Ok(None)` when the file has no record at all; `Err` when the header
/// itself cannot be read.
pub fn read_table(text: &str) -> Result<(Option<Table>, Vec<RowError>), Vec<RowError>> {
    let bytes = text.as_bytes();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    // (start byte, line, record). The crate places a record that follows a
    // CRLF on the LF, still counted on the previous line; move it past.
    let mut raw: Vec<(usize, u64, csv::StringRecord)> = Vec::new();
    let mut errors = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let (mut start, mut line) = r
                    .position()
                    .map_or((0, 1), |p| (p.byte() as usize, p.line()));
                if bytes.get(start) == Some(&b'\n') {
                    start += 1;
                    line += 1;
                }
                raw.push((start, line, r));
            }
            Err(e) => {
                // Input is in memory and already UTF-8, so this is not
                // expected; report it rather than panic.
                let line = e.position().map_or(1, |p| p.line());
                errors.push(RowError {
                    line,
                    column: "-".into(),
                    kind: RowErrorKind::Syntax,
                    reason: format!("unreadable CSV record: {e}"),
                });
                return Err(errors);
            }
        }
    }
    let mut records = Vec::with_capacity(raw.len());
    let mut width = 0;
    for (k, (start, line, rec)) in raw.iter().enumerate() {
        let end = raw.get(k + 1).map_or(bytes.len(), |n| n.0);
        let name = |i: usize, records: &Vec<Record>| -> String {
            records
                .first()
                .and_then(|h: &Record| h.cells.get(i))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("#{}", i + 1))
        };
        if let Err((field, reason)) = check_quoting(&bytes[*start..end.max(*start)]) {
            errors.push(RowError {
                line: *line,
                column: name(field, &records),
                kind: RowErrorKind::Syntax,
                reason: reason.into(),
            });
            if k == 0 {
                return Err(errors);
            }
            continue;
        }
        if k == 0 {
            width = rec.len();
        } else if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        } else if rec.len() != width {
            errors.push(RowError {
                line: *line,
                column: name(rec.len().min(width), &records),
                kind: RowErrorKind::Syntax,
                reason: format!(
                    "the row has {} fields but the header has {width}; every row needs one field \
                     per header column (quote fields that contain commas)",
                    rec.len()
                ),
            });
            continue;
        }
        let mut cells = Vec::with_capacity(rec.len());
        for (i, f) in rec.iter().enumerate() {
            let chars = f.chars().count();
            if chars > MAX_CELL_CHARS {
                errors.push(RowError {
                    line: *line,
                    column: name(i, &records),
                    kind: RowErrorKind::TooLong,
                    reason: format!(
                        "the cell has {chars} characters, more than the {MAX_CELL_CHARS} allowed; \
                         shorten it"
                    ),
                });
            }
            cells.push(unguard(f).to_string());
        }
        records.push(Record { line: *line, cells });
    }
    let mut it = records.into_iter();
    let table = it.next().map(|header| Table {
        header,
        rows: it.collect(),
    });
    Ok((table, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_round_trips() {
        for s in [
            "", "=1+1", "+49", "-5", "@SUM", "'", "''=", "'a", "a'", "x=1",
        ] {
            assert_eq!(unguard(&guard(s)), s, "{s}");
        }
        assert_eq!(guard("=HYPERLINK()"), "'=HYPERLINK()");
        assert_eq!(guard("plain"), "plain");
    }

    #[test]
    fn quoting_rules() {
        assert!(check_quoting(b"a,\"b,c\",\"d\"\"e\"\r\n").is_ok());
        assert!(check_quoting(b"\"two\nlines\",x\n").is_ok());
        assert_eq!(check_quoting(b"a,\"open,b\n").unwrap_err().0, 1);
        assert_eq!(check_quoting(b"a,b\"c\n").unwrap_err().0, 1);
        assert_eq!(check_quoting(b"a,\"b\"c,d\n").unwrap_err().0, 1);
    }

    #[test]
    fn crlf_lines_match_lf_lines() {
        let lf = read_table("a,b\n1,2\n\"x\ny\",3\n4,5\n")
            .unwrap()
            .0
            .unwrap();
        let crlf = read_table("a,b\r\n1,2\r\n\"x\r\ny\",3\r\n4,5\r\n")
            .unwrap()
            .0
            .unwrap();
        let lines = |t: &Table| t.rows.iter().map(|r| r.line).collect::<Vec<_>>();
        assert_eq!(lines(&lf), vec![2, 3, 5]);
        assert_eq!(lines(&crlf), lines(&lf));
    }

    #[test]
    fn decodes_utf16_with_bom_and_refuses_latin1_unless_asked() {
        let mut le = vec![0xFF, 0xFE];
        for u in "mac,é\n".encode_utf16() {
            le.extend(u.to_le_bytes());
        }
        assert_eq!(decode(&le, Encoding::Auto).unwrap().0, "mac,é\n");
        let latin = b"a\nb,caf\xe9\n";
        let e = decode(latin, Encoding::Auto).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("--encoding latin1"), "{}", e.reason);
        assert_eq!(decode(latin, Encoding::Latin1).unwrap().0, "a\nb,café\n");
    }
}
