//! The child's side: born in the new namespaces, it waits until the parent
//! has written its id maps, then sets up what the Spec asks for, in order,
//! and becomes the payload with execve.

use crate::argv::{Argv, Env};
use crate::report::{self, fail, fail_hint, Failed};
use crate::seccomp::FdFilter;
use crate::signals::Signal;
use crate::spec::{rlimit_name, Namespaces, Propagation, Spec, RESOURCES};
use crate::supervise::{Ending, Role, Supervisor};
use crate::sys;
use core::ffi::CStr;
use core::ptr;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::MountPropagationFlags;

/// Runs the child's steps and execs the payload; never returns.
///
/// # Safety
/// The process has one thread (it forks, and `--init` closes every fd past
/// stdio), owns no fd above 2, and never unwinds: the nsinit binary from
/// `_start`, not a multi-threaded or unwinding host program.
pub unsafe fn run(
    spec: &Spec,
    role: Role,
    ready: OwnedFd,
    argv: Argv,
    env: Env,
    from_fd: FdFilter,
) -> ! {
    let own_session = spec.new_session || role.console_session();
    let last = LastSteps {
        own_session,
        console_tty: role.console_session(),
        reset_signals: !role.signals_default(),
        // Only a controlling terminal takes input from TIOCSTI: no guard
        // (and its 0.1 ms) without one, nor with a session of its own.
        guard_tty: !own_session && crate::seccomp::has_controlling_terminal(),
    };
    let steps = setup(spec, &ready).and_then(|()| lock_down(spec, || parent_alive(&ready)));
    // Its work is done; `--init` closes every fd past stdio.
    drop(ready);
    let Failed(status) = match steps {
        Ok(()) if spec.stay_as_init => stay_as_init(spec, argv, env, last, from_fd),
        Ok(()) => exec_payload(spec, argv, env, last, from_fd),
        Err(failed) => failed,
    };
    sys::exit(i32::from(status))
}

/// Without the go byte the parent failed or died, and has said why (or
/// cannot): the child leaves quietly. Out of line: inlined, its frame
/// (the mount plan's paths) joins `run`'s, which the child enters at its
/// first instruction, before the go byte; under a small `ulimit -s` the
/// child then crashed while the parent was still writing the maps.
#[inline(never)]
fn setup(spec: &Spec, ready: &OwnedFd) -> Result<(), Failed> {
    set_kill_child(spec)?;
    // One byte means "maps written, go on"; EOF without it means the parent
    // failed (and reported it) or died. Setting the death signal first and
    // then waiting here closes the race with a parent that dies early.
    let mut go = [0u8; 1];
    match rustix::io::read(ready, &mut go) {
        Ok(1) => {}
        _ => return Err(Failed(report::STATUS_SETUP)),
    }
    report::debug("child: go", b"");
    if spec.namespaces.has(Namespaces::USER) {
        crate::identity::take_mapped_ids(spec)?;
    }
    if spec.namespaces.has(Namespaces::TIME) {
        enter_time_namespace(spec)?;
    }
    if let Some(name) = spec.hostname {
        rustix::system::sethostname(name).map_err(|e| fail("sethostname", name, e))?;
        report::debug("sethostname", name);
    }
    if let Some(name) = spec.domainname {
        rustix::system::setdomainname(name).map_err(|e| fail("setdomainname", name, e))?;
        report::debug("setdomainname", name);
    }
    if spec.namespaces.has(Namespaces::NET) {
        // A new network namespace has only lo, and down: 127.0.0.1 would
        // not answer.
        sys::loopback_up().map_err(|e| fail("ioctl SIOCSIFFLAGS", b"lo up", e))?;
        report::debug("lo up", b"");
    }
    if spec.namespaces.has(Namespaces::MOUNT) {
        set_propagation(spec.propagation)?;
    }
    // The parser puts -R's directory, or a fresh tmpfs, first in the plan.
    let new_root = !spec.mounts.is_empty();
    if new_root {
        crate::mounts::build_root(spec)?;
    }
    if let Some(dir) = spec.wd {
        change_dir(dir, new_root).map_err(|e| {
            let hint = match e {
                Errno::LOOP if new_root => "not through a /proc magic link (CVE-2024-21626)",
                _ => "",
            };
            fail_hint("chdir", dir.to_bytes(), e, hint)
        })?;
        report::debug("chdir", dir.to_bytes());
    }
    if let (Some(target), false) = (spec.mount_proc, new_root) {
        crate::mounts::mount_proc(target).map_err(|e| {
            let hint = crate::mounts::proc_hint(spec.namespaces, e);
            fail_hint("mount proc", target.to_bytes(), e, hint)
        })?;
        report::debug("mount proc", target.to_bytes());
    }
    // Inherited fds past stdio (and the --preserve-fds ones) must not reach
    // the payload: runc's CVE-2024-21626 escaped through one. CLOEXEC rather
    // than close: our own stderr stays usable to report an exec failure.
    // Before the limits: on kernels before 5.11 the fds are marked one by
    // one up to the NOFILE limit, which --rlimit may lower.
    cloexec_inherited(3 + spec.preserve_fds).map_err(|e| fail("close_range", b"", e))?;
    set_rlimits(spec)
}

