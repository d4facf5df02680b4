//! Just enough calendar arithmetic for `Expiration` and the token's `exp`:
//! ISO-8601 UTC timestamps to Unix seconds and back; and HTTP-dates, for
//! `Retry-After`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses strict RFC 3339 UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, to Unix
/// seconds: a four-digit year, seconds 00-59 (a leap second `:60` would
/// roll into the next minute, and at the end of 9999 into a year RFC 3339
/// cannot write), at most 9 fraction digits, and `Z` as STS writes it, no
/// offset. The fraction is dropped, which errs on the early side.
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    // The month and the day are checked by the round trip below.
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        rest = &frac[digits..];
    }
    if rest != "Z" {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    // A month or day out of range, or a day past the month's end (06-31,
    // 2026-02-29), rolls into another date: no such date, so it is refused
    // like any bad field.
    if civil_from_days(days) != (y, mo, d) {
        return None;
    }
    Some(days * 86400 + h * 3600 + mi * 60 + sec)
}

/// Formats Unix seconds as RFC 3339 UTC, `2026-11-25T18:00:00Z`.
pub fn format_utc(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86400));
    let s = t.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A span of seconds for people: `45s`, `3m 20s`, `2h 5m`, `3d 4h`.
pub fn human(secs: i64) -> String {
    let s = secs.unsigned_abs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86399 => format!("{}h {}m", s / 3600, s / 60 % 60),
        _ => format!("{}d {}h", s / 86400, s / 3600 % 24),
    }
}

/// `in 59m 59s` for a span ahead, `30s ago` for one behind (`in 0s` for
/// none: the success line's "until EXP (in 0s)").
pub fn relative(secs: i64) -> String {
    if secs < 0 {
        format!("{} ago", human(secs))
    } else {
        format!("in {}", human(secs))
    }
}

