//! Mount operations in bubblewrap's vocabulary: bubblewrap itself is the
//! oracle for the mount table they build, and the kernel's answers (EROFS,
//! ENOSPC, the device numbers, mountinfo) check the rest.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

/// Every operation, in an order where later ones build on earlier ones.
const EVERY_OPERATION: &[&str] = &[
    "--tmpfs",
    "/tmp",
    "--dir",
    "/var/empty",
    "--bind",
    "/etc",
    "/etc",
    "--remount-ro",
    "/etc",
    "--ro-bind-try",
    "/nonexistent",
    "/nx",
    "--dev-bind",
    "/dev/null",
    "/tmp/null",
    "--mqueue",
    "/dev/mqueue",
    "--ro-bind",
    "/sys",
    "/sys",
    "--size",
    "65536",
    "--perms",
    "0700",
    "--tmpfs",
    "/run",
];

/// mountinfo as the issue compares it: mount point, file system type,
/// the mount's options (ro/rw, nosuid, nodev, noexec, atime), the file
/// system's (a tmpfs's mode and size among them) and propagation, one line
/// per mount, sorted (the two tools create mounts in a different order, so
/// the ids differ).
fn normalise(mountinfo: &str) -> Vec<String> {
    normalise_mountinfo(mountinfo, "")
}

fn mountinfo_via(who: As, program: &str, args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(["--", "/bin/cat", "/proc/self/mountinfo"]);
    let o = output(&mut command(who, program, &all));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{program} {all:?}: {}",
        stderr(&o)
    );
    normalise(&stdout(&o))
}

#[test]
fn bubblewrap_builds_the_same_mount_table() {
    // A writable bind (nosuid, nodev) with no --remount-ro after it.
    let writable = test_dir();
    let writable = writable.to_str().unwrap();
    for who in [As::Root, As::Nobody] {
        // bubblewrap makes / a slave; the unprivileged runs need their own
        // user, pid (for proc) and ipc (for mqueue) namespaces.
        let (mut bwrap, mut ours) = (vec!["--unshare-pid"], vec!["-p", "--propagation=slave"]);
        if who == As::Nobody {
            bwrap.extend(["--unshare-user", "--unshare-ipc"]);
            ours.extend(["-c", "-i"]);
        }
        for args in [&mut bwrap, &mut ours] {
            args.extend(USR_SANDBOX);
            args.extend(EVERY_OPERATION);
            args.extend(["--bind", writable, "/mnt"]);
        }
        let mut want = mountinfo_via(who, "bwrap", &bwrap);
        let got = mountinfo_via(who, nsinit(), &ours);
        // The differences on purpose, each made explicit here:
        // 1. nsinit's root tmpfs has mode 0755 (bubblewrap leaves tmpfs's
        //    default, 1777, which mountinfo does not show).
        let root = want.iter_mut().find(|l| l.starts_with("/ tmpfs ")).unwrap();
        let mut f: Vec<String> = root.split(' ').map(str::to_string).collect();
        assert!(!f[3].contains("mode="), "{root}");
        f[3] = f[3].replacen("rw", "rw,mode=755", 1);
        *root = f.join(" ");
        // 2. nsinit covers these four under a --proc always, bubblewrap
        //    only where access(2) calls them writable, which it never does
        //    for the /proc/sys directory (a root payload could still write
        //    sysctls). A cover is the proc mount again, read-only.
        let proc = want
            .iter()
            .find(|l| l.starts_with("/proc proc rw,"))
            .unwrap()
            .clone();
        for name in ["sys", "sysrq-trigger", "irq", "bus"] {
            let cover = proc.replacen("/proc proc rw,", &format!("/proc/{name} proc ro,"), 1);
            if std::path::Path::new("/proc").join(name).exists() && !want.contains(&cover) {
                want.push(cover);
            }
        }
        want.sort();
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|l| !b.contains(l)).cloned().collect()
        };
        assert_eq!(
            (only(&got, &want), only(&want, &got)),
            (vec![], vec![]),
            "{who:?}: (only nsinit's, only bubblewrap's)"
        );
        assert_eq!(got, want, "{who:?}");
        // Not a comparison of two empty tables, and the options each
        // operation promises are there.
        for line in [
            "/ tmpfs rw,nosuid,nodev,relatime rw,mode=755",
            "/usr ext4 ro,nosuid,nodev,relatime ",
            "/sys sysfs ro,nosuid,nodev,relatime ",
            "/etc ext4 ro,nosuid,nodev,relatime ",
            "/mnt ext4 rw,nosuid,nodev,relatime ",
            "/tmp/null devtmpfs rw,nosuid,relatime ",
            "/tmp tmpfs rw,nosuid,nodev,relatime rw,mode=755",
            "/run tmpfs rw,nosuid,nodev,relatime rw,size=64k,mode=700",
            "/proc proc rw,nosuid,nodev,noexec,relatime ",
            "/proc/sys proc ro,nosuid,nodev,noexec,relatime ",
            "/dev/pts devpts rw,nosuid,noexec,relatime ",
        ] {
            assert!(
                got.iter().any(|l| l.starts_with(line)),
                "{who:?}: {line} in {got:#?}"
            );
        }
    }
}

