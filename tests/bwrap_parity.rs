//! bubblewrap (0.8, /usr/bin/bwrap) as the oracle for what the mount
//! operations make: the same operations, run by both tools as root and as
//! uid 65534, must leave the same modes, links, mounts and PWD. Each
//! difference kept on purpose is asserted as such, with why. The cases
//! come from bubblewrap's own tests/test-run.sh where it has them.

mod common;

use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A root with the host's /usr and a /proc, and nothing of the host's
/// elsewhere: an operation here never creates anything on the host.
/// USR_SANDBOX without its `--dev /dev`, which the tests build themselves.
const SANDBOX: &[&str] = USR_SANDBOX.split_at(USR_SANDBOX.len() - 2).0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tool {
    Bwrap,
    Nsinit,
}

const TOOLS: [Tool; 2] = [Tool::Bwrap, Tool::Nsinit];
const WHO: [As; 2] = [As::Root, As::Nobody];

/// `tool` with `ops` and the payload, as `who`, in a new pid namespace,
/// from `cwd` (and PWD naming it), under umask 077: what the operations
/// make must not depend on the caller's umask. As uid 65534, bubblewrap
/// makes its own user namespace (the same uid inside), nsinit too (-c).
fn run_from(tool: Tool, who: As, cwd: &str, ops: &[&str], payload: &[&str]) -> Output {
    let mut args = match (tool, who) {
        (Tool::Bwrap, As::Root) => vec!["--unshare-pid"],
        (Tool::Bwrap, As::Nobody) => vec!["--unshare-pid", "--unshare-user"],
        (Tool::Nsinit, As::Root) => vec!["-p"],
        (Tool::Nsinit, As::Nobody) => vec!["-p", "-c"],
    };
    args.extend(ops);
    args.push("--");
    args.extend(payload);
    let program = match tool {
        Tool::Bwrap => "bwrap",
        Tool::Nsinit => nsinit(),
    };
    let mut c = command(who, program, &args);
    c.current_dir(cwd).env("PWD", cwd);
    // SAFETY: umask is async-signal-safe and cannot fail.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
    output(&mut c)
}

fn run_tool(tool: Tool, who: As, ops: &[&str], payload: &[&str]) -> Output {
    run_from(tool, who, "/", ops, payload)
}

/// Both tools in SANDBOX with `ops`; each must succeed with nothing on
/// stderr. Returns (bubblewrap's stdout, nsinit's).
fn both_ok(who: As, ops: &[&str], payload: &[&str]) -> (String, String) {
    let mut all = SANDBOX.to_vec();
    all.extend(ops);
    let [theirs, ours] = TOOLS.map(|tool| {
        let o = run_tool(tool, who, &all, payload);
        assert_eq!(
            (o.status.code(), stderr(&o).as_str()),
            (Some(0), ""),
            "{tool:?} as {who:?}: {all:?} {payload:?}"
        );
        stdout(&o)
    });
    (theirs, ours)
}