/// Parses an HTTP-date in the preferred form (RFC 9110 IMF-fixdate, `Sun, 06
/// Nov 1994 08:49:37 GMT`) to Unix seconds. The two obsolete forms are not
/// read: servers must send this one.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [weekday, day, month, year, clock, "GMT"] = parts[..] else {
        return None;
    };
    // One string, not a table of twelve: smaller in the binary.
    let at = "JanFebMarAprMayJunJulAugSepOctNovDec".find(month)?;
    if month.len() != 3 || at % 3 != 0 {
        return None;
    }
    if !weekday.ends_with(',') || day.len() != 2 || year.len() != 4 || clock.len() != 8 {
        return None;
    }
    // The fields are checked by the ISO-8601 reader, which has the rules.
    parse_utc(&format!("{year}-{:02}-{day}T{clock}Z", at / 3 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_past_the_month_end_are_refused() {
        // Found by fuzzing (fuzz/fuzz_targets/claims.rs): June 31 was read
        // as July 1.
        let found = crate::testing::fixture("fuzz/claims-june-31");
        assert_eq!(parse_utc(&found), None, "{found}");
        assert_eq!(parse_utc("2026-02-29T00:00:00Z"), None);
        assert_eq!(parse_utc("2100-02-29T00:00:00Z"), None);
        assert_eq!(parse_utc("2024-02-29T00:00:00Z"), Some(1709164800));
        assert_eq!(parse_utc("2000-02-29T00:00:00Z"), Some(951782400));
        assert_eq!(parse_utc("2026-12-31T23:59:59Z"), Some(1798761599));
    }

    #[test]
    fn timestamps() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2014-10-24T23:00:23Z", Some(1414191623)),
            ("2026-11-25T18:00:00Z", Some(1795629600)),
            ("2026-11-25T18:00:00.123456Z", Some(1795629600)),
            ("2026-11-25T18:00:00+00:00", None),
            ("2000-02-29T12:00:00Z", Some(951825600)),
            ("2026-11-25T18:00:00", None),
            ("2026-11-25T18:00:00+02:00", None),
            ("2026-13-25T18:00:00Z", None),
            ("2026-11-25 18:00:00Z", None),
            ("2026-11-25T18:00:00.Z", None),
            ("yesterday", None),
            ("", None),
            ("2026-11-25T18:0é:00Z", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_utc(s), want, "{s}");
            if let Some(t) = want {
                assert_eq!(parse_utc(&format_utc(t)), Some(t));
            }
        }
        assert_eq!(format_utc(1795629600), "2026-11-25T18:00:00Z");
        assert_eq!(human(45), "45s");
        assert_eq!(human(-200), "3m 20s");
        assert_eq!(human(7500), "2h 5m");
        assert_eq!(human(3 * 86400 + 4 * 3600), "3d 4h");
        assert_eq!(relative(-30), "30s ago");
        assert_eq!(relative(90), "in 1m 30s");
        assert_eq!(relative(0), "in 0s");
    }

    #[test]
    fn only_strict_rfc3339_utc_is_read() {
        // STS's `Expiration` is written verbatim to the outputs, and as
        // RFC 3339 in credential-process: anything looser is refused.
        let cases = [
            ("2026-11-25T18:00:59Z", Some(1795629659)),
            ("2026-11-25T18:00:60Z", None),
            ("9999-12-31T23:59:59Z", Some(253402300799)),
            ("9999-12-31T23:59:60Z", None),
            ("2026-11-25T18:00:00.123456789Z", Some(1795629600)),
            ("2026-11-25T18:00:00.1234567890Z", None),
            ("2026-11-25T18:00:00.1Z", Some(1795629600)),
            ("0999-11-25T18:00:00Z", Some(-30613356000)),
            ("999-11-25T18:00:00Z", None),
            ("10000-01-01T00:00:00Z", None),
            ("2026-11-25T18:00:00", None),
            ("2026-11-25T18:00:00z", None),
            ("2026-11-25t18:00:00Z", None),
            ("2026-11-25T18:00:00+00:00", None),
            ("2026-11-25T18:00:00-00:00", None),
            ("2026-11-25T18:00:00+01:00", None),
            ("2026-11-25T18:00:00ZZ", None),
            ("2026-11-25T18:00:00Z ", None),
            ("+2026-11-25T18:00:00Z", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_utc(s), want, "{s}");
        }
        // Each field out of range on its own.
        for bad in [
            "2026-13-25T18:00:59Z",
            "2026-00-25T18:00:59Z",
            "2026-11-32T18:00:59Z",
            "2026-11-00T18:00:59Z",
            "2026-11-25T24:00:59Z",
            "2026-11-25T18:60:59Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
        // Each separator wrong on its own (the digits stay where they are).
        let good = "2026-11-25T18:00:59Z";
        for at in [4, 7, 10, 13, 16] {
            let mut bad = good.as_bytes().to_vec();
            bad[at] = b'/';
            let bad = String::from_utf8(bad).unwrap();
            assert_eq!(parse_utc(&bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        let cases = [
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(784111777)),
            ("Wed, 25 Nov 2026 18:00:00 GMT", Some(1795629600)),
            ("Wed, 25 Nov 2026 18:00:00 UTC", None),
            ("Sunday, 06-Nov-94 08:49:37 GMT", None),
            ("Sun Nov  6 08:49:37 1994", None),
            ("Sun, 6 Nov 1994 08:49:37 GMT", None),
            ("Sun, 31 Jun 1994 08:49:37 GMT", None),
            ("Sun, 06 Now 1994 08:49:37 GMT", None),
            // A month name is one of the twelve, whole.
            ("Sun, 06 JanFeb 1994 08:49:37 GMT", None),
            ("Sun, 06 anF 1994 08:49:37 GMT", None),
            // The weekday ends in a comma; the clock has no fraction.
            ("Sun 06 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49:37.5 GMT", None),
            ("Sun, 06 Nov 1994 8:49:37x GMT", None),
            ("120", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_http_date(s), want, "{s}");
        }
    }
}
