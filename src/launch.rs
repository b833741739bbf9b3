//! The parent's side: parse, clone the child into every new namespace at
//! once, write its id maps from out here, let it go, forward signals to it
//! and leave with its exit status.

use crate::argv::{Argv, Env};
use crate::cli::{self, Command};
use crate::idmap::{IdMap, MapText};
use crate::report::{self, Failure, Object, STATUS_SETUP};
use crate::spec::{Namespaces, Spec};
use crate::supervise::{Ending, Supervisor, FORWARDED};
use crate::sys;
use linux_raw_sys::general as k;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions};

/// nsinit as a command: returns the exit status.
pub fn main(argv: Argv, env: Env) -> i32 {
    let mut spec = Spec::default();
    match cli::parse(argv.iter(), &mut spec) {
        Ok(Command::Run) => {}
        Ok(Command::Help) => return print_and_succeed(cli::USAGE),
        Ok(Command::Version) => return print_and_succeed(cli::VERSION),
        Err(e) => {
            Failure::reason("option", Object::Text(e.arg), e.reason)
                .hint("see nsinit --help")
                .print();
            return i32::from(STATUS_SETUP);
        }
    };
    report::set_debug(spec.debug);
    report::debug("start", cli::VERSION.trim_ascii_end().as_bytes());
    let supervisor = |payload| Supervisor {
        payload,
        forward: FORWARDED,
        stop: 0,
        shares_group: !spec.new_session,
    };
    let run = || -> Result<i32, Failure> {
        let waited = supervisor(0).waited();
        let child = start(&spec, argv, env, waited)?;
        match supervisor(child).wait()? {
            Ending::Payload(exit) => Ok(exit.status),
            Ending::Stop(sig) => Ok(128 + sig as i32),
        }
    };
    run().unwrap_or_else(|f| {
        f.print();
        i32::from(f.status)
    })
}

fn print_and_succeed(text: &str) -> i32 {
    report::write_all(1, text.as_bytes());
    0
}

/// Clones the child into its namespaces, writes its maps and lets it go;
/// returns its pid. `waited` (the signals the caller will wait for) is
/// blocked first, so nothing sent in between is lost; the child unblocks
/// everything before exec.
pub fn start<'a>(
    spec: &'a Spec,
    argv: Argv,
    env: Env,
    waited: sys::SigSet,
) -> Result<u32, Failure<'a>> {
    // The maps are rendered before any process exists, so a bad one costs
    // nothing to undo.
    let (mut uid_text, mut gid_text) = (MapText::default(), MapText::default());
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    render(&spec.uid_map, uid, &mut uid_text, "uid map")?;
    render(&spec.gid_map, gid, &mut gid_text, "gid map")?;

    // A caller that ignores SIGCHLD would make the kernel reap our child
    // itself and send no SIGCHLD at all: we would wait forever.
    let _ = sys::set_default_action(k::SIGCHLD);
    sys::sigprocmask(k::SIG_BLOCK, waited)
        .map_err(|e| Failure::errno("sigprocmask", Object::None, e))?;
    let (ready_r, ready_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| Failure::errno("pipe", Object::None, e))?;

    let flags = spec.namespaces.clone_flags();
    let child = match sys::fork_with_flags(flags) {
        Err(e) => return Err(clone_failure(spec.namespaces, e)),
        Ok(None) => {
            drop(ready_w);
            crate::child::run(spec, ready_r, argv, env)
        }
        Ok(Some(pid)) => pid,
    };
    drop(ready_r);
    if report::debugging() {
        report::debug_line("clone: child")
            .num(u64::from(child))
            .push(b", flags 0x")
            .push(&hex(flags))
            .send();
    }

    if spec.namespaces.has(Namespaces::USER) {
        if let Err(f) = write_maps(spec, child, (uid, gid), (&uid_text, &gid_text)) {
            // The child is still waiting for its go byte: it never ran a
            // thing of the payload's.
            crate::supervise::send(child, k::SIGKILL);
            let _ = rustix::process::waitpid(Pid::from_raw(child as i32), WaitOptions::empty());
            return Err(f);
        }
    }
    rustix::io::write(&ready_w, b"1")
        .map_err(|e| Failure::errno("write", Object::Text(b"go byte"), e))?;
    drop(ready_w);
    Ok(child)
}