/// A directory of the test's own, empty, owned by `who`.
fn own_dir(name: &str, who: As) -> PathBuf {
    let dir = test_dir().join(format!("parity-{name}-{who:?}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    if who == As::Nobody {
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    dir
}

/// A file of the test's own, readable by everyone.
fn own_file(name: &str, text: &str) -> String {
    let path = test_dir().join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path.to_str().unwrap().to_string()
}

// --- modes: --perms, --dir, --tmpfs, mount points -----------------------------

/// bubblewrap's table ("Directories created as parents have expected
/// permissions"): the mode of the parents made for `--perms P`.
const PARENT_OF: [(&str, u32); 13] = [
    ("", 0o755),
    ("1777", 0o755),
    ("0755", 0o755),
    ("0644", 0o755),
    ("0750", 0o750),
    ("0710", 0o750),
    ("0720", 0o750),
    ("0640", 0o750),
    ("0700", 0o700),
    ("0600", 0o700),
    ("0705", 0o705),
    ("0604", 0o705),
    ("0000", 0o700),
];

#[test]
fn parents_made_for_dir_and_tmpfs_follow_perms() {
    let mut ops: Vec<String> = vec!["--tmpfs".into(), "/t".into()];
    let mut paths = Vec::new();
    let mut want = String::new();
    for (perms, parent) in PARENT_OF {
        for kind in ["dir", "tmpfs"] {
            if !perms.is_empty() {
                ops.extend(["--perms".into(), perms.into()]);
            }
            let top = format!("/t/{kind}-{perms}");
            ops.extend([format!("--{kind}"), format!("{top}/a/b")]);
            // mkdir(2) keeps the sticky bit but not setuid or setgid; a
            // tmpfs takes the whole mode; without --perms both are 0755.
            let mode = u32::from_str_radix(perms, 8).unwrap_or(0o755);
            let made = if kind == "dir" { mode & 0o1777 } else { mode };
            for (path, mode) in [(top.clone(), parent), (format!("{top}/a"), parent)] {
                want += &format!("{mode:o} {path}\n");
                paths.push(path);
            }
            want += &format!("{made:o} {top}/a/b\n");
            paths.push(format!("{top}/a/b"));
        }
    }
    let ops: Vec<&str> = ops.iter().map(String::as_str).collect();
    let mut payload = vec!["stat", "-c", "%a %n"];
    payload.extend(paths.iter().map(String::as_str));
    for who in WHO {
        let (theirs, ours) = both_ok(who, &ops, &payload);
        assert_eq!(ours, theirs, "{who:?}");
        assert_eq!(ours, want, "{who:?}");
    }
}

#[test]
fn dir_leaves_an_existing_directory_as_it_is() {
    // bubblewrap's "Directories created explicitly have expected
    // permissions": --dir on a directory that is there changes nothing,
    // whatever --perms say (it may be the caller's own, bound in). A new
    // one has its --perms as mkdir(2) takes them: the sticky bit, not
    // setuid or setgid. A --tmpfs without --perms is 0755.
    let ops = [
        "--tmpfs",
        "/t",
        "--perms",
        "0710",
        "--dir",
        "/t/e",
        "--dir",
        "/t/e",
        "--perms",
        "0754",
        "--dir",
        "/t/e",
        "--perms",
        "1741",
        "--dir",
        "/t/sticky",
        "--perms",
        "6755",
        "--dir",
        "/t/setid",
        "--perms",
        "0700",
        "--dir",
        "/t/sticky",
    ];
    let payload = ["stat", "-c", "%a %n", "/t", "/t/e", "/t/sticky", "/t/setid"];
    for who in WHO {
        let (theirs, ours) = both_ok(who, &ops, &payload);
        assert_eq!(ours, theirs, "{who:?}");
        assert_eq!(
            ours, "755 /t\n710 /t/e\n1741 /t/sticky\n755 /t/setid\n",
            "{who:?}"
        );
    }
}

/// The mode of `top/rel` and of each directory between, top down.
fn modes(top: &Path, rel: &str) -> String {
    let mut out = Vec::new();
    let mut p = top.join(rel);
    while p != top {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let kind = if m.is_dir() { "dir" } else { "file" };
        out.push(format!("{kind} {:o}", m.mode() & 0o7777));
        p.pop();
    }
    out.reverse();
    out.join(", ")
}

#[test]
fn mount_points_made_for_binds_are_0755_directories_and_0444_files() {
    // bubblewrap's "Files and directories created as mount points have
    // expected permissions": made in a directory of the test's, bound in
    // writable, where they stay to be looked at afterwards.
    let file = own_file("parity-source", "x");
    for who in WHO {
        let [theirs, ours] = TOOLS.map(|tool| {
            let dir = own_dir(&format!("{tool:?}"), who);
            let mut ops = SANDBOX.to_vec();
            ops.extend(["--bind", dir.to_str().unwrap(), "/w"]);
            ops.extend([
                "--ro-bind",
                &file,
                "/w/f",
                "--ro-bind",
                "/usr/share",
                "/w/d",
            ]);
            ops.extend(["--ro-bind", &file, "/w/p/q/f"]);
            let o = run_tool(tool, who, &ops, &["true"]);
            assert_eq!(o.status.code(), Some(0), "{tool:?} {who:?}: {}", stderr(&o));
            let made = ["f", "d", "p/q/f"].map(|rel| modes(&dir, rel));
            std::fs::remove_dir_all(&dir).unwrap();
            made
        });
        assert_eq!(ours[..2], theirs[..2], "{who:?}");
        assert_eq!(ours[..2], ["file 444", "dir 755"], "{who:?}");
        // On purpose: bubblewrap makes the parents of an operation that
        // takes no --perms 0700 (its unset perms are 0, where its rule
        // tests for -1), which shuts out every other uid the payload may
        // switch to; nsinit makes them 0755, as bubblewrap's manual says.
        assert_eq!(theirs[2], "dir 700, dir 700, file 444", "{who:?}");
        assert_eq!(ours[2], "dir 755, dir 755, file 444", "{who:?}");
    }
}

// --- --size and --perms on the command line -----------------------------------

#[test]
fn tmpfs_sizes_and_modifiers_are_refused_as_bubblewrap_refuses_them() {
    // bubblewrap's "bogus tmpfs size not allowed" and "--perms and --size
    // only allowed once": both refuse before anything runs.
    let size = "expected a size in bytes, 1 to 2^63-1";
    let twice = "given twice for one operation";
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--size", "0"], "--size", size),
        (&["--size", "123bogus"], "--size", size),
        (&["--size", ""], "--size", size),
        (&["--size", "-12345678"], "--size", size),
        (&["--size", " -12345678"], "--size", size),
        // 2^64, 2^63 + 1 and 2^63: bubblewrap's limit is 2^63 - 1.
        (&["--size", "18446744073709551616"], "--size", size),
        (&["--size", "9223372036854775809"], "--size", size),
        (&["--size", "9223372036854775808"], "--size", size),
        (&["--perms", "0640", "--perms", "0640"], "--perms", twice),
        (&["--size", "1048576", "--size", "1048576"], "--size", twice),
        (
            &["--perms", "0640", "--size", "1048576", "--perms", "0640"],
            "--perms",
            twice,
        ),
    ];
    for who in WHO {
        for (modifiers, arg, reason) in cases {
            let mut ops = modifiers.to_vec();
            ops.extend(["--tmpfs", "/tmp/a"]);
            let theirs = run_tool(Tool::Bwrap, who, &ops, &["true"]);
            assert_eq!(theirs.status.code(), Some(1), "bwrap {ops:?}");
            assert!(
                stderr(&theirs).starts_with("bwrap: "),
                "{}",
                stderr(&theirs)
            );
            let ours = run_tool(Tool::Nsinit, who, &ops, &["true"]);
            assert_eq!(
                (ours.status.code(), stderr(&ours)),
                (
                    Some(125),
                    format!("nsinit: option {arg}: {reason}; see nsinit --help\n")
                ),
                "{who:?} {ops:?}"
            );
        }
        // The largest size both take makes the same tmpfs.
        let ops = [
            "--size",
            "9223372036854775807",
            "--perms",
            "0700",
            "--tmpfs",
            "/t",
        ];
        let payload = ["grep", " /t ", "/proc/self/mountinfo"];
        let (theirs, ours) = both_ok(who, &ops, &payload);
        // The file system's options: the last field.
        let options = |line: &str| line.trim_end().rsplit(' ').next().unwrap().to_string();
        assert_eq!(options(&ours), options(&theirs), "{who:?}");
        // 2^63 - 1 bytes, in whole KiB (then uid= and gid= as uid 65534).
        assert!(
            options(&ours).starts_with("rw,size=9007199254740992k,mode=700"),
            "{who:?}: {ours}"
        );
    }
}

// --- destinations that are symbolic links -------------------------------------

#[test]
fn a_destination_that_is_a_symlink_is_followed_inside_the_new_root() {
    // bubblewrap's "can bind a destination over a symlink", and the same
    // for a file bind, a tmpfs, a --dir below the link and a --remount-ro
    // through it.
    let src = own_dir("symlink-src", As::Root);
    std::fs::write(src.join("marker"), "from the host\n").unwrap();
    let src = src.to_str().unwrap();
    let second = own_file("parity-second", "second\n");
    let ops = [
        "--dir",
        "/tmp/dir",
        "--symlink",
        "dir",
        "/tmp/link",
        "--bind",
        src,
        "/tmp/link",
        "--ro-bind",
        "/etc/hostname",
        "/tmp/f",
        "--symlink",
        "f",
        "/tmp/lf",
        "--ro-bind",
        &second,
        "/tmp/lf",
        "--dir",
        "/tmp/t",
        "--symlink",
        "../tmp/t",
        "/tmp/lt",
        "--tmpfs",
        "/tmp/lt",
        "--dir",
        "/tmp/lt/sub",
        "--remount-ro",
        "/tmp/lt",
    ];
    let script = "cat /tmp/dir/marker /tmp/f; readlink /tmp/link /tmp/lf /tmp/lt; \
        stat -c '%a %n' /tmp/t/sub; touch /tmp/t/x 2>&- || echo read-only; \
        while read -r _ _ _ root point opts _; do \
          case $point in /tmp/*) echo \"$point $root $opts\";; esac; \
        done < /proc/self/mountinfo | sort";
    for who in WHO {
        let (theirs, ours) = both_ok(who, &ops, &["sh", "-c", script]);
        assert_eq!(ours, theirs, "{who:?}");
        assert_eq!(
            ours,
            format!(
                "from the host\nsecond\ndir\nf\n../tmp/t\n755 /tmp/t/sub\nread-only\n\
                 /tmp/dir {src} rw,nosuid,nodev,relatime\n\
                 /tmp/f /etc/hostname ro,nosuid,nodev,relatime\n\
                 /tmp/f {second} ro,nosuid,nodev,relatime\n\
                 /tmp/t / ro,nosuid,nodev,relatime\n"
            ),
            "{who:?}"
        );
    }
}

#[test]
fn a_destination_symlink_never_leads_out_of_the_new_root() {
    // Kept from the security fix: an absolute or `..` link is resolved
    // inside the new root, as in a chroot, and never on the host, also
    // where it names a host directory that exists. bubblewrap resolves an
    // absolute link against the tmpfs its new root sits on, where the
    // target is missing, and fails: not a behaviour to compare.
    let src = own_dir("escape-src", As::Root);
    std::fs::write(src.join("marker"), "src\n").unwrap();
    let src = src.to_str().unwrap();
    for who in WHO {
        let victim = own_dir("victim", who);
        let v = victim.to_str().unwrap();
        let climb = format!("{}{v}", "/..".repeat(8));
        let mut ops = SANDBOX.to_vec();
        let first = ops.len();
        ops.extend([
            "--dir",
            "/in",
            "--symlink",
            "/in",
            "/abs",
            "--bind",
            src,
            "/abs",
        ]);
        ops.extend([
            "--dir",
            "/in2",
            "--symlink",
            "../../../in2",
            "/up",
            "--tmpfs",
            "/up",
        ]);
        ops.extend(["--dir", v, "--symlink", v, "/host", "--bind", src, "/host"]);
        ops.extend(["--symlink", &climb, "/climb", "--tmpfs", "/climb"]);
        let script = "cat /in/marker; while read -r _ _ _ _ point _; do \
            case $point in /proc*) ;; *) echo $point;; esac; done < /proc/self/mountinfo | sort";
        let o = run_tool(Tool::Nsinit, who, &ops, &["sh", "-c", script]);
        assert_eq!(o.status.code(), Some(0), "{who:?}: {}", stderr(&o));
        // Every mount inside: the host's directory holds none (a mount
        // there would be outside the new root, not in this table).
        let mut points = ["/", "/usr", "/in", "/in2", v, v];
        points.sort();
        assert_eq!(
            stdout(&o),
            format!("src\n{}\n", points.join("\n")),
            "{who:?}"
        );
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0, "{who:?}");
        let theirs = run_tool(Tool::Bwrap, who, &ops[..first + 8], &["true"]);
        assert_eq!(theirs.status.code(), Some(1), "bwrap {who:?}");
    }
}

