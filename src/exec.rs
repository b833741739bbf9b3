//! execve with a PATH search, and the exit statuses shells use for its
//! failures: 127 when the program is not there, 126 when it is there but
//! cannot be run.

use crate::argv::{Argv, Env, Path};
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
pub fn exec(program: &CStr, argv: Argv, env: Env) -> Failed {
    let name = program.to_bytes();
    let errno = if name.contains(&b'/') || name.is_empty() {
        crate::sys::execve(program, argv, env)
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
    fail_hint("exec", name, errno, hint).with_status(status)
}

fn search(name: &[u8], path: &[u8], argv: Argv, env: Env) -> Errno {
    let mut result = Errno::NOENT;
    for dir in path.split(|&c| c == b':') {
        // An empty entry means the current directory, as in execvp.
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        let errno = match Path::join(dir, name, b"") {
            Ok(candidate) => crate::sys::execve(candidate.as_cstr(), argv, env),
            Err(e) => e,
        };
        match errno {
            Errno::NOENT | Errno::NOTDIR | Errno::NAMETOOLONG => {}
            Errno::ACCESS => result = Errno::ACCESS,
            other => return other,
        }
    }
    result
}
