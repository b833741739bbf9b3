//! The argument and environment vectors the kernel leaves on the stack at
//! `_start`, the payload's environment when the command line changes it,
//! and paths built from parts. The kernel's vectors live as long as the
//! process (`Argv<'static>`), and `argv` is already the NULL-terminated
//! array execve wants: the payload's argv is a tail of nsinit's own,
//! copied nowhere. A leaf: it imports nothing of nsinit's.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::mem::size_of;
use rustix::io::Errno;

/// A NULL-terminated vector of C strings, as execve takes it, borrowed
/// for `'a`.
#[derive(Clone, Copy)]
pub struct Argv<'a> {
    ptr: *const *const u8,
    len: usize,
    strings: PhantomData<&'a CStr>,
}

impl<'a> Argv<'a> {
    /// # Safety
    /// `ptr` must point to `len` pointers to NUL-terminated strings followed
    /// by a NULL pointer, all valid and unchanged for `'a`.
    pub unsafe fn from_raw(ptr: *const *const u8, len: usize) -> Self {
        Argv {
            ptr,
            len,
            strings: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&'a CStr> {
        // SAFETY: i < len, and from_raw's contract makes each entry valid.
        (i < self.len).then(|| unsafe { CStr::from_ptr((*self.ptr.add(i)).cast()) })
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a CStr> + '_ {
        // SAFETY: i < len, and from_raw's contract makes each entry valid.
        (0..self.len).map(|i| unsafe { CStr::from_ptr((*self.ptr.add(i)).cast()) })
    }

    /// The vector from entry `i` on (empty past the end).
    pub fn tail(&self, i: usize) -> Argv<'a> {
        let i = i.min(self.len);
        // SAFETY: i <= len, so this stays inside the vector or on its NULL,
        // and the entries from there on are entries of `self`.
        unsafe { Argv::from_raw(self.ptr.add(i), self.len - i) }
    }

    pub fn as_ptr(&self) -> *const *const u8 {
        self.ptr
    }
}

/// The part of C string `s` from byte `at` on (at most its length): still a
/// C string, ending at the same NUL. Cheaper than `CStr::from_bytes_with_nul`,
/// which would look for that NUL all over again.
pub fn cstr_tail(s: &CStr, at: usize) -> &CStr {
    let bytes = s.to_bytes_with_nul();
    // SAFETY: a suffix of a C string's bytes (its NUL included) holds exactly
    // one NUL, the last byte.
    unsafe { CStr::from_bytes_with_nul_unchecked(&bytes[at.min(bytes.len() - 1)..]) }
}

/// Builds an argv from text with one argument per line, in place: `name`
/// first, then each line with surrounding blanks trimmed; empty lines and
/// lines starting with '#' are skipped. `text` must end with a NUL byte that
/// is not part of the text. Returns the number of arguments, `name` included.
pub fn split_lines(
    name: &'static CStr,
    text: &mut [u8],
    ptrs: &mut [*const u8],
) -> Result<usize, &'static str> {
    let Some((&mut 0, body)) = text.split_last_mut() else {
        return Err("text must end with NUL");
    };
    ptrs[0] = name.as_ptr().cast();
    let mut count = 1;
    let mut start = 0;
    while start < body.len() {
        let end = body[start..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(body.len(), |n| start + n);
        let blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\r');
        let first = body[start..end]
            .iter()
            .position(|c| !blank(c))
            .map_or(end, |n| start + n);
        let last = body[first..end]
            .iter()
            .rposition(|c| !blank(c))
            .map_or(first, |n| first + n + 1);
        if first < last && body[first] != b'#' {
            if count + 1 >= ptrs.len() {
                return Err("too many arguments");
            }
            ptrs[count] = body[first..].as_ptr();
            count += 1;
        }
        // The NUL that ends this argument: the byte after it (the newline,
        // or the text's final NUL when it is the last line).
        if last < body.len() {
            body[last] = 0;
        }
        start = end + 1;
    }
    ptrs[count] = core::ptr::null();
    Ok(count)
}

/// An environment: a NULL-terminated vector of `NAME=value` C strings,
/// borrowed for `'a`.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    ptr: *const *const u8,
    strings: PhantomData<&'a CStr>,
}