#[test]
fn a_symlink_onto_the_same_link_is_accepted_as_by_later_bubblewraps() {
    // On purpose: bubblewrap 0.8 refuses a --symlink onto the same link
    // (EEXIST); 0.9 and later accept it, as nsinit does. A different
    // target is refused by all.
    for who in WHO {
        let same = ["--symlink", "x", "/l", "--symlink", "x", "/l"];
        let mut ops = SANDBOX.to_vec();
        ops.extend(same);
        let theirs = run_tool(Tool::Bwrap, who, &ops, &["true"]);
        assert_eq!(theirs.status.code(), Some(1), "{who:?}");
        assert_eq!(ok_in(who, &ops, &["readlink", "/l"]), "x\n", "{who:?}");
        ops.extend(["--symlink", "y", "/l"]);
        let ours = run_tool(Tool::Nsinit, who, &ops, &["true"]);
        assert_eq!(
            (ours.status.code(), stderr(&ours).as_str()),
            (
                Some(125),
                "nsinit: mount --symlink y /l: File exists (EEXIST)\n"
            ),
            "{who:?}"
        );
    }
}

/// nsinit with `ops` (and -p, -c as run_tool adds them), which must
/// succeed; its stdout.
fn ok_in(who: As, ops: &[&str], payload: &[&str]) -> String {
    let o = run_tool(Tool::Nsinit, who, ops, payload);
    assert_eq!(o.status.code(), Some(0), "{who:?} {ops:?}: {}", stderr(&o));
    stdout(&o)
}

