//! uid_map and gid_map: the ranges asked for, the kernel's rules checked
//! before any process exists, and the text written to `/proc/PID/*_map`.
//!
//! The kernel's rules (user_namespaces(7), kernel/user_namespace.c):
//! - at most 340 ranges (UID_GID_MAP_MAX_EXTENTS, Linux 4.15+);
//! - the whole map in one write(2) of less than one page;
//! - no two ranges may overlap, neither inside nor outside;
//! - `first + count` may not wrap around 2^32, so id 4294967295 is never
//!   mapped (it is the "no id" value of the id-changing calls).

use crate::num::parse_u32;
use heapless::Vec;

pub const MAX_RANGES: usize = 340;
/// A map file takes one write of less than PAGE_SIZE bytes.
pub const MAX_TEXT: usize = 4095;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub inner: u32,
    pub outer: u32,
    pub count: u32,
}

impl Range {
    fn overlaps(&self, other: &Range) -> bool {
        let meets = |a: u32, b: u32| {
            let (a, b) = (u64::from(a), u64::from(b));
            a < b + u64::from(other.count) && b < a + u64::from(self.count)
        };
        meets(self.inner, other.inner) || meets(self.outer, other.outer)
    }

    fn check(&self) -> Result<(), &'static str> {
        let fits = |first: u32| u64::from(first) + u64::from(self.count) <= u64::from(u32::MAX);
        if self.count == 0 {
            Err("a range of zero ids")
        } else if !fits(self.inner) || !fits(self.outer) {
            Err("range goes past id 4294967294")
        } else {
            Ok(())
        }
    }
}

/// Which inside id the caller's own (effective) id becomes: `-r` gives
/// `Id(0)`, `-c` gives `Same`, `--map-user=N` gives `Id(N)`. Numbered from
/// 1, so that `None` is all zero bytes (see Spec::new).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum OwnId {
    Same = 1,
    Id(u32) = 2,
}

/// One map: optionally the caller's own id, then explicit ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdMap {
    pub own: Option<OwnId>,
    pub ranges: Vec<Range, MAX_RANGES>,
}

impl IdMap {
    pub const fn new() -> Self {
        IdMap {
            own: None,
            ranges: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.own.is_none() && self.ranges.is_empty()
    }

    /// Adds an explicit range, rejecting what the kernel would reject.
    pub fn add_range(&mut self, range: Range) -> Result<(), &'static str> {
        range.check()?;
        if self.ranges.iter().any(|r| r.overlaps(&range)) {
            return Err("overlaps an earlier range");
        }
        self.ranges
            .push(range)
            .map_err(|_| "more than 340 ranges (the kernel's limit)")
    }

    /// Explicit ranges without the caller's own id (`--map-users` alone):
    /// the caller's kernel id is not mapped inside.
    pub fn ranges_only(&self) -> bool {
        self.own.is_none() && !self.ranges.is_empty()
    }

    /// Whether an explicit range maps inner id `id`.
    pub fn maps_inner(&self, id: u32) -> bool {
        self.ranges
            .iter()
            .any(|r| r.inner <= id && u64::from(id) < u64::from(r.inner) + u64::from(r.count))
    }

    /// True when the map gives a single id, the caller's own: the one map an
    /// unprivileged caller may write.
    pub fn is_own_id_only(&self, caller: u32) -> bool {
        match (self.own, &self.ranges[..]) {
            (Some(_), []) => true,
            (None, [r]) => r.count == 1 && r.outer == caller,
            _ => false,
        }
    }

    /// The map's text for the kernel, with the caller's own id resolved.
    pub fn render(&self, caller: u32, out: &mut MapText) -> Result<(), &'static str> {
        out.buf.clear();
        if let Some(own) = self.own {
            let inner = match own {
                OwnId::Same => caller,
                OwnId::Id(id) => id,
            };
            let own = Range {
                inner,
                outer: caller,
                count: 1,
            };
            own.check()?;
            if self.ranges.iter().any(|r| r.overlaps(&own)) {
                return Err("a range overlaps the caller's own mapped id");
            }
            out.line(&own)?;
        }
        for r in &self.ranges {
            out.line(r)?;
        }
        Ok(())
    }
}

/// The text of one map file: "inner outer count\n" per range. A heapless
/// Vec, so the 4 KB are not zeroed first.
#[derive(Default)]
pub struct MapText {
    buf: Vec<u8, MAX_TEXT>,
}

impl MapText {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    fn line(&mut self, r: &Range) -> Result<(), &'static str> {
        let mut digits = [0u8; 20];
        for (n, sep) in [(r.inner, b' '), (r.outer, b' '), (r.count, b'\n')] {
            let d = crate::num::format_u64(u64::from(n), &mut digits);
            let full = "the map text is over the kernel's one-page limit";
            self.buf.extend_from_slice(d).map_err(|_| full)?;
            self.buf.push(sep).map_err(|_| full)?;
        }
        Ok(())
    }
}

