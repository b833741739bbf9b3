//! Mounts: the early filesystems PID 1 of a VM needs, as one table (as
//! u-root's libinit does), mounted only where nothing is mounted yet; and
//! the payload's new root: `-R`'s directory or a fresh tmpfs, the mount
//! operations in it, and the root change.

use crate::argv::Path;
use crate::report::{self, fail, fail_hint, Failed};
use crate::spec::{MountKind, MountOp, Namespaces, Spec, MAX_MOUNT_OPS};
use crate::sys;
use core::ffi::CStr;
use linux_raw_sys::general as k;
use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags, ResolveFlags, CWD};
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
    mkdir_leaf(CWD, m.target, 0o755).map_err(|e| fail("mkdir", target, e))?;
    // Not by the file system type: /dev/shm on devtmpfs and /tmp on a
    // tmpfs rootfs would both look mounted.
    let step = if is_mount_root(m.target) {
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

/// The payload's root is assembled at this directory of a scratch tmpfs.
const NEW_ROOT: &CStr = c"newroot";

/// Under a `--proc`: the knobs of the whole machine, and the hardware.
const PROC_COVERED: [&CStr; 4] = [c"sys", c"sysrq-trigger", c"irq", c"bus"];

/// Builds the payload's root from `-R DIR` (or a fresh tmpfs) and the
/// mount operations, and makes it `/`, with the cwd there.
///
/// 1. Every bind source is cloned first (open_tree), while the caller's
///    tree is still untouched, with its flags set on every submount at
///    once (mount_setattr): read-only really is read-only all the way down.
///    Sources are the caller's own paths, but never through a /proc magic
///    link (the fds of nsinit itself).
/// 2. A scratch tmpfs goes on top of `/`, and the root at its /newroot.
/// 3. The operations run in order (the parser put `-R` or the tmpfs first,
///    `--mount-proc` last). Each destination is looked up by openat2 with
///    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: an image's absolute or `..`
///    symlink stays inside the new root, and a path through a proc's
///    /proc/self/fd/N or /proc/self/root (which would name a host
///    directory nsinit holds) is refused with ELOOP. Every mount is made
///    detached (fsmount, open_tree) and attached to the looked-up fd, so no
///    path is looked up twice. A fresh proc must come before the old root
///    goes: in a user namespace the kernel allows one only while a full
///    proc is visible ("mount too revealing").
/// 4. pivot_root(".", ".") from the new root stacks the old root on it and
///    a lazy unmount detaches it, with the scratch tmpfs: nothing of the
///    host is left to reach, not by /proc/1/root, not by a chroot escape.
///    An initramfs root cannot be pivoted away (EINVAL): then, as
///    switch_root does, the new root is moved over "/" and chrooted into,
///    which a payload keeping CAP_SYS_CHROOT could climb out of.
///
/// Out of line: `child::setup` runs before the go byte, and its frame is
/// stack the child needs at its first step (a small `ulimit -s`).
#[inline(never)]
pub fn build_root(spec: &Spec) -> Result<(), Failed> {
    // As bubblewrap: what the operations make has exactly the modes they
    // give it, whatever the caller's umask. The payload gets the caller's
    // back; after a failure the child only exits.
    let umask = rustix::process::umask(Mode::empty());
    // One entry per operation: the clone of a bind's source, or none.
    let mut sources = heapless::Vec::<Option<OwnedFd>, MAX_MOUNT_OPS>::new();
    for op in &spec.mounts {
        let attr = match op.kind {
            // In a sandbox the image's own device nodes and setuid files
            // must not work for a payload that owns them as uid 0.
            MountKind::Root if spec.sandbox => Some(ATTR_NOSUID_NODEV),
            MountKind::Root => Some(0),
            MountKind::Bind => Some(ATTR_NOSUID_NODEV),
            MountKind::RoBind => Some(ATTR_RDONLY_NOSUID_NODEV),
            MountKind::DevBind => Some(ATTR_NOSUID),
            _ => None,
        };
        let tree = match attr {
            None => None,
            Some(attr) => match clone_source(op.src, attr) {
                Err(Errno::NOENT) if op.optional => None,
                Err(e) => return Err(op_failed(spec, op, e)),
                Ok(tree) => Some(tree),
            },
        };
        // Never full: as many as the plan has operations.
        let _ = sources.push(tree);
    }

    let base = scratch().map_err(|e| fail("mount", b"scratch tmpfs on /", e))?;
    let mut sources = sources.into_iter();
    for (i, op) in spec.mounts.iter().enumerate() {
        let source = sources.next().flatten();
        let done = if i == 0 {
            attach_root(&base, op, source)
        } else {
            // Again for each: an operation on "/" stacks a mount on the root.
            let root = open_root(&base).map_err(|e| fail("open", b"/newroot", e))?;
            apply(&root, op, source)
        };
        done.map_err(|e| op_failed(spec, op, e))?;
        if report::debugging() {
            report::debug_line_of(op.name)
                .push(op.dst.to_bytes())
                .push(op.leaf)
                .send();
        }
    }
    let root = open_root(&base).map_err(|e| fail("open", b"/newroot", e))?;
    drop(base);
    rustix::process::umask(umask);
    change_root(spec, &root)
}

/// Step 4: the new root becomes `/`, with the cwd there.
fn change_root(spec: &Spec, root: &OwnedFd) -> Result<(), Failed> {
    let dir = spec.root.map_or(&b"(tmpfs)"[..], CStr::to_bytes);
    rustix::process::fchdir(root).map_err(|e| fail("chdir", dir, e))?;
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
        // The parser refuses a shared `/` with a new root, so EINVAL
        // means a root that cannot be pivoted away: an initramfs.
        Err(Errno::INVAL) => {
            rustix::mount::mount_move(c".", c"/")
                .and_then(|()| rustix::process::chroot(c"."))
                .map_err(|e| fail("move root", dir, e))?;
            report::debug(
                "pivot_root refused (initramfs?): moved over / and chrooted",
                dir,
            );
        }
        Err(e) => return Err(fail("pivot_root", dir, e)),
    }
    rustix::process::chdir(c"/").map_err(|e| fail("chdir", b"/", e))
}