// --- --dev ----------------------------------------------------------------------

#[test]
fn dev_holds_the_same_nodes_and_links_as_bubblewraps() {
    // bubblewrap's "all expected devices were created", core among them.
    let script = "ls -A /dev; \
        readlink /dev/core /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx";
    for who in WHO {
        let (theirs, ours) = both_ok(who, &["--dev", "/dev"], &["sh", "-c", script]);
        assert_eq!(ours, theirs, "{who:?}");
        assert_eq!(
            ours,
            "core\nfd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n\
             /proc/kcore\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n",
            "{who:?}"
        );
    }
}

// --- PWD ------------------------------------------------------------------------

#[test]
fn pwd_names_the_working_directory_as_under_bubblewrap() {
    // bubblewrap's "environment manipulation": --clearenv leaves PWD, and
    // PWD names the directory the payload starts in, whatever --setenv,
    // --unsetenv or --clearenv did before. The caller's PWD (`/`, as it
    // runs from there) names no directory of the new root's.
    let cases: &[(&[&str], &str)] = &[
        (&["--clearenv"], "PWD=/\n"),
        (&["--clearenv", "--chdir", "/usr"], "PWD=/usr\n"),
        (
            &["--chdir", "/usr/share", "--setenv", "A", "1"],
            "A=1\nPWD=/usr/share\n",
        ),
        (
            &["--setenv", "PWD", "/x", "--clearenv", "--chdir", "/usr"],
            "PWD=/usr\n",
        ),
        (
            &["--clearenv", "--setenv", "PWD", "/x", "--chdir", "/usr"],
            "PWD=/usr\n",
        ),
        (
            &[
                "--unsetenv",
                "PWD",
                "--chdir",
                "/usr",
                "--clearenv",
                "--setenv",
                "B",
                "2",
            ],
            "B=2\nPWD=/usr\n",
        ),
    ];
    // env itself: a shell would set PWD of its own.
    let only = |env: String| {
        let mut lines: Vec<&str> = env
            .lines()
            .filter(|l| ["PWD=", "A=", "B="].iter().any(|k| l.starts_with(k)))
            .collect();
        lines.sort();
        lines.iter().map(|l| format!("{l}\n")).collect::<String>()
    };
    for who in WHO {
        for (ops, want) in cases {
            let (theirs, ours) = both_ok(who, ops, &["/usr/bin/env"]);
            let (theirs, ours) = (only(theirs), only(ours));
            assert_eq!(ours, theirs, "{who:?} {ops:?}");
            assert_eq!(ours, *want, "{who:?} {ops:?}");
        }
    }
}

