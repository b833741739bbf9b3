//! The raw system calls: those rustix 1.x does not expose (its `runtime`
//! module is private): process exit, fork-style clone3/clone, execve, the
//! signal-mask, signal-wait and fault-handler calls, kill(-1),
//! close_range, mount_setattr, a seccomp filter, loopback up, an I/O port
//! write and a vDSO-free clock; and `write_once` for the kernel's one-write
//! files. Numbers and structures come from linux-raw-sys; everything else
//! goes through rustix. Every `asm!` of nsinit is here.
//!
//! Most functions turn the kernel's `-errno` into `Err(Errno)` and do
//! nothing more; those that do more say so (the clone3 fallback, the
//! fault handlers' state, the socket for loopback).

use crate::argv::{Argv, Env};
use core::arch::asm;
use core::ffi::CStr;
use core::mem::size_of;
use linux_raw_sys::general as k;
use rustix::io::Errno;

/// A signal set as the kernel's rt_sig* calls take it: one bit per signal,
/// bit N-1 for signal N, 64 signals on x86_64.
pub type SigSet = u64;

pub const fn sig_bit(sig: u32) -> SigSet {
    1 << (sig - 1)
}

#[inline(always)]
unsafe fn syscall5(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: number in rax, arguments in rdi, rsi,
    // rdx, r10, r8; the kernel clobbers rcx and r11. The caller vouches for
    // the arguments of the particular call.
    unsafe {
        asm!("syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a0, in("rsi") a1, in("rdx") a2, in("r10") a3, in("r8") a4,
            lateout("rcx") _, lateout("r11") _,
            options(nostack));
    }
    ret
}

#[inline(always)]
unsafe fn syscall4(nr: u32, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: as syscall5; the kernel ignores r8 for these calls.
    unsafe { syscall5(nr, a0, a1, a2, a3, 0) }
}

