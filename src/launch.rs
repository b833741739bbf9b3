//! The parent's side: parse, clone the child into every new namespace at
//! once, write its id maps from out here, let it go, forward signals to it
//! and leave with its exit status.

use crate::argv::{Argv, Env};
use crate::cli::{self, Command};
use crate::idmap::{IdMap, MapText};
use crate::report::{self, Failure, Object, STATUS_SETUP};
use crate::spec::{Namespaces, Spec};
use crate::sys::{self, sig_bit, SigSet};
use linux_raw_sys::general as k;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};

/// Signals nsinit passes on to the payload, as tini and catatonit do.
pub const FORWARDED: SigSet = sig_bit(k::SIGTERM)
    | sig_bit(k::SIGINT)
    | sig_bit(k::SIGHUP)
    | sig_bit(k::SIGQUIT)
    | sig_bit(k::SIGUSR1)
    | sig_bit(k::SIGUSR2)
    | sig_bit(k::SIGWINCH);

/// nsinit as a command: returns the exit status.
pub fn main(argv: Argv, env: Env) -> i32 {
    let spec = match cli::parse(argv.iter()) {
        Ok(Command::Run(spec)) => spec,
        Ok(Command::Help) => return print_and_succeed(cli::USAGE),
        Ok(Command::Version) => return print_and_succeed(cli::VERSION),
        Err(e) => {
            Failure::reason("option", Object::Text(e.arg), e.reason).hint("see nsinit --help").print();
            return i32::from(STATUS_SETUP);
        }
    };
    report::set_debug(spec.debug);
    match launch(&spec, argv, env) {
        Ok(status) => status,
        Err(f) => {
            f.print();
            i32::from(f.status)
        }
    }
}

fn print_and_succeed(text: &str) -> i32 {
    report::write_all(1, text.as_bytes());
    0
}

fn launch<'a>(spec: &'a Spec, argv: Argv, env: Env) -> Result<i32, Failure<'a>> {
    report::debug("start", cli::VERSION.trim_ascii_end().as_bytes());
    // The maps are rendered before any process exists, so a bad one costs
    // nothing to undo.
    let (mut uid_text, mut gid_text) = (MapText::default(), MapText::default());
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    render(&spec.uid_map, uid, &mut uid_text, "uid map")?;
    render(&spec.gid_map, gid, &mut gid_text, "gid map")?;

    // Blocked before the clone, so nothing sent in between is lost; the
    // child unblocks everything before exec.
    let waited = FORWARDED | sig_bit(k::SIGCHLD);
    sys::sigprocmask(k::SIG_BLOCK, waited).map_err(|e| Failure::errno("sigprocmask", Object::None, e))?;
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
        report::debug_line("clone: child").num(u64::from(child)).push(b", flags 0x").push(&hex(flags)).send();
    }

    if spec.namespaces.has(Namespaces::USER) {
        if let Err(f) = write_maps(spec, child, (uid, gid), (&uid_text, &gid_text)) {
            // The child is still waiting for its go byte: it never ran a
            // thing of the payload's.
            kill(child, k::SIGKILL);
            let _ = rustix::process::waitpid(Pid::from_raw(child as i32), WaitOptions::empty());
            return Err(f);
        }
    }
    rustix::io::write(&ready_w, b"1").map_err(|e| Failure::errno("write", Object::Text(b"go byte"), e))?;
    drop(ready_w);
    wait_forwarding(child, waited)
}

fn render<'a>(map: &IdMap, caller: u32, out: &mut MapText, what: &'static str) -> Result<(), Failure<'a>> {
    map.render(caller, out).map_err(|reason| Failure::reason("check", Object::Text(what.as_bytes()), reason))
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
fn write_maps<'a>(spec: &Spec, child: u32, ids: (u32, u32), texts: (&MapText, &MapText)) -> Result<(), Failure<'a>> {
    let ((uid, gid), (uid_text, gid_text)) = (ids, texts);
    if let Some(sg) = spec.setgroups {
        write_proc_file(child, "setgroups", sg.as_bytes())?;
    }
    let files = [("uid_map", uid_text, &spec.uid_map, uid), ("gid_map", gid_text, &spec.gid_map, gid)];
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
            report::debug_line(file).push(&text[..text.len() - 1]).send();
        }
    }
    Ok(())
}

fn write_proc_file<'a>(pid: u32, file: &'static str, bytes: &[u8]) -> Result<(), Failure<'a>> {
    let mut path = report::Line::new();
    path.push(b"/proc/").num(u64::from(pid)).push(b"/").push(file.as_bytes()).push(b"\0");
    let object = Object::ProcFile(pid, file);
    let path = core::ffi::CStr::from_bytes_with_nul(path.as_bytes())
        .map_err(|_| Failure::errno("open", object, Errno::INVAL))?;
    let fd: OwnedFd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Failure::errno("open", object, e))?;
    match rustix::io::write(&fd, bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(Failure::errno("write", object, Errno::IO)),
        Err(e) => Err(Failure::errno("write", object, e)),
    }
}

fn kill(pid: u32, sig: u32) {
    // SAFETY: `sig` is a signal number the kernel just gave us, or a
    // standard one named in linux-raw-sys.
    let sig = unsafe { Signal::from_raw_unchecked(sig as i32) };
    if let Some(pid) = Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Waits for the child, passing on the forwarded signals, and returns the
/// exit status nsinit leaves with: the child's own, or 128+N for signal N.
fn wait_forwarding<'a>(child: u32, waited: SigSet) -> Result<i32, Failure<'a>> {
    let pid = Pid::from_raw(child as i32);
    loop {
        let info = match sys::sigwaitinfo(waited) {
            Ok(info) => info,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Failure::errno("sigwaitinfo", Object::None, e)),
        };
        if info.signo != k::SIGCHLD {
            // A terminal sends ^C, ^\ and window changes to the whole
            // foreground process group, the child included: passing them
            // on would deliver them twice.
            if info.code != k::SI_KERNEL as i32 {
                kill(child, info.signo);
                report::debug("forwarded signal", signal_name(info.signo));
            }
            continue;
        }
        // SIGCHLDs coalesce: ask until the child is gone or nothing is left.
        match rustix::process::waitpid(pid, WaitOptions::NOHANG) {
            Ok(Some((_, status))) => {
                if let Some(code) = status.exit_status() {
                    report::debug("child exited", &[]);
                    return Ok(code);
                }
                if let Some(sig) = status.terminating_signal() {
                    report::debug("child killed by", signal_name(sig as u32));
                    return Ok(128 + sig);
                }
            }
            Ok(None) => {}
            Err(e) => return Err(Failure::errno("waitpid", Object::None, e)),
        }
    }
}

fn signal_name(sig: u32) -> &'static [u8] {
    let index = (sig as usize).wrapping_sub(1);
    cli::SIGNAL_NAMES.get(index).map_or(b"(realtime)", |n| n.as_bytes())
}

fn hex(n: u64) -> heapless::Vec<u8, 16> {
    let mut out = heapless::Vec::new();
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        let _ = out.push(b"0123456789abcdef"[((n >> (i * 4)) & 0xf) as usize]);
    }
    out
}
