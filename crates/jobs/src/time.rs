//! RFC 3339 times for `--at` and for listing jobs, to and from the
//! milliseconds the stores keep. Small enough not to need a date crate.

use crate::job::Millis;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an RFC 3339 time ({why}); write it like 2026-11-25T18:30:00Z or 2026-11-25T19:30:00+01:00")]
pub struct TimeError {
    pub value: String,
    pub why: &'static str,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t` and a space are
/// accepted for `T`, `z` for `Z`.
pub fn parse_rfc3339(s: &str) -> Result<Millis, TimeError> {
    let err = |why| TimeError {
        value: s.to_string(),
        why,
    };
    let b = s.as_bytes();
    if b.len() < 20 || !b.is_ascii() {
        return Err(err("too short"));
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, TimeError> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| err("bad number"))
        } else {
            Err(err("a digit was expected"))
        }
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(err(
            "the separators are not where YYYY-MM-DDTHH:MM:SS puts them",
        ));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err("date and time must be joined by T"));
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return Err(err("no such date"));
    }
    if h > 23 || mi > 59 || sec > 60 {
        return Err(err("no such time of day"));
    }
    let mut i = 19;
    let mut ms = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(err("a fraction needs digits"));
        }
        let frac = &s[start..i.min(start + 3)];
        ms = frac.parse::<i64>().map_err(|_| err("bad fraction"))?
            * 10i64.pow(3 - frac.len() as u32);
    }
    let offset_min = match &s[i..] {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return Err(err("no such offset"));
            }
            let v = oh * 60 + om;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return Err(err("it needs Z or an offset like +01:00 at the end")),
    };
    let secs =
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_min * 60;
    Ok(secs * 1000 + ms)
}

/// Formats as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds).
pub fn format_rfc3339(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("2026-11-25T18:30:00Z").unwrap(),
            1_795_631_400_000
        );
        assert_eq!(
            parse_rfc3339("2026-11-25T19:30:00.250+01:00").unwrap(),
            1_795_631_400_250
        );
        assert_eq!(format_rfc3339(1_795_631_400_999), "2026-11-25T18:30:00Z");
        for bad in [
            "2026-11-25",
            "2026-02-30T00:00:00Z",
            "2026-11-25T18:30:00",
            "2026-11-25T25:00:00Z",
            "2026-11-25T18:30:00+1:00",
            "２０２６-11-25T18:30:00Z",
        ] {
            let e = parse_rfc3339(bad).unwrap_err().to_string();
            assert!(e.contains("2026-11-25T18:30:00Z"), "{bad}: {e}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(secs in -62_135_596_800i64..253_402_300_799) {
            let ms = secs * 1000;
            prop_assert_eq!(parse_rfc3339(&format_rfc3339(ms)).unwrap(), ms);
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_rfc3339(&s);
        }
    }
}
