//! Security: runc's CVE-2019-5736 played against nsinit. The payload
//! follows /proc/<nsinit's pid>/exe to nsinit's own binary and tries to
//! write it: at once, and from an orphan that keeps an O_PATH fd and waits
//! for nsinit to exit (tests/helpers/proc_exe_write.c). Each run has its
//! own copy of the binary, compared byte for byte afterwards: on code
//! without the fix the test is the one that overwrites it. The orphan
//! shares the payload's stdout, so reading the output to its end waits
//! for the orphan too; it ends itself within 20 s whatever happens.

mod common;

use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

/// Where nsinit runs from its sealed copy: the exe link leads to a memfd
/// with every seal (F_SEAL_SEAL | SHRINK | GROW | WRITE), busy while
/// nsinit runs it. The orphan dies with the pid namespace when nsinit,
/// its PID 1, ends: it prints nothing more, or, had it slipped through
/// the moment between nsinit's memory going and the kernel killing the
/// namespace, finds the copy refusing the write.
const SEALED_COPY: &str = "path: ok\nfile: a copy\nseals: 0xf\nnow: ETXTBSY\n";
const SEALED_COPY_LATE: &str =
    "path: ok\nfile: a copy\nseals: 0xf\nnow: ETXTBSY\nafter: write EPERM\n";

/// Where the payload cannot follow the link at all: nsinit is not
/// dumpable, and the payload lacks CAP_SYS_PTRACE over it (or, for a
/// payload in a user namespace of its own, commoncap already refuses).
const CLOSED: &str = "path: EACCES\n";

/// One test's directory: a copy of nsinit, and a root for `-R` with the
/// helper as /pew. Removed on drop.
struct Scratch {
    dir: PathBuf,
    bin: String,
    root: String,
    original: Vec<u8>,
    /// The binary as the helper prints it: `file: MAJOR:MINOR:INODE`.
    file: String,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("nsinit-exe-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("proc")).unwrap();
        let bin = dir.join("nsinit");
        std::fs::copy(nsinit(), &bin).unwrap();
        std::fs::copy(helper("proc_exe_write"), root.join("pew")).unwrap();
        for p in [&dir, &root] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let meta = std::fs::metadata(&bin).unwrap();
        let dev = meta.dev();
        let file = format!(
            "file: {}:{}:{}",
            libc::major(dev),
            libc::minor(dev),
            meta.ino()
        );
        Scratch {
            original: std::fs::read(&bin).unwrap(),
            bin: bin.to_str().unwrap().to_string(),
            root: root.to_str().unwrap().to_string(),
            dir,
            file,
        }
    }

    /// Runs `wrap... <the copy> args...` as `who` (`wrap` may be empty);
    /// returns the helper's lines, its `file:` line said as "the binary" or
    /// "a copy", after checking that everything exited 0 and the copy of
    /// nsinit is unchanged.
    fn attack(&self, who: As, wrap: &[&str], args: &[&str]) -> String {
        let mut words: Vec<&str> = wrap.to_vec();
        words.push(&self.bin);
        words.extend(args);
        let o = output(&mut command(who, words[0], &words[1..]));
        let out = stdout(&o)
            .lines()
            .map(|l| match l.strip_prefix("file: ") {
                Some(_) if l == self.file => "file: the binary\n".to_string(),
                Some(_) => "file: a copy\n".to_string(),
                None => format!("{l}\n"),
            })
            .collect::<String>();
        let what = format!("{who:?} {words:?}: {out}{}", stderr(&o));
        assert_eq!(o.status.code(), Some(0), "{what}");
        assert!(
            std::fs::read(&self.bin).unwrap() == self.original,
            "the binary was overwritten: {what}"
        );
        out
    }

