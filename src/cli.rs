//! argv -> `Spec`, with no system call, so every rule here is unit-tested on
//! the host. Flags follow util-linux unshare(1) where the two overlap:
//! clustered short options (`-Urpf`), `--opt=value` and `--opt value`,
//! optional values only after `=`, and options end at `--` or at the first
//! word that is not an option (getopt's "+" mode: the payload's own flags
//! are never read as ours).

use crate::argv::{cstr_tail, Argv, EnvOp};
use crate::idmap::{self, OwnId};
use crate::num::{parse_i64, parse_number, parse_u32};
use crate::report::{self, Stdio};
use crate::signals::{self, Signal};
use crate::spec::{
    CapBase, Caps, MountKind, MountOp, Namespaces, Propagation, Rlimit, SetGroups, Spec, CAP_NAMES,
    DEFAULT_DEBUG_EXIT_PORT, DEV, MAX_DENY, MAX_MOUNT_OPS, RESOURCES, RLIMIT_NAMES, SYSCALL_NAMES,
    SYSCALL_NUMBERS,
};
use core::ffi::CStr;

/// The --help text. The binary carries it packed (see report::unpack).
pub const USAGE: &str = include_str!("usage.txt");
pub const USAGE_PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/usage.txt.lz"));

pub const VERSION: &str = concat!("nsinit ", env!("CARGO_PKG_VERSION"), "\n");

/// The kernel's limit for a host or domain name (__NEW_UTS_LEN).
pub const MAX_NAME: usize = 64;

/// What the command line asks for; the options themselves go into a Spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Run,
    Help,
    Version,
}

/// What to do once the command line is read: run the payload, or leave at
/// once with this status (after --help or --version, 0; after a bad
/// option, said on stderr, 125).
#[must_use]
pub enum Next {
    Run,
    Exit(u8),
}

/// Reads nsinit's own argv into `spec` (`Spec::new()`, to be filled),
/// printing the help, the version or the error where one is asked for.
pub fn read_command_line(argv: Argv<'static>, spec: &mut Spec<'static>) -> Next {
    match parse(argv.iter(), spec) {
        Ok(Command::Run) => Next::Run,
        Ok(Command::Help) => {
            report::write_packed(Stdio::Out, USAGE_PACKED);
            Next::Exit(0)
        }
        Ok(Command::Version) => {
            report::write_all(Stdio::Out, VERSION.as_bytes());
            Next::Exit(0)
        }
        Err(e) => Next::Exit(report::fail_why("option", e.arg, e.reason, "see nsinit --help").0),
    }
}

/// A bad command line: the word at fault and what is wrong with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageError<'a> {
    pub arg: &'a [u8],
    pub reason: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    Value,
    /// Only as `--opt=value`, as getopt_long does.
    OptionalValue,
    /// Two words, as bubblewrap's `--setenv KEY VALUE`.
    Pair,
}

#[derive(Clone, Copy)]
enum Opt {
    /// A namespace, by the bit number of its CLONE_NEW* flag: a u8 keeps each
    /// table row 24 bytes, not 32.
    Ns(u8),
    Fork,
    MapRoot,
    MapCurrent,
    MapUser,
    MapGroup,
    MapUsers,
    MapGroups,
    SetGroups,
    Hostname,
    Domainname,
    MountProc,
    Propagation,
    Root,
    Wd,
    Monotonic,
    Boottime,
    KillChild,
    PreserveFds,
    Rlimit,
    Uid,
    Gid,
    SetEnv,
    UnsetEnv,
    ClearEnv,
    Mount(MountKind),
    Size,
    Perms,
    Init,
    NewSession,
    NewPrivs,
    CapAdd,
    CapDrop,
    SeccompDeny,
    SeccompDefault,
    SeccompErrno,
    SeccompFd,
    Grace,
    DebugExit,
    Reboot,
    Debug,
    Help,
    Version,
}

use Takes::{Nothing, OptionalValue, Pair, Value};

const fn ns(flag: u32) -> Opt {
    Opt::Ns(flag.trailing_zeros() as u8)
}

/// The options as one list; the macro splits it into a string of long names
/// and a table of 4-byte rows (short name, value, meaning), which together
/// take a third of the space of rows holding a `&str` each.
macro_rules! options {
    ($(($short:expr, $long:literal, $takes:ident, $opt:expr)),* $(,)?) => {
        const LONG_NAMES: &str = concat!($($long, " "),*);
        const OPTIONS: &[(u8, Takes, Opt)] = &[$(($short, $takes, $opt)),*];
        // A name with a space in it would shift every name after it.
        const _: () = assert!(count_spaces(LONG_NAMES) == OPTIONS.len());
    };
}

options! {
    (b'U', "user", Nothing, ns(Namespaces::USER)),
    (b'p', "pid", Nothing, ns(Namespaces::PID)),
    (b'm', "mount", Nothing, ns(Namespaces::MOUNT)),
    (b'u', "uts", Nothing, ns(Namespaces::UTS)),
    (b'i', "ipc", Nothing, ns(Namespaces::IPC)),
    (b'n', "net", Nothing, ns(Namespaces::NET)),
    (b'C', "cgroup", Nothing, ns(Namespaces::CGROUP)),
    (b'T', "time", Nothing, ns(Namespaces::TIME)),
    (b'f', "fork", Nothing, Opt::Fork),
    (b'r', "map-root-user", Nothing, Opt::MapRoot),
    (b'c', "map-current-user", Nothing, Opt::MapCurrent),
    (0, "map-user", Value, Opt::MapUser),
    (0, "map-group", Value, Opt::MapGroup),
    (0, "map-users", Value, Opt::MapUsers),
    (0, "map-groups", Value, Opt::MapGroups),
    (0, "setgroups", Value, Opt::SetGroups),
    (0, "hostname", Value, Opt::Hostname),
    (0, "domainname", Value, Opt::Domainname),
    (0, "mount-proc", OptionalValue, Opt::MountProc),
    (0, "propagation", Value, Opt::Propagation),
    (b'R', "root", Value, Opt::Root),
    (b'w', "wd", Value, Opt::Wd),
    (0, "chdir", Value, Opt::Wd),
    (0, "uid", Value, Opt::Uid),
    (0, "gid", Value, Opt::Gid),
    (0, "setenv", Pair, Opt::SetEnv),
    (0, "unsetenv", Value, Opt::UnsetEnv),
    (0, "clearenv", Nothing, Opt::ClearEnv),
    (0, "bind", Pair, Opt::Mount(MountKind::Bind)),
    (0, "bind-try", Pair, Opt::Mount(MountKind::Bind)),
    (0, "ro-bind", Pair, Opt::Mount(MountKind::RoBind)),
    (0, "ro-bind-try", Pair, Opt::Mount(MountKind::RoBind)),
    (0, "dev-bind", Pair, Opt::Mount(MountKind::DevBind)),
    (0, "dev-bind-try", Pair, Opt::Mount(MountKind::DevBind)),
    (0, "tmpfs", Value, Opt::Mount(MountKind::Tmpfs)),
    (0, "proc", Value, Opt::Mount(MountKind::Proc)),
    (0, "dev", Value, Opt::Mount(MountKind::Dev)),
    (0, "mqueue", Value, Opt::Mount(MountKind::Mqueue)),
    (0, "dir", Value, Opt::Mount(MountKind::Dir)),
    (0, "symlink", Pair, Opt::Mount(MountKind::Symlink)),
    (0, "remount-ro", Value, Opt::Mount(MountKind::RemountRo)),
    (0, "size", Value, Opt::Size),
    (0, "perms", Value, Opt::Perms),
    (0, "monotonic", Value, Opt::Monotonic),
    (0, "boottime", Value, Opt::Boottime),
    (0, "kill-child", OptionalValue, Opt::KillChild),
    (0, "preserve-fds", Value, Opt::PreserveFds),
    (0, "rlimit", Value, Opt::Rlimit),
    (0, "init", Nothing, Opt::Init),
    (0, "new-session", Nothing, Opt::NewSession),
    (0, "allow-new-privs", Nothing, Opt::NewPrivs),
    (0, "cap-add", Value, Opt::CapAdd),
    (0, "cap-drop", Value, Opt::CapDrop),
    (0, "seccomp-deny", Value, Opt::SeccompDeny),
    (0, "seccomp-default", Nothing, Opt::SeccompDefault),
    (0, "seccomp-errno", Value, Opt::SeccompErrno),
    (0, "seccomp-fd", Value, Opt::SeccompFd),
    (0, "grace", Value, Opt::Grace),
    (0, "debug-exit", OptionalValue, Opt::DebugExit),
    (0, "reboot", Nothing, Opt::Reboot),
    (b'v', "debug", Nothing, Opt::Debug),
    (b'h', "help", Nothing, Opt::Help),
    (b'V', "version", Nothing, Opt::Version),
}

