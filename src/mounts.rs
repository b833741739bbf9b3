//! Mounts. For now: the early filesystems PID 1 of a VM needs, as one table
//! (as u-root's libinit does), mounted only where nothing is mounted yet.

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
    EarlyMount { fstype: c"devtmpfs", target: c"/dev", flags: NOSUID, data: c"mode=0755" },
    EarlyMount {
        fstype: c"devpts",
        target: c"/dev/pts",
        flags: NOSUID.union(NOEXEC),
        data: c"newinstance,ptmxmode=0666,mode=0620,gid=5",
    },
    EarlyMount { fstype: c"tmpfs", target: c"/dev/shm", flags: NOSUID.union(NODEV), data: c"mode=1777" },
    EarlyMount { fstype: c"proc", target: c"/proc", flags: NOSUID.union(NODEV).union(NOEXEC), data: c"" },
    EarlyMount { fstype: c"sysfs", target: c"/sys", flags: NOSUID.union(NODEV).union(NOEXEC), data: c"" },
    EarlyMount {
        fstype: c"cgroup2",
        target: c"/sys/fs/cgroup",
        flags: NOSUID.union(NODEV).union(NOEXEC),
        data: c"nsdelegate",
    },
    EarlyMount { fstype: c"tmpfs", target: c"/run", flags: NOSUID.union(NODEV), data: c"mode=0755" },
    EarlyMount { fstype: c"tmpfs", target: c"/tmp", flags: NOSUID.union(NODEV), data: c"mode=1777" },
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
        Ok(st) => st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
            && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT),
        Err(_) => false,
    }
}