impl<'a> Env<'a> {
    /// # Safety
    /// `ptr` must be a NULL-terminated vector of NUL-terminated strings, valid
    /// and unchanged for `'a`.
    pub unsafe fn from_raw(ptr: *const *const u8) -> Self {
        Env {
            ptr,
            strings: PhantomData,
        }
    }

    pub fn as_ptr(&self) -> *const *const u8 {
        self.ptr
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a CStr> + '_ {
        let mut p = self.ptr;
        core::iter::from_fn(move || {
            // SAFETY: from_raw's contract: we stop at the NULL entry, and
            // each entry before it is a valid NUL-terminated string.
            let entry = unsafe { *p };
            if entry.is_null() {
                return None;
            }
            // SAFETY: not yet at the NULL entry, so the next one exists.
            p = unsafe { p.add(1) };
            Some(unsafe { CStr::from_ptr(entry.cast()) })
        })
    }

    /// The value of the first `NAME=value` entry.
    pub fn get(&self, name: &[u8]) -> Option<&'a CStr> {
        let mut p = self.ptr;
        loop {
            // SAFETY: from_raw's contract: we stop at the NULL entry.
            let entry = unsafe { *p };
            if entry.is_null() {
                return None;
            }
            // SAFETY: each entry is a valid NUL-terminated string.
            let entry: &'a CStr = unsafe { CStr::from_ptr(entry.cast()) };
            if is_named(entry.to_bytes(), name) {
                return Some(cstr_tail(entry, name.len() + 1));
            }
            // SAFETY: not yet at the NULL entry, so the next one exists.
            p = unsafe { p.add(1) };
        }
    }
}

/// Whether `entry` is `name=...`.
fn is_named(entry: &[u8], name: &[u8]) -> bool {
    entry.len() > name.len() && entry.starts_with(name) && entry[name.len()] == b'='
}

/// One change to the payload's environment, applied in command-line order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvOp<'a> {
    Set(&'a CStr, &'a CStr),
    Unset(&'a CStr),
    Clear,
}