/// The position of `word` among the space-separated `words`: one string
/// compare loop for every choice of a word.
fn pick(words: &str, word: &[u8]) -> Option<usize> {
    crate::words::position(words, word)
}

/// Two places of the plan stay free: the root comes first, `--mount-proc`
/// last.
fn push_mount<'a>(
    mounts: &mut heapless::Vec<MountOp<'a>, MAX_MOUNT_OPS>,
    op: MountOp<'a>,
) -> Result<(), &'static str> {
    if mounts.len() >= MAX_MOUNT_OPS - 2 {
        return Err("more than 126 mount operations (--dev counts for 16)");
    }
    let _ = mounts.push(op);
    Ok(())
}

const NEXT_OP: &str = "--size and --perms apply to the next --tmpfs (--perms: or --dir)";
const TWICE: &str = "given twice for one operation";

/// Set in the parser's next mode while a `--perms` waits for its
/// operation: a mode has 12 bits, this is the 16th.
const PERMS_GIVEN: u16 = 0x8000;

/// An x86 I/O port, hexadecimal with 0x or decimal, with room for the
/// 4-byte write.
fn parse_port(s: &[u8]) -> Option<u16> {
    let n = match s.strip_prefix(b"0x") {
        Some(hex) if hex.len() <= 4 => parse_number(hex, 16)?,
        Some(_) => return None,
        None => parse_number(s, 10)?,
    };
    u16::try_from(n).ok().filter(|&p| p <= 0xfffc)
}

const fn count_spaces(s: &str) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < s.len() {
        n += (s.as_bytes()[i] == b' ') as usize;
        i += 1;
    }
    n
}

/// The option with this long name, or else with this short name.
fn find(long: &[u8], short: u8) -> Option<(Takes, Opt)> {
    let row = match short {
        0 => pick(LONG_NAMES, long)?,
        _ => OPTIONS.iter().position(|o| o.0 == short)?,
    };
    let (_, takes, opt) = *OPTIONS.get(row)?;
    Some((takes, opt))
}

/// Parses the whole command line (`args[0]` is nsinit's own name) into
/// `spec`, which starts as `Spec::new()`. The caller owns it: with room for
/// the kernel's 340 ranges per map and 128 mount operations a Spec is 20
/// KB, too big to move about (each move was a copy of all of it).
/// Out of line: 80 bytes smaller, measured.
#[inline(never)]
pub fn parse<'a, I>(args: I, spec: &mut Spec<'a>) -> Result<Command, UsageError<'a>>
where
    I: IntoIterator<Item = &'a CStr>,
{
    let mut p = Parser {
        spec,
        needs_deny: None,
        next_size: 0,
        next_mode: 0o755,
        pending: None,
        proc_op: false,
        propagation_arg: None,
        kill_child_arg: None,
    };
    let mut words = args.into_iter().enumerate();
    // args[0] is nsinit's own name.
    words.next();
    while let Some((index, word)) = words.next() {
        match p.word(index, word, &mut words) {
            Ok(Step::Next) => {}
            Ok(Step::Payload) => break,
            Ok(Step::Done(command)) => return Ok(command),
            Err(reason) => {
                let arg = word.to_bytes();
                return Err(UsageError { arg, reason });
            }
        }
    }
    p.finish()
}

/// What the parser does after a word.
enum Step {
    Next,
    /// The payload's argv starts here (or there is none).
    Payload,
    /// --help or --version.
    Done(Command),
}

struct Parser<'s, 'a> {
    spec: &'s mut Spec<'a>,
    /// -r, -c and --map-group need setgroups denied (unshare's rule).
    needs_deny: Option<&'a [u8]>,
    /// `--size` and `--perms` waiting for the operation they apply to
    /// (`pending`: the last of them, for the error if none comes).
    next_size: u64,
    next_mode: u16,
    pending: Option<&'a [u8]>,
    /// A --proc operation was given.
    proc_op: bool,
    /// The words of the last --propagation and --kill-child, for the rules
    /// that combine them with other options.
    propagation_arg: Option<&'a [u8]>,
    kill_child_arg: Option<&'a [u8]>,
}