#[test]
fn a_fresh_root_holds_only_what_was_asked_and_no_host_mount() {
    let script =
        "ls /; ls /..; ls /proc/1/root; [ -e /proc/self/fd/7 ] && echo fd7 || echo no-fd7; \
        readlink /proc/self/cwd; cat /proc/self/mountinfo";
    for who in [As::Root, As::Nobody] {
        let host_dir = std::fs::File::open("/usr").unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&host_dir);
        let mut args = vec!["-r"];
        args.extend(USR_SANDBOX);
        args.extend(["--", "sh", "-c", script]);
        let mut c = command(who, nsinit(), &args);
        // SAFETY: dup2 is async-signal-safe; fd 7 stays open across exec.
        unsafe {
            c.pre_exec(move || {
                libc::dup2(raw, 7);
                Ok(())
            });
        }
        let o = output(&mut c);
        assert_eq!(o.status.code(), Some(0), "{who:?}: {}", stderr(&o));
        let out = stdout(&o);
        let listing = "bin\ndev\nlib\nlib64\nproc\nusr\n";
        let (head, mountinfo) = out.split_at(out.find("/\n").unwrap() + 2);
        assert_eq!(
            head,
            format!("{listing}{listing}{listing}no-fd7\n/\n"),
            "{who:?}"
        );
        // Exactly the operations' mounts; /proc's read-only covers depend
        // on what the caller may write, and are left out.
        let mut points: Vec<&str> = mountinfo
            .lines()
            .map(|l| l.split(' ').nth(4).unwrap())
            .filter(|p| !p.starts_with("/proc/"))
            .collect();
        points.sort();
        assert_eq!(
            points,
            [
                "/",
                "/dev",
                "/dev/full",
                "/dev/null",
                "/dev/pts",
                "/dev/random",
                "/dev/tty",
                "/dev/urandom",
                "/dev/zero",
                "/proc",
                "/usr",
            ],
            "{who:?}: {mountinfo}"
        );
    }
}

/// Runs `script` with python3 inside the /usr sandbox plus `extra`.
fn python_in_sandbox(who: As, extra: &[&str], script: &str) -> String {
    let mut args = vec!["-r"];
    args.extend(USR_SANDBOX);
    args.extend(extra);
    args.extend(["--", "python3", "-c", script]);
    ok(who, &args)
}

/// Prints "ok" or the errno name of creating each file.
const TRY_WRITE: &str = r#"
import errno, sys
for path in sys.argv[1:]:
    try:
        open(path, "w").close()
        print(path, "ok")
    except OSError as e:
        print(path, errno.errorcode[e.errno])
"#;