fn result(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// exit_group(2): ends every thread of the process.
pub fn exit(code: i32) -> ! {
    // A seccomp filter can make exit_group fail and return (`--seccomp-deny
    // 231`, or `--seccomp-fd`'s), and exit too: then ud2 raises SIGILL,
    // whose handler exits again and, failing, dies of the SIGILL it has
    // blocked. No path goes on past here.
    // SAFETY: exit_group and exit take one integer and touch no memory;
    // ud2 never falls through.
    unsafe {
        asm!("syscall", inlateout("rax") k::__NR_exit_group as usize => _, in("rdi") code,
            lateout("rcx") _, lateout("r11") _, options(nostack));
        asm!("syscall", inlateout("rax") k::__NR_exit as usize => _, in("rdi") code,
            lateout("rcx") _, lateout("r11") _, options(nostack));
        asm!("ud2", options(noreturn, nostack));
    }
}

/// Fork-style clone: no new stack and no CLONE_VM, so the child runs on a
/// copy of the parent's memory exactly as after fork(2). Returns `Ok(None)`
/// in the child and `Ok(Some(pid))` in the parent.
///
/// clone3 first; clone(2) when the kernel predates it (< 5.3). clone(2)
/// keeps the exit signal in its low byte, where CLONE_NEWTIME (0x80) would
/// collide: callers never pass CLONE_NEWTIME here (see child.rs).
///
/// # Safety
/// The process must have one thread: the child gets a copy of the calling
/// thread alone, and a lock or buffer another thread held at the time
/// would stay held or half-written in it. (nsinit has one thread; the
/// host tests' harness has many, and never calls this.)
pub unsafe fn fork_with_flags(flags: u64) -> Result<Option<u32>, Errno> {
    let args = k::clone_args {
        flags,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: u64::from(k::SIGCHLD),
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: 0,
    };
    // SAFETY: `args` lives across the call and its size is passed along; with
    // stack = 0 and no CLONE_VM/CLONE_SETTLS the child continues on its own
    // copy of this stack, so returning into Rust code in both processes is
    // sound (this is what fork() does).
    let mut ret = unsafe {
        syscall4(
            k::__NR_clone3,
            &args as *const _ as usize,
            size_of::<k::clone_args>(),
            0,
            0,
        )
    };
    // ENOSYS: a kernel before 5.3. EPERM: the seccomp profiles of older
    // container engines refuse clone3 outright (they cannot inspect its
    // flags); a namespace clone(2) that is really not allowed fails again
    // below with the same EPERM.
    if matches!(result(ret), Err(Errno::NOSYS | Errno::PERM)) {
        // SAFETY: clone(flags, stack = 0, ...) is fork() with namespace flags,
        // as above; the pointer arguments are unused without the SETTID flags.
        ret = unsafe {
            syscall4(
                k::__NR_clone,
                (flags | u64::from(k::SIGCHLD)) as usize,
                0,
                0,
                0,
            )
        };
    }
    result(ret).map(|pid| if pid == 0 { None } else { Some(pid as u32) })
}

/// execve(2); returns only on failure.
pub fn execve(path: &CStr, argv: Argv, env: Env) -> Errno {
    // SAFETY: `path` is NUL-terminated; Argv's and Env's constructors
    // promise NULL-terminated vectors of NUL-terminated strings, alive
    // while they are borrowed (across this call).
    let ret = unsafe {
        syscall4(
            k::__NR_execve,
            path.as_ptr() as usize,
            argv.as_ptr() as usize,
            env.as_ptr() as usize,
            0,
        )
    };
    match result(ret) {
        Err(e) => e,
        Ok(_) => Errno::INVAL,
    }
}

/// rt_sigprocmask(2): sets the blocked mask per `how`, returns the old one.
pub fn sigprocmask(how: u32, set: SigSet) -> Result<SigSet, Errno> {
    let mut old: SigSet = 0;
    // SAFETY: both pointers refer to live 8-byte sets; the size passed is 8.
    let ret = unsafe {
        syscall4(
            k::__NR_rt_sigprocmask,
            how as usize,
            &set as *const _ as usize,
            &mut old as *mut _ as usize,
            size_of::<SigSet>(),
        )
    };
    result(ret).map(|_| old)
}

/// Resets `sig` to its default disposition (SIG_DFL, no flags, empty mask).
pub fn set_default_action(sig: u32) -> Result<(), Errno> {
    // struct kernel_sigaction on x86_64: handler, flags, restorer, mask.
    let act: [usize; 4] = [0; 4];
    // SAFETY: `act` has the layout of the x86_64 kernel sigaction and lives
    // across the call; no old action is requested.
    let ret = unsafe {
        syscall4(
            k::__NR_rt_sigaction,
            sig as usize,
            act.as_ptr() as usize,
            0,
            size_of::<SigSet>(),
        )
    };
    result(ret).map(|_| ())
}

/// What sigwaitinfo tells about one signal.
pub struct SigInfo {
    pub signo: u32,
    /// `si_code`: SI_USER (0) for kill(2), SI_KERNEL (0x80) for a signal
    /// the terminal sent to the whole foreground process group.
    pub code: i32,
}

/// sigwaitinfo(2): takes one pending signal of `set` (which must be blocked).
pub fn sigwaitinfo(set: SigSet) -> Result<SigInfo, Errno> {
    sigtimedwait(set, None)
}

/// sigtimedwait(2): as sigwaitinfo, giving up with EAGAIN after `timeout_ms`.
pub fn sigtimedwait(set: SigSet, timeout_ms: Option<u64>) -> Result<SigInfo, Errno> {
    let mut info = [0i32; 32];
    let ts = timeout_ms.map(|ms| k::__kernel_timespec {
        tv_sec: (ms / 1000) as i64,
        tv_nsec: (ms % 1000 * 1_000_000) as i64,
    });
    let ts_ptr = ts.as_ref().map_or(0, |t| t as *const _ as usize);
    // SAFETY: `info` is a 128-byte buffer, the size of the kernel's siginfo;
    // the timeout is a live timespec or null (wait without limit).
    let ret = unsafe {
        syscall4(
            k::__NR_rt_sigtimedwait,
            &set as *const _ as usize,
            info.as_mut_ptr() as usize,
            ts_ptr,
            size_of::<SigSet>(),
        )
    };
    result(ret).map(|signo| SigInfo {
        signo: signo as u32,
        code: info[2],
    })
}

/// kill(-1, sig): every process this one may signal, except itself (for
/// PID 1: every process on the system).
pub fn kill_all(sig: u32) -> Result<(), Errno> {
    kill(-1, sig)
}

/// kill(2). Raw, with the number as it is: rustix's `Signal` carries a
/// libc's rule (its reserved realtime signals), which nsinit does not have.
pub fn kill(pid: i32, sig: u32) -> Result<(), Errno> {
    // SAFETY: plain integer arguments.
    let ret = unsafe { syscall4(k::__NR_kill, pid as isize as usize, sig as usize, 0, 0) };
    result(ret).map(|_| ())
}

/// prctl(PR_SET_PDEATHSIG, sig): `sig` when the parent thread ends.
pub fn set_death_signal(sig: u32) -> Result<(), Errno> {
    // SAFETY: plain integer arguments.
    let ret = unsafe { syscall4(k::__NR_prctl, PR_SET_PDEATHSIG, sig as usize, 0, 0) };
    result(ret).map(|_| ())
}

/// From <linux/prctl.h>.
const PR_SET_PDEATHSIG: usize = 1;

/// Writes a 32-bit value to an x86 I/O port, after ioperm(2) grants it:
/// how a guest tells QEMU's isa-debug-exit device to exit.
pub fn write_io_port(port: u16, value: u32) -> Result<(), Errno> {
    // SAFETY: plain integer arguments; asks access to 4 ports from `port`.
    let ret = unsafe { syscall4(k::__NR_ioperm, usize::from(port), 4, 1, 0) };
    result(ret)?;
    // SAFETY: ioperm just granted this process access to the port; the
    // write has no effect on this process's memory.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags));
    }
    Ok(())
}

