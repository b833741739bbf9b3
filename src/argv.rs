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