#[test]
fn read_only_binds_refuse_writes_on_every_submount() {
    // The host's /dev/shm is a tmpfs mounted inside /dev: a submount.
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(host
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/dev/shm")));
    for who in [As::Root, As::Nobody] {
        let extra = [
            "--ro-bind",
            "/dev",
            "/ro",
            "--bind",
            "/dev",
            "/rw",
            "--tmpfs",
            "/t",
            "--remount-ro",
            "/t",
        ];
        let script = format!(
            "import sys; sys.argv[1:] = ['/ro/shm/nsinit-{0}', '/ro/nsinit-{0}', '/t/x', '/rw/shm/nsinit-{0}']\n{TRY_WRITE}",
            std::process::id()
        );
        let out = python_in_sandbox(who, &extra, &script);
        let id = std::process::id();
        assert_eq!(
            out,
            format!(
                "/ro/shm/nsinit-{id} EROFS\n/ro/nsinit-{id} EROFS\n/t/x EROFS\n/rw/shm/nsinit-{id} ok\n"
            ),
            "{who:?}"
        );
        // The writable bind really wrote to the host's /dev/shm.
        std::fs::remove_file(format!("/dev/shm/nsinit-{id}")).unwrap();
    }
}

#[test]
fn dev_holds_exactly_the_listed_nodes() {
    let script = r#"
import os, stat
print(" ".join(sorted(os.listdir("/dev"))))
for n in ["null", "zero", "full", "random", "urandom", "tty"]:
    st = os.stat("/dev/" + n)
    print(n, stat.S_ISCHR(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev))
print(os.readlink("/dev/stdout"), os.readlink("/dev/ptmx"), os.readlink("/dev/core"))
leader, follower = os.openpty()
print(os.ttyname(follower))
print(open("/dev/zero", "rb").read(3), open("/dev/null").read())
"#;
    for who in [As::Root, As::Nobody] {
        let out = python_in_sandbox(who, &[], script);
        assert_eq!(
            out,
            "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero\n\
             null True 1 3\nzero True 1 5\nfull True 1 7\nrandom True 1 8\n\
             urandom True 1 9\ntty True 5 0\n/proc/self/fd/1 pts/ptmx /proc/kcore\n/dev/pts/0\n\
             b'\\x00\\x00\\x00' \n",
            "{who:?}"
        );
    }
}

#[test]
fn tmpfs_honours_size_and_perms() {
    let script = r#"
import os, errno
print(oct(os.stat("/t").st_mode & 0o7777), oct(os.stat("/d").st_mode & 0o7777), oct(os.stat("/u").st_mode & 0o7777))
for line in open("/proc/self/mountinfo"):
    f = line.split()
    if f[4] == "/t":
        print(",".join(o for o in f[-1].split(",") if o.startswith(("size=", "mode="))))
try:
    with open("/t/big", "wb") as out:
        out.write(b"x" * (2 << 20))
    print("wrote 2 MiB")
except OSError as e:
    print(errno.errorcode[e.errno])
"#;
    for who in [As::Root, As::Nobody] {
        let extra = [
            "--size", "1048576", "--perms", "0700", "--tmpfs", "/t", "--perms", "1777", "--dir",
            "/d", "--tmpfs", "/u",
        ];
        let out = python_in_sandbox(who, &extra, script);
        assert_eq!(
            out, "0o700 0o1777 0o755\nsize=1024k,mode=700\nENOSPC\n",
            "{who:?}"
        );
    }
}

#[test]
fn failing_operations_name_themselves_and_leave_nothing_behind() {
    let before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--bind", "/nonexistent", "/x"],
            "nsinit: mount --bind /nonexistent /x: No such file or directory (ENOENT)\n",
        ),
        (
            &["--tmpfs", "/t", "--remount-ro", "/t/missing"],
            "nsinit: mount --remount-ro /t/missing: No such file or directory (ENOENT)\n",
        ),
        (
            &["--symlink", "a", "/l", "--symlink", "b", "/l"],
            "nsinit: mount --symlink b /l: File exists (EEXIST)\n",
        ),
        (
            &["--ro-bind", "/etc/hostname", "/f", "--tmpfs", "/f/x"],
            "nsinit: mount --tmpfs /f/x: Not a directory (ENOTDIR)\n",
        ),
        (
            &["-R", "/etc/hostname"],
            "nsinit: mount --root /etc/hostname: Not a directory (ENOTDIR)\n",
        ),
    ];
    for (args, want) in cases {
        let mut all = args.to_vec();
        all.push("true");
        let o = run(As::Root, &all);
        assert_eq!(
            (o.status.code(), stderr(&o).as_str()),
            (Some(125), *want),
            "{args:?}"
        );
    }
    // On a file of the test's own: a broken nsinit could change it.
    let file = test_dir().join("mounts-file");
    std::fs::write(&file, "x").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = file.to_str().unwrap();
    // Where a dangling symlink points: a broken nsinit that followed it
    // before the root change would create it here, not on the host's /.
    let dangling = test_dir().join("dangling");
    let dangling = dangling.to_str().unwrap();
    let on_file: [(&[&str], String); 2] = [
        // --dir sets the mode of a directory only, never of a file there.
        (
            &["--bind", file, "/h", "--dir", "/h"],
            "nsinit: mount --dir /h: Not a directory (ENOTDIR)\n".to_string(),
        ),
        // A file bind's mount point is made with O_EXCL: never through a
        // dangling symlink, whose target would be created.
        (
            &["--symlink", dangling, "/l", "--ro-bind", file, "/l"],
            format!("nsinit: mount --ro-bind {file} /l: File exists (EEXIST)\n"),
        ),
    ];
    for (args, want) in on_file {
        let mut all = args.to_vec();
        all.push("true");
        let o = run(As::Root, &all);
        assert_eq!((o.status.code(), stderr(&o)), (Some(125), want), "{args:?}");
    }
    let meta = std::fs::metadata(file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    assert!(
        !std::path::Path::new(dangling).exists(),
        "{dangling} was created"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/self/mountinfo").unwrap(),
        before
    );
    // A -try form skips what is missing and makes no mount point for it.
    let mut skip = vec!["-r", "--ro-bind-try", "/nonexistent", "/x"];
    skip.extend(USR_SANDBOX);
    skip.extend(["ls", "/"]);
    assert_eq!(ok(As::Nobody, &skip), "bin\ndev\nlib\nlib64\nproc\nusr\n");
}