#[test]
fn clearenv_keeps_the_callers_pwd_where_the_working_directory_stays() {
    // Without a new root or --chdir, nsinit's payload starts where the
    // caller is, and --clearenv keeps the PWD that names it. bubblewrap
    // always makes a new root: `--bind / /` keeps the caller's directory.
    for who in WHO {
        let [theirs, ours] = TOOLS.map(|tool| {
            let ops: &[&str] = match tool {
                Tool::Bwrap => &["--bind", "/", "/", "--clearenv"],
                Tool::Nsinit => &["--clearenv"],
            };
            let o = run_from(tool, who, "/usr/share", ops, &["/usr/bin/env"]);
            assert_eq!(o.status.code(), Some(0), "{tool:?} {who:?}: {}", stderr(&o));
            stdout(&o)
        });
        assert_eq!(ours, theirs, "{who:?}");
        assert_eq!(ours, "PWD=/usr/share\n", "{who:?}");
    }
}

#[test]
fn where_nsinit_differs_on_purpose() {
    let file = own_file("parity-dangling-source", "x\n");
    for who in WHO {
        // A file bind onto a dangling link: bubblewrap creates the link's
        // target and binds onto it; nsinit makes a file mount point only
        // where nothing is (O_EXCL), never through a link.
        let mut ops = SANDBOX.to_vec();
        ops.extend([
            "--dir",
            "/d",
            "--symlink",
            "d/target",
            "/l",
            "--ro-bind",
            &file,
            "/l",
        ]);
        let theirs = run_tool(Tool::Bwrap, who, &ops, &["cat", "/d/target"]);
        assert_eq!(
            (theirs.status.code(), stdout(&theirs)),
            (Some(0), "x\n".to_string()),
            "{who:?}"
        );
        let ours = run_tool(Tool::Nsinit, who, &ops, &["true"]);
        assert_eq!(
            (ours.status.code(), stderr(&ours)),
            (
                Some(125),
                format!("nsinit: mount --ro-bind {file} /l: File exists (EEXIST)\n")
            ),
            "{who:?}"
        );
        // Without --chdir, bubblewrap starts in the caller's directory
        // where the new root has it (here /usr); nsinit in `/`, as after
        // any root change, with PWD saying so.
        let [theirs, ours] = TOOLS.map(|tool| {
            let o = run_from(tool, who, "/usr", SANDBOX, &["/usr/bin/env"]);
            assert_eq!(o.status.code(), Some(0), "{tool:?} {who:?}: {}", stderr(&o));
            let env = stdout(&o);
            env.lines()
                .find(|l| l.starts_with("PWD="))
                .unwrap_or("")
                .to_string()
        });
        assert_eq!(
            (theirs.as_str(), ours.as_str()),
            ("PWD=/usr", "PWD=/"),
            "{who:?}"
        );
    }
}
