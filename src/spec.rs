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
    crate::words::nth(RLIMIT_NAMES, n).unwrap_or(b"")
}

/// capabilities(7)'s names in lower case without `CAP_`, each at the index
/// of its number (CAP_CHOWN is 0, CAP_CHECKPOINT_RESTORE 40).
pub const CAP_NAMES: &str = "chown dac_override dac_read_search fowner fsetid kill setgid setuid \
setpcap linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner \
sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource \
sys_time sys_tty_config mknod lease audit_write audit_control setfcap mac_override mac_admin \
syslog wake_alarm block_suspend audit_read perfmon bpf checkpoint_restore";

const _: () = assert!(count_words(CAP_NAMES) == k::CAP_LAST_CAP as usize + 1);

/// Where `--cap-add`/`--cap-drop` start from, folded in command-line
/// order. Numbered from 1, so that `None` is the zero byte (see Spec::new).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapBase {
    /// What the run would have without the options (see identity.rs).
    Default = 1,
    /// After `--cap-drop ALL`.
    None = 2,
    /// After `--cap-add ALL`: every capability held.
    All = 3,
}

/// `--cap-add`/`--cap-drop`: the payload gets `(base - drop) + add` in all
/// five sets, as bubblewrap applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub base: CapBase,
    pub drop: u64,
    pub add: u64,
}

impl Caps {
    /// The set the options leave, given the run's `default` (what it
    /// would have without them) and what nsinit `held`: the one reading of
    /// the fold, for identity.rs's sets and sealed.rs's question whether
    /// CAP_SYS_PTRACE may be among them. Out of line: inlined in its two
    /// places it was 128 bytes larger, measured.
    #[inline(never)]
    pub fn result(self, default: u64, held: u64) -> u64 {
        let base = match self.base {
            CapBase::Default => default,
            CapBase::None => 0,
            CapBase::All => held,
        };
        base & !self.drop | self.add
    }
}

/// The system calls `--seccomp-deny` knows by name, with their x86_64
/// numbers from linux-raw-sys. Not all ~380 of them: their names alone
/// would take 3.9 KB of the 48 KiB. First the `--seccomp-default` list
/// (README: where each entry comes from), then calls commonly denied on
/// their own; any other is given by its number.
macro_rules! syscalls {
    ($($name:ident = $nr:ident),* $(,)?) => {
        pub const SYSCALL_NAMES: &str = concat!($(stringify!($name), " "),*);
        pub const SYSCALL_NUMBERS: &[u16] = &[$(k::$nr as u16),*];
    };
}

syscalls! {
    init_module = __NR_init_module, finit_module = __NR_finit_module,
    delete_module = __NR_delete_module, create_module = __NR_create_module,
    query_module = __NR_query_module, get_kernel_syms = __NR_get_kernel_syms,
    kexec_load = __NR_kexec_load, kexec_file_load = __NR_kexec_file_load, reboot = __NR_reboot,
    open_by_handle_at = __NR_open_by_handle_at,
    add_key = __NR_add_key, keyctl = __NR_keyctl, request_key = __NR_request_key,
    bpf = __NR_bpf, perf_event_open = __NR_perf_event_open, userfaultfd = __NR_userfaultfd,
    iopl = __NR_iopl, ioperm = __NR_ioperm, swapon = __NR_swapon, swapoff = __NR_swapoff,
    acct = __NR_acct, settimeofday = __NR_settimeofday, clock_settime = __NR_clock_settime,
    clock_adjtime = __NR_clock_adjtime, adjtimex = __NR_adjtimex,
    lookup_dcookie = __NR_lookup_dcookie, quotactl = __NR_quotactl, nfsservctl = __NR_nfsservctl,
    _sysctl = __NR__sysctl, uselib = __NR_uselib, ustat = __NR_ustat, sysfs = __NR_sysfs,
    syslog = __NR_syslog, mbind = __NR_mbind, set_mempolicy = __NR_set_mempolicy,
    get_mempolicy = __NR_get_mempolicy, move_pages = __NR_move_pages,
    migrate_pages = __NR_migrate_pages, io_uring_setup = __NR_io_uring_setup,
    io_uring_enter = __NR_io_uring_enter, io_uring_register = __NR_io_uring_register,
    // Not in the default list: governed by capabilities or by arguments
    // a list of names cannot tell apart (README).
    ptrace = __NR_ptrace, process_vm_readv = __NR_process_vm_readv,
    process_vm_writev = __NR_process_vm_writev, kcmp = __NR_kcmp, mount = __NR_mount,
    umount2 = __NR_umount2, pivot_root = __NR_pivot_root, chroot = __NR_chroot,
    unshare = __NR_unshare, setns = __NR_setns, clone3 = __NR_clone3,
    personality = __NR_personality, name_to_handle_at = __NR_name_to_handle_at,
    memfd_create = __NR_memfd_create, mknod = __NR_mknod, mknodat = __NR_mknodat,
    socket = __NR_socket,
}

/// How many of SYSCALL_NAMES, from the first, `--seccomp-default` denies.
pub const DEFAULT_DENY: usize = 41;

const _: () = assert!(count_words(SYSCALL_NAMES) == SYSCALL_NUMBERS.len() + 1);

/// Words in a space-separated list (a trailing space ends the last one).
pub const fn count_words(s: &str) -> usize {
    let (mut i, mut n) = (0, 1);
    while i < s.len() {
        n += (s.as_bytes()[i] == b' ') as usize;
        i += 1;
    }
    n
}

/// `--seccomp-deny` and its company.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seccomp {
    /// `--seccomp-default`: the first DEFAULT_DENY of SYSCALL_NUMBERS too.
    pub default: bool,
    pub deny: heapless::Vec<u16, MAX_DENY>,
    /// The errno a denied call returns (EPERM unless `--seccomp-errno`).
    pub errno: u16,
    /// `--seccomp-fd`: a compiled filter to load as well.
    pub fd: Option<u32>,
}

/// How many system calls `--seccomp-deny` may name.
pub const MAX_DENY: usize = 64;

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
    /// `--cap-add`/`--cap-drop`; `None`: the defaults (identity.rs).
    pub caps: Option<Caps>,
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
    pub seccomp: Seccomp,
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
            caps: None,
            seccomp: Seccomp {
                default: false,
                deny: heapless::Vec::new(),
                errno: 0,
                fd: None,
            },
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
