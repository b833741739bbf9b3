//! Mounts: the early filesystems PID 1 of a VM needs, as one table (as
//! u-root's libinit does), mounted only where nothing is mounted yet; and
//! the payload's new root: `-R`'s directory or a fresh tmpfs, the mount
//! operations in it, and the root change.

use crate::argv::Path;
use crate::report::{self, fail, fail_hint, fail_why, Failed};
use crate::spec::{MountKind, MountOp, Namespaces, Spec, MAX_MOUNT_OPS};
use crate::sys;
use core::ffi::CStr;
use linux_raw_sys::general as k;
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{mount, MountFlags};

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

/// /proc's row in EARLY_MOUNTS (a test checks).
pub const EARLY_PROC: usize = 3;

/// Mounts each entry whose target is not a mount point yet. A failure is
/// reported and the boot goes on: a VM without /sys is still worth a shell.
pub fn mount_early() {
    for m in &EARLY_MOUNTS {
        let _ = mount_missing(m);
    }
}

/// Mounts `m` unless something is mounted on its target already; EBUSY
/// (a race with another mounter) counts as done.
pub fn mount_missing(m: &EarlyMount) -> Result<(), Failed> {
    let target = m.target.to_bytes();
    mkdir_leaf(m.target, 0o755).map_err(|e| fail("mkdir", target, e))?;
    // Not by the file system type: /dev/shm on devtmpfs and /tmp on a
    // tmpfs rootfs would both look mounted.
    let step = if sys::is_mount_root(m.target) {
        "already mounted"
    } else {
        match mount(m.fstype, m.target, m.fstype, m.flags, m.data) {
            Ok(()) | Err(Errno::BUSY) => "mounted",
            Err(e) => return Err(fail("mount", target, e)),
        }
    };
    report::debug(step, target);
    Ok(())
}

/// The payload's root is assembled here, inside a scratch tmpfs.
const NEW_ROOT: &[u8] = b"/newroot";

/// Under a `--proc`: the knobs of the whole machine, and the hardware.
const PROC_COVERED: [&[u8]; 4] = [b"sys", b"sysrq-trigger", b"irq", b"bus"];