#[test]
fn destinations_stay_inside_even_through_absolute_symlinks() {
    // A root whose /etc is an absolute symlink to a host directory: a
    // mount operation on /etc/x must not land in the host's directory.
    let top = test_dir().join("escape");
    let (root, host) = (top.join("root"), top.join("host"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&host).unwrap();
    std::os::unix::fs::symlink(&host, root.join("etc")).unwrap();
    let o = run(
        As::Root,
        &["-R", root.to_str().unwrap(), "--tmpfs", "/etc/x", "true"],
    );
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "nsinit: mount --tmpfs /etc/x: No such file or directory (ENOENT)\n"
    );
    assert_eq!(
        std::fs::read_dir(&host).unwrap().count(),
        0,
        "nothing made in the host's directory"
    );
    // Nor can `..`: above the new root is only the scratch tmpfs, which
    // goes with the old root (bubblewrap's rule too). The operation is
    // done there, out of everyone's sight, and the root (which has no
    // `true`) is entered.
    let climb = format!("/../..{}/y", host.display());
    let o = run(
        As::Root,
        &["-R", root.to_str().unwrap(), "--dir", &climb, "true"],
    );
    assert_eq!(
        (o.status.code(), stderr(&o).as_str()),
        (
            Some(127),
            "nsinit: exec true: No such file or directory (ENOENT)\n"
        )
    );
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0);
    std::fs::remove_dir_all(&top).unwrap();
}

#[test]
fn default_propagation_keeps_mounts_inside_a_shared_caller() {
    // The caller's / is shared (systemd's default), so a mount made in a
    // new mount namespace that stayed shared would appear in the caller's.
    let dir = test_dir();
    let dir = dir.to_str().unwrap();
    let tmpfs = ["/bin/mount", "-t", "tmpfs", "none", dir];
    // Not over /proc: a leaked proc of a pid namespace that is gone would
    // leave the caller without /proc/self.
    let proc = format!("--mount-proc={dir}");
    let cases: [(As, &[&str], &[&str], &str); 4] = [
        (As::Root, &["-m"], &tmpfs, "tmpfs"),
        (As::Root, &["-p", &proc], &["/bin/true"], "proc"),
        (As::Nobody, &["-r", "-m"], &tmpfs, "tmpfs"),
        (As::Nobody, &["-r", "-p", &proc], &["/bin/true"], "proc"),
    ];
    for (who, flags, payload, fstype) in cases {
        let leaked = |extra: &[&str]| {
            let mut args = flags.to_vec();
            args.extend(extra);
            args.push("--");
            args.extend(payload);
            let run = run_in_shared_namespace(who, nsinit(), &args);
            assert_eq!(run.status, Some(0), "{who:?} {args:?}: {run:?}");
            run.left()
        };
        assert_eq!(leaked(&[]), Vec::<String>::new(), "{who:?} {flags:?}");
        // The control: asked to stay shared, the same mount does show in
        // the caller (as root; a new user namespace is always a slave).
        let shared = leaked(&["--propagation=shared"]);
        if who == As::Root {
            assert!(
                shared.len() == 1
                    && shared[0].split(' ').nth(4) == Some(dir)
                    && shared[0].contains(&format!(" - {fstype} ")),
                "{flags:?}: {shared:?}"
            );
        } else {
            assert_eq!(shared, Vec::<String>::new(), "{who:?} {flags:?}");
        }
    }
}