/// mount_setattr's attributes for binds: bubblewrap's nosuid and nodev
/// (not for --dev-bind), and read-only.
const ATTR_NOSUID: u64 = k::MOUNT_ATTR_NOSUID as u64;
const ATTR_NOSUID_NODEV: u64 = ATTR_NOSUID | k::MOUNT_ATTR_NODEV as u64;
const ATTR_RDONLY_NOSUID_NODEV: u64 = ATTR_NOSUID_NODEV | k::MOUNT_ATTR_RDONLY as u64;
const EMPTY_PATH_RECURSIVE: u32 = k::AT_EMPTY_PATH | k::AT_RECURSIVE;

/// A detached copy of the mounts at and under the caller's `path` (a bind
/// mount not attached anywhere yet), with `attr` set on all of them.
fn clone_source(path: &CStr, attr: u64) -> Result<OwnedFd, Errno> {
    let at = rustix::fs::openat2(
        CWD,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_MAGICLINKS,
    )?;
    clone_tree(&at, c"", attr)
}

/// A detached copy of the mounts at and under `dir`/`path`, with `attr`.
fn clone_tree(dir: &OwnedFd, path: &CStr, attr: u64) -> Result<OwnedFd, Errno> {
    use rustix::mount::OpenTreeFlags;
    let flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_RECURSIVE
        | OpenTreeFlags::AT_EMPTY_PATH;
    let tree = rustix::mount::open_tree(dir, path, flags)?;
    if attr != 0 {
        sys::mount_setattr(tree.as_raw_fd(), c"", EMPTY_PATH_RECURSIVE, attr)?;
    }
    Ok(tree)
}

/// A fresh tmpfs (fsmount: a mount that no path names yet) put on top of
/// `/`, with an empty /newroot. Lookups from our root never cross a mount
/// stacked on `/` itself: the caller's tree reads the same until the end.
fn scratch() -> Result<OwnedFd, Errno> {
    use rustix::mount::{MountAttrFlags, MoveMountFlags};
    let attr = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV;
    let base = new_fs(c"tmpfs", &[], attr)?;
    let flags = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH;
    rustix::mount::move_mount(&base, c"", CWD, c"/", flags)?;
    rustix::fs::mkdirat(&base, NEW_ROOT, Mode::from_raw_mode(0o755))?;
    Ok(base)
}

/// The topmost mount at the scratch tmpfs's /newroot.
fn open_root(base: &OwnedFd) -> Result<OwnedFd, Errno> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    rustix::fs::openat(base, NEW_ROOT, flags, Mode::empty())
}

