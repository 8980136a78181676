//! RFC 3339 times for `--at` and for listing jobs, to and from the
//! milliseconds the stores keep. The calendar is the `time` crate's; the
//! parser is ours so that each refusal says what is wrong.

use crate::job::Millis;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an RFC 3339 time ({why}); write it like 2026-11-25T18:30:00Z or 2026-11-25T19:30:00+01:00")]
pub struct TimeError {
    pub value: String,
    pub why: &'static str,
}

/// The calendar date, if it exists.
fn date(y: i64, m: i64, d: i64) -> Option<time::Date> {
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()
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
    let Some(day) = date(y, mo, d) else {
        return Err(err("no such date"));
    };
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
    let secs = day.midnight().assume_utc().unix_timestamp() + h * 3600 + mi * 60 + sec.min(59)
        - offset_min * 60;
    Ok(secs * 1000 + ms)
}

/// Formats as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds).
pub fn format_rfc3339(ms: Millis) -> String {
    const UTC: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let secs = ms.div_euclid(1000);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(UTC).ok())
        .unwrap_or_else(|| format!("@{secs}"))
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