/// Builds the payload's root from `-R DIR` (or a fresh tmpfs) and the
/// mount operations, and makes it `/`, with the cwd there.
///
/// 1. Every bind source is cloned first (open_tree), while the caller's
///    tree is still untouched, with its flags set on every submount at
///    once (mount_setattr): read-only really is read-only all the way down.
/// 2. A scratch tmpfs goes on top of `/` and becomes our root (chroot):
///    the new root is its /newroot, so `--bind SRC /` stacks on a mount
///    point like any other destination, and a destination cannot reach
///    outside the scratch tmpfs, not by "..", not by an absolute symlink.
/// 3. The operations run in order (the parser put `-R` or the tmpfs
///    first, `--mount-proc` last). A fresh proc must come before the old
///    root goes: in a user namespace the kernel allows one only while a
///    full proc is visible ("mount too revealing").
/// 4. Back at the caller's root, pivot_root(".", ".") from /newroot stacks
///    the old root on the new one and a lazy unmount detaches it, with the
///    scratch tmpfs: nothing of the host is left to reach, not by
///    /proc/1/root, not by a chroot escape. An initramfs root cannot be
///    pivoted away (EINVAL): then, as switch_root does, the new root is
///    moved over "/" and chrooted into, which a payload keeping
///    CAP_SYS_CHROOT could climb out of.
#[inline(never)]
pub fn build_root(spec: &Spec) -> Result<(), Failed> {
    // One entry per operation: the clone of a bind's source, or none.
    let mut sources = heapless::Vec::<Option<OwnedFd>, MAX_MOUNT_OPS>::new();
    for op in &spec.mounts {
        let attr = match op.kind {
            MountKind::Root => Some(0),
            MountKind::Bind => Some(ATTR_NOSUID_NODEV),
            MountKind::RoBind => Some(ATTR_RDONLY_NOSUID_NODEV),
            MountKind::DevBind => Some(ATTR_NOSUID),
            _ => None,
        };
        let tree = match attr {
            None => None,
            Some(attr) => match clone_tree(op.src, attr) {
                Err(Errno::NOENT) if op.optional => None,
                Err(e) => return Err(op_failed(spec, op, e)),
                Ok(tree) => Some(tree),
            },
        };
        // Never full: as many as the plan has operations.
        let _ = sources.push(tree);
    }

    let host = open_path(c"/").map_err(|e| fail("open", b"/", e))?;
    scratch_root().map_err(|e| fail("mount", b"scratch tmpfs on /", e))?;
    let mut sources = sources.into_iter();
    for op in &spec.mounts {
        apply(op, sources.next().flatten()).map_err(|e| op_failed(spec, op, e))?;
        if report::debugging() {
            report::debug_line(op.name)
                .push(op.dst.to_bytes())
                .push(op.leaf)
                .send();
        }
    }

    let new_root = open_path(c"/newroot").map_err(|e| fail("open", NEW_ROOT, e))?;
    rustix::process::fchdir(&host)
        .and_then(|()| rustix::process::chroot(c"."))
        .and_then(|()| rustix::process::fchdir(&new_root))
        .map_err(|e| fail("chroot", b"/", e))?;
    let dir = spec.root.map_or(&b"(tmpfs)"[..], CStr::to_bytes);
    match rustix::process::pivot_root(c".", c".") {
        Ok(()) => {
            // Stacked on the new root now: the old root, and on top of it
            // the scratch tmpfs. Each unmount takes the topmost.
            for _ in 0..2 {
                rustix::mount::unmount(c".", rustix::mount::UnmountFlags::DETACH)
                    .map_err(|e| fail("detach old root", dir, e))?;
            }
            report::debug("pivot_root", dir);
        }
        Err(Errno::INVAL) if !spec.propagation.may_share() => {
            rustix::mount::mount_move(c".", c"/")
                .and_then(|()| rustix::process::chroot(c"."))
                .map_err(|e| fail("move root", dir, e))?;
            report::debug(
                "pivot_root refused (initramfs?): moved over / and chrooted",
                dir,
            );
        }
        Err(e) => {
            let hint =
                "the root change needs / private or slave: drop --propagation=shared|unchanged";
            return Err(fail_hint("pivot_root", dir, e, hint));
        }
    }
    rustix::process::chdir(c"/").map_err(|e| fail("chdir", b"/", e))
}

/// mount_setattr's attributes for binds: bubblewrap's nosuid and nodev
/// (not for --dev-bind), and read-only.
const ATTR_NOSUID: u64 = k::MOUNT_ATTR_NOSUID as u64;
const ATTR_NOSUID_NODEV: u64 = ATTR_NOSUID | k::MOUNT_ATTR_NODEV as u64;
const ATTR_RDONLY_NOSUID_NODEV: u64 = ATTR_NOSUID_NODEV | k::MOUNT_ATTR_RDONLY as u64;
const EMPTY_PATH_RECURSIVE: u32 = k::AT_EMPTY_PATH | k::AT_RECURSIVE;

/// A detached copy of the mounts at and under `path` (a bind mount not
/// attached anywhere yet), with `attr` set on all of them.
fn clone_tree(path: &CStr, attr: u64) -> Result<OwnedFd, Errno> {
    use rustix::mount::OpenTreeFlags;
    let flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_RECURSIVE;
    let tree = rustix::mount::open_tree(CWD, path, flags)?;
    if attr != 0 {
        sys::mount_setattr(tree.as_raw_fd(), c"", EMPTY_PATH_RECURSIVE, attr)?;
    }
    Ok(tree)
}

fn open_path(path: &CStr) -> Result<OwnedFd, Errno> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty())
}