/// From <linux/close_range.h>, which linux-raw-sys does not carry (5.11+).
const CLOSE_RANGE_CLOEXEC: usize = 1 << 2;

/// close_range(first, ~0, CLOSE_RANGE_CLOEXEC): marks every fd from `first`
/// up to be closed by the coming execve, so the fds nsinit itself still
/// uses, such as stderr for an exec error, stay usable until then.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: plain integer arguments; no fd is closed, so no OwnedFd or
    // BorrowedFd of this process is left dangling.
    unsafe { close_range(first, CLOSE_RANGE_CLOEXEC) }
}

/// close_range(first, ~0, 0): closes every fd from `first` up.
///
/// # Safety
/// No `OwnedFd` or `BorrowedFd` of this process may refer to an fd from
/// `first` up (it would be closed under its owner, and the number reused).
pub unsafe fn close_from(first: u32) -> Result<(), Errno> {
    // SAFETY: the caller vouches for the fds.
    unsafe { close_range(first, 0) }
}

/// # Safety
/// As `close_from` unless `flags` has CLOSE_RANGE_CLOEXEC.
unsafe fn close_range(first: u32, flags: usize) -> Result<(), Errno> {
    // SAFETY: plain integer arguments; the fds are the caller's concern.
    let ret = unsafe {
        syscall4(
            k::__NR_close_range,
            first as usize,
            u32::MAX as usize,
            flags,
            0,
        )
    };
    result(ret).map(|_| ())
}

/// mount_setattr(2) (Linux 5.12+), only to set attributes (MOUNT_ATTR_*):
/// unlike a MS_REMOUNT it can do a whole tree at once (AT_RECURSIVE), and
/// it leaves alone what it is not asked to change, such as the flags a
/// user namespace may not clear ("locked").
pub fn mount_setattr(dir: i32, path: &CStr, at_flags: u32, set: u64) -> Result<(), Errno> {
    let attr = k::mount_attr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `path` is NUL-terminated and `attr` lives across the call,
    // with its size passed along.
    let ret = unsafe {
        syscall5(
            k::__NR_mount_setattr,
            dir as usize,
            path.as_ptr() as usize,
            at_flags as usize,
            &attr as *const _ as usize,
            size_of::<k::mount_attr>(),
        )
    };
    result(ret).map(|_| ())
}

