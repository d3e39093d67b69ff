//! A strict check of ISO 8601 timestamps as PostHog SDKs send them
//! (`2026-11-20T10:00:00.123Z`, `2026-11-20 10:00:00+02:00`, `2026-11-20`).
//! PostgreSQL does the parsing; this check lets a bad timestamp be reported with the
//! index of its event instead of failing the whole INSERT with no context.

/// `Ok(())` when PostgreSQL's `timestamptz` input will accept `s` and mean the instant
/// the ISO form says; otherwise why not.
pub fn validate_timestamp(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let mut p = Cursor { b, i: 0 };
    let year = p.digits(4).ok_or("expected a 4-digit year")?;
    p.expect(b'-').ok_or("expected '-' after the year")?;
    let month = p.digits(2).ok_or("expected a 2-digit month")?;
    p.expect(b'-').ok_or("expected '-' after the month")?;
    let day = p.digits(2).ok_or("expected a 2-digit day")?;
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err("date out of range");
    }
    if p.done() {
        return Ok(());
    }
    if !(p.expect(b'T').is_some() || p.expect(b't').is_some() || p.expect(b' ').is_some()) {
        return Err("expected 'T' or a space between date and time");
    }
    let hour = p.digits(2).ok_or("expected a 2-digit hour")?;
    p.expect(b':').ok_or("expected ':' after the hour")?;
    let minute = p.digits(2).ok_or("expected 2-digit minutes")?;
    let mut second = 0;
    if p.expect(b':').is_some() {
        second = p.digits(2).ok_or("expected 2-digit seconds")?;
        if p.expect(b'.').is_some() {
            let start = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            if p.i == start {
                return Err("expected digits after '.'");
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("time out of range");
    }
    match p.peek() {
        None => return Ok(()),
        Some(b'Z' | b'z') => p.i += 1,
        Some(b'+' | b'-') => {
            p.i += 1;
            let oh = p.digits(2).ok_or("expected a 2-digit offset hour")?;
            let colon = p.expect(b':').is_some();
            let om = match p.digits(2) {
                Some(m) => m,
                None if colon => return Err("expected 2-digit offset minutes"),
                None => 0,
            };
            if oh > 15 || om > 59 {
                return Err("offset out of range");
            }
        }
        Some(_) => return Err("unexpected text after the time"),
    }
    if p.done() {
        Ok(())
    } else {
        Err("unexpected text after the offset")
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }
    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.b.get(self.i..self.i + n)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(slice.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    }
}

#[cfg(test)]
mod tests {
    use super::validate_timestamp;

    #[test]
    fn accepts_what_sdks_send() {
        for ok in [
            "2026-11-20",
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:00:00.123456Z",
            "2026-11-20 10:00:00+02:00",
            "2026-11-20T10:00-0530",
            "2024-02-29T23:59:59.9+14",
        ] {
            assert_eq!(validate_timestamp(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_garbage_and_impossible_dates() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2025-02-29",
            "2026-11-20T24:00:00Z",
            "2026-11-20T10:00:00.Z",
            "2026-11-20T10:00:00 UTC",
            "2026-11-20T10:00:00+2",
            "2026-1-20",
            "0000-01-01",
            "2026-11-20T10:00:00Z junk",
        ] {
            assert!(validate_timestamp(bad).is_err(), "{bad}");
        }
    }
}