/// The first operation: `-R`'s directory or a fresh tmpfs at /newroot.
fn attach_root(base: &OwnedFd, op: &MountOp, source: Option<OwnedFd>) -> Result<(), Errno> {
    let tree = match source {
        Some(tree) => tree,
        None => new_tmpfs(op)?,
    };
    if !is_dir(&tree)? {
        return Err(Errno::NOTDIR);
    }
    let flags = rustix::mount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH;
    rustix::mount::move_mount(&tree, c"", base, NEW_ROOT, flags)
}

/// `path` looked up inside `root`: `..` and absolute symlinks stay inside,
/// /proc magic links are refused (ELOOP).
/// The kernel answers EAGAIN when a `..` was crossed while a rename or a
/// mount happened anywhere on the system, and asks for a retry.
pub fn open_in<Fd: AsFd>(
    root: Fd,
    path: &CStr,
    flags: OFlags,
    mode: u16,
) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let mode = Mode::from_raw_mode(mode.into());
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(&root, path, flags | OFlags::CLOEXEC, mode, resolve) {
            Err(Errno::AGAIN) if tries < 100 => tries += 1,
            done => return done,
        }
    }
}

const AT_DIR: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);

/// `mkdir -p` of the directories above the last component of `path`, each
/// made in its parent as looked up inside `root`, with `mode`; returns the
/// last parent.
fn make_parents(root: &OwnedFd, path: &mut Path, mode: u16) -> Result<OwnedFd, Errno> {
    let mut dir = open_in(root, c"/", AT_DIR, 0)?;
    path.each_parent(|prefix| {
        mkdir_leaf(&dir, last_component(prefix), mode)?;
        dir = open_in(root, prefix, AT_DIR, 0)?;
        Ok(())
    })?;
    Ok(dir)
}

/// The mode of the parents made for an operation whose `--perms` are
/// `mode`, as bubblewrap makes them: 0755, without the group's read and
/// search where `mode` gives the group nothing, and the same for others:
/// what the --perms close to the group or to others, the way to it closes
/// too (bubblewrap's "least astonishment").
fn parent_mode(mode: u16) -> u16 {
    let mut parent = 0o755;
    if mode & 0o070 == 0 {
        parent &= !0o050;
    }
    if mode & 0o007 == 0 {
        parent &= !0o005;
    }
    parent
}

/// The part of `path` after its last `/`.
fn last_component(path: &CStr) -> &CStr {
    let bytes = path.to_bytes();
    let start = bytes.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    crate::argv::cstr_tail(path, start)
}

/// One operation, inside the new root; `source` is the clone made for it,
/// if it is a bind whose source exists. Out of line: 150 bytes smaller,
/// measured.
#[inline(never)]
fn apply(root: &OwnedFd, op: &MountOp, source: Option<OwnedFd>) -> Result<(), Errno> {
    // Destinations are inside the new root, with or without a leading `/`
    // (as in bubblewrap); one is added only where missing, so that a
    // destination of PATH_MAX - 1 bytes still fits.
    let dst = op.dst.to_bytes();
    let slash: &[u8] = if dst.starts_with(b"/") { b"" } else { b"/" };
    let mut path = Path::concat(&[slash, dst, op.leaf])?;
    path.trim_trailing_slashes();
    let dir = make_parents(root, &mut path, parent_mode(op.mode))?;
    let at = path.as_cstr();
    let name = last_component(at);
    // A mount point is 0755 (a tmpfs's --perms are its root's, not this
    // directory's), a --dir has its own.
    let leaf = |mode| mkdir_leaf(&dir, name, mode);
    let mount_fs =
        |fs: OwnedFd| leaf(0o755).and_then(|()| attach(&fs, &open_in(root, at, AT_DIR, 0)?));
    match op.kind {
        MountKind::Root | MountKind::Bind | MountKind::RoBind | MountKind::DevBind => {
            // None: a -try source that was missing.
            match source {
                Some(tree) => attach(&tree, &mount_point(root, &dir, &tree, at, name)?),
                None => Ok(()),
            }
        }
        MountKind::Tmpfs => mount_fs(new_tmpfs(op)?),
        MountKind::Proc => {
            let proc = new_fs(c"proc", &[], ATTR_PROC)?;
            mount_fs(proc.try_clone()?)?;
            // As bubblewrap does for --proc (not unshare for --mount-proc):
            // what is writable of these is made read-only.
            if op.name == b"proc" {
                cover_proc(&proc)?;
            }
            Ok(())
        }
        MountKind::Mqueue => mount_fs(new_fs(c"mqueue", &[], MountAttrFlags::empty())?),
        MountKind::Devpts => {
            // No gid=5: the tty group need not be mapped in a user namespace.
            let options = [(c"ptmxmode", c"0666"), (c"mode", c"620")];
            let attr = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NOEXEC;
            mount_fs(new_fs(c"devpts", &options, attr)?)
        }
        // As bubblewrap's: made with mkdir(2) (which keeps the sticky bit
        // but not setuid or setgid), and an existing directory is left as
        // it is: it may be the caller's own, bound in.
        MountKind::Dir => leaf(op.mode).and_then(|()| open_in(root, at, AT_DIR, 0).map(drop)),
        MountKind::Symlink => symlink(op.src, &dir, name),
        // Not recursive, as bubblewrap's: the mount at DST alone.
        MountKind::RemountRo => {
            let fd = open_in(root, at, OFlags::PATH, 0)?;
            sys::mount_setattr(
                fd.as_raw_fd(),
                c"",
                k::AT_EMPTY_PATH,
                ATTR_RDONLY_NOSUID_NODEV,
            )
        }
        // The parser spells --dev out as the operations of spec::DEV.
        MountKind::Dev => Err(Errno::INVAL),
    }
}

