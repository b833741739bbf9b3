//! Mounts: the early filesystems PID 1 of a VM needs, as one table (as
//! u-root's libinit does), mounted only where nothing is mounted yet; and
//! the change of root into a directory.

use crate::report::{self, Failure, Object};
use core::ffi::CStr;
use rustix::fs::{AtFlags, Mode, StatxAttributes, StatxFlags, CWD};
use rustix::io::Errno;
use rustix::mount::MountFlags;

pub struct EarlyMount {
    pub fstype: &'static CStr,
    pub target: &'static CStr,
    pub flags: MountFlags,
    pub data: &'static CStr,
}

const NOSUID: MountFlags = MountFlags::NOSUID;
const NODEV: MountFlags = MountFlags::NODEV;
const NOEXEC: MountFlags = MountFlags::NOEXEC;

/// In order: a target's parent comes before it. devpts gets its own
/// instance (ptmxmode=0666 so /dev/pts/ptmx works for everyone, gid 5 as in
/// Debian's "tty" group); /dev/shm, /run and /tmp are tmpfs because the
/// initramfs root may be ramfs, which has no size limit.
pub const EARLY_MOUNTS: [EarlyMount; 8] = [
    EarlyMount {
        fstype: c"devtmpfs",
        target: c"/dev",
        flags: NOSUID,
        data: c"mode=0755",
    },
    EarlyMount {
        fstype: c"devpts",
        target: c"/dev/pts",
        flags: NOSUID.union(NOEXEC),
        data: c"newinstance,ptmxmode=0666,mode=0620,gid=5",
    },
    EarlyMount {
        fstype: c"tmpfs",
        target: c"/dev/shm",
        flags: NOSUID.union(NODEV),
        data: c"mode=1777",
    },
    EarlyMount {
        fstype: c"proc",
        target: c"/proc",
        flags: NOSUID.union(NODEV).union(NOEXEC),
        data: c"",
    },
    EarlyMount {
        fstype: c"sysfs",
        target: c"/sys",
        flags: NOSUID.union(NODEV).union(NOEXEC),
        data: c"",
    },
    EarlyMount {
        fstype: c"cgroup2",
        target: c"/sys/fs/cgroup",
        flags: NOSUID.union(NODEV).union(NOEXEC),
        data: c"nsdelegate",
    },
    EarlyMount {
        fstype: c"tmpfs",
        target: c"/run",
        flags: NOSUID.union(NODEV),
        data: c"mode=0755",
    },
    EarlyMount {
        fstype: c"tmpfs",
        target: c"/tmp",
        flags: NOSUID.union(NODEV),
        data: c"mode=1777",
    },
];

/// Mounts each entry whose target is not a mount point yet. A failure is
/// reported and the boot goes on: a VM without /sys is still worth a shell.
pub fn mount_early() {
    for m in &EARLY_MOUNTS {
        if let Err(f) = mount_missing(m) {
            f.print();
        }
    }
}

/// Mounts `m` unless something is mounted on its target already; EBUSY
/// (a race with another mounter) counts as done.
pub fn mount_missing(m: &EarlyMount) -> Result<(), Failure<'static>> {
    let target = m.target.to_bytes();
    match rustix::fs::mkdir(m.target, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(Failure::errno("mkdir", Object::Text(target), e)),
    }
    if is_mount_point(m.target) {
        report::debug("already mounted", target);
        return Ok(());
    }
    match rustix::mount::mount(m.fstype, m.target, m.fstype, m.flags, m.data) {
        Ok(()) | Err(Errno::BUSY) => {
            report::debug("mounted", target);
            Ok(())
        }
        Err(e) => Err(Failure::errno("mount", Object::Text(target), e)),
    }
}

/// statx's STATX_ATTR_MOUNT_ROOT (Linux 5.8+). The file system type cannot
/// tell: /dev/shm on devtmpfs and /tmp on a tmpfs rootfs both look mounted.
fn is_mount_point(path: &CStr) -> bool {
    let flags = AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT;
    match rustix::fs::statx(CWD, path, flags, StatxFlags::empty()) {
        Ok(st) => {
            st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
                && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
        }
        Err(_) => false,
    }
}

