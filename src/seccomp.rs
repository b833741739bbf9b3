//! The seccomp filters the payload runs under, all loaded as the last
//! steps before execve (after no_new_privs and the id switch), so that
//! nothing of nsinit's setup runs under them: the guard of the caller's
//! terminal, `--seccomp-deny`/`--seccomp-default`, and `--seccomp-fd`'s.
//! The nsinit that stays beside the payload takes the last two as well
//! (identity::lock_down_beside). The kernel runs every filter loaded and
//! takes the strictest answer, so their order does not matter.

use crate::report::{fail, fail_hint, fail_why, Failed};
use crate::spec::{Seccomp, DEFAULT_DENY, MAX_DENY, SYSCALL_NUMBERS};
use crate::sys::{self, BpfInsn};
use rustix::io::Errno;

/// Classic BPF over struct seccomp_data (nr at 0, arch at 4, args from 16).
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const TIOCSTI: u32 = 0x5412;
const TIOCLINUX: u32 = 0x541c;

const fn insn(code: u16, k: u32, jt: u8, jf: u8) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

/// ioctl(TIOCSTI) pushes bytes into a terminal's input as if typed, and
/// TIOCLINUX can paste a virtual console's selection: a payload on the
/// caller's terminal would type commands into the caller's shell
/// (CVE-2017-5226). Both fail with EPERM, on all three system call tables
/// of x86_64: 64-bit (ioctl 16), x32 (bit 30 set: its own 514, and 16)
/// and i386 (54). The low 32 bits of the request are compared: the
/// kernel's ioctl takes an unsigned int, so higher bits cannot hide it.
const NO_TERMINAL_INJECTION: [BpfInsn; 14] = [
    insn(LD_W_ABS, 4, 0, 0),
    insn(JEQ_K, AUDIT_ARCH_X86_64, 0, 4),
    insn(LD_W_ABS, 0, 0, 0),
    insn(JEQ_K, 16, 5, 0),
    insn(JEQ_K, X32_SYSCALL_BIT | 514, 4, 0),
    insn(JEQ_K, X32_SYSCALL_BIT | 16, 3, 6),
    insn(JEQ_K, AUDIT_ARCH_I386, 0, 5),
    insn(LD_W_ABS, 0, 0, 0),
    insn(JEQ_K, 54, 0, 3),
    insn(LD_W_ABS, 24, 0, 0),
    insn(JEQ_K, TIOCSTI, 2, 0),
    insn(JEQ_K, TIOCLINUX, 1, 0),
    insn(RET_K, RET_ALLOW, 0, 0),
    insn(RET_K, RET_ERRNO | 1, 0, 0),
];