use rustix::mount::MountAttrFlags;
const ATTR_PROC: MountAttrFlags = MountAttrFlags::MOUNT_ATTR_NOSUID
    .union(MountAttrFlags::MOUNT_ATTR_NODEV)
    .union(MountAttrFlags::MOUNT_ATTR_NOEXEC);

/// A new, detached mount of `fstype` with these options and attributes.
fn new_fs(
    fstype: &CStr,
    options: &[(&CStr, &CStr)],
    attr: MountAttrFlags,
) -> Result<OwnedFd, Errno> {
    use rustix::mount::{FsMountFlags, FsOpenFlags};
    let fs = rustix::mount::fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)?;
    for (key, value) in options {
        rustix::mount::fsconfig_set_string(&fs, *key, *value)?;
    }
    rustix::mount::fsconfig_create(&fs)?;
    rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attr)
}

/// A tmpfs with the operation's `--perms` and `--size`.
fn new_tmpfs(op: &MountOp) -> Result<OwnedFd, Errno> {
    let mut mode = [0u8; 5];
    mode[..4].copy_from_slice(&octal(op.mode));
    let mut size = [0u8; 21];
    let options = [
        (
            c"mode",
            CStr::from_bytes_until_nul(&mode).unwrap_or(c"0755"),
        ),
        (c"size", decimal(op.size, &mut size)),
    ];
    let attr = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV;
    // Size 0 is the kernel's default (half of RAM): the option left out.
    let given = if op.size == 0 { 1 } else { 2 };
    new_fs(c"tmpfs", &options[..given], attr)
}

/// `n` in decimal, as a C string in `buf`.
fn decimal(n: u64, buf: &mut [u8; 21]) -> &CStr {
    let mut digits = [0u8; 20];
    let digits = crate::num::format_u64(n, &mut digits);
    buf[..digits.len()].copy_from_slice(digits);
    CStr::from_bytes_until_nul(buf).unwrap_or(c"0")
}

/// Under a fresh proc: each entry of PROC_COVERED gets a read-only bind of
/// itself. All of them, whether access(2) calls them writable or not (as
/// bubblewrap asks): it answers EACCES for the /proc/sys directory itself,
/// while its files check only for uid 0, capabilities or not: a root
/// payload could write core_pattern.
fn cover_proc(proc: &OwnedFd) -> Result<(), Errno> {
    for name in PROC_COVERED {
        let cover = match clone_tree(proc, name, ATTR_RDONLY_NOSUID_NODEV) {
            Err(Errno::NOENT) => continue,
            other => other?,
        };
        let flags = rustix::mount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH;
        rustix::mount::move_mount(&cover, c"", proc, name, flags)?;
    }
    Ok(())
}