/// `--rlimit`s, the last setup step: after the mounts, which take fds and
/// memory a low limit would refuse, and before the ids change (lock_down):
/// raising a hard limit needs CAP_SYS_RESOURCE, which leaving uid 0 gives
/// up, and the kernel weighs NPROC against the new uid when it changes
/// (execve then fails with EAGAIN if it is over). A limit the command line
/// leaves out (`SOFT:`, `:HARD`) keeps its inherited value.
fn set_rlimits(spec: &Spec) -> Result<(), Failed> {
    use rustix::process::{getrlimit, setrlimit, Rlimit};
    for (n, limit) in spec.rlimits.iter().enumerate() {
        if !limit.is_set() {
            continue;
        }
        let old = getrlimit(RESOURCES[n]);
        // rustix's `None` is RLIM_INFINITY, and so is u64::MAX.
        let new = Rlimit {
            current: limit.soft.or(old.current),
            maximum: limit.hard.or(old.maximum),
        };
        setrlimit(RESOURCES[n], new)
            .map_err(|e| fail_hint("setrlimit", rlimit_name(n), e, rlimit_hint(e)))?;
        report::debug("setrlimit", rlimit_name(n));
    }
    Ok(())
}

/// Why the kernel refuses a limit. It asks for CAP_SYS_RESOURCE in the
/// initial user namespace, which root in a new one never has.
fn rlimit_hint(e: Errno) -> &'static str {
    match e {
        Errno::PERM => {
            "raising a hard limit needs CAP_SYS_RESOURCE outside any user \
             namespace, and NOFILE's stays within fs.nr_open"
        }
        Errno::INVAL => "the soft limit would be above the hard limit",
        _ => "",
    }
}

/// After a root change the working directory is looked up inside the new
/// root, never through a /proc magic link: runc's CVE-2024-21626 let a
/// payload start in a host directory through a leaked fd
/// (`-w /proc/self/fd/N`).
fn change_dir(dir: &CStr, new_root: bool) -> Result<(), Errno> {
    if !new_root {
        return rustix::process::chdir(dir);
    }
    // The cwd is the new root here, so it is the root of the lookup.
    let flags = OFlags::PATH | OFlags::DIRECTORY;
    let fd = crate::mounts::open_in(rustix::fs::CWD, dir, flags, 0)?;
    rustix::process::fchdir(&fd)
}

/// PR_SET_PDEATHSIG with `--kill-child`'s signal.
fn set_kill_child(spec: &Spec) -> Result<(), Failed> {
    if let Some(sig) = spec.kill_child {
        sys::set_death_signal(sig.get()).map_err(|e| fail("prctl", b"PR_SET_PDEATHSIG", e))?;
    }
    Ok(())
}

