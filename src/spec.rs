//! `Spec`: everything the command line asked for, as plain data. The parser
//! (cli.rs) builds it without a single system call; the launcher (launch.rs)
//! and the child (child.rs) only read it.

use crate::argv::EnvOp;
use crate::idmap::IdMap;
use crate::signals::Signal;
use core::ffi::CStr;
use linux_raw_sys::general as k;
use rustix::process::Resource;

/// The namespaces to create, as CLONE_NEW* bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Namespaces(pub u32);

impl Namespaces {
    pub const USER: u32 = k::CLONE_NEWUSER;
    pub const PID: u32 = k::CLONE_NEWPID;
    pub const MOUNT: u32 = k::CLONE_NEWNS;
    pub const UTS: u32 = k::CLONE_NEWUTS;
    pub const IPC: u32 = k::CLONE_NEWIPC;
    pub const NET: u32 = k::CLONE_NEWNET;
    pub const CGROUP: u32 = k::CLONE_NEWCGROUP;
    pub const TIME: u32 = k::CLONE_NEWTIME;

    pub fn has(self, ns: u32) -> bool {
        self.0 & ns != 0
    }

    /// The flags for clone: all but the time namespace, which the child
    /// creates itself once its clock offsets are known (see child.rs).
    pub fn clone_flags(self) -> u64 {
        u64::from(self.0 & !Self::TIME)
    }
}

/// How many --setenv/--unsetenv/--clearenv one command line may hold.
pub const MAX_ENV_OPS: usize = 64;

/// Numbered from 1, so that `None` is the zero byte (see Spec::new).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetGroups {
    Allow = 1,
    Deny = 2,
}

impl SetGroups {
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            SetGroups::Allow => b"allow",
            SetGroups::Deny => b"deny",
        }
    }
}

/// What happens to mount events between the new mount namespace and the
/// caller's, as in unshare(1); applied recursively to `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// unshare's default: nothing mounted inside leaks out, and the other
    /// way round.
    Private,
    Slave,
    Shared,
    Unchanged,
}

impl Propagation {
    /// Whether `/` may stay shared, which pivot_root refuses.
    pub fn may_share(self) -> bool {
        matches!(self, Propagation::Shared | Propagation::Unchanged)
    }
}

/// A mount operation in bubblewrap's vocabulary. Operations apply in
/// command-line order, destinations inside the new root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// The `-R` directory, bound as it is (internal: not an option).
    Root,
    /// `--bind`: nosuid and nodev on every submount, as bubblewrap does.
    Bind,
    /// `--ro-bind`: also read-only on every submount.
    RoBind,
    /// `--dev-bind`: device nodes keep working (nosuid only).
    DevBind,
    Tmpfs,
    Proc,
    /// `--dev`: the parser spells it out as the operations of `DEV`.
    Dev,
    /// A private devpts instance (internal: part of `--dev`).
    Devpts,
    Mqueue,
    Dir,
    Symlink,
    RemountRo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountOp<'a> {
    pub kind: MountKind,
    /// The option as given (`ro-bind-try`), for error lines.
    pub name: &'a [u8],
    /// A bind's host source or a symlink's target; empty for the others.
    pub src: &'a CStr,
    pub dst: &'a CStr,
    /// Appended to `dst`: a node of `--dev` ("/null").
    pub leaf: &'static [u8],
    /// The `-try` forms: a missing source skips the operation.
    pub optional: bool,
    /// `--perms` for a tmpfs or a directory.
    pub mode: u16,
    /// `--size` of a tmpfs in bytes; 0 is the kernel's default (half of RAM).
    pub size: u64,
}