/// The payload's environment once --setenv/--unsetenv/--clearenv changed
/// it: `base` with `ops` applied in order (a clear keeps PWD), as long as
/// the kernel takes (no limit of nsinit's own). The vector and the new
/// `KEY=VALUE` entries live in pages mapped for them and never unmapped
/// (the process execs or exits), so they are `'static`; the inherited
/// entries stay where they were, so the result borrows `base`'s and
/// `ops`' strings.
pub fn build_env<'a>(base: Env<'a>, ops: &[EnvOp<'a>]) -> Result<Env<'a>, Errno> {
    let inherited = base.iter().count();
    let (sets, text_len) = ops.iter().fold((0, 0), |(n, len), op| match op {
        EnvOp::Set(key, value) => (
            n + 1,
            len + key.to_bytes().len() + value.to_bytes().len() + 2,
        ),
        _ => (n, len),
    });
    let slots = inherited + sets + 1;
    let vector = slots * size_of::<*const u8>();
    let size = vector + text_len;
    use rustix::mm::{MapFlags, ProtFlags};
    // SAFETY: a new private anonymous mapping overlaps nothing of ours.
    let mem = unsafe {
        rustix::mm::mmap_anonymous(
            core::ptr::null_mut(),
            size,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    }?;
    // SAFETY: the mapping is `size` bytes, zeroed, page-aligned, ours alone
    // and never unmapped: `slots` pointers, then `text_len` bytes.
    let (ptrs, text) = unsafe {
        (
            core::slice::from_raw_parts_mut(mem.cast::<*const u8>(), slots),
            core::slice::from_raw_parts_mut(mem.cast::<u8>().add(vector), text_len),
        )
    };
    let mut n = 0;
    for entry in base.iter() {
        ptrs[n] = entry.as_ptr().cast();
        n += 1;
    }
    let mut used = 0;
    for op in ops {
        // --clearenv keeps PWD alone, as bubblewrap does: the working
        // directory stays named. The others drop their key.
        let (key, clear) = match op {
            EnvOp::Clear => (&b"PWD"[..], true),
            EnvOp::Set(key, _) | EnvOp::Unset(key) => (key.to_bytes(), false),
        };
        let mut kept = 0;
        for i in 0..n {
            // SAFETY: every pointer so far is a NUL-terminated entry.
            let entry = unsafe { CStr::from_ptr(ptrs[i].cast()) }.to_bytes();
            if is_named(entry, key) == clear {
                ptrs[kept] = ptrs[i];
                kept += 1;
            }
        }
        n = kept;
        if let EnvOp::Set(_, value) = op {
            ptrs[n] = text[used..].as_ptr();
            n += 1;
            for part in [key, b"=", value.to_bytes(), b"\0"] {
                text[used..used + part.len()].copy_from_slice(part);
                used += part.len();
            }
        }
    }
    ptrs[n] = core::ptr::null();
    // SAFETY: a NULL-terminated vector of NUL-terminated strings: in the
    // mapping above (never unmapped) and in `base`, borrowed for 'a.
    Ok(unsafe { Env::from_raw(ptrs.as_ptr()) })
}

/// Copies `parts` into the zeroed `buf`, leaving at least one NUL after
/// them; returns their length. One copy of the code for every size.
fn fill(buf: &mut [u8], parts: &[&[u8]]) -> Result<usize, Errno> {
    let mut len = 0;
    for &part in parts {
        if part.contains(&0) {
            return Err(Errno::INVAL);
        }
        let end = len + part.len();
        if end >= buf.len() {
            return Err(Errno::NAMETOOLONG);
        }
        buf[len..end].copy_from_slice(part);
        len = end;
    }
    Ok(len)
}

/// The kernel's PATH_MAX: a path's bytes with the NUL.
pub const PATH_MAX: usize = 4096;

/// A path built from parts (of C strings, or constants): NUL-terminated,
/// at most N bytes with the NUL (PATH_MAX unless a smaller bound is known:
/// a 4 KB buffer in a frame that a forked child starts from costs the
/// child as much stack).
pub struct Path<const N: usize = PATH_MAX> {
    bytes: [u8; N],
    len: usize,
}

impl Path {
    /// `dir`, a `/`, `name` and `leaf`; ENAMETOOLONG past PATH_MAX.
    /// Inlined: a 4 KB result returned through one more frame would be
    /// one more 4 KB copy on the stack.
    #[inline(always)]
    pub fn join(dir: &[u8], name: &[u8], leaf: &[u8]) -> Result<Self, Errno> {
        Self::concat(&[dir, b"/", name, leaf])
    }
}

impl<const N: usize> Path<N> {
    /// The parts one after the other; ENAMETOOLONG past N bytes with the
    /// NUL, EINVAL for a part with a NUL in it.
    pub fn concat(parts: &[&[u8]]) -> Result<Self, Errno> {
        let mut p = Path {
            bytes: [0; N],
            len: 0,
        };
        p.len = fill(&mut p.bytes, parts)?;
        Ok(p)
    }

    pub fn as_cstr(&self) -> &CStr {
        // SAFETY: the parts hold no NUL, and the zeroed buffer has one at
        // `len`.
        unsafe { CStr::from_bytes_with_nul_unchecked(&self.bytes[..=self.len]) }
    }

    /// Drops trailing slashes ("/a/b/" is "/a/b"), but keeps a lone "/".
    pub fn trim_trailing_slashes(&mut self) {
        while self.len > 1 && self.bytes[self.len - 1] == b'/' {
            self.len -= 1;
            self.bytes[self.len] = 0;
        }
    }

    /// Calls `f` with each directory above the last component, top down.
    pub fn each_parent(
        &mut self,
        mut f: impl FnMut(&CStr) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        /// Puts the `/` back, also when `f` unwinds: the path must never
        /// keep a NUL inside (as_cstr relies on it).
        struct Slash(*mut u8);
        impl Drop for Slash {
            fn drop(&mut self) {
                // SAFETY: points into the Path's buffer, which outlives this
                // guard; nothing borrows the byte any more when it drops.
                unsafe { *self.0 = b'/' };
            }
        }
        for i in 1..self.len {
            if self.bytes[i] == b'/' {
                self.bytes[i] = 0;
                // Fresh each time: the guard and `dir` use only this pointer.
                let base = self.bytes.as_mut_ptr();
                let _slash = Slash(base.wrapping_add(i));
                // SAFETY: bytes 0..=i of the buffer, with the one NUL just
                // written at `i` (the parts hold none, see `fill`).
                let dir = unsafe {
                    CStr::from_bytes_with_nul_unchecked(core::slice::from_raw_parts(base, i + 1))
                };
                f(dir)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Result<std::vec::Vec<std::string::String>, &'static str> {
        let mut buf = text.as_bytes().to_vec();
        buf.push(0);
        let mut ptrs = [core::ptr::null(); 5];
        let n = split_lines(c"nsinit", &mut buf, &mut ptrs)?;
        // SAFETY: split_lines filled n pointers into `buf` and a NULL.
        let argv = unsafe { Argv::from_raw(ptrs.as_ptr(), n) };
        assert!(ptrs[n].is_null());
        Ok(argv
            .iter()
            .map(|a| a.to_str().unwrap().to_string())
            .collect())
    }

    #[test]
    fn environment_changes_apply_in_order() {
        let base: std::vec::Vec<std::ffi::CString> = ["A=1", "B=2", "AB=3"]
            .iter()
            .map(|s| std::ffi::CString::new(*s).unwrap())
            .collect();
        let mut ptrs: std::vec::Vec<*const u8> = base.iter().map(|c| c.as_ptr().cast()).collect();
        ptrs.push(core::ptr::null());
        // SAFETY: a NULL-terminated vector of C strings that outlive the test.
        let env = unsafe { Env::from_raw(ptrs.as_ptr()) };
        let show = |e: Env| {
            let mut out = std::vec::Vec::new();
            let mut p = e.as_ptr();
            // SAFETY: build returns a NULL-terminated vector.
            while !unsafe { *p }.is_null() {
                out.push(
                    unsafe { CStr::from_ptr((*p).cast()) }
                        .to_str()
                        .unwrap()
                        .to_string(),
                );
                p = unsafe { p.add(1) };
            }
            out
        };
        let ops = [
            EnvOp::Unset(c"A"),
            EnvOp::Set(c"B", c"x y"),
            EnvOp::Set(c"C", c""),
        ];
        assert_eq!(show(build_env(env, &ops).unwrap()), ["AB=3", "B=x y", "C="]);
        let ops = [
            EnvOp::Set(c"Z", c"1"),
            EnvOp::Clear,
            EnvOp::Set(c"PATH", c"/bin"),
        ];
        let built = build_env(env, &ops).unwrap();
        assert_eq!(show(built), ["PATH=/bin"]);
        assert_eq!(built.get(b"PATH"), Some(c"/bin"));
        // A clear keeps PWD, whatever it is at that point, and only PWD.
        let base = [
            c"PWDX=1".as_ptr().cast::<u8>(),
            c"PWD=/w".as_ptr().cast(),
            c"XPWD=2".as_ptr().cast(),
            core::ptr::null(),
        ];
        // SAFETY: a NULL-terminated vector of static C strings.
        let with_pwd = unsafe { Env::from_raw(base.as_ptr()) };
        let cleared = build_env(with_pwd, &[EnvOp::Clear]).unwrap();
        assert_eq!(show(cleared), ["PWD=/w"]);
        let ops = [
            EnvOp::Set(c"PWD", c"/x"),
            EnvOp::Set(c"A", c"1"),
            EnvOp::Clear,
        ];
        assert_eq!(show(build_env(with_pwd, &ops).unwrap()), ["PWD=/x"]);
        let ops = [EnvOp::Unset(c"PWD"), EnvOp::Clear];
        assert!(show(build_env(with_pwd, &ops).unwrap()).is_empty());
        // Values past a page: the mapping holds the vector and all text.
        let big = std::ffi::CString::new("v".repeat(10_000)).unwrap();
        let ops = [EnvOp::Set(c"BIG", &big), EnvOp::Set(c"BIG2", &big)];
        let built = show(build_env(env, &ops).unwrap());
        assert_eq!(built.len(), 5);
        assert_eq!(built[4].len(), 10_005);
    }

    #[test]
    fn an_entry_without_a_value_is_no_match() {
        // "A" alone (no '='), as a caller may pass: neither `A` nor `AB`
        // matches it, and unsetting A leaves it alone.
        let base = [
            c"A".as_ptr().cast::<u8>(),
            c"AB=1".as_ptr().cast(),
            core::ptr::null(),
        ];
        // SAFETY: a NULL-terminated vector of static C strings.
        let env = unsafe { Env::from_raw(base.as_ptr()) };
        assert_eq!(env.get(b"A"), None);
        assert_eq!(env.get(b"AB"), Some(c"1"));
        let built = build_env(env, &[EnvOp::Unset(c"A")]).unwrap();
        assert_eq!(built.iter().collect::<std::vec::Vec<_>>(), [c"A", c"AB=1"]);
    }

    #[test]
    fn a_path_keeps_no_nul_when_the_callback_unwinds() {
        let mut p = Path::join(b"/a", b"b/c", b"").unwrap();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = p.each_parent(|_| panic!("a failing step"));
        }));
        assert!(unwound.is_err());
        assert_eq!(p.as_cstr(), c"/a/b/c");
        let mut seen = std::vec::Vec::new();
        p.each_parent(|d| {
            seen.push(d.to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [c"/a".to_owned(), c"/a/b".to_owned()]);
    }

    #[test]
    fn argv_ends_at_its_length() {
        let v = [
            c"nsinit".as_ptr().cast::<u8>(),
            c"-p".as_ptr().cast(),
            core::ptr::null(),
        ];
        // SAFETY: a NULL-terminated vector of two static C strings.
        let argv = unsafe { Argv::from_raw(v.as_ptr(), 2) };
        assert!(!argv.is_empty());
        assert_eq!((argv.get(1), argv.get(2)), (Some(c"-p"), None));
        let tail = argv.tail(1);
        assert_eq!(
            (tail.len(), tail.get(0), tail.get(1)),
            (1, Some(c"-p"), None)
        );
        assert!(argv.tail(5).is_empty());
    }

    #[test]
    fn paths_from_parts() {
        let mut p = Path::join(b"/newroot", b"/a/b", b"/c").unwrap();
        assert_eq!(p.as_cstr(), c"/newroot//a/b/c");
        let mut parents = std::vec::Vec::new();
        p.each_parent(|d| {
            parents.push(d.to_str().unwrap().to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            parents,
            ["/newroot", "/newroot/", "/newroot//a", "/newroot//a/b"]
        );
        assert_eq!(p.as_cstr(), c"/newroot//a/b/c");
        // PATH_MAX with its NUL.
        assert!(Path::join(&[b'x'; 4000], &[b'y'; 94], b"").is_ok());
        assert!(Path::join(&[b'x'; 4000], &[b'y'; 95], b"").is_err());
        // Trailing slashes go, a lone "/" stays.
        let mut p = Path::<PATH_MAX>::concat(&[b"/a/b//"]).unwrap();
        p.trim_trailing_slashes();
        assert_eq!(p.as_cstr(), c"/a/b");
        let mut p = Path::<PATH_MAX>::concat(&[b"/"]).unwrap();
        p.trim_trailing_slashes();
        assert_eq!(p.as_cstr(), c"/");
        // A bounded path: an error past its size, never a shorter path.
        let proc = Path::<16>::concat(&[b"/proc/", b"12345", b"/uid_map"]);
        assert_eq!(proc.err(), Some(Errno::NAMETOOLONG));
        let proc = Path::<48>::concat(&[b"/proc/", b"12345", b"/uid_map"]).unwrap();
        assert_eq!(proc.as_cstr(), c"/proc/12345/uid_map");
        // A NUL inside a part would end the C string early.
        assert_eq!(Path::join(b"/a", b"b\0c", b"").err(), Some(Errno::INVAL));
    }

    #[test]
    fn tails_of_c_strings() {
        assert_eq!(cstr_tail(c"--root=/x", 7), c"/x");
        assert_eq!(cstr_tail(c"abc", 3), c"");
        assert_eq!(cstr_tail(c"abc", 99), c"");
    }

    #[test]
    fn one_argument_per_line() {
        assert_eq!(split("").unwrap(), ["nsinit"]);
        assert_eq!(
            split("# defaults\n\n  -r \n-p\r\n/bin/sh -c echo hi\n").unwrap(),
            ["nsinit", "-r", "-p", "/bin/sh -c echo hi"]
        );
        assert_eq!(split("-r\n-p").unwrap(), ["nsinit", "-r", "-p"]);
        assert_eq!(split("a\nb\nc\nd").unwrap_err(), "too many arguments");
        assert_eq!(split("a\nb\nc").unwrap(), ["nsinit", "a", "b", "c"]);
    }
}