/// `--kill-child`'s signal set (again), then the parent checked to be
/// alive: had it died before, the signal would never come.
fn rearm_kill_child(spec: &Spec, parent_alive: impl Fn() -> bool) -> Result<(), Failed> {
    if spec.kill_child.is_none() {
        return Ok(());
    }
    set_kill_child(spec)?;
    match parent_alive() {
        true => Ok(()),
        false => Err(Failed(report::STATUS_SETUP)),
    }
}

/// Whether nsinit's parent side still runs: it holds the pipe's write end
/// until it exits, so a read finds no data (EAGAIN), not EOF.
fn parent_alive(ready: &OwnedFd) -> bool {
    use rustix::{fs::fcntl_setfl, io::read};
    let _ = fcntl_setfl(ready, OFlags::NONBLOCK);
    read(ready, &mut [0u8; 1]) == Err(Errno::AGAIN)
}

/// Who the payload (and `--init`) will be (identity::lock_down), then
/// `--kill-child` set again: the kernel clears the parent-death signal at
/// every credential change.
fn lock_down(spec: &Spec, parent_alive: impl Fn() -> bool) -> Result<(), Failed> {
    crate::identity::lock_down(spec)?;
    rearm_kill_child(spec, parent_alive)
}

/// A time namespace only takes clock offsets before its first process
/// enters it, so it cannot be created by clone(). unshare(CLONE_NEWTIME)
/// makes one for our future children, we write its offsets, and setns moves
/// this process itself into it: the payload keeps being the pid namespace's
/// PID 1, and this works in an unprivileged user namespace too.
/// Out of line, as `mounts::build_root`: `setup` runs before the go byte,
/// and what it inlines is stack the child needs at its first step.
#[inline(never)]
fn enter_time_namespace(spec: &Spec) -> Result<(), Failed> {
    let hint = "a time namespace needs CAP_SYS_ADMIN: add -U/-r or run as root";
    // SAFETY: rustix marks unshare unsafe for CLONE_FILES/CLONE_FS, which
    // can pull state from under other threads; NEWTIME only picks the time
    // namespace of future children, and `run`'s contract is one thread.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWTIME) }.map_err(
        |e| {
            fail_hint(
                "unshare",
                b"CLONE_NEWTIME",
                e,
                if e == Errno::PERM { hint } else { "" },
            )
        },
    )?;
    // Both clocks, zero or not: one write, as the file requires.
    let mut text = report::Line::new();
    text.push(b"monotonic ").int(spec.monotonic);
    text.push(b" 0\nboottime ").int(spec.boottime).push(b" 0\n");
    let path = c"/proc/self/timens_offsets";
    sys::write_once(path, text.as_bytes()).map_err(|(step, e)| fail(step, path.to_bytes(), e))?;
    let ns = rustix::fs::open(
        c"/proc/self/ns/time_for_children",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail("open", b"/proc/self/ns/time_for_children", e))?;
    rustix::thread::move_into_link_name_space(
        ns.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Time),
    )
    .map_err(|e| fail("setns", b"time namespace", e))?;
    report::debug("enter time namespace", b"");
    Ok(())
}

/// As unshare(1) does by default: make every mount private (recursively),
/// so nothing mounted inside shows up in the caller's namespace.
fn set_propagation(p: Propagation) -> Result<(), Failed> {
    let flags = match p {
        Propagation::Unchanged => return Ok(()),
        Propagation::Private => MountPropagationFlags::PRIVATE,
        Propagation::Slave => MountPropagationFlags::DOWNSTREAM,
        Propagation::Shared => MountPropagationFlags::SHARED,
    };
    rustix::mount::mount_change(c"/", flags | MountPropagationFlags::REC)
        .map_err(|e| fail("mount", b"--propagation /", e))?;
    report::debug("propagation of / set", b"");
    Ok(())
}

