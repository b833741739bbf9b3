//! execve with a PATH search, and the exit statuses shells use for its
//! failures: 127 when the program is not there, 126 when it is there but
//! cannot be run.

use crate::argv::Env;
use crate::report::{fail_hint, Failed, STATUS_NOT_EXECUTABLE, STATUS_NOT_FOUND};
use core::ffi::CStr;
use rustix::io::Errno;

/// glibc's execvp uses "/bin:/usr/bin" without PATH; PID 1 gets no PATH from
/// the kernel, and distributions keep tools in the sbin directories too.
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs `program` with `argv` and `env`; returns only on failure. A name
/// without '/' is looked up in PATH the way execvp(3) does: a directory that
/// does not have it is skipped, and EACCES is reported only if no later
/// directory has a runnable one.
pub fn exec(program: &CStr, argv: *const *const u8, env: Env) -> Failed {
    let name = program.to_bytes();
    let errno = if name.contains(&b'/') || name.is_empty() {
        crate::sys::execve(program, argv, env.as_ptr())
    } else {
        let path = env.get(b"PATH").map_or(DEFAULT_PATH, CStr::to_bytes);
        search(name, path, argv, env)
    };
    let status = match errno {
        Errno::NOENT | Errno::NOTDIR => STATUS_NOT_FOUND,
        _ => STATUS_NOT_EXECUTABLE,
    };
    let hint = match errno {
        Errno::NOEXEC => "not a binary this kernel runs, nor a script with #!",
        _ => "",
    };
    fail_hint("exec", name, errno, hint);
    Failed(status)
}

fn search(name: &[u8], path: &[u8], argv: *const *const u8, env: Env) -> Errno {
    let mut buf = [0u8; 4096];
    let mut result = Errno::NOENT;
    for dir in path.split(|&c| c == b':') {
        // An empty entry means the current directory, as in execvp.
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        let len = dir.len() + 1 + name.len();
        if len + 1 > buf.len() {
            result = Errno::NAMETOOLONG;
            continue;
        }
        buf[..dir.len()].copy_from_slice(dir);
        buf[dir.len()] = b'/';
        buf[dir.len() + 1..len].copy_from_slice(name);
        buf[len] = 0;
        // SAFETY: `dir` comes from a C string and `name` is one: neither
        // holds a NUL, so the only NUL is the one just written at `len`.
        let candidate = unsafe { CStr::from_bytes_with_nul_unchecked(&buf[..=len]) };
        match crate::sys::execve(candidate, argv, env.as_ptr()) {
            Errno::NOENT | Errno::NOTDIR | Errno::NAMETOOLONG => {}
            Errno::ACCESS => result = Errno::ACCESS,
            other => return other,
        }
    }
    result
}
