//! Error lines and the `--debug` timeline on stderr, without `core::fmt`
//! (6.6 KB through the panic handler alone, measured).
//!
//! Every failure is one line, written with a single write(2) so lines from
//! the parent and the child never interleave:
//! `nsinit: <step> <object>: <reason> (<ERRNO>); <hint>`.

use core::sync::atomic::{AtomicBool, Ordering};
use rustix::io::Errno;

/// Exit status for nsinit's own failures (bad usage, a failed setup step).
pub const STATUS_SETUP: u8 = 125;
/// The payload exists but cannot be executed.
pub const STATUS_NOT_EXECUTABLE: u8 = 126;
/// The payload does not exist.
pub const STATUS_NOT_FOUND: u8 = 127;

/// A failure that has been reported on stderr already; what travels up is
/// only the exit status (125, or 126/127 for exec). Printing where the
/// failure happens keeps every `Result` one byte wide and each call site
/// a plain call with its arguments in registers: a struct describing the
/// failure, built at some fifty sites and moved up the stack, cost 2 KB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a failed step ends the run: return it, or use `warn` for one that does not"]
pub struct Failed(pub u8);

impl Failed {
    /// The same failure, reported, with another exit status (exec's 126
    /// and 127).
    pub fn with_status(self, status: u8) -> Failed {
        Failed(status)
    }
}

/// One of the standard streams, the only fds nsinit writes text to.
#[derive(Clone, Copy)]
pub enum Stdio {
    Out = 1,
    Err = 2,
}

/// How much of a failure's object its line shows.
const MAX_OBJECT: usize = 256;

/// `nsinit: <step> <object>: <strerror> (<ERRNO>)`.
pub fn fail(step: &str, object: &[u8], errno: Errno) -> Failed {
    print_failure(step, object, errno.raw_os_error(), "", "")
}

/// As `fail`, with `; <hint>` at the end unless `hint` is empty.
pub fn fail_hint(step: &str, object: &[u8], errno: Errno, hint: &str) -> Failed {
    print_failure(step, object, errno.raw_os_error(), "", hint)
}

/// The line of `fail`, for a step whose failure PID 1 reports and goes on
/// from (catatonit's warn beside its bail).
pub fn warn(step: &str, object: &[u8], errno: Errno) {
    let _ = fail(step, object, errno);
}

/// `nsinit: <step> <object>: <reason>[; <hint>]`, for failures no system
/// call reported.
pub fn fail_why(step: &str, object: &[u8], reason: &str, hint: &str) -> Failed {
    print_failure(step, object, 0, reason, hint)
}

fn print_failure(step: &str, object: &[u8], errno: i32, reason: &str, hint: &str) -> Failed {
    let mut line = Line::new();
    line.push(b"nsinit: ").push(step.as_bytes());
    if !object.is_empty() {
        // A path may be 4 KB: its start and end, so that the reason still
        // fits on the line.
        line.push(b" ").push_shortened(object, MAX_OBJECT);
    }
    line.push(b": ").push(reason.as_bytes());
    if errno != 0 {
        let mut table = [0u8; 2048];
        let (name, text) = errno_name(errno, unpack(ERRNOS_PACKED, &mut table));
        line.push(text).push(b" (");
        if name.is_empty() {
            line.push(b"errno ").num(errno as u64);
        } else {
            line.push(name);
        }
        line.push(b")");
    }
    if !hint.is_empty() {
        line.push(b"; ").push(hint.as_bytes());
    }
    line.send();
    Failed(STATUS_SETUP)
}

/// The errno values nsinit's steps can meet: number, name and glibc's
/// wording, one per line (src/errnos.txt), packed: only an error reads it.
const ERRNOS_PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/errnos.txt.lz"));

/// The name and wording of `code` in the (unpacked) table.
fn errno_name(code: i32, table: &[u8]) -> (&[u8], &[u8]) {
    for line in table.split(|&c| c == b'\n') {
        let mut words = line.split(|&c| c == b' ');
        let (number, name) = (words.next().unwrap_or(b""), words.next().unwrap_or(b""));
        // The wording: the rest of the line, spaces and all.
        let text = line.get(number.len() + name.len() + 2..);
        if let (Some(n), Some(text)) = (crate::num::parse_u32(number), text) {
            if n as i32 == code {
                return (name, text);
            }
        }
    }
    (b"", b"Unknown error")
}

/// The number of the errno called `name` in the table (`--seccomp-errno`).
pub fn errno_number(name: &[u8]) -> Option<u32> {
    let mut table = [0u8; 2048];
    unpack(ERRNOS_PACKED, &mut table)
        .split(|&c| c == b'\n')
        .find_map(|line| {
            let mut parts = line.split(|&c| c == b' ');
            let number = parts.next().and_then(crate::num::parse_u32);
            number.filter(|_| parts.next() == Some(name))
        })
}

/// Undoes build.rs's packing of a text: a byte below 0x80 stands for
/// itself; a byte `1LLLLOOO` and the next one copy L+3 bytes from
/// (OOO << 8 | next) + 1 bytes back. LZ77 at its simplest: as busybox packs
/// its usage texts: 864 bytes less in all (the help text and the errno
/// table together, measured). `out` must hold the whole text.
pub fn unpack<'b>(packed: &[u8], out: &'b mut [u8]) -> &'b [u8] {
    let (mut i, mut n) = (0, 0);
    while i < packed.len() {
        let t = usize::from(packed[i]);
        i += 1;
        if t < 0x80 {
            out[n] = t as u8;
            n += 1;
            continue;
        }
        let back = ((t & 7) << 8 | usize::from(packed[i])) + 1;
        i += 1;
        for _ in 0..(t >> 3 & 15) + 3 {
            out[n] = out[n - back];
            n += 1;
        }
    }
    &out[..n]
}