/// A fresh tmpfs (fsmount: a mount that no path names yet) put on top of
/// `/`, and made our root. Lookups from the old root never cross a mount
/// stacked on `/` itself, so the caller's tree reads the same until then.
fn scratch_root() -> Result<(), Errno> {
    use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags};
    let fs = rustix::mount::fsopen(c"tmpfs", FsOpenFlags::FSOPEN_CLOEXEC)?;
    rustix::mount::fsconfig_create(&fs)?;
    let attr = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV;
    let base = rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attr)?;
    rustix::mount::move_mount(
        &base,
        c"",
        CWD,
        c"/",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )?;
    rustix::process::fchdir(&base)?;
    rustix::process::chroot(c".")?;
    rustix::fs::mkdir(c"/newroot", Mode::from_raw_mode(0o755))
}

/// One operation, inside the scratch root; `source` is the clone made for
/// it, if it is a bind whose source exists.
#[inline(never)]
fn apply(op: &MountOp, source: Option<OwnedFd>) -> Result<(), Errno> {
    // `mkdir -p` of the directories above it.
    let mut dst = Path::join(NEW_ROOT, op.dst.to_bytes(), op.leaf)?;
    dst.each_parent(|dir| mkdir_leaf(dir, 0o755))?;
    let at = dst.as_cstr();
    let leaf = || mkdir_leaf(at, op.mode);
    match op.kind {
        MountKind::Root | MountKind::Bind | MountKind::RoBind | MountKind::DevBind => {
            // None: a -try source that was missing.
            match source {
                Some(tree) => attach(tree, at),
                None => Ok(()),
            }
        }
        MountKind::Tmpfs => {
            leaf()?;
            let mut data = report::Line::new();
            data.push(b"mode=0").push(&octal(op.mode));
            if op.size != 0 {
                data.push(b",size=").num(op.size);
            }
            data.push(b"\0");
            // SAFETY: text and digits, then the one NUL at the end.
            let data = unsafe { CStr::from_bytes_with_nul_unchecked(data.as_bytes()) };
            mount(c"tmpfs", at, c"tmpfs", NOSUID.union(NODEV), data)
        }
        MountKind::Proc => {
            leaf()?;
            mount_proc(at)?;
            // As bubblewrap does for --proc (not unshare for --mount-proc):
            // what is writable of these is made read-only.
            if op.name == "proc" {
                for name in PROC_COVERED {
                    let path = Path::join(at.to_bytes(), name, b"")?;
                    let path = path.as_cstr();
                    match rustix::fs::access(path, rustix::fs::Access::WRITE_OK) {
                        Err(Errno::ACCESS | Errno::NOENT | Errno::ROFS) => {}
                        _ => attach(clone_tree(path, ATTR_RDONLY_NOSUID_NODEV)?, path)?,
                    }
                }
            }
            Ok(())
        }
        MountKind::Mqueue => {
            leaf().and_then(|()| mount(c"mqueue", at, c"mqueue", MountFlags::empty(), c""))
        }
        MountKind::Dir => {
            leaf()?;
            // mkdir(2) applies the umask; --perms means exactly these.
            rustix::fs::chmod(at, Mode::from_raw_mode(op.mode.into()))
        }
        MountKind::Symlink => symlink(op.src, at),
        // Not recursive, as bubblewrap's: the mount at DST alone.
        MountKind::RemountRo => sys::mount_setattr(k::AT_FDCWD, at, 0, ATTR_RDONLY_NOSUID_NODEV),
        MountKind::Devpts => {
            // No gid=5: the tty group need not be mapped in a user namespace.
            let flags = MountFlags::NOSUID | MountFlags::NOEXEC;
            mount(
                c"devpts",
                at,
                c"devpts",
                flags,
                c"newinstance,ptmxmode=0666,mode=620",
            )
        }
        // The parser spells --dev out as the operations of spec::DEV.
        MountKind::Dev => Err(Errno::INVAL),
    }
}

