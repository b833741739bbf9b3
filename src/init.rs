//! PID 1. Two cases share `getpid() == 1`:
//! - PID 1 of a VM, in the kernel's initial pid namespace: mount the early
//!   filesystems, take the console, run the payload, and when it ends shut
//!   the machine down cleanly and report its status.
//! - PID 1 of a container (`podman run --init`, `docker run --init`): tini's
//!   job only. No mounts, no console, no reboot() (inside a pid namespace it
//!   would only kill our own namespace): reap, forward, exit with the status.

use crate::argv::{self, Argv, Env};
use crate::report::{self, fail, fail_why, Failed, STATUS_SETUP};
use crate::signals::{self, SYNC_FAULTS};
use crate::spec::{Spec, DEFAULT_GRACE_SECS};
use crate::supervise::{Ending, Exit, Role, Supervisor};
use crate::sys::{self, sig_bit};
use core::ffi::CStr;
use core::ptr;
use linux_raw_sys::general as k;
use rustix::fs::{Mode, OFlags};
use rustix::system::RebootCommand;

/// Defaults baked into an image: one argument per line.
pub const DEFAULTS_FILE: &CStr = c"/etc/nsinit/args";

/// `spec` is `Spec::new()`, to be filled. The argument vectors may live in
/// this function's frame (`choose_args`): it never returns, and the
/// contract below rules out unwinding.
///
/// # Safety
/// The process has one thread (it forks, and `--init` closes every fd past
/// stdio), owns no fd above 2, and never unwinds: the nsinit binary from
/// `_start`, not a multi-threaded or unwinding host program.
pub unsafe fn main(kernel_argv: Argv<'static>, env: Env, spec: &mut Spec<'static>) -> ! {
    // PID 1 has no default action for signals: one it neither handles nor
    // blocks is dropped. Block them all first and take them with sigwaitinfo.
    let _ = sys::sigprocmask(k::SIG_BLOCK, !SYNC_FAULTS);
    // The boot timeline starts before the options are parsed.
    report::set_debug(
        kernel_argv
            .iter()
            .any(|a| a.to_bytes() == b"--debug" || a.to_bytes() == b"-v"),
    );
    report::debug("init", b"");
    // reboot(CAD_OFF) succeeds only in the kernel's initial pid namespace
    // (elsewhere EINVAL, or EPERM): it tells a VM from a container without
    // needing /proc, and on a VM it is wanted anyway: Ctrl-Alt-Del comes as
    // SIGINT instead of an immediate reboot.
    let vm = rustix::system::reboot(RebootCommand::CadOff).is_ok();
    if vm {
        crate::mounts::mount_early();
        take_console();
        crate::boot::run();
    }

    // The argument vectors live in this frame, which never returns.
    let mut text = [0u8; 4097];
    let mut ptrs = [ptr::null::<u8>(); 64];
    let builtin: [*const u8; 5] = [
        c"nsinit".as_ptr().cast(),
        c"-rpmuinCT".as_ptr().cast(),
        c"--mount-proc".as_ptr().cast(),
        c"/bin/sh".as_ptr().cast(),
        ptr::null(),
    ];
    let argv = match choose_args(kernel_argv, &mut text, &mut ptrs, &builtin) {
        Ok(argv) => argv,
        Err(Failed(status)) => finish(vm, status, spec),
    };
    if let crate::cli::Next::Exit(status) = crate::cli::read_command_line(argv, spec) {
        finish(vm, status, spec)
    }
    report::set_debug(spec.debug);
    report::debug(
        if vm {
            "pid 1 of a vm"
        } else {
            "pid 1 of a container"
        },
        b"",
    );
    let (role, mut sup) = match vm {
        true => (Role::VmInit, Supervisor::vm_init()),
        false => (
            Role::ContainerInit,
            Supervisor::container_init(spec.new_session),
        ),
    };
    if let Err(Failed(status)) = crate::sealed::run_from_sealed_copy(spec, role, kernel_argv, env) {
        finish(vm, status, spec)
    }
    let mut status = None;
    // A container's PID 1 takes the payload's filters (launch::start); a
    // VM's keeps what its shutdown needs: the VM is the boundary there.
    let from_fd = crate::seccomp::read_fd_filter(&spec.seccomp);
    // SAFETY: `main`'s contract is `start`'s.
    let started = from_fd
        .and_then(|f| unsafe { crate::launch::start(spec, role, argv, env, sup.waited(), f) });
    if let Ok(pid) = started {
        sup.payload = pid;
        let ending = sup.wait();
        report::debug("init: payload wait over", b"");
        if let Ok(Ending::Payload(exit)) = ending {
            status = Some(exit);
        }
    }
    if !vm {
        sys::exit(status.map_or(i32::from(STATUS_SETUP), |e| e.status));
    }
    shutdown(spec, &sup, status, STATUS_SETUP)
}

/// stdio on /dev/console, unless the kernel already opened it for us (it
/// does when the initramfs has dev/console): reopening a tty costs a couple
/// of milliseconds under TCG.
fn take_console() {
    // SAFETY: fds 0-2 are only looked at, never closed here.
    let open =
        |fd| rustix::io::fcntl_getfd(unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) }).is_ok();
    if open(0) && open(1) && open(2) {
        return;
    }
    let Ok(console) = rustix::fs::open(
        c"/dev/console",
        OFlags::RDWR | OFlags::NOCTTY,
        Mode::empty(),
    ) else {
        return;
    };
    let _ = rustix::stdio::dup2_stdin(&console);
    let _ = rustix::stdio::dup2_stdout(&console);
    let _ = rustix::stdio::dup2_stderr(&console);
}

