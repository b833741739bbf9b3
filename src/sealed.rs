//! nsinit's own binary out of the payload's reach (runc's CVE-2019-5736).
//!
//! A payload reaches the file an nsinit process runs through
//! `/proc/PID/exe`. While nsinit runs, a write open of it fails with
//! ETXTBSY, but an `O_PATH` fd kept by an orphan can be reopened for
//! writing through `/proc/self/fd/N` once nsinit has exited. Following the
//! link takes ptrace_may_access(): the same user namespace and at least
//! nsinit's capabilities (commoncap), and for a process that is not
//! dumpable, CAP_SYS_PTRACE in the user namespace nsinit was started in.
//! So:
//! - nsinit is never dumpable while the payload runs (`not_dumpable`):
//!   that closes /proc/PID/exe, and /proc/PID/root, to every payload
//!   without CAP_SYS_PTRACE over it, even one with nsinit's kernel uid and
//!   capabilities (a container engine's default set has no CAP_SYS_PTRACE);
//! - a payload that keeps nsinit's user namespace and CAP_SYS_PTRACE (root
//!   without `-U`) passes that check. Where nsinit is its PID 1 (a
//!   container's init, `--init` with `-p`), nsinit's root is the payload's
//!   own and the exe link is the one way out: nsinit runs from a sealed
//!   memfd copy of itself, as runc does (`run_from_sealed_copy`), and the
//!   link leads to a copy nobody can write.
//!
//! The launcher makes no copy: a payload that can follow its
//! /proc/PID/exe can follow its /proc/PID/root just as well, which is the
//! caller's whole file system, binary included. A copy would cost an
//! exec (0.2 ms) and close nothing; `-p` or `-U` close both.

use crate::argv::{cstr_tail, Argv, Env};
use crate::report::{self, fail, fail_hint, Failed};
use crate::spec::{Namespaces, Spec};
use crate::supervise::Role;
use crate::sys;
use core::ffi::CStr;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{MemfdFlags, Mode, OFlags, SealFlags};
use rustix::io::Errno;

/// What makes a memfd unchangeable: no write, no size change, no seal
/// taken off (seals only ever add up).
const SEALS: SealFlags = SealFlags::SEAL
    .union(SealFlags::SHRINK)
    .union(SealFlags::GROW)
    .union(SealFlags::WRITE);

/// Runs nsinit again from a sealed copy of itself, with the same argv and
/// environment, where the payload could otherwise reach its binary;
/// returns when this process may go on as it is. Called before anything
/// of the payload's exists. The copy makes the same decision and finds
/// its own executable sealed: a fact of the kernel's, so nothing in the
/// caller's environment switches the copy off (a container image sets
/// the environment of its PID 1: a marker variable would).
pub fn run_from_sealed_copy(spec: &Spec, role: Role, argv: Argv, env: Env) -> Result<(), Failed> {
    // A VM's PID 1 runs until the power goes: its binary stays busy
    // (ETXTBSY) for as long as anything of the payload's lives, and it is
    // a file of the initramfs, in memory.
    let pid1 = match role {
        Role::ContainerInit => true,
        Role::Launcher => spec.stay_as_init && spec.namespaces.has(Namespaces::PID),
        Role::VmInit => false,
    };
    if !pid1 || !payload_may_trace(spec) {
        return Ok(());
    }
    let path = c"/proc/self/exe";
    let exe = match open_exe(path) {
        Ok(exe) => exe,
        Err(e) => return without_copy("open", path.to_bytes(), e),
    };
    if rustix::fs::fcntl_get_seals(&exe).is_ok_and(|s| s.contains(SEALS)) {
        take_name(argv);
        return Ok(());
    }
    let copy = match sealed_copy(&exe) {
        Ok(copy) => copy,
        // vm.memfd_noexec=2 refuses an executable memfd.
        Err(("memfd_create", e @ Errno::ACCESS)) => return without_copy("memfd_create", b"", e),
        Err((step, e)) => return Err(fail(step, b"sealed copy", e)),
    };
    report::debug("exec", b"sealed copy");
    Err(fail(
        "execveat",
        b"sealed copy",
        sys::execve_fd(copy.as_fd(), argv, env),
    ))
}