/// Whether this process has a controlling terminal, the only one TIOCSTI
/// works on without CAP_SYS_ADMIN (asked before the root changes: the
/// host's /dev/tty). Opening it answers ENXIO when there is none; where it
/// cannot tell (no /dev/tty), the answer is yes.
pub fn has_controlling_terminal() -> bool {
    use rustix::fs::{open, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOCTTY | OFlags::CLOEXEC;
    open(c"/dev/tty", flags, Mode::empty()).err() != Some(Errno::NXIO)
}

/// `--seccomp-fd`'s compiled filter, read by the process that starts the
/// payload, before it does: the payload and the nsinit that stays beside
/// it (`--init`, a container's PID 1) load the same copy, for the fd is
/// at its end after one read.
pub type FdFilter = Option<&'static [BpfInsn]>;

pub fn read_fd_filter(s: &Seccomp) -> Result<FdFilter, Failed> {
    s.fd.map(read_filter).transpose()
}

/// The filters, in one step: `guard_tty` when the payload shares the
/// caller's terminal.
pub fn load(s: &Seccomp, from_fd: FdFilter, guard_tty: bool) -> Result<(), Failed> {
    if guard_tty {
        guard_terminal()?;
    }
    let mut prog = [insn(0, 0, 0, 0); 9 + DEFAULT_DENY + MAX_DENY];
    let denied = deny_list(s, &mut prog);
    if !denied.is_empty() {
        install(denied, b"--seccomp-deny")?;
    }
    if let Some(prog) = from_fd {
        install(prog, b"--seccomp-fd")?;
    }
    Ok(())
}

fn install(prog: &[BpfInsn], what: &[u8]) -> Result<(), Failed> {
    sys::seccomp_filter(prog).map_err(|e| {
        let hint = match e {
            Errno::ACCESS => {
                "a filter needs no_new_privs (leave out --allow-new-privs) or CAP_SYS_ADMIN"
            }
            Errno::INVAL => "not a valid classic BPF program for seccomp",
            _ => "",
        };
        fail_hint("seccomp", what, e, hint)
    })?;
    crate::report::debug("seccomp filter", what);
    Ok(())
}

/// `--seccomp-deny` and `--seccomp-default` as one filter into `prog`:
/// any architecture but x86_64 is killed, and so is an x32 call (bit 30
/// of the number): both have tables of their own, where the numbers below
/// mean other calls, and a deny list that checked only one table would be
/// walked around through another. Empty when nothing is denied.
fn deny_list<'p>(s: &Seccomp, prog: &'p mut [BpfInsn]) -> &'p [BpfInsn] {
    let defaults = if s.default { DEFAULT_DENY } else { 0 };
    let numbers = SYSCALL_NUMBERS[..defaults].iter().chain(&s.deny);
    let n = defaults + s.deny.len();
    if n == 0 {
        return &[];
    }
    let errno = if s.errno == 0 { 1 } else { u32::from(s.errno) };
    let head = [
        insn(LD_W_ABS, 4, 0, 0),
        insn(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        insn(RET_K, RET_KILL_PROCESS, 0, 0),
        insn(LD_W_ABS, 0, 0, 0),
        // -1 is no call: what a tracer (strace, gdb) sets to skip one.
        // The kernel answers it with ENOSYS, after the filter runs again.
        insn(JEQ_K, u32::MAX, n as u8 + 2, 0),
        insn(JGE_K, X32_SYSCALL_BIT, 0, 1),
        insn(RET_K, RET_KILL_PROCESS, 0, 0),
    ];
    prog[..head.len()].copy_from_slice(&head);
    // Rule i jumps over the n - 1 - i rules after it and the ALLOW.
    for (i, &nr) in numbers.enumerate() {
        prog[head.len() + i] = insn(JEQ_K, u32::from(nr), (n - i) as u8, 0);
    }
    prog[head.len() + n] = insn(RET_K, RET_ALLOW, 0, 0);
    prog[head.len() + n + 1] = insn(RET_K, RET_ERRNO | errno, 0, 0);
    &prog[..head.len() + n + 2]
}

/// The kernel's limit for one program (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

/// `--seccomp-fd FD`: a compiled filter (struct sock_filter's, 8 bytes
/// each) read to its end, as bubblewrap's `--seccomp` reads one. Into a
/// private mapping rather than the stack: 32 KB there would crash a
/// payload started under a small `ulimit -s` before it ran.
fn read_filter(fd: u32) -> Result<&'static [BpfInsn], Failed> {
    use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
    const BYTES: usize = MAX_INSNS * 8;
    let what = b"--seccomp-fd";
    // SAFETY: a new private mapping at an address of the kernel's choosing
    // aliases no memory of ours.
    let map = unsafe {
        mmap_anonymous(
            core::ptr::null_mut(),
            BYTES + 8,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    }
    .map_err(|e| fail("mmap", what, e))?;
    // SAFETY: the mapping is BYTES + 8 bytes, readable, writable, page
    // aligned and never unmapped (execve replaces the whole image); this is
    // the only reference to it until `bytes`' last use below.
    let bytes = unsafe { core::slice::from_raw_parts_mut(map.cast::<u8>(), BYTES + 8) };
    // SAFETY: nsinit does not close the fd between here and the read; one
    // that is not open answers EBADF.
    let file = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd as i32) };
    // One byte past the limit shows a filter that is too long.
    let n = sys::read_all(file, bytes).map_err(|e| fail("read", what, e))?;
    let reason = match n {
        0 => "the filter is empty",
        _ if n > BYTES => "the filter has more than 4096 instructions (BPF_MAXINSNS)",
        _ if n % 8 != 0 => "the filter is not a whole number of 8-byte instructions",
        _ => "",
    };
    if !reason.is_empty() {
        return Err(fail_why("read", what, reason, ""));
    }
    // SAFETY: the same mapping, page aligned (so aligned for BpfInsn, whose
    // every bit pattern is valid), with n / 8 instructions read into it;
    // `bytes` is not used again.
    Ok(unsafe { core::slice::from_raw_parts(map.cast::<BpfInsn>(), n / 8) })
}