    /// The helper, outside the root.
    fn helper(&self) -> String {
        format!("{}/pew", self.root)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a root container engine's default capability set leaves out.
const NO_PTRACE: &[&str] = &["setpriv", "--bounding-set=-sys_ptrace"];

#[test]
fn pid1_of_a_container_runs_from_a_sealed_copy() {
    let s = Scratch::new("container");
    let pew = s.helper();
    let unshare = ["unshare", "-p", "-f", "--mount-proc"];
    // Root with every capability, also root of a user namespace of its own
    // (a rootless engine): the payload holds CAP_SYS_PTRACE over PID 1.
    let rootless = ["unshare", "-U", "-r", "-p", "-f", "--mount-proc"];
    for (who, wrap) in [
        (As::Root, &unshare[..]),
        (As::Root, &rootless[..]),
        (As::Nobody, &rootless[..]),
    ] {
        let out = s.attack(who, wrap, &["--", &pew, "1"]);
        assert!(
            out == SEALED_COPY || out == SEALED_COPY_LATE,
            "{who:?} {wrap:?}: {out}"
        );
    }
    // Without CAP_SYS_PTRACE (podman's and docker's default set) PID 1 is
    // not dumpable, and that is enough.
    let wrap = [&unshare[..], NO_PTRACE].concat();
    assert_eq!(s.attack(As::Root, &wrap, &["--", &pew, "1"]), CLOSED);
}

#[test]
fn init_in_a_pid_namespace_runs_from_a_sealed_copy() {
    let s = Scratch::new("init");
    let init = [
        "-p",
        "--init",
        "-R",
        &s.root,
        "--mount-proc",
        "--",
        "/pew",
        "1",
    ];
    let out = s.attack(As::Root, &[], &init);
    assert!(out == SEALED_COPY || out == SEALED_COPY_LATE, "{out}");
    // Without CAP_SYS_PTRACE, or in a user namespace: not dumpable is
    // enough, no copy is made.
    assert_eq!(s.attack(As::Root, NO_PTRACE, &init), CLOSED);
    for who in [As::Root, As::Nobody] {
        assert_eq!(s.attack(who, &[], &[&["-r"], &init[..]].concat()), CLOSED);
    }
    // A sandbox (a mount operation) that --cap-add gives CAP_SYS_PTRACE
    // back to needs the copy as much as an unshare-style run.
    let sandbox = [&["--tmpfs", "/tmp", "--cap-add", "sys_ptrace"], &init[..]].concat();
    let out = s.attack(As::Root, &[], &sandbox);
    assert!(out == SEALED_COPY || out == SEALED_COPY_LATE, "{out}");
}

#[test]
fn launcher_is_not_dumpable() {
    let s = Scratch::new("launcher");
    let pew = s.helper();
    // Root as a container engine's default set leaves it, and the orphan
    // outliving nsinit: before the fix it overwrote the binary.
    for flags in [&["-m"][..], &["--init"]] {
        let args = [flags, &["--", &pew, "parent"]].concat();
        assert_eq!(s.attack(As::Root, NO_PTRACE, &args), CLOSED, "{flags:?}");
    }
    // Root mapped to root in a user namespace, and uid 65534 without one.
    assert_eq!(
        s.attack(As::Root, &[], &["-r", "--", &pew, "parent"]),
        CLOSED
    );
    assert_eq!(s.attack(As::Nobody, &[], &["--", &pew, "parent"]), CLOSED);
}

/// `sh -c SCRIPT` as root, with `$NSINIT` set to a copy of the binary: its
/// status, stdout and stderr.
fn shell(script: &str) -> (Option<i32>, String, String) {
    let s = Scratch::new("shell");
    let o = output(command(As::Root, "timeout", &["20", "sh", "-c", script]).env("NSINIT", &s.bin));
    (o.status.code(), stdout(&o), stderr(&o))
}

#[test]
fn where_no_copy_can_be_made_the_run_goes_on_and_says_so() {
    let hint = "going on without a sealed copy (CVE-2019-5736)";
    // vm.memfd_noexec=2 (set for a pid namespace) refuses an executable
    // memfd.
    let noexec = "unshare -p -f --mount-proc sh -c \
                  'echo 2 > /proc/sys/vm/memfd_noexec; exec $NSINIT -p --init -- echo ran'";
    let line = format!("nsinit: memfd_create: Permission denied (EACCES); {hint}\n");
    assert_eq!(shell(noexec), (Some(0), "ran\n".to_string(), line));
    // A /proc that is no procfs, with a link planted where the exe link
    // would be: never a copy of a copy of a copy (before, a loop without end).
    let planted = "unshare -m sh -c 'mount -t tmpfs planted /proc && mkdir /proc/self && \
                   ln -s $NSINIT /proc/self/exe && exec $NSINIT -p --init -- echo ran'";
    let line = format!("nsinit: open /proc/self/exe: No such file or directory (ENOENT); {hint}\n");
    assert_eq!(shell(planted), (Some(0), "ran\n".to_string(), line));
}

#[test]
fn a_copy_is_made_exactly_where_the_payload_may_trace_its_pid_1() {
    // --debug says "exec sealed copy" when nsinit runs itself again; an
    // unneeded copy costs an exec, a missing one the binary.
    let s = Scratch::new("when");
    let copied = |wrap: &[&str], flags: &[&str]| {
        let mut words: Vec<&str> = wrap.to_vec();
        words.extend([s.bin.as_str(), "-v", "-p", "--init"]);
        words.extend(flags);
        words.extend(["--", "/bin/true"]);
        let o = output(&mut command(As::Root, words[0], &words[1..]));
        assert_eq!(o.status.code(), Some(0), "{words:?}: {}", stderr(&o));
        stderr(&o).contains("] exec sealed copy\n")
    };
    let sandbox = ["--bind", "/", "/"];
    for (wrap, flags, want) in [
        (&[][..], &[][..], true),
        (&[], &["--cap-drop", "sys_ptrace"], false),
        (&[], &["--cap-drop", "ALL"], false),
        (&[], &["--cap-drop", "ALL", "--cap-add", "sys_ptrace"], true),
        (&[], &["--cap-drop", "sys_ptrace", "--cap-add", "ALL"], true),
        (&[], &sandbox, false),
        (
            &[],
            &[&sandbox[..], &["--cap-add", "sys_ptrace"]].concat(),
            true,
        ),
        (&[], &[&sandbox[..], &["--cap-add", "ALL"]].concat(), true),
        (&[], &["-r"], false),
        (NO_PTRACE, &[], false),
        (NO_PTRACE, &["--allow-new-privs"], false),
    ] {
        assert_eq!(copied(wrap, flags), want, "{wrap:?} {flags:?}");
    }
    // The launcher, and --init without -p, never: see sealed.rs.
    let o = output(&mut command(
        As::Root,
        &s.bin,
        &["-v", "--init", "--", "/bin/true"],
    ));
    assert!(!stderr(&o).contains("sealed copy"), "{}", stderr(&o));
}