/// The mount point for a bind of `tree`: a directory, or a file like its
/// root, made as `name` in `dir` where missing; returns it looked up anew.
/// An existing file is never opened (a FIFO would block, a device node
/// would act): only looked up. A made file is 0444, as bubblewrap's: an
/// empty placeholder nobody is meant to fill.
fn mount_point(
    root: &OwnedFd,
    dir: &OwnedFd,
    tree: &OwnedFd,
    at: &CStr,
    name: &CStr,
) -> Result<OwnedFd, Errno> {
    if is_dir(tree)? {
        mkdir_leaf(dir, name, 0o755)?;
    } else if let Err(Errno::NOENT) = open_in(root, at, OFlags::PATH, 0) {
        let flags =
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o444))?;
    }
    open_in(root, at, OFlags::PATH, 0)
}

fn is_dir(fd: &OwnedFd) -> Result<bool, Errno> {
    let mode = rustix::fs::fstat(fd)?.st_mode;
    Ok(rustix::fs::FileType::from_raw_mode(mode) == rustix::fs::FileType::Directory)
}

/// Moves the detached mount `tree` onto the looked-up `target`.
fn attach(tree: &OwnedFd, target: &OwnedFd) -> Result<(), Errno> {
    use rustix::mount::MoveMountFlags;
    let flags = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
    rustix::mount::move_mount(tree, c"", target, c"", flags)
}

/// An existing link to the same target is fine, as in bubblewrap.
fn symlink(target: &CStr, dir: &OwnedFd, name: &CStr) -> Result<(), Errno> {
    match rustix::fs::symlinkat(target, dir, name) {
        Err(Errno::EXIST) => {
            let mut buf = [0u8; 4096];
            let n = rustix::fs::readlinkat_raw(dir, name, &mut buf)?;
            if buf[..n] == *target.to_bytes() {
                Ok(())
            } else {
                Err(Errno::EXIST)
            }
        }
        other => other,
    }
}

/// mkdir `name` in `dir`, unless it is there (or is "", "." or "..").
fn mkdir_leaf<Fd: AsFd>(dir: Fd, name: &CStr, mode: u16) -> Result<(), Errno> {
    if name.is_empty() {
        return Ok(());
    }
    match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode.into())) {
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
    // Each path shortened, so that both and the reason fit on the line.
    what.push(b"--").push(op.name);
    if !op.src.is_empty() {
        what.push(b" ").push_shortened(op.src.to_bytes(), 120);
    }
    if op.kind != MountKind::Root {
        what.push(b" ")
            .push_shortened(op.dst.to_bytes(), 120)
            .push(op.leaf);
    }
    let hint = match e {
        Errno::NOSYS => "needs Linux 5.12+ (mount_setattr)",
        Errno::LOOP => "a /proc magic link or too many symbolic links on the way",
        Errno::OVERFLOW => "an id of nsinit's is not mapped in the user namespace",
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

/// A fresh proc on `target`, with the flags unshare(1) uses.
pub fn mount_proc(target: &CStr) -> Result<(), Errno> {
    let flags = MountFlags::NOSUID | MountFlags::NOEXEC | MountFlags::NODEV;
    mount(c"proc", target, c"proc", flags, None)
}

/// Whether `path` (not followed if a symlink) is the root of a mount:
/// statx's STATX_ATTR_MOUNT_ROOT (Linux 5.8+). rustix's `linux_4_11`
/// feature leaves out its fallback for kernels without statx.
fn is_mount_root(path: &CStr) -> bool {
    use rustix::fs::{statx, AtFlags, StatxAttributes, StatxFlags};
    let flags = AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT;
    let root = StatxAttributes::MOUNT_ROOT;
    statx(rustix::fs::CWD, path, flags, StatxFlags::empty())
        .is_ok_and(|st| st.stx_attributes_mask.contains(root) && st.stx_attributes.contains(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_as_closed_as_the_perms() {
        // bubblewrap's own table (tests/test-run.sh, "Directories created
        // as parents have expected permissions").
        for (perms, parent) in [
            (0o1777, 0o755),
            (0o755, 0o755),
            (0o644, 0o755),
            (0o750, 0o750),
            (0o710, 0o750),
            (0o720, 0o750),
            (0o640, 0o750),
            (0o700, 0o700),
            (0o600, 0o700),
            (0o705, 0o705),
            (0o604, 0o705),
            (0o000, 0o700),
        ] {
            assert_eq!(parent_mode(perms), parent, "{perms:o}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!(&octal(0o1777), b"1777");
        assert_eq!(&octal(0o755), b"0755");
    }
}
