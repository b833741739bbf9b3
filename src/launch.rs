//! The parent's side: parse, clone the child into every new namespace at
//! once, write its id maps from out here, let it go, forward signals to it
//! and leave with its exit status.

use crate::argv::{Argv, Env, Path};
use crate::cli::{self, Next};
use crate::idmap::{IdMap, MapText};
use crate::report::{self, fail, fail_hint, fail_why, Failed};
use crate::spec::{Namespaces, Spec};
use crate::supervise::{Ending, Role, Supervisor};
use crate::sys;
use linux_raw_sys::general as k;
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions};

/// nsinit as a command: returns the exit status.
/// `spec` is `Spec::new()`, to be filled.
///
/// # Safety
/// The process has one thread (it forks, and `--init` closes every fd past
/// stdio), owns no fd above 2, and never unwinds: the nsinit binary from
/// `_start`, not a multi-threaded or unwinding host program.
pub unsafe fn main(argv: Argv<'static>, env: Env, spec: &mut Spec<'static>) -> i32 {
    if let Next::Exit(status) = cli::read_command_line(argv, spec) {
        return i32::from(status);
    }
    report::set_debug(spec.debug);
    const VERSION: &str = cli::VERSION.trim_ascii_end();
    report::debug("start", VERSION.as_bytes());
    if let Err(Failed(status)) =
        crate::sealed::run_from_sealed_copy(spec, Role::Launcher, argv, env)
    {
        return i32::from(status);
    }
    let run = || -> Result<i32, Failed> {
        let mut sup = Supervisor::launcher(spec.new_session);
        let from_fd = crate::seccomp::read_fd_filter(&spec.seccomp)?;
        // SAFETY: `main`'s contract is `start`'s.
        sup.payload = unsafe { start(spec, Role::Launcher, argv, env, sup.waited(), from_fd) }?;
        match sup.wait()? {
            Ending::Payload(exit) => Ok(exit.status),
            Ending::Stop(sig) => Ok(128 + sig as i32),
        }
    };
    run().unwrap_or_else(|Failed(status)| i32::from(status))
}

/// Clones the child into its namespaces, writes its maps and lets it go;
/// returns its pid. `waited` (the signals the caller will wait for) is
/// blocked first, so nothing sent in between is lost; the child unblocks
/// everything before exec. `from_fd`: `--seccomp-fd`'s filter, read by
/// the caller (seccomp::read_fd_filter).
///
/// # Safety
/// The process has one thread (it forks, and `--init` closes every fd past
/// stdio), owns no fd above 2, and never unwinds: the nsinit binary from
/// `_start`, not a multi-threaded or unwinding host program.
pub unsafe fn start(
    spec: &Spec,
    role: Role,
    argv: Argv,
    env: Env,
    waited: sys::SigSet,
    from_fd: crate::seccomp::FdFilter,
) -> Result<u32, Failed> {
    // The maps are checked before any process exists, so a bad one costs
    // nothing to undo.
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    check_maps(spec, (uid, gid))?;
    if spec.namespaces.has(Namespaces::USER) {
        one_sided_maps(spec, uid, gid)?;
    }

    // A caller that ignores SIGCHLD would make the kernel reap our child
    // itself and send no SIGCHLD at all: we would wait forever.
    let _ = sys::set_default_action(k::SIGCHLD);
    sys::sigprocmask(k::SIG_BLOCK, waited).map_err(|e| fail("sigprocmask", b"", e))?;
    let (ready_r, ready_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| fail("pipe", b"", e))?;

    let flags = spec.namespaces.clone_flags();
    // SAFETY: one thread: `start`'s contract.
    let child = match unsafe { sys::fork_with_flags(flags) } {
        Err(e) => return Err(clone_failure(spec.namespaces, e)),
        Ok(None) => {
            drop(ready_w);
            // SAFETY: `start`'s contract is `run`'s.
            unsafe { crate::child::run(spec, role, ready_r, argv, env, from_fd) }
        }
        Ok(Some(pid)) => pid,
    };
    drop(ready_r);
    if report::debugging() {
        report::debug_line("clone: child")
            .num(u64::from(child))
            .push(b", flags ")
            .num(flags)
            .send();
    }

    let ready = match spec.namespaces.has(Namespaces::USER) {
        true => write_maps(spec, child, (uid, gid)),
        false => Ok(()),
    };
    // A container's PID 1 is locked down before its payload runs a thing.
    let ready = ready.and_then(|()| match role {
        Role::ContainerInit => crate::identity::lock_down_beside(spec, from_fd),
        _ => Ok(()),
    });
    if let Err(failed) = ready {
        // The child is still waiting for its go byte: it never ran a
        // thing of the payload's.
        crate::supervise::send(child, crate::signals::Signal::KILL);
        let _ = rustix::process::waitpid(Pid::from_raw(child as i32), WaitOptions::empty());
        return Err(failed);
    }
    crate::sealed::not_dumpable()?;
    rustix::io::write(&ready_w, b"1").map_err(|e| fail("write", b"go byte", e))?;
    // Kept open until we exit (never inherited: CLOEXEC, and we do not
    // exec): the child reads EOF from it only if we are gone.
    core::mem::forget(ready_w);
    Ok(child)
}