impl<'a> Parser<'_, 'a> {
    /// One word of the command line and the values it takes from `words`.
    fn word(
        &mut self,
        index: usize,
        word: &'a CStr,
        words: &mut impl Iterator<Item = (usize, &'a CStr)>,
    ) -> Result<Step, &'static str> {
        let bytes = word.to_bytes();
        let mut next = || words.next().map(|(_, w)| w).ok_or("needs a value");
        if bytes == b"--" {
            self.spec.payload_index = next().ok().map(|_| index + 1);
        } else if let Some(long) = bytes.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|&c| c == b'=') {
                Some(eq) => (&long[..eq], Some(cstr_tail(word, eq + 3))),
                None => (long, None),
            };
            let (takes, opt) = find(name, 0).ok_or("unknown option")?;
            let value = match (takes, inline) {
                (Nothing, Some(_)) => return Err("takes no value"),
                (Value | Pair, None) => Some(next()?),
                (_, inline) => inline,
            };
            let second = if takes == Pair { Some(next()?) } else { None };
            return self.apply(opt, name, value, second, bytes);
        } else if bytes.len() > 1 && bytes[0] == b'-' {
            // A cluster of short options; the first that takes a value takes
            // the rest of the word, or the next word.
            let mut at = 1;
            while at < bytes.len() {
                let (takes, opt) = find(b"", bytes[at]).ok_or("unknown option")?;
                at += 1;
                let value = if takes == Value {
                    let v = if at < bytes.len() {
                        cstr_tail(word, at)
                    } else {
                        next()?
                    };
                    at = bytes.len();
                    Some(v)
                } else {
                    None
                };
                if let Step::Done(command) = self.apply(opt, b"", value, None, bytes)? {
                    return Ok(Step::Done(command));
                }
            }
            return Ok(Step::Next);
        } else {
            self.spec.payload_index = Some(index);
        }
        Ok(Step::Payload)
    }

    /// Applies one option, `name` as given (long options; empty for a short
    /// one); `Step::Done` ends parsing (--help, --version). One arm per
    /// option: what an option does is found by its name in this match.
    fn apply(
        &mut self,
        opt: Opt,
        name: &'a [u8],
        value: Option<&'a CStr>,
        second: Option<&'a CStr>,
        arg: &'a [u8],
    ) -> Result<Step, &'static str> {
        let v = value.map_or(&b""[..], CStr::to_bytes);
        let s = &mut *self.spec;
        match opt {
            Opt::Ns(bit) => s.namespaces.0 |= 1 << bit,
            Opt::Fork => {}
            Opt::MapRoot => self.map_self(OwnId::Id(0), arg),
            Opt::MapCurrent => self.map_self(OwnId::Same, arg),
            Opt::MapUser => {
                s.uid_map.own = Some(OwnId::Id(parse_id(v)?));
                s.namespaces.0 |= Namespaces::USER;
            }
            Opt::MapGroup => {
                s.gid_map.own = Some(OwnId::Id(parse_id(v)?));
                s.namespaces.0 |= Namespaces::USER;
                self.needs_deny = Some(arg);
            }
            Opt::MapUsers => {
                s.uid_map.add_range(idmap::parse_range(v)?)?;
                s.namespaces.0 |= Namespaces::USER;
            }
            Opt::MapGroups => {
                s.gid_map.add_range(idmap::parse_range(v)?)?;
                s.namespaces.0 |= Namespaces::USER;
            }
            Opt::SetGroups => s.setgroups = Some(parse_setgroups(v)?),
            Opt::Hostname => {
                s.hostname = Some(uts_name(v)?);
                s.namespaces.0 |= Namespaces::UTS;
            }
            Opt::Domainname => {
                s.domainname = Some(uts_name(v)?);
                s.namespaces.0 |= Namespaces::UTS;
            }
            Opt::MountProc => {
                s.mount_proc = Some(value.unwrap_or(c"/proc"));
                s.namespaces.0 |= Namespaces::MOUNT;
            }
            Opt::Propagation => {
                s.propagation = parse_propagation(v)?;
                self.propagation_arg = Some(arg);
            }
            Opt::Root => {
                s.root = Some(directory(value)?);
                // pivot_root moves the mount namespace's root: never the caller's.
                s.namespaces.0 |= Namespaces::MOUNT;
            }
            Opt::Wd => s.wd = Some(directory(value)?),
            Opt::Monotonic => {
                s.monotonic = parse_i64(v).ok_or("expected whole seconds")?;
                s.namespaces.0 |= Namespaces::TIME;
            }
            Opt::Boottime => {
                s.boottime = parse_i64(v).ok_or("expected whole seconds")?;
                s.namespaces.0 |= Namespaces::TIME;
            }
            Opt::KillChild => {
                s.kill_child = Some(match value {
                    None => Signal::KILL,
                    Some(_) => signals::parse(v).ok_or("expected a signal name or number 1-64")?,
                });
                self.kill_child_arg = Some(arg);
            }
            Opt::PreserveFds => {
                let n = parse_u32(v).filter(|&n| n <= i32::MAX as u32 - 3);
                s.preserve_fds = n.ok_or("expected a number of fds")?;
            }
            Opt::Rlimit => set_rlimit(&mut s.rlimits, v)?,
            Opt::Uid => s.uid = Some(parse_id(v)?),
            Opt::Gid => s.gid = Some(parse_id(v)?),
            Opt::SetEnv => push_env(s, EnvOp::Set(env_name(value)?, second.unwrap_or(c"")))?,
            Opt::UnsetEnv => push_env(s, EnvOp::Unset(env_name(value)?))?,
            Opt::ClearEnv => push_env(s, EnvOp::Clear)?,
            Opt::Mount(kind) => self.mount_op(kind, name, value, second)?,
            // One of each per operation, as bubblewrap takes them: a
            // second is a mistake, not a correction.
            Opt::Size => {
                if self.next_size != 0 {
                    return Err(TWICE);
                }
                // A file's largest size (MAX_LFS_FILESIZE) and bubblewrap's
                // limit: past it tmpfs's count of pages wraps, and 2^64-1
                // gave a tmpfs with no limit at all.
                let n = parse_number(v, 10).filter(|&n| n > 0 && n <= i64::MAX as u64);
                self.next_size = n.ok_or("expected a size in bytes, 1 to 2^63-1")?;
                self.pending = Some(arg);
            }
            Opt::Perms => {
                if self.next_mode & PERMS_GIVEN != 0 {
                    return Err(TWICE);
                }
                let n = parse_number(v, 8).filter(|&n| n <= 0o7777);
                let mode = n.ok_or("expected an octal mode such as 0755")? as u16;
                self.next_mode = mode | PERMS_GIVEN;
                self.pending = Some(arg);
            }
            Opt::Init => s.stay_as_init = true,
            Opt::NewSession => s.new_session = true,
            Opt::NewPrivs => s.allow_new_privs = true,
            Opt::CapAdd | Opt::CapDrop => fold_cap(&mut s.caps, opt, v)?,
            Opt::SeccompDeny => deny_syscalls(&mut s.seccomp.deny, v)?,
            Opt::SeccompDefault => s.seccomp.default = true,
            Opt::SeccompErrno => {
                let n = parse_u32(v)
                    .or_else(|| report::errno_number(v))
                    .filter(|n| (1..=4095).contains(n));
                s.seccomp.errno =
                    n.ok_or("expected an errno name such as ENOSYS, or 1-4095")? as u16;
            }
            Opt::SeccompFd => {
                let fd = parse_u32(v).filter(|&n| n <= i32::MAX as u32);
                s.seccomp.fd = Some(fd.ok_or("expected an fd number")?);
            }
            Opt::Grace => {
                let secs = parse_u32(v).filter(|&n| n <= 3600);
                s.vm.grace_secs = Some(secs.ok_or("expected seconds, 0-3600")?);
            }
            Opt::DebugExit => {
                let port = match value {
                    None => Some(DEFAULT_DEBUG_EXIT_PORT),
                    Some(_) => parse_port(v),
                };
                s.vm.debug_exit = Some(port.ok_or("expected an I/O port such as 0xf4")?);
            }
            Opt::Reboot => s.vm.reboot = true,
            Opt::Debug => s.debug = true,
            Opt::Help => return Ok(Step::Done(Command::Help)),
            Opt::Version => return Ok(Step::Done(Command::Version)),
        }
        Ok(Step::Next)
    }

    /// -r and -c: a user namespace with the caller's ids mapped to `own`.
    fn map_self(&mut self, own: OwnId, arg: &'a [u8]) {
        let s = &mut *self.spec;
        s.uid_map.own = Some(own);
        s.gid_map.own = Some(own);
        s.namespaces.0 |= Namespaces::USER;
        self.needs_deny = Some(arg);
    }

    /// A mount operation, with the `--size`/`--perms` given before it;
    /// `--dev` is spelled out as the operations of `DEV`.
    fn mount_op(
        &mut self,
        kind: MountKind,
        name: &'a [u8],
        value: Option<&'a CStr>,
        second: Option<&'a CStr>,
    ) -> Result<(), &'static str> {
        let (src, dst) = match (value, second) {
            (Some(src), Some(dst)) => (src, dst),
            _ => (c"", value.unwrap_or(c"")),
        };
        if dst.is_empty() || (src.is_empty() && kind == MountKind::Symlink) {
            return Err("needs a path");
        }
        let takes_mode = matches!(kind, MountKind::Tmpfs | MountKind::Dir);
        if self.pending.take().is_some()
            && (!takes_mode || (self.next_size != 0 && kind == MountKind::Dir))
        {
            return Err(NEXT_OP);
        }
        let op = MountOp {
            kind,
            name,
            src,
            dst,
            leaf: b"",
            optional: name.ends_with(b"-try"),
            mode: core::mem::replace(&mut self.next_mode, 0o755) & !PERMS_GIVEN,
            size: core::mem::take(&mut self.next_size),
        };
        self.proc_op |= kind == MountKind::Proc;
        let s = &mut *self.spec;
        if kind == MountKind::Dev {
            for (kind, src, leaf) in DEV {
                let part = MountOp {
                    kind,
                    src,
                    leaf,
                    ..op
                };
                push_mount(&mut s.mounts, part)?;
            }
        } else {
            push_mount(&mut s.mounts, op)?;
        }
        s.namespaces.0 |= Namespaces::MOUNT;
        s.sandbox = true;
        Ok(())
    }

    /// The rules between options, once all are read; then the plan is
    /// complete.
    fn finish(mut self) -> Result<Command, UsageError<'a>> {
        if let Some(arg) = self.pending {
            return Err(UsageError {
                arg,
                reason: NEXT_OP,
            });
        }
        self.root_plan()?;
        self.implications()?;
        self.id_rules()?;
        self.pwd()?;
        Ok(Command::Run)
    }

    /// PWD names the directory the payload starts in, as bubblewrap sets
    /// it: --chdir's as given, or the new root's `/`. Last of the
    /// environment changes, so that it holds whatever the others did
    /// (--clearenv keeps PWD: where the working directory stays the
    /// caller's, the inherited one names it; see argv::build_env).
    fn pwd(&mut self) -> Result<(), UsageError<'a>> {
        let s = &mut *self.spec;
        let dir = match s.wd {
            Some(dir) => dir,
            None if !s.mounts.is_empty() => c"/",
            None => return Ok(()),
        };
        // Where it does not fit, the error names it: the 65th change.
        push_env(s, EnvOp::Set(c"PWD", dir)).map_err(|reason| UsageError {
            arg: b"PWD",
            reason,
        })
    }

    /// A new root: -R's directory or a fresh tmpfs first, in it the
    /// operations, then --mount-proc (push_mount kept room for both).
    fn root_plan(&mut self) -> Result<(), UsageError<'a>> {
        let s = &mut *self.spec;
        if s.root.is_none() && s.mounts.is_empty() {
            return Ok(());
        }
        let (kind, name) = match s.root {
            Some(_) => (MountKind::Root, &b"root"[..]),
            None => (MountKind::Tmpfs, &b"tmpfs"[..]),
        };
        let mut op = MountOp {
            kind,
            name,
            src: s.root.unwrap_or(c""),
            dst: c"/",
            leaf: b"",
            optional: false,
            mode: 0o755,
            size: 0,
        };
        let _ = s.mounts.insert(0, op);
        if let Some(dst) = s.mount_proc {
            (op.kind, op.name, op.src, op.dst) = (MountKind::Proc, b"mount-proc", c"", dst);
            let _ = s.mounts.push(op);
        }
        // pivot_root refuses a shared `/`, and a failure half-way would
        // leave the mounts made so far in the caller's namespace.
        match (self.propagation_arg, s.propagation.may_share()) {
            (Some(arg), true) => Err(UsageError {
                arg,
                reason: "conflicts with a new root (pivot_root needs / private or slave)",
            }),
            _ => Ok(()),
        }
    }

    /// What one option brings with it, or rules out, given the others.
    fn implications(&mut self) -> Result<(), UsageError<'a>> {
        let s = &mut *self.spec;
        // The kernel allows a proc mount in a user namespace only for a pid
        // namespace that user namespace owns.
        if s.namespaces.has(Namespaces::USER) && self.proc_op {
            s.namespaces.0 |= Namespaces::PID;
        }
        // A pid namespace's PID 1 gets only the signals it handles, and
        // from outside only KILL: no other death signal would end it.
        if let (Some(arg), Some(sig)) = (self.kill_child_arg, s.kill_child) {
            if sig != Signal::KILL && s.namespaces.has(Namespaces::PID) && !s.stay_as_init {
                return Err(UsageError {
                    arg,
                    reason: "a pid namespace's PID 1 ignores it: use KILL or --init",
                });
            }
        }
        Ok(())
    }

    /// The ids the payload runs as, and setgroups.
    fn id_rules(&mut self) -> Result<(), UsageError<'a>> {
        let error = |arg, reason| Err(UsageError { arg, reason });
        let s = &mut *self.spec;
        // `--uid=N` alone: no group of the caller's (root's) stays.
        s.gid = s.gid.or(s.uid);
        // Ranges without the caller's own id: the payload needs a mapped id.
        if s.uid_map.ranges_only() && !s.uid_map.maps_inner(0) && s.uid.is_none() {
            return error(
                b"--map-users",
                "maps no inner uid 0: add --uid with a mapped id",
            );
        }
        if s.gid_map.ranges_only() && !s.gid_map.maps_inner(0) && s.gid.is_none() {
            return error(
                b"--map-groups",
                "maps no inner gid 0: add --gid with a mapped id",
            );
        }
        if let Some(arg) = self.needs_deny {
            if s.setgroups == Some(SetGroups::Allow) {
                return error(
                    arg,
                    "conflicts with --setgroups=allow (a self-mapped gid needs deny)",
                );
            }
            s.setgroups = Some(SetGroups::Deny);
        }
        if s.setgroups.is_some() && !s.namespaces.has(Namespaces::USER) {
            return error(b"--setgroups", "needs a user namespace (-U)");
        }
        Ok(())
    }
}