#[test]
fn a_file_bound_where_nothing_is_gets_a_file_to_sit_on() {
    // The mount point of a file bind is a new empty file (O_CREAT|O_EXCL,
    // never through a symlink), in a directory made for it.
    let host = std::fs::read_to_string("/etc/hostname").unwrap();
    for who in [As::Root, As::Nobody] {
        let mut args: Vec<&str> = USR_SANDBOX.to_vec();
        if who == As::Nobody {
            args.insert(0, "-r");
        }
        args.extend(["--ro-bind", "/etc/hostname", "/etc/hostname"]);
        args.extend(["/bin/busybox", "cat", "/etc/hostname"]);
        let o = run(who, &args);
        assert_eq!(
            (o.status.code(), stdout(&o), stderr(&o)),
            (Some(0), host.clone(), String::new()),
            "{who:?}"
        );
    }
}

/// openat2 answers EAGAIN when a lookup that crossed ".." raced a rename
/// or a mount anywhere on the system; the kernel asks for a retry. nsinit
/// retries a hundred times, then reports it (a lookup that never settles
/// must not hang it). proc_eagain fails the first K openat2 calls.
#[test]
fn an_eagain_from_openat2_is_retried_a_hundred_times() {
    let eagain = helper("proc_eagain");
    for (k, want) in [
        (
            "1",
            (
                Some(127),
                "nsinit: exec /bin/true: No such file or directory (ENOENT)\n",
            ),
        ),
        (
            "100",
            (
                Some(127),
                "nsinit: exec /bin/true: No such file or directory (ENOENT)\n",
            ),
        ),
        (
            "101",
            (
                Some(125),
                "nsinit: mount --tmpfs /t: Resource temporarily unavailable (EAGAIN)\n",
            ),
        ),
    ] {
        let args = [k, nsinit(), "-r", "--tmpfs", "/t", "/bin/true"];
        let o = output(&mut command(As::Root, &eagain, &args));
        assert_eq!((o.status.code(), stderr(&o).as_str()), want, "{k} EAGAIN");
    }
}

/// Root creating a file on a filesystem whose user namespace does not map
/// uid 0 (a tmpfs mounted inside one) gets EOVERFLOW from the kernel, and
/// nsinit's hint says why. The tmpfs is held by a payload of nsinit's own,
/// whose root is uid 100000 outside; the test enters its mount namespace.
#[test]
fn eoverflow_names_the_unmapped_id() {
    struct Holder(std::process::Child, i32);
    impl Drop for Holder {
        fn drop(&mut self) {
            // SAFETY: kill(2) on the payload this test started.
            unsafe { libc::kill(self.1, libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }
    let dir = test_dir().join("ovf");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.to_str().unwrap();
    let script = format!("mount -t tmpfs t {dir} && echo $$ && exec sleep 60");
    let maps = [
        "--map-users=0:100000:65536",
        "--map-groups=0:100000:65536",
        "-m",
    ];
    let mut args = maps.to_vec();
    args.extend(["--", "/bin/sh", "-c", &script]);
    let mut c = command(As::Root, nsinit(), &args);
    let mut child = c.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    let out = child.stdout.take().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
    let pid: i32 = line.trim().parse().unwrap();
    let _holder = Holder(child, pid);
    let target = pid.to_string();
    let nsenter = [
        "-t",
        &target,
        "-m",
        "--",
        nsinit(),
        "-R",
        dir,
        "--dir",
        "/sub",
        "/bin/true",
    ];
    let o = output(&mut command(As::Root, "nsenter", &nsenter));
    assert_eq!(
        (o.status.code(), stderr(&o).as_str()),
        (
            Some(125),
            "nsinit: mount --dir /sub: Value too large for defined data type (EOVERFLOW); \
             an id of nsinit's is not mapped in the user namespace\n"
        )
    );
}
