//! The launcher on the real kernel: the seed's three steps, maps, exit
//! statuses, bad input, signals, fds, clocks.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::Stdio;

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// --- The seed's three steps -------------------------------------------------

#[test]
fn seed_step_1_uts_alone_changes_only_uts() {
    let s = probe(As::Root, &["-u"]);
    assert_eq!(new_namespaces(&s), sorted(&["uts"]), "{s:?}");
    assert_eq!(
        s["uid_map"], "0 0 4294967295",
        "the caller's own user namespace"
    );
}

#[test]
fn seed_step_2_six_namespaces_without_maps_show_overflow_ids() {
    let (ou, og) = (overflow_id("uid"), overflow_id("gid"));
    for who in [As::Root, As::Nobody] {
        let s = probe(who, &["-U", "-p", "-m", "-u", "-i", "-n"]);
        let six = sorted(&[
            "user",
            "pid",
            "pid_for_children",
            "mnt",
            "uts",
            "ipc",
            "net",
        ]);
        assert_eq!(new_namespaces(&s), six, "{who:?}");
        assert_eq!(s["uid_map"], "", "{who:?}");
        assert!(
            s["id"].starts_with(&format!("uid={ou}(")),
            "{who:?}: {}",
            s["id"]
        );
        assert!(
            s["id"].contains(&format!(" gid={og}(")),
            "{who:?}: {}",
            s["id"]
        );
        assert_eq!(s["pid"], "1");
    }
}

#[test]
fn seed_step_3_map_root_gives_uid_0_mapped_to_the_caller() {
    for (who, caller) in [(As::Root, 0), (As::Nobody, NOBODY)] {
        let s = probe(who, &["-U", "-p", "-m", "-u", "-i", "-n", "-r"]);
        assert_eq!(s["uid_map"], format!("0 {caller} 1"), "{who:?}");
        assert_eq!(s["gid_map"], format!("0 {caller} 1"), "{who:?}");
        assert_eq!(s["setgroups"], "deny");
        assert!(
            s["id"].starts_with("uid=0(root) gid=0(root)"),
            "{}",
            s["id"]
        );
    }
}

#[test]
fn cgroup_and_time_stay_unless_asked() {
    let s = probe(As::Nobody, &["-r", "-p", "-m", "-u", "-i", "-n"]);
    for ns in ["cgroup", "time", "time_for_children"] {
        assert_eq!(s[&format!("ns {ns}")], "same", "{ns}");
    }
    let s = probe(As::Nobody, &["-r", "-C", "-T"]);
    assert_eq!(
        new_namespaces(&s),
        sorted(&["user", "cgroup", "time", "time_for_children"])
    );
}

// --- Maps ------------------------------------------------------------------

#[test]
fn root_writes_ranges_exactly() {
    let s = probe(
        As::Root,
        &["--map-users=0:100000:65536", "--map-groups=0:100000:65536"],
    );
    assert_eq!(s["uid_map"], "0 100000 65536");
    assert_eq!(s["gid_map"], "0 100000 65536");
    assert_eq!(s["setgroups"], "allow");
    // Several ranges, util-linux 2.38's comma order, and the caller's own id.
    let s = probe(
        As::Root,
        &[
            "--map-users=1:100000:1000",
            "--map-users=300000,2000,10",
            "--map-user=0",
            "--map-groups=0:100000:1",
        ],
    );
    assert_eq!(s["uid_map"], "0 0 1 1 100000 1000 2000 300000 10");
    assert_eq!(s["gid_map"], "0 100000 1");
}

#[test]
fn unprivileged_ranges_fail_with_the_cause() {
    let o = run(
        As::Nobody,
        &[
            "--map-users=0:100000:65536",
            "--map-groups=0:100000:65536",
            "true",
        ],
    );
    assert_eq!(o.status.code(), Some(125));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("nsinit: write /proc/"), "{err}");
    assert!(
        err.contains("/uid_map: Operation not permitted (EPERM); without CAP_SETUID"),
        "{err}"
    );
    assert!(err.contains("only your own id can be mapped"), "{err}");
}

#[test]
fn unprivileged_gid_map_with_setgroups_allow_names_the_fix() {
    let o = run(
        As::Nobody,
        &["-U", "--setgroups=allow", "--map-groups=0:65534:1", "true"],
    );
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("/gid_map: Operation not permitted (EPERM); an unprivileged gid map needs --setgroups=deny"), "{}", stderr(&o));
}