/// A numeric uid or gid; 4294967295 is the kernel's "no id".
fn parse_id(v: &[u8]) -> Result<u32, &'static str> {
    parse_u32(v)
        .filter(|&id| id != u32::MAX)
        .ok_or("expected a numeric id below 4294967295")
}

fn parse_setgroups(v: &[u8]) -> Result<SetGroups, &'static str> {
    match pick("allow deny", v) {
        Some(0) => Ok(SetGroups::Allow),
        Some(_) => Ok(SetGroups::Deny),
        None => Err("expected allow or deny"),
    }
}

fn parse_propagation(v: &[u8]) -> Result<Propagation, &'static str> {
    match pick("private slave shared unchanged", v) {
        Some(0) => Ok(Propagation::Private),
        Some(1) => Ok(Propagation::Slave),
        Some(2) => Ok(Propagation::Shared),
        Some(_) => Ok(Propagation::Unchanged),
        None => Err("expected private, slave, shared or unchanged"),
    }
}

/// A host or domain name, within the kernel's limit.
fn uts_name(v: &[u8]) -> Result<&[u8], &'static str> {
    match v.len() <= MAX_NAME {
        true => Ok(v),
        false => Err("longer than 64 bytes (the kernel's limit)"),
    }
}

/// -R's or --wd's directory: not empty.
fn directory(value: Option<&CStr>) -> Result<&CStr, &'static str> {
    value.filter(|v| !v.is_empty()).ok_or("needs a directory")
}

/// A variable name for --setenv and --unsetenv: not empty, no '='.
fn env_name(value: Option<&CStr>) -> Result<&CStr, &'static str> {
    value
        .filter(|k| !k.is_empty() && !k.to_bytes().contains(&b'='))
        .ok_or("expected a variable name without '='")
}

/// `NAME=SOFT[:HARD]`, read as prlimit(1) reads `--NAME=SOFT[:HARD]`: one
/// value sets both limits, `SOFT:` only the soft one and `:HARD` only the
/// hard one (the other stays as inherited); NAME in any case. A resource
/// given again takes the later value of each limit it gives, as prlimit
/// applies its options one after the other.
fn set_rlimit(limits: &mut [Rlimit; RESOURCES.len()], v: &[u8]) -> Result<(), &'static str> {
    let eq = v.iter().position(|&c| c == b'=');
    let (name, value) = v.split_at(eq.ok_or("expected NAME=SOFT[:HARD]")?);
    // Upper case, so that `pick` finds it (a search that ignores case
    // instead cost about 350 bytes more, measured); SIGPENDING is the
    // longest name.
    let mut upper = [0u8; 10];
    let upper = upper.get_mut(..name.len()).ok_or("unknown resource")?;
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    let limit = pick(RLIMIT_NAMES, upper)
        .and_then(|i| limits.get_mut(i))
        .ok_or("unknown resource")?;
    let value = &value[1..];
    let (soft, hard) = match value.iter().position(|&c| c == b':') {
        None => (value, value),
        Some(colon) => (&value[..colon], &value[colon + 1..]),
    };
    if soft.is_empty() && hard.is_empty() {
        return Err(BAD_LIMIT);
    }
    limit.soft = rlimit_value(soft)?.or(limit.soft);
    limit.hard = rlimit_value(hard)?.or(limit.hard);
    match (limit.soft, limit.hard) {
        (Some(soft), Some(hard)) if soft > hard => Err("the soft limit is above the hard limit"),
        _ => Ok(()),
    }
}

const BAD_LIMIT: &str = "expected limits below 2^64, or unlimited";

/// A limit in the kernel's unit, all 64 bits of it: a number that does not
/// fit is refused, not cut. RLIM_INFINITY is all ones, as in prlimit; an
/// empty limit is one the command line leaves as it is.
fn rlimit_value(v: &[u8]) -> Result<Option<u64>, &'static str> {
    if v.is_empty() {
        return Ok(None);
    }
    match pick("unlimited infinity", v) {
        Some(_) => Ok(Some(u64::MAX)),
        None => parse_number(v, 10).map(Some).ok_or(BAD_LIMIT),
    }
}

/// One `--cap-add`/`--cap-drop`, on top of those before it: bubblewrap's
/// rule, so `--cap-drop ALL --cap-add X` is X alone.
fn fold_cap(caps: &mut Option<Caps>, opt: Opt, v: &[u8]) -> Result<(), &'static str> {
    let c = caps.get_or_insert(Caps {
        base: CapBase::Default,
        drop: 0,
        add: 0,
    });
    match (parse_cap(v)?, matches!(opt, Opt::CapAdd)) {
        (None, true) => (c.base, c.drop) = (CapBase::All, 0),
        (None, false) => (c.base, c.add) = (CapBase::None, 0),
        (Some(bit), true) => c.add |= bit,
        (Some(bit), false) => (c.drop, c.add) = (c.drop | bit, c.add & !bit),
    }
    Ok(())
}

/// A capability as capabilities(7) names it, with or without `CAP_`, in
/// any case, as its bit; `None` for ALL.
fn parse_cap(v: &[u8]) -> Result<Option<u64>, &'static str> {
    const UNKNOWN: &str = "unknown capability (see capabilities(7), or ALL)";
    // Lower case, so that `pick` finds it; checkpoint_restore is the
    // longest name.
    let mut lower = [0u8; 22];
    let lower = lower.get_mut(..v.len()).ok_or(UNKNOWN)?;
    lower.copy_from_slice(v);
    lower.make_ascii_lowercase();
    let name = lower.strip_prefix(b"cap_").unwrap_or(lower);
    if name == b"all" {
        return Ok(None);
    }
    pick(CAP_NAMES, name).map(|n| Some(1 << n)).ok_or(UNKNOWN)
}