/// A mount point for `tree`, a directory or a file like its root, and
/// `tree` moved onto it.
fn attach(tree: OwnedFd, at: &CStr) -> Result<(), Errno> {
    use rustix::fs::FileType;
    use rustix::mount::MoveMountFlags;
    if FileType::from_raw_mode(rustix::fs::fstat(&tree)?.st_mode) == FileType::Directory {
        mkdir_leaf(at, 0o755)?;
    } else {
        let flags = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
        // A file where a directory is: say so as mount(2) would.
        rustix::fs::open(at, flags, Mode::from_raw_mode(0o644)).map_err(|e| match e {
            Errno::ISDIR => Errno::NOTDIR,
            e => e,
        })?;
    }
    rustix::mount::move_mount(&tree, c"", CWD, at, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)
}

/// An existing link to the same target is fine, as in bubblewrap.
fn symlink(target: &CStr, at: &CStr) -> Result<(), Errno> {
    match rustix::fs::symlink(target, at) {
        Err(Errno::EXIST) => {
            let mut buf = [0u8; 4096];
            let n = rustix::fs::readlinkat_raw(CWD, at, &mut buf)?;
            if buf[..n] == *target.to_bytes() {
                Ok(())
            } else {
                Err(Errno::EXIST)
            }
        }
        other => other,
    }
}

fn mkdir_leaf(at: &CStr, mode: u16) -> Result<(), Errno> {
    match rustix::fs::mkdir(at, Mode::from_raw_mode(mode.into())) {
        Err(Errno::EXIST) => Ok(()),
        other => other,
    }
}

/// Four octal digits, as mount options want a mode.
fn octal(mode: u16) -> [u8; 4] {
    let digit = |shift: u16| b'0' + ((mode >> shift) & 7) as u8;
    [digit(9), digit(6), digit(3), digit(0)]
}

/// `nsinit: mount --ro-bind SRC DST: <error>`: the operation as given.
fn op_failed(spec: &Spec, op: &MountOp, e: Errno) -> Failed {
    let mut what = report::Line::new();
    // "--tmpfs DST", "--bind SRC DST", "--root DIR".
    what.push(b"--").push(op.name.as_bytes());
    if !op.src.is_empty() {
        what.push(b" ").push(op.src.to_bytes());
    }
    if op.kind != MountKind::Root {
        what.push(b" ").push(op.dst.to_bytes()).push(op.leaf);
    }
    let hint = match e {
        Errno::NOSYS => "needs Linux 5.12+ (mount_setattr)",
        _ if op.kind == MountKind::Proc => proc_hint(spec.namespaces, e),
        _ => "",
    };
    fail_hint("mount", what.as_bytes(), e, hint)
}

/// Why a proc mount was refused in a user namespace, where it is known.
pub fn proc_hint(ns: Namespaces, e: Errno) -> &'static str {
    if e != Errno::PERM || !ns.has(Namespaces::USER) {
        ""
    } else if !ns.has(Namespaces::PID) {
        "proc mounts in a user namespace only for a pid namespace it owns: add -p"
    } else {
        "mount too revealing: a proc or sysfs here has covered submounts"
    }
}

/// After a root change the working directory must lie inside the new root:
/// runc's CVE-2024-21626 let a payload start in a host directory through a
/// leaked fd (`-w /proc/self/fd/N`).
pub fn check_cwd_inside_root(dir: &CStr) -> Result<(), Failed> {
    let mut buf = [0u8; 256];
    let inside = match sys::getcwd(&mut buf) {
        Ok(_) => buf[0] == b'/',
        Err(Errno::RANGE) => true,
        Err(_) => false,
    };
    if inside {
        Ok(())
    } else {
        let why = "the directory is outside the new root";
        Err(fail_why("chdir", dir.to_bytes(), why, "see CVE-2024-21626"))
    }
}

/// A fresh proc on `target`, with the flags unshare(1) uses.
pub fn mount_proc(target: &CStr) -> Result<(), Errno> {
    let flags = MountFlags::NOSUID | MountFlags::NOEXEC | MountFlags::NODEV;
    mount(c"proc", target, c"proc", flags, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_proc_names_the_proc_row() {
        assert_eq!(EARLY_MOUNTS[EARLY_PROC].target, c"/proc");
    }

    #[test]
    fn modes() {
        assert_eq!(&octal(0o1777), b"1777");
        assert_eq!(&octal(0o755), b"0755");
    }
}