/// The kernel's argv (the words after `--` on its command line), else the
/// image's defaults file, else a shell in every namespace with root mapped.
fn choose_args<'a>(
    kernel: Argv<'static>,
    text: &'a mut [u8; 4097],
    ptrs: &'a mut [*const u8; 64],
    builtin: &'a [*const u8; 5],
) -> Result<Argv<'static>, Failed> {
    if kernel.len() > 1 {
        return Ok(kernel);
    }
    let object = DEFAULTS_FILE.to_bytes();
    let Ok(file) = rustix::fs::open(
        DEFAULTS_FILE,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        // SAFETY: `builtin` is four static C strings and a NULL, and lives in
        // init::main's frame, which never returns.
        return Ok(unsafe { Argv::from_raw(builtin.as_ptr(), 4) });
    };
    // Up to a byte past the limit, to see that there is one; the last
    // byte of the buffer is for the NUL split_lines needs.
    let len = sys::read_all(rustix::fd::AsFd::as_fd(&file), &mut text[..4096])
        .map_err(|e| fail("read", object, e))?;
    if len == 4096 {
        return Err(fail_why("read", object, "longer than 4095 bytes", ""));
    }
    text[len] = 0;
    let count = argv::split_lines(c"nsinit", &mut text[..=len], ptrs)
        .map_err(|_| fail_why("read", object, "more than 62 arguments", ""))?;
    report::debug("arguments from", DEFAULTS_FILE.to_bytes());
    // SAFETY: split_lines filled `count` pointers to NUL-terminated strings
    // in `text` and a NULL; both arrays live in init::main's frame, which
    // never returns.
    Ok(unsafe { Argv::from_raw(ptrs.as_ptr(), count) })
}

/// Ends PID 1 when no payload ran: a container's init just exits, a VM
/// shuts down as usual, with the options parsed up to a bad one (so a
/// `--reboot` before it still makes Firecracker exit).
fn finish(vm: bool, status: u8, spec: &Spec) -> ! {
    if !vm {
        sys::exit(i32::from(status));
    }
    shutdown(spec, &Supervisor::vm_init(), None, status)
}

/// Reaps whatever ends within `micros`, noting the payload's end in
/// `status`; returns whether children are left when the time is up.
fn reap_for(sup: &Supervisor, status: &mut Option<Exit>, micros: u64) -> bool {
    let deadline = sys::monotonic_micros() + micros;
    loop {
        let reaped = sup.reap();
        *status = status.or(reaped.payload);
        let now = sys::monotonic_micros();
        if reaped.none_left || now >= deadline {
            return !reaped.none_left;
        }
        let _ = sys::sigtimedwait(sig_bit(k::SIGCHLD), Some((deadline - now).div_ceil(1000)));
    }
}

/// TERM to everything, a grace period, KILL, reap until nothing is left,
/// sync, one status line, the status to the VMM, then power off (or reboot).
/// PID 1 must never return: the kernel panics when it exits. `not_run` is
/// the status to report when no payload ran (or its end went unseen).
fn shutdown(spec: &Spec, sup: &Supervisor, mut status: Option<Exit>, not_run: u8) -> ! {
    report::debug("shutdown: SIGTERM to all", b"");
    let _ = sys::kill_all(k::SIGTERM);
    let grace = u64::from(spec.vm.grace_secs.unwrap_or(DEFAULT_GRACE_SECS)) * 1_000_000;
    if reap_for(sup, &mut status, grace) {
        report::debug("shutdown: SIGKILL to all", b"");
        let _ = sys::kill_all(k::SIGKILL);
        // SIGKILL cannot be caught, but a process stuck in the kernel can
        // still delay its end: give up waiting after a second.
        reap_for(sup, &mut status, 1_000_000);
    }
    rustix::fs::sync();
    report::debug("shutdown: synced", b"");

    let code = status.map_or(i32::from(not_run), |e| e.status);
    let mut line = report::Line::new();
    match status {
        None => line.push(b"nsinit: payload did not run, status "),
        Some(Exit {
            signal: Some(sig), ..
        }) => line
            .push(b"nsinit: payload killed by SIG")
            .push(signals::name(sig))
            .push(b", status "),
        Some(_) => line.push(b"nsinit: payload exited with status "),
    };
    line.num(code as u64).push(if spec.vm.reboot {
        b"; rebooting"
    } else {
        b"; powering off"
    });
    line.send();

    if let Some(port) = spec.vm.debug_exit {
        // QEMU exits at once with (value << 1) | 1.
        if let Err(e) = sys::write_io_port(port, code as u32) {
            report::warn("outl", b"debug-exit port", e);
        }
    }
    let cmd = if spec.vm.reboot {
        RebootCommand::Restart
    } else {
        RebootCommand::PowerOff
    };
    if let Err(e) = rustix::system::reboot(cmd) {
        report::warn("reboot", b"", e);
    }
    loop {
        let _ = sys::sigwaitinfo(!SYNC_FAULTS);
    }
}