/// Brings the loopback interface of this process's network namespace up,
/// as `ip link set lo up` does: SIOCSIFFLAGS with IFF_UP on any socket.
/// The numbers are from <linux/socket.h>, <linux/sockios.h> and
/// <linux/if.h>, outside the linux-raw-sys features nsinit builds with.
pub fn loopback_up() -> Result<(), Errno> {
    const AF_INET: usize = 2;
    const SOCK_DGRAM_CLOEXEC: usize = 2 | 0o2000000;
    const SIOCSIFFLAGS: usize = 0x8914;
    // struct ifreq: the name in 16 bytes, then ifr_flags, a short: IFF_UP.
    let ifreq: [u64; 5] = [u64::from_le_bytes(*b"lo\0\0\0\0\0\0"), 0, 1, 0, 0];
    // SAFETY: plain integer arguments.
    let fd = result(unsafe { syscall4(k::__NR_socket, AF_INET, SOCK_DGRAM_CLOEXEC, 0, 0) })?;
    // SAFETY: `ifreq` is a live struct ifreq the kernel reads; `fd` is the
    // socket just made, closed right after.
    let ret = unsafe { syscall4(k::__NR_ioctl, fd, SIOCSIFFLAGS, ifreq.as_ptr() as usize, 0) };
    // SAFETY: plain integer arguments; nothing else holds `fd`.
    unsafe { syscall4(k::__NR_close, fd, 0, 0, 0) };
    result(ret).map(|_| ())
}