/// `--init`: stay in the namespaces as the payload's parent (PID 1 with
/// -p), reap whatever ends there, pass signals on, and leave with the
/// payload's status, as tini does. This process keeps the caller's
/// environment in its memory: not dumpable, so the payload can neither
/// read /proc/1/environ nor ptrace it.
fn stay_as_init(spec: &Spec, argv: Argv, env: Env, last: LastSteps, from_fd: FdFilter) -> Failed {
    use rustix::process::{getpid, set_dumpable_behavior, DumpableBehavior, Pid};
    if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        return fail("prctl", b"PR_SET_DUMPABLE", e);
    }
    let init = getpid();
    if init != Pid::INIT {
        // Not PID 1 of a namespace: orphans come to us only as a subreaper.
        let _ = rustix::process::set_child_subreaper(Some(init));
    }
    let mut sup = Supervisor::init(last.own_session);
    // Already blocked by the parent before the clone; the payload unblocks.
    if let Err(e) = sys::sigprocmask(linux_raw_sys::general::SIG_BLOCK, sup.waited()) {
        return fail("sigprocmask", b"", e);
    }
    // The payload waits for one byte: until this process is locked down,
    // it runs nothing of its own.
    let (locked_r, locked_w) = match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
        Ok(pipe) => pipe,
        Err(e) => return fail("pipe", b"", e),
    };
    // SAFETY: one thread: `run`'s contract.
    match unsafe { sys::fork_with_flags(0) } {
        Err(e) => fail("fork", b"payload", e),
        Ok(None) => {
            drop(locked_w);
            if rustix::io::read(&locked_r, &mut [0u8; 1]) != Ok(1) {
                return Failed(report::STATUS_SETUP);
            }
            drop(locked_r);
            // Without -p nothing else ends the payload with us: it takes
            // the same death signal, tied to this process.
            let init_alive = || rustix::process::getppid() == Some(init);
            if let Err(failed) = rearm_kill_child(spec, init_alive) {
                return failed;
            }
            exec_payload(spec, argv, env, last, from_fd)
        }
        Ok(Some(pid)) => {
            sup.payload = pid;
            drop(locked_r);
            let locked = crate::identity::lock_down_beside(spec, from_fd).and_then(|()| {
                rustix::io::write(&locked_w, b"1").map_err(|e| fail("write", b"go byte", e))
            });
            if let Err(failed) = locked {
                crate::supervise::send(pid, Signal::KILL);
                return failed;
            }
            drop(locked_w);
            // The payload closes what it must not inherit; we need none of it.
            // SAFETY: past the stdio this process owns no fd: `run` dropped
            // the go pipe, and `run`'s contract covers the rest.
            let _ = unsafe { sys::close_from(3) };
            report::debug("init: waiting for the payload", b"");
            match sup.wait() {
                Ok(Ending::Payload(exit)) => sys::exit(exit.status),
                Ok(Ending::Stop(sig)) => sys::exit(128 + sig as i32),
                Err(failed) => failed,
            }
        }
    }
}

/// What the last steps before execve do, decided from the Spec and
/// nsinit's role before the child's first step.
#[derive(Clone, Copy)]
struct LastSteps {
    /// setsid(): `--new-session`, or PID 1 of a VM.
    own_session: bool,
    /// The console (stdin) becomes the controlling terminal.
    console_tty: bool,
    /// Dispositions the caller left ignored are reset.
    reset_signals: bool,
    /// The TIOCSTI filter guards the caller's terminal.
    guard_tty: bool,
}

