//! The kernel's command line as PID 1 of a VM reads it from /proc/cmdline:
//! its words, and the `module.key=value` words a module gets when PID 1
//! loads it, as modprobe passes them. Pure: bytes in, words out,
//! unit-tested on the host.

use core::ffi::CStr;

/// Splits `buf[..len]` into words in place, each ended by a NUL: blanks
/// separate words except inside double quotes, and the quotes go, as the
/// kernel's own next_arg() takes them. Stops at `--` (what follows is
/// init's argv). Returns the length of the words; `buf` needs one byte
/// past `len` for the last NUL.
pub fn split(buf: &mut [u8], len: usize) -> usize {
    let (mut out, mut quoted, mut start) = (0, false, 0);
    for i in 0..=len {
        let b = if i < len { buf[i] } else { b' ' };
        if b == b'"' {
            quoted = !quoted;
        } else if quoted || !b.is_ascii_whitespace() {
            buf[out] = b;
            out += 1;
        } else if out > start {
            if &buf[start..out] == b"--" {
                return start;
            }
            buf[out] = 0;
            out += 1;
            start = out;
        }
    }
    out
}

/// Ends each piece of `buf` at a byte of `seps` with a NUL instead, so
/// that `words` takes them (lines of a file, a comma-separated list).
pub fn separate(buf: &mut [u8], seps: &[u8]) {
    for b in buf.iter_mut().filter(|b| seps.contains(b)) {
        *b = 0;
    }
}

/// The words `split` or `separate` made.
pub fn words(split: &[u8]) -> impl Iterator<Item = &CStr> {
    split
        .split_inclusive(|&b| b == 0)
        // Each piece ends at its NUL; a NUL inside the text itself only
        // cuts a word short.
        .filter_map(|w| CStr::from_bytes_until_nul(w).ok())
}

/// A module's name from its file: the name without directories and
/// `.ko` (and a compression suffix).
pub fn module_name(path: &[u8]) -> &[u8] {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let end = name
        .windows(3)
        .position(|w| w == b".ko")
        .unwrap_or(name.len());
    &name[..end]
}

/// Module names are the same with `-` or `_` (the kernel's own rule).
fn same_module(a: &[u8], b: &[u8]) -> bool {
    let norm = |c: &u8| if *c == b'-' { b'_' } else { *c };
    a.len() == b.len() && a.iter().map(norm).eq(b.iter().map(norm))
}

/// The `name.key=value` words for module `name`, as `key=value` joined by
/// blanks, into `out`; a value with a blank gets its quotes back. None
/// when `out` is too small: it never is when it is twice as long as the
/// command line.
pub fn module_params<'o>(split: &[u8], name: &[u8], out: &'o mut [u8]) -> Option<&'o CStr> {
    let mut len = 0;
    for word in words(split) {
        let w = word.to_bytes();
        let Some(dot) = w.iter().position(|&b| b == b'.') else {
            continue;
        };
        if !same_module(&w[..dot], name) || !w[dot..].contains(&b'=') {
            continue;
        }
        let param = &w[dot + 1..];
        let eq = param.iter().position(|&b| b == b'=').unwrap_or(0);
        let quote: &[u8] = if param.iter().any(u8::is_ascii_whitespace) {
            b"\""
        } else {
            b""
        };
        for part in [&param[..=eq], quote, &param[eq + 1..], quote, b" "] {
            out.get_mut(len..len + part.len())?.copy_from_slice(part);
            len += part.len();
        }
    }
    // The last blank becomes the NUL.
    let end = len.max(1) - 1;
    *out.get_mut(end)? = 0;
    CStr::from_bytes_until_nul(&out[..=end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_str(s: &str) -> Vec<u8> {
        let mut buf = s.as_bytes().to_vec();
        buf.push(0);
        let n = split(&mut buf, s.len());
        buf.truncate(n);
        buf
    }

    #[test]
    fn words_split_on_blanks_and_lose_their_quotes_until_dashes() {
        let s = split_str("  console=ttyS0\troot=/dev/vda  x.y=\"a b\" rw -- --debug rw");
        let w: Vec<&[u8]> = words(&s).map(CStr::to_bytes).collect();
        assert_eq!(
            w,
            [&b"console=ttyS0"[..], b"root=/dev/vda", b"x.y=a b", b"rw"]
        );
        assert!(words(&split_str("")).next().is_none());
        assert!(words(&split_str("-- root=/dev/vda")).next().is_none());
    }

    #[test]
    fn module_parameters_by_name() {
        assert_eq!(
            module_name(b"/lib/modules/6.1/kernel/virtio_blk.ko"),
            b"virtio_blk"
        );
        assert_eq!(module_name(b"a/b/zram.ko.xz"), b"zram");
        assert_eq!(module_name(b"plain"), b"plain");
        let s = split_str(
            "virtio_blk.queue_depth=64 virtio-blk.poll_queues=2 virtio_blk_x.a=1 \
             virtio_blk.flag virtio_blk.s=\"a b\" virtio_blk.t=\"a\tb\" other.k=v",
        );
        let mut out = [0u8; 128];
        let got = module_params(&s, b"virtio-blk", &mut out).unwrap();
        assert_eq!(
            got.to_bytes(),
            b"queue_depth=64 poll_queues=2 s=\"a b\" t=\"a\tb\""
        );
        let mut out = [1u8; 128];
        assert_eq!(module_params(&s, b"loop", &mut out).unwrap(), c"");
        let mut small = [0u8; 10];
        assert_eq!(module_params(&s, b"virtio_blk", &mut small), None);
    }
}