/// nsinit's own executable, through a /proc that is procfs: a file or
/// link planted where a container's /proc should be would name a file
/// that never has seals, and each copy would make another.
fn open_exe(path: &CStr) -> Result<OwnedFd, Errno> {
    let proc = rustix::fs::statfs(c"/proc")?;
    if proc.f_type as u32 != linux_raw_sys::general::PROC_SUPER_MAGIC {
        return Err(Errno::NOENT);
    }
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
}

/// Without a procfs /proc (a container's covered by a tmpfs) the payload
/// has no link to follow either, until it mounts a proc itself; under
/// vm.memfd_noexec=2 no copy can run. Said, and the run goes on with
/// nsinit not dumpable only.
fn without_copy(step: &str, object: &[u8], e: Errno) -> Result<(), Failed> {
    let hint = "going on without a sealed copy (CVE-2019-5736)";
    let _ = fail_hint(step, object, e, hint);
    Ok(())
}

/// Whether the payload can pass ptrace_may_access() on a non-dumpable
/// nsinit: it stays in nsinit's user namespace (no `-U`), keeps its
/// capabilities (no sandbox), and can hold CAP_SYS_PTRACE. Under
/// no_new_privs a payload gets no capability at exec beyond nsinit's
/// permitted set, even as root; with `--allow-new-privs`, a payload
/// running as root (or a set-user-ID root file) takes the whole bounding
/// set.
fn payload_may_trace(spec: &Spec) -> bool {
    use rustix::thread::CapabilitySet;
    use rustix::thread::{capabilities, capability_is_in_bounding_set};
    let held = || capabilities(None).is_ok_and(|c| c.permitted.contains(CapabilitySet::SYS_PTRACE));
    let gained = || {
        spec.allow_new_privs
            && capability_is_in_bounding_set(CapabilitySet::SYS_PTRACE).unwrap_or(true)
    };
    !spec.namespaces.has(Namespaces::USER) && keeps_ptrace(spec) && (held() || gained())
}

/// Whether the payload's capabilities may include CAP_SYS_PTRACE: a
/// sandbox has none unless `--cap-add` gives it back, and `--cap-drop`
/// takes it (identity.rs folds the options the same way).
fn keeps_ptrace(spec: &Spec) -> bool {
    const PTRACE: u64 = 1 << linux_raw_sys::general::CAP_SYS_PTRACE;
    // Not yet knowing what will be held: every capability may be.
    let default = if spec.sandbox { 0 } else { u64::MAX };
    spec.caps.map_or(default, |c| c.result(default, u64::MAX)) & PTRACE != 0
}

/// A sealed, executable memfd holding the bytes of `exe`; otherwise the
/// step that failed, with its error.
fn sealed_copy(exe: &OwnedFd) -> Result<OwnedFd, (&'static str, Errno)> {
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    // MFD_EXEC (Linux 6.3) keeps vm.memfd_noexec=1 from sealing the copy
    // against exec; older kernels refuse the flag.
    let copy = match rustix::fs::memfd_create(c"nsinit", flags | MemfdFlags::EXEC) {
        Err(Errno::INVAL) => rustix::fs::memfd_create(c"nsinit", flags),
        other => other,
    }
    .map_err(|e| ("memfd_create", e))?;
    while rustix::fs::sendfile(&copy, exe, None, 1 << 20).map_err(|e| ("sendfile", e))? > 0 {}
    rustix::fs::fcntl_add_seals(&copy, SEALS).map_err(|e| ("fcntl F_ADD_SEALS", e))?;
    Ok(copy)
}

/// A program run from an fd is named after it (its number, or on newer
/// kernels, 6.18 here, the memfd's "memfd:nsinit"), not after nsinit as
/// `ps`, `pkill` and /proc/PID/comm knew it: the copy takes argv[0]'s
/// last part again.
fn take_name(argv: Argv) {
    if let Some(arg0) = argv.get(0) {
        let bytes = arg0.to_bytes();
        let last = bytes.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        let _ = rustix::thread::set_name(cstr_tail(arg0, last));
    }
}

/// Not dumpable: /proc/PID/exe, /proc/PID/root and the rest that
/// ptrace_may_access() guards are closed to every process without
/// CAP_SYS_PTRACE in nsinit's user namespace. Set after the id maps are
/// written (the child was cloned dumpable, so its /proc files stay its
/// caller's to write) and before the payload runs.
pub fn not_dumpable() -> Result<(), Failed> {
    use rustix::process::{set_dumpable_behavior, DumpableBehavior};
    set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| fail("prctl", b"PR_SET_DUMPABLE", e))
}