/// The last steps, then execve: session, fds, signals, the payload's
/// environment and argv, the terminal guard.
fn exec_payload(spec: &Spec, argv: Argv, env: Env, last: LastSteps, from_fd: FdFilter) -> Failed {
    if last.own_session {
        if let Err(e) = rustix::process::setsid() {
            return fail("setsid", b"", e);
        }
    }
    if last.console_tty {
        // Not fatal: a console without a tty (console=null) still runs.
        // SAFETY: fd 0 stays open for the life of the process.
        let stdin = unsafe { rustix::fd::BorrowedFd::borrow_raw(0) };
        if let Err(e) = rustix::process::ioctl_tiocsctty(stdin) {
            report::warn("ioctl TIOCSCTTY", b"stdin", e);
        }
    }
    // Dispositions survive execve only when ignored (handlers are reset), so
    // this clears what the caller ignored (nohup, SIGPIPE in some shells);
    // then the payload starts with nothing blocked, as a fresh process would.
    // The fault handlers stay: execve resets them, and until then a stack
    // overflow in these last steps is nsinit's crash (125), not the
    // payload's 139.
    if last.reset_signals {
        // KILL and STOP cannot change; the fault handlers stay (above). A
        // set, not a search of FAULTS for each signal (64 bytes less).
        use linux_raw_sys::general::{SIGKILL, SIGSTOP};
        let kept = sys::FAULTS.iter().fold(
            sys::sig_bit(SIGKILL) | sys::sig_bit(SIGSTOP),
            |set, &sig| set | sys::sig_bit(sig),
        );
        for sig in 1..=64 {
            if kept & sys::sig_bit(sig) == 0 {
                let _ = sys::set_default_action(sig);
            }
        }
    }
    let _ = sys::sigprocmask(linux_raw_sys::general::SIG_SETMASK, 0);

    let default_argv: [*const u8; 2];
    let (program, payload_argv) = match spec
        .payload_index
        .and_then(|i| Some((argv.get(i)?, argv.tail(i))))
    {
        Some(found) => found,
        None => {
            let shell = env
                .get(b"SHELL")
                .filter(|s| !s.is_empty())
                .unwrap_or(c"/bin/sh");
            default_argv = [shell.as_ptr().cast(), ptr::null()];
            // SAFETY: one C string (from the environment or static) and a
            // NULL, in this frame, which outlives the execve below.
            (shell, unsafe { Argv::from_raw(default_argv.as_ptr(), 1) })
        }
    };
    let env = if spec.env.is_empty() {
        env
    } else {
        match crate::argv::build_env(env, &spec.env) {
            Ok(env) => env,
            Err(e) => return fail("setenv", b"", e),
        }
    };
    // Last before execve: nothing of nsinit's setup runs under the filters.
    if let Err(failed) = crate::seccomp::load(&spec.seccomp, from_fd, last.guard_tty) {
        return failed;
    }
    report::debug("exec", program.to_bytes());
    crate::exec::exec(program, payload_argv, env)
}

/// Marks every fd from `first` up to be closed at exec. close_range's
/// CLOSE_RANGE_CLOEXEC came in Linux 5.11; on older kernels (Debian 11 runs
/// 5.10) each possible fd up to the open-files limit is marked one by one.
fn cloexec_inherited(first: u32) -> Result<(), Errno> {
    use rustix::process::{getrlimit, Resource};
    match sys::cloexec_from(first) {
        Err(Errno::NOSYS | Errno::INVAL) => {
            let limit = getrlimit(Resource::Nofile);
            let most = limit
                .maximum
                .max(limit.current)
                .unwrap_or(u64::MAX)
                .min(1 << 20);
            mark_cloexec(first, most as u32);
            Ok(())
        }
        other => other,
    }
}

fn mark_cloexec(first: u32, end: u32) {
    for fd in first..end {
        // SAFETY: only the fd's flags are touched; one that is not open
        // just answers EBADF.
        let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd as i32) };
        let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn the_old_kernel_path_marks_every_fd() {
        let files: std::vec::Vec<std::fs::File> = (0..3)
            .map(|_| std::fs::File::open("/dev/null").unwrap())
            .collect();
        // SAFETY: each fd belongs to a File alive until the end of the test.
        let fd = |i: usize| unsafe { rustix::fd::BorrowedFd::borrow_raw(files[i].as_raw_fd()) };
        for i in 0..3 {
            rustix::io::fcntl_setfd(fd(i), rustix::io::FdFlags::empty()).unwrap();
        }
        // Only the middle one: other tests open fds in parallel, so no wider
        // range is known to hold only ours.
        let middle = files[1].as_raw_fd() as u32;
        mark_cloexec(middle, middle + 1);
        let flags: std::vec::Vec<_> = (0..3)
            .map(|i| rustix::io::fcntl_getfd(fd(i)).unwrap())
            .collect();
        assert_eq!(
            flags,
            [
                rustix::io::FdFlags::empty(),
                rustix::io::FdFlags::CLOEXEC,
                rustix::io::FdFlags::empty()
            ]
        );
    }
}