/// `/proc/<pid>/` as `/proc/PID/`, so that an error line can be compared whole.
fn without_pids(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/proc/") {
        out.push_str(&rest[..i + 6]);
        rest = &rest[i + 6..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("PID");
            rest = &rest[digits..];
        }
    }
    out + rest
}

/// A failure's hint names the cause only where nsinit knows it; elsewhere
/// the kernel's reason stands alone, rather than a wrong lead.
#[test]
fn hints_only_where_the_cause_is_known() {
    let n = nsinit();
    let nobody = format!("setpriv --reuid=65534 --regid=65534 --clear-groups {n}");
    let in_userns = |sysctl: &str, flags: &str| {
        format!("echo 0 > /proc/sys/user/{sysctl} && exec {n} {flags} /bin/true")
    };
    let covered_proc =
        |flags: &str| format!("mount -t tmpfs none /proc/sys && exec {nobody} {flags} /bin/true");
    let seccomp = helper("proc_seccomp_exec");
    let s = seccomp.as_str();
    let (userns_uts, userns_user) = (
        in_userns("max_uts_namespaces", "-u"),
        in_userns("max_user_namespaces", "-U"),
    );
    let (covered_op, covered_mount_proc) = (
        covered_proc("-r --tmpfs /t --proc /p"),
        covered_proc("-r -p --mount-proc"),
    );
    let cases: [(&str, As, &[&str], &str); 11] = [
        (
            "a user namespace refused (clone3 absent, clone EPERM, as a seccomp profile may)",
            As::Root,
            &[s, "435:38", "56:1", n, "-U", "/bin/true"],
            "nsinit: clone new namespaces: Operation not permitted (EPERM); unprivileged user namespaces are refused: see sysctl kernel.unprivileged_userns_clone and kernel.apparmor_restrict_unprivileged_userns\n",
        ),
        (
            "a time namespace without privilege",
            As::Nobody,
            &[n, "-T", "/bin/true"],
            "nsinit: unshare CLONE_NEWTIME: Operation not permitted (EPERM); a time namespace needs CAP_SYS_ADMIN: add -U/-r or run as root\n",
        ),
        (
            "a bind's EPERM in a user namespace: no proc hint",
            As::Nobody,
            &[s, "442:1", n, "-r", "--ro-bind", "/usr", "/usr", "/bin/true"],
            "nsinit: mount --ro-bind /usr /usr: Operation not permitted (EPERM)\n",
        ),
        (
            "a kernel before 5.12, without mount_setattr (442)",
            As::Root,
            &[s, "442:38", n, "--ro-bind", "/usr", "/usr", "/bin/true"],
            "nsinit: mount --ro-bind /usr /usr: Function not implemented (ENOSYS); needs Linux 5.12+ (mount_setattr)\n",
        ),
        (
            "a new uts namespace over the limit: no user namespace hint",
            As::Root,
            &["unshare", "-U", "-r", "sh", "-c", &userns_uts],
            "nsinit: clone new namespaces: No space left on device (ENOSPC)\n",
        ),
        (
            "a new user namespace over the limit",
            As::Root,
            &["unshare", "-U", "-r", "sh", "-c", &userns_user],
            "nsinit: clone new namespaces: No space left on device (ENOSPC); user namespaces are disabled or used up: see sysctl user.max_user_namespaces\n",
        ),
        (
            "root's own id refused (mapping uid 0 needs CAP_SETFCAP): no CAP_SETUID hint",
            As::Root,
            &["setpriv", "--bounding-set=-setfcap", "--", n, "-r", "/bin/true"],
            "nsinit: write /proc/PID/uid_map: Operation not permitted (EPERM)\n",
        ),
        (
            "a gid range refused with the own uid mapped: the range is the cause",
            As::Nobody,
            &[n, "--map-user=0", "--map-groups=0:100000:65536", "/bin/true"],
            "nsinit: write /proc/PID/gid_map: Operation not permitted (EPERM); without CAP_SETUID/CAP_SETGID only your own id can be mapped: run as root or use -r/-c/--map-user\n",
        ),
        (
            "a proc mount that is not EPERM: no proc hint",
            As::Nobody,
            &[n, "-r", "-p", "--mount-proc=/nonexistent", "/bin/true"],
            "nsinit: mount proc /nonexistent: No such file or directory (ENOENT)\n",
        ),
        (
            "--proc where the caller's /proc has a covered submount",
            As::Root,
            &["unshare", "-m", "sh", "-c", &covered_op],
            "nsinit: mount --proc /p: Operation not permitted (EPERM); mount too revealing: a proc or sysfs here has covered submounts\n",
        ),
        (
            "--mount-proc there",
            As::Root,
            &["unshare", "-m", "sh", "-c", &covered_mount_proc],
            "nsinit: mount proc /proc: Operation not permitted (EPERM); mount too revealing: a proc or sysfs here has covered submounts\n",
        ),
    ];
    for (what, who, argv, want) in cases {
        let o = output(&mut command(who, argv[0], &argv[1..]));
        assert_eq!(
            (o.status.code(), without_pids(&stderr(&o))),
            (Some(125), want.to_string()),
            "{what}"
        );
    }
}