/// Makes `dir` the root of this (new) mount namespace and the cwd `/`.
///
/// `dir` is bound onto itself (pivot_root wants a mount point), then
/// pivot_root(".", ".") stacks the old root on top of the new one and a lazy
/// unmount detaches it: nothing of the host is left to reach, not by "..",
/// not by /proc/1/root. An initramfs root cannot be pivoted away (EINVAL):
/// then, as switch_root does, the directory is moved over "/" and chrooted
/// into, which a payload keeping CAP_SYS_CHROOT could climb out of.
///
/// A fresh proc (`proc`, a path inside the new root) is mounted before the
/// old root goes: in a user namespace the kernel allows a proc mount only
/// while a full proc is visible in the mount namespace ("mount too
/// revealing"), and after the pivot none would be.
pub fn enter_root<'a>(dir: &'a CStr, proc: Option<&'a CStr>) -> Result<(), Failure<'a>> {
    use rustix::mount::{mount_bind_recursive, mount_move, unmount, UnmountFlags};
    let object = Object::Text(dir.to_bytes());
    let fail = |step, e| {
        Failure::errno(step, object, e).hint_if(
            e == Errno::INVAL,
            "the root change needs / private or slave: drop --propagation=shared|unchanged",
        )
    };
    mount_bind_recursive(dir, dir).map_err(|e| fail("bind root", e))?;
    rustix::process::chdir(dir).map_err(|e| fail("chdir", e))?;
    if let Some(target) = proc {
        // Relative to the new root, which is our cwd now.
        let skip = target.to_bytes().iter().take_while(|&&c| c == b'/').count();
        let relative = crate::argv::cstr_tail(target, skip);
        let relative = if relative.is_empty() { c"." } else { relative };
        mount_proc(relative)
            .map_err(|e| Failure::errno("mount proc", Object::Text(target.to_bytes()), e))?;
        report::debug("mount proc", target.to_bytes());
    }
    match rustix::process::pivot_root(c".", c".") {
        Ok(()) => {
            unmount(c".", UnmountFlags::DETACH).map_err(|e| fail("detach old root", e))?;
            report::debug("pivot_root", dir.to_bytes());
        }
        Err(Errno::INVAL) => {
            mount_move(c".", c"/").map_err(|e| fail("move root", e))?;
            rustix::process::chroot(c".").map_err(|e| fail("chroot", e))?;
            report::debug(
                "pivot_root refused (initramfs?): moved over / and chrooted",
                dir.to_bytes(),
            );
        }
        Err(e) => return Err(fail("pivot_root", e)),
    }
    rustix::process::chdir(c"/").map_err(|e| fail("chdir", e))
}

/// After a root change the working directory must lie inside the new root:
/// runc's CVE-2024-21626 let a payload start in a host directory through a
/// leaked fd (`-w /proc/self/fd/N`).
pub fn check_cwd_inside_root<'a>(dir: &'a CStr) -> Result<(), Failure<'a>> {
    let mut buf = [0u8; 256];
    let inside = match crate::sys::getcwd(&mut buf) {
        Ok(_) => buf[0] == b'/',
        Err(Errno::RANGE) => true,
        Err(_) => false,
    };
    if inside {
        Ok(())
    } else {
        Err(Failure::reason(
            "chdir",
            Object::Text(dir.to_bytes()),
            "the directory is outside the new root",
        )
        .hint("see CVE-2024-21626"))
    }
}

/// A fresh proc on `target`, with the flags unshare(1) uses.
pub fn mount_proc(target: &CStr) -> Result<(), Errno> {
    let flags = MountFlags::NOSUID | MountFlags::NOEXEC | MountFlags::NODEV;
    rustix::mount::mount(c"proc", target, c"proc", flags, None)
}