fn render<'a>(
    map: &IdMap,
    caller: u32,
    out: &mut MapText,
    what: &'static str,
) -> Result<(), Failure<'a>> {
    map.render(caller, out)
        .map_err(|reason| Failure::reason("check", Object::Text(what.as_bytes()), reason))
}

fn clone_failure<'a>(ns: Namespaces, e: Errno) -> Failure<'a> {
    let user = ns.has(Namespaces::USER);
    let hint = match e {
        Errno::NOSPC if user => Some("user namespaces are disabled or used up: see sysctl user.max_user_namespaces"),
        Errno::PERM if user => Some(
            "unprivileged user namespaces are refused: see sysctl kernel.unprivileged_userns_clone \
             and kernel.apparmor_restrict_unprivileged_userns",
        ),
        Errno::PERM => Some("new namespaces need CAP_SYS_ADMIN: run as root or add -U/-r"),
        _ => None,
    };
    let f = Failure::errno("clone", Object::Text(b"new namespaces"), e);
    match hint {
        Some(h) => f.hint(h),
        None => f,
    }
}

/// setgroups first: the kernel refuses "allow" once gid_map is written, and
/// refuses an unprivileged gid_map unless setgroups is "deny"
/// (CVE-2014-8989). Each file takes exactly one write.
fn write_maps<'a>(
    spec: &Spec,
    child: u32,
    ids: (u32, u32),
    texts: (&MapText, &MapText),
) -> Result<(), Failure<'a>> {
    let ((uid, gid), (uid_text, gid_text)) = (ids, texts);
    if let Some(sg) = spec.setgroups {
        write_proc_file(child, "setgroups", sg.as_bytes())?;
    }
    let files = [
        ("uid_map", uid_text, &spec.uid_map, uid),
        ("gid_map", gid_text, &spec.gid_map, gid),
    ];
    for (file, text, map, caller) in files {
        if map.is_empty() {
            continue;
        }
        write_proc_file(child, file, text.as_bytes()).map_err(|f| {
            let own_only = map.is_own_id_only(caller);
            let allowed = spec.setgroups != Some(crate::spec::SetGroups::Deny);
            match f.cause {
                report::Cause::Errno(Errno::PERM) if own_only && allowed && file == "gid_map" => {
                    f.hint("an unprivileged gid map needs --setgroups=deny")
                }
                report::Cause::Errno(Errno::PERM) if !own_only => f.hint(
                    "without CAP_SETUID/CAP_SETGID only your own id can be mapped: \
                     run as root or use -r/-c/--map-user",
                ),
                _ => f,
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

fn write_proc_file<'a>(pid: u32, file: &'static str, bytes: &[u8]) -> Result<(), Failure<'a>> {
    let mut path = report::Line::new();
    path.push(b"/proc/")
        .num(u64::from(pid))
        .push(b"/")
        .push(file.as_bytes())
        .push(b"\0");
    let object = Object::ProcFile(pid, file);
    // SAFETY: digits and a fixed name, then the one NUL at the end.
    let path = unsafe { core::ffi::CStr::from_bytes_with_nul_unchecked(path.as_bytes()) };
    write_once(path, object, bytes)
}

/// Writes `bytes` to `path` in one write(2), as the kernel's id-map,
/// setgroups and timens_offsets files require; a short write is an error.
pub fn write_once<'a>(
    path: &core::ffi::CStr,
    object: Object<'a>,
    bytes: &[u8],
) -> Result<(), Failure<'a>> {
    let fd: OwnedFd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Failure::errno("open", object, e))?;
    match rustix::io::write(&fd, bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(Failure::errno("write", object, Errno::IO)),
        Err(e) => Err(Failure::errno("write", object, e)),
    }
}

fn hex(n: u64) -> heapless::Vec<u8, 16> {
    let mut out = heapless::Vec::new();
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        let _ = out.push(b"0123456789abcdef"[((n >> (i * 4)) & 0xf) as usize]);
    }
    out
}
