//! The argument and environment vectors the kernel leaves on the stack at
//! `_start`. They live as long as the process, so borrowing from them is
//! `'static`, and `argv` is already the NULL-terminated array execve wants:
//! the payload's argv is a tail of nsinit's own, copied nowhere.

use core::ffi::CStr;

#[derive(Clone, Copy)]
pub struct Argv {
    ptr: *const *const u8,
    len: usize,
}

impl Argv {
    /// # Safety
    /// `ptr` must point to `len` pointers to NUL-terminated strings followed
    /// by a NULL pointer, all valid and unchanged for the rest of the process.
    pub unsafe fn from_raw(ptr: *const *const u8, len: usize) -> Self {
        Argv { ptr, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        // SAFETY: i < len, and from_raw's contract makes each entry valid.
        (i < self.len).then(|| unsafe { CStr::from_ptr((*self.ptr.add(i)).cast()) })
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static CStr> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }

    /// The NULL-terminated vector from entry `i` on.
    pub fn tail(&self, i: usize) -> *const *const u8 {
        // SAFETY: i <= len, so this stays inside the vector or on its NULL.
        unsafe { self.ptr.add(i.min(self.len)) }
    }
}

/// Builds an argv from text with one argument per line, in place: `name`
/// first, then each line with surrounding blanks trimmed; empty lines and
/// lines starting with '#' are skipped. `text` must end with a NUL byte that
/// is not part of the text. Returns the number of arguments, `name` included.
pub fn split_lines(name: &'static CStr, text: &mut [u8], ptrs: &mut [*const u8]) -> Result<usize, &'static str> {
    let Some((&mut 0, body)) = text.split_last_mut() else {
        return Err("text must end with NUL");
    };
    ptrs[0] = name.as_ptr().cast();
    let mut count = 1;
    let mut start = 0;
    while start < body.len() {
        let end = body[start..].iter().position(|&c| c == b'\n').map_or(body.len(), |n| start + n);
        let blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\r');
        let first = body[start..end].iter().position(|c| !blank(c)).map_or(end, |n| start + n);
        let last = body[first..end].iter().rposition(|c| !blank(c)).map_or(first, |n| first + n + 1);
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

#[derive(Clone, Copy)]
pub struct Env {
    ptr: *const *const u8,
}

impl Env {
    /// # Safety
    /// `ptr` must be a NULL-terminated vector of NUL-terminated strings, valid
    /// and unchanged for the rest of the process.
    pub unsafe fn from_raw(ptr: *const *const u8) -> Self {
        Env { ptr }
    }

    pub fn as_ptr(&self) -> *const *const u8 {
        self.ptr
    }

    /// The value of the first `NAME=value` entry.
    pub fn get(&self, name: &[u8]) -> Option<&'static CStr> {
        let mut p = self.ptr;
        loop {
            // SAFETY: from_raw's contract: we stop at the NULL entry.
            let entry = unsafe { *p };
            if entry.is_null() {
                return None;
            }
            // SAFETY: each entry is a valid NUL-terminated string.
            let entry: &'static CStr = unsafe { CStr::from_ptr(entry.cast()) };
            let bytes = entry.to_bytes_with_nul();
            if bytes.len() > name.len() && bytes.starts_with(name) && bytes[name.len()] == b'=' {
                return CStr::from_bytes_with_nul(&bytes[name.len() + 1..]).ok();
            }
            // SAFETY: not yet at the NULL entry, so the next one exists.
            p = unsafe { p.add(1) };
        }
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
        Ok(argv.iter().map(|a| a.to_str().unwrap().to_string()).collect())
    }

    #[test]
    fn one_argument_per_line() {
        assert_eq!(split("").unwrap(), ["nsinit"]);
        assert_eq!(split("# defaults\n\n  -r \n-p\r\n/bin/sh -c echo hi\n").unwrap(),
            ["nsinit", "-r", "-p", "/bin/sh -c echo hi"]);
        assert_eq!(split("-r\n-p").unwrap(), ["nsinit", "-r", "-p"]);
        assert_eq!(split("a\nb\nc\nd").unwrap_err(), "too many arguments");
        assert_eq!(split("a\nb\nc").unwrap(), ["nsinit", "a", "b", "c"]);
    }
}