/// `--dev DST`, as bubblewrap builds it: a tmpfs; the nodes bound from the
/// caller's /dev (a user namespace may not mknod); the standard links (core
/// too, as bubblewrap, nspawn and docker make it); an empty shm directory;
/// a private devpts, with ptmx pointing into it.
pub const DEV: [(MountKind, &CStr, &[u8]); 16] = [
    (MountKind::Tmpfs, c"", b""),
    (MountKind::DevBind, c"/dev/null", b"/null"),
    (MountKind::DevBind, c"/dev/zero", b"/zero"),
    (MountKind::DevBind, c"/dev/full", b"/full"),
    (MountKind::DevBind, c"/dev/random", b"/random"),
    (MountKind::DevBind, c"/dev/urandom", b"/urandom"),
    (MountKind::DevBind, c"/dev/tty", b"/tty"),
    (MountKind::Symlink, c"/proc/self/fd", b"/fd"),
    (MountKind::Symlink, c"/proc/kcore", b"/core"),
    (MountKind::Symlink, c"/proc/self/fd/0", b"/stdin"),
    (MountKind::Symlink, c"/proc/self/fd/1", b"/stdout"),
    (MountKind::Symlink, c"/proc/self/fd/2", b"/stderr"),
    (MountKind::Dir, c"", b"/shm"),
    (MountKind::Dir, c"", b"/pts"),
    (MountKind::Devpts, c"", b"/pts"),
    (MountKind::Symlink, c"pts/ptmx", b"/ptmx"),
];

/// The resources `--rlimit` sets, named as prlimit(1) names them, each at
/// the index of its RLIMIT_* number: the index is all the Spec keeps, this
/// one string is the whole table of names, and `RESOURCES` turns the
/// number into rustix's type.
pub const RLIMIT_NAMES: &str =
    "CPU FSIZE DATA STACK CORE RSS NPROC NOFILE MEMLOCK AS LOCKS SIGPENDING MSGQUEUE NICE RTPRIO RTTIME";

pub const RESOURCES: [Resource; 16] = [
    Resource::Cpu,
    Resource::Fsize,
    Resource::Data,
    Resource::Stack,
    Resource::Core,
    Resource::Rss,
    Resource::Nproc,
    Resource::Nofile,
    Resource::Memlock,
    Resource::As,
    Resource::Locks,
    Resource::Sigpending,
    Resource::Msgqueue,
    Resource::Nice,
    Resource::Rtprio,
    Resource::Rttime,
];

// Each resource at the index of its number, and a name for each.
const _: () = {
    let mut i = 0;
    while i < RESOURCES.len() {
        assert!(RESOURCES[i] as usize == i);
        i += 1;
    }
    let (names, mut spaces) = (RLIMIT_NAMES.as_bytes(), 0);
    let mut i = 0;
    while i < names.len() {
        spaces += (names[i] == b' ') as usize;
        i += 1;
    }
    assert!(spaces + 1 == RESOURCES.len());
};

/// The name of resource number `n`, for error and `--debug` lines.
pub fn rlimit_name(n: usize) -> &'static [u8] {
    RLIMIT_NAMES.split(' ').nth(n).unwrap_or("").as_bytes()
}

/// The `--rlimit`s of one resource. A limit that is `None` stays as
/// nsinit inherited it (prlimit's `SOFT:` and `:HARD`); `u64::MAX` is
/// RLIM_INFINITY.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rlimit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

impl Rlimit {
    /// Whether the command line sets either limit.
    pub fn is_set(self) -> bool {
        self.soft.is_some() || self.hard.is_some()
    }
}

/// How many mount operations one command line may hold (`--dev` counts
/// for 16).
pub const MAX_MOUNT_OPS: usize = 128;

/// Long enough for a shell or a database to flush under TCG emulation.
pub const DEFAULT_GRACE_SECS: u32 = 3;

/// QEMU's `-device isa-debug-exit` default port.
pub const DEFAULT_DEBUG_EXIT_PORT: u16 = 0xf4;

/// The options only PID 1 of a VM reads, at shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct VmOptions {
    /// Seconds between SIGTERM and SIGKILL (`None`: DEFAULT_GRACE_SECS).
    pub grace_secs: Option<u32>,
    /// Write the exit status to this I/O port (QEMU's isa-debug-exit)
    /// before powering off.
    pub debug_exit: Option<u16>,
    /// Reboot instead of powering off, for VMMs that exit on reset
    /// (Firecracker).
    pub reboot: bool,
}

