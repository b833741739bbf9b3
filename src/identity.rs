//! Who the payload is inside and what it may do: the ids it runs as, its
//! capabilities, and the seccomp guard of the caller's terminal.

use crate::idmap::IdMap;
use crate::report::{fail, fail_hint, Failed};
use crate::spec::Spec;
use crate::sys::{self, BpfInsn};
use rustix::io::Errno;

fn unmapped_if(e: Errno) -> &'static str {
    match e {
        Errno::INVAL => "the id is not mapped in the user namespace: see --map-users/--map-groups",
        _ => "",
    }
}

/// `gid`, then `uid` (all three ids each: real, effective, saved), with no
/// supplementary groups where the kernel lets us drop them (not once
/// setgroups is "deny"; then the caller's own groups stay, as under
/// unshare). rustix's `set_thread_*` are the raw per-thread system calls,
/// which is all there is to change: nsinit has a single thread.
fn set_ids(uid: Option<u32>, gid: Option<u32>) -> Result<(), Failed> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    if uid.is_none() && gid.is_none() {
        return Ok(());
    }
    let _ = set_thread_groups(&[]);
    if let Some(gid) = gid {
        let g = Gid::from_raw(gid);
        set_thread_res_gid(g, g, g).map_err(|e| fail_hint("setresgid", b"", e, unmapped_if(e)))?;
    }
    if let Some(uid) = uid {
        let u = Uid::from_raw(uid);
        set_thread_res_uid(u, u, u).map_err(|e| fail_hint("setresuid", b"", e, unmapped_if(e)))?;
    }
    Ok(())
}

/// `--uid`/`--gid` (the parser makes `--uid=N` alone mean `--gid=N` too),
/// the very last of the id changes: every capability goes with uid 0.
fn switch_ids(spec: &Spec) -> Result<(), Failed> {
    set_ids(spec.uid, spec.gid)
}

/// Right after the maps are written. A map of ranges that leaves out the
/// caller's own id (`--map-users` as root) leaves this process with the
/// caller's kernel id: "nobody" inside, yet root to every file permission
/// check on the host's files. It takes a mapped id at once: inner 0 where
/// the ranges map it (so the setup keeps its capabilities), else the
/// `--uid`/`--gid` asked for (the parser insists on one of the two).
pub fn take_mapped_ids(spec: &Spec) -> Result<(), Failed> {
    let mapped = |map: &IdMap, asked: Option<u32>| match map.ranges_only() {
        false => None,
        true if map.maps_inner(0) => Some(0),
        true => asked,
    };
    set_ids(
        mapped(&spec.uid_map, spec.uid),
        mapped(&spec.gid_map, spec.gid),
    )
}

/// The privilege steps, once, in the order the kernel needs them: the ids
/// first (a switch away from uid 0 drops the capabilities the setup steps
/// before needed), then the capability sets, then no_new_privs, so that no
/// setuid file or file capability can raise what the payload has (as under
/// bubblewrap). The seccomp guard comes last of all, just before execve
/// (guard_terminal), so that nothing of nsinit's own runs under it.
pub fn lock_down(spec: &Spec) -> Result<(), Failed> {
    switch_ids(spec)?;
    if spec.sandbox {
        drop_capabilities()?;
    }
    if !spec.allow_new_privs {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| fail("prctl", b"PR_SET_NO_NEW_PRIVS", e))?;
    }
    Ok(())
}

/// From <linux/capability.h>: the highest capability number the kernel may
/// know; PR_CAPBSET_DROP answers EINVAL past the last one it does know.
const CAP_LAST_POSSIBLE: u32 = 63;

/// No capability at all, in every set (bounding, ambient, inheritable,
/// permitted, effective), as bubblewrap runs its sandboxes: uid 0 inside
/// cannot undo a read-only bind, unmount a cover or remount anything, and
/// an execve of a setuid-root file gains nothing.
fn drop_capabilities() -> Result<(), Failed> {
    use rustix::thread::{
        clear_ambient_capability_set, remove_capability_from_bounding_set, set_capabilities,
        CapabilitySet, CapabilitySets,
    };
    // The bounding set first: dropping from it needs CAP_SETPCAP.
    for cap in 0..=CAP_LAST_POSSIBLE {
        match remove_capability_from_bounding_set(CapabilitySet::from_bits_retain(1 << cap)) {
            Ok(()) => {}
            Err(Errno::INVAL) => break,
            Err(e) => return Err(fail("prctl", b"PR_CAPBSET_DROP", e)),
        }
    }
    let none = CapabilitySets {
        effective: CapabilitySet::empty(),
        permitted: CapabilitySet::empty(),
        inheritable: CapabilitySet::empty(),
    };
    clear_ambient_capability_set()
        .and_then(|()| set_capabilities(None, none))
        .map_err(|e| fail("capset", b"", e))
}

/// Classic BPF over struct seccomp_data (nr at 0, arch at 4, args from 16).
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const RET_K: u16 = 0x06;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_EPERM: u32 = 0x0005_0000 | 1;
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
    insn(RET_K, RET_EPERM, 0, 0),
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

/// Keeps the payload from typing into the caller's terminal: the filter
/// above (what bubblewrap always installs), or where the kernel will not
/// take a filter (no no_new_privs under `--allow-new-privs`, and no
/// CAP_SYS_ADMIN), a session of its own, so that the terminal is not its
/// controlling one and TIOCSTI is refused there.
pub fn guard_terminal() -> Result<(), Failed> {
    if sys::seccomp_filter(&NO_TERMINAL_INJECTION).is_ok() {
        return Ok(());
    }
    rustix::process::setsid()
        .map(|_| ())
        .map_err(|e| fail("setsid", b"(no seccomp filter for TIOCSTI)", e))
}