// --- Exit statuses ----------------------------------------------------------

#[test]
fn payload_exit_statuses_pass_through() {
    for code in [0, 1, 42, 255] {
        let o = run(As::Root, &["-p", "/bin/sh", "-c", &format!("exit {code}")]);
        assert_eq!(o.status.code(), Some(code));
        assert_eq!(stderr(&o), "");
    }
}

#[test]
fn death_by_signal_gives_128_plus_n() {
    for (sig, n) in [("TERM", 15), ("KILL", 9), ("SEGV", 11)] {
        // Not under -p: PID 1 of a pid namespace ignores signals it has no
        // handler for, even from itself.
        let o = run(
            As::Root,
            &["-u", "/bin/sh", "-c", &format!("kill -{sig} $$")],
        );
        assert_eq!(o.status.code(), Some(128 + n), "{sig}");
    }
    let o = run(
        As::Nobody,
        &[
            "-r",
            "-p",
            "--",
            "/bin/sh",
            "-c",
            "sleep 5 & kill -KILL $!; wait $!; exit $?",
        ],
    );
    assert_eq!(o.status.code(), Some(137));
}

#[test]
fn missing_and_unrunnable_programs() {
    let o = run(As::Root, &["-u", "/nonexistent/prog"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        stderr(&o),
        "nsinit: exec /nonexistent/prog: No such file or directory (ENOENT)\n"
    );
    let o = run(As::Root, &["-u", "no-such-program-anywhere"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        stderr(&o),
        "nsinit: exec no-such-program-anywhere: No such file or directory (ENOENT)\n"
    );

    let dir = test_dir().join("exec");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("not-executable");
    std::fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
    let o = run(As::Root, &["-u", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(126));
    assert!(
        stderr(&o).ends_with(": Permission denied (EACCES)\n"),
        "{}",
        stderr(&o)
    );
    // Found in PATH but not executable: 126 too, as in sh.
    let o = command(As::Root, nsinit(), &["-u", "not-executable"])
        .env("PATH", &dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(126));
    let o = run(As::Root, &["-u", "/"]);
    assert_eq!(o.status.code(), Some(126));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bare_names_are_found_in_path() {
    let out = ok(As::Root, &["-u", "echo", "found"]);
    assert_eq!(out, "found\n");
    let o = command(As::Root, nsinit(), &["-u", "echo", "x"])
        .env("PATH", "/nonexistent:/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "x\n");
}

/// Runs `c` with `input` on its stdin; returns its stdout.
fn fed(mut c: std::process::Command, input: &[u8]) -> String {
    use std::io::Write;
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    stdout(&child.wait_with_output().unwrap())
}

#[test]
fn default_program_is_shell_or_bin_sh() {
    let mut c = command(As::Root, nsinit(), &["-u"]);
    c.env("SHELL", "/bin/cat");
    assert_eq!(fed(c, b"echoed by cat\n"), "echoed by cat\n");
    let mut c = command(As::Root, nsinit(), &["-u"]);
    c.env_remove("SHELL");
    assert_eq!(fed(c, b"echo sh here $((6*7))\n"), "sh here 42\n");
}

#[test]
fn arguments_pass_through_untruncated() {
    // No fixed capacity applies to the payload's argv: it is a tail of
    // nsinit's own, passed on without copying.
    let many: Vec<String> = (0..50_000).map(|i| i.to_string()).collect();
    let mut args = vec!["-u", "/bin/sh", "-c", "echo $# ${50000}", "sh"];
    args.extend(many.iter().map(String::as_str));
    assert_eq!(ok(As::Root, &args), "50000 49999\n");
}

// --- Bad input ----------------------------------------------------------

#[test]
fn bad_input_gives_125_and_one_line() {
    let long_host = format!("--hostname={}", "h".repeat(65));
    let ranges: Vec<String> = (0..341)
        .map(|i| format!("--map-users={i}:{}:1", 100000 + i))
        .collect();
    let mut too_many: Vec<&str> = ranges.iter().map(String::as_str).collect();
    too_many.push("true");
    let cases: Vec<(As, Vec<&str>, &str)> = vec![
        (As::Root, vec!["--frobnicate", "true"], "nsinit: option --frobnicate: unknown option; see nsinit --help"),
        (As::Root, vec!["-Ux", "true"], "nsinit: option -Ux: unknown option"),
        (As::Root, vec!["--hostname"], "nsinit: option --hostname: needs a value"),
        (As::Root, vec!["-w"], "nsinit: option -w: needs a value"),
        (As::Root, vec!["--pid=/run/pidns", "true"], "nsinit: option --pid=/run/pidns: takes no value"),
        (As::Root, vec!["--map-users=0:100000", "true"], "expected INNER:OUTER:COUNT"),
        (As::Root, vec!["--map-users=a:b:c", "true"], "expected INNER:OUTER:COUNT"),
        (As::Root, vec!["--map-users=0:100000:0", "true"], "a range of zero ids"),
        (As::Root, vec!["--map-groups=4294967290:0:10", "true"], "range goes past id 4294967294"),
        (As::Root, vec!["--map-users=0:100:10", "--map-users=5:200:10", "true"], "overlaps an earlier range"),
        (As::Root, vec!["--map-users=0:100:10", "--map-users=50:105:1", "true"], "overlaps an earlier range"),
        (As::Root, too_many, "more than 340 ranges (the kernel's limit)"),
        (As::Root, vec![&long_host, "true"], "longer than 64 bytes (the kernel's limit)"),
        (As::Root, vec!["--map-user=bob", "true"], "expected a numeric id below 4294967295"),
        (As::Root, vec!["--setgroups=sometimes", "true"], "expected allow or deny"),
        (As::Root, vec!["-r", "--setgroups=allow", "true"], "conflicts with --setgroups=allow"),
        (As::Root, vec!["--setgroups=deny", "true"], "needs a user namespace (-U)"),
        (As::Root, vec!["--monotonic=soon", "true"], "expected whole seconds"),
        (As::Root, vec!["--kill-child=SIGNOPE", "true"], "expected a signal name or number 1-64"),
        (As::Root, vec!["--preserve-fds=many", "true"], "expected a number of fds"),
        (As::Root, vec!["--propagation=sideways", "true"], "expected private, slave, shared or unchanged"),
        (As::Root, vec!["--map-users=0:0:1", "--map-user=5", "true"], "a range overlaps the caller's own mapped id"),
        (As::Root, vec!["-R", "/nonexistent-root", "true"], "nsinit: mount --root /nonexistent-root: No such file or directory (ENOENT)"),
        (As::Root, vec!["-w", "/nonexistent-dir", "true"], "nsinit: chdir /nonexistent-dir: No such file or directory (ENOENT)"),
        (As::Nobody, vec!["-u", "true"], "nsinit: clone new namespaces: Operation not permitted (EPERM); new namespaces need CAP_SYS_ADMIN"),
        (As::Nobody, vec!["--map-users=0:100000:65536", "true"], "only your own id can be mapped"),
        (As::Nobody, vec!["-U", "--setgroups=allow", "--map-groups=0:65534:1", "true"], "needs --setgroups=deny"),
        (As::Nobody, vec!["-r", "--mount-proc", "true"], "nsinit: mount proc /proc: Operation not permitted (EPERM); proc mounts in a user namespace only for a pid namespace it owns: add -p"),
        (As::Nobody, vec!["-r", "-T", "--monotonic=-999999999999", "true"], "nsinit: write /proc/self/timens_offsets"),
    ];
    assert!(cases.len() >= 20);
    for (who, args, want) in &cases {
        let o = run(*who, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("nsinit: ") && err.contains(want),
            "{args:?}: want {want:?}, got {err}"
        );
        assert!(!err.contains("panic"), "{err}");
        assert_eq!(stdout(&o), "", "{args:?}");
    }
}

#[test]
fn help_and_version() {
    let o = run(As::Root, &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for flag in [
        "--map-users=IN:OUT:N",
        "--mount-proc",
        "--kill-child",
        "--preserve-fds",
        "--monotonic",
        "--setenv",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
    assert_eq!(
        ok(As::Root, &["-V"]),
        format!("nsinit {}\n", env!("CARGO_PKG_VERSION"))
    );
}

// --- Signals --------------------------------------------------------------

/// Starts nsinit with a payload that reports each signal it gets.
fn signal_payload(flags: &[&str]) -> std::process::Child {
    let script = r#"
        trap 'echo got TERM' TERM; trap 'echo got INT' INT; trap 'echo got USR1; exit 7' USR1
        echo ready
        while :; do sleep 10 & wait $!; done"#;
    let mut args = flags.to_vec();
    args.extend(["--", "/bin/sh", "-c", script]);
    command(As::Root, nsinit(), &args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn term_int_usr1_reach_the_payload() {
    for flags in [&["-u"][..], &["-U", "-r", "-p"][..]] {
        let mut child = signal_payload(flags);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
        for (sig, want) in [
            (libc::SIGTERM, "got TERM"),
            (libc::SIGINT, "got INT"),
            (libc::SIGUSR1, "got USR1"),
        ] {
            // SAFETY: kill(2) on our own child's pid.
            assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
            assert_eq!(lines.next().unwrap().unwrap(), want, "{flags:?}");
        }
        assert_eq!(child.wait().unwrap().code(), Some(7), "{flags:?}");
    }
}

/// Runs `args` from a caller that blocks HUP and USR2 and ignores INT, QUIT
/// and PIPE; returns the payload's SigBlk and SigIgn lines.
fn masks_seen(program: &str, args: &[&str]) -> String {
    let mut c = command(As::Root, program, args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGHUP);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGPIPE] {
                libc::signal(sig, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    String::from_utf8(c.output().unwrap().stdout).unwrap()
}

#[test]
fn payload_starts_with_no_blocked_or_ignored_signals() {
    let grep = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"];
    // The control: without nsinit the odd state does reach grep.
    let direct = masks_seen("grep", &grep[1..]);
    let mask = |line: &str| u64::from_str_radix(line.split('\t').nth(1).unwrap(), 16).unwrap();
    let lines: Vec<&str> = direct.lines().collect();
    assert_eq!(mask(lines[0]), 0x801, "{direct}");
    assert_eq!(mask(lines[1]) & 0x1006, 0x1006, "{direct}");
    let mut args = vec!["-U", "-r", "-p", "--"];
    args.extend(grep);
    assert_eq!(
        masks_seen(nsinit(), &args),
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
    );
}

// --- Fds -----------------------------------------------------------------

/// Gives the program of `c` the fds `inherited`, each a copy of `file`
/// without CLOEXEC, with the open-files limit raised to 4096 if lower.
fn inherit(c: &mut std::process::Command, file: &std::fs::File, inherited: &[i32]) {
    let raw = std::os::fd::AsRawFd::as_raw_fd(file);
    let inherited = inherited.to_vec();
    // SAFETY: only async-signal-safe calls (getrlimit, setrlimit, fcntl,
    // dup2) between fork and exec, on memory allocated before the fork.
    unsafe {
        c.pre_exec(move || {
            let mut lim: libc::rlimit = std::mem::zeroed();
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
            if lim.rlim_cur < 4096 {
                lim.rlim_cur = 4096;
                lim.rlim_max = lim.rlim_max.max(4096);
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // A copy above every target first (closed at exec): no dup2
            // overwrites the source, and none gets its own fd as target
            // (which would leave CLOEXEC on).
            let src = libc::fcntl(raw, libc::F_DUPFD_CLOEXEC, 2000);
            if src < 0 {
                return Err(std::io::Error::last_os_error());
            }
            for &fd in &inherited {
                if libc::dup2(src, fd) != fd {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Which of the fds `probed` are open in `program args...`, run from a
/// caller that holds the fds `inherited`: "3 7 end".
fn fds_seen(program: &str, args: &[&str], inherited: &[i32], probed: &[i32]) -> String {
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let list: Vec<String> = probed.iter().map(i32::to_string).collect();
    let script = format!(
        "for fd in {}; do [ -e /proc/self/fd/$fd ] && printf '%s ' $fd; done; echo end",
        list.join(" ")
    );
    let mut all = args.to_vec();
    all.extend(["/bin/sh", "-c", &script]);
    let mut c = command(As::Root, program, &all);
    inherit(&mut c, &file, inherited);
    let o = output(&mut c);
    assert_eq!(o.status.code(), Some(0), "{all:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn inherited_fds_are_closed_unless_preserved() {
    let far = [3, 7, 100, 1000];
    // The control: without nsinit each fd does reach the program.
    assert_eq!(fds_seen("env", &[], &far, &far), "3 7 100 1000 end\n");
    for flags in [&["-u"][..], &["-U", "-r", "-p"], &["-r", "-p", "--init"]] {
        let mut args = flags.to_vec();
        args.push("--");
        assert_eq!(fds_seen(nsinit(), &args, &far, &far), "end\n", "{flags:?}");
        // --preserve-fds=N: 3 to 3+N-1 stay, 3+N and beyond go.
        for n in [1, 4, 5, 97] {
            let mut inherited: Vec<i32> = (3..=3 + n + 1).collect();
            inherited.extend([100, 1000]);
            let mut probed = vec![3, 3 + n - 1, 3 + n, 3 + n + 1, 100, 1000];
            probed.sort();
            probed.dedup();
            let want: String = probed
                .iter()
                .filter(|&&fd| fd < 3 + n)
                .map(|fd| format!("{fd} "))
                .collect();
            let preserve = format!("--preserve-fds={n}");
            let mut args = flags.to_vec();
            args.extend([preserve.as_str(), "--"]);
            assert_eq!(
                fds_seen(nsinit(), &args, &inherited, &probed),
                format!("{want}end\n"),
                "{flags:?} {preserve}"
            );
        }
    }
    // Kernels without close_range (before 5.9: ENOSYS) or without its
    // CLOEXEC flag (before 5.11: EINVAL), as a seccomp filter makes them
    // here: the fds are marked one by one instead, up to the open-files
    // limit nsinit inherited, also when --rlimit lowers it below them.
    let seccomp = helper("proc_seccomp_exec");
    for refused in ["436:38", "436:22"] {
        let lowered = &["-u", "--rlimit=NOFILE=64"][..];
        for flags in [&["-u"][..], &["-r", "-p", "--init"], lowered] {
            let mut args = vec![refused, nsinit()];
            args.extend(flags);
            args.push("--");
            assert_eq!(
                fds_seen(&seccomp, &args, &far, &far),
                "end\n",
                "{refused} {flags:?}"
            );
            args.insert(args.len() - 1, "--preserve-fds=4");
            let inherited = [3, 4, 5, 6, 7, 8, 100, 1000];
            let probed = [3, 6, 7, 8, 100, 1000];
            assert_eq!(
                fds_seen(&seccomp, &args, &inherited, &probed),
                "3 6 end\n",
                "{refused} {flags:?} --preserve-fds=4"
            );
        }
    }
}

// --- Identity and environment ------------------------------------------------

#[test]
fn uid_and_gid_switch_inside() {
    let out = ok(
        As::Root,
        &[
            "--map-users=0:100000:65536",
            "--map-groups=0:100000:65536",
            "--uid=1000",
            "--gid=2000",
            "-p",
            "--",
            "/bin/sh",
            "-c",
            "grep -E '^(Uid|Gid|Groups|CapEff)' /proc/self/status",
        ],
    );
    // Groups: is empty (the kernel prints a tab and a space); no capabilities left.
    assert_eq!(out, "Uid:\t1000\t1000\t1000\t1000\nGid:\t2000\t2000\t2000\t2000\nGroups:\t \nCapEff:\t0000000000000000\n");
    // --uid=5 alone means --gid=5 too, which -r does not map either.
    let o = run(As::Nobody, &["-r", "--uid=5", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "nsinit: setresgid: Invalid argument (EINVAL); the id is not mapped in the user namespace: see --map-users/--map-groups\n"
    );
    let o = run(As::Nobody, &["-r", "--uid=5", "--gid=0", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "nsinit: setresuid: Invalid argument (EINVAL); the id is not mapped in the user namespace: see --map-users/--map-groups\n"
    );
}

#[test]
fn environment_changes() {
    let env = |args: &[&str]| {
        let mut c = command(As::Root, nsinit(), args);
        c.env_clear()
            .env("HOME", "/root")
            .env("KEEP", "1")
            .env("PATH", "/usr/bin:/bin");
        stdout(&c.output().unwrap())
    };
    assert_eq!(
        env(&[
            "-u",
            "--setenv",
            "A",
            "x y",
            "--unsetenv=HOME",
            "/usr/bin/env"
        ]),
        "KEEP=1\nPATH=/usr/bin:/bin\nA=x y\n"
    );
    // Bare names are looked up in the payload's new PATH.
    assert_eq!(
        env(&[
            "-u",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/bin",
            "--setenv",
            "B",
            "",
            "env"
        ]),
        "PATH=/usr/bin\nB=\n"
    );
    assert_eq!(
        env(&[
            "-u",
            "--setenv",
            "KEEP",
            "2",
            "--",
            "sh",
            "-c",
            "echo $KEEP ${HOME-unset}"
        ]),
        "2 /root\n"
    );
}

// --- Least privilege: no_new_privs, a working loopback -------------------------

#[test]
fn no_new_privs_unless_allowed() {
    let status = "grep NoNewPrivs /proc/self/status";
    for who in [As::Root, As::Nobody] {
        for (flags, want) in [(&["-r"][..], "1"), (&["-r", "--allow-new-privs"][..], "0")] {
            let mut args = flags.to_vec();
            args.extend(["sh", "-c", status]);
            assert_eq!(
                ok(who, &args),
                format!("NoNewPrivs:\t{want}\n"),
                "{who:?} {flags:?}"
            );
        }
    }
    // The caller's own setting is not ours to lift: the payload of a caller
    // under no_new_privs has it whatever the flags.
    let args = [
        "--no-new-privs",
        nsinit(),
        "--allow-new-privs",
        "sh",
        "-c",
        status,
    ];
    let o = output(&mut command(As::Root, "setpriv", &args));
    assert_eq!(stdout(&o), "NoNewPrivs:\t1\n");
}

/// A TCP connection to 127.0.0.1 inside the payload's network namespace.
const LOOPBACK: &str = r#"
import socket
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
client = socket.create_connection(server.getsockname(), timeout=5)
peer, _ = server.accept()
client.sendall(b"ok")
print(peer.recv(2).decode())
"#;

#[test]
fn loopback_is_up_in_a_new_network_namespace() {
    for who in [As::Root, As::Nobody] {
        let out = ok(who, &["-r", "-n", "python3", "-c", LOOPBACK]);
        assert_eq!(out, "ok\n", "{who:?}");
    }
    // util-linux leaves it down: the same program fails there.
    let o = output(&mut command(
        As::Root,
        "unshare",
        &["-n", "python3", "-c", LOOPBACK],
    ));
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
}

// --- Hostname, proc, debug, kill-child ------------------------------------------

#[test]
fn hostname_domainname_and_proc() {
    let out = ok(
        As::Nobody,
        &["-r", "-p", "--mount-proc", "--hostname=box", "--domainname=dom", "/bin/sh", "-c",
          "cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname; ls /proc | grep -c '^[0-9]'"],
    );
    // Only sh and the pipeline's two commands exist in the new pid namespace.
    assert_eq!(out, "box\ndom\n3\n");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box");
}

/// CLOCK_MONOTONIC in microseconds, the clock of the --debug timeline.
fn monotonic_micros() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills in our own timespec.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) },
        0
    );
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

#[test]
fn debug_prints_a_monotonic_timeline() {
    let before = monotonic_micros();
    let o = run(As::Nobody, &["--debug", "-r", "-p", "--hostname=x", "true"]);
    let after = monotonic_micros();
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    // Each step's time is the system's monotonic clock, taken between our
    // two readings (the time namespace is not asked for).
    let mut last = before;
    let mut steps = vec![];
    for line in err.lines() {
        let rest = line
            .strip_prefix("nsinit: [")
            .unwrap_or_else(|| panic!("{line}"));
        let (us, step) = rest.split_once("us] ").unwrap();
        let us: u64 = us.parse().unwrap();
        assert!(us >= last && us <= after, "{before}..{after}: {err}");
        last = us;
        steps.push(step.split(' ').next().unwrap().to_string());
    }
    for want in [
        "start",
        "clone:",
        "uid_map",
        "gid_map",
        "child:",
        "sethostname",
        "exec",
        "payload",
    ] {
        assert!(steps.iter().any(|s| s == want), "{want} missing in {err}");
    }
}

#[test]
fn kill_child_signals_the_payload_when_nsinit_dies() {
    let dir = test_dir().join("kill-child");
    std::fs::create_dir_all(&dir).unwrap();
    let mark = dir.join("mark");
    let script = format!(
        "trap 'echo term > {}; exit 0' TERM; echo ready; while :; do sleep 10 & wait $!; done",
        mark.display()
    );
    let mut child = command(
        As::Root,
        nsinit(),
        &["--kill-child=TERM", "-u", "/bin/sh", "-c", &script],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    child.kill().unwrap(); // SIGKILL to nsinit itself
    child.wait().unwrap();
    for _ in 0..100 {
        if mark.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "term\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- Time namespace ---------------------------------------------------------

fn monotonic(who: As, flags: &[&str]) -> f64 {
    let mut args = flags.to_vec();
    args.extend([
        "/usr/bin/python3",
        "-c",
        "import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))",
    ]);
    ok(who, &args).trim().parse().unwrap()
}

#[test]
fn time_namespace_moves_monotonic_a_day_ahead() {
    for who in [As::Root, As::Nobody] {
        let before = monotonic(who, &["-r"]);
        let inside = monotonic(who, &["-r", "-T", "--monotonic=86400"]);
        let after = monotonic(who, &["-r"]);
        assert!(
            inside - before >= 86400.0 && inside - after <= 86400.0,
            "{who:?}: {before} {inside} {after}"
        );
    }
    // Boottime shows in /proc/uptime.
    let up = ok(
        As::Root,
        &["-T", "--boottime=1000000", "cat", "/proc/uptime"],
    );
    let secs: f64 = up.split(' ').next().unwrap().parse().unwrap();
    assert!(secs >= 1_000_000.0, "{up}");
}

// --- The binary itself ----------------------------------------------------

#[test]
fn binary_is_static_small_and_stripped() {
    let elf = std::fs::read(nsinit()).unwrap();
    assert!(elf.len() <= 48 * 1024, "{} bytes", elf.len());
    assert_eq!(&elf[..5], b"\x7fELF\x02", "a 64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(
        u16_at(16),
        2,
        "ET_EXEC: not PIE, nothing to relocate at start"
    );
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    let types: Vec<u32> = (0..phnum)
        .map(|i| u32::from_le_bytes(elf[phoff + i * phentsize..][..4].try_into().unwrap()))
        .collect();
    assert!(types.contains(&1), "has PT_LOAD: {types:?}");
    assert!(
        !types.contains(&2) && !types.contains(&3),
        "no PT_DYNAMIC or PT_INTERP: {types:?}"
    );
    // Stripped: no .symtab among the section names.
    assert!(!elf.windows(8).any(|w| w == b".symtab\0"));
}

// --- Lines that mutation testing found untested ------------------------------

#[test]
fn a_file_the_kernel_cannot_run_gets_126_and_a_hint() {
    let dir = test_dir();
    let bad = dir.join("not-a-binary");
    std::fs::write(&bad, b"garbage\n\x01\x02").unwrap();
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bad = bad.to_str().unwrap();
    let o = run(As::Root, &[bad]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(126),
            format!(
                "nsinit: exec {bad}: Exec format error (ENOEXEC); \
                 not a binary this kernel runs, nor a script with #!\n"
            )
        )
    );
}

#[test]
fn a_symlink_loop_as_wd_without_a_new_root_has_no_proc_hint() {
    // The CVE-2024-21626 hint is for a new root only.
    let dir = test_dir();
    let lp = dir.join("wd-loop");
    let _ = std::fs::remove_file(&lp);
    std::os::unix::fs::symlink("wd-loop", &lp).unwrap();
    let lp = lp.to_str().unwrap();
    let o = run(As::Root, &["-m", "--wd", lp, "/bin/true"]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(125),
            format!("nsinit: chdir {lp}: Too many levels of symbolic links (ELOOP)\n")
        )
    );
}

#[test]
fn no_terminal_no_seccomp_filter() {
    // Without a controlling terminal (setsid) there is nothing for the
    // TIOCSTI guard to guard: the payload starts with no filter at all.
    for flags in [&[][..], &["-U"][..], &["--new-session"][..]] {
        let mut args = vec!["-w", nsinit()];
        args.extend(flags);
        args.extend(["/bin/busybox", "grep", "^Seccomp:", "/proc/self/status"]);
        let o = output(&mut command(As::Root, "setsid", &args));
        assert_eq!(stdout(&o), "Seccomp:\t0\n", "{flags:?}: {}", stderr(&o));
    }
}