/// CLOCK_MONOTONIC in microseconds, by the syscall rather than the vDSO:
/// finding the vDSO makes rustix read the auxiliary vector, which can need
/// /proc, which PID 1 has not mounted yet.
pub fn monotonic_micros() -> u64 {
    let mut ts = k::__kernel_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live timespec the kernel fills in.
    unsafe {
        syscall4(
            k::__NR_clock_gettime,
            k::CLOCK_MONOTONIC as usize,
            &mut ts as *mut _ as usize,
            0,
            0,
        );
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// x86_64 kernel sigaction flags (<asm/signal.h>).
const SA_SIGINFO: usize = 0x0000_0004;
const SA_ONSTACK: usize = 0x0800_0000;
const SA_RESTORER: usize = 0x0400_0000;

// The return path of a signal handler: x86_64 requires one (SA_RESTORER).
core::arch::global_asm!(
    ".globl nsinit_sigreturn",
    "nsinit_sigreturn:",
    "mov eax, 15",
    "syscall",
    "ud2",
);

extern "C" {
    fn nsinit_sigreturn();
}

/// The stack a fault handler runs on: after a stack overflow the normal
/// stack has no room left for it. The kernel's signal frame with AVX-512
/// state is about 3.5 KB.
static mut FAULT_STACK: [u8; 16384] = [0; 16384];

/// The faults nsinit reports as its own crash: SIGILL, SIGBUS, SIGFPE,
/// SIGSEGV. Their handlers stay up to execve, which resets them.
pub const FAULTS: [u32; 4] = [4, 7, 8, 11];

/// Called for a fault: the signal, and siginfo's si_code.
pub type FaultHandler = extern "C" fn(u32, i32);

static mut FAULT_HANDLER: Option<FaultHandler> = None;

/// Hands a fault the kernel raised to the handler. A fault signal that a
/// process sent (kill, sigqueue: si_code 0 or below) is no fault: it is
/// dropped, as PID 1 drops signals it does not handle, so that a payload
/// cannot pass a `kill -SEGV 1` off as nsinit crashing.
extern "C" fn on_fault(sig: i32, info: *const i32, _context: *mut u8) {
    // SAFETY: with SA_SIGINFO the kernel passes a siginfo, whose third int
    // is si_code.
    let code = unsafe { *info.add(2) };
    // SAFETY: written once by on_faults before any handler is installed,
    // then only read.
    let handler = unsafe { *core::ptr::addr_of!(FAULT_HANDLER) };
    if let (true, Some(handler)) = (code > 0, handler) {
        handler(sig as u32, code);
    }
}

/// Runs `handler` on a stack of its own for each signal of `sigs` (the
/// faults) that the kernel raises. A handler is reset by execve, so the
/// payload starts with the default actions. Out of line: `entry` calls
/// it before the work's large frames exist.
///
/// # Safety
/// Called once, by a single-threaded process, before any handler is
/// installed: the handler's slot and the one alternate stack are statics.
#[inline(never)]
pub unsafe fn on_faults(sigs: &[u32], handler: FaultHandler) {
    // SAFETY: the contract: one thread, and no handler installed yet.
    unsafe { *core::ptr::addr_of_mut!(FAULT_HANDLER) = Some(handler) };
    let stack: [usize; 3] = [
        core::ptr::addr_of_mut!(FAULT_STACK) as usize,
        0,
        size_of::<[u8; 16384]>(),
    ];
    // SAFETY: `stack` is a live stack_t (sp, flags, size) describing a
    // static buffer that nothing else touches; no old stack is requested.
    unsafe { syscall4(k::__NR_sigaltstack, stack.as_ptr() as usize, 0, 0, 0) };
    // struct kernel_sigaction on x86_64: handler, flags, restorer, mask;
    // the mask blocks every signal while the handler runs.
    let act: [usize; 4] = [
        on_fault as *const () as usize,
        SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
        nsinit_sigreturn as *const () as usize,
        usize::MAX,
    ];
    for &sig in sigs {
        // SAFETY: `act` has the layout of the kernel's sigaction, its handler
        // and restorer are functions of this binary; no old action is asked.
        unsafe {
            syscall4(
                k::__NR_rt_sigaction,
                sig as usize,
                act.as_ptr() as usize,
                0,
                size_of::<SigSet>(),
            )
        };
    }
}

/// One instruction of a classic BPF program (struct sock_filter).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// seccomp(SECCOMP_SET_MODE_FILTER): the filter applies to this process
/// and, inherited, to everything it runs. The kernel wants no_new_privs set
/// first, or CAP_SYS_ADMIN (EACCES otherwise).
pub fn seccomp_filter(prog: &[BpfInsn]) -> Result<(), Errno> {
    // struct sock_fprog: a u16 length, padded, then the pointer.
    let fprog: [usize; 2] = [prog.len(), prog.as_ptr() as usize];
    // SAFETY: `fprog` describes `prog`, which lives across the call; the
    // kernel copies the program and keeps no pointer to it.
    let ret = unsafe { syscall4(k::__NR_seccomp, 1, 0, fprog.as_ptr() as usize, 0) };
    result(ret).map(|_| ())
}

/// Writes `bytes` to `path` in one write(2), as the kernel's id-map,
/// setgroups and timens_offsets files require; a short write is an error.
/// The error comes with the step that met it, "open" or "write".
pub fn write_once(path: &CStr, bytes: &[u8]) -> Result<(), (&'static str, Errno)> {
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| ("open", e))?;
    match rustix::io::write(&fd, bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(("write", Errno::IO)),
        Err(e) => Err(("write", e)),
    }
}

/// Reads from `fd` until end of file or until `buf` is full, whichever
/// comes first; returns the bytes read. A full `buf` may mean more was
/// there: callers give a byte past their limit to tell.
pub fn read_all(fd: rustix::fd::BorrowedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file `fd` is open
/// on, with no path to look up (rustix has no execveat); returns only on
/// failure. A static binary runs even when `fd` is close-on-exec: only a
/// script would need it open after the exec.
pub fn execve_fd(fd: rustix::fd::BorrowedFd, argv: Argv, env: Env) -> Errno {
    use rustix::fd::AsRawFd;
    // SAFETY: "" is NUL-terminated; Argv's and Env's constructors promise
    // NULL-terminated vectors of NUL-terminated strings, alive while they
    // are borrowed (across this call); `fd` is open while borrowed.
    let ret = unsafe {
        syscall5(
            k::__NR_execveat,
            fd.as_raw_fd() as usize,
            c"".as_ptr() as usize,
            argv.as_ptr() as usize,
            env.as_ptr() as usize,
            k::AT_EMPTY_PATH as usize,
        )
    };
    match result(ret) {
        Err(e) => e,
        Ok(_) => Errno::INVAL,
    }
}