/// Parses one range: `INNER:OUTER:COUNT` (util-linux 2.39+), or the older
/// `OUTER,INNER,COUNT` of util-linux 2.38, whose order is the other way round.
/// add_range checks it against the kernel's rules.
pub fn parse_range(s: &[u8]) -> Result<Range, &'static str> {
    let outer_first = s.contains(&b',');
    let sep = if outer_first { b',' } else { b':' };
    let mut fields = [0u32; 3];
    let mut rest = s;
    for (i, field) in fields.iter_mut().enumerate() {
        let end = rest.iter().position(|&c| c == sep);
        let (digits, tail) = match end {
            Some(end) if i < 2 => (&rest[..end], &rest[end + 1..]),
            None if i == 2 => (rest, &rest[..0]),
            _ => return Err("expected INNER:OUTER:COUNT"),
        };
        *field = parse_u32(digits).ok_or("expected INNER:OUTER:COUNT")?;
        rest = tail;
    }
    let [a, b, count] = fields;
    let (inner, outer) = if outer_first { (b, a) } else { (a, b) };
    Ok(Range {
        inner,
        outer,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(map: &IdMap, caller: u32) -> Result<std::string::String, &'static str> {
        let mut t = MapText::default();
        map.render(caller, &mut t)?;
        Ok(std::string::String::from_utf8(t.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn both_range_syntaxes() {
        let r = Range {
            inner: 0,
            outer: 100000,
            count: 65536,
        };
        assert_eq!(parse_range(b"0:100000:65536"), Ok(r));
        assert_eq!(parse_range(b"100000,0,65536"), Ok(r));
    }

    #[test]
    fn bad_ranges() {
        for bad in [
            &b""[..],
            b"1:2",
            b"1:2:3:4",
            b"a:1:1",
            b"-1:1:1",
            b"1:2:",
            b"1, 2,3",
            b"1:2,3",
        ] {
            assert!(parse_range(bad).is_err(), "{:?}", core::str::from_utf8(bad));
        }
        let check = |text: &[u8]| IdMap::default().add_range(parse_range(text)?);
        assert_eq!(check(b"1:2:0"), Err("a range of zero ids"));
        let past = Err("range goes past id 4294967294");
        assert_eq!(check(b"4294967295:0:1"), past);
        assert_eq!(check(b"0:4294967000:296"), past);
        assert!(check(b"0:4294967000:295").is_ok());
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"00000000001"), Some(1));
    }

    #[test]
    fn inner_ids_and_own_id_maps() {
        let mut m = IdMap::default();
        m.add_range(Range {
            inner: 0,
            outer: 100000,
            count: 1,
        })
        .unwrap();
        assert!(m.maps_inner(0) && !m.maps_inner(1));
        assert!(!m.is_own_id_only(1000));
        let own = IdMap {
            own: Some(OwnId::Id(0)),
            ..IdMap::default()
        };
        assert!(own.is_own_id_only(1000));
        // A range that is only the caller's own id, outside.
        let mut same = IdMap::default();
        same.add_range(Range {
            inner: 0,
            outer: 1000,
            count: 1,
        })
        .unwrap();
        assert!(same.is_own_id_only(1000) && !same.is_own_id_only(1001));
        same.own = Some(OwnId::Same);
        assert!(!same.is_own_id_only(1000));
    }

    #[test]
    fn overlaps_inside_or_outside() {
        let mut m = IdMap::default();
        m.add_range(Range {
            inner: 0,
            outer: 1000,
            count: 10,
        })
        .unwrap();
        assert!(m
            .add_range(Range {
                inner: 9,
                outer: 5000,
                count: 1
            })
            .is_err());
        assert!(m
            .add_range(Range {
                inner: 500,
                outer: 1009,
                count: 1
            })
            .is_err());
        m.add_range(Range {
            inner: 10,
            outer: 1010,
            count: 1,
        })
        .unwrap();
    }

    #[test]
    fn renders_own_id_then_ranges() {
        let mut m = IdMap {
            own: Some(OwnId::Id(0)),
            ..Default::default()
        };
        assert_eq!(text(&m, 1000).unwrap(), "0 1000 1\n");
        m.own = Some(OwnId::Same);
        m.add_range(Range {
            inner: 2000,
            outer: 100000,
            count: 65536,
        })
        .unwrap();
        assert_eq!(text(&m, 1000).unwrap(), "1000 1000 1\n2000 100000 65536\n");
        // The own id is resolved only now, so only now can it collide.
        assert!(text(&m, 100001).is_err());
    }

    #[test]
    fn kernel_limits() {
        let mut m = IdMap::default();
        for i in 0..340 {
            m.add_range(Range {
                inner: i,
                outer: 1000 + i,
                count: 1,
            })
            .unwrap();
        }
        assert_eq!(
            m.add_range(Range {
                inner: 400,
                outer: 400,
                count: 1
            }),
            Err("more than 340 ranges (the kernel's limit)")
        );
        assert!(text(&m, 0).is_ok());
        let mut big = IdMap::default();
        for i in 0..340 {
            let base = 4_000_000_000 + i * 10;
            big.add_range(Range {
                inner: base,
                outer: base,
                count: 10,
            })
            .unwrap();
        }
        assert_eq!(
            text(&big, 0),
            Err("the map text is over the kernel's one-page limit")
        );
    }
}