/// `repr(C)` in this order: the fields each step reads come first, within
/// a byte's displacement of the start, and the kilobytes of tables last
/// (every read of a field past 127 bytes costs three more bytes of code).
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Spec<'a> {
    pub namespaces: Namespaces,
    /// Fds 3 .. 3+N stay open in the payload.
    pub preserve_fds: u32,
    /// Signal the payload gets when nsinit dies (PR_SET_PDEATHSIG).
    pub kill_child: Option<Signal>,
    /// Ids to switch to inside, after the maps and mounts (`--uid`, `--gid`).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// What to write to /proc/PID/setgroups; `None` leaves the kernel's
    /// default ("allow").
    pub setgroups: Option<SetGroups>,
    pub propagation: Propagation,
    pub debug: bool,
    /// `--init`: nsinit stays as the payload's parent inside the namespaces
    /// (PID 1 with -p), reaping and forwarding as tini does.
    pub stay_as_init: bool,
    /// setsid() before exec, so the payload cannot push input into the
    /// caller's terminal with TIOCSTI (CVE-2017-5226).
    pub new_session: bool,
    /// `--allow-new-privs`: leave no_new_privs off, so that setuid files
    /// work inside.
    pub allow_new_privs: bool,
    /// What PID 1 of a VM does at shutdown.
    pub vm: VmOptions,
    /// A bubblewrap-style sandbox (a mount operation was given): the
    /// payload runs with no capabilities, as under bubblewrap, so that
    /// nothing the plan made read-only or covered can be undone inside.
    pub sandbox: bool,
    /// Index in argv of the payload's name; `None`: `$SHELL` or /bin/sh.
    pub payload_index: Option<usize>,
    pub root: Option<&'a CStr>,
    pub wd: Option<&'a CStr>,
    /// Where to mount a fresh /proc (after the root change).
    pub mount_proc: Option<&'a CStr>,
    pub hostname: Option<&'a [u8]>,
    pub domainname: Option<&'a [u8]>,
    /// Clock offsets of the new time namespace, in seconds.
    pub monotonic: i64,
    pub boottime: i64,
    pub env: heapless::Vec<EnvOp<'a>, MAX_ENV_OPS>,
    /// `--rlimit`s, by RLIMIT_* number.
    pub rlimits: [Rlimit; RESOURCES.len()],
    /// Mount operations; without `root` they build a fresh root on a tmpfs.
    pub mounts: heapless::Vec<MountOp<'a>, MAX_MOUNT_OPS>,
    pub uid_map: IdMap,
    pub gid_map: IdMap,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Spec<'_> {
    /// The defaults, all zero bytes: so the Spec nsinit fills (a static,
    /// see main.rs) sits in .bss, where only the pages a run writes to
    /// take memory. On the stack its 20 KB were all touched, by the stack
    /// probes of the frame that held it.
    pub const fn new() -> Self {
        Spec {
            namespaces: Namespaces(0),
            uid_map: IdMap::new(),
            gid_map: IdMap::new(),
            setgroups: None,
            hostname: None,
            domainname: None,
            propagation: Propagation::Private,
            mount_proc: None,
            root: None,
            mounts: heapless::Vec::new(),
            wd: None,
            monotonic: 0,
            boottime: 0,
            kill_child: None,
            preserve_fds: 0,
            uid: None,
            gid: None,
            env: heapless::Vec::new(),
            rlimits: [Rlimit {
                soft: None,
                hard: None,
            }; RESOURCES.len()],
            debug: false,
            stay_as_init: false,
            new_session: false,
            allow_new_privs: false,
            vm: VmOptions {
                grace_secs: None,
                debug_exit: None,
                reboot: false,
            },
            sandbox: false,
            payload_index: None,
        }
    }
}