/// Keeps the payload from typing into the caller's terminal: the filter
/// above (what bubblewrap always installs), or where the kernel will not
/// take a filter (no no_new_privs under `--allow-new-privs`, and no
/// CAP_SYS_ADMIN), a session of its own, so that the terminal is not its
/// controlling one and TIOCSTI is refused there.
fn guard_terminal() -> Result<(), Failed> {
    if sys::seccomp_filter(&NO_TERMINAL_INJECTION).is_ok() {
        return Ok(());
    }
    rustix::process::setsid()
        .map(|_| ())
        .map_err(|e| fail("setsid", b"(no seccomp filter for TIOCSTI)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a classic-BPF program over (arch, nr), as the kernel would for
    /// the instructions these filters use.
    fn run(prog: &[BpfInsn], arch: u32, nr: u32) -> u32 {
        let (mut pc, mut acc) = (0, 0);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => acc = if i.k == 4 { arch } else { nr },
                JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                JGE_K => pc += usize::from(if acc >= i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                _ => panic!("unexpected instruction {:#x}", i.code),
            }
        }
    }

    fn filter(default: bool, deny: &[u16], errno: u16) -> Vec<BpfInsn> {
        let s = Seccomp {
            default,
            deny: heapless::Vec::from_slice(deny).unwrap(),
            errno,
            fd: None,
        };
        let mut prog = [insn(0, 0, 0, 0); 9 + DEFAULT_DENY + MAX_DENY];
        deny_list(&s, &mut prog).to_vec()
    }

    #[test]
    fn the_deny_filter_denies_exactly_its_calls() {
        assert!(filter(false, &[], 0).is_empty());
        let prog = filter(false, &[101, 39], 0);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 101), RET_ERRNO | 1);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 39), RET_ERRNO | 1);
        for nr in [0, 38, 40, 100, 102, 435] {
            assert_eq!(run(&prog, AUDIT_ARCH_X86_64, nr), RET_ALLOW, "{nr}");
        }
        // Another table cannot walk around the list.
        assert_eq!(run(&prog, AUDIT_ARCH_I386, 20), RET_KILL_PROCESS);
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(&prog, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 512),
            RET_KILL_PROCESS
        );
        // A tracer's "no call" (-1) is left to the kernel's ENOSYS.
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, u32::MAX), RET_ALLOW);
        let prog = filter(false, &[63], 38);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 63), RET_ERRNO | 38);
    }

    #[test]
    fn the_longest_filter_reaches_every_rule() {
        let deny: Vec<u16> = (500..500 + MAX_DENY as u16).collect();
        let prog = filter(true, &deny, 4095);
        assert_eq!(prog.len(), 9 + DEFAULT_DENY + MAX_DENY);
        for &nr in SYSCALL_NUMBERS[..DEFAULT_DENY].iter().chain(&deny) {
            assert_eq!(
                run(&prog, AUDIT_ARCH_X86_64, u32::from(nr)),
                RET_ERRNO | 4095
            );
        }
        // ptrace, the first of the table past the default list.
        let ptrace = u32::from(SYSCALL_NUMBERS[DEFAULT_DENY]);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, ptrace), RET_ALLOW);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 499), RET_ALLOW);
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, u32::MAX), RET_ALLOW);
    }
}
