//! Numbers in and out: the command line's decimal, octal and hexadecimal
//! words, and decimal digits for error lines and the kernel's map files.
//! A leaf: it imports nothing of nsinit's.

/// Digits in `radix` (up to 16), no sign, no prefix, no overflow.
pub fn parse_number(s: &[u8], radix: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &c| {
        n.checked_mul(u64::from(radix))?
            .checked_add(u64::from((c as char).to_digit(radix)?))
    })
}

/// A plain decimal u32: digits only, no sign, no spaces, no overflow.
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    u32::try_from(parse_number(s, 10)?).ok()
}

/// A decimal i64 with an optional sign.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let n = parse_number(digits, 10)?;
    if neg {
        0i64.checked_sub_unsigned(n)
    } else {
        i64::try_from(n).ok()
    }
}

/// Decimal digits of `n`, in the tail of `buf`.
pub fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_and_out() {
        assert_eq!(parse_number(b"755", 8), Some(0o755));
        assert_eq!(parse_number(b"f4", 16), Some(0xf4));
        assert_eq!(parse_number(b"", 10), None);
        assert_eq!(parse_number(b"1 ", 10), None);
        assert_eq!(parse_number(b"18446744073709551616", 10), None);
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"+5"), Some(5));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-"), None);
        let mut buf = [0; 20];
        assert_eq!(format_u64(0, &mut buf), b"0");
        assert_eq!(format_u64(u64::MAX, &mut buf), b"18446744073709551615");
    }
}