/// `--seccomp-deny NAME[,NAME...]`: names from the table, or numbers.
fn deny_syscalls(deny: &mut heapless::Vec<u16, MAX_DENY>, v: &[u8]) -> Result<(), &'static str> {
    for word in v.split(|&c| c == b',') {
        let nr = match parse_u32(word) {
            Some(n) => u16::try_from(n).ok().filter(|&n| n < 1024),
            None => pick(SYSCALL_NAMES, word).and_then(|i| SYSCALL_NUMBERS.get(i).copied()),
        };
        let nr = nr.ok_or("unknown system call (nsinit(1) lists the names; others by number)")?;
        deny.push(nr).map_err(|_| "more than 64 system calls")?;
    }
    Ok(())
}

fn push_env<'a>(s: &mut Spec<'a>, op: EnvOp<'a>) -> Result<(), &'static str> {
    s.env
        .push(op)
        .map_err(|_| "more than 64 environment changes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idmap::Range;
    use std::ffi::CString;
    use std::vec::Vec;

    fn parsed(words: &[&str]) -> (Result<Command, (String, &'static str)>, Spec<'static>) {
        let owned: Vec<&'static CStr> = core::iter::once("nsinit")
            .chain(words.iter().copied())
            .map(|w| &*Box::leak(CString::new(w).unwrap().into_boxed_c_str()))
            .collect();
        let mut spec = Spec::default();
        let command = parse(owned, &mut spec)
            .map_err(|e| (String::from_utf8(e.arg.to_vec()).unwrap(), e.reason));
        (command, spec)
    }

    fn run(words: &[&str]) -> Result<Command, (String, &'static str)> {
        parsed(words).0
    }

    fn spec(words: &[&str]) -> Spec<'static> {
        match parsed(words) {
            (Ok(Command::Run), s) => s,
            (other, _) => panic!("{words:?} gave {other:?}"),
        }
    }

    #[test]
    fn packed_help_unpacks_to_the_original() {
        let mut buf = [0u8; 4096];
        let usage = report::unpack(USAGE_PACKED, &mut buf);
        assert_eq!(usage, USAGE.as_bytes());
        assert!(USAGE_PACKED.len() < usage.len() * 3 / 4);
    }

    #[test]
    fn defaults() {
        let s = spec(&[]);
        assert_eq!(s, Spec::default());
        assert_eq!(s.payload_index, None);
    }

    #[test]
    fn clustered_short_options_and_payload_index() {
        let s = spec(&["-Urpf", "-m", "sh", "-c", "-x"]);
        let want = Namespaces::USER | Namespaces::PID | Namespaces::MOUNT;
        assert_eq!(s.namespaces.0, want);
        assert_eq!(s.payload_index, Some(3));
        assert_eq!(s.uid_map.own, Some(OwnId::Id(0)));
        assert_eq!(s.setgroups, Some(SetGroups::Deny));
    }

    #[test]
    fn double_dash_ends_options() {
        assert_eq!(spec(&["-u", "--", "-p"]).payload_index, Some(3));
        assert_eq!(spec(&["-u", "--"]).payload_index, None);
        assert_eq!(spec(&["-u", "--", "--"]).payload_index, Some(3));
        // A lone "-" is no option: the payload's name, as getopt has it.
        assert_eq!(spec(&["-u", "-", "-p"]).payload_index, Some(2));
    }

    #[test]
    fn values_at_their_limits() {
        // The kernel's 64 bytes for a host name, exactly.
        let name = "x".repeat(64);
        assert_eq!(spec(&["--hostname", &name]).hostname, Some(name.as_bytes()));
        // fd 3 + N must stay an int.
        let most = spec(&["--preserve-fds=2147483644"]).preserve_fds;
        assert_eq!(most, 2147483644);
        assert!(run(&["--preserve-fds=2147483645"]).is_err());
        // At most four hexadecimal digits, as an x86 port has.
        assert_eq!(spec(&["--debug-exit=0x00f4"]).vm.debug_exit, Some(0xf4));
        assert!(run(&["--debug-exit=0x000f4"]).is_err());
    }

    #[test]
    fn values_inline_and_separate() {
        let a = spec(&["--hostname=box", "-Rroot", "-w", "/tmp", "--wd=/x"]);
        let b = spec(&["--hostname", "box", "-R", "root", "--wd", "/x"]);
        assert_eq!(a, b);
        assert_eq!(a.hostname, Some(&b"box"[..]));
        assert_eq!(a.root, Some(c"root"));
        assert_eq!(a.wd, Some(c"/x"));
        assert!(a.namespaces.has(Namespaces::UTS));
        // Optional values only after '='.
        let s = spec(&["--mount-proc", "/p"]);
        assert_eq!((s.mount_proc, s.payload_index), (Some(c"/proc"), Some(2)));
        assert_eq!(spec(&["--mount-proc=/p"]).mount_proc, Some(c"/p"));
    }

    #[test]
    fn unshare_implications() {
        let s = spec(&["-c"]);
        assert_eq!(
            (s.uid_map.own, s.gid_map.own),
            (Some(OwnId::Same), Some(OwnId::Same))
        );
        assert_eq!(s.setgroups, Some(SetGroups::Deny));
        let s = spec(&["--map-user=5"]);
        assert_eq!(
            (s.uid_map.own, s.gid_map.own, s.setgroups),
            (Some(OwnId::Id(5)), None, None)
        );
        assert!(s.namespaces.has(Namespaces::USER));
        let s = spec(&["--map-group=7"]);
        assert_eq!(s.setgroups, Some(SetGroups::Deny));
        let s = spec(&["--map-users=0:100000:65536", "--map-users=70000,65536,10"]);
        assert_eq!(
            &s.uid_map.ranges[..],
            &[
                Range {
                    inner: 0,
                    outer: 100000,
                    count: 65536
                },
                Range {
                    inner: 65536,
                    outer: 70000,
                    count: 10
                }
            ]
        );
        assert_eq!(s.setgroups, None);
        assert!(spec(&["--mount-proc"]).namespaces.has(Namespaces::MOUNT));
        let s = spec(&["--monotonic=-5", "--boottime", "86400"]);
        assert_eq!((s.monotonic, s.boottime), (-5, 86400));
        assert!(s.namespaces.has(Namespaces::TIME));
        assert_eq!(
            spec(&["-r", "--map-user=9"]).uid_map.own,
            Some(OwnId::Id(9))
        );
        assert_eq!(
            spec(&["-U", "--setgroups=allow"]).setgroups,
            Some(SetGroups::Allow)
        );
    }

    #[test]
    fn kill_child_signals() {
        assert_eq!(spec(&["--kill-child"]).kill_child.map(Signal::get), Some(9));
        assert_eq!(
            spec(&["--kill-child=TERM"]).kill_child.map(Signal::get),
            Some(15)
        );
        assert_eq!(
            spec(&["--kill-child=SIGUSR1"]).kill_child.map(Signal::get),
            Some(10)
        );
        assert_eq!(
            spec(&["--kill-child=34"]).kill_child.map(Signal::get),
            Some(34)
        );
    }

    #[test]
    fn init_mode_options() {
        let s = spec(&[
            "--init",
            "--new-session",
            "--grace=10",
            "--debug-exit",
            "--reboot",
        ]);
        assert!(s.stay_as_init && s.new_session && s.vm.reboot);
        assert_eq!((s.vm.grace_secs, s.vm.debug_exit), (Some(10), Some(0xf4)));
        assert_eq!(spec(&["--debug-exit=0x501"]).vm.debug_exit, Some(0x501));
        assert_eq!(spec(&["--debug-exit=1280"]).vm.debug_exit, Some(1280));
        for bad in [
            "--debug-exit=0x",
            "--debug-exit=0x10000",
            "--debug-exit=0xfffd",
            "--debug-exit=f4",
        ] {
            assert_eq!(
                run(&[bad]).unwrap_err().1,
                "expected an I/O port such as 0xf4",
                "{bad}"
            );
        }
        assert_eq!(
            run(&["--grace=3601"]).unwrap_err().1,
            "expected seconds, 0-3600"
        );
    }

    #[test]
    fn identity_and_environment() {
        let s = spec(&[
            "--uid=5",
            "--gid",
            "6",
            "--chdir=/srv",
            "--clearenv",
            "--setenv",
            "A",
            "1 2",
            "--unsetenv=B",
            "--setenv=C",
            "",
            "prog",
        ]);
        assert_eq!((s.uid, s.gid, s.wd), (Some(5), Some(6), Some(c"/srv")));
        assert_eq!(
            &s.env[..],
            &[
                EnvOp::Clear,
                EnvOp::Set(c"A", c"1 2"),
                EnvOp::Unset(c"B"),
                EnvOp::Set(c"C", c""),
                // Last, whatever came before: PWD names --chdir's directory.
                EnvOp::Set(c"PWD", c"/srv"),
            ]
        );
        assert_eq!(s.payload_index, Some(12));
        // A new root's `/`, or --chdir's directory as given (relative too,
        // as bubblewrap sets it); neither: the caller's stays, untouched.
        let pwd = |words: &[&str]| spec(words).env.last().copied();
        assert_eq!(pwd(&["--tmpfs", "/t"]), Some(EnvOp::Set(c"PWD", c"/")));
        assert_eq!(pwd(&["-R", "/r"]), Some(EnvOp::Set(c"PWD", c"/")));
        assert_eq!(
            pwd(&["--chdir=sub", "--clearenv", "-R", "/r"]),
            Some(EnvOp::Set(c"PWD", c"sub"))
        );
        assert_eq!(pwd(&["-m", "--clearenv"]), Some(EnvOp::Clear));
        assert_eq!(pwd(&["--mount-proc", "-p"]), None);
        // PWD takes one of the 64 changes where the directory changes.
        let most: Vec<String> = (0..64).map(|i| format!("--unsetenv=V{i}")).collect();
        let mut refs: Vec<&str> = most.iter().map(String::as_str).collect();
        assert_eq!(spec(&refs).env.len(), 64);
        refs.push("--chdir=/");
        assert_eq!(
            run(&refs),
            Err(("PWD".to_string(), "more than 64 environment changes"))
        );
        refs.drain(..1);
        let s = spec(&refs);
        assert_eq!(s.env.len(), 64);
        assert_eq!(s.env[63], EnvOp::Set(c"PWD", c"/"));
        assert_eq!(
            run(&["--setenv", "A"]),
            Err(("--setenv".to_string(), "needs a value"))
        );
        assert_eq!(
            run(&["--setenv", "A=B", "x"]).unwrap_err().1,
            "expected a variable name without '='"
        );
        assert_eq!(
            run(&["--unsetenv="]).unwrap_err().1,
            "expected a variable name without '='"
        );
        let many: Vec<String> = (0..65).map(|i| format!("--unsetenv=V{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            run(&refs).unwrap_err().1,
            "more than 64 environment changes"
        );
    }

    /// `--rlimit`s as (name, soft, hard), the ones set only.
    fn rlimits(words: &[&str]) -> Vec<(&'static str, Option<u64>, Option<u64>)> {
        let names: Vec<&str> = RLIMIT_NAMES.split(' ').collect();
        let s = spec(words);
        (0..RESOURCES.len())
            .filter(|&i| s.rlimits[i].is_set())
            .map(|i| (names[i], s.rlimits[i].soft, s.rlimits[i].hard))
            .collect()
    }

    #[test]
    fn rlimits_as_prlimit_reads_them() {
        let max = Some(u64::MAX);
        assert_eq!(
            rlimits(&["--rlimit", "NOFILE=64"]),
            [("NOFILE", Some(64), Some(64))]
        );
        assert_eq!(
            rlimits(&["--rlimit=nofile=64:128"]),
            [("NOFILE", Some(64), Some(128))]
        );
        // SOFT: and :HARD leave the other limit as inherited.
        assert_eq!(rlimits(&["--rlimit=Core=5:"]), [("CORE", Some(5), None)]);
        assert_eq!(rlimits(&["--rlimit=as=:4096"]), [("AS", None, Some(4096))]);
        assert_eq!(rlimits(&["--rlimit=CPU=unlimited"]), [("CPU", max, max)]);
        assert_eq!(
            rlimits(&["--rlimit=STACK=8388608:infinity"]),
            [("STACK", Some(8388608), max)]
        );
        assert_eq!(
            rlimits(&["--rlimit=RTTIME=18446744073709551615:"]),
            [("RTTIME", max, None)]
        );
        assert_eq!(
            rlimits(&["--rlimit=NPROC=0", "--rlimit", "msgqueue=1:2"]),
            [("NPROC", Some(0), Some(0)), ("MSGQUEUE", Some(1), Some(2))]
        );
        // prlimit's sixteen names, each to its own RLIMIT_* number.
        for (name, number) in [
            ("cpu", 0),
            ("fsize", 1),
            ("data", 2),
            ("stack", 3),
            ("core", 4),
            ("rss", 5),
            ("nproc", 6),
            ("nofile", 7),
            ("memlock", 8),
            ("as", 9),
            ("locks", 10),
            ("sigpending", 11),
            ("msgqueue", 12),
            ("nice", 13),
            ("rtprio", 14),
            ("rttime", 15),
        ] {
            let s = spec(&[&format!("--rlimit={name}=7")]);
            assert_eq!(s.rlimits[number].soft, Some(7), "{name}");
            assert_eq!(RESOURCES[number] as usize, number);
            assert_eq!(
                crate::spec::rlimit_name(number),
                name.to_uppercase().as_bytes()
            );
        }
        // Repeated, a resource takes the later value of each limit given,
        // as prlimit's options applied one after the other.
        assert_eq!(
            rlimits(&["--rlimit=NOFILE=10:20", "--rlimit=NOFILE=30"]),
            [("NOFILE", Some(30), Some(30))]
        );
        assert_eq!(
            rlimits(&["--rlimit=NOFILE=10:", "--rlimit=NOFILE=:20"]),
            [("NOFILE", Some(10), Some(20))]
        );
        assert_eq!(
            rlimits(&["--rlimit=NOFILE=10:20", "--rlimit=NOFILE=5:"]),
            [("NOFILE", Some(5), Some(20))]
        );
    }

    /// The capabilities `--cap-add`/`--cap-drop` leave, from a default
    /// of `base`, given what nsinit holds.
    fn caps(words: &[&str], default: u64, held: u64) -> u64 {
        let c = spec(words).caps.expect("cap options given");
        c.result(default, held)
    }

    #[test]
    fn capabilities_fold_in_command_line_order() {
        // capabilities(7)'s 41, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40).
        let all: u64 = (1 << 41) - 1;
        let (chown, nbs, sys_admin) = (1, 1 << 10, 1 << 21);
        assert_eq!(spec(&[]).caps, None);
        let only_nbs = ["--cap-drop", "ALL", "--cap-add", "net_bind_service"];
        assert_eq!(caps(&only_nbs, all, all), nbs);
        // Names as capabilities(7) spells them, with or without CAP_, any case.
        for name in [
            "CAP_NET_BIND_SERVICE",
            "cap_net_bind_service",
            "Net_Bind_Service",
        ] {
            assert_eq!(caps(&["--cap-drop=all", "--cap-add", name], all, all), nbs);
        }
        assert_eq!(caps(&["--cap-add=checkpoint_restore"], 0, all), 1 << 40);
        assert_eq!(caps(&["--cap-drop=CAP_CHOWN"], all, all), all & !chown);
        assert_eq!(caps(&["--cap-drop=chown"], 0, all), 0);
        // Later ones win, as bubblewrap applies them.
        assert_eq!(caps(&["--cap-add=chown", "--cap-drop=chown"], 0, all), 0);
        assert_eq!(
            caps(&["--cap-drop=chown", "--cap-add=chown"], all, all),
            all
        );
        assert_eq!(
            caps(&["--cap-add=sys_admin", "--cap-drop=ALL"], all, all),
            0
        );
        let held = all & !sys_admin;
        let every_but_chown = ["--cap-add=ALL", "--cap-drop=chown"];
        assert_eq!(caps(&every_but_chown, 0, held), held & !chown);
        assert_eq!(caps(&["--cap-drop=ALL", "--cap-add=ALL"], 0, held), held);
        // ALL undoes the drops before it, as in bubblewrap.
        assert_eq!(caps(&["--cap-drop=chown", "--cap-add=ALL"], all, all), all);
        assert_eq!(caps(&["--cap-drop=chown", "--cap-add=ALL"], 0, held), held);
    }

    #[test]
    fn bad_capabilities() {
        let unknown = "unknown capability (see capabilities(7), or ALL)";
        for word in [
            "--cap-add=",
            "--cap-add=CAP_",
            "--cap-add=net-admin",
            "--cap-add=CAP_CAP_CHOWN",
            "--cap-add=all_",
            "--cap-drop=chown,kill",
            "--cap-drop=cap_checkpoint_restore_",
            "--cap-add=41",
        ] {
            assert_eq!(run(&[word]), Err((word.to_string(), unknown)), "{word}");
        }
    }

    #[test]
    fn seccomp_options() {
        let s = spec(&[
            "--seccomp-deny=ptrace,keyctl",
            "--seccomp-deny",
            "39,socket",
        ]);
        assert_eq!(s.seccomp.deny, [101, 250, 39, 41]);
        assert_eq!(
            (s.seccomp.default, s.seccomp.errno, s.seccomp.fd),
            (false, 0, None)
        );
        let s = spec(&[
            "--seccomp-default",
            "--seccomp-errno=ENOSYS",
            "--seccomp-fd=3",
        ]);
        assert_eq!(
            (s.seccomp.default, s.seccomp.errno, s.seccomp.fd),
            (true, 38, Some(3))
        );
        assert_eq!(spec(&["--seccomp-errno=4095"]).seccomp.errno, 4095);
        assert_eq!(spec(&["--seccomp-errno=EACCES"]).seccomp.errno, 13);
        assert_eq!(spec(&["--seccomp-deny=1023"]).seccomp.deny, [1023]);
        let sixty_four = vec!["0"; 64].join(",");
        assert_eq!(
            spec(&["--seccomp-deny", &sixty_four]).seccomp.deny.len(),
            64
        );
        // The table's names and numbers pair up, the default list first.
        let names: Vec<&str> = crate::spec::SYSCALL_NAMES.split_whitespace().collect();
        assert_eq!(names.len(), crate::spec::SYSCALL_NUMBERS.len());
        assert_eq!(names[crate::spec::DEFAULT_DENY - 1], "io_uring_register");
        assert_eq!(names[crate::spec::DEFAULT_DENY], "ptrace");
        let nr =
            |name| crate::spec::SYSCALL_NUMBERS[names.iter().position(|n| *n == name).unwrap()];
        assert_eq!(
            (nr("init_module"), nr("kexec_load"), nr("bpf")),
            (175, 246, 321)
        );
    }

    #[test]
    fn bad_seccomp_options() {
        let call = "unknown system call (nsinit(1) lists the names; others by number)";
        let errno = "expected an errno name such as ENOSYS, or 1-4095";
        let sixty_five = format!("--seccomp-deny={}", vec!["0"; 65].join(","));
        for (word, reason) in [
            ("--seccomp-deny=", call),
            ("--seccomp-deny=ptrace,", call),
            ("--seccomp-deny=getpid2", call),
            ("--seccomp-deny=PTRACE", call),
            ("--seccomp-deny=1024", call),
            ("--seccomp-deny=-1", call),
            ("--seccomp-deny=ptrace keyctl", call),
            (sixty_five.as_str(), "more than 64 system calls"),
            ("--seccomp-errno=0", errno),
            ("--seccomp-errno=4096", errno),
            ("--seccomp-errno=eperm", errno),
            ("--seccomp-errno=EBOGUS", errno),
            ("--seccomp-errno=", errno),
            ("--seccomp-fd=", "expected an fd number"),
            ("--seccomp-fd=-1", "expected an fd number"),
            ("--seccomp-fd=2147483648", "expected an fd number"),
        ] {
            assert_eq!(run(&[word]), Err((word.to_string(), reason)), "{word}");
        }
        assert_eq!(
            run(&["--seccomp-default=1"]),
            Err(("--seccomp-default=1".to_string(), "takes no value"))
        );
    }

    #[test]
    fn bad_rlimits() {
        let bad = "expected limits below 2^64, or unlimited";
        let above = "the soft limit is above the hard limit";
        for (words, reason) in [
            (&["--rlimit=NOFILE"][..], "expected NAME=SOFT[:HARD]"),
            (&["--rlimit", "64"], "expected NAME=SOFT[:HARD]"),
            (&["--rlimit=FILES=64"], "unknown resource"),
            (&["--rlimit==64"], "unknown resource"),
            (&["--rlimit=RLIMIT_NOFILE=64"], "unknown resource"),
            (&["--rlimit=SIGPENDINGS=64"], "unknown resource"),
            (&["--rlimit=NOFILE=100:50"], above),
            (&["--rlimit=NOFILE=unlimited:50"], above),
            (&["--rlimit=NOFILE=10:20", "--rlimit=NOFILE=30:"], above),
            (&["--rlimit=NOFILE=:5", "--rlimit=NOFILE=6:"], above),
            (&["--rlimit=NOFILE="], bad),
            (&["--rlimit=NOFILE=:"], bad),
            (&["--rlimit=NOFILE=18446744073709551616"], bad),
            (&["--rlimit=NOFILE=1:18446744073709551616"], bad),
            (&["--rlimit=NOFILE=-1"], bad),
            (&["--rlimit=NOFILE=0x10"], bad),
            (&["--rlimit=NOFILE=1:2:3"], bad),
            (&["--rlimit=NOFILE=Unlimited"], bad),
            (&["--rlimit=NOFILE= 5"], bad),
        ] {
            let arg = words.iter().rfind(|w| w.starts_with("--")).unwrap();
            assert_eq!(run(words), Err((arg.to_string(), reason)), "{words:?}");
        }
        assert_eq!(
            run(&["--rlimit"]),
            Err(("--rlimit".to_string(), "needs a value"))
        );
    }

    #[test]
    fn help_and_version_stop_parsing() {
        assert_eq!(run(&["-h", "--bogus"]), Ok(Command::Help));
        assert_eq!(run(&["-U", "--version"]), Ok(Command::Version));
    }

    #[test]
    fn bad_command_lines() {
        let long = "x".repeat(65);
        let host = format!("--hostname={long}");
        let cases: &[(&[&str], &str, &str)] = &[
            (&["--bogus"], "--bogus", "unknown option"),
            (&["-Uz"], "-Uz", "unknown option"),
            (&["--hostname"], "--hostname", "needs a value"),
            (&["-R"], "-R", "needs a value"),
            (&["--user=/run/ns"], "--user=/run/ns", "takes no value"),
            (&[&host], &host, "longer than 64 bytes (the kernel's limit)"),
            (
                &["--map-user=root"],
                "--map-user=root",
                "expected a numeric id below 4294967295",
            ),
            (
                &["--map-users=1:2"],
                "--map-users=1:2",
                "expected INNER:OUTER:COUNT",
            ),
            (
                &["--map-users=1:2:0"],
                "--map-users=1:2:0",
                "a range of zero ids",
            ),
            (
                &["--map-users=0:1:10", "--map-users=5:100:1"],
                "--map-users=5:100:1",
                "overlaps an earlier range",
            ),
            (
                &["--setgroups=maybe"],
                "--setgroups=maybe",
                "expected allow or deny",
            ),
            (
                &["-r", "--setgroups=allow"],
                "-r",
                "conflicts with --setgroups=allow (a self-mapped gid needs deny)",
            ),
            (
                &["--setgroups=deny"],
                "--setgroups",
                "needs a user namespace (-U)",
            ),
            (
                &["--monotonic=1.5"],
                "--monotonic=1.5",
                "expected whole seconds",
            ),
            (
                &["--kill-child=FOO"],
                "--kill-child=FOO",
                "expected a signal name or number 1-64",
            ),
            (
                &["--kill-child=65"],
                "--kill-child=65",
                "expected a signal name or number 1-64",
            ),
            (
                &["--preserve-fds=-1"],
                "--preserve-fds=-1",
                "expected a number of fds",
            ),
            (
                &["--propagation=up"],
                "--propagation=up",
                "expected private, slave, shared or unchanged",
            ),
            (&["--wd="], "--wd=", "needs a directory"),
        ];
        for (words, arg, reason) in cases {
            assert_eq!(run(words), Err((arg.to_string(), *reason)), "{words:?}");
        }
    }

    #[test]
    fn rules_that_combine_options() {
        let shared = "conflicts with a new root (pivot_root needs / private or slave)";
        for words in [
            &["--propagation=shared", "-R", "/r"][..],
            &["--tmpfs", "/t", "--propagation=unchanged"],
        ] {
            let arg = words
                .iter()
                .find(|w| w.starts_with("--propagation"))
                .unwrap();
            assert_eq!(run(words), Err((arg.to_string(), shared)), "{words:?}");
        }
        assert_eq!(
            spec(&["--propagation=shared", "-m"]).propagation,
            Propagation::Shared
        );
        assert_eq!(
            spec(&["--propagation=slave", "-R", "/r"]).propagation,
            Propagation::Slave
        );
        let term = "a pid namespace's PID 1 ignores it: use KILL or --init";
        assert_eq!(
            run(&["-p", "--kill-child=TERM"]),
            Err(("--kill-child=TERM".to_string(), term))
        );
        assert_eq!(
            spec(&["-p", "--init", "--kill-child=TERM"])
                .kill_child
                .map(Signal::get),
            Some(15)
        );
        assert_eq!(
            spec(&["--kill-child=TERM"]).kill_child.map(Signal::get),
            Some(15)
        );
        assert_eq!(
            spec(&["-p", "--kill-child"]).kill_child.map(Signal::get),
            Some(9)
        );
        // --uid alone takes the gid with it.
        let s = spec(&["--uid=7"]);
        assert_eq!((s.uid, s.gid), (Some(7), Some(7)));
        assert_eq!(spec(&["--uid=7", "--gid=8"]).gid, Some(8));
        assert_eq!(spec(&["--gid=8"]).uid, None);
        // Ranges without the caller's id must give the payload one.
        assert_eq!(
            run(&["--map-users=1:100000:10", "--map-groups=0:100000:10"]),
            Err((
                "--map-users".to_string(),
                "maps no inner uid 0: add --uid with a mapped id"
            ))
        );
        assert_eq!(
            run(&["--map-users=0:100000:10", "--map-groups=1:100000:10"]),
            Err((
                "--map-groups".to_string(),
                "maps no inner gid 0: add --gid with a mapped id"
            ))
        );
        assert!(run(&["--map-users=1:100000:10", "--uid=1"]).is_ok());
        assert!(run(&["-r", "--map-users=1:100000:10"]).is_ok());
        // Only a mount operation makes a sandbox, not -R or --mount-proc.
        assert!(!spec(&["-r", "-R", "/r", "--mount-proc"]).sandbox);
        assert!(spec(&["-r", "--ro-bind-try", "/a", "/b"]).sandbox);
        assert!(spec(&["--dev", "/dev"]).sandbox);
    }

    #[test]
    fn more_ranges_than_the_kernel_takes() {
        let words: Vec<String> = (0..341)
            .map(|i| format!("--map-groups={i}:{}:1", 1000 + i))
            .collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_eq!(
            run(&refs).unwrap_err().1,
            "more than 340 ranges (the kernel's limit)"
        );
    }

    #[test]
    fn mount_operations_keep_their_order_and_modifiers() {
        let s = spec(&[
            "--ro-bind-try",
            "/a",
            "/b",
            "--size=4096",
            "--perms",
            "700",
            "--tmpfs",
            "/t",
            "--symlink",
            "usr/bin",
            "/bin",
            "--dir",
            "/d",
            "sh",
        ]);
        let ops: Vec<_> = s
            .mounts
            .iter()
            .map(|m| {
                (
                    m.kind,
                    std::str::from_utf8(m.name).unwrap(),
                    m.src,
                    m.dst,
                    m.optional,
                    m.mode,
                    m.size,
                )
            })
            .collect();
        // A fresh tmpfs root comes first.
        assert_eq!(
            ops,
            [
                (MountKind::Tmpfs, "tmpfs", c"", c"/", false, 0o755, 0),
                (
                    MountKind::RoBind,
                    "ro-bind-try",
                    c"/a",
                    c"/b",
                    true,
                    0o755,
                    0
                ),
                (MountKind::Tmpfs, "tmpfs", c"", c"/t", false, 0o700, 4096),
                (
                    MountKind::Symlink,
                    "symlink",
                    c"usr/bin",
                    c"/bin",
                    false,
                    0o755,
                    0
                ),
                (MountKind::Dir, "dir", c"", c"/d", false, 0o755, 0),
            ]
        );
        assert_eq!(s.namespaces.0, Namespaces::MOUNT);
        assert_eq!(s.payload_index, Some(14));
        // -R's directory first, --dev spelled out, --mount-proc last.
        let s = spec(&["-R", "/r", "--mount-proc", "--dev", "/d"]);
        let plan: Vec<_> = s
            .mounts
            .iter()
            .map(|m| {
                (
                    m.kind,
                    m.src.to_str().unwrap(),
                    m.dst.to_str().unwrap(),
                    m.leaf,
                )
            })
            .collect();
        assert_eq!(plan.len(), 2 + DEV.len());
        // bubblewrap's /dev/core.
        assert!(plan.contains(&(MountKind::Symlink, "/proc/kcore", "/d", &b"/core"[..])));
        assert_eq!(plan[0], (MountKind::Root, "/r", "/", &b""[..]));
        assert_eq!(plan[1], (MountKind::Tmpfs, "", "/d", &b""[..]));
        assert_eq!(
            plan[2],
            (MountKind::DevBind, "/dev/null", "/d", &b"/null"[..])
        );
        assert_eq!(plan[17], (MountKind::Proc, "", "/proc", &b""[..]));
        // proc in a user namespace needs a pid namespace it owns.
        let with_user = spec(&["-r", "--proc", "/proc"]).namespaces;
        assert!(with_user.has(Namespaces::PID));
        assert!(!spec(&["--proc", "/proc"]).namespaces.has(Namespaces::PID));
    }

    #[test]
    fn mount_operation_errors() {
        let next = NEXT_OP;
        let size = "expected a size in bytes, 1 to 2^63-1";
        for (words, want) in [
            (&["--bind", "/a"][..], ("--bind", "needs a value")),
            (&["--tmpfs="], ("--tmpfs=", "needs a path")),
            (&["--size", "0", "--tmpfs", "/t"], ("--size", size)),
            (&["--size", "1k"], ("--size", size)),
            // 2^63 and 2^63+1: above bubblewrap's limit and a file's.
            (&["--size", "9223372036854775808"], ("--size", size)),
            (&["--size", "9223372036854775809"], ("--size", size)),
            (&["--size", "18446744073709551615"], ("--size", size)),
            (&["--size", "18446744073709551616"], ("--size", size)),
            // One of each before an operation, in any order.
            (&["--perms", "0640", "--perms", "0640"], ("--perms", TWICE)),
            (&["--size", "4096", "--size=4096"], ("--size=4096", TWICE)),
            (
                &["--perms", "0700", "--size", "1", "--perms", "0700"],
                ("--perms", TWICE),
            ),
            (
                &["--perms", "0800"],
                ("--perms", "expected an octal mode such as 0755"),
            ),
            (
                &["--perms", "17777"],
                ("--perms", "expected an octal mode such as 0755"),
            ),
            (&["--perms", "0700", "--bind", "/a", "/b"], ("--bind", next)),
            (&["--size", "10", "--dir", "/d"], ("--dir", next)),
            (&["--perms", "0700"], ("--perms", next)),
        ] {
            assert_eq!(run(words), Err((want.0.to_string(), want.1)), "{words:?}");
        }
        // The largest size; and each operation takes its own pair.
        let s = spec(&[
            "--size=9223372036854775807",
            "--perms=0",
            "--tmpfs=/a",
            "--perms=1777",
            "--size=1",
            "--tmpfs=/b",
            "--tmpfs=/c",
        ]);
        let modes: Vec<_> = s.mounts.iter().map(|m| (m.mode, m.size)).collect();
        assert_eq!(
            modes,
            [(0o755, 0), (0, i64::MAX as u64), (0o1777, 1), (0o755, 0)]
        );
        // The plan keeps two places for the root and --mount-proc, and the
        // error names the operation that did not fit, not --root.
        let many: Vec<String> = (0..127).map(|i| format!("--dir=/d{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            run(&refs),
            Err((
                "--dir=/d126".to_string(),
                "more than 126 mount operations (--dev counts for 16)"
            ))
        );
        let mut most: Vec<&str> = refs[..126].to_vec();
        most.extend(["-R", "/r", "--mount-proc"]);
        let s = spec(&most);
        assert_eq!(s.mounts.len(), 128);
        assert_eq!(s.mounts[0].kind, MountKind::Root);
        assert_eq!(s.mounts[127].name, b"mount-proc");
    }

    #[test]
    fn help_names_every_option() {
        // The -try forms are one line for three.
        for name in LONG_NAMES
            .split_whitespace()
            .filter(|n| !n.ends_with("-try"))
        {
            assert!(USAGE.contains(&format!("--{name}")), "--{name}");
        }
        for &(short, _, _) in OPTIONS.iter().filter(|o| o.0 != 0) {
            assert!(
                USAGE.contains(&format!("-{}", short as char)),
                "-{}",
                short as char
            );
        }
        assert!(USAGE.lines().all(|l| l.len() <= 80));
    }
}