/// Writes a packed text (the --help) to `fd`.
pub fn write_packed(fd: Stdio, packed: &[u8]) {
    let mut buf = [0u8; 4096];
    write_all(fd, unpack(packed, &mut buf));
}

static DEBUG: AtomicBool = AtomicBool::new(false);

pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub fn debugging() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// One `--debug` line: `nsinit: [<CLOCK_MONOTONIC in µs>us] <step> <object>`.
/// Absolute monotonic time, so that in a VM it reads as time since boot.
pub fn debug(step: &str, object: &[u8]) {
    if debugging() {
        debug_line(step).push(object).send();
    }
}

/// Starts a `--debug` line for callers that add more than one object.
pub fn debug_line(step: &str) -> Line {
    debug_line_of(step.as_bytes())
}

/// As `debug_line`, for a step named by the command line (`ro-bind`).
pub fn debug_line_of(step: &[u8]) -> Line {
    let mut line = Line::new();
    line.push(b"nsinit: [")
        .num(crate::sys::monotonic_micros())
        .push(b"us] ");
    line.push(step).push(b" ");
    line
}

/// A fixed buffer for one line of output. What does not fit is cut and
/// marked with "...", never dropped silently. A heapless Vec: nothing is
/// zeroed up front.
pub struct Line {
    buf: heapless::Vec<u8, 512>,
    cut: bool,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    pub const fn new() -> Self {
        Line {
            buf: heapless::Vec::new(),
            cut: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        // Keep room for the "...\n" marker.
        let room = self.buf.capacity() - 4 - self.buf.len();
        let n = bytes.len().min(room);
        let _ = self.buf.extend_from_slice(&bytes[..n]);
        self.cut |= n < bytes.len();
        self
    }

    /// `bytes`, or when longer than `max`, its first and last bytes with
    /// "..." between them.
    pub fn push_shortened(&mut self, bytes: &[u8], max: usize) -> &mut Self {
        if bytes.len() <= max {
            return self.push(bytes);
        }
        let half = (max - 3) / 2;
        self.push(&bytes[..half])
            .push(b"...")
            .push(&bytes[bytes.len() - half..])
    }

    pub fn num(&mut self, n: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        self.push(crate::num::format_u64(n, &mut digits))
    }

    pub fn int(&mut self, n: i64) -> &mut Self {
        if n < 0 {
            self.push(b"-");
        }
        self.num(n.unsigned_abs())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Ends the line and writes it to stderr in one write(2).
    pub fn send(&mut self) {
        if self.cut {
            let _ = self.buf.extend_from_slice(b"...");
        }
        let _ = self.buf.push(b'\n');
        write_all(Stdio::Err, &self.buf);
    }
}

/// Writes all of `bytes` to `fd`; errors are ignored (there is nowhere left to
/// report them).
pub fn write_all(fd: Stdio, mut bytes: &[u8]) {
    // SAFETY: fds 1 and 2 are the process's standard streams, which it never
    // closes (main opens /dev/null on any that was closed); were one closed
    // after all, the write would fail with EBADF.
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd as i32) };
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes = &bytes[n..],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut l = Line::new();
        l.int(-42).push(b" ").int(7).push(b" ").int(0);
        assert_eq!(l.as_bytes(), b"-42 7 0");
    }

    #[test]
    fn long_lines_are_cut_visibly() {
        let mut l = Line::new();
        l.push(&[b'x'; 600]);
        assert_eq!(l.as_bytes().len(), 508);
        assert!(l.cut);
        // Also past what the line holds already: filled up to the marker's
        // room, not dropped whole.
        let mut l = Line::new();
        l.push(b"abc").push(&[b'x'; 600]);
        assert_eq!(
            (l.as_bytes().len(), &l.as_bytes()[..4], l.cut),
            (508, &b"abcx"[..], true)
        );
        l.push(b"more");
        assert_eq!(l.as_bytes().len(), 508);
    }

    #[test]
    fn long_objects_keep_both_ends() {
        let mut l = Line::new();
        l.push_shortened(b"abcdefghij", 10);
        assert_eq!(l.as_bytes(), b"abcdefghij");
        let mut l = Line::new();
        l.push_shortened(b"abcdefghijk", 10);
        assert_eq!(l.as_bytes(), b"abc...ijk");
        assert!(!l.cut);
    }

    #[test]
    fn errno_names() {
        let mut buf = [0u8; 2048];
        let table = unpack(ERRNOS_PACKED, &mut buf);
        assert_eq!(table, include_bytes!("errnos.txt"));
        let name = |code| errno_name(code, table);
        assert_eq!(name(1), (&b"EPERM"[..], &b"Operation not permitted"[..]));
        assert_eq!(
            name(95),
            (&b"EOPNOTSUPP"[..], &b"Operation not supported"[..])
        );
        assert_eq!(name(30), (&b"EROFS"[..], &b"Read-only file system"[..]));
        for (code, want) in [
            (34, "ERANGE"),
            (75, "EOVERFLOW"),
            (25, "ENOTTY"),
            (40, "ELOOP"),
        ] {
            assert_eq!(name(code).0, want.as_bytes());
        }
        assert_eq!(name(4000).0, b"");
    }
}