/// Ranges on one side alone leave the other side the caller's own kernel
/// id, unmapped and with nothing to switch to: as root, root's gid (or
/// uid) and its file access would stay with a payload that looks like
/// nobody.
fn one_sided_maps(spec: &Spec, uid: u32, gid: u32) -> Result<(), Failed> {
    let (users, groups) = (&spec.uid_map, &spec.gid_map);
    let why = if users.ranges_only() && groups.is_empty() && gid == 0 {
        "none beside --map-users, so root's gid 0 would stay, unmapped"
    } else if groups.ranges_only() && users.is_empty() && uid == 0 {
        "none beside --map-groups, so root's uid 0 would stay, unmapped"
    } else {
        return Ok(());
    };
    let (what, hint) = match users.is_empty() {
        true => (&b"uid map"[..], "add --map-users"),
        false => (&b"gid map"[..], "add --map-groups"),
    };
    Err(fail_why("check", what, why, hint))
}

/// Renders both maps and throws the texts away: a bad map is found before
/// the clone, and the 4 KB texts are off the stack by then. The child
/// starts with the stack the parent had in use at the clone: under a
/// small `ulimit -s` the 8 KB of texts live across it made the child crash
/// at its first step. Out of line, and so is `write_maps`, for that reason.
#[inline(never)]
fn check_maps(spec: &Spec, (uid, gid): (u32, u32)) -> Result<(), Failed> {
    let mut text = MapText::default();
    render(&spec.uid_map, uid, &mut text, "uid map")?;
    render(&spec.gid_map, gid, &mut text, "gid map")
}

fn render(map: &IdMap, caller: u32, out: &mut MapText, what: &str) -> Result<(), Failed> {
    map.render(caller, out)
        .map_err(|reason| fail_why("check", what.as_bytes(), reason, ""))
}

fn clone_failure(ns: Namespaces, e: Errno) -> Failed {
    let user = ns.has(Namespaces::USER);
    let hint = match e {
        Errno::NOSPC if user => {
            "user namespaces are disabled or used up: see sysctl user.max_user_namespaces"
        }
        Errno::PERM if user => {
            "unprivileged user namespaces are refused: see sysctl kernel.unprivileged_userns_clone \
             and kernel.apparmor_restrict_unprivileged_userns"
        }
        Errno::PERM => "new namespaces need CAP_SYS_ADMIN: run as root or add -U/-r",
        _ => "",
    };
    fail_hint("clone", b"new namespaces", e, hint)
}

/// setgroups first: the kernel refuses "allow" once gid_map is written, and
/// refuses an unprivileged gid_map unless setgroups is "deny"
/// (CVE-2014-8989). Each file takes exactly one write.
#[inline(never)]
fn write_maps(spec: &Spec, child: u32, (uid, gid): (u32, u32)) -> Result<(), Failed> {
    if let Some(sg) = spec.setgroups {
        write_proc_file(child, "setgroups", sg.as_bytes(), &|_| "")?;
    }
    let files = [
        ("uid_map", &spec.uid_map, uid),
        ("gid_map", &spec.gid_map, gid),
    ];
    let mut text = MapText::default();
    for (file, map, caller) in files {
        if map.is_empty() {
            continue;
        }
        render(map, caller, &mut text, file)?;
        write_proc_file(child, file, text.as_bytes(), &|e| {
            let own_only = map.is_own_id_only(caller);
            let allowed = spec.setgroups != Some(crate::spec::SetGroups::Deny);
            match e {
                Errno::PERM if own_only && allowed && file == "gid_map" => {
                    "an unprivileged gid map needs --setgroups=deny"
                }
                Errno::PERM if !own_only => {
                    "without CAP_SETUID/CAP_SETGID only your own id can be mapped: \
                     run as root or use -r/-c/--map-user"
                }
                _ => "",
            }
        })?;
        if report::debugging() {
            let text = text.as_bytes();
            report::debug_line(file)
                .push(&text[..text.len() - 1])
                .send();
        }
    }
    Ok(())
}

/// Writes `/proc/<pid>/<file>`; `hint` picks what to add to an error. A
/// `dyn`: one copy of this for both callers (376 bytes less, measured).
fn write_proc_file(
    pid: u32,
    file: &str,
    bytes: &[u8],
    hint: &dyn Fn(Errno) -> &'static str,
) -> Result<(), Failed> {
    let mut digits = [0; 20];
    let pid = crate::num::format_u64(u64::from(pid), &mut digits);
    // "/proc/" + 20 digits + "/setgroups" and the NUL fit in 48 bytes.
    let path = Path::<48>::concat(&[b"/proc/", pid, b"/", file.as_bytes()])
        .map_err(|e| fail("path", file.as_bytes(), e))?;
    sys::write_once(path.as_cstr(), bytes)
        .map_err(|(step, e)| fail_hint(step, path.as_cstr().to_bytes(), e, hint(e)))
}
